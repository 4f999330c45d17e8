/* BIP-340 Schnorr signatures on libsecp256k1, behind struct hs_crypto. A
 * replica signs votes, timeouts and proposals with its own key and checks
 * everyone else's; verification is the hot path (a QC carries 2f+1
 * signatures), so parsed x-only public keys are kept in a small cache.
 *
 * The code is as pure as the rest of the core: it reads no random source,
 * file or clock. Nonces are BIP-340's deterministic ones (aux_rand NULL,
 * which libsecp256k1 treats exactly like 32 zero bytes): safe, because the
 * nonce is derived from the secret key and the message. The context is not
 * randomized (secp256k1_context_randomize): that blinding only hardens
 * signing against side channels and would need 32 bytes of OS randomness,
 * which the core may not read. Every allocation, the context included, goes
 * through seq_malloc (secp256k1_context_preallocated_create).
 *
 * Each object is for one thread at a time: verify() updates the cache. */

#include "hs_crypto.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_preallocated.h>
#include <secp256k1_schnorrsig.h>

#include "seq_alloc.h"
#include "seq_err.h"

/* Twice the largest validator set, so one set fits at load <= 1/2, and a
 * lookup probes a bounded window: a miss costs a few memcmps, never a scan.
 * A key that finds its window full evicts the window's first slot. */
#define SECP_CACHE_SLOTS  (2 * HS_MAX_VALIDATORS)
#define SECP_CACHE_PROBES 8

struct secp_cache_slot {
    bool used;
    uint8_t key[HS_PUBKEY_LEN];
    secp256k1_xonly_pubkey parsed;
};

struct secp_crypto {
    struct hs_crypto base;
    secp256k1_context *ctx; /* Lives in ctx_mem. */
    void *ctx_mem;          /* Owned; seq_malloc'd. */
    bool has_key;
    secp256k1_keypair keypair;     /* Valid when has_key. */
    secp256k1_xonly_pubkey own_pk; /* Valid when has_key. */
    struct secp_cache_slot cache[SECP_CACHE_SLOTS];
};

/* Overwrite secrets in a way the compiler may not drop as a dead store. */
static void wipe(void *ptr, size_t len)
{
    volatile uint8_t *p = ptr;
    size_t i;

    for (i = 0; i < len; i++) {
        p[i] = 0;
    }
}

/* FNV-1a over the whole key. Honest keys are uniform already; hashing all
 * 32 bytes keeps a chosen key from crowding one window cheaply. */
static size_t cache_index(const uint8_t key[HS_PUBKEY_LEN])
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < HS_PUBKEY_LEN; i++) {
        h ^= key[i];
        h *= 16777619u;
    }
    return (size_t)h % SECP_CACHE_SLOTS;
}

/* The parsed form of @pk, from the cache or parsed now and remembered.
 * Only keys that parse are cached. Returns NULL for a malformed key (not an
 * x coordinate on the curve, or not below the field size). */
static const secp256k1_xonly_pubkey *pubkey_lookup(struct secp_crypto *sc,
                                                   const struct hs_pubkey *pk)
{
    size_t start = cache_index(pk->bytes);
    struct secp_cache_slot *slot = NULL;
    secp256k1_xonly_pubkey parsed;
    size_t i;

    for (i = 0; i < SECP_CACHE_PROBES; i++) {
        struct secp_cache_slot *s = &sc->cache[(start + i) % SECP_CACHE_SLOTS];

        if (!s->used) {
            if (slot == NULL) {
                slot = s;
            }
            continue;
        }
        if (memcmp(s->key, pk->bytes, HS_PUBKEY_LEN) == 0) {
            return &s->parsed;
        }
    }
    /* Parse before choosing a victim, so a malformed key evicts nothing. */
    if (!secp256k1_xonly_pubkey_parse(sc->ctx, &parsed, pk->bytes)) {
        return NULL;
    }
    if (slot == NULL) {
        slot = &sc->cache[start];
    }
    memcpy(slot->key, pk->bytes, HS_PUBKEY_LEN);
    slot->parsed = parsed;
    slot->used = true;
    return &slot->parsed;
}

/* BIP-340 "Default Signing" recommends checking a fresh signature before it
 * leaves: with deterministic nonces, a fault during signing could otherwise
 * publish a signature that reveals the key. Costs one verify per sign, and
 * replicas sign a few messages per round. */
static int secp_sign(const struct hs_crypto *crypto,
                     const struct seq_hash *msg,
                     struct hs_sig *out)
{
    struct secp_crypto *sc;

    assert(crypto != NULL);
    assert(msg != NULL);
    assert(out != NULL);
    sc = crypto->impl;

    if (!sc->has_key) {
        return SEQ_EINVAL;
    }
    if (!secp256k1_schnorrsig_sign32(sc->ctx, out->bytes, msg->bytes,
                                     &sc->keypair, NULL) ||
        !secp256k1_schnorrsig_verify(sc->ctx, out->bytes, msg->bytes,
                                     SEQ_HASH_LEN, &sc->own_pk)) {
        memset(out->bytes, 0, sizeof out->bytes);
        return SEQ_EINVAL;
    }
    return SEQ_OK;
}

