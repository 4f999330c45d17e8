/* Run a scenario over the seeds the environment asks for (SEQ_TEST_SEED
 * first, SEQ_SIM_SEEDS of them) and fail the current test at the first
 * seed that breaks, naming it. */

#ifndef SEQ_TESTS_SIM_SWEEP_H
#define SEQ_TESTS_SIM_SWEEP_H

#include <stdio.h>

#include "harness.h"
#include "scenarios.h"

#define SWEEP(fn, n, default_seeds, real)                                     \
    do {                                                                      \
        struct scn_options sweep_opt = { .dump = true, .real_crypto = real }; \
        struct scn_result sweep_res;                                          \
        unsigned sweep_count = test_sim_seeds(default_seeds);                 \
        uint64_t sweep_first = test_seed();                                   \
        unsigned sweep_i;                                                     \
        uint64_t sweep_events = 0;                                            \
        for (sweep_i = 0; sweep_i < sweep_count; sweep_i++) {                 \
            test_set_seed(sweep_first + sweep_i);                             \
            fn(sweep_first + sweep_i, (n), &sweep_opt, &sweep_res);           \
            sweep_events += sweep_res.events;                                 \
            if (!sweep_res.ok) {                                              \
                harness_fail(__FILE__, __LINE__, "%s n=%u: %s", #fn,          \
                             (unsigned)(n), sweep_res.why);                   \
            }                                                                 \
        }                                                                     \
        fprintf(stderr, "  %s n=%u: %u seeds from %llu, %llu events\n", #fn,  \
                (unsigned)(n), sweep_count, (unsigned long long)sweep_first,  \
                (unsigned long long)sweep_events);                            \
    } while (0)

#endif /* SEQ_TESTS_SIM_SWEEP_H */
