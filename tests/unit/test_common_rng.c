/* The seeded PRNG (common/seq_rng.h): known outputs (so a simulation replays
 * identically on every platform and after every refactoring), determinism,
 * and the bounds and rough uniformity of the bounded draws. The known answers
 * come from an independent implementation of splitmix64 and xoshiro256**
 * (the first splitmix64 output for seed 0 is the published 0xe220a8397b1dcdaf).
 */

#include "harness.h"
#include "seq_rng.h"

TEST(common_rng, seeding_is_splitmix64)
{
    struct seq_rng rng;

    seq_rng_seed(&rng, 0);
    ASSERT_EQ(rng.s[0], UINT64_C(0xe220a8397b1dcdaf));
    ASSERT_EQ(rng.s[1], UINT64_C(0x6e789e6aa1b965f4));
    ASSERT_EQ(rng.s[2], UINT64_C(0x06c45d188009454f));
    ASSERT_EQ(rng.s[3], UINT64_C(0xf88bb8a8724c81ec));
}

TEST(common_rng, known_outputs)
{
    static const struct {
        uint64_t seed;
        uint64_t out[5];
    } kat[] = {
        { 0,
          { UINT64_C(0x99ec5f36cb75f2b4), UINT64_C(0xbf6e1f784956452a),
            UINT64_C(0x1a5f849d4933e6e0), UINT64_C(0x6aa594f1262d2d2c),
            UINT64_C(0xbba5ad4a1f842e59) } },
        { 1,
          { UINT64_C(0xb3f2af6d0fc710c5), UINT64_C(0x853b559647364cea),
            UINT64_C(0x92f89756082a4514), UINT64_C(0x642e1c7bc266a3a7),
            UINT64_C(0xb27a48e29a233673) } },
        { 0xdeadbeef,
          { UINT64_C(0xc5555444a74d7e83), UINT64_C(0x65c30d37b4b16e38),
            UINT64_C(0x54f773200a4efa23), UINT64_C(0x429aed75fb958af7),
            UINT64_C(0xfb0e1dd69c255b2e) } },
    };
    struct seq_rng rng;
    size_t i;
    size_t j;

    for (i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        seq_rng_seed(&rng, kat[i].seed);
        for (j = 0; j < 5; j++) {
            ASSERT_EQ(seq_rng_next(&rng), kat[i].out[j]);
        }
    }
}

/* Lemire's method, including rejections, against the same reference. */
TEST(common_rng, known_bounded_outputs)
{
    static const uint64_t below_1000[8] = { 83,  378, 680, 924,
                                            991, 769, 719, 850 };
    static const uint64_t below_3[12] = { 2, 0, 2, 2, 2, 2, 0, 0, 1, 0, 1, 2 };
    static const uint64_t below_big[4] = { UINT64_C(0x7ef36e3ff1762f32),
                                           UINT64_C(0x6286d29880bca91c),
                                           UINT64_C(0x5c10aa42ad32eed9),
                                           UINT64_C(0x6174b739374bb23f) };
    struct seq_rng rng;
    size_t i;

    seq_rng_seed(&rng, 42);
    for (i = 0; i < 8; i++) {
        ASSERT_EQ(seq_rng_below(&rng, 1000), below_1000[i]);
    }
    seq_rng_seed(&rng, 7);
    for (i = 0; i < 12; i++) {
        ASSERT_EQ(seq_rng_below(&rng, 3), below_3[i]);
    }
    /* Just above 2^63: about half of all draws are rejected. */
    seq_rng_seed(&rng, 42);
    for (i = 0; i < 4; i++) {
        ASSERT_EQ(seq_rng_below(&rng, (UINT64_C(1) << 63) + 1), below_big[i]);
    }
}

TEST(common_rng, same_seed_same_sequence)
{
    struct seq_rng a;
    struct seq_rng b;
    int i;
    int same = 0;

    seq_rng_seed(&a, test_seed());
    seq_rng_seed(&b, test_seed());
    for (i = 0; i < 1000; i++) {
        ASSERT_EQ(seq_rng_next(&a), seq_rng_next(&b));
    }
    seq_rng_seed(&b, test_seed() + 1);
    for (i = 0; i < 1000; i++) {
        same += seq_rng_next(&a) == seq_rng_next(&b);
    }
    ASSERT_EQ(same, 0);
}

/* For a power-of-two bound the method reduces to a shift, which checks the
 * high half of the 64x64-bit product. */
