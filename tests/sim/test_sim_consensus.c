/* The consensus acceptance scenarios for n = 4, 7 and 10 (f = 1, 2, 3):
 * happy path, f crashed for good, one slow validator (n = 7 and 10), a
 * minority cut off and healed, an even
 * split, a lossy network until GST, random crash-restarts (also between
 * persist and send), and the whole cluster restarted. The simulator checks
 * S1-S5 after every event; each scenario adds its liveness claim. */

#include "harness.h"
#include "scenarios.h"
#include "sweep.h"

#define SIZES(fn, seeds)             \
    do {                             \
        SWEEP(fn, 4, seeds, false);  \
        SWEEP(fn, 7, seeds, false);  \
        SWEEP(fn, 10, seeds, false); \
    } while (0)

TEST(sim_happy, identical_commits_one_block_per_round)
{
    SIZES(scn_happy, 10);
}

TEST(sim_crash, f_crashed_for_good_including_next_leaders)
{
    SIZES(scn_crash_f_forever, 30);
}

TEST(sim_slow, a_slow_validator_gives_up_its_rounds)
{
    SWEEP(scn_slow_validator, 7, 10, false);
    SWEEP(scn_slow_validator, 10, 10, false);
}

TEST(sim_partition, minority_cut_off_then_healed)
{
    SIZES(scn_minority_partition, 30);
}

TEST(sim_partition, even_split_stalls_then_resumes)
{
    SIZES(scn_even_split, 30);
}

TEST(sim_faults, loss_duplication_reordering_before_gst)
{
    SIZES(scn_lossy, 40);
}

TEST(sim_crash, random_crash_restarts_never_double_sign)
{
    SIZES(scn_random_crashes, 40);
}

TEST(sim_crash, whole_cluster_restarts_from_storage)
{
    SIZES(scn_whole_cluster_restart, 30);
}

TEST_MAIN()
