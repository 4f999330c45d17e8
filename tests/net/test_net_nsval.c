/* Namespace entries as the ns column family stores them (net/net_nsval.h):
 * references round-trip; the two stored forms are told apart by their
 * first four bytes, whatever the payload count; every truncation, a zero
 * or wrong count, trailing bytes and a wrong magic are SEQ_ECORRUPT with
 * the outputs untouched; running out of memory is a clean SEQ_ENOMEM. */

#include <string.h>

#include "harness.h"
#include "net_nsval.h"
#include "seq_alloc.h"
#include "seq_err.h"

#define NS 7

static size_t make_refs(uint8_t *out, size_t n)
{
    struct mp_tx txs[16];
    size_t i;

    memset(txs, 0, sizeof txs);
    for (i = 0; i < n; i++) {
        txs[i].batch = (uint32_t)(i / 3);
        txs[i].index = (uint32_t)(0x01020304u + i);
    }
    net_nsval_encode_refs(txs, n, out);
    return net_nsval_refs_len(n);
}

TEST(nsval, refs_round_trip)
{
    uint8_t buf[256];
    struct net_nsref *refs = NULL;
    uint32_t n = 0;
    size_t count;
    size_t i;

    for (count = 1; count <= 16; count++) {
        size_t len = make_refs(buf, count);
        ASSERT_EQ(len, 8 + 8 * count);
        ASSERT_TRUE(net_nsval_is_refs(buf, len));
        ASSERT_OK(net_nsval_decode_refs(buf, len, &refs, &n));
        ASSERT_EQ(n, count);
        for (i = 0; i < count; i++) {
            ASSERT_EQ(refs[i].batch, i / 3);
            ASSERT_EQ(refs[i].index, 0x01020304u + i);
        }
        seq_free(refs);
    }
}

TEST(nsval, refs_refuse_malformed)
{
    uint8_t buf[64];
    uint8_t bad[64];
    struct net_nsref *refs = (struct net_nsref *)buf; /* Must stay. */
    uint32_t n = 99;
    size_t len = make_refs(buf, 3);
    size_t i;

    /* Every truncation, and one byte too many. */
    for (i = 0; i < len; i++) {
        ASSERT_ERR(net_nsval_decode_refs(buf, i, &refs, &n), SEQ_ECORRUPT);
    }
    memcpy(bad, buf, len);
    bad[len] = 0;
    ASSERT_ERR(net_nsval_decode_refs(bad, len + 1, &refs, &n), SEQ_ECORRUPT);
    /* A count of zero, one too many, one too few. */
    memcpy(bad, buf, len);
    bad[7] = 0;
    ASSERT_ERR(net_nsval_decode_refs(bad, len, &refs, &n), SEQ_ECORRUPT);
    bad[7] = 4;
    ASSERT_ERR(net_nsval_decode_refs(bad, len, &refs, &n), SEQ_ECORRUPT);
    bad[7] = 2;
    ASSERT_ERR(net_nsval_decode_refs(bad, len, &refs, &n), SEQ_ECORRUPT);
    /* Each byte of the magic. */
    for (i = 0; i < NET_NSVAL_MAGIC_LEN; i++) {
        memcpy(bad, buf, len);
        bad[i] ^= 0x20;
        ASSERT_FALSE(net_nsval_is_refs(bad, len));
        ASSERT_ERR(net_nsval_decode_refs(bad, len, &refs, &n), SEQ_ECORRUPT);
    }
    ASSERT_TRUE(refs == (struct net_nsref *)buf);
    ASSERT_EQ(n, 99u);
}

/* The form written before references: u32 count, then u32 len and the
 * payload for each entry. */
static size_t make_payloads(uint8_t *out, const char *const *p, size_t n)
{
    size_t pos = 4;
    size_t i;

    out[0] = (uint8_t)(n >> 24);
    out[1] = (uint8_t)(n >> 16);
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
    for (i = 0; i < n; i++) {
        size_t l = strlen(p[i]);
        out[pos] = out[pos + 1] = out[pos + 2] = 0;
        out[pos + 3] = (uint8_t)l;
        memcpy(out + pos + 4, p[i], l);
        pos += 4 + l;
    }
    return pos;
}

TEST(nsval, payload_form_still_read)
{
    static const char *const p[] = { "alpha", "", "gamma" };
    uint8_t buf[64];
    struct seqc_tx *txs = NULL;
    uint32_t n = 0;
    size_t len = make_payloads(buf, p, 3);
    size_t i;

    ASSERT_FALSE(net_nsval_is_refs(buf, len));
    ASSERT_OK(net_nsval_decode_payloads(NS, buf, len, &txs, &n));
    ASSERT_EQ(n, 3u);
    for (i = 0; i < 3; i++) {
        ASSERT_EQ(txs[i].ns, NS);
        ASSERT_EQ(txs[i].len, strlen(p[i]));
        ASSERT_MEMEQ(txs[i].payload, p[i], txs[i].len);
        /* Views into the value. */
        ASSERT_TRUE(txs[i].payload >= buf && txs[i].payload <= buf + len);
    }
    seq_free(txs);
}

TEST(nsval, payloads_refuse_malformed)
{
    static const char *const p[] = { "alpha", "beta" };
    uint8_t buf[64];
    uint8_t bad[64];
    struct seqc_tx *txs = (struct seqc_tx *)buf; /* Must stay. */
    uint32_t n = 99;
    size_t len = make_payloads(buf, p, 2);
    size_t i;

    for (i = 0; i < len; i++) {
        ASSERT_ERR(net_nsval_decode_payloads(NS, buf, i, &txs, &n),
                   SEQ_ECORRUPT);
    }
    memcpy(bad, buf, len);
    bad[len] = 'x';
    ASSERT_ERR(net_nsval_decode_payloads(NS, bad, len + 1, &txs, &n),
               SEQ_ECORRUPT);
    memcpy(bad, buf, len);
    bad[3] = 0;
    ASSERT_ERR(net_nsval_decode_payloads(NS, bad, len, &txs, &n), SEQ_ECORRUPT);
    bad[3] = 3;
    ASSERT_ERR(net_nsval_decode_payloads(NS, bad, len, &txs, &n), SEQ_ECORRUPT);
    /* A length past the end. */
    memcpy(bad, buf, len);
    bad[7] = 200;
    ASSERT_ERR(net_nsval_decode_payloads(NS, bad, len, &txs, &n), SEQ_ECORRUPT);
    ASSERT_TRUE(txs == (struct seqc_tx *)buf);
    ASSERT_EQ(n, 99u);
}

TEST(nsval, out_of_memory_is_clean)
{
    static const char *const p[] = { "alpha" };
    uint8_t refs_buf[64];
    uint8_t pay_buf[64];
    size_t refs_len = make_refs(refs_buf, 5);
    size_t pay_len = make_payloads(pay_buf, p, 1);
    struct net_nsref *refs = NULL;
    struct seqc_tx *txs = NULL;
    uint32_t n = 0;

    seq_alloc_fail_at(1, 0);
    ASSERT_ERR(net_nsval_decode_refs(refs_buf, refs_len, &refs, &n),
               SEQ_ENOMEM);
    seq_alloc_fail_at(1, 0);
    ASSERT_ERR(net_nsval_decode_payloads(NS, pay_buf, pay_len, &txs, &n),
               SEQ_ENOMEM);
    seq_alloc_fail_at(0, 0);
    ASSERT_TRUE(refs == NULL && txs == NULL);
    ASSERT_EQ(n, 0u);
}

TEST_MAIN()
