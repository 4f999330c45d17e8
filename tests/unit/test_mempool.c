/* The stage-1 mempool (mempool/mp_pool.h, mp_batch.h): admission and its
 * error table, capacity (global and weighted per namespace) and its
 * recovery after commit, batch sealing by size, by time and at every tick,
 * the canonical batch and payload encodings and the rejection of every
 * malformed shape, peer batch validation, payload building and checking,
 * commit order and dedup (first occurrence wins), the dedup window by
 * height and over uncommitted ancestors (M3), batches committed within it
 * (M4), mp_pool_block_txs against mp_pool_commit and a naive model over
 * random chains with restarts (M7), restore and seq continuation after a
 * restart, pending through peers' batches (M8), determinism across hash
 * seeds (M1), failure of each allocation in turn leaving the pool
 * unchanged (M5), and the hash set (seq_hset.h) against a naive model. */

#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "mp_batch.h"
#include "mp_pool.h"
#include "mp_pool_int.h" /* The window table's size. */
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hash.h"
#include "seq_hset.h"
#include "seq_rng.h"

#define NS_A 1 /* weight 1, max 100 */
#define NS_B 2 /* weight 3, max 200 (above the global 150) */
#define NS_C 7 /* weight 1, max 50 */

static const struct mp_namespace test_ns[] = {
    { .id = NS_A, .name = "alpha", .weight = 1, .max_tx_size = 100 },
    { .id = NS_B, .name = "beta", .weight = 3, .max_tx_size = 200 },
    { .id = NS_C, .name = "gamma", .weight = 1, .max_tx_size = 50 },
};

static struct mp_config base_config(uint32_t self)
{
    struct mp_config c = {
        .self = self,
        .n_validators = 4,
        .namespaces = test_ns,
        .n_namespaces = 3,
        .max_tx_size = 150,
        .max_pending_txs = 100,
        .max_pending_bytes = 10000,
        .batch_max_txs = 4,
        .batch_max_bytes = 300,
        .batch_interval_ms = 10,
        .max_batches_per_author = 8,
        .block_max_batches = 16,
        .block_max_bytes = 4096,
        .dedup_heights = 64,
        .dedup_max_txs = 1u << 16,
        .hash_seed = 0x5eed,
    };
    return c;
}

static struct mp_pool *pool_new(const struct mp_config *c)
{
    struct mp_pool *pool = NULL;

    ASSERT_OK(mp_pool_open(c, &pool));
    return pool;
}

/* A payload of @len bytes, all @fill. */
static const uint8_t *bytes_of(size_t len, uint8_t fill)
{
    static uint8_t buf[4096];

    ASSERT_LE(len, sizeof buf);
    memset(buf, fill, len);
    return buf;
}

static int submit(struct mp_pool *pool,
                  uint64_t now,
                  uint64_t ns,
                  size_t len,
                  uint8_t fill,
                  struct seq_hash *hash,
                  enum mp_tx_state *state)
{
    struct seq_hash h;
    enum mp_tx_state s = 0;

    return mp_pool_submit(pool, now, ns, bytes_of(len, fill), len,
                          hash == NULL ? &h : hash, state == NULL ? &s : state);
}

static void submit_new(struct mp_pool *pool,
                       uint64_t now,
                       uint64_t ns,
                       size_t len,
                       uint8_t fill)
{
    enum mp_tx_state s = 0;

    ASSERT_OK(submit(pool, now, ns, len, fill, NULL, &s));
    ASSERT_EQ(s, MP_TX_NEW);
}

/* Takes every batch mp_pool_tick has for @now; returns how many. */
static size_t drain(struct mp_pool *pool, uint64_t now)
{
    const struct mp_batch *b;
    size_t n = 0;

    while (mp_pool_tick(pool, now, &b) == 1) {
        n++;
    }
    return n;
}

/* Encodes @b into a fresh buffer (seq_free). */
static uint8_t *encode(const struct mp_batch *b, size_t *len)
{
    uint8_t *buf = NULL;

    ASSERT_OK(mp_batch_encode(b, &buf, len));
    return buf;
}

/* Ticks @from at @now and hands each batch it seals to every pool in
 * @to[0..n) (as a broadcast from its author). Returns how many. */
static size_t gossip(struct mp_pool *from,
                     uint64_t now,
                     struct mp_pool **to,
                     size_t n)
{
    const struct mp_batch *b;
    size_t count = 0;
    size_t i;

    while (mp_pool_tick(from, now, &b) == 1) {
        size_t len;
        uint8_t *buf = encode(b, &len);
        for (i = 0; i < n; i++) {
            ASSERT_OK(
                mp_pool_add_batch(to[i], mp_batch_author(b), buf, len, NULL));
        }
        seq_free(buf);
        count++;
    }
    return count;
}

static struct mp_stats stats_of(const struct mp_pool *pool)
{
    struct mp_stats s;

    memset(&s, 0, sizeof s);
    mp_pool_stats(pool, &s);
    return s;
}

/* A digest of what the pool would do next: its counters and the payload it
 * would propose. Equal fingerprints before and after a failed call are
 * how the tests check "nothing changed" (M5). */
static void fingerprint(struct mp_pool *pool, struct seq_hash *out)
{
    struct mp_stats s = stats_of(pool);
    struct seq_sha256_ctx ctx;
    uint8_t *payload = NULL;
    size_t len = 0;

    ASSERT_OK(mp_pool_build_payload(pool, NULL, 0, &payload, &len));
    seq_sha256_init(&ctx);
    /* The state, not the totals (a rejection counts itself). */
    seq_sha256_u64(&ctx, s.pending_txs);
    seq_sha256_u64(&ctx, s.pending_bytes);
    seq_sha256_u64(&ctx, s.open_txs);
    seq_sha256_u64(&ctx, s.queued_batches);
    seq_sha256_u64(&ctx, s.held_batches);
    seq_sha256_u64(&ctx, s.next_seq);
    seq_sha256_u64(&ctx, s.committed_txs);
    seq_sha256_u64(&ctx, s.committed_height);
    seq_sha256_u64(&ctx, s.window_txs);
    seq_sha256_update(&ctx, payload == NULL ? (const void *)"" : payload, len);
    seq_sha256_final(&ctx, out);
    seq_free(payload);
}

/* ---------------------------------------------------------------------- */

TEST(mempool, admission_table)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool = pool_new(&c);
    struct seq_hash h1;
    struct seq_hash h2;
    struct seq_hash want;
    struct seq_hash unknown;
    enum mp_tx_state s = 0;
    uint8_t pre[8 + 100];

    ASSERT_ERR(submit(pool, 0, 99, 10, 'x', NULL, NULL), SEQ_ENOTFOUND);
    ASSERT_ERR(submit(pool, 0, NS_A, 101, 'x', NULL, NULL), SEQ_ETOOBIG);
    /* Beta allows 200, but the global limit is 150. */
    ASSERT_ERR(submit(pool, 0, NS_B, 151, 'x', NULL, NULL), SEQ_ETOOBIG);
    ASSERT_OK(submit(pool, 0, NS_B, 150, 'x', NULL, &s));
    ASSERT_EQ(s, MP_TX_NEW);

    ASSERT_OK(submit(pool, 0, NS_A, 100, 'a', &h1, &s));
    ASSERT_EQ(s, MP_TX_NEW);
    /* tx_hash = SHA-256(namespace u64 BE || payload). */
    memset(pre, 0, 8);
    pre[7] = NS_A;
    memset(pre + 8, 'a', 100);
    seq_sha256(pre, sizeof pre, &want);
    ASSERT_MEMEQ(h1.bytes, want.bytes, SEQ_HASH_LEN);

    /* A duplicate is idempotent: same hash, nothing admitted. */
    ASSERT_OK(submit(pool, 5, NS_A, 100, 'a', &h2, &s));
    ASSERT_EQ(s, MP_TX_PENDING);
    ASSERT_MEMEQ(h1.bytes, h2.bytes, SEQ_HASH_LEN);
    ASSERT_EQ(stats_of(pool).pending_txs, 2);
    ASSERT_EQ(stats_of(pool).pending_bytes, 250);
    ASSERT_EQ(stats_of(pool).duplicates, 1);
    ASSERT_EQ(stats_of(pool).rejected_unknown_ns, 1);
    ASSERT_EQ(stats_of(pool).rejected_too_big, 2);

    /* The same payload in another namespace is another transaction. */
    ASSERT_OK(submit(pool, 0, NS_C, 50, 'a', &h2, &s));
    ASSERT_EQ(s, MP_TX_NEW);
    ASSERT_FALSE(seq_hash_eq(&h1, &h2));
    ASSERT_EQ(mp_pool_tx_state(pool, &h1), MP_TX_PENDING);
    memset(&unknown, 7, sizeof unknown);
    ASSERT_EQ(mp_pool_tx_state(pool, &unknown), MP_TX_UNKNOWN);

    /* An empty payload is a transaction like any other. */
    ASSERT_OK(submit(pool, 0, NS_C, 0, 0, NULL, &s));
    ASSERT_EQ(s, MP_TX_NEW);
    mp_pool_free(pool);
}

TEST(mempool, config_validation)
{
    struct mp_config c = base_config(0);
    struct mp_namespace dup[2] = { test_ns[0], test_ns[0] };
    struct mp_namespace late = {
        .id = 42, .name = "late", .weight = 2, .max_tx_size = 10
    };
    struct mp_pool *pool = NULL;

    c.self = 4;
    ASSERT_ERR(mp_pool_open(&c, &pool), SEQ_EINVAL);
    c = base_config(0);
    c.batch_max_bytes = 100; /* Below max_tx_size. */
    ASSERT_ERR(mp_pool_open(&c, &pool), SEQ_EINVAL);
    c = base_config(0);
    c.namespaces = dup;
    c.n_namespaces = 2;
    ASSERT_ERR(mp_pool_open(&c, &pool), SEQ_EINVAL);
    c = base_config(0);
    c.dedup_max_txs = 0; /* The window must hold at least one entry. */
    ASSERT_ERR(mp_pool_open(&c, &pool), SEQ_EINVAL);
    ASSERT_TRUE(pool == NULL);

    c = base_config(0);
    pool = pool_new(&c);
    ASSERT_ERR(submit(pool, 0, 42, 5, 'l', NULL, NULL), SEQ_ENOTFOUND);
    ASSERT_OK(mp_pool_add_namespace(pool, &late));
    ASSERT_ERR(mp_pool_add_namespace(pool, &late), SEQ_EEXIST);
    late.weight = 0;
    ASSERT_ERR(mp_pool_add_namespace(pool, &late), SEQ_EINVAL);
    submit_new(pool, 0, 42, 5, 'l');
    ASSERT_ERR(submit(pool, 0, 42, 11, 'l', NULL, NULL), SEQ_ETOOBIG);
    mp_pool_free(pool);
}

TEST(mempool, capacity_global_txs_and_bytes)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    struct seq_hash before;
    struct seq_hash after;

    c.max_pending_txs = 3;
    pool = pool_new(&c);
    submit_new(pool, 0, NS_B, 10, 1);
    submit_new(pool, 0, NS_B, 10, 2);
    submit_new(pool, 0, NS_B, 10, 3);
    fingerprint(pool, &before);
    ASSERT_ERR(submit(pool, 0, NS_B, 10, 4, NULL, NULL), SEQ_EFULL);
    fingerprint(pool, &after);
    ASSERT_MEMEQ(before.bytes, after.bytes, SEQ_HASH_LEN);
    ASSERT_EQ(stats_of(pool).rejected_full, 1);
    /* A duplicate at capacity is still answered as such. */
    {
        enum mp_tx_state s = 0;
        ASSERT_OK(submit(pool, 0, NS_B, 10, 3, NULL, &s));
        ASSERT_EQ(s, MP_TX_PENDING);
    }
    mp_pool_free(pool);

    c = base_config(0);
    c.max_pending_bytes = 250;
    pool = pool_new(&c);
    /* Beta's share is 250 * 3 / 5 = 150. */
    submit_new(pool, 0, NS_B, 150, 1);
    ASSERT_ERR(submit(pool, 0, NS_B, 1, 2, NULL, NULL), SEQ_EFULL);
    submit_new(pool, 0, NS_A, 50, 1); /* Alpha's share is 50. */
    submit_new(pool, 0, NS_C, 50, 1);
    ASSERT_EQ(stats_of(pool).pending_bytes, 250);
    ASSERT_ERR(submit(pool, 0, NS_C, 1, 9, NULL, NULL), SEQ_EFULL);
    /* A namespace added now has a share (250 * 5 / 10) but the pool as a
     * whole is full. */
    {
        struct mp_namespace late = {
            .id = 42, .name = "late", .weight = 5, .max_tx_size = 10
        };
        ASSERT_OK(mp_pool_add_namespace(pool, &late));
        ASSERT_ERR(submit(pool, 0, 42, 1, 9, NULL, NULL), SEQ_EFULL);
    }
    mp_pool_free(pool);
}

/* Weighted shares of max_pending_bytes = 1000: alpha 200, beta 600, gamma
 * 200. A flooded namespace stops at its share; the others still get in. */
TEST(mempool, capacity_per_namespace_weights)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    uint8_t i;

    c.max_pending_bytes = 1000;
    c.max_batches_per_author = 64;
    pool = pool_new(&c);
    submit_new(pool, 0, NS_A, 100, 1);
    submit_new(pool, 0, NS_A, 100, 2);
    ASSERT_ERR(submit(pool, 0, NS_A, 1, 3, NULL, NULL), SEQ_EFULL);
    for (i = 0; i < 4; i++) {
        submit_new(pool, 0, NS_B, 150, i);
    }
    ASSERT_ERR(submit(pool, 0, NS_B, 1, 9, NULL, NULL), SEQ_EFULL);
    for (i = 0; i < 4; i++) {
        submit_new(pool, 0, NS_C, 50, i);
    }
    ASSERT_ERR(submit(pool, 0, NS_C, 1, 9, NULL, NULL), SEQ_EFULL);
    ASSERT_EQ(stats_of(pool).pending_bytes, 1000);
    ASSERT_EQ(stats_of(pool).rejected_full, 3);
    mp_pool_free(pool);
}

