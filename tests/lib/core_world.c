/* Hand-driven replicas over fake crypto (core_world.h). */

#include "core_world.h"

#include <string.h>

#include "harness.h"
#include "hs_verify.h"
#include "seq_alloc.h"
#include "seq_err.h"

void cw_world_init(struct cw_world *w, const char *name)
{
    hs_node_t i;

    memset(w, 0, sizeof *w);
    seq_sha256(name, strlen(name), &w->chain_id);
    fake_validator_set(CW_N, &w->validators);
    for (i = 0; i < CW_N; i++) {
        fake_crypto_init(&w->keys[i], i);
    }
    hs_genesis_block(&w->chain_id, 0, &w->genesis);
    hs_genesis_qc(&w->genesis, &w->genesis_qc);
}

hs_node_t cw_leader(hs_round_t round)
{
    return (hs_node_t)(round % CW_N);
}

static void sign_as(const struct cw_world *w,
                    hs_node_t signer,
                    const struct seq_hash *digest,
                    struct hs_sig *sig)
{
    const struct hs_crypto *key = &w->keys[signer].base;

    ASSERT_OK(key->sign(key, digest, sig));
}

void cw_block(const struct cw_world *w,
              const struct hs_block *parent,
              const struct hs_qc *parent_qc,
              hs_round_t round,
              hs_node_t author,
              size_t payload_len,
              uint8_t fill,
              struct hs_block *out)
{
    memset(out, 0, sizeof *out);
    out->round = round;
    out->height = parent->height + 1;
    out->parent_id = parent->id;
    out->author = author;
    out->justify = *parent_qc;
    out->justify.height = parent->height;
    out->payload_len = payload_len;
    if (payload_len > 0) {
        out->payload = seq_malloc(payload_len);
        ASSERT_TRUE(out->payload != NULL);
        memset(out->payload, fill, payload_len);
    }
    hs_block_seal(out, &w->chain_id);
}

void cw_qc(const struct cw_world *w,
           const struct hs_block *b,
           struct hs_qc *out)
{
    struct seq_hash digest;
    hs_node_t i;

    memset(out, 0, sizeof *out);
    out->epoch = b->epoch;
    out->round = b->round;
    out->height = b->height;
    out->block_id = b->id;
    hs_vote_digest(&w->chain_id, b->epoch, b->round, &b->id, &digest);
    for (i = 0; i < 3; i++) {
        out->sigs[i].signer = i;
        sign_as(w, i, &digest, &out->sigs[i].sig);
    }
    out->n_sigs = 3;
}

void cw_proposal(const struct cw_world *w,
                 const struct hs_block *b,
                 struct hs_msg *out)
{
    struct seq_hash digest;

    memset(out, 0, sizeof *out);
    out->type = HS_MSG_PROPOSAL;
    out->u.proposal.block = *b;
    hs_proposal_digest(&w->chain_id, b->epoch, b->round, &b->id, &digest);
    sign_as(w, b->author, &digest, &out->u.proposal.sig);
}

void cw_timeout(const struct cw_world *w,
                hs_node_t author,
                hs_round_t round,
                const struct hs_qc *high_qc,
                struct hs_msg *out)
{
    struct hs_timeout *t = &out->u.timeout;
    struct seq_hash digest;

    memset(out, 0, sizeof *out);
    out->type = HS_MSG_TIMEOUT;
    t->round = round;
    t->author = author;
    t->high_qc_round = high_qc->round;
    t->high_qc = *high_qc;
    hs_timeout_digest(&w->chain_id, 0, round, high_qc->round, &digest);
    sign_as(w, author, &digest, &t->sig);
}

void cw_vote(const struct cw_world *w,
             hs_node_t voter,
             hs_round_t round,
             const struct seq_hash *block_id,
             struct hs_msg *out)
{
    struct hs_vote *v = &out->u.vote;
    struct seq_hash digest;

    memset(out, 0, sizeof *out);
    out->type = HS_MSG_VOTE;
    v->round = round;
    v->voter = voter;
    v->block_id = *block_id;
    hs_vote_digest(&w->chain_id, 0, round, block_id, &digest);
    sign_as(w, voter, &digest, &v->sig);
}

void cw_response(struct hs_block *blocks, uint32_t n, struct hs_msg *out)
{
    memset(out, 0, sizeof *out);
    out->type = HS_MSG_BLOCK_RESPONSE;
    out->u.response.n_blocks = n;
    out->u.response.blocks = blocks;
}

