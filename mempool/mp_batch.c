/* The canonical encodings of batches and block payloads (mp_batch.h).
 * Decoders read through a cursor that refuses to move past the end, check
 * every length against what is left and against the limits before they
 * allocate, and demand that the input ends exactly where the encoding
 * does, so a peer can make us neither crash, nor over-allocate, nor accept
 * two byte strings for one batch. */

#include "mp_batch.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mp_batch_int.h"
#include "seq_alloc.h"
#include "seq_err.h"

/* A bounds-checked reader. Once a read fails, ok stays false and every
 * later read yields zeroes, so callers check once after a group. */
struct cursor {
    const uint8_t *p;
    size_t left;
    bool ok;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
    const uint8_t *p = c->p;

    if (!c->ok || n > c->left) {
        c->ok = false;
        return NULL;
    }
    c->p += n;
    c->left -= n;
    return p;
}

static uint64_t take_be(struct cursor *c, size_t n)
{
    const uint8_t *p = take(c, n);
    uint64_t v = 0;
    size_t i;

    if (p == NULL) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint8_t *put_be(uint8_t *p, uint64_t v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
    return p + n;
}

void mp_tx_hash(uint64_t ns,
                const void *payload,
                size_t len,
                struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;

    seq_sha256_init(&ctx);
    seq_sha256_u64(&ctx, ns);
    seq_sha256_update(&ctx, payload, len);
    seq_sha256_final(&ctx, out);
}

struct mp_batch *mp_batch_new_open(uint32_t author,
                                   uint64_t seq,
                                   size_t max_txs,
                                   size_t max_bytes)
{
    struct mp_batch *batch = seq_calloc(1, sizeof *batch);

    if (batch == NULL) {
        goto err;
    }
    batch->txs = seq_calloc(max_txs, sizeof *batch->txs);
    if (batch->txs == NULL) {
        goto err_after_batch;
    }
    batch->data = seq_malloc(max_bytes);
    if (batch->data == NULL) {
        goto err_after_txs;
    }
    batch->author = author;
    batch->seq = seq;
    batch->cap_txs = max_txs;
    batch->data_cap = max_bytes;
    return batch;

err_after_txs:
    seq_free(batch->txs);
err_after_batch:
    seq_free(batch);
err:
    return NULL;
}

void mp_batch_append(struct mp_batch *batch,
                     uint64_t ns,
                     const void *payload,
                     uint32_t len,
                     const struct seq_hash *hash)
{
    struct mp_tx_ref *ref;

    assert(batch->n_txs < batch->cap_txs);
    assert(len <= batch->data_cap - batch->data_len);
    ref = &batch->txs[batch->n_txs++];
    ref->ns = ns;
    ref->off = batch->data_len;
    ref->len = len;
    ref->hash = *hash;
    if (len > 0) {
        memcpy(batch->data + batch->data_len, payload, len);
    }
    batch->data_len += len;
    batch->payload_bytes += len;
}

/* Only open batches shrink; their payloads sit in order at the start of
 * data, so the bytes after the removed one slide down with the refs. */
void mp_batch_remove(struct mp_batch *batch, size_t i)
{
    struct mp_tx_ref gone;
    size_t j;

    assert(i < batch->n_txs);
    gone = batch->txs[i];
    memmove(batch->data + gone.off, batch->data + gone.off + gone.len,
            batch->data_len - gone.off - gone.len);
    for (j = i + 1; j < batch->n_txs; j++) {
        batch->txs[j - 1] = batch->txs[j];
        batch->txs[j - 1].off -= gone.len;
    }
    batch->n_txs--;
    batch->data_len -= gone.len;
    batch->payload_bytes -= gone.len;
}

/* An open batch has room for a full one (batch_max_txs, batch_max_bytes:
 * megabytes); sealed, it keeps only what it holds, or a validator sealing
 * a batch per loop turn would hold megabytes per batch until they commit.
 * Views use offsets, so moving the buffers is safe. If a realloc fails,
 * the batch keeps its room: nothing is lost. */
static void shrink(struct mp_batch *batch)
{
    struct mp_tx_ref *txs;
    uint8_t *data;

    txs = seq_realloc(batch->txs, batch->n_txs * sizeof *batch->txs);
    if (txs != NULL) {
        batch->txs = txs;
        batch->cap_txs = batch->n_txs;
    }
    if (batch->data_len > 0) {
        data = seq_realloc(batch->data, batch->data_len);
        if (data != NULL) {
            batch->data = data;
            batch->data_cap = batch->data_len;
        }
    }
}

void mp_batch_seal(struct mp_batch *batch)
{
    struct seq_sha256_ctx ctx;
    size_t i;

    assert(batch->n_txs > 0);
    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, MP_BATCH_TAG, MP_BATCH_TAG_LEN);
    seq_sha256_u32(&ctx, batch->author);
    seq_sha256_u64(&ctx, batch->seq);
    seq_sha256_u32(&ctx, (uint32_t)batch->n_txs);
    for (i = 0; i < batch->n_txs; i++) {
        const struct mp_tx_ref *ref = &batch->txs[i];
        seq_sha256_u64(&ctx, ref->ns);
        seq_sha256_u32(&ctx, ref->len);
        seq_sha256_update(&ctx, batch->data + ref->off, ref->len);
    }
    seq_sha256_final(&ctx, &batch->id);
    shrink(batch);
}

