/* seqc_verify and seqc_follow_check (client/seqc_verify.c) against real
 * cryptography: four validators with secp256k1 keys derived from fixed
 * seeds, a genesis parsed from JSON, a real namespace tree (namespaces 1, 5
 * and 9), headers with their true ids, and a child QC of BIP-340 signatures
 * over seq_vote_digest. The honest blocks are accepted (presence, each
 * kind of absence, an empty tree, an indirect commit through a chain of
 * three, a stream of consecutive heights); each test after that breaks one
 * rule, re-signing where needed so that exactly that rule is what the
 * verifier must catch, and is named after what it refuses. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "harness.h"
#include "seq_alloc.h"
#include "seq_client.h"
#include "seq_err.h"
#include "seq_hash.h"
#include "seq_header.h"
#include "seq_hex.h"
#include "seq_nstree.h"
#include "test_fs.h"

#define N_VALIDATORS 4
#define EPOCH        3
#define N_LEAVES     3

/* ------------------------------------------------------------------------
 * The validator set and the genesis
 * ------------------------------------------------------------------------ */

static secp256k1_context *ctx;
static secp256k1_keypair keys[N_VALIDATORS];
static struct seqc_genesis genesis;
static char genesis_text[4096];

static void setup(void)
{
    char hex[N_VALIDATORS][65];
    char errmsg[SEQ_ERRMSG_LEN] = "";
    int i;

    if (ctx != NULL) {
        return;
    }
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    ASSERT_TRUE(ctx != NULL);
    for (i = 0; i < N_VALIDATORS; i++) {
        char seed[32];
        struct seq_hash seckey;
        secp256k1_xonly_pubkey pub;
        uint8_t pk[32];

        snprintf(seed, sizeof seed, "seqc-test-validator-%d", i);
        seq_sha256(seed, strlen(seed), &seckey);
        ASSERT_TRUE(secp256k1_keypair_create(ctx, &keys[i], seckey.bytes));
        ASSERT_TRUE(secp256k1_keypair_xonly_pub(ctx, &pub, NULL, &keys[i]));
        ASSERT_TRUE(secp256k1_xonly_pubkey_serialize(ctx, pk, &pub));
        seq_hex_encode(pk, 32, hex[i]);
    }
    snprintf(genesis_text, sizeof genesis_text,
             "{\"chain_id\": \"seq-test\", \"genesis_time\": "
             "\"2026-11-21T06:00:00Z\", \"epoch\": %d, \"base_timeout_ms\": "
             "1000, \"validators\": ["
             "{\"index\": 0, \"name\": \"node0\", \"pubkey\": \"%s\"},"
             "{\"index\": 1, \"name\": \"node1\", \"pubkey\": \"%s\"},"
             "{\"index\": 2, \"name\": \"node2\", \"pubkey\": \"%s\"},"
             "{\"index\": 3, \"name\": \"node3\", \"pubkey\": \"%s\"}],"
             " \"namespaces\": ["
             "{\"id\": 1, \"name\": \"rollup-a\", \"weight\": 1, "
             "\"max_tx_size\": 65536},"
             "{\"id\": 5, \"name\": \"rollup-b\", \"weight\": 2, "
             "\"max_tx_size\": 1024},"
             "{\"id\": 9, \"name\": \"rollup-c\", \"weight\": 1, "
             "\"max_tx_size\": 1024}]}\n",
             EPOCH, hex[0], hex[1], hex[2], hex[3]);
    ASSERT_OK(seqc_genesis_parse((const uint8_t *)genesis_text,
                                 strlen(genesis_text), &genesis, errmsg));
    ASSERT_EQ(genesis.n_validators, N_VALIDATORS);
}

/* ------------------------------------------------------------------------
 * Blocks
 * ------------------------------------------------------------------------ */

/* The namespaces in every block of the fixture (unless it is empty). */
static const struct {
    uint64_t ns;
    const char *payloads[3];
} contents[N_LEAVES] = {
    { 1, { "alpha", "beta", "gamma" } },
    { 5, { "delta", NULL, NULL } },
    { 9, { "epsilon", "zeta", NULL } },
};

static size_t n_payloads(size_t leaf)
{
    size_t n = 0;

    while (n < 3 && contents[leaf].payloads[n] != NULL) {
        n++;
    }
    return n;
}

