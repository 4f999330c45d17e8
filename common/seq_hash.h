/* SHA-256 digests (OpenSSL's low-level SHA256_CTX, which never allocates). A
 * struct seq_hash is 32 plain bytes with no padding, so it can be compared with
 * memcmp and hashed into other digests as it is. */

#ifndef SEQ_COMMON_SEQ_HASH_H
#define SEQ_COMMON_SEQ_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEQ_HASH_LEN 32

struct seq_hash {
    uint8_t bytes[SEQ_HASH_LEN];
};

/* One-shot SHA-256 of @len bytes at @data into @out. Cannot fail except on
 * a broken OpenSSL, which aborts. */
void seq_sha256(const void *data, size_t len, struct seq_hash *out);

/* Incremental SHA-256 for domain-separated encodings. Fixed-size state, no
 * allocation: it is a hand-written wrapper over OpenSSL's low-level
 * interface so that hashing in the core never allocates. */
struct seq_sha256_ctx {
    uint64_t opaque[16]; /* Large enough for OpenSSL's SHA256_CTX. */
};
void seq_sha256_init(struct seq_sha256_ctx *ctx);
void seq_sha256_update(struct seq_sha256_ctx *ctx,
                       const void *data,
                       size_t len);
void seq_sha256_u64(struct seq_sha256_ctx *ctx, uint64_t v); /* big-endian */
void seq_sha256_u32(struct seq_sha256_ctx *ctx, uint32_t v); /* big-endian */
void seq_sha256_final(struct seq_sha256_ctx *ctx, struct seq_hash *out);

bool seq_hash_eq(const struct seq_hash *a, const struct seq_hash *b);
bool seq_hash_is_zero(const struct seq_hash *h);
int seq_hash_cmp(const struct seq_hash *a, const struct seq_hash *b);

#endif /* SEQ_COMMON_SEQ_HASH_H */
