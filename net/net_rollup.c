/* The rollup path of a validator (net_node_int.h): the mempool between the
 * clients and the core, dissemination batches over the mesh, the leader's
 * payload and namespace root, the voter's check of both, and committed
 * blocks turned into per-namespace entries that namespace blocks are
 * served from.
 *
 * NOTES ON THE DESIGN
 * (R1) Entries are a function of the chain. The leader computes the
 *      block's entries from its payload and its uncommitted ancestors'
 *      (mp_pool_block_txs: first occurrence wins within the block, its
 *      ancestors and the committed dedup window) and puts their namespace
 *      root in the header; a voter recomputes it and refuses a mismatch;
 *      at commit every replica recomputes the same entries
 *      (mp_pool_commit), restarted or not (the window is restored from
 *      the store). So what a replica serves always matches the root that
 *      2f+1 validators signed.
 * (R2) Durability. Our sealed batches and peers' batches are staged in
 *      the turn they appear, so the sync precedes any ack (ours) and any
 *      vote (a QC means f+1 honest validators hold the data on disk).
 *      The loop seals once per turn (batch_interval_ms 0) so every
 *      admitted transaction is inside a staged batch when the turn
 *      syncs. Batches are never deleted: a validator catching up fetches
 *      old ones from its peers. A record in the tx column family marks a
 *      batch committed, so a restart does not offer it again.
 * (R3) Commits are materialized in height order, possibly later than the
 *      core commits them: a replica that committed blocks it never voted
 *      for (catch-up) may lack their batches and fetches them first.
 *      Namespace blocks are served up to the last materialized height
 *      that a sync made durable (net_rollup_height).
 * (R4) A namespace block's commit proof is the header chain from its
 *      height up to the block a 2-chain committed directly, plus that
 *      block's certified child and the child's QC (recorded by the
 *      commit_cert hook, keyed by the directly committed height).
 *
 * (R5) Stored once. A namespace's entries at a height are references into
 *      the block's batches (net_nsval.h), which every validator keeps
 *      anyway (R2), not the payloads again: a transaction's bytes reach
 *      the disk with the batch that carries it and not a second time
 *      (DESIGN §10). Reading resolves them through the height's block
 *      payload, which reads every batch of the block; the batches of the
 *      last height read are kept, so K subscriptions at the tip read them
 *      once per height (a subscription catching up reads a block's
 *      batches for each of its namespace blocks). Batches are therefore
 *      never deleted (store.h). Values written before R5 hold the
 *      payloads and are still read; a binary from before R5 refuses a
 *      database written after it (ECORRUPT at open), it does not misread
 *      it.
 *
 * Store records written here (all integers big-endian):
 *   ns (N >= 1, h)   the entries' references (R5, net_nsval.h)
 *   ns (0, h)        the block's namespace leaves: u32 n, then per leaf
 *                    u64 ns_id, 32-byte entries_hash (ascending ids)
 *   tx[tx_hash]      u8 1, u64 height, u64 ns, u32 index
 *   tx[batch_id]     u8 2, u64 height: the batch is committed
 *   cert[h]          protobuf seqc.CommitProof with child and child_qc
 *   meta rollup_height, mp_next_seq (u64) */

#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.pb-c.h"
#include "mp_batch.h"
#include "mp_pool.h"
#include "net_node_int.h"
#include "net_nsval.h"
#include "seq_alloc.h"
#include "seq_be.h"
#include "seq_err.h"
#include "seq_log.h"
#include "seq_nstree.h"
#include "seq_random.h"
#include "wire.h"

#define LOG_MOD "rollup"

/* Protocol constants: every validator must use the same (R1). */
#define DEDUP_HEIGHTS 1024
/* The dedup window's entries (mp_pool.c (M3)): as many as one block can
 * have, so that the window's table (2^21 slots, 100 MB) never grows. At
 * 30,000 tx/s that is the last 35 s of transactions, 1,024 heights the
 * last 10-60 s depending on the block rate; below about 10,000 tx/s the
 * heights bound it. */
#define DEDUP_MAX_TXS   (BLOCK_MAX_BATCHES * BATCH_MAX_TXS)
#define BATCH_MAX_TXS   4096
#define BATCH_MAX_BYTES (4u * 1024 * 1024)
/* A namespace block must fit one client-port reply (SEQC_MAX_REPLY,
 * 32 MiB): 8 MiB of payload plus at most 256 * 4096 entries' framing. */
#define BLOCK_MAX_BATCHES 256
#define BLOCK_MAX_BYTES   (8ull * 1024 * 1024)
/* Local limits. */
#define MAX_BATCHES_AUTHOR   4096
#define FETCH_RETRY_MS       200
#define FETCH_MAX_IDS        256
#define COMMITS_PER_TURN     64
#define WANT_TRIES           20
#define MAX_WANTED           65536
#define MAX_WANTED_PROPOSAL  4096
#define SERVE_BYTES_PER_TURN (16u * 1024 * 1024)
#define RETRY_AFTER_MS       500

static const char meta_height[] = "rollup_height";
static const char meta_seq[] = "mp_next_seq";

/* A block the core showed us (persist_block or commit) above the
 * materialized height: the payloads that ancestors' dedup needs. */
struct ublock {
    struct seq_hash id;
    struct seq_hash parent_id;
    uint64_t height;
    uint8_t *payload;
    size_t len;
};

struct wanted {
    struct seq_hash id;
    hs_node_t from; /* Who should hold it: asked first. */
    unsigned tries;
    uint64_t next_ms; /* Not asked again before. */
    bool for_commit;
};

/* Committed by the core, not yet materialized (R3). */
struct pending_commit {
    uint64_t height;
    struct seq_hash id;
    struct seq_hash ns_root;
    hs_node_t author;
    uint8_t *payload;
    size_t len;
};

struct rollup_stats {
    uint64_t batches_sealed;
    uint64_t batches_received;
    uint64_t batches_bad;
    uint64_t batch_requests_sent;
    uint64_t batch_requests_served;
    uint64_t frames_bad;
    uint64_t payload_refused;
    uint64_t ns_root_mismatch;
    uint64_t txs_materialized;
    uint64_t read_batch_bytes; /* Stored batches read to serve entries. */
    uint64_t *ns_txs; /* Per genesis namespace (same index): committed. */
};

struct net_rollup {
    struct mp_pool *pool;
    struct mp_namespace *namespaces;
    uint64_t materialized; /* Entries staged up to here. */
    uint64_t served;       /* ... and durable up to here. */
    struct ublock *blocks;
    size_t n_blocks, cap_blocks;
    struct pending_commit *commits;
    size_t n_commits, cap_commits;
    /* Batches wanted (fetch), with whom to ask. */
    struct wanted *wanted;
    size_t n_wanted, cap_wanted;
    bool payload_waiting; /* check_payload said EAGAIN. */
    bool batches_arrived; /* Since the last on_payload_ready. */
    uint64_t served_bytes[HS_MAX_VALIDATORS]; /* This turn, per peer. */
    struct rollup_stats stats;
    /* The batches of the height whose entries were read last (R5). */
    struct {
        uint64_t height; /* 0: none. */
        struct seq_hash *ids;
        struct read_batch *batches; /* ids' order; read when first needed. */
        size_t n;
    } read;
};

/* A batch read back from the store, with its transactions as views. */
struct read_batch {
    void *buf;
    struct mp_tx *txs;
    size_t n_txs;
};

static int meta_get_u64(struct store *s, const char *key, uint64_t *out)
{
    void *val = NULL;
    size_t len = 0;
    int rv = store_get_meta(s, key, &val, &len);

    if (rv == SEQ_ENOTFOUND) {
        *out = 0;
        return SEQ_OK;
    }
    if (rv == 0 && len != 8) {
        rv = SEQ_ECORRUPT;
    }
    if (rv == 0) {
        *out = seq_be64_get(val);
    }
    seq_free(val);
    return rv;
}

static int meta_put_u64(struct store *s, const char *key, uint64_t v)
{
    uint8_t buf[8];

    seq_be64_put(buf, v);
    return store_put_meta(s, key, buf, sizeof buf);
}

/* A namespace's entries at a height (entries_load): views into the
 * value read or into the batches kept in r->read. */
struct entries {
    uint32_t n;
    struct seqc_tx *txs; /* seq_malloc'ed array of views. */
    void *val;           /* The stored value (seq_free). */
};

static void entries_free(struct entries *e)
{
    seq_free(e->txs);
    seq_free(e->val);
    memset(e, 0, sizeof *e);
}

