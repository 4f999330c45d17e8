/* sim_io: the hs_io of one simulated replica, what hs_io.h calls
 * tests/sim/sim_io.c. Every persist_*() stages a write in the replica's
 * store_mem (made durable by the sync at the end of the turn, or lost by a
 * crash before it); send() and broadcast() deep-copy the message into the
 * replica's outbox, which sim.c releases only after that sync; set_timer()
 * is remembered and armed when the turn ends; commit() stages the commit
 * and reports it to the invariant checker (S3-S5) at once. Payloads come
 * from the simulator's PRNG, so they too replay from the seed. */

#include <stdio.h>
#include <string.h>

#include "seq_alloc.h"
#include "seq_err.h"
#include "sim_internal.h"

/* ------------------------------------------------------------------------
 * Messages: one deep copy per send, shared by every delivery.
 */

struct sim_msg *sim_msg_new(struct sim *sim,
                            uint32_t from,
                            hs_node_t from_node,
                            const struct hs_msg *src)
{
    struct sim_msg *m = sim->free_msgs;

    if (m != NULL) {
        sim->free_msgs = m->next_free;
    } else {
        m = seq_malloc(sizeof *m);
        if (m == NULL) {
            goto err;
        }
    }
    if (hs_msg_copy(&m->msg, src) != 0) {
        goto err_after_alloc;
    }
    m->next_free = NULL;
    m->refs = 1;
    m->from = from;
    m->from_node = from_node;
    return m;

err_after_alloc:
    m->next_free = sim->free_msgs;
    sim->free_msgs = m;
err:
    sim_check_fail(&sim->chk, "simulator out of memory");
    return NULL;
}

void sim_msg_unref(struct sim *sim, struct sim_msg *m)
{
    if (--m->refs > 0) {
        return;
    }
    hs_msg_free(&m->msg);
    m->next_free = sim->free_msgs;
    sim->free_msgs = m;
}

/* ------------------------------------------------------------------------
 * sim_io: the hs_io of one replica.
 */

static void io_note(struct sim_replica *r, int rv, const char *what)
{
    if (rv != 0 && r->io_rv == 0) {
        r->io_rv = rv;
        sim_check_fail(&r->sim->chk, "replica %u: %s failed: %s (%s)", r->index,
                       what, seq_strerror(rv), r->store->errmsg);
    }
}

static void io_persist_safety(struct hs_io *io, const struct hs_safety *state)
{
    struct sim_replica *r = io->impl;

    io_note(r, store_put_safety(r->store, state), "store_put_safety");
}

static void io_persist_block(struct hs_io *io, const struct hs_block *block)
{
    struct sim_replica *r = io->impl;

    io_note(r, store_put_block(r->store, block), "store_put_block");
}

static void io_persist_qc(struct hs_io *io, const struct hs_qc *qc, bool high)
{
    struct sim_replica *r = io->impl;

    io_note(r, store_put_qc(r->store, qc), "store_put_qc");
    if (high) {
        io_note(r, store_put_high_qc(r->store, qc), "store_put_high_qc");
    }
}

static void outbox_add(struct sim_replica *r,
                       bool broadcast,
                       hs_node_t to,
                       const struct hs_msg *msg)
{
    struct sim *sim = r->sim;
    struct sim_msg *m;

    if (r->n_out == r->cap_out) {
        size_t cap = r->cap_out == 0 ? 16 : r->cap_out * 2;
        struct sim_send *out = seq_realloc(r->out, cap * sizeof *out);

        if (out == NULL) {
            sim_check_fail(&sim->chk, "simulator out of memory");
            return;
        }
        r->out = out;
        r->cap_out = cap;
    }
    m = sim_msg_new(sim, r->index, r->node, msg);
    if (m == NULL) {
        return;
    }
    r->out[r->n_out].m = m;
    r->out[r->n_out].broadcast = broadcast;
    r->out[r->n_out].to = to;
    r->n_out++;
}

static void io_send(struct hs_io *io, hs_node_t to, const struct hs_msg *msg)
{
    outbox_add(io->impl, false, to, msg);
}

static void io_broadcast(struct hs_io *io, const struct hs_msg *msg)
{
    outbox_add(io->impl, true, 0, msg);
}

static void io_set_timer(struct hs_io *io, uint64_t deadline_ms)
{
    struct sim_replica *r = io->impl;

    r->deadline = deadline_ms;
    r->timer_dirty = true;
}

