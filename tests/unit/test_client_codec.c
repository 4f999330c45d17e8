/* The namespace-block codecs and the genesis parser of libseqclient
 * (client/seqc_nsblock.c, client/seqc_genesis.c). Random blocks of every
 * proof kind round-trip through protobuf and JSON (encode, decode, encode
 * gives the same bytes, and the two forms agree); every way a validator
 * can bend a message is refused with SEQ_EBADMSG and leaves the output
 * untouched. Hostile protobuf is made by unpacking a valid encoding with
 * protobuf-c and bending one field, hostile JSON by editing a valid
 * document with jansson, so each case breaks exactly one rule. Allocation
 * failures are injected at every step (run under ASan for the leaks).
 * Field values come from a PRNG seeded by test_seed(). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "client.pb-c.h"
#include "harness.h"
#include "seq_alloc.h"
#include "seq_client.h"
#include "seq_err.h"
#include "seq_hash.h"
#include "seq_header.h"
#include "seq_hex.h"
#include "seq_rng.h"
#include "test_fs.h"

static struct seq_rng rng;

static void seed(void)
{
    seq_rng_seed(&rng, test_seed());
}

/* ------------------------------------------------------------------------
 * Random blocks
 * ------------------------------------------------------------------------ */

static uint64_t rand_u64(void)
{
    switch (seq_rng_below(&rng, 4)) {
    case 0:
        return 0;
    case 1:
        return seq_rng_below(&rng, 300);
    default:
        return seq_rng_next(&rng);
    }
}

static void rand_bytes(void *out, size_t len)
{
    uint8_t *p = out;
    size_t i;

    for (i = 0; i < len; i++) {
        p[i] = (uint8_t)seq_rng_next(&rng);
    }
}

static void rand_path(struct seq_merkle_proof *p)
{
    memset(p, 0, sizeof *p);
    p->index = rand_u64();
    p->n_leaves = rand_u64();
    p->n_siblings = (uint32_t)seq_rng_below(&rng, SEQ_MERKLE_MAX_DEPTH + 1);
    rand_bytes(p->siblings, p->n_siblings * sizeof p->siblings[0]);
}

static void rand_header(struct seq_header *h)
{
    memset(h, 0, sizeof *h);
    h->epoch = rand_u64();
    h->round = rand_u64();
    h->height = rand_u64();
    rand_bytes(&h->parent_id, SEQ_HASH_LEN);
    h->justify_round = rand_u64();
    h->author = (uint32_t)rand_u64();
    rand_bytes(&h->payload_hash, SEQ_HASH_LEN);
    rand_bytes(&h->ns_root, SEQ_HASH_LEN);
}

/* A block with a proof of @kind (0 presence, else an absence kind); the
 * contents are shaped right and otherwise random. */
static void rand_block(struct seqc_nsblock *b, unsigned kind)
{
    size_t i;

    memset(b, 0, sizeof *b);
    b->ns = rand_u64();
    b->height = rand_u64();
    if (kind == 0) {
        b->n_entries = 1 + (size_t)seq_rng_below(&rng, 5);
        b->entries = seq_calloc(b->n_entries, sizeof *b->entries);
        ASSERT_TRUE(b->entries != NULL);
        for (i = 0; i < b->n_entries; i++) {
            b->entries[i].len = (size_t)seq_rng_below(&rng, 40);
            b->entries[i].payload = seq_malloc(b->entries[i].len);
            ASSERT_TRUE(b->entries[i].payload != NULL);
            rand_bytes(b->entries[i].payload, b->entries[i].len);
            seqc_tx_hash(b->ns, b->entries[i].payload, b->entries[i].len,
                         &b->entries[i].tx_hash);
        }
        b->present = true;
        b->presence.n_leaves = rand_u64();
        rand_bytes(&b->presence.merkle_root, SEQ_HASH_LEN);
        rand_path(&b->presence.path);
    } else {
        struct seq_nstree_absence *a = &b->absence;

        a->kind = (enum seq_nstree_absence_kind)kind;
        a->n_leaves = rand_u64();
        rand_bytes(&a->merkle_root, SEQ_HASH_LEN);
        if (kind == SEQ_NSTREE_ABSENT_BETWEEN ||
            kind == SEQ_NSTREE_ABSENT_ABOVE) {
            a->pred.ns_id = rand_u64();
            rand_bytes(&a->pred.entries_hash, SEQ_HASH_LEN);
            rand_path(&a->pred_path);
        }
        if (kind == SEQ_NSTREE_ABSENT_BELOW ||
            kind == SEQ_NSTREE_ABSENT_BETWEEN) {
            a->succ.ns_id = rand_u64();
            rand_bytes(&a->succ.entries_hash, SEQ_HASH_LEN);
            rand_path(&a->succ_path);
        }
    }
    b->n_chain = 1 + (size_t)seq_rng_below(&rng, 3);
    b->chain = seq_calloc(b->n_chain, sizeof *b->chain);
    ASSERT_TRUE(b->chain != NULL);
    for (i = 0; i < b->n_chain; i++) {
        rand_header(&b->chain[i]);
    }
    rand_header(&b->child);
    b->child_qc.epoch = rand_u64();
    b->child_qc.round = rand_u64();
    b->child_qc.height = rand_u64();
    rand_bytes(&b->child_qc.block_id, SEQ_HASH_LEN);
    b->child_qc.n_sigs = (uint32_t)seq_rng_below(&rng, SEQC_MAX_VALIDATORS + 1);
    for (i = 0; i < b->child_qc.n_sigs; i++) {
        b->child_qc.sigs[i].signer =
            (uint32_t)seq_rng_below(&rng, SEQC_MAX_VALIDATORS);
        rand_bytes(b->child_qc.sigs[i].sig, 64);
    }
}

/* ------------------------------------------------------------------------
 * Equality, field by field (the structs have padding)
 * ------------------------------------------------------------------------ */

static void expect_path_eq(const struct seq_merkle_proof *a,
                           const struct seq_merkle_proof *b)
{
    ASSERT_EQ(a->index, b->index);
    ASSERT_EQ(a->n_leaves, b->n_leaves);
    ASSERT_EQ(a->n_siblings, b->n_siblings);
    ASSERT_MEMEQ(a->siblings, b->siblings,
                 a->n_siblings * sizeof a->siblings[0]);
}

static void expect_header_eq(const struct seq_header *a,
                             const struct seq_header *b)
{
    ASSERT_EQ(a->epoch, b->epoch);
    ASSERT_EQ(a->round, b->round);
    ASSERT_EQ(a->height, b->height);
    ASSERT_MEMEQ(&a->parent_id, &b->parent_id, SEQ_HASH_LEN);
    ASSERT_EQ(a->justify_round, b->justify_round);
    ASSERT_EQ(a->author, b->author);
    ASSERT_MEMEQ(&a->payload_hash, &b->payload_hash, SEQ_HASH_LEN);
    ASSERT_MEMEQ(&a->ns_root, &b->ns_root, SEQ_HASH_LEN);
}

