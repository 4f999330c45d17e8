/* The stage-1 mempool (DESIGN §4, §5): admission of client transactions,
 * dedup, dissemination batches, the peer batches a validator holds, the
 * leader's block payload (an ordered list of batch ids), the voter's check
 * that it holds every referenced batch, and a block's ordered transactions
 * (its entries) grouped per namespace.
 *
 * A block's entries are a function of the chain alone: of its payload,
 * the batches the payloads reference and the entries of the blocks of the
 * last dedup_heights heights below it, or fewer heights where those hold
 * more than dedup_max_txs entries (the dedup rule at mp_pool_block_txs). The
 * leader commits to them in the header's ns_root when it proposes
 * (mp_pool_block_txs over the uncommitted ancestors), voters recompute them,
 * and every replica gets the same ones again at commit (mp_pool_commit), also
 * after a restart that fed the window back (mp_pool_restore_committed).
 *
 * Pure like consensus/: no clock (now_ms is an argument), no randomness
 * (the hash seed arrives in the config), no socket, file, thread or output.
 * One pool per validator, called from one thread. Every output is a
 * function of the config and the sequence of calls, never of memory layout
 * or of the hash seed (mp_pool.c (M1)); every call that fails leaves the
 * pool as it was (M5).
 *
 * The driver's use:
 *   - at start: mp_pool_open(); after a restart, mp_pool_restore_committed()
 *     for each of the last dedup_heights committed heights (ascending, the
 *     last one included even when empty) and mp_pool_set_next_seq() past
 *     the last batch this validator sealed.
 *   - POST /v1/tx: mp_pool_submit(); 0 -> 202 with the hash (whether the
 *     transaction is new, pending or committed), SEQ_ENOTFOUND -> 400
 *     unknown namespace, SEQ_ETOOBIG -> 413, SEQ_EFULL -> 429/503 with
 *     Retry-After.
 *   - each loop turn: while (mp_pool_tick() == 1), encode and broadcast the
 *     sealed batch.
 *   - batch from a peer or a fetch response: mp_pool_add_batch().
 *   - as leader: mp_pool_build_payload(), then mp_pool_block_txs() for the
 *     header's ns_root; as voter: mp_pool_check_payload() and
 *     mp_pool_block_txs(), fetching the missing ids on SEQ_EAGAIN.
 *   - on commit (height order): mp_pool_commit(), then hand the per-
 *     namespace slices to the namespace tree and the executors. */

#ifndef SEQ_MEMPOOL_MP_POOL_H
#define SEQ_MEMPOOL_MP_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "mp_batch.h"
#include "seq_hash.h"

#define MP_NS_NAME_MAX 63           /* Bytes of a namespace name. */
#define MP_MAX_WEIGHT  1000000u     /* Per namespace. */
#define MP_MAX_NS      4096u        /* Namespaces in one pool. */
#define MP_MAX_PENDING (1ull << 40) /* Bound on max_pending_bytes. */

/* A rollup, as registered in genesis (or later, by mp_pool_add_namespace). */
struct mp_namespace {
    uint64_t id;
    const char *name;     /* Borrowed; copied; 1..MP_NS_NAME_MAX bytes. */
    uint32_t weight;      /* 1..MP_MAX_WEIGHT: share of pending bytes. */
    uint32_t max_tx_size; /* Largest payload, >= 1. */
};

/* Limits. Every replica must use the same batch, block, dedup_heights and
 * dedup_max_txs values: the check and commit rules depend on them. */
