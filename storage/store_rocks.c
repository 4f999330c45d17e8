/* The RocksDB store: the store interface on one RocksDB database per node
 * (DESIGN §6). Puts and deletes are staged in one WriteBatchWithIndex,
 * which reads and scans consult over the database, so a replica sees its
 * own writes at once; sync() writes the whole batch with sync=1, one WAL
 * record and one fsync per loop turn (group commit), and starts a new
 * batch. The database thus only ever changes by whole synced batches,
 * which is what makes a crash lose exactly the writes since the last sync,
 * as store_mem_crash() simulates. Values are the wire encodings of
 * proto/wire.h (a TC, which has no storage codec there, has a small fixed
 * one here), or on the rollup path the caller's own bytes, behind a tag
 * byte; anything read back that does not decode is SEQ_ECORRUPT, never
 * trusted. */

/******************** NOTES ON THE DESIGN OF STORE_ROCKS **********************
 *
 * (K1) Layout. One column family per kind of record:
 *        blocks   block id (32 bytes)         -> wire block (id not stored)
 *        height   height (8 bytes big-endian) -> committed block id
 *        qc       block id                    -> wire QC certifying it
 *        safety   "state"                     -> wire safety state
 *        meta     "committed_height"          -> height, 8 bytes big-endian
 *                 "high_qc"                   -> wire QC
 *                 "high_tc"                   -> TC (tc_encode())
 *                 "u:" + user key             -> the caller's bytes
 *        batches  batch id (32 bytes)         -> the caller's bytes
 *        ns       namespace (8 bytes BE) || height (8 bytes BE)
 *                                             -> the caller's bytes
 *        cert     height (8 bytes BE)         -> the caller's bytes
 *        tx       tx hash (32 bytes)          -> the caller's bytes
 *        txlog    run number (8 bytes BE)     -> tx records not folded
 *                                                into tx yet (K9)
 *      plus RocksDB's own "default", unused. Heights are big-endian so that
 *      iteration is height order, and a namespace's heights are adjacent.
 *      User meta keys carry the "u:" prefix and internal ones never do, so
 *      no store_put_meta() can overwrite the committed height or the high
 *      QC. Every family is created at the first open, and a family this
 *      code knows but an older database lacks (cert and tx came with issue
 *      4) is created, empty, when that database is opened: an empty family
 *      reads exactly as a database that never held such a record, so no
 *      format version is needed for it.
 * (K2) Every value is one tag byte, VALUE_TAG, then its body. A value
 *      without the tag (empty, another format) is SEQ_ECORRUPT, and so is a
 *      body that does not decode, has the wrong length, or disagrees with
 *      its key (a QC certifies the block its key names). The tag also keeps
 *      every stored value non-empty, so that "absent" and "empty" never
 *      look alike through the C API: a zeroed safety state encodes to zero
 *      bytes, and must not come back as "no safety state".
 * (K3) Nothing reaches the database but whole batches written by sync().
 *      Puts and deletes stage into one WriteBatchWithIndex, reads go
 *      through get_from_batch_and_db (the batch, then the database), scans
 *      through an iterator of the batch over one of the database (a staged
 *      delete hides the key, a staged put overrides it), and sync()
 *      writes the batch with sync=1: RocksDB logs one batch as one logical
 *      WAL record, atomically across column families, and fsyncs the WAL
 *      before returning. So after a crash, and after a close without a sync
 *      (close only destroys the batch), the database holds exactly the
 *      batches of the successful syncs.
 * (K4) A put stages nothing unless it succeeds: the value is encoded (every
 *      allocation and bounds check) before the first write to the batch,
 *      and writing to the batch cannot fail short of aborting the process.
 * (K5) The committed height is cached: read at open, raised by put_commit,
 *      which stages "committed_height" in the same batch as the height
 *      entry that raised it, so the two become durable together (K3).
 * (K6) Once a sync has failed, the store is broken: every store_ops call
 *      but close returns SEQ_EIO (store.h). The next open decides what is
 *      durable: the failed batch is one WAL record, so a restart finds it
 *      either whole or not at all (it may have reached the disk before the
 *      failure was reported), never in part. Only that last record may be
 *      dropped at open; a damaged record before it fails the open
 *      (make_options()).
 * (K7) The tx family is written once per committed transaction, by far the
 *      most keys of any family, and read by every submission (nearly
 *      always a miss). None of its records go through the
 *      WriteBatchWithIndex: the node reads a tx record only after the sync
 *      that wrote it (store.h), so get_tx asks the tx index (K9), then the
 *      database.
 * (K8) The batches family keeps its values in blob files
 *      (make_batch_options()): with random keys and large values, leveled
 *      compaction rewrote the payloads at every level. Namespace blocks
 *      are served from them too: the ns family holds references into
 *      the batches (net_rollup.c (R5)), a few bytes per entry, and stays
 *      in the tables.
 * (K9) The tx family has no memtable traffic (rocks_txidx.c). Inserting
 *      one random 32-byte key per transaction into a skiplist was a fifth
 *      of a loaded validator's CPU, more than anything else it did. So a
 *      sync writes the turn's tx records as ONE value of the txlog family,
 *      in its batch (durable with it, K3), and indexes them in memory
 *      (visible after it). About 200,000 records later a thread of the
 *      index writes them sorted into a table file and ingests it into tx,
 *      and the next sync deletes those runs; open loads whatever runs are
 *      left. Crash semantics are unchanged: a synced record is durable,
 *      in txlog or in tx, and a run deleted is in tx already.
 ******************************************************************************/

#define _POSIX_C_SOURCE 200809L

#include "store_rocks.h"

#include "rocks_txidx.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include "seq_alloc.h"
#include "seq_be.h"
#include "seq_hex.h"
#include "store_clock.h"
#include "wire.h"

/* Column families (K1), in the order open hands them to RocksDB. */
#define CF_DEFAULT 0
#define CF_BLOCKS  1
#define CF_HEIGHT  2
#define CF_QC      3
#define CF_SAFETY  4
#define CF_META    5
#define CF_BATCHES 6
#define CF_NS      7
#define CF_CERT    8
#define CF_TX      9
#define CF_TXLOG   10
#define N_CF       11

static const char *const cf_names[N_CF] = {
    [CF_DEFAULT] = "default", [CF_BLOCKS] = "blocks", [CF_HEIGHT] = "height",
    [CF_QC] = "qc",           [CF_SAFETY] = "safety", [CF_META] = "meta",
    [CF_BATCHES] = "batches", [CF_NS] = "ns",         [CF_CERT] = "cert",
    [CF_TX] = "tx",           [CF_TXLOG] = "txlog",
};

#define VALUE_TAG 0x01 /* (K2): the format of every value body. */

#define SAFETY_KEY           "state"
#define META_COMMITTED       "committed_height"
#define META_HIGH_QC         "high_qc"
#define META_HIGH_TC         "high_tc"
#define META_USER_PREFIX     "u:"
#define META_USER_PREFIX_LEN (sizeof META_USER_PREFIX - 1)

