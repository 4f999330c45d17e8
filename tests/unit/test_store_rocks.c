/* What only the RocksDB store (storage/store_rocks.c) does; the contract it
 * shares with store_mem is checked in test_store.c. Here: synced data
 * survives a real close and reopen while staged data does not; a second
 * opener of a directory, in this process or another, is refused with a
 * message that says why; values the store did not write (garbage put
 * straight into a column family with the RocksDB C API) read back as
 * SEQ_ECORRUPT, never as a crash or as data, and so do keys of the wrong
 * length that a scan meets; the column families of the layout exist, and
 * a database from before the cert and tx families opens and gains them; a
 * torn last WAL record costs only the last sync, while a
 * damaged earlier one fails the open instead of silently rolling back past
 * synced writes; user meta keys cannot reach internal ones; the TC encoding
 * holds at its bounds; the stats count syncs; and a process that dies with
 * staged writes (SIGKILL, or _exit without a close), or is killed at a
 * random moment, leaves exactly one whole sync on disk: its last.
 *
 * A process to kill is this binary run again as "test_store_rocks --child
 * MODE ...", so that it starts clean rather than inherit RocksDB's threads
 * through a bare fork(). */

#define _XOPEN_SOURCE 700 /* fork, kill, pread, truncate. */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "harness.h"
#include "hs_types.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_rng.h"
#include "store.h"
#include "store_eq.h"
#include "store_recover.h"
#include "store_rocks.h"
#include "test_fs.h"
#include "wire.h"

/* The tag every value starts with (store_rocks.c, K2); garbage is written
 * behind it too, so that it reaches the decoders. */
#define VALUE_TAG 0x01

#define PATH_LEN 4096

/* ---- Directories. ---- */

struct tmp {
    char dir[PATH_LEN];  /* A fresh directory under $TMPDIR or /tmp. */
    char path[PATH_LEN]; /* The database, inside it. */
};

static void tmp_make(struct tmp *t)
{
    int n;

    test_tmpdir("seq-rocks", t->dir, sizeof t->dir);
    n = snprintf(t->path, sizeof t->path, "%s/data", t->dir);
    ASSERT_TRUE(n > 0 && (size_t)n < sizeof t->path);
}

static void tmp_remove(struct tmp *t)
{
    test_rm_tree(t->dir);
}

static struct store *open_ok(const char *path)
{
    char errmsg[SEQ_ERRMSG_LEN];
    struct store *s = NULL;
    int rv;

    rv = store_rocks_open(path, &s, errmsg);
    if (rv != 0) {
        fprintf(stderr, "  %s\n", errmsg);
    }
    ASSERT_OK(rv);
    ASSERT_TRUE(s != NULL);
    return s;
}

/* ---- Test data. ---- */

static const struct seq_hash chain_id = { { 0x52, 0x4f, 0x43, 0x4b } };

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

/* Blocks at heights 1..@n above genesis, payloads of 0 to 300 bytes; the
 * same @seed gives the same chain in every process. */
static void make_chain(struct hs_block *blocks, size_t n, uint64_t seed)
{
    struct hs_block genesis;
    struct seq_rng rng;
    size_t i;
    size_t j;

    seq_rng_seed(&rng, seed);
    hs_genesis_block(&chain_id, 1, &genesis);
    for (i = 0; i < n; i++) {
        const struct hs_block *parent = i == 0 ? &genesis : &blocks[i - 1];
        struct hs_block *b = &blocks[i];

        hs_genesis_block(&chain_id, 1, b);
        b->round = parent->round + 1;
        b->height = parent->height + 1;
        b->parent_id = parent->id;
        b->author = (hs_node_t)(b->round % 4);
        make_qc(&b->justify, parent, 0);
        b->payload_len = (size_t)seq_rng_below(&rng, 301);
        if (b->payload_len > 0) {
            b->payload = seq_malloc(b->payload_len);
            for (j = 0; j < b->payload_len; j++) {
                b->payload[j] = (uint8_t)seq_rng_next(&rng);
            }
        }
        hs_block_seal(b, &chain_id);
    }
}

static void free_chain(struct hs_block *blocks, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        hs_block_free(&blocks[i]);
    }
}

static void make_safety(struct hs_safety *st, uint64_t variant)
{
    memset(st, 0, sizeof *st);
    st->epoch = 1;
    st->last_voted_round = variant + 2;
    st->preferred_round = variant;
    st->one_chain_round = variant + 1;
    st->has_last_vote = true;
    st->last_vote.epoch = 1;
    st->last_vote.round = variant + 2;
    st->last_vote.voter = 1;
    memset(st->last_vote.sig.bytes, (int)(variant & 0xff), HS_SIG_LEN);
}

static void make_tc(struct hs_tc *tc, hs_round_t round, uint32_t n_sigs)
{
    uint32_t i;

    memset(tc, 0, sizeof *tc);
    tc->epoch = 1;
    tc->round = round;
    tc->n_sigs = n_sigs;
    for (i = 0; i < n_sigs; i++) {
        tc->sigs[i].signer = HS_MAX_VALIDATORS - 1 - i;
        tc->sigs[i].high_qc_round = round - 1 - i % 3;
        memset(tc->sigs[i].sig.bytes, (int)(round + i), HS_SIG_LEN);
    }
}

static bool tc_eq(const struct hs_tc *a, const struct hs_tc *b)
{
    uint32_t i;

    if (a->epoch != b->epoch || a->round != b->round ||
        a->n_sigs != b->n_sigs) {
        return false;
    }
    for (i = 0; i < a->n_sigs; i++) {
        if (a->sigs[i].signer != b->sigs[i].signer ||
            a->sigs[i].high_qc_round != b->sigs[i].high_qc_round ||
            memcmp(a->sigs[i].sig.bytes, b->sigs[i].sig.bytes, HS_SIG_LEN) !=
                0) {
            return false;
        }
    }
    return true;
}

static bool safety_eq(const struct hs_safety *a, const struct hs_safety *b)
{
    return a->epoch == b->epoch && a->last_voted_round == b->last_voted_round &&
           a->preferred_round == b->preferred_round &&
           a->one_chain_round == b->one_chain_round &&
           a->has_last_vote == b->has_last_vote &&
           a->last_vote.round == b->last_vote.round &&
           memcmp(a->last_vote.sig.bytes, b->last_vote.sig.bytes, HS_SIG_LEN) ==
               0;
}

/* 1 when @s holds @want (payload included), 0 when it has no block under
 * that id, -1 on any other answer. */
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
    ok = seq_hash_eq(&got.id, &want->id) && got.height == want->height &&
         got.round == want->round && qc_eq(&got.justify, &want->justify) &&
         got.payload_len == want->payload_len &&
         (got.payload_len == 0 ||
          memcmp(got.payload, want->payload, got.payload_len) == 0);
    hs_block_free(&got);
    return ok ? 1 : -1;
}

/* 1 when meta @key holds the @len bytes at @val, 0 when absent. */
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
    ok = got_len == len && (len == 0 || memcmp(got, val, len) == 0);
    seq_free(got);
    return ok ? 1 : -1;
}

/* ---- The database behind the store's back. ---- */

#define RAW_MAX_CF 16

struct raw_db {
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wopts;
    rocksdb_t *db;
    char **names;
    size_t n;
    rocksdb_column_family_handle_t *cf[RAW_MAX_CF];
};

/* Open the (closed) database at @path with every family it has. */
static void raw_open(struct raw_db *raw, const char *path)
{
    const rocksdb_options_t *cf_opts[RAW_MAX_CF];
    char *err = NULL;
    size_t i;

    memset(raw, 0, sizeof *raw);
    raw->opts = rocksdb_options_create();
    raw->names = rocksdb_list_column_families(raw->opts, path, &raw->n, &err);
    ASSERT_TRUE(err == NULL);
    ASSERT_LE(raw->n, RAW_MAX_CF);
    for (i = 0; i < raw->n; i++) {
        cf_opts[i] = raw->opts;
    }
    raw->db = rocksdb_open_column_families(raw->opts, path, (int)raw->n,
                                           (const char *const *)raw->names,
                                           cf_opts, raw->cf, &err);
    if (err != NULL) {
        fprintf(stderr, "  raw open: %s\n", err);
    }
    ASSERT_TRUE(err == NULL);
    raw->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(raw->wopts, 1);
}

/* Put @val (@vlen bytes, taken as they are) under @key in family @cf. */
static void raw_put(struct raw_db *raw,
                    const char *cf,
                    const void *key,
                    size_t klen,
                    const void *val,
                    size_t vlen)
{
    char *err = NULL;
    size_t i;

    for (i = 0; i < raw->n; i++) {
        if (strcmp(raw->names[i], cf) == 0) {
            break;
        }
    }
    ASSERT_LT(i, raw->n);
    rocksdb_put_cf(raw->db, raw->wopts, raw->cf[i], key, klen, val, vlen, &err);
    ASSERT_TRUE(err == NULL);
}

/* The same, behind the value tag. */
static void raw_put_tagged(struct raw_db *raw,
                           const char *cf,
                           const void *key,
                           size_t klen,
                           const void *body,
                           size_t len)
{
    uint8_t *val = seq_malloc(len + 1);

    ASSERT_TRUE(val != NULL);
    val[0] = VALUE_TAG;
    if (len > 0) {
        memcpy(val + 1, body, len);
    }
    raw_put(raw, cf, key, klen, val, len + 1);
    seq_free(val);
}

