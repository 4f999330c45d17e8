/* Merkle trees (common/seq_merkle.h): roots against the Certificate
 * Transparency test vectors and against a plain recursive reference, proofs
 * for every leaf of every size up to 70 (odd sizes included), and the ways a
 * proof can be tampered with: a flipped sibling, leaf, index or root, one
 * sibling too many or too few. */

#include <string.h>

#include "harness.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hex.h"
#include "seq_merkle.h"
#include "seq_rng.h"

#define MAX_LEAVES 70

static void expect_hex(const struct seq_hash *h, const char *hex)
{
    char text[2 * SEQ_HASH_LEN + 1];

    seq_hex_encode(h->bytes, SEQ_HASH_LEN, text);
    ASSERT_STREQ(text, hex);
}

/* The RFC 6962 definition, written as directly as possible: MTH(D[n]) =
 * H(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of 2 below n. */
static void reference_root(const struct seq_hash *leaves,
                           size_t n,
                           struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;
    struct seq_hash left;
    struct seq_hash right;
    size_t k = 1;

    if (n == 1) {
        *out = leaves[0];
        return;
    }
    while (2 * k < n) {
        k *= 2;
    }
    reference_root(leaves, k, &left);
    reference_root(leaves + k, n - k, &right);
    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, "\x01", 1);
    seq_sha256_update(&ctx, left.bytes, SEQ_HASH_LEN);
    seq_sha256_update(&ctx, right.bytes, SEQ_HASH_LEN);
    seq_sha256_final(&ctx, out);
}

static void random_leaves(struct seq_hash *leaves, size_t n, uint64_t seed)
{
    struct seq_rng rng;
    size_t i;
    uint64_t word;

    seq_rng_seed(&rng, seed);
    for (i = 0; i < n; i++) {
        word = seq_rng_next(&rng);
        seq_merkle_leaf_hash(&word, sizeof word, &leaves[i]);
    }
}

/* The eight leaves of the CT test suite (merkle_tree_test.cc). */
static const char *const ct_leaves[8] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

static void ct_leaf_hashes(struct seq_hash leaves[8])
{
    uint8_t data[16];
    size_t i;
    size_t len;

    for (i = 0; i < 8; i++) {
        len = strlen(ct_leaves[i]) / 2;
        ASSERT_OK(seq_hex_decode(ct_leaves[i], data, len));
        seq_merkle_leaf_hash(data, len, &leaves[i]);
    }
}

