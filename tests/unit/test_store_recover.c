/* Recovery from a store (storage/store_recover.c): what the consensus core
 * gets back after a restart. An empty store is a first boot; a store with a
 * committed chain and certified blocks above it yields the committed tip as
 * root, its QC, the high QC and the blocks between, bottom up; anything
 * inconsistent (no safety state, a missing ancestor, a high QC off the
 * committed chain) is refused with SEQ_ECORRUPT, per (R1)-(R5). Every test
 * runs on store_mem and on RocksDB, where a crash is a real close without a
 * sync and a reopen. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hs_types.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_rng.h"
#include "store.h"
#include "store_mem.h"
#include "store_recover.h"
#include "store_rocks.h"
#include "test_fs.h"

/* ---- Backends. ---- */

struct backend {
    const char *name;
    int (*open)(struct store **out); /* A new, empty store. */
    void (*crash)(struct store **s); /* Lose what was not synced. */
    void (*close)(struct store *s);  /* And delete what it left behind. */
};

static int mem_open(struct store **out)
{
    return store_mem_open(out);
}

static void mem_crash(struct store **s)
{
    store_mem_crash(*s);
}

static void mem_close(struct store *s)
{
    store_close(s);
}

/* One RocksDB store at a time, in a fresh directory under $TMPDIR. */
#define ROCKS_PATH_LEN 4096

static char rocks_dir[ROCKS_PATH_LEN];
static char rocks_path[ROCKS_PATH_LEN];

static int rocks_open(struct store **out)
{
    char errmsg[SEQ_ERRMSG_LEN];
    int n;
    int rv;

    test_tmpdir("seq-recover", rocks_dir, sizeof rocks_dir);
    n = snprintf(rocks_path, sizeof rocks_path, "%s/data", rocks_dir);
    ASSERT_TRUE(n > 0 && (size_t)n < sizeof rocks_path);
    rv = store_rocks_open(rocks_path, out, errmsg);
    if (rv != 0) {
        fprintf(stderr, "  open: %s\n", errmsg);
    }
    return rv;
}

static void rocks_crash(struct store **s)
{
    char errmsg[SEQ_ERRMSG_LEN];
    int rv;

    store_close(*s); /* No sync: what was staged is gone. */
    *s = NULL;
    rv = store_rocks_open(rocks_path, s, errmsg);
    if (rv != 0) {
        fprintf(stderr, "  reopen: %s\n", errmsg);
    }
    ASSERT_OK(rv);
}

static void rocks_close(struct store *s)
{
    store_close(s);
    test_rm_tree(rocks_dir);
}

static const struct backend backends[] = {
    { "store_mem", mem_open, mem_crash, mem_close },
    { "store_rocks", rocks_open, rocks_crash, rocks_close },
};

#define N_BACKENDS (sizeof backends / sizeof backends[0])

static const struct backend *backend; /* The one the test runs on now. */

/* A test whose body runs once on each backend. */
#define STORE_TEST(test)                                \
    static void check_##test(void);                     \
    TEST(store_recover, test)                           \
    {                                                   \
        size_t i_;                                      \
        for (i_ = 0; i_ < N_BACKENDS; i_++) {           \
            backend = &backends[i_];                    \
            fprintf(stderr, "  [%s]\n", backend->name); \
            check_##test();                             \
        }                                               \
    }                                                   \
    static void check_##test(void)

/* ---- Fixture. ---- */

#define N_CHAIN 8

static const struct seq_hash chain_id = { { 0x52, 0x45, 0x43 } };

struct fixture {
    struct store *s;
    struct hs_block genesis;
    struct hs_block b[N_CHAIN + 1]; /* b[h] is at height h; b[0] unused. */
    struct hs_block fork;           /* At height 5, off the chain. */
    struct hs_qc qc[N_CHAIN + 1];
    struct hs_safety safety;
};

static void make_qc(struct hs_qc *qc, const struct hs_block *b)
{
    uint32_t i;

    memset(qc, 0, sizeof *qc);
    qc->epoch = b->epoch;
    qc->round = b->round;
    qc->height = b->height;
    qc->block_id = b->id;
    qc->n_sigs = 3;
    for (i = 0; i < qc->n_sigs; i++) {
        qc->sigs[i].signer = i;
        memset(qc->sigs[i].sig.bytes, (int)(b->round + i), HS_SIG_LEN);
    }
}