TEST(mempool, capacity_recovers_after_commit)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    struct mp_block_txs *txs = NULL;
    struct seq_hash h;
    enum mp_tx_state s = 0;
    uint8_t *payload = NULL;
    size_t len = 0;

    c.max_pending_bytes = 1000;
    pool = pool_new(&c);
    ASSERT_OK(submit(pool, 0, NS_A, 100, 1, &h, NULL));
    submit_new(pool, 0, NS_A, 100, 2);
    ASSERT_ERR(submit(pool, 0, NS_A, 100, 3, NULL, NULL), SEQ_EFULL);

    ASSERT_EQ(drain(pool, 10), 1);
    ASSERT_OK(mp_pool_build_payload(pool, NULL, 0, &payload, &len));
    ASSERT_OK(mp_pool_check_payload(pool, payload, len, NULL, NULL));
    ASSERT_OK(mp_pool_commit(pool, 1, payload, len, &txs, NULL, NULL));
    ASSERT_EQ(txs->n_txs, 2);
    ASSERT_EQ(stats_of(pool).pending_txs, 0);
    ASSERT_EQ(stats_of(pool).pending_bytes, 0);
    ASSERT_EQ(stats_of(pool).held_batches, 0);

    submit_new(pool, 20, NS_A, 100, 3);
    /* Resubmitting a committed transaction: 202 again, not admitted. */
    ASSERT_OK(submit(pool, 20, NS_A, 100, 1, NULL, &s));
    ASSERT_EQ(s, MP_TX_COMMITTED);
    ASSERT_EQ(mp_pool_tx_state(pool, &h), MP_TX_COMMITTED);
    ASSERT_EQ(stats_of(pool).pending_txs, 1);
    /* The same payload again: a voter refuses it (M4); its batch is gone,
     * so a commit would have to fetch it. */
    mp_block_txs_free(txs);
    ASSERT_ERR(mp_pool_check_payload(pool, payload, len, NULL, NULL),
               SEQ_EBADMSG);
    ASSERT_ERR(mp_pool_commit(pool, 2, payload, len, &txs, NULL, NULL),
               SEQ_EAGAIN);
    seq_free(payload);
    mp_pool_free(pool);
}

/* Sealed batches wait for mp_pool_tick; too many waiting is back-pressure,
 * and our own held batches are capped like a peer's. */
TEST(mempool, sealed_queue_backpressure)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    const struct mp_batch *b;
    uint8_t i;

    c.batch_max_txs = 1;
    c.max_batches_per_author = 2;
    pool = pool_new(&c);
    submit_new(pool, 0, NS_A, 1, 1);
    submit_new(pool, 0, NS_A, 1, 2);
    ASSERT_EQ(stats_of(pool).queued_batches, 2);
    ASSERT_ERR(submit(pool, 0, NS_A, 1, 3, NULL, NULL), SEQ_EFULL);
    ASSERT_EQ(drain(pool, 0), 2);
    for (i = 3; i < 5; i++) {
        submit_new(pool, 0, NS_A, 1, i);
    }
    /* Our two held batches fill our slot: tick keeps the rest queued. */
    ASSERT_EQ(mp_pool_tick(pool, 100, &b), 0);
    ASSERT_EQ(stats_of(pool).queued_batches, 2);
    ASSERT_EQ(stats_of(pool).held_batches, 2);
    mp_pool_free(pool);
}

TEST(mempool, seal_by_size)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool = pool_new(&c);
    const struct mp_batch *b;
    uint8_t i;

    /* Four transactions fill a batch: sealed before the interval. */
    for (i = 0; i < 4; i++) {
        submit_new(pool, 0, NS_A, 10, i);
    }
    ASSERT_EQ(stats_of(pool).open_txs, 0);
    ASSERT_EQ(mp_pool_tick(pool, 1, &b), 1);
    ASSERT_EQ(mp_batch_count(b), 4);
    ASSERT_EQ(mp_batch_seq(b), 1);
    ASSERT_EQ(mp_batch_author(b), 0);
    ASSERT_EQ(mp_pool_tick(pool, 1, &b), 0);

    /* 150 + 150 = batch_max_bytes: full. */
    submit_new(pool, 2, NS_B, 150, 1);
    submit_new(pool, 2, NS_B, 150, 2);
    ASSERT_EQ(mp_pool_tick(pool, 2, &b), 1);
    ASSERT_EQ(mp_batch_payload_bytes(b), 300);
    ASSERT_EQ(mp_batch_seq(b), 2);

    /* 100 + 100, then 150 does not fit: the first two are sealed and the
     * 150 opens batch 4. */
    submit_new(pool, 3, NS_B, 100, 3);
    submit_new(pool, 3, NS_B, 100, 4);
    submit_new(pool, 3, NS_B, 150, 5);
    ASSERT_EQ(mp_pool_tick(pool, 3, &b), 1);
    ASSERT_EQ(mp_batch_count(b), 2);
    ASSERT_EQ(mp_batch_seq(b), 3);
    ASSERT_EQ(mp_pool_tick(pool, 3, &b), 0);
    ASSERT_EQ(stats_of(pool).open_txs, 1);
    ASSERT_EQ(stats_of(pool).batches_sealed, 3);
    mp_pool_free(pool);
}

TEST(mempool, seal_by_time)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool = pool_new(&c);
    const struct mp_batch *b;

    ASSERT_EQ(mp_pool_tick(pool, 1000, &b), 0); /* Nothing open. */
    submit_new(pool, 100, NS_A, 10, 1);
    submit_new(pool, 105, NS_A, 10, 2);
    ASSERT_EQ(mp_pool_tick(pool, 105, &b), 0);
    ASSERT_EQ(mp_pool_tick(pool, 109, &b), 0);
    ASSERT_EQ(mp_pool_tick(pool, 50, &b), 0); /* A clock going back. */
    ASSERT_EQ(mp_pool_tick(pool, 110, &b), 1);
    ASSERT_EQ(mp_batch_count(b), 2);
    ASSERT_EQ(mp_batch_seq(b), 1);
    /* The interval runs from the first transaction of the next batch. */
    submit_new(pool, 200, NS_A, 10, 3);
    ASSERT_EQ(mp_pool_tick(pool, 209, &b), 0);
    ASSERT_EQ(mp_pool_tick(pool, 210, &b), 1);
    ASSERT_EQ(mp_batch_seq(b), 2);
    ASSERT_EQ(mp_pool_tick(pool, 10000, &b), 0);
    mp_pool_free(pool);
}

/* ---------------------------------------------------------------------- */
/* Encodings                                                              */

static const struct mp_batch_limits test_limits = {
    .max_txs = 4,
    .max_bytes = 300,
    .max_tx_size = 150,
};

static size_t put(uint8_t *p, uint64_t v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
    return n;
}

/* A hand-made batch: author, seq, then @n transactions (ns, len, fill),
 * with @count written as the count. Returns the length. */
static size_t make_batch(uint8_t *buf,
                         uint32_t author,
                         uint64_t seq,
                         uint32_t count,
                         const uint64_t *ns,
                         const uint32_t *lens,
                         size_t n)
{
    size_t off = 0;
    size_t i;

    memcpy(buf, "SEQ-BATCH-v1", 12);
    off += 12;
    off += put(buf + off, author, 4);
    off += put(buf + off, seq, 8);
    off += put(buf + off, count, 4);
    for (i = 0; i < n; i++) {
        off += put(buf + off, ns[i], 8);
        off += put(buf + off, lens[i], 4);
        memset(buf + off, (int)('a' + i), lens[i]);
        off += lens[i];
    }
    return off;
}

TEST(mempool, batch_encoding_is_canonical)
{
    struct mp_config c = base_config(2);
    struct mp_pool *pool = pool_new(&c);
    const struct mp_batch *b;
    struct mp_batch *d = NULL;
    struct seq_hash id;
    struct mp_tx tx;
    uint8_t want[64];
    uint8_t *buf;
    uint8_t *again;
    size_t len;
    size_t len2;
    uint64_t ns[1] = { NS_C };
    uint32_t lens[1] = { 2 };

    /* The exact bytes of a one-transaction batch. */
    ASSERT_OK(
        mp_pool_submit(pool, 0, NS_C, "aa", 2, &id, &(enum mp_tx_state){ 0 }));
    ASSERT_EQ(drain(pool, 0), 0);
    ASSERT_EQ(mp_pool_tick(pool, 10, &b), 1);
    buf = encode(b, &len);
    ASSERT_EQ(len, make_batch(want, 2, 1, 1, ns, lens, 1));
    ASSERT_EQ(len, mp_batch_encoded_len(b));
    ASSERT_MEMEQ(buf, want, len);
    seq_sha256(buf, len, &id);
    ASSERT_MEMEQ(mp_batch_id(b)->bytes, id.bytes, SEQ_HASH_LEN);

    /* Decode gives the same batch, id and transactions back. */
    ASSERT_OK(mp_batch_decode(buf, len, &test_limits, &d));
    ASSERT_MEMEQ(mp_batch_id(d)->bytes, id.bytes, SEQ_HASH_LEN);
    ASSERT_EQ(mp_batch_author(d), 2);
    ASSERT_EQ(mp_batch_seq(d), 1);
    ASSERT_EQ(mp_batch_count(d), 1);
    mp_batch_tx(d, 0, &tx);
    ASSERT_EQ(tx.ns, NS_C);
    ASSERT_EQ(tx.len, 2);
    ASSERT_MEMEQ(tx.payload, "aa", 2);
    mp_tx_hash(NS_C, "aa", 2, &id);
    ASSERT_MEMEQ(tx.hash.bytes, id.bytes, SEQ_HASH_LEN);
    again = encode(d, &len2);
    ASSERT_EQ(len2, len);
    ASSERT_MEMEQ(again, buf, len);
    seq_free(again);
    mp_batch_free(d);
    seq_free(buf);
    mp_pool_free(pool);
}

TEST(mempool, batch_round_trip_many)
{
    struct mp_config c = base_config(1);
    struct mp_pool *pool = pool_new(&c);
    const struct mp_batch *b;
    struct mp_batch *d = NULL;
    struct mp_tx t1;
    struct mp_tx t2;
    uint8_t *buf;
    size_t len;
    size_t i;

    submit_new(pool, 0, NS_A, 0, 0);
    submit_new(pool, 0, NS_B, 150, 1);
    submit_new(pool, 0, NS_C, 50, 2);
    submit_new(pool, 0, NS_A, 100, 3);
    ASSERT_EQ(mp_pool_tick(pool, 0, &b), 1);
    buf = encode(b, &len);
    ASSERT_OK(mp_batch_decode(buf, len, &test_limits, &d));
    ASSERT_TRUE(seq_hash_eq(mp_batch_id(b), mp_batch_id(d)));
    ASSERT_EQ(mp_batch_count(d), 4);
    for (i = 0; i < 4; i++) {
        mp_batch_tx(b, i, &t1);
        mp_batch_tx(d, i, &t2);
        ASSERT_EQ(t1.ns, t2.ns);
        ASSERT_EQ(t1.len, t2.len);
        ASSERT_MEMEQ(t1.payload, t2.payload, t1.len);
        ASSERT_TRUE(seq_hash_eq(&t1.hash, &t2.hash));
    }
    mp_batch_free(d);
    seq_free(buf);
    mp_pool_free(pool);
}

/* mp_batch_decode's answer, which mp_batch_views must give too; when both
 * accept, the views are the decoded transactions without their hashes. */
static int decode_rv(const uint8_t *buf, size_t len)
{
    struct mp_batch *d = NULL;
    struct mp_tx *views = NULL;
    size_t n = 0;
    size_t i;
    int rv = mp_batch_decode(buf, len, &test_limits, &d);

    ASSERT_EQ(mp_batch_views(buf, len, &test_limits, &views, &n), rv);
    if (rv == 0) {
        ASSERT_EQ(n, mp_batch_count(d));
        for (i = 0; i < n; i++) {
            struct mp_tx tx;
            mp_batch_tx(d, i, &tx);
            ASSERT_EQ(views[i].ns, tx.ns);
            ASSERT_EQ(views[i].len, tx.len);
            /* Views into @buf, not copies. */
            ASSERT_TRUE(views[i].payload >= buf &&
                        views[i].payload + views[i].len <= buf + len);
            ASSERT_MEMEQ(views[i].payload, tx.payload, tx.len);
            ASSERT_EQ(views[i].index, i);
        }
    }
    seq_free(views);
    mp_batch_free(d);
    return rv;
}

TEST(mempool, batch_decode_rejects_malformed)
{
    uint8_t buf[1024];
    uint8_t bad[1024];
    uint64_t ns[5] = { NS_A, NS_B, NS_C, NS_A, NS_A };
    uint32_t lens[5] = { 3, 0, 5, 1, 1 };
    uint32_t big[2] = { 151, 0 };
    uint32_t heavy[3] = { 150, 150, 1 };
    size_t len = make_batch(buf, 1, 9, 3, ns, lens, 3);
    size_t n;
    size_t i;

    ASSERT_OK(decode_rv(buf, len));
    /* Every truncation, and one byte too many. */
    for (i = 0; i < len; i++) {
        ASSERT_ERR(decode_rv(buf, i), SEQ_EBADMSG);
    }
    memcpy(bad, buf, len);
    bad[len] = 0;
    ASSERT_ERR(decode_rv(bad, len + 1), SEQ_EBADMSG);
    /* The tag. */
    memcpy(bad, buf, len);
    bad[11] = '2';
    ASSERT_ERR(decode_rv(bad, len), SEQ_EBADMSG);
    /* Counts: zero, one too many, one too few, huge, above the limit. */
    n = make_batch(bad, 1, 9, 0, ns, lens, 0);
    ASSERT_ERR(decode_rv(bad, n), SEQ_EBADMSG);
    n = make_batch(bad, 1, 9, 4, ns, lens, 3);
    ASSERT_ERR(decode_rv(bad, n), SEQ_EBADMSG);
    n = make_batch(bad, 1, 9, 2, ns, lens, 3);
    ASSERT_ERR(decode_rv(bad, n), SEQ_EBADMSG);
    n = make_batch(bad, 1, 9, UINT32_MAX, ns, lens, 3);
    ASSERT_ERR(decode_rv(bad, n), SEQ_EBADMSG);
    n = make_batch(bad, 1, 9, 5, ns, lens, 5);
    ASSERT_ERR(decode_rv(bad, n), SEQ_EBADMSG);
    n = make_batch(bad, 1, 9, 4, ns, lens, 4);
    ASSERT_OK(decode_rv(bad, n));
    /* Lengths: past the end, huge, above max_tx_size, total above
     * max_bytes. */
    memcpy(bad, buf, len);
    put(bad + 28 + 8, 4, 4); /* First tx claims 4 of its 3 bytes... */
    ASSERT_ERR(decode_rv(bad, len), SEQ_EBADMSG);
    put(bad + 28 + 8, UINT32_MAX, 4);
    ASSERT_ERR(decode_rv(bad, len), SEQ_EBADMSG);
    n = make_batch(bad, 1, 9, 2, ns, big, 2);
    ASSERT_ERR(decode_rv(bad, n), SEQ_EBADMSG);
    n = make_batch(bad, 1, 9, 3, ns, heavy, 3);
    ASSERT_ERR(decode_rv(bad, n), SEQ_EBADMSG);
    n = make_batch(bad, 1, 9, 2, ns, heavy, 2);
    ASSERT_OK(decode_rv(bad, n));
}

/* Random corruption never crashes the decoder, and whatever it accepts
 * re-encodes to the same bytes (one encoding per batch). */
