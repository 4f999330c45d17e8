/* The stage-1 mempool (mp_pool.h): what a validator does with transactions
 * between a client's POST and the commit of the block that orders them.
 *
 ****************** NOTES ON THE DESIGN OF THE STAGE-1 MEMPOOL *****************
 *
 * A transaction admitted here is "pending" until a committed block carries
 * it, whoever's batch that is. It first sits in the open batch; the open
 * batch is sealed when full or old (DESIGN §4) and queued; mp_pool_tick()
 * hands it to the driver for broadcast and moves it to the held batches,
 * next to the peers' batches. A leader proposes held batch ids; a commit
 * turns ids back into transactions and releases the batches.
 *
 * Indexes are fixed-capacity hash sets (mp_set.h), allocated at open:
 * pending tx hashes, held batches by id, and two rings of what committed
 * recently (tx hashes, batch ids) with a set over each. Held batches are
 * also kept per author in arrays sorted by (seq, id): those arrays, not
 * the sets, give every order.
 *
 * (M1) Determinism. Nothing iterates a set or compares pointers to
 *      produce output. Payloads take held batches round-robin over authors
 *      in id order, each author's in (seq, id) order; a commit lists
 *      transactions in payload order, then batch order; namespace slices
 *      come in ascending id. Hence the same calls give the same bytes, for
 *      any hash_seed (tested with two seeds).
 * (M2) Accounting. pending_txs and pending_bytes (in total and per
 *      namespace) are the count and payload bytes of the pending set. A
 *      transaction enters it only through mp_pool_submit and leaves it only
 *      when a commit carries it. The pending set is sized max_pending_txs,
 *      so admission (which checks the counters first) never finds it full.
 * (M3) Dedup. Submit admits a hash only if it is neither pending nor in the
 *      recent-commit ring. A commit keeps the first occurrence of a hash in
 *      the block and drops it when the ring has it. The ring is a function
 *      of the committed chain alone (same recent_txs everywhere), so every
 *      replica that runs the same commits drops the same transactions. The
 *      rings live in memory: after a restart they start empty, and dedup
 *      against blocks committed before the restart is lost until storage
 *      replays them (not done in stage 1).
 * (M4) A batch commits once. Committed batch ids enter their own ring; a
 *      payload naming one fails mp_pool_check_payload (an honest leader
 *      excludes ancestors' batches), and mp_pool_commit skips it.
 * (M5) Failure atomicity. Each call that can fail validates and allocates
 *      everything first and changes state only after the last check; the
 *      state changes themselves cannot fail (the sets never allocate). So
 *      any error, SEQ_ENOMEM included, leaves the pool unchanged, which the
 *      tests check by failing each allocation in turn.
 * (M6) Bounded memory. Pending transactions are capped in number and
 *      bytes, each namespace at its weighted share of the bytes; held
 *      batches at max_batches_per_author per author, each within the batch
 *      limits; sealed batches waiting for mp_pool_tick at that cap too.
 ******************************************************************************/

#include "mp_pool.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "hs_types.h"
#include "mp_batch_int.h"
#include "mp_set.h"
#include "seq_alloc.h"
#include "seq_err.h"

struct ns_entry {
    uint64_t id;
    char name[MP_NS_NAME_MAX + 1];
    uint32_t weight;
    uint32_t max_tx_size;
    uint64_t pending_txs;
    uint64_t pending_bytes;
};

/* The last cap items pushed, in a set for lookups. */
struct ring {
    struct seq_hash *items;
    size_t cap, n, next;
    struct mp_set set;
};

/* One author's held batches, sorted by (seq, id). */
struct author_slot {
    struct mp_batch **batches; /* cap = max_batches_per_author */
    size_t n;
};

struct mp_pool {
    struct mp_config config; /* namespaces is NULL: see ns. */
    struct ns_entry *ns;     /* Owned, sorted by id. */
    size_t n_ns;
    uint64_t total_weight;
    struct mp_set pending;
    uint64_t pending_txs, pending_bytes;
    struct ring recent_txs;
    struct ring recent_batches;
    struct mp_set held; /* id -> struct mp_batch *, owned through authors. */
    struct author_slot *authors; /* n_validators slots. */
    struct mp_batch **slot_mem;  /* Owned storage of every slot's array. */
    struct mp_batch *open;       /* Owned; NULL or being filled. */
    struct mp_batch *queue_head, *queue_tail; /* Owned, sealed, FIFO. */
    size_t n_queued;
    uint64_t next_seq;
    struct mp_stats stats;
};

