/* The stage-1 mempool (mempool/mp_pool.h, mp_batch.h): admission and its
 * error table, capacity (global and weighted per namespace) and its
 * recovery after commit, batch sealing by size and by time, the canonical
 * batch and payload encodings and the rejection of every malformed shape,
 * peer batch validation, payload building and checking, commit order and
 * dedup (first occurrence wins), determinism across hash seeds (M1), and
 * failure of each allocation in turn leaving the pool unchanged (M5). */

#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "mp_batch.h"
#include "mp_pool.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hash.h"
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
        .recent_txs = 64,
        .recent_batches = 64,
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
    ASSERT_OK(mp_pool_commit(pool, payload, len, &txs, NULL, NULL));
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
    /* The same block again commits nothing (M4). */
    mp_block_txs_free(txs);
    ASSERT_OK(mp_pool_commit(pool, payload, len, &txs, NULL, NULL));
    ASSERT_EQ(txs->n_txs, 0);
    ASSERT_ERR(mp_pool_check_payload(pool, payload, len, NULL, NULL),
               SEQ_EBADMSG);
    mp_block_txs_free(txs);
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

static int decode_rv(const uint8_t *buf, size_t len)
{
    struct mp_batch *d = NULL;
    int rv = mp_batch_decode(buf, len, &test_limits, &d);

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
    ASSERT_EQ(gossip(a, 10, &all[1], 1), 1);
    ASSERT_EQ(gossip(b, 10, &all[0], 1), 1);
    /* B holds "a2" in its open batch; A's batch will commit it. */
    submit_str(b, 11, NS_A, "a2", MP_TX_NEW);
    submit_str(b, 11, NS_A, "b2", MP_TX_NEW);
    ASSERT_EQ(stats_of(b).open_txs, 2);

    ASSERT_OK(mp_pool_build_payload(a, NULL, 0, &payload, &len));
    ASSERT_OK(mp_pool_check_payload(b, payload, len, NULL, NULL));
    ASSERT_OK(mp_pool_commit(a, payload, len, &ta, NULL, NULL));
    ASSERT_OK(mp_pool_commit(b, payload, len, &tb, NULL, NULL));

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
    ASSERT_OK(mp_pool_commit(a, payload, len, &ta, NULL, NULL));
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
    ASSERT_ERR(mp_pool_commit(late, p, len, &t, &missing, &n_missing),
               SEQ_EAGAIN);
    ASSERT_EQ(n_missing, 1);
    ASSERT_TRUE(seq_hash_eq(&missing[0], &x2));
    ASSERT_ERR(mp_pool_commit(late, p, len, &t, NULL, NULL), SEQ_EAGAIN);
    fingerprint(late, &after);
    ASSERT_MEMEQ(before.bytes, after.bytes, SEQ_HASH_LEN);
    raw = encode(mp_pool_get_batch(leader, &x2), &rlen);
    ASSERT_OK(mp_pool_add_batch(late, 0, raw, rlen, &x2));
    ASSERT_OK(mp_pool_commit(late, p, len, &t, NULL, NULL));
    ASSERT_EQ(t->n_txs, 2);
    ASSERT_ERR(mp_pool_commit(late, raw, rlen, &t, NULL, NULL), SEQ_EBADMSG);
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
    unsigned step;
    uint32_t i;

    seq_rng_seed(&rng, seed);
    seq_sha256_init(&ctx);
    for (i = 0; i < 4; i++) {
        struct mp_config c = base_config(i);
        c.hash_seed = hash_seed * 7 + i;
        c.recent_txs = 16; /* Small, so that eviction happens too. */
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
            for (j = 0; j < 4; j++) {
                struct mp_block_txs *t = NULL;
                ASSERT_OK(mp_pool_check_payload(pools[j], p, len, NULL, NULL));
                ASSERT_OK(mp_pool_commit(pools[j], p, len, &t, NULL, NULL));
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
        rv = mp_pool_commit(pool, p, len, &t, NULL, NULL);
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

TEST_MAIN()
