/* A seeded pseudo-random generator: xoshiro256** seeded through splitmix64.
 * Deterministic for a given seed on every platform; the core and the
 * simulator use it instead of rand(). Not for keys or nonces. */

#ifndef SEQ_COMMON_SEQ_RNG_H
#define SEQ_COMMON_SEQ_RNG_H

#include <stdint.h>

struct seq_rng {
    uint64_t s[4];
};

void seq_rng_seed(struct seq_rng *rng, uint64_t seed);
uint64_t seq_rng_next(struct seq_rng *rng);
/* Uniform in [0, bound); bound 0 returns 0. Unbiased (Lemire). */
uint64_t seq_rng_below(struct seq_rng *rng, uint64_t bound);
/* Uniform in [lo, hi] inclusive; lo > hi returns lo. */
uint64_t seq_rng_range(struct seq_rng *rng, uint64_t lo, uint64_t hi);
/* True with probability @percent / 100. */
int seq_rng_percent(struct seq_rng *rng, unsigned percent);

#endif /* SEQ_COMMON_SEQ_RNG_H */
