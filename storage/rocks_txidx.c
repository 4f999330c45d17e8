/* The tx family without a memtable (store_rocks.c (K9), rocks_txidx.h).
 *
 * (X1) A run is one value of the txlog family. Its key is the run's
 *      sequence number (8 bytes big-endian, so iteration is sync order);
 *      its value is VALUE_TAG, then records of key (32 bytes), body length
 *      (4 bytes big-endian) and body, in put order. A later record of a key
 *      overrides an earlier one, within a run and across runs, as a later
 *      put does in any store.
 * (X2) Generations. `live` holds the runs synced since the last freeze and
 *      an index (seq_hset: key -> its latest record) of them; `fold` holds
 *      the generation frozen before, while a thread writes its latest
 *      records, sorted, to a table file and ingests that into the tx
 *      family. Lookups try live, then fold, then the family: newest first.
 *      Nobody changes a frozen generation, so the thread and the lookups
 *      share it without a lock; the thread's result crosses over in
 *      fold_rv and fold_err, published by the release store of fold_done.
 * (X3) A fold's runs are deleted by the first sync after the ingestion,
 *      never before. A crash in between leaves them to be loaded again and
 *      folded again: the same records, ingested again, which changes no
 *      answer. Runs are deleted a whole generation at a time, oldest
 *      first, so whatever open loads is newer than everything ingested,
 *      and the family's answer is only ever asked for keys no loaded run
 *      holds.
 * (X4) rocks_txidx_put() reserves what rocks_txidx_synced() needs (a slot
 *      in the run list, room in the index), so a sync that reached the
 *      disk always becomes visible: synced() cannot fail. A freeze that
 *      cannot start a thread folds in the caller's thread instead.
 * (X5) The index's seed is secret (seq_random_bytes()): transaction hashes
 *      come from clients, who could grind keys into one probe run of a
 *      table with a known seed (seq_hset.h).
 * (X6) A fold sorts every record of its generation, in put order, by a
 *      stable sort on the key (a radix sort of its first 8 bytes, ties
 *      broken by the whole key), and keeps the last record of each key:
 *      the latest. No comparison calls and no index probes: a qsort of
 *      the latest records, found by probing the index, was about half of
 *      a fold's CPU. */

#define _GNU_SOURCE /* pthread_setname_np */

#include "rocks_txidx.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seq_alloc.h"
#include "seq_be.h"
#include "seq_hset.h"
#include "seq_random.h"
#include "store_clock.h"

#define RUN_TAG     0x01 /* VALUE_TAG of store_rocks.c (K2). */
#define RUN_KEY_LEN 8
#define REC_HEAD    (SEQ_HASH_LEN + 4)
/* Unfolded records that start a fold: a table file of about 12 MB. Fewer,
 * bigger files cost less compaction: each level-0 compaction of the tx
 * family rewrites level 1, whose random keys every file overlaps. */
#define FOLD_RECORDS  ((size_t)3 << 16)
#define FOLD_FILENAME "txfold.tmp" /* Not a RocksDB name (X2). */

/* A record of a run (X1): its body's length, and its size in all. */
static uint32_t rec_body_len(const uint8_t *rec)
{
    return seq_be32_get(rec + SEQ_HASH_LEN);
}

static size_t rec_size(const uint8_t *rec)
{
    return REC_HEAD + (size_t)rec_body_len(rec);
}

struct txrun {
    uint64_t seq;
    uint8_t *buf; /* Owned: the value written to txlog (X1). */
    size_t len;
};

struct txgen {
    struct txrun *runs;
    size_t n_runs, cap_runs;
    struct seq_hset index; /* Key -> latest record; zeroed until used. */
};

struct rocks_txidx {
    rocksdb_t *db;
    rocksdb_column_family_handle_t *tx, *log;
    rocksdb_options_t *tx_opts;
    char *fold_path;
    uint64_t seed; /* (X5) */

    uint8_t *stage; /* A run being staged (X1); NULL or >= 1 byte. */
    size_t stage_len, stage_cap, staged;
    uint64_t next_seq;

