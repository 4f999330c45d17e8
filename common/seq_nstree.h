/* The namespace tree (DESIGN §5): what a block header's ns_root commits to,
 * and the proofs an executor checks against it. The tree has one leaf per
 * namespace present in the block, sorted by namespace id, so a leaf proof
 * says "these are all of namespace N's entries, in order" and two adjacent
 * leaves (or the first or last leaf, or an empty tree) say "namespace N has
 * no entries in this block".
 *
 * Encodings (all integers big-endian; H is SHA-256; "tag" is ASCII with no
 * terminator):
 *
 *   entries_hash = H("SEQ-NSENTRIES-v1" || u64 k || e_1 || ... || e_k)
 *       over the k entry hashes of one namespace, in block order. A client
 *       holding the whole list recomputes it in one pass.
 *   leaf         = seq_merkle_leaf_hash(u64 ns_id || entries_hash), 40 bytes
 *   merkle_root  = seq_merkle_root(leaves in strictly ascending ns_id order)
 *   ns_root      = H("SEQ-NSROOT-v1" || u64 n_leaves || merkle_root)
 *
 * A namespace with no entries has no leaf. A block with no entries at all has
 * ns_root = H("SEQ-NSROOT-v1" || u64 0 || H("")), H("") being seq_merkle's
 * empty-tree root. Folding n_leaves into ns_root is what makes absence proofs
 * sound: seq_merkle proofs do not authenticate the tree size (see
 * seq_merkle.h), and "i is the last leaf" or "i and i + 1 are neighbours"
 * means something only for a known size.
 *
 * Proofs are fixed-size structs; nothing here allocates. Building and proving
 * take the leaves plus a caller-supplied scratch array of n hashes, so the
 * consensus core never fails for want of memory. Verification takes proofs
 * from untrusted peers: every count, index and depth is checked, and a bad
 * proof gets SEQ_EBADMSG, never a crash. */

#ifndef SEQ_COMMON_SEQ_NSTREE_H
#define SEQ_COMMON_SEQ_NSTREE_H

#include <stddef.h>
#include <stdint.h>

#include "seq_hash.h"
#include "seq_merkle.h"

/* One namespace present in a block. 40 bytes, no padding. */
struct seq_nstree_leaf {
    uint64_t ns_id;
    struct seq_hash entries_hash; /* seq_nstree_entries_hash(), k >= 1 */
};

/* "Leaf path.index of the tree is (ns_id, entries_hash)". The verifier
 * supplies the leaf; the proof carries the tree size and the Merkle root that
 * ns_root folds together, and the path. path.n_leaves must equal n_leaves. */
struct seq_nstree_presence {
    uint64_t n_leaves;
    struct seq_hash merkle_root;
    struct seq_merkle_proof path;
};

/* Which neighbours show that an id is absent. Starts at 1: a zeroed proof is
 * invalid. */
enum seq_nstree_absence_kind {
    SEQ_NSTREE_ABSENT_EMPTY = 1, /* n_leaves == 0; no leaf is used */
    SEQ_NSTREE_ABSENT_BELOW,     /* succ is leaf 0 and succ.ns_id > id */
    SEQ_NSTREE_ABSENT_BETWEEN,   /* pred at i, succ at i + 1, around id */
    SEQ_NSTREE_ABSENT_ABOVE,     /* pred is leaf n - 1 and pred.ns_id < id */
};

/* "No leaf has this id". The leaves the kind does not use (pred for BELOW,
 * succ for ABOVE, both for EMPTY) are zeroed by the prover and ignored by the
 * verifier. Each used path's n_leaves must equal n_leaves. */
struct seq_nstree_absence {
    enum seq_nstree_absence_kind kind;
    uint64_t n_leaves;
    struct seq_hash merkle_root;
    struct seq_nstree_leaf pred;
    struct seq_merkle_proof pred_path;
    struct seq_nstree_leaf succ;
    struct seq_merkle_proof succ_path;
};

/* entries_hash of @n entry hashes in block order (see the encodings above).
 * @n may be 0, which gives a value no leaf may carry: a namespace with no
 * entries is absent, not present with an empty list. Borrows @entries. */
void seq_nstree_entries_hash(const struct seq_hash *entries,
                             size_t n,
                             struct seq_hash *out);

/* The Merkle leaf hash of @leaf (see the encodings above). */
void seq_nstree_leaf_hash(const struct seq_nstree_leaf *leaf,
                          struct seq_hash *out);

/* ns_root of @n leaves, which must be sorted by ns_id strictly ascending and
 * carry no empty entries_hash. @scratch borrows room for @n hashes (NULL is
 * fine when @n is 0); on success it holds the leaf hashes, in order. Returns
 * 0, or SEQ_EINVAL for unsorted or duplicate ids, an empty namespace, or more
 * than 2^SEQ_MERKLE_MAX_DEPTH leaves. */
int seq_nstree_root(const struct seq_nstree_leaf *leaves,
                    size_t n,
                    struct seq_hash *scratch,
                    struct seq_hash *ns_root);

/* Presence proof for @ns_id in the tree of @leaves (same rules and @scratch
 * as seq_nstree_root()). Returns 0, SEQ_ENOTFOUND if @ns_id has no leaf (ask
 * for an absence proof instead), or SEQ_EINVAL for bad @leaves. */
int seq_nstree_prove_presence(const struct seq_nstree_leaf *leaves,
                              size_t n,
                              uint64_t ns_id,
                              struct seq_hash *scratch,
                              struct seq_nstree_presence *proof);

/* Absence proof for @ns_id in the tree of @leaves (same rules and @scratch
 * as seq_nstree_root()). Returns 0, SEQ_EEXIST if @ns_id has a leaf (ask for
 * a presence proof instead), or SEQ_EINVAL for bad @leaves. */
int seq_nstree_prove_absence(const struct seq_nstree_leaf *leaves,
                             size_t n,
                             uint64_t ns_id,
                             struct seq_hash *scratch,
                             struct seq_nstree_absence *proof);

/* 0 if @proof shows that the block with @ns_root holds exactly the entries
 * hashed into @entries_hash for @ns_id; else SEQ_EBADMSG. @ns_root must come
 * from a header the caller has verified; the proof may be hostile. */
int seq_nstree_verify_presence(const struct seq_hash *ns_root,
                               uint64_t ns_id,
                               const struct seq_hash *entries_hash,
                               const struct seq_nstree_presence *proof);

/* 0 if @proof shows that the block with @ns_root has no entries for @ns_id;
 * else SEQ_EBADMSG. Same trust rules as seq_nstree_verify_presence(). */
int seq_nstree_verify_absence(const struct seq_hash *ns_root,
                              uint64_t ns_id,
                              const struct seq_nstree_absence *proof);

#endif /* SEQ_COMMON_SEQ_NSTREE_H */