TEST(common_merkle, empty_tree)
{
    struct seq_hash root;
    struct seq_merkle_proof proof;

    ASSERT_OK(seq_merkle_root(NULL, 0, &root));
    expect_hex(
        &root,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ASSERT_ERR(seq_merkle_prove(NULL, 0, 0, &proof), SEQ_EINVAL);
}

TEST(common_merkle, leaf_hash_is_prefixed)
{
    struct seq_hash leaf;
    struct seq_hash plain;

    seq_merkle_leaf_hash("", 0, &leaf);
    expect_hex(
        &leaf,
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    seq_sha256(
        "\x00"
        "abc",
        4, &plain);
    seq_merkle_leaf_hash("abc", 3, &leaf);
    ASSERT_TRUE(seq_hash_eq(&leaf, &plain));
}

TEST(common_merkle, ct_roots)
{
    static const char *const roots[8] = {
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    };
    struct seq_hash leaves[8];
    struct seq_hash root;
    size_t n;

    ct_leaf_hashes(leaves);
    for (n = 1; n <= 8; n++) {
        ASSERT_OK(seq_merkle_root(leaves, n, &root));
        expect_hex(&root, roots[n - 1]);
    }
}

/* CT's audit paths: siblings listed from the leaf up. */
TEST(common_merkle, ct_proofs)
{
    static const struct {
        size_t index;
        size_t n;
        uint32_t n_siblings;
        const char *siblings[3];
    } paths[] = {
        { 0,
          8,
          3,
          { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e"
            "4" } },
        { 5,
          8,
          3,
          { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b"
            "7" } },
        { 2,
          3,
          1,
          { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c12"
            "5" } },
        { 1,
          5,
          3,
          { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6"
            "b" } },
    };
    struct seq_hash leaves[8];
    struct seq_hash root;
    struct seq_merkle_proof proof;
    size_t i;
    uint32_t j;

    ct_leaf_hashes(leaves);
    for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        ASSERT_OK(seq_merkle_prove(leaves, paths[i].n, paths[i].index, &proof));
        ASSERT_EQ(proof.index, paths[i].index);
        ASSERT_EQ(proof.n_leaves, paths[i].n);
        ASSERT_EQ(proof.n_siblings, paths[i].n_siblings);
        for (j = 0; j < proof.n_siblings; j++) {
            expect_hex(&proof.siblings[j], paths[i].siblings[j]);
        }
        ASSERT_OK(seq_merkle_root(leaves, paths[i].n, &root));
        ASSERT_OK(seq_merkle_verify(&leaves[paths[i].index], &proof, &root));
    }
}

TEST(common_merkle, roots_match_reference)
{
    struct seq_hash leaves[MAX_LEAVES];
    struct seq_hash want;
    struct seq_hash got;
    size_t n;

    random_leaves(leaves, MAX_LEAVES, test_seed());
    for (n = 1; n <= MAX_LEAVES; n++) {
        reference_root(leaves, n, &want);
        ASSERT_OK(seq_merkle_root(leaves, n, &got));
        ASSERT_TRUE(seq_hash_eq(&want, &got));
    }
}

/* Every leaf of every tree up to MAX_LEAVES: the proof verifies, and each
 * single change to it is caught. */
TEST(common_merkle, proofs_verify_and_resist_tampering)
{
    struct seq_hash leaves[MAX_LEAVES];
    struct seq_hash root;
    struct seq_hash bad;
    struct seq_merkle_proof proof;
    struct seq_merkle_proof t;
    size_t n;
    size_t i;
    uint32_t j;

    random_leaves(leaves, MAX_LEAVES, test_seed());
    for (n = 1; n <= MAX_LEAVES; n++) {
        ASSERT_OK(seq_merkle_root(leaves, n, &root));
        for (i = 0; i < n; i++) {
            ASSERT_OK(seq_merkle_prove(leaves, n, i, &proof));
            ASSERT_OK(seq_merkle_verify(&leaves[i], &proof, &root));

            bad = leaves[i];
            bad.bytes[0] ^= 1;
            ASSERT_ERR(seq_merkle_verify(&bad, &proof, &root), SEQ_EBADMSG);
            bad = root;
            bad.bytes[SEQ_HASH_LEN - 1] ^= 0x80;
            ASSERT_ERR(seq_merkle_verify(&leaves[i], &proof, &bad),
                       SEQ_EBADMSG);
            for (j = 0; j < proof.n_siblings; j++) {
                t = proof;
                t.siblings[j].bytes[j % SEQ_HASH_LEN] ^= 0x10;
                ASSERT_ERR(seq_merkle_verify(&leaves[i], &t, &root),
                           SEQ_EBADMSG);
            }
            if (proof.n_siblings > 0) {
                t = proof;
                t.n_siblings--;
                ASSERT_ERR(seq_merkle_verify(&leaves[i], &t, &root),
                           SEQ_EBADMSG);
            }
            t = proof;
            t.siblings[t.n_siblings++] = root;
            ASSERT_ERR(seq_merkle_verify(&leaves[i], &t, &root), SEQ_EBADMSG);
            /* Another leaf's position with this leaf's proof. */
            if (n > 1) {
                t = proof;
                t.index = (i + 1) % n;
                ASSERT_ERR(seq_merkle_verify(&leaves[i], &t, &root),
                           SEQ_EBADMSG);
                ASSERT_ERR(seq_merkle_verify(&leaves[t.index], &proof, &root),
                           SEQ_EBADMSG);
            }
            t = proof;
            t.index = n;
            ASSERT_ERR(seq_merkle_verify(&leaves[i], &t, &root), SEQ_EBADMSG);
        }
        ASSERT_ERR(seq_merkle_prove(leaves, n, n, &proof), SEQ_EINVAL);
    }
}

/* A proof for the wrong tree size has the wrong shape for most sizes. Where
 * the shape happens to match, only the root can catch it (seq_merkle.c M3). */
TEST(common_merkle, wrong_size_is_rejected)
{
    struct seq_hash leaves[MAX_LEAVES];
    struct seq_hash root;
    struct seq_merkle_proof proof;
    size_t n;
    size_t m;
    size_t i;

    random_leaves(leaves, MAX_LEAVES, test_seed());
    for (n = 1; n <= 20; n++) {
        ASSERT_OK(seq_merkle_root(leaves, n, &root));
        for (m = 1; m <= 20; m++) {
            for (i = 0; i < n && i < m && m != n; i++) {
                ASSERT_OK(seq_merkle_prove(leaves, m, i, &proof));
                ASSERT_ERR(seq_merkle_verify(&leaves[i], &proof, &root),
                           SEQ_EBADMSG);
                proof.n_leaves = n;
                if (seq_merkle_verify(&leaves[i], &proof, &root) == 0) {
                    /* Same shape, and the siblings shared by both trees:
                     * only possible when the proof is also valid for n. */
                    struct seq_merkle_proof real;

                    ASSERT_OK(seq_merkle_prove(leaves, n, i, &real));
                    ASSERT_EQ(real.n_siblings, proof.n_siblings);
                    ASSERT_MEMEQ(real.siblings, proof.siblings,
                                 proof.n_siblings * sizeof(struct seq_hash));
                }
            }
        }
    }
}

TEST(common_merkle, malformed_proofs)
{
    struct seq_hash leaves[4];
    struct seq_hash root;
    struct seq_merkle_proof proof;

    random_leaves(leaves, 4, 7);
    ASSERT_OK(seq_merkle_root(leaves, 4, &root));
    ASSERT_OK(seq_merkle_prove(leaves, 4, 3, &proof));
    proof.n_leaves = 0;
    ASSERT_ERR(seq_merkle_verify(&leaves[3], &proof, &root), SEQ_EBADMSG);
    ASSERT_OK(seq_merkle_prove(leaves, 4, 3, &proof));
    proof.n_siblings = SEQ_MERKLE_MAX_DEPTH + 1;
    ASSERT_ERR(seq_merkle_verify(&leaves[3], &proof, &root), SEQ_EBADMSG);
    proof.n_siblings = UINT32_MAX;
    ASSERT_ERR(seq_merkle_verify(&leaves[3], &proof, &root), SEQ_EBADMSG);
}

/* One leaf: its own root, an empty proof. */
TEST(common_merkle, single_leaf)
{
    struct seq_hash leaf;
    struct seq_hash root;
    struct seq_merkle_proof proof;

    seq_merkle_leaf_hash("x", 1, &leaf);
    ASSERT_OK(seq_merkle_root(&leaf, 1, &root));
    ASSERT_TRUE(seq_hash_eq(&leaf, &root));
    ASSERT_OK(seq_merkle_prove(&leaf, 1, 0, &proof));
    ASSERT_EQ(proof.n_siblings, 0);
    ASSERT_OK(seq_merkle_verify(&leaf, &proof, &root));
}

/* Larger trees, random positions; and no allocation on the way (M2). */
TEST(common_merkle, large_tree)
{
    static struct seq_hash leaves[5000];
    struct seq_hash root;
    struct seq_hash want;
    struct seq_merkle_proof proof;
    struct seq_rng rng;
    unsigned long allocs;
    int k;

    random_leaves(leaves, 5000, test_seed());
    seq_rng_seed(&rng, test_seed());
    allocs = seq_alloc_count();
    ASSERT_OK(seq_merkle_root(leaves, 5000, &root));
    for (k = 0; k < 50; k++) {
        size_t n = (size_t)seq_rng_range(&rng, 1, 5000);
        size_t i = (size_t)seq_rng_below(&rng, n);

        ASSERT_OK(seq_merkle_root(leaves, n, &want));
        ASSERT_OK(seq_merkle_prove(leaves, n, i, &proof));
        ASSERT_LE(proof.n_siblings, 13);
        ASSERT_OK(seq_merkle_verify(&leaves[i], &proof, &want));
    }
    ASSERT_EQ(seq_alloc_count(), allocs);
    reference_root(leaves, 5000, &want);
    ASSERT_TRUE(seq_hash_eq(&root, &want));
}

TEST_MAIN()