static void expect_block_eq(const struct seqc_nsblock *a,
                            const struct seqc_nsblock *b)
{
    const struct seq_nstree_absence *x = &a->absence;
    const struct seq_nstree_absence *y = &b->absence;
    size_t i;

    ASSERT_EQ(a->ns, b->ns);
    ASSERT_EQ(a->height, b->height);
    ASSERT_EQ(a->n_entries, b->n_entries);
    for (i = 0; i < a->n_entries; i++) {
        struct seq_hash tx;

        ASSERT_EQ(a->entries[i].len, b->entries[i].len);
        ASSERT_MEMEQ(a->entries[i].payload, b->entries[i].payload,
                     a->entries[i].len);
        seqc_tx_hash(a->ns, a->entries[i].payload, a->entries[i].len, &tx);
        ASSERT_MEMEQ(&b->entries[i].tx_hash, &tx, SEQ_HASH_LEN);
    }
    ASSERT_EQ(a->present, b->present);
    if (a->present) {
        ASSERT_EQ(a->presence.n_leaves, b->presence.n_leaves);
        ASSERT_MEMEQ(&a->presence.merkle_root, &b->presence.merkle_root,
                     SEQ_HASH_LEN);
        expect_path_eq(&a->presence.path, &b->presence.path);
    } else {
        ASSERT_EQ(x->kind, y->kind);
        ASSERT_EQ(x->n_leaves, y->n_leaves);
        ASSERT_MEMEQ(&x->merkle_root, &y->merkle_root, SEQ_HASH_LEN);
        ASSERT_EQ(x->pred.ns_id, y->pred.ns_id);
        ASSERT_MEMEQ(&x->pred.entries_hash, &y->pred.entries_hash,
                     SEQ_HASH_LEN);
        expect_path_eq(&x->pred_path, &y->pred_path);
        ASSERT_EQ(x->succ.ns_id, y->succ.ns_id);
        ASSERT_MEMEQ(&x->succ.entries_hash, &y->succ.entries_hash,
                     SEQ_HASH_LEN);
        expect_path_eq(&x->succ_path, &y->succ_path);
    }
    ASSERT_EQ(a->n_chain, b->n_chain);
    for (i = 0; i < a->n_chain; i++) {
        expect_header_eq(&a->chain[i], &b->chain[i]);
    }
    expect_header_eq(&a->child, &b->child);
    ASSERT_EQ(a->child_qc.epoch, b->child_qc.epoch);
    ASSERT_EQ(a->child_qc.round, b->child_qc.round);
    ASSERT_EQ(a->child_qc.height, b->child_qc.height);
    ASSERT_MEMEQ(&a->child_qc.block_id, &b->child_qc.block_id, SEQ_HASH_LEN);
    ASSERT_EQ(a->child_qc.n_sigs, b->child_qc.n_sigs);
    ASSERT_MEMEQ(a->child_qc.sigs, b->child_qc.sigs,
                 a->child_qc.n_sigs * sizeof a->child_qc.sigs[0]);
}

/* ------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------ */

static void pb_round_trip(const struct seqc_nsblock *b)
{
    struct seqc_nsblock back;
    uint8_t *enc;
    uint8_t *enc2;
    size_t len;
    size_t len2;

    ASSERT_OK(seqc_nsblock_encode(b, &enc, &len));
    ASSERT_OK(seqc_nsblock_decode(enc, len, &back));
    expect_block_eq(b, &back);
    ASSERT_OK(seqc_nsblock_encode(&back, &enc2, &len2));
    ASSERT_EQ(len2, len);
    ASSERT_MEMEQ(enc2, enc, len);
    free(enc2);
    free(enc);
    seqc_nsblock_free(&back);
}

static void json_round_trip(const struct seqc_nsblock *b,
                            const struct seq_hash *chain_id)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct seqc_nsblock back;
    uint8_t *enc;
    uint8_t *enc2;
    size_t len;
    size_t len2;
    char *json;
    char *json2;

    ASSERT_OK(seqc_nsblock_to_json(b, chain_id, &json));
    ASSERT_TRUE(strchr(json, '\n') == NULL);
    ASSERT_OK(seqc_nsblock_from_json(json, strlen(json), &back, errmsg));
    expect_block_eq(b, &back);
    ASSERT_OK(seqc_nsblock_to_json(&back, chain_id, &json2));
    ASSERT_STREQ(json2, json);
    /* The two forms agree. */
    ASSERT_OK(seqc_nsblock_encode(b, &enc, &len));
    ASSERT_OK(seqc_nsblock_encode(&back, &enc2, &len2));
    ASSERT_EQ(len2, len);
    ASSERT_MEMEQ(enc2, enc, len);
    free(enc2);
    free(enc);
    free(json2);
    free(json);
    seqc_nsblock_free(&back);
}

TEST(client_codec, pb_round_trip_every_kind)
{
    struct seqc_nsblock b;
    unsigned kind;
    int i;

    seed();
    for (i = 0; i < 50; i++) {
        for (kind = 0; kind <= SEQ_NSTREE_ABSENT_ABOVE; kind++) {
            rand_block(&b, kind);
            pb_round_trip(&b);
            seqc_nsblock_free(&b);
        }
    }
}

TEST(client_codec, json_round_trip_every_kind)
{
    struct seq_hash chain_id;
    struct seqc_nsblock b;
    unsigned kind;
    int i;

    seed();
    rand_bytes(&chain_id, sizeof chain_id);
    for (i = 0; i < 50; i++) {
        for (kind = 0; kind <= SEQ_NSTREE_ABSENT_ABOVE; kind++) {
            rand_block(&b, kind);
            json_round_trip(&b, i % 2 == 0 ? &chain_id : NULL);
            seqc_nsblock_free(&b);
        }
    }
}

/* The extremes: no signatures, 64 of them, a path of 48, a chain of 1024,
 * empty and large payloads, all-ones integers. */
TEST(client_codec, round_trip_at_the_bounds)
{
    struct seqc_nsblock b;
    size_t i;

    seed();
    rand_block(&b, 0);
    b.child_qc.n_sigs = 0;
    pb_round_trip(&b);
    json_round_trip(&b, NULL);
    b.child_qc.n_sigs = SEQC_MAX_VALIDATORS;
    b.presence.path.n_siblings = SEQ_MERKLE_MAX_DEPTH;
    b.ns = UINT64_MAX;
    b.height = UINT64_MAX;
    b.chain[0].author = UINT32_MAX;
    b.entries[0].len = 0;
    seq_free(b.entries[0].payload);
    b.entries[0].payload = seq_malloc(100000);
    ASSERT_TRUE(b.entries[0].payload != NULL);
    b.entries[0].len = 100000;
    rand_bytes(b.entries[0].payload, 100000);
    seq_free(b.chain);
    b.n_chain = SEQC_MAX_CHAIN;
    b.chain = seq_calloc(b.n_chain, sizeof *b.chain);
    ASSERT_TRUE(b.chain != NULL);
    for (i = 0; i < b.n_chain; i++) {
        rand_header(&b.chain[i]);
    }
    pb_round_trip(&b);
    json_round_trip(&b, NULL);
    seqc_nsblock_free(&b);
}

/* Numbers up to 2^53 are JSON numbers, above that decimal strings; the
 * header's "hash" is the block id, and each entry's "tx_hash" its hash. */
