/* A block's entries (mp_pool.h: mp_pool_block_txs, mp_pool_commit,
 * mp_pool_restore_committed) and the dedup window they depend on. One
 * selection serves the leader and the voters, who pass the uncommitted
 * ancestors, and the commit, whose ancestors are in the window by then:
 * that is what makes the two agree (mp_pool.c (M3), (M7)). */

#include "mp_pool.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mp_batch_int.h"
#include "mp_pool_int.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hset.h"

/* ---------------------------------------------------------------------- */
/* The output                                                             */

void mp_block_txs_free(struct mp_block_txs *txs)
{
    if (txs == NULL) {
        return;
    }
    seq_free(txs->data);
    seq_free(txs->by_ns);
    seq_free(txs->ns);
    seq_free(txs->txs);
    seq_free(txs);
}

/* Allocates an empty result for @n_txs transactions of @bytes payload
 * bytes in at most @n_ns namespaces, or returns NULL. */
static struct mp_block_txs *block_txs_new(size_t n_txs,
                                          size_t bytes,
                                          size_t n_ns)
{
    struct mp_block_txs *t = seq_calloc(1, sizeof *t);

    if (t == NULL) {
        return NULL;
    }
    t->txs = seq_calloc(n_txs, sizeof *t->txs);
    t->by_ns = seq_calloc(n_txs, sizeof *t->by_ns);
    t->ns = seq_calloc(n_ns, sizeof *t->ns);
    t->data = seq_malloc(bytes);
    if (t->txs == NULL || t->by_ns == NULL || t->ns == NULL ||
        t->data == NULL) {
        mp_block_txs_free(t);
        return NULL;
    }
    return t;
}

/* The index of a transaction's namespace in pool->ns. Namespaces are
 * checked when a batch enters the pool and never removed. */
static size_t ns_index(const struct mp_pool *pool, uint64_t ns)
{
    const struct ns_entry *e = mp_pool_find_ns(pool, ns);

    assert(e != NULL);
    return (size_t)(e - pool->ns);
}

/* Fills @t from the entries @kept[0..n) (in block order), using @count
 * (one slot per namespace of the pool, zeroed) as scratch. */
static void block_txs_fill(const struct mp_pool *pool,
                           struct mp_block_txs *t,
                           struct mp_tx *const *kept,
                           size_t n,
                           size_t *count)
{
    size_t off = 0;
    size_t pos = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        struct mp_tx *tx = &t->txs[i];
        *tx = *kept[i];
        if (tx->len > 0) {
            memcpy(t->data + off, kept[i]->payload, tx->len);
        }
        tx->payload = t->data + off;
        off += tx->len;
        count[ns_index(pool, tx->ns)]++;
    }
    t->n_txs = n;
    /* A stable counting sort by namespace index, i.e. ascending id. */
    for (i = 0; i < pool->n_ns; i++) {
        size_t c = count[i];
        if (c == 0) {
            continue;
        }
        t->ns[t->n_ns].ns = pool->ns[i].id;
        t->ns[t->n_ns].txs = &t->by_ns[pos];
        t->ns[t->n_ns].n_txs = 0;
        count[i] = t->n_ns++;
        pos += c;
    }
    for (i = 0; i < n; i++) {
        struct mp_ns_slice *slice = &t->ns[count[ns_index(pool, t->txs[i].ns)]];
        size_t first = (size_t)(slice->txs - t->by_ns);
        t->by_ns[first + slice->n_txs++] = t->txs[i];
    }
}

/* ---------------------------------------------------------------------- */
/* The window (M3)                                                        */

/* The lowest height W heights below @height (0 while every height below
 * counts). */
static uint64_t lowest_height(const struct mp_pool *pool, uint64_t height)
{
    uint64_t w = pool->config.dedup_heights;

    return height > w ? height - w : 0;
}

/* The lowest remembered block that stays in the window when @b is pushed
 * (NULL: none), and in *keep the entries from it up. The blocks below it
 * fall out: W heights below @b, or among the lowest blocks whose entries,
 * with those of the blocks above them and @b's, come to more than K (M3). */
static struct win_block *first_kept(const struct mp_pool *pool,
                                    const struct win_block *b,
                                    size_t *keep)
{
    struct win_block *head = pool->win_head;
    size_t entries = pool->win_entries;

    while (head != NULL &&
           (b->height - head->height >= pool->config.dedup_heights ||
            entries + b->n_txs > pool->config.dedup_max_txs)) {
        entries -= head->n_txs;
        head = head->next;
    }
    *keep = entries;
    return head;
}