    struct txgen live, fold; /* (X2); fold has runs while frozen. */
    struct seq_hset spare;   /* A folded generation's index, cleared. */
    bool threaded;           /* thread must be joined. */
    bool clearing;           /* The last append deleted fold's runs. */
    pthread_t thread;
    atomic_int fold_done;
    int fold_rv;
    char fold_err[SEQ_ERRMSG_LEN];
    uint64_t fold_us;
    size_t fold_records;
    struct rocks_txidx_stats stats;
};

/* @p grown to hold at least @need elements of @size, doubling. */
static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t cap2 = *cap == 0 ? 16 : *cap;
    void *q;

    if (need <= *cap) {
        return p;
    }
    while (cap2 < need) {
        if (cap2 > SIZE_MAX / 2 / size) {
            return NULL;
        }
        cap2 *= 2;
    }
    q = seq_realloc(p, cap2 * size);
    if (q != NULL) {
        *cap = cap2;
    }
    return q;
}

/* Frees @g; its index becomes *spare (cleared) when there is none yet,
 * for the next generation: a new index would be tens of megabytes of
 * fresh pages for the kernel to fault in and zero. */
static void gen_free(struct txgen *g, struct seq_hset *spare)
{
    size_t i;

    for (i = 0; i < g->n_runs; i++) {
        seq_free(g->runs[i].buf);
    }
    seq_free(g->runs);
    if (spare != NULL && spare->slots == NULL) {
        seq_hset_clear(&g->index);
        *spare = g->index;
    } else {
        seq_hset_close(&g->index);
    }
    memset(g, 0, sizeof *g);
}

/* Room in @g for one more run and @keys more keys (X4). A new index has
 * room for a fold and a third more, so that the sync that reaches the
 * threshold does not double the table (seq_hset sizes are powers of two:
 * 2^18 keys for the default). */
static int gen_reserve(struct txgen *g,
                       struct seq_hset *spare,
                       size_t keys,
                       size_t fold_records,
                       uint64_t seed)
{
    struct txrun *runs;

    if (g->index.slots == NULL && spare->slots != NULL) {
        g->index = *spare;
        memset(spare, 0, sizeof *spare);
    }
    if (g->index.slots == NULL &&
        seq_hset_init_big(&g->index, fold_records + fold_records / 3, seed) !=
            0) {
        return SEQ_ENOMEM;
    }
    if (g->index.n > SIZE_MAX - keys ||
        seq_hset_reserve(&g->index, g->index.n + keys) != 0) {
        return SEQ_ENOMEM;
    }
    runs = grow(g->runs, &g->cap_runs, g->n_runs + 1, sizeof *runs);
    if (runs == NULL) {
        return SEQ_ENOMEM;
    }
    g->runs = runs;
    return SEQ_OK;
}

/* Adds the run @buf (owned from now on) to @g and indexes its records,
 * within the room gen_reserve() made. */
static void gen_add(struct txgen *g, uint64_t seq, uint8_t *buf, size_t len)
{
    size_t pos = 1;
    size_t ahead = 1; /* The record SEQ_HSET_AHEAD ones after pos. */
    size_t i;

    assert(g->n_runs < g->cap_runs);
    g->runs[g->n_runs].seq = seq;
    g->runs[g->n_runs].buf = buf;
    g->runs[g->n_runs].len = len;
    g->n_runs++;
    for (i = 0; i < SEQ_HSET_AHEAD && ahead < len; i++) {
        ahead += rec_size(buf + ahead);
    }
    while (pos < len) {
        const struct seq_hash *key = (const struct seq_hash *)(buf + pos);
        int rv;

        if (ahead < len) {
            seq_hset_prefetch(&g->index, (const struct seq_hash *)(buf + ahead),
                              true);
            ahead += rec_size(buf + ahead);
        }
        rv = seq_hset_assign(&g->index, key, buf + pos);

        assert(rv == 0);
        (void)rv;
        pos += rec_size(buf + pos);
    }
}

/* Whether @buf (@len bytes) is a run this code wrote (X1); counts its
 * records into *n. */