/* Options: small, since a sequencer reads mostly what it just wrote. */
#define CACHE_BYTES           ((size_t)8 << 20) /* One LRU cache, all families. */
#define BLOOM_BITS            10.0 /* Per key: about 1% false hits. */
#define MAX_WAL_BYTES         ((uint64_t)64 << 20) /* Then flush old families. */
#define INFO_LOG_BYTES        ((size_t)16 << 20)  /* RocksDB's own LOG files, */
#define SYNC_CHUNK_BYTES      ((uint64_t)1 << 20) /* Write-back step. */
#define MEMTABLE_BYTES        ((size_t)16 << 20)  /* Per family, */
#define MEMTABLES_TOTAL_BYTES ((size_t)128 << 20) /* all of them. */
#define KEEP_INFO_LOGS        4                   /* and how many to keep. */
#define BLOB_MIN_BYTES        1024 /* Batches to blob files (K8). */

/* The TC value body: epoch, round and n_sigs, then per signature the
 * signer, its high QC round and the signature; big-endian, no padding. */
#define TC_HEAD_LEN (8 + 8 + 4)
#define TC_SIG_LEN  (4 + 8 + HS_SIG_LEN)
#define TC_MAX_LEN  (TC_HEAD_LEN + HS_MAX_VALIDATORS * TC_SIG_LEN)

#define HEIGHT_KEY_LEN 8
#define NS_KEY_LEN     16
#define ID_SHOWN       8  /* Bytes of an id shown in errmsg. */
#define WHERE_LEN      96 /* "family/key" in errmsg. */

struct store_rocks {
    struct store base; /* First, so a struct store * converts back. */
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[N_CF];
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts; /* sync=1: every write is a sync. */
    rocksdb_writebatch_wi_t *batch;
    struct rocks_txidx *txidx; /* The tx family (K9). */
    hs_height_t committed;     /* (K5) */
    bool has_committed;
    bool broken; /* (K6) */
    struct store_rocks_stats stats;
};

/* A value read back (K2): RocksDB's copy and the body after the tag. */
struct rocks_value {
    char *raw; /* Free with rocksdb_free(). */
    const uint8_t *body;
    size_t len;
};

static const struct store_ops store_rocks_ops;

static struct store_rocks *rocks_of(struct store *s)
{
    assert(s != NULL);
    assert(s->ops == &store_rocks_ops);
    return (struct store_rocks *)s;
}