TEST(client_codec, json_form)
{
    struct seq_hash chain_id;
    struct seq_hash id;
    struct seqc_nsblock b;
    char hex[65];
    char want[100];
    char *json;

    seed();
    rand_block(&b, 0);
    memset(&chain_id, 7, sizeof chain_id);
    b.ns = UINT64_C(1) << 53;
    b.height = (UINT64_C(1) << 53) + 1;
    ASSERT_OK(seqc_nsblock_to_json(&b, &chain_id, &json));
    ASSERT_CONTAINS(json, "{\"namespace\":9007199254740992,");
    ASSERT_CONTAINS(json, "\"height\":\"9007199254740993\",");
    seq_header_id(&b.chain[0], &chain_id, &id);
    seq_hex_encode(id.bytes, SEQ_HASH_LEN, hex);
    snprintf(want, sizeof want, "\"hash\":\"%s\"", hex);
    ASSERT_CONTAINS(json, want);
    seqc_tx_hash(b.ns, b.entries[0].payload, b.entries[0].len, &id);
    seq_hex_encode(id.bytes, SEQ_HASH_LEN, hex);
    snprintf(want, sizeof want, "{\"tx_hash\":\"%s\",\"payload\":\"", hex);
    ASSERT_CONTAINS(json, want);
    ASSERT_CONTAINS(json, "\"proof\":{\"kind\":\"presence\",");
    free(json);
    ASSERT_OK(seqc_nsblock_to_json(&b, NULL, &json));
    ASSERT_TRUE(strstr(json, "\"hash\"") == NULL);
    free(json);
    seqc_nsblock_free(&b);
}

/* Absence proofs name only the neighbours their kind uses. */
TEST(client_codec, json_absence_members)
{
    static const struct {
        const char *name;
        bool pred;
        bool succ;
    } kinds[] = {
        { NULL, false, false },   { "empty", false, false },
        { "below", false, true }, { "between", true, true },
        { "above", true, false },
    };
    struct seqc_nsblock b;
    unsigned kind;
    char want[64];
    char *json;

    seed();
    for (kind = 1; kind <= SEQ_NSTREE_ABSENT_ABOVE; kind++) {
        rand_block(&b, kind);
        ASSERT_OK(seqc_nsblock_to_json(&b, NULL, &json));
        snprintf(want, sizeof want, "\"kind\":\"%s\"", kinds[kind].name);
        ASSERT_CONTAINS(json, want);
        ASSERT_EQ(strstr(json, "\"pred\"") != NULL, kinds[kind].pred);
        ASSERT_EQ(strstr(json, "\"succ_path\"") != NULL, kinds[kind].succ);
        ASSERT_TRUE(strstr(json, "\"path\"") == NULL);
        ASSERT_CONTAINS(json, "\"entries\":[]");
        free(json);
        seqc_nsblock_free(&b);
    }
}

/* Encoders refuse what decoders would (C2). */
TEST(client_codec, encoders_refuse_out_of_bounds)
{
    struct seqc_nsblock b;
    uint8_t *enc = (uint8_t *)"untouched";
    size_t len = 12345;
    char *json = (char *)"untouched";

    seed();
    rand_block(&b, 0);
    b.child_qc.n_sigs = SEQC_MAX_VALIDATORS + 1;
    ASSERT_ERR(seqc_nsblock_encode(&b, &enc, &len), SEQ_EINVAL);
    ASSERT_ERR(seqc_nsblock_to_json(&b, NULL, &json), SEQ_EINVAL);
    b.child_qc.n_sigs = 1;
    b.child_qc.sigs[0].signer = SEQC_MAX_VALIDATORS;
    ASSERT_ERR(seqc_nsblock_encode(&b, &enc, &len), SEQ_EINVAL);
    b.child_qc.sigs[0].signer = 0;
    b.present = false; /* With entries. */
    b.absence.kind = SEQ_NSTREE_ABSENT_EMPTY;
    ASSERT_ERR(seqc_nsblock_encode(&b, &enc, &len), SEQ_EINVAL);
    b.present = true;
    b.presence.path.n_siblings = SEQ_MERKLE_MAX_DEPTH + 1;
    ASSERT_ERR(seqc_nsblock_encode(&b, &enc, &len), SEQ_EINVAL);
    b.presence.path.n_siblings = 0;
    b.n_chain = 0;
    ASSERT_ERR(seqc_nsblock_encode(&b, &enc, &len), SEQ_EINVAL);
    b.n_chain = SEQC_MAX_CHAIN + 1;
    ASSERT_ERR(seqc_nsblock_to_json(&b, NULL, &json), SEQ_EINVAL);
    b.n_chain = 1;
    ASSERT_STREQ((char *)enc, "untouched");
    ASSERT_EQ(len, 12345u);
    ASSERT_STREQ(json, "untouched");
    seqc_nsblock_free(&b);

    rand_block(&b, SEQ_NSTREE_ABSENT_BELOW);
    b.absence.kind = 0;
    ASSERT_ERR(seqc_nsblock_encode(&b, &enc, &len), SEQ_EINVAL);
    b.absence.kind = SEQ_NSTREE_ABSENT_ABOVE + 1;
    ASSERT_ERR(seqc_nsblock_to_json(&b, NULL, &json), SEQ_EINVAL);
    b.absence.kind = SEQ_NSTREE_ABSENT_BELOW;
    b.present = true; /* Without entries. */
    ASSERT_ERR(seqc_nsblock_encode(&b, &enc, &len), SEQ_EINVAL);
    seqc_nsblock_free(&b);
}

TEST(client_codec, free_accepts_null_and_zeroes)
{
    struct seqc_nsblock b;

    seqc_nsblock_free(NULL);
    seed();
    rand_block(&b, 0);
    seqc_nsblock_free(&b);
    ASSERT_TRUE(b.entries == NULL && b.chain == NULL);
    ASSERT_EQ(b.n_entries, 0u);
    seqc_nsblock_free(&b);
}

/* ------------------------------------------------------------------------
 * Hostile protobuf
 * ------------------------------------------------------------------------ */

static uint8_t *good_enc;
static size_t good_len;

/* A valid encoding of a block of @kind, in good_enc. */
static void good_pb(unsigned kind)
{
    struct seqc_nsblock b;

    seed();
    rand_block(&b, kind);
    b.child_qc.n_sigs = 3;
    b.child_qc.sigs[0].signer = 0;
    b.child_qc.sigs[1].signer = 1;
    b.child_qc.sigs[2].signer = 2;
    if (kind == 0 && b.presence.path.n_siblings == 0) {
        b.presence.path.n_siblings = 1;
    }
    free(good_enc);
    ASSERT_OK(seqc_nsblock_encode(&b, &good_enc, &good_len));
    seqc_nsblock_free(&b);
}

/* Decoding @buf fails with SEQ_EBADMSG and leaves *out as it was. */
static void expect_pb_refused(const uint8_t *buf, size_t len)
{
    struct seqc_nsblock out;
    struct seqc_nsblock before;

    memset(&out, 0x5a, sizeof out);
    before = out;
    ASSERT_ERR(seqc_nsblock_decode(buf, len, &out), SEQ_EBADMSG);
    ASSERT_MEMEQ(&out, &before, sizeof out);
}

static Seqc__NsBlock *unpack_good(void)
{
    Seqc__NsBlock *m = seqc__ns_block__unpack(NULL, good_len, good_enc);

    ASSERT_TRUE(m != NULL);
    return m;
}

/* Packs @m, expects the decoder to refuse it, and frees @m. */
static void pack_refused(Seqc__NsBlock *m)
{
    size_t len = seqc__ns_block__get_packed_size(m);
    uint8_t *buf = malloc(len + 1);

    ASSERT_TRUE(buf != NULL);
    seqc__ns_block__pack(m, buf);
    expect_pb_refused(buf, len);
    free(buf);
    seqc__ns_block__free_unpacked(m, NULL);
}

