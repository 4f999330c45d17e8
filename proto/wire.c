/* Conversion between the core's structs (hs_types.h) and the protobuf-c
 * messages of consensus.proto, for frames and for storage values. Encoding
 * builds protobuf-c structs that point into the caller's memory and packs
 * them once into an exactly sized buffer; decoding unpacks into an arena,
 * checks the shape of every field while copying it into the core's structs,
 * and throws the arena away in one free. */

/******************* NOTES ON THE DESIGN OF THE WIRE FORMAT *******************
 *
 * (W1) A decoder trusts nothing. A peer controls every byte, so a malformed
 *      frame is an answer (SEQ_EBADMSG), never an assert: lengths are
 *      compared before anything is copied into a fixed-size array, counts
 *      before anything is allocated for them.
 *
 * (W2) One definition of "in bounds". The *_ok() predicates below check a
 *      core struct against the limits of hs_types.h. Encoders refuse what
 *      they reject (SEQ_EINVAL), decoders apply them to what they built
 *      (SEQ_EBADMSG). So everything we encode decodes, and everything we
 *      decode re-encodes to bytes that decode to the same struct: the fuzz
 *      target (tests/fuzz/fuzz_wire.c) checks exactly this.
 *
 * (W3) Decoding memory is bounded by the input. protobuf-c allocates a
 *      struct, a pointer and scan state (about 100 bytes) for every
 *      2-byte empty submessage or unknown field, so a hostile frame of
 *      them would cost 30 to 60 times its size. Every unpack gets an arena
 *      with a budget of WIRE_ARENA_FACTOR times the input plus
 *      WIRE_ARENA_SLACK; an allocation beyond the budget fails, and the
 *      unpack fails with SEQ_EBADMSG. Honest frames stay well below it:
 *      payload bytes are copied once, a full certificate costs about 2.4
 *      times its encoding, and a small frame needs under 1 KiB, which the
 *      slack covers. tests/unit/test_wire.c decodes the densest honest
 *      frames and checks that floods of tiny elements are refused. The
 *      owned copies handed to the core (payloads, a response's block
 *      array) add at most the input plus HS_MAX_FETCH_BLOCKS block structs.
 *
 * (W4) A failed call leaves nothing behind: decoders zero *out and free
 *      what they built, encoders leave *out untouched. An allocation
 *      failure anywhere (seq_malloc, inside protobuf-c through the arena)
 *      is SEQ_ENOMEM, told apart from a hostile frame by the arena's oom
 *      flag.
 *
 * (W5) Encoding is deterministic: protobuf-c writes fields in number
 *      order, and proto3 omits zeros, so equal structs give equal bytes.
 *      Fields behind a false has_* flag are not encoded and decode as
 *      zeros; block ids are never encoded and decode as zeros.
 *
 ******************************************************************************/

#include "wire.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "consensus.pb-c.h"
#include "pb_arena.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hash.h"

/* The decode budget (W3): FACTOR * input + SLACK bytes of arena. */
#define WIRE_ARENA_FACTOR 4u
#define WIRE_ARENA_SLACK  (64u * 1024)

/* Arena chunks (pb_arena.h) start small: a vote needs well under 1 KiB. */
#define ARENA_CHUNK_MIN (2u * 1024)

_Static_assert(HS_MAX_PAYLOAD + 2 * WIRE_BLOCK_OVERHEAD <= WIRE_MAX_FRAME,
               "a proposal with a full block and a TC must fit a frame");
_Static_assert(WIRE_MAX_FRAME <=
                   (SIZE_MAX - WIRE_ARENA_SLACK) / WIRE_ARENA_FACTOR,
               "the decode budget must not overflow size_t");

/* ------------------------------------------------------------------------
 * Bounds (W2). One predicate per core struct; true when a decoder would
 * accept it.
 * ------------------------------------------------------------------------ */

static bool node_ok(hs_node_t node)
{
    return node < HS_MAX_VALIDATORS;
}

static bool qc_ok(const struct hs_qc *qc)
{
    uint32_t i;

    if (qc->n_sigs > HS_MAX_VALIDATORS) {
        return false;
    }
    for (i = 0; i < qc->n_sigs; i++) {
        if (!node_ok(qc->sigs[i].signer)) {
            return false;
        }
    }
    return true;
}

static bool tc_ok(const struct hs_tc *tc)
{
    uint32_t i;

    if (tc->n_sigs > HS_MAX_VALIDATORS) {
        return false;
    }
    for (i = 0; i < tc->n_sigs; i++) {
        if (!node_ok(tc->sigs[i].signer)) {
            return false;
        }
    }
    return true;
}

static bool block_ok(const struct hs_block *b)
{
    return node_ok(b->author) && qc_ok(&b->justify) &&
           b->payload_len <= HS_MAX_PAYLOAD &&
           (b->payload != NULL || b->payload_len == 0);
}

static bool vote_ok(const struct hs_vote *v)
{
    return node_ok(v->voter);
}

static bool timeout_ok(const struct hs_timeout *t)
{
    return node_ok(t->author) && qc_ok(&t->high_qc) &&
           (!t->has_tc || tc_ok(&t->tc));
}

static bool proposal_ok(const struct hs_proposal *p)
{
    return block_ok(&p->block) && (!p->has_tc || tc_ok(&p->tc));
}

