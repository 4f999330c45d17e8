/* The hash set (common/seq_hset.h) as the mempool and the tx index use
 * it: membership against a plain model, clearing for reuse, prefetch
 * hints that change nothing, and big sets on huge pages behaving as small
 * ones do. */

#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hset.h"

#define SEED UINT64_C(0x5eed)

/* Key @i: distinct first 8 bytes unless @i >> 16 differs only (so that
 * some keys share their first 8 bytes and a probe must compare keys). */
static void key(struct seq_hash *h, uint32_t i)
{
    memset(h, 0, sizeof *h);
    h->bytes[0] = (uint8_t)(i & 0xff);
    h->bytes[1] = (uint8_t)((i >> 8) & 0xff);
    h->bytes[31] = (uint8_t)(i >> 16);
}

/* The value @i is stored with: any pointer-sized cookie. */
static void *val(uint32_t i)
{
    return (void *)(uintptr_t)(i + 1);
}

/* Checks that exactly the keys [lo, hi) of 0..@span are in @s, with their
 * values. */
static void expect_range(const struct seq_hset *s,
                         uint32_t lo,
                         uint32_t hi,
                         uint32_t span)
{
    uint32_t i;

    ASSERT_EQ(s->n, (size_t)(hi - lo));
    for (i = 0; i < span; i++) {
        struct seq_hash h;
        void *v = NULL;
        bool in = i >= lo && i < hi;

        key(&h, i);
        ASSERT_EQ(seq_hset_get(s, &h, &v), in);
        if (in) {
            ASSERT_TRUE(v == val(i));
        }
    }
}

TEST(common_hset, clear_empties_and_keeps_the_table)
{
    struct seq_hset s;
    struct seq_hset_slot *table;
    size_t max;
    uint32_t i;

    ASSERT_OK(seq_hset_init(&s, 1000, SEED));
    for (i = 0; i < 1000; i++) {
        struct seq_hash h;
        key(&h, i * 65537u);
        ASSERT_OK(seq_hset_put(&s, &h, val(i)));
    }
    table = s.slots;
    max = s.max;
    seq_hset_clear(&s);
    ASSERT_TRUE(s.slots == table);
    ASSERT_EQ(s.max, max);
    ASSERT_EQ(s.n, 0u);
    for (i = 0; i < 1000; i++) {
        struct seq_hash h;
        key(&h, i * 65537u);
        ASSERT_FALSE(seq_hset_get(&s, &h, NULL));
        ASSERT_FALSE(seq_hset_unref(&s, &h));
    }
    /* Filled again with other values: the old slots leave no trace. */
    for (i = 0; i < 1000; i++) {
        struct seq_hash h;
        key(&h, i * 65537u);
        ASSERT_OK(seq_hset_put(&s, &h, val(i + 7)));
    }
    for (i = 0; i < 1000; i++) {
        struct seq_hash h;
        void *v = NULL;
        key(&h, i * 65537u);
        ASSERT_TRUE(seq_hset_get(&s, &h, &v));
        ASSERT_TRUE(v == val(i + 7));
    }
    {
        struct seq_hash h;
        key(&h, 4242);
        ASSERT_ERR(seq_hset_put(&s, &h, NULL), SEQ_EFULL);
    }
    seq_hset_close(&s);
    memset(&s, 0, sizeof s);
    seq_hset_clear(&s); /* A zeroed set: nothing to clear. */
    ASSERT_EQ(s.n, 0u);
}

TEST(common_hset, prefetch_changes_nothing)
{
    struct seq_hset s;
    struct seq_hash h;
    uint32_t i;

    memset(&s, 0, sizeof s);
    key(&h, 1);
    seq_hset_prefetch(&s, &h, true); /* Never sized: no table to touch. */
    seq_hset_prefetch(&s, &h, false);
    ASSERT_OK(seq_hset_init(&s, 300, SEED));
    for (i = 0; i < 300; i += 2) {
        key(&h, i);
        ASSERT_OK(seq_hset_put(&s, &h, val(i)));
    }
    /* Hints for present and absent keys, at the last slot too. */
    for (i = 0; i < 300 * 3; i++) {
        key(&h, i);
        seq_hset_prefetch(&s, &h, (i & 1) != 0);
    }
    for (i = 0; i < 300; i++) {
        void *v = NULL;
        key(&h, i);
        ASSERT_EQ(seq_hset_get(&s, &h, &v), i % 2 == 0);
        if (i % 2 == 0) {
            ASSERT_TRUE(v == val(i));
        }
    }
    ASSERT_EQ(s.n, 150u);
    seq_hset_close(&s);
}

