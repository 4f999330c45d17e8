/* The objects of 2-chain HotStuff (Jolteon): blocks, votes, quorum and
 * timeout certificates, timeouts, and the messages that carry them. These
 * are the core's own structs; protobuf never reaches the core (proto/wire.c
 * converts and bounds-checks).
 *
 * Sizes are fixed where that keeps copies and hashing simple: a validator
 * set has at most HS_MAX_VALIDATORS members, so a signer set is one 64-bit
 * bitmap and a certificate holds a fixed array of signatures. A block owns
 * its payload bytes (hs_block_free / hs_block_copy). */

#ifndef SEQ_CONSENSUS_HS_TYPES_H
#define SEQ_CONSENSUS_HS_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seq_hash.h"
#include "seq_header.h"

#define HS_MAX_VALIDATORS 64
/* Bounds on what a peer may make us hold; wire.c refuses anything larger. */
#define HS_MAX_PAYLOAD      (16u * 1024 * 1024)
#define HS_MAX_FETCH_BLOCKS 64
/* A block response carries blocks while their payloads add up to at most
 * this (and always at least one block), so that it fits one wire frame. */
#define HS_MAX_RESPONSE_PAYLOAD (16u * 1024 * 1024)
#define HS_SIG_LEN              64
#define HS_PUBKEY_LEN           32

typedef uint64_t hs_epoch_t;
typedef uint64_t hs_round_t;
typedef uint64_t hs_height_t;
typedef uint32_t hs_node_t;

struct hs_sig {
    uint8_t bytes[HS_SIG_LEN]; /* BIP-340 Schnorr signature. */
};

struct hs_pubkey {
    uint8_t bytes[HS_PUBKEY_LEN]; /* BIP-340 x-only public key. */
};

/* The validators of one epoch, indexed by hs_node_t. */
struct hs_validator_set {
    uint32_t n;
    struct hs_pubkey keys[HS_MAX_VALIDATORS];
};

/* f = floor((n - 1) / 3); a quorum is n - f, which is 2f + 1 when n = 3f + 1.
 */
uint32_t hs_faults(uint32_t n);
uint32_t hs_quorum(uint32_t n);

struct hs_qc_sig {
    hs_node_t signer;
    struct hs_sig sig;
};

/* Quorum certificate: 2f+1 votes from distinct validators for one block in
 * one round. Signatures may come in any order. The genesis QC (round 0, the
 * genesis block id, no signatures) is valid by definition. */
struct hs_qc {
    hs_epoch_t epoch;
    hs_round_t round;   /* Round of the certified block. */
    hs_height_t height; /* Height of the certified block (not signed; checked
                           against the block when the block is known). */
    struct seq_hash block_id;
    uint32_t n_sigs;
    struct hs_qc_sig sigs[HS_MAX_VALIDATORS];
};

struct hs_tc_sig {
    hs_node_t signer;
    hs_round_t high_qc_round; /* What this signer signed as its high QC. */
    struct hs_sig sig;
};

/* Timeout certificate for one round: 2f+1 timeouts from distinct
 * validators, each with the high QC round it signed. */
struct hs_tc {
    hs_epoch_t epoch;
    hs_round_t round;
    uint32_t n_sigs;
    struct hs_tc_sig sigs[HS_MAX_VALIDATORS];
};

/* The largest high_qc_round in @tc (Jolteon: a block after a TC must extend
 * a QC at least this high). */
hs_round_t hs_tc_high_qc_round(const struct hs_tc *tc);

/* A block. Its id is SHA-256 of the header (hs_block_id): chain id, epoch,
 * round, height, parent id, justify round, author, payload hash and the
 * namespace root, domain-separated. The justify QC certifies the parent,
 * so parent_id == justify.block_id and height == justify.height + 1. */
struct hs_block {
    hs_epoch_t epoch;
    hs_round_t round;
    hs_height_t height;
    struct seq_hash parent_id;
    hs_node_t author;
    struct hs_qc justify;
    struct seq_hash payload_hash; /* SHA-256 of payload. */
    struct seq_hash ns_root;      /* Namespace root (seq_nstree.h) of the
                                   * block's entries (make_payload). */
    uint8_t *payload;             /* Owned; NULL when payload_len is 0. */
    size_t payload_len;
    struct seq_hash id; /* Cached hs_block_id(); set by hs_block_seal. */
};