static void leaves_make(struct seq_nstree_leaf *leaves)
{
    size_t i;
    size_t j;

    for (i = 0; i < N_LEAVES; i++) {
        struct seq_hash tx[3];
        size_t n = n_payloads(i);

        for (j = 0; j < n; j++) {
            const char *p = contents[i].payloads[j];

            seqc_tx_hash(contents[i].ns, (const uint8_t *)p, strlen(p), &tx[j]);
        }
        leaves[i].ns_id = contents[i].ns;
        seq_nstree_entries_hash(tx, n, &leaves[i].entries_hash);
    }
}

/* What a block looks like: chain[0] at @height in @round0, @n_chain
 * headers in consecutive rounds, all in @epoch. */
struct spec {
    uint64_t height;
    uint64_t round0;
    size_t n_chain;
    uint64_t epoch;
    struct seq_hash parent; /* chain[0].parent_id */
    bool empty_tree;        /* No namespace has entries at chain[0]. */
};

static struct spec spec_default(void)
{
    struct spec s;

    memset(&s, 0, sizeof s);
    s.height = 7;
    s.round0 = 10;
    s.n_chain = 1;
    s.epoch = EPOCH;
    memset(s.parent.bytes, 0x42, SEQ_HASH_LEN);
    return s;
}

static void sign(uint32_t signer,
                 const struct seq_hash *digest,
                 struct seqc_qc_sig *out)
{
    out->signer = signer;
    ASSERT_TRUE(secp256k1_schnorrsig_sign32(ctx, out->sig, digest->bytes,
                                            &keys[signer], NULL));
}

/* child_qc for the block with @block_id in child's round and epoch,
 * signed by @signers. */
static void certify(struct seqc_nsblock *b,
                    const struct seq_hash *block_id,
                    const uint32_t *signers,
                    uint32_t n)
{
    struct seq_hash digest;
    uint32_t i;

    b->child_qc.epoch = b->child.epoch;
    b->child_qc.round = b->child.round;
    b->child_qc.height = b->child.height;
    b->child_qc.block_id = *block_id;
    seq_vote_digest(&genesis.chain_id, b->child_qc.epoch, b->child_qc.round,
                    block_id, &digest);
    for (i = 0; i < n; i++) {
        sign(signers[i], &digest, &b->child_qc.sigs[i]);
    }
    b->child_qc.n_sigs = n;
}

/* Recomputes the child's id and a QC from validators 0, 1 and 2. */
static void resign(struct seqc_nsblock *b)
{
    static const uint32_t signers[] = { 0, 1, 2 };
    struct seq_hash id;

    seq_header_id(&b->child, &genesis.chain_id, &id);
    certify(b, &id, signers, 3);
}

/* Re-links chain[1..] and the child after a header changed. */
static void relink(struct seqc_nsblock *b)
{
    struct seq_hash id;
    size_t i;

    for (i = 1; i < b->n_chain; i++) {
        seq_header_id(&b->chain[i - 1], &genesis.chain_id, &id);
        b->chain[i].parent_id = id;
    }
    seq_header_id(&b->chain[b->n_chain - 1], &genesis.chain_id, &id);
    b->child.parent_id = id;
    resign(b);
}

static void entries_fill(struct seqc_nsblock *b, size_t leaf)
{
    size_t n = n_payloads(leaf);
    size_t j;

    b->entries = seq_calloc(n, sizeof *b->entries);
    ASSERT_TRUE(b->entries != NULL);
    for (j = 0; j < n; j++) {
        const char *p = contents[leaf].payloads[j];

        b->entries[j].len = strlen(p);
        b->entries[j].payload = seq_malloc(b->entries[j].len);
        ASSERT_TRUE(b->entries[j].payload != NULL);
        memcpy(b->entries[j].payload, p, b->entries[j].len);
        seqc_tx_hash(b->ns, b->entries[j].payload, b->entries[j].len,
                     &b->entries[j].tx_hash);
    }
    b->n_entries = n;
}

