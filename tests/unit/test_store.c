/* The store contract (storage/store.h), run against every implementation in
 * store_factories[]. Each check takes a factory, so the suite knows nothing
 * of any one store: a factory opens an empty store, simulates a power cut
 * (store_mem forgets what was not synced; a disk store is closed without a
 * sync and reopened) and reopens after it. The contract: reads see staged
 * writes at once, sync() makes them durable atomically, a crash leaves
 * exactly what the last successful sync() covered, absent keys are
 * SEQ_ENOTFOUND with *out untouched, blocks are deep copies both ways, a
 * failed sync() leaves the store unusable, and a put that runs out of
 * memory fails cleanly with SEQ_ENOMEM, whichever allocation it was. The
 * rollup path's records (batches with deletes and ordered scans, namespace
 * entries, commit certificates found from a height, tx locations) obey the
 * same rules: a staged delete hides a key at once, and a crash forgets an
 * unsynced delete as it forgets an unsynced put. */

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
#include "store_eq.h"
#include "store_mem.h"
#include "store_rocks.h"
#include "test_fs.h"

/* ---- Factories. ---- */

struct store_factory {
    const char *name;
    void *impl; /* The factory's own state (a directory, say). */
    /* A new, empty store. */
    int (*open)(struct store_factory *f, struct store **out);
    /* A power cut: everything staged since the last successful sync() is
     * lost. *s may be closed and replaced by NULL. */
    void (*crash)(struct store_factory *f, struct store **s);
    /* Bring the store back after crash(); *s is the store to use then. */
    int (*reopen)(struct store_factory *f, struct store **s);
    /* Make every later sync() fail with SEQ_EIO, or stop doing so. NULL
     * when the store cannot simulate a failing disk. */
    void (*fail_syncs)(struct store_factory *f, struct store *s, bool fail);
    /* Close the store and delete whatever it left behind. */
    void (*destroy)(struct store_factory *f, struct store *s);
};

static int mem_open(struct store_factory *f, struct store **out)
{
    (void)f;
    return store_mem_open(out);
}

static void mem_crash(struct store_factory *f, struct store **s)
{
    (void)f;
    store_mem_crash(*s);
}

static int mem_reopen(struct store_factory *f, struct store **s)
{
    (void)f;
    (void)s; /* The same object stands for the reopened store. */
    return SEQ_OK;
}

static void mem_fail_syncs(struct store_factory *f, struct store *s, bool fail)
{
    (void)f;
    store_mem_fail_syncs(s, fail);
}

static void mem_destroy(struct store_factory *f, struct store *s)
{
    (void)f;
    store_close(s);
}

/* RocksDB: each store in a fresh directory under $TMPDIR (or /tmp). A
 * crash is a close without a sync, which drops the staged batch as a kill
 * would, and the reopen is a real store_rocks_open() of the directory. */
#define ROCKS_PATH_LEN 4096

struct rocks_dir {
    char dir[ROCKS_PATH_LEN];  /* The temporary directory; "" when none. */
    char path[ROCKS_PATH_LEN]; /* The database, inside it. */
};

static void rocks_rmdir(struct rocks_dir *d)
{
    if (d->dir[0] != '\0') {
        test_rm_tree(d->dir);
        d->dir[0] = '\0';
    }
}

static int rocks_open(struct store_factory *f, struct store **out)
{
    struct rocks_dir *d = f->impl;
    char errmsg[SEQ_ERRMSG_LEN];
    int n;
    int rv;

    test_tmpdir("seq-store", d->dir, sizeof d->dir);
    n = snprintf(d->path, sizeof d->path, "%s/data", d->dir);
    ASSERT_TRUE(n > 0 && (size_t)n < sizeof d->path);
    rv = store_rocks_open(d->path, out, errmsg);
    if (rv != 0) {
        if (rv != SEQ_ENOMEM) {
            fprintf(stderr, "  open: %s\n", errmsg);
        }
        rocks_rmdir(d);
    }
    return rv;
}

static void rocks_crash(struct store_factory *f, struct store **s)
{
    (void)f;
    store_close(*s); /* No sync: what was staged is gone. */
    *s = NULL;
}

static int rocks_reopen(struct store_factory *f, struct store **s)
{
    struct rocks_dir *d = f->impl;
    char errmsg[SEQ_ERRMSG_LEN];
    int rv;

    rv = store_rocks_open(d->path, s, errmsg);
    if (rv != 0) {
        fprintf(stderr, "  reopen: %s\n", errmsg);
    }
    return rv;
}

static void rocks_fail_syncs(struct store_factory *f,
                             struct store *s,
                             bool fail)
{
    (void)f;
    store_rocks_fail_syncs(s, fail);
}

static void rocks_destroy(struct store_factory *f, struct store *s)
{
    store_close(s);
    rocks_rmdir(f->impl);
}

static struct rocks_dir rocks_dir;

static struct store_factory store_factories[] = {
    {
        .name = "store_mem",
        .open = mem_open,
        .crash = mem_crash,
        .reopen = mem_reopen,
        .fail_syncs = mem_fail_syncs,
        .destroy = mem_destroy,
    },
    {
        .name = "store_rocks",
        .impl = &rocks_dir,
        .open = rocks_open,
        .crash = rocks_crash,
        .reopen = rocks_reopen,
        .fail_syncs = rocks_fail_syncs,
        .destroy = rocks_destroy,
    },
};

#define N_FACTORIES (sizeof store_factories / sizeof store_factories[0])

/* Run @check against every store; say which one is being checked, so that a
 * failure names it. */
#define FOR_EACH_STORE(check)                                      \
    do {                                                           \
        size_t i_;                                                 \
        for (i_ = 0; i_ < N_FACTORIES; i_++) {                     \
            fprintf(stderr, "  [%s]\n", store_factories[i_].name); \
            check(&store_factories[i_]);                           \
        }                                                          \
    } while (0)

/* ---- Test data. ---- */

static const struct seq_hash chain_id = { { 0x53, 0x45, 0x51, 0x2d, 0x54 } };

/* A QC for @b; @variant changes its signatures, so that two QCs for one
 * block can be told apart. */
static void make_qc(struct hs_qc *qc, const struct hs_block *b, int variant)
{
    uint32_t i;

    memset(qc, 0, sizeof *qc);
    qc->epoch = b->epoch;
    qc->round = b->round;
    qc->height = b->height;
    qc->block_id = b->id;
    qc->n_sigs = 3;
    for (i = 0; i < qc->n_sigs; i++) {
        qc->sigs[i].signer = i + (uint32_t)variant;
        memset(qc->sigs[i].sig.bytes, 0x40 + variant + (int)i, HS_SIG_LEN);
    }
}

/* A block extending @parent with @len payload bytes from @rng. The caller
 * frees it with hs_block_free. */
static void make_block(struct hs_block *b,
                       const struct hs_block *parent,
                       size_t len,
                       struct seq_rng *rng)
{
    size_t i;

    hs_genesis_block(&chain_id, 1, b);
    b->round = parent->round + 1;
    b->height = parent->height + 1;
    b->parent_id = parent->id;
    b->author = (hs_node_t)(b->round % 4);
    make_qc(&b->justify, parent, 0);
    if (len > 0) {
        b->payload = seq_malloc(len);
        for (i = 0; i < len; i++) {
            b->payload[i] = (uint8_t)seq_rng_next(rng);
        }
    }
    b->payload_len = len;
    hs_block_seal(b, &chain_id);
}

/* A chain of @n blocks above genesis; payload sizes vary, some are 0. */
static void make_chain(struct hs_block *blocks, size_t n, uint64_t seed)
{
    struct hs_block genesis;
    struct seq_rng rng;
    size_t i;

    seq_rng_seed(&rng, seed);
    hs_genesis_block(&chain_id, 1, &genesis);
    for (i = 0; i < n; i++) {
        size_t len = (size_t)seq_rng_below(&rng, 4) == 0
                         ? 0
                         : (size_t)seq_rng_range(&rng, 1, 300);

        make_block(&blocks[i], i == 0 ? &genesis : &blocks[i - 1], len, &rng);
    }
}

static void free_chain(struct hs_block *blocks, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        hs_block_free(&blocks[i]);
    }
}

static void make_safety(struct hs_safety *st, int variant)
{
    hs_round_t r = (hs_round_t)variant * 10;

    memset(st, 0, sizeof *st);
    st->epoch = 1;
    st->last_voted_round = r + 3;
    st->preferred_round = r + 1;
    st->one_chain_round = r + 2;
    st->highest_timeout_round = r;
    st->has_last_vote = variant % 2 == 1;
    st->last_vote.epoch = 1;
    st->last_vote.round = r + 3;
    st->last_vote.height = r + 2;
    memset(st->last_vote.block_id.bytes, variant, SEQ_HASH_LEN);
    st->last_vote.voter = 2;
    memset(st->last_vote.sig.bytes, 0x70 + variant, HS_SIG_LEN);
    st->has_last_timeout = variant % 3 == 0;
    st->last_timeout_round = r;
    st->last_timeout_hqc_round = r + 1;
    memset(st->last_timeout_sig.bytes, 0x30 + variant, HS_SIG_LEN);
}

/* Field by field: a disk store rebuilds structs, padding and all (qc_eq()
 * is in store_eq.h). */
static bool block_eq(const struct hs_block *a, const struct hs_block *b)
{
    return a->epoch == b->epoch && a->round == b->round &&
           a->height == b->height &&
           seq_hash_eq(&a->parent_id, &b->parent_id) &&
           a->author == b->author && qc_eq(&a->justify, &b->justify) &&
           seq_hash_eq(&a->payload_hash, &b->payload_hash) &&
           seq_hash_eq(&a->ns_root, &b->ns_root) &&
           seq_hash_eq(&a->id, &b->id) && a->payload_len == b->payload_len &&
           (a->payload_len == 0 ||
            memcmp(a->payload, b->payload, a->payload_len) == 0);
}

static bool vote_eq(const struct hs_vote *a, const struct hs_vote *b)
{
    return a->epoch == b->epoch && a->round == b->round &&
           a->height == b->height && seq_hash_eq(&a->block_id, &b->block_id) &&
           a->voter == b->voter &&
           memcmp(a->sig.bytes, b->sig.bytes, HS_SIG_LEN) == 0;
}

static bool safety_eq(const struct hs_safety *a, const struct hs_safety *b)
{
    return a->epoch == b->epoch && a->last_voted_round == b->last_voted_round &&
           a->preferred_round == b->preferred_round &&
           a->one_chain_round == b->one_chain_round &&
           a->highest_timeout_round == b->highest_timeout_round &&
           a->has_last_vote == b->has_last_vote &&
           (!a->has_last_vote || vote_eq(&a->last_vote, &b->last_vote)) &&
           a->has_last_timeout == b->has_last_timeout &&
           (!a->has_last_timeout ||
            (a->last_timeout_round == b->last_timeout_round &&
             a->last_timeout_hqc_round == b->last_timeout_hqc_round &&
             memcmp(a->last_timeout_sig.bytes, b->last_timeout_sig.bytes,
                    HS_SIG_LEN) == 0));
}