/* ---------------------------------------------------------------------- */
/* Small helpers                                                          */

static int ring_init(struct ring *ring, size_t cap, uint64_t seed)
{
    int rv;

    memset(ring, 0, sizeof *ring);
    ring->items = seq_calloc(cap, sizeof *ring->items);
    if (ring->items == NULL) {
        return SEQ_ENOMEM;
    }
    rv = mp_set_init(&ring->set, cap, seed);
    if (rv != 0) {
        seq_free(ring->items);
        ring->items = NULL;
        return rv;
    }
    ring->cap = cap;
    return SEQ_OK;
}

static void ring_close(struct ring *ring)
{
    mp_set_close(&ring->set);
    seq_free(ring->items);
    memset(ring, 0, sizeof *ring);
}

static bool ring_has(const struct ring *ring, const struct seq_hash *h)
{
    return mp_set_get(&ring->set, h, NULL);
}

/* Remembers @h, forgetting the oldest item when full. */
static void ring_push(struct ring *ring, const struct seq_hash *h)
{
    int rv;

    if (ring_has(ring, h)) {
        return;
    }
    if (ring->n == ring->cap) {
        mp_set_del(&ring->set, &ring->items[ring->next]);
        ring->n--;
    }
    ring->items[ring->next] = *h;
    ring->next = (ring->next + 1) % ring->cap;
    ring->n++;
    rv = mp_set_put(&ring->set, h, NULL);
    assert(rv == 0);
    (void)rv;
}

static struct ns_entry *find_ns(const struct mp_pool *pool, uint64_t id)
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
        c->block_max_bytes < c->batch_max_bytes || c->recent_txs == 0 ||
        c->recent_batches == 0 || c->n_namespaces > MP_MAX_NS ||
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

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                              */