/* The namespace block of @ns under @s, with its true proofs. */
static void block_make(struct seqc_nsblock *b,
                       uint64_t ns,
                       const struct spec *s)
{
    struct seq_nstree_leaf leaves[N_LEAVES];
    struct seq_hash scratch[N_LEAVES];
    struct seq_hash ns_root;
    size_t n_leaves = s->empty_tree ? 0 : N_LEAVES;
    size_t i;

    setup();
    memset(b, 0, sizeof *b);
    b->ns = ns;
    b->height = s->height;
    leaves_make(leaves);
    ASSERT_OK(seq_nstree_root(leaves, n_leaves, scratch, &ns_root));
    for (i = 0; i < n_leaves; i++) {
        if (leaves[i].ns_id == ns) {
            entries_fill(b, i);
        }
    }
    b->present = b->n_entries > 0;
    if (b->present) {
        ASSERT_OK(seq_nstree_prove_presence(leaves, n_leaves, ns, scratch,
                                            &b->presence));
    } else {
        ASSERT_OK(seq_nstree_prove_absence(leaves, n_leaves, ns, scratch,
                                           &b->absence));
    }

    b->n_chain = s->n_chain;
    b->chain = seq_calloc(s->n_chain, sizeof *b->chain);
    ASSERT_TRUE(b->chain != NULL);
    for (i = 0; i < s->n_chain; i++) {
        struct seq_header *h = &b->chain[i];

        h->epoch = s->epoch;
        h->round = s->round0 + i;
        h->height = s->height + i;
        h->parent_id = s->parent;
        h->justify_round = h->round - 1;
        h->author = (uint32_t)(h->round % N_VALIDATORS);
        seq_sha256(&h->height, sizeof h->height, &h->payload_hash);
        h->ns_root = ns_root;
    }
    b->child = b->chain[s->n_chain - 1];
    b->child.round++;
    b->child.height++;
    b->child.justify_round = b->chain[s->n_chain - 1].round;
    b->child.author = (uint32_t)(b->child.round % N_VALIDATORS);
    relink(b);
}

static void expect_ok(const struct seqc_nsblock *b)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    int rv = seqc_verify(&genesis, b, errmsg);

    if (rv != 0) {
        fprintf(stderr, "seqc_verify: %s\n", errmsg);
    }
    ASSERT_OK(rv);
}

/* Refused with a message containing @what. */
static void expect_refused(const struct seqc_nsblock *b, const char *what)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";

    ASSERT_ERR(seqc_verify(&genesis, b, errmsg), SEQ_EBADMSG);
    if (strstr(errmsg, what) == NULL) {
        harness_fail(__FILE__, __LINE__, "errmsg \"%s\" lacks \"%s\"", errmsg,
                     what);
    }
}

/* ------------------------------------------------------------------------
 * Accepted
 * ------------------------------------------------------------------------ */

TEST(client_verify, accepts_presence_block)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    ASSERT_TRUE(b.present);
    ASSERT_EQ(b.n_entries, 3u);
    expect_ok(&b);
    seqc_nsblock_free(&b);
    block_make(&b, 9, &s);
    expect_ok(&b);
    seqc_nsblock_free(&b);
}

/* Namespaces 0 (below leaf 0), 3 (between leaves 0 and 1) and 20 (above
 * the last leaf) are absent. */
TEST(client_verify, accepts_absent_namespace_block)
{
    static const struct {
        uint64_t ns;
        enum seq_nstree_absence_kind kind;
    } cases[] = {
        { 0, SEQ_NSTREE_ABSENT_BELOW },
        { 3, SEQ_NSTREE_ABSENT_BETWEEN },
        { 20, SEQ_NSTREE_ABSENT_ABOVE },
    };
    struct spec s = spec_default();
    struct seqc_nsblock b;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        block_make(&b, cases[i].ns, &s);
        ASSERT_FALSE(b.present);
        ASSERT_EQ(b.n_entries, 0u);
        ASSERT_EQ(b.absence.kind, cases[i].kind);
        expect_ok(&b);
        seqc_nsblock_free(&b);
    }
}

TEST(client_verify, accepts_empty_block)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    s.empty_tree = true;
    block_make(&b, 1, &s);
    ASSERT_EQ(b.absence.kind, SEQ_NSTREE_ABSENT_EMPTY);
    expect_ok(&b);
    seqc_nsblock_free(&b);
}

/* Round 12 came after a timeout in round 11: rounds inside the chain may
 * skip; only the child's must follow its parent's. */
TEST(client_verify, accepts_indirect_commit_chain_of_3)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    s.n_chain = 3;
    block_make(&b, 1, &s);
    b.chain[1].round += 1;
    b.chain[2].round += 1;
    b.chain[2].justify_round = b.chain[1].round;
    b.child.round += 1;
    b.child.justify_round = b.chain[2].round;
    relink(&b);
    expect_ok(&b);
    seqc_nsblock_free(&b);
}

