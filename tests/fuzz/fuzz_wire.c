/* libFuzzer target for the wire format (proto/wire.c). Every input goes
 * through every decoder: the frame decoder and the three storage decoders
 * (block, QC, safety state). A decoder must answer 0 or SEQ_EBADMSG, zero
 * its output on failure, and never crash or leak (ASan and UBSan watch).
 * When it accepts, the oracle of wire.c's NOTES (W2) must hold: the result
 * re-encodes, the re-encoding decodes to an equal struct, and encoding that
 * gives the same bytes again. Any violation aborts, which libFuzzer reports
 * as a crash with the input saved.
 *
 * Mutation: byte-level mutations almost never grow a certificate by one
 * well-formed 70-byte signature, so one mutation in four is structural:
 * the input is parsed with protobuf-c as one of the schema's top-level
 * messages, one element of a repeated field anywhere inside (signatures,
 * blocks) is duplicated or dropped, and the message is packed again. That
 * reaches the count limits (a 65th signature, an empty response) in one
 * step.
 *
 * Seeds: when SEQ_FUZZ_SEED_DIR names a directory, LLVMFuzzerInitialize
 * writes one valid encoding of each message type and storage value there
 * before libFuzzer reads its corpus (tests/fuzz/CMakeLists.txt does this),
 * so no binary seeds live in git. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "consensus.pb-c.h"
#include "hs_types.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_rng.h"
#include "wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data,
                               size_t size,
                               size_t max_size,
                               unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_wire: %s\n", what);
    abort();
}

/* memcmp, not a byte loop: libFuzzer traces every comparison in this file,
 * and a traced loop over a 10 KiB struct would cost most of each run. */
static bool is_zero(const void *p, size_t len)
{
    static const uint8_t zeros[sizeof(struct hs_msg)];

    if (len > sizeof zeros) {
        fail("is_zero: struct larger than struct hs_msg");
    }
    return memcmp(p, zeros, len) == 0;
}

/* ------------------------------------------------------------------------
 * Equality, field by field (the structs have padding). hs_qc_sig has none
 * (a uint32_t and 64 bytes), so its arrays compare with memcmp.
 * ------------------------------------------------------------------------ */

static bool qc_eq(const struct hs_qc *a, const struct hs_qc *b)
{
    return a->epoch == b->epoch && a->round == b->round &&
           a->height == b->height && seq_hash_eq(&a->block_id, &b->block_id) &&
           a->n_sigs == b->n_sigs &&
           memcmp(a->sigs, b->sigs, a->n_sigs * sizeof a->sigs[0]) == 0;
}

static bool tc_eq(const struct hs_tc *a, const struct hs_tc *b)
{
    uint32_t i;

    if (a->epoch != b->epoch || a->round != b->round ||
        a->n_sigs != b->n_sigs) {
        return false;
    }
    for (i = 0; i < a->n_sigs; i++) {
        if (a->sigs[i].signer != b->sigs[i].signer ||
            a->sigs[i].high_qc_round != b->sigs[i].high_qc_round ||
            memcmp(&a->sigs[i].sig, &b->sigs[i].sig, HS_SIG_LEN) != 0) {
            return false;
        }
    }
    return true;
}

static bool opt_tc_eq(bool a_has,
                      const struct hs_tc *a,
                      bool b_has,
                      const struct hs_tc *b)
{
    return a_has == b_has && (!a_has || tc_eq(a, b));
}

static bool block_eq(const struct hs_block *a, const struct hs_block *b)
{
    return a->epoch == b->epoch && a->round == b->round &&
           a->height == b->height &&
           seq_hash_eq(&a->parent_id, &b->parent_id) &&
           a->author == b->author && qc_eq(&a->justify, &b->justify) &&
           seq_hash_eq(&a->payload_hash, &b->payload_hash) &&
           seq_hash_eq(&a->ns_root, &b->ns_root) &&
           a->payload_len == b->payload_len &&
           (a->payload_len == 0 ||
            memcmp(a->payload, b->payload, a->payload_len) == 0) &&
           seq_hash_is_zero(&a->id) && seq_hash_is_zero(&b->id);
}