/* Record why a call failed, "store_rocks: " and @fmt, and return @rv. */
static int rocks_fail(struct store_rocks *r, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int rocks_fail(struct store_rocks *r, int rv, const char *fmt, ...)
{
    static const char prefix[] = "store_rocks: ";
    va_list ap;

    memcpy(r->base.errmsg, prefix, sizeof prefix - 1);
    va_start(ap, fmt);
    vsnprintf(r->base.errmsg + sizeof prefix - 1,
              SEQ_ERRMSG_LEN - (sizeof prefix - 1), fmt, ap);
    va_end(ap);
    return rv;
}

/* (K6): a broken store answers nothing but SEQ_EIO. */
static int rocks_usable(struct store_rocks *r, const char *op)
{
    if (r->broken) {
        return rocks_fail(r, SEQ_EIO, "%s: store unusable after a failed sync",
                          op);
    }
    return SEQ_OK;
}

/* ---- Bytes. ---- */

/* Encode @tc into @buf (TC_MAX_LEN bytes); SEQ_EINVAL when a decoder
 * would refuse it: more than HS_MAX_VALIDATORS signatures or a signer out
 * of range. */
static int tc_encode(const struct hs_tc *tc, uint8_t *buf, size_t *len)
{
    uint8_t *p = buf;
    uint32_t i;

    if (tc->n_sigs > HS_MAX_VALIDATORS) {
        return SEQ_EINVAL;
    }
    seq_be64_put(p, tc->epoch);
    seq_be64_put(p + 8, tc->round);
    seq_be32_put(p + 16, tc->n_sigs);
    p += TC_HEAD_LEN;
    for (i = 0; i < tc->n_sigs; i++) {
        const struct hs_tc_sig *sig = &tc->sigs[i];

        if (sig->signer >= HS_MAX_VALIDATORS) {
            return SEQ_EINVAL;
        }
        seq_be32_put(p, sig->signer);
        seq_be64_put(p + 4, sig->high_qc_round);
        memcpy(p + 12, sig->sig.bytes, HS_SIG_LEN);
        p += TC_SIG_LEN;
    }
    *len = (size_t)(p - buf);
    return SEQ_OK;
}

/* Decode a TC body of exactly @len bytes into *out (zeroed past n_sigs).
 * SEQ_EBADMSG, with *out untouched, for anything tc_encode() cannot have
 * written. */
static int tc_decode(const uint8_t *buf, size_t len, struct hs_tc *out)
{
    struct hs_tc tc;
    const uint8_t *p;
    uint32_t i;

    if (len < TC_HEAD_LEN) {
        return SEQ_EBADMSG;
    }
    memset(&tc, 0, sizeof tc);
    tc.epoch = seq_be64_get(buf);
    tc.round = seq_be64_get(buf + 8);
    tc.n_sigs = seq_be32_get(buf + 16);
    if (tc.n_sigs > HS_MAX_VALIDATORS ||
        len != TC_HEAD_LEN + (size_t)tc.n_sigs * TC_SIG_LEN) {
        return SEQ_EBADMSG;
    }
    p = buf + TC_HEAD_LEN;
    for (i = 0; i < tc.n_sigs; i++) {
        struct hs_tc_sig *sig = &tc.sigs[i];

        sig->signer = seq_be32_get(p);
        if (sig->signer >= HS_MAX_VALIDATORS) {
            return SEQ_EBADMSG;
        }
        sig->high_qc_round = seq_be64_get(p + 4);
        memcpy(sig->sig.bytes, p + 12, HS_SIG_LEN);
        p += TC_SIG_LEN;
    }
    *out = tc;
    return SEQ_OK;
}

/* ---- Reading and staging (K2, K3). ---- */

/* The length of every key in @cf, or 0 for families keyed by name. */
static size_t cf_key_len(int cf)
{
    switch (cf) {
    case CF_BLOCKS:
    case CF_QC:
    case CF_BATCHES:
    case CF_TX:
        return SEQ_HASH_LEN;
    case CF_HEIGHT:
    case CF_CERT:
    case CF_TXLOG:
        return HEIGHT_KEY_LEN;
    case CF_NS:
        return NS_KEY_LEN;
    default:
        return 0;
    }
}

/* "family/key" for errmsg: ids as their first bytes in hex, heights in
 * decimal ("ns/<namespace>/<height>"), names as they are, and a binary key
 * of the wrong length (only a database we did not write holds one) as its
 * length. */
static void key_text(int cf,
                     const void *key,
                     size_t key_len,
                     char out[WHERE_LEN])
{
    size_t want = cf_key_len(cf);

    if (want == 0) {
        snprintf(out, WHERE_LEN, "%s/%.*s", cf_names[cf], (int)key_len,
                 (const char *)key);
    } else if (key_len != want) {
        snprintf(out, WHERE_LEN, "%s/(%zu-byte key)", cf_names[cf], key_len);
    } else if (want == HEIGHT_KEY_LEN) {
        snprintf(out, WHERE_LEN, "%s/%" PRIu64, cf_names[cf],
                 seq_be64_get(key));
    } else if (want == NS_KEY_LEN) {
        snprintf(out, WHERE_LEN, "ns/%" PRIu64 "/%" PRIu64, seq_be64_get(key),
                 seq_be64_get((const uint8_t *)key + 8));
    } else {
        char hex[2 * ID_SHOWN + 1];

        seq_hex_encode(key, ID_SHOWN, hex);
        snprintf(out, WHERE_LEN, "%s/%s", cf_names[cf], hex);
    }
}

/* Fail @op on @key in @cf: "op family/key: why". */
static int key_fail(struct store_rocks *r,
                    int rv,
                    const char *op,
                    int cf,
                    const void *key,
                    size_t key_len,
                    const char *why)
{
    char where[WHERE_LEN];

    key_text(cf, key, key_len, where);
    return rocks_fail(r, rv, "%s %s: %s", op, where, why);
}

/* A decoder's answer on a stored value: SEQ_EBADMSG means the disk holds
 * something we did not write (SEQ_ECORRUPT); SEQ_ENOMEM stays itself. */
static int decode_fail(struct store_rocks *r,
                       int rv,
                       const char *op,
                       int cf,
                       const void *key,
                       size_t key_len)
{
    if (rv == SEQ_ENOMEM) {
        return key_fail(r, rv, op, cf, key, key_len, "out of memory");
    }
    return key_fail(r, SEQ_ECORRUPT, op, cf, key, key_len,
                    "stored value does not decode");
}

/* Look @key up in @cf, staged writes first (K3). Returns 0 with *v to
 * release (value_release), SEQ_ENOTFOUND, SEQ_EIO, or SEQ_ECORRUPT for a
 * value without the tag (K2). */
static int lookup(struct store_rocks *r,
                  const char *op,
                  int cf,
                  const void *key,
                  size_t key_len,
                  struct rocks_value *v)
{
    char *err = NULL;
    size_t len = 0;
    char *raw;
    int rv;

    if (cf == CF_TX) { /* Never staged in the batch (K9). */
        raw = rocksdb_get_cf(r->db, r->ropts, r->cf[cf], key, key_len, &len,
                             &err);
    } else {
        raw = rocksdb_writebatch_wi_get_from_batch_and_db_cf(
            r->batch, r->db, r->ropts, r->cf[cf], key, key_len, &len, &err);
    }
    if (err != NULL) {
        rv = key_fail(r, SEQ_EIO, op, cf, key, key_len, err);
        rocksdb_free(err);
        rocksdb_free(raw);
        return rv;
    }
    if (raw == NULL) {
        return SEQ_ENOTFOUND;
    }
    if (len == 0 || (uint8_t)raw[0] != VALUE_TAG) {
        rocksdb_free(raw);
        return key_fail(r, SEQ_ECORRUPT, op, cf, key, key_len,
                        "stored value has no format tag");
    }
    v->raw = raw;
    v->body = (const uint8_t *)raw + 1;
    v->len = len - 1;
    return SEQ_OK;
}

static void value_release(struct rocks_value *v)
{
    rocksdb_free(v->raw);
    v->raw = NULL;
}

/* Stage @key -> VALUE_TAG + @body in @cf: no copy of the body besides the
 * batch's own. */
static void stage(struct store_rocks *r,
                  int cf,
                  const void *key,
                  size_t key_len,
                  const void *body,
                  size_t body_len)
{
    static const char tag = VALUE_TAG;
    const char *keys[1] = { key };
    const size_t key_lens[1] = { key_len };
    const char *parts[2] = { &tag, body_len > 0 ? body : "" };
    const size_t part_lens[2] = { 1, body_len };

    rocksdb_writebatch_wi_putv_cf(r->batch, r->cf[cf], 1, keys, key_lens, 2,
                                  parts, part_lens);
}

/* An encoder's refusal: SEQ_EINVAL (out of the bounds a decoder accepts)
 * or SEQ_ENOMEM. Nothing was staged (K4). */
static int encode_fail(struct store_rocks *r, int rv, const char *op)
{
    return rocks_fail(r, rv, "%s: cannot encode the value: %s", op,
                      seq_strerror(rv));
}

/* ---- Blocks and QCs. ---- */

static int rocks_put_block(struct store *s, const struct hs_block *block)
{
    struct store_rocks *r = rocks_of(s);
    uint8_t *buf;
    size_t len;
    int rv;

    assert(block != NULL);
    rv = rocks_usable(r, "put_block");
    if (rv != 0) {
        return rv;
    }
    rv = wire_encode_block(block, &buf, &len);
    if (rv != 0) {
        return encode_fail(r, rv, "put_block");
    }
    stage(r, CF_BLOCKS, block->id.bytes, SEQ_HASH_LEN, buf, len);
    seq_free(buf);
    return SEQ_OK;
}

static int rocks_get_block(struct store *s,
                           const struct seq_hash *id,
                           struct hs_block *out)
{
    struct store_rocks *r = rocks_of(s);
    struct rocks_value v;
    struct hs_block block;
    int rv;

    assert(id != NULL && out != NULL);
    rv = rocks_usable(r, "get_block");
    if (rv != 0) {
        return rv;
    }
    rv = lookup(r, "get_block", CF_BLOCKS, id->bytes, SEQ_HASH_LEN, &v);
    if (rv != 0) {
        return rv;
    }
    rv = wire_decode_block(v.body, v.len, &block);
    value_release(&v);
    if (rv != 0) {
        return decode_fail(r, rv, "get_block", CF_BLOCKS, id->bytes,
                           SEQ_HASH_LEN);
    }
    block.id = *id; /* The key; the value does not repeat it (K1). */
    *out = block;
    return SEQ_OK;
}

/* Stage @qc under @key in @cf. */
static int put_qc_at(struct store_rocks *r,
                     const char *op,
                     int cf,
                     const void *key,
                     size_t key_len,
                     const struct hs_qc *qc)
{
    uint8_t *buf;
    size_t len;
    int rv;

    rv = rocks_usable(r, op);
    if (rv != 0) {
        return rv;
    }
    rv = wire_encode_qc(qc, &buf, &len);
    if (rv != 0) {
        return encode_fail(r, rv, op);
    }
    stage(r, cf, key, key_len, buf, len);
    seq_free(buf);
    return SEQ_OK;
}

/* Read the QC under @key in @cf into *out (untouched on failure). */
static int get_qc_at(struct store_rocks *r,
                     const char *op,
                     int cf,
                     const void *key,
                     size_t key_len,
                     struct hs_qc *out)
{
    struct rocks_value v;
    struct hs_qc qc;
    int rv;

    rv = rocks_usable(r, op);
    if (rv != 0) {
        return rv;
    }
    rv = lookup(r, op, cf, key, key_len, &v);
    if (rv != 0) {
        return rv;
    }
    rv = wire_decode_qc(v.body, v.len, &qc);
    value_release(&v);
    if (rv != 0) {
        return decode_fail(r, rv, op, cf, key, key_len);
    }
    if (cf == CF_QC && memcmp(qc.block_id.bytes, key, SEQ_HASH_LEN) != 0) {
        return key_fail(r, SEQ_ECORRUPT, op, cf, key, key_len,
                        "stored QC certifies another block");
    }
    *out = qc;
    return SEQ_OK;
}

static int rocks_put_qc(struct store *s, const struct hs_qc *qc)
{
    assert(qc != NULL);
    return put_qc_at(rocks_of(s), "put_qc", CF_QC, qc->block_id.bytes,
                     SEQ_HASH_LEN, qc);
}

static int rocks_get_qc(struct store *s,
                        const struct seq_hash *block_id,
                        struct hs_qc *out)
{
    assert(block_id != NULL && out != NULL);
    return get_qc_at(rocks_of(s), "get_qc", CF_QC, block_id->bytes,
                     SEQ_HASH_LEN, out);
}

static int rocks_put_high_qc(struct store *s, const struct hs_qc *qc)
{
    assert(qc != NULL);
    return put_qc_at(rocks_of(s), "put_high_qc", CF_META, META_HIGH_QC,
                     strlen(META_HIGH_QC), qc);
}

static int rocks_get_high_qc(struct store *s, struct hs_qc *out)
{
    assert(out != NULL);
    return get_qc_at(rocks_of(s), "get_high_qc", CF_META, META_HIGH_QC,
                     strlen(META_HIGH_QC), out);
}

static int rocks_put_high_tc(struct store *s, const struct hs_tc *tc)
{
    struct store_rocks *r = rocks_of(s);
    uint8_t buf[TC_MAX_LEN];
    size_t len = 0;
    int rv;

    assert(tc != NULL);
    rv = rocks_usable(r, "put_high_tc");
    if (rv != 0) {
        return rv;
    }
    rv = tc_encode(tc, buf, &len);
    if (rv != 0) {
        return encode_fail(r, rv, "put_high_tc");
    }
    stage(r, CF_META, META_HIGH_TC, strlen(META_HIGH_TC), buf, len);
    return SEQ_OK;
}

static int rocks_get_high_tc(struct store *s, struct hs_tc *out)
{
    struct store_rocks *r = rocks_of(s);
    struct rocks_value v;
    int rv;

    assert(out != NULL);
    rv = rocks_usable(r, "get_high_tc");
    if (rv != 0) {
        return rv;
    }
    rv = lookup(r, "get_high_tc", CF_META, META_HIGH_TC, strlen(META_HIGH_TC),
                &v);
    if (rv != 0) {
        return rv;
    }
    rv = tc_decode(v.body, v.len, out);
    value_release(&v);
    if (rv != 0) {
        return decode_fail(r, rv, "get_high_tc", CF_META, META_HIGH_TC,
                           strlen(META_HIGH_TC));
    }
    return SEQ_OK;
}

/* ---- Commits (K5). ---- */

static int rocks_put_commit(struct store *s,
                            hs_height_t height,
                            const struct seq_hash *block_id)
{
    struct store_rocks *r = rocks_of(s);
    uint8_t key[HEIGHT_KEY_LEN];
    int rv;

    assert(block_id != NULL);
    rv = rocks_usable(r, "put_commit");
    if (rv != 0) {
        return rv;
    }
    seq_be64_put(key, height);
    stage(r, CF_HEIGHT, key, sizeof key, block_id->bytes, SEQ_HASH_LEN);
    if (!r->has_committed || height > r->committed) {
        stage(r, CF_META, META_COMMITTED, strlen(META_COMMITTED), key,
              sizeof key);
        r->committed = height;
        r->has_committed = true;
    }
    return SEQ_OK;
}

static int rocks_get_commit(struct store *s,
                            hs_height_t height,
                            struct seq_hash *block_id)
{
    struct store_rocks *r = rocks_of(s);
    uint8_t key[HEIGHT_KEY_LEN];
    struct rocks_value v;
    int rv;

    assert(block_id != NULL);
    rv = rocks_usable(r, "get_commit");
    if (rv != 0) {
        return rv;
    }
    seq_be64_put(key, height);
    rv = lookup(r, "get_commit", CF_HEIGHT, key, sizeof key, &v);
    if (rv != 0) {
        return rv;
    }
    if (v.len != SEQ_HASH_LEN) {
        value_release(&v);
        return key_fail(r, SEQ_ECORRUPT, "get_commit", CF_HEIGHT, key,
                        sizeof key, "stored block id is not 32 bytes");
    }
    memcpy(block_id->bytes, v.body, SEQ_HASH_LEN);
    value_release(&v);
    return SEQ_OK;
}

static int rocks_committed_height(struct store *s, hs_height_t *out)
{
    struct store_rocks *r = rocks_of(s);
    int rv;

    assert(out != NULL);
    rv = rocks_usable(r, "committed_height");
    if (rv != 0) {
        return rv;
    }
    if (!r->has_committed) {
        return SEQ_ENOTFOUND;
    }
    *out = r->committed;
    return SEQ_OK;
}

/* Read the committed height the last sync left (K5). */
static int load_committed(struct store_rocks *r)
{
    struct rocks_value v;
    int rv;

    rv = lookup(r, "open", CF_META, META_COMMITTED, strlen(META_COMMITTED), &v);
    if (rv == SEQ_ENOTFOUND) {
        return SEQ_OK;
    }
    if (rv != 0) {
        return rv;
    }
    if (v.len != HEIGHT_KEY_LEN) {
        value_release(&v);
        return key_fail(r, SEQ_ECORRUPT, "open", CF_META, META_COMMITTED,
                        strlen(META_COMMITTED), "stored height is not 8 bytes");
    }
    r->committed = seq_be64_get(v.body);
    r->has_committed = true;
    value_release(&v);
    return SEQ_OK;
}

/* ---- Safety state. ---- */

static int rocks_put_safety(struct store *s, const struct hs_safety *state)
{
    struct store_rocks *r = rocks_of(s);
    uint8_t *buf;
    size_t len;
    int rv;

    assert(state != NULL);
    rv = rocks_usable(r, "put_safety");
    if (rv != 0) {
        return rv;
    }
    rv = wire_encode_safety(state, &buf, &len);
    if (rv != 0) {
        return encode_fail(r, rv, "put_safety");
    }
    stage(r, CF_SAFETY, SAFETY_KEY, strlen(SAFETY_KEY), buf, len);
    seq_free(buf);
    return SEQ_OK;
}

static int rocks_get_safety(struct store *s, struct hs_safety *out)
{
    struct store_rocks *r = rocks_of(s);
    struct rocks_value v;
    struct hs_safety state;
    int rv;

    assert(out != NULL);
    rv = rocks_usable(r, "get_safety");
    if (rv != 0) {
        return rv;
    }
    rv = lookup(r, "get_safety", CF_SAFETY, SAFETY_KEY, strlen(SAFETY_KEY), &v);
    if (rv != 0) {
        return rv;
    }
    rv = wire_decode_safety(v.body, v.len, &state);
    value_release(&v);
    if (rv != 0) {
        return decode_fail(r, rv, "get_safety", CF_SAFETY, SAFETY_KEY,
                           strlen(SAFETY_KEY));
    }
    *out = state;
    return SEQ_OK;
}

/* ---- Meta (K1: user keys under "u:"). ---- */

/* The stored key of user meta key @key into @buf; its length, or 0 when
 * @key is not 1 to STORE_META_KEY_MAX bytes. */
static size_t meta_key(const char *key,
                       char buf[META_USER_PREFIX_LEN + STORE_META_KEY_MAX])
{
    size_t n;

    if (key == NULL) {
        return 0;
    }
    n = strnlen(key, STORE_META_KEY_MAX + 1);
    if (n == 0 || n > STORE_META_KEY_MAX) {
        return 0;
    }
    memcpy(buf, META_USER_PREFIX, META_USER_PREFIX_LEN);
    memcpy(buf + META_USER_PREFIX_LEN, key, n);
    return META_USER_PREFIX_LEN + n;
}

static int rocks_put_meta(struct store *s,
                          const char *key,
                          const void *val,
                          size_t len)
{
    struct store_rocks *r = rocks_of(s);
    char k[META_USER_PREFIX_LEN + STORE_META_KEY_MAX];
    size_t k_len;
    int rv;

    rv = rocks_usable(r, "put_meta");
    if (rv != 0) {
        return rv;
    }
    k_len = meta_key(key, k);
    if (k_len == 0) {
        return rocks_fail(r, SEQ_EINVAL, "put_meta: key must be 1 to %d bytes",
                          STORE_META_KEY_MAX);
    }
    if (val == NULL && len > 0) {
        return rocks_fail(r, SEQ_EINVAL, "put_meta: NULL value");
    }
    stage(r, CF_META, k, k_len, val, len);
    return SEQ_OK;
}

static int rocks_get_meta(struct store *s,
                          const char *key,
                          void **val,
                          size_t *len)
{
    struct store_rocks *r = rocks_of(s);
    char k[META_USER_PREFIX_LEN + STORE_META_KEY_MAX];
    struct rocks_value v;
    size_t k_len;
    uint8_t *copy;
    int rv;

    assert(val != NULL && len != NULL);
    rv = rocks_usable(r, "get_meta");
    if (rv != 0) {
        return rv;
    }
    k_len = meta_key(key, k);
    if (k_len == 0) {
        return rocks_fail(r, SEQ_EINVAL, "get_meta: key must be 1 to %d bytes",
                          STORE_META_KEY_MAX);
    }
    rv = lookup(r, "get_meta", CF_META, k, k_len, &v);
    if (rv != 0) {
        return rv;
    }
    copy = seq_malloc(v.len); /* Never NULL on success, even for 0 bytes. */
    if (copy == NULL) {
        value_release(&v);
        return key_fail(r, SEQ_ENOMEM, "get_meta", CF_META, k, k_len,
                        "out of memory");
    }
    if (v.len > 0) {
        memcpy(copy, v.body, v.len);
    }
    *val = copy;
    *len = v.len;
    value_release(&v);
    return SEQ_OK;
}

/* ---- The rollup path: opaque values (K1). ---- */

/* Stage @key -> @val in @cf, for @op. */
static int put_bytes(struct store_rocks *r,
                     const char *op,
                     int cf,
                     const void *key,
                     size_t key_len,
                     const void *val,
                     size_t len)
{
    int rv;

    rv = rocks_usable(r, op);
    if (rv != 0) {
        return rv;
    }
    if (val == NULL && len > 0) {
        return rocks_fail(r, SEQ_EINVAL, "%s: NULL value", op);
    }
    if (cf == CF_TX) {
        rv = rocks_txidx_put(r->txidx, key, val, len);
        return rv == 0 ? SEQ_OK : rocks_fail(r, rv, "%s: out of memory", op);
    }
    stage(r, cf, key, key_len, val, len);
    return SEQ_OK;
}

/* The caller's copy of a value body: NULL with 0 for an empty one
 * (store.h). @key names the record in errmsg. */
static int body_copy_out(struct store_rocks *r,
                         const char *op,
                         int cf,
                         const void *key,
                         size_t key_len,
                         const uint8_t *body,
                         size_t body_len,
                         void **val)
{
    uint8_t *copy = NULL;

    if (body_len > 0) {
        copy = seq_malloc(body_len);
        if (copy == NULL) {
            return key_fail(r, SEQ_ENOMEM, op, cf, key, key_len,
                            "out of memory");
        }
        memcpy(copy, body, body_len);
    }
    *val = copy;
    return SEQ_OK;
}

/* Read the value under @key in @cf, for @op. */
static int get_bytes(struct store_rocks *r,
                     const char *op,
                     int cf,
                     const void *key,
                     size_t key_len,
                     void **val,
                     size_t *len)
{
    struct rocks_value v;
    void *copy = NULL;
    int rv;

    assert(val != NULL && len != NULL);
    rv = rocks_usable(r, op);
    if (rv != 0) {
        return rv;
    }
    rv = lookup(r, op, cf, key, key_len, &v);
    if (rv != 0) {
        return rv;
    }
    rv = body_copy_out(r, op, cf, key, key_len, v.body, v.len, &copy);
    if (rv == 0) {
        *val = copy;
        *len = v.len;
    }
    value_release(&v);
    return rv;
}

/* An iterator over @cf that sees the staged batch over the database (K3):
 * the batch's own iterator takes the database's and frees it with itself.
 * Release it with rocksdb_iter_destroy(). */
static rocksdb_iterator_t *iter_open(struct store_rocks *r, int cf)
{
    rocksdb_iterator_t *base =
        rocksdb_create_iterator_cf(r->db, r->ropts, r->cf[cf]);

    return rocksdb_writebatch_wi_create_iterator_with_base_cf(r->batch, base,
                                                              r->cf[cf]);
}

/* The current entry of the valid @it over @cf: its key, which must have
 * the family's length, and the body of its value (K2); views into @it. */
static int iter_entry(struct store_rocks *r,
                      const char *op,
                      int cf,
                      rocksdb_iterator_t *it,
                      const uint8_t **key,
                      const uint8_t **body,
                      size_t *body_len)
{
    const char *k;
    const char *raw;
    size_t k_len = 0;
    size_t len = 0;

    k = rocksdb_iter_key(it, &k_len);
    if (k_len != cf_key_len(cf)) {
        return key_fail(r, SEQ_ECORRUPT, op, cf, k, k_len,
                        "stored key has the wrong length");
    }
    raw = rocksdb_iter_value(it, &len);
    if (len == 0 || (uint8_t)raw[0] != VALUE_TAG) {
        return key_fail(r, SEQ_ECORRUPT, op, cf, k, k_len,
                        "stored value has no format tag");
    }
    *key = (const uint8_t *)k;
    *body = (const uint8_t *)raw + 1;
    *body_len = len - 1;
    return SEQ_OK;
}

/* Why @it stopped: SEQ_OK at the end, SEQ_EIO when RocksDB failed. */
static int iter_status(struct store_rocks *r,
                       const char *op,
                       int cf,
                       rocksdb_iterator_t *it)
{
    char *err = NULL;
    int rv;

    rocksdb_iter_get_error(it, &err);
    if (err != NULL) {
        rv = rocks_fail(r, SEQ_EIO, "%s %s: %s", op, cf_names[cf], err);
        rocksdb_free(err);
        return rv;
    }
    return SEQ_OK;
}

static int rocks_put_batch(struct store *s,
                           const struct seq_hash *id,
                           const void *val,
                           size_t len)
{
    assert(id != NULL);
    return put_bytes(rocks_of(s), "put_batch", CF_BATCHES, id->bytes,
                     SEQ_HASH_LEN, val, len);
}

static int rocks_get_batch(struct store *s,
                           const struct seq_hash *id,
                           void **val,
                           size_t *len)
{
    assert(id != NULL);
    return get_bytes(rocks_of(s), "get_batch", CF_BATCHES, id->bytes,
                     SEQ_HASH_LEN, val, len);
}

/* A staged tombstone: it hides the key from reads and scans at once, and
 * deletes it from the database with the next sync (K3). */
static int rocks_del_batch(struct store *s, const struct seq_hash *id)
{
    struct store_rocks *r = rocks_of(s);
    int rv;

    assert(id != NULL);
    rv = rocks_usable(r, "del_batch");
    if (rv != 0) {
        return rv;
    }
    rocksdb_writebatch_wi_delete_cf(r->batch, r->cf[CF_BATCHES],
                                    (const char *)id->bytes, SEQ_HASH_LEN);
    return SEQ_OK;
}

/* The views passed to @fn point into the iterator and last until it moves.
 * A write from @fn lands in the batch under the live iterator; store.h
 * promises nothing about what the rest of the scan sees of it. */
static int rocks_scan_batches(struct store *s,
                              int (*fn)(void *arg,
                                        const struct seq_hash *id,
                                        const void *val,
                                        size_t len),
                              void *arg)
{
    struct store_rocks *r = rocks_of(s);
    rocksdb_iterator_t *it;
    struct seq_hash id;
    const uint8_t *key;
    const uint8_t *body;
    size_t len;
    int rv;

    assert(fn != NULL);
    rv = rocks_usable(r, "scan_batches");
    if (rv != 0) {
        return rv;
    }
    it = iter_open(r, CF_BATCHES);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        rv = iter_entry(r, "scan_batches", CF_BATCHES, it, &key, &body, &len);
        if (rv != 0) {
            break;
        }
        memcpy(id.bytes, key, SEQ_HASH_LEN);
        rv = fn(arg, &id, len > 0 ? body : NULL, len);
        if (rv != 0) {
            break;
        }
    }
    if (rv == 0) {
        rv = iter_status(r, "scan_batches", CF_BATCHES, it);
    }
    rocksdb_iter_destroy(it);
    return rv;
}