static void io_commit(struct hs_io *io,
                      const struct hs_block *block,
                      const struct hs_qc *qc)
{
    struct sim_replica *r = io->impl;
    struct sim *sim = r->sim;
    struct sim_rec *rec;

    io_note(r, store_put_commit(r->store, block->height, &block->id),
            "store_put_commit");
    io_note(r, store_put_block(r->store, block), "store_put_block");
    io_note(r, store_put_qc(r->store, qc), "store_put_qc");
    r->committed = block->height;
    sim->stats.commits++;

    rec = sim_rec_new(sim, SIM_REC_COMMIT);
    rec->from = block->author;
    rec->to = r->index;
    rec->round = block->round;
    rec->height = block->height;
    rec->id = block->id;
    sim_rec_hash(sim, rec);

    if (!sim_check_commit(&sim->chk, r->index, r->node, block, qc)) {
        return;
    }
    if (sim->config.on_commit != NULL) {
        sim->config.on_commit(sim->config.on_commit_arg, sim, r->index, block);
    }
}

static void io_commit_cert(struct hs_io *io,
                           const struct hs_block *b0,
                           const struct hs_block *child,
                           const struct hs_qc *child_qc)
{
    struct sim_replica *r = io->impl;

    r->sim->stats.commit_certs++;
    sim_check_commit_cert(&r->sim->chk, r->index, r->node, b0, child, child_qc);
}

static bool io_has_payload(struct hs_io *io)
{
    (void)io;
    return false; /* Only installed for idle chains. */
}

static void io_persist_tc(struct hs_io *io, const struct hs_tc *tc)
{
    struct sim_replica *r = io->impl;

    io_note(r, store_put_high_tc(r->store, tc), "store_put_high_tc");
}

/* Serve a committed block by height, from the store as seqd would. */
static int io_load_committed(struct hs_io *io,
                             hs_height_t height,
                             struct hs_block *out)
{
    struct sim_replica *r = io->impl;
    struct seq_hash id;
    int rv;

    rv = store_get_commit(r->store, height, &id);
    if (rv != 0) {
        return rv;
    }
    return store_get_block(r->store, &id, out);
}

/* A small payload that differs per author, height and draw, so that no
 * two blocks share an id by accident. */
static int io_make_payload(struct hs_io *io,
                           const struct hs_block *parent,
                           uint8_t **payload,
                           size_t *len,
                           struct seq_hash *ns_root)
{
    struct sim_replica *r = io->impl;
    struct sim *sim = r->sim;
    uint64_t height = parent->height + 1;
    size_t n = 12 + (size_t)seq_rng_below(&sim->rng, 21);
    uint8_t *p;
    size_t i;

    memset(ns_root, 0, sizeof *ns_root);
    if (sim->config.idle_block_ms > 0) {
        *payload = NULL;
        *len = 0;
        return SEQ_OK;
    }
    p = seq_malloc(n);
    if (p == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i < 4; i++) {
        p[i] = (uint8_t)(r->index >> (24 - 8 * i));
    }
    for (i = 0; i < 8; i++) {
        p[4 + i] = (uint8_t)(height >> (56 - 8 * i));
    }
    for (i = 12; i < n; i++) {
        p[i] = (uint8_t)seq_rng_next(&sim->rng);
    }
    *payload = p;
    *len = n;
    return SEQ_OK;
}

static void io_trace(struct hs_io *io, int level, const char *text)
{
    struct sim_replica *r = io->impl;
    struct sim_rec *rec;

    rec = sim_rec_new(r->sim, SIM_REC_TRACE);
    rec->to = r->index;
    rec->rv = level;
    snprintf(rec->text, sizeof rec->text, "%s", text);
}

void sim_io_init(struct sim_replica *r)
{
    memset(&r->io, 0, sizeof r->io);
    r->io.impl = r;
    r->io.persist_safety = io_persist_safety;
    r->io.persist_block = io_persist_block;
    r->io.persist_qc = io_persist_qc;
    r->io.persist_tc = io_persist_tc;
    r->io.send = io_send;
    r->io.broadcast = io_broadcast;
    r->io.set_timer = io_set_timer;
    r->io.commit = io_commit;
    r->io.commit_cert = io_commit_cert;
    if (r->sim->config.idle_block_ms > 0) {
        r->io.has_payload = io_has_payload;
    }
    r->io.load_committed = io_load_committed;
    r->io.make_payload = io_make_payload;
    r->io.check_payload = NULL;
    /* Without verbose the core need not even format its trace lines. */
    r->io.trace = r->sim->config.verbose ? io_trace : NULL;
}