static bool vote_eq(const struct hs_vote *a, const struct hs_vote *b)
{
    return a->epoch == b->epoch && a->round == b->round &&
           a->height == b->height && seq_hash_eq(&a->block_id, &b->block_id) &&
           a->voter == b->voter && memcmp(&a->sig, &b->sig, HS_SIG_LEN) == 0;
}

static bool timeout_eq(const struct hs_timeout *a, const struct hs_timeout *b)
{
    return a->epoch == b->epoch && a->round == b->round &&
           a->author == b->author && a->high_qc_round == b->high_qc_round &&
           memcmp(&a->sig, &b->sig, HS_SIG_LEN) == 0 &&
           qc_eq(&a->high_qc, &b->high_qc) &&
           opt_tc_eq(a->has_tc, &a->tc, b->has_tc, &b->tc);
}

static bool msg_eq(const struct hs_msg *a, const struct hs_msg *b)
{
    const struct hs_proposal *pa = &a->u.proposal;
    const struct hs_proposal *pb = &b->u.proposal;
    uint32_t i;

    if (a->type != b->type) {
        return false;
    }
    switch (a->type) {
    case HS_MSG_PROPOSAL:
        return block_eq(&pa->block, &pb->block) &&
               opt_tc_eq(pa->has_tc, &pa->tc, pb->has_tc, &pb->tc) &&
               memcmp(&pa->sig, &pb->sig, HS_SIG_LEN) == 0;
    case HS_MSG_VOTE:
        return vote_eq(&a->u.vote, &b->u.vote);
    case HS_MSG_TIMEOUT:
        return timeout_eq(&a->u.timeout, &b->u.timeout);
    case HS_MSG_BLOCK_REQUEST:
        return seq_hash_eq(&a->u.request.block_id, &b->u.request.block_id) &&
               a->u.request.known_height == b->u.request.known_height &&
               a->u.request.count == b->u.request.count;
    case HS_MSG_BLOCK_RESPONSE:
        if (a->u.response.n_blocks != b->u.response.n_blocks) {
            return false;
        }
        for (i = 0; i < a->u.response.n_blocks; i++) {
            if (!block_eq(&a->u.response.blocks[i], &b->u.response.blocks[i])) {
                return false;
            }
        }
        return true;
    default:
        return false;
    }
}

static bool safety_eq(const struct hs_safety *a, const struct hs_safety *b)
{
    return a->epoch == b->epoch && a->last_voted_round == b->last_voted_round &&
           a->preferred_round == b->preferred_round &&
           a->one_chain_round == b->one_chain_round &&
           a->highest_timeout_round == b->highest_timeout_round &&
           a->has_last_vote == b->has_last_vote &&
           (!a->has_last_vote || vote_eq(&a->last_vote, &b->last_vote)) &&
           a->has_last_timeout == b->has_last_timeout &&
           (!a->has_last_timeout ||
            (a->last_timeout_round == b->last_timeout_round &&
             a->last_timeout_hqc_round == b->last_timeout_hqc_round &&
             memcmp(&a->last_timeout_sig, &b->last_timeout_sig, HS_SIG_LEN) ==
                 0));
}

/* ------------------------------------------------------------------------
 * The oracle, once per decoder.
 * ------------------------------------------------------------------------ */

static void same_bytes(const uint8_t *a,
                       size_t a_len,
                       const uint8_t *b,
                       size_t b_len)
{
    if (a_len != b_len || memcmp(a, b, a_len) != 0) {
        fail("re-encoding is not canonical");
    }
}