static void make_block(struct hs_block *b,
                       const struct hs_block *parent,
                       hs_round_t round,
                       struct seq_rng *rng)
{
    size_t i;

    hs_genesis_block(&chain_id, 1, b);
    b->round = round;
    b->height = parent->height + 1;
    b->parent_id = parent->id;
    b->author = (hs_node_t)(round % 4);
    make_qc(&b->justify, parent);
    b->payload_len = (size_t)seq_rng_range(rng, 0, 64);
    if (b->payload_len > 0) {
        b->payload = seq_malloc(b->payload_len);
        for (i = 0; i < b->payload_len; i++) {
            b->payload[i] = (uint8_t)seq_rng_next(rng);
        }
    }
    hs_block_seal(b, &chain_id);
}

/* Blocks 1..N_CHAIN on genesis (round = height), a fork at height 5, and
 * their QCs; nothing stored yet. */
static void fixture_init(struct fixture *fx)
{
    struct seq_rng rng;
    size_t h;

    memset(fx, 0, sizeof *fx);
    seq_rng_seed(&rng, test_seed());
    hs_genesis_block(&chain_id, 1, &fx->genesis);
    for (h = 1; h <= N_CHAIN; h++) {
        make_block(&fx->b[h], h == 1 ? &fx->genesis : &fx->b[h - 1],
                   (hs_round_t)h, &rng);
        make_qc(&fx->qc[h], &fx->b[h]);
    }
    make_block(&fx->fork, &fx->b[4], 20, &rng);
    fx->safety.epoch = 1;
    fx->safety.last_voted_round = 6;
    fx->safety.preferred_round = 4;
    fx->safety.one_chain_round = 5;
    ASSERT_OK(backend->open(&fx->s));
}

static void fixture_close(struct fixture *fx)
{
    size_t h;

    backend->close(fx->s);
    for (h = 1; h <= N_CHAIN; h++) {
        hs_block_free(&fx->b[h]);
    }
    hs_block_free(&fx->fork);
}

/* What a replica persists along the way: blocks 1..@n_blocks with their
 * QCs up to @high (the high QC), commits 1..@committed, the fork block, and
 * the safety state; then sync. */
static void fixture_store(struct fixture *fx,
                          size_t n_blocks,
                          size_t high,
                          size_t committed)
{
    size_t h;

    for (h = 1; h <= n_blocks; h++) {
        ASSERT_OK(store_put_block(fx->s, &fx->b[h]));
    }
    for (h = 1; h <= high; h++) {
        ASSERT_OK(store_put_qc(fx->s, &fx->qc[h]));
    }
    if (high > 0) {
        ASSERT_OK(store_put_high_qc(fx->s, &fx->qc[high]));
    }
    for (h = 1; h <= committed; h++) {
        ASSERT_OK(store_put_commit(fx->s, h, &fx->b[h].id));
    }
    ASSERT_OK(store_put_block(fx->s, &fx->fork));
    ASSERT_OK(store_put_safety(fx->s, &fx->safety));
    ASSERT_OK(store_sync(fx->s));
}

static bool block_eq(const struct hs_block *a, const struct hs_block *b)
{
    return seq_hash_eq(&a->id, &b->id) && a->height == b->height &&
           a->round == b->round && seq_hash_eq(&a->parent_id, &b->parent_id) &&
           a->payload_len == b->payload_len &&
           (a->payload_len == 0 ||
            memcmp(a->payload, b->payload, a->payload_len) == 0);
}

static bool qc_eq(const struct hs_qc *a, const struct hs_qc *b)
{
    return seq_hash_eq(&a->block_id, &b->block_id) && a->round == b->round &&
           a->height == b->height && a->n_sigs == b->n_sigs &&
           memcmp(a->sigs, b->sigs, a->n_sigs * sizeof a->sigs[0]) == 0;
}