TEST(client_codec, pb_refuses_truncation)
{
    size_t cut;

    expect_pb_refused(NULL, 0);
    good_pb(0);
    for (cut = 0; cut < good_len; cut++) {
        expect_pb_refused(good_enc, cut);
    }
    good_pb(SEQ_NSTREE_ABSENT_BETWEEN);
    for (cut = 0; cut < good_len; cut++) {
        expect_pb_refused(good_enc, cut);
    }
}

TEST(client_codec, pb_refuses_wrong_hash_length)
{
    static uint8_t long_hash[33];
    Seqc__NsBlock *m;
    ProtobufCBinaryData saved;

    good_pb(0);
    m = unpack_good();
    m->commit_proof->chain[0]->parent_id.len = 31;
    pack_refused(m);

    m = unpack_good();
    m->commit_proof->child->ns_root.len = 0;
    pack_refused(m);

    m = unpack_good();
    saved = m->commit_proof->child_qc->block_id;
    m->commit_proof->child_qc->block_id.data = long_hash;
    m->commit_proof->child_qc->block_id.len = sizeof long_hash;
    {
        size_t len = seqc__ns_block__get_packed_size(m);
        uint8_t *buf = malloc(len);

        ASSERT_TRUE(buf != NULL);
        seqc__ns_block__pack(m, buf);
        expect_pb_refused(buf, len);
        free(buf);
    }
    m->commit_proof->child_qc->block_id = saved;
    seqc__ns_block__free_unpacked(m, NULL);

    m = unpack_good();
    m->proof->merkle_root.len = 16;
    pack_refused(m);

    m = unpack_good();
    m->proof->path->siblings[0].len = 31;
    pack_refused(m);

    m = unpack_good();
    m->commit_proof->child_qc->sigs[1]->sig.len = 63;
    pack_refused(m);

    good_pb(SEQ_NSTREE_ABSENT_BELOW);
    m = unpack_good();
    m->proof->succ->entries_hash.len = 0;
    pack_refused(m);
}

TEST(client_codec, pb_refuses_bad_counts)
{
    Seqc__QcSig *sigs[SEQC_MAX_VALIDATORS + 1];
    ProtobufCBinaryData sibs[SEQ_MERKLE_MAX_DEPTH + 1];
    static Seqc__Header *chain[SEQC_MAX_CHAIN + 1];
    Seqc__NsBlock *m;
    size_t saved_n;
    void *saved;
    size_t len;
    uint8_t *buf;
    size_t i;

    good_pb(0);

    /* 65 signatures (one signature object, 65 times). */
    m = unpack_good();
    for (i = 0; i < SEQC_MAX_VALIDATORS + 1; i++) {
        sigs[i] = m->commit_proof->child_qc->sigs[0];
    }
    saved = m->commit_proof->child_qc->sigs;
    saved_n = m->commit_proof->child_qc->n_sigs;
    m->commit_proof->child_qc->sigs = sigs;
    m->commit_proof->child_qc->n_sigs = SEQC_MAX_VALIDATORS + 1;
    len = seqc__ns_block__get_packed_size(m);
    buf = malloc(len);
    ASSERT_TRUE(buf != NULL);
    seqc__ns_block__pack(m, buf);
    expect_pb_refused(buf, len);
    free(buf);
    m->commit_proof->child_qc->sigs = saved;
    m->commit_proof->child_qc->n_sigs = saved_n;
    seqc__ns_block__free_unpacked(m, NULL);

    /* 49 siblings. */
    m = unpack_good();
    for (i = 0; i < SEQ_MERKLE_MAX_DEPTH + 1; i++) {
        sibs[i].data = good_enc; /* Any 32 bytes. */
        sibs[i].len = SEQ_HASH_LEN;
    }
    saved = m->proof->path->siblings;
    saved_n = m->proof->path->n_siblings;
    m->proof->path->siblings = sibs;
    m->proof->path->n_siblings = SEQ_MERKLE_MAX_DEPTH + 1;
    len = seqc__ns_block__get_packed_size(m);
    buf = malloc(len);
    ASSERT_TRUE(buf != NULL);
    seqc__ns_block__pack(m, buf);
    expect_pb_refused(buf, len);
    free(buf);
    m->proof->path->siblings = saved;
    m->proof->path->n_siblings = saved_n;
    seqc__ns_block__free_unpacked(m, NULL);

    /* 1025 headers, and none. */
    m = unpack_good();
    for (i = 0; i < SEQC_MAX_CHAIN + 1; i++) {
        chain[i] = m->commit_proof->chain[0];
    }
    saved = m->commit_proof->chain;
    saved_n = m->commit_proof->n_chain;
    m->commit_proof->chain = chain;
    m->commit_proof->n_chain = SEQC_MAX_CHAIN + 1;
    len = seqc__ns_block__get_packed_size(m);
    buf = malloc(len);
    ASSERT_TRUE(buf != NULL);
    seqc__ns_block__pack(m, buf);
    expect_pb_refused(buf, len);
    free(buf);
    m->commit_proof->n_chain = 0;
    len = seqc__ns_block__get_packed_size(m);
    buf = malloc(len + 1);
    ASSERT_TRUE(buf != NULL);
    seqc__ns_block__pack(m, buf);
    expect_pb_refused(buf, len);
    free(buf);
    m->commit_proof->chain = saved;
    m->commit_proof->n_chain = saved_n;
    seqc__ns_block__free_unpacked(m, NULL);

    /* A signer index no validator set has. */
    m = unpack_good();
    m->commit_proof->child_qc->sigs[0]->signer = SEQC_MAX_VALIDATORS;
    pack_refused(m);
}

/* SEQC_MAX_ENTRIES empty entries (2 bytes each, the densest honest input
 * there is) decode within the arena budget; one more is refused. */
TEST(client_codec, pb_entry_count_limit)
{
    struct seqc_nsblock b;
    size_t extra;
    uint8_t *buf;
    size_t len;
    size_t i;

    good_pb(0);
    ASSERT_OK(seqc_nsblock_decode(good_enc, good_len, &b));
    extra = SEQC_MAX_ENTRIES - b.n_entries;
    seqc_nsblock_free(&b);
    len = good_len + 2 * (extra + 1);
    buf = malloc(len);
    ASSERT_TRUE(buf != NULL);
    memcpy(buf, good_enc, good_len);
    for (i = 0; i < extra + 1; i++) {
        buf[good_len + 2 * i] = 0x1a; /* Field 3, length-delimited. */
        buf[good_len + 2 * i + 1] = 0;
    }
    ASSERT_OK(seqc_nsblock_decode(buf, len - 2, &b));
    ASSERT_EQ(b.n_entries, SEQC_MAX_ENTRIES);
    ASSERT_EQ(b.entries[SEQC_MAX_ENTRIES - 1].len, 0u);
    seqc_nsblock_free(&b);
    expect_pb_refused(buf, len);
    free(buf);
}

