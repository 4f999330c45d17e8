/* The in-memory store: the test double behind the simulator, and its crash
 * simulator (SQLite test6.c). Every key has two layers: what the last
 * successful sync() made durable ("synced") and what was written since
 * ("staged"). Reads see the staged layer, then the synced one; sync() folds
 * staged into synced; store_mem_crash() throws the staged layer away, exactly
 * as a power cut loses writes that never reached the disk. */

/********************* NOTES ON THE DESIGN OF STORE_MEM ***********************
 *
 * Blocks and QCs live in chained hash tables keyed by block id. Ids are
 * SHA-256 digests, so their first 8 bytes are already uniform and serve as
 * the hash; full ids are compared on lookup. A node holds a pointer to its
 * synced value and one to its staged value (either may be NULL, not both),
 * so a block costs one copy per layer it is in, not a fixed pair of slots.
 * Committed block ids live in an array indexed by height (minus the lowest
 * height seen), with the same two layers per slot; commits are dense, so
 * memory follows the span of committed heights. Meta values are few (the
 * genesis hash, the epoch) and sit in a list. The rollup path's records
 * (batches, namespace entries, commit certificates, tx locations) live in
 * ordered maps: sorted arrays of entries keyed by the same bytes store_rocks
 * uses as keys (ids as they are; namespace and height big-endian), so that
 * scan_batches() and get_cert_from() walk the order a disk store would.
 * A deletion is a staged layer of its own, so a crash forgets it like any
 * other write.
 *
 * (M1) After store_mem_crash(), every read answers exactly as it did right
 *      after the last successful sync(): staged layers are dropped, and a
 *      key with no synced layer disappears.
 * (M2) sync() never allocates, so it cannot fail half-way: each allocation a
 *      write needs (the value's copy, its node, a larger bucket array, more
 *      height slots) is made by the put that stages it. Folding staged into
 *      synced only moves pointers and copies fixed-size cells, which is
 *      what makes sync() atomic.
 * (M3) A put that fails with SEQ_ENOMEM changes nothing a reader can see:
 *      the value is copied before anything is linked, and a bucket array
 *      or height array that grew is invisible.
 * (M4) A table node is on its table's dirty list if and only if it has a
 *      staged value, and a map entry is on its map's if and only if it has a
 *      staged value or a staged deletion, so sync() and crash cost
 *      O(writes since the last sync) (plus moving array slots when a map
 *      entry goes away), not O(store). Staged heights lie in [staged_lo,
 *      staged_hi].
 * (M5) Once a sync() has failed, the store is broken: every store_ops call
 *      but close returns SEQ_EIO (store.h: the caller must stop and never act
 *on state that may not be durable). store_mem_crash() repairs it, as reopening
 *the database after a restart would; the failure switch of
 *      store_mem_fail_syncs() stays as the test set it.
 * (M6) A map entry exists if and only if it has a synced value or is on the
 *      dirty list; it is visible to readers if and only if it has a staged
 *      value, or a synced one and no staged deletion. Invisible entries are
 *      skipped by every read and removed by the next sync() or crash.
 ******************************************************************************/

#include "store_mem.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "seq_alloc.h"
#include "seq_be.h"

#define MEM_BUCKETS_MIN  64
#define MEM_HEIGHTS_MIN  64
#define MEM_META_KEY_MAX 64
#define MEM_MAP_MIN      16
#define MEM_KEY_MAX      32 /* The longest map key: an id. */
#define MEM_HEIGHT_KEY   8  /* A height, big-endian. */
#define MEM_NS_KEY       16 /* Namespace, then height, both big-endian. */

/* One key of a table. */
struct mem_node {
    struct mem_node *next;       /* Bucket chain. */
    struct mem_node *dirty_next; /* Dirty list; meaningful while staged. */
    struct seq_hash key;
    void *synced; /* NULL when the last sync did not cover this key. */
    void *staged; /* NULL when nothing was written since (M4). */
};

/* Block id -> value, with the two layers of (M1). */
struct mem_table {
    struct mem_node **buckets;
    size_t n_buckets; /* 0 or a power of two. */
    size_t n_nodes;
    struct mem_node *dirty;
    void (*free_value)(void *value);
};

/* The committed block id at one height. */
struct mem_height {
    struct seq_hash synced;
    struct seq_hash staged;
    bool has_synced;
    bool has_staged;
};

/* slots[i] is height base + i; n_slots are allocated, all zeroed until set. */
struct mem_heights {
    struct mem_height *slots;
    size_t n_slots;
    hs_height_t base;
    bool any_staged;
    hs_height_t staged_lo; /* Staged heights lie in [lo, hi] (M4). */
    hs_height_t staged_hi;
};

struct mem_bytes {
    uint8_t *data; /* Owned; not NULL when present, even if len is 0. */
    size_t len;
    bool present;
};

struct mem_meta {
    struct mem_meta *next;
    char key[MEM_META_KEY_MAX + 1];
    struct mem_bytes synced;
    struct mem_bytes staged;
};

/* One key of an ordered map, with the two layers of (M1) (M6). */
struct mem_entry {
    struct mem_entry *dirty_next; /* Meaningful while dirty (M4). */
    uint8_t key[MEM_KEY_MAX];     /* key_len bytes of it are used. */
    struct mem_bytes synced;
    struct mem_bytes staged;
    bool deleted; /* A staged deletion; staged is then absent. */
};

/* Byte key -> value, in key order. */
struct mem_map {
    struct mem_entry **entries; /* n of them, sorted by key; cap allocated. */
    size_t n;
    size_t cap;
    size_t key_len;
    struct mem_entry *dirty;
};

