/* The bytes a block id and a vote signature cover (DESIGN §3, §5), in one
 * place that both the validator (consensus/hs_types.c, hs_verify.c) and
 * libseqclient use, so that a rollup can check a header and a QC without
 * linking validator code, and the two can never disagree.
 *
 *   block id    = H("SEQ-BLOCK-v1" || chain_id || u64 epoch || u64 round ||
 *                   u64 height || parent_id || u64 justify_round ||
 *                   u32 author || payload_hash || ns_root)
 *   vote digest = H("SEQ-VOTE-v1" || chain_id || u64 epoch || u64 round ||
 *                   block_id)
 *
 * Integers are big-endian, tags have no terminator, chain_id is the genesis
 * hash (SHA-256 of genesis.json's bytes). */

#ifndef SEQ_COMMON_SEQ_HEADER_H
#define SEQ_COMMON_SEQ_HEADER_H

#include <stdint.h>

#include "seq_hash.h"

/* A block header: every field the block id covers. */
struct seq_header {
    uint64_t epoch;
    uint64_t round;
    uint64_t height;
    struct seq_hash parent_id;
    uint64_t justify_round; /* Round of the QC the block carries (its
                             * parent's round, or lower after a TC). */
    uint32_t author;
    struct seq_hash payload_hash;
    struct seq_hash ns_root;
};

void seq_header_id(const struct seq_header *h,
                   const struct seq_hash *chain_id,
                   struct seq_hash *out);

void seq_vote_digest(const struct seq_hash *chain_id,
                     uint64_t epoch,
                     uint64_t round,
                     const struct seq_hash *block_id,
                     struct seq_hash *out);

#endif /* SEQ_COMMON_SEQ_HEADER_H */