int mp_pool_open(const struct mp_config *config, struct mp_pool **out)
{
    const struct mp_config *c = config;
    struct mp_pool *pool;
    size_t per = c->max_batches_per_author;
    size_t i;
    size_t j;
    int rv;

    if (!config_valid(c)) {
        return SEQ_EINVAL;
    }
    for (i = 0; i < c->n_namespaces; i++) {
        if (!ns_valid(&c->namespaces[i])) {
            return SEQ_EINVAL;
        }
        for (j = 0; j < i; j++) {
            if (c->namespaces[j].id == c->namespaces[i].id) {
                return SEQ_EINVAL;
            }
        }
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
    rv = mp_set_init(&pool->pending, c->max_pending_txs, c->hash_seed);
    if (rv != 0) {
        goto err_after_ns;
    }
    rv = ring_init(&pool->recent_txs, c->recent_txs, c->hash_seed);
    if (rv != 0) {
        goto err_after_pending;
    }
    rv = ring_init(&pool->recent_batches, c->recent_batches, c->hash_seed);
    if (rv != 0) {
        goto err_after_recent_txs;
    }
    rv = mp_set_init(&pool->held, per * c->n_validators, c->hash_seed);
    if (rv != 0) {
        goto err_after_recent_batches;
    }
    pool->authors = seq_calloc(c->n_validators, sizeof *pool->authors);
    if (pool->authors == NULL) {
        rv = SEQ_ENOMEM;
        goto err_after_held;
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
err_after_held:
    mp_set_close(&pool->held);
err_after_recent_batches:
    ring_close(&pool->recent_batches);
err_after_recent_txs:
    ring_close(&pool->recent_txs);
err_after_pending:
    mp_set_close(&pool->pending);
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
    seq_free(pool->slot_mem);
    seq_free(pool->authors);
    mp_set_close(&pool->held);
    ring_close(&pool->recent_batches);
    ring_close(&pool->recent_txs);
    mp_set_close(&pool->pending);
    seq_free(pool->ns);
    seq_free(pool);
}

int mp_pool_add_namespace(struct mp_pool *pool, const struct mp_namespace *ns)
{
    struct ns_entry *grown;

    if (!ns_valid(ns) || pool->n_ns >= MP_MAX_NS) {
        return SEQ_EINVAL;
    }
    if (find_ns(pool, ns->id) != NULL) {
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

/* Checks, in the order mp_pool.h documents, whether the transaction can be
 * admitted; 1 means it is a duplicate, with *state set. */
static int admit_check(struct mp_pool *pool,
                       const struct ns_entry *e,
                       size_t len,
                       const struct seq_hash *hash,
                       enum mp_tx_state *state)
{
    if (mp_set_get(&pool->pending, hash, NULL)) {
        *state = MP_TX_PENDING;
        return 1;
    }
    if (ring_has(&pool->recent_txs, hash)) {
        *state = MP_TX_COMMITTED;
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
    struct ns_entry *e = find_ns(pool, ns);
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
    rv = mp_set_put(&pool->pending, &h, NULL);
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

enum mp_tx_state mp_pool_tx_state(const struct mp_pool *pool,
                                  const struct seq_hash *hash)
{
    if (mp_set_get(&pool->pending, hash, NULL)) {
        return MP_TX_PENDING;
    }
    if (ring_has(&pool->recent_txs, hash)) {
        return MP_TX_COMMITTED;
    }
    return MP_TX_UNKNOWN;
}

/* (author, seq, id) order of held batches (M1). */
static int batch_cmp(const struct mp_batch *a, const struct mp_batch *b)
{
    if (a->seq != b->seq) {
        return a->seq < b->seq ? -1 : 1;
    }
    return seq_hash_cmp(&a->id, &b->id);
}

/* Adds @batch to the held batches; its author's slot has room. */
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
    rv = mp_set_put(&pool->held, &batch->id, batch);
    assert(rv == 0);
    (void)rv;
}

/* Removes a held batch and frees it. */
static void release(struct mp_pool *pool, struct mp_batch *batch)
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
    mp_set_del(&pool->held, &batch->id);
    mp_batch_free(batch);
}

int mp_pool_tick(struct mp_pool *pool,
                 uint64_t now_ms,
                 const struct mp_batch **out)
{
    struct mp_batch *open = pool->open;
    struct mp_batch *b;

    if (open != NULL && open->n_txs > 0 && now_ms >= open->opened_at &&
        now_ms - open->opened_at >= pool->config.batch_interval_ms) {
        enqueue(pool, open);
        pool->open = NULL;
    }
    b = pool->queue_head;
    if (b == NULL || pool->authors[pool->config.self].n >=
                         pool->config.max_batches_per_author) {
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
        const struct ns_entry *e = find_ns(pool, b->txs[i].ns);
        if (e == NULL || b->txs[i].len > e->max_tx_size) {
            return SEQ_EBADMSG;
        }
    }
    if (mp_set_get(&pool->held, &b->id, NULL) ||
        ring_has(&pool->recent_batches, &b->id)) {
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
    if (slot->n >= pool->config.max_batches_per_author) {
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
    if (rv != 0) {
        if (rv != SEQ_EEXIST) {
            pool->stats.batches_rejected++;
        }
        mp_batch_free(b);
        return rv;
    }
    hold(pool, b);
    pool->stats.batches_added++;
    return SEQ_OK;
}

const struct mp_batch *mp_pool_get_batch(const struct mp_pool *pool,
                                         const struct seq_hash *id)
{
    void *b = NULL;

    return mp_set_get(&pool->held, id, &b) ? b : NULL;
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

/* Marks the held batches that @ancestors reference. */
static int mark_ancestors(struct mp_pool *pool,
                          const struct mp_bytes *ancestors,
                          size_t n_ancestors)
{
    size_t i;
    size_t j;

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
            if (mp_set_get(&pool->held, &ids[j], &b)) {
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
    rv = mark_ancestors(pool, ancestors, n_ancestors);
    /* Round-robin over authors, each in (seq, id) order, skipping what an
     * ancestor has; stop at the first batch that would break a limit. */
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

/* Decodes @buf and sorts its ids into held (in *batches, NULL where not
 * held) and missing; recently committed ones are SEQ_EBADMSG when
 * @committed_is_bad, else skipped (NULL, not missing). On success *ids and
 * *batches are returned owned. */
static int resolve(const struct mp_pool *pool,
                   const uint8_t *buf,
                   size_t len,
                   bool committed_is_bad,
                   struct seq_hash **ids_out,
                   struct mp_batch ***batches_out,
                   size_t *n_out,
                   size_t *n_missing)
{
    struct seq_hash *ids = NULL;
    struct mp_batch **batches;
    size_t n = 0;
    size_t i;
    int rv;

    rv = mp_payload_decode(buf, len, pool->config.block_max_batches, &ids, &n);
    if (rv != 0) {
        return rv;
    }
    batches = seq_calloc(n, sizeof *batches);
    if (batches == NULL) {
        seq_free(ids);
        return SEQ_ENOMEM;
    }
    *n_missing = 0;
    for (i = 0; i < n; i++) {
        void *b = NULL;
        if (ring_has(&pool->recent_batches, &ids[i])) {
            if (committed_is_bad) {
                seq_free(batches);
                seq_free(ids);
                return SEQ_EBADMSG; /* (M4) */
            }
        } else if (mp_set_get(&pool->held, &ids[i], &b)) {
            batches[i] = b;
        } else {
            (*n_missing)++;
        }
    }
    *ids_out = ids;
    *batches_out = batches;
    *n_out = n;
    return SEQ_OK;
}

/* The missing ids of a resolved payload, in payload order, as SEQ_EAGAIN
 * (or SEQ_ENOMEM). */
static int report_missing(const struct mp_pool *pool,
                          const struct seq_hash *ids,
                          struct mp_batch *const *batches,
                          size_t n,
                          size_t n_missing,
                          struct seq_hash **missing,
                          size_t *n_missing_out)
{
    struct seq_hash *list;
    size_t i;
    size_t k = 0;

    if (missing == NULL) {
        return SEQ_EAGAIN;
    }
    list = seq_malloc(n_missing * sizeof *list);
    if (list == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        if (batches[i] == NULL && !ring_has(&pool->recent_batches, &ids[i])) {
            list[k++] = ids[i];
        }
    }
    assert(k == n_missing);
    *missing = list;
    *n_missing_out = n_missing;
    return SEQ_EAGAIN;
}

int mp_pool_check_payload(const struct mp_pool *pool,
                          const uint8_t *buf,
                          size_t len,
                          struct seq_hash **missing,
                          size_t *n_missing)
{
    struct seq_hash *ids;
    struct mp_batch **batches;
    uint64_t bytes = 0;
    size_t n;
    size_t n_miss;
    size_t i;
    int rv;

    rv = resolve(pool, buf, len, true, &ids, &batches, &n, &n_miss);
    if (rv != 0) {
        return rv;
    }
    if (n_miss > 0) {
        rv = report_missing(pool, ids, batches, n, n_miss, missing, n_missing);
    } else {
        for (i = 0; i < n; i++) {
            bytes += batches[i]->payload_bytes;
        }
        rv = bytes > pool->config.block_max_bytes ? SEQ_EBADMSG : SEQ_OK;
    }
    seq_free(batches);
    seq_free(ids);
    return rv;
}

/* ---------------------------------------------------------------------- */
/* Commit                                                                 */

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

/* Fills @t from the kept transactions @kept[0..n) (in block order), using
 * @count (one slot per namespace of the pool, zeroed) as scratch. */
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
        /* Namespaces are checked on entry and never removed. */
        assert(find_ns(pool, tx->ns) != NULL);
        count[find_ns(pool, tx->ns) - pool->ns]++;
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
        size_t s = count[find_ns(pool, t->txs[i].ns) - pool->ns];
        struct mp_ns_slice *slice = &t->ns[s];
        size_t first = (size_t)(slice->txs - t->by_ns);
        t->by_ns[first + slice->n_txs++] = t->txs[i];
    }
}

/* Scratch for one commit, all allocated before the pool changes (M5). */
struct commit_work {
    struct seq_hash *ids;
    struct mp_batch **batches;
    size_t n;
    struct mp_tx *txs; /* Every transaction of the held batches. */
    struct mp_tx **kept;
    size_t n_txs, n_kept, kept_bytes;
    struct mp_set seen; /* Hashes kept so far in this block. */
    size_t *count;
};

static void commit_work_close(struct commit_work *w)
{
    seq_free(w->count);
    mp_set_close(&w->seen);
    seq_free(w->kept);
    seq_free(w->txs);
    seq_free(w->batches);
    seq_free(w->ids);
}

/* Picks the transactions to keep (M3) into w->kept, in block order. */
static int commit_select(const struct mp_pool *pool, struct commit_work *w)
{
    size_t i;
    size_t j;
    size_t k = 0;
    int rv;

    for (i = 0; i < w->n; i++) {
        w->n_txs += w->batches[i] == NULL ? 0 : w->batches[i]->n_txs;
    }
    w->txs = seq_calloc(w->n_txs, sizeof *w->txs);
    w->kept = seq_calloc(w->n_txs, sizeof *w->kept);
    w->count = seq_calloc(pool->n_ns, sizeof *w->count);
    if (w->txs == NULL || w->kept == NULL || w->count == NULL) {
        return SEQ_ENOMEM;
    }
    rv = mp_set_init(&w->seen, w->n_txs, pool->config.hash_seed);
    if (rv != 0) {
        return rv;
    }
    for (i = 0; i < w->n; i++) {
        for (j = 0; w->batches[i] != NULL && j < w->batches[i]->n_txs; j++) {
            struct mp_tx *tx = &w->txs[k++];
            mp_batch_tx(w->batches[i], j, tx);
            if (ring_has(&pool->recent_txs, &tx->hash) ||
                mp_set_put(&w->seen, &tx->hash, NULL) != 0) {
                continue; /* Committed before, or earlier in this block. */
            }
            w->kept[w->n_kept++] = tx;
            w->kept_bytes += tx->len;
        }
    }
    return SEQ_OK;
}

/* The state changes of a commit, none of which can fail (M5). */
static void commit_apply(struct mp_pool *pool, struct commit_work *w)
{
    size_t i;

    for (i = 0; i < w->n_kept; i++) {
        const struct mp_tx *tx = w->kept[i];
        ring_push(&pool->recent_txs, &tx->hash);
        if (mp_set_del(&pool->pending, &tx->hash)) { /* (M2) */
            struct ns_entry *e = find_ns(pool, tx->ns);
            pool->pending_txs--;
            pool->pending_bytes -= tx->len;
            e->pending_txs--;
            e->pending_bytes -= tx->len;
        }
    }
    /* What was committed through someone else's batch leaves ours. */
    for (i = pool->open == NULL ? 0 : pool->open->n_txs; i > 0; i--) {
        if (mp_set_get(&w->seen, &pool->open->txs[i - 1].hash, NULL)) {
            mp_batch_remove(pool->open, i - 1);
        }
    }
    for (i = 0; i < w->n; i++) {
        ring_push(&pool->recent_batches, &w->ids[i]);
        if (w->batches[i] != NULL) {
            release(pool, w->batches[i]);
        }
    }
    pool->stats.committed_txs += w->n_kept;
    pool->stats.committed_dropped += w->n_txs - w->n_kept;
}

int mp_pool_commit(struct mp_pool *pool,
                   const uint8_t *buf,
                   size_t len,
                   struct mp_block_txs **out,
                   struct seq_hash **missing,
                   size_t *n_missing)
{
    struct commit_work w;
    struct mp_block_txs *t = NULL;
    size_t n_miss = 0;
    int rv;

    memset(&w, 0, sizeof w);
    rv = resolve(pool, buf, len, false, &w.ids, &w.batches, &w.n, &n_miss);
    if (rv != 0) {
        return rv;
    }
    if (n_miss > 0) {
        rv = report_missing(pool, w.ids, w.batches, w.n, n_miss, missing,
                            n_missing);
        goto done;
    }
    rv = commit_select(pool, &w);
    if (rv != 0) {
        goto done;
    }
    t = block_txs_new(w.n_kept, w.kept_bytes, pool->n_ns);
    if (t == NULL) {
        rv = SEQ_ENOMEM;
        goto done;
    }
    /* Copy out before commit_apply() frees the batches. */
    block_txs_fill(pool, t, w.kept, w.n_kept, w.count);
    t->n_dropped = w.n_txs - w.n_kept;
    commit_apply(pool, &w);
    *out = t;

done:
    commit_work_close(&w);
    return rv;
}
