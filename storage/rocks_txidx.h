/* The tx family of the RocksDB store, kept without a memtable
 * (store_rocks.c (K9)). Private to store_rocks.c, the one caller: this
 * header includes <rocksdb/c.h>, which store_rocks.h keeps to itself.
 *
 * A sync turns the records staged since the last one into a run: their
 * bytes as one value of the txlog family, written in the sync's batch, so
 * durable with it, and indexed in memory, so visible after it. Once enough
 * records are unfolded, a thread of the index's own writes them sorted
 * into a table file and ingests it into the tx family; the next sync
 * deletes the runs the file holds. Open loads the runs a crash left.
 *
 * Not thread-safe: one thread calls everything here, as for a store. */

#ifndef SEQ_STORAGE_ROCKS_TXIDX_H
#define SEQ_STORAGE_ROCKS_TXIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rocksdb/c.h>

#include "seq_err.h"
#include "seq_hash.h"

struct rocks_txidx;

struct rocks_txidx_stats {
    uint64_t folds;        /* Table files ingested. */
    uint64_t fold_records; /* Records they held, all told. */
    uint64_t fold_us_last; /* Writing and ingesting the last one. */
    uint64_t fold_us_max;
    uint64_t unfolded; /* Records indexed in memory now. */
};

/* Opens the index of @tx, whose unfolded runs are in @log, both families
 * of @db (borrowed, and open until rocks_txidx_close()). @tx_opts (owned
 * from now on, even on failure) are @tx's options, for the table files,
 * which are made in directory @dir (copied) under a name RocksDB never
 * uses. Loads the runs in @log. Returns 0; SEQ_ENOMEM; SEQ_EIO when
 * RocksDB fails; SEQ_ECORRUPT for a run this code did not write. On
 * failure @errmsg says why. */
int rocks_txidx_open(rocksdb_t *db,
                     rocksdb_column_family_handle_t *tx,
                     rocksdb_column_family_handle_t *log,
                     rocksdb_options_t *tx_opts,
                     const char *dir,
                     struct rocks_txidx **out,
                     char errmsg[SEQ_ERRMSG_LEN]);

/* Waits for a fold under way, then frees everything; staged records are
 * dropped. Accepts NULL. */
void rocks_txidx_close(struct rocks_txidx *t);

/* Stages @key -> @val (@len bytes); 0 or SEQ_ENOMEM, with nothing staged.
 * Reserves all the memory rocks_txidx_synced() will need. */
int rocks_txidx_put(struct rocks_txidx *t,
                    const struct seq_hash *key,
                    const void *val,
                    size_t len);

/* Whether the next sync has something of ours to write: staged records,
 * or the runs of a finished fold to delete. */
bool rocks_txidx_has_writes(struct rocks_txidx *t);

/* Adds to @wb, the batch the sync is about to write: the staged records
 * as one run, and the deletion of the runs a finished fold ingested.
 * Returns 0, or SEQ_EIO when that fold failed (@errmsg says why), with
 * @wb unchanged. */
int rocks_txidx_append(struct rocks_txidx *t,
                       rocksdb_writebatch_t *wb,
                       char errmsg[SEQ_ERRMSG_LEN]);

/* After @wb of the last rocks_txidx_append() was written: the new run
 * becomes visible, the ingested runs are forgotten, and a fold starts
 * if enough records are unfolded. Cannot fail. */
void rocks_txidx_synced(struct rocks_txidx *t);

/* Finds @key among the synced records that are not in the tx family
 * yet: 0 with a view of its value in *val / *len, valid until the next
 * rocks_txidx_synced(), or SEQ_ENOTFOUND (then the family decides). */
int rocks_txidx_get(struct rocks_txidx *t,
                    const struct seq_hash *key,
                    const uint8_t **val,
                    size_t *len);

void rocks_txidx_stats(struct rocks_txidx *t, struct rocks_txidx_stats *out);

/* Test hooks: fold once @n records are unfolded (at least 1); wait for a
 * fold under way to finish (the next sync then deletes its runs). */
void rocks_txidx_set_fold_records(struct rocks_txidx *t, size_t n);
void rocks_txidx_wait_fold(struct rocks_txidx *t);

#endif /* SEQ_STORAGE_ROCKS_TXIDX_H */