size_t mp_batch_encoded_len(const struct mp_batch *batch)
{
    return MP_BATCH_HEADER_LEN + MP_TX_HEADER_LEN * batch->n_txs +
           batch->payload_bytes;
}

int mp_batch_encode(const struct mp_batch *batch,
                    uint8_t **out,
                    size_t *out_len)
{
    size_t len = mp_batch_encoded_len(batch);
    uint8_t *buf = seq_malloc(len);
    uint8_t *p = buf;
    size_t i;

    if (buf == NULL) {
        return SEQ_ENOMEM;
    }
    memcpy(p, MP_BATCH_TAG, MP_BATCH_TAG_LEN);
    p += MP_BATCH_TAG_LEN;
    p = put_be(p, batch->author, 4);
    p = put_be(p, batch->seq, 8);
    p = put_be(p, batch->n_txs, 4);
    for (i = 0; i < batch->n_txs; i++) {
        const struct mp_tx_ref *ref = &batch->txs[i];
        p = put_be(p, ref->ns, 8);
        p = put_be(p, ref->len, 4);
        if (ref->len > 0) {
            memcpy(p, batch->data + ref->off, ref->len);
        }
        p += ref->len;
    }
    assert((size_t)(p - buf) == len);
    *out = buf;
    *out_len = len;
    return SEQ_OK;
}

/* First pass over a batch: the layout and the limits, without allocating.
 * Fills the header fields of @hdr. */
static int check_batch(const uint8_t *buf,
                       size_t len,
                       const struct mp_batch_limits *limits,
                       struct mp_batch *hdr)
{
    struct cursor c = { .p = buf, .left = len, .ok = true };
    const uint8_t *tag = take(&c, MP_BATCH_TAG_LEN);
    uint64_t total = 0;
    uint64_t count;
    uint64_t i;

    hdr->author = (uint32_t)take_be(&c, 4);
    hdr->seq = take_be(&c, 8);
    count = take_be(&c, 4);
    if (!c.ok || memcmp(tag, MP_BATCH_TAG, MP_BATCH_TAG_LEN) != 0) {
        return SEQ_EBADMSG;
    }
    /* Each transaction takes at least MP_TX_HEADER_LEN bytes, so this
     * bounds count by the input before anything is sized from it. */
    if (count == 0 || count > limits->max_txs ||
        count > c.left / MP_TX_HEADER_LEN) {
        return SEQ_EBADMSG;
    }
    for (i = 0; i < count; i++) {
        uint64_t tx_len;

        take_be(&c, 8);
        tx_len = take_be(&c, 4);
        if (!c.ok || tx_len > limits->max_tx_size || tx_len > c.left) {
            return SEQ_EBADMSG;
        }
        total += tx_len;
        if (total > limits->max_bytes) {
            return SEQ_EBADMSG;
        }
        take(&c, (size_t)tx_len);
    }
    if (!c.ok || c.left != 0) {
        return SEQ_EBADMSG; /* Truncated, or trailing bytes. */
    }
    hdr->n_txs = (size_t)count;
    hdr->payload_bytes = (size_t)total;
    return SEQ_OK;
}