struct hs_vote {
    hs_epoch_t epoch;
    hs_round_t round;
    hs_height_t height; /* Of the block; not signed, helps fetching. */
    struct seq_hash block_id;
    hs_node_t voter;
    struct hs_sig sig;
};

/* A timeout for @round. The signature covers (epoch, round,
 * high_qc_round); @high_qc is the sender's current highest QC, whose round
 * is at least high_qc_round, carried so that receivers can catch up. A TC
 * for round - 1 may ride along for the same reason. */
struct hs_timeout {
    hs_epoch_t epoch;
    hs_round_t round;
    hs_node_t author;
    hs_round_t high_qc_round;
    struct hs_sig sig;
    struct hs_qc high_qc;
    bool has_tc;
    struct hs_tc tc;
};

/* A leader's proposal: the block, the TC of round - 1 when the previous
 * round timed out, and the author's signature over the block id. */
struct hs_proposal {
    struct hs_block block;
    bool has_tc;
    struct hs_tc tc;
    struct hs_sig sig;
};

/* Ask for the chain that ends at block @block_id: the responder sends the
 * @count LOWEST blocks of that chain above @known_height (the asker's
 * committed height), so that the asker can insert them at once, parents
 * first, and ask again for the rest. */
struct hs_block_request {
    struct seq_hash block_id;
    hs_height_t known_height;
    uint32_t count;
};

/* Blocks in descending height order, each the parent of the one before;
 * the lowest one's parent is at the asker's known height or in its tree.
 * Fewer than asked for when the payloads reach HS_MAX_RESPONSE_PAYLOAD:
 * the asker asks again for the rest. */
struct hs_block_response {
    uint32_t n_blocks;
    struct hs_block *blocks; /* Owned array of n_blocks. */
};

enum hs_msg_type {
    HS_MSG_PROPOSAL = 1,
    HS_MSG_VOTE,
    HS_MSG_TIMEOUT,
    HS_MSG_BLOCK_REQUEST,
    HS_MSG_BLOCK_RESPONSE,
};

struct hs_msg {
    enum hs_msg_type type;
    union {
        struct hs_proposal proposal;
        struct hs_vote vote;
        struct hs_timeout timeout;
        struct hs_block_request request;
        struct hs_block_response response;
    } u;
};

/* The state the safety rules persist (Aptos SafetyData). It must be durable
 * before any vote or timeout signed from it leaves the process. */
struct hs_safety {
    hs_epoch_t epoch;
    hs_round_t last_voted_round;
    hs_round_t preferred_round; /* Highest 2-chain round seen (lock). */
    hs_round_t one_chain_round; /* Highest QC round seen. */
    hs_round_t highest_timeout_round;
    bool has_last_vote;
    struct hs_vote last_vote;
    bool has_last_timeout;
    hs_round_t last_timeout_round;
    hs_round_t last_timeout_hqc_round;
    struct hs_sig last_timeout_sig;
};

/* Block ids and header hashing. @chain_id separates networks. */
void hs_block_id(const struct hs_block *block,
                 const struct seq_hash *chain_id,
                 struct seq_hash *out);
/* The header fields of @block (seq_header.h), which its id covers. */
void hs_block_header(const struct hs_block *block, struct seq_header *out);
/* Computes payload_hash and id from the other fields. */
void hs_block_seal(struct hs_block *block, const struct seq_hash *chain_id);

/* The genesis block of @chain_id (height 0, round 0, no parent) and its
 * QC. Everyone derives the same ones. */
void hs_genesis_block(const struct seq_hash *chain_id,
                      hs_epoch_t epoch,
                      struct hs_block *out);
void hs_genesis_qc(const struct hs_block *genesis, struct hs_qc *out);

/* Deep copies and frees. Copies return 0 or SEQ_ENOMEM (then @dst holds
 * nothing that needs freeing). Free functions accept NULL and free only
 * what the struct owns, not the struct itself. */
int hs_block_copy(struct hs_block *dst, const struct hs_block *src);
void hs_block_free(struct hs_block *block);
int hs_msg_copy(struct hs_msg *dst, const struct hs_msg *src);
void hs_msg_free(struct hs_msg *msg);

const char *hs_msg_type_name(enum hs_msg_type type);

#endif /* SEQ_CONSENSUS_HS_TYPES_H */