/* 1 when @s holds a block equal to @want, 0 when it holds none under that
 * id, -1 on any other answer. */
static int has_block(struct store *s, const struct hs_block *want)
{
    struct hs_block got;
    int rv;
    int ok;

    rv = store_get_block(s, &want->id, &got);
    if (rv == SEQ_ENOTFOUND) {
        return 0;
    }
    if (rv != 0) {
        return -1;
    }
    ok = block_eq(&got, want) &&
         (got.payload_len == 0 || got.payload != want->payload);
    hs_block_free(&got);
    return ok ? 1 : -1;
}

/* Same for the QC stored for @want's block. */
static int has_qc(struct store *s, const struct hs_qc *want)
{
    struct hs_qc got;
    int rv;

    rv = store_get_qc(s, &want->block_id, &got);
    if (rv == SEQ_ENOTFOUND) {
        return 0;
    }
    return rv == 0 && qc_eq(&got, want) ? 1 : -1;
}

/* 1 when meta @key holds exactly @len bytes @val, 0 when absent. */
static int has_meta(struct store *s,
                    const char *key,
                    const void *val,
                    size_t len)
{
    void *got = NULL;
    size_t got_len = 0;
    int rv;
    int ok;

    rv = store_get_meta(s, key, &got, &got_len);
    if (rv == SEQ_ENOTFOUND) {
        return 0;
    }
    if (rv != 0) {
        return -1;
    }
    ok = got != NULL && got_len == len &&
         (len == 0 || memcmp(got, val, len) == 0);
    seq_free(got);
    return ok ? 1 : -1;
}

static void crash_and_reopen(struct store_factory *f, struct store **s)
{
    f->crash(f, s);
    ASSERT_OK(f->reopen(f, s));
    ASSERT_TRUE(*s != NULL);
}

/* ---- Absent keys. ---- */

#define SENTINEL 0xa5

/* True when all @len bytes at @p still hold SENTINEL. */
static bool untouched(const void *p, size_t len)
{
    const uint8_t *b = p;
    size_t i;

    for (i = 0; i < len; i++) {
        if (b[i] != SENTINEL) {
            return false;
        }
    }
    return true;
}

static void check_absent_keys(struct store_factory *f)
{
    struct store *s = NULL;
    struct hs_block block;
    struct hs_qc qc;
    struct hs_safety safety;
    struct seq_hash id;
    hs_height_t height;
    void *val;
    size_t len;
    struct hs_block chain[2];

    make_chain(chain, 2, test_seed());
    ASSERT_OK(f->open(f, &s));

    memset(&block, SENTINEL, sizeof block);
    memset(&qc, SENTINEL, sizeof qc);
    memset(&safety, SENTINEL, sizeof safety);
    memset(&id, SENTINEL, sizeof id);
    memset(&height, SENTINEL, sizeof height);
    memset(&val, SENTINEL, sizeof val);
    memset(&len, SENTINEL, sizeof len);
    ASSERT_ERR(store_get_block(s, &chain[0].id, &block), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_qc(s, &chain[0].id, &qc), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_high_qc(s, &qc), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_commit(s, 1, &id), SEQ_ENOTFOUND);
    ASSERT_ERR(store_committed_height(s, &height), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_safety(s, &safety), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_meta(s, "genesis", &val, &len), SEQ_ENOTFOUND);

    /* Other keys present: the absent ones stay absent, *out untouched. */
    ASSERT_OK(store_put_block(s, &chain[0]));
    make_qc(&qc, &chain[0], 0);
    ASSERT_OK(store_put_qc(s, &qc));
    ASSERT_OK(store_put_commit(s, 1, &chain[0].id));
    ASSERT_OK(store_put_meta(s, "epoch", "1", 1));
    ASSERT_OK(store_sync(s));
    memset(&qc, SENTINEL, sizeof qc);
    ASSERT_ERR(store_get_block(s, &chain[1].id, &block), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_qc(s, &chain[1].id, &qc), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_commit(s, 0, &id), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_commit(s, 2, &id), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_meta(s, "genesis", &val, &len), SEQ_ENOTFOUND);
    ASSERT_TRUE(untouched(&block, sizeof block));
    ASSERT_TRUE(untouched(&qc, sizeof qc));
    ASSERT_TRUE(untouched(&safety, sizeof safety));
    ASSERT_TRUE(untouched(&id, sizeof id));
    ASSERT_TRUE(untouched(&height, sizeof height));
    ASSERT_TRUE(untouched(&val, sizeof val));
    ASSERT_TRUE(untouched(&len, sizeof len));

    f->destroy(f, s);
    free_chain(chain, 2);
}

TEST(store, absent_keys_not_found_and_out_untouched)
{
    FOR_EACH_STORE(check_absent_keys);
}

/* ---- Round trips. ---- */

static void check_blocks(struct store_factory *f)
{
    struct store *s = NULL;
    struct hs_block genesis;
    struct hs_block blocks[4];
    struct hs_block got;
    struct seq_rng rng;
    const size_t lens[4] = { 0, 1, 1000, 100000 };
    size_t i;

    seq_rng_seed(&rng, test_seed());
    hs_genesis_block(&chain_id, 1, &genesis);
    for (i = 0; i < 4; i++) {
        make_block(&blocks[i], i == 0 ? &genesis : &blocks[i - 1], lens[i],
                   &rng);
    }
    ASSERT_OK(f->open(f, &s));
    ASSERT_OK(store_put_block(s, &genesis));
    for (i = 0; i < 4; i++) {
        ASSERT_OK(store_put_block(s, &blocks[i]));
    }
    /* Read your writes, before and after sync. */
    ASSERT_EQ(has_block(s, &genesis), 1);
    for (i = 0; i < 4; i++) {
        ASSERT_EQ(has_block(s, &blocks[i]), 1);
    }
    ASSERT_OK(store_sync(s));
    for (i = 0; i < 4; i++) {
        ASSERT_EQ(has_block(s, &blocks[i]), 1);
    }

    /* Deep copy in: the caller's buffer is not the stored one. */
    blocks[2].payload[0] ^= 0xff;
    blocks[2].round += 100;
    ASSERT_OK(store_get_block(s, &blocks[2].id, &got));
    ASSERT_EQ(got.round, blocks[2].round - 100);
    ASSERT_EQ(got.payload[0], (uint8_t)(blocks[2].payload[0] ^ 0xff));
    ASSERT_TRUE(got.payload != blocks[2].payload);
    blocks[2].payload[0] ^= 0xff;
    blocks[2].round -= 100;

    /* Deep copy out: scribbling on (and freeing) a copy changes nothing. */
    got.payload[0] ^= 0xff;
    got.height = 999;
    hs_block_free(&got);
    ASSERT_EQ(has_block(s, &blocks[2]), 1);
    ASSERT_OK(store_get_block(s, &blocks[3].id, &got));
    ASSERT_EQ(got.payload_len, (size_t)100000);
    ASSERT_MEMEQ(got.payload, blocks[3].payload, got.payload_len);
    ASSERT_TRUE(qc_eq(&got.justify, &blocks[3].justify));
    hs_block_free(&got);

    /* Putting a block twice is harmless. */
    ASSERT_OK(store_put_block(s, &blocks[1]));
    ASSERT_OK(store_sync(s));
    ASSERT_EQ(has_block(s, &blocks[1]), 1);

    f->destroy(f, s);
    free_chain(blocks, 4);
}

TEST(store, blocks_round_trip_as_deep_copies)
{
    FOR_EACH_STORE(check_blocks);
}

static void check_qcs(struct store_factory *f)
{
    struct store *s = NULL;
    struct hs_block blocks[3];
    struct hs_qc qcs[3];
    struct hs_qc other;
    struct hs_qc got;
    size_t i;

    make_chain(blocks, 3, test_seed());
    ASSERT_OK(f->open(f, &s));
    for (i = 0; i < 3; i++) {
        make_qc(&qcs[i], &blocks[i], (int)i);
        ASSERT_OK(store_put_qc(s, &qcs[i]));
    }
    /* The store copied the QC: changing ours changes nothing. */
    qcs[0].round += 50;
    ASSERT_OK(store_get_qc(s, &qcs[0].block_id, &got));
    ASSERT_EQ(got.round, qcs[0].round - 50);
    qcs[0].round -= 50;
    for (i = 0; i < 3; i++) {
        ASSERT_EQ(has_qc(s, &qcs[i]), 1);
    }
    ASSERT_OK(store_sync(s));
    for (i = 0; i < 3; i++) {
        ASSERT_EQ(has_qc(s, &qcs[i]), 1);
    }
    /* Another QC for the same block replaces the first, staged or not. */
    make_qc(&other, &blocks[1], 7);
    ASSERT_OK(store_put_qc(s, &other));
    ASSERT_EQ(has_qc(s, &other), 1);
    ASSERT_OK(store_sync(s));
    ASSERT_EQ(has_qc(s, &other), 1);
    ASSERT_EQ(has_qc(s, &qcs[0]), 1);

    f->destroy(f, s);
    free_chain(blocks, 3);
}

TEST(store, qcs_round_trip_by_block_id)
{
    FOR_EACH_STORE(check_qcs);
}

static void check_high_qc(struct store_factory *f)
{
    struct store *s = NULL;
    struct hs_block blocks[2];
    struct hs_qc qc;
    struct hs_qc got;

    make_chain(blocks, 2, test_seed());
    ASSERT_OK(f->open(f, &s));
    make_qc(&qc, &blocks[0], 1);
    ASSERT_OK(store_put_high_qc(s, &qc));
    ASSERT_OK(store_get_high_qc(s, &got));
    ASSERT_TRUE(qc_eq(&got, &qc));
    ASSERT_OK(store_sync(s));
    make_qc(&qc, &blocks[1], 2);
    ASSERT_OK(store_put_high_qc(s, &qc));
    ASSERT_OK(store_get_high_qc(s, &got));
    ASSERT_TRUE(qc_eq(&got, &qc));
    /* The high QC is its own cell, not an entry of the QC index. */
    ASSERT_ERR(store_get_qc(s, &blocks[1].id, &got), SEQ_ENOTFOUND);
    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_get_high_qc(s, &got));
    ASSERT_TRUE(qc_eq(&got, &qc));

    f->destroy(f, s);
    free_chain(blocks, 2);
}

TEST(store, high_qc_last_write_wins)
{
    FOR_EACH_STORE(check_high_qc);
}