static void read_forget(struct net_rollup *r)
{
    size_t i;

    for (i = 0; i < r->read.n; i++) {
        seq_free(r->read.batches[i].buf);
        seq_free(r->read.batches[i].txs);
    }
    seq_free(r->read.batches);
    seq_free(r->read.ids);
    memset(&r->read, 0, sizeof r->read);
}

/* Points r->read at the batches of committed @height (none read yet). */
static int read_height(struct net_node *node, uint64_t height)
{
    struct net_rollup *r = node->rollup;
    struct seq_hash id;
    struct hs_block b;
    int rv;

    if (r->read.height == height && height != 0) {
        return SEQ_OK;
    }
    read_forget(r);
    rv = store_get_commit(node->store, height, &id);
    if (rv == 0) {
        rv = store_get_block(node->store, &id, &b);
    }
    if (rv != 0) {
        return rv == SEQ_ENOTFOUND ? SEQ_ECORRUPT : rv;
    }
    rv = b.payload_len == 0
             ? SEQ_ECORRUPT
             : mp_payload_decode(b.payload, b.payload_len, BLOCK_MAX_BATCHES,
                                 &r->read.ids, &r->read.n);
    hs_block_free(&b);
    if (rv != 0) {
        return rv == SEQ_ENOMEM ? rv : SEQ_ECORRUPT;
    }
    r->read.batches = seq_calloc(r->read.n, sizeof *r->read.batches);
    if (r->read.batches == NULL) {
        read_forget(r);
        return SEQ_ENOMEM;
    }
    r->read.height = height;
    return SEQ_OK;
}

/* The transactions of the batch at @pos of r->read's block. */
static int read_batch(struct net_node *node,
                      uint32_t pos,
                      const struct read_batch **out)
{
    /* Checked when it came in; the walk bounds the count by the length,
     * so no limit of ours has to stay what it was when it was stored. */
    static const struct mp_batch_limits any = {
        .max_txs = UINT32_MAX,
        .max_bytes = UINT32_MAX,
        .max_tx_size = UINT32_MAX,
    };
    struct read_batch *rb;
    size_t len = 0;
    int rv;

    if (pos >= node->rollup->read.n) {
        return SEQ_ECORRUPT;
    }
    rb = &node->rollup->read.batches[pos];
    if (rb->buf == NULL) {
        rv = store_get_batch(node->store, &node->rollup->read.ids[pos],
                             &rb->buf, &len);
        if (rv == SEQ_ENOTFOUND || (rv == 0 && rb->buf == NULL)) {
            rv = SEQ_ECORRUPT; /* Committed, so stored; and never empty. */
        }
        if (rv == 0) {
            node->rollup->stats.read_batch_bytes += len;
            rv = mp_batch_views(rb->buf, len, &any, &rb->txs, &rb->n_txs);
            if (rv == SEQ_EBADMSG) {
                rv = SEQ_ECORRUPT;
            }
        }
        if (rv != 0) {
            seq_free(rb->buf);
            rb->buf = NULL;
            return rv;
        }
    }
    *out = rb;
    return SEQ_OK;
}

/* Resolves references (R5) into views of r->read's batches. */
static int entries_resolve(struct net_node *node,
                           uint64_t ns,
                           uint64_t height,
                           const struct net_nsref *refs,
                           uint32_t n,
                           struct seqc_tx *txs)
{
    uint32_t i;
    int rv;

    rv = read_height(node, height);
    for (i = 0; rv == 0 && i < n; i++) {
        const struct read_batch *rb;
        const struct mp_tx *tx;

        rv = read_batch(node, refs[i].batch, &rb);
        if (rv != 0) {
            break;
        }
        if (refs[i].index >= rb->n_txs) {
            return SEQ_ECORRUPT;
        }
        tx = &rb->txs[refs[i].index];
        if (tx->ns != ns) {
            return SEQ_ECORRUPT;
        }
        txs[i].ns = ns;
        txs[i].payload = tx->payload;
        txs[i].len = tx->len;
    }
    return rv;
}

/* The entries of @ns at committed @height into *e (entries_free), in
 * either stored form (R5). Views stay valid until the next call or
 * entries_free, whichever comes first. Returns 0, SEQ_ENOTFOUND (no
 * entries at that height), SEQ_ECORRUPT, SEQ_ENOMEM, or a store error. */
static int entries_load(struct net_node *node,
                        uint64_t ns,
                        uint64_t height,
                        struct entries *e)
{
    struct net_nsref *refs = NULL;
    size_t len = 0;
    int rv;

    memset(e, 0, sizeof *e);
    rv = store_get_ns(node->store, ns, height, &e->val, &len);
    if (rv != 0) {
        return rv;
    }
    if (e->val == NULL) {
        rv = SEQ_ECORRUPT;
    } else if (!net_nsval_is_refs(e->val, len)) {
        rv = net_nsval_decode_payloads(ns, e->val, len, &e->txs, &e->n);
    } else {
        rv = net_nsval_decode_refs(e->val, len, &refs, &e->n);
        if (rv == 0) {
            e->txs = seq_calloc(e->n, sizeof *e->txs);
            rv = e->txs == NULL
                     ? SEQ_ENOMEM
                     : entries_resolve(node, ns, height, refs, e->n, e->txs);
        }
        seq_free(refs);
    }
    if (rv != 0) {
        entries_free(e);
    }
    return rv;
}

/* ---- Blocks we may need as ancestors ------------------------------------- */

static struct ublock *find_block(struct net_rollup *r,
                                 const struct seq_hash *id)
{
    size_t i;

    for (i = 0; i < r->n_blocks; i++) {
        if (seq_hash_eq(&r->blocks[i].id, id)) {
            return &r->blocks[i];
        }
    }
    return NULL;
}

static void remember_block(struct net_rollup *r, const struct hs_block *b)
{
    struct ublock *u;

    if (b->height <= r->materialized || find_block(r, &b->id) != NULL) {
        return;
    }
    if (r->n_blocks == r->cap_blocks) {
        size_t cap = r->cap_blocks == 0 ? 16 : r->cap_blocks * 2;
        struct ublock *p = seq_realloc(r->blocks, cap * sizeof *p);
        if (p == NULL) {
            return; /* The block's check will fail; liveness only. */
        }
        r->blocks = p;
        r->cap_blocks = cap;
    }
    u = &r->blocks[r->n_blocks];
    memset(u, 0, sizeof *u);
    if (b->payload_len > 0) {
        u->payload = seq_malloc(b->payload_len);
        if (u->payload == NULL) {
            return;
        }
        memcpy(u->payload, b->payload, b->payload_len);
    }
    u->id = b->id;
    u->parent_id = b->parent_id;
    u->height = b->height;
    u->len = b->payload_len;
    r->n_blocks++;
}

static void prune_blocks(struct net_rollup *r)
{
    size_t i = 0;

    while (i < r->n_blocks) {
        if (r->blocks[i].height <= r->materialized) {
            seq_free(r->blocks[i].payload);
            r->blocks[i] = r->blocks[--r->n_blocks];
        } else {
            i++;
        }
    }
}

/* The uncommitted ancestors of a block at @height whose parent is
 * @parent_id: heights above the materialized one. *out owned (seq_free).
 * SEQ_ENOTFOUND if the chain is broken (a block we never saw). */
static int ancestors_of(struct net_rollup *r,
                        const struct seq_hash *parent_id,
                        uint64_t height,
                        struct mp_ancestor **out,
                        size_t *n_out)
{
    struct mp_ancestor *a;
    struct seq_hash id = *parent_id;
    uint64_t h;
    size_t n = 0;

    *out = NULL;
    *n_out = 0;
    if (height <= r->materialized + 1) {
        return SEQ_OK;
    }
    a = seq_calloc((size_t)(height - r->materialized - 1), sizeof *a);
    if (a == NULL) {
        return SEQ_ENOMEM;
    }
    for (h = height - 1; h > r->materialized; h--) {
        const struct ublock *u = find_block(r, &id);
        if (u == NULL || u->height != h) {
            seq_free(a);
            return SEQ_ENOTFOUND;
        }
        a[n].height = u->height;
        a[n].payload = u->payload;
        a[n].len = u->len;
        n++;
        id = u->parent_id;
    }
    *out = a;
    *n_out = n;
    return SEQ_OK;
}

/* ---- Namespace roots ------------------------------------------------------
 */

/* Leaves of a block's entries (ascending ns), *out owned (seq_free). */
static int leaves_of(const struct mp_block_txs *txs,
                     struct seq_nstree_leaf **out)
{
    struct seq_nstree_leaf *leaves;
    struct seq_hash *hashes;
    size_t i, j;

