/* The allocator hook (common/seq_alloc.h): counting, failing the Nth call
 * once or from then on, and the loop every allocation-failure test uses:
 * fail allocation 1, 2, 3, ... of an operation until it gets through, and
 * check that each failure reports SEQ_ENOMEM and leaks nothing (ASan would
 * report the leak). */

#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "seq_alloc.h"
#include "seq_err.h"

TEST(common_alloc, counts_every_attempt)
{
    unsigned long before = seq_alloc_count();
    void *a = seq_malloc(8);
    void *b = seq_calloc(2, 8);
    void *c;

    c = seq_realloc(a, 64);
    ASSERT_TRUE(c != NULL);
    ASSERT_EQ(seq_alloc_count(), before + 3);
    seq_free(c);
    seq_free(b);
    seq_free(NULL);
    ASSERT_EQ(seq_alloc_count(), before + 3);
}

TEST(common_alloc, fail_nth_once)
{
    void *p[4];
    int i;

    seq_alloc_fail_at(3, 0);
    for (i = 0; i < 4; i++) {
        p[i] = seq_malloc(16);
    }
    seq_alloc_fail_at(0, 0);
    ASSERT_TRUE(p[0] != NULL);
    ASSERT_TRUE(p[1] != NULL);
    ASSERT_TRUE(p[2] == NULL);
    ASSERT_TRUE(p[3] != NULL);
    for (i = 0; i < 4; i++) {
        seq_free(p[i]);
    }
}

TEST(common_alloc, fail_next_sticky)
{
    void *p;
    void *q;

    seq_alloc_fail_at(1, 1);
    p = seq_malloc(1);
    q = seq_calloc(1, 1);
    ASSERT_TRUE(p == NULL);
    ASSERT_TRUE(q == NULL);
    ASSERT_TRUE(seq_realloc(NULL, 8) == NULL);
    seq_alloc_fail_at(0, 0);
    p = seq_malloc(1);
    ASSERT_TRUE(p != NULL);
    seq_free(p);
}

TEST(common_alloc, failed_realloc_keeps_block)
{
    char *p = seq_malloc(4);
    char *q;

    ASSERT_TRUE(p != NULL);
    memcpy(p, "abc", 4);
    seq_alloc_fail_at(1, 0);
    q = seq_realloc(p, 1 << 20);
    seq_alloc_fail_at(0, 0);
    ASSERT_TRUE(q == NULL);
    ASSERT_STREQ(p, "abc");
    seq_free(p);
}

TEST(common_alloc, calloc_zeroes_and_checks_overflow)
{
    unsigned char *p = seq_calloc(100, 3);
    size_t i;

    ASSERT_TRUE(p != NULL);
    for (i = 0; i < 300; i++) {
        ASSERT_EQ(p[i], 0);
    }
    seq_free(p);
    ASSERT_TRUE(seq_calloc(SIZE_MAX / 2, 3) == NULL);
    ASSERT_TRUE(seq_calloc(3, SIZE_MAX / 2) == NULL);
}

/* NULL means out of memory, and only that. */
TEST(common_alloc, zero_size_is_not_null)
{
    void *a = seq_malloc(0);
    void *b = seq_calloc(0, 8);
    void *c = seq_calloc(8, 0);
    void *d = seq_realloc(seq_malloc(8), 0);

    ASSERT_TRUE(a != NULL);
    ASSERT_TRUE(b != NULL);
    ASSERT_TRUE(c != NULL);
    ASSERT_TRUE(d != NULL);
    seq_free(a);
    seq_free(b);
    seq_free(c);
    seq_free(d);
}

/* A three-step constructor with a goto ladder (STYLE §5), the shape the
 * failure loop below is meant for. */
struct triple {
    char *a;
    char *b;
    char *c;
};

static int triple_open(struct triple **out)
{
    struct triple *t;
    int rv = SEQ_ENOMEM;

    t = seq_calloc(1, sizeof *t);
    if (t == NULL) {
        goto err;
    }
    t->a = seq_malloc(10);
    if (t->a == NULL) {
        goto err_after_triple;
    }
    t->b = seq_malloc(20);
    if (t->b == NULL) {
        goto err_after_a;
    }
    t->c = seq_malloc(30);
    if (t->c == NULL) {
        goto err_after_b;
    }
    *out = t;
    return SEQ_OK;

err_after_b:
    seq_free(t->b);
err_after_a:
    seq_free(t->a);
err_after_triple:
    seq_free(t);
err:
    return rv;
}

static void triple_close(struct triple *t)
{
    seq_free(t->c);
    seq_free(t->b);
    seq_free(t->a);
    seq_free(t);
}

TEST(common_alloc, fail_each_allocation_in_turn)
{
    struct triple *t = NULL;
    unsigned long nth;
    int rv;

    for (nth = 1;; nth++) {
        seq_alloc_fail_at(nth, 0);
        rv = triple_open(&t);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_OK) {
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
        ASSERT_LE(nth, 4);
    }
    ASSERT_EQ(nth, 5); /* Four allocations, each failed once. */
    triple_close(t);
}

/* Big tables: 2 MiB-aligned, zeroed, writable to the last byte, counted
 * and failed like any allocation; small ones are seq_calloc()'s. */
TEST(common_alloc, huge_blocks_are_aligned_zeroed_and_counted)
{
    size_t sizes[] = { SEQ_HUGE_MIN, SEQ_HUGE_MIN + 4097, 3 * SEQ_HUGE_MIN };
    unsigned long before;
    uint8_t *p;
    size_t i, j;

    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        before = seq_alloc_count();
        p = seq_calloc_huge(sizes[i]);
        ASSERT_TRUE(p != NULL);
        ASSERT_EQ(seq_alloc_count(), before + 1);
        ASSERT_EQ((uintptr_t)p % ((uintptr_t)2 << 20), 0u);
        for (j = 0; j < sizes[i]; j += 4096) {
            ASSERT_EQ(p[j], 0);
        }
        ASSERT_EQ(p[sizes[i] - 1], 0);
        memset(p, 0xa5, sizes[i]);
        seq_free_huge(p, sizes[i]);
    }
    p = seq_calloc_huge(100);
    ASSERT_TRUE(p != NULL);
    ASSERT_EQ(p[99], 0);
    seq_free_huge(p, 100);
    seq_free_huge(NULL, SEQ_HUGE_MIN);
    seq_alloc_fail_at(1, 0);
    ASSERT_TRUE(seq_calloc_huge(SEQ_HUGE_MIN) == NULL);
    seq_alloc_fail_at(0, 0);
    ASSERT_TRUE(seq_calloc_huge(SIZE_MAX - 5) == NULL);
}

TEST_MAIN()
