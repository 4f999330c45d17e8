/* The simulator's engine: replicas, the event heap, the simulated network,
 * crashes, and sim_io, the in-memory hs_io that every replica's core talks
 * to. One event is one loop turn of one replica, in the order that carries
 * the safety argument (STYLE snippet 6): the core runs the event, the
 * replica's store syncs once, and only then does its outbox reach the
 * network -- after the checker (sim_check.c) has seen every message. All
 * randomness (latency, drops, duplicates, crashes, payloads, the cores'
 * seeds) comes from one xoshiro stream seeded by the config, and events
 * with equal times run in the order they were scheduled, so one seed
 * replays one run exactly; sim_trace_hash() is the proof.
 *
 * NOTES ON THE DESIGN
 * - A message is deep-copied once, when the core sends it, into a
 *   reference-counted struct sim_msg; every delivery of it (each recipient,
 *   each duplicate) shares that copy, which the cores only borrow.
 * - A timer is one heap event per set_timer() that survives the turn; a
 *   generation number per replica makes older ones (and any timer of a
 *   crashed core) stale, and stale events are skipped without counting.
 * - Random drops, duplicates and round partitions (Twins) are decided when a
 *   message is released; explicit partitions and dead receivers when it
 *   arrives, so that a cut also loses what is already in flight.
 * - A crash frees the core and tells store_mem to forget what was not
 *   synced. Between turns nothing is unsynced; a crash in the middle of a
 *   turn (after the core ran, before the sync) loses the turn's writes and
 *   messages, as a kill between persist and send would. */

#include "sim.h"

#include <stdarg.h>
#include <string.h>

#include "hs_crypto.h"
#include "hs_verify.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hex.h"
#include "sim_internal.h"
#include "store_mem.h"
#include "store_recover.h"

/* ------------------------------------------------------------------------
 * Event heap: a binary min-heap on (time, seq).
 */