static bool fetch_count_ok(uint32_t count)
{
    return count >= 1 && count <= HS_MAX_FETCH_BLOCKS;
}

static bool response_ok(const struct hs_block_response *r)
{
    uint32_t i;

    if (!fetch_count_ok(r->n_blocks) || r->blocks == NULL) {
        return false;
    }
    for (i = 0; i < r->n_blocks; i++) {
        if (!block_ok(&r->blocks[i])) {
            return false;
        }
    }
    return true;
}

static bool msg_ok(const struct hs_msg *msg)
{
    switch (msg->type) {
    case HS_MSG_PROPOSAL:
        return proposal_ok(&msg->u.proposal);
    case HS_MSG_VOTE:
        return vote_ok(&msg->u.vote);
    case HS_MSG_TIMEOUT:
        return timeout_ok(&msg->u.timeout);
    case HS_MSG_BLOCK_REQUEST:
        return fetch_count_ok(msg->u.request.count);
    case HS_MSG_BLOCK_RESPONSE:
        return response_ok(&msg->u.response);
    default:
        return false;
    }
}

static bool safety_ok(const struct hs_safety *s)
{
    return !s->has_last_vote || vote_ok(&s->last_vote);
}

/* ------------------------------------------------------------------------
 * Encoding: core struct -> protobuf-c struct. Bytes fields point into the
 * caller's struct (protobuf-c's type is not const, but packing only
 * reads); the protobuf-c structs themselves live in a scratch arena.
 * Each returns NULL when out of memory.
 * ------------------------------------------------------------------------ */

static ProtobufCBinaryData bytes_ref(const uint8_t *data, size_t len)
{
    ProtobufCBinaryData bd = { .len = len, .data = (uint8_t *)data };

    return bd;
}

static Seq__Consensus__QC *qc_to_pb(struct pb_arena *a, const struct hs_qc *qc)
{
    Seq__Consensus__QC *pb;
    Seq__Consensus__QcSig *sigs;
    Seq__Consensus__QcSig **ptrs;
    uint32_t i;

    pb = pb_arena_alloc(a, sizeof *pb);
    sigs = pb_arena_array(a, qc->n_sigs, sizeof *sigs);
    ptrs = pb_arena_array(a, qc->n_sigs, sizeof *ptrs);
    if (pb == NULL || sigs == NULL || ptrs == NULL) {
        return NULL;
    }
    seq__consensus__qc__init(pb);
    pb->epoch = qc->epoch;
    pb->round = qc->round;
    pb->height = qc->height;
    pb->block_id = bytes_ref(qc->block_id.bytes, SEQ_HASH_LEN);
    for (i = 0; i < qc->n_sigs; i++) {
        seq__consensus__qc_sig__init(&sigs[i]);
        sigs[i].signer = qc->sigs[i].signer;
        sigs[i].sig = bytes_ref(qc->sigs[i].sig.bytes, HS_SIG_LEN);
        ptrs[i] = &sigs[i];
    }
    pb->n_sigs = qc->n_sigs;
    pb->sigs = ptrs;
    return pb;
}

static Seq__Consensus__TC *tc_to_pb(struct pb_arena *a, const struct hs_tc *tc)
{
    Seq__Consensus__TC *pb;
    Seq__Consensus__TcSig *sigs;
    Seq__Consensus__TcSig **ptrs;
    uint32_t i;

    pb = pb_arena_alloc(a, sizeof *pb);
    sigs = pb_arena_array(a, tc->n_sigs, sizeof *sigs);
    ptrs = pb_arena_array(a, tc->n_sigs, sizeof *ptrs);
    if (pb == NULL || sigs == NULL || ptrs == NULL) {
        return NULL;
    }
    seq__consensus__tc__init(pb);
    pb->epoch = tc->epoch;
    pb->round = tc->round;
    for (i = 0; i < tc->n_sigs; i++) {
        seq__consensus__tc_sig__init(&sigs[i]);
        sigs[i].signer = tc->sigs[i].signer;
        sigs[i].high_qc_round = tc->sigs[i].high_qc_round;
        sigs[i].sig = bytes_ref(tc->sigs[i].sig.bytes, HS_SIG_LEN);
        ptrs[i] = &sigs[i];
    }
    pb->n_sigs = tc->n_sigs;
    pb->sigs = ptrs;
    return pb;
}

static Seq__Consensus__Block *block_to_pb(struct pb_arena *a,
                                          const struct hs_block *b)
{
    Seq__Consensus__Block *pb = pb_arena_alloc(a, sizeof *pb);

    if (pb == NULL) {
        return NULL;
    }
    seq__consensus__block__init(pb);
    pb->epoch = b->epoch;
    pb->round = b->round;
    pb->height = b->height;
    pb->parent_id = bytes_ref(b->parent_id.bytes, SEQ_HASH_LEN);
    pb->author = b->author;
    pb->justify = qc_to_pb(a, &b->justify);
    pb->payload_hash = bytes_ref(b->payload_hash.bytes, SEQ_HASH_LEN);
    pb->ns_root = bytes_ref(b->ns_root.bytes, SEQ_HASH_LEN);
    pb->payload = bytes_ref(b->payload, b->payload_len);
    return pb->justify != NULL ? pb : NULL;
}