static void ns_key(uint8_t key[NS_KEY_LEN], uint64_t ns, hs_height_t height)
{
    seq_be64_put(key, ns);
    seq_be64_put(key + 8, height);
}

static int rocks_put_ns(struct store *s,
                        uint64_t ns,
                        hs_height_t height,
                        const void *val,
                        size_t len)
{
    uint8_t key[NS_KEY_LEN];

    ns_key(key, ns, height);
    return put_bytes(rocks_of(s), "put_ns", CF_NS, key, sizeof key, val, len);
}

static int rocks_get_ns(struct store *s,
                        uint64_t ns,
                        hs_height_t height,
                        void **val,
                        size_t *len)
{
    uint8_t key[NS_KEY_LEN];

    ns_key(key, ns, height);
    return get_bytes(rocks_of(s), "get_ns", CF_NS, key, sizeof key, val, len);
}

static int rocks_put_cert(struct store *s,
                          hs_height_t height,
                          const void *val,
                          size_t len)
{
    uint8_t key[HEIGHT_KEY_LEN];

    seq_be64_put(key, height);
    return put_bytes(rocks_of(s), "put_cert", CF_CERT, key, sizeof key, val,
                     len);
}

/* The lowest key >= @height, staged writes and deletes included (K3). */
static int rocks_get_cert_from(struct store *s,
                               hs_height_t height,
                               hs_height_t *found,
                               void **val,
                               size_t *len)
{
    struct store_rocks *r = rocks_of(s);
    rocksdb_iterator_t *it;
    uint8_t start[HEIGHT_KEY_LEN];
    const uint8_t *key;
    const uint8_t *body;
    size_t body_len;
    void *copy = NULL;
    int rv;

    assert(found != NULL && val != NULL && len != NULL);
    rv = rocks_usable(r, "get_cert_from");
    if (rv != 0) {
        return rv;
    }
    seq_be64_put(start, height);
    it = iter_open(r, CF_CERT);
    rocksdb_iter_seek(it, (const char *)start, sizeof start);
    if (!rocksdb_iter_valid(it)) {
        rv = iter_status(r, "get_cert_from", CF_CERT, it);
        rocksdb_iter_destroy(it);
        return rv != 0 ? rv : SEQ_ENOTFOUND;
    }
    rv = iter_entry(r, "get_cert_from", CF_CERT, it, &key, &body, &body_len);
    if (rv == 0) {
        rv = body_copy_out(r, "get_cert_from", CF_CERT, key, HEIGHT_KEY_LEN,
                           body, body_len, &copy);
    }
    if (rv == 0) {
        *found = seq_be64_get(key);
        *val = copy;
        *len = body_len;
    }
    rocksdb_iter_destroy(it);
    return rv;
}