struct mp_config {
    uint32_t self;         /* This validator's id: the author of its batches. */
    uint32_t n_validators; /* 1..HS_MAX_VALIDATORS; authors are below it. */
    const struct mp_namespace *namespaces; /* Borrowed; copied. */
    size_t n_namespaces;
    uint32_t max_tx_size;       /* Global payload limit, >= 1. */
    uint32_t max_pending_txs;   /* Admitted and not yet committed, >= 1. */
    uint64_t max_pending_bytes; /* Their payload bytes, 1..MP_MAX_PENDING;
                                 * namespace i may hold at most
                                 * max_pending_bytes * weight_i / sum of
                                 * weights of them. Only payload bytes
                                 * count: max_pending_txs bounds empty
                                 * ones. */
    uint32_t batch_max_txs;     /* A batch seals when it holds this many, */
    uint32_t batch_max_bytes;   /* or this many payload bytes (the next
                                 * transaction would not fit), >=
                                 * max_tx_size, */
    uint64_t batch_interval_ms; /* or when it has been open this long (0:
                                 * at every mp_pool_tick). */
    uint32_t max_batches_per_author; /* Held, not yet committed, >= 1;
                                      * a peer's also hold at most twice
                                      * max_pending_txs transactions and
                                      * twice max_pending_bytes of payload
                                      * (mp_pool.c, M6). */
    uint32_t block_max_batches;      /* Ids in one payload, >= 1. */
    uint64_t block_max_bytes;        /* Payload bytes of the referenced batches,
                                      * >= batch_max_bytes. */
    uint32_t dedup_heights;          /* W >= 1: a block drops what the W
                                      * heights below it have as entries
                                      * (mp_pool_block_txs), */
    uint32_t dedup_max_txs;          /* K >= 1: as far back as they have at
                                      * most K entries in all. The pool
                                      * keeps the entries and batch ids of
                                      * the committed blocks the next one
                                      * can need: at most W blocks and
                                      * (unless one block alone has more) K
                                      * entries, in a table sized for K at
                                      * open, so that the window does not
                                      * grow under load. */
    uint64_t hash_seed; /* Secret; keeps probe runs unpredictable (seq_hset.h).
                         * Outputs never depend on it. */
};

/* What a submitted transaction turned out to be. */
enum mp_tx_state {
    MP_TX_NEW = 1,   /* Admitted by this call. */
    MP_TX_PENDING,   /* Admitted earlier here and not committed, or in
                      * a held batch (ours or a peer's), and not
                      * committed within the window. */
    MP_TX_COMMITTED, /* In a committed block within the window: at or
                      * above the floor of committed height + 1, or the
                      * last one (even with more than K entries). */
    MP_TX_UNKNOWN,   /* Neither (mp_pool_tx_state only). */
};

/* Counters for /metrics and tests. Totals count since mp_pool_open. */
struct mp_stats {
    uint64_t pending_txs;      /* Admitted here, not committed. */
    uint64_t pending_bytes;    /* Their payload bytes. */
    uint64_t open_txs;         /* In the batch being filled. */
    uint64_t queued_batches;   /* Sealed, not yet returned by mp_pool_tick. */
    uint64_t held_batches;     /* Ours and peers', awaiting commit. */
    uint64_t next_seq;         /* Seq of our next batch. */
    uint64_t committed_height; /* Of the last commit or restore; 0: none. */
    uint64_t window_txs;       /* Committed tx hashes remembered. */
    uint64_t admitted;         /* Totals from here on. */
    uint64_t duplicates;
    uint64_t rejected_unknown_ns;
    uint64_t rejected_too_big;
    uint64_t rejected_full;
    uint64_t batches_sealed;
    uint64_t batches_added;
    uint64_t batches_rejected;
    uint64_t batches_evicted; /* Made room for a fetched batch. */
    uint64_t committed_txs;
    uint64_t committed_dropped; /* Duplicates dropped at commit. */
};

/* A byte string, borrowed for the call. */
struct mp_bytes {
    const uint8_t *buf;
    size_t len;
};

/* One namespace's slice of a committed block: its transactions in block
 * order. */
struct mp_ns_slice {
    uint64_t ns;
    const struct mp_tx *txs;
    size_t n_txs;
};

/* A block's entries (mp_pool_block_txs, mp_pool_commit). Owns its bytes:
 * every view in it stays valid until mp_block_txs_free, whatever the pool
 * does. */