static Seq__Consensus__Vote *vote_to_pb(struct pb_arena *a,
                                        const struct hs_vote *v)
{
    Seq__Consensus__Vote *pb = pb_arena_alloc(a, sizeof *pb);

    if (pb == NULL) {
        return NULL;
    }
    seq__consensus__vote__init(pb);
    pb->epoch = v->epoch;
    pb->round = v->round;
    pb->height = v->height;
    pb->block_id = bytes_ref(v->block_id.bytes, SEQ_HASH_LEN);
    pb->voter = v->voter;
    pb->sig = bytes_ref(v->sig.bytes, HS_SIG_LEN);
    return pb;
}

static Seq__Consensus__Proposal *proposal_to_pb(struct pb_arena *a,
                                                const struct hs_proposal *p)
{
    Seq__Consensus__Proposal *pb = pb_arena_alloc(a, sizeof *pb);

    if (pb == NULL) {
        return NULL;
    }
    seq__consensus__proposal__init(pb);
    pb->block = block_to_pb(a, &p->block);
    if (p->has_tc) {
        pb->tc = tc_to_pb(a, &p->tc);
        if (pb->tc == NULL) {
            return NULL;
        }
    }
    pb->sig = bytes_ref(p->sig.bytes, HS_SIG_LEN);
    return pb->block != NULL ? pb : NULL;
}

static Seq__Consensus__Timeout *timeout_to_pb(struct pb_arena *a,
                                              const struct hs_timeout *t)
{
    Seq__Consensus__Timeout *pb = pb_arena_alloc(a, sizeof *pb);

    if (pb == NULL) {
        return NULL;
    }
    seq__consensus__timeout__init(pb);
    pb->epoch = t->epoch;
    pb->round = t->round;
    pb->author = t->author;
    pb->high_qc_round = t->high_qc_round;
    pb->sig = bytes_ref(t->sig.bytes, HS_SIG_LEN);
    pb->high_qc = qc_to_pb(a, &t->high_qc);
    if (t->has_tc) {
        pb->tc = tc_to_pb(a, &t->tc);
        if (pb->tc == NULL) {
            return NULL;
        }
    }
    return pb->high_qc != NULL ? pb : NULL;
}

static Seq__Consensus__BlockRequest *request_to_pb(
    struct pb_arena *a,
    const struct hs_block_request *r)
{
    Seq__Consensus__BlockRequest *pb = pb_arena_alloc(a, sizeof *pb);

    if (pb == NULL) {
        return NULL;
    }
    seq__consensus__block_request__init(pb);
    pb->block_id = bytes_ref(r->block_id.bytes, SEQ_HASH_LEN);
    pb->known_height = r->known_height;
    pb->count = r->count;
    return pb;
}

static Seq__Consensus__BlockResponse *response_to_pb(
    struct pb_arena *a,
    const struct hs_block_response *r)
{
    Seq__Consensus__BlockResponse *pb = pb_arena_alloc(a, sizeof *pb);
    Seq__Consensus__Block **blocks =
        pb_arena_array(a, r->n_blocks, sizeof *blocks);
    uint32_t i;

    if (pb == NULL || blocks == NULL) {
        return NULL;
    }
    seq__consensus__block_response__init(pb);
    for (i = 0; i < r->n_blocks; i++) {
        blocks[i] = block_to_pb(a, &r->blocks[i]);
        if (blocks[i] == NULL) {
            return NULL;
        }
    }
    pb->n_blocks = r->n_blocks;
    pb->blocks = blocks;
    return pb;
}

/* The frame for @msg, whose type msg_ok() has accepted. */
static Seq__Consensus__Frame *msg_to_pb(struct pb_arena *a,
                                        const struct hs_msg *msg)
{
    Seq__Consensus__Frame *frame = pb_arena_alloc(a, sizeof *frame);
    void *body = NULL;

    if (frame == NULL) {
        return NULL;
    }
    seq__consensus__frame__init(frame);
    frame->version = WIRE_VERSION;
    switch (msg->type) {
    case HS_MSG_PROPOSAL:
        body = frame->proposal = proposal_to_pb(a, &msg->u.proposal);
        frame->msg_case = SEQ__CONSENSUS__FRAME__MSG_PROPOSAL;
        break;
    case HS_MSG_VOTE:
        body = frame->vote = vote_to_pb(a, &msg->u.vote);
        frame->msg_case = SEQ__CONSENSUS__FRAME__MSG_VOTE;
        break;
    case HS_MSG_TIMEOUT:
        body = frame->timeout = timeout_to_pb(a, &msg->u.timeout);
        frame->msg_case = SEQ__CONSENSUS__FRAME__MSG_TIMEOUT;
        break;
    case HS_MSG_BLOCK_REQUEST:
        body = frame->block_request = request_to_pb(a, &msg->u.request);
        frame->msg_case = SEQ__CONSENSUS__FRAME__MSG_BLOCK_REQUEST;
        break;
    case HS_MSG_BLOCK_RESPONSE:
        body = frame->block_response = response_to_pb(a, &msg->u.response);
        frame->msg_case = SEQ__CONSENSUS__FRAME__MSG_BLOCK_RESPONSE;
        break;
    }
    return body != NULL ? frame : NULL;
}

