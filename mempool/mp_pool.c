/* The stage-1 mempool (mp_pool.h): what a validator does with transactions
 * between a client's POST and the commit of the block that orders them.
 * This file has admission, sealing, held batches and payloads; mp_commit.c
 * has the dedup window and a block's entries.
 *
 ****************** NOTES ON THE DESIGN OF THE STAGE-1 MEMPOOL *****************
 *
 * A transaction admitted here is "pending" until a committed block carries
 * it, whoever's batch that is. It first sits in the open batch; the open
 * batch is sealed when full or old (DESIGN §4) and queued; mp_pool_tick()
 * hands it to the driver for broadcast and moves it to the held batches,
 * next to the peers' batches. A leader proposes held batch ids; a commit
 * turns ids back into transactions (the block's entries) and releases the
 * batches.
 *
 * Indexes are hash sets (seq_hset.h): pending tx hashes, held batches by id,
 * the transactions of held batches, and the window's transactions and
 * batch ids. Held batches are also kept per author in arrays sorted by
 * (seq, id), and the window's blocks in a list by height: those, not the
 * sets, give every order.
 *
 * (M1) Determinism. Nothing iterates a set or compares pointers to
 *      produce output. Payloads take held batches round-robin over authors
 *      in id order, each author's in (seq, id) order; entries come in
 *      level order (ancestors by height, then the block), payload order,
 *      then batch order; namespace slices come in ascending id. Hence the
 *      same calls give the same bytes, for any hash_seed (tested with two
 *      seeds).
 * (M2) Accounting. pending_txs and pending_bytes (in total and per
 *      namespace) are the count and payload bytes of the pending set. A
 *      transaction enters it only through mp_pool_submit (never while
 *      the window has it) and leaves it only when a committed block
 *      carries it (entry or dropped duplicate), or when the window has it
 *      and a commit or restore takes it out of the open batch (a
 *      restored one in a sealed batch of ours leaves when that batch
 *      commits). The pending set is sized
 *      max_pending_txs, so admission (which checks the counters first)
 *      never finds it full.
 * (M3) The window, and the entries as a function of the chain. The entries
 *      of the block at height h are its transactions in order minus those
 *      seen earlier in the block or among the entries of a block at a
 *      height j with floor(h) <= j < h, where floor(h) is the lowest
 *      height >= h - W from which the blocks up to h - 1 have at most K
 *      entries in all (W = dedup_heights, K = dedup_max_txs; a height
 *      below every block fed to the pool counts as empty). floor never
 *      decreases with h, so the pool remembers the entries of the
 *      committed blocks at heights from floor(committed + 1) up, i.e.
 *      exactly those some block above the committed height may need, each
 *      hash mapped to the highest block with it;
 *      mp_pool_block_txs() applies the rule to the uncommitted ancestors
 *      too, lowest first, in a scratch set. Nothing else enters the rule:
 *      not what a replica remembers beyond the window, not which batches
 *      committed before (a batch is never skipped), so every replica
 *      derives the same entries, including one that restarted and fed the
 *      window back (mp_pool_restore_committed).
 * (M4) Committed batches. Their ids are remembered for the window too: a
 *      broadcast of one is refused (SEQ_EEXIST), a leader does not propose
 *      one, and a payload naming one fails mp_pool_check_payload (an
 *      honest leader excludes its ancestors' batches). That only steers
 *      voting: a block that does reference one again commits it in full
 *      (deduplicated by (M3)), so a replica fetches it again, and a fetch
 *      response (add_batch with the id) is stored even while the window
 *      has the id. Such a copy is released when a commit takes it or its
 *      id leaves the window, so late fetch responses cannot pile up.
 * (M5) Failure atomicity. Each call that can fail validates and allocates
 *      everything first (growing sets with seq_hset_reserve) and changes
 *      state only after the last check; the state changes themselves
 *      cannot fail (the sets have room). So any error, SEQ_ENOMEM
 *      included, leaves the pool unchanged, which the tests check by
 *      failing each allocation in turn.
 * (M6) Bounded memory. Pending transactions are capped in number and
 *      bytes, each namespace at its weighted share of the bytes; held
 *      batches at max_batches_per_author per author, each within the batch
 *      limits; sealed batches waiting for mp_pool_tick at that cap too.
 *      A peer author's held batches are also capped at twice
 *      max_pending_txs transactions and twice max_pending_bytes of
 *      payload. An author with our limits has at most once that pending;
 *      the other half is slack for what it has already seen committed and
 *      we have not (we lag), so an honest author does not meet the cap,
 *      even overloaded, and a Byzantine one cannot make us hold more (the
 *      count cap alone let it park max_batches_per_author full batches,
 *      4,096 x 4 MiB in seqd). Our own are bounded by admission. A fetched
 *      batch (wanted by a payload) always gets in: it evicts the author's
 *      last held batch that was not itself fetched, else the last one, until
 *      it fits, so the slot ends at most one batch over the caps, and
 *      fetches for one payload do not evict each other.
 *      The window holds the batch ids of at most W blocks
 *      (block_max_batches each) and their entries, at most K in all unless
 *      the last block alone has more (block_max_batches * batch_max_txs
 *      at most); the entries' set is sized for K at open and grows only
 *      for such a block, the ids' set to at most twice its peak. Neither
 *      shrinks.
 * (M7) mp_pool_block_txs() == mp_pool_commit(). Both run one selection
 *      (mp_commit.c, select_entries) over levels: block_txs over the
 *      ancestors and the block, commit over the block alone with the
 *      ancestors' entries in the window, put there by the same selection
 *      when they committed. The window forgets only heights below every
 *      block that can still commit, so the two see the same earlier
 *      entries (tested across random chains).
 * (M8) Admission state in O(1). A transaction is committed if the window
 *      has it, pending if the pending set or the held_txs index has it.
 *      held_txs counts, per hash, the held batches that have it; hold()
 *      adds and release() drops those references. Its capacity is kept at
 *      the peers' held transactions (reserved as their batches are added)
 *      plus the most our own slot can hold (reserved at open), so
 *      mp_pool_tick, which holds our batches, never fails.
 ******************************************************************************/

