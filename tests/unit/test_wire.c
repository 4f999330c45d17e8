/* The wire format (proto/wire.c): every message type and storage value
 * round-trips with random field values, and every way a peer can bend a
 * frame out of shape is refused with SEQ_EBADMSG, leaving the output zeroed
 * and nothing leaked (run under ASan to check the latter). Hostile frames
 * are built by decoding a valid frame with protobuf-c, bending one field and
 * packing it again, so each test breaks exactly one rule. Field values come
 * from a PRNG seeded by test_seed(): SEQ_TEST_SEED=<n> replays a failure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "consensus.pb-c.h"
#include "harness.h"
#include "hs_types.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_rng.h"
#include "wire.h"

static struct seq_rng rng;

static void seed(void)
{
    seq_rng_seed(&rng, test_seed());
}

/* ------------------------------------------------------------------------
 * Random messages. Integers are sometimes 0 (omitted by proto3), sometimes
 * small, sometimes full 64-bit (10-byte varints).
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

static hs_node_t rand_node(void)
{
    return (hs_node_t)seq_rng_below(&rng, HS_MAX_VALIDATORS);
}

static void rand_bytes(uint8_t *out, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        out[i] = (uint8_t)seq_rng_next(&rng);
    }
}

static void rand_hash(struct seq_hash *h)
{
    rand_bytes(h->bytes, sizeof h->bytes);
}

static void rand_sig(struct hs_sig *s)
{
    rand_bytes(s->bytes, sizeof s->bytes);
}

static void rand_qc(struct hs_qc *qc, uint32_t n_sigs)
{
    uint32_t i;

    memset(qc, 0, sizeof *qc);
    qc->epoch = rand_u64();
    qc->round = rand_u64();
    qc->height = rand_u64();
    rand_hash(&qc->block_id);
    qc->n_sigs = n_sigs;
    for (i = 0; i < n_sigs; i++) {
        qc->sigs[i].signer = rand_node();
        rand_sig(&qc->sigs[i].sig);
    }
}

static void rand_tc(struct hs_tc *tc, uint32_t n_sigs)
{
    uint32_t i;

    memset(tc, 0, sizeof *tc);
    tc->epoch = rand_u64();
    tc->round = rand_u64();
    tc->n_sigs = n_sigs;
    for (i = 0; i < n_sigs; i++) {
        tc->sigs[i].signer = rand_node();
        tc->sigs[i].high_qc_round = rand_u64();
        rand_sig(&tc->sigs[i].sig);
    }
}

/* A block whose payload points at @payload (borrowed: not owned, so never
 * pass it to hs_block_free()). */
static void rand_block(struct hs_block *b,
                       uint8_t *payload,
                       size_t payload_len,
                       uint32_t n_sigs)
{
    memset(b, 0, sizeof *b);
    b->epoch = rand_u64();
    b->round = rand_u64();
    b->height = rand_u64();
    rand_hash(&b->parent_id);
    b->author = rand_node();
    rand_qc(&b->justify, n_sigs);
    rand_hash(&b->payload_hash);
    rand_hash(&b->ns_root);
    b->payload = payload_len > 0 ? payload : NULL;
    b->payload_len = payload_len;
    rand_hash(&b->id); /* Not on the wire: decodes as zero. */
}

static void rand_vote(struct hs_vote *v)
{
    memset(v, 0, sizeof *v);
    v->epoch = rand_u64();
    v->round = rand_u64();
    v->height = rand_u64();
    rand_hash(&v->block_id);
    v->voter = rand_node();
    rand_sig(&v->sig);
}

static void rand_vote_msg(struct hs_msg *m)
{
    memset(m, 0, sizeof *m);
    m->type = HS_MSG_VOTE;
    rand_vote(&m->u.vote);
}

static void rand_proposal_msg(struct hs_msg *m,
                              uint8_t *payload,
                              size_t payload_len,
                              uint32_t n_sigs,
                              bool has_tc)
{
    memset(m, 0, sizeof *m);
    m->type = HS_MSG_PROPOSAL;
    rand_block(&m->u.proposal.block, payload, payload_len, n_sigs);
    m->u.proposal.has_tc = has_tc;
    if (has_tc) {
        rand_tc(&m->u.proposal.tc, n_sigs);
    }
    rand_sig(&m->u.proposal.sig);
}

static void rand_timeout_msg(struct hs_msg *m, uint32_t n_sigs, bool has_tc)
{
    struct hs_timeout *t = &m->u.timeout;

    memset(m, 0, sizeof *m);
    m->type = HS_MSG_TIMEOUT;
    t->epoch = rand_u64();
    t->round = rand_u64();
    t->author = rand_node();
    t->high_qc_round = rand_u64();
    rand_sig(&t->sig);
    rand_qc(&t->high_qc, n_sigs);
    t->has_tc = has_tc;
    if (has_tc) {
        rand_tc(&t->tc, n_sigs);
    }
}

static void rand_request_msg(struct hs_msg *m, uint32_t count)
{
    memset(m, 0, sizeof *m);
    m->type = HS_MSG_BLOCK_REQUEST;
    rand_hash(&m->u.request.block_id);
    m->u.request.known_height = rand_u64();
    m->u.request.count = count;
}

/* A response of @n blocks in @blocks (caller's array), each with a payload
 * of up to @max_payload bytes taken from @payload. */
static void rand_response_msg(struct hs_msg *m,
                              struct hs_block *blocks,
                              uint32_t n,
                              uint8_t *payload,
                              size_t max_payload,
                              uint32_t n_sigs)
{
    uint32_t i;

    memset(m, 0, sizeof *m);
    m->type = HS_MSG_BLOCK_RESPONSE;
    for (i = 0; i < n; i++) {
        size_t len = (size_t)seq_rng_below(&rng, max_payload + 1);

        rand_block(&blocks[i], payload, len, n_sigs);
    }
    m->u.response.n_blocks = n;
    m->u.response.blocks = blocks;
}

static void rand_safety(struct hs_safety *s, bool has_vote, bool has_timeout)
{
    memset(s, 0, sizeof *s);
    s->epoch = rand_u64();
    s->last_voted_round = rand_u64();
    s->preferred_round = rand_u64();
    s->one_chain_round = rand_u64();
    s->highest_timeout_round = rand_u64();
    s->has_last_vote = has_vote;
    if (has_vote) {
        rand_vote(&s->last_vote);
    }
    s->has_last_timeout = has_timeout;
    if (has_timeout) {
        s->last_timeout_round = rand_u64();
        s->last_timeout_hqc_round = rand_u64();
        rand_sig(&s->last_timeout_sig);
    }
}

/* ------------------------------------------------------------------------
 * Field-by-field equality (the structs have padding, so no memcmp).
 * ------------------------------------------------------------------------ */

static bool is_zero(const void *p, size_t len)
{
    const uint8_t *b = p;
    size_t i;

    for (i = 0; i < len; i++) {
        if (b[i] != 0) {
            return false;
        }
    }
    return true;
}

static void assert_qc_eq(const struct hs_qc *a, const struct hs_qc *b)
{
    uint32_t i;

    ASSERT_EQ(a->epoch, b->epoch);
    ASSERT_EQ(a->round, b->round);
    ASSERT_EQ(a->height, b->height);
    ASSERT_MEMEQ(a->block_id.bytes, b->block_id.bytes, SEQ_HASH_LEN);
    ASSERT_EQ(a->n_sigs, b->n_sigs);
    for (i = 0; i < a->n_sigs; i++) {
        ASSERT_EQ(a->sigs[i].signer, b->sigs[i].signer);
        ASSERT_MEMEQ(a->sigs[i].sig.bytes, b->sigs[i].sig.bytes, HS_SIG_LEN);
    }
}

static void assert_tc_eq(const struct hs_tc *a, const struct hs_tc *b)
{
    uint32_t i;

    ASSERT_EQ(a->epoch, b->epoch);
    ASSERT_EQ(a->round, b->round);
    ASSERT_EQ(a->n_sigs, b->n_sigs);
    for (i = 0; i < a->n_sigs; i++) {
        ASSERT_EQ(a->sigs[i].signer, b->sigs[i].signer);
        ASSERT_EQ(a->sigs[i].high_qc_round, b->sigs[i].high_qc_round);
        ASSERT_MEMEQ(a->sigs[i].sig.bytes, b->sigs[i].sig.bytes, HS_SIG_LEN);
    }
}