/* A single value with its current copy (staged, else synced) and its
 * synced one: sync copies current to synced, a crash the other way round. */
union mem_value {
    struct hs_qc qc;
    struct hs_tc tc;
    struct hs_safety safety;
};

struct mem_cell {
    union mem_value cur;
    union mem_value synced;
    bool has;
    bool has_synced;
    bool dirty;
};

static void cell_put(struct mem_cell *c, const void *value, size_t size)
{
    memcpy(&c->cur, value, size);
    c->has = true;
    c->dirty = true;
}

static int cell_get(const struct mem_cell *c, void *out, size_t size)
{
    if (!c->has) {
        return SEQ_ENOTFOUND;
    }
    memcpy(out, &c->cur, size);
    return SEQ_OK;
}

static void cell_settle(struct mem_cell *c, bool sync)
{
    if (sync && c->dirty) {
        c->synced = c->cur;
        c->has_synced = c->has;
    } else if (!sync) {
        c->cur = c->synced;
        c->has = c->has_synced;
    }
    c->dirty = false;
}

struct store_mem {
    struct store base; /* First, so a struct store * converts back. */
    struct mem_table blocks;
    struct mem_table qcs;
    struct mem_heights heights;
    struct mem_meta *meta;
    struct mem_map batches; /* Batch id -> encoded batch. */
    struct mem_map ns;      /* (namespace, height) -> entries. */
    struct mem_map certs;   /* Height -> commit certificate. */
    struct mem_map txs;     /* Tx hash -> where it landed. */

    /* Single values: the high QC, the high TC and the safety state. */
    struct mem_cell high_qc;
    struct mem_cell high_tc;
    struct mem_cell safety;

    hs_height_t committed;
    hs_height_t synced_committed;
    bool has_committed;
    bool has_synced_committed;

    bool fail_syncs; /* store_mem_fail_syncs(). */
    bool broken;     /* A sync failed (M5). */
};

static const struct store_ops store_mem_ops;

static struct store_mem *mem_of(struct store *s)
{
    assert(s != NULL);
    assert(s->ops == &store_mem_ops);
    return (struct store_mem *)s;
}

/* Record why a call failed and return @rv. */
static int mem_fail(struct store_mem *m, int rv, const char *what)
{
    snprintf(m->base.errmsg, SEQ_ERRMSG_LEN, "store_mem: %s: %s", what,
             seq_strerror(rv));
    return rv;
}

/* (M5): a broken store answers nothing but SEQ_EIO. */
static int mem_usable(struct store_mem *m, const char *what)
{
    if (m->broken) {
        snprintf(m->base.errmsg, SEQ_ERRMSG_LEN,
                 "store_mem: %s: store unusable after a failed sync", what);
        return SEQ_EIO;
    }
    return SEQ_OK;
}

/* ---- Hash table of ids. ---- */

static void table_init(struct mem_table *t, void (*free_value)(void *value))
{
    memset(t, 0, sizeof *t);
    t->free_value = free_value;
}

static size_t table_slot(const struct mem_table *t, const struct seq_hash *key)
{
    uint64_t h;

    memcpy(&h, key->bytes, sizeof h);
    return (size_t)(h & (uint64_t)(t->n_buckets - 1));
}

static struct mem_node *table_find(const struct mem_table *t,
                                   const struct seq_hash *key)
{
    struct mem_node *node;

    if (t->n_buckets == 0) {
        return NULL;
    }
    for (node = t->buckets[table_slot(t, key)]; node != NULL;
         node = node->next) {
        if (seq_hash_eq(&node->key, key)) {
            return node;
        }
    }
    return NULL;
}

/* The value a reader sees: staged, else synced. NULL when absent. */
static const void *table_get(const struct mem_table *t,
                             const struct seq_hash *key)
{
    const struct mem_node *node = table_find(t, key);

    if (node == NULL) {
        return NULL;
    }
    return node->staged != NULL ? node->staged : node->synced;
}

/* Double the bucket array. Nodes move, but no node is allocated or freed,
 * so dirty-list links stay valid. */
static int table_grow(struct mem_table *t)
{
    struct mem_node **old = t->buckets;
    size_t n_old = t->n_buckets;
    size_t n_new = n_old == 0 ? MEM_BUCKETS_MIN : n_old * 2;
    size_t i;

    t->buckets = seq_calloc(n_new, sizeof *t->buckets);
    if (t->buckets == NULL) {
        t->buckets = old;
        return SEQ_ENOMEM;
    }
    t->n_buckets = n_new;
    for (i = 0; i < n_old; i++) {
        struct mem_node *node = old[i];

        while (node != NULL) {
            struct mem_node *next = node->next;
            size_t slot = table_slot(t, &node->key);

            node->next = t->buckets[slot];
            t->buckets[slot] = node;
            node = next;
        }
    }
    seq_free(old);
    return SEQ_OK;
}

/* Stage @value under @key. Takes @value on success only; on failure the
 * table is as it was (M3) and the caller still owns @value. */
static int table_stage(struct mem_table *t,
                       const struct seq_hash *key,
                       void *value)
{
    struct mem_node *node = table_find(t, key);
    size_t slot;
    int rv;

    if (node == NULL) {
        if (t->n_nodes >= t->n_buckets) {
            rv = table_grow(t);
            if (rv != 0) {
                return rv;
            }
        }
        node = seq_malloc(sizeof *node);
        if (node == NULL) {
            return SEQ_ENOMEM;
        }
        memset(node, 0, sizeof *node);
        node->key = *key;
        slot = table_slot(t, key);
        node->next = t->buckets[slot];
        t->buckets[slot] = node;
        t->n_nodes++;
    }
    if (node->staged != NULL) {
        t->free_value(node->staged);
    } else {
        node->dirty_next = t->dirty;
        t->dirty = node;
    }
    node->staged = value;
    return SEQ_OK;
}