/* @r holds root b[@root], high QC qc[@high] and blocks root+1..high. */
static void check_recovery(const struct fixture *fx,
                           const struct store_recovery *r,
                           size_t root,
                           size_t high)
{
    size_t i;

    ASSERT_TRUE(r->has_root);
    ASSERT_TRUE(r->rec.root == &r->root);
    ASSERT_TRUE(block_eq(r->rec.root, &fx->b[root]));
    ASSERT_TRUE(r->rec.root_qc == &r->root_qc);
    ASSERT_TRUE(qc_eq(r->rec.root_qc, &fx->qc[root]));
    ASSERT_TRUE(r->rec.high_qc == &r->high_qc);
    ASSERT_TRUE(qc_eq(r->rec.high_qc, &fx->qc[high]));
    ASSERT_EQ(r->rec.n_blocks, high - root);
    ASSERT_TRUE(r->rec.n_blocks == 0 || r->rec.blocks != NULL);
    for (i = 0; i < r->rec.n_blocks; i++) {
        ASSERT_TRUE(block_eq(r->rec.blocks[i], &fx->b[root + 1 + i]));
    }
    ASSERT_EQ(r->rec.safety.last_voted_round, fx->safety.last_voted_round);
    ASSERT_EQ(r->rec.safety.preferred_round, fx->safety.preferred_round);
}

STORE_TEST(empty_store_is_genesis)
{
    struct store *s = NULL;
    struct store_recovery r;
    struct store_recovery zero;

    memset(&zero, 0, sizeof zero);
    ASSERT_OK(backend->open(&s));
    memset(&r, 0xa5, sizeof r);
    ASSERT_OK(store_recovery_load(s, &r));
    ASSERT_TRUE(r.rec.root == NULL);
    ASSERT_TRUE(r.rec.root_qc == NULL);
    ASSERT_TRUE(r.rec.high_qc == NULL);
    ASSERT_TRUE(r.rec.blocks == NULL);
    ASSERT_EQ(r.rec.n_blocks, 0);
    ASSERT_FALSE(r.has_root);
    ASSERT_MEMEQ(&r.rec.safety, &zero.rec.safety, sizeof r.rec.safety);
    store_recovery_free(&r);
    store_recovery_free(&zero); /* A zeroed struct is fine too. */
    backend->close(s);
}

STORE_TEST(safety_only_is_genesis_with_safety)
{
    struct fixture fx;
    struct store_recovery r;

    fixture_init(&fx);
    ASSERT_OK(store_put_safety(fx.s, &fx.safety));
    ASSERT_OK(store_recovery_load(fx.s, &r));
    ASSERT_TRUE(r.rec.root == NULL);
    ASSERT_TRUE(r.rec.high_qc == NULL);
    ASSERT_EQ(r.rec.n_blocks, 0);
    ASSERT_EQ(r.rec.safety.last_voted_round, fx.safety.last_voted_round);
    store_recovery_free(&r);
    fixture_close(&fx);
}

STORE_TEST(committed_chain_and_certified_blocks_above_it)
{
    struct fixture fx;
    struct store_recovery r;

    fixture_init(&fx);
    /* Committed 1..3, certified up to 6, block 7 proposed but not
     * certified, and a fork at height 5: root 3, blocks 4, 5, 6. */
    fixture_store(&fx, 7, 6, 3);
    ASSERT_OK(store_recovery_load(fx.s, &r));
    check_recovery(&fx, &r, 3, 6);
    store_recovery_free(&r);
    ASSERT_FALSE(r.has_root);
    ASSERT_EQ(r.rec.n_blocks, 0);
    fixture_close(&fx);
}

STORE_TEST(high_qc_on_the_root_gives_no_blocks)
{
    struct fixture fx;
    struct store_recovery r;

    fixture_init(&fx);
    fixture_store(&fx, 4, 4, 4);
    ASSERT_OK(store_recovery_load(fx.s, &r));
    check_recovery(&fx, &r, 4, 4);
    ASSERT_TRUE(r.rec.blocks == NULL);
    store_recovery_free(&r);
    fixture_close(&fx);
}

STORE_TEST(high_qc_below_the_root_is_replaced_by_the_root_qc)
{
    struct fixture fx;
    struct store_recovery r;

    fixture_init(&fx);
    fixture_store(&fx, 5, 5, 5);
    ASSERT_OK(store_put_high_qc(fx.s, &fx.qc[2]));
    ASSERT_OK(store_recovery_load(fx.s, &r));
    check_recovery(&fx, &r, 5, 5);
    store_recovery_free(&r);
    fixture_close(&fx);
}