static void check_msg(const uint8_t *data, size_t size)
{
    struct hs_msg got;
    struct hs_msg again;
    uint8_t *enc;
    uint8_t *enc2;
    size_t len;
    size_t len2;
    int rv = wire_decode_msg(data, size, &got);

    if (rv != SEQ_OK) {
        if (rv != SEQ_EBADMSG || !is_zero(&got, sizeof got)) {
            fail("msg: bad failure");
        }
        return;
    }
    if (wire_encode_msg(&got, &enc, &len) != SEQ_OK) {
        fail("msg: decoded message does not encode");
    }
    if (wire_decode_msg(enc, len, &again) != SEQ_OK) {
        fail("msg: re-encoding does not decode");
    }
    if (!msg_eq(&got, &again)) {
        fail("msg: round trip changed the message");
    }
    if (wire_encode_msg(&again, &enc2, &len2) != SEQ_OK) {
        fail("msg: second encoding failed");
    }
    same_bytes(enc, len, enc2, len2);
    seq_free(enc2);
    seq_free(enc);
    hs_msg_free(&again);
    hs_msg_free(&got);
}

static void check_block(const uint8_t *data, size_t size)
{
    struct hs_block got;
    struct hs_block again;
    uint8_t *enc;
    uint8_t *enc2;
    size_t len;
    size_t len2;
    int rv = wire_decode_block(data, size, &got);

    if (rv != SEQ_OK) {
        if (rv != SEQ_EBADMSG || !is_zero(&got, sizeof got)) {
            fail("block: bad failure");
        }
        return;
    }
    if (wire_encode_block(&got, &enc, &len) != SEQ_OK ||
        wire_decode_block(enc, len, &again) != SEQ_OK) {
        fail("block: no round trip");
    }
    if (!block_eq(&got, &again)) {
        fail("block: round trip changed the block");
    }
    if (wire_encode_block(&again, &enc2, &len2) != SEQ_OK) {
        fail("block: second encoding failed");
    }
    same_bytes(enc, len, enc2, len2);
    seq_free(enc2);
    seq_free(enc);
    hs_block_free(&again);
    hs_block_free(&got);
}

static void check_qc(const uint8_t *data, size_t size)
{
    struct hs_qc got;
    struct hs_qc again;
    uint8_t *enc;
    uint8_t *enc2;
    size_t len;
    size_t len2;
    int rv = wire_decode_qc(data, size, &got);

    if (rv != SEQ_OK) {
        if (rv != SEQ_EBADMSG || !is_zero(&got, sizeof got)) {
            fail("qc: bad failure");
        }
        return;
    }
    if (wire_encode_qc(&got, &enc, &len) != SEQ_OK ||
        wire_decode_qc(enc, len, &again) != SEQ_OK) {
        fail("qc: no round trip");
    }
    if (!qc_eq(&got, &again)) {
        fail("qc: round trip changed the QC");
    }
    if (wire_encode_qc(&again, &enc2, &len2) != SEQ_OK) {
        fail("qc: second encoding failed");
    }
    same_bytes(enc, len, enc2, len2);
    seq_free(enc2);
    seq_free(enc);
}

static void check_safety(const uint8_t *data, size_t size)
{
    struct hs_safety got;
    struct hs_safety again;
    uint8_t *enc;
    uint8_t *enc2;
    size_t len;
    size_t len2;
    int rv = wire_decode_safety(data, size, &got);

    if (rv != SEQ_OK) {
        if (rv != SEQ_EBADMSG || !is_zero(&got, sizeof got)) {
            fail("safety: bad failure");
        }
        return;
    }
    if (wire_encode_safety(&got, &enc, &len) != SEQ_OK ||
        wire_decode_safety(enc, len, &again) != SEQ_OK) {
        fail("safety: no round trip");
    }
    if (!safety_eq(&got, &again)) {
        fail("safety: round trip changed the state");
    }
    if (wire_encode_safety(&again, &enc2, &len2) != SEQ_OK) {
        fail("safety: second encoding failed");
    }
    same_bytes(enc, len, enc2, len2);
    seq_free(enc2);
    seq_free(enc);
}

/* Rollup frames: a decode re-encodes to a frame that decodes to the same
 * items; the routing hint never reads past the input. */