static void check_high_tc(struct store_factory *f)
{
    struct store *s = NULL;
    struct hs_tc tc, got;

    ASSERT_OK(f->open(f, &s));
    ASSERT_ERR(store_get_high_tc(s, &got), SEQ_ENOTFOUND);
    memset(&tc, 0, sizeof tc);
    tc.epoch = 1;
    tc.round = 7;
    tc.n_sigs = 2;
    tc.sigs[0].signer = 3;
    tc.sigs[0].high_qc_round = 5;
    tc.sigs[0].sig.bytes[0] = 0xaa;
    tc.sigs[1].signer = 1;
    tc.sigs[1].high_qc_round = 6;
    ASSERT_OK(store_put_high_tc(s, &tc));
    ASSERT_OK(store_get_high_tc(s, &got));
    ASSERT_EQ(got.epoch, tc.epoch);
    ASSERT_EQ(got.round, tc.round);
    ASSERT_EQ(got.n_sigs, tc.n_sigs);
    ASSERT_EQ(got.sigs[0].signer, 3u);
    ASSERT_EQ(got.sigs[0].high_qc_round, 5u);
    ASSERT_EQ(got.sigs[0].sig.bytes[0], 0xaa);
    ASSERT_EQ(got.sigs[1].signer, 1u);
    ASSERT_OK(store_sync(s));
    /* A newer TC staged but lost in a crash: the synced one survives. */
    tc.round = 9;
    ASSERT_OK(store_put_high_tc(s, &tc));
    crash_and_reopen(f, &s);
    ASSERT_OK(store_get_high_tc(s, &got));
    ASSERT_EQ(got.round, 7u);
    ASSERT_EQ(got.sigs[1].high_qc_round, 6u);
    f->destroy(f, s);
}

TEST(store, high_tc_survives_only_when_synced)
{
    FOR_EACH_STORE(check_high_tc);
}

static void check_commits(struct store_factory *f)
{
    struct store *s = NULL;
    struct hs_block blocks[10];
    struct seq_hash id;
    hs_height_t height = 0;
    size_t i;

    make_chain(blocks, 10, test_seed());
    ASSERT_OK(f->open(f, &s));
    for (i = 0; i < 10; i++) {
        ASSERT_OK(store_put_commit(s, blocks[i].height, &blocks[i].id));
        ASSERT_OK(store_committed_height(s, &height));
        ASSERT_EQ(height, blocks[i].height);
        if (i == 4) {
            ASSERT_OK(store_sync(s));
        }
    }
    for (i = 0; i < 10; i++) {
        ASSERT_OK(store_get_commit(s, blocks[i].height, &id));
        ASSERT_TRUE(seq_hash_eq(&id, &blocks[i].id));
    }
    /* Writing a lower height again does not lower the committed height. */
    ASSERT_OK(store_put_commit(s, blocks[2].height, &blocks[2].id));
    ASSERT_OK(store_committed_height(s, &height));
    ASSERT_EQ(height, blocks[9].height);
    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_committed_height(s, &height));
    ASSERT_EQ(height, blocks[9].height);
    ASSERT_ERR(store_get_commit(s, blocks[9].height + 1, &id), SEQ_ENOTFOUND);
    /* Heights far apart, and one below all the others. */
    ASSERT_OK(store_put_commit(s, 1000000, &blocks[0].id));
    ASSERT_OK(store_put_commit(s, 0, &blocks[1].id));
    ASSERT_OK(store_committed_height(s, &height));
    ASSERT_EQ(height, (hs_height_t)1000000);
    ASSERT_OK(store_get_commit(s, 0, &id));
    ASSERT_TRUE(seq_hash_eq(&id, &blocks[1].id));
    ASSERT_OK(store_get_commit(s, 1000000, &id));
    ASSERT_TRUE(seq_hash_eq(&id, &blocks[0].id));
    ASSERT_OK(store_get_commit(s, blocks[5].height, &id));
    ASSERT_TRUE(seq_hash_eq(&id, &blocks[5].id));
    ASSERT_ERR(store_get_commit(s, 999999, &id), SEQ_ENOTFOUND);

    f->destroy(f, s);
    free_chain(blocks, 10);
}

TEST(store, commits_by_height_raise_committed_height)
{
    FOR_EACH_STORE(check_commits);
}

static void check_safety(struct store_factory *f)
{
    struct store *s = NULL;
    struct hs_safety st;
    struct hs_safety got;
    int v;

    ASSERT_OK(f->open(f, &s));
    for (v = 1; v <= 3; v++) {
        make_safety(&st, v);
        ASSERT_OK(store_put_safety(s, &st));
        ASSERT_OK(store_get_safety(s, &got));
        ASSERT_TRUE(safety_eq(&got, &st));
        if (v == 2) {
            ASSERT_OK(store_sync(s));
        }
    }
    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_get_safety(s, &got));
    ASSERT_TRUE(safety_eq(&got, &st));
    f->destroy(f, s);
}

TEST(store, safety_round_trip)
{
    FOR_EACH_STORE(check_safety);
}

static void check_meta(struct store_factory *f)
{
    static const uint8_t bin[] = { 0, 1, 0, 0xff, 0x7f, 0 };
    char key64[65];
    char key65[66];
    struct store *s = NULL;
    void *val = NULL;
    size_t len = 0;

    memset(key64, 'k', 64);
    key64[64] = '\0';
    memset(key65, 'k', 65);
    key65[65] = '\0';
    ASSERT_OK(f->open(f, &s));
    ASSERT_OK(store_put_meta(s, "genesis", bin, sizeof bin));
    ASSERT_OK(store_put_meta(s, "empty", NULL, 0));
    ASSERT_OK(store_put_meta(s, key64, "long", 4));
    ASSERT_EQ(has_meta(s, "genesis", bin, sizeof bin), 1);
    ASSERT_EQ(has_meta(s, "empty", NULL, 0), 1);
    ASSERT_EQ(has_meta(s, key64, "long", 4), 1);
    ASSERT_EQ(has_meta(s, "genesi", NULL, 0), 0);
    ASSERT_EQ(has_meta(s, "genesis2", NULL, 0), 0);

    /* Keys are 1 to 64 bytes. */
    ASSERT_ERR(store_put_meta(s, key65, "x", 1), SEQ_EINVAL);
    ASSERT_TRUE(s->errmsg[0] != '\0');
    ASSERT_ERR(store_put_meta(s, "", "x", 1), SEQ_EINVAL);
    ASSERT_ERR(store_get_meta(s, key65, &val, &len), SEQ_EINVAL);

    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_put_meta(s, "genesis", "new", 3));
    ASSERT_EQ(has_meta(s, "genesis", "new", 3), 1);
    ASSERT_OK(store_sync(s));
    ASSERT_EQ(has_meta(s, "genesis", "new", 3), 1);
    ASSERT_EQ(has_meta(s, "empty", NULL, 0), 1);
    ASSERT_EQ(has_meta(s, key64, "long", 4), 1);

    /* The value returned is the caller's own copy. */
    ASSERT_OK(store_get_meta(s, "genesis", &val, &len));
    ASSERT_EQ(len, (size_t)3);
    ((char *)val)[0] = 'X';
    seq_free(val);
    ASSERT_EQ(has_meta(s, "genesis", "new", 3), 1);
    f->destroy(f, s);
}

TEST(store, meta_round_trip)
{
    FOR_EACH_STORE(check_meta);
}

/* ---- The rollup path: batches, namespace entries, certificates, txs. ---- */

/* An id whose bytes are all @fill but the last, which is @last: ids of one
 * fill order by @last, and ids order by fill first. */
static struct seq_hash make_id(uint8_t fill, uint8_t last)
{
    struct seq_hash id;

    memset(id.bytes, fill, SEQ_HASH_LEN);
    id.bytes[SEQ_HASH_LEN - 1] = last;
    return id;
}

/* What a get answered: 1 when it found exactly @want (a string; NULL or ""
 * for an empty value, which must come back as NULL with length 0), 0 for
 * SEQ_ENOTFOUND, -1 for anything else. Frees the value. */
static int got_value(int rv, void *val, size_t len, const char *want)
{
    size_t want_len = want != NULL ? strlen(want) : 0;
    int ok;

    if (rv == SEQ_ENOTFOUND) {
        return 0;
    }
    if (rv != 0) {
        return -1;
    }
    ok = len == want_len &&
         (len == 0 ? val == NULL : memcmp(val, want, len) == 0);
    seq_free(val);
    return ok ? 1 : -1;
}

static int has_batch(struct store *s, const struct seq_hash *id, const char *v)
{
    void *val = NULL;
    size_t len = 0;
    int rv;

    rv = store_get_batch(s, id, &val, &len);
    return got_value(rv, val, len, v);
}

static int has_ns(struct store *s, uint64_t ns, hs_height_t h, const char *v)
{
    void *val = NULL;
    size_t len = 0;
    int rv;

    rv = store_get_ns(s, ns, h, &val, &len);
    return got_value(rv, val, len, v);
}

static int has_tx(struct store *s, const struct seq_hash *hash, const char *v)
{
    void *val = NULL;
    size_t len = 0;
    int rv;

    rv = store_get_tx(s, hash, &val, &len);
    return got_value(rv, val, len, v);
}

/* get_cert_from(@from) finds the certificate at @want_h holding @v. */
static int has_cert_from(struct store *s,
                         hs_height_t from,
                         hs_height_t want_h,
                         const char *v)
{
    hs_height_t found = 0;
    void *val = NULL;
    size_t len = 0;
    int rv;

    rv = store_get_cert_from(s, from, &found, &val, &len);
    if (rv == 0 && found != want_h) {
        seq_free(val);
        return -1;
    }
    return got_value(rv, val, len, v);
}

/* What scan_batches showed: ids and values in call order. The callback
 * returns SCAN_STOP after stop_after calls (never when 0). */
#define SCAN_MAX     64
#define SCAN_VAL_MAX 16
#define SCAN_STOP    42

struct scan {
    size_t n;
    size_t stop_after;
    struct seq_hash ids[SCAN_MAX];
    char vals[SCAN_MAX][SCAN_VAL_MAX];
};

static int scan_collect(void *arg,
                        const struct seq_hash *id,
                        const void *val,
                        size_t len)
{
    struct scan *sc = arg;

    ASSERT_LT(sc->n, SCAN_MAX);
    ASSERT_LT(len, SCAN_VAL_MAX);
    ASSERT_TRUE(len > 0 || val == NULL);
    sc->ids[sc->n] = *id;
    if (len > 0) {
        memcpy(sc->vals[sc->n], val, len);
    }
    sc->vals[sc->n][len] = '\0';
    sc->n++;
    return sc->n == sc->stop_after ? SCAN_STOP : 0;
}

/* Scan @s and check that it shows exactly @n batches: @ids in this order,
 * holding @vals. */
static void check_scan(struct store *s,
                       const struct seq_hash *ids,
                       const char *const *vals,
                       size_t n)
{
    struct scan sc;
    size_t i;

    memset(&sc, 0, sizeof sc);
    ASSERT_OK(store_scan_batches(s, scan_collect, &sc));
    ASSERT_EQ(sc.n, n);
    for (i = 0; i < n; i++) {
        ASSERT_TRUE(seq_hash_eq(&sc.ids[i], &ids[i]));
        ASSERT_STREQ(sc.vals[i], vals[i]);
    }
}