TEST(client_codec, pb_refuses_bad_proof_kinds)
{
    Seqc__NsBlock *m;

    /* Unknown kind. */
    good_pb(SEQ_NSTREE_ABSENT_EMPTY);
    m = unpack_good();
    m->proof->kind = SEQ_NSTREE_ABSENT_ABOVE + 1;
    pack_refused(m);
    /* Presence without entries. */
    m = unpack_good();
    m->proof->kind = 0;
    pack_refused(m);

    /* Absence with entries, and presence without a path. */
    good_pb(0);
    m = unpack_good();
    m->proof->kind = SEQ_NSTREE_ABSENT_EMPTY;
    pack_refused(m);
    m = unpack_good();
    seqc__merkle_path__free_unpacked(m->proof->path, NULL);
    m->proof->path = NULL;
    pack_refused(m);

    /* Neighbours a kind does not use, or lacks. */
    good_pb(SEQ_NSTREE_ABSENT_BETWEEN);
    m = unpack_good();
    m->proof->kind = SEQ_NSTREE_ABSENT_BELOW; /* pred is extra. */
    pack_refused(m);
    m = unpack_good();
    m->proof->kind = SEQ_NSTREE_ABSENT_EMPTY;
    pack_refused(m);
    good_pb(SEQ_NSTREE_ABSENT_BELOW);
    m = unpack_good();
    m->proof->kind = SEQ_NSTREE_ABSENT_BETWEEN; /* pred is missing. */
    pack_refused(m);
    m = unpack_good();
    seqc__merkle_path__free_unpacked(m->proof->succ_path, NULL);
    m->proof->succ_path = NULL;
    pack_refused(m);
}

TEST(client_codec, pb_refuses_missing_parts)
{
    Seqc__NsBlock *m;

    good_pb(0);
    m = unpack_good();
    seqc__ns_proof__free_unpacked(m->proof, NULL);
    m->proof = NULL;
    pack_refused(m);
    m = unpack_good();
    seqc__commit_proof__free_unpacked(m->commit_proof, NULL);
    m->commit_proof = NULL;
    pack_refused(m);
    m = unpack_good();
    seqc__header__free_unpacked(m->commit_proof->child, NULL);
    m->commit_proof->child = NULL;
    pack_refused(m);
    m = unpack_good();
    seqc__qc__free_unpacked(m->commit_proof->child_qc, NULL);
    m->commit_proof->child_qc = NULL;
    pack_refused(m);
}

TEST(client_codec, pb_survives_garbage)
{
    uint8_t buf[512];
    struct seqc_nsblock b;
    int i;
    int rv;

    seed();
    for (i = 0; i < 2000; i++) {
        size_t len = (size_t)seq_rng_below(&rng, sizeof buf);

        rand_bytes(buf, len);
        rv = seqc_nsblock_decode(buf, len, &b);
        ASSERT_ERR(rv, SEQ_EBADMSG);
    }
    /* Flipped bits in a valid encoding: refused or decoded, never worse. */
    good_pb(0);
    for (i = 0; i < 2000; i++) {
        size_t at = (size_t)seq_rng_below(&rng, good_len);
        uint8_t old = good_enc[at];

        good_enc[at] ^= (uint8_t)(1u << seq_rng_below(&rng, 8));
        rv = seqc_nsblock_decode(good_enc, good_len, &b);
        if (rv == SEQ_OK) {
            seqc_nsblock_free(&b);
        } else {
            ASSERT_ERR(rv, SEQ_EBADMSG);
        }
        good_enc[at] = old;
    }
}

/* ------------------------------------------------------------------------
 * Hostile JSON
 * ------------------------------------------------------------------------ */

static char *good_json;

static void good_json_of(unsigned kind)
{
    struct seqc_nsblock b;

    seed();
    rand_block(&b, kind);
    free(good_json);
    ASSERT_OK(seqc_nsblock_to_json(&b, NULL, &good_json));
    seqc_nsblock_free(&b);
}

static void expect_json_refused(const char *text, const char *what)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct seqc_nsblock out;
    struct seqc_nsblock before;

    memset(&out, 0x5a, sizeof out);
    before = out;
    ASSERT_ERR(seqc_nsblock_from_json(text, strlen(text), &out, errmsg),
               SEQ_EBADMSG);
    ASSERT_MEMEQ(&out, &before, sizeof out);
    if (strstr(errmsg, what) == NULL) {
        harness_fail(__FILE__, __LINE__, "errmsg \"%s\" lacks \"%s\"", errmsg,
                     what);
    }
    /* errmsg may be NULL. */
    ASSERT_ERR(seqc_nsblock_from_json(text, strlen(text), &out, NULL),
               SEQ_EBADMSG);
}

static void expect_json_ok(const char *text)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct seqc_nsblock out;
    int rv = seqc_nsblock_from_json(text, strlen(text), &out, errmsg);

    if (rv != 0) {
        fprintf(stderr, "from_json: %s\n", errmsg);
    }
    ASSERT_OK(rv);
    seqc_nsblock_free(&out);
}

/* The document @src, with @path ("a.b.0.c"; numbers index arrays) set to
 * @value (a new reference, taken; NULL deletes the member). */
static char *edit_text(const char *src, const char *path, json_t *value)
{
    json_error_t error;
    json_t *root = json_loads(src, 0, &error);
    json_t *node = root;
    char buf[128];
    char *key;
    char *next;
    char *out;

    ASSERT_TRUE(root != NULL);
    snprintf(buf, sizeof buf, "%s", path);
    key = buf;
    for (;;) {
        next = strchr(key, '.');
        if (next == NULL) {
            break;
        }
        *next = '\0';
        node = json_is_array(node)
                   ? json_array_get(node, strtoul(key, NULL, 10))
                   : json_object_get(node, key);
        ASSERT_TRUE(node != NULL);
        key = next + 1;
    }
    if (json_is_array(node)) {
        size_t i = strtoul(key, NULL, 10);

        ASSERT_TRUE(value != NULL);
        if (i == json_array_size(node)) {
            json_array_append_new(node, value);
        } else {
            json_array_set_new(node, i, value);
        }
    } else if (value == NULL) {
        json_object_del(node, key);
    } else {
        json_object_set_new(node, key, value);
    }
    out = json_dumps(root, JSON_COMPACT);
    ASSERT_TRUE(out != NULL);
    json_decref(root);
    return out;
}

static char *edit(const char *path, json_t *value)
{
    return edit_text(good_json, path, value);
}

static void refused_with(const char *path, json_t *value, const char *what)
{
    char *text = edit(path, value);

    expect_json_refused(text, what);
    free(text);
}

static void accepted_with(const char *path, json_t *value)
{
    char *text = edit(path, value);

    expect_json_ok(text);
    free(text);
}

TEST(client_codec, json_refuses_bad_base64)
{
    static const char *const bad[] = {
        "YQ",         /* No padding. */
        "YQ=",        /* Short padding. */
        "abc",        /* Length. */
        "ab=c",       /* Padding inside. */
        "a===",       /* Three of it. */
        "====",       /* Nothing but. */
        "YR==",       /* Unused bits set. */
        "YWI=YQ==",   /* Padding before the end. */
        "Y Q=",       /* Space. */
        "YQ-_",       /* URL alphabet. */
        "YWJj\n",     /* Newline. */
        "Y\xc3\xa9=", /* Not ASCII. */
    };
    char path[] = "entries.0.payload";
    size_t i;

    good_json_of(0);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        refused_with(path, json_string(bad[i]), "payload: want padded base64");
    }
    accepted_with(path, json_string(""));
    accepted_with(path, json_string("YQ=="));
    accepted_with(path, json_string("YWI="));
    accepted_with(path, json_string("YWJj"));
    accepted_with(path, json_string("+/+/"));
    refused_with(path, json_integer(1), "entries[0].payload: want a string");
    refused_with("entries.0", json_string("YQ=="), "want an object");
    refused_with(path, NULL, "entries[0].payload: missing");
}

