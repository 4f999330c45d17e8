/* Block ids and vote digests (seq_header.h). */

#include "seq_header.h"

static const char block_tag[] = "SEQ-BLOCK-v1";
static const char vote_tag[] = "SEQ-VOTE-v1";

void seq_header_id(const struct seq_header *h,
                   const struct seq_hash *chain_id,
                   struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;

    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, block_tag, sizeof block_tag - 1);
    seq_sha256_update(&ctx, chain_id->bytes, SEQ_HASH_LEN);
    seq_sha256_u64(&ctx, h->epoch);
    seq_sha256_u64(&ctx, h->round);
    seq_sha256_u64(&ctx, h->height);
    seq_sha256_update(&ctx, h->parent_id.bytes, SEQ_HASH_LEN);
    seq_sha256_u64(&ctx, h->justify_round);
    seq_sha256_u32(&ctx, h->author);
    seq_sha256_update(&ctx, h->payload_hash.bytes, SEQ_HASH_LEN);
    seq_sha256_update(&ctx, h->ns_root.bytes, SEQ_HASH_LEN);
    seq_sha256_final(&ctx, out);
}

void seq_vote_digest(const struct seq_hash *chain_id,
                     uint64_t epoch,
                     uint64_t round,
                     const struct seq_hash *block_id,
                     struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;

    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, vote_tag, sizeof vote_tag - 1);
    seq_sha256_update(&ctx, chain_id->bytes, SEQ_HASH_LEN);
    seq_sha256_u64(&ctx, epoch);
    seq_sha256_u64(&ctx, round);
    seq_sha256_update(&ctx, block_id->bytes, SEQ_HASH_LEN);
    seq_sha256_final(&ctx, out);
}