static int rocks_put_tx(struct store *s,
                        const struct seq_hash *tx_hash,
                        const void *val,
                        size_t len)
{
    assert(tx_hash != NULL);
    return put_bytes(rocks_of(s), "put_tx", CF_TX, tx_hash->bytes, SEQ_HASH_LEN,
                     val, len);
}

static int rocks_get_tx(struct store *s,
                        const struct seq_hash *tx_hash,
                        void **val,
                        size_t *len)
{
    struct store_rocks *r = rocks_of(s);
    const uint8_t *body;
    size_t body_len;
    int rv;

    assert(tx_hash != NULL && val != NULL && len != NULL);
    rv = rocks_usable(r, "get_tx");
    if (rv != 0) {
        return rv;
    }
    /* Not folded yet, then the family (K9). */
    if (rocks_txidx_get(r->txidx, tx_hash, &body, &body_len) == 0) {
        rv = body_copy_out(r, "get_tx", CF_TX, tx_hash->bytes, SEQ_HASH_LEN,
                           body, body_len, val);
        if (rv == 0) {
            *len = body_len;
        }
        return rv;
    }
    return get_bytes(r, "get_tx", CF_TX, tx_hash->bytes, SEQ_HASH_LEN, val,
                     len);
}

/* ---- Sync, close, open. ---- */

