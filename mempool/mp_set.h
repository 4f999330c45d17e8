/* A fixed-capacity set of 32-byte hashes, each with an optional pointer
 * value: the mempool's index of pending transactions, recently committed
 * transactions and batches, and held batches. Private to mempool/.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), in a table allocated once by mp_set_init() at twice the
 * capacity rounded up to a power of two, so put and del never allocate and
 * never fail for lack of memory. Keys are SHA-256 digests that clients and
 * peers can grind; the bucket is therefore the first 8 key bytes mixed with
 * a secret @seed, so that nobody can aim many keys at one probe run.
 *
 * The layout depends on the seed and on the order of operations, so nothing
 * may iterate a set to produce output: it answers membership only (the
 * mempool's determinism rule, mp_pool.c (M1)). */

#ifndef SEQ_MEMPOOL_MP_SET_H
#define SEQ_MEMPOOL_MP_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seq_hash.h"

struct mp_set_slot;

struct mp_set {
    struct mp_set_slot *slots; /* Owned table of mask + 1 slots. */
    size_t mask;
    size_t n;   /* Keys present. */
    size_t max; /* Capacity asked for at init. */
    uint64_t seed;
};

/* Allocates a table for up to @max keys (at least 1). Returns SEQ_ENOMEM,
 * leaving @set closed-safe (all zero), or 0. */
int mp_set_init(struct mp_set *set, size_t max, uint64_t seed);
void mp_set_close(struct mp_set *set); /* Safe on a zeroed set. */

/* True if @key is present; *value (if not NULL) receives its value. */
bool mp_set_get(const struct mp_set *set,
                const struct seq_hash *key,
                void **value);

/* Adds @key with @value (kept, never dereferenced). Returns 0, SEQ_EEXIST
 * when @key is present (its value is left alone), or SEQ_EFULL at
 * capacity. */
int mp_set_put(struct mp_set *set, const struct seq_hash *key, void *value);

/* Removes @key; returns whether it was present. */
bool mp_set_del(struct mp_set *set, const struct seq_hash *key);

#endif /* SEQ_MEMPOOL_MP_SET_H */