static Seq__Consensus__SafetyState *safety_to_pb(struct pb_arena *a,
                                                 const struct hs_safety *s)
{
    Seq__Consensus__SafetyState *pb = pb_arena_alloc(a, sizeof *pb);
    Seq__Consensus__LastTimeout *last_timeout;

    if (pb == NULL) {
        return NULL;
    }
    seq__consensus__safety_state__init(pb);
    pb->epoch = s->epoch;
    pb->last_voted_round = s->last_voted_round;
    pb->preferred_round = s->preferred_round;
    pb->one_chain_round = s->one_chain_round;
    pb->highest_timeout_round = s->highest_timeout_round;
    if (s->has_last_vote) {
        pb->last_vote = vote_to_pb(a, &s->last_vote);
        if (pb->last_vote == NULL) {
            return NULL;
        }
    }
    if (s->has_last_timeout) {
        last_timeout = pb_arena_alloc(a, sizeof *last_timeout);
        if (last_timeout == NULL) {
            return NULL;
        }
        seq__consensus__last_timeout__init(last_timeout);
        last_timeout->round = s->last_timeout_round;
        last_timeout->high_qc_round = s->last_timeout_hqc_round;
        last_timeout->sig = bytes_ref(s->last_timeout_sig.bytes, HS_SIG_LEN);
        pb->last_timeout = last_timeout;
    }
    return pb;
}

/* Pack @m into one exactly sized buffer: *out owned, seq_free(). */
static int pack(const ProtobufCMessage *m, uint8_t **out, size_t *out_len)
{
    size_t size = protobuf_c_message_get_packed_size(m);
    size_t written;
    uint8_t *buf;

    if (size > WIRE_MAX_FRAME) {
        return SEQ_EINVAL;
    }
    /* An all-zero SafetyState packs to nothing; still return a buffer. */
    buf = seq_malloc(size > 0 ? size : 1);
    if (buf == NULL) {
        return SEQ_ENOMEM;
    }
    written = protobuf_c_message_pack(m, buf);
    assert(written == size);
    *out = buf;
    *out_len = written;
    return SEQ_OK;
}
/* ------------------------------------------------------------------------
 * Decoding: protobuf-c struct -> core struct, checking shape (W1). Each
 * returns 0, SEQ_EBADMSG or SEQ_ENOMEM; on failure the output may hold
 * owned parts that the caller frees (hs_block_free / hs_msg_free).
 * ------------------------------------------------------------------------ */

/* Unpack @len bytes into a message of type @desc held by @a. On failure the
 * arena is already closed. */
static int unpack(const ProtobufCMessageDescriptor *desc,
                  const uint8_t *buf,
                  size_t len,
                  struct pb_arena *a,
                  ProtobufCMessage **out)
{
    ProtobufCMessage *m;

    assert(buf != NULL || len == 0);

    if (len > WIRE_MAX_FRAME) {
        return SEQ_EBADMSG;
    }
    pb_arena_init(a, len * WIRE_ARENA_FACTOR + WIRE_ARENA_SLACK,
                  ARENA_CHUNK_MIN);
    m = protobuf_c_message_unpack(desc, &a->base, len, buf);
    if (m == NULL) {
        int rv = a->oom ? SEQ_ENOMEM : SEQ_EBADMSG;

        pb_arena_close(a);
        return rv;
    }
    *out = m;
    return SEQ_OK;
}

/* Exactly @len bytes, or the message is malformed. */
static int fixed_from_pb(const ProtobufCBinaryData *bd,
                         uint8_t *out,
                         size_t len)
{
    if (bd->len != len) {
        return SEQ_EBADMSG;
    }
    memcpy(out, bd->data, len);
    return SEQ_OK;
}

static int hash_from_pb(const ProtobufCBinaryData *bd, struct seq_hash *out)
{
    return fixed_from_pb(bd, out->bytes, SEQ_HASH_LEN);
}

static int sig_from_pb(const ProtobufCBinaryData *bd, struct hs_sig *out)
{
    return fixed_from_pb(bd, out->bytes, HS_SIG_LEN);
}

static int qc_from_pb(const Seq__Consensus__QC *pb, struct hs_qc *out)
{
    size_t i;
    int rv;

    if (pb == NULL || pb->n_sigs > HS_MAX_VALIDATORS) {
        return SEQ_EBADMSG;
    }
    out->epoch = pb->epoch;
    out->round = pb->round;
    out->height = pb->height;
    rv = hash_from_pb(&pb->block_id, &out->block_id);
    for (i = 0; i < pb->n_sigs && rv == SEQ_OK; i++) {
        out->sigs[i].signer = pb->sigs[i]->signer;
        rv = sig_from_pb(&pb->sigs[i]->sig, &out->sigs[i].sig);
    }
    out->n_sigs = (uint32_t)pb->n_sigs;
    return rv;
}

static int tc_from_pb(const Seq__Consensus__TC *pb, struct hs_tc *out)
{
    size_t i;
    int rv = SEQ_OK;

    if (pb->n_sigs > HS_MAX_VALIDATORS) {
        return SEQ_EBADMSG;
    }
    out->epoch = pb->epoch;
    out->round = pb->round;
    for (i = 0; i < pb->n_sigs && rv == SEQ_OK; i++) {
        out->sigs[i].signer = pb->sigs[i]->signer;
        out->sigs[i].high_qc_round = pb->sigs[i]->high_qc_round;
        rv = sig_from_pb(&pb->sigs[i]->sig, &out->sigs[i].sig);
    }
    out->n_sigs = (uint32_t)pb->n_sigs;
    return rv;
}