static void raw_close(struct raw_db *raw)
{
    size_t i;

    for (i = 0; i < raw->n; i++) {
        rocksdb_column_family_handle_destroy(raw->cf[i]);
    }
    rocksdb_close(raw->db);
    rocksdb_list_column_families_destroy(raw->names, raw->n);
    rocksdb_writeoptions_destroy(raw->wopts);
    rocksdb_options_destroy(raw->opts);
}

static void be64(uint8_t out[8], uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++) {
        out[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

/* ---- Close and reopen. ---- */

/* The synced set A and the staged-only set B of the crash scenarios:
 * blocks[0..3] with QCs, commits at 1..4, safety 1, high QC of blocks[3],
 * high TC of round 7 and meta "epoch" = "A" are synced; blocks[4..5],
 * commits 5..6, safety 2, a new QC for blocks[1], high QC of blocks[5], a
 * TC of round 9 and meta "epoch" = "B", "new" = "x" are only staged. */
#define AB_BLOCKS 6

static int write_a_then_stage_b(struct store *s, const struct hs_block *b)
{
    struct hs_qc qc;
    struct hs_safety st;
    struct hs_tc tc;
    size_t i;
    int rv = 0;

    for (i = 0; i < 4 && rv == 0; i++) {
        make_qc(&qc, &b[i], 0);
        rv = store_put_block(s, &b[i]);
        rv = rv != 0 ? rv : store_put_qc(s, &qc);
        rv = rv != 0 ? rv : store_put_commit(s, i + 1, &b[i].id);
    }
    make_safety(&st, 1);
    make_tc(&tc, 7, 3);
    rv = rv != 0 ? rv : store_put_safety(s, &st);
    rv = rv != 0 ? rv : store_put_high_qc(s, &qc);
    rv = rv != 0 ? rv : store_put_high_tc(s, &tc);
    rv = rv != 0 ? rv : store_put_meta(s, "epoch", "A", 1);
    rv = rv != 0 ? rv : store_sync(s);

    for (i = 4; i < AB_BLOCKS && rv == 0; i++) {
        make_qc(&qc, &b[i], 0);
        rv = store_put_block(s, &b[i]);
        rv = rv != 0 ? rv : store_put_qc(s, &qc);
        rv = rv != 0 ? rv : store_put_commit(s, i + 1, &b[i].id);
    }
    rv = rv != 0 ? rv : store_put_high_qc(s, &qc);
    make_qc(&qc, &b[1], 5);
    make_safety(&st, 2);
    make_tc(&tc, 9, 4);
    rv = rv != 0 ? rv : store_put_qc(s, &qc);
    rv = rv != 0 ? rv : store_put_safety(s, &st);
    rv = rv != 0 ? rv : store_put_high_tc(s, &tc);
    rv = rv != 0 ? rv : store_put_meta(s, "epoch", "B", 1);
    rv = rv != 0 ? rv : store_put_meta(s, "new", "x", 1);
    return rv;
}

/* @s holds set A and nothing of set B. */
static void check_exactly_a(struct store *s, const struct hs_block *b)
{
    struct hs_qc qc;
    struct hs_qc got_qc;
    struct hs_safety st;
    struct hs_safety got_st;
    struct hs_tc tc;
    struct hs_tc got_tc;
    struct seq_hash id;
    hs_height_t height;
    size_t i;

    for (i = 0; i < AB_BLOCKS; i++) {
        ASSERT_EQ(has_block(s, &b[i]), i < 4 ? 1 : 0);
        if (i < 4) {
            make_qc(&qc, &b[i], 0);
            ASSERT_OK(store_get_qc(s, &b[i].id, &got_qc));
            ASSERT_TRUE(qc_eq(&got_qc, &qc));
            ASSERT_OK(store_get_commit(s, i + 1, &id));
            ASSERT_TRUE(seq_hash_eq(&id, &b[i].id));
        } else {
            ASSERT_ERR(store_get_qc(s, &b[i].id, &got_qc), SEQ_ENOTFOUND);
            ASSERT_ERR(store_get_commit(s, i + 1, &id), SEQ_ENOTFOUND);
        }
    }
    ASSERT_OK(store_committed_height(s, &height));
    ASSERT_EQ(height, 4u);
    make_safety(&st, 1);
    ASSERT_OK(store_get_safety(s, &got_st));
    ASSERT_TRUE(safety_eq(&got_st, &st));
    make_qc(&qc, &b[3], 0);
    ASSERT_OK(store_get_high_qc(s, &got_qc));
    ASSERT_TRUE(qc_eq(&got_qc, &qc));
    make_tc(&tc, 7, 3);
    ASSERT_OK(store_get_high_tc(s, &got_tc));
    ASSERT_TRUE(tc_eq(&got_tc, &tc));
    ASSERT_EQ(has_meta(s, "epoch", "A", 1), 1);
    ASSERT_EQ(has_meta(s, "new", NULL, 0), 0);
}

TEST(store_rocks, close_and_reopen_keep_exactly_the_synced_data)
{
    struct tmp t;
    struct store *s;
    struct hs_block b[AB_BLOCKS];
    hs_height_t height;

    make_chain(b, AB_BLOCKS, test_seed());
    tmp_make(&t);
    s = open_ok(t.path);
    ASSERT_OK(write_a_then_stage_b(s, b));
    store_close(s); /* Not a sync: set B is dropped. */
    s = open_ok(t.path);
    check_exactly_a(s, b);

    /* The reopened store goes on: B again, synced this time. */
    ASSERT_OK(store_put_block(s, &b[4]));
    ASSERT_OK(store_put_commit(s, 5, &b[4].id));
    ASSERT_OK(store_sync(s));
    store_close(s);
    s = open_ok(t.path);
    ASSERT_EQ(has_block(s, &b[4]), 1);
    ASSERT_OK(store_committed_height(s, &height));
    ASSERT_EQ(height, 5u);
    store_close(s);
    tmp_remove(&t);
    free_chain(b, AB_BLOCKS);
}

static bool has_name(char **names, size_t n, const char *want)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(names[i], want) == 0) {
            return true;
        }
    }
    return false;
}

/* The closed database at @path has the families of the layout (K1), and
 * no others. */
static void check_families(const char *path)
{
    static const char *const want[] = { "default", "blocks", "height",  "qc",
                                        "safety",  "meta",   "batches", "ns",
                                        "cert",    "tx",     "txlog" };
    rocksdb_options_t *opts;
    char **names;
    char *err = NULL;
    size_t n;
    size_t i;

    opts = rocksdb_options_create();
    names = rocksdb_list_column_families(opts, path, &n, &err);
    ASSERT_TRUE(err == NULL);
    ASSERT_EQ(n, sizeof want / sizeof want[0]);
    for (i = 0; i < n; i++) {
        if (!has_name(names, n, want[i])) {
            fprintf(stderr, "  no column family \"%s\"\n", want[i]);
        }
        ASSERT_TRUE(has_name(names, n, want[i]));
    }
    rocksdb_list_column_families_destroy(names, n);
    rocksdb_options_destroy(opts);
}

TEST(store_rocks, column_families_exist_after_open)
{
    struct tmp t;

    tmp_make(&t);
    store_close(open_ok(t.path));
    check_families(t.path);
    /* A reopen finds the same families and adds none. */
    store_close(open_ok(t.path));
    check_families(t.path);
    tmp_remove(&t);
}

/* Drop family @cf from the open raw database: what a database written
 * before that family existed looks like. */
static void raw_drop(struct raw_db *raw, const char *cf)
{
    char *err = NULL;
    size_t i;

    for (i = 0; i < raw->n; i++) {
        if (strcmp(raw->names[i], cf) == 0) {
            break;
        }
    }
    ASSERT_LT(i, raw->n);
    rocksdb_drop_column_family(raw->db, raw->cf[i], &err);
    if (err != NULL) {
        fprintf(stderr, "  drop %s: %s\n", cf, err);
    }
    ASSERT_TRUE(err == NULL);
}

/* A database of the layout before issue 4 added the cert and tx families:
 * it opens, gains both (empty), keeps what it held, and takes their
 * records like any other. */