static void check_batches(struct store_factory *f)
{
    static const uint8_t bin[] = { 0, 1, 0, 0xff, 0x7f, 0 };
    struct seq_hash a = make_id(0x10, 1);
    struct seq_hash b = make_id(0x10, 2);
    struct seq_hash c = make_id(0x20, 0);
    struct store *s = NULL;
    void *val;
    size_t len;

    ASSERT_OK(f->open(f, &s));
    /* Absent: SEQ_ENOTFOUND, outputs untouched. */
    memset(&val, SENTINEL, sizeof val);
    memset(&len, SENTINEL, sizeof len);
    ASSERT_ERR(store_get_batch(s, &a, &val, &len), SEQ_ENOTFOUND);
    ASSERT_TRUE(untouched(&val, sizeof val));
    ASSERT_TRUE(untouched(&len, sizeof len));

    /* Staged writes are visible before any sync; empty is NULL and 0. */
    ASSERT_OK(store_put_batch(s, &a, "batch-a", 7));
    ASSERT_OK(store_put_batch(s, &b, NULL, 0));
    ASSERT_OK(store_put_batch(s, &c, bin, sizeof bin));
    ASSERT_EQ(has_batch(s, &a, "batch-a"), 1);
    ASSERT_EQ(has_batch(s, &b, NULL), 1);
    ASSERT_OK(store_get_batch(s, &c, &val, &len));
    ASSERT_EQ(len, sizeof bin);
    ASSERT_MEMEQ(val, bin, sizeof bin);
    ((uint8_t *)val)[0] = 0x99; /* The caller's own copy. */
    seq_free(val);
    ASSERT_OK(store_get_batch(s, &c, &val, &len));
    ASSERT_MEMEQ(val, bin, sizeof bin);
    seq_free(val);
    ASSERT_ERR(store_put_batch(s, &a, NULL, 1), SEQ_EINVAL);
    ASSERT_EQ(has_batch(s, &a, "batch-a"), 1);

    /* Last write wins, staged over synced. */
    ASSERT_OK(store_sync(s));
    ASSERT_EQ(has_batch(s, &a, "batch-a"), 1);
    ASSERT_OK(store_put_batch(s, &a, "newer", 5));
    ASSERT_EQ(has_batch(s, &a, "newer"), 1);

    /* A crash keeps the synced value and loses the staged one. */
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_batch(s, &a, "batch-a"), 1);
    ASSERT_EQ(has_batch(s, &b, NULL), 1);
    ASSERT_OK(store_put_batch(s, &a, "newer", 5));
    ASSERT_OK(store_sync(s));
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_batch(s, &a, "newer"), 1);
    f->destroy(f, s);
}

TEST(store, batches_round_trip)
{
    FOR_EACH_STORE(check_batches);
}

static void check_del_batch(struct store_factory *f)
{
    struct seq_hash a = make_id(0x10, 1);
    struct seq_hash b = make_id(0x10, 2);
    struct seq_hash c = make_id(0x20, 0);
    struct seq_hash ids[2];
    const char *vals[2];
    struct store *s = NULL;

    ASSERT_OK(f->open(f, &s));
    /* Deleting what is absent is fine, staged or synced. */
    ASSERT_OK(store_del_batch(s, &a));
    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_del_batch(s, &a));
    ASSERT_EQ(has_batch(s, &a, NULL), 0);
    check_scan(s, NULL, NULL, 0);

    /* A staged delete hides a staged put from get and scan. */
    ASSERT_OK(store_put_batch(s, &a, "a", 1));
    ASSERT_OK(store_put_batch(s, &b, "b", 1));
    ASSERT_OK(store_del_batch(s, &a));
    ASSERT_EQ(has_batch(s, &a, NULL), 0);
    ids[0] = b;
    vals[0] = "b";
    check_scan(s, ids, vals, 1);
    /* A put after the delete brings the key back. */
    ASSERT_OK(store_put_batch(s, &a, "a2", 2));
    ASSERT_EQ(has_batch(s, &a, "a2"), 1);
    ASSERT_OK(store_sync(s));

    /* A staged delete hides a synced key, and after its sync as well. */
    ASSERT_OK(store_del_batch(s, &a));
    ASSERT_EQ(has_batch(s, &a, NULL), 0);
    check_scan(s, ids, vals, 1);
    ASSERT_OK(store_sync(s));
    ASSERT_EQ(has_batch(s, &a, NULL), 0);
    check_scan(s, ids, vals, 1);
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_batch(s, &a, NULL), 0);
    check_scan(s, ids, vals, 1);

    /* A crash forgets an unsynced delete (b comes back) and an unsynced
     * put (c stays absent); a delete, then a put, then a crash: the
     * synced value. */
    ASSERT_OK(store_del_batch(s, &b));
    ASSERT_OK(store_put_batch(s, &c, "c", 1));
    ASSERT_EQ(has_batch(s, &b, NULL), 0);
    check_scan(s, &c, (const char *const[]){ "c" }, 1);
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_batch(s, &b, "b"), 1);
    ASSERT_EQ(has_batch(s, &c, NULL), 0);
    check_scan(s, ids, vals, 1);
    ASSERT_OK(store_del_batch(s, &b));
    ASSERT_OK(store_put_batch(s, &b, "b2", 2));
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_batch(s, &b, "b"), 1);

    /* Deleting the last key leaves an empty, working store. */
    ASSERT_OK(store_del_batch(s, &b));
    ASSERT_OK(store_sync(s));
    check_scan(s, NULL, NULL, 0);
    crash_and_reopen(f, &s);
    check_scan(s, NULL, NULL, 0);
    ASSERT_OK(store_put_batch(s, &b, "b3", 2));
    ASSERT_EQ(has_batch(s, &b, "b3"), 1);
    f->destroy(f, s);
}

TEST(store, del_batch_hides_keys_until_a_crash_forgets_it)
{
    FOR_EACH_STORE(check_del_batch);
}

static void check_scan_batches(struct store_factory *f)
{
    /* Ascending order is byte order: first bytes first, then last ones. */
    const struct seq_hash sorted[5] = {
        make_id(0x00, 0xff), make_id(0x01, 0x00), make_id(0x01, 0x01),
        make_id(0x80, 0x00), make_id(0xff, 0xfe),
    };
    static const char *const vals[5] = { "v0", "", "v2", "v3", "v4" };
    static const char *const newer[5] = { "v0", "", "n2", "v3", "n4" };
    static const size_t put_order[5] = { 3, 0, 4, 2, 1 };
    struct store *s = NULL;
    struct scan sc;
    size_t i;

    ASSERT_OK(f->open(f, &s));
    check_scan(s, NULL, NULL, 0);
    /* Some synced, some staged, put out of order. */
    for (i = 0; i < 5; i++) {
        size_t k = put_order[i];

        ASSERT_OK(store_put_batch(s, &sorted[k], vals[k], strlen(vals[k])));
        if (i == 2) {
            ASSERT_OK(store_sync(s));
        }
    }
    check_scan(s, sorted, vals, 5);
    /* Staged values override synced ones in the scan too. */
    ASSERT_OK(store_put_batch(s, &sorted[4], "n4", 2));
    ASSERT_OK(store_put_batch(s, &sorted[2], "n2", 2));
    check_scan(s, sorted, newer, 5);
    ASSERT_OK(store_sync(s));
    check_scan(s, sorted, newer, 5);

    /* A non-zero return stops the scan and is what it returns. */
    memset(&sc, 0, sizeof sc);
    sc.stop_after = 2;
    ASSERT_EQ(store_scan_batches(s, scan_collect, &sc), SCAN_STOP);
    ASSERT_EQ(sc.n, (size_t)2);
    ASSERT_TRUE(seq_hash_eq(&sc.ids[1], &sorted[1]));
    memset(&sc, 0, sizeof sc);
    sc.stop_after = 5;
    ASSERT_EQ(store_scan_batches(s, scan_collect, &sc), SCAN_STOP);
    ASSERT_EQ(sc.n, (size_t)5);

    /* After a crash: the synced ones, in order. */
    ASSERT_OK(store_put_batch(s, &sorted[0], "gone", 4));
    crash_and_reopen(f, &s);
    check_scan(s, sorted, newer, 5);
    f->destroy(f, s);
}

TEST(store, scan_batches_in_ascending_id_order)
{
    FOR_EACH_STORE(check_scan_batches);
}

static void check_ns(struct store_factory *f)
{
    struct store *s = NULL;
    void *val;
    size_t len;

    ASSERT_OK(f->open(f, &s));
    memset(&val, SENTINEL, sizeof val);
    memset(&len, SENTINEL, sizeof len);
    ASSERT_ERR(store_get_ns(s, 1, 5, &val, &len), SEQ_ENOTFOUND);
    ASSERT_TRUE(untouched(&val, sizeof val));
    ASSERT_TRUE(untouched(&len, sizeof len));

    /* Namespaces and heights never mix: (1, 5) is not (2, 3), nor is
     * (1, 256) the same key as (256, 1). */
    ASSERT_OK(store_put_ns(s, 1, 5, "one@5", 5));
    ASSERT_OK(store_put_ns(s, 2, 3, "two@3", 5));
    ASSERT_OK(store_put_ns(s, 1, 256, "one@256", 7));
    ASSERT_OK(store_put_ns(s, 256, 1, "256@1", 5));
    ASSERT_OK(store_put_ns(s, UINT64_MAX, UINT64_MAX, NULL, 0));
    ASSERT_EQ(has_ns(s, 1, 5, "one@5"), 1);
    ASSERT_EQ(has_ns(s, 2, 3, "two@3"), 1);
    ASSERT_EQ(has_ns(s, 1, 256, "one@256"), 1);
    ASSERT_EQ(has_ns(s, 256, 1, "256@1"), 1);
    ASSERT_EQ(has_ns(s, UINT64_MAX, UINT64_MAX, NULL), 1);
    ASSERT_EQ(has_ns(s, 1, 3, NULL), 0);
    ASSERT_EQ(has_ns(s, 2, 5, NULL), 0);
    ASSERT_EQ(has_ns(s, 0, 5, NULL), 0);
    ASSERT_EQ(has_ns(s, 5, 1, NULL), 0);
    ASSERT_ERR(store_put_ns(s, 1, 5, NULL, 3), SEQ_EINVAL);

    /* Synced ones survive a crash, staged ones do not. */
    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_put_ns(s, 1, 5, "again", 5));
    ASSERT_OK(store_put_ns(s, 3, 1, "three@1", 7));
    ASSERT_EQ(has_ns(s, 1, 5, "again"), 1);
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_ns(s, 1, 5, "one@5"), 1);
    ASSERT_EQ(has_ns(s, 2, 3, "two@3"), 1);
    ASSERT_EQ(has_ns(s, UINT64_MAX, UINT64_MAX, NULL), 1);
    ASSERT_EQ(has_ns(s, 3, 1, NULL), 0);
    f->destroy(f, s);
}

