/* The store interface: everything the rest of the system knows about
 * persistence. store_mem.c implements it in memory (tests, the simulator,
 * crash simulation); store_rocks.c on RocksDB (DESIGN §6).
 *
 * Contract, the same for every implementation (tests/unit/test_store.c runs
 * it against each):
 * - put_* stage a write; reads see staged writes at once.
 * - sync() makes everything staged durable, atomically: after a crash, the
 *   store holds what the last successful sync() covered, or, if a later
 *   sync() failed, possibly all of that failed batch too; never a part of
 *   a batch.
 * - A failed sync() leaves the store unusable; the caller must stop.
 * - close() is not a sync: whatever is staged is discarded.
 * - get_* may also fail with SEQ_ECORRUPT (a stored value does not
 *   decode), SEQ_EIO or SEQ_ENOMEM, with errmsg set; SEQ_ENOTFOUND leaves
 *   errmsg alone.
 * - The store trusts a block's id as given: it cannot recompute it (it
 *   has no chain id). Callers verify before they store.
 * - One thread at a time per store.
 * - get_* of an absent key return SEQ_ENOTFOUND; on any error *out is
 *   left untouched.
 * - The committed height is the highest height ever put_commit'ed.
 * - Blocks read back are deep copies the caller frees (hs_block_free). */

#ifndef SEQ_STORAGE_STORE_H
#define SEQ_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "hs_types.h"
#include "seq_err.h"

#define STORE_META_KEY_MAX 64

struct store;

struct store_ops {
    int (*put_block)(struct store *s, const struct hs_block *block);
    int (*get_block)(struct store *s,
                     const struct seq_hash *id,
                     struct hs_block *out);
    /* QC certifying block qc->block_id. */
    int (*put_qc)(struct store *s, const struct hs_qc *qc);
    int (*get_qc)(struct store *s,
                  const struct seq_hash *block_id,
                  struct hs_qc *out);
    /* The highest QC, for recovery. */
    int (*put_high_qc)(struct store *s, const struct hs_qc *qc);
    int (*get_high_qc)(struct store *s, struct hs_qc *out);
    /* The highest TC, for recovery. */
    int (*put_high_tc)(struct store *s, const struct hs_tc *tc);
    int (*get_high_tc)(struct store *s, struct hs_tc *out);
    /* Height @height committed @block_id; raises the committed height. */
    int (*put_commit)(struct store *s,
                      hs_height_t height,
                      const struct seq_hash *block_id);
    int (*get_commit)(struct store *s,
                      hs_height_t height,
                      struct seq_hash *block_id);
    /* SEQ_ENOTFOUND when nothing has been committed. */
    int (*committed_height)(struct store *s, hs_height_t *out);
    int (*put_safety)(struct store *s, const struct hs_safety *state);
    int (*get_safety)(struct store *s, struct hs_safety *out);
    /* Small opaque values by name (genesis hash, epoch, ...): keys are 1
     * to STORE_META_KEY_MAX bytes, else SEQ_EINVAL. get_meta returns a
     * seq_malloc'ed copy in *val that the caller frees. */
    int (*put_meta)(struct store *s,
                    const char *key,
                    const void *val,
                    size_t len);
    int (*get_meta)(struct store *s, const char *key, void **val, size_t *len);

    /* ---- The rollup path (issue 4). Values are opaque bytes the caller
     * encodes; gets return a seq_malloc'ed copy in *val (caller frees;
     * NULL with *len 0 for an empty value). */

    /* Dissemination batches (`batches`): id -> encoded batch. seqd keeps
     * every batch a committed block names for good: a namespace's entries
     * are references into them (net_rollup.c (R5)), so deleting one would
     * lose committed transactions. */
    int (*put_batch)(struct store *s,
                     const struct seq_hash *id,
                     const void *val,
                     size_t len);
    int (*get_batch)(struct store *s,
                     const struct seq_hash *id,
                     void **val,
                     size_t *len);
    /* Deleting an absent batch is not an error. */
    int (*del_batch)(struct store *s, const struct seq_hash *id);
    /* Calls @fn for every batch in ascending id order, staged writes
     * included, until it returns non-zero (which scan_batches returns).
     * The views passed to @fn are valid for the call only. */
    int (*scan_batches)(struct store *s,
                        int (*fn)(void *arg,
                                  const struct seq_hash *id,
                                  const void *val,
                                  size_t len),
                        void *arg);
    /* A committed block's entries of one namespace (`ns`), keyed by
     * (namespace, height), both big-endian, so one namespace's heights
     * are adjacent and in order. Written only for namespaces present in
     * the block. */
    int (*put_ns)(struct store *s,
                  uint64_t ns,
                  hs_height_t height,
                  const void *val,
                  size_t len);
    int (*get_ns)(struct store *s,
                  uint64_t ns,
                  hs_height_t height,
                  void **val,
                  size_t *len);
    /* Commit certificates (`cert`): keyed by the height of the block a
     * 2-chain committed directly. get_cert_from finds the lowest key >=
     * @height and sets *found to it; SEQ_ENOTFOUND if none. */
    int (*put_cert)(struct store *s,
                    hs_height_t height,
                    const void *val,
                    size_t len);
    int (*get_cert_from)(struct store *s,
                         hs_height_t height,
                         hs_height_t *found,
                         void **val,
                         size_t *len);
    /* Committed transactions (`tx`): tx hash -> where it landed. Unlike
     * every other record, a staged tx record is not visible to get_tx
     * until the sync that writes it: a validator puts one per committed
     * transaction and reads them only later, so the RocksDB store skips
     * indexing them in its staging batch. A crash drops them like any
     * staged write. */
    int (*put_tx)(struct store *s,
                  const struct seq_hash *tx_hash,
                  const void *val,
                  size_t len);
    int (*get_tx)(struct store *s,
                  const struct seq_hash *tx_hash,
                  void **val,
                  size_t *len);

