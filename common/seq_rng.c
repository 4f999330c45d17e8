/* The project's only source of randomness for the core and the simulator:
 * xoshiro256** (Blackman and Vigna, 2018), seeded by running splitmix64 over
 * the 64-bit seed, as the authors recommend. Both are defined on 64-bit
 * integers alone, so one seed gives the same sequence on every platform and
 * compiler, which is what lets a simulator failure be replayed from its seed.
 *
 * Bounded draws use Lemire's multiply-and-reject method ("Fast Random Integer
 * Generation in an Interval", 2019): the high half of a 64x64-bit product,
 * retried only on the few low halves that would bias it. The product is
 * computed from 32-bit halves to stay within ISO C. */

#include "seq_rng.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z;

    *state += UINT64_C(0x9e3779b97f4a7c15);
    z = *state;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* The full 128-bit product of @a and @b as *hi:*lo. */
static void mul_64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t a_lo = a & 0xffffffffu;
    uint64_t a_hi = a >> 32;
    uint64_t b_lo = b & 0xffffffffu;
    uint64_t b_hi = b >> 32;
    uint64_t ll = a_lo * b_lo;
    uint64_t lh = a_lo * b_hi;
    uint64_t hl = a_hi * b_lo;
    uint64_t hh = a_hi * b_hi;
    uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);

    *lo = (mid << 32) | (ll & 0xffffffffu);
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/* splitmix64 never yields four zero words in a row, so the xoshiro state is
 * never the all-zero state it cannot leave. */
void seq_rng_seed(struct seq_rng *rng, uint64_t seed)
{
    uint64_t state = seed;
    int i;

    for (i = 0; i < 4; i++) {
        rng->s[i] = splitmix64(&state);
    }
}

uint64_t seq_rng_next(struct seq_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t seq_rng_below(struct seq_rng *rng, uint64_t bound)
{
    uint64_t hi;
    uint64_t lo;

    if (bound == 0) {
        return 0;
    }
    mul_64x64(seq_rng_next(rng), bound, &hi, &lo);
    if (lo < bound) {
        /* 2^64 mod bound, computed in 64 bits as (2^64 - bound) mod bound. */
        uint64_t threshold = (0 - bound) % bound;

        while (lo < threshold) {
            mul_64x64(seq_rng_next(rng), bound, &hi, &lo);
        }
    }
    return hi;
}

/* Draws once even when @lo == @hi, for the reason given at
 * seq_rng_percent(). */
uint64_t seq_rng_range(struct seq_rng *rng, uint64_t lo, uint64_t hi)
{
    if (lo > hi) {
        return lo;
    }
    if (hi - lo == UINT64_MAX) {
        return seq_rng_next(rng);
    }
    return lo + seq_rng_below(rng, hi - lo + 1);
}

/* Draws even for 0 or 100 percent, so that changing a fault probability in
 * a simulation does not shift every later draw. (For any bound, a retry in
 * seq_rng_below() happens with probability below bound / 2^64.) */
int seq_rng_percent(struct seq_rng *rng, unsigned percent)
{
    return seq_rng_below(rng, 100) < percent;
}
