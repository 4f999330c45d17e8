/* SHA-256 (common/seq_hash.h): the FIPS 180-2 known answers, the incremental
 * interface against the one-shot one at every split, the big-endian integer
 * helpers, and the comparisons. */

#include <string.h>

#include "harness.h"
#include "seq_alloc.h"
#include "seq_hash.h"
#include "seq_hex.h"
#include "seq_rng.h"

static void expect_hex(const struct seq_hash *h, const char *hex)
{
    char text[2 * SEQ_HASH_LEN + 1];

    seq_hex_encode(h->bytes, SEQ_HASH_LEN, text);
    ASSERT_STREQ(text, hex);
}

TEST(common_hash, known_answers)
{
    static const struct {
        const char *input;
        const char *digest;
    } kat[] = {
        { "",
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc",
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    };
    struct seq_hash h;
    size_t i;

    for (i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        seq_sha256(kat[i].input, strlen(kat[i].input), &h);
        expect_hex(&h, kat[i].digest);
    }
}

/* FIPS 180-2 appendix B.3: one million 'a', fed in uneven pieces. */
TEST(common_hash, million_a_incremental)
{
    static char chunk[997];
    struct seq_sha256_ctx ctx;
    struct seq_hash h;
    size_t left = 1000000;

    memset(chunk, 'a', sizeof chunk);
    seq_sha256_init(&ctx);
    while (left > 0) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;

        seq_sha256_update(&ctx, chunk, n);
        left -= n;
    }
    seq_sha256_final(&ctx, &h);
    expect_hex(
        &h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Splitting the input anywhere gives the one-shot digest, including around
 * the 64-byte block boundary. */
TEST(common_hash, incremental_matches_one_shot)
{
    uint8_t data[300];
    struct seq_rng rng;
    struct seq_hash want;
    struct seq_hash got;
    size_t len;
    size_t cut;

    seq_rng_seed(&rng, test_seed());
    for (len = 0; len < sizeof data; len++) {
        data[len] = (uint8_t)seq_rng_next(&rng);
    }
    for (len = 0; len <= 200; len += 7) {
        seq_sha256(data, len, &want);
        for (cut = 0; cut <= len; cut++) {
            struct seq_sha256_ctx ctx;

            seq_sha256_init(&ctx);
            seq_sha256_update(&ctx, data, cut);
            seq_sha256_update(&ctx, NULL, 0);
            seq_sha256_update(&ctx, data + cut, len - cut);
            seq_sha256_final(&ctx, &got);
            ASSERT_TRUE(seq_hash_eq(&want, &got));
        }
    }
}

TEST(common_hash, integers_are_big_endian)
{
    static const uint8_t bytes[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                     0x07, 0x08, 0xa0, 0xb0, 0xc0, 0xd0 };
    struct seq_sha256_ctx ctx;
    struct seq_hash want;
    struct seq_hash got;

    seq_sha256(bytes, sizeof bytes, &want);
    seq_sha256_init(&ctx);
    seq_sha256_u64(&ctx, UINT64_C(0x0102030405060708));
    seq_sha256_u32(&ctx, UINT32_C(0xa0b0c0d0));
    seq_sha256_final(&ctx, &got);
    ASSERT_MEMEQ(want.bytes, got.bytes, SEQ_HASH_LEN);
}

/* A context can be initialised again after final and reused. */
TEST(common_hash, context_reuse)
{
    struct seq_sha256_ctx ctx;
    struct seq_hash a;
    struct seq_hash b;

    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, "xyz", 3);
    seq_sha256_final(&ctx, &a);
    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, "abc", 3);
    seq_sha256_final(&ctx, &b);
    expect_hex(
        &b, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ASSERT_FALSE(seq_hash_eq(&a, &b));
}

/* Hashing never allocates, so it cannot fail inside the core (seq_hash.h). */
TEST(common_hash, does_not_allocate)
{
    struct seq_sha256_ctx ctx;
    struct seq_hash h;
    unsigned long before = seq_alloc_count();

    seq_sha256("abc", 3, &h);
    seq_sha256_init(&ctx);
    seq_sha256_u64(&ctx, 1);
    seq_sha256_final(&ctx, &h);
    ASSERT_EQ(seq_alloc_count(), before);
}

TEST(common_hash, compare)
{
    struct seq_hash zero;
    struct seq_hash a;
    struct seq_hash b;

    memset(&zero, 0, sizeof zero);
    ASSERT_TRUE(seq_hash_is_zero(&zero));
    a = zero;
    a.bytes[SEQ_HASH_LEN - 1] = 1;
    ASSERT_FALSE(seq_hash_is_zero(&a));
    b = zero;
    b.bytes[0] = 1;
    ASSERT_FALSE(seq_hash_eq(&a, &b));
    ASSERT_TRUE(seq_hash_eq(&a, &a));
    /* Byte order: the first byte decides, and the result is -1, 0 or 1. */
    ASSERT_EQ(seq_hash_cmp(&a, &b), -1);
    ASSERT_EQ(seq_hash_cmp(&b, &a), 1);
    ASSERT_EQ(seq_hash_cmp(&a, &a), 0);
    ASSERT_EQ(seq_hash_cmp(&zero, &a), -1);
    a.bytes[0] = 0xff;
    ASSERT_EQ(seq_hash_cmp(&a, &b), 1);
}

TEST_MAIN()