TEST(mempool, batch_decode_survives_corruption)
{
    uint64_t ns[3] = { NS_A, NS_B, NS_C };
    uint32_t lens[3] = { 3, 0, 5 };
    uint8_t buf[256];
    uint8_t bad[256];
    size_t len = make_batch(buf, 1, 9, 3, ns, lens, 3);
    unsigned seeds = test_sim_seeds(2000);
    struct seq_rng rng;
    unsigned s;

    for (s = 0; s < seeds; s++) {
        struct mp_batch *d = NULL;
        size_t n = len;
        size_t flips;
        int rv;

        test_set_seed(test_seed() + s);
        seq_rng_seed(&rng, test_seed() + s);
        memcpy(bad, buf, len);
        for (flips = seq_rng_range(&rng, 1, 4); flips > 0; flips--) {
            bad[seq_rng_below(&rng, len)] = (uint8_t)seq_rng_next(&rng);
        }
        if (seq_rng_percent(&rng, 30)) {
            n = (size_t)seq_rng_below(&rng, len + 1);
        }
        rv = mp_batch_decode(bad, n, &test_limits, &d);
        ASSERT_EQ(decode_rv(bad, n), rv); /* And the views agree. */
        if (rv == 0) {
            uint8_t *again;
            size_t len2;
            ASSERT_OK(mp_batch_encode(d, &again, &len2));
            ASSERT_EQ(len2, n);
            ASSERT_MEMEQ(again, bad, n);
            seq_free(again);
            mp_batch_free(d);
        } else {
            ASSERT_ERR(rv, SEQ_EBADMSG);
        }
    }
}

TEST(mempool, payload_encoding)
{
    struct seq_hash ids[3];
    struct seq_hash *out = NULL;
    uint8_t bad[256];
    uint8_t *buf = NULL;
    size_t len = 0;
    size_t n = 0;
    size_t i;

    memset(ids, 0, sizeof ids);
    for (i = 0; i < 3; i++) {
        ids[i].bytes[0] = (uint8_t)(3 - i); /* Not sorted: order kept. */
    }
    ASSERT_OK(mp_payload_encode(ids, 0, &buf, &len));
    ASSERT_TRUE(buf == NULL);
    ASSERT_EQ(len, 0);
    ASSERT_OK(mp_payload_decode(NULL, 0, 16, &out, &n));
    ASSERT_EQ(n, 0);

    ASSERT_OK(mp_payload_encode(ids, 3, &buf, &len));
    ASSERT_EQ(len, 14 + 4 + 3 * 32);
    ASSERT_MEMEQ(buf, "SEQ-PAYLOAD-v1\0\0\0\3", 18);
    ASSERT_OK(mp_payload_decode(buf, len, 16, &out, &n));
    ASSERT_EQ(n, 3);
    ASSERT_MEMEQ(out, ids, sizeof ids);
    seq_free(out);

    for (i = 1; i < len; i++) { /* 0 bytes is the empty payload. */
        ASSERT_ERR(mp_payload_decode(buf, i, 16, &out, &n), SEQ_EBADMSG);
    }
    memcpy(bad, buf, len);
    bad[len] = 0;
    ASSERT_ERR(mp_payload_decode(bad, len + 1, 16, &out, &n), SEQ_EBADMSG);
    ASSERT_ERR(mp_payload_decode(buf, len, 2, &out, &n), SEQ_EBADMSG);
    bad[0] = 'X';
    ASSERT_ERR(mp_payload_decode(bad, len, 16, &out, &n), SEQ_EBADMSG);
    memcpy(bad, buf, len);
    bad[17] = 0; /* Count 0 with a tag: not the canonical empty payload. */
    ASSERT_ERR(mp_payload_decode(bad, 18, 16, &out, &n), SEQ_EBADMSG);
    bad[17] = 4; /* Count above the ids present. */
    ASSERT_ERR(mp_payload_decode(bad, len, 16, &out, &n), SEQ_EBADMSG);
    bad[17] = 3;
    memcpy(bad + 18 + 64, bad + 18, 32); /* A repeated id. */
    ASSERT_ERR(mp_payload_decode(bad, len, 16, &out, &n), SEQ_EBADMSG);
    seq_free(buf);
}

/* ---------------------------------------------------------------------- */
/* Peer batches                                                           */

TEST(mempool, peer_batch_validation)
{
    struct mp_config ca = base_config(0);
    struct mp_config cb = base_config(1);
    struct mp_namespace wide[4] = {
        test_ns[0],
        test_ns[1],
        test_ns[2],
        { .id = 9, .name = "only-b", .weight = 1, .max_tx_size = 10 }
    };
    struct mp_pool *a;
    struct mp_pool *b;
    const struct mp_batch *batch;
    struct seq_hash id;
    struct seq_hash wrong;
    uint8_t *buf;
    uint8_t raw[512];
    size_t len;
    uint64_t ns[2] = { NS_A, NS_A };
    uint32_t lens[2] = { 5, 6 };

    wide[0].max_tx_size = 150; /* B allows more in alpha than A does. */
    cb.namespaces = wide;
    cb.n_namespaces = 4;
    a = pool_new(&ca);
    b = pool_new(&cb);

    submit_new(b, 0, NS_A, 20, 1);
    ASSERT_EQ(mp_pool_tick(b, 10, &batch), 1);
    buf = encode(batch, &len);
    id = *mp_batch_id(batch);
    ASSERT_ERR(mp_pool_add_batch(a, 7, buf, len, NULL), SEQ_EINVAL);
    ASSERT_ERR(mp_pool_add_batch(a, 2, buf, len, NULL), SEQ_EBADMSG);
    memset(&wrong, 1, sizeof wrong);
    ASSERT_ERR(mp_pool_add_batch(a, 2, buf, len, &wrong), SEQ_EBADMSG);
    ASSERT_ERR(mp_pool_add_batch(a, 1, buf, len - 1, NULL), SEQ_EBADMSG);
    ASSERT_EQ(stats_of(a).held_batches, 0);
    ASSERT_OK(mp_pool_add_batch(a, 1, buf, len, NULL));
    ASSERT_TRUE(mp_pool_get_batch(a, &id) != NULL);
    ASSERT_ERR(mp_pool_add_batch(a, 1, buf, len, NULL), SEQ_EEXIST);
    ASSERT_ERR(mp_pool_add_batch(a, 3, buf, len, &id), SEQ_EEXIST);
    seq_free(buf);

    /* A fetched copy may come from anyone, if its id is the one asked. */
    {
        struct mp_pool *c2 = pool_new(&ca);
        buf = encode(mp_pool_get_batch(a, &id), &len);
        ASSERT_OK(mp_pool_add_batch(c2, 3, buf, len, &id));
        seq_free(buf);
        mp_pool_free(c2);
    }

    /* Unknown namespace, and a payload above A's limit for alpha. */
    submit_new(b, 20, 9, 5, 1);
    ASSERT_EQ(mp_pool_tick(b, 30, &batch), 1);
    buf = encode(batch, &len);
    ASSERT_ERR(mp_pool_add_batch(a, 1, buf, len, NULL), SEQ_EBADMSG);
    seq_free(buf);
    submit_new(b, 40, NS_A, 120, 1);
    ASSERT_EQ(mp_pool_tick(b, 50, &batch), 1);
    buf = encode(batch, &len);
    ASSERT_ERR(mp_pool_add_batch(a, 1, buf, len, NULL), SEQ_EBADMSG);
    seq_free(buf);

    /* An author that is not a validator. */
    len = make_batch(raw, 4, 1, 2, ns, lens, 2);
    ASSERT_ERR(mp_pool_add_batch(a, 1, raw, len, NULL), SEQ_EBADMSG);
    /* The same seq twice from one author: equivocation. */
    len = make_batch(raw, 2, 1, 2, ns, lens, 2);
    ASSERT_OK(mp_pool_add_batch(a, 2, raw, len, NULL));
    lens[1] = 7;
    len = make_batch(raw, 2, 1, 2, ns, lens, 2);
    ASSERT_ERR(mp_pool_add_batch(a, 2, raw, len, NULL), SEQ_EBADMSG);
    ASSERT_EQ(stats_of(a).held_batches, 2);
    ASSERT_EQ(stats_of(a).batches_rejected, 7);
    mp_pool_free(b);
    mp_pool_free(a);
}

TEST(mempool, peer_batches_capped_per_author)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    uint8_t raw[256];
    uint64_t ns[1] = { NS_A };
    uint32_t lens[1] = { 1 };
    uint64_t seq;
    size_t len;

    c.max_batches_per_author = 3;
    pool = pool_new(&c);
    for (seq = 1; seq <= 3; seq++) {
        len = make_batch(raw, 3, seq, 1, ns, lens, 1);
        ASSERT_OK(mp_pool_add_batch(pool, 3, raw, len, NULL));
    }
    len = make_batch(raw, 3, 4, 1, ns, lens, 1);
    ASSERT_ERR(mp_pool_add_batch(pool, 3, raw, len, NULL), SEQ_EFULL);
    /* Other authors are not affected. */
    len = make_batch(raw, 2, 4, 1, ns, lens, 1);
    ASSERT_OK(mp_pool_add_batch(pool, 2, raw, len, NULL));
    mp_pool_free(pool);
}

/* A batch a commit waits for is fetched with its id: it must get in even
 * when its author's slot is full (the slot empties only through the very
 * commit it blocks), by evicting the author's last held batch. */
TEST(mempool, fetched_batch_evicts_when_author_full)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    uint8_t raw[256];
    uint64_t ns[1] = { NS_A };
    uint32_t lens[1] = { 1 };
    struct seq_hash id, last;
    uint64_t seq;
    size_t len;

    c.max_batches_per_author = 3;
    pool = pool_new(&c);
    for (seq = 1; seq <= 3; seq++) {
        len = make_batch(raw, 3, seq, 1, ns, lens, 1);
        ASSERT_OK(mp_pool_add_batch(pool, 3, raw, len, NULL));
        seq_sha256(raw, len, &last);
    }
    len = make_batch(raw, 3, 9, 1, ns, lens, 1);
    seq_sha256(raw, len, &id);
    ASSERT_ERR(mp_pool_add_batch(pool, 3, raw, len, NULL), SEQ_EFULL);
    /* Fetched (from anyone, with its expected id): admitted. */
    ASSERT_OK(mp_pool_add_batch(pool, 1, raw, len, &id));
    ASSERT_TRUE(mp_pool_get_batch(pool, &id) != NULL);
    ASSERT_TRUE(mp_pool_get_batch(pool, &last) == NULL);
    ASSERT_EQ(stats_of(pool).held_batches, 3u);
    ASSERT_EQ(stats_of(pool).batches_evicted, 1u);
    mp_pool_free(pool);
}

/* Offers @pool a batch of @author (@seq, transactions in alpha with the
 * payload lengths @lens[0..n)) from validator @from: a broadcast, or with
 * @fetched a fetch response carrying its id. Checks the result is @want;
 * returns the batch id. */
static struct seq_hash offer(struct mp_pool *pool,
                             uint32_t from,
                             uint32_t author,
                             uint64_t seq,
                             const uint32_t *lens,
                             size_t n,
                             bool fetched,
                             int want)
{
    static const uint64_t ns[4] = { NS_A, NS_A, NS_A, NS_A };
    uint8_t raw[1024];
    struct seq_hash id;
    size_t len;

    ASSERT_LE(n, 4);
    len = make_batch(raw, author, seq, (uint32_t)n, ns, lens, n);
    seq_sha256(raw, len, &id);
    ASSERT_ERR(mp_pool_add_batch(pool, from, raw, len, fetched ? &id : NULL),
               want);
    return id;
}

static bool held(const struct mp_pool *pool, const struct seq_hash *id)
{
    return mp_pool_get_batch(pool, id) != NULL;
}

/* A peer author's held batches are capped in transactions and payload
 * bytes too, at twice the pending limits (M6): max_batches_per_author full
 * batches would otherwise be 4,096 x 4 MiB in seqd. */
TEST(mempool, peer_batches_capped_in_transactions_and_bytes)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    const uint32_t small[4] = { 1, 2, 3, 4 };
    const uint32_t big[4] = { 100, 100, 99, 1 }; /* 300 bytes. */
    uint64_t seq;

    c.max_batches_per_author = 64;
    c.max_pending_txs = 5;     /* A peer's cap: 10. */
    c.max_pending_bytes = 350; /* 700. */
    pool = pool_new(&c);
    /* Transactions: two batches of 4 fit in 10, a third does not; one of
     * 2 does (the cap counts the batch itself), then nothing more. */
    offer(pool, 3, 3, 1, small, 4, false, SEQ_OK);
    offer(pool, 3, 3, 2, small, 4, false, SEQ_OK);
    offer(pool, 3, 3, 3, small, 4, false, SEQ_EFULL);
    offer(pool, 3, 3, 3, small, 2, false, SEQ_OK);
    offer(pool, 3, 3, 4, small, 1, false, SEQ_EFULL);
    /* Bytes: author 2, batches of 300 payload bytes in 700. */
    offer(pool, 2, 2, 1, big, 4, false, SEQ_OK);
    offer(pool, 2, 2, 2, big, 4, false, SEQ_OK);
    offer(pool, 2, 2, 3, big, 4, false, SEQ_EFULL);
    ASSERT_EQ(stats_of(pool).held_batches, 5u);
    ASSERT_EQ(stats_of(pool).batches_rejected, 3u);
    ASSERT_EQ(stats_of(pool).batches_evicted, 0u);

    /* Our own batches are bounded by admission, not by these caps. */
    for (seq = 0; seq < 5; seq++) {
        submit_new(pool, 0, NS_A, 1, (uint8_t)seq);
    }
    ASSERT_EQ(drain(pool, 100), 2u);
    ASSERT_EQ(stats_of(pool).held_batches, 7u);
    mp_pool_free(pool);
}

/* Fetches for one payload make room by evicting batches that were only
 * broadcast, not each other: otherwise two wanted batches of an author
 * whose slot is full would evict each other in turn, forever. The slot
 * ends at most one batch over its caps. */