TEST(store, ns_entries_by_namespace_and_height)
{
    FOR_EACH_STORE(check_ns);
}

static void check_certs(struct store_factory *f)
{
    struct store *s = NULL;
    hs_height_t found;
    void *val;
    size_t len;

    ASSERT_OK(f->open(f, &s));
    memset(&found, SENTINEL, sizeof found);
    memset(&val, SENTINEL, sizeof val);
    memset(&len, SENTINEL, sizeof len);
    ASSERT_ERR(store_get_cert_from(s, 0, &found, &val, &len), SEQ_ENOTFOUND);

    /* 2 and 256 synced (a little-endian key would put 256 first), 7 and
     * 300 staged. */
    ASSERT_OK(store_put_cert(s, 256, "c256", 4));
    ASSERT_OK(store_put_cert(s, 2, "c2", 2));
    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_put_cert(s, 7, "c7", 2));
    ASSERT_OK(store_put_cert(s, 300, NULL, 0));
    ASSERT_EQ(has_cert_from(s, 0, 2, "c2"), 1);
    ASSERT_EQ(has_cert_from(s, 2, 2, "c2"), 1);
    ASSERT_EQ(has_cert_from(s, 3, 7, "c7"), 1);
    ASSERT_EQ(has_cert_from(s, 7, 7, "c7"), 1);
    ASSERT_EQ(has_cert_from(s, 8, 256, "c256"), 1);
    ASSERT_EQ(has_cert_from(s, 257, 300, NULL), 1);
    ASSERT_ERR(store_get_cert_from(s, 301, &found, &val, &len), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_cert_from(s, UINT64_MAX, &found, &val, &len),
               SEQ_ENOTFOUND);
    ASSERT_TRUE(untouched(&found, sizeof found));
    ASSERT_TRUE(untouched(&val, sizeof val));
    ASSERT_TRUE(untouched(&len, sizeof len));
    ASSERT_ERR(store_put_cert(s, 9, NULL, 1), SEQ_EINVAL);
    /* The staged value of a synced height wins. */
    ASSERT_OK(store_put_cert(s, 2, "c2'", 3));
    ASSERT_EQ(has_cert_from(s, 1, 2, "c2'"), 1);

    /* A crash: 2 and 256 as synced; 7 and 300 gone. */
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_cert_from(s, 0, 2, "c2"), 1);
    ASSERT_EQ(has_cert_from(s, 3, 256, "c256"), 1);
    ASSERT_ERR(store_get_cert_from(s, 257, &found, &val, &len), SEQ_ENOTFOUND);
    ASSERT_OK(store_put_cert(s, UINT64_MAX, "top", 3));
    ASSERT_OK(store_sync(s));
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_cert_from(s, 257, UINT64_MAX, "top"), 1);
    ASSERT_EQ(has_cert_from(s, UINT64_MAX, UINT64_MAX, "top"), 1);
    f->destroy(f, s);
}

TEST(store, get_cert_from_finds_the_lowest_height_at_or_above)
{
    FOR_EACH_STORE(check_certs);
}

static void check_txs(struct store_factory *f)
{
    struct seq_hash t1 = make_id(0xaa, 1);
    struct seq_hash t2 = make_id(0xaa, 2);
    struct seq_hash t3 = make_id(0x01, 3);
    struct store *s = NULL;
    void *val;
    size_t len;

    ASSERT_OK(f->open(f, &s));
    memset(&val, SENTINEL, sizeof val);
    memset(&len, SENTINEL, sizeof len);
    ASSERT_ERR(store_get_tx(s, &t1, &val, &len), SEQ_ENOTFOUND);
    ASSERT_TRUE(untouched(&val, sizeof val));
    ASSERT_TRUE(untouched(&len, sizeof len));

    ASSERT_OK(store_put_tx(s, &t1, "h5/i0", 5));
    ASSERT_OK(store_put_tx(s, &t2, NULL, 0));
    ASSERT_OK(store_put_batch(s, &t3, "b", 1));
    /* Staged tx records are read only after their sync (store.h); other
     * records staged with them are visible at once. */
    ASSERT_EQ(has_tx(s, &t1, NULL), 0);
    ASSERT_EQ(has_tx(s, &t2, NULL), 0);
    ASSERT_EQ(has_batch(s, &t3, "b"), 1);
    ASSERT_ERR(store_put_tx(s, &t3, NULL, 2), SEQ_EINVAL);
    ASSERT_OK(store_sync(s));
    ASSERT_EQ(has_tx(s, &t1, "h5/i0"), 1);
    ASSERT_EQ(has_tx(s, &t2, NULL), 1);
    ASSERT_EQ(has_tx(s, &t3, NULL), 0);
    /* Another kind with the same key is another record. */
    ASSERT_EQ(has_batch(s, &t1, NULL), 0);
    ASSERT_OK(store_put_tx(s, &t1, "h6/i1", 5));
    ASSERT_OK(store_put_tx(s, &t3, "h6/i2", 5));
    ASSERT_EQ(has_tx(s, &t1, "h5/i0"), 1);
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_tx(s, &t1, "h5/i0"), 1);
    ASSERT_EQ(has_tx(s, &t2, NULL), 1);
    ASSERT_EQ(has_tx(s, &t3, NULL), 0);
    f->destroy(f, s);
}

TEST(store, txs_round_trip_by_hash)
{
    FOR_EACH_STORE(check_txs);
}

/* Every rollup-path call of a store broken by a failed sync is SEQ_EIO. */
static void check_rollup_after_failed_sync(struct store_factory *f)
{
    struct seq_hash a = make_id(0x10, 1);
    struct store *s = NULL;
    struct scan sc;
    hs_height_t found;
    void *val;
    size_t len;

    if (f->fail_syncs == NULL) {
        fprintf(stderr, "  [%s] cannot fail a sync; skipped\n", f->name);
        return;
    }
    ASSERT_OK(f->open(f, &s));
    ASSERT_OK(store_put_batch(s, &a, "a", 1));
    ASSERT_OK(store_put_cert(s, 1, "c", 1));
    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_put_tx(s, &a, "t", 1));
    f->fail_syncs(f, s, true);
    ASSERT_ERR(store_sync(s), SEQ_EIO);
    f->fail_syncs(f, s, false);
    memset(&sc, 0, sizeof sc);
    ASSERT_ERR(store_put_batch(s, &a, "b", 1), SEQ_EIO);
    ASSERT_ERR(store_get_batch(s, &a, &val, &len), SEQ_EIO);
    ASSERT_ERR(store_del_batch(s, &a), SEQ_EIO);
    ASSERT_ERR(store_scan_batches(s, scan_collect, &sc), SEQ_EIO);
    ASSERT_EQ(sc.n, (size_t)0);
    ASSERT_ERR(store_put_ns(s, 1, 1, "n", 1), SEQ_EIO);
    ASSERT_ERR(store_get_ns(s, 1, 1, &val, &len), SEQ_EIO);
    ASSERT_ERR(store_put_cert(s, 2, "c", 1), SEQ_EIO);
    ASSERT_ERR(store_get_cert_from(s, 0, &found, &val, &len), SEQ_EIO);
    ASSERT_ERR(store_put_tx(s, &a, "t", 1), SEQ_EIO);
    ASSERT_ERR(store_get_tx(s, &a, &val, &len), SEQ_EIO);
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_batch(s, &a, "a"), 1);
    ASSERT_EQ(has_cert_from(s, 0, 1, "c"), 1);
    ASSERT_EQ(has_tx(s, &a, NULL), 0);
    f->destroy(f, s);
}

TEST(store, rollup_calls_fail_once_a_sync_failed)
{
    FOR_EACH_STORE(check_rollup_after_failed_sync);
}

/* Puts and gets of the rollup path that run out of memory at each
 * allocation in turn: a failed put changes nothing, a failed get leaves
 * its outputs alone, and both say SEQ_ENOMEM. */
enum rollup_op {
    RO_PUT_BATCH_NEW,
    RO_PUT_BATCH_AGAIN,
    RO_PUT_NS,
    RO_PUT_CERT,
    RO_PUT_TX,
    RO_GET_BATCH,
    RO_GET_NS,
    RO_GET_CERT,
    RO_GET_TX,
    N_ROLLUP_OPS
};

#define RO_BASE 16 /* Batches held before each op: a full map in store_mem. */

/* A get's answer under failing allocations: its value is @want, or it
 * failed and left every output untouched. */
static int oom_got(int rv,
                   const hs_height_t *found,
                   void *val,
                   size_t len,
                   const char *want)
{
    if (rv != 0) {
        ASSERT_TRUE(untouched(found, sizeof *found));
        ASSERT_TRUE(untouched(&val, sizeof val));
        ASSERT_TRUE(untouched(&len, sizeof len));
        return rv;
    }
    ASSERT_EQ(got_value(rv, val, len, want), 1);
    return SEQ_OK;
}

static int rollup_op_run(struct store *s, enum rollup_op op)
{
    struct seq_hash id = make_id(0x40, RO_BASE);
    struct seq_hash old = make_id(0x40, 0);
    hs_height_t found;
    void *val;
    size_t len;
    int rv;

    memset(&found, SENTINEL, sizeof found);
    memset(&val, SENTINEL, sizeof val);
    memset(&len, SENTINEL, sizeof len);
    switch (op) {
    case RO_PUT_BATCH_NEW:
        return store_put_batch(s, &id, "new", 3);
    case RO_PUT_BATCH_AGAIN:
        return store_put_batch(s, &old, "newer", 5);
    case RO_PUT_NS:
        return store_put_ns(s, 1, 2, "ns", 2);
    case RO_PUT_CERT:
        return store_put_cert(s, 2, "cert", 4);
    case RO_PUT_TX:
        return store_put_tx(s, &id, "tx", 2);
    case RO_GET_BATCH:
        rv = store_get_batch(s, &old, &val, &len);
        return oom_got(rv, &found, val, len, "old");
    case RO_GET_NS:
        rv = store_get_ns(s, 1, 1, &val, &len);
        return oom_got(rv, &found, val, len, "ns-old");
    case RO_GET_CERT:
        rv = store_get_cert_from(s, 0, &found, &val, &len);
        if (rv == 0) {
            ASSERT_EQ(found, (hs_height_t)1);
            memset(&found, SENTINEL, sizeof found);
        }
        return oom_got(rv, &found, val, len, "cert-old");
    default:
        rv = store_get_tx(s, &old, &val, &len);
        return oom_got(rv, &found, val, len, "tx-old");
    }
}

/* The store after @op failed (@done false) or succeeded, before or after
 * the sync (@synced): a staged tx record is read only after it. */