/* The transaction whose header starts at @off of a batch check_batch()
 * accepted (so the reads are in bounds): its namespace and length into
 * @ns and @tx_len; returns the offset of its payload. */
static size_t tx_at(const uint8_t *buf,
                    size_t len,
                    size_t off,
                    uint64_t *ns,
                    uint32_t *tx_len)
{
    struct cursor c = { .p = buf + off, .left = len - off, .ok = true };

    *ns = take_be(&c, 8);
    *tx_len = (uint32_t)take_be(&c, 4);
    return off + MP_TX_HEADER_LEN;
}

int mp_batch_decode(const uint8_t *buf,
                    size_t len,
                    const struct mp_batch_limits *limits,
                    struct mp_batch **out)
{
    struct mp_batch hdr = { 0 };
    struct mp_batch *batch;
    size_t off = MP_BATCH_HEADER_LEN;
    size_t i;
    int rv;

    rv = check_batch(buf, len, limits, &hdr);
    if (rv != 0) {
        return rv;
    }
    batch = seq_calloc(1, sizeof *batch);
    if (batch == NULL) {
        goto err;
    }
    batch->txs = seq_calloc(hdr.n_txs, sizeof *batch->txs);
    if (batch->txs == NULL) {
        goto err_after_batch;
    }
    batch->data = seq_malloc(len);
    if (batch->data == NULL) {
        goto err_after_txs;
    }
    memcpy(batch->data, buf, len);
    batch->author = hdr.author;
    batch->seq = hdr.seq;
    batch->n_txs = batch->cap_txs = hdr.n_txs;
    batch->data_len = batch->data_cap = len;
    batch->payload_bytes = hdr.payload_bytes;
    for (i = 0; i < hdr.n_txs; i++) {
        struct mp_tx_ref *ref = &batch->txs[i];

        ref->off = tx_at(buf, len, off, &ref->ns, &ref->len);
        mp_tx_hash(ref->ns, batch->data + ref->off, ref->len, &ref->hash);
        off = ref->off + ref->len;
    }
    assert(off == len);
    seq_sha256(buf, len, &batch->id);
    *out = batch;
    return SEQ_OK;

err_after_txs:
    seq_free(batch->txs);
err_after_batch:
    seq_free(batch);
err:
    return SEQ_ENOMEM;
}

int mp_batch_views(const uint8_t *buf,
                   size_t len,
                   const struct mp_batch_limits *limits,
                   struct mp_tx **out,
                   size_t *n)
{
    struct mp_batch hdr = { 0 };
    struct mp_tx *txs;
    size_t off = MP_BATCH_HEADER_LEN;
    size_t i;
    int rv;

    rv = check_batch(buf, len, limits, &hdr);
    if (rv != 0) {
        return rv;
    }
    txs = seq_calloc(hdr.n_txs, sizeof *txs);
    if (txs == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i < hdr.n_txs; i++) {
        uint32_t tx_len;

        off = tx_at(buf, len, off, &txs[i].ns, &tx_len);
        txs[i].payload = buf + off;
        txs[i].len = tx_len;
        txs[i].index = (uint32_t)i;
        off += tx_len;
    }
    assert(off == len);
    *out = txs;
    *n = hdr.n_txs;
    return SEQ_OK;
}

void mp_batch_free(struct mp_batch *batch)
{
    if (batch == NULL) {
        return;
    }
    seq_free(batch->data);
    seq_free(batch->txs);
    seq_free(batch);
}