/* @got was decoded from @want: equal except for the id, which is zero. */
static void assert_block_eq(const struct hs_block *want,
                            const struct hs_block *got)
{
    ASSERT_EQ(want->epoch, got->epoch);
    ASSERT_EQ(want->round, got->round);
    ASSERT_EQ(want->height, got->height);
    ASSERT_MEMEQ(want->parent_id.bytes, got->parent_id.bytes, SEQ_HASH_LEN);
    ASSERT_EQ(want->author, got->author);
    assert_qc_eq(&want->justify, &got->justify);
    ASSERT_MEMEQ(want->payload_hash.bytes, got->payload_hash.bytes,
                 SEQ_HASH_LEN);
    ASSERT_MEMEQ(want->ns_root.bytes, got->ns_root.bytes, SEQ_HASH_LEN);
    ASSERT_EQ(want->payload_len, got->payload_len);
    if (want->payload_len > 0) {
        ASSERT_TRUE(got->payload != NULL);
        ASSERT_TRUE(got->payload != want->payload);
        ASSERT_MEMEQ(want->payload, got->payload, want->payload_len);
    } else {
        ASSERT_TRUE(got->payload == NULL);
    }
    ASSERT_TRUE(seq_hash_is_zero(&got->id));
}

static void assert_vote_eq(const struct hs_vote *a, const struct hs_vote *b)
{
    ASSERT_EQ(a->epoch, b->epoch);
    ASSERT_EQ(a->round, b->round);
    ASSERT_EQ(a->height, b->height);
    ASSERT_MEMEQ(a->block_id.bytes, b->block_id.bytes, SEQ_HASH_LEN);
    ASSERT_EQ(a->voter, b->voter);
    ASSERT_MEMEQ(a->sig.bytes, b->sig.bytes, HS_SIG_LEN);
}

/* A TC behind a false has_tc is not encoded, so it decodes as zeros. */
static void assert_opt_tc_eq(bool want_has,
                             const struct hs_tc *want,
                             bool got_has,
                             const struct hs_tc *got)
{
    ASSERT_EQ(want_has, got_has);
    if (want_has) {
        assert_tc_eq(want, got);
    } else {
        ASSERT_TRUE(is_zero(got, sizeof *got));
    }
}

static void assert_msg_eq(const struct hs_msg *a, const struct hs_msg *b)
{
    uint32_t i;

    ASSERT_EQ(a->type, b->type);
    switch (a->type) {
    case HS_MSG_PROPOSAL:
        assert_block_eq(&a->u.proposal.block, &b->u.proposal.block);
        assert_opt_tc_eq(a->u.proposal.has_tc, &a->u.proposal.tc,
                         b->u.proposal.has_tc, &b->u.proposal.tc);
        ASSERT_MEMEQ(a->u.proposal.sig.bytes, b->u.proposal.sig.bytes,
                     HS_SIG_LEN);
        break;
    case HS_MSG_VOTE:
        assert_vote_eq(&a->u.vote, &b->u.vote);
        break;
    case HS_MSG_TIMEOUT:
        ASSERT_EQ(a->u.timeout.epoch, b->u.timeout.epoch);
        ASSERT_EQ(a->u.timeout.round, b->u.timeout.round);
        ASSERT_EQ(a->u.timeout.author, b->u.timeout.author);
        ASSERT_EQ(a->u.timeout.high_qc_round, b->u.timeout.high_qc_round);
        ASSERT_MEMEQ(a->u.timeout.sig.bytes, b->u.timeout.sig.bytes,
                     HS_SIG_LEN);
        assert_qc_eq(&a->u.timeout.high_qc, &b->u.timeout.high_qc);
        assert_opt_tc_eq(a->u.timeout.has_tc, &a->u.timeout.tc,
                         b->u.timeout.has_tc, &b->u.timeout.tc);
        break;
    case HS_MSG_BLOCK_REQUEST:
        ASSERT_MEMEQ(a->u.request.block_id.bytes, b->u.request.block_id.bytes,
                     SEQ_HASH_LEN);
        ASSERT_EQ(a->u.request.known_height, b->u.request.known_height);
        ASSERT_EQ(a->u.request.count, b->u.request.count);
        break;
    case HS_MSG_BLOCK_RESPONSE:
        ASSERT_EQ(a->u.response.n_blocks, b->u.response.n_blocks);
        for (i = 0; i < a->u.response.n_blocks; i++) {
            assert_block_eq(&a->u.response.blocks[i], &b->u.response.blocks[i]);
        }
        break;
    default:
        ASSERT_TRUE(false);
    }
}

static void assert_safety_eq(const struct hs_safety *a,
                             const struct hs_safety *b)
{
    ASSERT_EQ(a->epoch, b->epoch);
    ASSERT_EQ(a->last_voted_round, b->last_voted_round);
    ASSERT_EQ(a->preferred_round, b->preferred_round);
    ASSERT_EQ(a->one_chain_round, b->one_chain_round);
    ASSERT_EQ(a->highest_timeout_round, b->highest_timeout_round);
    ASSERT_EQ(a->has_last_vote, b->has_last_vote);
    if (a->has_last_vote) {
        assert_vote_eq(&a->last_vote, &b->last_vote);
    }
    ASSERT_EQ(a->has_last_timeout, b->has_last_timeout);
    if (a->has_last_timeout) {
        ASSERT_EQ(a->last_timeout_round, b->last_timeout_round);
        ASSERT_EQ(a->last_timeout_hqc_round, b->last_timeout_hqc_round);
        ASSERT_MEMEQ(a->last_timeout_sig.bytes, b->last_timeout_sig.bytes,
                     HS_SIG_LEN);
    }
}

/* ------------------------------------------------------------------------
 * Round trips. Each also re-encodes the decoded value and expects the same
 * bytes (W5: deterministic, and the decoder lost nothing).
 * ------------------------------------------------------------------------ */

static void roundtrip_msg(const struct hs_msg *msg)
{
    struct hs_msg got;
    uint8_t *buf;
    uint8_t *again;
    size_t len;
    size_t again_len;

    ASSERT_OK(wire_encode_msg(msg, &buf, &len));
    ASSERT_LE(len, WIRE_MAX_FRAME);
    ASSERT_OK(wire_decode_msg(buf, len, &got));
    assert_msg_eq(msg, &got);
    ASSERT_OK(wire_encode_msg(&got, &again, &again_len));
    ASSERT_EQ(again_len, len);
    ASSERT_MEMEQ(again, buf, len);
    hs_msg_free(&got);
    seq_free(again);
    seq_free(buf);
}

static const uint32_t sig_counts[] = { 0, 1, 3, HS_MAX_VALIDATORS - 1,
                                       HS_MAX_VALIDATORS };
#define N_SIG_COUNTS (sizeof sig_counts / sizeof sig_counts[0])

static uint8_t payload_buf[64 * 1024];

TEST(wire, rollup_frames_roundtrip_and_route)
{
    static const uint8_t b1[] = "first batch", b2[] = "second";
    struct wire_blob items[2] = { { b1, sizeof b1 }, { b2, sizeof b2 } };
    struct wire_blob ids[1];
    struct seq_hash id;
    struct wire_rollup r;
    struct hs_msg msg;
    uint8_t *buf;
    size_t len;

    ASSERT_EQ(wire_encode_rollup(WIRE_FRAME_BATCHES, items, 2, &buf, &len), 0);
    ASSERT_EQ(wire_frame_type(buf, len), WIRE_FRAME_BATCHES);
    /* A consensus decoder refuses it as an unknown type. */
    ASSERT_EQ(wire_decode_msg(buf, len, &msg), SEQ_EBADMSG);
    ASSERT_EQ(wire_decode_rollup(buf, len, &r), 0);
    ASSERT_EQ(r.type, WIRE_FRAME_BATCHES);
    ASSERT_EQ(r.n, 2u);
    ASSERT_EQ(r.items[1].len, sizeof b2);
    ASSERT_EQ(memcmp(r.items[1].buf, b2, sizeof b2), 0);
    wire_rollup_free(&r);
    /* Truncations never decode. */
    ASSERT_EQ(wire_decode_rollup(buf, len - 1, &r), SEQ_EBADMSG);
    ASSERT_EQ(wire_frame_type(buf, len - 1), SEQ_EBADMSG);
    seq_free(buf);

    memset(&id, 7, sizeof id);
    ids[0].buf = id.bytes;
    ids[0].len = SEQ_HASH_LEN;
    ASSERT_EQ(wire_encode_rollup(WIRE_FRAME_BATCH_REQUEST, ids, 1, &buf, &len),
              0);
    ASSERT_EQ(wire_frame_type(buf, len), WIRE_FRAME_BATCH_REQUEST);
    ASSERT_EQ(wire_decode_rollup(buf, len, &r), 0);
    ASSERT_EQ(r.type, WIRE_FRAME_BATCH_REQUEST);
    wire_rollup_free(&r);
    seq_free(buf);
}

