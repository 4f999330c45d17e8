/* The namespace tree: a seq_merkle tree over (ns_id, entries_hash) leaves in
 * ascending ns_id order, with the leaf count folded into the root. Building
 * and proving are thin layers over seq_merkle; the substance is in the
 * verifiers, which must turn proofs from untrusted peers into the two claims
 * an executor relies on: "all of my entries" and "none of my entries".
 *
 * NOTES ON THE DESIGN
 *
 * (N1) Leaves are strictly ascending by ns_id and never carry the entries
 *      hash of an empty list. seq_nstree_root() refuses anything else, and
 *      every honest replica recomputes ns_root from the block it votes for,
 *      so a certified ns_root is over such leaves. Hence an id has at most
 *      one leaf, and an id strictly between the ids of leaves i and i + 1
 *      (or below leaf 0, or above leaf n - 1) has none.
 * (N2) ns_root = H("SEQ-NSROOT-v1" || u64 n_leaves || merkle_root). A
 *      verifier that has checked a proof's (n_leaves, merkle_root) against
 *      ns_root knows the true tree size, which seq_merkle proofs alone do
 *      not give it (seq_merkle.c, M3).
 * (N3) With n_leaves known, the tree's shape is known, and seq_merkle_verify()
 *      accepts a leaf at index i only with a path of exactly the shape of
 *      position i. Finding a second leaf hash for one position would need a
 *      SHA-256 collision, so a verified (leaf, index) pair is the leaf at that
 *      index. Adjacency (i, i + 1), "index 0" and "index n - 1" are then
 *      statements about the real tree.
 * (N4) Domains never meet: Merkle leaves and nodes start with 0x00 and 0x01
 *      (seq_merkle.c, M1), ns_root with the tag "SEQ-NSROOT-v1" and
 *      entries_hash with "SEQ-NSENTRIES-v1". Every hashed encoding has a
 *      fixed length or a leading count, so none is a prefix of another.
 * (N5) Verifiers check cheap fields (kind, counts, indices, the id order)
 *      before hashing, and compare every index with n_leaves before adding
 *      to it, so a hostile proof can neither overflow nor index out of a
 *      fixed array; seq_merkle_verify() bounds n_siblings itself.
 */

#include "seq_nstree.h"

#include <string.h>

#include "seq_err.h"

#define ENTRIES_TAG "SEQ-NSENTRIES-v1"
#define ROOT_TAG    "SEQ-NSROOT-v1"

/* The leaf encoding is 8 bytes of id and 32 of hash. */
#define LEAF_DATA_LEN (8 + SEQ_HASH_LEN)

void seq_nstree_entries_hash(const struct seq_hash *entries,
                             size_t n,
                             struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;
    size_t i;

    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, ENTRIES_TAG, sizeof ENTRIES_TAG - 1);
    seq_sha256_u64(&ctx, (uint64_t)n);
    for (i = 0; i < n; i++) {
        seq_sha256_update(&ctx, entries[i].bytes, SEQ_HASH_LEN);
    }
    seq_sha256_final(&ctx, out);
}

void seq_nstree_leaf_hash(const struct seq_nstree_leaf *leaf,
                          struct seq_hash *out)
{
    uint8_t data[LEAF_DATA_LEN];
    size_t i;

    for (i = 0; i < 8; i++) {
        data[i] = (uint8_t)(leaf->ns_id >> (56 - 8 * i));
    }
    memcpy(data + 8, leaf->entries_hash.bytes, SEQ_HASH_LEN);
    seq_merkle_leaf_hash(data, sizeof data, out);
}

/* ns_root from a tree size and a Merkle root (N2). */
static void fold_root(uint64_t n_leaves,
                      const struct seq_hash *merkle_root,
                      struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;

    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, ROOT_TAG, sizeof ROOT_TAG - 1);
    seq_sha256_u64(&ctx, n_leaves);
    seq_sha256_update(&ctx, merkle_root->bytes, SEQ_HASH_LEN);
    seq_sha256_final(&ctx, out);
}

/* Checks (N1) and the depth bound, and fills @hashes with the leaf hashes.
 * The bound matches seq_merkle_prove()'s, so every tree that has a root also
 * has proofs. */
static int hash_leaves(const struct seq_nstree_leaf *leaves,
                       size_t n,
                       struct seq_hash *hashes)
{
    struct seq_hash empty;
    size_t i;