static bool run_valid(const uint8_t *buf, size_t len, size_t *n)
{
    size_t pos = 1;

    *n = 0;
    if (len == 0 || buf[0] != RUN_TAG) {
        return false;
    }
    while (pos < len) {
        if (len - pos < REC_HEAD || len - pos < rec_size(buf + pos)) {
            return false;
        }
        pos += rec_size(buf + pos);
        (*n)++;
    }
    return true;
}

/* A record to sort by key: the key's first 8 bytes as a number, then the
 * record (X6). */
struct sort_item {
    uint64_t prefix;
    const uint8_t *rec;
};

/* Sorts @a[0..n) by prefix, stably, through @tmp (as long): a least
 * significant digit radix sort, 8 bits a pass. */
static void radix_sort(struct sort_item *a, struct sort_item *tmp, size_t n)
{
    unsigned shift;
    size_t i;

    for (shift = 0; shift < 64; shift += 8) {
        size_t count[256] = { 0 };
        size_t pos = 0;

        for (i = 0; i < n; i++) {
            count[(a[i].prefix >> shift) & 0xff]++;
        }
        if (count[(a[0].prefix >> shift) & 0xff] == n) {
            continue; /* One digit throughout: the pass would change nothing. */
        }
        for (i = 0; i < 256; i++) {
            size_t c = count[i];
            count[i] = pos;
            pos += c;
        }
        for (i = 0; i < n; i++) {
            tmp[count[(a[i].prefix >> shift) & 0xff]++] = a[i];
        }
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* Sorts @a[0..n), whose prefixes are equal, by whole key, stably. Such
 * runs are rare and short for hashes: an insertion sort. */
static void key_sort(struct sort_item *a, size_t n)
{
    size_t i, j;

    for (i = 1; i < n; i++) {
        struct sort_item x = a[i];

        for (j = i; j > 0 && memcmp(a[j - 1].rec, x.rec, SEQ_HASH_LEN) > 0;
             j--) {
            a[j] = a[j - 1];
        }
        a[j] = x;
    }
}

/* The records of @g that no later one overrides, sorted by key (X6): an
 * array of g->index.n record addresses to free, or NULL (out of memory). */
static const uint8_t **gen_sorted(const struct txgen *g)
{
    struct sort_item *items, *tmp;
    const uint8_t **recs;
    size_t m = 0, n = 0, i, j;

    for (i = 0; i < g->n_runs; i++) {
        const uint8_t *buf = g->runs[i].buf;
        size_t pos = 1;

        for (; pos < g->runs[i].len; pos += rec_size(buf + pos)) {
            m++;
        }
    }
    items = seq_malloc((m + 1) * sizeof *items);
    tmp = seq_malloc((m + 1) * sizeof *tmp);
    recs = seq_malloc((m + 1) * sizeof *recs); /* m >= index.n */
    if (items == NULL || tmp == NULL || recs == NULL) {
        seq_free(items);
        seq_free(tmp);
        seq_free(recs);
        return NULL;
    }
    for (i = 0; i < g->n_runs; i++) {
        const uint8_t *buf = g->runs[i].buf;
        size_t pos = 1;

        for (; pos < g->runs[i].len; pos += rec_size(buf + pos)) {
            items[n].prefix = seq_be64_get(buf + pos);
            items[n++].rec = buf + pos;
        }
    }
    if (m > 0) {
        radix_sort(items, tmp, m);
    }
    seq_free(tmp);
    n = 0;
    for (i = 0; i < m; i = j) {
        for (j = i + 1; j < m && items[j].prefix == items[i].prefix; j++) {
        }
        key_sort(items + i, j - i);
        for (; i < j; i++) {
            if (i + 1 == j ||
                memcmp(items[i].rec, items[i + 1].rec, SEQ_HASH_LEN) != 0) {
                recs[n++] = items[i].rec; /* The last of its key. */
            }
        }
    }
    seq_free(items);
    assert(n == g->index.n);
    return recs;
}

/* Writes @n sorted records to the fold file, tagged values (K2). */
static void write_table(struct rocks_txidx *t,
                        const uint8_t **recs,
                        size_t n,
                        char **err)
{
    rocksdb_envoptions_t *env = rocksdb_envoptions_create();
    rocksdb_sstfilewriter_t *w = rocksdb_sstfilewriter_create(env, t->tx_opts);
    char *val = NULL;
    size_t cap = 0, i;

    rocksdb_sstfilewriter_open(w, t->fold_path, err);
    for (i = 0; *err == NULL && i < n; i++) {
        uint32_t len = rec_body_len(recs[i]);
        char *v = grow(val, &cap, (size_t)len + 1, 1);

        if (v == NULL) {
            *err = strdup("out of memory");
            break;
        }
        val = v;
        val[0] = RUN_TAG;
        memcpy(val + 1, recs[i] + REC_HEAD, len);
        rocksdb_sstfilewriter_put(w, (const char *)recs[i], SEQ_HASH_LEN, val,
                                  (size_t)len + 1, err);
    }
    if (*err == NULL) {
        rocksdb_sstfilewriter_finish(w, err);
    }
    seq_free(val);
    rocksdb_sstfilewriter_destroy(w);
    rocksdb_envoptions_destroy(env);
}

/* Folds t->fold into the tx family (X2). Sets fold_rv and fold_err. */
static void fold_run(struct rocks_txidx *t)
{
    uint64_t start = store_now_us();
    const uint8_t **recs = gen_sorted(&t->fold);
    rocksdb_ingestexternalfileoptions_t *io;
    const char *files[1] = { t->fold_path };
    char *err = NULL;

    t->fold_rv = SEQ_OK;
    if (recs == NULL) {
        t->fold_rv = SEQ_EIO;
        snprintf(t->fold_err, sizeof t->fold_err,
                 "fold: out of memory sorting %zu records", t->fold.index.n);
        return;
    }
    write_table(t, recs, t->fold.index.n, &err);
    seq_free(recs);
    if (err == NULL) {
        io = rocksdb_ingestexternalfileoptions_create();
        rocksdb_ingestexternalfileoptions_set_move_files(io, 1);
        rocksdb_ingest_external_file_cf(t->db, t->tx, files, 1, io, &err);
        rocksdb_ingestexternalfileoptions_destroy(io);
    }
    if (err != NULL) {
        t->fold_rv = SEQ_EIO;
        snprintf(t->fold_err, sizeof t->fold_err, "fold %s: %s", t->fold_path,
                 err);
        free(err); /* rocksdb_free() is free(); strdup() above too. */
    }
    /* Ingested by a hard link, or failed: this name goes either way. */
    (void)unlink(t->fold_path);
    t->fold_us = store_now_us() - start;
}

static void *fold_main(void *arg)
{
    struct rocks_txidx *t = arg;

    (void)pthread_setname_np(pthread_self(), "txfold"); /* For top -H. */
    fold_run(t);
    atomic_store_explicit(&t->fold_done, 1, memory_order_release);
    return NULL;
}

/* The fold's thread, joined once. */
static void fold_join(struct rocks_txidx *t)
{
    if (t->threaded) {
        pthread_join(t->thread, NULL);
        t->threaded = false;
    }
}

static bool fold_finished(struct rocks_txidx *t)
{
    return t->fold.n_runs > 0 &&
           atomic_load_explicit(&t->fold_done, memory_order_acquire) != 0;
}

/* Freezes live and starts folding it (X2). */
static void fold_start(struct rocks_txidx *t)
{
    t->fold = t->live;
    memset(&t->live, 0, sizeof t->live);
    atomic_store_explicit(&t->fold_done, 0, memory_order_relaxed);
    if (pthread_create(&t->thread, NULL, fold_main, t) == 0) {
        t->threaded = true;
    } else {
        fold_main(t); /* (X4) */
    }
}

/* Loads the runs of txlog into live (X3). */
static int load_runs(struct rocks_txidx *t, char errmsg[SEQ_ERRMSG_LEN])
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(t->db, ro, t->log);
    char *err = NULL;
    int rv = SEQ_OK;

    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t klen = 0, len = 0, n = 0;
        const char *key = rocksdb_iter_key(it, &klen);
        const uint8_t *val = (const uint8_t *)rocksdb_iter_value(it, &len);
        uint8_t *buf;

        if (klen != RUN_KEY_LEN || !run_valid(val, len, &n)) {
            snprintf(errmsg, SEQ_ERRMSG_LEN,
                     "txlog: a stored run does not decode (%zu-byte key, "
                     "%zu-byte value)",
                     klen, len);
            rv = SEQ_ECORRUPT;
            break;
        }
        buf = seq_malloc(len);
        if (buf == NULL || gen_reserve(&t->live, &t->spare, n, t->fold_records,
                                       t->seed) != 0) {
            seq_free(buf);
            snprintf(errmsg, SEQ_ERRMSG_LEN, "txlog: out of memory");
            rv = SEQ_ENOMEM;
            break;
        }
        memcpy(buf, val, len);
        gen_add(&t->live, seq_be64_get((const uint8_t *)key), buf, len);
        t->next_seq = seq_be64_get((const uint8_t *)key) + 1;
    }
    if (rv == SEQ_OK) {
        rocksdb_iter_get_error(it, &err);
        if (err != NULL) {
            snprintf(errmsg, SEQ_ERRMSG_LEN, "txlog: %s", err);
            rocksdb_free(err);
            rv = SEQ_EIO;
        }
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return rv;
}

int rocks_txidx_open(rocksdb_t *db,
                     rocksdb_column_family_handle_t *tx,
                     rocksdb_column_family_handle_t *log,
                     rocksdb_options_t *tx_opts,
                     const char *dir,
                     struct rocks_txidx **out,
                     char errmsg[SEQ_ERRMSG_LEN])
{
    struct rocks_txidx *t = seq_malloc(sizeof *t);
    size_t path_len = strlen(dir) + sizeof "/" FOLD_FILENAME;
    int rv;

    if (t == NULL) {
        rocksdb_options_destroy(tx_opts);
        snprintf(errmsg, SEQ_ERRMSG_LEN, "txlog: out of memory");
        return SEQ_ENOMEM;
    }
    memset(t, 0, sizeof *t);
    t->db = db;
    t->tx = tx;
    t->log = log;
    t->tx_opts = tx_opts;
    t->fold_records = FOLD_RECORDS;
    atomic_init(&t->fold_done, 0);
    t->fold_path = seq_malloc(path_len);
    if (t->fold_path == NULL) {
        rocks_txidx_close(t);
        snprintf(errmsg, SEQ_ERRMSG_LEN, "txlog: out of memory");
        return SEQ_ENOMEM;
    }
    snprintf(t->fold_path, path_len, "%s/%s", dir, FOLD_FILENAME);
    if (seq_random_bytes(&t->seed, sizeof t->seed) != 0) {
        rocks_txidx_close(t);
        snprintf(errmsg, SEQ_ERRMSG_LEN, "txlog: no randomness for a seed");
        return SEQ_EIO;
    }
    /* A fold a crash interrupted: its runs are still in txlog (X3). */
    if (unlink(t->fold_path) != 0 && errno != ENOENT) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "txlog: remove %s: %s", t->fold_path,
                 strerror(errno));
        rocks_txidx_close(t);
        return SEQ_EIO;
    }
    rv = load_runs(t, errmsg);
    if (rv != 0) {
        rocks_txidx_close(t);
        return rv;
    }
    t->stats.unfolded = t->live.index.n;
    *out = t;
    return SEQ_OK;
}

