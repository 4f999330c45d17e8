/* Merkle trees in the shape of Certificate Transparency (RFC 6962, section
 * 2.1; RFC 9162, section 2.1). A tree of n > 1 leaves splits at k, the
 * largest power of two below n: the left subtree is perfect, the right one
 * holds the rest. Building bottom-up and promoting the odd node at the end of
 * a level gives the same tree, which is how seq_merkle.h describes it.
 *
 * NOTES ON THE DESIGN
 *
 * (M1) Leaves and inner nodes are hashed with different one-byte prefixes
 *      (0x00, 0x01), so no inner node can be passed off as a leaf (the
 *      second-preimage attack on plain Merkle trees).
 * (M2) Nothing here allocates. A root is folded with a stack of subtree roots,
 *      one per set bit of the number of leaves seen so far, and a proof needs
 *      one such root per level. The consensus core builds ns_root with this
 *      code and must not fail for want of memory.
 * (M3) The shape of a proof is a function of (index, n_leaves) alone: the
 *      verifier walks it as RFC 9162 section 2.1.3.2 does and rejects a proof
 *      with one sibling too many or too few, not just a wrong root. The root
 *      does not authenticate n_leaves, though: trees of different sizes can
 *      give a leaf proofs of the same shape. As Certificate Transparency takes
 *      the size from the signed tree head, a verifier must take n_leaves from
 *      data it already trusts, never from the proof's sender alone.
 */

#include "seq_merkle.h"

#include <assert.h>
#include <string.h>

#include "seq_err.h"

/* Enough stack for any size_t leaf count: one entry per bit, plus the one
 * pushed before merging. */
#define STACK_LEN 65

void seq_merkle_leaf_hash(const void *data, size_t len, struct seq_hash *out)
{
    static const uint8_t prefix = 0x00;
    struct seq_sha256_ctx ctx;

    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, &prefix, 1);
    seq_sha256_update(&ctx, data, len);
    seq_sha256_final(&ctx, out);
}

/* H(0x01 || left || right) (M1). @out may alias either input: the inputs are
 * read completely before the digest is written. */
static void node_hash(const struct seq_hash *left,
                      const struct seq_hash *right,
                      struct seq_hash *out)
{
    static const uint8_t prefix = 0x01;
    struct seq_sha256_ctx ctx;

    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, &prefix, 1);
    seq_sha256_update(&ctx, left->bytes, SEQ_HASH_LEN);
    seq_sha256_update(&ctx, right->bytes, SEQ_HASH_LEN);
    seq_sha256_final(&ctx, out);
}

/* Root of @n >= 1 leaves (M2). After leaf i is pushed, the stack holds the
 * roots of the perfect subtrees that make up the first i + 1 leaves, largest
 * first; every trailing zero bit of i + 1 merges the top two. What remains at
 * the end is folded from the right, which is RFC 6962's split at the largest
 * power of two. */
static void subtree_root(const struct seq_hash *leaves,
                         size_t n,
                         struct seq_hash *out)
{
    struct seq_hash stack[STACK_LEN];
    size_t depth = 0;
    size_t i;
    size_t k;

    assert(n >= 1);
    for (i = 0; i < n; i++) {
        stack[depth++] = leaves[i];
        for (k = i + 1; (k & 1) == 0; k >>= 1) {
            node_hash(&stack[depth - 2], &stack[depth - 1], &stack[depth - 2]);
            depth--;
        }
    }
    *out = stack[--depth];
    while (depth > 0) {
        node_hash(&stack[--depth], out, out);
    }
}

int seq_merkle_root(const struct seq_hash *leaves,
                    size_t n,
                    struct seq_hash *root)
{
    if (n == 0) {
        seq_sha256("", 0, root);
        return SEQ_OK;
    }
    subtree_root(leaves, n, root);
    return SEQ_OK;
}

/* The largest power of two strictly below @n (n >= 2). */
static size_t split_point(size_t n)
{
    size_t k = 1;

    while (k < n - k) {
        k <<= 1;
    }
    return k;
}

/* RFC 6962 PATH(m, D[n]), unrolled: descend from the root towards the leaf,
 * recording the root of the subtree not taken at each level. That yields the
 * siblings top-down; the proof lists them leaf-up, so they are stored from
 * the end and moved to the front. */
int seq_merkle_prove(const struct seq_hash *leaves,
                     size_t n,
                     size_t index,
                     struct seq_merkle_proof *proof)
{
    struct seq_hash top_down[SEQ_MERKLE_MAX_DEPTH];
    uint32_t count = 0;
    size_t offset = 0;
    size_t size = n;
    size_t m = index;
    uint32_t i;

    /* A tree of more than 2^SEQ_MERKLE_MAX_DEPTH leaves has proofs too long
     * for struct seq_merkle_proof. */
    if (index >= n || ((uint64_t)(n - 1) >> SEQ_MERKLE_MAX_DEPTH) != 0) {
        return SEQ_EINVAL;
    }
    while (size > 1) {
        size_t k = split_point(size);

        assert(count < SEQ_MERKLE_MAX_DEPTH);
        if (m < k) {
            subtree_root(leaves + offset + k, size - k, &top_down[count]);
            size = k;
        } else {
            subtree_root(leaves + offset, k, &top_down[count]);
            offset += k;
            m -= k;
            size -= k;
        }
        count++;
    }

    memset(proof, 0, sizeof *proof);
    proof->index = index;
    proof->n_leaves = n;
    proof->n_siblings = count;
    for (i = 0; i < count; i++) {
        proof->siblings[i] = top_down[count - 1 - i];
    }
    return SEQ_OK;
}

/* RFC 9162, section 2.1.3.2. fn is the leaf's position and sn the last
 * position at the current level. A node that is a right child, or the last
 * node of its level, takes its sibling from the left; a last node with no
 * sibling at all (fn == sn, even) was promoted, so levels are skipped until
 * it is a right child. Running out of levels with siblings left, or siblings
 * with levels left, is a malformed proof (M3). */
int seq_merkle_verify(const struct seq_hash *leaf,
                      const struct seq_merkle_proof *proof,
                      const struct seq_hash *root)
{
    struct seq_hash r = *leaf;
    uint64_t fn = proof->index;
    uint64_t sn;
    uint32_t i;

    if (proof->n_leaves == 0 || proof->index >= proof->n_leaves ||
        proof->n_siblings > SEQ_MERKLE_MAX_DEPTH) {
        return SEQ_EBADMSG;
    }
    sn = proof->n_leaves - 1;
    for (i = 0; i < proof->n_siblings; i++) {
        const struct seq_hash *p = &proof->siblings[i];

        if (sn == 0) {
            return SEQ_EBADMSG;
        }
        if ((fn & 1) != 0 || fn == sn) {
            node_hash(p, &r, &r);
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            node_hash(&r, p, &r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || !seq_hash_eq(&r, root)) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}