static bool event_before(const struct sim_event *a, const struct sim_event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static int heap_push(struct sim *sim, struct sim_event *ev)
{
    size_t i;

    if (sim->n_heap == sim->cap_heap) {
        size_t cap = sim->cap_heap == 0 ? 1024 : sim->cap_heap * 2;
        struct sim_event *heap = seq_realloc(sim->heap, cap * sizeof *heap);

        if (heap == NULL) {
            sim_check_fail(&sim->chk, "simulator out of memory");
            return SEQ_ENOMEM;
        }
        sim->heap = heap;
        sim->cap_heap = cap;
    }
    if (ev->time < sim->now) {
        ev->time = sim->now;
    }
    ev->seq = sim->next_seq++;
    i = sim->n_heap++;
    while (i > 0 && event_before(ev, &sim->heap[(i - 1) / 2])) {
        sim->heap[i] = sim->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    sim->heap[i] = *ev;
    return SEQ_OK;
}

static void heap_pop(struct sim *sim, struct sim_event *out)
{
    struct sim_event last;
    size_t i = 0;

    *out = sim->heap[0];
    last = sim->heap[--sim->n_heap];
    for (;;) {
        size_t child = 2 * i + 1;

        if (child >= sim->n_heap) {
            break;
        }
        if (child + 1 < sim->n_heap &&
            event_before(&sim->heap[child + 1], &sim->heap[child])) {
            child++;
        }
        if (!event_before(&sim->heap[child], &last)) {
            break;
        }
        sim->heap[i] = sim->heap[child];
        i = child;
    }
    if (sim->n_heap > 0) {
        sim->heap[i] = last;
    }
}

/* The round a message belongs to, for partitions by round. */
static hs_round_t msg_round(const struct hs_msg *msg)
{
    switch (msg->type) {
    case HS_MSG_PROPOSAL:
        return msg->u.proposal.block.round;
    case HS_MSG_VOTE:
        return msg->u.vote.round;
    case HS_MSG_TIMEOUT:
        return msg->u.timeout.round;
    case HS_MSG_BLOCK_REQUEST:
    case HS_MSG_BLOCK_RESPONSE:
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The event ring and the trace hash.
 */

struct sim_rec *sim_rec_new(struct sim *sim, uint32_t kind)
{
    struct sim_rec *rec = &sim->ring[sim->n_recs++ % SIM_RING];

    memset(rec, 0, offsetof(struct sim_rec, text) + 1);
    rec->time = sim->now;
    rec->seq = sim->cur_seq;
    rec->kind = kind;
    return rec;
}

/* Enter a finished record into the trace hash, fields in a fixed order. */
void sim_rec_hash(struct sim *sim, const struct sim_rec *rec)
{
    uint8_t buf[8 * 4 + 4 * 5 + SEQ_HASH_LEN];
    uint64_t words[4] = { rec->time, rec->seq, rec->round, rec->height };
    uint32_t halves[5] = { rec->kind, rec->type, rec->from, rec->to,
                           (uint32_t)rec->rv };
    size_t off = 0;
    size_t i;
    int b;

    for (i = 0; i < 4; i++) {
        for (b = 7; b >= 0; b--) {
            buf[off++] = (uint8_t)(words[i] >> (8 * b));
        }
    }
    for (i = 0; i < 5; i++) {
        for (b = 3; b >= 0; b--) {
            buf[off++] = (uint8_t)(halves[i] >> (8 * b));
        }
    }
    memcpy(buf + off, rec->id.bytes, SEQ_HASH_LEN);
    seq_sha256_update(&sim->trace, buf, sizeof buf);
}

static void rec_msg(struct sim_rec *rec, const struct hs_msg *msg)
{
    rec->type = (uint32_t)msg->type;
    rec->round = msg_round(msg);
    switch (msg->type) {
    case HS_MSG_PROPOSAL:
        rec->height = msg->u.proposal.block.height;
        rec->id = msg->u.proposal.block.id;
        break;
    case HS_MSG_VOTE:
        rec->height = msg->u.vote.height;
        rec->id = msg->u.vote.block_id;
        break;
    case HS_MSG_TIMEOUT:
        rec->height = msg->u.timeout.high_qc_round;
        break;
    case HS_MSG_BLOCK_REQUEST:
        rec->height = msg->u.request.known_height;
        rec->id = msg->u.request.block_id;
        break;
    case HS_MSG_BLOCK_RESPONSE:
        rec->height = msg->u.response.n_blocks;
        break;
    }
}

/* ------------------------------------------------------------------------
 * The network.
 */

static bool cut_by_round(const struct sim *sim,
                         hs_round_t round,
                         uint32_t from,
                         uint32_t to)
{
    const uint32_t *groups;

    if (round >= sim->config.n_partition_rounds) {
        return false;
    }
    groups = &sim->round_partitions[round * sim->n_replicas];
    return groups[from] != groups[to];
}

static bool cut_now(const struct sim *sim, uint32_t from, uint32_t to)
{
    return from != SIM_NONE &&
           sim->replicas[from].group != sim->replicas[to].group;
}

static uint64_t draw_latency(struct sim *sim, uint32_t from, uint32_t to)
{
    struct sim_range range = sim->config.latency_ms;

    if (sim->links != NULL) {
        range = sim->links[from * sim->n_replicas + to];
    }
    return seq_rng_range(&sim->rng, range.min, range.max);
}

/* Put copies of @m from replica @from on the wire to replica @to. */
static void transmit(struct sim *sim,
                     uint32_t from,
                     uint32_t to,
                     struct sim_msg *m,
                     hs_round_t round)
{
    bool faulty = sim->config.gst_ms == 0 || sim->now < sim->config.gst_ms;
    unsigned copies = 1;
    unsigned i;

    if (cut_by_round(sim, round, from, to) ||
        (faulty && sim->drop_percent > 0 &&
         seq_rng_percent(&sim->rng, sim->drop_percent))) {
        sim->stats.dropped++;
        return;
    }
    if (faulty && sim->dup_percent > 0 &&
        seq_rng_percent(&sim->rng, sim->dup_percent)) {
        copies = 2;
        sim->stats.duplicated++;
    }
    for (i = 0; i < copies; i++) {
        struct sim_event ev = { 0 };

        ev.time = sim->now + draw_latency(sim, from, to);
        ev.kind = SIM_EV_DELIVER;
        ev.replica = to;
        ev.msg = m;
        if (heap_push(sim, &ev) != 0) {
            return;
        }
        m->refs++;
        sim->stats.sent++;
    }
}

static void route(struct sim *sim, struct sim_replica *r, struct sim_send *s)
{
    hs_round_t round = msg_round(&s->m->msg);
    uint32_t d;

    if (s->m->msg.type == HS_MSG_BLOCK_REQUEST ||
        s->m->msg.type == HS_MSG_BLOCK_RESPONSE) {
        round = hs_core_round(r->core);
    }
    if (s->broadcast) {
        for (d = 0; d < sim->n_replicas; d++) {
            if (d != r->index) {
                transmit(sim, r->index, d, s->m, round);
            }
        }
        return;
    }
    if (s->to < sim->n_nodes) {
        transmit(sim, r->index, s->to, s->m, round);
    } else {
        sim->stats.dropped++;
    }
    for (d = 0; d < sim->config.n_twins; d++) {
        if (sim->twin_of[d] == s->to) {
            transmit(sim, r->index, sim->n_nodes + d, s->m, round);
        }
    }
}

static void outbox_discard(struct sim *sim, struct sim_replica *r)
{
    size_t i;

    for (i = 0; i < r->n_out; i++) {
        sim_msg_unref(sim, r->out[i].m);
    }
    r->n_out = 0;
}

static void memo_note(struct sim *sim, const struct hs_block *block)
{
    struct sim_memo *m = &sim->memo[sim->n_memo++ % SIM_MEMO];

    m->block_id = block->id;
    m->justify = block->justify;
}

static const struct hs_qc *memo_find(const struct sim *sim,
                                     const struct seq_hash *block_id)
{
    size_t n = sim->n_memo < SIM_MEMO ? sim->n_memo : SIM_MEMO;
    size_t i;

    for (i = 0; i < n; i++) {
        if (seq_hash_eq(&sim->memo[i].block_id, block_id)) {
            return &sim->memo[i].justify;
        }
    }
    return NULL;
}

/* twins_fork: rewrite @p, a twin's proposal after a timeout, to extend a
 * certificate one or two below its justify, as a Byzantine leader holding
 * only its own key can. It keeps the TC, which admits it to its round, so
 * only the vote rule (justify round >= the TC's highest high QC round)
 * stands in its way; reaching two down lets it skip a block that some
 * replicas may already have committed. Proposals without a TC and forks of
 * unknown certificates are left alone: they would be refused as malformed
 * before any safety rule is asked. */
static void fork_proposal(struct sim *sim,
                          struct sim_replica *r,
                          struct hs_proposal *p)
{
    const struct hs_qc *below;
    struct seq_hash digest;

    if (!p->has_tc) {
        return;
    }
    below = memo_find(sim, &p->block.justify.block_id);
    if (below != NULL && below->round > 0 && seq_rng_percent(&sim->rng, 50)) {
        const struct hs_qc *deeper = memo_find(sim, &below->block_id);

        below = deeper != NULL ? deeper : below;
    }
    if (below == NULL) {
        return;
    }
    p->block.justify = *below;
    p->block.parent_id = below->block_id;
    p->block.height = below->height + 1;
    hs_block_seal(&p->block, &sim->core_config.chain_id);
    hs_proposal_digest(&sim->core_config.chain_id, p->block.epoch,
                       p->block.round, &p->block.id, &digest);
    if (r->crypto->sign(r->crypto, &digest, &p->sig) != 0) {
        sim_check_fail(&sim->chk, "replica %u: cannot sign a fork", r->index);
    }
    sim->stats.forks++;
}

/* Release the turn's messages: each passes the checker first (S1-S3). */
static void flush(struct sim *sim, struct sim_replica *r)
{
    struct hs_safety synced;
    bool loaded = false, have_synced = false;
    size_t i;

    for (i = 0; i < r->n_out && !sim->chk.failed; i++) {
        struct hs_msg *msg = &r->out[i].m->msg;

        if (msg->type == HS_MSG_PROPOSAL && sim->memo != NULL) {
            /* Only the outbox holds the copy yet: it may be rewritten. */
            if (r->index >= sim->n_nodes) {
                fork_proposal(sim, r, &msg->u.proposal);
            }
            memo_note(sim, &msg->u.proposal.block);
        }
        if (!loaded &&
            (msg->type == HS_MSG_VOTE || msg->type == HS_MSG_TIMEOUT)) {
            have_synced = store_mem_synced_safety(r->store, &synced) == 0;
            loaded = true;
        }
        if (!sim_check_outgoing(&sim->chk, r->index, r->node,
                                have_synced ? &synced : NULL, msg)) {
            break;
        }
        route(sim, r, &r->out[i]);
    }
    outbox_discard(sim, r);
}

/* ------------------------------------------------------------------------
 * Replicas: boot, crash, the end of a turn.
 */

static void schedule_restart(struct sim *sim, struct sim_replica *r)
{
    struct sim_event ev = { 0 };

    ev.time =
        sim->now + seq_rng_range(&sim->rng, sim->config.restart_delay_ms.min,
                                 sim->config.restart_delay_ms.max);
    ev.kind = SIM_EV_RESTART;
    ev.replica = r->index;
    ev.gen = r->restart_gen;
    (void)heap_push(sim, &ev);
}

static hs_height_t durable_height(struct sim_replica *r)
{
    hs_height_t h = 0;

    if (store_committed_height(r->store, &h) != 0) {
        h = 0;
    }
    return h;
}

/* Take @r down: its core and the turn's outbox are gone, its store keeps
 * what was synced, its pending timer and restart become stale. */
static void replica_down(struct sim *sim,
                         struct sim_replica *r,
                         uint32_t rec_kind,
                         int cause)
{
    struct sim_rec *rec;

    hs_core_free(r->core);
    r->core = NULL;
    outbox_discard(sim, r);
    store_mem_crash(r->store);
    r->alive = false;
    r->timer_dirty = false;
    r->timer_gen++;
    r->restart_gen++;
    r->io_rv = 0;
    r->committed = durable_height(r);
    sim->n_down++;
    sim->stats.crashes++;

    rec = sim_rec_new(sim, rec_kind);
    rec->to = r->index;
    rec->height = r->committed;
    rec->rv = cause;
    sim_rec_hash(sim, rec);
}

/* A random crash of chance @ppm per million, if few enough are down. */
static bool crash_now(struct sim *sim, uint32_t ppm)
{
    return ppm > 0 && sim->n_down < sim->max_down &&
           seq_rng_below(&sim->rng, 1000000) < ppm;
}

/* The end of a loop turn: maybe die before the sync, sync, release the
 * outbox through the checker, arm the timer the core asked for. */
static void turn_end(struct sim *sim, struct sim_replica *r, bool may_crash)
{
    int rv;

    if (sim->chk.failed) {
        return;
    }
    if (may_crash && crash_now(sim, sim->crash_mid_turn_ppm)) {
        replica_down(sim, r, SIM_REC_CRASH, SIM_CRASH_MID_TURN);
        schedule_restart(sim, r);
        return;
    }
    rv = store_sync(r->store);
    if (rv != 0) {
        /* DESIGN §3: a replica that cannot persist stops; never votes
         * from memory. */
        replica_down(sim, r, SIM_REC_STOP, rv);
        r->stopped = true;
        return;
    }
    flush(sim, r);
    if (r->timer_dirty && !sim->chk.failed) {
        struct sim_event ev = { 0 };

        r->timer_dirty = false;
        r->timer_gen++;
        ev.time = r->deadline;
        ev.kind = SIM_EV_TIMER;
        ev.replica = r->index;
        ev.gen = r->timer_gen;
        (void)heap_push(sim, &ev);
    }
}

static uint64_t core_seed(const struct sim *sim, const struct sim_replica *r)
{
    struct seq_rng rng;

    seq_rng_seed(
        &rng, sim->config.seed ^ ((uint64_t)(r->index + 1) << 40) ^ r->boots);
    return seq_rng_next(&rng);
}

/* Start or restart @r from its store, as seqd does. */
static void replica_boot(struct sim *sim, struct sim_replica *r)
{
    struct hs_config config = sim->core_config;
    struct store_recovery recovery;
    struct sim_rec *rec;
    int rv;

    memset(&recovery, 0, sizeof recovery);
    rv = store_recovery_load(r->store, &recovery);
    if (rv != 0) {
        sim_check_fail(&sim->chk, "replica %u: store_recovery_load: %s (%s)",
                       r->index, seq_strerror(rv), r->store->errmsg);
        return;
    }
    config.self = r->node;
    config.seed = core_seed(sim, r);
    rv = hs_core_new(&config, &recovery.rec, &r->io, r->crypto, &r->core);
    store_recovery_free(&recovery);
    if (rv != 0) {
        sim_check_fail(&sim->chk, "replica %u: hs_core_new on boot %u: %s",
                       r->index, r->boots, seq_strerror(rv));
        return;
    }
    r->boots++;
    r->alive = true;
    r->stopped = false;
    r->io_rv = 0;
    r->committed = durable_height(r);
    sim->n_down--;
    sim_check_started(&sim->chk, r->index, r->committed);

    rec = sim_rec_new(sim, SIM_REC_BOOT);
    rec->to = r->index;
    rec->height = r->committed;
    rv = hs_core_start(r->core, sim->now);
    rec->rv = rv;
    sim_rec_hash(sim, rec);
    if (r->boots > 1) {
        sim->stats.restarts++;
    }
    turn_end(sim, r, false);
}

/* ------------------------------------------------------------------------
 * Events.
 */

static void on_deliver(struct sim *sim, const struct sim_event *ev)
{
    struct sim_replica *r = &sim->replicas[ev->replica];
    struct sim_msg *m = ev->msg;
    struct sim_rec *rec;

    rec = sim_rec_new(sim, SIM_REC_DELIVER);
    rec->from = m->from == SIM_NONE ? m->from_node : m->from;
    rec->to = ev->replica;
    rec_msg(rec, &m->msg);
    if (!r->alive || cut_now(sim, m->from, ev->replica)) {
        rec->kind = SIM_REC_LOST;
        sim_rec_hash(sim, rec);
        sim->stats.dropped++;
        sim_msg_unref(sim, m);
        return;
    }
    rec->rv = hs_core_on_message(r->core, sim->now, m->from_node, &m->msg);
    sim_rec_hash(sim, rec);
    sim->stats.delivered++;
    sim_msg_unref(sim, m);
    turn_end(sim, r, true);
}

static void on_timer(struct sim *sim, const struct sim_event *ev)
{
    struct sim_replica *r = &sim->replicas[ev->replica];
    struct sim_rec *rec;

    rec = sim_rec_new(sim, SIM_REC_TIMER);
    rec->to = ev->replica;
    rec->round = hs_core_round(r->core);
    rec->rv = hs_core_on_tick(r->core, sim->now);
    sim_rec_hash(sim, rec);
    sim->stats.timers++;
    turn_end(sim, r, true);
}

static bool event_stale(const struct sim *sim, const struct sim_event *ev)
{
    const struct sim_replica *r = &sim->replicas[ev->replica];

    switch (ev->kind) {
    case SIM_EV_TIMER:
        return !r->alive || ev->gen != r->timer_gen;
    case SIM_EV_RESTART:
        return r->alive || r->stopped || ev->gen != r->restart_gen;
    default:
        return false;
    }
}

/* The time of the next live event, dropping stale ones on the way. */
static bool next_time(struct sim *sim, uint64_t *out)
{
    while (sim->n_heap > 0 && event_stale(sim, &sim->heap[0])) {
        struct sim_event ev;

        heap_pop(sim, &ev);
    }
    if (sim->n_heap == 0) {
        return false;
    }
    *out = sim->heap[0].time;
    return true;
}

static void crash_random(struct sim *sim)
{
    uint32_t start, i;

    if (!crash_now(sim, sim->crash_ppm)) {
        return;
    }
    start = (uint32_t)seq_rng_below(&sim->rng, sim->n_replicas);
    for (i = 0; i < sim->n_replicas; i++) {
        struct sim_replica *r = &sim->replicas[(start + i) % sim->n_replicas];

        if (r->alive) {
            replica_down(sim, r, SIM_REC_CRASH, SIM_CRASH_RANDOM);
            schedule_restart(sim, r);
            return;
        }
    }
}

bool sim_step(struct sim *sim)
{
    struct sim_event ev;
    uint64_t t;

    if (sim->chk.failed || !next_time(sim, &t)) {
        return false;
    }
    heap_pop(sim, &ev);
    sim->now = ev.time;
    sim->cur_seq = ev.seq;
    sim->stats.events++;
    switch (ev.kind) {
    case SIM_EV_DELIVER:
        on_deliver(sim, &ev);
        break;
    case SIM_EV_TIMER:
        on_timer(sim, &ev);
        break;
    case SIM_EV_RESTART:
        replica_boot(sim, &sim->replicas[ev.replica]);
        break;
    case SIM_EV_CALL: {
        struct sim_rec *rec = sim_rec_new(sim, SIM_REC_CALL);

        sim_rec_hash(sim, rec);
        ev.fn(sim, ev.arg);
        break;
    }
    default:
        break;
    }
    if (!sim->chk.failed) {
        crash_random(sim);
    }
    return !sim->chk.failed;
}

void sim_run_for(struct sim *sim, uint64_t ms)
{
    uint64_t end = sim->now + ms;
    uint64_t t;

    while (!sim->chk.failed && next_time(sim, &t) && t <= end) {
        sim_step(sim);
    }
    if (!sim->chk.failed && sim->now < end) {
        sim->now = end;
    }
}

bool sim_run_until(struct sim *sim,
                   bool (*pred)(struct sim *sim, void *arg),
                   void *arg,
                   uint64_t max_ms)
{
    uint64_t end = sim->now + max_ms;
    uint64_t t;

    if (sim->chk.failed) {
        return false;
    }
    if (pred(sim, arg)) {
        return true;
    }
    while (next_time(sim, &t) && t <= end) {
        if (!sim_step(sim)) {
            return false;
        }
        if (pred(sim, arg)) {
            return true;
        }
    }
    if (sim->now < end) {
        sim->now = end;
    }
    return pred(sim, arg);
}

void sim_schedule(struct sim *sim,
                  uint64_t at_ms,
                  void (*fn)(struct sim *sim, void *arg),
                  void *arg)
{
    struct sim_event ev = { 0 };

    ev.time = at_ms;
    ev.kind = SIM_EV_CALL;
    ev.fn = fn;
    ev.arg = arg;
    (void)heap_push(sim, &ev);
}

/* ------------------------------------------------------------------------
 * Creation and teardown.
 */

static bool config_valid(const struct sim_config *c)
{
    uint32_t i;

    if (c->n_nodes == 0 || c->n_nodes > HS_MAX_VALIDATORS ||
        c->n_twins > HS_MAX_VALIDATORS ||
        (c->n_twins > 0 && c->twin_of == NULL) ||
        c->latency_ms.min > c->latency_ms.max ||
        c->restart_delay_ms.min > c->restart_delay_ms.max ||
        (c->n_partition_rounds > 0 && c->round_partitions == NULL) ||
        (c->n_schedule > 0 && c->leader_schedule == NULL)) {
        return false;
    }
    for (i = 0; i < c->n_twins; i++) {
        if (c->twin_of[i] >= c->n_nodes) {
            return false;
        }
    }
    return true;
}

static void *copy_array(const void *src, size_t n, size_t size, bool *ok)
{
    void *dst;

    if (n == 0) {
        return NULL;
    }
    dst = seq_calloc(n, size);
    if (dst == NULL) {
        *ok = false;
        return NULL;
    }
    memcpy(dst, src, n * size);
    return dst;
}

static int config_copy(struct sim *sim, const struct sim_config *config)
{
    bool ok = true;

    sim->config = *config;
    sim->n_nodes = config->n_nodes;
    sim->n_replicas = config->n_nodes + config->n_twins;
    sim->twin_of =
        copy_array(config->twin_of, config->n_twins, sizeof *sim->twin_of, &ok);
    sim->round_partitions =
        copy_array(config->round_partitions,
                   (size_t)config->n_partition_rounds * sim->n_replicas,
                   sizeof *sim->round_partitions, &ok);
    sim->leader_schedule =
        copy_array(config->leader_schedule, config->n_schedule,
                   sizeof *sim->leader_schedule, &ok);
    sim->config.twin_of = sim->twin_of;
    sim->config.round_partitions = sim->round_partitions;
    sim->config.leader_schedule = sim->leader_schedule;
    if (sim->config.latency_ms.max == 0) {
        sim->config.latency_ms.min = 1;
        sim->config.latency_ms.max = 1;
    }
    if (sim->config.restart_delay_ms.max == 0) {
        sim->config.restart_delay_ms.min = 100;
        sim->config.restart_delay_ms.max = 2000;
    }
    sim->max_down = config->max_down;
    if (sim->max_down == 0) {
        sim->max_down = (config->n_nodes - 1) / 3;
        if (sim->max_down == 0) {
            sim->max_down = 1;
        }
    }
    sim->drop_percent = config->drop_percent;
    sim->dup_percent = config->dup_percent;
    sim->crash_mid_turn_ppm = config->crash_mid_turn_per_million;
    sim->crash_ppm = config->crash_per_million;
    if (config->twins_fork) {
        sim->memo = seq_calloc(SIM_MEMO, sizeof *sim->memo);
        ok = ok && sim->memo != NULL;
    }
    return ok ? SEQ_OK : SEQ_ENOMEM;
}

/* Keys: fake ones by default, secp256k1 derived from the seed otherwise.
 * A twin gets the key of the validator it copies. */
static int keys_init(struct sim *sim)
{
    const struct sim_config *c = &sim->config;
    uint32_t i;

    if (!c->real_crypto) {
        fake_validator_set(sim->n_nodes, &sim->validators);
        fake_crypto_init(&sim->verifier_fake, 0);
        for (i = 0; i < sim->n_replicas; i++) {
            struct sim_replica *r = &sim->replicas[i];

            fake_crypto_init(&r->fake, r->node);
            r->crypto = &r->fake.base;
        }
        return SEQ_OK;
    }
    if (test_secp_validator_set(c->seed, sim->n_nodes, &sim->validators) != 0 ||
        hs_crypto_secp_new(NULL, &sim->verifier_secp) != 0) {
        return SEQ_EINVAL;
    }
    for (i = 0; i < sim->n_replicas; i++) {
        struct sim_replica *r = &sim->replicas[i];
        uint8_t seckey[32];
        int rv;

        rv = test_secp_key(c->seed, r->node, seckey);
        if (rv == 0) {
            rv = hs_crypto_secp_new(seckey, &r->secp);
        }
        memset(seckey, 0, sizeof seckey);
        if (rv != 0) {
            return rv;
        }
        r->crypto = r->secp;
    }
    return SEQ_OK;
}

static int replicas_init(struct sim *sim)
{
    uint32_t i;

    sim->replicas = seq_calloc(sim->n_replicas, sizeof *sim->replicas);
    if (sim->replicas == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i < sim->n_replicas; i++) {
        struct sim_replica *r = &sim->replicas[i];

        r->sim = sim;
        r->index = i;
        r->node = i < sim->n_nodes ? i : sim->twin_of[i - sim->n_nodes];
        sim_io_init(r);
        if (store_mem_open(&r->store) != 0) {
            return SEQ_ENOMEM;
        }
    }
    sim->n_down = sim->n_replicas;
    return SEQ_OK;
}

static int checker_init(struct sim *sim)
{
    const struct hs_crypto *verifier =
        sim->config.real_crypto ? sim->verifier_secp : &sim->verifier_fake.base;
    struct hs_block genesis;
    struct seq_hash genesis_id;
    uint32_t i;
    int rv;

    hs_genesis_block(&sim->core_config.chain_id, SIM_EPOCH, &genesis);
    genesis_id = genesis.id;
    hs_block_free(&genesis);
    rv = sim_check_init(&sim->chk, &sim->core_config.chain_id, SIM_EPOCH,
                        &genesis_id, &sim->validators, verifier,
                        sim->n_replicas);
    if (rv != 0) {
        return rv;
    }
    sim->check_ready = true;
    for (i = 0; i < sim->config.n_twins; i++) {
        sim_check_set_byzantine(&sim->chk, sim->twin_of[i]);
    }
    return SEQ_OK;
}

struct sim *sim_new(const struct sim_config *config)
{
    struct sim *sim;
    uint32_t i;

    if (config == NULL || !config_valid(config)) {
        return NULL;
    }
    sim = seq_calloc(1, sizeof *sim);
    if (sim == NULL) {
        return NULL;
    }
    if (config_copy(sim, config) != 0 || replicas_init(sim) != 0 ||
        keys_init(sim) != 0) {
        goto err;
    }
    seq_sha256("seq-sim-chain", strlen("seq-sim-chain"),
               &sim->core_config.chain_id);
    sim->core_config.epoch = SIM_EPOCH;
    sim->core_config.validators = &sim->validators;
    sim->core_config.base_timeout_ms = config->base_timeout_ms;
    sim->core_config.idle_block_ms = config->idle_block_ms;
    sim->core_config.max_timeout_ms = config->max_timeout_ms;
    sim->core_config.leader_schedule = sim->leader_schedule;
    sim->core_config.n_schedule = config->n_schedule;
    sim->core_config.leader_reputation = !config->round_robin;
    if (checker_init(sim) != 0) {
        goto err;
    }
    seq_rng_seed(&sim->rng, config->seed);
    seq_sha256_init(&sim->trace);
    sim->next_seq = 1; /* Records with seq 0 come from sim_new itself. */
    for (i = 0; i < sim->n_replicas && !sim->chk.failed; i++) {
        replica_boot(sim, &sim->replicas[i]);
    }
    return sim;

err:
    sim_free(sim);
    return NULL;
}

void sim_free(struct sim *sim)
{
    struct sim_msg *m;
    uint32_t i;

    if (sim == NULL) {
        return;
    }
    while (sim->n_heap > 0) {
        struct sim_event ev;

        heap_pop(sim, &ev);
        if (ev.kind == SIM_EV_DELIVER) {
            sim_msg_unref(sim, ev.msg);
        }
    }
    for (i = 0; sim->replicas != NULL && i < sim->n_replicas; i++) {
        struct sim_replica *r = &sim->replicas[i];

        hs_core_free(r->core);
        outbox_discard(sim, r);
        seq_free(r->out);
        store_close(r->store);
        if (r->secp != NULL) {
            hs_crypto_secp_free(r->secp);
        }
    }
    while (sim->free_msgs != NULL) {
        m = sim->free_msgs;
        sim->free_msgs = m->next_free;
        seq_free(m);
    }
    if (sim->check_ready) {
        sim_check_close(&sim->chk);
    }
    if (sim->verifier_secp != NULL) {
        hs_crypto_secp_free(sim->verifier_secp);
    }
    seq_free(sim->heap);
    seq_free(sim->links);
    seq_free(sim->memo);
    seq_free(sim->replicas);
    seq_free(sim->leader_schedule);
    seq_free(sim->round_partitions);
    seq_free(sim->twin_of);
    seq_free(sim);
}

/* ------------------------------------------------------------------------
 * Faults.
 */

void sim_partition(struct sim *sim, const uint32_t *group_of_replica)
{
    uint32_t i;

    for (i = 0; i < sim->n_replicas; i++) {
        sim->replicas[i].group = group_of_replica[i];
    }
}

void sim_isolate(struct sim *sim, uint32_t replica)
{
    sim->replicas[replica].group = SIM_ISOLATED + replica;
}

void sim_heal(struct sim *sim)
{
    uint32_t i;

    /* Round partitions too: replicas stuck in a partitioned round would
     * otherwise stay cut off for good, since the cut follows the round. */
    sim->config.n_partition_rounds = 0;
    for (i = 0; i < sim->n_replicas; i++) {
        sim->replicas[i].group = 0;
    }
}

void sim_set_faults(struct sim *sim, unsigned drop_percent, unsigned dup_pct)
{
    sim->drop_percent = drop_percent;
    sim->dup_percent = dup_pct;
}

void sim_set_crash_rates(struct sim *sim,
                         uint32_t mid_turn_per_million,
                         uint32_t per_event_per_million)
{
    sim->crash_mid_turn_ppm = mid_turn_per_million;
    sim->crash_ppm = per_event_per_million;
}

void sim_set_link_latency(struct sim *sim,
                          uint32_t from_replica,
                          uint32_t to_replica,
                          struct sim_range latency_ms)
{
    size_t n = sim->n_replicas;
    size_t i;

    if (sim->links == NULL) {
        sim->links = seq_calloc(n * n, sizeof *sim->links);
        if (sim->links == NULL) {
            sim_check_fail(&sim->chk, "simulator out of memory");
            return;
        }
        for (i = 0; i < n * n; i++) {
            sim->links[i] = sim->config.latency_ms;
        }
    }
    if (latency_ms.min > latency_ms.max) {
        latency_ms.min = latency_ms.max;
    }
    sim->links[from_replica * n + to_replica] = latency_ms;
}

void sim_crash(struct sim *sim, uint32_t replica)
{
    struct sim_replica *r = &sim->replicas[replica];

    if (r->alive) {
        replica_down(sim, r, SIM_REC_CRASH, SIM_CRASH_API);
    }
}

void sim_restart(struct sim *sim, uint32_t replica)
{
    struct sim_replica *r = &sim->replicas[replica];

    if (!r->alive && !sim->chk.failed) {
        r->restart_gen++;
        replica_boot(sim, r);
    }
}

void sim_make_byzantine(struct sim *sim, hs_node_t node)
{
    sim_check_set_byzantine(&sim->chk, node);
}

void sim_inject(struct sim *sim,
                hs_node_t from_node,
                uint32_t to_replica,
                const struct hs_msg *msg,
                uint64_t delay_ms)
{
    struct sim_event ev = { 0 };

    ev.msg = sim_msg_new(sim, SIM_NONE, from_node, msg);
    if (ev.msg == NULL) {
        return;
    }
    ev.time = sim->now + delay_ms;
    ev.kind = SIM_EV_DELIVER;
    ev.replica = to_replica;
    if (heap_push(sim, &ev) != 0) {
        sim_msg_unref(sim, ev.msg);
    }
}

/* ------------------------------------------------------------------------
 * Queries.
 */

uint64_t sim_now(const struct sim *sim)
{
    return sim->now;
}

uint64_t sim_seed(const struct sim *sim)
{
    return sim->config.seed;
}

const struct seq_hash *sim_chain_id(const struct sim *sim)
{
    return &sim->core_config.chain_id;
}

hs_epoch_t sim_epoch(const struct sim *sim)
{
    return sim->core_config.epoch;
}

const struct hs_validator_set *sim_validators(const struct sim *sim)
{
    return &sim->validators;
}

uint64_t sim_events(const struct sim *sim)
{
    return sim->stats.events;
}

void sim_stats(const struct sim *sim, struct sim_stats *out)
{
    *out = sim->stats;
}

uint32_t sim_n_replicas(const struct sim *sim)
{
    return sim->n_replicas;
}

hs_node_t sim_replica_node(const struct sim *sim, uint32_t replica)
{
    return sim->replicas[replica].node;
}

bool sim_is_honest(const struct sim *sim, uint32_t replica)
{
    return sim_check_is_honest(&sim->chk, sim->replicas[replica].node);
}

bool sim_is_alive(const struct sim *sim, uint32_t replica)
{
    return sim->replicas[replica].alive;
}

struct hs_core *sim_core(struct sim *sim, uint32_t replica)
{
    return sim->replicas[replica].core;
}

struct store *sim_store(struct sim *sim, uint32_t replica)
{
    return sim->replicas[replica].store;
}

hs_height_t sim_committed_height(const struct sim *sim, uint32_t replica)
{
    return sim->replicas[replica].committed;
}

hs_height_t sim_min_honest_height(const struct sim *sim)
{
    hs_height_t min = 0;
    bool any = false;
    uint32_t i;

    for (i = 0; i < sim->n_replicas; i++) {
        const struct sim_replica *r = &sim->replicas[i];

        if (r->alive && sim_is_honest(sim, i) && (!any || r->committed < min)) {
            min = r->committed;
            any = true;
        }
    }
    return min;
}

hs_height_t sim_max_honest_height(const struct sim *sim)
{
    hs_height_t max = 0;
    uint32_t i;

    for (i = 0; i < sim->n_replicas; i++) {
        if (sim_is_honest(sim, i) && sim->replicas[i].committed > max) {
            max = sim->replicas[i].committed;
        }
    }
    return max;
}

uint64_t sim_max_round(const struct sim *sim)
{
    uint64_t max = 0;
    uint32_t i;

    for (i = 0; i < sim->n_replicas; i++) {
        const struct sim_replica *r = &sim->replicas[i];

        if (r->alive && hs_core_round(r->core) > max) {
            max = hs_core_round(r->core);
        }
    }
    return max;
}

uint32_t sim_max_qcs_per_round(const struct sim *sim)
{
    return sim->chk.max_qcs_per_round;
}

bool sim_committed_id(const struct sim *sim,
                      hs_height_t height,
                      struct seq_hash *out)
{
    return sim_check_committed_id(&sim->chk, height, out);
}

bool sim_all_agree(struct sim *sim, void *arg)
{
    hs_height_t height = 0;
    bool any = false;
    uint32_t i;

    (void)arg;
    for (i = 0; i < sim->n_replicas; i++) {
        const struct sim_replica *r = &sim->replicas[i];

        if (!r->alive || !sim_is_honest(sim, i)) {
            continue;
        }
        if (any && r->committed != height) {
            return false;
        }
        height = r->committed;
        any = true;
    }
    return any;
}

bool sim_heights_at_least(struct sim *sim, void *arg)
{
    const hs_height_t *target = arg;
    uint32_t i;

    for (i = 0; i < sim->n_replicas; i++) {
        const struct sim_replica *r = &sim->replicas[i];

        if (r->alive && sim_is_honest(sim, i) && r->committed < *target) {
            return false;
        }
    }
    return true;
}

const char *sim_failure(const struct sim *sim)
{
    return sim->chk.failed ? sim->chk.msg : NULL;
}

void sim_trace_hash(const struct sim *sim, struct seq_hash *out)
{
    struct seq_sha256_ctx ctx = sim->trace;

    seq_sha256_final(&ctx, out);
}

/* ------------------------------------------------------------------------
 * The failure dump.
 */

static const char *rec_kind_name(uint32_t kind)
{
    switch (kind) {
    case SIM_REC_DELIVER:
        return "deliver";
    case SIM_REC_LOST:
        return "lost";
    case SIM_REC_TIMER:
        return "timer";
    case SIM_REC_BOOT:
        return "boot";
    case SIM_REC_CRASH:
        return "crash";
    case SIM_REC_STOP:
        return "stop";
    case SIM_REC_COMMIT:
        return "commit";
    case SIM_REC_CALL:
        return "call";
    case SIM_REC_TRACE:
        return "trace";
    default:
        return "?";
    }
}

static void dump_rec(const struct sim_rec *rec, FILE *out)
{
    static const char *const causes[] = { "?", "api", "random", "mid-turn" };
    char id[17];

    seq_hex_encode(rec->id.bytes, 8, id);
    fprintf(out, "  t=%-8llu #%-8llu %-7s ", (unsigned long long)rec->time,
            (unsigned long long)rec->seq, rec_kind_name(rec->kind));
    switch (rec->kind) {
    case SIM_REC_DELIVER:
    case SIM_REC_LOST:
        fprintf(out, "%-14s r%u->r%u round=%llu h=%llu id=%s rv=%s\n",
                hs_msg_type_name((enum hs_msg_type)rec->type), rec->from,
                rec->to, (unsigned long long)rec->round,
                (unsigned long long)rec->height, id,
                rec->kind == SIM_REC_LOST ? "-" : seq_errname(rec->rv));
        break;
    case SIM_REC_TIMER:
        fprintf(out, "r%u round=%llu rv=%s\n", rec->to,
                (unsigned long long)rec->round, seq_errname(rec->rv));
        break;
    case SIM_REC_BOOT:
        fprintf(out, "r%u durable_height=%llu rv=%s\n", rec->to,
                (unsigned long long)rec->height, seq_errname(rec->rv));
        break;
    case SIM_REC_CRASH:
        fprintf(out, "r%u (%s) durable_height=%llu\n", rec->to,
                causes[rec->rv >= 1 && rec->rv <= 3 ? rec->rv : 0],
                (unsigned long long)rec->height);
        break;
    case SIM_REC_STOP:
        fprintf(out, "r%u sync failed: %s\n", rec->to, seq_errname(rec->rv));
        break;
    case SIM_REC_COMMIT:
        fprintf(out, "r%u height=%llu round=%llu id=%s author=%u\n", rec->to,
                (unsigned long long)rec->height, (unsigned long long)rec->round,
                id, rec->from);
        break;
    case SIM_REC_TRACE:
        fprintf(out, "r%u: %s\n", rec->to, rec->text);
        break;
    default:
        fprintf(out, "\n");
        break;
    }
}

void sim_dump(const struct sim *sim, FILE *out)
{
    size_t first = sim->n_recs > SIM_RING ? sim->n_recs - SIM_RING : 0;
    size_t i;

    fprintf(out,
            "=== simulator: seed %llu (replay: SEQ_TEST_SEED=%llu), "
            "virtual time %llu ms, %llu events\n",
            (unsigned long long)sim->config.seed,
            (unsigned long long)sim->config.seed, (unsigned long long)sim->now,
            (unsigned long long)sim->stats.events);
    fprintf(out, "=== failure: %s\n", sim->chk.failed ? sim->chk.msg : "none");
    for (i = 0; i < sim->n_replicas; i++) {
        const struct sim_replica *r = &sim->replicas[i];

        fprintf(out,
                "  replica %zu: key %u %s %s round=%llu committed=%llu "
                "boots=%u\n",
                i, r->node, sim_is_honest(sim, (uint32_t)i) ? "honest" : "byz",
                r->alive ? "up" : (r->stopped ? "stopped" : "down"),
                r->alive ? (unsigned long long)hs_core_round(r->core) : 0ULL,
                (unsigned long long)r->committed, r->boots);
    }
    fprintf(out, "=== last %zu events:\n", sim->n_recs - first);
    for (i = first; i < sim->n_recs; i++) {
        dump_rec(&sim->ring[i % SIM_RING], out);
    }
    fprintf(out, "=== end of dump (seed %llu)\n",
            (unsigned long long)sim->config.seed);
}
