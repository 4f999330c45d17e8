/* The hash set behind the mempool's indexes (seq_hset.h). Linear probing
 * keeps a key within its probe run, which starts at its home bucket and has
 * no empty slot before it; deletion shifts later members of the run back so
 * that this stays true without tombstones (Knuth 6.4, Algorithm R).
 *
 * A probe reads a dense array of 16-bit tags, not the 48-byte slots: a big
 * set (the committed window holds millions of keys) misses the cache and
 * the TLB on every slot it touches, and most lookups are of new, absent
 * keys, which now end on an empty tag without reading a slot at all. The
 * tags share one allocation with the slots, after them, so that
 * seq_hset_init() and seq_hset_reserve() still allocate once each.
 *
 * (T1) tags[i] is 0 exactly when slot i is empty.
 * (T2) A used slot's tag is tag_of() of its key's hash under the set's seed:
 *      1 plus the hash's top 15 bits, which are disjoint from the low bits
 *      that pick the home bucket (a table has far fewer than 2^49 slots), so
 *      a run's keys differ in their tags as random keys would. A probe reads
 *      a slot's key only when its tag matches: 1 time in 2^15 for a key
 *      whose first 8 bytes differ, always for one that shares them.
 * (T3) A tag moves with its slot: in deletion's backward shift and when
 *      seq_hset_reserve() rehashes (the seed, hence the tag, does not change).
 */

#include "seq_hset.h"

#include <assert.h>
#include <string.h>

#include "seq_alloc.h"
#include "seq_err.h"

/* Used exactly when its tag is not 0 (T1). */
struct seq_hset_slot {
    struct seq_hash key;
    void *value;
    uint32_t refs; /* >= 1 while used. */
};

/* The tags of @set's table: mask + 1 of them, right after its slots. */
static uint16_t *tags_of(const struct seq_hset *set)
{
    return (uint16_t *)(void *)(set->slots + set->mask + 1);
}

/* splitmix64's finalizer: every input bit reaches every output bit. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* The first 8 key bytes mixed with the secret seed: its low bits pick the
 * home bucket and its top bits the tag (T2). */
static uint64_t hash(const struct seq_hset *set, const struct seq_hash *key)
{
    uint64_t word = 0;
    size_t i;

    for (i = 0; i < 8; i++) {
        word = (word << 8) | key->bytes[i];
    }
    return mix(word ^ set->seed);
}

static uint16_t tag_of(uint64_t hash_value)
{
    return (uint16_t)((hash_value >> 49) + 1);
}

static size_t home(const struct seq_hset *set, const struct seq_hash *key)
{
    return (size_t)(hash(set, key) & set->mask);
}

/* The table size for @max keys: twice it, rounded up to a power of two. */
static size_t table_size(size_t max)
{
    size_t size = 2;

    while (size < max * 2) {
        size *= 2;
    }
    return size;
}

#define SLOT_BYTES (sizeof(struct seq_hset_slot) + sizeof(uint16_t))

/* A zeroed table of @size slots and their tags (all 0: empty), or NULL.
 * A big set's tables get huge pages (seq_hset_init_big): every lookup
 * lands on a random page of them, and with 4 KiB pages nearly every one
 * also missed the TLB. */
static struct seq_hset_slot *table_new(const struct seq_hset *set, size_t size)
{
    if (!set->huge) {
        return seq_calloc(size, SLOT_BYTES);
    }
    if (size > SIZE_MAX / SLOT_BYTES) {
        return NULL;
    }
    return seq_calloc_huge(size * SLOT_BYTES);
}

static void table_free(const struct seq_hset *set,
                       struct seq_hset_slot *slots,
                       size_t size)
{
    if (set->huge) {
        seq_free_huge(slots, size * SLOT_BYTES);
    } else {
        seq_free(slots);
    }
}

static int init(struct seq_hset *set, size_t max, uint64_t seed, bool huge)
{
    size_t size;

    memset(set, 0, sizeof *set);
    set->huge = huge;
    if (max == 0) {
        max = 1;
    }
    size = table_size(max);
    set->slots = table_new(set, size);
    if (set->slots == NULL) {
        memset(set, 0, sizeof *set);
        return SEQ_ENOMEM;
    }
    set->mask = size - 1;
    set->max = max;
    set->seed = seed;
    return SEQ_OK;
}

int seq_hset_init(struct seq_hset *set, size_t max, uint64_t seed)
{
    return init(set, max, seed, false);
}

int seq_hset_init_big(struct seq_hset *set, size_t max, uint64_t seed)
{
    return init(set, max, seed, true);
}

void seq_hset_clear(struct seq_hset *set)
{
    if (set->slots != NULL) {
        memset(tags_of(set), 0, (set->mask + 1) * sizeof(uint16_t));
    }
    set->n = 0;
}

void seq_hset_close(struct seq_hset *set)
{
    if (set->slots != NULL) {
        table_free(set, set->slots, set->mask + 1);
    }
    memset(set, 0, sizeof *set);
}

/* The slot holding @key, or the empty slot ending its probe run. Only the
 * tags are read until one matches (T2). The key comparison is memcmp() here
 * rather than a call to seq_hash_eq(), so that the compiler inlines it:
 * that call cost as much as the tag read on every hit. No prefetch of the
 * home slot here: it would make every miss fetch a slot it does not need.
 * Loops over many keys prefetch ahead instead (seq_hset_prefetch). */