/* A block to remember, with room for @n_txs entries and @n_batches ids
 * (filled by the caller), or NULL when out of memory. */
static struct win_block *win_block_new(uint64_t height,
                                       size_t n_txs,
                                       size_t n_batches)
{
    size_t max = (SIZE_MAX - sizeof(struct win_block)) / SEQ_HASH_LEN;
    struct win_block *b;

    if (n_txs > max || n_batches > max - n_txs) {
        return NULL;
    }
    b = seq_malloc(sizeof *b + (n_txs + n_batches) * sizeof b->ids[0]);
    if (b == NULL) {
        return NULL;
    }
    b->height = height;
    b->next = NULL;
    b->n_txs = n_txs;
    b->n_batches = n_batches;
    return b;
}

/* Room in the window's sets for @b (M5), once window_push() has made
 * room: at most K entries in all unless @b alone has more, which the
 * table was sized for at open, so that it does not grow as traffic does
 * (each growth stopped the loop while it rehashed: 2.6 s for a window of
 * 1,024 heights at 30,000 tx/s). */
static int window_reserve(struct mp_pool *pool, const struct win_block *b)
{
    size_t keep;
    int rv;

    (void)first_kept(pool, b, &keep);
    rv = seq_hset_reserve(&pool->win_txs, keep + b->n_txs);

    if (rv == 0) {
        rv = seq_hset_reserve(&pool->win_batches,
                              pool->win_batches.n + b->n_batches);
    }
    return rv;
}

/* Forgets the lowest remembered block: its hashes unless a higher block
 * has them too, and any copy of its batches that a fetch brought back
 * after it committed them (M4). */
static void window_evict(struct mp_pool *pool)
{
    struct win_block *b = pool->win_head;
    size_t i;

    for (i = 0; i < b->n_txs + b->n_batches; i++) {
        bool is_batch = i >= b->n_txs;
        struct seq_hset *set = is_batch ? &pool->win_batches : &pool->win_txs;
        void *v = NULL;

        if (i + SEQ_HSET_AHEAD < b->n_txs) {
            seq_hset_prefetch(set, &b->ids[i + SEQ_HSET_AHEAD], true);
        }
        if (!seq_hset_get(set, &b->ids[i], &v) || v != b) {
            continue;
        }
        seq_hset_del(set, &b->ids[i]);
        if (is_batch && seq_hset_get(&pool->held, &b->ids[i], &v)) {
            mp_pool_release(pool, v);
        }
    }
    pool->win_head = b->next;
    if (pool->win_head == NULL) {
        pool->win_tail = NULL;
    }
    pool->win_entries -= b->n_txs;
    seq_free(b);
}

/* Remembers @b (the window's sets have room for it) as the highest block,
 * makes its height the committed height and forgets the blocks that no
 * block above it can need: those below the floor of its height + 1. */
static void window_push(struct mp_pool *pool, struct win_block *b)
{
    const struct win_block *stay;
    size_t keep;
    size_t i;
    int rv;

    assert(b->height > pool->committed_height);
    stay = first_kept(pool, b, &keep);
    while (pool->win_head != stay) {
        window_evict(pool);
    }
    assert(pool->win_entries == keep);
    pool->win_entries += b->n_txs;
    if (pool->win_tail == NULL) {
        pool->win_head = b;
    } else {
        pool->win_tail->next = b;
    }
    pool->win_tail = b;
    for (i = 0; i < b->n_txs; i++) {
        if (i + SEQ_HSET_AHEAD < b->n_txs) {
            seq_hset_prefetch(&pool->win_txs, &b->ids[i + SEQ_HSET_AHEAD],
                              true);
        }
        rv = seq_hset_assign(&pool->win_txs, &b->ids[i], b);
        assert(rv == 0);
    }
    for (i = b->n_txs; i < b->n_txs + b->n_batches; i++) {
        rv = seq_hset_assign(&pool->win_batches, &b->ids[i], b);
        assert(rv == 0);
    }
    (void)rv;
    pool->committed_height = b->height;
}

void mp_window_free(struct mp_pool *pool)
{
    struct win_block *b;

    while ((b = pool->win_head) != NULL) {
        pool->win_head = b->next;
        seq_free(b);
    }
    pool->win_tail = NULL;
}