void rocks_txidx_close(struct rocks_txidx *t)
{
    if (t == NULL) {
        return;
    }
    fold_join(t);
    gen_free(&t->fold, NULL);
    gen_free(&t->live, NULL);
    seq_hset_close(&t->spare);
    seq_free(t->stage);
    seq_free(t->fold_path);
    rocksdb_options_destroy(t->tx_opts);
    seq_free(t);
}

int rocks_txidx_put(struct rocks_txidx *t,
                    const struct seq_hash *key,
                    const void *val,
                    size_t len)
{
    size_t at = t->stage_len == 0 ? 1 : t->stage_len;
    uint8_t *buf;

    if (len > UINT32_MAX || len > SIZE_MAX - REC_HEAD - at) {
        return SEQ_ENOMEM;
    }
    buf = grow(t->stage, &t->stage_cap, at + REC_HEAD + len, 1);
    if (buf == NULL) {
        return SEQ_ENOMEM;
    }
    t->stage = buf;
    if (gen_reserve(&t->live, &t->spare, t->staged + 1, t->fold_records,
                    t->seed) != 0) {
        return SEQ_ENOMEM;
    }
    buf[0] = RUN_TAG;
    memcpy(buf + at, key->bytes, SEQ_HASH_LEN);
    seq_be32_put(buf + at + SEQ_HASH_LEN, (uint32_t)len);
    if (len > 0) {
        memcpy(buf + at + REC_HEAD, val, len);
    }
    t->stage_len = at + REC_HEAD + len;
    t->staged++;
    return SEQ_OK;
}