/* A big set (tables of tens of megabytes, on huge pages) against the same
 * operations on a small-table set: inserts across a growth, deletes with
 * backward shifts, references. */
TEST(common_hset, big_set_behaves_as_a_plain_one)
{
    enum { N = 200000 };
    struct seq_hset big, plain;
    uint32_t i;

    ASSERT_OK(seq_hset_init_big(&big, N / 4, SEED));
    ASSERT_OK(seq_hset_init(&plain, N / 4, SEED));
    ASSERT_TRUE(big.huge);
    ASSERT_FALSE(plain.huge);
    ASSERT_OK(seq_hset_reserve(&big, N));
    ASSERT_OK(seq_hset_reserve(&plain, N));
    /* Tables from SEQ_HUGE_MIN up are 2 MiB-aligned mappings. */
    ASSERT_GE((big.mask + 1) * (sizeof(struct seq_hash) + 16), SEQ_HUGE_MIN);
    ASSERT_EQ((uintptr_t)big.slots % ((uintptr_t)2 << 20), 0u);
    for (i = 0; i < N; i++) {
        struct seq_hash h;
        key(&h, i);
        if (i + SEQ_HSET_AHEAD < N) {
            struct seq_hash ahead;
            key(&ahead, i + SEQ_HSET_AHEAD);
            seq_hset_prefetch(&big, &ahead, true);
        }
        ASSERT_OK(seq_hset_put(&big, &h, val(i)));
        ASSERT_OK(seq_hset_put(&plain, &h, val(i)));
        if (i % 3 == 0) {
            ASSERT_OK(seq_hset_ref(&big, &h));
            ASSERT_OK(seq_hset_ref(&plain, &h));
        }
    }
    /* Drop one reference of every key below N/2: keys with two stay. */
    for (i = 0; i < N / 2; i++) {
        struct seq_hash h;
        key(&h, i);
        ASSERT_TRUE(seq_hset_unref(&big, &h));
        ASSERT_TRUE(seq_hset_unref(&plain, &h));
    }
    ASSERT_EQ(big.n, plain.n);
    for (i = 0; i < N; i++) {
        struct seq_hash h;
        void *vb = NULL, *vp = NULL;
        bool in = i >= N / 2 || i % 3 == 0;

        key(&h, i);
        ASSERT_EQ(seq_hset_get(&big, &h, &vb), in);
        ASSERT_EQ(seq_hset_get(&plain, &h, &vp), in);
        ASSERT_TRUE(vb == vp);
    }
    seq_hset_clear(&big);
    expect_range(&big, 0, 0, 1000);
    seq_hset_close(&big);
    seq_hset_close(&plain);
}

TEST(common_hset, failed_big_init_leaves_a_closed_set)
{
    struct seq_hset s;

    seq_alloc_fail_at(1, 0);
    ASSERT_ERR(seq_hset_init_big(&s, 1u << 20, SEED), SEQ_ENOMEM);
    seq_alloc_fail_at(0, 0);
    ASSERT_TRUE(s.slots == NULL);
    ASSERT_EQ(s.n, 0u);
    seq_hset_close(&s);
    ASSERT_OK(seq_hset_init_big(&s, 1u << 20, SEED));
    seq_alloc_fail_at(1, 0);
    ASSERT_ERR(seq_hset_reserve(&s, 1u << 22), SEQ_ENOMEM);
    seq_alloc_fail_at(0, 0);
    ASSERT_EQ(s.max, (size_t)1 << 20); /* Unchanged. */
    expect_range(&s, 0, 0, 10);
    seq_hset_close(&s);
}

TEST_MAIN()