TEST(store_rocks, database_without_cert_and_tx_families_opens)
{
    static const char *const old_families[] = { "default", "blocks", "height",
                                                "qc",      "safety", "meta",
                                                "batches", "ns" };
    struct tmp t;
    struct store *s;
    struct raw_db raw;
    struct hs_block b[2];
    struct seq_hash id;
    struct seq_hash tx;
    hs_height_t height;
    hs_height_t found;
    rocksdb_options_t *opts;
    char **names;
    char *err = NULL;
    void *val;
    size_t len;
    size_t n;
    size_t i;

    make_chain(b, 2, test_seed());
    memset(id.bytes, 0x42, SEQ_HASH_LEN);
    memset(tx.bytes, 0x77, SEQ_HASH_LEN);
    tmp_make(&t);
    s = open_ok(t.path);
    ASSERT_OK(store_put_block(s, &b[0]));
    ASSERT_OK(store_put_commit(s, 1, &b[0].id));
    ASSERT_OK(store_put_batch(s, &id, "batch", 5));
    ASSERT_OK(store_put_ns(s, 9, 1, "ns", 2));
    ASSERT_OK(store_sync(s));
    store_close(s);

    raw_open(&raw, t.path);
    raw_drop(&raw, "cert");
    raw_drop(&raw, "tx");
    raw_drop(&raw, "txlog");
    raw_close(&raw);
    opts = rocksdb_options_create();
    names = rocksdb_list_column_families(opts, t.path, &n, &err);
    ASSERT_TRUE(err == NULL);
    ASSERT_EQ(n, sizeof old_families / sizeof old_families[0]);
    for (i = 0; i < n; i++) {
        ASSERT_TRUE(has_name(names, n, old_families[i]));
    }
    rocksdb_list_column_families_destroy(names, n);
    rocksdb_options_destroy(opts);

    s = open_ok(t.path);
    ASSERT_EQ(has_block(s, &b[0]), 1);
    ASSERT_OK(store_committed_height(s, &height));
    ASSERT_EQ(height, 1u);
    ASSERT_OK(store_get_batch(s, &id, &val, &len));
    ASSERT_EQ(len, (size_t)5);
    ASSERT_MEMEQ(val, "batch", 5);
    seq_free(val);
    ASSERT_ERR(store_get_cert_from(s, 0, &found, &val, &len), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_tx(s, &tx, &val, &len), SEQ_ENOTFOUND);
    ASSERT_OK(store_put_cert(s, 1, "cert", 4));
    ASSERT_OK(store_put_tx(s, &tx, "where", 5));
    ASSERT_OK(store_put_block(s, &b[1]));
    ASSERT_OK(store_sync(s));
    store_close(s);
    check_families(t.path);

    s = open_ok(t.path);
    ASSERT_OK(store_get_cert_from(s, 0, &found, &val, &len));
    ASSERT_EQ(found, 1u);
    ASSERT_EQ(len, (size_t)4);
    ASSERT_MEMEQ(val, "cert", 4);
    seq_free(val);
    ASSERT_OK(store_get_tx(s, &tx, &val, &len));
    ASSERT_EQ(len, (size_t)5);
    ASSERT_MEMEQ(val, "where", 5);
    seq_free(val);
    ASSERT_EQ(has_block(s, &b[1]), 1);
    store_close(s);
    tmp_remove(&t);
    free_chain(b, 2);
}

/* ---- The write-ahead log. ---- */

/* The one non-empty WAL file ("NNNNNN.log") of the closed database @path
 * into @out, and its size. */
static off_t find_wal(const char *path, char out[PATH_LEN + 64])
{
    struct dirent *e;
    struct stat st;
    off_t size = 0;
    DIR *d;
    int found = 0;

    d = opendir(path);
    ASSERT_TRUE(d != NULL);
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        size_t n = strlen(e->d_name);
        char file[PATH_LEN + 64];

        if (n < 4 || strcmp(e->d_name + n - 4, ".log") != 0) {
            continue;
        }
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        ASSERT_EQ(stat(file, &st), 0);
        if (st.st_size > 0) {
            memcpy(out, file, sizeof file);
            size = st.st_size;
            found++;
        }
    }
    closedir(d);
    ASSERT_EQ(found, 1);
    return size;
}

/* Three syncs, b[0], b[1], b[2], each one WAL record; then a close, which
 * leaves them in the WAL (a reopen would flush them to a table). */
static void three_synced_records(struct tmp *t, const struct hs_block *b)
{
    struct store *s;
    size_t i;

    tmp_make(t);
    s = open_ok(t->path);
    for (i = 0; i < 3; i++) {
        ASSERT_OK(store_put_block(s, &b[i]));
        ASSERT_OK(store_sync(s));
    }
    store_close(s);
}

TEST(store_rocks, torn_last_wal_record_is_dropped_damaged_earlier_one_fails)
{
    static struct store sentinel;
    char errmsg[SEQ_ERRMSG_LEN];
    char wal[PATH_LEN + 64];
    struct tmp t;
    struct store *s;
    struct hs_block b[3];
    off_t size;
    uint8_t c;
    int fd;

    make_chain(b, 3, test_seed());
    /* A crash while the last record was being written: it is dropped, and
     * the two before it stay. */
    three_synced_records(&t, b);
    size = find_wal(t.path, wal);
    ASSERT_EQ(truncate(wal, size - 5), 0);
    s = open_ok(t.path);
    ASSERT_EQ(has_block(s, &b[0]), 1);
    ASSERT_EQ(has_block(s, &b[1]), 1);
    ASSERT_EQ(has_block(s, &b[2]), 0);
    store_close(s);
    tmp_remove(&t);

    /* The first record damaged, with good ones after it: synced writes
     * were lost, and the open fails rather than drop them all. */
    three_synced_records(&t, b);
    find_wal(t.path, wal);
    fd = open(wal, O_RDWR);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(pread(fd, &c, 1, 10), 1);
    c ^= 0xff;
    ASSERT_EQ(pwrite(fd, &c, 1, 10), 1);
    close(fd);
    s = &sentinel;
    errmsg[0] = '\0';
    ASSERT_ERR(store_rocks_open(t.path, &s, errmsg), SEQ_EIO);
    fprintf(stderr, "  %s\n", errmsg);
    ASSERT_TRUE(s == &sentinel);
    ASSERT_TRUE(strstr(errmsg, "Corruption") != NULL);
    tmp_remove(&t);
    free_chain(b, 3);
}

/* ---- Opening. ---- */

TEST(store_rocks, second_open_in_one_process_is_refused)
{
    static struct store sentinel;
    char errmsg[SEQ_ERRMSG_LEN];
    struct tmp t;
    struct store *s;
    struct store *s2 = &sentinel;

    tmp_make(&t);
    s = open_ok(t.path);
    errmsg[0] = '\0';
    ASSERT_ERR(store_rocks_open(t.path, &s2, errmsg), SEQ_EIO);
    fprintf(stderr, "  %s\n", errmsg);
    ASSERT_TRUE(s2 == &sentinel);
    ASSERT_TRUE(strstr(errmsg, t.path) != NULL);
    ASSERT_TRUE(strstr(errmsg, "lock") != NULL);
    /* The first store is unharmed, and the directory is free once it
     * closes. */
    ASSERT_OK(store_put_meta(s, "k", "v", 1));
    ASSERT_OK(store_sync(s));
    store_close(s);
    s = open_ok(t.path);
    ASSERT_EQ(has_meta(s, "k", "v", 1), 1);
    store_close(s);
    tmp_remove(&t);
}

TEST(store_rocks, open_failures_say_why)
{
    static struct store sentinel;
    char errmsg[SEQ_ERRMSG_LEN];
    char path[PATH_LEN + 16];
    struct tmp t;
    struct store *s = &sentinel;
    FILE *f;

    tmp_make(&t);
    /* The parent directory does not exist. */
    snprintf(path, sizeof path, "%s/no/such/dir", t.dir);
    errmsg[0] = '\0';
    ASSERT_ERR(store_rocks_open(path, &s, errmsg), SEQ_EIO);
    fprintf(stderr, "  %s\n", errmsg);
    ASSERT_TRUE(s == &sentinel);
    ASSERT_TRUE(strstr(errmsg, path) != NULL);

    /* The path is a file. */
    snprintf(path, sizeof path, "%s/file", t.dir);
    f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fclose(f);
    errmsg[0] = '\0';
    ASSERT_ERR(store_rocks_open(path, &s, errmsg), SEQ_EIO);
    fprintf(stderr, "  %s\n", errmsg);
    ASSERT_TRUE(s == &sentinel);
    ASSERT_TRUE(strstr(errmsg, path) != NULL);
    tmp_remove(&t);
}

/* ---- Values the store did not write (K2). ---- */

/* @rv is SEQ_ECORRUPT and errmsg names @where ("family/..."). */
static void expect_corrupt(struct store *s, int rv, const char *where)
{
    if (rv != SEQ_ECORRUPT || strstr(s->errmsg, where) == NULL) {
        fprintf(stderr, "  want %s in: %s\n", where, s->errmsg);
    }
    ASSERT_ERR(rv, SEQ_ECORRUPT);
    ASSERT_TRUE(strstr(s->errmsg, where) != NULL);
    s->errmsg[0] = '\0';
}

#define N_RANDOM_GARBAGE 300