struct mp_block_txs {
    struct mp_tx *txs; /* Block order: batch order, then order inside the
                        * batch, duplicates dropped (mp_pool_block_txs). */
    size_t n_txs;
    struct mp_ns_slice *ns; /* Namespaces present, ascending id. */
    size_t n_ns;
    size_t n_dropped;    /* Transactions of the batches dropped. */
    struct mp_tx *by_ns; /* Private: the storage behind ns[].txs. */
    uint8_t *data;       /* Private: the payload bytes. */
};

void mp_block_txs_free(struct mp_block_txs *txs); /* NULL is fine. */

struct mp_pool; /* Opaque. */

/* An uncommitted ancestor of a block: its height and its payload
 * (borrowed for the call). */
struct mp_ancestor {
    uint64_t height;
    const uint8_t *payload;
    size_t len;
};

/* Creates a pool, at committed height 0 (nothing committed). Borrows
 * @config (and its namespaces). On success *out is returned owned
 * (mp_pool_free). Returns 0, SEQ_EINVAL for a config outside the limits
 * documented above (or repeated namespace ids), or SEQ_ENOMEM; *out is
 * untouched on failure. */
int mp_pool_open(const struct mp_config *config, struct mp_pool **out);
void mp_pool_free(struct mp_pool *pool); /* NULL is fine. */

/* Registers a namespace after genesis. Every replica must add the same
 * namespaces at the same point of the committed chain. Borrows @ns.
 * Returns 0, SEQ_EINVAL, SEQ_EEXIST (the id is taken), SEQ_ENOMEM. The
 * other namespaces' shares shrink accordingly. */
int mp_pool_add_namespace(struct mp_pool *pool, const struct mp_namespace *ns);

/* Admits a client transaction (borrows @payload) into the open batch,
 * which is sealed if it fills up (mp_pool_tick then returns it). On 0,
 * *hash is the tx_hash and *state says MP_TX_NEW, or MP_TX_PENDING /
 * MP_TX_COMMITTED (as for mp_pool_tx_state) for a duplicate, which changes
 * nothing (submission is idempotent). O(1) apart from hashing @payload.
 * Errors, checked in this order, change nothing either:
 *   SEQ_ENOTFOUND  unknown namespace;
 *   SEQ_ETOOBIG    payload above the namespace's or the global limit;
 *   SEQ_EFULL      pending txs or bytes at capacity, the namespace at its
 *                  weighted share, or too many sealed batches waiting;
 *                  retry after commits free room;
 *   SEQ_ENOMEM. */
int mp_pool_submit(struct mp_pool *pool,
                   uint64_t now_ms,
                   uint64_t ns,
                   const void *payload,
                   size_t len,
                   struct seq_hash *hash,
                   enum mp_tx_state *state);

/* MP_TX_COMMITTED if committed within the window, else MP_TX_PENDING if
 * admitted here and not committed or in any held batch, else
 * MP_TX_UNKNOWN. O(1). */
enum mp_tx_state mp_pool_tx_state(const struct mp_pool *pool,
                                  const struct seq_hash *hash);

/* Seals the open batch if it has been open for batch_interval_ms by
 * @now_ms (always, when batch_interval_ms is 0 and it holds a transaction:
 * a driver may seal once per loop turn so that its acks follow the turn's
 * disk sync), then returns the oldest sealed batch not yet returned: 1 with
 * *out set (a view; the pool now holds the batch for payloads, until a
 * commit includes it: the view is valid until the next mp_pool_commit,
 * mp_pool_restore_committed or mp_pool_free), or 0 when there is none (or when
 * our own held batches are at max_batches_per_author; they leave as blocks
 * commit). Call it every loop turn until it returns 0, and broadcast each batch
 * (mp_batch_encode). Never fails. */
int mp_pool_tick(struct mp_pool *pool,
                 uint64_t now_ms,
                 const struct mp_batch **out);

