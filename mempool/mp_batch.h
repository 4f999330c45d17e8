/* Transactions, dissemination batches and block payloads as bytes
 * (DESIGN §4 stage 1, §5). These encodings are canonical: one value has
 * exactly one encoding, every decoder refuses anything else, and the ids
 * are SHA-256 digests of the encodings, so the wire layer carries the bytes
 * as they are and every replica derives the same ids from them.
 *
 * Transaction hash (§5), what clients see and dedup keys on:
 *
 *     tx_hash = SHA-256(namespace u64 BE || payload)
 *
 * Batch (all integers big-endian; batch_id = SHA-256 of these bytes):
 *
 *     "SEQ-BATCH-v1"              12 bytes, domain tag
 *     author                      u32, validator id of the sealer
 *     seq                         u64, per author, increasing from 1
 *     count                       u32, number of transactions, >= 1
 *     count times:
 *         namespace               u64
 *         len                     u32
 *         payload                 len bytes
 *
 * Block payload (what a stage-1 leader proposes: hs_block.payload):
 *
 *     empty                       no batches (0 bytes), or:
 *     "SEQ-PAYLOAD-v1"            14 bytes, domain tag
 *     count                       u32, >= 1
 *     batch_id                    count times 32 bytes, no two equal
 *
 * The tag is the room left for stage 2: a fair-ordering block carries a
 * cut instead ("SEQ-CUT-v1", not defined yet), and the stage-1 decoder
 * refuses it as malformed rather than misreading it. */

#ifndef SEQ_MEMPOOL_MP_BATCH_H
#define SEQ_MEMPOOL_MP_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "seq_hash.h"

#define MP_BATCH_TAG       "SEQ-BATCH-v1"
#define MP_BATCH_TAG_LEN   12
#define MP_PAYLOAD_TAG     "SEQ-PAYLOAD-v1"
#define MP_PAYLOAD_TAG_LEN 14
/* Encoded sizes of the fixed parts. */
#define MP_BATCH_HEADER_LEN   (MP_BATCH_TAG_LEN + 4 + 8 + 4)
#define MP_TX_HEADER_LEN      (8 + 4)
#define MP_PAYLOAD_HEADER_LEN (MP_PAYLOAD_TAG_LEN + 4)

/* A transaction seen through a batch or a committed block: a view, valid
 * as long as the object it was read from. */
struct mp_tx {
    uint64_t ns;
    const uint8_t *payload;
    size_t len;
    struct seq_hash hash; /* tx_hash, as above. */
    uint32_t index;       /* Its position in its batch. */
    uint32_t batch; /* In a block's entries (mp_block_txs): the position of
                     * its batch in the block payload; otherwise 0. */
};

/* What a decoder accepts; anything beyond is SEQ_EBADMSG. */
struct mp_batch_limits {
    uint32_t max_txs;     /* Transactions per batch. */
    uint32_t max_bytes;   /* Sum of payload lengths per batch. */
    uint32_t max_tx_size; /* One payload. */
};

/* A sealed batch (opaque): immutable once sealed, owned by whoever holds
 * the pointer according to the call that produced it. */
struct mp_batch;

/* tx_hash of (@ns, @payload). */
void mp_tx_hash(uint64_t ns,
                const void *payload,
                size_t len,
                struct seq_hash *out);

/* Decodes a batch received from anyone. Borrows @buf. Checks the layout
 * and @limits only: namespaces and authors are the pool's business
 * (mp_pool_add_batch). On success *out is returned owned (mp_batch_free)
 * with every tx_hash and the batch_id computed; otherwise *out is
 * untouched. Returns 0, SEQ_EBADMSG for any malformed or oversized input
 * (never a crash, whatever the bytes), SEQ_ENOMEM. */
int mp_batch_decode(const uint8_t *buf,
                    size_t len,
                    const struct mp_batch_limits *limits,
                    struct mp_batch **out);

/* The transactions of an encoded batch as views into @buf (borrowed, and
 * the views with it), in order, without hashing them: each hash is left
 * zero. For reading back a batch this validator stored, where only the
 * payloads are wanted. The layout and @limits are checked as
 * mp_batch_decode checks them. On success *out (seq_free) and *n are set;
 * otherwise they are untouched. Returns 0, SEQ_EBADMSG, SEQ_ENOMEM. */
int mp_batch_views(const uint8_t *buf,
                   size_t len,
                   const struct mp_batch_limits *limits,
                   struct mp_tx **out,
                   size_t *n);

/* Canonical bytes of @batch, returned owned in *out (seq_free), with the
 * length in *out_len. Returns 0 or SEQ_ENOMEM (outputs untouched). */
int mp_batch_encode(const struct mp_batch *batch,
                    uint8_t **out,
                    size_t *out_len);
size_t mp_batch_encoded_len(const struct mp_batch *batch);

void mp_batch_free(struct mp_batch *batch); /* NULL is fine. */

/* Read-only accessors; the id pointer lives as long as @batch. */
uint32_t mp_batch_author(const struct mp_batch *batch);
uint64_t mp_batch_seq(const struct mp_batch *batch);
const struct seq_hash *mp_batch_id(const struct mp_batch *batch);
size_t mp_batch_count(const struct mp_batch *batch);
size_t mp_batch_payload_bytes(const struct mp_batch *batch);
/* Transaction @i (< mp_batch_count) as a view into @batch. */
void mp_batch_tx(const struct mp_batch *batch, size_t i, struct mp_tx *out);

/* Encodes @n batch ids (borrowed) as a block payload, returned owned in
 * *out (seq_free; NULL with *out_len 0 when @n is 0). The caller has
 * ensured that the ids are distinct. Returns 0 or SEQ_ENOMEM. */
int mp_payload_encode(const struct seq_hash *ids,
                      size_t n,
                      uint8_t **out,
                      size_t *out_len);

/* Decodes a block payload of at most @max_ids ids. On success *ids is
 * returned owned (seq_free; NULL when *n is 0), in payload order. Returns
 * 0, SEQ_EBADMSG (wrong tag, count 0 or above @max_ids, length not exactly
 * header + 32 * count, or a repeated id), SEQ_ENOMEM. Outputs are
 * untouched on failure. */
int mp_payload_decode(const uint8_t *buf,
                      size_t len,
                      size_t max_ids,
                      struct seq_hash **ids,
                      size_t *n);

#endif /* SEQ_MEMPOOL_MP_BATCH_H */
