/* The hash set behind the mempool's indexes (mp_set.h). Linear probing
 * keeps a key within its probe run, which starts at its home bucket and has
 * no empty slot before it; deletion shifts later members of the run back so
 * that this stays true without tombstones (Knuth 6.4, Algorithm R). */

#include "mp_set.h"

#include <assert.h>
#include <string.h>

#include "seq_alloc.h"
#include "seq_err.h"

struct mp_set_slot {
    struct seq_hash key;
    void *value;
    uint32_t refs; /* >= 1 while used. */
    bool used;
};

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

static size_t home(const struct mp_set *set, const struct seq_hash *key)
{
    uint64_t word = 0;
    size_t i;

    for (i = 0; i < 8; i++) {
        word = (word << 8) | key->bytes[i];
    }
    return (size_t)(mix(word ^ set->seed) & set->mask);
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

int mp_set_init(struct mp_set *set, size_t max, uint64_t seed)
{
    size_t size;

    memset(set, 0, sizeof *set);
    if (max == 0) {
        max = 1;
    }
    size = table_size(max);
    set->slots = seq_calloc(size, sizeof *set->slots);
    if (set->slots == NULL) {
        return SEQ_ENOMEM;
    }
    set->mask = size - 1;
    set->max = max;
    set->seed = seed;
    return SEQ_OK;
}

void mp_set_close(struct mp_set *set)
{
    seq_free(set->slots);
    memset(set, 0, sizeof *set);
}

/* The slot holding @key, or the empty slot ending its probe run. */
static size_t find(const struct mp_set *set, const struct seq_hash *key)
{
    size_t i = home(set, key);

    while (set->slots[i].used && !seq_hash_eq(&set->slots[i].key, key)) {
        i = (i + 1) & set->mask;
    }
    return i;
}

bool mp_set_get(const struct mp_set *set,
                const struct seq_hash *key,
                void **value)
{
    size_t i;

    if (set->slots == NULL) {
        return false;
    }
    i = find(set, key);
    if (!set->slots[i].used) {
        return false;
    }
    if (value != NULL) {
        *value = set->slots[i].value;
    }
    return true;
}

int mp_set_reserve(struct mp_set *set, size_t max)
{
    struct mp_set_slot *old = set->slots;
    size_t old_size = set->slots == NULL ? 0 : set->mask + 1;
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
        struct mp_set_slot *slots = seq_calloc(size, sizeof *slots);
        if (slots == NULL) {
            return SEQ_ENOMEM;
        }
        set->slots = slots;
        set->mask = size - 1;
        for (i = 0; i < old_size; i++) {
            if (old[i].used) {
                set->slots[find(set, &old[i].key)] = old[i];
            }
        }
        seq_free(old);
    }
    set->max = max;
    return SEQ_OK;
}

/* Fills the empty slot @i with @key; SEQ_EFULL at capacity. */
static int insert(struct mp_set *set,
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
    set->slots[i].used = true;
    set->n++;
    return SEQ_OK;
}

int mp_set_put(struct mp_set *set, const struct seq_hash *key, void *value)
{
    size_t i = find(set, key);

    if (set->slots[i].used) {
        return SEQ_EEXIST;
    }
    return insert(set, i, key, value);
}

int mp_set_assign(struct mp_set *set, const struct seq_hash *key, void *value)
{
    size_t i = find(set, key);

    if (set->slots[i].used) {
        set->slots[i].value = value;
        return SEQ_OK;
    }
    return insert(set, i, key, value);
}

int mp_set_ref(struct mp_set *set, const struct seq_hash *key)
{
    size_t i = find(set, key);

    if (set->slots[i].used) {
        assert(set->slots[i].refs < UINT32_MAX);
        set->slots[i].refs++;
        return SEQ_OK;
    }
    return insert(set, i, key, NULL);
}

bool mp_set_unref(struct mp_set *set, const struct seq_hash *key)
{
    size_t i;

    if (set->slots == NULL) {
        return false;
    }
    i = find(set, key);
    if (!set->slots[i].used) {
        return false;
    }
    if (set->slots[i].refs > 1) {
        set->slots[i].refs--;
        return true;
    }
    return mp_set_del(set, key);
}

bool mp_set_del(struct mp_set *set, const struct seq_hash *key)
{
    size_t hole;
    size_t j;

    if (set->slots == NULL) {
        return false;
    }
    hole = find(set, key);
    if (!set->slots[hole].used) {
        return false;
    }
    /* Move back each later member of the run whose home bucket does not lie
     * cyclically in (hole, j]: it would be unreachable across the hole. */
    j = hole;
    for (;;) {
        size_t h;

        j = (j + 1) & set->mask;
        if (!set->slots[j].used) {
            break;
        }
        h = home(set, &set->slots[j].key);
        if (hole <= j ? (hole < h && h <= j) : (hole < h || h <= j)) {
            continue;
        }
        set->slots[hole] = set->slots[j];
        hole = j;
    }
    memset(&set->slots[hole], 0, sizeof set->slots[hole]);
    assert(set->n > 0);
    set->n--;
    return true;
}
