/* Regression tests: every bug the simulator found, pinned to the seed that
 * exposed it, so that it stays fixed whatever the default seeds become. */

#include "harness.h"
#include "scenarios.h"

struct regression {
    const char *bug;
    void (*fn)(uint64_t,
               uint32_t,
               const struct scn_options *,
               struct scn_result *);
    uint32_t n;
    uint64_t seed;
};

static const struct regression regressions[] = {
    /* Proposal 142 arrived before 141. A lower QC then redirected the
     * parent fetch, the still-missing QC(143) block was never fetched once
     * that fetch ended, its response was dropped as unsolicited, and the
     * stale proposal 141 (the very parent) was discarded: the leader of
     * round 144 could not propose and the round timed out. */
    { "catch-up after reordered proposals", scn_happy, 4, 214 },
    /* Three of ten leaders unreachable: six rounds in a row ended by TC
     * and the uncapped doubling back-off (60x base) let 40 s pass without
     * a commit. The default cap is now 4x base. */
    { "back-off cap with f leaders cut off", scn_minority_partition, 10, 11 },
};

TEST(sim_regress, pinned_seeds)
{
    struct scn_options opt = { .dump = true };
    struct scn_result res;
    size_t i;

    for (i = 0; i < sizeof regressions / sizeof regressions[0]; i++) {
        const struct regression *r = &regressions[i];
        test_set_seed(r->seed);
        r->fn(r->seed, r->n, &opt, &res);
        if (!res.ok) {
            harness_fail(__FILE__, __LINE__, "%s (n=%u): %s", r->bug, r->n,
                         res.why);
        }
    }
}

TEST_MAIN()