TEST(wire, rollup_frames_out_of_bounds_refused)
{
    static const uint8_t shortid[5] = { 1, 2, 3, 4, 5 };
    struct wire_blob bad = { shortid, sizeof shortid };
    struct hs_msg msg;
    uint8_t *buf;
    size_t len;

    /* An id that is not 32 bytes, and no items at all. */
    ASSERT_EQ(wire_encode_rollup(WIRE_FRAME_BATCH_REQUEST, &bad, 1, &buf, &len),
              SEQ_EINVAL);
    ASSERT_EQ(wire_encode_rollup(WIRE_FRAME_BATCHES, &bad, 0, &buf, &len),
              SEQ_EINVAL);
    /* A consensus frame is not a rollup frame. */
    memset(&msg, 0, sizeof msg);
    msg.type = HS_MSG_VOTE;
    ASSERT_EQ(wire_encode_msg(&msg, &buf, &len), 0);
    ASSERT_EQ(wire_frame_type(buf, len), 3);
    {
        struct wire_rollup r;
        ASSERT_EQ(wire_decode_rollup(buf, len, &r), SEQ_EBADMSG);
    }
    seq_free(buf);
}

TEST(wire, roundtrip_vote)
{
    struct hs_msg m;
    int i;

    seed();
    for (i = 0; i < 200; i++) {
        rand_vote_msg(&m);
        roundtrip_msg(&m);
    }
}

TEST(wire, roundtrip_proposal)
{
    static const size_t payload_lens[] = { 0, 1, 100, sizeof payload_buf };
    struct hs_msg m;
    size_t p;
    size_t s;
    int tc;

    seed();
    rand_bytes(payload_buf, sizeof payload_buf);
    for (p = 0; p < sizeof payload_lens / sizeof payload_lens[0]; p++) {
        for (s = 0; s < N_SIG_COUNTS; s++) {
            for (tc = 0; tc <= 1; tc++) {
                rand_proposal_msg(&m, payload_buf, payload_lens[p],
                                  sig_counts[s], tc != 0);
                roundtrip_msg(&m);
            }
        }
    }
}

TEST(wire, roundtrip_timeout)
{
    struct hs_msg m;
    size_t s;
    int tc;

    seed();
    for (s = 0; s < N_SIG_COUNTS; s++) {
        for (tc = 0; tc <= 1; tc++) {
            rand_timeout_msg(&m, sig_counts[s], tc != 0);
            roundtrip_msg(&m);
        }
    }
}

TEST(wire, roundtrip_block_request)
{
    struct hs_msg m;
    uint32_t count;

    seed();
    for (count = 1; count <= HS_MAX_FETCH_BLOCKS; count++) {
        rand_request_msg(&m, count);
        roundtrip_msg(&m);
    }
}

TEST(wire, roundtrip_block_response)
{
    static struct hs_block blocks[HS_MAX_FETCH_BLOCKS];
    static const uint32_t counts[] = { 1, 2, 17, HS_MAX_FETCH_BLOCKS };
    struct hs_msg m;
    size_t c;
    size_t s;

    seed();
    rand_bytes(payload_buf, sizeof payload_buf);
    for (c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        for (s = 0; s < N_SIG_COUNTS; s++) {
            rand_response_msg(&m, blocks, counts[c], payload_buf, 2048,
                              sig_counts[s]);
            roundtrip_msg(&m);
        }
    }
}

/* A TC behind has_tc = false is ignored: not encoded, decoded as zeros. */
TEST(wire, absent_tc_is_not_encoded)
{
    struct hs_msg with_junk;
    struct hs_msg clean;
    uint8_t *a;
    uint8_t *b;
    size_t a_len;
    size_t b_len;

    seed();
    rand_timeout_msg(&with_junk, 3, false);
    clean = with_junk;
    rand_tc(&with_junk.u.timeout.tc, 5);
    ASSERT_OK(wire_encode_msg(&with_junk, &a, &a_len));
    ASSERT_OK(wire_encode_msg(&clean, &b, &b_len));
    ASSERT_EQ(a_len, b_len);
    ASSERT_MEMEQ(a, b, a_len);
    seq_free(a);
    seq_free(b);
}

/* The id is not on the wire (the receiver recomputes it with its chain id);
 * payload_hash and ns_root are. */
TEST(wire, block_id_is_not_on_the_wire)
{
    struct hs_block b1;
    struct hs_block b2;
    struct hs_block got;
    uint8_t *e1;
    uint8_t *e2;
    size_t l1;
    size_t l2;

    seed();
    rand_block(&b1, NULL, 0, 4);
    b2 = b1;
    rand_hash(&b2.id);
    ASSERT_OK(wire_encode_block(&b1, &e1, &l1));
    ASSERT_OK(wire_encode_block(&b2, &e2, &l2));
    ASSERT_EQ(l1, l2);
    ASSERT_MEMEQ(e1, e2, l1);
    ASSERT_OK(wire_decode_block(e1, l1, &got));
    assert_block_eq(&b1, &got);
    hs_block_free(&got);
    seq_free(e1);
    seq_free(e2);
}

TEST(wire, roundtrip_block)
{
    struct hs_block b;
    struct hs_block got;
    uint8_t *buf;
    size_t len;
    size_t s;

    seed();
    rand_bytes(payload_buf, sizeof payload_buf);
    for (s = 0; s < N_SIG_COUNTS; s++) {
        rand_block(&b, payload_buf,
                   (size_t)seq_rng_below(&rng, sizeof payload_buf), 0);
        rand_qc(&b.justify, sig_counts[s]);
        ASSERT_OK(wire_encode_block(&b, &buf, &len));
        ASSERT_OK(wire_decode_block(buf, len, &got));
        assert_block_eq(&b, &got);
        hs_block_free(&got);
        seq_free(buf);
    }
}

/* The genesis block and QC have zero hashes and no signatures: zeros are
 * omitted by proto3 but 32 zero bytes are still a 32-byte hash. */
TEST(wire, roundtrip_genesis)
{
    struct seq_hash chain_id;
    struct hs_block genesis;
    struct hs_block got;
    struct hs_qc qc;
    struct hs_qc got_qc;
    uint8_t *buf;
    size_t len;

    seed();
    rand_hash(&chain_id);
    hs_genesis_block(&chain_id, 0, &genesis);
    hs_genesis_qc(&genesis, &qc);
    ASSERT_OK(wire_encode_block(&genesis, &buf, &len));
    ASSERT_OK(wire_decode_block(buf, len, &got));
    assert_block_eq(&genesis, &got);
    hs_block_free(&got);
    seq_free(buf);
    ASSERT_OK(wire_encode_qc(&qc, &buf, &len));
    ASSERT_OK(wire_decode_qc(buf, len, &got_qc));
    assert_qc_eq(&qc, &got_qc);
    seq_free(buf);
}

TEST(wire, roundtrip_qc)
{
    struct hs_qc qc;
    struct hs_qc got;
    uint8_t *buf;
    size_t len;
    size_t s;
    int i;

    seed();
    for (i = 0; i < 20; i++) {
        for (s = 0; s < N_SIG_COUNTS; s++) {
            rand_qc(&qc, sig_counts[s]);
            ASSERT_OK(wire_encode_qc(&qc, &buf, &len));
            ASSERT_OK(wire_decode_qc(buf, len, &got));
            assert_qc_eq(&qc, &got);
            seq_free(buf);
        }
    }
}

TEST(wire, roundtrip_safety)
{
    struct hs_safety s;
    struct hs_safety got;
    uint8_t *buf;
    size_t len;
    int i;

    seed();
    for (i = 0; i < 40; i++) {
        rand_safety(&s, (i & 1) != 0, (i & 2) != 0);
        ASSERT_OK(wire_encode_safety(&s, &buf, &len));
        ASSERT_OK(wire_decode_safety(buf, len, &got));
        assert_safety_eq(&s, &got);
        seq_free(buf);
    }
}

/* First boot: the all-zero state encodes to no bytes at all, and decodes
 * back from them. */
TEST(wire, zero_safety_is_empty)
{
    struct hs_safety zero;
    struct hs_safety got;
    uint8_t *buf;
    size_t len;

    memset(&zero, 0, sizeof zero);
    ASSERT_OK(wire_encode_safety(&zero, &buf, &len));
    ASSERT_EQ(len, 0);
    ASSERT_OK(wire_decode_safety(buf, len, &got));
    assert_safety_eq(&zero, &got);
    ASSERT_OK(wire_decode_safety(NULL, 0, &got));
    assert_safety_eq(&zero, &got);
    seq_free(buf);
}

/* ------------------------------------------------------------------------
 * Sizes: HS_MAX_PAYLOAD, WIRE_MAX_FRAME, WIRE_BLOCK_OVERHEAD.
 * ------------------------------------------------------------------------ */

/* A block with every field at its widest: 10-byte varints, 64 signatures. */
static void widest_block(struct hs_block *b, uint8_t *payload, size_t len)
{
    uint32_t i;

    rand_block(b, payload, len, HS_MAX_VALIDATORS);
    b->epoch = b->round = b->height = UINT64_MAX;
    b->author = HS_MAX_VALIDATORS - 1;
    b->justify.epoch = b->justify.round = b->justify.height = UINT64_MAX;
    for (i = 0; i < HS_MAX_VALIDATORS; i++) {
        b->justify.sigs[i].signer = HS_MAX_VALIDATORS - 1;
    }
}