TEST(mempool, fetched_batches_do_not_evict_each_other)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    const uint32_t big[4] = { 100, 100, 99, 1 }; /* 300 bytes. */
    struct seq_hash b1, b2, f1, f2, f3;

    c.max_batches_per_author = 64;
    c.max_pending_bytes = 300; /* A peer's cap: 600. */
    pool = pool_new(&c);
    b1 = offer(pool, 3, 3, 1, big, 4, false, SEQ_OK);
    b2 = offer(pool, 3, 3, 2, big, 4, false, SEQ_OK);

    /* Two wanted batches, seq 8 and 9: each evicts a broadcast one, the
     * latest first. */
    f1 = offer(pool, 1, 3, 8, big, 4, true, SEQ_OK);
    ASSERT_FALSE(held(pool, &b2));
    ASSERT_TRUE(held(pool, &b1));
    f2 = offer(pool, 2, 3, 9, big, 4, true, SEQ_OK);
    ASSERT_FALSE(held(pool, &b1));
    ASSERT_TRUE(held(pool, &f1) && held(pool, &f2));
    ASSERT_EQ(stats_of(pool).batches_evicted, 2u);

    /* Only fetched ones left: a third evicts the latest of them. */
    f3 = offer(pool, 1, 3, 7, big, 4, true, SEQ_OK);
    ASSERT_FALSE(held(pool, &f2));
    ASSERT_TRUE(held(pool, &f1) && held(pool, &f3));
    ASSERT_EQ(stats_of(pool).held_batches, 2u);

    /* A wanted batch above the caps on its own still gets in, alone. */
    c.max_pending_bytes = 100;
    mp_pool_free(pool);
    pool = pool_new(&c);
    offer(pool, 3, 3, 1, big, 1, false, SEQ_OK);
    offer(pool, 3, 3, 2, big, 4, false, SEQ_EFULL);
    f1 = offer(pool, 3, 3, 2, big, 4, true, SEQ_OK);
    ASSERT_EQ(stats_of(pool).held_batches, 1u);
    ASSERT_TRUE(held(pool, &f1));
    mp_pool_free(pool);
}

/* ---------------------------------------------------------------------- */
/* Payloads                                                               */

/* Adds a one-transaction batch (author, seq, a payload of @len @fill bytes
 * in alpha) to @pool; returns its id. */
static struct seq_hash add_peer(struct mp_pool *pool,
                                uint32_t author,
                                uint64_t seq,
                                uint32_t len)
{
    uint8_t raw[256];
    uint64_t ns[1] = { NS_A };
    uint32_t lens[1] = { len };
    size_t n = make_batch(raw, author, seq, 1, ns, lens, 1);
    struct seq_hash id;

    raw[n - 1] = (uint8_t)(author * 16 + seq); /* Distinct payloads. */
    ASSERT_OK(mp_pool_add_batch(pool, author, raw, n, NULL));
    seq_sha256(raw, n, &id);
    return id;
}

static size_t payload_ids(const uint8_t *buf,
                          size_t len,
                          struct seq_hash *ids,
                          size_t max)
{
    struct seq_hash *out = NULL;
    size_t n = 0;

    ASSERT_OK(mp_payload_decode(buf, len, 1000, &out, &n));
    ASSERT_LE(n, max);
    if (n > 0) {
        memcpy(ids, out, n * sizeof *ids);
    }
    seq_free(out);
    return n;
}

TEST(mempool, payload_round_robin_and_limits)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    struct seq_hash a1, a2, a3, b1, b2, d1;
    struct seq_hash ids[16];
    struct mp_bytes ancestor;
    uint8_t *p1 = NULL;
    uint8_t *p2 = NULL;
    size_t len1;
    size_t len2;

    pool = pool_new(&c);
    /* Added out of seq order: the payload still takes seq order. */
    a2 = add_peer(pool, 1, 2, 10);
    a1 = add_peer(pool, 1, 1, 10);
    a3 = add_peer(pool, 1, 3, 10);
    d1 = add_peer(pool, 3, 1, 10);
    b1 = add_peer(pool, 2, 5, 10);
    b2 = add_peer(pool, 2, 6, 10);
    ASSERT_OK(mp_pool_build_payload(pool, NULL, 0, &p1, &len1));
    ASSERT_EQ(payload_ids(p1, len1, ids, 16), 6);
    ASSERT_TRUE(seq_hash_eq(&ids[0], &a1));
    ASSERT_TRUE(seq_hash_eq(&ids[1], &b1));
    ASSERT_TRUE(seq_hash_eq(&ids[2], &d1));
    ASSERT_TRUE(seq_hash_eq(&ids[3], &a2));
    ASSERT_TRUE(seq_hash_eq(&ids[4], &b2));
    ASSERT_TRUE(seq_hash_eq(&ids[5], &a3));
    ASSERT_OK(mp_pool_check_payload(pool, p1, len1, NULL, NULL));

    /* An uncommitted ancestor's batches are left out. */
    ancestor.buf = p1;
    ancestor.len = len1;
    ASSERT_OK(mp_pool_build_payload(pool, &ancestor, 1, &p2, &len2));
    ASSERT_EQ(len2, 0);
    ASSERT_TRUE(p2 == NULL);
    ancestor.len = 5;
    ASSERT_ERR(mp_pool_build_payload(pool, &ancestor, 1, &p2, &len2),
               SEQ_EBADMSG);
    mp_pool_free(pool);

    /* At most block_max_batches ids, and block_max_bytes of payload. */
    c.block_max_batches = 2;
    pool = pool_new(&c);
    a1 = add_peer(pool, 1, 1, 10);
    add_peer(pool, 1, 2, 10);
    b1 = add_peer(pool, 2, 1, 10);
    ASSERT_OK(mp_pool_build_payload(pool, NULL, 0, &p2, &len2));
    ASSERT_EQ(payload_ids(p2, len2, ids, 16), 2);
    ASSERT_TRUE(seq_hash_eq(&ids[0], &a1));
    ASSERT_TRUE(seq_hash_eq(&ids[1], &b1));
    /* The voter's limit is the same: three ids are too many. */
    ASSERT_ERR(mp_pool_check_payload(pool, p1, len1, NULL, NULL), SEQ_EBADMSG);
    seq_free(p2);
    mp_pool_free(pool);

    c = base_config(0);
    c.batch_max_bytes = 150;
    c.block_max_bytes = 250;
    pool = pool_new(&c);
    a1 = add_peer(pool, 1, 1, 100);
    b1 = add_peer(pool, 2, 1, 100);
    add_peer(pool, 3, 1, 100);
    ASSERT_OK(mp_pool_build_payload(pool, NULL, 0, &p2, &len2));
    ASSERT_EQ(payload_ids(p2, len2, ids, 16), 2);
    seq_free(p2);
    mp_pool_free(pool);
    seq_free(p1);
}

TEST(mempool, payload_check_missing_and_malformed)
{
    struct mp_config c = base_config(0);
    struct mp_pool *leader = pool_new(&c);
    struct mp_pool *voter = pool_new(&c);
    struct seq_hash x1, x2, x3;
    struct seq_hash *missing = NULL;
    struct seq_hash ids[4];
    size_t n_missing = 0;
    uint8_t *p = NULL;
    uint8_t *dup = NULL;
    size_t len;
    size_t dup_len;

    x1 = add_peer(leader, 1, 1, 10);
    x2 = add_peer(leader, 2, 1, 10);
    x3 = add_peer(leader, 3, 1, 10);
    add_peer(voter, 2, 1, 10);
    ASSERT_OK(mp_pool_build_payload(leader, NULL, 0, &p, &len));

    ASSERT_ERR(mp_pool_check_payload(voter, p, len, &missing, &n_missing),
               SEQ_EAGAIN);
    ASSERT_EQ(n_missing, 2);
    ASSERT_TRUE(seq_hash_eq(&missing[0], &x1));
    ASSERT_TRUE(seq_hash_eq(&missing[1], &x3));
    /* Fetch them (from the leader, who is not their author). */
    {
        size_t i;
        for (i = 0; i < n_missing; i++) {
            size_t blen;
            uint8_t *b = encode(mp_pool_get_batch(leader, &missing[i]), &blen);
            ASSERT_OK(mp_pool_add_batch(voter, 0, b, blen, &missing[i]));
            seq_free(b);
        }
    }
    seq_free(missing);
    ASSERT_OK(mp_pool_check_payload(voter, p, len, &missing, &n_missing));

    /* A repeated id, a bad tag, a truncation: malformed. */
    ids[0] = x1;
    ids[1] = x2;
    ids[2] = x1;
    ASSERT_OK(mp_payload_encode(ids, 3, &dup, &dup_len));
    ASSERT_ERR(mp_pool_check_payload(voter, dup, dup_len, &missing, &n_missing),
               SEQ_EBADMSG);
    dup[0] = 'X';
    ASSERT_ERR(mp_pool_check_payload(voter, dup, 2 * 32 + 18, NULL, NULL),
               SEQ_EBADMSG);
    ASSERT_ERR(mp_pool_check_payload(voter, p, len - 1, NULL, NULL),
               SEQ_EBADMSG);
    ASSERT_OK(mp_pool_check_payload(voter, NULL, 0, NULL, NULL));
    seq_free(dup);
    seq_free(p);
    mp_pool_free(voter);
    mp_pool_free(leader);
}

/* ---------------------------------------------------------------------- */
/* Commit                                                                 */

/* Submits a payload of text @s into @ns. */
static void submit_str(struct mp_pool *pool,
                       uint64_t now,
                       uint64_t ns,
                       const char *s,
                       enum mp_tx_state want)
{
    struct seq_hash h;
    enum mp_tx_state got = 0;

    ASSERT_OK(mp_pool_submit(pool, now, ns, s, strlen(s), &h, &got));
    ASSERT_EQ(got, want);
}

static void assert_tx(const struct mp_tx *tx, uint64_t ns, const char *s)
{
    ASSERT_EQ(tx->ns, ns);
    ASSERT_EQ(tx->len, strlen(s));
    ASSERT_MEMEQ(tx->payload, s, tx->len);
}

TEST(mempool, commit_order_and_dedup)
{
    struct mp_config ca = base_config(0);
    struct mp_config cb = base_config(1);
    struct mp_pool *a = pool_new(&ca);
    struct mp_pool *b = pool_new(&cb);
    struct mp_pool *all[2];
    struct mp_block_txs *ta = NULL;
    struct mp_block_txs *tb = NULL;
    uint8_t *payload = NULL;
    size_t len;

    all[0] = a;
    all[1] = b;
    /* A's batch: a1 x a2; B's batch: x b1 a1 c1. "x" reached both. */
    submit_str(a, 0, NS_A, "a1", MP_TX_NEW);
    submit_str(a, 0, NS_B, "x", MP_TX_NEW);
    submit_str(a, 0, NS_A, "a2", MP_TX_NEW);
    submit_str(b, 0, NS_B, "x", MP_TX_NEW);
    submit_str(b, 0, NS_C, "b1", MP_TX_NEW);
    submit_str(b, 0, NS_A, "a1", MP_TX_NEW);
    submit_str(b, 0, NS_C, "c1", MP_TX_NEW);
    /* B holds "a2" in its open batch; A's batch will commit it. */
    submit_str(b, 5, NS_A, "a2", MP_TX_NEW);
    ASSERT_EQ(gossip(a, 10, &all[1], 1), 1);
    ASSERT_EQ(gossip(b, 10, &all[0], 1), 1);
    submit_str(b, 11, NS_A, "b2", MP_TX_NEW);
    ASSERT_EQ(stats_of(b).open_txs, 2);

    ASSERT_OK(mp_pool_build_payload(a, NULL, 0, &payload, &len));
    ASSERT_OK(mp_pool_check_payload(b, payload, len, NULL, NULL));
    ASSERT_OK(mp_pool_commit(a, 1, payload, len, &ta, NULL, NULL));
    ASSERT_OK(mp_pool_commit(b, 1, payload, len, &tb, NULL, NULL));

    /* Batch order, then order inside; first occurrence wins. */
    ASSERT_EQ(ta->n_txs, 5);
    ASSERT_EQ(ta->n_dropped, 2);
    assert_tx(&ta->txs[0], NS_A, "a1");
    assert_tx(&ta->txs[1], NS_B, "x");
    assert_tx(&ta->txs[2], NS_A, "a2");
    assert_tx(&ta->txs[3], NS_C, "b1");
    assert_tx(&ta->txs[4], NS_C, "c1");
    /* Grouped by namespace, ascending id, block order inside. */
    ASSERT_EQ(ta->n_ns, 3);
    ASSERT_EQ(ta->ns[0].ns, NS_A);
    ASSERT_EQ(ta->ns[0].n_txs, 2);
    assert_tx(&ta->ns[0].txs[0], NS_A, "a1");
    assert_tx(&ta->ns[0].txs[1], NS_A, "a2");
    ASSERT_EQ(ta->ns[1].ns, NS_B);
    ASSERT_EQ(ta->ns[1].n_txs, 1);
    assert_tx(&ta->ns[1].txs[0], NS_B, "x");
    ASSERT_EQ(ta->ns[2].ns, NS_C);
    ASSERT_EQ(ta->ns[2].n_txs, 2);
    assert_tx(&ta->ns[2].txs[0], NS_C, "b1");
    assert_tx(&ta->ns[2].txs[1], NS_C, "c1");

    /* Both replicas commit the same transactions. */
    {
        size_t i;
        ASSERT_EQ(tb->n_txs, ta->n_txs);
        for (i = 0; i < ta->n_txs; i++) {
            ASSERT_TRUE(seq_hash_eq(&ta->txs[i].hash, &tb->txs[i].hash));
        }
    }
    /* The batches are released; each replica's own pending transactions
     * left the pending state, and B's open batch lost "a2". */
    ASSERT_EQ(stats_of(a).held_batches, 0);
    ASSERT_EQ(stats_of(a).pending_txs, 0);
    ASSERT_EQ(stats_of(b).held_batches, 0);
    ASSERT_EQ(stats_of(b).pending_txs, 1);
    ASSERT_EQ(stats_of(b).open_txs, 1);
    ASSERT_EQ(stats_of(a).committed_txs, 5);
    ASSERT_EQ(stats_of(a).committed_dropped, 2);
    mp_block_txs_free(ta);
    mp_block_txs_free(tb);
    seq_free(payload);

    /* A later batch repeating a committed transaction: dropped. */
    ASSERT_EQ(gossip(b, 100, &all[0], 1), 1);
    ASSERT_OK(mp_pool_build_payload(a, NULL, 0, &payload, &len));
    ASSERT_OK(mp_pool_commit(a, 2, payload, len, &ta, NULL, NULL));
    ASSERT_EQ(ta->n_txs, 1);
    assert_tx(&ta->txs[0], NS_A, "b2");
    mp_block_txs_free(ta);
    seq_free(payload);
    mp_pool_free(b);
    mp_pool_free(a);
}

