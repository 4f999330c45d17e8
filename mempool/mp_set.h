/* A set of 32-byte hashes with a capacity, each with an optional pointer
 * value and a reference count: the mempool's index of pending transactions,
 * held batches and their transactions, and the committed window's
 * transactions and batches. Private to mempool/.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), in a table of twice the capacity rounded up to a power of
 * two. Only mp_set_init() and mp_set_reserve() allocate: every other call
 * works within the capacity and never fails for lack of memory, which is
 * how the pool reserves room before it changes anything (mp_pool.c (M5)).
 * Keys are SHA-256 digests that clients and
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
    struct mp_set_slot *slots; /* Owned: mask + 1 slots, then their tags. */
    size_t mask;
    size_t n;   /* Keys present. */
    size_t max; /* Capacity: at init, or raised by mp_set_reserve. */
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

/* Raises the capacity to at least @max keys, and then to at least twice
 * what it was (it never lowers it), moving the keys to a larger table.
 * Returns 0, or SEQ_ENOMEM with @set unchanged. */
int mp_set_reserve(struct mp_set *set, size_t max);

/* Adds @key with @value (kept, never dereferenced) and one reference.
 * Returns 0, SEQ_EEXIST when @key is present (left alone), or SEQ_EFULL at
 * capacity. */
int mp_set_put(struct mp_set *set, const struct seq_hash *key, void *value);

/* Adds @key with @value, or gives a present @key that value. Returns 0 or
 * SEQ_EFULL (a new key at capacity). */
int mp_set_assign(struct mp_set *set, const struct seq_hash *key, void *value);

/* Adds a reference to @key, adding it (value NULL) when absent. Returns 0
 * or SEQ_EFULL (a new key at capacity). */
int mp_set_ref(struct mp_set *set, const struct seq_hash *key);

/* Drops a reference to @key, removing it with the last one; returns
 * whether @key was present. */
bool mp_set_unref(struct mp_set *set, const struct seq_hash *key);

/* Removes @key, whatever its references; returns whether it was present. */
bool mp_set_del(struct mp_set *set, const struct seq_hash *key);

#endif /* SEQ_MEMPOOL_MP_SET_H */