TEST(wire, max_payload_proposal_fits)
{
    uint8_t *payload = seq_calloc(1, HS_MAX_PAYLOAD + 1);
    struct hs_msg m;
    uint8_t *buf;
    size_t len;
    uint32_t i;

    seed();
    ASSERT_TRUE(payload != NULL);
    rand_bytes(payload, 4096);
    rand_proposal_msg(&m, payload, HS_MAX_PAYLOAD, HS_MAX_VALIDATORS, true);
    widest_block(&m.u.proposal.block, payload, HS_MAX_PAYLOAD);
    m.u.proposal.tc.epoch = m.u.proposal.tc.round = UINT64_MAX;
    for (i = 0; i < HS_MAX_VALIDATORS; i++) {
        m.u.proposal.tc.sigs[i].signer = HS_MAX_VALIDATORS - 1;
        m.u.proposal.tc.sigs[i].high_qc_round = UINT64_MAX;
    }
    roundtrip_msg(&m);
    ASSERT_OK(wire_encode_msg(&m, &buf, &len));
    ASSERT_LE(len, HS_MAX_PAYLOAD + 2 * WIRE_BLOCK_OVERHEAD);
    seq_free(buf);

    /* One byte more is refused by the encoder, and by the decoder. */
    m.u.proposal.block.payload_len = HS_MAX_PAYLOAD + 1;
    buf = NULL;
    ASSERT_ERR(wire_encode_msg(&m, &buf, &len), SEQ_EINVAL);
    ASSERT_TRUE(buf == NULL);
    ASSERT_ERR(wire_encode_block(&m.u.proposal.block, &buf, &len), SEQ_EINVAL);
    seq_free(payload);
}

/* WIRE_BLOCK_OVERHEAD is a true bound: a response packed by the rule in
 * wire.h always encodes, with the widest headers and certificates. */
TEST(wire, block_overhead_bound_holds)
{
    static struct hs_block blocks[HS_MAX_FETCH_BLOCKS];
    const size_t each =
        WIRE_MAX_FRAME / HS_MAX_FETCH_BLOCKS - WIRE_BLOCK_OVERHEAD;
    uint8_t *payload = seq_calloc(1, HS_MAX_PAYLOAD);
    struct hs_msg m;
    uint8_t *buf;
    size_t len;
    uint32_t i;

    seed();
    ASSERT_TRUE(payload != NULL);
    for (i = 0; i < HS_MAX_FETCH_BLOCKS; i++) {
        widest_block(&blocks[i], payload, each);
    }
    memset(&m, 0, sizeof m);
    m.type = HS_MSG_BLOCK_RESPONSE;
    m.u.response.blocks = blocks;
    m.u.response.n_blocks = HS_MAX_FETCH_BLOCKS;
    ASSERT_OK(wire_encode_msg(&m, &buf, &len));
    ASSERT_LE(len, (each + WIRE_BLOCK_OVERHEAD) * HS_MAX_FETCH_BLOCKS);
    seq_free(buf);

    /* One max-size block fits alone; two do not fit one frame. */
    widest_block(&blocks[0], payload, HS_MAX_PAYLOAD);
    m.u.response.n_blocks = 1;
    ASSERT_OK(wire_encode_msg(&m, &buf, &len));
    ASSERT_LE(len, HS_MAX_PAYLOAD + WIRE_BLOCK_OVERHEAD);
    seq_free(buf);
    widest_block(&blocks[1], payload, HS_MAX_PAYLOAD);
    m.u.response.n_blocks = 2;
    buf = NULL;
    ASSERT_ERR(wire_encode_msg(&m, &buf, &len), SEQ_EINVAL);
    ASSERT_TRUE(buf == NULL);
    seq_free(payload);
}

TEST(wire, oversized_frame_rejected_unread)
{
    uint8_t *big = seq_calloc(1, (size_t)WIRE_MAX_FRAME + 1);
    struct hs_msg m;
    struct hs_block b;
    struct hs_qc qc;
    struct hs_safety s;

    ASSERT_TRUE(big != NULL);
    ASSERT_ERR(wire_decode_msg(big, (size_t)WIRE_MAX_FRAME + 1, &m),
               SEQ_EBADMSG);
    ASSERT_ERR(wire_decode_block(big, (size_t)WIRE_MAX_FRAME + 1, &b),
               SEQ_EBADMSG);
    ASSERT_ERR(wire_decode_qc(big, (size_t)WIRE_MAX_FRAME + 1, &qc),
               SEQ_EBADMSG);
    ASSERT_ERR(wire_decode_safety(big, (size_t)WIRE_MAX_FRAME + 1, &s),
               SEQ_EBADMSG);
    seq_free(big);
}

/* ------------------------------------------------------------------------
 * Encoder bounds: SEQ_EINVAL, *out untouched.
 * ------------------------------------------------------------------------ */

static void expect_encode_einval(const struct hs_msg *m)
{
    uint8_t sentinel;
    uint8_t *buf = &sentinel;
    size_t len = 12345;

    ASSERT_ERR(wire_encode_msg(m, &buf, &len), SEQ_EINVAL);
    ASSERT_TRUE(buf == &sentinel);
    ASSERT_EQ(len, 12345);
}

TEST(wire, encode_refuses_out_of_bounds)
{
    static struct hs_block blocks[HS_MAX_FETCH_BLOCKS + 1];
    struct hs_msg m;
    struct hs_qc qc;
    struct hs_safety s;
    uint8_t *buf;
    size_t len;

    seed();
    memset(&m, 0, sizeof m);
    expect_encode_einval(&m); /* type 0 */
    m.type = (enum hs_msg_type)99;
    expect_encode_einval(&m);

    rand_vote_msg(&m);
    m.u.vote.voter = HS_MAX_VALIDATORS;
    expect_encode_einval(&m);

    rand_proposal_msg(&m, payload_buf, 10, 3, true);
    m.u.proposal.block.justify.n_sigs = HS_MAX_VALIDATORS + 1;
    expect_encode_einval(&m);
    rand_proposal_msg(&m, payload_buf, 10, 3, true);
    m.u.proposal.block.justify.sigs[2].signer = HS_MAX_VALIDATORS;
    expect_encode_einval(&m);
    rand_proposal_msg(&m, payload_buf, 10, 3, true);
    m.u.proposal.tc.sigs[1].signer = UINT32_MAX;
    expect_encode_einval(&m);
    rand_proposal_msg(&m, payload_buf, 10, 3, true);
    m.u.proposal.tc.n_sigs = HS_MAX_VALIDATORS + 1;
    expect_encode_einval(&m);
    rand_proposal_msg(&m, payload_buf, 10, 3, false);
    m.u.proposal.block.author = HS_MAX_VALIDATORS;
    expect_encode_einval(&m);
    rand_proposal_msg(&m, payload_buf, 10, 3, false);
    m.u.proposal.block.payload = NULL; /* with payload_len 10 */
    expect_encode_einval(&m);

    rand_timeout_msg(&m, 3, true);
    m.u.timeout.author = HS_MAX_VALIDATORS;
    expect_encode_einval(&m);
    rand_timeout_msg(&m, 3, true);
    m.u.timeout.high_qc.sigs[0].signer = HS_MAX_VALIDATORS;
    expect_encode_einval(&m);

    rand_request_msg(&m, 0);
    expect_encode_einval(&m);
    rand_request_msg(&m, HS_MAX_FETCH_BLOCKS + 1);
    expect_encode_einval(&m);

    rand_response_msg(&m, blocks, 1, payload_buf, 10, 1);
    m.u.response.n_blocks = 0;
    expect_encode_einval(&m);
    rand_response_msg(&m, blocks, HS_MAX_FETCH_BLOCKS + 1, payload_buf, 10, 1);
    expect_encode_einval(&m);
    rand_response_msg(&m, blocks, 3, payload_buf, 10, 1);
    blocks[2].justify.n_sigs = HS_MAX_VALIDATORS + 1;
    expect_encode_einval(&m);
    rand_response_msg(&m, blocks, 3, payload_buf, 10, 1);
    m.u.response.blocks = NULL;
    expect_encode_einval(&m);

    rand_qc(&qc, 2);
    qc.n_sigs = HS_MAX_VALIDATORS + 1;
    ASSERT_ERR(wire_encode_qc(&qc, &buf, &len), SEQ_EINVAL);
    rand_safety(&s, true, true);
    s.last_vote.voter = HS_MAX_VALIDATORS;
    ASSERT_ERR(wire_encode_safety(&s, &buf, &len), SEQ_EINVAL);
}

/* ------------------------------------------------------------------------
 * Hostile frames. A pool allocator lets a test decode a valid frame with
 * protobuf-c, point any field at pool memory, pack it again, and free
 * everything at once however the fields were rewired.
 * ------------------------------------------------------------------------ */