TEST(mempool, commit_waits_for_missing_batches)
{
    struct mp_config c = base_config(0);
    struct mp_pool *leader = pool_new(&c);
    struct mp_pool *late = pool_new(&c);
    struct mp_block_txs *t = NULL;
    struct seq_hash *missing = NULL;
    struct seq_hash x2;
    struct seq_hash before;
    struct seq_hash after;
    size_t n_missing = 0;
    uint8_t *p = NULL;
    uint8_t *raw;
    size_t len;
    size_t rlen;

    add_peer(leader, 1, 1, 10);
    x2 = add_peer(leader, 2, 1, 10);
    add_peer(late, 1, 1, 10);
    ASSERT_OK(mp_pool_build_payload(leader, NULL, 0, &p, &len));
    fingerprint(late, &before);
    ASSERT_ERR(mp_pool_commit(late, 1, p, len, &t, &missing, &n_missing),
               SEQ_EAGAIN);
    ASSERT_EQ(n_missing, 1);
    ASSERT_TRUE(seq_hash_eq(&missing[0], &x2));
    ASSERT_ERR(mp_pool_commit(late, 1, p, len, &t, NULL, NULL), SEQ_EAGAIN);
    fingerprint(late, &after);
    ASSERT_MEMEQ(before.bytes, after.bytes, SEQ_HASH_LEN);
    raw = encode(mp_pool_get_batch(leader, &x2), &rlen);
    ASSERT_OK(mp_pool_add_batch(late, 0, raw, rlen, &x2));
    ASSERT_OK(mp_pool_commit(late, 1, p, len, &t, NULL, NULL));
    ASSERT_EQ(t->n_txs, 2);
    ASSERT_ERR(mp_pool_commit(late, 2, raw, rlen, &t, NULL, NULL), SEQ_EBADMSG);
    ASSERT_ERR(mp_pool_commit(late, 1, p, len, &t, NULL, NULL), SEQ_EINVAL);
    ASSERT_ERR(mp_pool_commit(late, 3, p, len, &t, NULL, NULL), SEQ_EINVAL);
    mp_block_txs_free(t);
    seq_free(raw);
    seq_free(missing);
    seq_free(p);
    mp_pool_free(late);
    mp_pool_free(leader);
}

/* ---------------------------------------------------------------------- */
/* Determinism (M1)                                                       */

static void hash_block(struct seq_sha256_ctx *ctx, const struct mp_block_txs *t)
{
    size_t i;
    size_t j;

    seq_sha256_u64(ctx, t->n_txs);
    for (i = 0; i < t->n_txs; i++) {
        seq_sha256_update(ctx, t->txs[i].hash.bytes, SEQ_HASH_LEN);
    }
    for (i = 0; i < t->n_ns; i++) {
        seq_sha256_u64(ctx, t->ns[i].ns);
        for (j = 0; j < t->ns[i].n_txs; j++) {
            seq_sha256_update(ctx, t->ns[i].txs[j].payload,
                              t->ns[i].txs[j].len);
        }
    }
}

/* Four validators with @seed_base-derived hash seeds run a random
 * workload from @seed; returns a digest of every payload and commit. */
static void run_workload(uint64_t seed,
                         uint64_t hash_seed,
                         struct seq_hash *out)
{
    struct mp_pool *pools[4];
    struct seq_sha256_ctx ctx;
    struct seq_rng rng;
    uint64_t now = 0;
    uint64_t height = 0;
    unsigned step;
    uint32_t i;

    seq_rng_seed(&rng, seed);
    seq_sha256_init(&ctx);
    for (i = 0; i < 4; i++) {
        struct mp_config c = base_config(i);
        c.hash_seed = hash_seed * 7 + i;
        c.dedup_heights = 3; /* Small, so that forgetting happens too. */
        c.max_pending_bytes = 2000;
        pools[i] = pool_new(&c);
    }
    for (step = 0; step < 300; step++) {
        uint32_t v = (uint32_t)seq_rng_below(&rng, 4);
        uint64_t what = seq_rng_below(&rng, 10);

        now += seq_rng_below(&rng, 5);
        if (what < 6) {
            static const uint64_t ns_ids[3] = { NS_A, NS_B, NS_C };
            struct seq_hash h;
            enum mp_tx_state s = 0;
            int rv = submit(pools[v], now, ns_ids[seq_rng_below(&rng, 3)],
                            (size_t)seq_rng_below(&rng, 60),
                            (uint8_t)seq_rng_below(&rng, 8), &h, &s);
            seq_sha256_u32(&ctx, (uint32_t)-rv);
            seq_sha256_u32(&ctx, (uint32_t)s);
        } else if (what < 8) {
            struct mp_pool *others[3];
            uint32_t j;
            uint32_t k = 0;
            for (j = 0; j < 4; j++) {
                if (j != v) {
                    others[k++] = pools[j];
                }
            }
            seq_sha256_u64(&ctx, gossip(pools[v], now, others, 3));
        } else {
            /* Validator v leads; everybody checks and commits. */
            uint8_t *p = NULL;
            size_t len = 0;
            uint32_t j;
            ASSERT_OK(mp_pool_build_payload(pools[v], NULL, 0, &p, &len));
            seq_sha256_update(&ctx, p == NULL ? (const void *)"" : p, len);
            height++;
            for (j = 0; j < 4; j++) {
                struct mp_block_txs *t = NULL;
                ASSERT_OK(mp_pool_check_payload(pools[j], p, len, NULL, NULL));
                ASSERT_OK(
                    mp_pool_commit(pools[j], height, p, len, &t, NULL, NULL));
                hash_block(&ctx, t);
                mp_block_txs_free(t);
            }
            seq_free(p);
        }
    }
    for (i = 0; i < 4; i++) {
        struct mp_stats s = stats_of(pools[i]);
        seq_sha256_update(&ctx, &s, sizeof s);
        mp_pool_free(pools[i]);
    }
    seq_sha256_final(&ctx, out);
}

TEST(mempool, determinism_across_hash_seeds)
{
    unsigned seeds = test_sim_seeds(20);
    unsigned s;

    for (s = 0; s < seeds; s++) {
        struct seq_hash h1;
        struct seq_hash h2;
        struct seq_hash h3;
        uint64_t seed = test_seed() + s;

        test_set_seed(seed);
        run_workload(seed, 1, &h1);
        run_workload(seed, 1, &h2);
        run_workload(seed, 0xdeadbeef, &h3);
        ASSERT_MEMEQ(h1.bytes, h2.bytes, SEQ_HASH_LEN);
        ASSERT_MEMEQ(h1.bytes, h3.bytes, SEQ_HASH_LEN);
    }
}

/* ---------------------------------------------------------------------- */
/* The dedup window, ancestors and restarts (M3, M4, M7)                  */

/* A batch by @author with seq @seq of the text payloads @txs[0..n) in
 * alpha, encoded into @buf; returns the length. */
static size_t text_batch(uint8_t *buf,
                         uint32_t author,
                         uint64_t seq,
                         const char *const *txs,
                         size_t n)
{
    size_t off = 0;
    size_t i;

    memcpy(buf, "SEQ-BATCH-v1", 12);
    off += 12;
    off += put(buf + off, author, 4);
    off += put(buf + off, seq, 8);
    off += put(buf + off, n, 4);
    for (i = 0; i < n; i++) {
        size_t len = strlen(txs[i]);
        off += put(buf + off, NS_A, 8);
        off += put(buf + off, len, 4);
        memcpy(buf + off, txs[i], len);
        off += len;
    }
    return off;
}

/* Broadcasts that batch to @pool; returns its id. */
static struct seq_hash add_text(struct mp_pool *pool,
                                uint32_t author,
                                uint64_t seq,
                                const char *const *txs,
                                size_t n)
{
    uint8_t raw[512];
    size_t len = text_batch(raw, author, seq, txs, n);
    struct seq_hash id;

    ASSERT_OK(mp_pool_add_batch(pool, author, raw, len, NULL));
    seq_sha256(raw, len, &id);
    return id;
}

static struct seq_hash text_hash(const char *s)
{
    struct seq_hash h;

    mp_tx_hash(NS_A, s, strlen(s), &h);
    return h;
}

/* Commits @n ids (a fresh payload) at @height; returns the entries. */
static struct mp_block_txs *commit_ids(struct mp_pool *pool,
                                       uint64_t height,
                                       const struct seq_hash *ids,
                                       size_t n)
{
    struct mp_block_txs *t = NULL;
    uint8_t *p = NULL;
    size_t len = 0;

    ASSERT_OK(mp_payload_encode(ids, n, &p, &len));
    ASSERT_OK(mp_pool_commit(pool, height, p, len, &t, NULL, NULL));
    seq_free(p);
    return t;
}

static void commit_empty(struct mp_pool *pool, uint64_t height)
{
    mp_block_txs_free(commit_ids(pool, height, NULL, 0));
}

static void assert_same_block(const struct mp_block_txs *a,
                              const struct mp_block_txs *b)
{
    size_t i;
    size_t j;

    ASSERT_EQ(a->n_txs, b->n_txs);
    ASSERT_EQ(a->n_dropped, b->n_dropped);
    ASSERT_EQ(a->n_ns, b->n_ns);
    for (i = 0; i < a->n_txs; i++) {
        ASSERT_TRUE(seq_hash_eq(&a->txs[i].hash, &b->txs[i].hash));
        ASSERT_EQ(a->txs[i].ns, b->txs[i].ns);
        ASSERT_EQ(a->txs[i].len, b->txs[i].len);
        ASSERT_MEMEQ(a->txs[i].payload, b->txs[i].payload, a->txs[i].len);
        ASSERT_EQ(a->txs[i].batch, b->txs[i].batch);
        ASSERT_EQ(a->txs[i].index, b->txs[i].index);
    }
    for (i = 0; i < a->n_ns; i++) {
        ASSERT_EQ(a->ns[i].ns, b->ns[i].ns);
        ASSERT_EQ(a->ns[i].n_txs, b->ns[i].n_txs);
        for (j = 0; j < a->ns[i].n_txs; j++) {
            ASSERT_TRUE(
                seq_hash_eq(&a->ns[i].txs[j].hash, &b->ns[i].txs[j].hash));
            ASSERT_EQ(a->ns[i].txs[j].batch, b->ns[i].txs[j].batch);
            ASSERT_EQ(a->ns[i].txs[j].index, b->ns[i].txs[j].index);
        }
    }
}

/* W = 3: "t", an entry at height 1, is dropped from the block at
 * 1 + W (j = h - W counts) and kept at 2 + W (j = h - W - 1 does not). */
/* K = 3 entries, W = 64 heights: "t" at height 1, then "a b" at 2 (3
 * entries from 1 up), then "c" at 3, which pushes height 1 out of the
 * window: 4 entries. "t" again at 4 is an entry again, and "a" dropped
 * (height 2 is within 3 entries). The window's table keeps the size it
 * had at open. */
TEST(mempool, window_dedup_by_entries)
{
    static const char *const t[1] = { "t" };
    static const char *const ab[2] = { "a", "b" };
    static const char *const c1[1] = { "c" };
    static const char *const ta[2] = { "t", "a" };
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    struct mp_block_txs *got;
    struct seq_hash ids[1];
    struct seq_hash th = text_hash("t");
    struct seq_hash tb = text_hash("b");
    size_t table;

    c.dedup_heights = 64;
    c.dedup_max_txs = 3;
    c.batch_max_txs = 8;
    pool = pool_new(&c);
    table = pool->win_txs.mask;
    ids[0] = add_text(pool, 1, 1, t, 1);
    mp_block_txs_free(commit_ids(pool, 1, ids, 1));
    ids[0] = add_text(pool, 1, 2, ab, 2);
    mp_block_txs_free(commit_ids(pool, 2, ids, 1));
    ASSERT_EQ(mp_pool_tx_state(pool, &th), MP_TX_COMMITTED);
    ASSERT_EQ(stats_of(pool).window_txs, 3);
    ids[0] = add_text(pool, 1, 3, c1, 1);
    mp_block_txs_free(commit_ids(pool, 3, ids, 1));
    ASSERT_EQ(mp_pool_tx_state(pool, &th), MP_TX_UNKNOWN);
    ASSERT_EQ(mp_pool_tx_state(pool, &tb), MP_TX_COMMITTED);
    ASSERT_EQ(stats_of(pool).window_txs, 3);
    ids[0] = add_text(pool, 2, 1, ta, 2);
    got = commit_ids(pool, 4, ids, 1);
    ASSERT_EQ(got->n_txs, 1);
    ASSERT_EQ(got->n_dropped, 1);
    assert_tx(&got->txs[0], NS_A, "t");
    mp_block_txs_free(got);
    /* Heights 3 and 4: "c", "t". */
    ASSERT_EQ(stats_of(pool).window_txs, 2);
    ASSERT_EQ(mp_pool_tx_state(pool, &tb), MP_TX_UNKNOWN);
    ASSERT_EQ(pool->win_txs.mask, table);
    mp_pool_free(pool);
}

TEST(mempool, window_dedup_by_height)
{
    static const char *const t[1] = { "t" };
    static const char *const tu[2] = { "t", "u" };
    uint64_t gap;

    for (gap = 3; gap <= 4; gap++) {
        struct mp_config c = base_config(0);
        struct mp_pool *pool;
        struct mp_block_txs *got;
        struct mp_block_txs *want = NULL;
        struct seq_hash ids[1];
        struct seq_hash th = text_hash("t");
        uint8_t *p = NULL;
        size_t len = 0;
        uint64_t h;

        c.dedup_heights = 3;
        pool = pool_new(&c);
        ids[0] = add_text(pool, 1, 1, t, 1);
        got = commit_ids(pool, 1, ids, 1);
        ASSERT_EQ(got->n_txs, 1);
        mp_block_txs_free(got);
        ASSERT_EQ(stats_of(pool).committed_height, 1);
        for (h = 2; h <= gap; h++) {
            ASSERT_EQ(mp_pool_tx_state(pool, &th), MP_TX_COMMITTED);
            commit_empty(pool, h);
        }
        /* At committed height 1 + W the pool forgot height 1. */
        ASSERT_EQ(mp_pool_tx_state(pool, &th),
                  gap == 3 ? MP_TX_COMMITTED : MP_TX_UNKNOWN);
        ids[0] = add_text(pool, 2, 1, tu, 2);
        ASSERT_OK(mp_payload_encode(ids, 1, &p, &len));
        ASSERT_OK(mp_pool_block_txs(pool, gap + 1, p, len, NULL, 0, &want, NULL,
                                    NULL));
        ASSERT_OK(mp_pool_commit(pool, gap + 1, p, len, &got, NULL, NULL));
        assert_same_block(got, want);
        ASSERT_EQ(got->n_txs, gap == 3 ? 1 : 2);
        ASSERT_EQ(got->n_dropped, gap == 3 ? 1 : 0);
        assert_tx(&got->txs[got->n_txs - 1], NS_A, "u");
        /* A dropped duplicate is not an entry: with height 1 forgotten,
         * "t" is in the window only if this block kept it. */
        ASSERT_EQ(mp_pool_tx_state(pool, &th),
                  gap == 3 ? MP_TX_UNKNOWN : MP_TX_COMMITTED);
        mp_block_txs_free(want);
        mp_block_txs_free(got);
        seq_free(p);
        mp_pool_free(pool);
    }
}

/* A batch committed within the window: a voter refuses a payload naming
 * it, a broadcast of it is refused, a leader leaves a fetched copy out,
 * and the copy goes when the id leaves the window. */