    if (n > 0 && ((uint64_t)(n - 1) >> SEQ_MERKLE_MAX_DEPTH) != 0) {
        return SEQ_EINVAL;
    }
    seq_nstree_entries_hash(NULL, 0, &empty);
    for (i = 0; i < n; i++) {
        if (i > 0 && leaves[i].ns_id <= leaves[i - 1].ns_id) {
            return SEQ_EINVAL;
        }
        if (seq_hash_eq(&leaves[i].entries_hash, &empty)) {
            return SEQ_EINVAL;
        }
        seq_nstree_leaf_hash(&leaves[i], &hashes[i]);
    }
    return SEQ_OK;
}

/* Index of the first leaf whose id is >= @ns_id, or @n if there is none.
 * The leaves are sorted (N1), so a binary search will do. */
static size_t lower_bound(const struct seq_nstree_leaf *leaves,
                          size_t n,
                          uint64_t ns_id)
{
    size_t lo = 0;
    size_t hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (leaves[mid].ns_id < ns_id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int seq_nstree_root(const struct seq_nstree_leaf *leaves,
                    size_t n,
                    struct seq_hash *scratch,
                    struct seq_hash *ns_root)
{
    struct seq_hash merkle_root;
    int rv;

    rv = hash_leaves(leaves, n, scratch);
    if (rv != 0) {
        return rv;
    }
    rv = seq_merkle_root(scratch, n, &merkle_root);
    if (rv != 0) {
        return rv;
    }
    fold_root((uint64_t)n, &merkle_root, ns_root);
    return SEQ_OK;
}

int seq_nstree_prove_presence(const struct seq_nstree_leaf *leaves,
                              size_t n,
                              uint64_t ns_id,
                              struct seq_hash *scratch,
                              struct seq_nstree_presence *proof)
{
    size_t i;
    int rv;

    rv = hash_leaves(leaves, n, scratch);
    if (rv != 0) {
        return rv;
    }
    i = lower_bound(leaves, n, ns_id);
    if (i == n || leaves[i].ns_id != ns_id) {
        return SEQ_ENOTFOUND;
    }
    memset(proof, 0, sizeof *proof);
    proof->n_leaves = (uint64_t)n;
    rv = seq_merkle_root(scratch, n, &proof->merkle_root);
    if (rv != 0) {
        return rv;
    }
    return seq_merkle_prove(scratch, n, i, &proof->path);
}

int seq_nstree_prove_absence(const struct seq_nstree_leaf *leaves,
                             size_t n,
                             uint64_t ns_id,
                             struct seq_hash *scratch,
                             struct seq_nstree_absence *proof)
{
    size_t i;
    int rv;

    rv = hash_leaves(leaves, n, scratch);
    if (rv != 0) {
        return rv;
    }
    i = lower_bound(leaves, n, ns_id);
    if (i < n && leaves[i].ns_id == ns_id) {
        return SEQ_EEXIST;
    }
    memset(proof, 0, sizeof *proof);
    proof->n_leaves = (uint64_t)n;
    rv = seq_merkle_root(scratch, n, &proof->merkle_root);
    if (rv != 0) {
        return rv;
    }
    if (n == 0) {
        proof->kind = SEQ_NSTREE_ABSENT_EMPTY;
        return SEQ_OK;
    }
    /* Leaf i is the successor (if i < n) and leaf i - 1 the predecessor (if
     * i > 0). */
    if (i == 0) {
        proof->kind = SEQ_NSTREE_ABSENT_BELOW;
    } else if (i == n) {
        proof->kind = SEQ_NSTREE_ABSENT_ABOVE;
    } else {
        proof->kind = SEQ_NSTREE_ABSENT_BETWEEN;
    }
    if (i > 0) {
        proof->pred = leaves[i - 1];
        rv = seq_merkle_prove(scratch, n, i - 1, &proof->pred_path);
        if (rv != 0) {
            return rv;
        }
    }
    if (i < n) {
        proof->succ = leaves[i];
        rv = seq_merkle_prove(scratch, n, i, &proof->succ_path);
    }
    return rv;
}

/* 0 if (@n_leaves, @merkle_root) is what @ns_root folds (N2). */
static int check_fold(const struct seq_hash *ns_root,
                      uint64_t n_leaves,
                      const struct seq_hash *merkle_root)
{
    struct seq_hash want;

    fold_root(n_leaves, merkle_root, &want);
    return seq_hash_eq(&want, ns_root) ? SEQ_OK : SEQ_EBADMSG;
}

/* 0 if @leaf sits at path->index of the tree of @n_leaves leaves with
 * @merkle_root (N3). The path must be for the authenticated size. */
static int check_leaf(const struct seq_nstree_leaf *leaf,
                      const struct seq_merkle_proof *path,
                      uint64_t n_leaves,
                      const struct seq_hash *merkle_root)
{
    struct seq_hash hash;

    if (path->n_leaves != n_leaves || path->index >= n_leaves) {
        return SEQ_EBADMSG;
    }
    seq_nstree_leaf_hash(leaf, &hash);
    return seq_merkle_verify(&hash, path, merkle_root) == 0 ? SEQ_OK
                                                            : SEQ_EBADMSG;
}

int seq_nstree_verify_presence(const struct seq_hash *ns_root,
                               uint64_t ns_id,
                               const struct seq_hash *entries_hash,
                               const struct seq_nstree_presence *proof)
{
    struct seq_nstree_leaf leaf;

    if (check_fold(ns_root, proof->n_leaves, &proof->merkle_root) != 0) {
        return SEQ_EBADMSG;
    }
    leaf.ns_id = ns_id;
    leaf.entries_hash = *entries_hash;
    return check_leaf(&leaf, &proof->path, proof->n_leaves,
                      &proof->merkle_root);
}

/* The id and index conditions of each kind (N1, N5), checked before any
 * hashing. Every index is compared with n before anything is added to it. */
static int check_absence_shape(uint64_t ns_id,
                               const struct seq_nstree_absence *proof)
{
    uint64_t n = proof->n_leaves;
    const struct seq_nstree_leaf *pred = &proof->pred;
    const struct seq_nstree_leaf *succ = &proof->succ;
    uint64_t pred_index = proof->pred_path.index;
    uint64_t succ_index = proof->succ_path.index;

    switch (proof->kind) {
    case SEQ_NSTREE_ABSENT_EMPTY:
        return n == 0 ? SEQ_OK : SEQ_EBADMSG;
    case SEQ_NSTREE_ABSENT_BELOW:
        if (n == 0 || succ_index != 0 || !(ns_id < succ->ns_id)) {
            return SEQ_EBADMSG;
        }
        return SEQ_OK;
    case SEQ_NSTREE_ABSENT_ABOVE:
        if (n == 0 || pred_index != n - 1 || !(pred->ns_id < ns_id)) {
            return SEQ_EBADMSG;
        }
        return SEQ_OK;
    case SEQ_NSTREE_ABSENT_BETWEEN:
        if (n < 2 || pred_index >= n - 1 || succ_index != pred_index + 1 ||
            !(pred->ns_id < ns_id && ns_id < succ->ns_id)) {
            return SEQ_EBADMSG;
        }
        return SEQ_OK;
    default:
        return SEQ_EBADMSG;
    }
}

int seq_nstree_verify_absence(const struct seq_hash *ns_root,
                              uint64_t ns_id,
                              const struct seq_nstree_absence *proof)
{
    const enum seq_nstree_absence_kind kind = proof->kind;
    struct seq_hash empty_root;

    if (check_absence_shape(ns_id, proof) != 0 ||
        check_fold(ns_root, proof->n_leaves, &proof->merkle_root) != 0) {
        return SEQ_EBADMSG;
    }
    if (kind == SEQ_NSTREE_ABSENT_EMPTY) {
        /* Builders fold a count of 0 only with the empty tree's root. */
        seq_merkle_root(NULL, 0, &empty_root);
        return seq_hash_eq(&empty_root, &proof->merkle_root) ? SEQ_OK
                                                             : SEQ_EBADMSG;
    }
    if (kind != SEQ_NSTREE_ABSENT_BELOW &&
        check_leaf(&proof->pred, &proof->pred_path, proof->n_leaves,
                   &proof->merkle_root) != 0) {
        return SEQ_EBADMSG;
    }
    if (kind != SEQ_NSTREE_ABSENT_ABOVE &&
        check_leaf(&proof->succ, &proof->succ_path, proof->n_leaves,
                   &proof->merkle_root) != 0) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}
