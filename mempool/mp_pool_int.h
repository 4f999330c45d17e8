/* The inside of struct mp_pool, shared by mp_pool.c (admission, batches,
 * payloads) and mp_commit.c (the dedup window and a block's entries) only:
 * nothing outside mempool/ includes this file. The design notes (M1)-(M7)
 * are at the top of mp_pool.c. */

#ifndef SEQ_MEMPOOL_MP_POOL_INT_H
#define SEQ_MEMPOOL_MP_POOL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mp_batch_int.h"
#include "mp_pool.h"
#include "seq_hash.h"
#include "seq_hset.h"

struct ns_entry {
    uint64_t id;
    char name[MP_NS_NAME_MAX + 1];
    uint32_t weight;
    uint32_t max_tx_size;
    uint64_t pending_txs;
    uint64_t pending_bytes;
};

/* One author's held batches, sorted by (seq, id), and their totals (M6). */
struct author_slot {
    struct mp_batch **batches; /* cap = max_batches_per_author */
    size_t n;
    uint64_t txs;   /* Transactions of those batches. */
    uint64_t bytes; /* Their payload bytes. */
};

/* A committed block the window remembers (M3): the tx_hash of its entries,
 * then the ids of its batches, in one allocation. */
struct win_block {
    uint64_t height;
    struct win_block *next; /* The next remembered height up, or NULL. */
    size_t n_txs;           /* Entries: ids[0..n_txs). */
    size_t n_batches;       /* Batch ids: ids[n_txs..n_txs + n_batches). */
    struct seq_hash ids[];
};

struct mp_pool {
    struct mp_config config; /* namespaces is NULL: see ns. */
    struct ns_entry *ns;     /* Owned, sorted by id. */
    size_t n_ns;
    uint64_t total_weight;
    struct seq_hset pending; /* Admitted here, not committed (M2). */
    uint64_t pending_txs, pending_bytes;
    struct seq_hset held; /* id -> struct mp_batch *, owned through authors. */
    struct seq_hset held_txs;    /* tx_hash -> one reference per held batch
                                  * that has it (M8). */
    uint64_t held_peer_txs;      /* Transactions of held batches that came
                                  * through mp_pool_add_batch. */
    struct author_slot *authors; /* n_validators slots. */
    struct mp_batch **slot_mem;  /* Owned storage of every slot's array. */
    struct mp_batch *open;       /* Owned; NULL or being filled. */
    struct mp_batch *queue_head, *queue_tail; /* Owned, sealed, FIFO. */
    size_t n_queued;
    uint64_t next_seq;
    /* The window (M3): committed blocks by ascending height, and their
     * entries and batch ids, each mapped to the highest block with it. */
    struct win_block *win_head, *win_tail; /* Owned list. */
    struct seq_hset win_txs;               /* -> struct win_block * */
    struct seq_hset win_batches;           /* -> struct win_block * */
    size_t win_entries;                    /* Sum of the blocks' n_txs. */
    uint64_t committed_height;             /* 0: nothing yet. */
    struct mp_stats stats;
};

/* One block's payload resolved against the held batches. */
struct mp_level {
    uint64_t height;
    struct seq_hash *ids;      /* Owned, payload order. */
    struct mp_batch **batches; /* Owned; NULL where the batch is not held. */
    size_t n;
    size_t n_missing; /* NULLs in batches. */
    size_t n_entries; /* Set by the selection (mp_commit.c). */
};

/* The namespace @id, or NULL. */
struct ns_entry *mp_pool_find_ns(const struct mp_pool *pool, uint64_t id);

/* Removes a held batch and frees it. */
void mp_pool_release(struct mp_pool *pool, struct mp_batch *batch);

/* Decodes the payload @buf into @lvl (zeroed by the caller, height set)
 * and looks its ids up among the held batches. Returns 0, SEQ_EBADMSG or
 * SEQ_ENOMEM; @lvl is to be closed (mp_level_close) either way. */
int mp_level_resolve(const struct mp_pool *pool,
                     struct mp_level *lvl,
                     const uint8_t *buf,
                     size_t len);
void mp_level_close(struct mp_level *lvl);

/* The ids not held in @levels[0..n), each once, in level then payload
 * order: returned owned in *missing (seq_free) with their number in
 * *n_missing, as SEQ_EAGAIN; or SEQ_EAGAIN alone when @missing is NULL;
 * or SEQ_ENOMEM. */
int mp_level_report_missing(const struct mp_pool *pool,
                            const struct mp_level *levels,
                            size_t n,
                            struct seq_hash **missing,
                            size_t *n_missing);

/* Frees every remembered block (at mp_pool_free). */
void mp_window_free(struct mp_pool *pool);

#endif /* SEQ_MEMPOOL_MP_POOL_INT_H */
