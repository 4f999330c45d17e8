/* The acceptance scenarios of the consensus core, one function each, run
 * on the simulator. Each takes a seed and checks both the simulator's
 * invariants (S1-S5, after every event) and the scenario's own liveness
 * claims, and reports the first thing that went wrong. They live apart from
 * the test files so that the mutation test (test_sim_mut.c) can run the
 * very same Twins and crash scenarios against a core with a deliberately
 * broken safety rule and assert that they fail. */

#ifndef SEQ_TESTS_SIM_SCENARIOS_H
#define SEQ_TESTS_SIM_SCENARIOS_H

#include <stdbool.h>
#include <stdint.h>

#include "hs_types.h"

struct scn_result {
    bool ok;
    char why[512];       /* What failed, with the seed. */
    uint64_t events;     /* Simulator events processed. */
    uint64_t rounds;     /* Highest round reached. */
    hs_height_t height;  /* Lowest committed height among live honest. */
    uint64_t virtual_ms; /* Virtual time simulated. */
};

struct scn_options {
    bool dump;        /* Print the last events on failure. */
    bool real_crypto; /* secp256k1 signatures instead of the fake. */
};

/* All run n = 3f+1 validators unless stated. */
void scn_happy(uint64_t seed,
               uint32_t n,
               const struct scn_options *opt,
               struct scn_result *res);
void scn_crash_f_forever(uint64_t seed,
                         uint32_t n,
                         const struct scn_options *opt,
                         struct scn_result *res);
/* One validator's messages all take 500-550 ms (n >= 7). */
void scn_slow_validator(uint64_t seed,
                        uint32_t n,
                        const struct scn_options *opt,
                        struct scn_result *res);
void scn_minority_partition(uint64_t seed,
                            uint32_t n,
                            const struct scn_options *opt,
                            struct scn_result *res);
void scn_even_split(uint64_t seed,
                    uint32_t n,
                    const struct scn_options *opt,
                    struct scn_result *res);
void scn_lossy(uint64_t seed,
               uint32_t n,
               const struct scn_options *opt,
               struct scn_result *res);
void scn_random_crashes(uint64_t seed,
                        uint32_t n,
                        const struct scn_options *opt,
                        struct scn_result *res);
void scn_whole_cluster_restart(uint64_t seed,
                               uint32_t n,
                               const struct scn_options *opt,
                               struct scn_result *res);
/* Twins: n = 4 plus one twin; a partition and a leader per round for
 * @rounds rounds (>= 6), drawn from @seed; then full connectivity. */
void scn_twins(uint64_t seed,
               unsigned rounds,
               const struct scn_options *opt,
               struct scn_result *res);

/* Run @fn over @count seeds from @first; stop at the first failure. Returns
 * the number of seeds run; *res holds the failing (or last) result. */
unsigned scn_sweep(void (*fn)(uint64_t seed,
                              uint32_t n,
                              const struct scn_options *opt,
                              struct scn_result *res),
                   uint32_t n,
                   uint64_t first,
                   unsigned count,
                   const struct scn_options *opt,
                   struct scn_result *res);

#endif /* SEQ_TESTS_SIM_SCENARIOS_H */