static void rollup_op_check(struct store *s,
                            enum rollup_op op,
                            bool done,
                            bool synced)
{
    struct seq_hash id = make_id(0x40, RO_BASE);
    struct seq_hash old = make_id(0x40, 0);

    ASSERT_EQ(has_batch(s, &id, "new"), done && op == RO_PUT_BATCH_NEW ? 1 : 0);
    ASSERT_EQ(
        has_batch(s, &old, done && op == RO_PUT_BATCH_AGAIN ? "newer" : "old"),
        1);
    ASSERT_EQ(has_ns(s, 1, 2, "ns"), done && op == RO_PUT_NS ? 1 : 0);
    ASSERT_EQ(has_cert_from(s, 2, 2, "cert"), done && op == RO_PUT_CERT);
    ASSERT_EQ(has_tx(s, &id, "tx"), done && synced && op == RO_PUT_TX ? 1 : 0);
    ASSERT_EQ(has_ns(s, 1, 1, "ns-old"), 1);
    ASSERT_EQ(has_cert_from(s, 0, 1, "cert-old"), 1);
    ASSERT_EQ(has_tx(s, &old, "tx-old"), 1);
}

static void check_rollup_oom(struct store_factory *f)
{
    struct store *s = NULL;
    struct seq_hash id;
    unsigned long nth;
    int op;
    int sticky;
    int rv;
    uint8_t i;

    for (op = 0; op < N_ROLLUP_OPS; op++) {
        /* A get allocates once: a sticky failure would be the same. */
        for (sticky = 0; sticky <= (op < RO_GET_BATCH); sticky++) {
            for (nth = 1; nth < 50; nth++) {
                ASSERT_OK(f->open(f, &s));
                for (i = 0; i < RO_BASE; i++) {
                    id = make_id(0x40, i);
                    ASSERT_OK(store_put_batch(s, &id, i == 0 ? "old" : "x",
                                              i == 0 ? 3 : 1));
                }
                ASSERT_OK(store_put_ns(s, 1, 1, "ns-old", 6));
                ASSERT_OK(store_put_cert(s, 1, "cert-old", 8));
                id = make_id(0x40, 0);
                ASSERT_OK(store_put_tx(s, &id, "tx-old", 6));
                ASSERT_OK(store_sync(s));

                seq_alloc_fail_at(nth, sticky);
                rv = rollup_op_run(s, (enum rollup_op)op);
                seq_alloc_fail_at(0, 0);
                if (rv != 0) {
                    ASSERT_ERR(rv, SEQ_ENOMEM);
                }
                rollup_op_check(s, (enum rollup_op)op, rv == 0, false);
                ASSERT_OK(store_sync(s));
                crash_and_reopen(f, &s);
                rollup_op_check(s, (enum rollup_op)op, rv == 0, true);
                f->destroy(f, s);
                if (rv == 0) {
                    break;
                }
            }
            ASSERT_LT(nth, 50);
        }
    }
}

TEST(store, rollup_out_of_memory_at_each_allocation)
{
    FOR_EACH_STORE(check_rollup_oom);
}

/* A model of the rollup path, as for the consensus records below: batches
 * (with deletes) and certificates, checked by get, scan and get_cert_from
 * after random writes, syncs and crashes. */
#define RM_IDS     12
#define RM_HEIGHTS 10

struct rollup_model {
    int batch[RM_IDS];    /* Variant + 1, or 0 when absent. */
    int cert[RM_HEIGHTS]; /* Variant + 1, or 0; heights 3 apart. */
};

static struct seq_hash rm_id(size_t i)
{
    /* Spread over the first byte, and mixed in the last one. */
    return make_id((uint8_t)(i * 20), (uint8_t)(255 - i));
}

static void rm_value(int variant, char *buf)
{
    snprintf(buf, SCAN_VAL_MAX, "%.*s", variant, "vvvvvvv");
}

static void rm_check(struct store *s, const struct rollup_model *m)
{
    struct seq_hash ids[RM_IDS];
    char vals[RM_IDS][SCAN_VAL_MAX];
    const char *val_ptrs[RM_IDS];
    char buf[SCAN_VAL_MAX];
    size_t n = 0;
    size_t i;
    size_t j;

    for (i = 0; i < RM_IDS; i++) {
        struct seq_hash id = rm_id(i);

        if (m->batch[i] != 0) {
            rm_value(m->batch[i] - 1, vals[n]);
            ASSERT_EQ(has_batch(s, &id, vals[n]), 1);
            ids[n] = id;
            val_ptrs[n] = vals[n];
            n++;
        } else {
            ASSERT_EQ(has_batch(s, &id, NULL), 0);
        }
    }
    check_scan(s, ids, val_ptrs, n);
    /* From every height: the next certificate at or above it. */
    for (i = 0; i <= 3 * RM_HEIGHTS; i++) {
        j = (i + 2) / 3; /* The first model height (3 j) >= i. */
        while (j < RM_HEIGHTS && m->cert[j] == 0) {
            j++;
        }
        if (j < RM_HEIGHTS) {
            rm_value(m->cert[j] - 1, buf);
            ASSERT_EQ(has_cert_from(s, i, 3 * j, buf), 1);
        } else {
            ASSERT_EQ(has_cert_from(s, i, 0, NULL), 0);
        }
    }
}

static void rm_write(struct store *s,
                     struct rollup_model *cur,
                     struct seq_rng *rng)
{
    size_t i = (size_t)seq_rng_below(rng, RM_IDS);
    int v = (int)seq_rng_below(rng, 4);
    struct seq_hash id = rm_id(i);
    char buf[SCAN_VAL_MAX];

    rm_value(v, buf);
    switch (seq_rng_below(rng, 3)) {
    case 0:
        ASSERT_OK(store_put_batch(s, &id, buf, strlen(buf)));
        cur->batch[i] = v + 1;
        break;
    case 1:
        ASSERT_OK(store_del_batch(s, &id));
        cur->batch[i] = 0;
        break;
    default:
        i %= RM_HEIGHTS;
        ASSERT_OK(store_put_cert(s, 3 * i, buf, strlen(buf)));
        cur->cert[i] = v + 1;
        break;
    }
}

static void check_rollup_random(struct store_factory *f)
{
    struct store *s = NULL;
    struct rollup_model cur;
    struct rollup_model synced;
    struct seq_rng rng;
    int step;

    seq_rng_seed(&rng, test_seed());
    memset(&cur, 0, sizeof cur);
    memset(&synced, 0, sizeof synced);
    ASSERT_OK(f->open(f, &s));
    for (step = 0; step < 1200; step++) {
        uint64_t dice = seq_rng_below(&rng, 100);

        if (dice < 10) {
            ASSERT_OK(store_sync(s));
            synced = cur;
        } else if (dice < 14) {
            crash_and_reopen(f, &s);
            cur = synced;
        } else {
            rm_write(s, &cur, &rng);
        }
        if (step % 7 == 0 || dice < 14) {
            rm_check(s, &cur);
        }
    }
    f->destroy(f, s);
}

TEST(store, rollup_random_writes_deletes_and_crashes_match_a_model)
{
    FOR_EACH_STORE(check_rollup_random);
}

/* ---- Crashes. ---- */

static void check_crash_scenario(struct store_factory *f)
{
    struct store *s = NULL;
    struct hs_block b[6];
    struct hs_qc qc[6];
    struct hs_qc got_qc;
    struct hs_safety st1;
    struct hs_safety st2;
    struct hs_safety got;
    struct seq_hash id;
    hs_height_t height;
    size_t i;

    make_chain(b, 6, test_seed());
    for (i = 0; i < 6; i++) {
        make_qc(&qc[i], &b[i], 0);
    }
    make_safety(&st1, 1);
    make_safety(&st2, 2);
    ASSERT_OK(f->open(f, &s));

    /* A crash before any sync leaves an empty store. */
    ASSERT_OK(store_put_block(s, &b[0]));
    ASSERT_OK(store_put_qc(s, &qc[0]));
    ASSERT_OK(store_put_high_qc(s, &qc[0]));
    ASSERT_OK(store_put_safety(s, &st1));
    ASSERT_OK(store_put_commit(s, 1, &b[0].id));
    ASSERT_OK(store_put_meta(s, "epoch", "v0", 2));
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_block(s, &b[0]), 0);
    ASSERT_EQ(has_qc(s, &qc[0]), 0);
    ASSERT_ERR(store_get_high_qc(s, &got_qc), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_safety(s, &got), SEQ_ENOTFOUND);
    ASSERT_ERR(store_committed_height(s, &height), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_commit(s, 1, &id), SEQ_ENOTFOUND);
    ASSERT_EQ(has_meta(s, "epoch", NULL, 0), 0);

    /* Sync 1: b0. Sync 2: b1, commit 1, st1, high QC b1, meta v1. */
    ASSERT_OK(store_put_block(s, &b[0]));
    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_put_block(s, &b[1]));
    ASSERT_OK(store_put_qc(s, &qc[1]));
    ASSERT_OK(store_put_commit(s, 1, &b[0].id));
    ASSERT_OK(store_put_safety(s, &st1));
    ASSERT_OK(store_put_high_qc(s, &qc[1]));
    ASSERT_OK(store_put_meta(s, "epoch", "v1", 2));
    ASSERT_OK(store_sync(s));
    /* Unsynced: b2, qc2, commit 2, st2, high QC b2, meta v2 and a new
     * key, and a second QC for b1 replacing the synced one. */
    ASSERT_OK(store_put_block(s, &b[2]));
    ASSERT_OK(store_put_qc(s, &qc[2]));
    ASSERT_OK(store_put_commit(s, 2, &b[1].id));
    ASSERT_OK(store_put_safety(s, &st2));
    ASSERT_OK(store_put_high_qc(s, &qc[2]));
    ASSERT_OK(store_put_meta(s, "epoch", "v2", 2));
    ASSERT_OK(store_put_meta(s, "other", "x", 1));
    make_qc(&got_qc, &b[1], 9);
    ASSERT_OK(store_put_qc(s, &got_qc));
    ASSERT_EQ(has_qc(s, &got_qc), 1);

    crash_and_reopen(f, &s);
    ASSERT_EQ(has_block(s, &b[0]), 1);
    ASSERT_EQ(has_block(s, &b[1]), 1);
    ASSERT_EQ(has_block(s, &b[2]), 0);
    ASSERT_EQ(has_qc(s, &qc[1]), 1);
    ASSERT_EQ(has_qc(s, &qc[2]), 0);
    ASSERT_OK(store_committed_height(s, &height));
    ASSERT_EQ(height, (hs_height_t)1);
    ASSERT_OK(store_get_commit(s, 1, &id));
    ASSERT_TRUE(seq_hash_eq(&id, &b[0].id));
    ASSERT_ERR(store_get_commit(s, 2, &id), SEQ_ENOTFOUND);
    ASSERT_OK(store_get_safety(s, &got));
    ASSERT_TRUE(safety_eq(&got, &st1));
    ASSERT_OK(store_get_high_qc(s, &got_qc));
    ASSERT_TRUE(qc_eq(&got_qc, &qc[1]));
    ASSERT_EQ(has_meta(s, "epoch", "v1", 2), 1);
    ASSERT_EQ(has_meta(s, "other", NULL, 0), 0);

    /* The store goes on working; a second crash keeps the third sync. */
    ASSERT_OK(store_put_block(s, &b[3]));
    ASSERT_OK(store_put_commit(s, 2, &b[1].id));
    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_sync(s)); /* Nothing staged: still fine. */
    ASSERT_OK(store_put_block(s, &b[4]));
    ASSERT_OK(store_put_commit(s, 3, &b[2].id));
    crash_and_reopen(f, &s);
    crash_and_reopen(f, &s); /* Nothing staged: changes nothing. */
    ASSERT_EQ(has_block(s, &b[3]), 1);
    ASSERT_EQ(has_block(s, &b[4]), 0);
    ASSERT_OK(store_committed_height(s, &height));
    ASSERT_EQ(height, (hs_height_t)2);
    ASSERT_ERR(store_get_commit(s, 3, &id), SEQ_ENOTFOUND);

    f->destroy(f, s);
    free_chain(b, 6);
}

