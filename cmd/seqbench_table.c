/* seqbench's books: every transaction of the run in submission order,
 * found by its hash through an open-addressing index (tx hashes are
 * SHA-256, so their first bytes are already a good hash), and the latency
 * percentiles computed from them at the end. */

#include "seqbench.h"

#include <stdlib.h>
#include <string.h>

#include "seq_alloc.h"
#include "seq_err.h"

#define MIN_TXS   1024
#define MIN_SLOTS 4096

void bench_table_init(struct bench_table *t)
{
    memset(t, 0, sizeof *t);
}

void bench_table_close(struct bench_table *t)
{
    seq_free(t->txs);
    seq_free(t->slots);
    memset(t, 0, sizeof *t);
}

static size_t slot_of(const struct seq_hash *h, size_t n_slots)
{
    uint64_t v;

    memcpy(&v, h->bytes, sizeof v);
    return (size_t)(v & (n_slots - 1));
}

static void slots_insert(uint64_t *slots,
                         size_t n_slots,
                         const struct bench_tx *txs,
                         uint64_t seq)
{
    size_t i = slot_of(&txs[seq].hash, n_slots);

    while (slots[i] != 0) {
        i = (i + 1) & (n_slots - 1);
    }
    slots[i] = seq + 1;
}

/* Doubles the index and reinserts everything. */
static int slots_grow(struct bench_table *t)
{
    size_t n_slots = t->n_slots == 0 ? MIN_SLOTS : 2 * t->n_slots;
    uint64_t *slots = seq_calloc(n_slots, sizeof *slots);
    size_t i;

    if (slots == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i < t->n; i++) {
        slots_insert(slots, n_slots, t->txs, i);
    }
    seq_free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return SEQ_OK;
}

int bench_table_add(struct bench_table *t,
                    const struct seq_hash *hash,
                    uint64_t submit_us)
{
    struct bench_tx *tx;

    if (bench_table_find(t, hash) != NULL) {
        return SEQ_EEXIST;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap == 0 ? MIN_TXS : 2 * t->cap;
        struct bench_tx *txs = seq_realloc(t->txs, cap * sizeof *txs);

        if (txs == NULL) {
            return SEQ_ENOMEM;
        }
        t->txs = txs;
        t->cap = cap;
    }
    if (2 * (t->n + 1) > t->n_slots && slots_grow(t) != 0) {
        return SEQ_ENOMEM;
    }
    tx = &t->txs[t->n];
    memset(tx, 0, sizeof *tx);
    tx->hash = *hash;
    tx->submit_us = submit_us;
    tx->state = BENCH_TX_SENT;
    slots_insert(t->slots, t->n_slots, t->txs, t->n);
    t->n++;
    return SEQ_OK;
}

struct bench_tx *bench_table_find(struct bench_table *t,
                                  const struct seq_hash *hash)
{
    size_t i;

    if (t->n_slots == 0) {
        return NULL;
    }
    for (i = slot_of(hash, t->n_slots); t->slots[i] != 0;
         i = (i + 1) & (t->n_slots - 1)) {
        struct bench_tx *tx = &t->txs[t->slots[i] - 1];

        if (seq_hash_eq(&tx->hash, hash)) {
            return tx;
        }
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The @pct-th percentile (nearest rank) of @n sorted values. */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned pct)
{
    size_t rank = (n * pct + 99) / 100;

    return v[rank == 0 ? 0 : rank - 1];
}

int bench_latency_compute(const struct bench_table *t,
                          uint64_t from_us,
                          uint64_t to_us,
                          struct bench_latency *out)
{
    uint64_t *commit;
    uint64_t *deliver;
    size_t n = 0;
    size_t i;

    memset(out, 0, sizeof *out);
    commit = seq_calloc(t->n + 1, sizeof *commit);
    deliver = seq_calloc(t->n + 1, sizeof *deliver);
    if (commit == NULL || deliver == NULL) {
        seq_free(commit);
        seq_free(deliver);
        return SEQ_ENOMEM;
    }
    for (i = 0; i < t->n; i++) {
        const struct bench_tx *tx = &t->txs[i];

        if (tx->commit_us == 0 || tx->submit_us < from_us ||
            tx->submit_us >= to_us) {
            continue;
        }
        commit[n] =
            tx->commit_us > tx->submit_us ? tx->commit_us - tx->submit_us : 0;
        deliver[n] =
            tx->deliver_us > tx->submit_us ? tx->deliver_us - tx->submit_us : 0;
        n++;
    }
    if (n > 0) {
        qsort(commit, n, sizeof *commit, cmp_u64);
        qsort(deliver, n, sizeof *deliver, cmp_u64);
        out->n = n;
        out->commit_p50 = percentile(commit, n, 50);
        out->commit_p99 = percentile(commit, n, 99);
        out->commit_max = commit[n - 1];
        out->deliver_p50 = percentile(deliver, n, 50);
        out->deliver_p99 = percentile(deliver, n, 99);
        out->deliver_max = deliver[n - 1];
    }
    seq_free(commit);
    seq_free(deliver);
    return SEQ_OK;
}
