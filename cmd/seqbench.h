/* What seqbench's files share: the table of every transaction the run
 * submitted (keyed by tx_hash, with its submit, ack, commit and delivery
 * times) and the latency summary computed from it. seqbench.c drives the
 * load and the subscriptions; seqbench_table.c keeps the books. */

#ifndef SEQ_CMD_SEQBENCH_H
#define SEQ_CMD_SEQBENCH_H

#include <stddef.h>
#include <stdint.h>

#include "seq_hash.h"

/* What became of one transaction. Starts at 1: zeroed memory is invalid. */
enum bench_tx_state {
    BENCH_TX_SENT = 1,      /* No ack yet. */
    BENCH_TX_ACKED,         /* Accepted, or already known: must commit. */
    BENCH_TX_REJECTED_FULL, /* The mempool was full. */
    BENCH_TX_REJECTED,      /* Refused for another reason, or an Error. */
};

struct bench_tx {
    struct seq_hash hash;
    uint64_t submit_us;  /* Monotonic clock, as all times here. */
    uint64_t commit_us;  /* Its namespace block arrived; 0: not yet. */
    uint64_t deliver_us; /* That block passed verification. */
    uint8_t state;       /* enum bench_tx_state */
};

/* Every transaction of the run, by sequence number (submission order),
 * with an index by hash. */
struct bench_table {
    struct bench_tx *txs;
    size_t n;
    size_t cap;
    uint64_t *slots; /* Open addressing: sequence number + 1, 0 = empty. */
    size_t n_slots;  /* A power of two, at least twice n. */
};

void bench_table_init(struct bench_table *t);
void bench_table_close(struct bench_table *t);

/* Appends a transaction sent at @submit_us; its sequence number is the
 * old t->n. 0 or SEQ_ENOMEM. A hash already in the table is SEQ_EEXIST
 * (payloads are unique, so that is a bug). */
int bench_table_add(struct bench_table *t,
                    const struct seq_hash *hash,
                    uint64_t submit_us);

/* The transaction with @hash, or NULL. */
struct bench_tx *bench_table_find(struct bench_table *t,
                                  const struct seq_hash *hash);

/* Latencies in microseconds over the transactions submitted in
 * [@from_us, @to_us) that committed. */
struct bench_latency {
    size_t n;
    uint64_t commit_p50, commit_p99, commit_max;
    uint64_t deliver_p50, deliver_p99, deliver_max;
};

/* 0 or SEQ_ENOMEM. */
int bench_latency_compute(const struct bench_table *t,
                          uint64_t from_us,
                          uint64_t to_us,
                          struct bench_latency *out);

#endif /* SEQ_CMD_SEQBENCH_H */