STORE_TEST(no_high_qc_means_the_root_qc)
{
    struct fixture fx;
    struct store_recovery r;
    size_t h;

    fixture_init(&fx);
    for (h = 1; h <= 3; h++) {
        ASSERT_OK(store_put_block(fx.s, &fx.b[h]));
        ASSERT_OK(store_put_qc(fx.s, &fx.qc[h]));
        ASSERT_OK(store_put_commit(fx.s, h, &fx.b[h].id));
    }
    ASSERT_OK(store_put_safety(fx.s, &fx.safety));
    ASSERT_OK(store_recovery_load(fx.s, &r));
    check_recovery(&fx, &r, 3, 3);
    store_recovery_free(&r);
    fixture_close(&fx);
}

STORE_TEST(nothing_committed_yet_walks_down_to_genesis)
{
    struct fixture fx;
    struct store_recovery r;
    size_t i;

    fixture_init(&fx);
    fixture_store(&fx, 3, 3, 0);
    ASSERT_OK(store_recovery_load(fx.s, &r));
    ASSERT_FALSE(r.has_root);
    ASSERT_TRUE(r.rec.root == NULL);
    ASSERT_TRUE(r.rec.root_qc == NULL);
    ASSERT_TRUE(r.rec.high_qc != NULL);
    ASSERT_TRUE(qc_eq(r.rec.high_qc, &fx.qc[3]));
    ASSERT_EQ(r.rec.n_blocks, 3);
    for (i = 0; i < 3; i++) {
        ASSERT_TRUE(block_eq(r.rec.blocks[i], &fx.b[i + 1]));
    }
    store_recovery_free(&r);
    fixture_close(&fx);
}

/* Load must fail with SEQ_ECORRUPT, explain why, and leave @r zeroed. */
static void expect_corrupt(struct store *s)
{
    struct store_recovery r;
    struct store_recovery zero;

    memset(&zero, 0, sizeof zero);
    s->errmsg[0] = '\0';
    ASSERT_ERR(store_recovery_load(s, &r), SEQ_ECORRUPT);
    ASSERT_TRUE(s->errmsg[0] != '\0');
    ASSERT_MEMEQ(&r, &zero, sizeof r);
    store_recovery_free(&r);
}

STORE_TEST(missing_safety_with_blocks_is_corrupt)
{
    struct fixture fx;
    size_t h;

    fixture_init(&fx);
    for (h = 1; h <= 4; h++) {
        ASSERT_OK(store_put_block(fx.s, &fx.b[h]));
        ASSERT_OK(store_put_qc(fx.s, &fx.qc[h]));
    }
    ASSERT_OK(store_put_high_qc(fx.s, &fx.qc[4]));
    expect_corrupt(fx.s);
    ASSERT_OK(store_put_commit(fx.s, 1, &fx.b[1].id));
    expect_corrupt(fx.s);
    fixture_close(&fx);
}

STORE_TEST(missing_ancestor_is_corrupt)
{
    struct fixture fx;
    struct store *s;
    size_t h;

    fixture_init(&fx);
    s = fx.s;
    for (h = 1; h <= 6; h++) {
        if (h != 4) {
            ASSERT_OK(store_put_block(s, &fx.b[h]));
        }
        ASSERT_OK(store_put_qc(s, &fx.qc[h]));
    }
    ASSERT_OK(store_put_commit(s, 1, &fx.b[1].id));
    ASSERT_OK(store_put_commit(s, 2, &fx.b[2].id));
    ASSERT_OK(store_put_high_qc(s, &fx.qc[6]));
    ASSERT_OK(store_put_safety(s, &fx.safety));
    expect_corrupt(s);
    /* The high QC's own block missing is the same failure. */
    ASSERT_OK(store_put_block(s, &fx.b[4]));
    ASSERT_OK(store_put_high_qc(s, &fx.qc[7]));
    expect_corrupt(s);
    fixture_close(&fx);
}

