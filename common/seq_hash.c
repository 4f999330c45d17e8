/* SHA-256 for block ids, batch ids, transaction hashes and Merkle nodes.
 *
 * Both the one-shot and the incremental form run on OpenSSL's low-level
 * SHA256_CTX, which lives inside the caller's struct seq_sha256_ctx. The EVP
 * interface would allocate a context (and, in OpenSSL 3, fetch an algorithm)
 * on every digest; the core hashes on every message, must not allocate to do
 * it, and must not fail. The low-level calls are deprecated in OpenSSL 3 but
 * remain supported for exactly this use, hence OPENSSL_SUPPRESS_DEPRECATED,
 * confined to this file. */

#define OPENSSL_SUPPRESS_DEPRECATED

#include "seq_hash.h"

#include <assert.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

/* The opaque array must hold a SHA256_CTX with its alignment; if a future
 * OpenSSL grows the struct, the build stops here instead of corrupting the
 * caller's stack. */
static_assert(sizeof(SHA256_CTX) <=
                  sizeof(((struct seq_sha256_ctx *)0)->opaque),
              "SHA256_CTX does not fit in struct seq_sha256_ctx");
static_assert(alignof(SHA256_CTX) <= alignof(struct seq_sha256_ctx),
              "struct seq_sha256_ctx is not aligned enough for SHA256_CTX");

/* Only OpenSSL reads or writes the opaque bytes, always as a SHA256_CTX. */
static SHA256_CTX *sha_ctx(struct seq_sha256_ctx *ctx)
{
    return (SHA256_CTX *)(void *)ctx->opaque;
}

/* The low-level calls return 1, or 0 only on a NULL argument or a broken
 * library. Hashing is not allowed to fail (seq_hash.h), so stop. */
static void check(int ok)
{
    if (ok != 1) {
        abort();
    }
}

void seq_sha256(const void *data, size_t len, struct seq_hash *out)
{
    SHA256_CTX ctx;

    assert(data != NULL || len == 0);
    check(SHA256_Init(&ctx));
    check(SHA256_Update(&ctx, data, len));
    check(SHA256_Final(out->bytes, &ctx));
}

void seq_sha256_init(struct seq_sha256_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    check(SHA256_Init(sha_ctx(ctx)));
}

void seq_sha256_update(struct seq_sha256_ctx *ctx, const void *data, size_t len)
{
    assert(data != NULL || len == 0);
    check(SHA256_Update(sha_ctx(ctx), data, len));
}

void seq_sha256_u64(struct seq_sha256_ctx *ctx, uint64_t v)
{
    uint8_t buf[8];
    unsigned i;

    for (i = 0; i < 8; i++) {
        buf[i] = (uint8_t)(v >> (56 - 8 * i));
    }
    seq_sha256_update(ctx, buf, sizeof buf);
}

void seq_sha256_u32(struct seq_sha256_ctx *ctx, uint32_t v)
{
    uint8_t buf[4];
    unsigned i;

    for (i = 0; i < 4; i++) {
        buf[i] = (uint8_t)(v >> (24 - 8 * i));
    }
    seq_sha256_update(ctx, buf, sizeof buf);
}

/* Leaves @ctx finished; it must be initialised again before reuse. */
void seq_sha256_final(struct seq_sha256_ctx *ctx, struct seq_hash *out)
{
    check(SHA256_Final(out->bytes, sha_ctx(ctx)));
}

bool seq_hash_eq(const struct seq_hash *a, const struct seq_hash *b)
{
    return memcmp(a->bytes, b->bytes, SEQ_HASH_LEN) == 0;
}

bool seq_hash_is_zero(const struct seq_hash *h)
{
    uint8_t acc = 0;
    size_t i;

    for (i = 0; i < SEQ_HASH_LEN; i++) {
        acc |= h->bytes[i];
    }
    return acc == 0;
}

/* Byte-wise (big-endian) order, the order a sorted list of ids uses. Returns
 * -1, 0 or 1 rather than memcmp's arbitrary magnitude. */
int seq_hash_cmp(const struct seq_hash *a, const struct seq_hash *b)
{
    int c = memcmp(a->bytes, b->bytes, SEQ_HASH_LEN);

    return (c > 0) - (c < 0);
}