void cw_chain_build(struct cw_chain *c,
                    const struct cw_world *w,
                    size_t n,
                    size_t payload_len)
{
    size_t h;

    c->n = n;
    c->blocks = seq_calloc(n + 1, sizeof *c->blocks);
    c->qcs = seq_calloc(n + 1, sizeof *c->qcs);
    ASSERT_TRUE(c->blocks != NULL && c->qcs != NULL);
    c->blocks[0] = w->genesis;
    c->qcs[0] = w->genesis_qc;
    for (h = 1; h <= n; h++) {
        cw_block(w, &c->blocks[h - 1], &c->qcs[h - 1], h, cw_leader(h),
                 payload_len, (uint8_t)h, &c->blocks[h]);
        cw_qc(w, &c->blocks[h], &c->qcs[h]);
    }
}

void cw_chain_free(struct cw_chain *c)
{
    size_t h;

    for (h = 1; h <= c->n; h++) {
        hs_block_free(&c->blocks[h]);
    }
    seq_free(c->blocks);
    seq_free(c->qcs);
    memset(c, 0, sizeof *c);
}

void cw_recovery_init(struct cw_recovery *r,
                      const struct cw_chain *c,
                      hs_height_t root,
                      hs_height_t top)
{
    hs_height_t h;

    ASSERT_TRUE(root <= top && top <= c->n);
    ASSERT_LE(top - root, HS_MAX_FETCH_BLOCKS);
    memset(r, 0, sizeof *r);
    r->rec.root = &c->blocks[root];
    r->rec.root_qc = &c->qcs[root];
    for (h = root + 1; h <= top; h++) {
        r->above[h - root - 1] = &c->blocks[h];
    }
    r->rec.blocks = r->above;
    r->rec.n_blocks = (size_t)(top - root);
    r->rec.high_qc = &c->qcs[top];
    r->rec.safety.last_voted_round = c->blocks[top].round;
}

/* ---- The capturing io ---------------------------------------------------- */

static void capture(struct cw_io *t,
                    hs_node_t to,
                    bool broadcast,
                    const struct hs_msg *msg)
{
    struct cw_sent *s;

    if (t->n_sent == t->cap_sent) {
        size_t cap = t->cap_sent == 0 ? 16 : 2 * t->cap_sent;
        void *p = seq_realloc(t->sent, cap * sizeof *t->sent);
        ASSERT_TRUE(p != NULL);
        t->sent = p;
        t->cap_sent = cap;
    }
    s = &t->sent[t->n_sent];
    s->to = to;
    s->broadcast = broadcast;
    ASSERT_OK(hs_msg_copy(&s->msg, msg));
    t->n_sent++;
}

static void io_send(struct hs_io *io, hs_node_t to, const struct hs_msg *msg)
{
    capture(io->impl, to, false, msg);
}

static void io_broadcast(struct hs_io *io, const struct hs_msg *msg)
{
    capture(io->impl, 0, true, msg);
}

static void io_persist_safety(struct hs_io *io, const struct hs_safety *st)
{
    struct cw_io *t = io->impl;

    t->safety = *st;
}

static void io_persist_block(struct hs_io *io, const struct hs_block *b)
{
    struct cw_io *t = io->impl;

    (void)b;
    t->blocks_persisted++;
}

static void io_persist_qc(struct hs_io *io, const struct hs_qc *qc, bool high)
{
    struct cw_io *t = io->impl;

    if (high) {
        t->high_qc = *qc;
        t->has_high_qc = true;
    }
}

static void io_persist_tc(struct hs_io *io, const struct hs_tc *tc)
{
    struct cw_io *t = io->impl;

    t->high_tc = *tc;
    t->has_high_tc = true;
}

static void io_set_timer(struct hs_io *io, uint64_t deadline)
{
    (void)io;
    (void)deadline;
}

static void io_commit(struct hs_io *io,
                      const struct hs_block *b,
                      const struct hs_qc *qc)
{
    struct cw_io *t = io->impl;

    (void)b;
    (void)qc;
    t->commits++;
}

static int io_load_committed(struct hs_io *io,
                             hs_height_t height,
                             struct hs_block *out)
{
    struct cw_io *t = io->impl;

    if (t->store == NULL || height == 0 || height > t->store->n) {
        return SEQ_ENOTFOUND;
    }
    return hs_block_copy(out, &t->store->blocks[height]);
}

static int io_make_payload(struct hs_io *io,
                           const struct hs_block *parent,
                           uint8_t **payload,
                           size_t *len,
                           struct seq_hash *ns_root)
{
    struct cw_io *t = io->impl;