    *out = NULL;
    if (txs->n_ns == 0) {
        return SEQ_OK;
    }
    leaves = seq_calloc(txs->n_ns, sizeof *leaves);
    hashes = seq_calloc(txs->n_txs > 0 ? txs->n_txs : 1, sizeof *hashes);
    if (leaves == NULL || hashes == NULL) {
        seq_free(leaves);
        seq_free(hashes);
        return SEQ_ENOMEM;
    }
    for (i = 0; i < txs->n_ns; i++) {
        const struct mp_ns_slice *s = &txs->ns[i];
        for (j = 0; j < s->n_txs; j++) {
            hashes[j] = s->txs[j].hash;
        }
        leaves[i].ns_id = s->ns;
        seq_nstree_entries_hash(hashes, s->n_txs, &leaves[i].entries_hash);
    }
    seq_free(hashes);
    *out = leaves;
    return SEQ_OK;
}

static int root_of_leaves(const struct seq_nstree_leaf *leaves,
                          size_t n,
                          struct seq_hash *root)
{
    struct seq_hash *scratch = NULL;
    int rv;

    if (n > 0) {
        scratch = seq_calloc(n, sizeof *scratch);
        if (scratch == NULL) {
            return SEQ_ENOMEM;
        }
    }
    rv = seq_nstree_root(leaves, n, scratch, root);
    seq_free(scratch);
    return rv;
}

static int ns_root_of(const struct mp_block_txs *txs, struct seq_hash *root)
{
    struct seq_nstree_leaf *leaves;
    int rv = leaves_of(txs, &leaves);

    if (rv == 0) {
        rv = root_of_leaves(leaves, txs->n_ns, root);
        seq_free(leaves);
    }
    return rv;
}

/* ---- Fetching batches ---------------------------------------------------- */

/* Batches we lack. Each is asked of whoever should hold it first (the
 * proposal's leader or the block's author), then of the other validators
 * in turn, at most every FETCH_RETRY_MS. Those a commit needs are fetched
 * until they come (a QC means f+1 honest validators hold them on disk);
 * those only a proposal needs are given up after WANT_TRIES requests, so
 * that a leader naming batches nobody has cannot keep us asking. */
static bool take_from_store(struct net_node *node, const struct seq_hash *id)
{
    void *val = NULL;
    size_t len = 0;
    int rv;

    if (store_get_batch(node->store, id, &val, &len) != 0) {
        return false;
    }
    rv = mp_pool_add_batch(node->rollup->pool, node->self, val, len, id);
    seq_free(val);
    if (rv == 0 || rv == SEQ_EEXIST) {
        node->rollup->batches_arrived = true;
        return true;
    }
    return false;
}

static void want(struct net_node *node,
                 const struct seq_hash *ids,
                 size_t n,
                 hs_node_t from,
                 bool for_commit)
{
    struct net_rollup *r = node->rollup;
    size_t i, j, n_proposal = 0;

    for (j = 0; j < r->n_wanted; j++) {
        n_proposal += !r->wanted[j].for_commit;
    }
    for (i = 0; i < n; i++) {
        for (j = 0; j < r->n_wanted; j++) {
            if (seq_hash_eq(&r->wanted[j].id, &ids[i])) {
                break;
            }
        }
        if (j < r->n_wanted) {
            r->wanted[j].for_commit |= for_commit;
            continue;
        }
        /* Ours already, but released from the pool (a restart, or a
         * batch committed before and named again): no need to ask. */
        if (take_from_store(node, &ids[i])) {
            continue;
        }
        if (r->n_wanted >= MAX_WANTED ||
            (!for_commit && n_proposal >= MAX_WANTED_PROPOSAL)) {
            return;
        }
        if (r->n_wanted == r->cap_wanted) {
            size_t cap = r->cap_wanted == 0 ? 64 : r->cap_wanted * 2;
            struct wanted *p = seq_realloc(r->wanted, cap * sizeof *p);
            if (p == NULL) {
                return;
            }
            r->wanted = p;
            r->cap_wanted = cap;
        }
        memset(&r->wanted[r->n_wanted], 0, sizeof r->wanted[0]);
        r->wanted[r->n_wanted].id = ids[i];
        r->wanted[r->n_wanted].from = from;
        r->wanted[r->n_wanted].for_commit = for_commit;
        r->n_wanted++;
        n_proposal += !for_commit;
    }
}

static bool is_wanted(struct net_rollup *r,
                      const struct seq_hash *id,
                      bool drop)
{
    size_t i;

    for (i = 0; i < r->n_wanted; i++) {
        if (seq_hash_eq(&r->wanted[i].id, id)) {
            if (drop) {
                r->wanted[i] = r->wanted[--r->n_wanted];
            }
            return true;
        }
    }
    return false;
}

/* Who to ask for @w now: its holder first, then the others in turn. */
static hs_node_t fetch_target(const struct net_node *node,
                              const struct wanted *w)
{
    uint32_t n = node->validators.n;
    hs_node_t to = (hs_node_t)((w->from + w->tries) % n);

    if (to == node->self) {
        to = (hs_node_t)((to + 1) % n);
    }
    return to;
}

static void fetch(struct net_node *node)
{
    struct net_rollup *r = node->rollup;
    uint32_t n_val = node->validators.n;
    struct wire_blob *ids;
    size_t count[HS_MAX_VALIDATORS];
    size_t i;
    int pass;

    if (r->n_wanted == 0 || n_val < 2) {
        return;
    }
    i = 0;
    while (i < r->n_wanted) {
        if (!r->wanted[i].for_commit && r->wanted[i].tries >= WANT_TRIES) {
            r->wanted[i] = r->wanted[--r->n_wanted];
        } else {
            i++;
        }
    }
    ids = seq_calloc((size_t)n_val * FETCH_MAX_IDS, sizeof *ids);
    if (ids == NULL) {
        return;
    }
    memset(count, 0, sizeof count);
    /* What commits need goes first. */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < r->n_wanted; i++) {
            struct wanted *w = &r->wanted[i];
            hs_node_t to;

            if (w->for_commit != (pass == 0) || w->next_ms > node->now_ms) {
                continue;
            }
            to = fetch_target(node, w);
            if (count[to] == FETCH_MAX_IDS) {
                continue;
            }
            ids[to * FETCH_MAX_IDS + count[to]].buf = w->id.bytes;
            ids[to * FETCH_MAX_IDS + count[to]].len = SEQ_HASH_LEN;
            count[to]++;
            w->tries++;
            w->next_ms = node->now_ms + FETCH_RETRY_MS;
        }
    }
    for (i = 0; i < n_val; i++) {
        uint8_t *frame;
        size_t len;

        if (count[i] > 0 && wire_encode_rollup(WIRE_FRAME_BATCH_REQUEST,
                                               &ids[i * FETCH_MAX_IDS],
                                               count[i], &frame, &len) == 0) {
            node_outbox_frame(node, (hs_node_t)i, frame, len);
            r->stats.batch_requests_sent++;
        }
    }
    seq_free(ids);
}

/* ---- hs_io hooks -----------------------------------------------------------
 */

static struct net_node *node_of(struct hs_io *io)
{
    return io->impl;
}

static void empty_root(struct seq_hash *root)
{
    seq_nstree_root(NULL, 0, NULL, root);
}

static int io_make_payload(struct hs_io *io,
                           const struct hs_block *parent,
                           uint8_t **payload,
                           size_t *len,
                           struct seq_hash *ns_root)
{
    struct net_node *node = node_of(io);
    struct net_rollup *r = node->rollup;
    struct mp_ancestor *anc = NULL;
    struct mp_bytes *abytes = NULL;
    struct mp_block_txs *txs = NULL;
    uint8_t *buf = NULL;
    size_t n_anc = 0, blen = 0, i;
    uint64_t height = parent->height + 1;
    int rv;