/* Takes a transaction out of the pending state, if it is there (M2). */
static void unpend(struct mp_pool *pool,
                   uint64_t ns,
                   size_t len,
                   const struct seq_hash *hash)
{
    struct ns_entry *e;

    if (!seq_hset_del(&pool->pending, hash)) {
        return;
    }
    e = mp_pool_find_ns(pool, ns);
    assert(e != NULL);
    pool->pending_txs--;
    pool->pending_bytes -= len;
    e->pending_txs--;
    e->pending_bytes -= len;
}

/* Takes what the window has out of the open batch, and so out of the
 * pending state (M2): it was committed through someone else's batch. */
static void sweep_open(struct mp_pool *pool)
{
    struct mp_batch *open = pool->open;
    size_t i;

    for (i = open == NULL ? 0 : open->n_txs; i > 0; i--) {
        const struct mp_tx_ref *tx = &open->txs[i - 1];
        if (seq_hset_get(&pool->win_txs, &tx->hash, NULL)) {
            unpend(pool, tx->ns, tx->len, &tx->hash);
            mp_batch_remove(open, i - 1);
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Selection (M3, M7)                                                     */

/* Scratch for one selection, all allocated before the pool changes (M5). */
struct select_work {
    /* The ancestors by ascending height, then the block. */
    struct mp_level *levels;
    size_t n_levels;
    size_t n_missing;
    /* tx_hash -> the highest level that has it as an entry. */
    struct seq_hset kept;
    /* Every transaction of the block, and its entries among them. */
    struct mp_tx *txs;
    struct mp_tx **entries;
    size_t n_txs, n_entries, entry_bytes;
    size_t *count; /* block_txs_fill's scratch. */
};

static void select_close(struct select_work *w)
{
    size_t i;

    for (i = 0; i < w->n_levels; i++) {
        mp_level_close(&w->levels[i]);
    }
    seq_free(w->levels);
    seq_free(w->count);
    seq_hset_close(&w->kept);
    seq_free(w->entries);
    seq_free(w->txs);
}

static int level_cmp(const void *a, const void *b)
{
    uint64_t ha = ((const struct mp_level *)a)->height;
    uint64_t hb = ((const struct mp_level *)b)->height;

    return ha < hb ? -1 : ha > hb;
}

/* Decodes and resolves the ancestors and the block into w->levels, in
 * height order. */
static int select_resolve(const struct mp_pool *pool,
                          struct select_work *w,
                          uint64_t height,
                          const uint8_t *buf,
                          size_t len,
                          const struct mp_ancestor *ancestors,
                          size_t n_ancestors)
{
    size_t i;
    int rv;

    for (i = 0; i < n_ancestors; i++) {
        if (ancestors[i].height <= pool->committed_height ||
            ancestors[i].height >= height) {
            return SEQ_EBADMSG;
        }
    }
    w->levels = seq_calloc(n_ancestors + 1, sizeof *w->levels);
    if (w->levels == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i <= n_ancestors; i++) {
        struct mp_level *lvl = &w->levels[i];
        bool block = i == n_ancestors;

        w->n_levels++;
        lvl->height = block ? height : ancestors[i].height;
        rv = mp_level_resolve(pool, lvl, block ? buf : ancestors[i].payload,
                              block ? len : ancestors[i].len);
        if (rv != 0) {
            return rv;
        }
        w->n_missing += lvl->n_missing;
    }
    /* The heights are distinct (checked next), so the order is total. */
    qsort(w->levels, n_ancestors, sizeof *w->levels, level_cmp);
    for (i = 1; i < n_ancestors; i++) {
        if (w->levels[i].height == w->levels[i - 1].height) {
            return SEQ_EBADMSG;
        }
    }
    return SEQ_OK;
}

/* The floor of the level @at of @w (M3): the lowest height at or above
 * its height - W from which the blocks below it have at most K entries in
 * all. The levels below @at (the ancestors right above the committed
 * height, each with its n_entries set) count first, then the window's
 * blocks from the highest down. The window starts at the floor of the
 * committed height + 1, which no floor above is below. */
static uint64_t level_floor(const struct mp_pool *pool,
                            const struct select_work *w,
                            size_t at)
{
    uint64_t lowest = lowest_height(pool, w->levels[at].height);
    size_t k = pool->config.dedup_max_txs;
    size_t total = 0;
    size_t in_window = pool->win_entries;
    const struct win_block *b;
    size_t i;

    for (i = at; i-- > 0 && w->levels[i].height >= lowest;) {
        total += w->levels[i].n_entries;
        if (total > k) {
            return w->levels[i].height + 1;
        }
    }
    for (b = pool->win_head; b != NULL; b = b->next) {
        if (b->height >= lowest && total + in_window <= k) {
            return b->height;
        }
        in_window -= b->n_txs;
    }
    return pool->committed_height + 1 > lowest ? pool->committed_height + 1
                                               : lowest;
}

/* Whether @hash is an entry of a block at @floor or above: one of the
 * levels kept so far, or a remembered one. */
static bool seen_since(const struct mp_pool *pool,
                       const struct select_work *w,
                       const struct seq_hash *hash,
                       uint64_t floor)
{
    void *v = NULL;

    if (seq_hset_get(&w->kept, hash, &v) &&
        ((const struct mp_level *)v)->height >= floor) {
        return true;
    }
    return seq_hset_get(&pool->win_txs, hash, &v) &&
           ((const struct win_block *)v)->height >= floor;
}

/* Applies the dedup rule (M3) to every level, lowest first, and collects
 * the entries of the block (the last level) into w->entries. */
static int select_entries(const struct mp_pool *pool, struct select_work *w)
{
    const struct mp_level *block = &w->levels[w->n_levels - 1];
    size_t total = 0;
    size_t i;
    size_t j;
    size_t k;
    int rv;

    for (i = 0; i < w->n_levels; i++) {
        for (j = 0; j < w->levels[i].n; j++) {
            total += w->levels[i].batches[j]->n_txs;
        }
    }
    for (j = 0; j < block->n; j++) {
        w->n_txs += block->batches[j]->n_txs;
    }
    w->txs = seq_calloc(w->n_txs, sizeof *w->txs);
    w->entries = seq_calloc(w->n_txs, sizeof *w->entries);
    w->count = seq_calloc(pool->n_ns, sizeof *w->count);
    if (w->txs == NULL || w->entries == NULL || w->count == NULL) {
        return SEQ_ENOMEM;
    }
    rv = seq_hset_init(&w->kept, total, pool->config.hash_seed);
    if (rv != 0) {
        return rv;
    }
    for (i = 0; i < w->n_levels; i++) {
        struct mp_level *lvl = &w->levels[i];
        uint64_t floor = level_floor(pool, w, i);
        bool is_block = lvl == block;
        size_t n = 0;

        for (j = 0; j < lvl->n; j++) {
            const struct mp_batch *batch = lvl->batches[j];

            for (k = 0; k < batch->n_txs; k++) {
                struct mp_tx tx;
                if (k + SEQ_HSET_AHEAD < batch->n_txs) {
                    const struct seq_hash *ahead =
                        &batch->txs[k + SEQ_HSET_AHEAD].hash;
                    seq_hset_prefetch(&w->kept, ahead, false);
                    seq_hset_prefetch(&pool->win_txs, ahead, false);
                }
                mp_batch_tx(batch, k, &tx);
                tx.batch = (uint32_t)j;
                if (is_block) {
                    w->txs[n++] = tx;
                }
                if (seen_since(pool, w, &tx.hash, floor)) {
                    continue; /* Earlier in this block, or in the window. */
                }
                rv = seq_hset_assign(&w->kept, &tx.hash, lvl);
                assert(rv == 0); /* Sized for every transaction. */
                lvl->n_entries++;
                if (is_block) {
                    w->entries[w->n_entries++] = &w->txs[n - 1];
                    w->entry_bytes += tx.len;
                }
            }
        }
    }
    return SEQ_OK;
}

/* The block's entries as a result, returned owned in *out. */
static int select_output(const struct mp_pool *pool,
                         struct select_work *w,
                         struct mp_block_txs **out)
{
    struct mp_block_txs *t;

    t = block_txs_new(w->n_entries, w->entry_bytes, pool->n_ns);
    if (t == NULL) {
        return SEQ_ENOMEM;
    }
    block_txs_fill(pool, t, w->entries, w->n_entries, w->count);
    t->n_dropped = w->n_txs - w->n_entries;
    *out = t;
    return SEQ_OK;
}

/* Everything a selection needs up to the output: resolve, report what is
 * missing, apply the rule, build the result. */
static int select_run(const struct mp_pool *pool,
                      struct select_work *w,
                      uint64_t height,
                      const uint8_t *buf,
                      size_t len,
                      const struct mp_ancestor *ancestors,
                      size_t n_ancestors,
                      struct mp_block_txs **out,
                      struct seq_hash **missing,
                      size_t *n_missing)
{
    int rv;

    rv = select_resolve(pool, w, height, buf, len, ancestors, n_ancestors);
    if (rv == 0 && w->n_missing > 0) {
        rv = mp_level_report_missing(pool, w->levels, w->n_levels, missing,
                                     n_missing);
    }
    if (rv == 0) {
        rv = select_entries(pool, w);
    }
    if (rv == 0) {
        rv = select_output(pool, w, out);
    }
    return rv;
}

int mp_pool_block_txs(const struct mp_pool *pool,
                      uint64_t height,
                      const uint8_t *buf,
                      size_t len,
                      const struct mp_ancestor *ancestors,
                      size_t n_ancestors,
                      struct mp_block_txs **out,
                      struct seq_hash **missing,
                      size_t *n_missing)
{
    struct select_work w;
    int rv;

    if (height <= pool->committed_height) {
        return SEQ_EINVAL;
    }
    memset(&w, 0, sizeof w);
    rv = select_run(pool, &w, height, buf, len, ancestors, n_ancestors, out,
                    missing, n_missing);
    select_close(&w);
    return rv;
}

/* ---------------------------------------------------------------------- */
/* Commit and restore                                                     */

/* The state changes of a commit, none of which can fail (M5). */
static void commit_apply(struct mp_pool *pool,
                         struct select_work *w,
                         struct win_block *rec)
{
    const struct mp_level *block = &w->levels[w->n_levels - 1];
    size_t i;

    for (i = 0; i < w->n_entries; i++) {
        rec->ids[i] = w->entries[i]->hash;
    }
    for (i = 0; i < block->n; i++) {
        rec->ids[w->n_entries + i] = block->ids[i];
    }
    /* (M2) Whatever the block carries is committed, kept or dropped. */
    for (i = 0; i < w->n_txs; i++) {
        if (i + SEQ_HSET_AHEAD < w->n_txs) {
            seq_hset_prefetch(&pool->pending, &w->txs[i + SEQ_HSET_AHEAD].hash,
                              false);
        }
        unpend(pool, w->txs[i].ns, w->txs[i].len, &w->txs[i].hash);
    }
    /* The views in w->txs die here. */
    for (i = 0; i < block->n; i++) {
        mp_pool_release(pool, block->batches[i]);
    }
    window_push(pool, rec);
    sweep_open(pool);
    pool->stats.committed_txs += w->n_entries;
    pool->stats.committed_dropped += w->n_txs - w->n_entries;
}

int mp_pool_commit(struct mp_pool *pool,
                   uint64_t height,
                   const uint8_t *buf,
                   size_t len,
                   struct mp_block_txs **out,
                   struct seq_hash **missing,
                   size_t *n_missing)
{
    struct select_work w;
    struct mp_block_txs *t = NULL;
    struct win_block *rec = NULL;
    int rv;

    if (pool->committed_height == 0 ? height == 0
                                    : height != pool->committed_height + 1) {
        return SEQ_EINVAL;
    }
    memset(&w, 0, sizeof w);
    rv =
        select_run(pool, &w, height, buf, len, NULL, 0, &t, missing, n_missing);
    if (rv == 0) {
        rec = win_block_new(height, w.n_entries, w.levels[0].n);
        rv = rec == NULL ? SEQ_ENOMEM : window_reserve(pool, rec);
    }
    if (rv != 0) {
        seq_free(rec);
        mp_block_txs_free(t);
        select_close(&w);
        return rv;
    }
    commit_apply(pool, &w, rec);
    select_close(&w);
    *out = t;
    return SEQ_OK;
}

int mp_pool_restore_committed(struct mp_pool *pool,
                              uint64_t height,
                              const struct seq_hash *tx_hashes,
                              size_t n)
{
    struct win_block *rec;
    int rv;

    if (height <= pool->committed_height) {
        return SEQ_EINVAL; /* Also 0, which is never a block's height. */
    }
    rec = win_block_new(height, n, 0);
    if (rec == NULL) {
        return SEQ_ENOMEM;
    }
    rv = window_reserve(pool, rec);
    if (rv != 0) {
        seq_free(rec);
        return rv;
    }
    if (n > 0) {
        memcpy(rec->ids, tx_hashes, n * sizeof *tx_hashes);
    }
    window_push(pool, rec);
    sweep_open(pool);
    return SEQ_OK;
}