/* Writes the staged batch and the tx index's run as ONE synced write, one
 * atomic WAL record (K3, K9): a plain copy of the indexed batch's records
 * with the run appended. Returns 0, or SEQ_EIO with errmsg set. */
static int write_staged(struct store_rocks *r, size_t *bytes)
{
    rocksdb_writebatch_t *wb;
    const char *rep;
    size_t len = 0;
    char *err = NULL;
    char why[SEQ_ERRMSG_LEN];
    int rv;

    rep = rocksdb_writebatch_wi_data(r->batch, &len);
    if (!rocks_txidx_has_writes(r->txidx)) {
        *bytes = len;
        rocksdb_write_writebatch_wi(r->db, r->wopts, r->batch, &err);
    } else {
        wb = rocksdb_writebatch_create_from(rep, len);
        rv = rocks_txidx_append(r->txidx, wb, why);
        if (rv != 0) {
            rocksdb_writebatch_destroy(wb);
            return rocks_fail(r, rv, "sync: tx index: %s", why);
        }
        (void)rocksdb_writebatch_data(wb, bytes);
        rocksdb_write(r->db, r->wopts, wb, &err);
        rocksdb_writebatch_destroy(wb);
    }
    if (err != NULL) {
        rv = rocks_fail(r, SEQ_EIO, "sync: %s", err);
        rocksdb_free(err);
        return rv;
    }
    return SEQ_OK;
}