/* (M2): moves pointers only. */
static void table_sync(struct mem_table *t)
{
    struct mem_node *node;

    for (node = t->dirty; node != NULL; node = node->dirty_next) {
        if (node->synced != NULL) {
            t->free_value(node->synced);
        }
        node->synced = node->staged;
        node->staged = NULL;
    }
    t->dirty = NULL;
}

static void table_unlink(struct mem_table *t, struct mem_node *node)
{
    struct mem_node **link = &t->buckets[table_slot(t, &node->key)];

    while (*link != node) {
        assert(*link != NULL);
        link = &(*link)->next;
    }
    *link = node->next;
    t->n_nodes--;
}

/* (M1): drop staged values; keys that only had one disappear. */
static void table_crash(struct mem_table *t)
{
    struct mem_node *node = t->dirty;

    while (node != NULL) {
        struct mem_node *next = node->dirty_next;

        t->free_value(node->staged);
        node->staged = NULL;
        if (node->synced == NULL) {
            table_unlink(t, node);
            seq_free(node);
        }
        node = next;
    }
    t->dirty = NULL;
}

static void table_close(struct mem_table *t)
{
    size_t i;

    for (i = 0; i < t->n_buckets; i++) {
        struct mem_node *node = t->buckets[i];

        while (node != NULL) {
            struct mem_node *next = node->next;

            if (node->synced != NULL) {
                t->free_value(node->synced);
            }
            if (node->staged != NULL) {
                t->free_value(node->staged);
            }
            seq_free(node);
            node = next;
        }
    }
    seq_free(t->buckets);
    memset(t, 0, sizeof *t);
}

static void block_value_free(void *value)
{
    hs_block_free(value);
    seq_free(value);
}

static void qc_value_free(void *value)
{
    seq_free(value);
}

/* ---- Committed ids by height. ---- */

/* Make a slot for @height; it may move every slot (M3: harmless). */
static int heights_reserve(struct mem_heights *hs, hs_height_t height)
{
    const uint64_t max_slots = (uint64_t)(SIZE_MAX / sizeof *hs->slots);
    struct mem_height *slots;
    size_t n_new;

    if (hs->slots == NULL) {
        hs->slots = seq_calloc(MEM_HEIGHTS_MIN, sizeof *hs->slots);
        if (hs->slots == NULL) {
            return SEQ_ENOMEM;
        }
        hs->n_slots = MEM_HEIGHTS_MIN;
        hs->base = height;
        return SEQ_OK;
    }
    if (height >= hs->base) {
        uint64_t need = height - hs->base + 1;

        if (need <= hs->n_slots) {
            return SEQ_OK;
        }
        if (need > max_slots) {
            return SEQ_ENOMEM;
        }
        n_new = hs->n_slots * 2;
        if (n_new < (size_t)need || n_new > (size_t)max_slots) {
            n_new = (size_t)need;
        }
        slots = seq_realloc(hs->slots, n_new * sizeof *slots);
        if (slots == NULL) {
            return SEQ_ENOMEM;
        }
        memset(slots + hs->n_slots, 0, (n_new - hs->n_slots) * sizeof *slots);
        hs->slots = slots;
        hs->n_slots = n_new;
        return SEQ_OK;
    }
    /* Below the base: shift everything up. Commits arrive in ascending
     * height, so this happens at most once or twice per store. */
    if (hs->base - height > max_slots - hs->n_slots) {
        return SEQ_ENOMEM;
    }
    n_new = hs->n_slots + (size_t)(hs->base - height);
    slots = seq_calloc(n_new, sizeof *slots);
    if (slots == NULL) {
        return SEQ_ENOMEM;
    }
    memcpy(slots + (n_new - hs->n_slots), hs->slots,
           hs->n_slots * sizeof *slots);
    seq_free(hs->slots);
    hs->slots = slots;
    hs->n_slots = n_new;
    hs->base = height;
    return SEQ_OK;
}

/* The slot of @height, or NULL when none was ever reserved. */
static struct mem_height *heights_slot(const struct mem_heights *hs,
                                       hs_height_t height)
{
    if (hs->slots == NULL || height < hs->base ||
        height - hs->base >= hs->n_slots) {
        return NULL;
    }
    return &hs->slots[(size_t)(height - hs->base)];
}

/* Apply (@sync) or drop (crash) the staged heights (M2, M1). */
static void heights_settle(struct mem_heights *hs, bool sync)
{
    hs_height_t h;

    if (!hs->any_staged) {
        return;
    }
    for (h = hs->staged_lo;; h++) {
        struct mem_height *slot = heights_slot(hs, h);

        assert(slot != NULL);
        if (slot->has_staged && sync) {
            slot->synced = slot->staged;
            slot->has_synced = true;
        }
        slot->has_staged = false;
        if (h == hs->staged_hi) {
            break;
        }
    }
    hs->any_staged = false;
}

/* ---- Meta. ---- */

/* Length of @key, or SIZE_MAX when it is longer than MEM_META_KEY_MAX. */
static size_t meta_key_len(const char *key)
{
    size_t n;

    for (n = 0; n <= MEM_META_KEY_MAX; n++) {
        if (key[n] == '\0') {
            return n;
        }
    }
    return SIZE_MAX;
}