bool rocks_txidx_has_writes(struct rocks_txidx *t)
{
    return t->staged > 0 || fold_finished(t);
}

int rocks_txidx_append(struct rocks_txidx *t,
                       rocksdb_writebatch_t *wb,
                       char errmsg[SEQ_ERRMSG_LEN])
{
    uint8_t lo[RUN_KEY_LEN], hi[RUN_KEY_LEN], key[RUN_KEY_LEN];

    t->clearing = fold_finished(t);
    if (t->clearing && t->fold_rv != 0) {
        t->clearing = false;
        memcpy(errmsg, t->fold_err, SEQ_ERRMSG_LEN);
        return SEQ_EIO;
    }
    if (t->clearing) {
        assert(t->fold.n_runs > 0);
        seq_be64_put(lo, t->fold.runs[0].seq);
        seq_be64_put(hi, t->fold.runs[t->fold.n_runs - 1].seq + 1);
        rocksdb_writebatch_delete_range_cf(wb, t->log, (const char *)lo,
                                           sizeof lo, (const char *)hi,
                                           sizeof hi);
    }
    if (t->staged > 0) {
        seq_be64_put(key, t->next_seq);
        rocksdb_writebatch_put_cf(wb, t->log, (const char *)key, sizeof key,
                                  (const char *)t->stage, t->stage_len);
    }
    return SEQ_OK;
}

