/* The namespace tree (common/seq_nstree.h): the encodings pinned against
 * vectors computed outside this code base, roots for every size up to 70
 * against a reference written from the header's description, a presence
 * proof for every leaf and an absence proof for every gap, and the forgeries
 * an executor must never accept: a wrong entries hash or id, presence of an
 * absent id, absence of a present id built from non-adjacent leaves, from a
 * tree of another size or with a manipulated n_leaves, tampered siblings and
 * out-of-range indices. Seeded random trees close it. */

#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "seq_err.h"
#include "seq_hash.h"
#include "seq_hex.h"
#include "seq_merkle.h"
#include "seq_nstree.h"
#include "seq_rng.h"

#define MAX_LEAVES  70
#define RAND_LEAVES 300

static void expect_hex(const struct seq_hash *h, const char *hex)
{
    char text[2 * SEQ_HASH_LEN + 1];

    seq_hex_encode(h->bytes, SEQ_HASH_LEN, text);
    ASSERT_STREQ(text, hex);
}

static void put_u64(uint8_t *out, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* The header's encodings, spelled out byte by byte. */
static void reference_root(const struct seq_nstree_leaf *leaves,
                           size_t n,
                           struct seq_hash *out)
{
    static struct seq_hash hashes[RAND_LEAVES];
    uint8_t data[8 + SEQ_HASH_LEN];
    uint8_t fold[13 + 8 + SEQ_HASH_LEN];
    struct seq_hash merkle_root;
    size_t i;

    ASSERT_LE(n, RAND_LEAVES);
    for (i = 0; i < n; i++) {
        put_u64(data, leaves[i].ns_id);
        memcpy(data + 8, leaves[i].entries_hash.bytes, SEQ_HASH_LEN);
        seq_merkle_leaf_hash(data, sizeof data, &hashes[i]);
    }
    ASSERT_OK(seq_merkle_root(hashes, n, &merkle_root));
    memcpy(fold, "SEQ-NSROOT-v1", 13);
    put_u64(fold + 13, (uint64_t)n);
    memcpy(fold + 21, merkle_root.bytes, SEQ_HASH_LEN);
    seq_sha256(fold, sizeof fold, out);
}

/* @n leaves with ascending ids, each at least 2 above the previous so every
 * gap holds an absent id, starting at 1 or more so 0 is absent too; each
 * namespace has 1 to 3 random entries. */
static void random_leaves(struct seq_rng *rng,
                          struct seq_nstree_leaf *leaves,
                          size_t n,
                          uint64_t max_gap)
{
    struct seq_hash entries[3];
    uint64_t id = 0;
    uint64_t word;
    size_t i;
    size_t j;
    size_t k;

    for (i = 0; i < n; i++) {
        id += seq_rng_range(rng, 2, max_gap);
        k = (size_t)seq_rng_range(rng, 1, 3);
        for (j = 0; j < k; j++) {
            word = seq_rng_next(rng);
            seq_sha256(&word, sizeof word, &entries[j]);
        }
        leaves[i].ns_id = id;
        seq_nstree_entries_hash(entries, k, &leaves[i].entries_hash);
    }
}

static void flip(struct seq_hash *h, size_t bit)
{
    h->bytes[(bit / 8) % SEQ_HASH_LEN] ^= (uint8_t)(1u << (bit % 8));
}

/* Checks that @proof is a good absence proof for @id, and that the verifier
 * refuses it for any id the adjacent leaves contain or for another root. */
static void expect_absent(const struct seq_nstree_leaf *leaves,
                          size_t n,
                          const struct seq_hash *root,
                          uint64_t id,
                          enum seq_nstree_absence_kind kind)
{
    struct seq_hash scratch[RAND_LEAVES];
    struct seq_nstree_absence proof;
    struct seq_nstree_presence presence;
    struct seq_hash other;

    ASSERT_OK(seq_nstree_prove_absence(leaves, n, id, scratch, &proof));
    ASSERT_EQ(proof.kind, kind);
    ASSERT_EQ(proof.n_leaves, n);
    ASSERT_OK(seq_nstree_verify_absence(root, id, &proof));
    ASSERT_ERR(seq_nstree_prove_presence(leaves, n, id, scratch, &presence),
               SEQ_ENOTFOUND);
    if (kind != SEQ_NSTREE_ABSENT_BELOW && kind != SEQ_NSTREE_ABSENT_EMPTY) {
        ASSERT_ERR(seq_nstree_verify_absence(root, proof.pred.ns_id, &proof),
                   SEQ_EBADMSG);
    }
    if (kind != SEQ_NSTREE_ABSENT_ABOVE && kind != SEQ_NSTREE_ABSENT_EMPTY) {
        ASSERT_ERR(seq_nstree_verify_absence(root, proof.succ.ns_id, &proof),
                   SEQ_EBADMSG);
    }
    other = *root;
    flip(&other, 0);
    ASSERT_ERR(seq_nstree_verify_absence(&other, id, &proof), SEQ_EBADMSG);
}

TEST(nstree, entries_hash_encoding)
{
    struct seq_hash e[3];
    struct seq_hash swapped[2];
    struct seq_hash got;
    struct seq_hash want;
    uint8_t buf[16 + 8 + 2 * SEQ_HASH_LEN];

    seq_sha256("a", 1, &e[0]);
    seq_sha256("b", 1, &e[1]);
    seq_sha256("c", 1, &e[2]);
    seq_nstree_entries_hash(NULL, 0, &got);
    expect_hex(
        &got,
        "b6867b5641f25b6a3713a95df67e1ffec1122a337bc2b88c8a98b07a3d5bf045");
    seq_nstree_entries_hash(&e[1], 2, &got);
    expect_hex(
        &got,
        "1767e10a4f7c912d50c6765796d80d563fb7cce1ed59a66dba756478603611de");

    memcpy(buf, "SEQ-NSENTRIES-v1", 16);
    put_u64(buf + 16, 2);
    memcpy(buf + 24, e[1].bytes, SEQ_HASH_LEN);
    memcpy(buf + 24 + SEQ_HASH_LEN, e[2].bytes, SEQ_HASH_LEN);
    seq_sha256(buf, sizeof buf, &want);
    ASSERT_TRUE(seq_hash_eq(&got, &want));

    /* Order and count are both committed. */
    swapped[0] = e[2];
    swapped[1] = e[1];
    seq_nstree_entries_hash(swapped, 2, &want);
    ASSERT_FALSE(seq_hash_eq(&got, &want));
    seq_nstree_entries_hash(&e[1], 1, &want);
    ASSERT_FALSE(seq_hash_eq(&got, &want));
}

TEST(nstree, leaf_hash_encoding)
{
    struct seq_nstree_leaf leaf;
    uint8_t data[1 + 8 + SEQ_HASH_LEN];
    struct seq_hash got;
    struct seq_hash want;

    leaf.ns_id = 0x0102030405060708u;
    seq_sha256("x", 1, &leaf.entries_hash);
    seq_nstree_leaf_hash(&leaf, &got);
    data[0] = 0x00;
    put_u64(data + 1, leaf.ns_id);
    memcpy(data + 9, leaf.entries_hash.bytes, SEQ_HASH_LEN);
    seq_sha256(data, sizeof data, &want);
    ASSERT_TRUE(seq_hash_eq(&got, &want));
}

/* Vectors from a short Python script following the header's encodings. */
TEST(nstree, pinned_roots)
{
    struct seq_nstree_leaf leaves[3];
    struct seq_hash scratch[3];
    struct seq_hash e[4];
    struct seq_hash root;

    ASSERT_OK(seq_nstree_root(NULL, 0, NULL, &root));
    expect_hex(
        &root,
        "58bba723864fa174f54ad43e26c54996b54afd992f8dbe0c296cd166024c9702");

    seq_sha256("a", 1, &e[0]);
    seq_sha256("b", 1, &e[1]);
    seq_sha256("c", 1, &e[2]);
    seq_sha256("d", 1, &e[3]);
    leaves[0].ns_id = 1;
    seq_nstree_entries_hash(&e[0], 1, &leaves[0].entries_hash);
    leaves[1].ns_id = 7;
    seq_nstree_entries_hash(&e[1], 2, &leaves[1].entries_hash);
    leaves[2].ns_id = UINT64_MAX;
    seq_nstree_entries_hash(&e[3], 1, &leaves[2].entries_hash);
    ASSERT_OK(seq_nstree_root(leaves, 3, scratch, &root));
    expect_hex(
        &root,
        "c74c32d53d9da817ce6829e4ef746c0acf8f5b6f6fd4ad9516e1ac80a0d7e732");
}

TEST(nstree, roots_up_to_70)
{
    struct seq_nstree_leaf leaves[MAX_LEAVES];
    struct seq_hash scratch[MAX_LEAVES];
    struct seq_hash roots[MAX_LEAVES + 1];
    struct seq_hash want;
    struct seq_hash leaf;
    struct seq_rng rng;
    size_t n;
    size_t m;

    seq_rng_seed(&rng, test_seed());
    random_leaves(&rng, leaves, MAX_LEAVES, 1000);
    for (n = 0; n <= MAX_LEAVES; n++) {
        ASSERT_OK(seq_nstree_root(leaves, n, scratch, &roots[n]));
        reference_root(leaves, n, &want);
        ASSERT_TRUE(seq_hash_eq(&roots[n], &want));
        /* On success the scratch holds the leaf hashes. */
        for (m = 0; m < n; m++) {
            seq_nstree_leaf_hash(&leaves[m], &leaf);
            ASSERT_TRUE(seq_hash_eq(&scratch[m], &leaf));
        }
        /* Every prefix of one list is a different tree. */
        for (m = 0; m < n; m++) {
            ASSERT_FALSE(seq_hash_eq(&roots[m], &roots[n]));
        }
    }
}

TEST(nstree, presence_every_leaf)
{
    struct seq_nstree_leaf leaves[MAX_LEAVES];
    struct seq_hash scratch[MAX_LEAVES];
    struct seq_nstree_presence proof;
    struct seq_nstree_absence absence;
    struct seq_hash root;
    struct seq_hash wrong;
    struct seq_rng rng;
    uint64_t id;
    size_t n;
    size_t i;

    seq_rng_seed(&rng, test_seed());
    random_leaves(&rng, leaves, MAX_LEAVES, 1000);
    for (n = 1; n <= MAX_LEAVES; n++) {
        ASSERT_OK(seq_nstree_root(leaves, n, scratch, &root));
        for (i = 0; i < n; i++) {
            id = leaves[i].ns_id;
            ASSERT_OK(
                seq_nstree_prove_presence(leaves, n, id, scratch, &proof));
            ASSERT_EQ(proof.n_leaves, n);
            ASSERT_EQ(proof.path.index, i);
            ASSERT_OK(seq_nstree_verify_presence(
                &root, id, &leaves[i].entries_hash, &proof));
            ASSERT_ERR(
                seq_nstree_prove_absence(leaves, n, id, scratch, &absence),
                SEQ_EEXIST);

            /* Wrong entries: another namespace's, or one bit off. */
            wrong = leaves[i].entries_hash;
            flip(&wrong, i);
            ASSERT_ERR(seq_nstree_verify_presence(&root, id, &wrong, &proof),
                       SEQ_EBADMSG);
            if (n > 1) {
                ASSERT_ERR(
                    seq_nstree_verify_presence(
                        &root, id, &leaves[(i + 1) % n].entries_hash, &proof),
                    SEQ_EBADMSG);
            }
            /* Wrong id: an absent neighbour, or another leaf's id. */
            ASSERT_ERR(seq_nstree_verify_presence(
                           &root, id + 1, &leaves[i].entries_hash, &proof),
                       SEQ_EBADMSG);
            ASSERT_ERR(seq_nstree_verify_presence(
                           &root, id - 1, &leaves[i].entries_hash, &proof),
                       SEQ_EBADMSG);
            if (n > 1) {
                ASSERT_ERR(
                    seq_nstree_verify_presence(&root, leaves[(i + 1) % n].ns_id,
                                               &leaves[i].entries_hash, &proof),
                    SEQ_EBADMSG);
            }
        }
    }
}

TEST(nstree, absence_every_gap)
{
    struct seq_nstree_leaf leaves[MAX_LEAVES];
    struct seq_hash scratch[MAX_LEAVES];
    struct seq_hash root;
    struct seq_rng rng;
    size_t n;
    size_t i;

    seq_rng_seed(&rng, test_seed());
    random_leaves(&rng, leaves, MAX_LEAVES, 1000);
    ASSERT_OK(seq_nstree_root(leaves, 0, scratch, &root));
    expect_absent(leaves, 0, &root, 0, SEQ_NSTREE_ABSENT_EMPTY);
    expect_absent(leaves, 0, &root, 42, SEQ_NSTREE_ABSENT_EMPTY);
    expect_absent(leaves, 0, &root, UINT64_MAX, SEQ_NSTREE_ABSENT_EMPTY);
    for (n = 1; n <= MAX_LEAVES; n++) {
        ASSERT_OK(seq_nstree_root(leaves, n, scratch, &root));
        expect_absent(leaves, n, &root, 0, SEQ_NSTREE_ABSENT_BELOW);
        expect_absent(leaves, n, &root, leaves[0].ns_id - 1,
                      SEQ_NSTREE_ABSENT_BELOW);
        for (i = 0; i + 1 < n; i++) {
            expect_absent(leaves, n, &root, leaves[i].ns_id + 1,
                          SEQ_NSTREE_ABSENT_BETWEEN);
            expect_absent(leaves, n, &root, leaves[i + 1].ns_id - 1,
                          SEQ_NSTREE_ABSENT_BETWEEN);
        }
        expect_absent(leaves, n, &root, leaves[n - 1].ns_id + 1,
                      SEQ_NSTREE_ABSENT_ABOVE);
        expect_absent(leaves, n, &root, UINT64_MAX, SEQ_NSTREE_ABSENT_ABOVE);
    }
}

/* Ids 0 and UINT64_MAX are ordinary ids: present, they leave no "below" or
 * "above" gap, and presence and absence still work around them. */
TEST(nstree, extreme_ids)
{
    struct seq_nstree_leaf leaves[3];
    struct seq_hash scratch[3];
    struct seq_nstree_presence proof;
    struct seq_nstree_absence absence;
    struct seq_hash root;
    struct seq_rng rng;

    seq_rng_seed(&rng, test_seed());
    random_leaves(&rng, leaves, 3, 10);
    leaves[0].ns_id = 0;
    leaves[2].ns_id = UINT64_MAX;
    ASSERT_OK(seq_nstree_root(leaves, 3, scratch, &root));
    ASSERT_OK(seq_nstree_prove_presence(leaves, 3, 0, scratch, &proof));
    ASSERT_OK(
        seq_nstree_verify_presence(&root, 0, &leaves[0].entries_hash, &proof));
    ASSERT_OK(
        seq_nstree_prove_presence(leaves, 3, UINT64_MAX, scratch, &proof));
    ASSERT_OK(seq_nstree_verify_presence(&root, UINT64_MAX,
                                         &leaves[2].entries_hash, &proof));
    ASSERT_ERR(seq_nstree_prove_absence(leaves, 3, 0, scratch, &absence),
               SEQ_EEXIST);
    ASSERT_ERR(
        seq_nstree_prove_absence(leaves, 3, UINT64_MAX, scratch, &absence),
        SEQ_EEXIST);
    expect_absent(leaves, 3, &root, 1, SEQ_NSTREE_ABSENT_BETWEEN);
    expect_absent(leaves, 3, &root, UINT64_MAX - 1, SEQ_NSTREE_ABSENT_BETWEEN);
}

/* Absence of a present id from leaves that are not neighbours: the real
 * siblings with the real indices, or with the successor's index relabelled
 * to look adjacent. */
TEST(nstree, forge_absence_from_non_adjacent_leaves)
{
    struct seq_nstree_leaf leaves[MAX_LEAVES];
    struct seq_hash scratch[MAX_LEAVES];
    struct seq_nstree_absence a;
    struct seq_nstree_absence b;
    struct seq_nstree_absence forged;
    struct seq_hash root;
    struct seq_rng rng;
    size_t n;
    size_t i;
    size_t j;
    size_t k;

    seq_rng_seed(&rng, test_seed());
    random_leaves(&rng, leaves, MAX_LEAVES, 1000);
    for (n = 3; n <= 24; n++) {
        ASSERT_OK(seq_nstree_root(leaves, n, scratch, &root));
        for (i = 0; i < n; i++) {
            for (j = i + 2; j < n; j++) {
                /* a's pred is leaf i; b's succ is leaf j. */
                ASSERT_OK(seq_nstree_prove_absence(
                    leaves, n, leaves[i].ns_id + 1, scratch, &a));
                ASSERT_OK(seq_nstree_prove_absence(
                    leaves, n, leaves[j].ns_id - 1, scratch, &b));
                forged = a;
                forged.succ = b.succ;
                forged.succ_path = b.succ_path;
                for (k = i + 1; k < j; k++) {
                    ASSERT_ERR(seq_nstree_verify_absence(&root, leaves[k].ns_id,
                                                         &forged),
                               SEQ_EBADMSG);
                }
                forged.succ_path.index = i + 1;
                ASSERT_ERR(seq_nstree_verify_absence(&root, leaves[i + 1].ns_id,
                                                     &forged),
                           SEQ_EBADMSG);
                /* Or the predecessor relabelled, next to the successor. */
                forged = a;
                forged.succ = b.succ;
                forged.succ_path = b.succ_path;
                forged.pred_path.index = j - 1;
                ASSERT_ERR(seq_nstree_verify_absence(&root, leaves[i + 1].ns_id,
                                                     &forged),
                           SEQ_EBADMSG);
            }
            /* Present leaf i claimed below the first or above the last. */
            ASSERT_OK(seq_nstree_prove_absence(leaves, n, 0, scratch, &a));
            a.succ = leaves[i];
            ASSERT_OK(seq_merkle_prove(scratch, n, i, &a.succ_path));
            a.succ_path.index = 0;
            ASSERT_ERR(seq_nstree_verify_absence(&root, leaves[0].ns_id, &a),
                       SEQ_EBADMSG);
            ASSERT_OK(
                seq_nstree_prove_absence(leaves, n, UINT64_MAX, scratch, &b));
            b.pred = leaves[i];
            ASSERT_OK(seq_merkle_prove(scratch, n, i, &b.pred_path));
            if (i + 1 < n) {
                ASSERT_ERR(
                    seq_nstree_verify_absence(&root, leaves[n - 1].ns_id, &b),
                    SEQ_EBADMSG);
                b.pred_path.index = n - 1;
                ASSERT_ERR(
                    seq_nstree_verify_absence(&root, leaves[n - 1].ns_id, &b),
                    SEQ_EBADMSG);
            }
        }
    }
}

/* A proof made for a tree of another size over the same leading leaves:
 * "leaf m - 1 is the last" is true of the m-leaf prefix but not of the real
 * n-leaf tree. Presented whole, or with its count and root swapped for the
 * real ones, or with n_leaves alone changed (with or without the paths'),
 * it must fail. */
TEST(nstree, forge_absence_from_other_tree_size)
{
    struct seq_nstree_leaf leaves[MAX_LEAVES];
    struct seq_hash scratch[MAX_LEAVES];
    struct seq_nstree_absence real;
    struct seq_nstree_absence small;
    struct seq_nstree_absence forged;
    struct seq_hash root;
    struct seq_rng rng;
    uint64_t id;
    size_t n;
    size_t m;

    seq_rng_seed(&rng, test_seed());
    random_leaves(&rng, leaves, MAX_LEAVES, 1000);
    for (n = 1; n <= MAX_LEAVES; n++) {
        ASSERT_OK(seq_nstree_root(leaves, n, scratch, &root));
        ASSERT_OK(
            seq_nstree_prove_absence(leaves, n, UINT64_MAX, scratch, &real));
        for (m = 0; m < n; m++) {
            /* Every id of leaves m..n-1 is above the small tree's last. */
            id = leaves[m].ns_id;
            ASSERT_OK(seq_nstree_prove_absence(leaves, m, id, scratch, &small));
            ASSERT_ERR(seq_nstree_verify_absence(&root, id, &small),
                       SEQ_EBADMSG);
            forged = small;
            forged.n_leaves = real.n_leaves;
            forged.merkle_root = real.merkle_root;
            ASSERT_ERR(seq_nstree_verify_absence(&root, id, &forged),
                       SEQ_EBADMSG);
            forged.pred_path.n_leaves = n;
            forged.pred_path.index = n - 1;
            ASSERT_ERR(seq_nstree_verify_absence(&root, id, &forged),
                       SEQ_EBADMSG);
            /* The real proof of "above the last", told the tree is m. */
            id = leaves[n - 1].ns_id + 1;
            ASSERT_OK(seq_nstree_verify_absence(&root, id, &real));
            forged = real;
            forged.n_leaves = m;
            ASSERT_ERR(seq_nstree_verify_absence(&root, id, &forged),
                       SEQ_EBADMSG);
            forged.pred_path.n_leaves = m;
            if (m > 0) {
                forged.pred_path.index = m - 1;
            }
            ASSERT_ERR(seq_nstree_verify_absence(&root, id, &forged),
                       SEQ_EBADMSG);
            forged.kind = SEQ_NSTREE_ABSENT_EMPTY;
            ASSERT_ERR(seq_nstree_verify_absence(&root, id, &forged),
                       SEQ_EBADMSG);
        }
        /* Larger claimed sizes, including absurd ones. */
        forged = real;
        forged.n_leaves = n + 1;
        forged.pred_path.n_leaves = n + 1;
        forged.pred_path.index = n;
        ASSERT_ERR(seq_nstree_verify_absence(&root, UINT64_MAX, &forged),
                   SEQ_EBADMSG);
        forged.n_leaves = UINT64_MAX;
        forged.pred_path.n_leaves = UINT64_MAX;
        forged.pred_path.index = UINT64_MAX - 1;
        ASSERT_ERR(seq_nstree_verify_absence(&root, UINT64_MAX, &forged),
                   SEQ_EBADMSG);
    }
}

/* "Empty tree" for a tree that is not empty: the real Merkle root with a
 * count of 0, or the empty root with the real count. */
TEST(nstree, forge_empty_tree)
{
    struct seq_nstree_leaf leaves[4];
    struct seq_hash scratch[4];
    struct seq_nstree_absence real;
    struct seq_nstree_absence forged;
    struct seq_hash root;
    struct seq_rng rng;

    seq_rng_seed(&rng, test_seed());
    random_leaves(&rng, leaves, 4, 100);
    ASSERT_OK(seq_nstree_root(leaves, 4, scratch, &root));
    ASSERT_OK(seq_nstree_prove_absence(leaves, 4, UINT64_MAX, scratch, &real));
    memset(&forged, 0, sizeof forged);
    forged.kind = SEQ_NSTREE_ABSENT_EMPTY;
    forged.merkle_root = real.merkle_root;
    ASSERT_ERR(seq_nstree_verify_absence(&root, leaves[1].ns_id, &forged),
               SEQ_EBADMSG);
    forged.n_leaves = 4;
    ASSERT_ERR(seq_nstree_verify_absence(&root, leaves[1].ns_id, &forged),
               SEQ_EBADMSG);
    ASSERT_OK(seq_merkle_root(NULL, 0, &forged.merkle_root));
    ASSERT_ERR(seq_nstree_verify_absence(&root, leaves[1].ns_id, &forged),
               SEQ_EBADMSG);
    forged.n_leaves = 0;
    ASSERT_ERR(seq_nstree_verify_absence(&root, leaves[1].ns_id, &forged),
               SEQ_EBADMSG);
}

/* Roots no honest builder makes, folded by hand: a count of 0 over a
 * non-empty Merkle root, and a non-zero count over the empty one. An
 * "empty tree" proof must not pass for either. */
TEST(nstree, forge_empty_tree_odd_roots)
{
    uint8_t fold[13 + 8 + SEQ_HASH_LEN];
    struct seq_nstree_absence forged;
    struct seq_hash root;

    memset(&forged, 0, sizeof forged);
    forged.kind = SEQ_NSTREE_ABSENT_EMPTY;
    seq_sha256("not empty", 9, &forged.merkle_root);
    memcpy(fold, "SEQ-NSROOT-v1", 13);
    put_u64(fold + 13, 0);
    memcpy(fold + 21, forged.merkle_root.bytes, SEQ_HASH_LEN);
    seq_sha256(fold, sizeof fold, &root);
    ASSERT_ERR(seq_nstree_verify_absence(&root, 5, &forged), SEQ_EBADMSG);

    ASSERT_OK(seq_merkle_root(NULL, 0, &forged.merkle_root));
    forged.n_leaves = 4;
    put_u64(fold + 13, 4);
    memcpy(fold + 21, forged.merkle_root.bytes, SEQ_HASH_LEN);
    seq_sha256(fold, sizeof fold, &root);
    ASSERT_ERR(seq_nstree_verify_absence(&root, 5, &forged), SEQ_EBADMSG);

    /* The same by-hand fold with count 0 is the real empty root. */
    forged.n_leaves = 0;
    put_u64(fold + 13, 0);
    seq_sha256(fold, sizeof fold, &root);
    ASSERT_OK(seq_nstree_verify_absence(&root, 5, &forged));
}

/* Every bit of every sibling, of the folded Merkle root and of the leaves
 * an absence proof carries. */
TEST(nstree, tampered_hashes)
{
    struct seq_nstree_leaf leaves[MAX_LEAVES];
    struct seq_hash scratch[MAX_LEAVES];
    struct seq_nstree_presence p;
    struct seq_nstree_presence pt;
    struct seq_nstree_absence a;
    struct seq_nstree_absence at;
    struct seq_hash root;
    struct seq_rng rng;
    size_t n = 37;
    size_t i;
    size_t bit;
    uint32_t s;

    seq_rng_seed(&rng, test_seed());
    random_leaves(&rng, leaves, n, 1000);
    ASSERT_OK(seq_nstree_root(leaves, n, scratch, &root));
    for (i = 0; i < n; i++) {
        ASSERT_OK(
            seq_nstree_prove_presence(leaves, n, leaves[i].ns_id, scratch, &p));
        ASSERT_OK(seq_nstree_prove_absence(leaves, n, leaves[i].ns_id + 1,
                                           scratch, &a));
        for (bit = 0; bit < 8 * SEQ_HASH_LEN; bit++) {
            for (s = 0; s < p.path.n_siblings; s++) {
                pt = p;
                flip(&pt.path.siblings[s], bit);
                ASSERT_ERR(
                    seq_nstree_verify_presence(&root, leaves[i].ns_id,
                                               &leaves[i].entries_hash, &pt),
                    SEQ_EBADMSG);
            }
            pt = p;
            flip(&pt.merkle_root, bit);
            ASSERT_ERR(seq_nstree_verify_presence(&root, leaves[i].ns_id,
                                                  &leaves[i].entries_hash, &pt),
                       SEQ_EBADMSG);
            for (s = 0; s < a.pred_path.n_siblings; s++) {
                at = a;
                flip(&at.pred_path.siblings[s], bit);
                ASSERT_ERR(
                    seq_nstree_verify_absence(&root, leaves[i].ns_id + 1, &at),
                    SEQ_EBADMSG);
            }
            for (s = 0; s < a.succ_path.n_siblings; s++) {
                at = a;
                flip(&at.succ_path.siblings[s], bit);
                ASSERT_ERR(
                    seq_nstree_verify_absence(&root, leaves[i].ns_id + 1, &at),
                    SEQ_EBADMSG);
            }
            at = a;
            flip(&at.merkle_root, bit);
            ASSERT_ERR(
                seq_nstree_verify_absence(&root, leaves[i].ns_id + 1, &at),
                SEQ_EBADMSG);
            at = a;
            flip(&at.pred.entries_hash, bit);
            ASSERT_ERR(
                seq_nstree_verify_absence(&root, leaves[i].ns_id + 1, &at),
                SEQ_EBADMSG);
            if (i + 1 < n) {
                at = a;
                flip(&at.succ.entries_hash, bit);
                ASSERT_ERR(
                    seq_nstree_verify_absence(&root, leaves[i].ns_id + 1, &at),
                    SEQ_EBADMSG);
            }
        }
    }
}

/* Hostile counts, indices, depths and kinds: rejected, never a crash (the
 * sanitizer build runs this too). */
TEST(nstree, out_of_range_fields)
{
    static const uint64_t bad_index[] = { 5, 6, 64, UINT64_MAX - 1,
                                          UINT64_MAX };
    static const uint32_t bad_depth[] = { SEQ_MERKLE_MAX_DEPTH + 1,
                                          UINT32_MAX };
    struct seq_nstree_leaf leaves[5];
    struct seq_hash scratch[5];
    struct seq_nstree_presence p;
    struct seq_nstree_presence pt;
    struct seq_nstree_absence a;
    struct seq_nstree_absence at;
    struct seq_hash root;
    struct seq_rng rng;
    uint64_t id;
    size_t i;

    seq_rng_seed(&rng, test_seed());
    random_leaves(&rng, leaves, 5, 100);
    ASSERT_OK(seq_nstree_root(leaves, 5, scratch, &root));
    ASSERT_OK(
        seq_nstree_prove_presence(leaves, 5, leaves[2].ns_id, scratch, &p));
    id = leaves[2].ns_id + 1;
    ASSERT_OK(seq_nstree_prove_absence(leaves, 5, id, scratch, &a));
    ASSERT_OK(seq_nstree_verify_absence(&root, id, &a));

    for (i = 0; i < sizeof bad_index / sizeof bad_index[0]; i++) {
        pt = p;
        pt.path.index = bad_index[i];
        ASSERT_ERR(seq_nstree_verify_presence(&root, leaves[2].ns_id,
                                              &leaves[2].entries_hash, &pt),
                   SEQ_EBADMSG);
        at = a;
        at.pred_path.index = bad_index[i];
        ASSERT_ERR(seq_nstree_verify_absence(&root, id, &at), SEQ_EBADMSG);
        at = a;
        at.succ_path.index = bad_index[i];
        ASSERT_ERR(seq_nstree_verify_absence(&root, id, &at), SEQ_EBADMSG);
        at = a;
        at.pred_path.index = bad_index[i];
        at.succ_path.index = bad_index[i] + 1; /* wraps for UINT64_MAX */
        ASSERT_ERR(seq_nstree_verify_absence(&root, id, &at), SEQ_EBADMSG);
    }
    for (i = 0; i < sizeof bad_depth / sizeof bad_depth[0]; i++) {
        pt = p;
        pt.path.n_siblings = bad_depth[i];
        ASSERT_ERR(seq_nstree_verify_presence(&root, leaves[2].ns_id,
                                              &leaves[2].entries_hash, &pt),
                   SEQ_EBADMSG);
        at = a;
        at.pred_path.n_siblings = bad_depth[i];
        ASSERT_ERR(seq_nstree_verify_absence(&root, id, &at), SEQ_EBADMSG);
        at = a;
        at.succ_path.n_siblings = bad_depth[i];
        ASSERT_ERR(seq_nstree_verify_absence(&root, id, &at), SEQ_EBADMSG);
    }
    /* One sibling too few or too many for the shape. */
    pt = p;
    pt.path.n_siblings--;
    ASSERT_ERR(seq_nstree_verify_presence(&root, leaves[2].ns_id,
                                          &leaves[2].entries_hash, &pt),
               SEQ_EBADMSG);
    pt = p;
    pt.path.n_siblings++;
    ASSERT_ERR(seq_nstree_verify_presence(&root, leaves[2].ns_id,
                                          &leaves[2].entries_hash, &pt),
               SEQ_EBADMSG);
    /* Counts that disagree, or that no tree has. */
    pt = p;
    pt.n_leaves = 0;
    pt.path.n_leaves = 0;
    ASSERT_ERR(seq_nstree_verify_presence(&root, leaves[2].ns_id,
                                          &leaves[2].entries_hash, &pt),
               SEQ_EBADMSG);
    pt = p;
    pt.path.n_leaves = 6;
    ASSERT_ERR(seq_nstree_verify_presence(&root, leaves[2].ns_id,
                                          &leaves[2].entries_hash, &pt),
               SEQ_EBADMSG);
    at = a;
    at.succ_path.n_leaves = 4;
    ASSERT_ERR(seq_nstree_verify_absence(&root, id, &at), SEQ_EBADMSG);
    /* Kinds outside the enum, and kinds that do not fit the leaves. */
    at = a;
    at.kind = (enum seq_nstree_absence_kind)0;
    ASSERT_ERR(seq_nstree_verify_absence(&root, id, &at), SEQ_EBADMSG);
    at.kind = (enum seq_nstree_absence_kind)99;
    ASSERT_ERR(seq_nstree_verify_absence(&root, id, &at), SEQ_EBADMSG);
    at.kind = SEQ_NSTREE_ABSENT_ABOVE;
    ASSERT_ERR(seq_nstree_verify_absence(&root, id, &at), SEQ_EBADMSG);
    at.kind = SEQ_NSTREE_ABSENT_BELOW;
    ASSERT_ERR(seq_nstree_verify_absence(&root, id, &at), SEQ_EBADMSG);
    at.kind = SEQ_NSTREE_ABSENT_EMPTY;
    ASSERT_ERR(seq_nstree_verify_absence(&root, id, &at), SEQ_EBADMSG);
    /* A zeroed proof proves nothing. */
    memset(&at, 0, sizeof at);
    ASSERT_ERR(seq_nstree_verify_absence(&root, id, &at), SEQ_EBADMSG);
    memset(&pt, 0, sizeof pt);
    ASSERT_ERR(seq_nstree_verify_presence(&root, leaves[2].ns_id,
                                          &leaves[2].entries_hash, &pt),
               SEQ_EBADMSG);
}

TEST(nstree, build_rejects_bad_leaves)
{
    struct seq_nstree_leaf leaves[4];
    struct seq_nstree_leaf bad[4];
    struct seq_hash scratch[4];
    struct seq_nstree_presence p;
    struct seq_nstree_absence a;
    struct seq_hash root;
    struct seq_rng rng;
    size_t i;

    seq_rng_seed(&rng, test_seed());
    random_leaves(&rng, leaves, 4, 100);
    for (i = 0; i < 4; i++) {
        memcpy(bad, leaves, sizeof bad);
        switch (i) {
        case 0: /* A duplicate id. */
            bad[2].ns_id = bad[1].ns_id;
            break;
        case 1: /* Descending. */
            bad[3].ns_id = bad[0].ns_id - 1;
            break;
        case 2: /* Swapped neighbours. */
            bad[0] = leaves[1];
            bad[1] = leaves[0];
            break;
        default: /* An empty namespace present as a leaf. */
            seq_nstree_entries_hash(NULL, 0, &bad[2].entries_hash);
            break;
        }
        ASSERT_ERR(seq_nstree_root(bad, 4, scratch, &root), SEQ_EINVAL);
        ASSERT_ERR(seq_nstree_prove_presence(bad, 4, bad[3].ns_id, scratch, &p),
                   SEQ_EINVAL);
        ASSERT_ERR(seq_nstree_prove_absence(bad, 4, 0, scratch, &a),
                   SEQ_EINVAL);
    }
    ASSERT_OK(seq_nstree_root(leaves, 4, scratch, &root));
}

/* Random trees with ids anywhere in the u64 range, random queries: the
 * provers agree with membership, proofs verify for their own tree and for
 * no other. */
TEST(nstree, random_trees)
{
    static struct seq_nstree_leaf leaves[RAND_LEAVES];
    static struct seq_nstree_leaf other[RAND_LEAVES];
    static struct seq_hash scratch[RAND_LEAVES];
    struct seq_nstree_presence p;
    struct seq_nstree_absence a;
    struct seq_hash root;
    struct seq_hash other_root;
    struct seq_hash want;
    struct seq_rng rng;
    unsigned n_seeds = test_sim_seeds(300);
    unsigned s;
    unsigned q;
    uint64_t id;
    size_t n;
    size_t i;
    int present;
    int rv;

    for (s = 0; s < n_seeds; s++) {
        test_set_seed(test_seed() + s);
        seq_rng_seed(&rng, test_seed() + s);
        n = (size_t)seq_rng_below(&rng, RAND_LEAVES + 1);
        random_leaves(&rng, leaves, n,
                      seq_rng_percent(&rng, 50) ? 8 : UINT64_MAX / 512);
        ASSERT_OK(seq_nstree_root(leaves, n, scratch, &root));
        reference_root(leaves, n, &want);
        ASSERT_TRUE(seq_hash_eq(&root, &want));
        /* The same tree with one leaf dropped, for cross-tree checks. */
        if (n > 0) {
            i = (size_t)seq_rng_below(&rng, n);
            memcpy(other, leaves, i * sizeof leaves[0]);
            memcpy(&other[i], &leaves[i + 1], (n - 1 - i) * sizeof leaves[0]);
            ASSERT_OK(seq_nstree_root(other, n - 1, scratch, &other_root));
        } else {
            seq_sha256("other", 5, &other_root);
        }
        for (q = 0; q < 64; q++) {
            if (n > 0 && seq_rng_percent(&rng, 50)) {
                i = (size_t)seq_rng_below(&rng, n);
                id = leaves[i].ns_id + seq_rng_below(&rng, 3) - 1;
            } else {
                id = seq_rng_next(&rng);
            }
            present = 0;
            for (i = 0; i < n; i++) {
                if (leaves[i].ns_id == id) {
                    present = 1;
                    break;
                }
            }
            rv = seq_nstree_prove_presence(leaves, n, id, scratch, &p);
            if (present) {
                ASSERT_OK(rv);
                ASSERT_OK(seq_nstree_verify_presence(
                    &root, id, &leaves[i].entries_hash, &p));
                ASSERT_ERR(seq_nstree_verify_presence(
                               &other_root, id, &leaves[i].entries_hash, &p),
                           SEQ_EBADMSG);
                ASSERT_ERR(seq_nstree_prove_absence(leaves, n, id, scratch, &a),
                           SEQ_EEXIST);
            } else {
                ASSERT_ERR(rv, SEQ_ENOTFOUND);
                ASSERT_OK(seq_nstree_prove_absence(leaves, n, id, scratch, &a));
                ASSERT_OK(seq_nstree_verify_absence(&root, id, &a));
                ASSERT_ERR(seq_nstree_verify_absence(&other_root, id, &a),
                           SEQ_EBADMSG);
            }
        }
    }
}

TEST_MAIN()
