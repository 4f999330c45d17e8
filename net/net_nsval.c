/* Namespace entries as stored (net_nsval.h). */

#include "net_nsval.h"

#include <string.h>

#include "seq_alloc.h"
#include "seq_be.h"
#include "seq_err.h"

#define REF_LEN 8 /* batch, index */

size_t net_nsval_refs_len(size_t n)
{
    return NET_NSVAL_MAGIC_LEN + 4 + n * REF_LEN;
}

void net_nsval_encode_refs(const struct mp_tx *txs, size_t n, uint8_t *out)
{
    size_t i;

    memcpy(out, NET_NSVAL_MAGIC, NET_NSVAL_MAGIC_LEN);
    seq_be32_put(out + NET_NSVAL_MAGIC_LEN, (uint32_t)n);
    out += NET_NSVAL_MAGIC_LEN + 4;
    for (i = 0; i < n; i++, out += REF_LEN) {
        seq_be32_put(out, txs[i].batch);
        seq_be32_put(out + 4, txs[i].index);
    }
}

bool net_nsval_is_refs(const uint8_t *buf, size_t len)
{
    return len >= NET_NSVAL_MAGIC_LEN &&
           memcmp(buf, NET_NSVAL_MAGIC, NET_NSVAL_MAGIC_LEN) == 0;
}

int net_nsval_decode_refs(const uint8_t *buf,
                          size_t len,
                          struct net_nsref **out,
                          uint32_t *n)
{
    const size_t head = NET_NSVAL_MAGIC_LEN + 4;
    struct net_nsref *refs;
    uint32_t count, i;

    if (!net_nsval_is_refs(buf, len) || len < head) {
        return SEQ_ECORRUPT;
    }
    count = seq_be32_get(buf + NET_NSVAL_MAGIC_LEN);
    if (count == 0 || (len - head) % REF_LEN != 0 ||
        (len - head) / REF_LEN != count) {
        return SEQ_ECORRUPT;
    }
    refs = seq_calloc(count, sizeof *refs);
    if (refs == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i < count; i++) {
        const uint8_t *p = buf + head + (size_t)i * REF_LEN;
        refs[i].batch = seq_be32_get(p);
        refs[i].index = seq_be32_get(p + 4);
    }
    *out = refs;
    *n = count;
    return SEQ_OK;
}

int net_nsval_decode_payloads(uint64_t ns,
                              const uint8_t *buf,
                              size_t len,
                              struct seqc_tx **out,
                              uint32_t *n)
{
    struct seqc_tx *txs;
    size_t pos = 4, i;
    uint32_t count;

    if (len < 4) {
        return SEQ_ECORRUPT;
    }
    count = seq_be32_get(buf);
    if (count == 0 || count > (len - 4) / 4) {
        return SEQ_ECORRUPT;
    }
    txs = seq_calloc(count, sizeof *txs);
    if (txs == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i < count; i++) {
        uint32_t l;
        if (len - pos < 4) {
            break;
        }
        l = seq_be32_get(buf + pos);
        pos += 4;
        if (l > len - pos) {
            break;
        }
        txs[i].ns = ns;
        txs[i].payload = buf + pos;
        txs[i].len = l;
        pos += l;
    }
    if (i != count || pos != len) {
        seq_free(txs);
        return SEQ_ECORRUPT;
    }
    *out = txs;
    *n = count;
    return SEQ_OK;
}