static void check_rollup(const uint8_t *data, size_t size)
{
    struct wire_rollup r, again;
    uint8_t *buf;
    size_t len, i;

    (void)wire_frame_type(data, size);
    if (wire_decode_rollup(data, size, &r) != 0) {
        return;
    }
    if (wire_encode_rollup(r.type, r.items, r.n, &buf, &len) != 0) {
        fail("rollup: a decoded frame does not encode");
    }
    if (wire_frame_type(buf, len) != (int)r.type ||
        wire_decode_rollup(buf, len, &again) != 0 || again.n != r.n ||
        again.type != r.type) {
        fail("rollup: re-encoded frame differs");
    }
    for (i = 0; i < r.n; i++) {
        if (again.items[i].len != r.items[i].len ||
            memcmp(again.items[i].buf, r.items[i].buf, r.items[i].len) != 0) {
            fail("rollup: item differs after re-encoding");
        }
    }
    wire_rollup_free(&again);
    wire_rollup_free(&r);
    seq_free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_rollup(data, size);
    check_msg(data, size);
    check_block(data, size);
    check_qc(data, size);
    check_safety(data, size);
    return 0;
}

/* ------------------------------------------------------------------------
 * Structural mutation. protobuf-c unpacks into a pool that is released in
 * one go, so elements can be shared or dropped without double frees.
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

static void pool_close(struct pool *p)
{
    while (p->head != NULL) {
        struct pool_node *next = p->head->next;

        seq_free(p->head);
        p->head = next;
    }
}

struct pick {
    struct seq_rng rng;
    unsigned seen;
    ProtobufCMessage *msg;
    const ProtobufCFieldDescriptor *field;
};

static void *member(ProtobufCMessage *m, unsigned offset)
{
    return (uint8_t *)m + offset;
}

/* Choose, uniformly (reservoir sampling), one non-empty repeated message
 * field anywhere under @m. */
static void pick_repeated(ProtobufCMessage *m, struct pick *pick)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    unsigned i;
    size_t j;

    for (i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        size_t n;
        ProtobufCMessage **elems;
        ProtobufCMessage *sub;

        if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
            continue;
        }
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
            *(uint32_t *)member(m, f->quantifier_offset) != f->id) {
            continue;
        }
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            sub = *(ProtobufCMessage **)member(m, f->offset);
            if (sub != NULL) {
                pick_repeated(sub, pick);
            }
            continue;
        }
        n = *(size_t *)member(m, f->quantifier_offset);
        elems = *(ProtobufCMessage ***)member(m, f->offset);
        if (n == 0) {
            continue;
        }
        pick->seen++;
        if (seq_rng_below(&pick->rng, pick->seen) == 0) {
            pick->msg = m;
            pick->field = f;
        }
        for (j = 0; j < n; j++) {
            pick_repeated(elems[j], pick);
        }
    }
}

/* Duplicate (or, one time in three, drop) one element of the chosen field.
 * Returns false when out of memory. */
static bool mutate_repeated(struct pool *pool, struct pick *pick)
{
    size_t *n = member(pick->msg, pick->field->quantifier_offset);
    ProtobufCMessage ***elems = member(pick->msg, pick->field->offset);
    ProtobufCMessage **grown;
    size_t at = (size_t)seq_rng_below(&pick->rng, *n);

    if (seq_rng_below(&pick->rng, 3) == 0) {
        memmove(&(*elems)[at], &(*elems)[at + 1],
                (*n - at - 1) * sizeof **elems);
        (*n)--;
        return true;
    }
    grown = pool_alloc(pool, (*n + 1) * sizeof *grown);
    if (grown == NULL) {
        return false;
    }
    memcpy(grown, *elems, *n * sizeof *grown);
    grown[*n] = (*elems)[at];
    *elems = grown;
    (*n)++;
    return true;
}

static size_t mutate_structure(uint8_t *data,
                               size_t size,
                               size_t max_size,
                               struct pick *pick)
{
    static const ProtobufCMessageDescriptor *const roots[] = {
        &seq__consensus__frame__descriptor,
        &seq__consensus__block__descriptor,
        &seq__consensus__qc__descriptor,
        &seq__consensus__safety_state__descriptor,
    };
    const size_t n_roots = sizeof roots / sizeof roots[0];
    size_t first = (size_t)seq_rng_below(&pick->rng, n_roots);
    size_t out = 0;
    size_t i;