static int meta_key_check(struct store_mem *m, const char *key)
{
    size_t n;

    if (key == NULL) {
        return mem_fail(m, SEQ_EINVAL, "meta key is NULL");
    }
    n = meta_key_len(key);
    if (n == 0 || n == SIZE_MAX) {
        return mem_fail(m, SEQ_EINVAL, "meta key must be 1 to 64 bytes");
    }
    return SEQ_OK;
}

static struct mem_meta *meta_find(const struct store_mem *m, const char *key)
{
    struct mem_meta *e;

    for (e = m->meta; e != NULL; e = e->next) {
        if (strcmp(e->key, key) == 0) {
            return e;
        }
    }
    return NULL;
}

static void bytes_clear(struct mem_bytes *b)
{
    seq_free(b->data);
    memset(b, 0, sizeof *b);
}

static void meta_settle(struct store_mem *m, bool sync)
{
    struct mem_meta **link = &m->meta;

    while (*link != NULL) {
        struct mem_meta *e = *link;

        if (e->staged.present) {
            if (sync) {
                bytes_clear(&e->synced);
                e->synced = e->staged;
                memset(&e->staged, 0, sizeof e->staged);
            } else {
                bytes_clear(&e->staged);
            }
        }
        if (!e->synced.present) {
            *link = e->next;
            seq_free(e);
        } else {
            link = &e->next;
        }
    }
}

/* ---- Ordered maps (M6). ---- */

static void map_init(struct mem_map *map, size_t key_len)
{
    assert(key_len <= MEM_KEY_MAX);
    memset(map, 0, sizeof *map);
    map->key_len = key_len;
}

