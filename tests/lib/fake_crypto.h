/* Signatures for tests. fake_crypto is a fast stand-in for hs_crypto_secp
 * that lets the simulator run many replicas for many rounds: keys are derived
 * from the node index, and a signature binds the signer's key to the
 * message, so a signature by A never passes as B's and any changed byte of
 * message or signature fails. It is NOT secure: anyone who knows a public
 * key (everyone) can sign for it. That is on purpose: Byzantine tests forge
 * through it by initialising a fake_crypto with the victim's index.
 *
 * test_secp_key() and test_secp_validator_set() give real, deterministic
 * BIP-340 keys for the suites that use hs_crypto_secp. They are static
 * inline because they call into seq_crypto, which seq_testlib does not
 * link: only binaries that call them need it. */

#ifndef SEQ_TESTS_LIB_FAKE_CRYPTO_H
#define SEQ_TESTS_LIB_FAKE_CRYPTO_H

#include <stdint.h>
#include <string.h>

#include "hs_crypto.h"
#include "hs_types.h"
#include "seq_err.h"
#include "seq_hash.h"

/* A signer for one validator. Embed it; base is what the core gets. */
struct fake_crypto {
    struct hs_crypto base;
    struct hs_pubkey pk;
};

/* Make @fc sign as validator @id. Needs no freeing; @fc must outlive every
 * user of &fc->base (base.impl points at it). */
void fake_crypto_init(struct fake_crypto *fc, hs_node_t id);

/* The fake public key of validator @id: SHA-256("SEQ-FAKE-KEY" || id),
 * id big-endian. */
void fake_crypto_pubkey(hs_node_t id, struct hs_pubkey *out);

/* Validators 0 .. n-1 with fake keys; the rest of @out is zeroed.
 * @n <= HS_MAX_VALIDATORS. */
void fake_validator_set(uint32_t n, struct hs_validator_set *out);

/* The real secret key of validator @id in test world @seed:
 * SHA-256("SEQ-TEST-KEY" || seed || id), integers big-endian; in the
 * (2^-128) case that this is not a valid key, a counter is appended and
 * bumped until it is. Returns 0, or SEQ_ENOMEM from hs_crypto_secp_pubkey
 * (or SEQ_EINVAL after 256 invalid candidates, which does not happen). */
static inline int test_secp_key(uint64_t seed, hs_node_t id, uint8_t seckey[32])
{
    static const char tag[] = "SEQ-TEST-KEY";
    struct hs_pubkey pk;
    uint32_t counter;
    int rv = SEQ_EINVAL;

    for (counter = 0; counter < 256 && rv == SEQ_EINVAL; counter++) {
        struct seq_sha256_ctx ctx;
        struct seq_hash h;

        seq_sha256_init(&ctx);
        seq_sha256_update(&ctx, tag, sizeof tag - 1);
        seq_sha256_u64(&ctx, seed);
        seq_sha256_u32(&ctx, id);
        if (counter > 0) {
            seq_sha256_u32(&ctx, counter);
        }
        seq_sha256_final(&ctx, &h);
        memcpy(seckey, h.bytes, 32);
        rv = hs_crypto_secp_pubkey(seckey, &pk);
    }
    return rv;
}

/* Validators 0 .. n-1 with the public keys of test_secp_key(seed, i); the
 * rest of @out is zeroed. Returns 0, SEQ_ENOMEM, or SEQ_EINVAL when
 * @n > HS_MAX_VALIDATORS. */
static inline int test_secp_validator_set(uint64_t seed,
                                          uint32_t n,
                                          struct hs_validator_set *out)
{
    uint8_t seckey[32];
    uint32_t i;
    int rv;

    memset(out, 0, sizeof *out);
    if (n > HS_MAX_VALIDATORS) {
        return SEQ_EINVAL;
    }
    out->n = n;
    for (i = 0; i < n; i++) {
        rv = test_secp_key(seed, i, seckey);
        if (rv == 0) {
            rv = hs_crypto_secp_pubkey(seckey, &out->keys[i]);
        }
        if (rv != 0) {
            return rv;
        }
    }
    return SEQ_OK;
}

#endif /* SEQ_TESTS_LIB_FAKE_CRYPTO_H */