TEST(store_rocks, garbage_values_read_as_corrupt)
{
    static const uint8_t not_protobuf[] = { 0xff, 0xff, 0xff, 0xff };
    struct tmp t;
    struct store *s;
    struct raw_db raw;
    struct hs_block b[4];
    struct hs_block got;
    struct hs_qc qc;
    struct hs_qc got_qc;
    struct hs_safety got_st;
    struct seq_hash id;
    struct seq_hash keys[N_RANDOM_GARBAGE];
    struct store_recovery rec;
    struct seq_rng rng;
    uint8_t buf[512];
    uint8_t key[8];
    uint8_t *enc;
    size_t enc_len;
    size_t i;
    size_t len;
    void *val;
    int rv;

    make_chain(b, 4, test_seed());
    tmp_make(&t);
    s = open_ok(t.path);
    for (i = 0; i < 4; i++) {
        make_qc(&qc, &b[i], 0);
        ASSERT_OK(store_put_block(s, &b[i]));
        ASSERT_OK(store_put_qc(s, &qc));
        ASSERT_OK(store_put_commit(s, i + 1, &b[i].id));
    }
    make_safety(&got_st, 1);
    ASSERT_OK(store_put_safety(s, &got_st));
    ASSERT_OK(store_put_high_qc(s, &qc));
    ASSERT_OK(store_sync(s));
    store_close(s);

    raw_open(&raw, t.path);
    /* b[0]: no tag at all; b[1]: another format's tag; b[2]: the tag and
     * no protobuf. */
    raw_put(&raw, "blocks", b[0].id.bytes, SEQ_HASH_LEN, "", 0);
    raw_put(&raw, "blocks", b[1].id.bytes, SEQ_HASH_LEN, "\x02zz", 3);
    raw_put_tagged(&raw, "blocks", b[2].id.bytes, SEQ_HASH_LEN, not_protobuf,
                   sizeof not_protobuf);
    /* A well-formed QC filed under another block's id. */
    make_qc(&qc, &b[0], 0);
    ASSERT_OK(wire_encode_qc(&qc, &enc, &enc_len));
    raw_put_tagged(&raw, "qc", b[1].id.bytes, SEQ_HASH_LEN, enc, enc_len);
    seq_free(enc);
    raw_put_tagged(&raw, "qc", b[2].id.bytes, SEQ_HASH_LEN, not_protobuf,
                   sizeof not_protobuf);
    /* A height entry one byte short of an id. */
    be64(key, 2);
    raw_put_tagged(&raw, "height", key, sizeof key, b[1].id.bytes,
                   SEQ_HASH_LEN - 1);
    raw_put_tagged(&raw, "safety", "state", 5, not_protobuf,
                   sizeof not_protobuf);
    raw_put(&raw, "meta", "high_qc", 7, "", 0);
    raw_put(&raw, "meta", "u:k", 3, "", 0);
    /* Random bodies: each decodes or is refused, and nothing crashes. */
    seq_rng_seed(&rng, test_seed());
    for (i = 0; i < N_RANDOM_GARBAGE; i++) {
        size_t j;

        len = (size_t)seq_rng_below(&rng, sizeof buf);
        for (j = 0; j < len; j++) {
            buf[j] = (uint8_t)seq_rng_next(&rng);
        }
        for (j = 0; j < SEQ_HASH_LEN; j++) {
            keys[i].bytes[j] = (uint8_t)seq_rng_next(&rng);
        }
        raw_put_tagged(&raw, "blocks", keys[i].bytes, SEQ_HASH_LEN, buf, len);
    }
    raw_close(&raw);

    s = open_ok(t.path);
    memset(&got, 0xa5, sizeof got);
    expect_corrupt(s, store_get_block(s, &b[0].id, &got), "blocks/");
    expect_corrupt(s, store_get_block(s, &b[1].id, &got), "blocks/");
    expect_corrupt(s, store_get_block(s, &b[2].id, &got), "blocks/");
    ASSERT_EQ(got.height, (hs_height_t)0xa5a5a5a5a5a5a5a5u); /* Untouched. */
    ASSERT_EQ(has_block(s, &b[3]), 1);
    expect_corrupt(s, store_get_qc(s, &b[1].id, &got_qc), "qc/");
    expect_corrupt(s, store_get_qc(s, &b[2].id, &got_qc), "qc/");
    expect_corrupt(s, store_get_commit(s, 2, &id), "height/2");
    ASSERT_OK(store_get_commit(s, 3, &id));
    expect_corrupt(s, store_get_safety(s, &got_st), "safety/state");
    expect_corrupt(s, store_get_high_qc(s, &got_qc), "meta/high_qc");
    expect_corrupt(s, store_get_meta(s, "k", &val, &len), "meta/u:k");
    for (i = 0; i < N_RANDOM_GARBAGE; i++) {
        rv = store_get_block(s, &keys[i], &got);
        if (rv == 0) {
            hs_block_free(&got);
        } else {
            ASSERT_ERR(rv, SEQ_ECORRUPT);
        }
    }
    /* Recovery refuses to start from it (DESIGN §8). */
    ASSERT_ERR(store_recovery_load(s, &rec), SEQ_ECORRUPT);
    /* A value that fails to decode does not break the store. */
    ASSERT_OK(store_put_block(s, &b[0]));
    ASSERT_OK(store_sync(s));
    ASSERT_EQ(has_block(s, &b[0]), 1);
    store_close(s);
    tmp_remove(&t);
    free_chain(b, 4);
}

static int scan_count(void *arg,
                      const struct seq_hash *id,
                      const void *val,
                      size_t len)
{
    (void)id;
    (void)val;
    (void)len;
    (*(size_t *)arg)++;
    return 0;
}

/* The rollup families (K1, K2): a value without the tag, or a key of the
 * wrong length where a scan or get_cert_from meets it, is SEQ_ECORRUPT
 * naming the record; the records around it still read. */
TEST(store_rocks, garbage_in_rollup_families_reads_as_corrupt)
{
    struct tmp t;
    struct store *s;
    struct raw_db raw;
    struct seq_hash good;
    struct seq_hash bad;
    struct seq_hash tx;
    hs_height_t found;
    uint8_t ns_key[16];
    uint8_t key[9];
    void *val;
    size_t len;
    size_t n;

    memset(good.bytes, 0x10, SEQ_HASH_LEN);
    memset(bad.bytes, 0x20, SEQ_HASH_LEN);
    memset(tx.bytes, 0x30, SEQ_HASH_LEN);
    tmp_make(&t);
    s = open_ok(t.path);
    ASSERT_OK(store_put_batch(s, &good, "good", 4));
    ASSERT_OK(store_put_cert(s, 5, "c5", 2));
    ASSERT_OK(store_sync(s));
    store_close(s);

    raw_open(&raw, t.path);
    raw_put(&raw, "batches", bad.bytes, SEQ_HASH_LEN, "", 0);
    raw_put(&raw, "tx", tx.bytes, SEQ_HASH_LEN, "\x02zz", 3);
    be64(ns_key, 1);
    be64(ns_key + 8, 2);
    raw_put(&raw, "ns", ns_key, sizeof ns_key, "", 0);
    be64(key, 3);
    raw_put(&raw, "cert", key, 8, "", 0);
    raw_close(&raw);

    s = open_ok(t.path);
    expect_corrupt(s, store_get_batch(s, &bad, &val, &len),
                   "batches/2020202020202020");
    expect_corrupt(s, store_get_tx(s, &tx, &val, &len), "tx/3030303030303030");
    expect_corrupt(s, store_get_ns(s, 1, 2, &val, &len), "ns/1/2");
    expect_corrupt(s, store_get_cert_from(s, 0, &found, &val, &len), "cert/3");
    n = 0;
    expect_corrupt(s, store_scan_batches(s, scan_count, &n), "batches/2020");
    ASSERT_EQ(n, (size_t)1); /* The good one, before the bad one. */
    ASSERT_OK(store_get_cert_from(s, 4, &found, &val, &len));
    ASSERT_EQ(found, 5u);
    seq_free(val);
    /* Overwritten by the store, the records read again. */
    ASSERT_OK(store_put_batch(s, &bad, "fixed", 5));
    ASSERT_OK(store_put_cert(s, 3, "c3", 2));
    ASSERT_OK(store_sync(s));
    n = 0;
    ASSERT_OK(store_scan_batches(s, scan_count, &n));
    ASSERT_EQ(n, (size_t)2);
    store_close(s);

    /* Keys of the wrong length: a 31-byte batch id, and a 9-byte cert
     * key that sorts between heights 4 and 5. */
    raw_open(&raw, t.path);
    raw_put_tagged(&raw, "batches", bad.bytes, SEQ_HASH_LEN - 1, "x", 1);
    be64(key, 4);
    key[8] = 0;
    raw_put_tagged(&raw, "cert", key, sizeof key, "x", 1);
    raw_close(&raw);
    s = open_ok(t.path);
    n = 0;
    expect_corrupt(s, store_scan_batches(s, scan_count, &n),
                   "batches/(31-byte key)");
    expect_corrupt(s, store_get_cert_from(s, 4, &found, &val, &len),
                   "cert/(9-byte key)");
    ASSERT_OK(store_get_cert_from(s, 0, &found, &val, &len));
    ASSERT_EQ(found, 3u);
    seq_free(val);
    store_close(s);
    tmp_remove(&t);
}

/* Write @body (behind the tag, or as is when @tagged is false) as meta
 * @key into the database of @t, then reopen it. */
static struct store *corrupt_meta(struct tmp *t,
                                  const char *key,
                                  const void *body,
                                  size_t len,
                                  bool tagged)
{
    struct raw_db raw;

    raw_open(&raw, t->path);
    if (tagged) {
        raw_put_tagged(&raw, "meta", key, strlen(key), body, len);
    } else {
        raw_put(&raw, "meta", key, strlen(key), body, len);
    }
    raw_close(&raw);
    return open_ok(t->path);
}