/* Every signature counts: all four validators signing is fine. */
TEST(client_verify, accepts_all_signers_in_any_order)
{
    static const uint32_t signers[] = { 3, 0, 2, 1 };
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 5, &s);
    certify(&b, &b.child_qc.block_id, signers, 4);
    expect_ok(&b);
    seqc_nsblock_free(&b);
}

/* The codecs carry everything verification needs. */
TEST(client_verify, accepts_after_protobuf_and_json_round_trips)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct spec s = spec_default();
    struct seqc_nsblock b;
    struct seqc_nsblock back;
    uint8_t *enc;
    size_t len;
    char *json;

    block_make(&b, 1, &s);
    ASSERT_OK(seqc_nsblock_encode(&b, &enc, &len));
    ASSERT_OK(seqc_nsblock_decode(enc, len, &back));
    expect_ok(&back);
    seqc_nsblock_free(&back);
    free(enc);
    ASSERT_OK(seqc_nsblock_to_json(&b, &genesis.chain_id, &json));
    ASSERT_OK(seqc_nsblock_from_json(json, strlen(json), &back, errmsg));
    expect_ok(&back);
    seqc_nsblock_free(&back);
    free(json);
    seqc_nsblock_free(&b);
}

TEST(client_verify, follows_consecutive_heights)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct seqc_follow f = { .ns = 1, .next_height = 7 };
    struct spec s = spec_default();
    struct seqc_nsblock b7;
    struct seqc_nsblock b8;
    struct seq_hash id7;

    block_make(&b7, 1, &s);
    seqc_nsblock_block_id(&b7, &genesis.chain_id, &id7);
    s.height = 8;
    s.round0 = 11;
    s.parent = id7;
    block_make(&b8, 1, &s);
    ASSERT_OK(seqc_follow_check(&f, &genesis, &b7, errmsg));
    ASSERT_EQ(f.next_height, 8u);
    ASSERT_TRUE(f.has_prev);
    ASSERT_TRUE(seq_hash_eq(&f.prev_id, &id7));
    ASSERT_OK(seqc_follow_check(&f, &genesis, &b8, errmsg));
    ASSERT_EQ(f.next_height, 9u);
    seqc_nsblock_free(&b8);
    seqc_nsblock_free(&b7);
}

/* ------------------------------------------------------------------------
 * Refused: the QC
 * ------------------------------------------------------------------------ */

TEST(client_verify, refuses_forged_signature)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    b.child_qc.sigs[1].sig[10] ^= 0x01;
    expect_refused(&b, "bad signature from signer 1");
    seqc_nsblock_free(&b);
}

/* A signature made by another validator's key under this signer's
 * index. */
TEST(client_verify, refuses_signature_by_another_key)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    b.child_qc.sigs[2].signer = 3;
    expect_refused(&b, "bad signature from signer 3");
    seqc_nsblock_free(&b);
}

/* Validator 1's valid signature twice makes three signatures, but only two
 * signers; and a fourth signature from a repeated signer spoils a real
 * quorum too. */
TEST(client_verify, refuses_duplicate_signer)
{
    static const uint32_t twice[] = { 0, 1, 1 };
    static const uint32_t quorum_plus_dup[] = { 0, 1, 2, 2 };
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    certify(&b, &b.child_qc.block_id, twice, 3);
    expect_refused(&b, "signer 1 twice");
    certify(&b, &b.child_qc.block_id, quorum_plus_dup, 4);
    expect_refused(&b, "signer 2 twice");
    seqc_nsblock_free(&b);
}

TEST(client_verify, refuses_only_2f_signers)
{
    static const uint32_t two[] = { 0, 3 };
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    certify(&b, &b.child_qc.block_id, two, 2);
    expect_refused(&b, "2 signatures; want 3");
    b.child_qc.n_sigs = 0;
    expect_refused(&b, "0 signatures");
    seqc_nsblock_free(&b);
}

TEST(client_verify, refuses_signer_index_out_of_range)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    b.child_qc.sigs[2].signer = N_VALIDATORS;
    expect_refused(&b, "signer 4 of 4 validators");
    b.child_qc.sigs[2].signer = UINT32_MAX;
    expect_refused(&b, "of 4 validators");
    b.child_qc.n_sigs = SEQC_MAX_VALIDATORS + 1;
    expect_refused(&b, "65 signatures");
    seqc_nsblock_free(&b);
}