static int secp_verify(const struct hs_crypto *crypto,
                       const struct hs_pubkey *pk,
                       const struct seq_hash *msg,
                       const struct hs_sig *sig)
{
    const secp256k1_xonly_pubkey *parsed;
    struct secp_crypto *sc;

    assert(crypto != NULL);
    assert(pk != NULL);
    assert(msg != NULL);
    assert(sig != NULL);
    sc = crypto->impl;

    parsed = pubkey_lookup(sc, pk);
    if (parsed == NULL) {
        return SEQ_EBADMSG;
    }
    /* Rejects r >= p, s >= n and every other malformed signature with 0;
     * no input bytes can make it call the illegal-argument callback. */
    if (!secp256k1_schnorrsig_verify(sc->ctx, sig->bytes, msg->bytes,
                                     SEQ_HASH_LEN, parsed)) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

/* A context in seq_malloc'd memory. NULL only when out of memory. */
static secp256k1_context *context_new(void **mem)
{
    size_t size = secp256k1_context_preallocated_size(SECP256K1_CONTEXT_NONE);

    *mem = seq_malloc(size);
    if (*mem == NULL) {
        return NULL;
    }
    return secp256k1_context_preallocated_create(*mem, SECP256K1_CONTEXT_NONE);
}

static void context_free(secp256k1_context *ctx, void *mem)
{
    secp256k1_context_preallocated_destroy(ctx);
    seq_free(mem);
}

int hs_crypto_secp_new(const uint8_t seckey[32], struct hs_crypto **out)
{
    struct secp_crypto *sc;
    int rv;

    assert(out != NULL);

    sc = seq_calloc(1, sizeof *sc);
    if (sc == NULL) {
        rv = SEQ_ENOMEM;
        goto err;
    }
    sc->ctx = context_new(&sc->ctx_mem);
    if (sc->ctx == NULL) {
        rv = SEQ_ENOMEM;
        goto err_after_alloc;
    }
    if (seckey != NULL) {
        /* keypair_create rejects zero and keys >= the group order. */
        if (!secp256k1_keypair_create(sc->ctx, &sc->keypair, seckey) ||
            !secp256k1_keypair_xonly_pub(sc->ctx, &sc->own_pk, NULL,
                                         &sc->keypair)) {
            rv = SEQ_EINVAL;
            goto err_after_context;
        }
        sc->has_key = true;
    }
    sc->base.impl = sc;
    sc->base.sign = secp_sign;
    sc->base.verify = secp_verify;
    *out = &sc->base;
    return SEQ_OK;

err_after_context:
    context_free(sc->ctx, sc->ctx_mem);
err_after_alloc:
    wipe(sc, sizeof *sc);
    seq_free(sc);
err:
    return rv;
}

void hs_crypto_secp_free(struct hs_crypto *crypto)
{
    struct secp_crypto *sc;

    if (crypto == NULL) {
        return;
    }
    sc = crypto->impl;
    context_free(sc->ctx, sc->ctx_mem);
    wipe(sc, sizeof *sc);
    seq_free(sc);
}

int hs_crypto_secp_pubkey(const uint8_t seckey[32], struct hs_pubkey *out)
{
    secp256k1_keypair keypair;
    secp256k1_xonly_pubkey xonly;
    secp256k1_context *ctx;
    void *ctx_mem;
    int rv;

    assert(seckey != NULL);
    assert(out != NULL);

    /* secp256k1_context_static cannot derive keys in 0.2.0 (no generator
     * tables), so this takes a short-lived context of its own. */
    ctx = context_new(&ctx_mem);
    if (ctx == NULL) {
        rv = SEQ_ENOMEM;
        goto err;
    }
    if (!secp256k1_keypair_create(ctx, &keypair, seckey) ||
        !secp256k1_keypair_xonly_pub(ctx, &xonly, NULL, &keypair) ||
        !secp256k1_xonly_pubkey_serialize(ctx, out->bytes, &xonly)) {
        rv = SEQ_EINVAL;
        goto cleanup;
    }
    rv = SEQ_OK;

    /* Success and failure alike drop the context and the secret copy. */
cleanup:
    wipe(&keypair, sizeof keypair);
    context_free(ctx, ctx_mem);
err:
    return rv;
}

int hs_crypto_secp_keygen(int (*source)(void *buf, size_t len),
                          uint8_t seckey[32])
{
    unsigned tries;
    int rv;

    /* A uniformly random 32-byte string is a valid scalar except with
     * probability about 2^-128; 16 invalid draws mean a broken source. */
    for (tries = 0; tries < 16; tries++) {
        rv = source(seckey, 32);
        if (rv != 0) {
            memset(seckey, 0, 32);
            return rv;
        }
        if (secp256k1_ec_seckey_verify(secp256k1_context_static, seckey)) {
            return SEQ_OK;
        }
    }
    memset(seckey, 0, 32);
    return SEQ_EINVAL;
}