TEST(store_rocks, garbage_tc_and_committed_height_are_corrupt)
{
    static struct store sentinel;
    char errmsg[SEQ_ERRMSG_LEN];
    uint8_t body[8 + 8 + 4 + 2 * (4 + 8 + HS_SIG_LEN)];
    struct tmp t;
    struct store *s;
    struct hs_tc got;
    size_t i;

    tmp_make(&t);
    store_close(open_ok(t.path));
    memset(body, 0, sizeof body);
    body[19] = 1; /* n_sigs = 1, big-endian. */

    /* Too short for its header. */
    s = corrupt_meta(&t, "high_tc", body, 19, true);
    memset(&got, 0xa5, sizeof got);
    expect_corrupt(s, store_get_high_tc(s, &got), "meta/high_tc");
    ASSERT_EQ(got.n_sigs, 0xa5a5a5a5u);
    store_close(s);
    /* One signature announced, two present; then none present. */
    s = corrupt_meta(&t, "high_tc", body, sizeof body, true);
    expect_corrupt(s, store_get_high_tc(s, &got), "meta/high_tc");
    store_close(s);
    s = corrupt_meta(&t, "high_tc", body, 20, true);
    expect_corrupt(s, store_get_high_tc(s, &got), "meta/high_tc");
    store_close(s);
    /* More signatures than validators. */
    body[19] = HS_MAX_VALIDATORS + 1;
    s = corrupt_meta(&t, "high_tc", body, 20, true);
    expect_corrupt(s, store_get_high_tc(s, &got), "meta/high_tc");
    store_close(s);
    /* A signer out of range (the first signature's signer is bytes 20-23). */
    body[19] = 1;
    body[23] = HS_MAX_VALIDATORS;
    s = corrupt_meta(&t, "high_tc", body, 20 + 4 + 8 + HS_SIG_LEN, true);
    expect_corrupt(s, store_get_high_tc(s, &got), "meta/high_tc");
    store_close(s);
    /* The same with a valid signer reads back. */
    body[23] = HS_MAX_VALIDATORS - 1;
    s = corrupt_meta(&t, "high_tc", body, 20 + 4 + 8 + HS_SIG_LEN, true);
    ASSERT_OK(store_get_high_tc(s, &got));
    ASSERT_EQ(got.n_sigs, 1u);
    ASSERT_EQ(got.sigs[0].signer, HS_MAX_VALIDATORS - 1u);
    for (i = 1; i < HS_MAX_VALIDATORS; i++) {
        ASSERT_EQ(got.sigs[i].signer, 0u); /* Zeroed past n_sigs. */
    }
    store_close(s);

    /* The committed height is read at open: a bad one fails the open. */
    for (i = 0; i < 2; i++) {
        struct raw_db raw;

        raw_open(&raw, t.path);
        if (i == 0) {
            raw_put_tagged(&raw, "meta", "committed_height", 16, body, 7);
        } else {
            raw_put(&raw, "meta", "committed_height", 16, body, 8);
        }
        raw_close(&raw);
        s = &sentinel;
        errmsg[0] = '\0';
        ASSERT_ERR(store_rocks_open(t.path, &s, errmsg), SEQ_ECORRUPT);
        fprintf(stderr, "  %s\n", errmsg);
        ASSERT_TRUE(s == &sentinel);
        ASSERT_TRUE(strstr(errmsg, "meta/committed_height") != NULL);
    }
    tmp_remove(&t);
}

/* ---- Meta keys, TCs, big blocks. ---- */

TEST(store_rocks, user_meta_keys_cannot_reach_internal_ones)
{
    uint8_t height[8];
    struct tmp t;
    struct store *s;
    struct hs_block b[1];
    struct hs_qc qc;
    struct hs_tc tc;
    hs_height_t h;

    make_chain(b, 1, test_seed());
    be64(height, 99);
    tmp_make(&t);
    s = open_ok(t.path);
    ASSERT_OK(store_put_meta(s, "committed_height", height, sizeof height));
    ASSERT_OK(store_put_meta(s, "high_qc", "x", 1));
    ASSERT_OK(store_put_meta(s, "high_tc", "", 0));
    ASSERT_OK(store_put_meta(s, "state", "y", 1));
    ASSERT_ERR(store_committed_height(s, &h), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_high_qc(s, &qc), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_high_tc(s, &tc), SEQ_ENOTFOUND);
    ASSERT_OK(store_sync(s));
    store_close(s);

    s = open_ok(t.path);
    ASSERT_ERR(store_committed_height(s, &h), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_high_qc(s, &qc), SEQ_ENOTFOUND);
    ASSERT_ERR(store_get_high_tc(s, &tc), SEQ_ENOTFOUND);
    /* And the other way round. */
    ASSERT_OK(store_put_commit(s, 1, &b[0].id));
    make_qc(&qc, &b[0], 0);
    ASSERT_OK(store_put_high_qc(s, &qc));
    ASSERT_OK(store_sync(s));
    store_close(s);
    s = open_ok(t.path);
    ASSERT_OK(store_committed_height(s, &h));
    ASSERT_EQ(h, 1u);
    ASSERT_EQ(has_meta(s, "committed_height", height, sizeof height), 1);
    ASSERT_EQ(has_meta(s, "high_qc", "x", 1), 1);
    ASSERT_EQ(has_meta(s, "high_tc", "", 0), 1);
    ASSERT_EQ(has_meta(s, "state", "y", 1), 1);
    store_close(s);
    tmp_remove(&t);
    free_chain(b, 1);
}

TEST(store_rocks, tc_round_trips_at_its_bounds)
{
    struct tmp t;
    struct store *s;
    struct hs_tc tc;
    struct hs_tc got;
    struct hs_tc bad;
    uint32_t n_sigs[3] = { 0, 1, HS_MAX_VALIDATORS };
    size_t i;

    tmp_make(&t);
    s = open_ok(t.path);
    for (i = 0; i < 3; i++) {
        make_tc(&tc, UINT64_MAX - i, n_sigs[i]);
        tc.epoch = UINT64_MAX;
        ASSERT_OK(store_put_high_tc(s, &tc));
        ASSERT_OK(store_get_high_tc(s, &got));
        ASSERT_TRUE(tc_eq(&got, &tc));
        ASSERT_OK(store_sync(s));
        store_close(s);
        s = open_ok(t.path);
        ASSERT_OK(store_get_high_tc(s, &got));
        ASSERT_TRUE(tc_eq(&got, &tc));
    }
    /* What a decoder would refuse is refused at the put; the stored TC
     * stays. */
    make_tc(&bad, 5, HS_MAX_VALIDATORS);
    bad.n_sigs = HS_MAX_VALIDATORS + 1;
    s->errmsg[0] = '\0';
    ASSERT_ERR(store_put_high_tc(s, &bad), SEQ_EINVAL);
    ASSERT_TRUE(strstr(s->errmsg, "put_high_tc") != NULL);
    make_tc(&bad, 5, 2);
    bad.sigs[1].signer = HS_MAX_VALIDATORS;
    ASSERT_ERR(store_put_high_tc(s, &bad), SEQ_EINVAL);
    ASSERT_OK(store_get_high_tc(s, &got));
    ASSERT_TRUE(tc_eq(&got, &tc));
    store_close(s);
    tmp_remove(&t);
}

TEST(store_rocks, largest_block_round_trips)
{
    struct tmp t;
    struct store *s;
    struct hs_block b[1];
    struct seq_rng rng;
    size_t i;

    make_chain(b, 1, test_seed());
    seq_free(b[0].payload);
    b[0].payload_len = HS_MAX_PAYLOAD;
    b[0].payload = seq_malloc(HS_MAX_PAYLOAD);
    ASSERT_TRUE(b[0].payload != NULL);
    seq_rng_seed(&rng, test_seed());
    for (i = 0; i < HS_MAX_PAYLOAD; i += 8) {
        uint64_t v = seq_rng_next(&rng);

        memcpy(b[0].payload + i, &v, 8);
    }
    hs_block_seal(&b[0], &chain_id);
    tmp_make(&t);
    s = open_ok(t.path);
    ASSERT_OK(store_put_block(s, &b[0]));
    ASSERT_EQ(has_block(s, &b[0]), 1);
    ASSERT_OK(store_sync(s));
    store_close(s);
    s = open_ok(t.path);
    ASSERT_EQ(has_block(s, &b[0]), 1);
    store_close(s);
    tmp_remove(&t);
    free_chain(b, 1);
}

/* ---- Stats. ---- */