#include "mp_pool.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "hs_types.h"
#include "mp_batch_int.h"
#include "mp_pool_int.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hset.h"

/* ---------------------------------------------------------------------- */
/* Small helpers                                                          */

struct ns_entry *mp_pool_find_ns(const struct mp_pool *pool, uint64_t id)
{
    size_t lo = 0;
    size_t hi = pool->n_ns;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pool->ns[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < pool->n_ns && pool->ns[lo].id == id ? &pool->ns[lo] : NULL;
}

/* The namespace's share of max_pending_bytes. The limits on weights and
 * on the capacity (mp_pool.h) keep the product below 2^64. */
static uint64_t ns_share(const struct mp_pool *pool, const struct ns_entry *e)
{
    return pool->config.max_pending_bytes * e->weight / pool->total_weight;
}

static bool ns_valid(const struct mp_namespace *ns)
{
    size_t len;

    if (ns->name == NULL || ns->weight == 0 || ns->weight > MP_MAX_WEIGHT ||
        ns->max_tx_size == 0) {
        return false;
    }
    len = strlen(ns->name);
    return len >= 1 && len <= MP_NS_NAME_MAX;
}

static bool config_valid(const struct mp_config *c)
{
    if (c->n_validators == 0 || c->n_validators > HS_MAX_VALIDATORS ||
        c->self >= c->n_validators || c->max_tx_size == 0 ||
        c->max_pending_txs == 0 || c->max_pending_bytes == 0 ||
        c->max_pending_bytes > MP_MAX_PENDING || c->batch_max_txs == 0 ||
        c->batch_max_bytes < c->max_tx_size || c->max_batches_per_author == 0 ||
        c->block_max_batches == 0 ||
        c->block_max_batches >
            (HS_MAX_PAYLOAD - MP_PAYLOAD_HEADER_LEN) / SEQ_HASH_LEN ||
        c->block_max_bytes < c->batch_max_bytes || c->dedup_heights == 0 ||
        c->dedup_max_txs == 0 || c->n_namespaces > MP_MAX_NS ||
        (c->n_namespaces > 0 && c->namespaces == NULL)) {
        return false;
    }
    return true;
}

/* Inserts @ns at its place in the sorted array, which has room. */
static void ns_insert(struct mp_pool *pool, const struct mp_namespace *ns)
{
    struct ns_entry *e;
    size_t i = 0;

    while (i < pool->n_ns && pool->ns[i].id < ns->id) {
        i++;
    }
    memmove(&pool->ns[i + 1], &pool->ns[i],
            (pool->n_ns - i) * sizeof pool->ns[0]);
    e = &pool->ns[i];
    memset(e, 0, sizeof *e);
    e->id = ns->id;
    memcpy(e->name, ns->name, strlen(ns->name));
    e->weight = ns->weight;
    e->max_tx_size = ns->max_tx_size;
    pool->n_ns++;
    pool->total_weight += ns->weight;
}

/* The most transactions our own author slot can hold (M8). */
/* Room held_txs keeps for the batches we seal (M8): their transactions
 * are all pending, so at most max_pending_txs of them, however many
 * batches that makes. Batches that come through mp_pool_add_batch,
 * ours after a restart included, reserve their own room. */
static size_t own_slot_txs(const struct mp_config *c)
{
    size_t slot = (size_t)c->max_batches_per_author * c->batch_max_txs;

    return slot < c->max_pending_txs ? slot : c->max_pending_txs;
}

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                              */

/* The sets of a new pool; on failure, all closed. */
static int sets_init(struct mp_pool *pool, const struct mp_config *c)
{
    size_t per = c->max_batches_per_author;
    int rv;

    rv = seq_hset_init_big(&pool->pending, c->max_pending_txs, c->hash_seed);
    if (rv == 0) {
        rv =
            seq_hset_init_big(&pool->held, per * c->n_validators, c->hash_seed);
    }
    if (rv == 0) {
        rv = seq_hset_init_big(&pool->held_txs, own_slot_txs(c), c->hash_seed);
    }
    if (rv == 0) {
        rv = seq_hset_init_big(&pool->win_txs, c->dedup_max_txs, c->hash_seed);
    }
    if (rv == 0) {
        rv = seq_hset_init_big(&pool->win_batches, c->block_max_batches,
                               c->hash_seed);
    }
    if (rv != 0) {
        /* Closing a set that init failed or never reached is fine. */
        seq_hset_close(&pool->win_batches);
        seq_hset_close(&pool->win_txs);
        seq_hset_close(&pool->held_txs);
        seq_hset_close(&pool->held);
        seq_hset_close(&pool->pending);
    }
    return rv;
}

static void sets_close(struct mp_pool *pool)
{
    seq_hset_close(&pool->win_batches);
    seq_hset_close(&pool->win_txs);
    seq_hset_close(&pool->held_txs);
    seq_hset_close(&pool->held);
    seq_hset_close(&pool->pending);
}

static bool namespaces_valid(const struct mp_config *c)
{
    size_t i;
    size_t j;

    for (i = 0; i < c->n_namespaces; i++) {
        if (!ns_valid(&c->namespaces[i])) {
            return false;
        }
        for (j = 0; j < i; j++) {
            if (c->namespaces[j].id == c->namespaces[i].id) {
                return false;
            }
        }
    }
    return true;
}

int mp_pool_open(const struct mp_config *config, struct mp_pool **out)
{
    const struct mp_config *c = config;
    struct mp_pool *pool;
    size_t per = c->max_batches_per_author;
    size_t i;
    int rv;

    if (!config_valid(c) || !namespaces_valid(c)) {
        return SEQ_EINVAL;
    }
    pool = seq_calloc(1, sizeof *pool);
    if (pool == NULL) {
        rv = SEQ_ENOMEM;
        goto err;
    }
    pool->config = *c;
    pool->config.namespaces = NULL;
    pool->config.n_namespaces = 0;
    pool->next_seq = 1;
    pool->ns = seq_calloc(c->n_namespaces, sizeof *pool->ns);
    if (pool->ns == NULL) {
        rv = SEQ_ENOMEM;
        goto err_after_pool;
    }
    for (i = 0; i < c->n_namespaces; i++) {
        ns_insert(pool, &c->namespaces[i]);
    }
    rv = sets_init(pool, c);
    if (rv != 0) {
        goto err_after_ns;
    }
    pool->authors = seq_calloc(c->n_validators, sizeof *pool->authors);
    if (pool->authors == NULL) {
        rv = SEQ_ENOMEM;
        goto err_after_sets;
    }
    pool->slot_mem = seq_calloc(per * c->n_validators, sizeof(void *));
    if (pool->slot_mem == NULL) {
        rv = SEQ_ENOMEM;
        goto err_after_authors;
    }
    for (i = 0; i < c->n_validators; i++) {
        pool->authors[i].batches = pool->slot_mem + i * per;
    }
    *out = pool;
    return SEQ_OK;

err_after_authors:
    seq_free(pool->authors);
err_after_sets:
    sets_close(pool);
err_after_ns:
    seq_free(pool->ns);
err_after_pool:
    seq_free(pool);
err:
    return rv;
}

void mp_pool_free(struct mp_pool *pool)
{
    struct mp_batch *b;
    size_t i;
    size_t j;

    if (pool == NULL) {
        return;
    }
    for (i = 0; i < pool->config.n_validators; i++) {
        for (j = 0; j < pool->authors[i].n; j++) {
            mp_batch_free(pool->authors[i].batches[j]);
        }
    }
    while ((b = pool->queue_head) != NULL) {
        pool->queue_head = b->next;
        mp_batch_free(b);
    }
    mp_batch_free(pool->open);
    mp_window_free(pool);
    seq_free(pool->slot_mem);
    seq_free(pool->authors);
    sets_close(pool);
    seq_free(pool->ns);
    seq_free(pool);
}

int mp_pool_add_namespace(struct mp_pool *pool, const struct mp_namespace *ns)
{
    struct ns_entry *grown;

    if (!ns_valid(ns) || pool->n_ns >= MP_MAX_NS) {
        return SEQ_EINVAL;
    }
    if (mp_pool_find_ns(pool, ns->id) != NULL) {
        return SEQ_EEXIST;
    }
    grown = seq_realloc(pool->ns, (pool->n_ns + 1) * sizeof *pool->ns);
    if (grown == NULL) {
        return SEQ_ENOMEM;
    }
    pool->ns = grown;
    ns_insert(pool, ns);
    return SEQ_OK;
}

void mp_pool_stats(const struct mp_pool *pool, struct mp_stats *out)
{
    size_t i;

    *out = pool->stats;
    out->pending_txs = pool->pending_txs;
    out->pending_bytes = pool->pending_bytes;
    out->open_txs = pool->open == NULL ? 0 : pool->open->n_txs;
    out->queued_batches = pool->n_queued;
    out->held_batches = 0;
    for (i = 0; i < pool->config.n_validators; i++) {
        out->held_batches += pool->authors[i].n;
    }
    out->next_seq = pool->next_seq;
    out->committed_height = pool->committed_height;
    out->window_txs = pool->win_txs.n;
}

int mp_pool_set_next_seq(struct mp_pool *pool, uint64_t seq)
{
    uint64_t next = pool->open != NULL ? pool->open->seq : pool->next_seq;

    if (seq < next || seq == UINT64_MAX) {
        return SEQ_EINVAL;
    }
    if (pool->open != NULL) {
        pool->open->seq = seq; /* Not sealed: its id comes later. */
        pool->next_seq = seq + 1;
    } else {
        pool->next_seq = seq;
    }
    return SEQ_OK;
}

/* ---------------------------------------------------------------------- */
/* Admission and local batches                                            */

static void enqueue(struct mp_pool *pool, struct mp_batch *batch)
{
    mp_batch_seal(batch);
    batch->next = NULL;
    if (pool->queue_tail == NULL) {
        pool->queue_head = batch;
    } else {
        pool->queue_tail->next = batch;
    }
    pool->queue_tail = batch;
    pool->n_queued++;
    pool->stats.batches_sealed++;
}

static bool batch_full(const struct mp_batch *b)
{
    return b->n_txs == b->cap_txs || b->data_len == b->data_cap;
}

enum mp_tx_state mp_pool_tx_state(const struct mp_pool *pool,
                                  const struct seq_hash *hash)
{
    /* (M8) The window first: a held batch may repeat a committed
     * transaction, which stays committed. */
    if (seq_hset_get(&pool->win_txs, hash, NULL)) {
        return MP_TX_COMMITTED;
    }
    if (seq_hset_get(&pool->pending, hash, NULL) ||
        seq_hset_get(&pool->held_txs, hash, NULL)) {
        return MP_TX_PENDING;
    }
    return MP_TX_UNKNOWN;
}

/* Checks, in the order mp_pool.h documents, whether the transaction can be
 * admitted; 1 means it is a duplicate, with *state set. */
static int admit_check(struct mp_pool *pool,
                       const struct ns_entry *e,
                       size_t len,
                       const struct seq_hash *hash,
                       enum mp_tx_state *state)
{
    enum mp_tx_state known = mp_pool_tx_state(pool, hash);