    *payload = NULL;
    *len = 0;
    empty_root(ns_root);
    if (height <= r->materialized) {
        return SEQ_OK; /* Cannot happen on the committed chain. */
    }
    rv = ancestors_of(r, &parent->id, height, &anc, &n_anc);
    if (rv == 0 && n_anc > 0) {
        abytes = seq_calloc(n_anc, sizeof *abytes);
        if (abytes == NULL) {
            rv = SEQ_ENOMEM;
        }
        for (i = 0; rv == 0 && i < n_anc; i++) {
            abytes[i].buf = anc[i].payload;
            abytes[i].len = anc[i].len;
        }
    }
    if (rv == 0) {
        rv = mp_pool_build_payload(r->pool, abytes, n_anc, &buf, &blen);
    }
    if (rv == 0 && blen > 0) {
        rv = mp_pool_block_txs(r->pool, height, buf, blen, anc, n_anc, &txs,
                               NULL, NULL);
        if (rv == 0) {
            rv = ns_root_of(txs, ns_root);
        }
        mp_block_txs_free(txs);
    }
    seq_free(abytes);
    seq_free(anc);
    if (rv != 0) {
        /* An empty block is always right (R1): propose that. */
        seq_free(buf);
        empty_root(ns_root);
        return SEQ_OK;
    }
    *payload = buf;
    *len = blen;
    return SEQ_OK;
}