/* Everything consistently built and signed in epoch 4, and the genesis
 * says 3. Then the QC alone in another epoch. */
TEST(client_verify, refuses_wrong_epoch)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    s.epoch = EPOCH + 1;
    block_make(&b, 1, &s);
    expect_refused(&b, "not in the genesis epoch");
    seqc_nsblock_free(&b);

    s.epoch = EPOCH;
    block_make(&b, 1, &s);
    b.child_qc.epoch = EPOCH + 1;
    expect_refused(&b, "child_qc: epoch 4");
    seqc_nsblock_free(&b);
}

/* Valid signatures, for a block that is not the child. */
TEST(client_verify, refuses_qc_for_another_block)
{
    static const uint32_t signers[] = { 0, 1, 2 };
    struct spec s = spec_default();
    struct seqc_nsblock b;
    struct seq_header other;
    struct seq_hash other_id;

    block_make(&b, 1, &s);
    other = b.child;
    other.author = (other.author + 1) % N_VALIDATORS;
    seq_header_id(&other, &genesis.chain_id, &other_id);
    certify(&b, &other_id, signers, 3);
    expect_refused(&b, "block_id is not id(child)");
    seqc_nsblock_free(&b);
}

/* A QC for the child's id in another round, or naming another height. */
TEST(client_verify, refuses_qc_in_another_round)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    b.child_qc.round++;
    expect_refused(&b, "round and height are not child's");
    b.child_qc.round--;
    b.child_qc.height++;
    expect_refused(&b, "round and height are not child's");
    seqc_nsblock_free(&b);
}

/* ------------------------------------------------------------------------
 * Refused: the commit proof
 * ------------------------------------------------------------------------ */

/* A child two rounds after its parent (after a timeout) certifies only a
 * 1-chain: the parent is not committed by it. */
TEST(client_verify, refuses_child_round_not_parent_plus_one)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    b.child.round++;
    resign(&b);
    expect_refused(&b, "no 2-chain");
    seqc_nsblock_free(&b);
}

TEST(client_verify, refuses_child_justifying_another_round)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    b.child.justify_round--;
    resign(&b);
    expect_refused(&b, "no 2-chain");
    seqc_nsblock_free(&b);
}

TEST(client_verify, refuses_broken_parent_link)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    /* The child's parent is not chain[0]. */
    block_make(&b, 1, &s);
    b.child.parent_id.bytes[0] ^= 1;
    resign(&b);
    expect_refused(&b, "child: parent_id is not id(chain[0])");
    seqc_nsblock_free(&b);

    /* Inside a chain of three. */
    s.n_chain = 3;
    block_make(&b, 1, &s);
    b.chain[2].parent_id.bytes[5] ^= 1;
    seq_header_id(&b.chain[2], &genesis.chain_id, &b.child.parent_id);
    resign(&b);
    expect_refused(&b, "chain[2]: parent_id is not id(chain[1])");
    seqc_nsblock_free(&b);
}

/* Changing chain[0] (its ns_root, say) without re-linking changes its id,
 * so the child no longer extends it. */
TEST(client_verify, refuses_header_changed_under_the_qc)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    b.chain[0].ns_root.bytes[0] ^= 1;
    expect_refused(&b, "parent_id is not id(chain[0])");
    seqc_nsblock_free(&b);
}

/* The indirect chain H, H+1, H+2 with H+1 left out: linked by ids it is
 * not, and by heights it skips. */
TEST(client_verify, refuses_chain_with_gap)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    s.n_chain = 3;
    block_make(&b, 1, &s);
    b.chain[1] = b.chain[2];
    b.n_chain = 2;
    expect_refused(&b, "chain[1]: height does not follow chain[0]");
    /* Re-linked, the height gap alone still refuses it. */
    relink(&b);
    expect_refused(&b, "chain[1]: height does not follow chain[0]");
    seqc_nsblock_free(&b);
}

TEST(client_verify, refuses_height_other_than_chain0)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    b.height++;
    expect_refused(&b, "chain[0]: height 7; the block says 8");
    b.height--;
    b.n_chain = 0;
    expect_refused(&b, "0 headers");
    b.n_chain = 1;
    seqc_nsblock_free(&b);
}

/* ------------------------------------------------------------------------
 * Refused: the namespace proof
 * ------------------------------------------------------------------------ */