static int rocks_sync(struct store *s)
{
    struct store_rocks *r = rocks_of(s);
    size_t bytes = 0;
    uint64_t start;
    uint64_t us;
    int rv;

    rv = rocks_usable(r, "sync");
    if (rv != 0) {
        return rv;
    }
    if (rocksdb_writebatch_wi_count(r->batch) == 0 &&
        !rocks_txidx_has_writes(r->txidx)) {
        r->stats.empty_syncs++;
        return SEQ_OK;
    }
    start = store_now_us();
    rv = write_staged(r, &bytes);
    us = store_now_us() - start;
    if (rv != 0) {
        r->broken = true; /* (K6) */
        return rv;
    }
    rocksdb_writebatch_wi_clear(r->batch);
    rocks_txidx_synced(r->txidx);
    r->stats.syncs++;
    r->stats.sync_us_last = us;
    r->stats.sync_us_total += us;
    if (us > r->stats.sync_us_max) {
        r->stats.sync_us_max = us;
    }
    r->stats.sync_bytes_last = bytes;
    r->stats.sync_bytes_total += bytes;
    return SEQ_OK;
}

/* Handles go before the database, as RocksDB requires. */
static void close_db(rocksdb_t *db, rocksdb_column_family_handle_t **cf)
{
    size_t i;

    for (i = 0; i < N_CF; i++) {
        rocksdb_column_family_handle_destroy(cf[i]);
        cf[i] = NULL;
    }
    rocksdb_close(db);
}

/* Drops the staged batch unwritten (K3): a close is not a sync. */
static void rocks_close(struct store *s)
{
    struct store_rocks *r = rocks_of(s);

    rocksdb_writebatch_wi_destroy(r->batch);
    rocks_txidx_close(r->txidx); /* Waits for a fold: before the database. */
    close_db(r->db, r->cf);
    rocksdb_writeoptions_destroy(r->wopts);
    rocksdb_readoptions_destroy(r->ropts);
    seq_free(r);
}

static const struct store_ops store_rocks_ops = {
    .put_block = rocks_put_block,
    .get_block = rocks_get_block,
    .put_qc = rocks_put_qc,
    .get_qc = rocks_get_qc,
    .put_high_qc = rocks_put_high_qc,
    .get_high_qc = rocks_get_high_qc,
    .put_high_tc = rocks_put_high_tc,
    .get_high_tc = rocks_get_high_tc,
    .put_commit = rocks_put_commit,
    .get_commit = rocks_get_commit,
    .committed_height = rocks_committed_height,
    .put_safety = rocks_put_safety,
    .get_safety = rocks_get_safety,
    .put_meta = rocks_put_meta,
    .get_meta = rocks_get_meta,
    .put_batch = rocks_put_batch,
    .get_batch = rocks_get_batch,
    .del_batch = rocks_del_batch,
    .scan_batches = rocks_scan_batches,
    .put_ns = rocks_put_ns,
    .get_ns = rocks_get_ns,
    .put_cert = rocks_put_cert,
    .get_cert_from = rocks_get_cert_from,
    .put_tx = rocks_put_tx,
    .get_tx = rocks_get_tx,
    .sync = rocks_sync,
    .close = rocks_close,
};

/* Options for the database and every family. RocksDB's C constructors never
 * return NULL (they abort when out of memory). The table options keep a
 * reference to the cache and take the filter policy, so both wrappers go
 * at once; the database copies what it needs at open. */
static rocksdb_options_t *make_options(bool compress)
{
    rocksdb_options_t *opts = rocksdb_options_create();
    rocksdb_block_based_table_options_t *table =
        rocksdb_block_based_options_create();
    rocksdb_cache_t *cache = rocksdb_cache_create_lru(CACHE_BYTES);

    rocksdb_block_based_options_set_block_cache(table, cache);
    rocksdb_block_based_options_set_filter_policy(
        table, rocksdb_filterpolicy_create_bloom_full(BLOOM_BITS));
    rocksdb_options_set_block_based_table_factory(opts, table);
    rocksdb_block_based_options_destroy(table);
    rocksdb_cache_destroy(cache);

    rocksdb_options_set_create_if_missing(opts, 1);
    /* Bounded, so that the database never takes the descriptors a sync
     * needs (the default keeps every table file open). */
    rocksdb_options_set_max_open_files(opts, 256);
    rocksdb_options_set_create_missing_column_families(opts, 1);
    /* LZ4 where data is rewritten often, zstd where it settles. */
    rocksdb_options_set_compression(
        opts, compress ? rocksdb_lz4_compression : rocksdb_no_compression);
    rocksdb_options_set_bottommost_compression(
        opts, compress ? rocksdb_zstd_compression : rocksdb_no_compression);
    /* Every write is synced, so only the WAL's last record can be torn, by
     * a crash while it was written, before sync() returned: replay drops
     * it. A bad record anywhere else means the disk lost acknowledged
     * writes, and the open fails rather than roll back past them, as
     * point-in-time recovery would: a validator that forgets a vote it
     * sent may vote twice (DESIGN §8). */
    rocksdb_options_set_wal_recovery_mode(
        opts, rocksdb_tolerate_corrupted_tail_records_recovery);
    /* Small families (safety, meta) pin old WAL files until flushed; this
     * bounds the WAL and so the replay time at open. */
    rocksdb_options_set_max_total_wal_size(opts, MAX_WAL_BYTES);
    /* Write table files and the WAL back to disk as they grow, 1 MiB at a
     * time, instead of leaving megabytes dirty for a flush or compaction
     * to force out at once: on ext4 (data=ordered) the next WAL sync
     * would wait for all of it, a stall of hundreds of ms every loop turn
     * then has to absorb. */
    rocksdb_options_set_bytes_per_sync(opts, SYNC_CHUNK_BYTES);
    /* Memtables: 16 MiB per family, 128 MiB for all of them together, so
     * that ten families do not each hold 2 x 64 MiB (RocksDB's defaults)
     * of a validator's resident memory. */
    rocksdb_options_set_write_buffer_size(opts, MEMTABLE_BYTES);
    rocksdb_options_set_db_write_buffer_size(opts, MEMTABLES_TOTAL_BYTES);
    rocksdb_options_set_wal_bytes_per_sync(opts, SYNC_CHUNK_BYTES);
    rocksdb_options_set_max_log_file_size(opts, INFO_LOG_BYTES);
    rocksdb_options_set_keep_log_file_num(opts, KEEP_INFO_LOGS);
    return opts;
}

/* A family's options: @base's, without compression. */
static rocksdb_options_t *copy_uncompressed(rocksdb_options_t *base)
{
    rocksdb_options_t *opts = rocksdb_options_create_copy(base);

    rocksdb_options_set_compression(opts, rocksdb_no_compression);
    rocksdb_options_set_bottommost_compression(opts, rocksdb_no_compression);
    return opts;
}

/* The tx family (K7, K9): one random 32-byte key per committed
 * transaction, written only by ingesting table files made with these
 * options, looked up by every submission (nearly always a miss: the table
 * files' bloom filters answer) and never iterated. The keys and the small
 * values do not compress. (Before K9: a hash-bucketed memtable made inserts
 * cheap, but each flush then sorted the whole memtable into a skiplist,
 * which cost as much again.) */
static rocksdb_options_t *make_tx_options(rocksdb_options_t *base)
{
    rocksdb_options_t *opts = copy_uncompressed(base);

    /* An ingested file goes to the deepest level it overlaps nothing in:
     * with fixed level sizes, one file per empty level, each one more
     * filter for every lookup to probe. With dynamic sizes the family is
     * level 0 over one base level (the last) until it outgrows it. */
    rocksdb_options_set_level_compaction_dynamic_level_bytes(opts, 1);
    return opts;
}

