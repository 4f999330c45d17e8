/* The fake signature scheme (see fake_crypto.h). With pk the signer's fake
 * public key and msg the 32-byte digest:
 *
 *   sig[0..31]  = msg XOR pk
 *   sig[32..63] = fake_sig_tag (32 fixed bytes) XOR pk
 *
 * Verify recomputes both halves for the claimed key and compares. The
 * second half alone tells keys apart (A's never equals B's, since their
 * keys differ); the first half binds the message. Forging needs only the
 * public key: NOT secure, and meant to be forged by Byzantine tests. */

#include "fake_crypto.h"

#include <assert.h>
#include <string.h>

#include "seq_err.h"
#include "seq_hash.h"

static const uint8_t fake_sig_tag[32] = "SEQ-FAKE-SIG-TAG-NOT-SECURE-0001";

static void fake_sig_compute(const struct hs_pubkey *pk,
                             const struct seq_hash *msg,
                             struct hs_sig *out)
{
    size_t i;

    for (i = 0; i < 32; i++) {
        out->bytes[i] = (uint8_t)(msg->bytes[i] ^ pk->bytes[i]);
        out->bytes[32 + i] = (uint8_t)(fake_sig_tag[i] ^ pk->bytes[i]);
    }
}

static int fake_sign(const struct hs_crypto *crypto,
                     const struct seq_hash *msg,
                     struct hs_sig *out)
{
    const struct fake_crypto *fc = crypto->impl;

    fake_sig_compute(&fc->pk, msg, out);
    return SEQ_OK;
}

static int fake_verify(const struct hs_crypto *crypto,
                       const struct hs_pubkey *pk,
                       const struct seq_hash *msg,
                       const struct hs_sig *sig)
{
    struct hs_sig expect;

    (void)crypto;
    fake_sig_compute(pk, msg, &expect);
    if (memcmp(expect.bytes, sig->bytes, HS_SIG_LEN) != 0) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

void fake_crypto_pubkey(hs_node_t id, struct hs_pubkey *out)
{
    static const char tag[] = "SEQ-FAKE-KEY";
    struct seq_sha256_ctx ctx;
    struct seq_hash h;

    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, tag, sizeof tag - 1);
    seq_sha256_u32(&ctx, id);
    seq_sha256_final(&ctx, &h);
    memcpy(out->bytes, h.bytes, HS_PUBKEY_LEN);
}

void fake_crypto_init(struct fake_crypto *fc, hs_node_t id)
{
    assert(fc != NULL);

    memset(fc, 0, sizeof *fc);
    fake_crypto_pubkey(id, &fc->pk);
    fc->base.impl = fc;
    fc->base.sign = fake_sign;
    fc->base.verify = fake_verify;
}

void fake_validator_set(uint32_t n, struct hs_validator_set *out)
{
    uint32_t i;

    assert(out != NULL);
    assert(n <= HS_MAX_VALIDATORS);

    memset(out, 0, sizeof *out);
    out->n = n;
    for (i = 0; i < n; i++) {
        fake_crypto_pubkey(i, &out->keys[i]);
    }
}