/* Stores a batch received from validator @from (authenticated by the
 * transport). Borrows @buf. With @expected_id NULL (a broadcast), the
 * author must be @from and must not have another held batch with the same
 * seq. With @expected_id (a fetch response for an id taken from a
 * payload) the batch may come from anyone but must have that id; it is
 * stored even if a block within the window committed it, since a later
 * block that references it again needs its transactions (M4). Returns:
 *   0            stored;
 *   SEQ_EEXIST   held already, or (a broadcast) committed within the
 *                window: ignore it;
 *   SEQ_EBADMSG  malformed or beyond the batch limits, author not a
 *                validator or not @from, same seq as a held batch of the
 *                author, wrong id, unknown namespace or payload above its
 *                namespace's limit;
 *   SEQ_EFULL    the author already has max_batches_per_author held,
 *                or (a peer) held batches with more than twice
 *                max_pending_txs transactions or twice max_pending_bytes
 *                of payload in all, counting this one (a fetched batch of
 *                a peer instead
 *                evicts that author's held batches, latest first and
 *                fetched ones last, until it fits: a wanted batch must
 *                never wait for room that only the commit it blocks would
 *                free);
 *   SEQ_EINVAL   @from is not a validator (a caller bug);
 *   SEQ_ENOMEM.
 * Nothing changes unless it returns 0. */
int mp_pool_add_batch(struct mp_pool *pool,
                      uint32_t from,
                      const uint8_t *buf,
                      size_t len,
                      const struct seq_hash *expected_id);

/* A held batch, as a view valid until the next mp_pool_commit,
 * mp_pool_restore_committed or mp_pool_free, or NULL. For answering
 * fetches. */
const struct mp_batch *mp_pool_get_batch(const struct mp_pool *pool,
                                         const struct seq_hash *id);

/* The leader's payload for a block whose uncommitted ancestors have the
 * payloads @ancestors[0..n) (borrowed; any order): up to
 * block_max_batches held batches, block_max_bytes of payload, that none of
 * them references and no block within the window committed, taken
 * round-robin over authors in id order, each author's in seq order (M1).
 * *out is returned owned (seq_free; NULL with
 * *out_len 0 for an empty payload). Returns 0, SEQ_EBADMSG if an ancestor
 * payload is malformed, SEQ_ENOMEM. */
int mp_pool_build_payload(struct mp_pool *pool,
                          const struct mp_bytes *ancestors,
                          size_t n_ancestors,
                          uint8_t **out,
                          size_t *out_len);

/* The voter's check of a proposed payload (borrowed). Returns 0 when it is
 * well-formed and every batch is held; SEQ_EAGAIN when some are not held,
 * with their ids in payload order returned owned in *missing (seq_free)
 * and their number in *n_missing (if @missing is not NULL), to fetch from the
 * authors or the leader and then check again; SEQ_EBADMSG when malformed (see
 * mp_payload_decode), when it references a batch committed within the
 * window (an honest leader never does; this only affects voting: commits
 * take such a batch like any other), or when its batches exceed
 * block_max_bytes; SEQ_ENOMEM. *missing and *n_missing are set only on
 * SEQ_EAGAIN. Does not change the pool. */
int mp_pool_check_payload(const struct mp_pool *pool,
                          const uint8_t *buf,
                          size_t len,
                          struct seq_hash **missing,
                          size_t *n_missing);

/* The entries the block at @height with the payload @buf (borrowed) will
 * commit, if its uncommitted ancestors (the blocks of the heights above
 * the committed height and below @height, each at most once, in any
 * order; a height not given counts as an empty block) are
 * @ancestors[0..n_ancestors) (borrowed). The rule (M3): the
 * block's transactions in order (batch order, then order inside the
 * batch), dropping one whose tx_hash
 *   - appears earlier in the same block (the first occurrence wins), or
 *   - is an entry of the block at a height j with floor <= j < @height: a
 *     committed one (remembered by the pool), or one of @ancestors (whose
 *     entries follow the same rule, from the lowest height up). floor is
 *     the lowest height >= @height - dedup_heights such that the blocks
 *     at floor .. @height - 1 have at most dedup_max_txs entries in all.
 * Every batch is taken in full, also one that a block below committed
 * already (a commit released it: it must be fetched again, like any batch
 * not held). Hence mp_pool_commit at @height returns the same entries once
 * @ancestors have been committed. *out is returned owned
 * (mp_block_txs_free). Returns 0;
 *   SEQ_EINVAL   @height is not above the committed height;
 *   SEQ_EBADMSG  a malformed payload (of the block or of an ancestor), or
 *                an ancestor height outside (committed height, @height)
 *                or given twice;
 *   SEQ_EAGAIN   some referenced batches (of the block or of an ancestor)
 *                are not held: their ids, each once (ancestors by
 *                ascending height, then the block; payload order inside)
 *                are returned owned in *missing (seq_free) with their
 *                number in *n_missing (if @missing is not NULL), to fetch
 *                (mp_pool_add_batch with the id) and call again;
 *   SEQ_ENOMEM.
 * *missing and *n_missing are set only on SEQ_EAGAIN. Does not change the
 * pool. */