    (void)parent;
    memset(ns_root, 0, sizeof *ns_root);
    *payload = seq_calloc(1, 8);
    if (*payload == NULL) {
        return SEQ_ENOMEM;
    }
    (*payload)[0] = ++t->payload_counter;
    *len = 8;
    return SEQ_OK;
}

static void io_init(struct cw_io *t, const struct cw_chain *store)
{
    memset(t, 0, sizeof *t);
    t->store = store;
    t->io.impl = t;
    t->io.persist_safety = io_persist_safety;
    t->io.persist_block = io_persist_block;
    t->io.persist_qc = io_persist_qc;
    t->io.persist_tc = io_persist_tc;
    t->io.send = io_send;
    t->io.broadcast = io_broadcast;
    t->io.set_timer = io_set_timer;
    t->io.commit = io_commit;
    t->io.load_committed = io_load_committed;
    t->io.make_payload = io_make_payload;
}

void cw_io_clear(struct cw_io *t)
{
    size_t i;

    for (i = 0; i < t->n_sent; i++) {
        hs_msg_free(&t->sent[i].msg);
    }
    t->n_sent = 0;
}

const struct cw_sent *cw_io_last(const struct cw_io *t, enum hs_msg_type type)
{
    size_t i;

    for (i = t->n_sent; i-- > 0;) {
        if (t->sent[i].msg.type == type) {
            return &t->sent[i];
        }
    }
    return NULL;
}

size_t cw_io_count(const struct cw_io *t, enum hs_msg_type type)
{
    size_t i, n = 0;

    for (i = 0; i < t->n_sent; i++) {
        if (t->sent[i].msg.type == type) {
            n++;
        }
    }
    return n;
}

/* ---- Replicas ------------------------------------------------------------ */

static void node_open(struct cw_node *node,
                      const struct cw_world *w,
                      const struct hs_recovery *rec,
                      uint64_t now)
{
    struct hs_config config;

    memset(&config, 0, sizeof config);
    config.chain_id = w->chain_id;
    config.self = node->id;
    config.validators = &w->validators;
    config.base_timeout_ms = 1000;
    config.seed = test_seed();
    config.leader_reputation = w->reputation;
    node->core = NULL;
    ASSERT_OK(hs_core_new(&config, rec, &node->io.io, &w->keys[node->id].base,
                          &node->core));
    ASSERT_OK(hs_core_start(node->core, now));
}

void cw_node_start(struct cw_node *node,
                   const struct cw_world *w,
                   hs_node_t id,
                   const struct hs_recovery *rec,
                   const struct cw_chain *store,
                   uint64_t now)
{
    memset(node, 0, sizeof *node);
    node->id = id;
    io_init(&node->io, store);
    node_open(node, w, rec, now);
}

void cw_node_restart(struct cw_node *node,
                     const struct cw_world *w,
                     uint64_t now)
{
    struct hs_recovery rec;

    ASSERT_FALSE(node->io.has_high_qc);
    hs_core_free(node->core);
    memset(&rec, 0, sizeof rec);
    rec.safety = node->io.safety;
    rec.high_tc = node->io.has_high_tc ? &node->io.high_tc : NULL;
    node_open(node, w, &rec, now);
}

void cw_node_stop(struct cw_node *node)
{
    hs_core_free(node->core);
    node->core = NULL;
    cw_io_clear(&node->io);
    seq_free(node->io.sent);
    node->io.sent = NULL;
    node->io.cap_sent = 0;
}

int cw_serve_fetch(struct cw_node *server, struct cw_node *asker, uint64_t now)
{
    const struct cw_sent *s = cw_io_last(&asker->io, HS_MSG_BLOCK_REQUEST);
    struct hs_msg request;
    hs_node_t asked;
    int rv;

    if (s == NULL) {
        return SEQ_ENOTFOUND;
    }
    asked = s->to;
    request = s->msg; /* A request owns nothing: a struct copy will do. */
    cw_io_clear(&asker->io);
    cw_io_clear(&server->io);
    hs_core_on_message(server->core, now, asker->id, &request);
    s = cw_io_last(&server->io, HS_MSG_BLOCK_RESPONSE);
    if (s == NULL) {
        return SEQ_ENOTFOUND;
    }
    /* Delivered from the server's capture, which the asker cannot touch. */
    rv = hs_core_on_message(asker->core, now, asked, &s->msg);
    cw_io_clear(&server->io);
    return rv;
}