    int (*sync)(struct store *s);
    void (*close)(struct store *s);
};

struct store {
    const struct store_ops *ops;
    char errmsg[SEQ_ERRMSG_LEN]; /* Why the last call failed, if it did. */
};

static inline int store_put_block(struct store *s, const struct hs_block *b)
{
    return s->ops->put_block(s, b);
}
static inline int store_get_block(struct store *s,
                                  const struct seq_hash *id,
                                  struct hs_block *out)
{
    return s->ops->get_block(s, id, out);
}
static inline int store_put_qc(struct store *s, const struct hs_qc *qc)
{
    return s->ops->put_qc(s, qc);
}
static inline int store_get_qc(struct store *s,
                               const struct seq_hash *id,
                               struct hs_qc *out)
{
    return s->ops->get_qc(s, id, out);
}
static inline int store_put_high_qc(struct store *s, const struct hs_qc *qc)
{
    return s->ops->put_high_qc(s, qc);
}
static inline int store_get_high_qc(struct store *s, struct hs_qc *out)
{
    return s->ops->get_high_qc(s, out);
}
static inline int store_put_high_tc(struct store *s, const struct hs_tc *tc)
{
    return s->ops->put_high_tc(s, tc);
}
static inline int store_get_high_tc(struct store *s, struct hs_tc *out)
{
    return s->ops->get_high_tc(s, out);
}
static inline int store_put_commit(struct store *s,
                                   hs_height_t h,
                                   const struct seq_hash *id)
{
    return s->ops->put_commit(s, h, id);
}
static inline int store_get_commit(struct store *s,
                                   hs_height_t h,
                                   struct seq_hash *id)
{
    return s->ops->get_commit(s, h, id);
}
static inline int store_committed_height(struct store *s, hs_height_t *out)
{
    return s->ops->committed_height(s, out);
}
static inline int store_put_safety(struct store *s, const struct hs_safety *st)
{
    return s->ops->put_safety(s, st);
}
static inline int store_get_safety(struct store *s, struct hs_safety *out)
{
    return s->ops->get_safety(s, out);
}
static inline int store_put_meta(struct store *s,
                                 const char *key,
                                 const void *val,
                                 size_t len)
{
    return s->ops->put_meta(s, key, val, len);
}
static inline int store_get_meta(struct store *s,
                                 const char *key,
                                 void **val,
                                 size_t *len)
{
    return s->ops->get_meta(s, key, val, len);
}
static inline int store_put_batch(struct store *s,
                                  const struct seq_hash *id,
                                  const void *val,
                                  size_t len)
{
    return s->ops->put_batch(s, id, val, len);
}
static inline int store_get_batch(struct store *s,
                                  const struct seq_hash *id,
                                  void **val,
                                  size_t *len)
{
    return s->ops->get_batch(s, id, val, len);
}
static inline int store_del_batch(struct store *s, const struct seq_hash *id)
{
    return s->ops->del_batch(s, id);
}
static inline int store_scan_batches(struct store *s,
                                     int (*fn)(void *arg,
                                               const struct seq_hash *id,
                                               const void *val,
                                               size_t len),
                                     void *arg)
{
    return s->ops->scan_batches(s, fn, arg);
}
static inline int store_put_ns(struct store *s,
                               uint64_t ns,
                               hs_height_t height,
                               const void *val,
                               size_t len)
{
    return s->ops->put_ns(s, ns, height, val, len);
}
static inline int store_get_ns(struct store *s,
                               uint64_t ns,
                               hs_height_t height,
                               void **val,
                               size_t *len)
{
    return s->ops->get_ns(s, ns, height, val, len);
}
static inline int store_put_cert(struct store *s,
                                 hs_height_t height,
                                 const void *val,
                                 size_t len)
{
    return s->ops->put_cert(s, height, val, len);
}
static inline int store_get_cert_from(struct store *s,
                                      hs_height_t height,
                                      hs_height_t *found,
                                      void **val,
                                      size_t *len)
{
    return s->ops->get_cert_from(s, height, found, val, len);
}
static inline int store_put_tx(struct store *s,
                               const struct seq_hash *tx_hash,
                               const void *val,
                               size_t len)
{
    return s->ops->put_tx(s, tx_hash, val, len);
}
static inline int store_get_tx(struct store *s,
                               const struct seq_hash *tx_hash,
                               void **val,
                               size_t *len)
{
    return s->ops->get_tx(s, tx_hash, val, len);
}
static inline int store_sync(struct store *s)
{
    return s->ops->sync(s);
}
static inline void store_close(struct store *s)
{
    if (s != NULL) {
        s->ops->close(s);
    }
}

#endif /* SEQ_STORAGE_STORE_H */