static size_t find(const struct seq_hset *set, const struct seq_hash *key)
{
    const uint16_t *tags = tags_of(set);
    uint64_t h = hash(set, key);
    uint16_t tag = tag_of(h);
    size_t i = (size_t)(h & set->mask);

    while (tags[i] != 0) {
        if (tags[i] == tag &&
            memcmp(set->slots[i].key.bytes, key->bytes, SEQ_HASH_LEN) == 0) {
            break;
        }
        i = (i + 1) & set->mask;
    }
    return i;
}

void seq_hset_prefetch(const struct seq_hset *set,
                       const struct seq_hash *key,
                       bool slot)
{
    size_t i;

    if (set->slots == NULL) {
        return;
    }
    i = home(set, key);
    __builtin_prefetch(&tags_of(set)[i]);
    if (slot) { /* A slot can straddle two cache lines. */
        __builtin_prefetch(&set->slots[i]);
        __builtin_prefetch((const char *)&set->slots[i + 1] - 1);
    }
}

/* Whether @key is a member; if so, *i is its slot. A set never sized has
 * no slots to search. */
static bool locate(const struct seq_hset *set,
                   const struct seq_hash *key,
                   size_t *i)
{
    if (set->slots == NULL) {
        return false;
    }
    *i = find(set, key);
    return tags_of(set)[*i] != 0;
}

bool seq_hset_get(const struct seq_hset *set,
                  const struct seq_hash *key,
                  void **value)
{
    size_t i;

    if (!locate(set, key, &i)) {
        return false;
    }
    if (value != NULL) {
        *value = set->slots[i].value;
    }
    return true;
}

int seq_hset_reserve(struct seq_hset *set, size_t max)
{
    struct seq_hset_slot *old = set->slots;
    const uint16_t *old_tags = old == NULL ? NULL : tags_of(set);
    size_t old_size = old == NULL ? 0 : set->mask + 1;
    size_t size;
    size_t i;

    if (max <= set->max) {
        return SEQ_OK;
    }
    /* Grow at least twofold, so that growing one key at a time costs
     * amortised O(1) per key. */
    if (max / 2 < set->max) {
        max = set->max * 2;
    }
    size = table_size(max);
    if (size > set->mask + 1) {
        struct seq_hset_slot *slots = table_new(set, size);
        uint16_t *tags;

        if (slots == NULL) {
            return SEQ_ENOMEM;
        }
        set->slots = slots;
        set->mask = size - 1;
        tags = tags_of(set);
        /* The keys are distinct, so each goes to the first empty slot of
         * its new run without comparing keys; its tag goes with it (T3). */
        for (i = 0; i < old_size; i++) {
            size_t j;

            if (old_tags[i] == 0) {
                continue;
            }
            j = home(set, &old[i].key);
            while (tags[j] != 0) {
                j = (j + 1) & set->mask;
            }
            slots[j] = old[i];
            tags[j] = old_tags[i];
        }
        if (old != NULL) {
            table_free(set, old, old_size);
        }
    }
    set->max = max;
    return SEQ_OK;
}

/* Fills the empty slot @i with @key; SEQ_EFULL at capacity. */
static int insert(struct seq_hset *set,
                  size_t i,
                  const struct seq_hash *key,
                  void *value)
{
    if (set->n >= set->max) {
        return SEQ_EFULL;
    }
    set->slots[i].key = *key;
    set->slots[i].value = value;
    set->slots[i].refs = 1;
    tags_of(set)[i] = tag_of(hash(set, key));
    set->n++;
    return SEQ_OK;
}

int seq_hset_put(struct seq_hset *set, const struct seq_hash *key, void *value)
{
    size_t i = find(set, key);

    if (tags_of(set)[i] != 0) {
        return SEQ_EEXIST;
    }
    return insert(set, i, key, value);
}

int seq_hset_assign(struct seq_hset *set,
                    const struct seq_hash *key,
                    void *value)
{
    size_t i = find(set, key);

    if (tags_of(set)[i] != 0) {
        set->slots[i].value = value;
        return SEQ_OK;
    }
    return insert(set, i, key, value);
}

int seq_hset_ref(struct seq_hset *set, const struct seq_hash *key)
{
    size_t i = find(set, key);

    if (tags_of(set)[i] != 0) {
        assert(set->slots[i].refs < UINT32_MAX);
        set->slots[i].refs++;
        return SEQ_OK;
    }
    return insert(set, i, key, NULL);
}

bool seq_hset_unref(struct seq_hset *set, const struct seq_hash *key)
{
    size_t i;

    if (!locate(set, key, &i)) {
        return false;
    }
    if (set->slots[i].refs > 1) {
        set->slots[i].refs--;
        return true;
    }
    return seq_hset_del(set, key);
}

bool seq_hset_del(struct seq_hset *set, const struct seq_hash *key)
{
    uint16_t *tags;
    size_t hole;
    size_t j;

    if (!locate(set, key, &hole)) {
        return false;
    }
    tags = tags_of(set);
    /* Move back each later member of the run whose home bucket does not lie
     * cyclically in (hole, j]: it would be unreachable across the hole. Its
     * tag moves with it (T3). */
    j = hole;
    for (;;) {
        size_t h;

        j = (j + 1) & set->mask;
        if (tags[j] == 0) {
            break;
        }
        h = home(set, &set->slots[j].key);
        if (hole <= j ? (hole < h && h <= j) : (hole < h || h <= j)) {
            continue;
        }
        set->slots[hole] = set->slots[j];
        tags[hole] = tags[j];
        hole = j;
    }
    memset(&set->slots[hole], 0, sizeof set->slots[hole]);
    tags[hole] = 0;
    assert(set->n > 0);
    set->n--;
    return true;
}