TEST(client_verify, refuses_tampered_entry)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    b.entries[1].payload[0] ^= 0x20;
    expect_refused(&b, "not namespace 1's");
    seqc_nsblock_free(&b);
}

TEST(client_verify, refuses_dropped_entry)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    b.n_entries--;
    expect_refused(&b, "not namespace 1's");
    b.n_entries++;
    seqc_nsblock_free(&b);
}

TEST(client_verify, refuses_reordered_entries)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;
    struct seqc_entry tmp;

    block_make(&b, 1, &s);
    tmp = b.entries[0];
    b.entries[0] = b.entries[1];
    b.entries[1] = tmp;
    expect_refused(&b, "not namespace 1's");
    seqc_nsblock_free(&b);
}

/* Namespace 5's entries, passed off as namespace 1's (with 5's proof). */
TEST(client_verify, refuses_entries_of_another_namespace)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 5, &s);
    b.ns = 1;
    expect_refused(&b, "not namespace 1's");
    seqc_nsblock_free(&b);
}

/* Namespace 5 is present (leaf 1 of 1, 5, 9). Absence "proofs" for it:
 * leaves 0 and 2 as neighbours (real paths, but not adjacent), and a real
 * absence proof from a tree without it (another ns_root). Neither may
 * pass; nor may dropping all the entries while keeping presence. */
TEST(client_verify, refuses_namespace_falsely_shown_absent)
{
    struct seq_nstree_leaf leaves[N_LEAVES];
    struct seq_nstree_leaf without[2];
    struct seq_hash scratch[N_LEAVES];
    struct seq_nstree_presence p0;
    struct seq_nstree_presence p2;
    struct spec s = spec_default();
    struct seqc_nsblock b;
    size_t i;

    block_make(&b, 5, &s);
    leaves_make(leaves);
    ASSERT_OK(seq_nstree_prove_presence(leaves, N_LEAVES, 1, scratch, &p0));
    ASSERT_OK(seq_nstree_prove_presence(leaves, N_LEAVES, 9, scratch, &p2));
    for (i = 0; i < b.n_entries; i++) {
        seq_free(b.entries[i].payload);
    }
    b.n_entries = 0;
    b.present = false;
    memset(&b.absence, 0, sizeof b.absence);
    b.absence.kind = SEQ_NSTREE_ABSENT_BETWEEN;
    b.absence.n_leaves = N_LEAVES;
    b.absence.merkle_root = p0.merkle_root;
    b.absence.pred = leaves[0];
    b.absence.pred_path = p0.path;
    b.absence.succ = leaves[2];
    b.absence.succ_path = p2.path;
    expect_refused(&b, "does not show namespace 5 absent");

    without[0] = leaves[0];
    without[1] = leaves[2];
    ASSERT_OK(seq_nstree_prove_absence(without, 2, 5, scratch, &b.absence));
    ASSERT_EQ(b.absence.kind, SEQ_NSTREE_ABSENT_BETWEEN);
    expect_refused(&b, "does not show namespace 5 absent");

    /* An empty-tree proof against a non-empty ns_root. */
    ASSERT_OK(seq_nstree_prove_absence(NULL, 0, 5, NULL, &b.absence));
    expect_refused(&b, "does not show namespace 5 absent");
    seqc_nsblock_free(&b);
}

/* The entries are namespace 1's, but the flag says absence, or the other
 * way round. */
TEST(client_verify, refuses_proof_kind_disagreeing_with_entries)
{
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    b.present = false;
    expect_refused(&b, "an absence proof with 3 entries");
    seqc_nsblock_free(&b);
    block_make(&b, 3, &s);
    b.present = true;
    expect_refused(&b, "a presence proof with 0 entries");
    seqc_nsblock_free(&b);
}

/* ------------------------------------------------------------------------
 * Refused: continuity
 * ------------------------------------------------------------------------ */

TEST(client_verify, refuses_skipped_height)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct seqc_follow f = { .ns = 1, .next_height = 7 };
    struct seqc_follow before;
    struct spec s = spec_default();
    struct seqc_nsblock b7;
    struct seqc_nsblock b9;

    block_make(&b7, 1, &s);
    ASSERT_OK(seqc_follow_check(&f, &genesis, &b7, errmsg));
    s.height = 9; /* Height 8 withheld. */
    s.round0 = 13;
    block_make(&b9, 1, &s);
    expect_ok(&b9); /* A valid block on its own... */
    before = f;
    ASSERT_ERR(seqc_follow_check(&f, &genesis, &b9, errmsg), SEQ_EBADMSG);
    ASSERT_CONTAINS(errmsg, "height 9; want 8");
    ASSERT_MEMEQ(&f, &before, sizeof f); /* ...but not the next one. */
    /* Nor the same height twice. */
    ASSERT_ERR(seqc_follow_check(&f, &genesis, &b7, errmsg), SEQ_EBADMSG);
    ASSERT_CONTAINS(errmsg, "height 7; want 8");
    seqc_nsblock_free(&b9);
    seqc_nsblock_free(&b7);
}