    if (known != MP_TX_UNKNOWN) {
        *state = known;
        return 1;
    }
    if (pool->pending_txs >= pool->config.max_pending_txs ||
        len > pool->config.max_pending_bytes - pool->pending_bytes ||
        e->pending_bytes + len > ns_share(pool, e) ||
        pool->n_queued >= pool->config.max_batches_per_author) {
        return SEQ_EFULL;
    }
    return SEQ_OK;
}

int mp_pool_submit(struct mp_pool *pool,
                   uint64_t now_ms,
                   uint64_t ns,
                   const void *payload,
                   size_t len,
                   struct seq_hash *hash,
                   enum mp_tx_state *state)
{
    const struct mp_config *c = &pool->config;
    struct ns_entry *e = mp_pool_find_ns(pool, ns);
    struct mp_batch *fresh = NULL;
    struct seq_hash h;
    int rv;

    if (e == NULL) {
        pool->stats.rejected_unknown_ns++;
        return SEQ_ENOTFOUND;
    }
    if (len > e->max_tx_size || len > c->max_tx_size) {
        pool->stats.rejected_too_big++;
        return SEQ_ETOOBIG;
    }
    mp_tx_hash(ns, payload, len, &h);
    rv = admit_check(pool, e, len, &h, state);
    if (rv == 1) {
        pool->stats.duplicates++;
        *hash = h;
        return SEQ_OK;
    }
    if (rv != 0) {
        pool->stats.rejected_full++;
        return rv;
    }
    /* An empty open batch has room for any admissible transaction, since
     * batch_max_bytes >= max_tx_size; a full one was sealed already. */
    if (pool->open == NULL ||
        len > pool->open->data_cap - pool->open->data_len) {
        fresh = mp_batch_new_open(c->self, pool->next_seq, c->batch_max_txs,
                                  c->batch_max_bytes);
        if (fresh == NULL) {
            return SEQ_ENOMEM;
        }
    }
    /* (M5) Nothing below can fail. */
    if (fresh != NULL) {
        if (pool->open != NULL) {
            assert(pool->open->n_txs > 0);
            enqueue(pool, pool->open);
        }
        pool->open = fresh;
        pool->next_seq++;
    }
    if (pool->open->n_txs == 0) {
        pool->open->opened_at = now_ms;
    }
    mp_batch_append(pool->open, ns, payload, (uint32_t)len, &h);
    rv = seq_hset_put(&pool->pending, &h, NULL);
    assert(rv == 0); /* (M2) */
    pool->pending_txs++;
    pool->pending_bytes += len;
    e->pending_txs++;
    e->pending_bytes += len;
    pool->stats.admitted++;
    if (batch_full(pool->open)) {
        enqueue(pool, pool->open);
        pool->open = NULL;
    }
    *hash = h;
    *state = MP_TX_NEW;
    return SEQ_OK;
}

/* (author, seq, id) order of held batches (M1). */
static int batch_cmp(const struct mp_batch *a, const struct mp_batch *b)
{
    if (a->seq != b->seq) {
        return a->seq < b->seq ? -1 : 1;
    }
    return seq_hash_cmp(&a->id, &b->id);
}

/* Adds @batch to the held batches and its transactions to held_txs; its
 * author's slot and held_txs have room (M8). */
static void hold(struct mp_pool *pool, struct mp_batch *batch)
{
    struct author_slot *slot = &pool->authors[batch->author];
    size_t i = slot->n;
    int rv;

    assert(slot->n < pool->config.max_batches_per_author);
    while (i > 0 && batch_cmp(slot->batches[i - 1], batch) > 0) {
        slot->batches[i] = slot->batches[i - 1];
        i--;
    }
    slot->batches[i] = batch;
    slot->n++;
    slot->txs += batch->n_txs;
    slot->bytes += batch->payload_bytes;
    rv = seq_hset_put(&pool->held, &batch->id, batch);
    assert(rv == 0);
    for (i = 0; i < batch->n_txs; i++) {
        if (i + SEQ_HSET_AHEAD < batch->n_txs) {
            seq_hset_prefetch(&pool->held_txs,
                              &batch->txs[i + SEQ_HSET_AHEAD].hash, true);
        }
        rv = seq_hset_ref(&pool->held_txs, &batch->txs[i].hash);
        assert(rv == 0);
    }
    if (batch->added) {
        pool->held_peer_txs += batch->n_txs;
    }
    (void)rv;
}

void mp_pool_release(struct mp_pool *pool, struct mp_batch *batch)
{
    struct author_slot *slot = &pool->authors[batch->author];
    size_t i = 0;

    while (i < slot->n && slot->batches[i] != batch) {
        i++;
    }
    assert(i < slot->n);
    memmove(&slot->batches[i], &slot->batches[i + 1],
            (slot->n - i - 1) * sizeof slot->batches[0]);
    slot->n--;
    slot->txs -= batch->n_txs;
    slot->bytes -= batch->payload_bytes;
    seq_hset_del(&pool->held, &batch->id);
    for (i = 0; i < batch->n_txs; i++) {
        if (i + SEQ_HSET_AHEAD < batch->n_txs) {
            seq_hset_prefetch(&pool->held_txs,
                              &batch->txs[i + SEQ_HSET_AHEAD].hash, true);
        }
        seq_hset_unref(&pool->held_txs, &batch->txs[i].hash);
    }
    if (batch->added) {
        pool->held_peer_txs -= batch->n_txs;
    }
    mp_batch_free(batch);
}

int mp_pool_tick(struct mp_pool *pool,
                 uint64_t now_ms,
                 const struct mp_batch **out)
{
    const struct mp_config *c = &pool->config;
    struct mp_batch *open = pool->open;
    struct mp_batch *b;

    /* An interval of 0 seals whatever is open, whatever the clock says. */
    if (open != NULL && open->n_txs > 0 &&
        (c->batch_interval_ms == 0 ||
         (now_ms >= open->opened_at &&
          now_ms - open->opened_at >= c->batch_interval_ms))) {
        enqueue(pool, open);
        pool->open = NULL;
    }
    b = pool->queue_head;
    if (b == NULL || pool->authors[c->self].n >= c->max_batches_per_author) {
        return 0;
    }
    pool->queue_head = b->next;
    if (pool->queue_head == NULL) {
        pool->queue_tail = NULL;
    }
    b->next = NULL;
    pool->n_queued--;
    hold(pool, b);
    *out = b;
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Peer batches                                                           */

/* Whether @slot has room for @b beside what it holds (M6). */
static bool slot_fits(const struct mp_pool *pool,
                      const struct author_slot *slot,
                      const struct mp_batch *b)
{
    const struct mp_config *c = &pool->config;

    if (slot->n >= c->max_batches_per_author) {
        return false;
    }
    return b->author == c->self ||
           (slot->txs + b->n_txs <= 2 * (uint64_t)c->max_pending_txs &&
            slot->bytes + b->payload_bytes <= 2 * c->max_pending_bytes);
}

/* The batch a fetched one evicts from a non-empty @slot (M6). */
static struct mp_batch *eviction_victim(const struct author_slot *slot)
{
    size_t i = slot->n;

    while (i > 0) {
        i--;
        if (!slot->batches[i]->fetched) {
            return slot->batches[i];
        }
    }
    return slot->batches[slot->n - 1];
}

/* Every check mp_pool_add_batch documents after decoding. */
static int batch_acceptable(const struct mp_pool *pool,
                            uint32_t from,
                            const struct mp_batch *b,
                            const struct seq_hash *expected_id)
{
    const struct author_slot *slot;
    size_t i;

    if (b->author >= pool->config.n_validators) {
        return SEQ_EBADMSG;
    }
    if (expected_id != NULL ? !seq_hash_eq(expected_id, &b->id)
                            : b->author != from) {
        return SEQ_EBADMSG;
    }
    for (i = 0; i < b->n_txs; i++) {
        const struct ns_entry *e = mp_pool_find_ns(pool, b->txs[i].ns);
        if (e == NULL || b->txs[i].len > e->max_tx_size) {
            return SEQ_EBADMSG;
        }
    }
    /* A fetch response is wanted even if the window has the id (M4). */
    if (seq_hset_get(&pool->held, &b->id, NULL) ||
        (expected_id == NULL &&
         seq_hset_get(&pool->win_batches, &b->id, NULL))) {
        return SEQ_EEXIST;
    }
    slot = &pool->authors[b->author];
    if (expected_id == NULL) {
        for (i = 0; i < slot->n; i++) {
            if (slot->batches[i]->seq == b->seq) {
                return SEQ_EBADMSG; /* The author equivocates. */
            }
        }
    }
    /* A fetched batch is one a proposal or a commit needs: it makes room
     * (mp_pool_add_batch) instead of waiting for room that only the
     * commit it blocks would free. */
    if (!slot_fits(pool, slot, b) &&
        (expected_id == NULL || b->author == pool->config.self)) {
        return SEQ_EFULL;
    }
    return SEQ_OK;
}

int mp_pool_add_batch(struct mp_pool *pool,
                      uint32_t from,
                      const uint8_t *buf,
                      size_t len,
                      const struct seq_hash *expected_id)
{
    const struct mp_config *c = &pool->config;
    struct mp_batch_limits limits = {
        .max_txs = c->batch_max_txs,
        .max_bytes = c->batch_max_bytes,
        .max_tx_size = c->max_tx_size,
    };
    struct mp_batch *b = NULL;
    int rv;

    if (from >= c->n_validators) {
        return SEQ_EINVAL;
    }
    rv = mp_batch_decode(buf, len, &limits, &b);
    if (rv == SEQ_ENOMEM) {
        return rv;
    }
    if (rv == 0) {
        rv = batch_acceptable(pool, from, b, expected_id);
    }
    if (rv == 0) {
        /* (M8) Room for its transactions; what we seal has its own. */
        b->added = true;
        rv = seq_hset_reserve(&pool->held_txs,
                              pool->held_peer_txs + b->n_txs + own_slot_txs(c));
        if (rv != 0) {
            mp_batch_free(b);
            return rv;
        }
    }
    if (rv != 0) {
        if (rv != SEQ_EEXIST) {
            pool->stats.batches_rejected++;
        }
        mp_batch_free(b);
        return rv;
    }
    b->fetched = expected_id != NULL;
    while (pool->authors[b->author].n > 0 &&
           !slot_fits(pool, &pool->authors[b->author], b)) {
        /* A wanted batch evicts (M6); a later fetch brings an evicted one
         * back if it is needed. */
        mp_pool_release(pool, eviction_victim(&pool->authors[b->author]));
        pool->stats.batches_evicted++;
    }
    hold(pool, b);
    pool->stats.batches_added++;
    return SEQ_OK;
}

const struct mp_batch *mp_pool_get_batch(const struct mp_pool *pool,
                                         const struct seq_hash *id)
{
    void *b = NULL;

    return seq_hset_get(&pool->held, id, &b) ? b : NULL;
}

/* ---------------------------------------------------------------------- */
/* Payloads                                                               */

static void clear_marks(struct mp_pool *pool)
{
    size_t i;
    size_t j;

    for (i = 0; i < pool->config.n_validators; i++) {
        for (j = 0; j < pool->authors[i].n; j++) {
            pool->authors[i].batches[j]->mark = false;
        }
    }
}

/* Marks the held batches that @ancestors reference or the window has
 * (M4): the leader leaves them out. */
static int mark_excluded(struct mp_pool *pool,
                         const struct mp_bytes *ancestors,
                         size_t n_ancestors)
{
    size_t i;
    size_t j;

    for (i = 0; i < pool->config.n_validators; i++) {
        for (j = 0; j < pool->authors[i].n; j++) {
            struct mp_batch *b = pool->authors[i].batches[j];
            b->mark = seq_hset_get(&pool->win_batches, &b->id, NULL);
        }
    }
    for (i = 0; i < n_ancestors; i++) {
        struct seq_hash *ids = NULL;
        size_t n = 0;
        int rv = mp_payload_decode(ancestors[i].buf, ancestors[i].len,
                                   pool->config.block_max_batches, &ids, &n);
        if (rv != 0) {
            return rv;
        }
        for (j = 0; j < n; j++) {
            void *b;
            if (seq_hset_get(&pool->held, &ids[j], &b)) {
                ((struct mp_batch *)b)->mark = true;
            }
        }
        seq_free(ids);
    }
    return SEQ_OK;
}

int mp_pool_build_payload(struct mp_pool *pool,
                          const struct mp_bytes *ancestors,
                          size_t n_ancestors,
                          uint8_t **out,
                          size_t *out_len)
{
    const struct mp_config *c = &pool->config;
    size_t cursor[HS_MAX_VALIDATORS] = { 0 };
    struct seq_hash *ids;
    uint64_t bytes = 0;
    size_t n = 0;
    bool more = true;
    bool fits = true;
    int rv;

    ids = seq_malloc(c->block_max_batches * sizeof *ids);
    if (ids == NULL) {
        return SEQ_ENOMEM;
    }
    rv = mark_excluded(pool, ancestors, n_ancestors);
    /* Round-robin over authors, each in (seq, id) order, skipping what is
     * marked; stop at the first batch that would break a limit. */
    while (rv == 0 && more && fits && n < c->block_max_batches) {
        uint32_t a;

        more = false;
        for (a = 0; a < c->n_validators && n < c->block_max_batches; a++) {
            const struct author_slot *slot = &pool->authors[a];
            const struct mp_batch *b;

            while (cursor[a] < slot->n && slot->batches[cursor[a]]->mark) {
                cursor[a]++;
            }
            if (cursor[a] == slot->n) {
                continue;
            }
            b = slot->batches[cursor[a]++];
            if (b->payload_bytes > c->block_max_bytes - bytes) {
                fits = false;
                break;
            }
            bytes += b->payload_bytes;
            ids[n++] = b->id;
            more = true;
        }
    }
    clear_marks(pool);
    if (rv == 0) {
        rv = mp_payload_encode(ids, n, out, out_len);
    }
    seq_free(ids);
    return rv;
}

int mp_level_resolve(const struct mp_pool *pool,
                     struct mp_level *lvl,
                     const uint8_t *buf,
                     size_t len)
{
    size_t i;
    int rv;

    rv = mp_payload_decode(buf, len, pool->config.block_max_batches, &lvl->ids,
                           &lvl->n);
    if (rv != 0) {
        return rv;
    }
    lvl->batches = seq_calloc(lvl->n, sizeof *lvl->batches);
    if (lvl->batches == NULL) {
        return SEQ_ENOMEM;
    }
    lvl->n_missing = 0;
    for (i = 0; i < lvl->n; i++) {
        void *b = NULL;
        if (seq_hset_get(&pool->held, &lvl->ids[i], &b)) {
            lvl->batches[i] = b;
        } else {
            lvl->n_missing++;
        }
    }
    return SEQ_OK;
}

void mp_level_close(struct mp_level *lvl)
{
    seq_free(lvl->batches);
    seq_free(lvl->ids);
    lvl->batches = NULL;
    lvl->ids = NULL;
    lvl->n = 0;
}

int mp_level_report_missing(const struct mp_pool *pool,
                            const struct mp_level *levels,
                            size_t n,
                            struct seq_hash **missing,
                            size_t *n_missing)
{
    struct seq_hash *list;
    struct seq_hset seen;
    size_t total = 0;
    size_t k = 0;
    size_t i;
    size_t j;

    if (missing == NULL) {
        return SEQ_EAGAIN;
    }
    for (i = 0; i < n; i++) {
        total += levels[i].n_missing;
    }
    assert(total > 0);
    list = seq_malloc(total * sizeof *list);
    if (list == NULL) {
        return SEQ_ENOMEM;
    }
    if (seq_hset_init(&seen, total, pool->config.hash_seed) != 0) {
        seq_free(list);
        return SEQ_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        for (j = 0; j < levels[i].n; j++) {
            if (levels[i].batches[j] == NULL &&
                seq_hset_put(&seen, &levels[i].ids[j], NULL) == 0) {
                list[k++] = levels[i].ids[j];
            }
        }
    }
    seq_hset_close(&seen);
    *missing = list;
    *n_missing = k;
    return SEQ_EAGAIN;
}

int mp_pool_check_payload(const struct mp_pool *pool,
                          const uint8_t *buf,
                          size_t len,
                          struct seq_hash **missing,
                          size_t *n_missing)
{
    struct mp_level lvl;
    uint64_t bytes = 0;
    size_t i;
    int rv;

    memset(&lvl, 0, sizeof lvl);
    rv = mp_level_resolve(pool, &lvl, buf, len);
    for (i = 0; rv == 0 && i < lvl.n; i++) {
        if (seq_hset_get(&pool->win_batches, &lvl.ids[i], NULL)) {
            rv = SEQ_EBADMSG; /* (M4) */
        }
    }
    if (rv == 0 && lvl.n_missing > 0) {
        rv = mp_level_report_missing(pool, &lvl, 1, missing, n_missing);
    } else if (rv == 0) {
        for (i = 0; i < lvl.n; i++) {
            bytes += lvl.batches[i]->payload_bytes;
        }
        rv = bytes > pool->config.block_max_bytes ? SEQ_EBADMSG : SEQ_OK;
    }
    mp_level_close(&lvl);
    return rv;
}