static int io_check_payload(struct hs_io *io, const struct hs_block *block)
{
    struct net_node *node = node_of(io);
    struct net_rollup *r = node->rollup;
    struct mp_ancestor *anc = NULL;
    struct mp_block_txs *txs = NULL;
    struct seq_hash *missing = NULL, root;
    size_t n_anc = 0, n_missing = 0;
    int rv;

    if (block->height <= r->materialized) {
        return SEQ_EBADMSG;
    }
    if (block->payload_len == 0) {
        empty_root(&root);
        if (!seq_hash_eq(&root, &block->ns_root)) {
            r->stats.ns_root_mismatch++;
            return SEQ_EBADMSG;
        }
        return SEQ_OK;
    }
    rv = mp_pool_check_payload(r->pool, block->payload, block->payload_len,
                               &missing, &n_missing);
    if (rv == SEQ_EAGAIN) {
        want(node, missing, n_missing, block->author, false);
        seq_free(missing);
        r->payload_waiting = true;
        fetch(node);
        return SEQ_EAGAIN;
    }
    if (rv == SEQ_ENOMEM) {
        return SEQ_EAGAIN; /* Not the block's fault: try again. */
    }
    if (rv != 0) {
        r->stats.payload_refused++;
        return SEQ_EBADMSG;
    }
    rv = ancestors_of(r, &block->parent_id, block->height, &anc, &n_anc);
    if (rv == SEQ_ENOTFOUND || rv == SEQ_ENOMEM) {
        /* Only if remembering an ancestor ran out of memory: retry when
         * batches next arrive. */
        r->payload_waiting = true;
        return SEQ_EAGAIN;
    }
    if (rv == 0) {
        rv = mp_pool_block_txs(r->pool, block->height, block->payload,
                               block->payload_len, anc, n_anc, &txs, &missing,
                               &n_missing);
    }
    seq_free(anc);
    if (rv == SEQ_EAGAIN) {
        want(node, missing, n_missing, block->author, false);
        seq_free(missing);
        r->payload_waiting = true;
        fetch(node);
        return SEQ_EAGAIN;
    }
    if (rv == 0) {
        rv = ns_root_of(txs, &root);
        mp_block_txs_free(txs);
    }
    if (rv == SEQ_ENOMEM) {
        r->payload_waiting = true;
        return SEQ_EAGAIN;
    }
    if (rv != 0) {
        r->stats.payload_refused++;
        return SEQ_EBADMSG;
    }
    if (!seq_hash_eq(&root, &block->ns_root)) {
        r->stats.ns_root_mismatch++;
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

static void header_to_pb(const struct hs_block *b, Seqc__Header *pb)
{
    seqc__header__init(pb);
    pb->epoch = b->epoch;
    pb->round = b->round;
    pb->height = b->height;
    pb->parent_id.data = (uint8_t *)b->parent_id.bytes;
    pb->parent_id.len = SEQ_HASH_LEN;
    pb->justify_round = b->justify.round;
    pb->author = b->author;
    pb->payload_hash.data = (uint8_t *)b->payload_hash.bytes;
    pb->payload_hash.len = SEQ_HASH_LEN;
    pb->ns_root.data = (uint8_t *)b->ns_root.bytes;
    pb->ns_root.len = SEQ_HASH_LEN;
}

static void io_commit_cert(struct hs_io *io,
                           const struct hs_block *b0,
                           const struct hs_block *child,
                           const struct hs_qc *child_qc)
{
    struct net_node *node = node_of(io);
    Seqc__CommitProof proof = SEQC__COMMIT_PROOF__INIT;
    Seqc__Header header;
    Seqc__Qc qc = SEQC__QC__INIT;
    Seqc__QcSig sigs[HS_MAX_VALIDATORS], *sig_ptrs[HS_MAX_VALIDATORS];
    uint8_t *buf;
    size_t len, i;

    header_to_pb(child, &header);
    qc.epoch = child_qc->epoch;
    qc.round = child_qc->round;
    qc.height = child->height;
    qc.block_id.data = (uint8_t *)child_qc->block_id.bytes;
    qc.block_id.len = SEQ_HASH_LEN;
    for (i = 0; i < child_qc->n_sigs && i < HS_MAX_VALIDATORS; i++) {
        seqc__qc_sig__init(&sigs[i]);
        sigs[i].signer = child_qc->sigs[i].signer;
        sigs[i].sig.data = (uint8_t *)child_qc->sigs[i].sig.bytes;
        sigs[i].sig.len = HS_SIG_LEN;
        sig_ptrs[i] = &sigs[i];
    }
    qc.n_sigs = i;
    qc.sigs = sig_ptrs;
    proof.child = &header;
    proof.child_qc = &qc;
    len = seqc__commit_proof__get_packed_size(&proof);
    buf = seq_malloc(len);
    if (buf == NULL) {
        node_note_io(node, SEQ_ENOMEM, "commit certificate");
        return;
    }
    seqc__commit_proof__pack(&proof, buf);
    node_note_io(node, store_put_cert(node->store, b0->height, buf, len),
                 "store commit certificate");
    seq_free(buf);
}

static bool io_has_payload(struct hs_io *io)
{
    struct mp_stats st;

    mp_pool_stats(node_of(io)->rollup->pool, &st);
    return st.held_batches > 0 || st.open_txs > 0 || st.queued_batches > 0;
}

void net_rollup_io(struct hs_io *io)
{
    io->has_payload = io_has_payload;
    io->make_payload = io_make_payload;
    io->check_payload = io_check_payload;
    io->commit_cert = io_commit_cert;
}

void net_rollup_on_block(struct net_node *node, const struct hs_block *b)
{
    if (node->rollup != NULL) {
        remember_block(node->rollup, b);
    }
}

void net_rollup_on_commit(struct net_node *node, const struct hs_block *b)
{
    struct net_rollup *r = node->rollup;
    struct pending_commit *c;

    if (r == NULL || b->height <= r->materialized) {
        return;
    }
    if (r->n_commits > 0 && r->commits[r->n_commits - 1].height >= b->height) {
        return; /* Already queued (recovery, then the core again). */
    }
    remember_block(r, b);
    if (r->n_commits == r->cap_commits) {
        size_t cap = r->cap_commits == 0 ? 16 : r->cap_commits * 2;
        struct pending_commit *p = seq_realloc(r->commits, cap * sizeof *p);
        if (p == NULL) {
            node_note_io(node, SEQ_ENOMEM, "queue commit");
            return;
        }
        r->commits = p;
        r->cap_commits = cap;
    }
    c = &r->commits[r->n_commits];
    memset(c, 0, sizeof *c);
    if (b->payload_len > 0) {
        c->payload = seq_malloc(b->payload_len);
        if (c->payload == NULL) {
            node_note_io(node, SEQ_ENOMEM, "queue commit");
            return;
        }
        memcpy(c->payload, b->payload, b->payload_len);
    }
    c->len = b->payload_len;
    c->height = b->height;
    c->id = b->id;
    c->ns_root = b->ns_root;
    c->author = b->author;
    r->n_commits++;
}

/* ---- Materializing commits (R3) --------------------------------------------
 */

static int stage_entries(struct net_node *node,
                         uint64_t height,
                         const struct mp_block_txs *txs,
                         const struct seq_nstree_leaf *leaves)
{
    uint8_t rec[1 + 8 + 8 + 4];
    size_t i, j, size;
    uint8_t *buf;
    int rv = 0;

    for (i = 0; rv == 0 && i < txs->n_ns; i++) {
        const struct mp_ns_slice *s = &txs->ns[i];

        size = net_nsval_refs_len(s->n_txs);
        buf = seq_malloc(size);
        if (buf == NULL) {
            return SEQ_ENOMEM;
        }
        net_nsval_encode_refs(s->txs, s->n_txs, buf);
        for (j = 0; j < s->n_txs; j++) {
            rec[0] = 1;
            seq_be64_put(rec + 1, height);
            seq_be64_put(rec + 9, s->ns);
            seq_be32_put(rec + 17, (uint32_t)j);
            if (rv == 0) {
                rv =
                    store_put_tx(node->store, &s->txs[j].hash, rec, sizeof rec);
            }
        }
        if (rv == 0) {
            rv = store_put_ns(node->store, s->ns, height, buf, size);
        }
        seq_free(buf);
    }
    if (rv == 0) {
        size = 4 + txs->n_ns * (8 + SEQ_HASH_LEN);
        buf = seq_malloc(size);
        if (buf == NULL) {
            return SEQ_ENOMEM;
        }
        seq_be32_put(buf, (uint32_t)txs->n_ns);
        for (i = 0; i < txs->n_ns; i++) {
            uint8_t *p = buf + 4 + i * (8 + SEQ_HASH_LEN);
            seq_be64_put(p, leaves[i].ns_id);
            memcpy(p + 8, leaves[i].entries_hash.bytes, SEQ_HASH_LEN);
        }
        rv = store_put_ns(node->store, 0, height, buf, size);
        seq_free(buf);
    }
    return rv;
}

static int mark_batches_committed(struct net_node *node,
                                  const struct pending_commit *c)
{
    struct seq_hash *ids = NULL;
    uint8_t rec[1 + 8];
    size_t n = 0, i;
    int rv;

    if (c->len == 0) {
        return SEQ_OK;
    }
    rv = mp_payload_decode(c->payload, c->len, BLOCK_MAX_BATCHES, &ids, &n);
    if (rv != 0) {
        return rv;
    }
    rec[0] = 2;
    seq_be64_put(rec + 1, c->height);
    for (i = 0; rv == 0 && i < n; i++) {
        rv = store_put_tx(node->store, &ids[i], rec, sizeof rec);
    }
    seq_free(ids);
    return rv;
}

/* Per-namespace throughput for /metrics. */
static void count_namespaces(struct net_node *node,
                             const struct mp_block_txs *txs)
{
    struct net_rollup *r = node->rollup;
    size_t i;
    uint32_t j;

    for (i = 0; r->stats.ns_txs != NULL && i < txs->n_ns; i++) {
        for (j = 0; j < node->genesis.n_namespaces; j++) {
            if (node->genesis.namespaces[j].id == txs->ns[i].ns) {
                r->stats.ns_txs[j] += txs->ns[i].n_txs;
                break;
            }
        }
    }
}

static void materialize(struct net_node *node)
{
    struct net_rollup *r = node->rollup;
    unsigned done = 0;

    while (r->n_commits > 0 && done < COMMITS_PER_TURN) {
        struct pending_commit *c = &r->commits[0];
        struct mp_block_txs *txs = NULL;
        struct seq_nstree_leaf *leaves = NULL;
        struct seq_hash *missing = NULL, root;
        size_t n_missing = 0;
        int rv;

        if (c->len == 0) {
            rv = mp_pool_commit(r->pool, c->height, NULL, 0, &txs, NULL, NULL);
        } else {
            rv = mp_pool_commit(r->pool, c->height, c->payload, c->len, &txs,
                                &missing, &n_missing);
        }
        if (rv == SEQ_EAGAIN) {
            want(node, missing, n_missing, c->author, true);
            seq_free(missing);
            fetch(node);
            return;
        }
        if (rv != 0) {
            SEQ_LOGE(LOG_MOD,
                     "cannot materialize height %" PRIu64 ": %s; stopping",
                     c->height, seq_strerror(rv));
            node_note_io(node, rv, "materialize commit");
            return;
        }
        rv = leaves_of(txs, &leaves);
        if (rv == 0) {
            rv = root_of_leaves(leaves, txs->n_ns, &root);
        }
        if (rv == 0 && !seq_hash_eq(&root, &c->ns_root)) {
            /* 2f+1 validators signed a root these entries do not give
             * (R1): serving them would hand clients unverifiable data. */
            SEQ_LOGE(LOG_MOD,
                     "entries of height %" PRIu64
                     " do not match the committed namespace root; stopping",
                     c->height);
            rv = SEQ_ECORRUPT;
        }
        if (rv == 0) {
            rv = stage_entries(node, c->height, txs, leaves);
        }
        if (rv == 0) {
            rv = mark_batches_committed(node, c);
        }
        if (rv == 0) {
            rv = meta_put_u64(node->store, meta_height, c->height);
        }
        r->stats.txs_materialized += txs->n_txs;
        count_namespaces(node, txs);
        mp_block_txs_free(txs);
        seq_free(leaves);
        node_note_io(node, rv, "store entries");
        if (rv != 0) {
            return;
        }
        r->materialized = c->height;
        seq_free(c->payload);
        memmove(&r->commits[0], &r->commits[1],
                (r->n_commits - 1) * sizeof *r->commits);
        r->n_commits--;
        done++;
    }
    if (done > 0) {
        prune_blocks(r);
    }
}

/* ---- Frames from peers -----------------------------------------------------
 */

static void add_batch(struct net_node *node,
                      hs_node_t from,
                      const uint8_t *buf,
                      size_t len,
                      bool solicited)
{
    struct net_rollup *r = node->rollup;
    struct seq_hash id;
    int rv;

    seq_sha256(buf, len, &id);
    if (solicited && !is_wanted(r, &id, false)) {
        return; /* Not asked for: ignore. */
    }
    if (!solicited) {
        void *rec = NULL;
        size_t rlen = 0;
        if (store_get_tx(node->store, &id, &rec, &rlen) == 0) {
            seq_free(rec); /* Committed long ago: a replay. */
            r->stats.batches_bad++;
            return;
        }
    }
    rv = mp_pool_add_batch(r->pool, from, buf, len, solicited ? &id : NULL);
    if (rv == SEQ_EEXIST) {
        is_wanted(r, &id, true);
        return;
    }
    if (rv != 0) {
        r->stats.batches_bad++;
        return;
    }
    is_wanted(r, &id, true);
    r->stats.batches_received++;
    r->batches_arrived = true;
    node_note_io(node, store_put_batch(node->store, &id, buf, len),
                 "store batch");
}

static void serve_request(struct net_node *node,
                          hs_node_t from,
                          const struct wire_rollup *req)
{
    struct net_rollup *r = node->rollup;
    struct wire_blob out[WIRE_MAX_BATCHES];
    void *owned[WIRE_MAX_BATCHES];
    size_t n = 0, total = 0, i;
    uint8_t *frame;
    size_t len;

    /* A peer gets at most FETCH_MAX_IDS batches per request and
     * SERVE_BYTES_PER_TURN per turn: asking costs it little, answering
     * costs us reads and outbox memory. */
    for (i = 0; i < req->n && i < FETCH_MAX_IDS && n < WIRE_MAX_BATCHES; i++) {
        struct seq_hash id;
        void *val = NULL;
        size_t vlen = 0;

        memcpy(id.bytes, req->items[i].buf, SEQ_HASH_LEN);
        if (store_get_batch(node->store, &id, &val, &vlen) != 0) {
            continue;
        }
        if (total + vlen > WIRE_MAX_FRAME / 2 ||
            r->served_bytes[from] + total + vlen > SERVE_BYTES_PER_TURN) {
            seq_free(val);
            break;
        }
        total += vlen;
        owned[n] = val;
        out[n].buf = val;
        out[n].len = vlen;
        n++;
    }
    r->served_bytes[from] += total;
    if (n > 0 && wire_encode_rollup(WIRE_FRAME_BATCH_RESPONSE, out, n, &frame,
                                    &len) == 0) {
        node_outbox_frame(node, from, frame, len);
        r->stats.batch_requests_served++;
    }
    for (i = 0; i < n; i++) {
        seq_free(owned[i]);
    }
}

void net_rollup_on_frame(struct net_node *node,
                         hs_node_t from,
                         const uint8_t *frame,
                         size_t len)
{
    struct net_rollup *r = node->rollup;
    struct wire_rollup msg;
    size_t i;

    if (wire_decode_rollup(frame, len, &msg) != 0) {
        r->stats.frames_bad++;
        node->stats.frames_bad++;
        return;
    }
    switch (msg.type) {
    case WIRE_FRAME_BATCHES:
    case WIRE_FRAME_BATCH_RESPONSE:
        for (i = 0; i < msg.n; i++) {
            add_batch(node, from, msg.items[i].buf, msg.items[i].len,
                      msg.type == WIRE_FRAME_BATCH_RESPONSE);
        }
        break;
    case WIRE_FRAME_BATCH_REQUEST:
        serve_request(node, from, &msg);
        break;
    }
    wire_rollup_free(&msg);
}

/* ---- The turn -------------------------------------------------------------
 */

/* Seals and stages our open batch; true if one was sealed. */
static bool seal(struct net_node *node)
{
    struct net_rollup *r = node->rollup;
    const struct mp_batch *batch;
    bool sealed = false;

    while (mp_pool_tick(r->pool, node->now_ms, &batch) == 1) {
        struct wire_blob blob;
        uint8_t *buf, *frame;
        size_t len, flen;
        int rv;

        rv = mp_batch_encode(batch, &buf, &len);
        if (rv != 0) {
            node_note_io(node, rv, "encode batch");
            return sealed;
        }
        node_note_io(node,
                     store_put_batch(node->store, mp_batch_id(batch), buf, len),
                     "store batch");
        blob.buf = buf;
        blob.len = len;
        if (wire_encode_rollup(WIRE_FRAME_BATCHES, &blob, 1, &frame, &flen) ==
            0) {
            node_outbox_frame(node, OUTBOX_TO_ALL, frame, flen);
        }
        seq_free(buf);
        r->stats.batches_sealed++;
        sealed = true;
    }
    if (sealed) {
        struct mp_stats st;
        mp_pool_stats(r->pool, &st);
        node_note_io(node, meta_put_u64(node->store, meta_seq, st.next_seq),
                     "store batch seq");
    }
    return sealed;
}

void net_rollup_before_sync(struct net_node *node)
{
    struct net_rollup *r = node->rollup;

    if (seal(node)) {
        r->batches_arrived = true; /* An idle leader may propose now. */
    }
    if (r->batches_arrived) {
        r->batches_arrived = false;
        r->payload_waiting = false;
        hs_core_on_payload_ready(node->core, node->now_ms);
    }
    materialize(node);
    fetch(node);
}

bool net_rollup_covers_acks(const struct net_node *node)
{
    struct mp_stats st;

    /* A batch sealed but not yet returned by mp_pool_tick (our held
     * batches at their cap) is not on disk: its acks wait. */
    mp_pool_stats(node->rollup->pool, &st);
    return st.open_txs == 0 && st.queued_batches == 0;
}

bool net_rollup_acks_blocked(const struct net_node *node)
{
    struct mp_stats st;

    mp_pool_stats(node->rollup->pool, &st);
    return st.queued_batches > 0;
}

void net_rollup_after_sync(struct net_node *node)
{
    memset(node->rollup->served_bytes, 0, sizeof node->rollup->served_bytes);
    node->rollup->served = node->rollup->materialized;
}

uint64_t net_rollup_height(const struct net_node *node)
{
    return node->rollup->served;
}

bool net_rollup_unserved(const struct net_node *node)
{
    return node->rollup->materialized > node->rollup->served;
}

uint64_t net_rollup_read_bytes(const struct net_node *node)
{
    return node->rollup->stats.read_batch_bytes;
}

uint32_t net_rollup_retry_after_ms(const struct net_node *node)
{
    (void)node;
    return RETRY_AFTER_MS;
}

/* ---- Admission and lookups
 * --------------------------------------------------- */

int net_rollup_submit(struct net_node *node,
                      uint64_t ns,
                      const uint8_t *payload,
                      size_t len,
                      struct seq_hash *hash,
                      enum mp_tx_state *state)
{
    struct net_rollup *r = node->rollup;
    struct seq_hash h;
    void *val = NULL;
    size_t vlen = 0;
    int rv;

    if (net_genesis_namespace(&node->genesis, ns) == NULL) {
        return SEQ_ENOTFOUND;
    }
    node->last_ticket = node->write_turn; /* The caller acks after it. */
    /* Committed long ago (beyond the mempool's window) is still a
     * duplicate: submission stays idempotent. */
    mp_tx_hash(ns, payload, len, &h);
    if (store_get_tx(node->store, &h, &val, &vlen) == 0) {
        seq_free(val);
        *hash = h;
        *state = MP_TX_COMMITTED;
        return SEQ_OK;
    }
    rv = mp_pool_submit(r->pool, node->now_ms, ns, payload, len, hash, state);
    return rv;
}

enum mp_tx_state net_rollup_tx(struct net_node *node,
                               const struct seq_hash *hash,
                               uint64_t *height,
                               uint64_t *ns,
                               uint64_t *index)
{
    struct net_rollup *r = node->rollup;
    void *val = NULL;
    size_t len = 0;
    enum mp_tx_state st;

    if (store_get_tx(node->store, hash, &val, &len) == 0) {
        const uint8_t *p = val;
        if (len == 21 && p[0] == 1 && seq_be64_get(p + 1) <= r->served) {
            *height = seq_be64_get(p + 1);
            *ns = seq_be64_get(p + 9);
            *index = seq_be32_get(p + 17);
            seq_free(val);
            return MP_TX_COMMITTED;
        }
        seq_free(val);
    }
    st = mp_pool_tx_state(r->pool, hash);
    return st == MP_TX_COMMITTED ? MP_TX_PENDING : st;
}

/* ---- Namespace blocks (R4)
 * ----------------------------------------------------- */

static int load_header(struct net_node *node,
                       uint64_t height,
                       struct seq_header *out)
{
    struct seq_hash id;
    struct hs_block b;
    int rv;

    rv = store_get_commit(node->store, height, &id);
    if (rv == 0) {
        rv = store_get_block(node->store, &id, &b);
    }
    if (rv != 0) {
        return rv == SEQ_ENOTFOUND ? SEQ_ECORRUPT : rv;
    }
    hs_block_header(&b, out);
    hs_block_free(&b);
    return SEQ_OK;
}

static int header_from_pb(const Seqc__Header *pb, struct seq_header *out)
{
    if (pb == NULL || pb->parent_id.len != SEQ_HASH_LEN ||
        pb->payload_hash.len != SEQ_HASH_LEN ||
        pb->ns_root.len != SEQ_HASH_LEN) {
        return SEQ_ECORRUPT;
    }
    memset(out, 0, sizeof *out);
    out->epoch = pb->epoch;
    out->round = pb->round;
    out->height = pb->height;
    memcpy(out->parent_id.bytes, pb->parent_id.data, SEQ_HASH_LEN);
    out->justify_round = pb->justify_round;
    out->author = pb->author;
    memcpy(out->payload_hash.bytes, pb->payload_hash.data, SEQ_HASH_LEN);
    memcpy(out->ns_root.bytes, pb->ns_root.data, SEQ_HASH_LEN);
    return SEQ_OK;
}

static int load_cert(struct net_node *node,
                     uint64_t height,
                     uint64_t *top,
                     struct seqc_nsblock *out)
{
    Seqc__CommitProof *pb;
    void *val = NULL;
    size_t len = 0, i;
    int rv;

    rv = store_get_cert_from(node->store, height, top, &val, &len);
    if (rv != 0) {
        return rv == SEQ_ENOTFOUND ? SEQ_ECORRUPT : rv;
    }
    pb = seqc__commit_proof__unpack(NULL, len, val);
    seq_free(val);
    if (pb == NULL) {
        return SEQ_ECORRUPT;
    }
    rv = header_from_pb(pb->child, &out->child);
    if (rv == 0 &&
        (pb->child_qc == NULL || pb->child_qc->block_id.len != SEQ_HASH_LEN ||
         pb->child_qc->n_sigs > SEQC_MAX_VALIDATORS)) {
        rv = SEQ_ECORRUPT;
    }
    if (rv == 0) {
        const Seqc__Qc *q = pb->child_qc;
        out->child_qc.epoch = q->epoch;
        out->child_qc.round = q->round;
        out->child_qc.height = q->height;
        memcpy(out->child_qc.block_id.bytes, q->block_id.data, SEQ_HASH_LEN);
        out->child_qc.n_sigs = (uint32_t)q->n_sigs;
        for (i = 0; i < q->n_sigs; i++) {
            if (q->sigs[i]->sig.len != 64) {
                rv = SEQ_ECORRUPT;
                break;
            }
            out->child_qc.sigs[i].signer = q->sigs[i]->signer;
            memcpy(out->child_qc.sigs[i].sig, q->sigs[i]->sig.data, 64);
        }
    }
    seqc__commit_proof__free_unpacked(pb, NULL);
    return rv;
}

static int load_leaves(struct net_node *node,
                       uint64_t height,
                       struct seq_nstree_leaf **out,
                       size_t *n_out)
{
    void *val = NULL;
    size_t len = 0, i, n;
    const uint8_t *p;
    struct seq_nstree_leaf *leaves;
    int rv;

    *out = NULL;
    *n_out = 0;
    rv = store_get_ns(node->store, 0, height, &val, &len);
    if (rv != 0) {
        return rv == SEQ_ENOTFOUND ? SEQ_ECORRUPT : rv;
    }
    p = val;
    if (len < 4 || (len - 4) % (8 + SEQ_HASH_LEN) != 0 ||
        seq_be32_get(p) != (len - 4) / (8 + SEQ_HASH_LEN)) {
        seq_free(val);
        return SEQ_ECORRUPT;
    }
    n = seq_be32_get(p);
    leaves = seq_calloc(n > 0 ? n : 1, sizeof *leaves);
    if (leaves == NULL) {
        seq_free(val);
        return SEQ_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        const uint8_t *q = p + 4 + i * (8 + SEQ_HASH_LEN);
        leaves[i].ns_id = seq_be64_get(q);
        memcpy(leaves[i].entries_hash.bytes, q + 8, SEQ_HASH_LEN);
    }
    seq_free(val);
    *out = leaves;
    *n_out = n;
    return SEQ_OK;
}

static int load_entries(struct net_node *node,
                        uint64_t ns,
                        uint64_t height,
                        struct seqc_nsblock *out)
{
    struct entries e;
    size_t i;
    int rv;

    rv = entries_load(node, ns, height, &e);
    if (rv == SEQ_ENOTFOUND) {
        return SEQ_OK;
    }
    if (rv == 0) {
        out->entries = seq_calloc(e.n, sizeof *out->entries);
        if (out->entries == NULL) {
            rv = SEQ_ENOMEM;
        }
    }
    for (i = 0; rv == 0 && i < e.n; i++) {
        struct seqc_entry *en = &out->entries[i];
        en->payload = malloc(e.txs[i].len > 0 ? e.txs[i].len : 1);
        if (en->payload == NULL) {
            rv = SEQ_ENOMEM;
            break;
        }
        memcpy(en->payload, e.txs[i].payload, e.txs[i].len);
        en->len = e.txs[i].len;
        seqc_tx_hash(ns, en->payload, en->len, &en->tx_hash);
        out->n_entries = i + 1;
    }
    entries_free(&e);
    return rv;
}

/* (R5) The entries read back are the ones the block committed: their
 * entries_hash is @ns's leaf. A reference or a batch gone wrong on disk is
 * SEQ_ECORRUPT here, not a block every client refuses. */
static int check_entries(const struct seqc_nsblock *b,
                         const struct seq_nstree_leaf *leaves,
                         size_t n_leaves)
{
    struct seq_hash *hashes;
    struct seq_hash got;
    size_t at, i;

    for (at = 0; at < n_leaves && leaves[at].ns_id != b->ns; at++) {
    }
    if (at == n_leaves) {
        return SEQ_ECORRUPT;
    }
    hashes = seq_calloc(b->n_entries, sizeof *hashes);
    if (hashes == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i < b->n_entries; i++) {
        hashes[i] = b->entries[i].tx_hash;
    }
    seq_nstree_entries_hash(hashes, b->n_entries, &got);
    seq_free(hashes);
    return seq_hash_eq(&got, &leaves[at].entries_hash) ? SEQ_OK : SEQ_ECORRUPT;
}

int net_rollup_nsblock(struct net_node *node,
                       uint64_t ns,
                       uint64_t height,
                       struct seqc_nsblock *out)
{
    struct net_rollup *r = node->rollup;
    struct seqc_nsblock b;
    struct seq_nstree_leaf *leaves = NULL;
    struct seq_hash *scratch = NULL;
    size_t n_leaves = 0;
    uint64_t top = 0, h;
    int rv;

    if (ns == 0 || net_genesis_namespace(&node->genesis, ns) == NULL) {
        return SEQ_EINVAL;
    }
    if (height == 0 || height > r->served) {
        return SEQ_ENOTFOUND;
    }
    memset(&b, 0, sizeof b);
    b.ns = ns;
    b.height = height;
    rv = load_cert(node, height, &top, &b);
    if (rv == 0 && top - height + 1 > SEQC_MAX_CHAIN) {
        rv = SEQ_ECORRUPT;
    }
    if (rv == 0) {
        b.chain = malloc((size_t)(top - height + 1) * sizeof *b.chain);
        if (b.chain == NULL) {
            rv = SEQ_ENOMEM;
        }
    }
    for (h = height; rv == 0 && h <= top; h++) {
        rv = load_header(node, h, &b.chain[h - height]);
        b.n_chain = (size_t)(h - height + 1);
    }
    if (rv == 0) {
        rv = load_entries(node, ns, height, &b);
    }
    if (rv == 0) {
        rv = load_leaves(node, height, &leaves, &n_leaves);
    }
    if (rv == 0 && b.n_entries > 0) {
        rv = check_entries(&b, leaves, n_leaves);
    }
    if (rv == 0 && n_leaves > 0) {
        scratch = seq_calloc(n_leaves, sizeof *scratch);
        if (scratch == NULL) {
            rv = SEQ_ENOMEM;
        }
    }
    if (rv == 0) {
        b.present = b.n_entries > 0;
        if (b.present) {
            rv = seq_nstree_prove_presence(leaves, n_leaves, ns, scratch,
                                           &b.presence);
        } else {
            rv = seq_nstree_prove_absence(leaves, n_leaves, ns, scratch,
                                          &b.absence);
        }
        if (rv != 0) {
            rv = SEQ_ECORRUPT;
        }
    }
    seq_free(scratch);
    seq_free(leaves);
    if (rv != 0) {
        if (rv == SEQ_ECORRUPT) {
            SEQ_LOGE(LOG_MOD,
                     "namespace block ns=%" PRIu64 " height=%" PRIu64
                     ": stored data is inconsistent",
                     ns, height);
        }
        seqc_nsblock_free(&b);
        return rv;
    }
    *out = b;
    return SEQ_OK;
}

/* ---- Open, recover, close
 * ---------------------------------------------------- */

struct scan_ctx {
    struct net_node *node;
    size_t held, skipped;
};

static int scan_batch(void *arg,
                      const struct seq_hash *id,
                      const void *val,
                      size_t len)
{
    struct scan_ctx *ctx = arg;
    struct net_node *node = ctx->node;
    void *rec = NULL;
    size_t rlen = 0;

    if (store_get_tx(node->store, id, &rec, &rlen) == 0) {
        seq_free(rec);
        ctx->skipped++;
        return 0; /* Committed (R2). */
    }
    /* With its id given, a batch may come from anyone: the pool checks
     * the bytes, whoever wrote them. */
    if (mp_pool_add_batch(node->rollup->pool, node->self, val, len, id) == 0) {
        ctx->held++;
    } else {
        ctx->skipped++;
    }
    return 0;
}

/* The dedup window as it was (R1): the hashes committed at the last
 * DEDUP_HEIGHTS materialized heights. */
static int restore_window(struct net_node *node)
{
    struct net_rollup *r = node->rollup;
    uint64_t from = r->materialized > DEDUP_HEIGHTS
                        ? r->materialized - DEDUP_HEIGHTS + 1
                        : 1;
    uint64_t h;
    int rv = 0;

    for (h = from; rv == 0 && h <= r->materialized; h++) {
        struct seq_hash *hashes = NULL;
        size_t n = 0, cap = 0;
        uint32_t i;

        for (i = 0; rv == 0 && i < node->genesis.n_namespaces; i++) {
            uint64_t ns = node->genesis.namespaces[i].id;
            struct entries e;
            size_t j;

            rv = entries_load(node, ns, h, &e);
            if (rv == SEQ_ENOTFOUND) {
                rv = 0;
                continue;
            }
            if (rv == 0 && n + e.n > cap) {
                size_t c = (n + e.n) * 2;
                struct seq_hash *p = seq_realloc(hashes, c * sizeof *p);
                if (p == NULL) {
                    rv = SEQ_ENOMEM;
                } else {
                    hashes = p;
                    cap = c;
                }
            }
            for (j = 0; rv == 0 && j < e.n; j++) {
                mp_tx_hash(ns, e.txs[j].payload, e.txs[j].len, &hashes[n++]);
            }
            entries_free(&e);
        }
        if (rv == 0) {
            rv = mp_pool_restore_committed(r->pool, h, hashes, n);
        }
        seq_free(hashes);
    }
    read_forget(r); /* Streams start where they like. */
    return rv;
}

int net_rollup_open(struct net_node *node)
{
    struct net_rollup *r;
    struct mp_config cfg;
    struct scan_ctx ctx;
    uint64_t next_seq = 0, seed = 0;
    uint32_t i, max_tx = 1;
    int rv;

    r = seq_calloc(1, sizeof *r);
    if (r == NULL) {
        return SEQ_ENOMEM;
    }
    node->rollup = r;
    r->namespaces =
        seq_calloc(node->genesis.n_namespaces + 1, sizeof *r->namespaces);
    r->stats.ns_txs =
        seq_calloc(node->genesis.n_namespaces + 1, sizeof *r->stats.ns_txs);
    if (r->namespaces == NULL || r->stats.ns_txs == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i < node->genesis.n_namespaces; i++) {
        const struct net_namespace *ns = &node->genesis.namespaces[i];
        r->namespaces[i].id = ns->id;
        r->namespaces[i].name = ns->name;
        r->namespaces[i].weight = ns->weight;
        r->namespaces[i].max_tx_size = ns->max_tx_size;
        if (ns->max_tx_size > max_tx) {
            max_tx = ns->max_tx_size;
        }
    }
    seq_random_bytes(&seed, sizeof seed);
    memset(&cfg, 0, sizeof cfg);
    cfg.self = node->self;
    cfg.n_validators = node->validators.n;
    cfg.namespaces = r->namespaces;
    cfg.n_namespaces = node->genesis.n_namespaces;
    cfg.max_tx_size = max_tx;
    /* Checked decimals (net_home.c). */
    cfg.max_pending_txs =
        (uint32_t)strtoul(node->config.mempool_max_txs, NULL, 10);
    cfg.max_pending_bytes = strtoull(node->config.mempool_max_bytes, NULL, 10);
    cfg.batch_max_txs = BATCH_MAX_TXS;
    cfg.batch_max_bytes = BATCH_MAX_BYTES > max_tx ? BATCH_MAX_BYTES : max_tx;
    cfg.batch_interval_ms = 0; /* Seal every turn (R2). */
    cfg.max_batches_per_author = MAX_BATCHES_AUTHOR;
    cfg.block_max_batches = BLOCK_MAX_BATCHES;
    cfg.block_max_bytes = BLOCK_MAX_BYTES;
    cfg.dedup_heights = DEDUP_HEIGHTS;
    cfg.dedup_max_txs = DEDUP_MAX_TXS;
    cfg.hash_seed = seed;
    rv = mp_pool_open(&cfg, &r->pool);
    if (rv != 0) {
        SEQ_LOGE(LOG_MOD, "cannot open the mempool: %s", seq_strerror(rv));
        return rv;
    }
    rv = meta_get_u64(node->store, meta_height, &r->materialized);
    if (rv == 0) {
        rv = meta_get_u64(node->store, meta_seq, &next_seq);
    }
    if (rv == 0) {
        rv = restore_window(node);
    }
    if (rv == 0 && next_seq > 0) {
        rv = mp_pool_set_next_seq(r->pool, next_seq);
    }
    memset(&ctx, 0, sizeof ctx);
    ctx.node = node;
    if (rv == 0) {
        rv = store_scan_batches(node->store, scan_batch, &ctx);
    }
    if (rv != 0) {
        SEQ_LOGE(LOG_MOD, "cannot recover the rollup state: %s (%s)",
                 seq_strerror(rv), node->store->errmsg);
        return rv;
    }
    r->served = r->materialized;
    SEQ_LOGI(
        LOG_MOD,
        "rollup state: %" PRIu32 " namespaces, entries up to height %" PRIu64
        ", %zu batches held, %zu committed",
        node->genesis.n_namespaces, r->materialized, ctx.held, ctx.skipped);
    return SEQ_OK;
}

/* Blocks committed before a restart whose entries were not yet staged. */
int net_rollup_recover_commits(struct net_node *node, uint64_t committed)
{
    struct net_rollup *r = node->rollup;
    uint64_t h;

    for (h = r->materialized + 1; h <= committed; h++) {
        struct seq_hash id;
        struct hs_block b;
        int rv = store_get_commit(node->store, h, &id);
        if (rv == 0) {
            rv = store_get_block(node->store, &id, &b);
        }
        if (rv != 0) {
            SEQ_LOGE(LOG_MOD, "committed block %" PRIu64 " unreadable: %s", h,
                     seq_strerror(rv));
            return rv == SEQ_ENOTFOUND ? SEQ_ECORRUPT : rv;
        }
        net_rollup_on_commit(node, &b);
        hs_block_free(&b);
    }
    return SEQ_OK;
}

void net_rollup_close(struct net_node *node)
{
    struct net_rollup *r = node->rollup;
    size_t i;

    if (r == NULL) {
        return;
    }
    mp_pool_free(r->pool);
    seq_free(r->namespaces);
    for (i = 0; i < r->n_blocks; i++) {
        seq_free(r->blocks[i].payload);
    }
    seq_free(r->blocks);
    for (i = 0; i < r->n_commits; i++) {
        seq_free(r->commits[i].payload);
    }
    seq_free(r->commits);
    seq_free(r->wanted);
    seq_free(r->stats.ns_txs);
    read_forget(r);
    seq_free(r);
    node->rollup = NULL;
}

void net_rollup_metrics(const struct net_node *node, FILE *f)
{
    const struct net_rollup *r = node->rollup;
    struct mp_stats st;

    if (r == NULL) {
        return;
    }
    mp_pool_stats(r->pool, &st);
    NODE_GAUGE(f, "mempool_pending_txs", "Admitted here, not committed.",
               st.pending_txs);
    NODE_GAUGE(f, "mempool_pending_bytes", "Their payload bytes.",
               st.pending_bytes);
    NODE_GAUGE(f, "mempool_held_batches", "Batches held awaiting commit.",
               st.held_batches);
    NODE_GAUGE(f, "rollup_height", "Highest height whose entries are durable.",
               r->served);
    NODE_GAUGE(f, "rollup_commits_queued",
               "Committed blocks awaiting their batches.", r->n_commits);
    NODE_GAUGE(f, "rollup_batches_wanted", "Batches being fetched.",
               r->n_wanted);
    NODE_COUNTER(f, "mempool_admitted_total", "Transactions admitted.",
                 st.admitted);
    NODE_COUNTER(f, "mempool_duplicates_total", "Duplicate submissions.",
                 st.duplicates);
    NODE_COUNTER(f, "mempool_rejected_full_total", "Submissions refused: full.",
                 st.rejected_full);
    NODE_COUNTER(f, "mempool_committed_txs_total", "Transactions committed.",
                 st.committed_txs);
    NODE_COUNTER(f, "mempool_committed_dropped_total",
                 "Duplicates dropped at commit.", st.committed_dropped);
    NODE_COUNTER(f, "batches_sealed_total", "Batches sealed here.",
                 r->stats.batches_sealed);
    NODE_COUNTER(f, "batches_received_total", "Batches received from peers.",
                 r->stats.batches_received);
    NODE_COUNTER(f, "batches_bad_total", "Batches refused.",
                 r->stats.batches_bad);
    NODE_COUNTER(f, "batch_requests_sent_total", "Batch fetches sent.",
                 r->stats.batch_requests_sent);
    NODE_COUNTER(f, "batch_requests_served_total", "Batch fetches answered.",
                 r->stats.batch_requests_served);
    NODE_COUNTER(f, "read_batch_bytes_total",
                 "Bytes of stored batches read to serve namespace entries.",
                 r->stats.read_batch_bytes);
    NODE_COUNTER(f, "payloads_refused_total", "Proposals refused: bad payload.",
                 r->stats.payload_refused);
    NODE_COUNTER(f, "ns_root_mismatch_total",
                 "Proposals refused: namespace root does not match.",
                 r->stats.ns_root_mismatch);
    if (node->genesis.n_namespaces > 0 && r->stats.ns_txs != NULL) {
        uint32_t j;
        fprintf(f,
                "# HELP seq_namespace_committed_txs_total Transactions "
                "committed per namespace (durable entries).\n"
                "# TYPE seq_namespace_committed_txs_total counter\n");
        for (j = 0; j < node->genesis.n_namespaces; j++) {
            fprintf(f,
                    "seq_namespace_committed_txs_total{namespace=\"%" PRIu64
                    "\",name=\"%s\"} %" PRIu64 "\n",
                    node->genesis.namespaces[j].id,
                    node->genesis.namespaces[j].name, r->stats.ns_txs[j]);
        }
    }
}
