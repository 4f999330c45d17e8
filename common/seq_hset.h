/* A set of 32-byte hashes with a capacity, each with an optional pointer
 * value and a reference count. The mempool's indexes (pending transactions,
 * held batches and their transactions, the committed window's transactions
 * and batches) and the RocksDB store's index of its unfolded tx records
 * (store_rocks.c (K9)) are such sets.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), in a table of twice the capacity rounded up to a power of
 * two. Only seq_hset_init() and seq_hset_reserve() allocate: every other
 * call works within the capacity and never fails for lack of memory, which
 * is how the mempool reserves room before it changes anything (mp_pool.c
 * (M5)). Keys are SHA-256 digests that clients and peers can grind; the
 * bucket is therefore the first 8 key bytes mixed with a secret @seed, so
 * that nobody can aim many keys at one probe run.
 *
 * The layout depends on the seed and on the order of operations, so nothing
 * may iterate a set to produce output: it answers membership only (the
 * mempool's determinism rule, mp_pool.c (M1)). */

#ifndef SEQ_COMMON_SEQ_HSET_H
#define SEQ_COMMON_SEQ_HSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seq_hash.h"

struct seq_hset_slot;

struct seq_hset {
    struct seq_hset_slot *slots; /* Owned: mask + 1 slots, then their tags. */
    size_t mask;
    size_t n;   /* Keys present. */
    size_t max; /* Capacity: at init, or raised by seq_hset_reserve. */
    uint64_t seed;
    bool huge; /* Tables from seq_calloc_huge (seq_hset_init_big). */
};

/* Allocates a table for up to @max keys (at least 1). Returns SEQ_ENOMEM,
 * leaving @set closed-safe (all zero), or 0. */
int seq_hset_init(struct seq_hset *set, size_t max, uint64_t seed);
void seq_hset_close(struct seq_hset *set); /* Safe on a zeroed set. */

/* seq_hset_init() for a long-lived set that is big and read at random
 * (the mempool's indexes): its tables get transparent huge pages
 * (seq_calloc_huge), so that a lookup misses the TLB far less often. Not
 * for sets made and dropped often: each new table is fresh pages that the
 * kernel zeroes, 2 MiB at a time. */
int seq_hset_init_big(struct seq_hset *set, size_t max, uint64_t seed);

/* Removes every key, keeping the table (and its capacity): only the tags
 * are cleared. For a set emptied and filled again and again, this is much
 * cheaper than closing and making it anew. */
void seq_hset_clear(struct seq_hset *set);

/* True if @key is present; *value (if not NULL) receives its value. */
bool seq_hset_get(const struct seq_hset *set,
                  const struct seq_hash *key,
                  void **value);

/* Raises the capacity to at least @max keys, and then to at least twice
 * what it was (it never lowers it), moving the keys to a larger table.
 * Returns 0, or SEQ_ENOMEM with @set unchanged. */
int seq_hset_reserve(struct seq_hset *set, size_t max);

/* Adds @key with @value (kept, never dereferenced) and one reference.
 * Returns 0, SEQ_EEXIST when @key is present (left alone), or SEQ_EFULL at
 * capacity. */
int seq_hset_put(struct seq_hset *set, const struct seq_hash *key, void *value);

/* Adds @key with @value, or gives a present @key that value. Returns 0 or
 * SEQ_EFULL (a new key at capacity). */
int seq_hset_assign(struct seq_hset *set,
                    const struct seq_hash *key,
                    void *value);

/* Adds a reference to @key, adding it (value NULL) when absent. Returns 0
 * or SEQ_EFULL (a new key at capacity). */
int seq_hset_ref(struct seq_hset *set, const struct seq_hash *key);

/* Drops a reference to @key, removing it with the last one; returns
 * whether @key was present. */
bool seq_hset_unref(struct seq_hset *set, const struct seq_hash *key);

/* Removes @key, whatever its references; returns whether it was present. */
bool seq_hset_del(struct seq_hset *set, const struct seq_hash *key);

/* How many keys ahead of an operation a loop prefetches. */
#define SEQ_HSET_AHEAD 8

/* A hint that changes nothing: starts loading what an operation on @key
 * reads first, its home bucket's tag, and with @slot also the home slot
 * (for an operation that will find @key there or insert it: ref, unref,
 * del, assign). A big set misses the cache on every key; a loop over many
 * keys that calls this SEQ_HSET_AHEAD keys ahead has their misses overlap
 * instead of waiting for each in turn. */
void seq_hset_prefetch(const struct seq_hset *set,
                       const struct seq_hash *key,
                       bool slot);

#endif /* SEQ_COMMON_SEQ_HSET_H */