    for (i = 0; i < n_roots && out == 0; i++) {
        struct pool pool = { { pool_alloc, pool_free_one, NULL }, NULL };
        ProtobufCMessage *m;

        pool.base.allocator_data = &pool;
        m = protobuf_c_message_unpack(roots[(first + i) % n_roots], &pool.base,
                                      size, data);
        pick->seen = 0;
        if (m != NULL) {
            pick_repeated(m, pick);
        }
        if (pick->seen > 0 && mutate_repeated(&pool, pick) &&
            protobuf_c_message_get_packed_size(m) <= max_size) {
            out = protobuf_c_message_pack(m, data);
        }
        pool_close(&pool);
    }
    return out;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data,
                               size_t size,
                               size_t max_size,
                               unsigned int seed)
{
    struct pick pick;
    size_t out;

    seq_rng_seed(&pick.rng, seed);
    if (seq_rng_below(&pick.rng, 4) == 0) {
        out = mutate_structure(data, size, max_size, &pick);
        if (out > 0) {
            return out;
        }
    }
    return LLVMFuzzerMutate(data, size, max_size);
}

/* ------------------------------------------------------------------------
 * Seeds: small valid encodings of everything, from a fixed PRNG seed.
 * ------------------------------------------------------------------------ */

static struct seq_rng rng;
static uint8_t seed_payload[48];

static void rand_fill(void *p, size_t len)
{
    uint8_t *b = p;
    size_t i;

    for (i = 0; i < len; i++) {
        b[i] = (uint8_t)seq_rng_next(&rng);
    }
}

static void seed_qc(struct hs_qc *qc, uint32_t n_sigs)
{
    uint32_t i;

    memset(qc, 0, sizeof *qc);
    qc->epoch = 1;
    qc->round = seq_rng_below(&rng, 1000);
    qc->height = seq_rng_below(&rng, 1000);
    rand_fill(&qc->block_id, sizeof qc->block_id);
    qc->n_sigs = n_sigs;
    for (i = 0; i < n_sigs; i++) {
        qc->sigs[i].signer = i;
        rand_fill(&qc->sigs[i].sig, HS_SIG_LEN);
    }
}

static void seed_tc(struct hs_tc *tc, uint32_t n_sigs)
{
    uint32_t i;

    memset(tc, 0, sizeof *tc);
    tc->epoch = 1;
    tc->round = seq_rng_below(&rng, 1000);
    tc->n_sigs = n_sigs;
    for (i = 0; i < n_sigs; i++) {
        tc->sigs[i].signer = i;
        tc->sigs[i].high_qc_round = seq_rng_below(&rng, 1000);
        rand_fill(&tc->sigs[i].sig, HS_SIG_LEN);
    }
}

static void seed_block(struct hs_block *b, size_t payload_len)
{
    memset(b, 0, sizeof *b);
    b->epoch = 1;
    b->round = seq_rng_below(&rng, 1000);
    b->height = seq_rng_below(&rng, 1000);
    rand_fill(&b->parent_id, sizeof b->parent_id);
    b->author = 2;
    seed_qc(&b->justify, 3);
    rand_fill(&b->payload_hash, sizeof b->payload_hash);
    b->payload = payload_len > 0 ? seed_payload : NULL;
    b->payload_len = payload_len;
}

static void write_seed(const char *dir,
                       const char *name,
                       int rv,
                       uint8_t *buf,
                       size_t len)
{
    char path[4096];
    FILE *f;

    if (rv != SEQ_OK) {
        fail("seed: encoding failed");
    }
    snprintf(path, sizeof path, "%s/seed-%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "fuzz_wire: cannot write %s\n", path);
        exit(1);
    }
    seq_free(buf);
}

static void write_msg_seed(const char *dir,
                           const char *name,
                           const struct hs_msg *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rv = wire_encode_msg(m, &buf, &len);

    write_seed(dir, name, rv, buf, len);
}