TEST(store_rocks, stats_count_syncs_and_their_cost)
{
    struct tmp t;
    struct store *s;
    struct store_rocks_stats st;
    struct hs_block b[3];
    size_t i;

    make_chain(b, 3, test_seed());
    tmp_make(&t);
    s = open_ok(t.path);
    ASSERT_OK(store_rocks_stats(s, &st));
    ASSERT_EQ(st.syncs, 0u);
    ASSERT_EQ(st.empty_syncs, 0u);
    ASSERT_EQ(st.sync_us_total, 0u);
    ASSERT_EQ(st.sync_bytes_total, 0u);
    ASSERT_TRUE(st.compression != NULL);
    fprintf(stderr, "  compression: %s\n", st.compression);

    ASSERT_FALSE(store_rocks_staged(s));
    ASSERT_OK(store_sync(s)); /* Nothing staged: no write. */
    ASSERT_OK(store_rocks_stats(s, &st));
    ASSERT_EQ(st.syncs, 0u);
    ASSERT_EQ(st.empty_syncs, 1u);
    for (i = 0; i < 3; i++) {
        ASSERT_OK(store_put_block(s, &b[i]));
        ASSERT_TRUE(store_rocks_staged(s));
        ASSERT_OK(store_put_commit(s, i + 1, &b[i].id));
        ASSERT_OK(store_sync(s));
        ASSERT_FALSE(store_rocks_staged(s));
        ASSERT_OK(store_rocks_stats(s, &st));
        ASSERT_EQ(st.syncs, i + 1);
        ASSERT_GT(st.sync_bytes_last, b[i].payload_len);
        ASSERT_LE(st.sync_us_last, st.sync_us_max);
        ASSERT_LE(st.sync_us_max, st.sync_us_total);
        ASSERT_LE(st.sync_bytes_last, st.sync_bytes_total);
    }
    ASSERT_EQ(st.empty_syncs, 1u);
    fprintf(stderr, "  3 syncs: %" PRIu64 " us in all, %" PRIu64 " bytes\n",
            st.sync_us_total, st.sync_bytes_total);

    /* A failed sync is not counted, and the stats still answer. */
    ASSERT_OK(store_put_block(s, &b[0]));
    store_rocks_fail_syncs(s, true);
    ASSERT_ERR(store_sync(s), SEQ_EIO);
    fprintf(stderr, "  %s\n", s->errmsg);
    ASSERT_OK(store_rocks_stats(s, &st));
    ASSERT_EQ(st.syncs, 3u);
    store_close(s);
    tmp_remove(&t);
    free_chain(b, 3);
}

/* ---- Real processes. ---- */

#define LOOP_BLOCKS 400

/* The child's loop: sync number k (from 1) writes blocks[k-1] with its QC
 * as the high QC, the commit of height k, safety state k and meta "k" =
 * k; after each sync, the child writes k to @ack_fd. */
static int child_loop(struct store *s, const struct hs_block *b, int ack_fd)
{
    struct hs_qc qc;
    struct hs_safety st;
    char text[24];
    uint32_t k;
    int rv = 0;

    for (k = 1; k <= LOOP_BLOCKS && rv == 0; k++) {
        make_qc(&qc, &b[k - 1], 0);
        make_safety(&st, k);
        snprintf(text, sizeof text, "%" PRIu32, k);
        rv = store_put_block(s, &b[k - 1]);
        rv = rv != 0 ? rv : store_put_qc(s, &qc);
        rv = rv != 0 ? rv : store_put_high_qc(s, &qc);
        rv = rv != 0 ? rv : store_put_commit(s, k, &b[k - 1].id);
        rv = rv != 0 ? rv : store_put_safety(s, &st);
        rv = rv != 0 ? rv : store_put_meta(s, "k", text, strlen(text));
        rv = rv != 0 ? rv : store_sync(s);
        if (rv == 0 && write(ack_fd, &k, sizeof k) != (ssize_t)sizeof k) {
            rv = SEQ_EIO;
        }
    }
    return rv;
}

/* test_store_rocks --child MODE PATH SEED [FD [FD]]:
 *   kill  write set A, stage set B, then SIGKILL itself;
 *   exit  the same, then _exit(0) without closing;
 *   loop  child_loop() with acks on FD, until killed;
 *   hold  open, write one byte to the first FD, and keep the store open
 *         until the second FD reaches end of file. */
static int child_main(int argc, char **argv)
{
    char errmsg[SEQ_ERRMSG_LEN];
    struct hs_block *b;
    struct store *s;
    const char *mode;
    uint64_t seed;
    int rv;

    if (argc < 5) {
        return 2;
    }
    mode = argv[2];
    seed = strtoull(argv[4], NULL, 0);
    rv = store_rocks_open(argv[3], &s, errmsg);
    if (rv != 0) {
        fprintf(stderr, "child: %s\n", errmsg);
        return 2;
    }
    if (strcmp(mode, "hold") == 0 && argc == 7) {
        char c = 'r';

        if (write(atoi(argv[5]), &c, 1) != 1) {
            return 2;
        }
        while (read(atoi(argv[6]), &c, 1) > 0) {
        }
        store_close(s);
        return 0;
    }
    b = seq_calloc(LOOP_BLOCKS, sizeof *b);
    if (b == NULL) {
        return 2;
    }
    make_chain(b, LOOP_BLOCKS, seed);
    if (strcmp(mode, "loop") == 0 && argc == 6) {
        rv = child_loop(s, b, atoi(argv[5]));
    } else {
        rv = write_a_then_stage_b(s, b);
    }
    if (rv != 0) {
        fprintf(stderr, "child: %s\n", s->errmsg);
        return 2;
    }
    if (strcmp(mode, "kill") == 0) {
        raise(SIGKILL);
    } else if (strcmp(mode, "exit") == 0) {
        _exit(0);
    }
    return 2;
}

/* Run this binary as a child in @mode on @path; @fd1, @fd2 are -1 or
 * descriptors the child inherits. */
