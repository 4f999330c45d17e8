/* Binary Merkle trees over SHA-256 in the RFC 6962 shape: leaf hashes are
 * H(0x00 || data), inner nodes H(0x01 || left || right), and an odd node at
 * the end of a level is promoted unchanged. The empty tree's root is
 * H(""). Proofs list sibling hashes from the leaf up.
 *
 * A proof does not authenticate n_leaves: trees of different sizes can give
 * a leaf proofs of the same shape (as in RFC 6962). A verifier must take
 * the tree size from something it already trusts (a signed block header),
 * never from the sender of the proof. None of these calls allocates. */

#ifndef SEQ_COMMON_SEQ_MERKLE_H
#define SEQ_COMMON_SEQ_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "seq_hash.h"

#define SEQ_MERKLE_MAX_DEPTH 48

struct seq_merkle_proof {
    uint64_t index;      /* Leaf position. */
    uint64_t n_leaves;   /* Tree size the proof is for. */
    uint32_t n_siblings; /* <= SEQ_MERKLE_MAX_DEPTH */
    struct seq_hash siblings[SEQ_MERKLE_MAX_DEPTH];
};

void seq_merkle_leaf_hash(const void *data, size_t len, struct seq_hash *out);

/* Root over @n precomputed leaf hashes. Returns 0. */
int seq_merkle_root(const struct seq_hash *leaves,
                    size_t n,
                    struct seq_hash *root);

/* Proof that leaves[@index] is in the tree. Returns 0 or SEQ_EINVAL (index
 * out of range, or a tree deeper than SEQ_MERKLE_MAX_DEPTH). */
int seq_merkle_prove(const struct seq_hash *leaves,
                     size_t n,
                     size_t index,
                     struct seq_merkle_proof *proof);

/* 0 if @leaf at proof->index in a tree of proof->n_leaves has @root, else
 * SEQ_EBADMSG (also for a proof of the wrong length for its shape). */
int seq_merkle_verify(const struct seq_hash *leaf,
                      const struct seq_merkle_proof *proof,
                      const struct seq_hash *root);

#endif /* SEQ_COMMON_SEQ_MERKLE_H */