TEST(mempool, window_committed_batches)
{
    static const char *const t[1] = { "t" };
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    struct mp_block_txs *got;
    struct seq_hash id;
    uint8_t raw[512];
    uint8_t *p = NULL;
    uint8_t *q = NULL;
    size_t len = 0;
    size_t qlen = 0;
    size_t rlen = text_batch(raw, 1, 1, t, 1);

    c.dedup_heights = 2;
    pool = pool_new(&c);
    id = add_text(pool, 1, 1, t, 1);
    ASSERT_OK(mp_payload_encode(&id, 1, &p, &len));
    ASSERT_OK(mp_pool_check_payload(pool, p, len, NULL, NULL));
    ASSERT_OK(mp_pool_commit(pool, 1, p, len, &got, NULL, NULL));
    mp_block_txs_free(got);

    ASSERT_ERR(mp_pool_check_payload(pool, p, len, NULL, NULL), SEQ_EBADMSG);
    ASSERT_ERR(mp_pool_add_batch(pool, 1, raw, rlen, NULL), SEQ_EEXIST);
    /* A fetch for it is answered: a block may name it again. */
    ASSERT_OK(mp_pool_add_batch(pool, 3, raw, rlen, &id));
    ASSERT_EQ(stats_of(pool).held_batches, 1);
    ASSERT_ERR(mp_pool_check_payload(pool, p, len, NULL, NULL), SEQ_EBADMSG);
    ASSERT_OK(mp_pool_build_payload(pool, NULL, 0, &q, &qlen));
    ASSERT_EQ(qlen, 0);
    /* Named again (a Byzantine leader), it commits in full, deduplicated:
     * "t" is an entry at height 1, within the window of height 2. */
    ASSERT_OK(mp_pool_commit(pool, 2, p, len, &got, NULL, NULL));
    ASSERT_EQ(got->n_txs, 0);
    ASSERT_EQ(got->n_dropped, 1);
    mp_block_txs_free(got);
    ASSERT_EQ(stats_of(pool).held_batches, 0);

    /* Fetched again; when height 2 leaves the window, the copy goes. */
    ASSERT_OK(mp_pool_add_batch(pool, 3, raw, rlen, &id));
    commit_empty(pool, 3);
    ASSERT_EQ(stats_of(pool).held_batches, 1);
    commit_empty(pool, 4);
    ASSERT_EQ(stats_of(pool).held_batches, 0);
    /* Out of the window, it is an ordinary batch again. */
    ASSERT_OK(mp_pool_add_batch(pool, 1, raw, rlen, NULL));
    ASSERT_OK(mp_pool_check_payload(pool, p, len, NULL, NULL));
    ASSERT_OK(mp_pool_commit(pool, 5, p, len, &got, NULL, NULL));
    ASSERT_EQ(got->n_txs, 1); /* Its last entry was at 1 < 5 - 2. */
    mp_block_txs_free(got);
    seq_free(p);
    mp_pool_free(pool);
}

/* Entries of uncommitted ancestors count, by the same rule: what an
 * ancestor dropped is not one of its entries. */
TEST(mempool, ancestors_dedup)
{
    static const char *const t[1] = { "t" };
    static const char *const tu[2] = { "t", "u" };
    static const char *const uv[2] = { "u", "v" };
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    struct mp_block_txs *want[5] = { NULL };
    struct mp_block_txs *got;
    struct mp_ancestor anc[4];
    struct seq_hash ids[4];
    uint8_t *p[5] = { NULL };
    size_t len[5] = { 0 };
    size_t i;

    c.dedup_heights = 2;
    pool = pool_new(&c);
    ids[0] = add_text(pool, 1, 1, t, 1);  /* Height 1: t. */
    ids[1] = add_text(pool, 2, 1, tu, 2); /* Height 2: t dropped, u. */
    ids[2] = add_text(pool, 3, 1, tu, 2); /* Height 4: t again, u dropped. */
    ids[3] = add_text(pool, 1, 2, uv, 2); /* Height 5: u, v. */
    ASSERT_OK(mp_payload_encode(&ids[0], 1, &p[1], &len[1]));
    ASSERT_OK(mp_payload_encode(&ids[1], 1, &p[2], &len[2]));
    ASSERT_OK(mp_payload_encode(NULL, 0, &p[3], &len[3]));
    ASSERT_OK(mp_payload_encode(&ids[2], 1, &p[4], &len[4]));
    /* Ancestors in any order. */
    for (i = 0; i < 3; i++) {
        anc[i].height = 3 - i;
        anc[i].payload = p[3 - i];
        anc[i].len = len[3 - i];
    }
    ASSERT_OK(
        mp_pool_block_txs(pool, 4, p[4], len[4], anc, 3, &want[4], NULL, NULL));
    /* Height 4, floor 2: t's entry is at 1 (2 dropped it), u's at 2. */
    ASSERT_EQ(want[4]->n_txs, 1);
    assert_tx(&want[4]->txs[0], NS_A, "t");
    ASSERT_EQ(want[4]->n_dropped, 1);
    for (i = 1; i <= 3; i++) {
        ASSERT_OK(mp_pool_block_txs(pool, i, p[i], len[i], anc + (3 - i + 1),
                                    i - 1, &want[i], NULL, NULL));
    }
    ASSERT_EQ(want[2]->n_txs, 1);
    assert_tx(&want[2]->txs[0], NS_A, "u");

    /* Errors: heights, repeats, malformed ancestors. */
    ASSERT_ERR(
        mp_pool_block_txs(pool, 0, p[4], len[4], NULL, 0, &got, NULL, NULL),
        SEQ_EINVAL);
    anc[3] = anc[0];
    ASSERT_ERR(
        mp_pool_block_txs(pool, 5, p[4], len[4], anc, 4, &got, NULL, NULL),
        SEQ_EBADMSG);
    ASSERT_ERR(
        mp_pool_block_txs(pool, 3, p[4], len[4], anc, 3, &got, NULL, NULL),
        SEQ_EBADMSG);
    anc[3].height = 4;
    anc[3].payload = p[4];
    anc[3].len = 5;
    ASSERT_ERR(
        mp_pool_block_txs(pool, 5, p[4], len[4], anc, 4, &got, NULL, NULL),
        SEQ_EBADMSG);

    /* Committing gives the same entries, height by height. */
    for (i = 1; i <= 4; i++) {
        ASSERT_OK(mp_pool_commit(pool, i, p[i], len[i], &got, NULL, NULL));
        assert_same_block(got, want[i]);
        mp_block_txs_free(got);
        mp_block_txs_free(want[i]);
        seq_free(p[i]);
    }
    ASSERT_ERR(mp_pool_block_txs(pool, 4, NULL, 0, NULL, 0, &got, NULL, NULL),
               SEQ_EINVAL);
    anc[0].height = 4;
    ASSERT_ERR(mp_pool_block_txs(pool, 6, NULL, 0, anc, 1, &got, NULL, NULL),
               SEQ_EBADMSG);
    /* Height 5, floor 3: u's only entry is at 2 (4 dropped it). */
    got = commit_ids(pool, 5, &ids[3], 1);
    ASSERT_EQ(got->n_txs, 2);
    assert_tx(&got->txs[0], NS_A, "u");
    assert_tx(&got->txs[1], NS_A, "v");
    mp_block_txs_free(got);
    mp_pool_free(pool);
}

/* Missing batches of the block and of its ancestors are listed once each,
 * ancestors by height first; fetched, the call succeeds. */
TEST(mempool, block_txs_missing)
{
    static const char *const t[1] = { "t" };
    static const char *const u[1] = { "u" };
    struct mp_config c = base_config(0);
    struct mp_pool *src = pool_new(&c);
    struct mp_pool *pool = pool_new(&c);
    struct mp_block_txs *got = NULL;
    struct seq_hash *missing = NULL;
    struct seq_hash ids[2];
    struct mp_ancestor anc[2];
    size_t n_missing = 0;
    uint8_t *p1 = NULL;
    uint8_t *p2 = NULL;
    uint8_t *p3 = NULL;
    size_t l1 = 0;
    size_t l2 = 0;
    size_t l3 = 0;
    size_t i;

    ids[0] = add_text(src, 1, 1, t, 1);
    ids[1] = add_text(src, 2, 1, u, 1);
    ASSERT_OK(mp_payload_encode(&ids[1], 1, &p1, &l1));
    ASSERT_OK(mp_payload_encode(ids, 2, &p2, &l2));
    ASSERT_OK(mp_payload_encode(ids, 1, &p3, &l3));
    anc[0] = (struct mp_ancestor){ .height = 2, .payload = p2, .len = l2 };
    anc[1] = (struct mp_ancestor){ .height = 1, .payload = p1, .len = l1 };
    ASSERT_ERR(
        mp_pool_block_txs(pool, 3, p3, l3, anc, 2, &got, &missing, &n_missing),
        SEQ_EAGAIN);
    ASSERT_EQ(n_missing, 2);
    ASSERT_TRUE(seq_hash_eq(&missing[0], &ids[1]));
    ASSERT_TRUE(seq_hash_eq(&missing[1], &ids[0]));
    ASSERT_ERR(mp_pool_block_txs(pool, 3, p3, l3, anc, 2, &got, NULL, NULL),
               SEQ_EAGAIN);
    for (i = 0; i < n_missing; i++) {
        size_t blen;
        uint8_t *b = encode(mp_pool_get_batch(src, &missing[i]), &blen);
        ASSERT_OK(mp_pool_add_batch(pool, 3, b, blen, &missing[i]));
        seq_free(b);
    }
    seq_free(missing);
    ASSERT_OK(mp_pool_block_txs(pool, 3, p3, l3, anc, 2, &got, NULL, NULL));
    ASSERT_EQ(got->n_txs, 0); /* t is an entry at height 2. */
    ASSERT_EQ(got->n_dropped, 1);
    mp_block_txs_free(got);
    seq_free(p1);
    seq_free(p2);
    seq_free(p3);
    mp_pool_free(pool);
    mp_pool_free(src);
}

/* A random chain: peer batches over a few transactions, blocks proposed on
 * top of uncommitted ancestors (naming any batch, also committed ones, as
 * a Byzantine leader may), commits from the bottom, and restarts that feed
 * the window back. Every block's entries are computed at proposal
 * (mp_pool_block_txs) and at commit, and checked against each other and
 * against a naive model of the rule (M3, M7). */
#define CHAIN_TXS       10
#define CHAIN_BATCHES   64
#define CHAIN_HEIGHTS   96
#define CHAIN_PER_BLOCK 4 /* Batches per block, and txs per batch. */

static const char *const chain_names[CHAIN_TXS] = {
    "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9",
};

struct chain {
    struct seq_rng rng;
    struct mp_config config;
    struct mp_pool *pool;
    size_t n_batches;
    uint8_t raw[CHAIN_BATCHES][128];
    size_t raw_len[CHAIN_BATCHES];
    struct seq_hash id[CHAIN_BATCHES];
    const char *txs[CHAIN_BATCHES][CHAIN_PER_BLOCK];
    size_t n_txs[CHAIN_BATCHES];
    uint64_t seqs[4];
    /* Heights up to committed are committed; committed + 1 .. top are
     * proposed: their batches and their entries at proposal. */
    uint64_t committed, top;
    size_t batch_of[CHAIN_HEIGHTS + 1][CHAIN_PER_BLOCK];
    size_t n_batch_of[CHAIN_HEIGHTS + 1];
    struct mp_block_txs *proposed[CHAIN_HEIGHTS + 1];
    /* The model: each committed height's entries. */
    struct seq_hash entries[CHAIN_HEIGHTS + 1]
                           [CHAIN_PER_BLOCK * CHAIN_PER_BLOCK];
    size_t n_entries[CHAIN_HEIGHTS + 1];
};

static void chain_fetch(struct chain *ch,
                        const struct seq_hash *missing,
                        size_t n)
{
    size_t i;
    size_t j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < ch->n_batches; j++) {
            if (seq_hash_eq(&ch->id[j], &missing[i])) {
                break;
            }
        }
        ASSERT_LT(j, ch->n_batches);
        ASSERT_OK(mp_pool_add_batch(ch->pool, 0, ch->raw[j], ch->raw_len[j],
                                    &ch->id[j]));
    }
}

static void chain_new_batch(struct chain *ch)
{
    size_t b = ch->n_batches;
    uint32_t author = (uint32_t)seq_rng_range(&ch->rng, 1, 3);
    size_t i;

    ch->n_txs[b] = (size_t)seq_rng_range(&ch->rng, 1, CHAIN_PER_BLOCK);
    for (i = 0; i < ch->n_txs[b]; i++) {
        ch->txs[b][i] = chain_names[seq_rng_below(&ch->rng, CHAIN_TXS)];
    }
    ch->raw_len[b] = text_batch(ch->raw[b], author, ++ch->seqs[author],
                                ch->txs[b], ch->n_txs[b]);
    seq_sha256(ch->raw[b], ch->raw_len[b], &ch->id[b]);
    ASSERT_OK(
        mp_pool_add_batch(ch->pool, author, ch->raw[b], ch->raw_len[b], NULL));
    ch->n_batches++;
}

static uint8_t *chain_payload(const struct chain *ch, uint64_t h, size_t *len)
{
    struct seq_hash ids[CHAIN_PER_BLOCK];
    uint8_t *p = NULL;
    size_t i;

    for (i = 0; i < ch->n_batch_of[h]; i++) {
        ids[i] = ch->id[ch->batch_of[h][i]];
    }
    ASSERT_OK(mp_payload_encode(ids, ch->n_batch_of[h], &p, len));
    return p;
}

static void chain_propose(struct chain *ch)
{
    uint64_t h = ch->top + 1;
    struct mp_ancestor anc[CHAIN_HEIGHTS];
    uint8_t *pay[CHAIN_HEIGHTS];
    size_t n_anc = 0;
    size_t k = (size_t)seq_rng_below(&ch->rng, CHAIN_PER_BLOCK + 1);
    size_t pick[CHAIN_BATCHES];
    size_t len;
    uint8_t *p;
    size_t i;
    int rv;

    /* k distinct batches, in random order. */
    for (i = 0; i < ch->n_batches; i++) {
        pick[i] = i;
    }
    k = k < ch->n_batches ? k : ch->n_batches;
    for (i = 0; i < k; i++) {
        size_t j = i + (size_t)seq_rng_below(&ch->rng, ch->n_batches - i);
        size_t tmp = pick[i];
        pick[i] = pick[j];
        pick[j] = tmp;
        ch->batch_of[h][i] = pick[i];
    }
    ch->n_batch_of[h] = k;
    /* The uncommitted ancestors, shuffled. */
    for (i = ch->committed + 1; i <= ch->top; i++) {
        size_t j = (size_t)seq_rng_below(&ch->rng, n_anc + 1);
        anc[n_anc] = anc[j];
        pay[n_anc] = pay[j];
        pay[j] = chain_payload(ch, i, &anc[j].len);
        anc[j].payload = pay[j];
        anc[j].height = i;
        n_anc++;
    }
    p = chain_payload(ch, h, &len);
    do {
        struct seq_hash *missing = NULL;
        size_t n_missing = 0;
        rv = mp_pool_block_txs(ch->pool, h, p, len, anc, n_anc,
                               &ch->proposed[h], &missing, &n_missing);
        if (rv == SEQ_EAGAIN) {
            chain_fetch(ch, missing, n_missing);
            seq_free(missing);
        }
    } while (rv == SEQ_EAGAIN);
    ASSERT_OK(rv);
    for (i = 0; i < n_anc; i++) {
        seq_free(pay[i]);
    }
    seq_free(p);
    ch->top = h;
}