TEST(client_codec, json_refuses_wrong_hash_length)
{
    char h62[63];
    char h66[67];
    char s126[127];

    memset(h62, 'a', sizeof h62 - 1);
    h62[62] = '\0';
    memset(h66, 'b', sizeof h66 - 1);
    h66[66] = '\0';
    memset(s126, 'c', sizeof s126 - 1);
    s126[126] = '\0';
    good_json_of(0);
    refused_with("header.parent_id", json_string(h62),
                 "header.parent_id: want 64 hex characters");
    refused_with("commit_proof.chain.0.ns_root", json_string(h66),
                 "commit_proof.chain[0].ns_root: want 64 hex");
    refused_with("commit_proof.child.payload_hash",
                 json_string("zz00000000000000000000000000000000000000000000"
                             "000000000000000000"),
                 "commit_proof.child.payload_hash: want 64 hex");
    refused_with("commit_proof.child_qc.block_id", json_integer(0),
                 "block_id: want a string");
    refused_with("commit_proof.child_qc.signatures.0.sig", json_string(s126),
                 "signatures[0].sig: want 128 hex");
    refused_with("proof.merkle_root", json_string(""),
                 "proof.merkle_root: want 64 hex");
    refused_with("proof.path.siblings.0", json_string(h62),
                 "proof.path.siblings[0]: want 64 hex");
    good_json_of(SEQ_NSTREE_ABSENT_ABOVE);
    refused_with("proof.pred.entries_hash", json_string(h66),
                 "proof.pred.entries_hash: want 64 hex");
}

TEST(client_codec, json_refuses_bad_counts)
{
    json_t *sigs;
    json_t *sibs;
    json_t *chain;
    char zero_hex[65];
    char *text;
    int i;

    memset(zero_hex, '0', 64);
    zero_hex[64] = '\0';
    good_json_of(0);

    sigs = json_array();
    for (i = 0; i < SEQC_MAX_VALIDATORS + 1; i++) {
        json_t *s = json_object();
        char sig[129];

        memset(sig, '1', 128);
        sig[128] = '\0';
        json_object_set_new(s, "signer", json_integer(i % 64));
        json_object_set_new(s, "sig", json_string(sig));
        json_array_append_new(sigs, s);
    }
    refused_with("commit_proof.child_qc.signatures", sigs, "more than 64");

    sibs = json_array();
    for (i = 0; i < SEQ_MERKLE_MAX_DEPTH + 1; i++) {
        json_array_append_new(sibs, json_string(zero_hex));
    }
    refused_with("proof.path.siblings", sibs, "siblings: more than 48");

    refused_with("commit_proof.chain", json_array(),
                 "0 headers; want 1 to 1024");
    chain = json_array();
    for (i = 0; i < SEQC_MAX_CHAIN + 1; i++) {
        json_error_t error;
        json_t *root = json_loads(good_json, 0, &error);

        json_array_append(
            chain,
            json_array_get(
                json_object_get(json_object_get(root, "commit_proof"), "chain"),
                0));
        json_decref(root);
    }
    refused_with("commit_proof.chain", chain, "1025 headers");

    text = edit("commit_proof.child_qc.signatures.0.signer", json_integer(64));
    expect_json_refused(text, "signer: want an integer up to 63");
    free(text);
}

TEST(client_codec, json_refuses_bad_proof_kinds)
{
    char zero_hex[65];
    json_t *leaf;

    memset(zero_hex, '0', 64);
    zero_hex[64] = '\0';

    good_json_of(0);
    refused_with("proof.kind", json_string("absent"), "unknown kind");
    refused_with("proof.kind", json_string("Presence"), "unknown kind");
    refused_with("proof.kind", json_integer(0), "proof.kind: want a string");
    refused_with("proof.kind", json_string("empty"),
                 "presence iff the namespace has entries");
    refused_with("proof.path", NULL, "proof.path: missing");
    leaf = json_pack("{s:i, s:s}", "ns_id", 3, "entries_hash", zero_hex);
    refused_with("proof.succ", leaf, "neighbours in a presence proof");

    good_json_of(SEQ_NSTREE_ABSENT_EMPTY);
    refused_with("proof.kind", json_string("presence"),
                 "presence iff the namespace has entries");
    leaf = json_pack("{s:i, s:s}", "ns_id", 3, "entries_hash", zero_hex);
    refused_with("proof.pred", leaf, "proof.pred: not used by this kind");
    refused_with("proof.path", json_object(), "not used by an absence proof");

    good_json_of(SEQ_NSTREE_ABSENT_BELOW);
    refused_with("proof.kind", json_string("between"), "proof.pred: missing");
    refused_with("proof.succ_path", NULL, "proof.succ_path: missing");
    good_json_of(SEQ_NSTREE_ABSENT_BETWEEN);
    refused_with("proof.kind", json_string("above"),
                 "proof.succ: not used by this kind");
    refused_with("proof.kind", json_string("below"),
                 "proof.pred: not used by this kind");
}

/* Integers: numbers or decimal strings, nothing else. */
TEST(client_codec, json_integers)
{
    good_json_of(0);
    accepted_with("height", json_string("18446744073709551615"));
    accepted_with("height", json_string("0"));
    accepted_with("height", json_integer(INT64_MAX));
    refused_with("height", json_string("18446744073709551616"),
                 "height: want an integer up to 18446744073709551615");
    refused_with("height", json_string("01"), "height: want an integer");
    refused_with("height", json_string("-1"), "height: want an integer");
    refused_with("height", json_string("+1"), "height: want an integer");
    refused_with("height", json_string(""), "height: want an integer");
    refused_with("height", json_string("1e3"), "height: want an integer");
    refused_with("height", json_integer(-1), "height: want an integer");
    refused_with("height", json_real(1.0), "height: want an integer");
    refused_with("height", json_true(), "height: want an integer");
    refused_with("height", NULL, "height: missing");
    refused_with("header.author", json_integer((json_int_t)UINT32_MAX + 1),
                 "header.author: want an integer up to 4294967295");
    accepted_with("commit_proof.child.author",
                  json_integer((json_int_t)UINT32_MAX));
    /* A number beyond int64 does not even parse. */
    expect_json_refused("{\"namespace\": 18446744073709551616}", "nsblock");
}

TEST(client_codec, json_refuses_bad_structure)
{
    char *text;
    size_t len;

    good_json_of(0);
    refused_with("header.round", json_integer(12345),
                 "header: differs from commit_proof.chain[0]");
    refused_with("header", NULL, "header: want an object");
    refused_with("entries", json_object(), "entries: want an array");
    refused_with("proof", json_array(), "proof: want an object");
    refused_with("commit_proof", NULL, "commit_proof: missing");
    refused_with("commit_proof.child", json_string("x"),
                 "commit_proof.child: want an object");
    refused_with("commit_proof.child_qc", NULL,
                 "commit_proof.child_qc: missing");
    refused_with("commit_proof.child_qc.signatures.0", json_integer(1),
                 "signatures[0]: want an object");
    expect_json_refused("", "nsblock");
    expect_json_refused("[]", "nsblock: want a JSON object");
    expect_json_refused("{\"namespace\": 1, \"namespace\": 2}", "duplicate");
    /* Trailing garbage. */
    len = strlen(good_json);
    text = malloc(len + 3);
    ASSERT_TRUE(text != NULL);
    memcpy(text, good_json, len);
    memcpy(text + len, " x", 3);
    expect_json_refused(text, "nsblock");
    /* A final newline (NDJSON) is whitespace, and fine. */
    memcpy(text + len, "\n", 2);
    expect_json_ok(text);
    free(text);
}