static void write_seeds(const char *dir)
{
    static struct hs_block blocks[2];
    static struct hs_msg m;
    struct hs_safety s;
    struct hs_vote vote;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rv;

    seq_rng_seed(&rng, 1);
    rand_fill(seed_payload, sizeof seed_payload);

    memset(&m, 0, sizeof m);
    m.type = HS_MSG_PROPOSAL;
    seed_block(&m.u.proposal.block, sizeof seed_payload);
    m.u.proposal.has_tc = true;
    seed_tc(&m.u.proposal.tc, 3);
    rand_fill(&m.u.proposal.sig, HS_SIG_LEN);
    write_msg_seed(dir, "proposal", &m);

    memset(&m, 0, sizeof m);
    m.type = HS_MSG_VOTE;
    m.u.vote.epoch = 1;
    m.u.vote.round = 7;
    m.u.vote.height = 5;
    rand_fill(&m.u.vote.block_id, SEQ_HASH_LEN);
    m.u.vote.voter = 3;
    rand_fill(&m.u.vote.sig, HS_SIG_LEN);
    write_msg_seed(dir, "vote", &m);
    vote = m.u.vote;

    memset(&m, 0, sizeof m);
    m.type = HS_MSG_TIMEOUT;
    m.u.timeout.epoch = 1;
    m.u.timeout.round = 9;
    m.u.timeout.author = 1;
    m.u.timeout.high_qc_round = 8;
    rand_fill(&m.u.timeout.sig, HS_SIG_LEN);
    seed_qc(&m.u.timeout.high_qc, 3);
    m.u.timeout.has_tc = true;
    seed_tc(&m.u.timeout.tc, 3);
    write_msg_seed(dir, "timeout", &m);

    memset(&m, 0, sizeof m);
    m.type = HS_MSG_BLOCK_REQUEST;
    rand_fill(&m.u.request.block_id, SEQ_HASH_LEN);
    m.u.request.known_height = 3;
    m.u.request.count = 4;
    write_msg_seed(dir, "block_request", &m);

    memset(&m, 0, sizeof m);
    m.type = HS_MSG_BLOCK_RESPONSE;
    seed_block(&blocks[0], 16);
    seed_block(&blocks[1], 0);
    m.u.response.blocks = blocks;
    m.u.response.n_blocks = 2;
    write_msg_seed(dir, "block_response", &m);

    rv = wire_encode_block(&blocks[0], &buf, &len);
    write_seed(dir, "block", rv, buf, len);
    rv = wire_encode_qc(&blocks[0].justify, &buf, &len);
    write_seed(dir, "qc", rv, buf, len);

    /* Full certificates: one copied signature away from too many. */
    memset(&m, 0, sizeof m);
    m.type = HS_MSG_TIMEOUT;
    m.u.timeout.author = HS_MAX_VALIDATORS - 1;
    seed_qc(&m.u.timeout.high_qc, HS_MAX_VALIDATORS);
    m.u.timeout.has_tc = true;
    seed_tc(&m.u.timeout.tc, HS_MAX_VALIDATORS);
    write_msg_seed(dir, "timeout_full", &m);
    rv = wire_encode_qc(&m.u.timeout.high_qc, &buf, &len);
    write_seed(dir, "qc_full", rv, buf, len);

    memset(&s, 0, sizeof s);
    s.epoch = 1;
    s.last_voted_round = 7;
    s.preferred_round = 5;
    s.one_chain_round = 6;
    s.highest_timeout_round = 4;
    s.has_last_vote = true;
    s.last_vote = vote;
    s.has_last_timeout = true;
    s.last_timeout_round = 4;
    s.last_timeout_hqc_round = 3;
    rand_fill(&s.last_timeout_sig, HS_SIG_LEN);
    rv = wire_encode_safety(&s, &buf, &len);
    write_seed(dir, "safety", rv, buf, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("SEQ_FUZZ_SEED_DIR");

    (void)argc;
    (void)argv;
    if (dir != NULL && dir[0] != '\0') {
        write_seeds(dir);
    }
    return 0;
}