/* The model's floor for height @h (M3), by the definition: the lowest
 * height >= @h - W from which the model's entries below @h are at most K,
 * with the entries of every height below @h known. */
static uint64_t chain_floor(const struct chain *ch, uint64_t h)
{
    uint64_t w = ch->config.dedup_heights;
    uint64_t floor = h > w ? h - w : 1;

    for (;; floor++) {
        size_t total = 0;
        uint64_t g;
        for (g = floor; g < h; g++) {
            total += ch->n_entries[g];
        }
        if (total <= ch->config.dedup_max_txs) {
            return floor;
        }
    }
}

/* The model's entries for height @h, from its batches and the model's
 * entries below. */
static size_t chain_model(const struct chain *ch,
                          uint64_t h,
                          struct seq_hash *out)
{
    uint64_t floor = chain_floor(ch, h);
    size_t n = 0;
    size_t i;
    size_t j;

    for (i = 0; i < ch->n_batch_of[h]; i++) {
        size_t b = ch->batch_of[h][i];
        for (j = 0; j < ch->n_txs[b]; j++) {
            struct seq_hash th = text_hash(ch->txs[b][j]);
            bool dup = false;
            uint64_t g;
            size_t e;
            for (e = 0; e < n; e++) {
                dup = dup || seq_hash_eq(&out[e], &th);
            }
            for (g = floor; g < h; g++) {
                for (e = 0; e < ch->n_entries[g]; e++) {
                    dup = dup || seq_hash_eq(&ch->entries[g][e], &th);
                }
            }
            if (!dup) {
                out[n++] = th;
            }
        }
    }
    return n;
}

/* @tx is where its batch and index say (what the validator stores
 * instead of the payload, net_rollup.c (R5)): read back from the bytes of
 * the batch at that position of height @h's payload, as the validator
 * reads them. */
static void assert_resolves(const struct chain *ch,
                            uint64_t h,
                            const struct mp_tx *tx)
{
    struct mp_tx *views = NULL;
    size_t n = 0;
    size_t b;

    ASSERT_LT(tx->batch, ch->n_batch_of[h]);
    b = ch->batch_of[h][tx->batch];
    ASSERT_OK(
        mp_batch_views(ch->raw[b], ch->raw_len[b], &test_limits, &views, &n));
    ASSERT_EQ(n, ch->n_txs[b]);
    ASSERT_LT(tx->index, n);
    ASSERT_EQ(views[tx->index].ns, tx->ns);
    ASSERT_EQ(views[tx->index].len, tx->len);
    ASSERT_MEMEQ(views[tx->index].payload, tx->payload, tx->len);
    seq_free(views);
}

static void chain_commit(struct chain *ch)
{
    uint64_t h = ch->committed + 1;
    uint64_t floor;
    struct mp_block_txs *got = NULL;
    size_t len;
    uint8_t *p = chain_payload(ch, h, &len);
    size_t i;
    int rv;

    do {
        struct seq_hash *missing = NULL;
        size_t n_missing = 0;
        rv = mp_pool_commit(ch->pool, h, p, len, &got, &missing, &n_missing);
        if (rv == SEQ_EAGAIN) {
            chain_fetch(ch, missing, n_missing);
            seq_free(missing);
        }
    } while (rv == SEQ_EAGAIN);
    ASSERT_OK(rv);
    assert_same_block(got, ch->proposed[h]);
    ch->n_entries[h] = chain_model(ch, h, ch->entries[h]);
    ASSERT_EQ(got->n_txs, ch->n_entries[h]);
    for (i = 0; i < got->n_txs; i++) {
        ASSERT_TRUE(seq_hash_eq(&got->txs[i].hash, &ch->entries[h][i]));
        assert_resolves(ch, h, &got->txs[i]);
    }
    for (i = 0; i < got->n_ns; i++) {
        size_t j;
        for (j = 0; j < got->ns[i].n_txs; j++) {
            assert_resolves(ch, h, &got->ns[i].txs[j]);
        }
    }
    mp_block_txs_free(got);
    mp_block_txs_free(ch->proposed[h]);
    ch->proposed[h] = NULL;
    seq_free(p);
    ch->committed = h;
    /* Committed exactly while an entry of the window's heights: from the
     * next height's floor, and the last block even if it alone has more
     * than K entries. */
    floor = chain_floor(ch, h + 1);
    if (floor > h) {
        floor = h;
    }
    for (i = 0; i < CHAIN_TXS; i++) {
        struct seq_hash th = text_hash(chain_names[i]);
        bool in = false;
        uint64_t g;
        size_t e;
        for (g = floor; g <= h; g++) {
            for (e = 0; e < ch->n_entries[g]; e++) {
                in = in || seq_hash_eq(&ch->entries[g][e], &th);
            }
        }
        ASSERT_EQ(mp_pool_tx_state(ch->pool, &th) == MP_TX_COMMITTED, in);
    }
}

/* A new pool fed the last W committed heights, as after a crash. */
static void chain_restart(struct chain *ch)
{
    uint64_t w = ch->config.dedup_heights;
    uint64_t g;

    mp_pool_free(ch->pool);
    ch->pool = pool_new(&ch->config);
    for (g = ch->committed > w ? ch->committed - w + 1 : 1; g <= ch->committed;
         g++) {
        ASSERT_OK(mp_pool_restore_committed(ch->pool, g, ch->entries[g],
                                            ch->n_entries[g]));
    }
    ASSERT_EQ(stats_of(ch->pool).committed_height, ch->committed);
}

static void run_chain(uint64_t seed)
{
    static struct chain ch;
    unsigned step;

    memset(&ch, 0, sizeof ch);
    seq_rng_seed(&ch.rng, seed);
    ch.config = base_config(0);
    ch.config.dedup_heights = (uint32_t)seq_rng_range(&ch.rng, 1, 4);
    /* Entries cap from 1 (only the last block's, if that) to never. */
    ch.config.dedup_max_txs =
        seq_rng_below(&ch.rng, 4) == 0
            ? 1u << 12
            : (uint32_t)seq_rng_range(&ch.rng, 1, CHAIN_TXS);
    ch.config.max_batches_per_author = CHAIN_BATCHES;
    ch.config.hash_seed = seed;
    ch.pool = pool_new(&ch.config);
    for (step = 0; step < 400; step++) {
        uint64_t r = seq_rng_below(&ch.rng, 10);
        if (r < 3 && ch.n_batches < CHAIN_BATCHES) {
            chain_new_batch(&ch);
        } else if (r < 6 && ch.top < CHAIN_HEIGHTS &&
                   ch.top - ch.committed < 6) {
            chain_propose(&ch);
        } else if (r < 9 && ch.committed < ch.top) {
            chain_commit(&ch);
        } else if (r == 9) {
            chain_restart(&ch);
        }
    }
    while (ch.committed < ch.top) {
        chain_commit(&ch);
    }
    mp_pool_free(ch.pool);
}

TEST(mempool, block_txs_equals_commit)
{
    unsigned seeds = test_sim_seeds(50);
    unsigned s;

    for (s = 0; s < seeds; s++) {
        uint64_t seed = test_seed() + s;
        test_set_seed(seed);
        run_chain(seed);
    }
}

/* W = 3. A pool that restarts after height 5 and is fed heights 3..5
 * drops exactly what the pool that never restarted drops. */
TEST(mempool, restore_matches_no_restart)
{
    static const char *const names[5] = { "a", "b", "c", "d", "e" };
    static const char *const six[6] = { "a", "b", "c", "d", "e", "f" };
    struct mp_config c = base_config(0);
    struct mp_pool *a;
    struct mp_pool *b;
    struct mp_block_txs *ta;
    struct mp_block_txs *tb;
    struct seq_hash ids[1];
    struct seq_hash hashes[5];
    uint64_t h;
    size_t i;

    c.dedup_heights = 3;
    c.batch_max_txs = 8;
    a = pool_new(&c);
    b = pool_new(&c);
    for (h = 1; h <= 5; h++) {
        ids[0] = add_text(a, 1, h, &names[h - 1], 1);
        ta = commit_ids(a, h, ids, 1);
        ASSERT_EQ(ta->n_txs, 1);
        hashes[h - 1] = ta->txs[0].hash;
        mp_block_txs_free(ta);
    }
    /* B had "c" pending in its open batch when it learnt of height 3. */
    submit_str(b, 0, NS_A, "c", MP_TX_NEW);
    submit_str(b, 0, NS_A, "x", MP_TX_NEW);
    ASSERT_ERR(mp_pool_restore_committed(b, 0, NULL, 0), SEQ_EINVAL);
    for (h = 3; h <= 5; h++) {
        ASSERT_OK(mp_pool_restore_committed(b, h, &hashes[h - 1], 1));
    }
    ASSERT_ERR(mp_pool_restore_committed(b, 5, NULL, 0), SEQ_EINVAL);
    ASSERT_EQ(stats_of(b).committed_height, 5);
    ASSERT_EQ(stats_of(b).window_txs, 3);
    ASSERT_EQ(stats_of(b).pending_txs, 1);
    ASSERT_EQ(stats_of(b).open_txs, 1);
    for (i = 0; i < 5; i++) {
        ASSERT_EQ(mp_pool_tx_state(a, &hashes[i]),
                  mp_pool_tx_state(b, &hashes[i]));
    }
    ASSERT_EQ(mp_pool_tx_state(b, &hashes[1]), MP_TX_UNKNOWN);
    ASSERT_EQ(mp_pool_tx_state(b, &hashes[2]), MP_TX_COMMITTED);

    ids[0] = add_text(a, 2, 1, six, 6);
    add_text(b, 2, 1, six, 6);
    ASSERT_ERR(mp_pool_commit(b, 5, NULL, 0, &tb, NULL, NULL), SEQ_EINVAL);
    ASSERT_ERR(mp_pool_commit(b, 7, NULL, 0, &tb, NULL, NULL), SEQ_EINVAL);
    ta = commit_ids(a, 6, ids, 1);
    tb = commit_ids(b, 6, ids, 1);
    assert_same_block(ta, tb);
    /* Floor 3: a (1) and b (2) are entries again, c d e are not. */
    ASSERT_EQ(ta->n_txs, 3);
    assert_tx(&ta->txs[0], NS_A, "a");
    assert_tx(&ta->txs[1], NS_A, "b");
    assert_tx(&ta->txs[2], NS_A, "f");
    mp_block_txs_free(ta);
    mp_block_txs_free(tb);
    mp_pool_free(b);
    mp_pool_free(a);
}

TEST(mempool, set_next_seq)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool = pool_new(&c);
    const struct mp_batch *b;

    ASSERT_OK(mp_pool_set_next_seq(pool, 1));
    ASSERT_OK(mp_pool_set_next_seq(pool, 7));
    ASSERT_EQ(stats_of(pool).next_seq, 7);
    ASSERT_ERR(mp_pool_set_next_seq(pool, 6), SEQ_EINVAL);
    submit_new(pool, 0, NS_A, 10, 1); /* Opens batch 7. */
    ASSERT_EQ(stats_of(pool).next_seq, 8);
    ASSERT_ERR(mp_pool_set_next_seq(pool, 6), SEQ_EINVAL);
    ASSERT_OK(mp_pool_set_next_seq(pool, 7));
    /* The open batch is not sealed yet: it takes the new seq. */
    ASSERT_OK(mp_pool_set_next_seq(pool, 20));
    ASSERT_EQ(mp_pool_tick(pool, 10, &b), 1);
    ASSERT_EQ(mp_batch_seq(b), 20);
    submit_new(pool, 20, NS_A, 10, 2);
    ASSERT_EQ(mp_pool_tick(pool, 30, &b), 1);
    ASSERT_EQ(mp_batch_seq(b), 21);
    ASSERT_ERR(mp_pool_set_next_seq(pool, UINT64_MAX), SEQ_EINVAL);
    ASSERT_EQ(stats_of(pool).next_seq, 22);
    mp_pool_free(pool);
}

/* A transaction in a peer's held batch is pending here too; in the
 * window it is committed, whatever is still held. */
TEST(mempool, pending_through_peer_batches)
{
    static const char *const t[1] = { "t" };
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    struct mp_block_txs *got;
    struct seq_hash th = text_hash("t");
    struct seq_hash x1;
    struct seq_hash x2;

    c.dedup_heights = 1;
    pool = pool_new(&c);
    ASSERT_EQ(mp_pool_tx_state(pool, &th), MP_TX_UNKNOWN);
    x1 = add_text(pool, 1, 1, t, 1);
    x2 = add_text(pool, 2, 1, t, 1);
    ASSERT_EQ(mp_pool_tx_state(pool, &th), MP_TX_PENDING);
    submit_str(pool, 0, NS_A, "t", MP_TX_PENDING);
    ASSERT_EQ(stats_of(pool).pending_txs, 0);
    ASSERT_EQ(stats_of(pool).duplicates, 1);

    got = commit_ids(pool, 1, &x1, 1);
    mp_block_txs_free(got);
    ASSERT_EQ(mp_pool_tx_state(pool, &th), MP_TX_COMMITTED);
    submit_str(pool, 0, NS_A, "t", MP_TX_COMMITTED);
    commit_empty(pool, 2);
    /* Out of the window, but x2 still has it. */
    ASSERT_EQ(mp_pool_tx_state(pool, &th), MP_TX_PENDING);
    got = commit_ids(pool, 3, &x2, 1);
    ASSERT_EQ(got->n_txs, 1); /* Its entry at 1 is below 3 - 1. */
    mp_block_txs_free(got);
    ASSERT_EQ(mp_pool_tx_state(pool, &th), MP_TX_COMMITTED);
    commit_empty(pool, 4);
    ASSERT_EQ(mp_pool_tx_state(pool, &th), MP_TX_UNKNOWN);
    submit_str(pool, 0, NS_A, "t", MP_TX_NEW);
    mp_pool_free(pool);
}

/* batch_interval_ms 0: every tick seals what is open, even when the
 * clock goes back. */
TEST(mempool, seal_every_tick_with_interval_0)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    const struct mp_batch *b;

    c.batch_interval_ms = 0;
    pool = pool_new(&c);
    ASSERT_EQ(mp_pool_tick(pool, 0, &b), 0);
    submit_new(pool, 100, NS_A, 10, 1);
    ASSERT_EQ(mp_pool_tick(pool, 100, &b), 1);
    ASSERT_EQ(mp_batch_count(b), 1);
    submit_new(pool, 100, NS_A, 10, 2);
    submit_new(pool, 100, NS_A, 10, 3);
    ASSERT_EQ(mp_pool_tick(pool, 50, &b), 1);
    ASSERT_EQ(mp_batch_count(b), 2);
    ASSERT_EQ(mp_pool_tick(pool, 50, &b), 0);
    ASSERT_EQ(stats_of(pool).open_txs, 0);
    mp_pool_free(pool);
}