/* The batches family (K8): whole dissemination batches, tens of kilobytes
 * to megabytes each, keyed by their hash. Random keys make every level-0
 * table overlap all of level 1, so leveled compaction would rewrite the
 * payloads again and again: under sustained load that came to half of a
 * validator's CPU. Values of BLOB_MIN_BYTES or more go to blob files when
 * a memtable is flushed, and compaction then moves only keys and blob
 * references. Batches are not deleted, so there is no blob garbage to
 * collect (collection would relocate live blobs for nothing). Payloads
 * seldom compress (signatures, hashes), so the family is not compressed. */
static rocksdb_options_t *make_batch_options(rocksdb_options_t *base)
{
    rocksdb_options_t *opts = copy_uncompressed(base);

    rocksdb_options_set_enable_blob_files(opts, 1);
    rocksdb_options_set_min_blob_size(opts, BLOB_MIN_BYTES);
    rocksdb_options_set_enable_blob_gc(opts, 0);
    return opts;
}

/* The ns family (K8): every committed transaction's payload again, per
 * namespace and height. zstd on its bottom level cost as much CPU as all
 * of its compaction otherwise, for payloads (signatures, hashes) that
 * seldom compress: LZ4 at every level instead, which gives up quickly on
 * what does not compress. */
static rocksdb_options_t *make_ns_options(rocksdb_options_t *base,
                                          bool compress)
{
    rocksdb_options_t *opts = rocksdb_options_create_copy(base);

    rocksdb_options_set_bottommost_compression(
        opts, compress ? rocksdb_lz4_compression : rocksdb_no_compression);
    return opts;
}

/* Open @path with every family of (K1), creating what is missing. The tx
 * family's options go to *tx_out (the caller's) when the open succeeds. */
static rocksdb_t *open_db(const char *path,
                          bool compress,
                          rocksdb_column_family_handle_t **cf,
                          rocksdb_options_t **tx_out,
                          char **err)
{
    rocksdb_options_t *opts = make_options(compress);
    rocksdb_options_t *tx_opts = make_tx_options(opts);
    rocksdb_options_t *batch_opts = make_batch_options(opts);
    rocksdb_options_t *ns_opts = make_ns_options(opts, compress);
    const rocksdb_options_t *cf_opts[N_CF];
    rocksdb_t *db;
    size_t i;

    for (i = 0; i < N_CF; i++) {
        cf_opts[i] = opts;
    }
    cf_opts[CF_TX] = tx_opts;
    cf_opts[CF_BATCHES] = batch_opts;
    cf_opts[CF_NS] = ns_opts;
    db = rocksdb_open_column_families(opts, path, N_CF, cf_names, cf_opts, cf,
                                      err);
    rocksdb_options_destroy(ns_opts);
    rocksdb_options_destroy(batch_opts);
    rocksdb_options_destroy(opts);
    if (db == NULL) {
        rocksdb_options_destroy(tx_opts);
        tx_opts = NULL;
    }
    *tx_out = tx_opts;
    return db;
}

int store_rocks_open(const char *path,
                     struct store **out,
                     char errmsg[SEQ_ERRMSG_LEN])
{
    struct store_rocks *r;
    rocksdb_options_t *tx_opts = NULL;
    char why[SEQ_ERRMSG_LEN];
    char *err = NULL;
    int rv;

    assert(path != NULL && out != NULL && errmsg != NULL);
    r = seq_malloc(sizeof *r);
    if (r == NULL) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "store_rocks: open %s: %s", path,
                 seq_strerror(SEQ_ENOMEM));
        return SEQ_ENOMEM;
    }
    memset(r, 0, sizeof *r);
    r->base.ops = &store_rocks_ops;
    r->stats.compression = "lz4+zstd";
    r->db = open_db(path, true, r->cf, &tx_opts, &err);
    /* A RocksDB built without LZ4 or zstd refuses the options: then the
     * tables go uncompressed, which costs disk, not correctness. */
    if (r->db == NULL && err != NULL &&
        strstr(err, "is not linked with the binary") != NULL) {
        rocksdb_free(err);
        err = NULL;
        r->stats.compression = "none";
        r->db = open_db(path, false, r->cf, &tx_opts, &err);
    }
    if (r->db == NULL) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "store_rocks: open %s: %s", path,
                 err != NULL ? err : "unknown error");
        rocksdb_free(err);
        rv = SEQ_EIO;
        goto err_after_alloc;
    }
    /* RocksDB counts every operation into a thread-local perf context by
     * default (kEnableCount), a TLS lookup per memtable insert that showed
     * in profiles; nobody reads those counters. Per thread: the thread
     * that opens the store is the one that writes it. */
    rocksdb_set_perf_level(rocksdb_disable);
    r->ropts = rocksdb_readoptions_create();
    r->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(r->wopts, 1);
    /* overwrite_key: the index keeps only the latest write of a key. */
    r->batch = rocksdb_writebatch_wi_create(0, 1);
    rv = load_committed(r);
    if (rv != 0) {
        memcpy(errmsg, r->base.errmsg, SEQ_ERRMSG_LEN);
        goto err_after_open;
    }
    rv = rocks_txidx_open(r->db, r->cf[CF_TX], r->cf[CF_TXLOG], tx_opts, path,
                          &r->txidx, why);
    tx_opts = NULL; /* Its now, whatever happened. */
    if (rv != 0) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "store_rocks: open %s: %.200s", path,
                 why);
        goto err_after_open;
    }
    *out = &r->base;
    return SEQ_OK;

err_after_open:
    if (tx_opts != NULL) {
        rocksdb_options_destroy(tx_opts);
    }
    rocksdb_writebatch_wi_destroy(r->batch);
    rocksdb_writeoptions_destroy(r->wopts);
    rocksdb_readoptions_destroy(r->ropts);
    close_db(r->db, r->cf);
err_after_alloc:
    seq_free(r);
    return rv;
}

bool store_rocks_staged(struct store *s)
{
    struct store_rocks *r = rocks_of(s);

    return rocksdb_writebatch_wi_count(r->batch) > 0 ||
           rocks_txidx_has_writes(r->txidx);
}

int store_rocks_stats(struct store *s, struct store_rocks_stats *out)
{
    struct store_rocks *r = rocks_of(s);

    struct rocks_txidx_stats tx;

    assert(out != NULL);
    rocks_txidx_stats(r->txidx, &tx);
    *out = r->stats;
    out->tx_folds = tx.folds;
    out->tx_fold_records = tx.fold_records;
    out->tx_fold_us_max = tx.fold_us_max;
    out->tx_unfolded = tx.unfolded;
    return SEQ_OK;
}

void store_rocks_fail_syncs(struct store *s, bool fail)
{
    rocksdb_writeoptions_disable_WAL(rocks_of(s)->wopts, fail ? 1 : 0);
}

void store_rocks_set_fold_records(struct store *s, size_t n)
{
    rocks_txidx_set_fold_records(rocks_of(s)->txidx, n);
}

void store_rocks_wait_fold(struct store *s)
{
    rocks_txidx_wait_fold(rocks_of(s)->txidx);
}