STORE_TEST(committed_root_or_its_qc_missing_is_corrupt)
{
    struct fixture fx;

    /* The root's QC is missing. */
    fixture_init(&fx);
    ASSERT_OK(store_put_block(fx.s, &fx.b[1]));
    ASSERT_OK(store_put_commit(fx.s, 1, &fx.b[1].id));
    ASSERT_OK(store_put_safety(fx.s, &fx.safety));
    expect_corrupt(fx.s);
    fixture_close(&fx);

    /* The root block itself is missing. */
    fixture_init(&fx);
    ASSERT_OK(store_put_qc(fx.s, &fx.qc[1]));
    ASSERT_OK(store_put_commit(fx.s, 1, &fx.b[1].id));
    ASSERT_OK(store_put_safety(fx.s, &fx.safety));
    expect_corrupt(fx.s);
    fixture_close(&fx);

    /* The height index files block 1 at height 2. */
    fixture_init(&fx);
    ASSERT_OK(store_put_block(fx.s, &fx.b[1]));
    ASSERT_OK(store_put_qc(fx.s, &fx.qc[1]));
    ASSERT_OK(store_put_commit(fx.s, 2, &fx.b[1].id));
    ASSERT_OK(store_put_safety(fx.s, &fx.safety));
    expect_corrupt(fx.s);
    fixture_close(&fx);
}

STORE_TEST(high_qc_off_the_committed_chain_is_corrupt)
{
    struct fixture fx;
    struct hs_qc fork_qc;

    /* Committed 1..5; the high QC certifies the fork at height 5. */
    fixture_init(&fx);
    fixture_store(&fx, 5, 5, 5);
    make_qc(&fork_qc, &fx.fork);
    ASSERT_OK(store_put_high_qc(fx.s, &fork_qc));
    expect_corrupt(fx.s);
    fixture_close(&fx);

    /* Committed 1..5; a block above the fork is certified. */
    fixture_init(&fx);
    {
        struct seq_rng rng;
        struct hs_block above;
        struct hs_qc above_qc;

        seq_rng_seed(&rng, test_seed());
        make_block(&above, &fx.fork, 21, &rng);
        make_qc(&above_qc, &above);
        fixture_store(&fx, 5, 5, 5);
        ASSERT_OK(store_put_block(fx.s, &above));
        ASSERT_OK(store_put_high_qc(fx.s, &above_qc));
        expect_corrupt(fx.s);
        hs_block_free(&above);
    }
    fixture_close(&fx);
}

STORE_TEST(crash_before_sync_recovers_the_previous_sync)
{
    struct fixture fx;
    struct store_recovery r;

    fixture_init(&fx);
    fixture_store(&fx, 4, 4, 2);
    /* A new block, its QC as the high QC, and a commit: all staged, then
     * the power goes. */
    ASSERT_OK(store_put_block(fx.s, &fx.b[5]));
    ASSERT_OK(store_put_qc(fx.s, &fx.qc[5]));
    ASSERT_OK(store_put_high_qc(fx.s, &fx.qc[5]));
    ASSERT_OK(store_put_commit(fx.s, 3, &fx.b[3].id));
    ASSERT_OK(store_recovery_load(fx.s, &r)); /* Before: sees it all. */
    check_recovery(&fx, &r, 3, 5);
    store_recovery_free(&r);

    backend->crash(&fx.s);
    ASSERT_OK(store_recovery_load(fx.s, &r));
    check_recovery(&fx, &r, 2, 4);
    store_recovery_free(&r);
    fixture_close(&fx);
}

STORE_TEST(out_of_memory_at_each_allocation)
{
    struct fixture fx;
    struct store_recovery r;
    struct store_recovery zero;
    unsigned long nth;
    int sticky;
    int rv;

    memset(&zero, 0, sizeof zero);
    fixture_init(&fx);
    fixture_store(&fx, 8, 8, 2);
    for (sticky = 0; sticky <= 1; sticky++) {
        for (nth = 1; nth < 100; nth++) {
            seq_alloc_fail_at(nth, sticky);
            rv = store_recovery_load(fx.s, &r);
            seq_alloc_fail_at(0, 0);
            if (rv == 0) {
                break;
            }
            ASSERT_ERR(rv, SEQ_ENOMEM);
            ASSERT_MEMEQ(&r, &zero, sizeof r);
        }
        ASSERT_LT(nth, 100);
        check_recovery(&fx, &r, 2, 8);
        store_recovery_free(&r);
    }
    fixture_close(&fx);
}

TEST_MAIN()