/* Whether @key is in @map; *idx is its slot, or where it would go. */
static bool map_find(const struct mem_map *map, const uint8_t *key, size_t *idx)
{
    size_t lo = 0;
    size_t hi = map->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(map->entries[mid]->key, key, map->key_len);

        if (c == 0) {
            *idx = mid;
            return true;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *idx = lo;
    return false;
}

/* What a reader sees of @e: staged, else synced unless deleted; NULL when
 * the entry is invisible (M6). */
static const struct mem_bytes *entry_value(const struct mem_entry *e)
{
    if (e->staged.present) {
        return &e->staged;
    }
    if (e->deleted || !e->synced.present) {
        return NULL;
    }
    return &e->synced;
}

/* The first visible entry at or after slot @idx, or NULL. */
static const struct mem_entry *map_visible_from(const struct mem_map *map,
                                                size_t idx)
{
    for (; idx < map->n; idx++) {
        if (entry_value(map->entries[idx]) != NULL) {
            return map->entries[idx];
        }
    }
    return NULL;
}

/* Put @e on the dirty list unless it is there already (M4). */
static void entry_mark_dirty(struct mem_map *map, struct mem_entry *e)
{
    if (!e->staged.present && !e->deleted) {
        e->dirty_next = map->dirty;
        map->dirty = e;
    }
}

/* Stage @key -> @data (@len bytes). Takes @data on success only; on
 * failure the map is as it was (M3) and the caller still owns @data. */
static int map_stage(struct mem_map *map,
                     const uint8_t *key,
                     uint8_t *data,
                     size_t len)
{
    struct mem_entry *e;
    size_t idx;

    if (map_find(map, key, &idx)) {
        e = map->entries[idx];
    } else {
        if (map->n == map->cap) {
            size_t cap = map->cap == 0 ? MEM_MAP_MIN : map->cap * 2;
            struct mem_entry **entries =
                seq_realloc(map->entries, cap * sizeof *entries);

            if (entries == NULL) {
                return SEQ_ENOMEM;
            }
            map->entries = entries;
            map->cap = cap;
        }
        e = seq_malloc(sizeof *e);
        if (e == NULL) {
            return SEQ_ENOMEM;
        }
        memset(e, 0, sizeof *e);
        memcpy(e->key, key, map->key_len);
        memmove(&map->entries[idx + 1], &map->entries[idx],
                (map->n - idx) * sizeof *map->entries);
        map->entries[idx] = e;
        map->n++;
    }
    entry_mark_dirty(map, e);
    bytes_clear(&e->staged);
    e->staged.data = data;
    e->staged.len = len;
    e->staged.present = true;
    e->deleted = false;
    return SEQ_OK;
}

/* Stage the deletion of @key. A key the map has never heard of needs
 * none: it is absent before and after any sync or crash. */
static void map_stage_delete(struct mem_map *map, const uint8_t *key)
{
    struct mem_entry *e;
    size_t idx;

    if (!map_find(map, key, &idx)) {
        return;
    }
    e = map->entries[idx];
    entry_mark_dirty(map, e);
    bytes_clear(&e->staged);
    e->deleted = true;
}

/* Apply (@sync) or drop (crash) every staged write and deletion (M2, M1);
 * entries left with no synced value go (M6). Frees, never allocates. */
static void map_settle(struct mem_map *map, bool sync)
{
    struct mem_entry *e = map->dirty;

    while (e != NULL) {
        struct mem_entry *next = e->dirty_next;
        size_t idx;

        if (sync && (e->deleted || e->staged.present)) {
            bytes_clear(&e->synced);
            e->synced = e->staged;
            memset(&e->staged, 0, sizeof e->staged);
        }
        bytes_clear(&e->staged);
        e->deleted = false;
        if (!e->synced.present) {
            bool found = map_find(map, e->key, &idx);

            assert(found);
            (void)found;
            memmove(&map->entries[idx], &map->entries[idx + 1],
                    (map->n - idx - 1) * sizeof *map->entries);
            map->n--;
            seq_free(e);
        }
        e = next;
    }
    map->dirty = NULL;
}

static void map_close(struct mem_map *map)
{
    size_t i;

    for (i = 0; i < map->n; i++) {
        bytes_clear(&map->entries[i]->synced);
        bytes_clear(&map->entries[i]->staged);
        seq_free(map->entries[i]);
    }
    seq_free(map->entries);
    memset(map, 0, sizeof *map);
}

/* ---- The store operations. ---- */

static int mem_put_block(struct store *s, const struct hs_block *block)
{
    struct store_mem *m = mem_of(s);
    struct hs_block *copy;
    int rv;

    assert(block != NULL);
    rv = mem_usable(m, "put_block");
    if (rv != 0) {
        return rv;
    }
    copy = seq_malloc(sizeof *copy);
    if (copy == NULL) {
        rv = SEQ_ENOMEM;
        goto err;
    }
    rv = hs_block_copy(copy, block);
    if (rv != 0) {
        goto err_after_alloc;
    }
    rv = table_stage(&m->blocks, &block->id, copy);
    if (rv != 0) {
        goto err_after_copy;
    }
    return SEQ_OK;

err_after_copy:
    hs_block_free(copy);
err_after_alloc:
    seq_free(copy);
err:
    return mem_fail(m, rv, "put_block");
}

static int mem_get_block(struct store *s,
                         const struct seq_hash *id,
                         struct hs_block *out)
{
    struct store_mem *m = mem_of(s);
    const struct hs_block *stored;
    struct hs_block copy;
    int rv;

    assert(id != NULL && out != NULL);
    rv = mem_usable(m, "get_block");
    if (rv != 0) {
        return rv;
    }
    stored = table_get(&m->blocks, id);
    if (stored == NULL) {
        return SEQ_ENOTFOUND;
    }
    /* Copy aside first so that *out is untouched on failure. */
    rv = hs_block_copy(&copy, stored);
    if (rv != 0) {
        return mem_fail(m, rv, "get_block");
    }
    *out = copy;
    return SEQ_OK;
}

static int mem_put_qc(struct store *s, const struct hs_qc *qc)
{
    struct store_mem *m = mem_of(s);
    struct hs_qc *copy;
    int rv;

    assert(qc != NULL);
    rv = mem_usable(m, "put_qc");
    if (rv != 0) {
        return rv;
    }
    copy = seq_malloc(sizeof *copy);
    if (copy == NULL) {
        rv = SEQ_ENOMEM;
        goto err;
    }
    *copy = *qc;
    rv = table_stage(&m->qcs, &qc->block_id, copy);
    if (rv != 0) {
        goto err_after_alloc;
    }
    return SEQ_OK;

err_after_alloc:
    seq_free(copy);
err:
    return mem_fail(m, rv, "put_qc");
}

static int mem_get_qc(struct store *s,
                      const struct seq_hash *block_id,
                      struct hs_qc *out)
{
    struct store_mem *m = mem_of(s);
    const struct hs_qc *stored;
    int rv;

    assert(block_id != NULL && out != NULL);
    rv = mem_usable(m, "get_qc");
    if (rv != 0) {
        return rv;
    }
    stored = table_get(&m->qcs, block_id);
    if (stored == NULL) {
        return SEQ_ENOTFOUND;
    }
    *out = *stored;
    return SEQ_OK;
}

static int mem_put_high_qc(struct store *s, const struct hs_qc *qc)
{
    struct store_mem *m = mem_of(s);
    int rv;

    assert(qc != NULL);
    rv = mem_usable(m, "put_high_qc");
    if (rv == 0) {
        cell_put(&m->high_qc, qc, sizeof *qc);
    }
    return rv;
}

static int mem_get_high_qc(struct store *s, struct hs_qc *out)
{
    struct store_mem *m = mem_of(s);
    int rv;

    assert(out != NULL);
    rv = mem_usable(m, "get_high_qc");
    if (rv == 0) {
        rv = cell_get(&m->high_qc, out, sizeof *out);
    }
    return rv;
}

static int mem_put_high_tc(struct store *s, const struct hs_tc *tc)
{
    struct store_mem *m = mem_of(s);
    int rv;

    assert(tc != NULL);
    rv = mem_usable(m, "put_high_tc");
    if (rv == 0) {
        cell_put(&m->high_tc, tc, sizeof *tc);
    }
    return rv;
}

static int mem_get_high_tc(struct store *s, struct hs_tc *out)
{
    struct store_mem *m = mem_of(s);
    int rv;

    assert(out != NULL);
    rv = mem_usable(m, "get_high_tc");
    if (rv == 0) {
        rv = cell_get(&m->high_tc, out, sizeof *out);
    }
    return rv;
}

static int mem_put_commit(struct store *s,
                          hs_height_t height,
                          const struct seq_hash *block_id)
{
    struct store_mem *m = mem_of(s);
    struct mem_heights *hs = &m->heights;
    struct mem_height *slot;
    int rv;

    assert(block_id != NULL);
    rv = mem_usable(m, "put_commit");
    if (rv != 0) {
        return rv;
    }
    rv = heights_reserve(hs, height);
    if (rv != 0) {
        return mem_fail(m, rv, "put_commit");
    }
    slot = heights_slot(hs, height);
    assert(slot != NULL);
    slot->staged = *block_id;
    slot->has_staged = true;
    if (!hs->any_staged) {
        hs->any_staged = true;
        hs->staged_lo = height;
        hs->staged_hi = height;
    } else if (height < hs->staged_lo) {
        hs->staged_lo = height;
    } else if (height > hs->staged_hi) {
        hs->staged_hi = height;
    }
    if (!m->has_committed || height > m->committed) {
        m->committed = height;
        m->has_committed = true;
    }
    return SEQ_OK;
}

static int mem_get_commit(struct store *s,
                          hs_height_t height,
                          struct seq_hash *block_id)
{
    struct store_mem *m = mem_of(s);
    const struct mem_height *slot;
    int rv;

    assert(block_id != NULL);
    rv = mem_usable(m, "get_commit");
    if (rv != 0) {
        return rv;
    }
    slot = heights_slot(&m->heights, height);
    if (slot == NULL || !(slot->has_staged || slot->has_synced)) {
        return SEQ_ENOTFOUND;
    }
    *block_id = slot->has_staged ? slot->staged : slot->synced;
    return SEQ_OK;
}

static int mem_committed_height(struct store *s, hs_height_t *out)
{
    struct store_mem *m = mem_of(s);
    int rv;

    assert(out != NULL);
    rv = mem_usable(m, "committed_height");
    if (rv != 0) {
        return rv;
    }
    if (!m->has_committed) {
        return SEQ_ENOTFOUND;
    }
    *out = m->committed;
    return SEQ_OK;
}

static int mem_put_safety(struct store *s, const struct hs_safety *state)
{
    struct store_mem *m = mem_of(s);
    int rv;

    assert(state != NULL);
    rv = mem_usable(m, "put_safety");
    if (rv == 0) {
        cell_put(&m->safety, state, sizeof *state);
    }
    return rv;
}

static int mem_get_safety(struct store *s, struct hs_safety *out)
{
    struct store_mem *m = mem_of(s);
    int rv;

    assert(out != NULL);
    rv = mem_usable(m, "get_safety");
    if (rv == 0) {
        rv = cell_get(&m->safety, out, sizeof *out);
    }
    return rv;
}

static int mem_put_meta(struct store *s,
                        const char *key,
                        const void *val,
                        size_t len)
{
    struct store_mem *m = mem_of(s);
    struct mem_meta *e;
    uint8_t *data;
    bool created = false;
    int rv;

    rv = mem_usable(m, "put_meta");
    if (rv != 0) {
        return rv;
    }
    rv = meta_key_check(m, key);
    if (rv != 0) {
        return rv;
    }
    if (val == NULL && len > 0) {
        return mem_fail(m, SEQ_EINVAL, "put_meta: NULL value");
    }
    data = seq_malloc(len); /* Never NULL on success, even for 0 bytes. */
    if (data == NULL) {
        rv = SEQ_ENOMEM;
        goto err;
    }
    if (len > 0) {
        memcpy(data, val, len);
    }
    e = meta_find(m, key);
    if (e == NULL) {
        e = seq_malloc(sizeof *e);
        if (e == NULL) {
            rv = SEQ_ENOMEM;
            goto err_after_data;
        }
        memset(e, 0, sizeof *e);
        strcpy(e->key, key); /* Length checked by meta_key_check(). */
        created = true;
    }
    bytes_clear(&e->staged);
    e->staged.data = data;
    e->staged.len = len;
    e->staged.present = true;
    if (created) {
        e->next = m->meta;
        m->meta = e;
    }
    return SEQ_OK;

err_after_data:
    seq_free(data);
err:
    return mem_fail(m, rv, "put_meta");
}

static int mem_get_meta(struct store *s,
                        const char *key,
                        void **val,
                        size_t *len)
{
    struct store_mem *m = mem_of(s);
    const struct mem_meta *e;
    const struct mem_bytes *b;
    uint8_t *copy;
    int rv;

    assert(val != NULL && len != NULL);
    rv = mem_usable(m, "get_meta");
    if (rv != 0) {
        return rv;
    }
    rv = meta_key_check(m, key);
    if (rv != 0) {
        return rv;
    }
    e = meta_find(m, key);
    if (e == NULL) {
        return SEQ_ENOTFOUND;
    }
    b = e->staged.present ? &e->staged : &e->synced;
    assert(b->present);
    copy = seq_malloc(b->len);
    if (copy == NULL) {
        return mem_fail(m, SEQ_ENOMEM, "get_meta");
    }
    if (b->len > 0) {
        memcpy(copy, b->data, b->len);
    }
    *val = copy;
    *len = b->len;
    return SEQ_OK;
}

/* ---- The rollup path (M6). ---- */

/* Stage a copy of @val under @key in @map, for @op. */
static int mem_put_bytes(struct store_mem *m,
                         const char *op,
                         struct mem_map *map,
                         const uint8_t *key,
                         const void *val,
                         size_t len)
{
    uint8_t *data;
    int rv;

    rv = mem_usable(m, op);
    if (rv != 0) {
        return rv;
    }
    if (val == NULL && len > 0) {
        return mem_fail(m, SEQ_EINVAL, op);
    }
    data = seq_malloc(len); /* Never NULL on success (mem_bytes). */
    if (data == NULL) {
        return mem_fail(m, SEQ_ENOMEM, op);
    }
    if (len > 0) {
        memcpy(data, val, len);
    }
    rv = map_stage(map, key, data, len);
    if (rv != 0) {
        seq_free(data);
        return mem_fail(m, rv, op);
    }
    return SEQ_OK;
}

/* The caller's copy of @b: NULL with 0 for an empty value (store.h). */
static int bytes_copy_out(struct store_mem *m,
                          const char *op,
                          const struct mem_bytes *b,
                          void **val,
                          size_t *len)
{
    uint8_t *copy = NULL;

    if (b->len > 0) {
        copy = seq_malloc(b->len);
        if (copy == NULL) {
            return mem_fail(m, SEQ_ENOMEM, op);
        }
        memcpy(copy, b->data, b->len);
    }
    *val = copy;
    *len = b->len;
    return SEQ_OK;
}

/* Read the value under @key in @map, for @op. */
static int mem_get_bytes(struct store_mem *m,
                         const char *op,
                         const struct mem_map *map,
                         const uint8_t *key,
                         void **val,
                         size_t *len)
{
    const struct mem_bytes *b = NULL;
    size_t idx;
    int rv;

    assert(val != NULL && len != NULL);
    rv = mem_usable(m, op);
    if (rv != 0) {
        return rv;
    }
    if (map_find(map, key, &idx)) {
        b = entry_value(map->entries[idx]);
    }
    if (b == NULL) {
        return SEQ_ENOTFOUND;
    }
    return bytes_copy_out(m, op, b, val, len);
}

static int mem_put_batch(struct store *s,
                         const struct seq_hash *id,
                         const void *val,
                         size_t len)
{
    struct store_mem *m = mem_of(s);

    assert(id != NULL);
    return mem_put_bytes(m, "put_batch", &m->batches, id->bytes, val, len);
}

static int mem_get_batch(struct store *s,
                         const struct seq_hash *id,
                         void **val,
                         size_t *len)
{
    struct store_mem *m = mem_of(s);

    assert(id != NULL);
    return mem_get_bytes(m, "get_batch", &m->batches, id->bytes, val, len);
}

static int mem_del_batch(struct store *s, const struct seq_hash *id)
{
    struct store_mem *m = mem_of(s);
    int rv;

    assert(id != NULL);
    rv = mem_usable(m, "del_batch");
    if (rv == 0) {
        map_stage_delete(&m->batches, id->bytes);
    }
    return rv;
}

/* Each step looks the next key up afresh rather than keep a slot, so that
 * the walk stays in order even if @fn writes to the store. */
static int mem_scan_batches(struct store *s,
                            int (*fn)(void *arg,
                                      const struct seq_hash *id,
                                      const void *val,
                                      size_t len),
                            void *arg)
{
    struct store_mem *m = mem_of(s);
    const struct mem_entry *e;
    struct seq_hash id;
    size_t idx = 0;
    int rv;

    assert(fn != NULL);
    rv = mem_usable(m, "scan_batches");
    if (rv != 0) {
        return rv;
    }
    for (e = map_visible_from(&m->batches, 0); e != NULL;
         e = map_visible_from(&m->batches, idx)) {
        const struct mem_bytes *b = entry_value(e);

        memcpy(id.bytes, e->key, SEQ_HASH_LEN);
        rv = fn(arg, &id, b->len > 0 ? b->data : NULL, b->len);
        if (rv != 0) {
            return rv;
        }
        if (map_find(&m->batches, id.bytes, &idx)) {
            idx++;
        }
    }
    return SEQ_OK;
}

static void ns_key(uint8_t key[MEM_NS_KEY], uint64_t ns, hs_height_t height)
{
    seq_be64_put(key, ns);
    seq_be64_put(key + 8, height);
}

static int mem_put_ns(struct store *s,
                      uint64_t ns,
                      hs_height_t height,
                      const void *val,
                      size_t len)
{
    struct store_mem *m = mem_of(s);
    uint8_t key[MEM_NS_KEY];

    ns_key(key, ns, height);
    return mem_put_bytes(m, "put_ns", &m->ns, key, val, len);
}

static int mem_get_ns(struct store *s,
                      uint64_t ns,
                      hs_height_t height,
                      void **val,
                      size_t *len)
{
    struct store_mem *m = mem_of(s);
    uint8_t key[MEM_NS_KEY];

    ns_key(key, ns, height);
    return mem_get_bytes(m, "get_ns", &m->ns, key, val, len);
}

static int mem_put_cert(struct store *s,
                        hs_height_t height,
                        const void *val,
                        size_t len)
{
    struct store_mem *m = mem_of(s);
    uint8_t key[MEM_HEIGHT_KEY];

    seq_be64_put(key, height);
    return mem_put_bytes(m, "put_cert", &m->certs, key, val, len);
}

static int mem_get_cert_from(struct store *s,
                             hs_height_t height,
                             hs_height_t *found,
                             void **val,
                             size_t *len)
{
    struct store_mem *m = mem_of(s);
    const struct mem_entry *e;
    uint8_t key[MEM_HEIGHT_KEY];
    void *copy = NULL;
    size_t copy_len;
    size_t idx;
    int rv;

    assert(found != NULL && val != NULL && len != NULL);
    rv = mem_usable(m, "get_cert_from");
    if (rv != 0) {
        return rv;
    }
    seq_be64_put(key, height);
    (void)map_find(&m->certs, key, &idx);
    e = map_visible_from(&m->certs, idx);
    if (e == NULL) {
        return SEQ_ENOTFOUND;
    }
    rv = bytes_copy_out(m, "get_cert_from", entry_value(e), &copy, &copy_len);
    if (rv != 0) {
        return rv;
    }
    *found = seq_be64_get(e->key);
    *val = copy;
    *len = copy_len;
    return SEQ_OK;
}

static int mem_put_tx(struct store *s,
                      const struct seq_hash *tx_hash,
                      const void *val,
                      size_t len)
{
    struct store_mem *m = mem_of(s);

    assert(tx_hash != NULL);
    return mem_put_bytes(m, "put_tx", &m->txs, tx_hash->bytes, val, len);
}

static int mem_get_tx(struct store *s,
                      const struct seq_hash *tx_hash,
                      void **val,
                      size_t *len)
{
    struct store_mem *m = mem_of(s);

    const struct mem_entry *e;
    size_t idx;
    int rv;

    assert(tx_hash != NULL && val != NULL && len != NULL);
    rv = mem_usable(m, "get_tx");
    if (rv != 0) {
        return rv;
    }
    /* The synced layer alone: a staged tx record is not read before the
     * sync that writes it (store.h). */
    if (!map_find(&m->txs, tx_hash->bytes, &idx)) {
        return SEQ_ENOTFOUND;
    }
    e = m->txs.entries[idx];
    if (!e->synced.present) {
        return SEQ_ENOTFOUND;
    }
    return bytes_copy_out(m, "get_tx", &e->synced, val, len);
}

/* Fold every staged write into the synced layer (M2). */
static int mem_sync(struct store *s)
{
    struct store_mem *m = mem_of(s);
    int rv;

    rv = mem_usable(m, "sync");
    if (rv != 0) {
        return rv;
    }
    if (m->fail_syncs) {
        m->broken = true;
        snprintf(m->base.errmsg, SEQ_ERRMSG_LEN,
                 "store_mem: sync: simulated disk failure");
        return SEQ_EIO;
    }
    table_sync(&m->blocks);
    table_sync(&m->qcs);
    heights_settle(&m->heights, true);
    meta_settle(m, true);
    map_settle(&m->batches, true);
    map_settle(&m->ns, true);
    map_settle(&m->certs, true);
    map_settle(&m->txs, true);
    cell_settle(&m->high_qc, true);
    cell_settle(&m->high_tc, true);
    cell_settle(&m->safety, true);
    m->synced_committed = m->committed;
    m->has_synced_committed = m->has_committed;
    return SEQ_OK;
}

static void mem_close(struct store *s)
{
    struct store_mem *m = mem_of(s);
    struct mem_meta *e = m->meta;

    table_close(&m->blocks);
    table_close(&m->qcs);
    seq_free(m->heights.slots);
    map_close(&m->batches);
    map_close(&m->ns);
    map_close(&m->certs);
    map_close(&m->txs);
    while (e != NULL) {
        struct mem_meta *next = e->next;

        bytes_clear(&e->synced);
        bytes_clear(&e->staged);
        seq_free(e);
        e = next;
    }
    seq_free(m);
}

static const struct store_ops store_mem_ops = {
    .put_block = mem_put_block,
    .get_block = mem_get_block,
    .put_qc = mem_put_qc,
    .get_qc = mem_get_qc,
    .put_high_qc = mem_put_high_qc,
    .get_high_qc = mem_get_high_qc,
    .put_high_tc = mem_put_high_tc,
    .get_high_tc = mem_get_high_tc,
    .put_commit = mem_put_commit,
    .get_commit = mem_get_commit,
    .committed_height = mem_committed_height,
    .put_safety = mem_put_safety,
    .get_safety = mem_get_safety,
    .put_meta = mem_put_meta,
    .get_meta = mem_get_meta,
    .put_batch = mem_put_batch,
    .get_batch = mem_get_batch,
    .del_batch = mem_del_batch,
    .scan_batches = mem_scan_batches,
    .put_ns = mem_put_ns,
    .get_ns = mem_get_ns,
    .put_cert = mem_put_cert,
    .get_cert_from = mem_get_cert_from,
    .put_tx = mem_put_tx,
    .get_tx = mem_get_tx,
    .sync = mem_sync,
    .close = mem_close,
};

int store_mem_open(struct store **out)
{
    struct store_mem *m;

    assert(out != NULL);
    m = seq_malloc(sizeof *m);
    if (m == NULL) {
        return SEQ_ENOMEM;
    }
    memset(m, 0, sizeof *m);
    m->base.ops = &store_mem_ops;
    table_init(&m->blocks, block_value_free);
    table_init(&m->qcs, qc_value_free);
    map_init(&m->batches, SEQ_HASH_LEN);
    map_init(&m->ns, MEM_NS_KEY);
    map_init(&m->certs, MEM_HEIGHT_KEY);
    map_init(&m->txs, SEQ_HASH_LEN);
    *out = &m->base;
    return SEQ_OK;
}

void store_mem_crash(struct store *s)
{
    struct store_mem *m = mem_of(s);

    table_crash(&m->blocks);
    table_crash(&m->qcs);
    heights_settle(&m->heights, false);
    meta_settle(m, false);
    map_settle(&m->batches, false);
    map_settle(&m->ns, false);
    map_settle(&m->certs, false);
    map_settle(&m->txs, false);
    cell_settle(&m->high_qc, false);
    cell_settle(&m->high_tc, false);
    cell_settle(&m->safety, false);
    m->committed = m->synced_committed;
    m->has_committed = m->has_synced_committed;
    m->broken = false; /* (M5): as if reopened. */
    m->base.errmsg[0] = '\0';
}

int store_mem_synced_safety(struct store *s, struct hs_safety *out)
{
    struct store_mem *m = mem_of(s);

    assert(out != NULL);
    if (!m->safety.has_synced) {
        return SEQ_ENOTFOUND;
    }
    *out = m->safety.synced.safety;
    return SEQ_OK;
}

void store_mem_fail_syncs(struct store *s, bool fail)
{
    mem_of(s)->fail_syncs = fail;
}