struct pool_node {
    struct pool_node *next;
    max_align_t data[];
};

struct pool {
    ProtobufCAllocator base;
    struct pool_node *head;
};

static void *pool_alloc(void *data, size_t size)
{
    struct pool *p = data;
    struct pool_node *n = seq_malloc(sizeof *n + size);

    if (n == NULL) {
        return NULL;
    }
    n->next = p->head;
    p->head = n;
    return n->data;
}

static void pool_free_one(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

static void pool_init(struct pool *p)
{
    p->base.alloc = pool_alloc;
    p->base.free = pool_free_one;
    p->base.allocator_data = p;
    p->head = NULL;
}

static void pool_close(struct pool *p)
{
    while (p->head != NULL) {
        struct pool_node *next = p->head->next;

        seq_free(p->head);
        p->head = next;
    }
}

static ProtobufCBinaryData blob(struct pool *p, size_t len)
{
    ProtobufCBinaryData bd = { .len = len, .data = NULL };

    if (len > 0) {
        bd.data = pool_alloc(p, len);
        ASSERT_TRUE(bd.data != NULL);
        memset(bd.data, 0x5a, len);
    }
    return bd;
}

static ProtobufCMessage *pb_unpack(struct pool *p,
                                   const ProtobufCMessageDescriptor *desc,
                                   uint8_t *buf,
                                   size_t len)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &p->base, len, buf);

    seq_free(buf);
    ASSERT_TRUE(m != NULL);
    return m;
}

static Seq__Consensus__Frame *frame_of(struct pool *p, const struct hs_msg *m)
{
    uint8_t *buf;
    size_t len;

    ASSERT_OK(wire_encode_msg(m, &buf, &len));
    return (Seq__Consensus__Frame *)pb_unpack(
        p, &seq__consensus__frame__descriptor, buf, len);
}