/* @out must be zeroed; on failure it may own a payload. */
static int block_from_pb(const Seq__Consensus__Block *pb, struct hs_block *out)
{
    int rv;

    if (pb == NULL || pb->payload.len > HS_MAX_PAYLOAD) {
        return SEQ_EBADMSG;
    }
    out->epoch = pb->epoch;
    out->round = pb->round;
    out->height = pb->height;
    out->author = pb->author;
    rv = hash_from_pb(&pb->parent_id, &out->parent_id);
    if (rv != SEQ_OK) {
        return rv;
    }
    rv = qc_from_pb(pb->justify, &out->justify);
    if (rv != SEQ_OK) {
        return rv;
    }
    rv = hash_from_pb(&pb->payload_hash, &out->payload_hash);
    if (rv != SEQ_OK) {
        return rv;
    }
    rv = hash_from_pb(&pb->ns_root, &out->ns_root);
    if (rv != SEQ_OK || pb->payload.len == 0) {
        return rv;
    }
    out->payload = seq_malloc(pb->payload.len);
    if (out->payload == NULL) {
        return SEQ_ENOMEM;
    }
    memcpy(out->payload, pb->payload.data, pb->payload.len);
    out->payload_len = pb->payload.len;
    return SEQ_OK;
}

static int vote_from_pb(const Seq__Consensus__Vote *pb, struct hs_vote *out)
{
    int rv;

    out->epoch = pb->epoch;
    out->round = pb->round;
    out->height = pb->height;
    out->voter = pb->voter;
    rv = hash_from_pb(&pb->block_id, &out->block_id);
    if (rv == SEQ_OK) {
        rv = sig_from_pb(&pb->sig, &out->sig);
    }
    return rv;
}

static int proposal_from_pb(const Seq__Consensus__Proposal *pb,
                            struct hs_proposal *out)
{
    int rv;

    rv = sig_from_pb(&pb->sig, &out->sig);
    if (rv == SEQ_OK && pb->tc != NULL) {
        out->has_tc = true;
        rv = tc_from_pb(pb->tc, &out->tc);
    }
    if (rv == SEQ_OK) {
        rv = block_from_pb(pb->block, &out->block);
    }
    return rv;
}

static int timeout_from_pb(const Seq__Consensus__Timeout *pb,
                           struct hs_timeout *out)
{
    int rv;

    out->epoch = pb->epoch;
    out->round = pb->round;
    out->author = pb->author;
    out->high_qc_round = pb->high_qc_round;
    rv = sig_from_pb(&pb->sig, &out->sig);
    if (rv == SEQ_OK) {
        rv = qc_from_pb(pb->high_qc, &out->high_qc);
    }
    if (rv == SEQ_OK && pb->tc != NULL) {
        out->has_tc = true;
        rv = tc_from_pb(pb->tc, &out->tc);
    }
    return rv;
}

static int request_from_pb(const Seq__Consensus__BlockRequest *pb,
                           struct hs_block_request *out)
{
    out->known_height = pb->known_height;
    out->count = pb->count;
    return hash_from_pb(&pb->block_id, &out->block_id);
}

/* Allocates the block array before filling it, so that a failure leaves a
 * response that hs_msg_free() can release. */
static int response_from_pb(const Seq__Consensus__BlockResponse *pb,
                            struct hs_block_response *out)
{
    size_t i;
    int rv = SEQ_OK;

    if (pb->n_blocks < 1 || pb->n_blocks > HS_MAX_FETCH_BLOCKS) {
        return SEQ_EBADMSG;
    }
    out->blocks = seq_calloc(pb->n_blocks, sizeof *out->blocks);
    if (out->blocks == NULL) {
        return SEQ_ENOMEM;
    }
    out->n_blocks = (uint32_t)pb->n_blocks;
    for (i = 0; i < pb->n_blocks && rv == SEQ_OK; i++) {
        rv = block_from_pb(pb->blocks[i], &out->blocks[i]);
    }
    return rv;
}

/* @out is zeroed. Sets out->type before anything is allocated, so that
 * hs_msg_free() releases a partial message. */
static int msg_from_frame(const Seq__Consensus__Frame *frame,
                          struct hs_msg *out)
{
    if (frame->version != WIRE_VERSION) {
        return SEQ_EBADMSG;
    }
    switch (frame->msg_case) {
    case SEQ__CONSENSUS__FRAME__MSG_PROPOSAL:
        out->type = HS_MSG_PROPOSAL;
        return proposal_from_pb(frame->proposal, &out->u.proposal);
    case SEQ__CONSENSUS__FRAME__MSG_VOTE:
        out->type = HS_MSG_VOTE;
        return vote_from_pb(frame->vote, &out->u.vote);
    case SEQ__CONSENSUS__FRAME__MSG_TIMEOUT:
        out->type = HS_MSG_TIMEOUT;
        return timeout_from_pb(frame->timeout, &out->u.timeout);
    case SEQ__CONSENSUS__FRAME__MSG_BLOCK_REQUEST:
        out->type = HS_MSG_BLOCK_REQUEST;
        return request_from_pb(frame->block_request, &out->u.request);
    case SEQ__CONSENSUS__FRAME__MSG_BLOCK_RESPONSE:
        out->type = HS_MSG_BLOCK_RESPONSE;
        return response_from_pb(frame->block_response, &out->u.response);
    default:
        /* No member set: an unknown (newer) type or none at all. */
        return SEQ_EBADMSG;
    }
}