void rocks_txidx_synced(struct rocks_txidx *t)
{
    if (t->clearing) { /* (X3) */
        fold_join(t);
        t->stats.folds++;
        t->stats.fold_records += t->fold.index.n;
        t->stats.fold_us_last = t->fold_us;
        if (t->fold_us > t->stats.fold_us_max) {
            t->stats.fold_us_max = t->fold_us;
        }
        gen_free(&t->fold, &t->spare);
        t->clearing = false;
    }
    if (t->staged > 0) {
        /* The buffer grew by doubling: keep what the run uses. */
        uint8_t *run = seq_realloc(t->stage, t->stage_len);

        gen_add(&t->live, t->next_seq++, run != NULL ? run : t->stage,
                t->stage_len);
        t->stage = NULL;
        t->stage_len = 0;
        t->stage_cap = 0;
        t->staged = 0;
    }
    if (t->fold.n_runs == 0 && t->live.index.n >= t->fold_records) {
        fold_start(t);
    }
    t->stats.unfolded = t->live.index.n + t->fold.index.n;
}

int rocks_txidx_get(struct rocks_txidx *t,
                    const struct seq_hash *key,
                    const uint8_t **val,
                    size_t *len)
{
    void *rec = NULL;

    if (!seq_hset_get(&t->live.index, key, &rec) &&
        !seq_hset_get(&t->fold.index, key, &rec)) {
        return SEQ_ENOTFOUND;
    }
    *len = rec_body_len(rec);
    *val = (const uint8_t *)rec + REC_HEAD;
    return SEQ_OK;
}

void rocks_txidx_stats(struct rocks_txidx *t, struct rocks_txidx_stats *out)
{
    *out = t->stats;
}

void rocks_txidx_set_fold_records(struct rocks_txidx *t, size_t n)
{
    t->fold_records = n > 0 ? n : 1;
}

void rocks_txidx_wait_fold(struct rocks_txidx *t)
{
    fold_join(t);
}