TEST(store, crash_keeps_exactly_the_last_sync)
{
    FOR_EACH_STORE(check_crash_scenario);
}

/* A model of the store: what a reader must see (cur) and what the last sync
 * covered (synced). sync copies cur to synced; a crash copies it back. */
#define M_BLOCKS   24
#define M_KEYS     3
#define M_VARIANTS 4

struct model_state {
    bool block[M_BLOCKS];
    int qc[M_BLOCKS];         /* Variant + 1; 0 when absent. */
    int commit[M_BLOCKS + 1]; /* By height: block index + 1, or 0. */
    hs_height_t committed;
    bool has_committed;
    int safety;       /* Variant, or 0 when absent. */
    int high_qc;      /* Block index + 1, or 0. */
    int meta[M_KEYS]; /* Variant + 1, or 0. */
};

static const char *const model_keys[M_KEYS] = { "genesis", "epoch", "valset" };

/* The meta value of @variant: its length varies, 0 included. */
static void meta_value(int variant, char *buf, size_t *len)
{
    *len = (size_t)(variant * 3);
    memset(buf, 'a' + variant, *len);
}

static void check_against_model(struct store *s,
                                const struct model_state *m,
                                const struct hs_block *blocks)
{
    struct hs_qc qc;
    struct hs_qc got;
    struct hs_safety st;
    struct hs_safety got_st;
    struct seq_hash id;
    hs_height_t height;
    char buf[16];
    size_t len;
    size_t i;

    for (i = 0; i < M_BLOCKS; i++) {
        ASSERT_EQ(has_block(s, &blocks[i]), m->block[i] ? 1 : 0);
        if (m->qc[i] != 0) {
            make_qc(&qc, &blocks[i], m->qc[i] - 1);
            ASSERT_EQ(has_qc(s, &qc), 1);
        } else {
            ASSERT_ERR(store_get_qc(s, &blocks[i].id, &got), SEQ_ENOTFOUND);
        }
    }
    for (i = 0; i <= M_BLOCKS; i++) {
        if (m->commit[i] != 0) {
            ASSERT_OK(store_get_commit(s, i, &id));
            ASSERT_TRUE(seq_hash_eq(&id, &blocks[m->commit[i] - 1].id));
        } else {
            ASSERT_ERR(store_get_commit(s, i, &id), SEQ_ENOTFOUND);
        }
    }
    if (m->has_committed) {
        ASSERT_OK(store_committed_height(s, &height));
        ASSERT_EQ(height, m->committed);
    } else {
        ASSERT_ERR(store_committed_height(s, &height), SEQ_ENOTFOUND);
    }
    if (m->safety != 0) {
        make_safety(&st, m->safety);
        ASSERT_OK(store_get_safety(s, &got_st));
        ASSERT_TRUE(safety_eq(&got_st, &st));
    } else {
        ASSERT_ERR(store_get_safety(s, &got_st), SEQ_ENOTFOUND);
    }
    if (m->high_qc != 0) {
        make_qc(&qc, &blocks[m->high_qc - 1], 0);
        ASSERT_OK(store_get_high_qc(s, &got));
        ASSERT_TRUE(qc_eq(&got, &qc));
    } else {
        ASSERT_ERR(store_get_high_qc(s, &got), SEQ_ENOTFOUND);
    }
    for (i = 0; i < M_KEYS; i++) {
        if (m->meta[i] != 0) {
            meta_value(m->meta[i] - 1, buf, &len);
            ASSERT_EQ(has_meta(s, model_keys[i], buf, len), 1);
        } else {
            ASSERT_EQ(has_meta(s, model_keys[i], NULL, 0), 0);
        }
    }
}

/* One random write to both the store and the model's current state. */
static void model_write(struct store *s,
                        struct model_state *cur,
                        const struct hs_block *blocks,
                        struct seq_rng *rng)
{
    size_t i = (size_t)seq_rng_below(rng, M_BLOCKS);
    int v = (int)seq_rng_below(rng, M_VARIANTS);
    struct hs_qc qc;
    struct hs_safety st;
    char buf[16];
    size_t len;

    switch (seq_rng_below(rng, 6)) {
    case 0:
        ASSERT_OK(store_put_block(s, &blocks[i]));
        cur->block[i] = true;
        break;
    case 1:
        make_qc(&qc, &blocks[i], v);
        ASSERT_OK(store_put_qc(s, &qc));
        cur->qc[i] = v + 1;
        break;
    case 2:
        ASSERT_OK(store_put_commit(s, blocks[i].height, &blocks[i].id));
        cur->commit[blocks[i].height] = (int)i + 1;
        if (!cur->has_committed || blocks[i].height > cur->committed) {
            cur->committed = blocks[i].height;
            cur->has_committed = true;
        }
        break;
    case 3:
        make_safety(&st, v + 1);
        ASSERT_OK(store_put_safety(s, &st));
        cur->safety = v + 1;
        break;
    case 4:
        make_qc(&qc, &blocks[i], 0);
        ASSERT_OK(store_put_high_qc(s, &qc));
        cur->high_qc = (int)i + 1;
        break;
    default:
        meta_value(v, buf, &len);
        ASSERT_OK(store_put_meta(s, model_keys[i % M_KEYS], buf, len));
        cur->meta[i % M_KEYS] = v + 1;
        break;
    }
}

static void check_random_crashes(struct store_factory *f)
{
    struct store *s = NULL;
    struct hs_block blocks[M_BLOCKS];
    struct model_state cur;
    struct model_state synced;
    struct seq_rng rng;
    int step;

    seq_rng_seed(&rng, test_seed());
    make_chain(blocks, M_BLOCKS, test_seed());
    memset(&cur, 0, sizeof cur);
    memset(&synced, 0, sizeof synced);
    ASSERT_OK(f->open(f, &s));
    for (step = 0; step < 3000; step++) {
        uint64_t dice = seq_rng_below(&rng, 100);

        if (dice < 10) {
            ASSERT_OK(store_sync(s));
            synced = cur;
        } else if (dice < 14) {
            crash_and_reopen(f, &s);
            cur = synced;
        } else if (dice < 15) {
            /* Start over, so that crashes before the first sync recur. */
            f->destroy(f, s);
            ASSERT_OK(f->open(f, &s));
            memset(&cur, 0, sizeof cur);
            memset(&synced, 0, sizeof synced);
        } else {
            model_write(s, &cur, blocks, &rng);
        }
        if (step % 7 == 0 || dice < 15) {
            check_against_model(s, &cur, blocks);
        }
    }
    f->destroy(f, s);
    free_chain(blocks, M_BLOCKS);
}

TEST(store, random_writes_syncs_and_crashes_match_a_model)
{
    FOR_EACH_STORE(check_random_crashes);
}

/* Thousands of keys, as a simulated replica holds: growth, then a crash
 * that drops half of them. */
static void check_many(struct store_factory *f)
{
    enum { N = 3000 };
    struct store *s = NULL;
    struct hs_block *blocks;
    struct hs_qc qc;
    struct seq_hash id;
    size_t i;

    blocks = seq_calloc(N, sizeof *blocks);
    ASSERT_TRUE(blocks != NULL);
    make_chain(blocks, N, test_seed());
    ASSERT_OK(f->open(f, &s));
    for (i = 0; i < N; i++) {
        make_qc(&qc, &blocks[i], 0);
        ASSERT_OK(store_put_block(s, &blocks[i]));
        ASSERT_OK(store_put_qc(s, &qc));
        ASSERT_OK(store_put_commit(s, blocks[i].height, &blocks[i].id));
        if (i == N / 2) {
            ASSERT_OK(store_sync(s));
        }
    }
    crash_and_reopen(f, &s);
    for (i = 0; i < N; i++) {
        make_qc(&qc, &blocks[i], 0);
        ASSERT_EQ(has_block(s, &blocks[i]), i <= N / 2 ? 1 : 0);
        ASSERT_EQ(has_qc(s, &qc), i <= N / 2 ? 1 : 0);
        ASSERT_ERR(store_get_commit(s, blocks[i].height, &id),
                   i <= N / 2 ? SEQ_OK : SEQ_ENOTFOUND);
    }
    f->destroy(f, s);
    free_chain(blocks, N);
    seq_free(blocks);
}

TEST(store, thousands_of_blocks_then_crash)
{
    FOR_EACH_STORE(check_many);
}

/* ---- Failures. ---- */

static void check_failed_sync(struct store_factory *f)
{
    struct store *s = NULL;
    struct hs_block b[2];
    struct hs_block got;
    struct hs_safety st;
    hs_height_t height;

    if (f->fail_syncs == NULL) {
        fprintf(stderr, "  [%s] cannot fail a sync; skipped\n", f->name);
        return;
    }
    make_chain(b, 2, test_seed());
    make_safety(&st, 1);
    ASSERT_OK(f->open(f, &s));
    ASSERT_OK(store_put_block(s, &b[0]));
    ASSERT_OK(store_put_commit(s, 1, &b[0].id));
    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_put_block(s, &b[1]));
    ASSERT_OK(store_put_safety(s, &st));

    f->fail_syncs(f, s, true);
    s->errmsg[0] = '\0';
    ASSERT_ERR(store_sync(s), SEQ_EIO);
    ASSERT_TRUE(s->errmsg[0] != '\0');
    /* Unusable from then on, even once the disk is back (store.h). */
    f->fail_syncs(f, s, false);
    ASSERT_ERR(store_get_block(s, &b[0].id, &got), SEQ_EIO);
    ASSERT_ERR(store_put_block(s, &b[1]), SEQ_EIO);
    ASSERT_ERR(store_put_commit(s, 2, &b[1].id), SEQ_EIO);
    ASSERT_ERR(store_committed_height(s, &height), SEQ_EIO);
    ASSERT_ERR(store_sync(s), SEQ_EIO);

    /* After a restart: the last successful sync, and a working store. */
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_block(s, &b[0]), 1);
    ASSERT_EQ(has_block(s, &b[1]), 0);
    ASSERT_ERR(store_get_safety(s, &st), SEQ_ENOTFOUND);
    ASSERT_OK(store_put_block(s, &b[1]));
    ASSERT_OK(store_sync(s));
    crash_and_reopen(f, &s);
    ASSERT_EQ(has_block(s, &b[1]), 1);

    f->destroy(f, s);
    free_chain(b, 2);
}