static int safety_from_pb(const Seq__Consensus__SafetyState *pb,
                          struct hs_safety *out)
{
    int rv = SEQ_OK;

    out->epoch = pb->epoch;
    out->last_voted_round = pb->last_voted_round;
    out->preferred_round = pb->preferred_round;
    out->one_chain_round = pb->one_chain_round;
    out->highest_timeout_round = pb->highest_timeout_round;
    if (pb->last_vote != NULL) {
        out->has_last_vote = true;
        rv = vote_from_pb(pb->last_vote, &out->last_vote);
    }
    if (rv == SEQ_OK && pb->last_timeout != NULL) {
        out->has_last_timeout = true;
        out->last_timeout_round = pb->last_timeout->round;
        out->last_timeout_hqc_round = pb->last_timeout->high_qc_round;
        rv = sig_from_pb(&pb->last_timeout->sig, &out->last_timeout_sig);
    }
    return rv;
}

/* ------------------------------------------------------------------------
 * The public calls. The four top-level types (a frame's message, and the
 * block, QC and safety values) differ only in the functions above, so one
 * encode() and one decode() apply the bounds (W2), the decode budget (W3)
 * and the cleanup on failure (W4) to all of them, each type described by a
 * struct codec. A codec sees the core struct as void *: each type has
 * small adapters that restore the types, because calling a function
 * through a pointer to another function type is undefined behaviour.
 * ------------------------------------------------------------------------ */

struct codec {
    const ProtobufCMessageDescriptor *desc; /* What decode() unpacks. */
    bool (*ok)(const void *v);              /* In bounds (W2)? */
    /* The protobuf-c form of @v, built in @a; NULL when out of memory. A
     * protobuf-c message starts with its ProtobufCMessage, so a cast of
     * the typed pointer gives it. */
    ProtobufCMessage *(*to_pb)(struct pb_arena *a, const void *v);
    /* Fill the zeroed @v from @m: 0, SEQ_EBADMSG or SEQ_ENOMEM. */
    int (*from_pb)(const ProtobufCMessage *m, void *v);
    /* Free what a failed from_pb() left in @v; NULL if @v owns nothing. */
    void (*release)(void *v);
};

/* Refuse @in if out of bounds, else build its protobuf-c form in a scratch
 * arena and pack it. *out and *out_len are set only on success (W4). */
static int encode(const struct codec *c,
                  const void *in,
                  uint8_t **out,
                  size_t *out_len)
{
    struct pb_arena scratch;
    ProtobufCMessage *pb;
    int rv;

    assert(in != NULL && out != NULL && out_len != NULL);

    if (!c->ok(in)) {
        return SEQ_EINVAL;
    }
    pb_arena_init(&scratch, SIZE_MAX, ARENA_CHUNK_MIN);
    pb = c->to_pb(&scratch, in);
    rv = pb != NULL ? pack(pb, out, out_len) : SEQ_ENOMEM;
    pb_arena_close(&scratch);
    return rv;
}

/* Unpack @len bytes at @buf, convert them into @out (a core struct of
 * @out_size bytes), check the result against the bounds, and throw the
 * arena away. On failure, free what the conversion built and leave @out
 * zeroed (W4). */
static int decode(const struct codec *c,
                  const uint8_t *buf,
                  size_t len,
                  void *out,
                  size_t out_size)
{
    ProtobufCMessage *m;
    struct pb_arena arena;
    int rv;

    assert(out != NULL);

    memset(out, 0, out_size);
    rv = unpack(c->desc, buf, len, &arena, &m);
    if (rv != SEQ_OK) {
        goto err;
    }
    rv = c->from_pb(m, out);
    if (rv == SEQ_OK && !c->ok(out)) {
        rv = SEQ_EBADMSG;
    }
    pb_arena_close(&arena);
    if (rv != SEQ_OK) {
        goto err_after_from_pb;
    }
    return SEQ_OK;

err_after_from_pb:
    if (c->release != NULL) {
        c->release(out);
    }
err:
    memset(out, 0, out_size);
    return rv;
}

static bool msg_codec_ok(const void *v)
{
    return msg_ok(v);
}

static ProtobufCMessage *msg_codec_to_pb(struct pb_arena *a, const void *v)
{
    return (ProtobufCMessage *)msg_to_pb(a, v);
}

static int msg_codec_from_pb(const ProtobufCMessage *m, void *v)
{
    return msg_from_frame((const Seq__Consensus__Frame *)m, v);
}

/* msg_from_frame() sets the type before it allocates anything. */
static void msg_codec_release(void *v)
{
    struct hs_msg *msg = v;

    if (msg->type != 0) {
        hs_msg_free(msg);
    }
}