/* "hash", "tx_hash" and unknown members are ignored. */
TEST(client_codec, json_ignores_recomputed_and_unknown_members)
{
    char zero_hex[65];

    memset(zero_hex, '0', 64);
    zero_hex[64] = '\0';
    good_json_of(0);
    accepted_with("header.hash", json_string(zero_hex));
    accepted_with("header.hash", json_integer(5));
    accepted_with("entries.0.tx_hash", json_string("nonsense"));
    accepted_with("entries.0.tx_hash", NULL);
    accepted_with("bundle", json_object());
    accepted_with("commit_proof.child_qc.bitmap", json_string("f"));
}

/* ------------------------------------------------------------------------
 * Allocation failures
 * ------------------------------------------------------------------------ */

TEST(client_codec, survives_allocation_failures)
{
    char errmsg[SEQ_ERRMSG_LEN];
    struct seqc_nsblock b;
    struct seqc_nsblock out;
    struct seqc_nsblock before;
    uint8_t *enc;
    size_t len;
    char *json;
    unsigned long n;
    int rv;

    seed();
    rand_block(&b, 0);
    free(good_enc);
    ASSERT_OK(seqc_nsblock_encode(&b, &good_enc, &good_len));
    ASSERT_OK(seqc_nsblock_to_json(&b, NULL, &json));
    memset(&before, 0x5a, sizeof before);
    for (n = 1;; n++) {
        enc = NULL;
        seq_alloc_fail_at(n, 0);
        rv = seqc_nsblock_encode(&b, &enc, &len);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_OK) {
            free(enc);
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
        ASSERT_TRUE(enc == NULL);
    }
    ASSERT_GT(n, 1u);
    for (n = 1;; n++) {
        char *text = NULL;

        seq_alloc_fail_at(n, 0);
        rv = seqc_nsblock_to_json(&b, NULL, &text);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_OK) {
            free(text);
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
        ASSERT_TRUE(text == NULL);
    }
    ASSERT_GT(n, 1u);
    for (n = 1;; n++) {
        out = before;
        seq_alloc_fail_at(n, 0);
        rv = seqc_nsblock_decode(good_enc, good_len, &out);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_OK) {
            seqc_nsblock_free(&out);
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
        ASSERT_MEMEQ(&out, &before, sizeof out);
    }
    ASSERT_GT(n, 1u);
    for (n = 1;; n++) {
        out = before;
        seq_alloc_fail_at(n, 0);
        rv = seqc_nsblock_from_json(json, strlen(json), &out, errmsg);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_OK) {
            seqc_nsblock_free(&out);
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
        ASSERT_MEMEQ(&out, &before, sizeof out);
    }
    ASSERT_GT(n, 1u);
    free(json);
    seqc_nsblock_free(&b);
}

/* ------------------------------------------------------------------------
 * Genesis
 * ------------------------------------------------------------------------ */

/* x-only keys of G, 2G, 3G and 4G. */
static const char *const pubkeys[] = {
    "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    "c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5",
    "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9",
    "e493dbf1c10d80f3581e4904930b1404cc6c13900ee0758474fa94abe8c4cd13",
};

/* BIP-340 test vector 5: no point has this x. */
static const char not_on_curve[] =
    "eefdea4cdb677750a420fee807eacf21eb9898ae79b9768766e4faa04a2d4a34";

/* A genesis as net/net_home.c writes it, plus namespaces. */
static json_t *genesis_json(void)
{
    json_t *root = json_pack(
        "{s:s, s:s, s:i, s:i, s:[{s:i, s:s, s:s, s:s, s:s}, "
        "{s:i, s:s, s:s, s:s, s:s}, {s:i, s:s, s:s, s:s, s:s}, "
        "{s:i, s:s, s:s, s:s, s:s}], "
        "s:[{s:i, s:s, s:i, s:i}, {s:i, s:s, s:i, s:i}]}",
        "chain_id", "seq-local", "genesis_time", "2026-11-21T06:00:00Z",
        "epoch", 2, "base_timeout_ms", 1000, "validators", "index", 0, "name",
        "node0", "pubkey", pubkeys[0], "node_key",
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "p2p",
        "tcp://127.0.0.1:26600", "index", 1, "name", "node1", "pubkey",
        pubkeys[1], "node_key", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf8",
        "p2p", "tcp://127.0.0.1:26610", "index", 2, "name", "node2", "pubkey",
        pubkeys[2], "node_key", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf9",
        "p2p", "tcp://127.0.0.1:26620", "index", 3, "name", "node3", "pubkey",
        pubkeys[3], "node_key", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yfa",
        "p2p", "tcp://127.0.0.1:26630", "namespaces", "id", 1, "name",
        "rollup-a", "weight", 1, "max_tx_size", 65536, "id", 42, "name",
        "Rollup_B.2", "weight", 1000000, "max_tx_size", 1);

    ASSERT_TRUE(root != NULL);
    return root;
}

static char *genesis_text(json_t *root)
{
    char *text = json_dumps(root, JSON_INDENT(2));

    ASSERT_TRUE(text != NULL);
    json_decref(root);
    return text;
}

TEST(client_genesis, parses_a_good_genesis)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    static struct seqc_genesis g;
    struct seq_hash want;
    uint8_t pk[32];
    char *text = genesis_text(genesis_json());
    int i;

    ASSERT_OK(
        seqc_genesis_parse((const uint8_t *)text, strlen(text), &g, errmsg));
    seq_sha256(text, strlen(text), &want);
    ASSERT_TRUE(seq_hash_eq(&g.chain_id, &want));
    ASSERT_STREQ(g.chain_name, "seq-local");
    ASSERT_EQ(g.epoch, 2u);
    ASSERT_EQ(g.n_validators, 4u);
    for (i = 0; i < 4; i++) {
        ASSERT_OK(seq_hex_decode(pubkeys[i], pk, 32));
        ASSERT_MEMEQ(g.pubkeys[i], pk, 32);
    }
    ASSERT_EQ(g.n_namespaces, 2u);
    ASSERT_EQ(g.namespaces[1].id, 42u);
    ASSERT_STREQ(g.namespaces[1].name, "Rollup_B.2");
    ASSERT_EQ(g.namespaces[1].weight, 1000000u);
    ASSERT_EQ(g.namespaces[1].max_tx_size, 1u);
    ASSERT_TRUE(seqc_genesis_namespace(&g, 42) == &g.namespaces[1]);
    ASSERT_TRUE(seqc_genesis_namespace(&g, 2) == NULL);
    ASSERT_TRUE(seqc_genesis_namespace_by_name(&g, "rollup-a") ==
                &g.namespaces[0]);
    ASSERT_TRUE(seqc_genesis_namespace_by_name(&g, "42") == &g.namespaces[1]);
    ASSERT_TRUE(seqc_genesis_namespace_by_name(&g, "042") == NULL);
    ASSERT_TRUE(seqc_genesis_namespace_by_name(&g, "rollup-b") == NULL);
    ASSERT_TRUE(seqc_genesis_namespace_by_name(&g, "") == NULL);
    free(text);
}

