/* The harness bites. Linked against seq_consensus_mut, whose core carries
 * three deliberate bugs behind hs_mutation (consensus/hs_mutation.h): skip
 * the vote rule's lock check, accept certificates with 2f signers, never
 * persist the safety state. With each one on, the Twins and crash
 * scenarios must fail, and this test asserts that they do, within a
 * bounded number of seeds. With none on they must pass, so a failure below
 * is the bug being caught, not a broken scenario.
 *
 * A correct honest leader never proposes a block that violates the lock,
 * so only an equivocating (Twins) leader can expose a skipped lock check:
 * for that mutation the crash scenarios are not expected to fail. */

#include <stdio.h>

#include "harness.h"
#include "hs_mutation.h"
#include "scenarios.h"

#define TWINS_SEEDS 400
#define CRASH_SEEDS 60

static unsigned seeds_to_failure(void (*fn)(uint64_t,
                                            uint32_t,
                                            const struct scn_options *,
                                            struct scn_result *),
                                 uint32_t n,
                                 unsigned max_seeds,
                                 struct scn_result *res)
{
    struct scn_options opt = { .dump = false };
    unsigned ran = scn_sweep(fn, n, test_seed(), max_seeds, &opt, res);

    return res->ok ? 0 : ran;
}

static void expect_caught(enum hs_mutation m,
                          const char *name,
                          bool crash_must_catch)
{
    struct scn_result res;
    unsigned twins, crash_restart, crash_whole;

    hs_mutation = m;
    twins = seeds_to_failure(scn_twins, 8, TWINS_SEEDS, &res);
    fprintf(stderr, "  %s: twins %s after %u seeds: %s\n", name,
            twins ? "failed" : "passed", twins, twins ? res.why : "-");
    crash_restart = seeds_to_failure(scn_random_crashes, 4, CRASH_SEEDS, &res);
    fprintf(stderr, "  %s: random crashes %s after %u seeds: %s\n", name,
            crash_restart ? "failed" : "passed", crash_restart,
            crash_restart ? res.why : "-");
    crash_whole =
        seeds_to_failure(scn_whole_cluster_restart, 4, CRASH_SEEDS, &res);
    fprintf(stderr, "  %s: whole-cluster restart %s after %u seeds\n", name,
            crash_whole ? "failed" : "passed", crash_whole);
    hs_mutation = HS_MUT_NONE;

    ASSERT_GT(twins, 0u);
    if (crash_must_catch) {
        ASSERT_TRUE(crash_restart > 0 || crash_whole > 0);
    }
}

TEST(harness_bites, control_without_mutation_passes)
{
    struct scn_result res;

    hs_mutation = HS_MUT_NONE;
    ASSERT_EQ(seeds_to_failure(scn_twins, 8, 20, &res), 0u);
    ASSERT_EQ(seeds_to_failure(scn_random_crashes, 4, 5, &res), 0u);
}

TEST(harness_bites, skipped_lock_check_is_caught)
{
    expect_caught(HS_MUT_SKIP_LOCK, "skip lock", false);
}

TEST(harness_bites, weak_quorum_is_caught)
{
    expect_caught(HS_MUT_WEAK_QC, "2f quorum", true);
}

TEST(harness_bites, unpersisted_safety_state_is_caught)
{
    expect_caught(HS_MUT_NO_PERSIST, "no persist", true);
}

TEST_MAIN()