/* ---------------------------------------------------------------------- */
/* Allocation failure (M5): fail allocation 1, 2, ... until the call gets
 * through; each failure is SEQ_ENOMEM and changes nothing. */

TEST(mempool, alloc_failure_on_submit)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool = pool_new(&c);
    struct seq_hash before;
    struct seq_hash after;
    struct seq_hash h;
    unsigned long nth;
    int rv = SEQ_ENOMEM;

    submit_new(pool, 0, NS_A, 10, 1);
    ASSERT_EQ(drain(pool, 10), 1);
    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        fingerprint(pool, &before);
        seq_alloc_fail_at(nth, 0);
        rv = submit(pool, 20, NS_A, 10, 2, &h, NULL);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_ENOMEM) {
            fingerprint(pool, &after);
            ASSERT_MEMEQ(before.bytes, after.bytes, SEQ_HASH_LEN);
            ASSERT_EQ(mp_pool_tx_state(pool, &h), MP_TX_UNKNOWN);
        }
    }
    ASSERT_OK(rv);
    ASSERT_EQ(nth, 5); /* The batch and its two buffers. */
    ASSERT_EQ(mp_pool_tx_state(pool, &h), MP_TX_PENDING);
    mp_pool_free(pool);
}

TEST(mempool, alloc_failure_on_decode_and_add)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool = pool_new(&c);
    struct seq_hash before;
    struct seq_hash after;
    struct mp_batch *d = NULL;
    uint8_t raw[256];
    uint64_t ns[2] = { NS_A, NS_C };
    uint32_t lens[2] = { 5, 6 };
    size_t len = make_batch(raw, 1, 1, 2, ns, lens, 2);
    unsigned long nth;
    int rv = SEQ_ENOMEM;

    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        seq_alloc_fail_at(nth, 0);
        rv = mp_batch_decode(raw, len, &test_limits, &d);
        seq_alloc_fail_at(0, 0);
    }
    ASSERT_OK(rv);
    ASSERT_EQ(nth, 5);
    mp_batch_free(d);

    rv = SEQ_ENOMEM;
    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        fingerprint(pool, &before);
        seq_alloc_fail_at(nth, 0);
        rv = mp_pool_add_batch(pool, 1, raw, len, NULL);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_ENOMEM) {
            fingerprint(pool, &after);
            ASSERT_MEMEQ(before.bytes, after.bytes, SEQ_HASH_LEN);
        }
    }
    ASSERT_OK(rv);
    ASSERT_EQ(stats_of(pool).held_batches, 1);
    mp_pool_free(pool);
}

TEST(mempool, alloc_failure_on_payload_and_commit)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool = pool_new(&c);
    struct mp_block_txs *t = NULL;
    struct seq_hash *missing = NULL;
    struct seq_hash before;
    struct seq_hash after;
    size_t n_missing = 0;
    uint8_t *p = NULL;
    size_t len = 0;
    unsigned long nth;
    int rv = SEQ_ENOMEM;

    submit_new(pool, 0, NS_A, 10, 1);
    submit_new(pool, 0, NS_B, 10, 1);
    ASSERT_EQ(drain(pool, 10), 1);
    add_peer(pool, 2, 1, 10);
    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        seq_alloc_fail_at(nth, 0);
        rv = mp_pool_build_payload(pool, NULL, 0, &p, &len);
        seq_alloc_fail_at(0, 0);
    }
    ASSERT_OK(rv);
    rv = SEQ_ENOMEM;
    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        seq_alloc_fail_at(nth, 0);
        rv = mp_pool_check_payload(pool, p, len, &missing, &n_missing);
        seq_alloc_fail_at(0, 0);
    }
    ASSERT_OK(rv);
    rv = SEQ_ENOMEM;
    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        fingerprint(pool, &before);
        seq_alloc_fail_at(nth, 0);
        rv = mp_pool_commit(pool, 1, p, len, &t, NULL, NULL);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_ENOMEM) {
            fingerprint(pool, &after);
            ASSERT_MEMEQ(before.bytes, after.bytes, SEQ_HASH_LEN);
        }
    }
    ASSERT_OK(rv);
    ASSERT_GT(nth, 8);
    ASSERT_EQ(t->n_txs, 3);
    ASSERT_EQ(stats_of(pool).pending_txs, 0);
    mp_block_txs_free(t);
    seq_free(p);
    mp_pool_free(pool);
}

TEST(mempool, alloc_failure_on_block_txs_restore_and_commit)
{
    static const char *const five[5] = { "a", "b", "c", "d", "e" };
    static const char *const six[6] = { "f", "g", "h", "i", "j", "k" };
    struct mp_config c = base_config(0);
    struct mp_pool *pool;
    struct mp_block_txs *t = NULL;
    struct seq_hash *missing = NULL;
    struct seq_hash before;
    struct seq_hash after;
    struct seq_hash restored[10];
    struct seq_hash ids[2];
    struct mp_ancestor anc;
    size_t n_missing = 0;
    uint8_t *p1 = NULL;
    uint8_t *p2 = NULL;
    size_t l1 = 0;
    size_t l2 = 0;
    unsigned long nth;
    size_t i;
    int rv = SEQ_ENOMEM;

    c.batch_max_txs = 8;
    pool = pool_new(&c);
    ids[0] = add_text(pool, 1, 1, five, 5);
    ids[1] = add_text(pool, 2, 1, six, 6);
    ASSERT_OK(mp_payload_encode(&ids[0], 1, &p1, &l1));
    ASSERT_OK(mp_payload_encode(&ids[1], 1, &p2, &l2));
    anc = (struct mp_ancestor){ .height = 4, .payload = p1, .len = l1 };
    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        seq_alloc_fail_at(nth, 0);
        rv = mp_pool_block_txs(pool, 5, p2, l2, &anc, 1, &t, &missing,
                               &n_missing);
        seq_alloc_fail_at(0, 0);
    }
    ASSERT_OK(rv);
    ASSERT_EQ(t->n_txs, 6);
    mp_block_txs_free(t);

    /* Ten restored hashes outgrow the window's first table. */
    for (i = 0; i < 10; i++) {
        mp_tx_hash(NS_B, &i, sizeof i, &restored[i]);
    }
    rv = SEQ_ENOMEM;
    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        fingerprint(pool, &before);
        seq_alloc_fail_at(nth, 0);
        rv = mp_pool_restore_committed(pool, 3, restored, 10);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_ENOMEM) {
            fingerprint(pool, &after);
            ASSERT_MEMEQ(before.bytes, after.bytes, SEQ_HASH_LEN);
        }
    }
    ASSERT_OK(rv);
    ASSERT_GT(nth, 2);
    ASSERT_EQ(stats_of(pool).committed_height, 3);
    ASSERT_EQ(stats_of(pool).window_txs, 10);

    /* Commit 4 and 5: the window's table grows again. */
    rv = SEQ_ENOMEM;
    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        fingerprint(pool, &before);
        seq_alloc_fail_at(nth, 0);
        rv = mp_pool_commit(pool, 4, p1, l1, &t, NULL, NULL);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_ENOMEM) {
            fingerprint(pool, &after);
            ASSERT_MEMEQ(before.bytes, after.bytes, SEQ_HASH_LEN);
        }
    }
    ASSERT_OK(rv);
    mp_block_txs_free(t);
    rv = SEQ_ENOMEM;
    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        fingerprint(pool, &before);
        seq_alloc_fail_at(nth, 0);
        rv = mp_pool_commit(pool, 5, p2, l2, &t, NULL, NULL);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_ENOMEM) {
            fingerprint(pool, &after);
            ASSERT_MEMEQ(before.bytes, after.bytes, SEQ_HASH_LEN);
        }
    }
    ASSERT_OK(rv);
    ASSERT_EQ(t->n_txs, 6);
    ASSERT_EQ(stats_of(pool).window_txs, 21);
    mp_block_txs_free(t);
    seq_free(p1);
    seq_free(p2);
    mp_pool_free(pool);
}

TEST(mempool, alloc_failure_on_open)
{
    struct mp_config c = base_config(0);
    struct mp_pool *pool = NULL;
    unsigned long nth;
    int rv = SEQ_ENOMEM;

    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        seq_alloc_fail_at(nth, 0);
        rv = mp_pool_open(&c, &pool);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_ENOMEM) {
            ASSERT_TRUE(pool == NULL);
        }
    }
    ASSERT_OK(rv);
    mp_pool_free(pool);
}

/* The hash set (seq_hset.h) against a naive model: a flag, a value and a
 * reference count per key. The keys come in groups that share their first 8
 * bytes, hence their home bucket and their tag under every seed, so a probe
 * must compare keys; the groups themselves collide in the home buckets of
 * tables of 2 to 64 slots. Every answer, the count and the capacity are
 * checked after each step, across growth by seq_hset_reserve() and failed
 * growth: a key moved by a deletion's backward shift or by a rehash without
 * its tag (seq_hset.c (T3)) would no longer be found. */
#define SET_GROUPS     8
#define SET_PER_GROUP  3
#define SET_KEYS       (SET_GROUPS * SET_PER_GROUP)
#define SET_MAX_GROWTH (2 * SET_KEYS)

struct set_model {
    struct seq_hset set;
    struct seq_hash keys[SET_KEYS];
    bool present[SET_KEYS];
    void *value[SET_KEYS];
    uint32_t refs[SET_KEYS];
    size_t n;
};

static int set_cells[3];

static void set_model_init(struct set_model *m, struct seq_rng *rng)
{
    size_t k;

    memset(m, 0, sizeof *m);
    for (k = 0; k < SET_KEYS; k++) {
        memset(m->keys[k].bytes, 0xa5, SEQ_HASH_LEN);
        m->keys[k].bytes[7] = (uint8_t)(k / SET_PER_GROUP);
        m->keys[k].bytes[31] = (uint8_t)(k % SET_PER_GROUP);
    }
    ASSERT_OK(seq_hset_init(&m->set, (size_t)seq_rng_below(rng, 5),
                            seq_rng_next(rng)));
}

static void set_model_check(const struct set_model *m)
{
    size_t k;

    ASSERT_EQ(m->set.n, m->n);
    ASSERT_LE(m->set.n, m->set.max);
    for (k = 0; k < SET_KEYS; k++) {
        void *v = NULL;

        ASSERT_EQ(seq_hset_get(&m->set, &m->keys[k], &v), m->present[k]);
        if (m->present[k]) {
            ASSERT_TRUE(v == m->value[k]);
        }
        ASSERT_EQ(seq_hset_get(&m->set, &m->keys[k], NULL), m->present[k]);
    }
}

/* What adding key @k to the model answers: 0 (added with @value and one
 * reference) or SEQ_EFULL. */
static int set_model_add(struct set_model *m, size_t k, void *value)
{
    if (m->n >= m->set.max) {
        return SEQ_EFULL;
    }
    m->present[k] = true;
    m->value[k] = value;
    m->refs[k] = 1;
    m->n++;
    return SEQ_OK;
}

static void set_model_remove(struct set_model *m, size_t k)
{
    m->present[k] = false;
    m->value[k] = NULL;
    m->refs[k] = 0;
    m->n--;
}

/* Grows to a random capacity, failing the allocation half of the time: a
 * failure must leave the set as it was. */
static void set_model_reserve(struct set_model *m, struct seq_rng *rng)
{
    size_t old_max = m->set.max;
    size_t want = m->n + (size_t)seq_rng_below(rng, 2 * old_max + 2);
    int fail = seq_rng_percent(rng, 50);
    int rv;

    if (fail) {
        seq_alloc_fail_at(1, 0);
    }
    rv = seq_hset_reserve(&m->set, want);
    seq_alloc_fail_at(0, 0);
    if (rv == SEQ_ENOMEM) {
        ASSERT_TRUE(fail);
        ASSERT_GT(want, old_max);
        ASSERT_EQ(m->set.max, old_max);
        return;
    }
    ASSERT_OK(rv);
    if (want <= old_max) {
        ASSERT_EQ(m->set.max, old_max);
    } else {
        ASSERT_GE(m->set.max, want);
        ASSERT_GE(m->set.max, 2 * old_max);
    }
}

static void set_model_step(struct set_model *m, struct seq_rng *rng)
{
    size_t k = (size_t)seq_rng_below(rng, SET_KEYS);
    uint64_t pick = seq_rng_below(rng, 4);
    void *value = pick == 3 ? NULL : &set_cells[pick];
    uint64_t op = seq_rng_below(rng, 100);

    if (op < 20) {
        int want = m->present[k] ? SEQ_EEXIST : set_model_add(m, k, value);
        ASSERT_ERR(seq_hset_put(&m->set, &m->keys[k], value), want);
    } else if (op < 35) {
        int want = SEQ_OK;
        if (m->present[k]) {
            m->value[k] = value;
        } else {
            want = set_model_add(m, k, value);
        }
        ASSERT_ERR(seq_hset_assign(&m->set, &m->keys[k], value), want);
    } else if (op < 55) {
        int want = SEQ_OK;
        if (m->present[k]) {
            m->refs[k]++;
        } else {
            want = set_model_add(m, k, NULL);
        }
        ASSERT_ERR(seq_hset_ref(&m->set, &m->keys[k]), want);
    } else if (op < 75) {
        bool had = m->present[k];
        if (had && m->refs[k] > 1) {
            m->refs[k]--;
        } else if (had) {
            set_model_remove(m, k);
        }
        ASSERT_EQ(seq_hset_unref(&m->set, &m->keys[k]), had);
    } else if (op < 95) {
        bool had = m->present[k];
        if (had) {
            set_model_remove(m, k);
        }
        ASSERT_EQ(seq_hset_del(&m->set, &m->keys[k]), had);
    } else if (m->set.max < SET_MAX_GROWTH) {
        set_model_reserve(m, rng);
    }
}

TEST(mempool, set_matches_model)
{
    unsigned seeds = test_sim_seeds(50);
    unsigned s;

    for (s = 0; s < seeds; s++) {
        struct set_model m;
        struct seq_rng rng;
        uint64_t seed = test_seed() + s;
        int i;

        test_set_seed(seed);
        seq_rng_seed(&rng, seed);
        set_model_init(&m, &rng);
        set_model_check(&m);
        for (i = 0; i < 4000; i++) {
            set_model_step(&m, &rng);
            set_model_check(&m);
        }
        seq_hset_close(&m.set);
        ASSERT_FALSE(seq_hset_get(&m.set, &m.keys[0], NULL));
        ASSERT_FALSE(seq_hset_del(&m.set, &m.keys[0]));
        ASSERT_FALSE(seq_hset_unref(&m.set, &m.keys[0]));
    }
}

TEST_MAIN()
