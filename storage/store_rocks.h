/* The RocksDB store: the store interface (store.h) on one RocksDB database
 * per node directory, with one column family per kind of record (DESIGN §6).
 * Every put_* is staged in memory in one indexed write batch that reads see
 * at once; store_sync() writes that batch with one fsync, so the driver pays
 * one disk flush per loop turn however much the turn wrote (group commit).
 * A crash, a kill -9 or a store_close() without a sync loses exactly what
 * was staged since the last successful sync, and nothing else. Every
 * RocksDB detail (options, column families, error strings) stays in
 * store_rocks.c; callers see SEQ_E* codes and the store's errmsg.
 *
 * One thread at a time per store, like every struct store. A database
 * directory is held by one store at a time: RocksDB locks it, and a second
 * store_rocks_open() of it, from this process or another, fails. */

#ifndef SEQ_STORAGE_STORE_ROCKS_H
#define SEQ_STORAGE_STORE_ROCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seq_err.h"
#include "store.h"

/* Open the database in directory @path (borrowed), creating the directory
 * (but not its parent), the database and any missing column family when
 * absent. On success *out owns the store: close it with store_close(),
 * which releases the directory and DISCARDS anything staged since the last
 * store_sync() (sync first to keep it). Returns 0; SEQ_ENOMEM; SEQ_EIO when
 * RocksDB refuses (the directory is locked by another store, is not a
 * database, cannot be created or read); SEQ_ECORRUPT when a value the
 * store reads at open does not decode. On failure *out is untouched and
 * @errmsg says why, e.g. "store_rocks: open /x/data: IO error: lock hold
 * by current process, ...". */
int store_rocks_open(const char *path,
                     struct store **out,
                     char errmsg[SEQ_ERRMSG_LEN]);

/* What the store has cost so far, for metrics ("storage write latency",
 * DESIGN §8): a sync is one write of the staged batch with one fsync, so
 * these numbers are the time the driver spends on the disk per loop turn. */
struct store_rocks_stats {
    uint64_t syncs;            /* store_sync() calls that wrote a batch. */
    uint64_t empty_syncs;      /* store_sync() calls with nothing staged. */
    uint64_t sync_us_last;     /* Duration of the last batch write. */
    uint64_t sync_us_max;      /* Slowest batch write so far. */
    uint64_t sync_us_total;    /* All batch writes; mean = total / syncs. */
    uint64_t sync_bytes_last;  /* Size of the last batch written. */
    uint64_t sync_bytes_total; /* All batches written. */
    uint64_t tx_folds;         /* Tx index table files ingested (K9), */
    uint64_t tx_fold_records;  /* the records they held, */
    uint64_t tx_fold_us_max;   /* the slowest to write and ingest, */
    uint64_t tx_unfolded;      /* and the records not folded yet. */
    const char *compression;   /* Static: "lz4+zstd", or "none" when this
                                  RocksDB build has neither. */
};

/* Fill @out with the counters of @s, which must come from
 * store_rocks_open(). Counters start at 0 when the store is opened. Works
 * on a store that a failed sync left unusable. Returns 0. */
int store_rocks_stats(struct store *s, struct store_rocks_stats *out);

/* Whether anything is staged that the next store_sync() would write: the
 * node counts the turns that leave writes for a later sync with it. */
bool store_rocks_staged(struct store *s);

/* Test hook: while @fail is true, every store_sync() that has something to
 * write hands RocksDB a write it refuses (a synced write with the WAL
 * disabled), so the refusal travels the same path as a failing disk:
 * SEQ_EIO with RocksDB's message in errmsg, and a store that answers
 * nothing but SEQ_EIO from then on (store.h). Nothing reaches the disk. */
void store_rocks_fail_syncs(struct store *s, bool fail);

/* Test hooks for the tx index (store_rocks.c (K9)): fold once @n records
 * (at least 1) are unfolded, instead of 65,536; and wait until a fold
 * under way has ingested its table file (the next store_sync() that writes
 * then deletes the runs the file holds). */
void store_rocks_set_fold_records(struct store *s, size_t n);
void store_rocks_wait_fold(struct store *s);

#endif /* SEQ_STORAGE_STORE_ROCKS_H */