TEST(store, failed_sync_makes_the_store_unusable)
{
    FOR_EACH_STORE(check_failed_sync);
}

static void check_open_oom(struct store_factory *f)
{
    static struct store untouched_out; /* What *out must still point at. */
    struct store *s;
    unsigned long nth;
    int rv;

    for (nth = 1; nth < 100; nth++) {
        s = &untouched_out;
        seq_alloc_fail_at(nth, 0);
        rv = f->open(f, &s);
        seq_alloc_fail_at(0, 0);
        if (rv == 0) {
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
        ASSERT_TRUE(s == &untouched_out);
    }
    ASSERT_LT(nth, 100);
    f->destroy(f, s);
}

TEST(store, open_out_of_memory)
{
    FOR_EACH_STORE(check_open_oom);
}

/* The puts tortured by check_put_oom. Before each, the store holds (synced)
 * BASE blocks, their QCs and commits at heights 1..BASE, meta "k" = "old",
 * and one staged block; BASE is a power of two so that the next key forces
 * index growth in a store that doubles. */
enum put_kind {
    PUT_BLOCK,
    PUT_QC,
    PUT_QC_AGAIN, /* A new QC for a block that has one. */
    PUT_HIGH_QC,
    PUT_COMMIT_NEXT,
    PUT_COMMIT_BELOW,
    PUT_SAFETY,
    PUT_META,
    PUT_META_AGAIN,
    N_PUT_KINDS
};

#define BASE 64

static int do_put(struct store *s, enum put_kind kind, const struct hs_block *b)
{
    struct hs_qc qc;
    struct hs_safety st;

    switch (kind) {
    case PUT_BLOCK:
        return store_put_block(s, &b[BASE + 1]);
    case PUT_QC:
        make_qc(&qc, &b[BASE + 1], 0);
        return store_put_qc(s, &qc);
    case PUT_QC_AGAIN:
        make_qc(&qc, &b[3], 5);
        return store_put_qc(s, &qc);
    case PUT_HIGH_QC:
        make_qc(&qc, &b[BASE - 1], 0);
        return store_put_high_qc(s, &qc);
    case PUT_COMMIT_NEXT:
        return store_put_commit(s, BASE + 1, &b[BASE].id);
    case PUT_COMMIT_BELOW:
        return store_put_commit(s, 0, &b[0].id);
    case PUT_SAFETY:
        make_safety(&st, 1);
        return store_put_safety(s, &st);
    case PUT_META:
        return store_put_meta(s, "new", "value", 5);
    default:
        return store_put_meta(s, "k", "newer", 5);
    }
}

/* After @kind's put failed (@done false) or succeeded (@done true). */
static void check_after_put(struct store *s,
                            enum put_kind kind,
                            const struct hs_block *b,
                            bool done)
{
    struct hs_qc qc;
    struct hs_qc got;
    struct hs_safety st;
    struct seq_hash id;
    hs_height_t height;
    size_t i;

    for (i = 0; i <= BASE; i++) {
        ASSERT_EQ(has_block(s, &b[i]), 1);
    }
    ASSERT_EQ(has_block(s, &b[BASE + 1]), done && kind == PUT_BLOCK ? 1 : 0);
    for (i = 0; i < BASE; i++) {
        make_qc(&qc, &b[i], done && kind == PUT_QC_AGAIN && i == 3 ? 5 : 0);
        ASSERT_EQ(has_qc(s, &qc), 1);
        ASSERT_OK(store_get_commit(s, i + 1, &id));
        ASSERT_TRUE(seq_hash_eq(&id, &b[i].id));
    }
    make_qc(&qc, &b[BASE + 1], 0);
    ASSERT_EQ(has_qc(s, &qc), done && kind == PUT_QC ? 1 : 0);
    ASSERT_EQ(store_get_high_qc(s, &got),
              done && kind == PUT_HIGH_QC ? SEQ_OK : SEQ_ENOTFOUND);
    ASSERT_EQ(store_get_commit(s, BASE + 1, &id),
              done && kind == PUT_COMMIT_NEXT ? SEQ_OK : SEQ_ENOTFOUND);
    ASSERT_EQ(store_get_commit(s, 0, &id),
              done && kind == PUT_COMMIT_BELOW ? SEQ_OK : SEQ_ENOTFOUND);
    ASSERT_OK(store_committed_height(s, &height));
    ASSERT_EQ(height,
              (hs_height_t)(done && kind == PUT_COMMIT_NEXT ? BASE + 1 : BASE));
    ASSERT_EQ(store_get_safety(s, &st),
              done && kind == PUT_SAFETY ? SEQ_OK : SEQ_ENOTFOUND);
    ASSERT_EQ(has_meta(s, "new", "value", 5), done && kind == PUT_META ? 1 : 0);
    if (done && kind == PUT_META_AGAIN) {
        ASSERT_EQ(has_meta(s, "k", "newer", 5), 1);
    } else {
        ASSERT_EQ(has_meta(s, "k", "old", 3), 1);
    }
}

static void check_put_oom(struct store_factory *f)
{
    struct store *s = NULL;
    struct hs_block b[BASE + 2];
    struct hs_qc qc;
    int kind;
    int sticky;
    unsigned long nth;
    size_t i;
    int rv;

    make_chain(b, BASE + 2, test_seed());
    for (kind = 0; kind < N_PUT_KINDS; kind++) {
        for (sticky = 0; sticky <= 1; sticky++) {
            for (nth = 1; nth < 50; nth++) {
                ASSERT_OK(f->open(f, &s));
                for (i = 0; i < BASE; i++) {
                    make_qc(&qc, &b[i], 0);
                    ASSERT_OK(store_put_block(s, &b[i]));
                    ASSERT_OK(store_put_qc(s, &qc));
                    ASSERT_OK(store_put_commit(s, i + 1, &b[i].id));
                }
                ASSERT_OK(store_put_meta(s, "k", "old", 3));
                ASSERT_OK(store_sync(s));
                ASSERT_OK(store_put_block(s, &b[BASE]));

                seq_alloc_fail_at(nth, sticky);
                rv = do_put(s, (enum put_kind)kind, b);
                seq_alloc_fail_at(0, 0);
                if (rv != 0) {
                    ASSERT_ERR(rv, SEQ_ENOMEM);
                }
                check_after_put(s, (enum put_kind)kind, b, rv == 0);
                /* Still consistent through a sync and a crash. */
                ASSERT_OK(store_sync(s));
                crash_and_reopen(f, &s);
                check_after_put(s, (enum put_kind)kind, b, rv == 0);
                f->destroy(f, s);
                if (rv == 0) {
                    break;
                }
            }
            ASSERT_LT(nth, 50);
        }
    }
    free_chain(b, BASE + 2);
}

TEST(store, put_out_of_memory_at_each_allocation)
{
    FOR_EACH_STORE(check_put_oom);
}

static void check_get_oom(struct store_factory *f)
{
    struct store *s = NULL;
    struct hs_block genesis;
    struct hs_block b[1];
    struct hs_block got;
    struct seq_rng rng;
    void *val;
    size_t len;
    unsigned long nth;
    int rv;

    seq_rng_seed(&rng, test_seed());
    hs_genesis_block(&chain_id, 1, &genesis);
    make_block(&b[0], &genesis, 100, &rng); /* The copy must allocate. */
    ASSERT_OK(f->open(f, &s));
    ASSERT_OK(store_put_block(s, &b[0]));
    ASSERT_OK(store_put_meta(s, "k", "value", 5));
    ASSERT_OK(store_sync(s));
    for (nth = 1; nth < 50; nth++) {
        seq_alloc_fail_at(nth, 0);
        rv = store_get_block(s, &b[0].id, &got);
        seq_alloc_fail_at(0, 0);
        if (rv == 0) {
            hs_block_free(&got);
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
    }
    for (nth = 1; nth < 50; nth++) {
        seq_alloc_fail_at(nth, 0);
        rv = store_get_meta(s, "k", &val, &len);
        seq_alloc_fail_at(0, 0);
        if (rv == 0) {
            seq_free(val);
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
    }
    ASSERT_EQ(has_block(s, &b[0]), 1);
    ASSERT_EQ(has_meta(s, "k", "value", 5), 1);
    f->destroy(f, s);
    free_chain(b, 1);
}

TEST(store, get_out_of_memory)
{
    FOR_EACH_STORE(check_get_oom);
}

/* ---- store_mem only: the simulator's view of the disk. ---- */

TEST(store_mem, synced_safety_sees_only_the_synced_layer)
{
    struct store *s = NULL;
    struct hs_safety st1;
    struct hs_safety st2;
    struct hs_safety got;

    make_safety(&st1, 1);
    make_safety(&st2, 2);
    ASSERT_OK(store_mem_open(&s));
    ASSERT_OK(store_put_safety(s, &st1));
    ASSERT_ERR(store_mem_synced_safety(s, &got), SEQ_ENOTFOUND);
    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_put_safety(s, &st2));
    ASSERT_OK(store_mem_synced_safety(s, &got));
    ASSERT_TRUE(safety_eq(&got, &st1));
    ASSERT_OK(store_get_safety(s, &got));
    ASSERT_TRUE(safety_eq(&got, &st2));
    ASSERT_OK(store_sync(s));
    ASSERT_OK(store_mem_synced_safety(s, &got));
    ASSERT_TRUE(safety_eq(&got, &st2));
    store_close(s);
}

TEST(store_mem, crash_repairs_a_broken_store_but_not_the_disk)
{
    struct store *s = NULL;
    struct hs_safety st;
    struct hs_safety got;

    make_safety(&st, 1);
    ASSERT_OK(store_mem_open(&s));
    ASSERT_OK(store_put_safety(s, &st));
    ASSERT_OK(store_sync(s));
    store_mem_fail_syncs(s, true);
    ASSERT_ERR(store_sync(s), SEQ_EIO);
    ASSERT_ERR(store_get_safety(s, &got), SEQ_EIO);
    /* The simulator may still inspect what is on disk. */
    ASSERT_OK(store_mem_synced_safety(s, &got));
    ASSERT_TRUE(safety_eq(&got, &st));
    store_mem_crash(s);
    ASSERT_OK(store_get_safety(s, &got));
    ASSERT_OK(store_put_safety(s, &st));
    ASSERT_ERR(store_sync(s), SEQ_EIO); /* The disk still fails. */
    store_mem_crash(s);
    store_mem_fail_syncs(s, false);
    ASSERT_OK(store_put_safety(s, &st));
    ASSERT_OK(store_sync(s));
    store_close(s);
}

TEST_MAIN()