static uint8_t *pb_pack(const ProtobufCMessage *m, size_t *len)
{
    uint8_t *buf;

    *len = protobuf_c_message_get_packed_size(m);
    buf = seq_malloc(*len);
    ASSERT_TRUE(buf != NULL);
    ASSERT_EQ(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

/* Any value a decoder fills. Each decoder zeroes only its own member, and
 * every member starts the union. */
union decoded {
    struct hs_msg msg;
    struct hs_block block;
    struct hs_qc qc;
    struct hs_safety safety;
};

/* Decode @len bytes at @buf with the decoder for @desc (a Frame, Block, QC
 * or SafetyState) into the matching member of @out; *size is its size. */
static int decode_as(const ProtobufCMessageDescriptor *desc,
                     const uint8_t *buf,
                     size_t len,
                     union decoded *out,
                     size_t *size)
{
    if (desc == &seq__consensus__frame__descriptor) {
        *size = sizeof out->msg;
        return wire_decode_msg(buf, len, &out->msg);
    }
    if (desc == &seq__consensus__block__descriptor) {
        *size = sizeof out->block;
        return wire_decode_block(buf, len, &out->block);
    }
    if (desc == &seq__consensus__qc__descriptor) {
        *size = sizeof out->qc;
        return wire_decode_qc(buf, len, &out->qc);
    }
    ASSERT_TRUE(desc == &seq__consensus__safety_state__descriptor);
    *size = sizeof out->safety;
    return wire_decode_safety(buf, len, &out->safety);
}

/* Pack @m, decode it as what it is (a frame or a storage value) and expect
 * @want; a failure leaves zeros. */
static void expect_decode(const ProtobufCMessage *m, int want)
{
    union decoded out;
    size_t size;
    size_t len;
    uint8_t *buf = pb_pack(m, &len);
    int rv;

    memset(&out, 0xa5, sizeof out);
    rv = decode_as(m->descriptor, buf, len, &out, &size);
    seq_free(buf);
    ASSERT_ERR(rv, want);
    if (rv != SEQ_OK) {
        ASSERT_TRUE(is_zero(&out, size));
    } else if (m->descriptor == &seq__consensus__frame__descriptor) {
        hs_msg_free(&out.msg);
    } else if (m->descriptor == &seq__consensus__block__descriptor) {
        hs_block_free(&out.block);
    }
}

/* Sets @qc to @n signatures, all valid in shape. */
static void pb_qc_resize(struct pool *p, Seq__Consensus__QC *qc, size_t n)
{
    Seq__Consensus__QcSig **ptrs = pool_alloc(p, (n + 1) * sizeof *ptrs);
    size_t i;

    ASSERT_TRUE(ptrs != NULL);
    for (i = 0; i < n; i++) {
        ptrs[i] = pool_alloc(p, sizeof **ptrs);
        ASSERT_TRUE(ptrs[i] != NULL);
        seq__consensus__qc_sig__init(ptrs[i]);
        ptrs[i]->signer = (uint32_t)(i % HS_MAX_VALIDATORS);
        ptrs[i]->sig = blob(p, HS_SIG_LEN);
    }
    qc->sigs = ptrs;
    qc->n_sigs = n;
}

static void pb_tc_resize(struct pool *p, Seq__Consensus__TC *tc, size_t n)
{
    Seq__Consensus__TcSig **ptrs = pool_alloc(p, (n + 1) * sizeof *ptrs);
    size_t i;

    ASSERT_TRUE(ptrs != NULL);
    for (i = 0; i < n; i++) {
        ptrs[i] = pool_alloc(p, sizeof **ptrs);
        ASSERT_TRUE(ptrs[i] != NULL);
        seq__consensus__tc_sig__init(ptrs[i]);
        ptrs[i]->signer = (uint32_t)(i % HS_MAX_VALIDATORS);
        ptrs[i]->sig = blob(p, HS_SIG_LEN);
    }
    tc->sigs = ptrs;
    tc->n_sigs = n;
}

/* Lengths that are wrong for a field of @right bytes. */
static void wrong_lengths(size_t right, size_t out[4])
{
    out[0] = 0;
    out[1] = right - 1;
    out[2] = right + 1;
    out[3] = right * 2;
}

/* Encode @msg, bend its frame with @stmt (which may use the test's locals
 * p, the pool, and f, the frame), and expect @want from the decoder. */
#define EXPECT_BENT(msg, stmt, want)     \
    do {                                 \
        pool_init(&p);                   \
        f = frame_of(&p, (msg));         \
        stmt;                            \
        expect_decode(&f->base, (want)); \
        pool_close(&p);                  \
    } while (0)

/* Bytes fields of every message: each must have exactly its length. */
TEST(wire, reject_wrong_hash_and_sig_lengths)
{
    struct pool p;
    struct hs_msg m;
    Seq__Consensus__Frame *f;
    size_t hl[4];
    size_t sl[4];
    int i;

    seed();
    wrong_lengths(SEQ_HASH_LEN, hl);
    wrong_lengths(HS_SIG_LEN, sl);
    for (i = 0; i < 4; i++) {
        rand_vote_msg(&m);
        EXPECT_BENT(&m, f->vote->block_id = blob(&p, hl[i]), SEQ_EBADMSG);
        EXPECT_BENT(&m, f->vote->sig = blob(&p, sl[i]), SEQ_EBADMSG);

        rand_proposal_msg(&m, payload_buf, 10, 3, true);
        EXPECT_BENT(&m, f->proposal->block->parent_id = blob(&p, hl[i]),
                    SEQ_EBADMSG);
        EXPECT_BENT(&m, f->proposal->block->payload_hash = blob(&p, hl[i]),
                    SEQ_EBADMSG);
        EXPECT_BENT(&m, f->proposal->block->ns_root = blob(&p, hl[i]),
                    SEQ_EBADMSG);
        EXPECT_BENT(&m, f->proposal->block->justify->block_id = blob(&p, hl[i]),
                    SEQ_EBADMSG);
        EXPECT_BENT(&m,
                    f->proposal->block->justify->sigs[2]->sig = blob(&p, sl[i]),
                    SEQ_EBADMSG);
        EXPECT_BENT(&m, f->proposal->tc->sigs[0]->sig = blob(&p, sl[i]),
                    SEQ_EBADMSG);
        EXPECT_BENT(&m, f->proposal->sig = blob(&p, sl[i]), SEQ_EBADMSG);

        rand_timeout_msg(&m, 2, true);
        EXPECT_BENT(&m, f->timeout->sig = blob(&p, sl[i]), SEQ_EBADMSG);
        EXPECT_BENT(&m, f->timeout->high_qc->block_id = blob(&p, hl[i]),
                    SEQ_EBADMSG);
        EXPECT_BENT(&m, f->timeout->tc->sigs[1]->sig = blob(&p, sl[i]),
                    SEQ_EBADMSG);

        rand_request_msg(&m, 5);
        EXPECT_BENT(&m, f->block_request->block_id = blob(&p, hl[i]),
                    SEQ_EBADMSG);
    }
}

TEST(wire, reject_too_many_signatures)
{
    struct pool p;
    struct hs_msg m;
    Seq__Consensus__Frame *f;

    seed();
    /* 64 is the most a certificate may carry; 65 is refused. */
    rand_proposal_msg(&m, payload_buf, 10, 3, true);
    pool_init(&p);
    f = frame_of(&p, &m);
    pb_qc_resize(&p, f->proposal->block->justify, HS_MAX_VALIDATORS);
    pb_tc_resize(&p, f->proposal->tc, HS_MAX_VALIDATORS);
    expect_decode(&f->base, SEQ_OK);
    pb_qc_resize(&p, f->proposal->block->justify, HS_MAX_VALIDATORS + 1);
    expect_decode(&f->base, SEQ_EBADMSG);
    pb_qc_resize(&p, f->proposal->block->justify, 3);
    pb_tc_resize(&p, f->proposal->tc, HS_MAX_VALIDATORS + 1);
    expect_decode(&f->base, SEQ_EBADMSG);
    pool_close(&p);

    rand_timeout_msg(&m, 3, false);
    pool_init(&p);
    f = frame_of(&p, &m);
    pb_qc_resize(&p, f->timeout->high_qc, 1000);
    expect_decode(&f->base, SEQ_EBADMSG);
    pool_close(&p);
}

TEST(wire, reject_node_index_out_of_range)
{
    static const uint32_t bad[] = { HS_MAX_VALIDATORS, HS_MAX_VALIDATORS + 1,
                                    UINT32_MAX };
    struct pool p;
    struct hs_msg m;
    Seq__Consensus__Frame *f;
    size_t i;

    seed();
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rand_proposal_msg(&m, payload_buf, 10, 3, true);
        pool_init(&p);
        f = frame_of(&p, &m);
        f->proposal->block->justify->sigs[1]->signer = bad[i];
        expect_decode(&f->base, SEQ_EBADMSG);
        f->proposal->block->justify->sigs[1]->signer = 0;
        f->proposal->tc->sigs[2]->signer = bad[i];
        expect_decode(&f->base, SEQ_EBADMSG);
        f->proposal->tc->sigs[2]->signer = 0;
        f->proposal->block->author = bad[i];
        expect_decode(&f->base, SEQ_EBADMSG);
        f->proposal->block->author = HS_MAX_VALIDATORS - 1;
        expect_decode(&f->base, SEQ_OK);
        pool_close(&p);

        rand_vote_msg(&m);
        EXPECT_BENT(&m, f->vote->voter = bad[i], SEQ_EBADMSG);

        rand_timeout_msg(&m, 3, true);
        pool_init(&p);
        f = frame_of(&p, &m);
        f->timeout->author = bad[i];
        expect_decode(&f->base, SEQ_EBADMSG);
        f->timeout->author = 0;
        f->timeout->high_qc->sigs[0]->signer = bad[i];
        expect_decode(&f->base, SEQ_EBADMSG);
        f->timeout->high_qc->sigs[0]->signer = 0;
        f->timeout->tc->sigs[0]->signer = bad[i];
        expect_decode(&f->base, SEQ_EBADMSG);
        pool_close(&p);
    }
}

TEST(wire, reject_wrong_version_and_unknown_type)
{
    static const uint32_t versions[] = { 0, WIRE_VERSION + 1, UINT32_MAX };
    ProtobufCMessageUnknownField unknown;
    uint8_t one = 1;
    struct pool p;
    struct hs_msg m;
    Seq__Consensus__Frame *f;
    size_t i;

    seed();
    rand_vote_msg(&m);
    for (i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        pool_init(&p);
        f = frame_of(&p, &m);
        f->version = versions[i];
        expect_decode(&f->base, SEQ_EBADMSG);
        pool_close(&p);
    }

    /* No member set: an empty frame, or one whose type is from the future
     * (field 7 or 31 is an unknown field to us). */
    pool_init(&p);
    f = frame_of(&p, &m);
    f->msg_case = SEQ__CONSENSUS__FRAME__MSG__NOT_SET;
    expect_decode(&f->base, SEQ_EBADMSG);
    unknown.tag = 7;
    unknown.wire_type = PROTOBUF_C_WIRE_TYPE_VARINT;
    unknown.len = 1;
    unknown.data = &one;
    f->base.n_unknown_fields = 1;
    f->base.unknown_fields = &unknown;
    expect_decode(&f->base, SEQ_EBADMSG);
    unknown.tag = 31;
    expect_decode(&f->base, SEQ_EBADMSG);
    /* The same unknown field next to a known member is skipped. */
    f->msg_case = SEQ__CONSENSUS__FRAME__MSG_VOTE;
    expect_decode(&f->base, SEQ_OK);
    f->base.n_unknown_fields = 0;
    f->base.unknown_fields = NULL;
    pool_close(&p);
}

TEST(wire, reject_absent_required_submessages)
{
    struct pool p;
    struct hs_msg m;
    Seq__Consensus__Frame *f;

    seed();
    rand_proposal_msg(&m, payload_buf, 10, 3, true);
    pool_init(&p);
    f = frame_of(&p, &m);
    f->proposal->block->justify = NULL;
    expect_decode(&f->base, SEQ_EBADMSG);
    f->proposal->block = NULL;
    expect_decode(&f->base, SEQ_EBADMSG);
    pool_close(&p);

    rand_timeout_msg(&m, 3, true);
    pool_init(&p);
    f = frame_of(&p, &m);
    f->timeout->high_qc = NULL;
    expect_decode(&f->base, SEQ_EBADMSG);
    pool_close(&p);

    /* An absent TC is fine: it means "no TC". */
    rand_timeout_msg(&m, 3, true);
    pool_init(&p);
    f = frame_of(&p, &m);
    f->timeout->tc = NULL;
    expect_decode(&f->base, SEQ_OK);
    pool_close(&p);
}

TEST(wire, reject_fetch_bounds)
{
    static struct hs_block blocks[HS_MAX_FETCH_BLOCKS];
    Seq__Consensus__Block **many;
    struct pool p;
    struct hs_msg m;
    Seq__Consensus__Frame *f;
    size_t i;

    seed();
    rand_request_msg(&m, 1);
    pool_init(&p);
    f = frame_of(&p, &m);
    f->block_request->count = 0;
    expect_decode(&f->base, SEQ_EBADMSG);
    f->block_request->count = HS_MAX_FETCH_BLOCKS + 1;
    expect_decode(&f->base, SEQ_EBADMSG);
    f->block_request->count = UINT32_MAX;
    expect_decode(&f->base, SEQ_EBADMSG);
    f->block_request->count = HS_MAX_FETCH_BLOCKS;
    expect_decode(&f->base, SEQ_OK);
    pool_close(&p);

    rand_response_msg(&m, blocks, 1, payload_buf, 10, 1);
    pool_init(&p);
    f = frame_of(&p, &m);
    f->block_response->n_blocks = 0; /* An empty response. */
    expect_decode(&f->base, SEQ_EBADMSG);
    many = pool_alloc(&p, (HS_MAX_FETCH_BLOCKS + 1) * sizeof *many);
    ASSERT_TRUE(many != NULL);
    for (i = 0; i <= HS_MAX_FETCH_BLOCKS; i++) {
        many[i] = f->block_response->blocks[0];
    }
    f->block_response->blocks = many;
    f->block_response->n_blocks = HS_MAX_FETCH_BLOCKS;
    expect_decode(&f->base, SEQ_OK);
    f->block_response->n_blocks = HS_MAX_FETCH_BLOCKS + 1;
    expect_decode(&f->base, SEQ_EBADMSG);
    /* One bad block spoils the response (and what was copied is freed). */
    f->block_response->n_blocks = 3;
    many[2] = pool_alloc(&p, sizeof **many);
    ASSERT_TRUE(many[2] != NULL);
    *many[2] = *many[0];
    many[2]->ns_root = blob(&p, 31);
    expect_decode(&f->base, SEQ_EBADMSG);
    pool_close(&p);
}

TEST(wire, reject_oversized_payload)
{
    struct pool p;
    struct hs_msg m;
    Seq__Consensus__Frame *f;
    Seq__Consensus__Block *b;
    uint8_t *buf;
    size_t len;

    seed();
    rand_proposal_msg(&m, payload_buf, 10, 3, false);
    pool_init(&p);
    f = frame_of(&p, &m);
    f->proposal->block->payload = blob(&p, HS_MAX_PAYLOAD + 1);
    expect_decode(&f->base, SEQ_EBADMSG);
    f->proposal->block->payload = blob(&p, HS_MAX_PAYLOAD);
    expect_decode(&f->base, SEQ_OK);
    pool_close(&p);

    pool_init(&p);
    ASSERT_OK(wire_encode_block(&m.u.proposal.block, &buf, &len));
    b = (Seq__Consensus__Block *)pb_unpack(
        &p, &seq__consensus__block__descriptor, buf, len);
    b->payload = blob(&p, HS_MAX_PAYLOAD + 1);
    expect_decode(&b->base, SEQ_EBADMSG);
    pool_close(&p);
}

/* Length prefixes that claim more bytes than the frame has. */
TEST(wire, reject_declared_length_beyond_frame)
{
    /* Frame{version 1, proposal: <2^28 - 1 bytes>} with nothing after. */
    static const uint8_t frame[] = { 0x08, 0x01, 0x12, 0xff, 0xff, 0xff, 0x7f };
    /* Block{payload (9): <2^28 - 1 bytes>, 3 bytes present}. */
    static const uint8_t block[] = { 0x4a, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3 };
    /* QC{block_id (4): <2^63 bytes> as a 10-byte varint}. */
    static const uint8_t qc[] = { 0x22, 0x80, 0x80, 0x80, 0x80, 0x80,
                                  0x80, 0x80, 0x80, 0x80, 0x01 };
    /* An unterminated varint. */
    static const uint8_t varint[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    struct hs_msg m;
    struct hs_block b;
    struct hs_qc q;
    struct hs_safety s;

    ASSERT_ERR(wire_decode_msg(frame, sizeof frame, &m), SEQ_EBADMSG);
    ASSERT_ERR(wire_decode_block(block, sizeof block, &b), SEQ_EBADMSG);
    ASSERT_ERR(wire_decode_qc(qc, sizeof qc, &q), SEQ_EBADMSG);
    ASSERT_ERR(wire_decode_safety(varint, sizeof varint, &s), SEQ_EBADMSG);
    ASSERT_ERR(wire_decode_msg(varint, sizeof varint, &m), SEQ_EBADMSG);
}

TEST(wire, reject_bad_storage_values)
{
    struct pool p;
    struct hs_block block;
    struct hs_qc qc;
    struct hs_safety s;
    Seq__Consensus__Block *pb_block;
    Seq__Consensus__QC *pb_qc;
    Seq__Consensus__SafetyState *pb_s;
    uint8_t *buf;
    size_t len;

    seed();
    rand_block(&block, payload_buf, 100, 5);
    pool_init(&p);
    ASSERT_OK(wire_encode_block(&block, &buf, &len));
    pb_block = (Seq__Consensus__Block *)pb_unpack(
        &p, &seq__consensus__block__descriptor, buf, len);
    expect_decode(&pb_block->base, SEQ_OK);
    pb_block->justify->sigs[4]->signer = HS_MAX_VALIDATORS;
    expect_decode(&pb_block->base, SEQ_EBADMSG); /* After the payload copy. */
    pb_block->justify->sigs[4]->signer = 0;
    pb_block->justify = NULL;
    expect_decode(&pb_block->base, SEQ_EBADMSG);
    pool_close(&p);

    rand_qc(&qc, 3);
    pool_init(&p);
    ASSERT_OK(wire_encode_qc(&qc, &buf, &len));
    pb_qc = (Seq__Consensus__QC *)pb_unpack(&p, &seq__consensus__qc__descriptor,
                                            buf, len);
    pb_qc->block_id = blob(&p, 0);
    expect_decode(&pb_qc->base, SEQ_EBADMSG);
    pb_qc->block_id = blob(&p, SEQ_HASH_LEN);
    pb_qc_resize(&p, pb_qc, HS_MAX_VALIDATORS + 1);
    expect_decode(&pb_qc->base, SEQ_EBADMSG);
    pool_close(&p);

    rand_safety(&s, true, true);
    pool_init(&p);
    ASSERT_OK(wire_encode_safety(&s, &buf, &len));
    pb_s = (Seq__Consensus__SafetyState *)pb_unpack(
        &p, &seq__consensus__safety_state__descriptor, buf, len);
    pb_s->last_vote->voter = HS_MAX_VALIDATORS;
    expect_decode(&pb_s->base, SEQ_EBADMSG);
    pb_s->last_vote->voter = 0;
    pb_s->last_vote->block_id = blob(&p, 33);
    expect_decode(&pb_s->base, SEQ_EBADMSG);
    pb_s->last_vote = NULL;
    pb_s->last_timeout->sig = blob(&p, 63);
    expect_decode(&pb_s->base, SEQ_EBADMSG);
    pb_s->last_timeout = NULL;
    expect_decode(&pb_s->base, SEQ_OK);
    pool_close(&p);
}

/* ------------------------------------------------------------------------
 * Whatever the bytes, a decoder answers 0 or SEQ_EBADMSG. When it accepts,
 * the result re-encodes (W2) and decodes to the same message.
 * ------------------------------------------------------------------------ */

static void check_any_msg(const uint8_t *buf, size_t len)
{
    struct hs_msg got;
    struct hs_msg again;
    uint8_t *enc;
    size_t enc_len;
    int rv = wire_decode_msg(buf, len, &got);

    if (rv != SEQ_OK) {
        ASSERT_ERR(rv, SEQ_EBADMSG);
        ASSERT_TRUE(is_zero(&got, sizeof got));
        return;
    }
    ASSERT_OK(wire_encode_msg(&got, &enc, &enc_len));
    ASSERT_OK(wire_decode_msg(enc, enc_len, &again));
    assert_msg_eq(&got, &again);
    hs_msg_free(&again);
    hs_msg_free(&got);
    seq_free(enc);
}

static void check_any_storage(const uint8_t *buf, size_t len)
{
    struct hs_block b;
    struct hs_qc qc;
    struct hs_safety s;
    int rv;

    rv = wire_decode_block(buf, len, &b);
    ASSERT_TRUE(rv == SEQ_OK || rv == SEQ_EBADMSG);
    hs_block_free(&b);
    rv = wire_decode_qc(buf, len, &qc);
    ASSERT_TRUE(rv == SEQ_OK || rv == SEQ_EBADMSG);
    rv = wire_decode_safety(buf, len, &s);
    ASSERT_TRUE(rv == SEQ_OK || rv == SEQ_EBADMSG);
}

/* Messages of every type, with TCs, a few signatures and a payload. */
static void sample_msgs(struct hs_msg msgs[5], struct hs_block blocks[2])
{
    rand_proposal_msg(&msgs[0], payload_buf, 40, 3, true);
    rand_vote_msg(&msgs[1]);
    rand_timeout_msg(&msgs[2], 2, true);
    rand_request_msg(&msgs[3], 7);
    rand_response_msg(&msgs[4], blocks, 2, payload_buf, 20, 2);
}

/* Every strict prefix of a frame cuts its length-delimited body (or leaves
 * no type), so it is refused outright. */
TEST(wire, truncated_frames_rejected)
{
    static struct hs_msg msgs[5];
    struct hs_block blocks[2];
    struct hs_block block;
    struct hs_msg got;
    uint8_t *buf;
    size_t len;
    size_t cut;
    size_t i;

    seed();
    sample_msgs(msgs, blocks);
    for (i = 0; i < 5; i++) {
        ASSERT_OK(wire_encode_msg(&msgs[i], &buf, &len));
        for (cut = 0; cut < len; cut++) {
            memset(&got, 0xa5, sizeof got);
            ASSERT_ERR(wire_decode_msg(buf, cut, &got), SEQ_EBADMSG);
            ASSERT_TRUE(is_zero(&got, sizeof got));
        }
        seq_free(buf);
    }
    /* Storage values may decode from a prefix that ends on a field
     * boundary (trailing fields absent): 0 or EBADMSG, nothing else. */
    rand_block(&block, payload_buf, 30, 3);
    ASSERT_OK(wire_encode_block(&block, &buf, &len));
    for (cut = 0; cut < len; cut++) {
        check_any_storage(buf, cut);
    }
    seq_free(buf);
}

/* Every byte of valid frames flipped, one at a time, three ways. */
TEST(wire, flipped_bytes_never_crash)
{
    static const uint8_t masks[] = { 0x01, 0x80, 0xff };
    static struct hs_msg msgs[5];
    struct hs_block blocks[2];
    uint8_t *buf;
    uint8_t *copy;
    size_t len;
    size_t at;
    size_t i;
    size_t k;

    seed();
    sample_msgs(msgs, blocks);
    for (i = 0; i < 5; i++) {
        ASSERT_OK(wire_encode_msg(&msgs[i], &buf, &len));
        copy = seq_malloc(len);
        ASSERT_TRUE(copy != NULL);
        for (at = 0; at < len; at++) {
            for (k = 0; k < sizeof masks; k++) {
                memcpy(copy, buf, len);
                copy[at] ^= masks[k];
                check_any_msg(copy, len);
                check_any_storage(copy, len);
            }
        }
        seq_free(copy);
        seq_free(buf);
    }
}

TEST(wire, random_bytes_never_crash)
{
    uint8_t buf[512];
    size_t len;
    int i;

    seed();
    check_any_msg(NULL, 0);
    check_any_storage(NULL, 0);
    for (i = 0; i < 20000; i++) {
        len = (size_t)seq_rng_below(&rng, sizeof buf + 1);
        rand_bytes(buf, len);
        if (len > 0 && seq_rng_percent(&rng, 50)) {
            buf[0] = 0x08; /* version field */
        }
        if (len > 2 && seq_rng_percent(&rng, 50)) {
            buf[1] = WIRE_VERSION;
            buf[2] = (uint8_t)(seq_rng_range(&rng, 2, 6) << 3 | 2);
        }
        check_any_msg(buf, len);
        check_any_storage(buf, len);
    }
}

/* ------------------------------------------------------------------------
 * Memory (W3): what a hostile frame can make us allocate is bounded, and
 * the bound leaves room for the densest honest frames.
 * ------------------------------------------------------------------------ */

/* Unknown fields are skipped (forward compatibility), but 2-byte unknown
 * fields cost protobuf-c ~60 bytes each: a flood of them exhausts the decode
 * budget and is refused instead of allocating 30 times the frame. */
TEST(wire, unknown_field_flood_rejected)
{
    enum { N_FLOOD = 100000 };
    ProtobufCMessageUnknownField *fields;
    uint8_t zero = 0;
    struct pool p;
    struct hs_msg m;
    Seq__Consensus__Frame *f;
    size_t i;

    seed();
    rand_vote_msg(&m);
    pool_init(&p);
    f = frame_of(&p, &m);
    fields = pool_alloc(&p, N_FLOOD * sizeof *fields);
    ASSERT_TRUE(fields != NULL);
    for (i = 0; i < N_FLOOD; i++) {
        fields[i].tag = 15;
        fields[i].wire_type = PROTOBUF_C_WIRE_TYPE_VARINT;
        fields[i].len = 1;
        fields[i].data = &zero;
    }
    f->vote->base.unknown_fields = fields;
    f->vote->base.n_unknown_fields = 3;
    expect_decode(&f->base, SEQ_OK);
    f->vote->base.n_unknown_fields = N_FLOOD;
    expect_decode(&f->base, SEQ_EBADMSG);
    pool_close(&p);
}

TEST(wire, empty_signature_flood_rejected)
{
    struct pool p;
    struct hs_msg m;
    Seq__Consensus__Frame *f;
    Seq__Consensus__QcSig empty = SEQ__CONSENSUS__QC_SIG__INIT;
    Seq__Consensus__QcSig **ptrs;
    size_t n = 200000;
    size_t i;

    seed();
    rand_timeout_msg(&m, 1, false);
    pool_init(&p);
    f = frame_of(&p, &m);
    ptrs = pool_alloc(&p, n * sizeof *ptrs);
    ASSERT_TRUE(ptrs != NULL);
    for (i = 0; i < n; i++) {
        ptrs[i] = &empty;
    }
    f->timeout->high_qc->sigs = ptrs;
    f->timeout->high_qc->n_sigs = n;
    expect_decode(&f->base, SEQ_EBADMSG);
    pool_close(&p);
}

/* The densest honest frames: full certificates everywhere, no payload. */
TEST(wire, densest_frames_fit_decode_budget)
{
    static struct hs_block blocks[HS_MAX_FETCH_BLOCKS];
    struct hs_msg m;
    uint32_t i;

    seed();
    memset(&m, 0, sizeof m);
    m.type = HS_MSG_BLOCK_RESPONSE;
    for (i = 0; i < HS_MAX_FETCH_BLOCKS; i++) {
        widest_block(&blocks[i], NULL, 0);
    }
    m.u.response.blocks = blocks;
    m.u.response.n_blocks = HS_MAX_FETCH_BLOCKS;
    roundtrip_msg(&m);
    m.u.response.n_blocks = 1;
    roundtrip_msg(&m);

    rand_proposal_msg(&m, NULL, 0, HS_MAX_VALIDATORS, true);
    roundtrip_msg(&m);
    rand_timeout_msg(&m, HS_MAX_VALIDATORS, true);
    roundtrip_msg(&m);
}

/* ------------------------------------------------------------------------
 * Allocation failures (W4): fail each allocation in turn, first alone,
 * then with every later one failing too. Each must give SEQ_ENOMEM, leave
 * the outputs as promised, and leak nothing (ASan checks).
 * ------------------------------------------------------------------------ */

/* Decode @enc as @desc (see decode_as()) with allocation @n failing, and
 * with every later one too if @sticky, for n = 1, 2, ... until it succeeds:
 * each failure must be SEQ_ENOMEM with the output zeroed. Leaves the
 * decoded value in @got. */
static void alloc_fail_decode(const ProtobufCMessageDescriptor *desc,
                              const uint8_t *enc,
                              size_t enc_len,
                              int sticky,
                              union decoded *got)
{
    unsigned long n;
    size_t size;
    int rv;

    for (n = 1;; n++) {
        memset(got, 0xa5, sizeof *got);
        seq_alloc_fail_at(n, sticky);
        rv = decode_as(desc, enc, enc_len, got, &size);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_OK) {
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
        ASSERT_TRUE(is_zero(got, size));
    }
    ASSERT_GT(n, 1);
}

static void alloc_fail_msg(const struct hs_msg *msg)
{
    union decoded got;
    uint8_t *enc;
    size_t enc_len;
    unsigned long n;
    int sticky;

    ASSERT_OK(wire_encode_msg(msg, &enc, &enc_len));
    for (sticky = 0; sticky <= 1; sticky++) {
        for (n = 1;; n++) {
            uint8_t sentinel;
            uint8_t *buf = &sentinel;
            size_t len = 12345;
            int rv;

            seq_alloc_fail_at(n, sticky);
            rv = wire_encode_msg(msg, &buf, &len);
            seq_alloc_fail_at(0, 0);
            if (rv == SEQ_OK) {
                ASSERT_EQ(len, enc_len);
                ASSERT_MEMEQ(buf, enc, len);
                seq_free(buf);
                break;
            }
            ASSERT_ERR(rv, SEQ_ENOMEM);
            ASSERT_TRUE(buf == &sentinel);
            ASSERT_EQ(len, 12345);
        }
        ASSERT_GT(n, 1);
        alloc_fail_decode(&seq__consensus__frame__descriptor, enc, enc_len,
                          sticky, &got);
        assert_msg_eq(msg, &got.msg);
        hs_msg_free(&got.msg);
    }
    seq_free(enc);
}

TEST(wire, alloc_failure_msgs)
{
    static struct hs_msg msgs[5];
    static struct hs_block blocks[HS_MAX_FETCH_BLOCKS];
    struct hs_msg m;
    size_t i;

    seed();
    sample_msgs(msgs, blocks);
    for (i = 0; i < 5; i++) {
        alloc_fail_msg(&msgs[i]);
    }
    /* Big enough to need several arena chunks and block payloads. */
    rand_bytes(payload_buf, sizeof payload_buf);
    rand_response_msg(&m, blocks, HS_MAX_FETCH_BLOCKS, payload_buf, 1024,
                      HS_MAX_VALIDATORS);
    alloc_fail_msg(&m);
    rand_proposal_msg(&m, payload_buf, sizeof payload_buf, HS_MAX_VALIDATORS,
                      true);
    alloc_fail_msg(&m);
}

TEST(wire, alloc_failure_storage)
{
    union decoded got;
    struct hs_block block;
    struct hs_qc qc;
    struct hs_safety s;
    uint8_t *enc;
    uint8_t *buf;
    size_t enc_len;
    size_t len;
    unsigned long n;
    int rv;

    seed();
    rand_block(&block, payload_buf, 500, HS_MAX_VALIDATORS);
    ASSERT_OK(wire_encode_block(&block, &enc, &enc_len));
    for (n = 1;; n++) {
        buf = NULL;
        seq_alloc_fail_at(n, 0);
        rv = wire_encode_block(&block, &buf, &len);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_OK) {
            seq_free(buf);
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
        ASSERT_TRUE(buf == NULL);
    }
    alloc_fail_decode(&seq__consensus__block__descriptor, enc, enc_len, 0,
                      &got);
    assert_block_eq(&block, &got.block);
    hs_block_free(&got.block);
    seq_free(enc);

    rand_qc(&qc, HS_MAX_VALIDATORS);
    ASSERT_OK(wire_encode_qc(&qc, &enc, &enc_len));
    alloc_fail_decode(&seq__consensus__qc__descriptor, enc, enc_len, 0, &got);
    assert_qc_eq(&qc, &got.qc);
    seq_free(enc);

    rand_safety(&s, true, true);
    ASSERT_OK(wire_encode_safety(&s, &enc, &enc_len));
    alloc_fail_decode(&seq__consensus__safety_state__descriptor, enc, enc_len,
                      0, &got);
    assert_safety_eq(&s, &got.safety);
    seq_free(enc);
}

TEST_MAIN()