TEST(common_rng, power_of_two_bound_is_a_shift)
{
    struct seq_rng a;
    struct seq_rng b;
    int i;

    seq_rng_seed(&a, test_seed());
    seq_rng_seed(&b, test_seed());
    for (i = 0; i < 1000; i++) {
        ASSERT_EQ(seq_rng_below(&a, UINT64_C(1) << 32), seq_rng_next(&b) >> 32);
        ASSERT_EQ(seq_rng_below(&a, 16), seq_rng_next(&b) >> 60);
    }
}

TEST(common_rng, below_stays_in_bounds)
{
    static const uint64_t bounds[] = {
        1,
        2,
        3,
        7,
        10,
        100,
        1000003,
        UINT64_C(1) << 40,
        (UINT64_C(1) << 63) + 1,
        UINT64_MAX - 1,
        UINT64_MAX,
    };
    struct seq_rng rng;
    size_t i;
    int k;

    seq_rng_seed(&rng, test_seed());
    ASSERT_EQ(seq_rng_below(&rng, 0), 0);
    for (i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
        for (k = 0; k < 2000; k++) {
            ASSERT_LT(seq_rng_below(&rng, bounds[i]), bounds[i]);
        }
    }
}

/* Chi-squared over 10 buckets with 100000 draws: 9 degrees of freedom, and
 * 27.9 is the 0.1% critical value. A fixed seed makes this exact, not flaky. */
TEST(common_rng, below_is_roughly_uniform)
{
    struct seq_rng rng;
    unsigned long counts[10] = { 0 };
    double chi2 = 0;
    int i;

    seq_rng_seed(&rng, 12345);
    for (i = 0; i < 100000; i++) {
        counts[seq_rng_below(&rng, 10)]++;
    }
    for (i = 0; i < 10; i++) {
        double d = (double)counts[i] - 10000.0;

        chi2 += d * d / 10000.0;
    }
    ASSERT_TRUE(chi2 < 27.9);
}

TEST(common_rng, range_is_inclusive)
{
    struct seq_rng rng;
    int seen[5] = { 0 };
    int i;

    seq_rng_seed(&rng, test_seed());
    for (i = 0; i < 1000; i++) {
        uint64_t v = seq_rng_range(&rng, 10, 14);

        ASSERT_GE(v, 10);
        ASSERT_LE(v, 14);
        seen[v - 10] = 1;
    }
    for (i = 0; i < 5; i++) {
        ASSERT_TRUE(seen[i]);
    }
    ASSERT_EQ(seq_rng_range(&rng, 7, 7), 7);
    ASSERT_EQ(seq_rng_range(&rng, 9, 3), 9);
    for (i = 0; i < 100; i++) {
        ASSERT_GE(seq_rng_range(&rng, UINT64_MAX - 1, UINT64_MAX),
                  UINT64_MAX - 1);
    }
    /* The full range is every value: it must not overflow to below(0). */
    seq_rng_range(&rng, 0, UINT64_MAX);
}

/* A call draws whatever its parameters, so changing a probability does not
 * shift the draws that follow. (A Lemire retry could add a draw, with
 * probability below 2^-50 for these bounds.) */
TEST(common_rng, draws_are_one_per_call)
{
    struct seq_rng a;
    struct seq_rng b;

    seq_rng_seed(&a, test_seed());
    seq_rng_seed(&b, test_seed());
    (void)seq_rng_percent(&a, 0);
    (void)seq_rng_percent(&b, 100);
    (void)seq_rng_range(&a, 5, 5);
    (void)seq_rng_range(&b, 0, 1000);
    ASSERT_EQ(seq_rng_next(&a), seq_rng_next(&b));
}

TEST(common_rng, percent)
{
    struct seq_rng rng;
    int hits = 0;
    int i;

    seq_rng_seed(&rng, test_seed());
    for (i = 0; i < 1000; i++) {
        ASSERT_FALSE(seq_rng_percent(&rng, 0));
        ASSERT_TRUE(seq_rng_percent(&rng, 100));
        ASSERT_TRUE(seq_rng_percent(&rng, 250));
    }
    seq_rng_seed(&rng, 99);
    for (i = 0; i < 10000; i++) {
        hits += seq_rng_percent(&rng, 30);
    }
    ASSERT_GT(hits, 2700);
    ASSERT_LT(hits, 3300);
}

TEST_MAIN()
