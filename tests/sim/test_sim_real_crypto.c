/* The same scenarios with real BIP-340 signatures (libsecp256k1) instead
 * of the fake: every vote, timeout, proposal, QC and TC is signed and
 * verified for real, so the digests and verification paths that seqd uses
 * are the ones exercised here. */

#include "harness.h"
#include "scenarios.h"
#include "sweep.h"

TEST(sim_real_crypto, happy_path)
{
    SWEEP(scn_happy, 4, 2, true);
}

TEST(sim_real_crypto, random_crash_restarts)
{
    SWEEP(scn_random_crashes, 4, 3, true);
}

TEST(sim_real_crypto, twins)
{
    SWEEP(scn_twins, 8, 10, true);
}

TEST_MAIN()
