/* A namespace's entries at one committed height as the ns column family
 * keeps them (net_rollup.c (R5)). Pure functions: no store, no I/O.
 *
 * References, written since R5 (all integers big-endian):
 *
 *     magic      4 bytes: FF 'N' 'S' 'R'
 *     count      u32, >= 1
 *     count times, in entry order:
 *         batch  u32, the position of the entry's batch in the block
 *                payload
 *         index  u32, the position of the entry in that batch
 *
 * Payloads, written before R5 and still read:
 *
 *     count      u32, >= 1
 *     count times:
 *         len    u32
 *         payload len bytes
 *
 * A payload count is at most a block's transactions (2^20 in seqd), so it
 * never reads as the magic: the first four bytes tell the forms apart. */
#ifndef SEQ_NET_NET_NSVAL_H
#define SEQ_NET_NET_NSVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mp_batch.h"
#include "seq_client.h"

#define NET_NSVAL_MAGIC     "\xffNSR"
#define NET_NSVAL_MAGIC_LEN 4

struct net_nsref {
    uint32_t batch;
    uint32_t index;
};

/* The length of the references to @n entries. */
size_t net_nsval_refs_len(size_t n);

/* Writes the references to @txs[0..n) (their batch and index fields) to
 * @out, which has net_nsval_refs_len(n) bytes. @n >= 1. */
void net_nsval_encode_refs(const struct mp_tx *txs, size_t n, uint8_t *out);

/* Whether @buf is in the reference form (its magic; nothing else is
 * checked). */
bool net_nsval_is_refs(const uint8_t *buf, size_t len);

/* Decodes the reference form: *out (seq_free) gets *n >= 1 references.
 * Returns 0, SEQ_ECORRUPT (not exactly that layout; outputs untouched) or
 * SEQ_ENOMEM. */
int net_nsval_decode_refs(const uint8_t *buf,
                          size_t len,
                          struct net_nsref **out,
                          uint32_t *n);

/* Decodes the payload form of namespace @ns's entries: *out (seq_free)
 * gets *n >= 1 views into @buf. Returns 0, SEQ_ECORRUPT (outputs
 * untouched) or SEQ_ENOMEM. */
int net_nsval_decode_payloads(uint64_t ns,
                              const uint8_t *buf,
                              size_t len,
                              struct seqc_tx **out,
                              uint32_t *n);

#endif