/* Height 8 whose chain[0] does not extend the height 7 accepted before: a
 * fork, or a validator splicing chains. */
TEST(client_verify, refuses_stream_with_broken_parent_link)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct seqc_follow f = { .ns = 1, .next_height = 7 };
    struct seqc_follow before;
    struct spec s = spec_default();
    struct seqc_nsblock b7;
    struct seqc_nsblock b8;

    block_make(&b7, 1, &s);
    ASSERT_OK(seqc_follow_check(&f, &genesis, &b7, errmsg));
    s.height = 8;
    s.round0 = 11; /* s.parent is not id(b7). */
    block_make(&b8, 1, &s);
    before = f;
    ASSERT_ERR(seqc_follow_check(&f, &genesis, &b8, errmsg), SEQ_EBADMSG);
    ASSERT_CONTAINS(errmsg, "not the last block's id");
    ASSERT_MEMEQ(&f, &before, sizeof f);
    seqc_nsblock_free(&b8);
    seqc_nsblock_free(&b7);
}

TEST(client_verify, refuses_stream_of_another_namespace)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct seqc_follow f = { .ns = 5, .next_height = 7 };
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    ASSERT_ERR(seqc_follow_check(&f, &genesis, &b, errmsg), SEQ_EBADMSG);
    ASSERT_CONTAINS(errmsg, "namespace 1; following 5");
    ASSERT_EQ(f.next_height, 7u);
    ASSERT_FALSE(f.has_prev);
    seqc_nsblock_free(&b);
}

/* A block that fails seqc_verify fails the follower too, untouched. */
TEST(client_verify, follow_refuses_what_verify_refuses)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct seqc_follow f = { .ns = 1, .next_height = 7 };
    struct spec s = spec_default();
    struct seqc_nsblock b;

    block_make(&b, 1, &s);
    b.child_qc.sigs[0].sig[0] ^= 1;
    ASSERT_ERR(seqc_follow_check(&f, &genesis, &b, errmsg), SEQ_EBADMSG);
    ASSERT_CONTAINS(errmsg, "bad signature");
    ASSERT_EQ(f.next_height, 7u);
    seqc_nsblock_free(&b);
}

/* A genesis from other bytes is another chain: the same block's QC does
 * not verify under its chain id. */
TEST(client_verify, refuses_block_of_another_chain)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct spec s = spec_default();
    struct seqc_genesis other;
    struct seqc_nsblock b;
    size_t len;

    block_make(&b, 1, &s);
    len = strlen(genesis_text);
    ASSERT_OK(seqc_genesis_parse((const uint8_t *)genesis_text, len - 1, &other,
                                 errmsg)); /* No final newline. */
    ASSERT_FALSE(seq_hash_eq(&other.chain_id, &genesis.chain_id));
    ASSERT_ERR(seqc_verify(&other, &b, errmsg), SEQ_EBADMSG);
    seqc_nsblock_free(&b);
}

/* ------------------------------------------------------------------------
 * The QC cache (V5)
 * ------------------------------------------------------------------------ */

/* Follows @b's namespace from @b's height with @cache; the answer. */
static int follow_with(struct seqc_qc_cache *cache,
                       const struct seqc_genesis *g,
                       const struct seqc_nsblock *b,
                       char errmsg[SEQ_ERRMSG_LEN])
{
    struct seqc_follow f;

    memset(&f, 0, sizeof f);
    f.ns = b->ns;
    f.next_height = b->height;
    f.qc_cache = cache;
    return seqc_follow_check(&f, g, b, errmsg);
}

/* The namespace blocks of one height share their QC: the second skips the
 * signature checks. A QC with one signature, signer or key changed is
 * checked in full and refused, and the other checks still run on a QC the
 * cache knows. */
