/* Twins: n = 4 plus a twin of one validator; a partition and a leader per
 * round over the first 8 rounds, sampled by seed. No two honest replicas
 * commit different blocks at one height (S4, checked after every event),
 * and the equivocating twin never gets two QCs in one round. */

#include "harness.h"
#include "scenarios.h"
#include "sweep.h"

TEST(sim_twins, eight_round_scenarios)
{
    SWEEP(scn_twins, 8, 2000, false);
}

TEST(sim_twins, twelve_round_scenarios)
{
    SWEEP(scn_twins, 12, 600, false);
}

TEST_MAIN()