static pid_t spawn(const char *mode, const char *path, int fd1, int fd2)
{
    char seed[24];
    char a1[16];
    char a2[16];
    pid_t pid;

    snprintf(seed, sizeof seed, "%" PRIu64, test_seed());
    snprintf(a1, sizeof a1, "%d", fd1);
    snprintf(a2, sizeof a2, "%d", fd2);
    pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        execl("/proc/self/exe", "test_store_rocks", "--child", mode, path, seed,
              fd1 < 0 ? NULL : a1, fd2 < 0 ? NULL : a2, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Keep @fd, one of the parent's ends of a pipe, out of children: a child
 * holding the write end of its own input would never see end of file. */
static void cloexec(int fd)
{
    ASSERT_EQ(fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
}

static int wait_child(pid_t pid)
{
    int status = 0;

    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

/* A child that dies in @mode with set B staged leaves set A, exactly. */
static void check_child_dies(const char *mode, int want_signal)
{
    struct tmp t;
    struct store *s;
    struct hs_block b[AB_BLOCKS];
    int status;

    make_chain(b, AB_BLOCKS, test_seed());
    tmp_make(&t);
    status = wait_child(spawn(mode, t.path, -1, -1));
    if (want_signal != 0) {
        ASSERT_TRUE(WIFSIGNALED(status));
        ASSERT_EQ(WTERMSIG(status), want_signal);
    } else {
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
    }
    s = open_ok(t.path);
    check_exactly_a(s, b);
    store_close(s);
    tmp_remove(&t);
    free_chain(b, AB_BLOCKS);
}

TEST(store_rocks, sigkill_with_staged_writes_keeps_the_last_sync)
{
    check_child_dies("kill", SIGKILL);
}

TEST(store_rocks, exit_without_close_keeps_the_last_sync)
{
    check_child_dies("exit", 0);
}

/* The database holds exactly the state after loop sync @k. */
static void check_loop_state(struct store *s,
                             const struct hs_block *b,
                             uint32_t k)
{
    struct hs_qc qc;
    struct hs_qc got;
    struct hs_safety st;
    struct hs_safety got_st;
    struct seq_hash id;
    char text[24];
    uint32_t i;

    for (i = 1; i <= LOOP_BLOCKS; i++) {
        ASSERT_EQ(has_block(s, &b[i - 1]), i <= k ? 1 : 0);
        ASSERT_ERR(store_get_commit(s, i, &id),
                   i <= k ? SEQ_OK : SEQ_ENOTFOUND);
        ASSERT_ERR(store_get_qc(s, &b[i - 1].id, &got),
                   i <= k ? SEQ_OK : SEQ_ENOTFOUND);
    }
    make_qc(&qc, &b[k - 1], 0);
    ASSERT_OK(store_get_high_qc(s, &got));
    ASSERT_TRUE(qc_eq(&got, &qc));
    make_safety(&st, k);
    ASSERT_OK(store_get_safety(s, &got_st));
    ASSERT_TRUE(safety_eq(&got_st, &st));
    snprintf(text, sizeof text, "%" PRIu32, k);
    ASSERT_EQ(has_meta(s, "k", text, strlen(text)), 1);
}

TEST(store_rocks, sigkill_at_a_random_moment_keeps_a_whole_sync)
{
    struct hs_block *b;
    struct seq_rng rng;
    int round;

    b = seq_calloc(LOOP_BLOCKS, sizeof *b);
    ASSERT_TRUE(b != NULL);
    make_chain(b, LOOP_BLOCKS, test_seed());
    seq_rng_seed(&rng, test_seed());
    for (round = 0; round < 3; round++) {
        struct tmp t;
        struct store *s;
        int fds[2];
        uint32_t target = (uint32_t)seq_rng_range(&rng, 3, 60);
        uint32_t acked = 0;
        hs_height_t height;
        pid_t pid;
        int status;

        tmp_make(&t);
        ASSERT_EQ(pipe(fds), 0);
        cloexec(fds[0]);
        pid = spawn("loop", t.path, fds[1], -1);
        close(fds[1]);
        while (acked < target) {
            ASSERT_EQ(read(fds[0], &acked, sizeof acked),
                      (ssize_t)sizeof acked);
        }
        /* The child is somewhere in sync acked + 1 or later: staging,
         * writing, or fsyncing. */
        ASSERT_EQ(kill(pid, SIGKILL), 0);
        status = wait_child(pid);
        close(fds[0]);
        ASSERT_TRUE(WIFSIGNALED(status));

        s = open_ok(t.path);
        ASSERT_OK(store_committed_height(s, &height));
        fprintf(stderr, "  acked %" PRIu32 ", found sync %" PRIu64 "\n", acked,
                height);
        ASSERT_GE(height, acked);
        ASSERT_LE(height, LOOP_BLOCKS);
        check_loop_state(s, b, (uint32_t)height);
        store_close(s);
        tmp_remove(&t);
    }
    free_chain(b, LOOP_BLOCKS);
    seq_free(b);
}

/* Tx records staged unindexed (K7) in turns big enough that the stage's
 * buffer is given back after the sync, put in descending key order and
 * once twice in a turn (the later put wins), with indexed records in the
 * same syncs: all of them come back, before and after a reopen. */
TEST(store_rocks, big_unindexed_tx_stages_round_trip)
{
    enum { PER_TURN = 100000, TURNS = 2 };
    struct tmp t;
    struct store *s;
    struct seq_hash h;
    struct seq_hash batch_id;
    uint8_t rec[21];
    uint32_t turn, i;
    int pass;

    tmp_make(&t);
    s = open_ok(t.path);
    memset(rec, 0, sizeof rec);
    for (turn = 0; turn < TURNS; turn++) {
        for (i = PER_TURN; i-- > 0;) {
            memset(h.bytes, 0, SEQ_HASH_LEN);
            h.bytes[0] = (uint8_t)turn;
            h.bytes[1] = (uint8_t)(i >> 16);
            h.bytes[2] = (uint8_t)(i >> 8);
            h.bytes[3] = (uint8_t)i;
            rec[0] = (uint8_t)turn;
            memcpy(rec + 1, &i, sizeof i);
            ASSERT_OK(store_put_tx(s, &h, rec, sizeof rec));
        }
        rec[0] = 0xee; /* h is now key i == 0: put it again. */
        ASSERT_OK(store_put_tx(s, &h, rec, sizeof rec));
        memset(batch_id.bytes, 0xb0 + (int)turn, SEQ_HASH_LEN);
        ASSERT_OK(store_put_batch(s, &batch_id, "batch", 5));
        ASSERT_OK(store_sync(s));
    }
    for (pass = 0; pass < 2; pass++) {
        for (turn = 0; turn < TURNS; turn++) {
            for (i = 0; i < PER_TURN; i += 997) {
                void *val = NULL;
                size_t len = 0;

                memset(h.bytes, 0, SEQ_HASH_LEN);
                h.bytes[0] = (uint8_t)turn;
                h.bytes[1] = (uint8_t)(i >> 16);
                h.bytes[2] = (uint8_t)(i >> 8);
                h.bytes[3] = (uint8_t)i;
                ASSERT_OK(store_get_tx(s, &h, &val, &len));
                ASSERT_EQ(len, sizeof rec);
                ASSERT_EQ(((uint8_t *)val)[0], i == 0 ? 0xee : (uint8_t)turn);
                ASSERT_MEMEQ((uint8_t *)val + 1, &i, sizeof i);
                seq_free(val);
            }
            memset(batch_id.bytes, 0xb0 + (int)turn, SEQ_HASH_LEN);
            {
                void *val = NULL;
                size_t len = 0;

                ASSERT_OK(store_get_batch(s, &batch_id, &val, &len));
                ASSERT_EQ(len, (size_t)5);
                ASSERT_MEMEQ(val, "batch", 5);
                seq_free(val);
            }
        }
        store_close(s);
        s = open_ok(t.path);
    }
    store_close(s);
    tmp_remove(&t);
}

/* ---- The tx index's runs and folds (store_rocks.c (K9)). ---- */

/* Key @i of the fold tests, and its value at @version. */
static void fold_key(struct seq_hash *h, uint32_t i)
{
    memset(h->bytes, 0, SEQ_HASH_LEN);
    /* Spread over the key space, as transaction hashes are. */
    h->bytes[0] = (uint8_t)(i * 37);
    h->bytes[1] = (uint8_t)(i >> 8);
    h->bytes[2] = (uint8_t)i;
}

static void fold_val(uint8_t val[21], uint32_t i, uint8_t version)
{
    memset(val, 0, 21);
    val[0] = version;
    memcpy(val + 1, &i, sizeof i);
}

static void put_keys(struct store *s, uint32_t from, uint32_t to, uint8_t ver)
{
    struct seq_hash h;
    uint8_t val[21];
    uint32_t i;

    for (i = from; i < to; i++) {
        fold_key(&h, i);
        fold_val(val, i, ver);
        ASSERT_OK(store_put_tx(s, &h, val, sizeof val));
    }
}

/* Keys [@from, @to) read back at @version. */
static void check_keys(struct store *s, uint32_t from, uint32_t to, uint8_t ver)
{
    struct seq_hash h;
    uint8_t want[21];
    uint32_t i;

    for (i = from; i < to; i++) {
        void *val = NULL;
        size_t len = 0;

        fold_key(&h, i);
        fold_val(want, i, ver);
        ASSERT_OK(store_get_tx(s, &h, &val, &len));
        ASSERT_EQ(len, sizeof want);
        ASSERT_MEMEQ(val, want, sizeof want);
        seq_free(val);
    }
}

/* Entries in family @cf of the closed database at @path. */
static size_t raw_count(const char *path, const char *cf)
{
    struct raw_db raw;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it;
    size_t n = 0;
    size_t i;

    raw_open(&raw, path);
    for (i = 0; i < raw.n; i++) {
        if (strcmp(raw.names[i], cf) == 0) {
            break;
        }
    }
    ASSERT_LT(i, raw.n);
    it = rocksdb_create_iterator_cf(raw.db, ro, raw.cf[i]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        n++;
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    raw_close(&raw);
    return n;
}

static struct store_rocks_stats stats_of(struct store *s)
{
    struct store_rocks_stats st;

    ASSERT_OK(store_rocks_stats(s, &st));
    return st;
}

/* Records folded into the tx family read back, the later put of a key
 * winning across runs and folds, before and after a reopen; the runs a
 * fold ingested leave txlog with the next sync. */
TEST(store_rocks, tx_records_fold_into_the_family_and_read_back)
{
    enum { KEYS = 1000, PER_SYNC = 50, FOLD = 64 };
    struct tmp t;
    struct store *s;
    struct store_rocks_stats st;
    uint32_t i;

    tmp_make(&t);
    s = open_ok(t.path);
    store_rocks_set_fold_records(s, FOLD);
    for (i = 0; i < KEYS; i += PER_SYNC) {
        put_keys(s, i, i + PER_SYNC, 0);
        if (i >= KEYS / 2) { /* Again, newer: the first half's twins. */
            put_keys(s, i - KEYS / 2, i - KEYS / 2 + PER_SYNC, 1);
        }
        ASSERT_OK(store_sync(s));
        check_keys(s, i, i + PER_SYNC, 0);
        /* Each fold done before the next sync: a fold every two syncs
         * of 50 records, then at every sync of 100. */
        store_rocks_wait_fold(s);
    }
    ASSERT_OK(store_sync(s)); /* Deletes the last fold's runs. */
    st = stats_of(s);
    ASSERT_EQ(st.tx_folds, 5u + 10u);
    ASSERT_EQ(st.tx_fold_records, (uint64_t)KEYS + KEYS / 2);
    ASSERT_EQ(st.tx_unfolded, 0u);
    check_keys(s, 0, KEYS / 2, 1);
    check_keys(s, KEYS / 2, KEYS, 0);
    store_close(s);
    ASSERT_EQ(raw_count(t.path, "tx"), (size_t)KEYS);
    ASSERT_EQ(raw_count(t.path, "txlog"), 0u);
    s = open_ok(t.path);
    check_keys(s, 0, KEYS / 2, 1);
    check_keys(s, KEYS / 2, KEYS, 0);
    store_close(s);
    tmp_remove(&t);
}

/* The fold sorts by the keys' first 8 bytes, then by the whole key among
 * equal ones (rocks_txidx.c (X6)): keys that share those 8 bytes, put in
 * descending order and each put again later, fold into strictly ascending
 * keys (the table writer refuses anything else, failing the sync), the
 * later put winning. */
static void twin_key(struct seq_hash *h, uint32_t i)
{
    memset(h->bytes, 0xab, 8);
    memset(h->bytes + 8, 0, SEQ_HASH_LEN - 8);
    h->bytes[29] = (uint8_t)(i % 3); /* Some differ early, some late. */
    h->bytes[30] = (uint8_t)(i >> 8);
    h->bytes[31] = (uint8_t)i;
}

static void twin_check(struct store *s, uint32_t n, uint8_t ver_of_even)
{
    struct seq_hash h;
    uint8_t want[21];
    uint32_t i;

    for (i = 0; i < n; i++) {
        void *val = NULL;
        size_t len = 0;

        twin_key(&h, i);
        fold_val(want, i, i % 2 == 0 ? ver_of_even : 0);
        ASSERT_OK(store_get_tx(s, &h, &val, &len));
        ASSERT_EQ(len, sizeof want);
        ASSERT_MEMEQ(val, want, sizeof want);
        seq_free(val);
    }
}

TEST(store_rocks, fold_sorts_keys_that_share_their_first_eight_bytes)
{
    enum { N = 300 };
    struct tmp t;
    struct store *s;
    struct seq_hash h;
    uint8_t val[21];
    uint32_t i;

    tmp_make(&t);
    s = open_ok(t.path);
    store_rocks_set_fold_records(s, 2 * N + 1); /* Distinct keys. */
    for (i = N; i-- > 0;) {
        twin_key(&h, i);
        fold_val(val, i, 0);
        ASSERT_OK(store_put_tx(s, &h, val, sizeof val));
    }
    put_keys(s, 0, N, 0); /* Distinct prefixes among them. */
    ASSERT_OK(store_sync(s));
    for (i = 0; i < N; i += 2) { /* The even twins again, newer. */
        twin_key(&h, i);
        fold_val(val, i, 5);
        ASSERT_OK(store_put_tx(s, &h, val, sizeof val));
    }
    put_keys(s, N, N + 1, 0);
    ASSERT_OK(store_sync(s)); /* 2N + 1 keys in 2.5N + 1 records: a fold. */
    store_rocks_wait_fold(s);
    ASSERT_OK(store_sync(s));
    ASSERT_EQ(stats_of(s).tx_folds, 1u);
    ASSERT_EQ(stats_of(s).tx_fold_records, (uint64_t)2 * N + 1);
    ASSERT_EQ(stats_of(s).tx_unfolded, 0u);
    twin_check(s, N, 5);
    check_keys(s, 0, N + 1, 0);
    store_close(s);
    ASSERT_EQ(raw_count(t.path, "tx"), (size_t)2 * N + 1);
    s = open_ok(t.path);
    twin_check(s, N, 5);
    check_keys(s, 0, N + 1, 0);
    store_close(s);
    tmp_remove(&t);
}

/* A close (or a crash) after a fold ingested its file, but before a sync
 * deleted its runs: open loads the runs again, and they fold again. */
TEST(store_rocks, runs_of_a_fold_not_yet_deleted_load_again)
{
    struct tmp t;
    struct store *s;
    uint8_t val[21];
    struct seq_hash h;

    tmp_make(&t);
    s = open_ok(t.path);
    store_rocks_set_fold_records(s, 10);
    put_keys(s, 0, 30, 0);
    ASSERT_OK(store_sync(s)); /* 30 >= 10: a fold starts. */
    store_rocks_wait_fold(s);
    ASSERT_EQ(stats_of(s).tx_unfolded, 30u); /* Until the next sync. */
    store_close(s);
    ASSERT_EQ(raw_count(t.path, "tx"), 30u);
    ASSERT_EQ(raw_count(t.path, "txlog"), 1u);

    s = open_ok(t.path);
    ASSERT_EQ(stats_of(s).tx_unfolded, 30u);
    check_keys(s, 0, 30, 0);
    store_rocks_set_fold_records(s, 10);
    fold_key(&h, 0);
    fold_val(val, 0, 7);
    ASSERT_OK(store_put_tx(s, &h, val, sizeof val));
    ASSERT_OK(store_sync(s));
    store_rocks_wait_fold(s);
    ASSERT_OK(store_sync(s));
    ASSERT_EQ(stats_of(s).tx_unfolded, 0u);
    ASSERT_EQ(stats_of(s).tx_folds, 1u);
    check_keys(s, 1, 30, 0);
    check_keys(s, 0, 1, 7);
    store_close(s);
    ASSERT_EQ(raw_count(t.path, "txlog"), 0u);
    s = open_ok(t.path);
    check_keys(s, 1, 30, 0);
    check_keys(s, 0, 1, 7);
    store_close(s);
    tmp_remove(&t);
}

/* A fold that cannot write its file fails the next sync and breaks the
 * store (K6); nothing is lost: the runs are still in txlog. */
TEST(store_rocks, a_failed_fold_fails_the_sync_and_keeps_the_runs)
{
    char errmsg[SEQ_ERRMSG_LEN];
    char fold_path[PATH_LEN + 32];
    struct tmp t;
    struct store *s;
    int rv;

    tmp_make(&t);
    s = open_ok(t.path);
    snprintf(fold_path, sizeof fold_path, "%s/txfold.tmp", t.path);
    ASSERT_EQ(mkdir(fold_path, 0700), 0); /* No file can be made there. */
    store_rocks_set_fold_records(s, 10);
    put_keys(s, 0, 20, 0);
    ASSERT_OK(store_sync(s));
    store_rocks_wait_fold(s);
    put_keys(s, 20, 25, 0);
    rv = store_sync(s);
    ASSERT_ERR(rv, SEQ_EIO);
    ASSERT_TRUE(strstr(s->errmsg, "fold") != NULL);
    ASSERT_ERR(store_put_tx(s, &chain_id, "x", 1), SEQ_EIO);
    store_close(s);
    /* The obstacle stays: open says so and opens nothing. */
    s = NULL;
    ASSERT_ERR(store_rocks_open(t.path, &s, errmsg), SEQ_EIO);
    ASSERT_TRUE(strstr(errmsg, "txfold.tmp") != NULL);
    ASSERT_EQ(rmdir(fold_path), 0);
    s = open_ok(t.path);
    check_keys(s, 0, 20, 0);
    store_close(s);
    tmp_remove(&t);
}

/* What a crash can leave of a fold, its unfinished file, is removed at
 * open; a run this code did not write fails the open. */
TEST(store_rocks, leftover_fold_file_goes_and_bad_runs_fail_the_open)
{
    static const uint8_t short_rec[] = { VALUE_TAG, 1, 2, 3 };
    static const uint8_t long_len[1 + 36] = { VALUE_TAG, [33] = 0xff };
    char errmsg[SEQ_ERRMSG_LEN];
    char fold_path[PATH_LEN + 32];
    struct tmp t;
    struct store *s;
    struct raw_db raw;
    uint8_t key[8] = { 0 };
    FILE *f;
    int i;

    tmp_make(&t);
    s = open_ok(t.path);
    put_keys(s, 0, 5, 0);
    ASSERT_OK(store_sync(s));
    store_close(s);
    snprintf(fold_path, sizeof fold_path, "%s/txfold.tmp", t.path);
    f = fopen(fold_path, "w");
    ASSERT_TRUE(f != NULL);
    fputs("half a table file", f);
    fclose(f);
    s = open_ok(t.path);
    ASSERT_TRUE(access(fold_path, F_OK) != 0);
    check_keys(s, 0, 5, 0);
    store_close(s);

    for (i = 0; i < 4; i++) {
        raw_open(&raw, t.path);
        key[7] = (uint8_t)(100 + i);
        if (i == 0) {
            raw_put(&raw, "txlog", key, sizeof key, short_rec,
                    sizeof short_rec);
        } else if (i == 1) {
            raw_put(&raw, "txlog", key, sizeof key, long_len, sizeof long_len);
        } else if (i == 2) {
            raw_put(&raw, "txlog", key, sizeof key, "\x02", 1); /* No tag. */
        } else {
            raw_put(&raw, "txlog", key, 7, short_rec, 1); /* Short key. */
        }
        raw_close(&raw);
        s = NULL;
        errmsg[0] = '\0';
        ASSERT_ERR(store_rocks_open(t.path, &s, errmsg), SEQ_ECORRUPT);
        ASSERT_TRUE(s == NULL);
        ASSERT_TRUE(strstr(errmsg, "txlog") != NULL);
        raw_open(&raw, t.path);
        {
            char *err = NULL;
            size_t c;

            for (c = 0; c < raw.n; c++) {
                if (strcmp(raw.names[c], "txlog") == 0) {
                    rocksdb_delete_cf(raw.db, raw.wopts, raw.cf[c],
                                      (const char *)key, i == 3 ? 7 : 8, &err);
                }
            }
            ASSERT_TRUE(err == NULL);
        }
        raw_close(&raw);
    }
    s = open_ok(t.path);
    check_keys(s, 0, 5, 0);
    store_close(s);
    tmp_remove(&t);
}

TEST(store_rocks, another_process_holding_the_directory_is_refused)
{
    static struct store sentinel;
    char errmsg[SEQ_ERRMSG_LEN];
    struct tmp t;
    struct store *s = &sentinel;
    int ready[2];
    int release[2];
    pid_t pid;
    char c;
    int status;

    tmp_make(&t);
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(release), 0);
    cloexec(ready[0]);
    cloexec(release[1]);
    pid = spawn("hold", t.path, ready[1], release[0]);
    close(ready[1]);
    close(release[0]);
    ASSERT_EQ(read(ready[0], &c, 1), 1);

    errmsg[0] = '\0';
    ASSERT_ERR(store_rocks_open(t.path, &s, errmsg), SEQ_EIO);
    fprintf(stderr, "  %s\n", errmsg);
    ASSERT_TRUE(s == &sentinel);
    ASSERT_TRUE(strstr(errmsg, "lock") != NULL);

    close(release[1]); /* The child closes its store and exits. */
    status = wait_child(pid);
    close(ready[0]);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    store_close(open_ok(t.path));
    tmp_remove(&t);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        return child_main(argc, argv);
    }
    return harness_run(argc, argv);
}
