/* Signatures behind an interface. The real implementation is BIP-340
 * Schnorr over secp256k1 (hs_crypto_secp.c); the simulator has a fast fake
 * (tests/lib/fake_crypto.c), and Byzantine tests forge through it. Messages
 * are always 32-byte digests of domain-separated encodings (hs_verify.h).
 * An object is used by one thread at a time: verification may update its
 * cache of parsed keys even through a const pointer. */

#ifndef SEQ_CONSENSUS_HS_CRYPTO_H
#define SEQ_CONSENSUS_HS_CRYPTO_H

#include "hs_types.h"
#include "seq_hash.h"

struct hs_crypto {
    void *impl;
    /* Sign @msg with this replica's secret key. 0 or SEQ_EINVAL. */
    int (*sign)(const struct hs_crypto *crypto,
                const struct seq_hash *msg,
                struct hs_sig *out);
    /* 0 if @sig is @pk's signature of @msg, else SEQ_EBADMSG. Any key may
     * be checked; the object's own secret key plays no part. */
    int (*verify)(const struct hs_crypto *crypto,
                  const struct hs_pubkey *pk,
                  const struct seq_hash *msg,
                  const struct hs_sig *sig);
};

/* libsecp256k1 BIP-340 implementation. @seckey may be NULL for a
 * verify-only object. Returns 0, SEQ_EINVAL (invalid secret key) or
 * SEQ_ENOMEM. Free with hs_crypto_secp_free. */
int hs_crypto_secp_new(const uint8_t seckey[32], struct hs_crypto **out);
void hs_crypto_secp_free(struct hs_crypto *crypto);

/* Derive the x-only public key of @seckey. 0, SEQ_EINVAL or SEQ_ENOMEM. */
int hs_crypto_secp_pubkey(const uint8_t seckey[32], struct hs_pubkey *out);

/* A fresh secret key from @source (32 bytes at a time, retried until they
 * form a valid secp256k1 scalar; at most 16 tries). The core reads no OS
 * randomness itself: key generation tools pass seq_random_bytes
 * (common/seq_random.h). Returns 0, the source's error, SEQ_EINVAL when 16
 * draws were all invalid (a broken source). */
int hs_crypto_secp_keygen(int (*source)(void *buf, size_t len),
                          uint8_t seckey[32]);

#endif /* SEQ_CONSENSUS_HS_CRYPTO_H */