TEST(client_verify, qc_cache_skips_only_the_same_qc)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct seqc_qc_cache cache;
    struct spec s = spec_default();
    struct seqc_genesis other;
    struct seqc_nsblock b1;
    struct seqc_nsblock b9;

    memset(&cache, 0, sizeof cache);
    block_make(&b1, 1, &s);
    block_make(&b9, 9, &s);
    ASSERT_OK(follow_with(&cache, &genesis, &b1, errmsg));
    ASSERT_EQ(cache.hits, 0u);
    ASSERT_OK(follow_with(&cache, &genesis, &b9, errmsg));
    ASSERT_EQ(cache.hits, 1u);

    /* One signature forged. */
    b9.child_qc.sigs[1].sig[10] ^= 0x01;
    ASSERT_ERR(follow_with(&cache, &genesis, &b9, errmsg), SEQ_EBADMSG);
    ASSERT_CONTAINS(errmsg, "bad signature from signer 1");
    b9.child_qc.sigs[1].sig[10] ^= 0x01;
    /* A valid signature under another signer's index. */
    b9.child_qc.sigs[2].signer = 3;
    ASSERT_ERR(follow_with(&cache, &genesis, &b9, errmsg), SEQ_EBADMSG);
    ASSERT_CONTAINS(errmsg, "bad signature from signer 3");
    b9.child_qc.sigs[2].signer = 2;
    /* The same QC under a genesis where signer 0 has another key. */
    other = genesis;
    memcpy(other.pubkeys[0], genesis.pubkeys[3], 32);
    ASSERT_ERR(follow_with(&cache, &other, &b9, errmsg), SEQ_EBADMSG);
    ASSERT_CONTAINS(errmsg, "bad signature from signer 0");
    /* ... and under one that wants more signers. */
    other = genesis;
    other.n_validators = 5; /* Quorum 4. */
    ASSERT_ERR(follow_with(&cache, &other, &b9, errmsg), SEQ_EBADMSG);
    ASSERT_CONTAINS(errmsg, "3 signatures");
    /* A tampered entry under the known QC. */
    b1.entries[0].payload[0] ^= 0x01;
    ASSERT_ERR(follow_with(&cache, &genesis, &b1, errmsg), SEQ_EBADMSG);
    ASSERT_CONTAINS(errmsg, "not namespace 1's");
    ASSERT_EQ(cache.hits, 2u); /* That last one only. */
    /* Untouched, it is still accepted from the cache. */
    ASSERT_OK(follow_with(&cache, &genesis, &b9, errmsg));
    ASSERT_EQ(cache.hits, 3u);
    seqc_nsblock_free(&b9);
    seqc_nsblock_free(&b1);
}

/* The cache keeps the last SEQC_QC_CACHE QCs: a QC pushed out by as many
 * newer ones is checked in full again, and still accepted. */
TEST(client_verify, qc_cache_forgets_the_oldest)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct seqc_qc_cache cache;
    struct spec s = spec_default();
    struct seqc_nsblock b;
    unsigned i;

    memset(&cache, 0, sizeof cache);
    block_make(&b, 1, &s);
    ASSERT_OK(follow_with(&cache, &genesis, &b, errmsg));
    seqc_nsblock_free(&b);
    for (i = 1; i <= SEQC_QC_CACHE; i++) {
        s.height = 7 + i;
        s.round0 = 10 + 2 * i;
        block_make(&b, 1, &s);
        ASSERT_OK(follow_with(&cache, &genesis, &b, errmsg));
        if (i < SEQC_QC_CACHE) {
            /* The first is still known while fewer than
             * SEQC_QC_CACHE came after it. */
            struct seqc_nsblock first;
            struct spec s0 = spec_default();
            uint64_t hits = cache.hits;
            block_make(&first, 9, &s0);
            ASSERT_OK(follow_with(&cache, &genesis, &first, errmsg));
            ASSERT_EQ(cache.hits, hits + 1);
            seqc_nsblock_free(&first);
        }
        seqc_nsblock_free(&b);
    }
    ASSERT_EQ(cache.hits, (uint64_t)SEQC_QC_CACHE - 1);
    s = spec_default();
    block_make(&b, 9, &s);
    ASSERT_OK(follow_with(&cache, &genesis, &b, errmsg));
    ASSERT_EQ(cache.hits, (uint64_t)SEQC_QC_CACHE - 1);
    seqc_nsblock_free(&b);
}

TEST_MAIN()