uint32_t mp_batch_author(const struct mp_batch *batch)
{
    return batch->author;
}

uint64_t mp_batch_seq(const struct mp_batch *batch)
{
    return batch->seq;
}

const struct seq_hash *mp_batch_id(const struct mp_batch *batch)
{
    return &batch->id;
}

size_t mp_batch_count(const struct mp_batch *batch)
{
    return batch->n_txs;
}

size_t mp_batch_payload_bytes(const struct mp_batch *batch)
{
    return batch->payload_bytes;
}

void mp_batch_tx(const struct mp_batch *batch, size_t i, struct mp_tx *out)
{
    const struct mp_tx_ref *ref;

    assert(i < batch->n_txs);
    ref = &batch->txs[i];
    out->ns = ref->ns;
    out->payload = batch->data + ref->off;
    out->len = ref->len;
    out->hash = ref->hash;
    out->index = (uint32_t)i;
    out->batch = 0;
}

int mp_payload_encode(const struct seq_hash *ids,
                      size_t n,
                      uint8_t **out,
                      size_t *out_len)
{
    size_t len = MP_PAYLOAD_HEADER_LEN + n * SEQ_HASH_LEN;
    uint8_t *buf;
    uint8_t *p;

    if (n == 0) {
        *out = NULL;
        *out_len = 0;
        return SEQ_OK;
    }
    assert(n <= UINT32_MAX);
    buf = seq_malloc(len);
    if (buf == NULL) {
        return SEQ_ENOMEM;
    }
    memcpy(buf, MP_PAYLOAD_TAG, MP_PAYLOAD_TAG_LEN);
    p = put_be(buf + MP_PAYLOAD_TAG_LEN, n, 4);
    memcpy(p, ids, n * SEQ_HASH_LEN);
    *out = buf;
    *out_len = len;
    return SEQ_OK;
}

static int cmp_hash(const void *a, const void *b)
{
    return seq_hash_cmp(a, b);
}

int mp_payload_decode(const uint8_t *buf,
                      size_t len,
                      size_t max_ids,
                      struct seq_hash **ids,
                      size_t *n)
{
    struct cursor c = { .p = buf, .left = len, .ok = true };
    const uint8_t *tag;
    struct seq_hash *out;
    struct seq_hash *sorted;
    uint64_t count;
    size_t i;

    if (len == 0) {
        *ids = NULL;
        *n = 0;
        return SEQ_OK;
    }
    tag = take(&c, MP_PAYLOAD_TAG_LEN);
    count = take_be(&c, 4);
    if (!c.ok || memcmp(tag, MP_PAYLOAD_TAG, MP_PAYLOAD_TAG_LEN) != 0 ||
        count == 0 || count > max_ids || c.left / SEQ_HASH_LEN != count ||
        c.left % SEQ_HASH_LEN != 0) {
        return SEQ_EBADMSG;
    }
    out = seq_malloc((size_t)count * sizeof *out);
    if (out == NULL) {
        return SEQ_ENOMEM;
    }
    memcpy(out, c.p, (size_t)count * SEQ_HASH_LEN);
    /* Repeated ids: sort a copy. qsort's order among equal keys does not
     * matter, since only adjacency of equal ids is looked at. */
    sorted = seq_malloc((size_t)count * sizeof *sorted);
    if (sorted == NULL) {
        seq_free(out);
        return SEQ_ENOMEM;
    }
    memcpy(sorted, out, (size_t)count * sizeof *sorted);
    qsort(sorted, (size_t)count, sizeof *sorted, cmp_hash);
    for (i = 1; i < count; i++) {
        if (seq_hash_eq(&sorted[i - 1], &sorted[i])) {
            seq_free(sorted);
            seq_free(out);
            return SEQ_EBADMSG;
        }
    }
    seq_free(sorted);
    *ids = out;
    *n = (size_t)count;
    return SEQ_OK;
}