/* Without namespaces; and a name that looks like an id wins over the id. */
TEST(client_genesis, namespaces_are_optional_and_names_win)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    static struct seqc_genesis g;
    json_t *root = genesis_json();
    char *text;

    json_object_del(root, "namespaces");
    text = genesis_text(root);
    ASSERT_OK(
        seqc_genesis_parse((const uint8_t *)text, strlen(text), &g, errmsg));
    ASSERT_EQ(g.n_namespaces, 0u);
    ASSERT_TRUE(seqc_genesis_namespace_by_name(&g, "1") == NULL);
    free(text);

    root = genesis_json();
    json_object_set_new(json_array_get(json_object_get(root, "namespaces"), 0),
                        "name", json_string("42"));
    text = genesis_text(root);
    ASSERT_OK(
        seqc_genesis_parse((const uint8_t *)text, strlen(text), &g, errmsg));
    ASSERT_TRUE(seqc_genesis_namespace_by_name(&g, "42") == &g.namespaces[0]);
    free(text);
}

/* The good genesis with @path set to @value (as edit_text() does) is
 * refused with a message containing @what, and *out is untouched. */
static void genesis_refused(const char *path, json_t *value, const char *what)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    static struct seqc_genesis g;
    static struct seqc_genesis before;
    char *good = genesis_text(genesis_json());
    char *text = edit_text(good, path, value);

    free(good);
    memset(&g, 0x5a, sizeof g);
    before = g;
    ASSERT_ERR(
        seqc_genesis_parse((const uint8_t *)text, strlen(text), &g, errmsg),
        SEQ_EINVAL);
    ASSERT_MEMEQ(&g, &before, sizeof g);
    if (strstr(errmsg, what) == NULL) {
        harness_fail(__FILE__, __LINE__, "errmsg \"%s\" lacks \"%s\"", errmsg,
                     what);
    }
    free(text);
}

TEST(client_genesis, refuses_bad_genesis)
{
    char long_name[80];
    json_t *many;
    int i;

    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    genesis_refused("chain_id", NULL, "chain_id: missing");
    genesis_refused("chain_id", json_string("seq local"), "chain_id: want");
    genesis_refused("chain_id", json_string(long_name), "chain_id: want");
    genesis_refused("chain_id", json_string(""), "chain_id: want");
    genesis_refused("epoch", json_integer(-1), "epoch: want an integer");
    genesis_refused("epoch", NULL, "epoch: missing");
    genesis_refused("validators", json_array(), "validators: want an array");
    genesis_refused("validators", json_object(), "validators: want an array");
    genesis_refused("validators.1.pubkey", json_string("00"),
                    "validators[1].pubkey: want 64 hex");
    genesis_refused("validators.1.pubkey", NULL,
                    "validators[1].pubkey: want 64 hex");
    genesis_refused("validators.2.pubkey", json_string(not_on_curve),
                    "validators[2].pubkey: not a valid");
    genesis_refused("validators.3.pubkey", json_string(pubkeys[0]),
                    "validators[3].pubkey: same as validators[0]");
    genesis_refused("validators.3", json_string("x"),
                    "validators[3].pubkey: want 64 hex");
    many = json_array();
    for (i = 0; i < SEQC_MAX_VALIDATORS + 1; i++) {
        json_array_append_new(many, json_pack("{s:s}", "pubkey", pubkeys[0]));
    }
    genesis_refused("validators", many, "validators: want an array of 1 to 64");

    genesis_refused("namespaces", json_object(), "namespaces: want an array");
    genesis_refused("namespaces.0.id", json_integer(0),
                    "namespaces[0]: id: want an integer from 1");
    genesis_refused("namespaces.1.id", json_integer(1),
                    "namespaces[1]: id: same as namespaces[0]");
    genesis_refused("namespaces.1.name", json_string("rollup-a"),
                    "namespaces[1]: name: same as namespaces[0]");
    genesis_refused("namespaces.1.name", json_string("rollup/b"),
                    "namespaces[1]: name: want 1 to 63");
    genesis_refused("namespaces.1.name", json_string(long_name),
                    "namespaces[1]: name: want 1 to 63");
    genesis_refused("namespaces.0.weight", json_integer(0),
                    "namespaces[0]: weight: want an integer from 1 to 1000000");
    genesis_refused("namespaces.0.weight", json_integer(1000001),
                    "namespaces[0]: weight");
    genesis_refused("namespaces.0.max_tx_size", json_integer(0),
                    "namespaces[0]: max_tx_size");
    genesis_refused("namespaces.0.max_tx_size",
                    json_integer((json_int_t)UINT32_MAX + 1),
                    "namespaces[0]: max_tx_size");
    genesis_refused("namespaces.0.max_tx_size", NULL,
                    "namespaces[0]: max_tx_size: missing");
    genesis_refused("namespaces.1", json_integer(3),
                    "namespaces[1]: want an object");
}

TEST(client_genesis, refuses_what_is_not_json)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    static struct seqc_genesis g;

    ASSERT_ERR(seqc_genesis_parse((const uint8_t *)"{", 1, &g, errmsg),
               SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "genesis: line 1");
    ASSERT_ERR(seqc_genesis_parse(NULL, 0, &g, errmsg), SEQ_EINVAL);
    ASSERT_ERR(seqc_genesis_parse((const uint8_t *)"[1]", 3, &g, errmsg),
               SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "want a JSON object");
    ASSERT_ERR(seqc_genesis_parse((const uint8_t *)"{\"a\":1,\"a\":2}", 13, &g,
                                  errmsg),
               SEQ_EINVAL);
}

TEST(client_genesis, loads_a_file)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    static struct seqc_genesis g;
    struct seq_hash want;
    char dir[256];
    char path[300];
    char *text = genesis_text(genesis_json());
    FILE *f;

    test_tmpdir("seqc-genesis", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/genesis.json", dir);
    f = fopen(path, "wb");
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(fwrite(text, 1, strlen(text), f), strlen(text));
    ASSERT_EQ(fclose(f), 0);
    ASSERT_OK(seqc_genesis_load(path, &g, errmsg));
    seq_sha256(text, strlen(text), &want);
    ASSERT_TRUE(seq_hash_eq(&g.chain_id, &want));
    snprintf(path, sizeof path, "%s/missing.json", dir);
    ASSERT_ERR(seqc_genesis_load(path, &g, errmsg), SEQ_EIO);
    ASSERT_CONTAINS(errmsg, "missing.json: ");
    test_rm_tree(dir);
    free(text);
}

TEST(client_genesis, survives_allocation_failures)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    static struct seqc_genesis g;
    char *text = genesis_text(genesis_json());
    unsigned long n;
    int rv;

    for (n = 1;; n++) {
        seq_alloc_fail_at(n, 0);
        rv =
            seqc_genesis_parse((const uint8_t *)text, strlen(text), &g, errmsg);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_OK) {
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
    }
    ASSERT_GT(n, 1u);
    free(text);
}

TEST(client_genesis, tx_hash_is_sha256_of_namespace_and_payload)
{
    uint8_t data[8 + 3] = { 0, 0, 0, 0, 0, 0, 0x01, 0x02, 'a', 'b', 'c' };
    struct seq_hash got;
    struct seq_hash want;

    seq_sha256(data, sizeof data, &want);
    seqc_tx_hash(0x0102, (const uint8_t *)"abc", 3, &got);
    ASSERT_TRUE(seq_hash_eq(&got, &want));
    seq_sha256(data, 8, &want);
    seqc_tx_hash(0x0102, NULL, 0, &got);
    ASSERT_TRUE(seq_hash_eq(&got, &want));
}

TEST_MAIN()