static const struct codec msg_codec = {
    .desc = &seq__consensus__frame__descriptor,
    .ok = msg_codec_ok,
    .to_pb = msg_codec_to_pb,
    .from_pb = msg_codec_from_pb,
    .release = msg_codec_release,
};

int wire_encode_msg(const struct hs_msg *msg, uint8_t **out, size_t *out_len)
{
    return encode(&msg_codec, msg, out, out_len);
}

int wire_decode_msg(const uint8_t *buf, size_t len, struct hs_msg *out)
{
    return decode(&msg_codec, buf, len, out, sizeof *out);
}

static bool block_codec_ok(const void *v)
{
    return block_ok(v);
}

static ProtobufCMessage *block_codec_to_pb(struct pb_arena *a, const void *v)
{
    return (ProtobufCMessage *)block_to_pb(a, v);
}

static int block_codec_from_pb(const ProtobufCMessage *m, void *v)
{
    return block_from_pb((const Seq__Consensus__Block *)m, v);
}

static void block_codec_release(void *v)
{
    hs_block_free(v);
}

static const struct codec block_codec = {
    .desc = &seq__consensus__block__descriptor,
    .ok = block_codec_ok,
    .to_pb = block_codec_to_pb,
    .from_pb = block_codec_from_pb,
    .release = block_codec_release,
};

int wire_encode_block(const struct hs_block *b, uint8_t **out, size_t *out_len)
{
    return encode(&block_codec, b, out, out_len);
}

int wire_decode_block(const uint8_t *buf, size_t len, struct hs_block *out)
{
    return decode(&block_codec, buf, len, out, sizeof *out);
}

static bool qc_codec_ok(const void *v)
{
    return qc_ok(v);
}

static ProtobufCMessage *qc_codec_to_pb(struct pb_arena *a, const void *v)
{
    return (ProtobufCMessage *)qc_to_pb(a, v);
}

static int qc_codec_from_pb(const ProtobufCMessage *m, void *v)
{
    return qc_from_pb((const Seq__Consensus__QC *)m, v);
}

static const struct codec qc_codec = {
    .desc = &seq__consensus__qc__descriptor,
    .ok = qc_codec_ok,
    .to_pb = qc_codec_to_pb,
    .from_pb = qc_codec_from_pb,
    .release = NULL, /* An hs_qc owns nothing. */
};

int wire_encode_qc(const struct hs_qc *qc, uint8_t **out, size_t *out_len)
{
    return encode(&qc_codec, qc, out, out_len);
}

int wire_decode_qc(const uint8_t *buf, size_t len, struct hs_qc *out)
{
    return decode(&qc_codec, buf, len, out, sizeof *out);
}

static bool safety_codec_ok(const void *v)
{
    return safety_ok(v);
}

static ProtobufCMessage *safety_codec_to_pb(struct pb_arena *a, const void *v)
{
    return (ProtobufCMessage *)safety_to_pb(a, v);
}

static int safety_codec_from_pb(const ProtobufCMessage *m, void *v)
{
    return safety_from_pb((const Seq__Consensus__SafetyState *)m, v);
}

static const struct codec safety_codec = {
    .desc = &seq__consensus__safety_state__descriptor,
    .ok = safety_codec_ok,
    .to_pb = safety_codec_to_pb,
    .from_pb = safety_codec_from_pb,
    .release = NULL, /* An hs_safety owns nothing. */
};

int wire_encode_safety(const struct hs_safety *s,
                       uint8_t **out,
                       size_t *out_len)
{
    return encode(&safety_codec, s, out, out_len);
}

int wire_decode_safety(const uint8_t *buf, size_t len, struct hs_safety *out)
{
    return decode(&safety_codec, buf, len, out, sizeof *out);
}

/* ------------------------------------------------------------------------
 * Rollup frames (wire.h).
 * ------------------------------------------------------------------------ */

/* A varint at *pos, advancing it; false if truncated or over 10 bytes. */
static bool read_varint(const uint8_t *buf,
                        size_t len,
                        size_t *pos,
                        uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift;

    for (shift = 0; shift < 70 && *pos < len; shift += 7) {
        uint8_t b = buf[(*pos)++];
        v |= (uint64_t)(b & 0x7fu) << shift;
        if ((b & 0x80u) == 0) {
            *out = v;
            return true;
        }
    }
    return false;
}

int wire_frame_type(const uint8_t *buf, size_t len)
{
    size_t pos = 0;
    int type = SEQ_EBADMSG;

    while (pos < len) {
        uint64_t key, n;
        if (!read_varint(buf, len, &pos, &key)) {
            return SEQ_EBADMSG;
        }
        switch (key & 7u) {
        case 0:
            if (!read_varint(buf, len, &pos, &n)) {
                return SEQ_EBADMSG;
            }
            break;
        case 1:
            if (len - pos < 8) {
                return SEQ_EBADMSG;
            }
            pos += 8;
            break;
        case 2:
            if (!read_varint(buf, len, &pos, &n) || n > len - pos) {
                return SEQ_EBADMSG;
            }
            pos += (size_t)n;
            if ((key >> 3) >= 2 && (key >> 3) <= 31) {
                type = (int)(key >> 3);
            }
            break;
        case 5:
            if (len - pos < 4) {
                return SEQ_EBADMSG;
            }
            pos += 4;
            break;
        default:
            return SEQ_EBADMSG;
        }
    }
    return type;
}