int mp_pool_block_txs(const struct mp_pool *pool,
                      uint64_t height,
                      const uint8_t *buf,
                      size_t len,
                      const struct mp_ancestor *ancestors,
                      size_t n_ancestors,
                      struct mp_block_txs **out,
                      struct seq_hash **missing,
                      size_t *n_missing);

/* Commits the payload (borrowed) of the block at @height that the
 * consensus core committed. @height must be the committed height + 1, or,
 * while the committed height is 0 (nothing committed or restored since
 * mp_pool_open), any height >= 1. *out is returned owned
 * (mp_block_txs_free): the entries mp_pool_block_txs gives for the block
 * with no ancestors left. The pool then remembers them and the batch ids
 * for the window, forgets what fell out of it (the heights below the floor
 * of @height + 1), releases the block's batches, takes the block's
 * transactions out of the pending state and what the window has out of
 * the open batch, and makes @height the committed height. Returns 0;
 * SEQ_EINVAL for a wrong @height; SEQ_EBADMSG
 * for a malformed payload; SEQ_EAGAIN when some batches are not held, with
 * *missing / *n_missing as for mp_pool_block_txs (if @missing is not
 * NULL): fetch and call again; SEQ_ENOMEM. Nothing changes unless it
 * returns 0. */
int mp_pool_commit(struct mp_pool *pool,
                   uint64_t height,
                   const uint8_t *buf,
                   size_t len,
                   struct mp_block_txs **out,
                   struct seq_hash **missing,
                   size_t *n_missing);

/* Feeds the window with a block committed before a restart: @tx_hashes
 * (borrowed) are the tx_hash of its entries (mp_block_txs.txs, as
 * committed; the order does not matter). Call it for the last
 * dedup_heights heights the chain committed, in ascending order, ending
 * with the last committed height (with @n 0 if that block is empty); the
 * pool then drops the same transactions as one that never restarted (and
 * forgets the same heights on the way). No
 * batch ids are restored: batches those blocks committed may be added
 * again (they are still deduplicated by their transactions). @height must
 * be above the committed height (any height >= 1 at committed height 0)
 * and becomes the committed height; heights below it that were not fed
 * count as empty blocks. Restored transactions leave the open batch and
 * the pending state; ones in our sealed batches stay pending until those
 * commit (mp_pool_tx_state says MP_TX_COMMITTED meanwhile). Memory grows
 * with @n, as for a commit. Returns 0, SEQ_EINVAL for a wrong @height,
 * SEQ_ENOMEM; nothing changes unless it returns 0. */
int mp_pool_restore_committed(struct mp_pool *pool,
                              uint64_t height,
                              const struct seq_hash *tx_hashes,
                              size_t n);

/* Makes @seq the seq of the next batch this validator seals (the open
 * batch takes it, if there is one), so that after a restart our
 * batches do not reuse the seqs of batches sealed before it, which peers
 * would refuse as equivocation (mp_pool_add_batch). @seq must be at least
 * the seq the next sealed batch would get anyway (the open batch's, or
 * mp_stats.next_seq when none is open) and below UINT64_MAX. Returns 0 or
 * SEQ_EINVAL (nothing changed). */
int mp_pool_set_next_seq(struct mp_pool *pool, uint64_t seq);

void mp_pool_stats(const struct mp_pool *pool, struct mp_stats *out);

#endif /* SEQ_MEMPOOL_MP_POOL_H */
