/* The inside of struct mp_batch, shared by mp_batch.c and mp_pool.c only:
 * nothing outside mempool/ includes this file. A batch keeps its payload
 * bytes in one buffer and each transaction as an offset into it, so a
 * batch is three allocations however many transactions it holds. A batch
 * the pool is still filling ("open") has its buffers sized for the batch
 * limits up front, so appending never allocates; a decoded batch keeps a
 * copy of the whole encoding and points into it. */

#ifndef SEQ_MEMPOOL_MP_BATCH_INT_H
#define SEQ_MEMPOOL_MP_BATCH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mp_batch.h"
#include "seq_hash.h"

struct mp_tx_ref {
    uint64_t ns;
    size_t off; /* Of the payload in data. */
    uint32_t len;
    struct seq_hash hash;
};

struct mp_batch {
    uint32_t author;
    uint64_t seq;
    struct seq_hash id; /* Valid once sealed (or decoded). */
    struct mp_tx_ref *txs;
    size_t n_txs, cap_txs;
    uint8_t *data;
    size_t data_len, data_cap;
    size_t payload_bytes;  /* Sum of txs[].len. */
    uint64_t opened_at;    /* now_ms of the first append (open batches). */
    struct mp_batch *next; /* The pool's queue of sealed batches. */
    bool mark;             /* Scratch flag for one pool call, then false. */
    bool added;   /* Came through mp_pool_add_batch (a peer's, or ours read
                   * back after a restart), not sealed here. */
    bool fetched; /* Added as a fetch response: a payload wants it. */
};

/* An empty open batch with room for @max_txs transactions and @max_bytes
 * payload bytes. Returns owned, or NULL when out of memory. */
struct mp_batch *mp_batch_new_open(uint32_t author,
                                   uint64_t seq,
                                   size_t max_txs,
                                   size_t max_bytes);

/* Appends a transaction; the caller has checked that it fits. */
void mp_batch_append(struct mp_batch *batch,
                     uint64_t ns,
                     const void *payload,
                     uint32_t len,
                     const struct seq_hash *hash);

/* Drops transaction @i, keeping the order of the others. */
void mp_batch_remove(struct mp_batch *batch, size_t i);

/* Computes batch->id from the canonical encoding; the batch is then
 * sealed and must not change. */
void mp_batch_seal(struct mp_batch *batch);

#endif /* SEQ_MEMPOOL_MP_BATCH_INT_H */