static bool rollup_counts_ok(enum wire_frame_type type,
                             const struct wire_blob *items,
                             size_t n)
{
    size_t i;

    switch (type) {
    case WIRE_FRAME_BATCHES:
    case WIRE_FRAME_BATCH_RESPONSE:
        if (n == 0 || n > WIRE_MAX_BATCHES) {
            return false;
        }
        for (i = 0; i < n; i++) {
            if (items[i].len == 0 || items[i].len > WIRE_MAX_FRAME / 2) {
                return false;
            }
        }
        return true;
    case WIRE_FRAME_BATCH_REQUEST:
        if (n == 0 || n > WIRE_MAX_BATCH_IDS) {
            return false;
        }
        for (i = 0; i < n; i++) {
            if (items[i].len != SEQ_HASH_LEN) {
                return false;
            }
        }
        return true;
    }
    return false;
}

int wire_encode_rollup(enum wire_frame_type type,
                       const struct wire_blob *items,
                       size_t n,
                       uint8_t **out,
                       size_t *out_len)
{
    Seq__Consensus__Frame frame = SEQ__CONSENSUS__FRAME__INIT;
    Seq__Consensus__Batches batches = SEQ__CONSENSUS__BATCHES__INIT;
    Seq__Consensus__BatchRequest request = SEQ__CONSENSUS__BATCH_REQUEST__INIT;
    ProtobufCBinaryData *data;
    size_t i;
    int rv;

    if (!rollup_counts_ok(type, items, n)) {
        return SEQ_EINVAL;
    }
    data = seq_calloc(n, sizeof *data);
    if (data == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        data[i] = bytes_ref(items[i].buf, items[i].len);
    }
    frame.version = WIRE_VERSION;
    switch (type) {
    case WIRE_FRAME_BATCHES:
        batches.n_batches = n;
        batches.batches = data;
        frame.msg_case = SEQ__CONSENSUS__FRAME__MSG_BATCHES;
        frame.batches = &batches;
        break;
    case WIRE_FRAME_BATCH_RESPONSE:
        batches.n_batches = n;
        batches.batches = data;
        frame.msg_case = SEQ__CONSENSUS__FRAME__MSG_BATCH_RESPONSE;
        frame.batch_response = &batches;
        break;
    case WIRE_FRAME_BATCH_REQUEST:
        request.n_ids = n;
        request.ids = data;
        frame.msg_case = SEQ__CONSENSUS__FRAME__MSG_BATCH_REQUEST;
        frame.batch_request = &request;
        break;
    }
    rv = pack(&frame.base, out, out_len);
    seq_free(data);
    return rv;
}

int wire_decode_rollup(const uint8_t *buf, size_t len, struct wire_rollup *out)
{
    Seq__Consensus__Frame *frame;
    ProtobufCBinaryData *data = NULL;
    ProtobufCMessage *m;
    enum wire_frame_type type;
    struct wire_blob *items;
    struct pb_arena a;
    size_t n = 0, total = 0, i;
    uint8_t *p;
    int rv;

    memset(out, 0, sizeof *out);
    rv = unpack(&seq__consensus__frame__descriptor, buf, len, &a, &m);
    if (rv != 0) {
        return rv;
    }
    frame = (Seq__Consensus__Frame *)m;
    rv = SEQ_EBADMSG;
    if (frame->version != WIRE_VERSION) {
        goto done;
    }
    switch (frame->msg_case) {
    case SEQ__CONSENSUS__FRAME__MSG_BATCHES:
        type = WIRE_FRAME_BATCHES;
        n = frame->batches->n_batches;
        data = frame->batches->batches;
        break;
    case SEQ__CONSENSUS__FRAME__MSG_BATCH_RESPONSE:
        type = WIRE_FRAME_BATCH_RESPONSE;
        n = frame->batch_response->n_batches;
        data = frame->batch_response->batches;
        break;
    case SEQ__CONSENSUS__FRAME__MSG_BATCH_REQUEST:
        type = WIRE_FRAME_BATCH_REQUEST;
        n = frame->batch_request->n_ids;
        data = frame->batch_request->ids;
        break;
    default:
        goto done;
    }
    if (n == 0 || n > WIRE_MAX_BATCH_IDS) {
        goto done;
    }
    for (i = 0; i < n; i++) {
        total += data[i].len; /* Bounded by len: no overflow. */
    }
    items = seq_malloc(n * sizeof *items + total + 1);
    if (items == NULL) {
        rv = SEQ_ENOMEM;
        goto done;
    }
    p = (uint8_t *)(items + n);
    for (i = 0; i < n; i++) {
        if (data[i].len > 0) {
            memcpy(p, data[i].data, data[i].len);
        }
        items[i].buf = p;
        items[i].len = data[i].len;
        p += data[i].len;
    }
    if (!rollup_counts_ok(type, items, n)) {
        seq_free(items);
        goto done;
    }
    out->type = type;
    out->n = n;
    out->items = items;
    rv = SEQ_OK;
done:
    pb_arena_close(&a);
    return rv;
}

void wire_rollup_free(struct wire_rollup *r)
{
    if (r != NULL) {
        seq_free(r->items);
        memset(r, 0, sizeof *r);
    }
}
