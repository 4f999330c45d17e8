/* The HotStuff replica (hs_core.h): 2-chain HotStuff as in Jolteon
 * ("Jolteon and Ditto: Network-Adaptive Efficient Consensus with
 * Asynchronous Fallback", Gelashvili et al., 2022) and Aptos' DiemBFT v4
 * round manager, written as an event-driven state machine. Every input is a
 * call; every effect goes through struct hs_io; time is an argument.
 *
 ****************** NOTES ON THE DESIGN OF THE HOTSTUFF CORE ******************
 *
 * B "extends" A if A is an ancestor of B. A QC for B is 2f+1 valid votes for
 * B from distinct replicas; B.justify is the QC that B carries and it
 * certifies B's parent. Crash-proof state: struct hs_safety (hs_safety.c),
 * every block of the tree, the QCs that certify them, the highest QC and
 * the highest TC, all staged through hs_io in the turn they change.
 *
 * (S1) At most one vote per round, across restarts: the safety rules stage
 *      the new last_voted_round with persist_safety() before the vote is
 *      handed to send(), and the driver syncs before it flushes.
 * (S2) Vote for B only if B.justify is for round(B) - 1, or a TC for
 *      round(B) - 1 is attached and B.justify is at least as high as every
 *      high QC in it (hs_safety.c, R2).
 * (S3) The high QC only moves to a higher round; every QC and TC is
 *      verified against the validator set before it changes any state.
 * (S4) When a QC certifies B1 whose parent B0 has round(B0) + 1 ==
 *      round(B1) (the 2-chain rule), B0 and its uncommitted ancestors
 *      commit, in height order.
 * (S5) No two honest replicas commit different blocks at one height, and no
 *      commit is undone.
 *
 * S1-S4 are enforced here and re-checked by the simulator from each
 * replica's persisted state and messages; S5 is global and only
 * tests/sim/sim_check.c can see it.
 *
 * Other rules of the code:
 * - A block enters the tree only when its parent is there. A QC whose block
 *   is missing still advances the round (pacemaker progress is not a safety
 *   matter), is kept as pending_qc, and makes the replica fetch the chain.
 * - Block heights come from the tree, never from a QC's unsigned height.
 * - Peer-controlled input is checked and answered with a code and a
 *   counter; asserts are for our own bugs only.
 * - Proposing is deferred to the end of the input (propose_due), so a
 *   replica that leads consecutive rounds does not recurse.
 * - (P1) Idle pacing: with nothing to propose on an empty parent and
 *   grandparent, a leader waits up to idle_block_ms (or until the driver
 *   has payload) before proposing an empty block. Liveness only: the wait
 *   is below the round timeout, and safety never looks at payloads.
 *
 * Leader election (config.leader_reputation), after DiemBFT v4's leader
 * reputation. Under round-robin a crashed validator costs two timed-out
 * rounds in every n: its own, and the one before, whose votes go to it.
 * With n = 4 that halved the rounds that certify, and seqd, offered
 * 10,000 tx/s with one validator down, committed 3,780 (p50 17 s).
 * (L1) When a QC certifies block B whose parent P has round(P) + 1 ==
 *      round(B) (the QC that commits P), round(B) + 2 gets an elected
 *      leader. Active validators are those that signed B.justify (the QC
 *      for P) or, if P extends its parent directly too, P.justify. The
 *      round-robin leader leads if active; else an active validator that
 *      leads neither neighbouring round, rotating from one cycle of n
 *      rounds to the next. So with everyone voting it is round-robin: each
 *      validator leads one round in n, never two in a row (a pick over the
 *      active ones alone gave streaks whenever a slow validator dropped in
 *      and out of the QCs, and over 100 s at 25,000 tx/s the chain made a
 *      third fewer blocks). A validator that does not vote drops out within
 *      two certified rounds; one that votes again comes back once a QC
 *      carries its signature. Rounds without an elected leader (two
 *      rounds after a round that certified nothing) are round-robin.
 * (L2) The election reads only B and P, which B's id fixes, and not the
 *      QC at hand, whose signer set its aggregator chooses: every replica
 *      holding B and P elects the same leader. A round gets one leader,
 *      the first elected (safety allows one certified block per round, so
 *      there is only one, unless more than f replicas break the rules).
 * (L3) Election depends on blocks a lagging replica may lack. It then
 *      sees the round-robin leader where others see the elected one, so:
 *      a vote for a round whose next leader it has not elected is kept
 *      (the voters may know better); a proposal from another author whose
 *      parent it lacks is stashed while the parent is fetched, and
 *      checked again once it has arrived (the first such proposal of a
 *      round, so that nobody can displace it). A replica whose view still
 *      differs just does not vote in that round: liveness, never safety,
 *      which no rule here relies on.
 * (L4) Elected leaders are kept for HS_ELECTED_SLOTS rounds in a ring, and
 *      recomputed from the tree after a restart.
 ******************************************************************************/

#include "hs_core.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hs_pacemaker.h"
#include "hs_safety.h"
#include "hs_tree.h"
#include "hs_verify.h"
#include "hs_votes.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_rng.h"

#define HS_TRACE_LEN     192
#define HS_VOTE_WINDOW   8
#define HS_ELECTED_SLOTS 16

/* (L4) An elected leader; round 0 marks a free slot. */
struct elected {
    hs_round_t round;
    hs_node_t leader;
};

struct hs_core {
    struct hs_config config;
    struct hs_validator_set validators;
    hs_node_t *schedule; /* Owned copy of config.leader_schedule. */
    struct elected elected[HS_ELECTED_SLOTS]; /* By round % slots (L4). */
    struct hs_verifier verifier;
    struct hs_safety_rules safety;
    struct hs_io *io;
    const struct hs_crypto *crypto;
    struct seq_rng rng;
    struct hs_tree tree;
    struct hs_votes votes;
    struct hs_pacemaker pm;
    struct hs_block genesis;
    uint64_t now_ms; /* The current input's time. */

    struct hs_qc root_qc; /* Certifies the committed root. */
    struct hs_qc high_qc; /* Highest QC whose block is in the tree. */
    bool has_pending_qc;  /* A higher QC whose block we still lack. */
    struct hs_qc pending_qc;
    bool has_high_tc;
    struct hs_tc high_tc;

    /* A proposal waiting for its parent or its payload (owned block). */
    bool has_pending_proposal;
    struct hs_proposal pending;

    hs_round_t proposed_round;
    hs_round_t timed_out_round;
    bool propose_due;
    /* (P1) An idle leader's proposal for idle_round, held until
     * idle_until_ms or until the driver has payload. */
    bool propose_idle;
    hs_round_t idle_round;
    uint64_t idle_until_ms;

    /* At most one chain fetch at a time, towards fetch_id. */
    bool fetching;
    struct seq_hash fetch_id;
    hs_node_t fetch_peer;
    hs_height_t fetch_known; /* Highest height inserted by this fetch. */
    /* (F7) The topmost block of the last response, when it was not the
     * target: not certified yet, so held here (never persisted) until the
     * next response's lowest block carries a QC for it. */
    bool has_held;
    struct hs_block held;
    uint64_t fetch_deadline_ms;

    struct hs_core_stats stats;
};

static void trace(struct hs_core *core, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void trace(struct hs_core *core, int level, const char *fmt, ...)
{
    char text[HS_TRACE_LEN];
    va_list ap;

    if (core->io->trace == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    core->io->trace(core->io, level, text);
}

/* The elected leader of @round (L1), if there is one. */
static bool elected_leader(const struct hs_core *core,
                           hs_round_t round,
                           hs_node_t *out)
{
    const struct elected *e = &core->elected[round % HS_ELECTED_SLOTS];

    if (round == 0 || e->round != round) {
        return false;
    }
    *out = e->leader;
    return true;
}

hs_node_t hs_core_leader(const struct hs_core *core, hs_round_t round)
{
    hs_node_t leader;

    if (round < core->config.n_schedule) {
        return core->schedule[round];
    }
    if (elected_leader(core, round, &leader)) {
        return leader;
    }
    return (hs_node_t)(round % core->validators.n);
}

/* (L3) Whether this replica may yet elect a leader for @round: reputation
 * is on, the schedule does not fix it, and nothing was elected. */
static bool leader_open(const struct hs_core *core, hs_round_t round)
{
    hs_node_t leader;

    return core->config.leader_reputation && round >= core->config.n_schedule &&
           !elected_leader(core, round, &leader);
}

static uint64_t signers_of(const struct hs_qc *qc, uint32_t n)
{
    uint64_t set = 0;
    uint32_t i;

    for (i = 0; i < qc->n_sigs; i++) {
        if (qc->sigs[i].signer < n) {
            set |= 1ull << qc->sigs[i].signer;
        }
    }
    return set;
}

/* (L1) Round-robin, with an inactive validator's round given to an active
 * one that does not lead a round next to it (if there is one), rotating
 * over them from one cycle of n rounds to the next. */
static hs_node_t pick_active(hs_round_t round, uint32_t n, uint64_t active)
{
    uint64_t candidates, pick;
    uint32_t i;

    if (active >> (round % n) & 1) {
        return (hs_node_t)(round % n);
    }
    candidates = active & ~(1ull << ((round + n - 1) % n)) &
                 ~(1ull << ((round + 1) % n));
    if (candidates == 0) {
        candidates = active;
    }
    pick = round / n % (uint64_t)__builtin_popcountll(candidates);
    for (i = 0; i < n; i++) {
        if ((candidates >> i & 1) && pick-- == 0) {
            break;
        }
    }
    return (hs_node_t)i;
}

/* (L1) Elects the leader of round(@node) + 2 when @node, now certified,
 * extends its parent directly. */
static void elect(struct hs_core *core, const struct hs_tree_node *node)
{
    const struct hs_block *b = &node->block, *p;
    uint32_t n = core->validators.n;
    hs_round_t round = b->round + 2;
    struct elected *slot = &core->elected[round % HS_ELECTED_SLOTS];
    uint64_t active;

    if (!core->config.leader_reputation || node->parent == NULL ||
        round < core->config.n_schedule) {
        return;
    }
    p = &node->parent->block;
    if (p->round + 1 != b->round || slot->round >= round) {
        return; /* Not a direct extension, or elected already (L2). */
    }
    active = signers_of(&b->justify, n);
    if (p->justify.round + 1 == p->round) {
        active |= signers_of(&p->justify, n);
    }
    if (active == 0) {
        return; /* Genesis QCs only: round-robin. */
    }
    slot->round = round;
    slot->leader = pick_active(round, n, active);
    core->stats.leaders_elected++;
}

static hs_height_t committed_height(const struct hs_core *core)
{
    return hs_tree_root(&core->tree)->height;
}

/* The QC to carry in a timeout: the highest one verified, with or without
 * its block (a timeout needs only the certificate). */
static const struct hs_qc *best_qc(const struct hs_core *core)
{
    if (core->has_pending_qc && core->pending_qc.round > core->high_qc.round) {
        return &core->pending_qc;
    }
    return &core->high_qc;
}

static void arm_timer(struct hs_core *core)
{
    uint64_t deadline = core->pm.deadline_ms;

    if (core->fetching && core->fetch_deadline_ms < deadline) {
        deadline = core->fetch_deadline_ms;
    }
    if (core->propose_due) {
        deadline = core->now_ms;
    }
    if (core->propose_idle && core->idle_until_ms < deadline) {
        deadline = core->idle_until_ms;
    }
    core->io->set_timer(core->io, deadline);
}

static void advance(struct hs_core *core, hs_round_t round, bool by_timeout)
{
    if (!hs_pacemaker_advance(&core->pm, round, core->now_ms, by_timeout)) {
        return;
    }
    trace(core, 1, "enter round=%llu by=%s", (unsigned long long)round,
          by_timeout ? "tc" : "qc");
    /* Votes for round r go to the leader of r + 1, so keep r - 1. */
    hs_votes_prune(&core->votes, round > 0 ? round - 1 : 0);
    core->propose_due = true;
}

/* ---- Fetching missing blocks ------------------------------------------ */

static hs_node_t random_peer(struct hs_core *core)
{
    uint32_t n = core->validators.n;
    hs_node_t peer;

    if (n <= 1) {
        return core->config.self;
    }
    do {
        peer = (hs_node_t)seq_rng_below(&core->rng, n);
    } while (peer == core->config.self);
    return peer;
}

static void drop_held(struct hs_core *core)
{
    if (core->has_held) {
        hs_block_free(&core->held);
        core->has_held = false;
    }
}

static void send_fetch(struct hs_core *core)
{
    struct hs_msg msg;
    hs_height_t known = committed_height(core);

    if (core->fetch_known > known) {
        known = core->fetch_known;
    }
    memset(&msg, 0, sizeof msg);
    msg.type = HS_MSG_BLOCK_REQUEST;
    msg.u.request.block_id = core->fetch_id;
    msg.u.request.known_height = known;
    msg.u.request.count = HS_MAX_FETCH_BLOCKS;
    core->io->send(core->io, core->fetch_peer, &msg);
    core->stats.fetches_sent++;
    core->fetch_deadline_ms = core->now_ms + core->pm.base_ms;
}

static void start_fetch(struct hs_core *core,
                        const struct seq_hash *id,
                        hs_node_t hint)
{
    if (core->fetching && seq_hash_eq(&core->fetch_id, id)) {
        return;
    }
    core->fetching = true;
    core->fetch_id = *id;
    core->fetch_known = 0;
    drop_held(core);
    core->fetch_peer = hint;
    if (hint >= core->validators.n || hint == core->config.self) {
        core->fetch_peer = random_peer(core);
    }
    if (core->fetch_peer == core->config.self) {
        core->fetching = false; /* Alone: nobody to ask. */
        return;
    }
    send_fetch(core);
}

/* ---- Certificates and commits ------------------------------------------ */

/* The ancestor @k generations above @node (0 is @node itself). */
static struct hs_tree_node *ancestor(struct hs_tree_node *node, size_t k)
{
    while (k-- > 0) {
        node = node->parent;
    }
    return node;
}

/* How many blocks lie between @node and the root, @node included. */
static size_t depth(const struct hs_tree_node *node)
{
    size_t n = 0;

    for (; node->parent != NULL; node = node->parent) {
        n++;
    }
    return n;
}

/* Commit @b0, certified by @qc, and every uncommitted ancestor, lowest
 * first (S4). The chain is walked again for each block instead of being
 * collected, so a deep tree costs time but never an allocation that could
 * fail half way through a commit. */
static void commit_to(struct hs_core *core,
                      struct hs_tree_node *b0,
                      const struct hs_qc *qc,
                      const struct hs_tree_node *child,
                      const struct hs_qc *child_qc)
{
    size_t n = depth(b0), i;

    for (i = n; i-- > 0;) {
        struct hs_tree_node *node = ancestor(b0, i);
        const struct hs_qc *cert =
            i == 0 ? qc : &ancestor(b0, i - 1)->block.justify;
        core->io->commit(core->io, &node->block, cert);
        core->stats.blocks_committed++;
    }
    if (core->io->commit_cert != NULL) {
        core->io->commit_cert(core->io, &b0->block, &child->block, child_qc);
    }
    core->root_qc = *qc;
    core->root_qc.height = b0->block.height;
    trace(core, 1, "commit height=%llu round=%llu",
          (unsigned long long)b0->block.height,
          (unsigned long long)b0->block.round);
    hs_tree_prune(&core->tree, b0);
}

/* @qc (verified) certifies @node, which is in the tree. */
static void certify(struct hs_core *core,
                    struct hs_tree_node *node,
                    const struct hs_qc *qc)
{
    struct hs_tree_node *b0 = node->parent;
    struct hs_qc copy;
    bool is_high;

    elect(core, node);
    copy = *qc;
    copy.height = node->block.height;
    if (!node->certified) {
        node->certified = true;
        is_high = copy.round > core->high_qc.round;
        if (is_high) {
            core->high_qc = copy;
            core->propose_due = true;
        }
        core->io->persist_qc(core->io, &copy, is_high);
        hs_safety_observe_qc(&core->safety, copy.round,
                             b0 != NULL ? b0->block.round : 0);
    }
    if (core->has_pending_qc && core->pending_qc.round <= core->high_qc.round) {
        core->has_pending_qc = false;
    }
    /* The 2-chain commit rule (S4). */
    if (b0 != NULL && b0->parent != NULL &&
        b0->block.round + 1 == node->block.round) {
        commit_to(core, b0, &node->block.justify, node, &copy);
    }
}

/* A verified QC arrived (in a proposal, a timeout, a block, or formed
 * here); @from is who can serve its block. */
static void process_qc(struct hs_core *core,
                       const struct hs_qc *qc,
                       hs_node_t from)
{
    struct hs_tree_node *node;

    if (qc->round == 0) {
        return; /* The genesis QC: nothing new. */
    }
    advance(core, qc->round + 1, false);
    node = hs_tree_find(&core->tree, &qc->block_id);
    if (node != NULL) {
        certify(core, node, qc);
        return;
    }
    if (qc->round <= core->root_qc.round || qc->round <= core->high_qc.round) {
        return; /* Pruned, or older than what we can already extend. */
    }
    if (core->has_pending_qc && qc->round <= core->pending_qc.round) {
        return; /* Already after a higher one, whose chain includes it. */
    }
    core->pending_qc = *qc;
    core->has_pending_qc = true;
    start_fetch(core, &qc->block_id, from);
}

static void process_tc(struct hs_core *core, const struct hs_tc *tc)
{
    if (!core->has_high_tc || tc->round > core->high_tc.round) {
        core->high_tc = *tc;
        core->has_high_tc = true;
        core->io->persist_tc(core->io, tc);
    }
    advance(core, tc->round + 1, true);
}

/* ---- Voting ------------------------------------------------------------- */

static void handle_vote(struct hs_core *core, const struct hs_vote *vote)
{
    struct hs_qc qc;
    int rv;

    rv = hs_votes_add_vote(&core->votes, vote, &qc);
    if (rv == 1) {
        core->stats.qcs_formed++;
        trace(core, 1, "qc round=%llu", (unsigned long long)qc.round);
        process_qc(core, &qc, vote->voter);
    }
}

static void stash_proposal(struct hs_core *core,
                           const struct hs_proposal *p,
                           bool block_in_tree)
{
    if (core->has_pending_proposal) {
        if (core->pending.block.round > p->block.round) {
            return;
        }
        hs_block_free(&core->pending.block);
        core->has_pending_proposal = false;
    }
    core->pending = *p;
    if (block_in_tree) {
        /* Only the id is needed later; the tree holds the block. */
        core->pending.block.payload = NULL;
        core->pending.block.payload_len = 0;
    } else if (hs_block_copy(&core->pending.block, &p->block) != 0) {
        return; /* Out of memory: drop it; the round will time out. */
    }
    core->has_pending_proposal = true;
}

static int vote_for(struct hs_core *core,
                    const struct hs_proposal *p,
                    const struct hs_tree_node *node)
{
    const struct hs_tc *tc = p->has_tc ? &p->tc : NULL;
    struct hs_vote vote;
    struct hs_msg msg;
    hs_node_t next;
    int rv;

    if (core->config.follower) {
        return SEQ_OK;
    }
    if (core->io->check_payload != NULL) {
        rv = core->io->check_payload(core->io, &node->block);
        if (rv == SEQ_EAGAIN) {
            stash_proposal(core, p, true);
            return rv;
        }
        if (rv != 0) {
            return SEQ_EBADMSG;
        }
    }
    rv = hs_safety_vote(&core->safety, &node->block, tc, &vote);
    if (rv != 0) {
        core->stats.msgs_unsafe++;
        return rv;
    }
    core->stats.votes_sent++;
    next = hs_core_leader(core, vote.round + 1);
    if (next == core->config.self) {
        handle_vote(core, &vote);
        return SEQ_OK;
    }
    memset(&msg, 0, sizeof msg);
    msg.type = HS_MSG_VOTE;
    msg.u.vote = vote;
    core->io->send(core->io, next, &msg);
    return SEQ_OK;
}

/* Whether the tree already holds a block of @round (blocks of one round
 * all come from its one leader). */
static bool round_taken(const struct hs_core *core, hs_round_t round)
{
    size_t i;

    for (i = 0; i < core->tree.n; i++) {
        if (core->tree.nodes[i]->block.round == round) {
            return true;
        }
    }
    return false;
}

/* @p is verified and for the current round; insert its block and vote. */
static int accept_proposal(struct hs_core *core,
                           hs_node_t from,
                           struct hs_proposal *p)
{
    struct hs_tree_node *parent, *node;
    int rv;

    node = hs_tree_find(&core->tree, &p->block.id);
    if (node == NULL && round_taken(core, p->block.round)) {
        /* (F4) A second block from this round's leader: equivocation. The
         * first one stays; this one neither enters the tree nor gets a
         * vote (Aptos UnequivocalProposerElection). */
        core->stats.equivocations++;
        return SEQ_EBADMSG;
    }
    if (node == NULL) {
        parent = hs_tree_find(&core->tree, &p->block.parent_id);
        if (parent == NULL) {
            stash_proposal(core, p, false);
            start_fetch(core, &p->block.parent_id, from);
            return SEQ_EAGAIN;
        }
        p->block.justify.height = parent->block.height;
        rv = hs_tree_insert(&core->tree, &p->block, &node);
        if (rv == SEQ_EINVAL) {
            return SEQ_EBADMSG;
        }
        if (rv != 0) {
            return rv;
        }
        core->io->persist_block(core->io, &node->block);
    }
    return vote_for(core, p, node);
}

static hs_round_t current_round(const struct hs_core *core)
{
    return core->pm.round;
}

/* Shape and signature checks shared by proposals and fetched blocks; also
 * computes the block's id into @b->id. */
static int check_block(struct hs_core *core, struct hs_block *b)
{
    if (b->epoch != core->config.epoch) {
        return SEQ_ESTALE;
    }
    if (b->author >= core->validators.n || b->round == 0 ||
        b->round <= b->justify.round || b->height == 0 ||
        !seq_hash_eq(&b->parent_id, &b->justify.block_id) ||
        b->payload_len > HS_MAX_PAYLOAD) {
        return SEQ_EBADMSG;
    }
    hs_block_id(b, &core->config.chain_id, &b->id);
    return hs_verify_qc(&core->verifier, &b->justify);
}

static void retry_pending(struct hs_core *core, hs_node_t from);

/* Insert @b (verified: id, signature, justify QC) without voting, when its
 * parent is in the tree, and let anything waiting for it go on. */
static void keep_block(struct hs_core *core, hs_node_t from, struct hs_block *b)
{
    struct hs_tree_node *parent, *node;

    /* Only a block something waits for, hence certified (F2): the parent
     * of the stashed proposal (its justify) or the pending QC's block. */
    if (!(core->has_pending_proposal &&
          seq_hash_eq(&core->pending.block.parent_id, &b->id)) &&
        !(core->has_pending_qc &&
          seq_hash_eq(&core->pending_qc.block_id, &b->id))) {
        return;
    }
    if (hs_tree_find(&core->tree, &b->id) != NULL) {
        return;
    }
    parent = hs_tree_find(&core->tree, &b->parent_id);
    if (parent == NULL) {
        return;
    }
    b->justify.height = parent->block.height;
    if (hs_tree_insert(&core->tree, b, &node) != 0) {
        return;
    }
    core->io->persist_block(core->io, &node->block);
    retry_pending(core, from);
}

static int on_proposal(struct hs_core *core,
                       hs_node_t from,
                       const struct hs_proposal *msg)
{
    struct hs_proposal p = *msg; /* Shallow: the payload stays borrowed. */
    bool open;
    int rv;

    if (p.block.author != from) {
        return SEQ_EBADMSG;
    }
    /* (L3) A proposal from someone we do not see as the leader is still
     * worth its certificates when we may not have elected the leader
     * yet: they can bring the blocks the election needs. */
    open = leader_open(core, p.block.round);
    if (p.block.author != hs_core_leader(core, p.block.round) && !open) {
        return SEQ_EBADMSG;
    }
    rv = check_block(core, &p.block);
    if (rv != 0) {
        return rv;
    }
    rv = hs_verify_proposal(&core->verifier, &p);
    if (rv != 0) {
        return rv;
    }
    if (p.has_tc) {
        if (p.tc.round + 1 != p.block.round ||
            hs_verify_tc(&core->verifier, &p.tc) != 0) {
            return SEQ_EBADMSG;
        }
    }
    /* Certificates first: they may move us into the proposal's round. */
    process_qc(core, &p.block.justify, from);
    if (p.has_tc) {
        process_tc(core, &p.tc);
    }
    if (p.block.round < current_round(core)) {
        /* Too late to vote on, but a verified block that connects is
         * worth keeping: under reordering it is often exactly the parent
         * that a newer proposal or QC is waiting for. */
        keep_block(core, from, &p.block);
        return SEQ_ESTALE;
    }
    if (p.block.round > current_round(core)) {
        /* Its certificates do not lead to its round. */
        return SEQ_EBADMSG;
    }
    if (p.block.author != hs_core_leader(core, p.block.round)) {
        /* (L3) With its parent here, our election is as good as anyone's;
         * without it, wait for the parent, then check again
         * (retry_pending). */
        if (!open || hs_tree_find(&core->tree, &p.block.parent_id) != NULL) {
            return SEQ_EBADMSG;
        }
        if (core->has_pending_proposal &&
            core->pending.block.round >= p.block.round) {
            return SEQ_ESTALE;
        }
        stash_proposal(core, &p, false);
        start_fetch(core, &p.block.parent_id, from);
        return SEQ_EAGAIN;
    }
    return accept_proposal(core, from, &p);
}

/* (P1) Whether a leader with nothing to propose should wait before
 * proposing an empty block on @parent. Only when the parent and its
 * parent are empty too: a block with entries still gets the two
 * children that commit it (its child's QC travels in the grandchild) at
 * once, and an idle chain makes a block per idle_block_ms instead of one
 * per round trip, which is what executors, disks and CPUs pay for. */
static bool idle_wait(struct hs_core *core,
                      hs_round_t round,
                      const struct hs_tree_node *parent)
{
    const struct hs_tree_node *grand = parent->parent;

    if (core->config.idle_block_ms == 0 || core->io->has_payload == NULL ||
        parent->block.payload_len != 0 ||
        (grand != NULL && grand->block.payload_len != 0) ||
        core->io->has_payload(core->io)) {
        return false;
    }
    if (core->idle_round != round) {
        core->idle_round = round;
        core->idle_until_ms = core->now_ms + core->config.idle_block_ms;
    }
    if (core->now_ms >= core->idle_until_ms) {
        return false;
    }
    core->propose_idle = true;
    return true;
}

static void propose(struct hs_core *core)
{
    hs_round_t round = current_round(core);
    struct hs_tree_node *parent, *node;
    bool via_qc, via_tc;
    struct hs_msg msg;
    struct hs_proposal *p = &msg.u.proposal;
    int rv;

    core->propose_idle = false; /* idle_wait() sets it again if need be. */
    if (core->config.follower ||
        hs_core_leader(core, round) != core->config.self ||
        core->proposed_round >= round) {
        return;
    }
    via_qc = core->high_qc.round + 1 == round;
    via_tc = core->has_high_tc && core->high_tc.round + 1 == round &&
             core->high_qc.round >= hs_tc_high_qc_round(&core->high_tc);
    if (!via_qc && !via_tc) {
        return; /* Wait for the certificate's block, or time out. */
    }
    parent = hs_tree_find(&core->tree, &core->high_qc.block_id);
    if (parent != NULL && idle_wait(core, round, parent)) {
        return;
    }
    if (parent == NULL) {
        /* A commit pruned the high QC's block: only possible when more
         * than f replicas broke the rules (the mutation tests do). Do not
         * propose on it; stop trusting it. */
        trace(core, 3, "high qc round=%llu off the committed chain",
              (unsigned long long)core->high_qc.round);
        core->high_qc = core->root_qc;
        return;
    }

    memset(&msg, 0, sizeof msg);
    msg.type = HS_MSG_PROPOSAL;
    p->block.epoch = core->config.epoch;
    p->block.round = round;
    p->block.height = parent->block.height + 1;
    p->block.parent_id = parent->block.id;
    p->block.author = core->config.self;
    p->block.justify = core->high_qc;
    if (core->io->make_payload != NULL &&
        core->io->make_payload(core->io, &parent->block, &p->block.payload,
                               &p->block.payload_len, &p->block.ns_root) != 0) {
        seq_free(p->block.payload);
        p->block.payload = NULL;
        p->block.payload_len = 0;
        memset(&p->block.ns_root, 0, sizeof p->block.ns_root);
    }
    hs_block_seal(&p->block, &core->config.chain_id);
    if (!via_qc) {
        p->has_tc = true;
        p->tc = core->high_tc;
    }
    rv = hs_safety_propose(&core->safety, &p->block, &p->sig);
    if (rv == 0) {
        rv = hs_tree_insert(&core->tree, &p->block, &node);
    }
    if (rv != 0) {
        hs_block_free(&p->block);
        return;
    }
    core->proposed_round = round;
    core->io->persist_block(core->io, &node->block);
    core->stats.proposals_sent++;
    trace(core, 1, "propose round=%llu height=%llu", (unsigned long long)round,
          (unsigned long long)p->block.height);
    core->io->broadcast(core->io, &msg);
    vote_for(core, p, node);
    hs_block_free(&p->block);
}

/* ---- Timeouts ----------------------------------------------------------- */

static void handle_timeout(struct hs_core *core, const struct hs_timeout *t);

static void local_timeout(struct hs_core *core)
{
    hs_round_t round = current_round(core);
    const struct hs_tc *tc = NULL;
    struct hs_msg msg;
    struct hs_timeout *t = &msg.u.timeout;
    int rv;

    if (core->config.follower) {
        return;
    }
    if (core->has_high_tc && core->high_tc.round + 1 == round) {
        tc = &core->high_tc;
    }
    memset(&msg, 0, sizeof msg);
    msg.type = HS_MSG_TIMEOUT;
    rv = hs_safety_timeout(&core->safety, round, best_qc(core), tc, t);
    if (rv != 0) {
        core->stats.msgs_unsafe++;
        trace(core, 2, "timeout refused round=%llu rv=%d",
              (unsigned long long)round, rv);
        return;
    }
    t->high_qc = *best_qc(core);
    if (t->high_qc.round < t->high_qc_round) {
        /* (F6) A timeout signed before a restart, over a QC this replica
         * no longer holds: peers would reject it. Count it here only; a
         * peer's message will bring the QC back. */
        trace(core, 2, "timeout round=%llu held back: its QC is lost",
              (unsigned long long)round);
        handle_timeout(core, t);
        return;
    }
    if (tc != NULL) {
        t->has_tc = true;
        t->tc = *tc;
    }
    core->timed_out_round = round;
    core->stats.timeouts_sent++;
    trace(core, 1, "timeout round=%llu", (unsigned long long)round);
    core->io->broadcast(core->io, &msg);
    handle_timeout(core, t);
}

static void handle_timeout(struct hs_core *core, const struct hs_timeout *t)
{
    struct hs_tc tc;
    uint32_t count = 0;
    int rv;

    rv = hs_votes_add_timeout(&core->votes, t, &tc, &count);
    if (rv == 1) {
        core->stats.tcs_formed++;
        trace(core, 1, "tc round=%llu", (unsigned long long)tc.round);
        process_tc(core, &tc);
        return;
    }
    /* f+1 timeouts for our round mean at least one honest replica gave up
     * on it: join, so that a TC forms (Jolteon, Bracha-style). */
    if (rv == 0 && t->round == current_round(core) &&
        core->timed_out_round < t->round &&
        count > hs_faults(core->validators.n)) {
        local_timeout(core);
    }
}

static int on_timeout(struct hs_core *core,
                      hs_node_t from,
                      const struct hs_timeout *t)
{
    int rv;

    if (t->epoch != core->config.epoch) {
        return SEQ_ESTALE;
    }
    if (t->author != from || t->round == 0) {
        return SEQ_EBADMSG;
    }
    rv = hs_verify_timeout(&core->verifier, t);
    if (rv != 0) {
        return rv;
    }
    process_qc(core, &t->high_qc, from);
    if (t->has_tc) {
        process_tc(core, &t->tc);
    }
    /* (F5) Aggregate only the current round (after the certificates it
     * carried moved us): a peer cannot open slots for far-off rounds. */
    if (t->round != current_round(core)) {
        return SEQ_ESTALE;
    }
    handle_timeout(core, t);
    return SEQ_OK;
}

static int on_vote(struct hs_core *core,
                   hs_node_t from,
                   const struct hs_vote *vote)
{
    int rv;

    if (vote->epoch != core->config.epoch) {
        return SEQ_ESTALE;
    }
    if (vote->voter != from || vote->round == 0) {
        return SEQ_EBADMSG;
    }
    /* (F5) A bounded window: the round before ours (its votes make our
     * QC) up to HS_VOTE_WINDOW ahead (votes overtake a delayed proposal).
     * With one slot per voter and round (hs_votes.c), a peer can make us
     * hold at most HS_VOTE_WINDOW + 2 slots. Only votes that go to us:
     * we lead the next round, or we have not elected its leader yet
     * (L3). */
    if (vote->round + 1 < current_round(core) ||
        vote->round > current_round(core) + HS_VOTE_WINDOW ||
        (hs_core_leader(core, vote->round + 1) != core->config.self &&
         !leader_open(core, vote->round + 1))) {
        return SEQ_ESTALE;
    }
    rv = hs_verify_vote(&core->verifier, vote);
    if (rv != 0) {
        return rv;
    }
    handle_vote(core, vote);
    return SEQ_OK;
}

/* ---- Block sync --------------------------------------------------------- */

/* Whether the first @n blocks fit one response: their payloads add up to
 * at most HS_MAX_RESPONSE_PAYLOAD, or there is only one. */
static bool room_for(const struct hs_block *blocks, size_t n)
{
    size_t total = 0, i;

    for (i = 0; i < n; i++) {
        total += blocks[i].payload_len;
    }
    return n <= 1 || total <= HS_MAX_RESPONSE_PAYLOAD;
}

static void reverse(struct hs_block *blocks, size_t n)
{
    size_t i;

    for (i = 0; i < n / 2; i++) {
        struct hs_block tmp = blocks[i];
        blocks[i] = blocks[n - 1 - i];
        blocks[n - 1 - i] = tmp;
    }
}

static int on_block_request(struct hs_core *core,
                            hs_node_t from,
                            const struct hs_block_request *req)
{
    const struct hs_block *root = hs_tree_root(&core->tree);
    struct hs_tree_node *top;
    struct hs_block *blocks;
    struct hs_msg msg;
    size_t n_path = 0, count, n = 0, i;
    hs_height_t h, below_root = 0;
    int rv = SEQ_OK;

    if (req->count == 0 || req->count > HS_MAX_FETCH_BLOCKS ||
        from >= core->validators.n) {
        return SEQ_EBADMSG;
    }
    /* The chain to the requested block: its tree path above the root,
     * then the committed chain below (unique, so served by height). */
    top = hs_tree_find(&core->tree, &req->block_id);
    if (top != NULL && top->block.height > req->known_height) {
        /* Tree blocks at or below the asker's known height are skipped. */
        n_path = depth(top);
        if (req->known_height > root->height) {
            n_path -= (size_t)(req->known_height - root->height);
        }
    }
    if (root->height > req->known_height) {
        below_root = root->height - req->known_height; /* Root included. */
    }
    count = req->count;
    if (below_root + n_path < count) {
        count = (size_t)below_root + n_path;
    }
    if (count == 0) {
        return SEQ_ENOTFOUND;
    }
    blocks = seq_calloc(count, sizeof *blocks);
    if (blocks == NULL) {
        return SEQ_ENOMEM;
    }
    /* Lowest first, while the payloads fit one frame (at least one). */
    for (h = req->known_height + 1; n < count && h <= root->height; h++) {
        struct hs_block *out = &blocks[n];
        if (h == root->height) {
            rv = hs_block_copy(out, root);
        } else if (core->io->load_committed != NULL) {
            rv = core->io->load_committed(core->io, h, out);
        } else {
            rv = SEQ_ENOTFOUND;
        }
        if (rv != 0) {
            goto out;
        }
        n++;
        if (!room_for(blocks, n)) {
            n--;
            hs_block_free(&blocks[n]);
            goto send;
        }
    }
    for (i = n_path; n < count && i-- > 0;) {
        rv = hs_block_copy(&blocks[n], &ancestor(top, i)->block);
        if (rv != 0) {
            goto out;
        }
        n++;
        if (!room_for(blocks, n)) {
            n--;
            hs_block_free(&blocks[n]);
            break;
        }
    }
send:
    reverse(blocks, n); /* The wire order is descending height. */
    memset(&msg, 0, sizeof msg);
    msg.type = HS_MSG_BLOCK_RESPONSE;
    msg.u.response.n_blocks = (uint32_t)n;
    msg.u.response.blocks = blocks;
    core->io->send(core->io, from, &msg);

out:
    for (i = 0; i < n; i++) {
        hs_block_free(&blocks[i]);
    }
    seq_free(blocks);
    return rv;
}

static void retry_pending(struct hs_core *core, hs_node_t from)
{
    struct hs_tree_node *node;
    struct hs_proposal p;

    if (core->has_pending_qc) {
        node = hs_tree_find(&core->tree, &core->pending_qc.block_id);
        if (node != NULL) {
            struct hs_qc qc = core->pending_qc;
            core->has_pending_qc = false;
            certify(core, node, &qc);
        }
    }
    if (core->has_pending_proposal &&
        hs_tree_find(&core->tree, &core->pending.block.parent_id) != NULL) {
        p = core->pending;
        core->has_pending_proposal = false;
        /* The leader, elected now that the parent is here (L3). */
        if (p.block.round == current_round(core) &&
            p.block.author == hs_core_leader(core, p.block.round)) {
            accept_proposal(core, from, &p);
        }
        hs_block_free(&p.block);
    }
}

/* Check one fetched block (shape, id, payload hash, justify QC) into @b,
 * a shallow copy. */
static int check_fetched(struct hs_core *core, struct hs_block *b)
{
    struct seq_hash payload_hash;
    int rv;

    rv = check_block(core, b);
    if (rv != 0) {
        return rv == SEQ_ESTALE ? SEQ_EBADMSG : rv;
    }
    seq_sha256(b->payload, b->payload_len, &payload_hash);
    if (!seq_hash_eq(&payload_hash, &b->payload_hash)) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

/* Insert the held block (F7), now certified, if it still connects. */
static void insert_held(struct hs_core *core, hs_node_t from)
{
    struct hs_tree_node *parent, *node;

    if (hs_tree_find(&core->tree, &core->held.id) != NULL) {
        return;
    }
    parent = hs_tree_find(&core->tree, &core->held.parent_id);
    if (parent == NULL) {
        return;
    }
    core->held.justify.height = parent->block.height;
    if (hs_tree_insert(&core->tree, &core->held, &node) != 0) {
        return;
    }
    core->io->persist_block(core->io, &node->block);
    process_qc(core, &node->block.justify, from);
}

static int on_block_response(struct hs_core *core,
                             hs_node_t from,
                             const struct hs_block_response *resp)
{
    struct seq_hash ids[HS_MAX_FETCH_BLOCKS];
    struct hs_tree_node *node, *parent;
    struct hs_block b;
    bool progress = false;
    uint32_t n = resp->n_blocks, i;
    int rv;

    if (n == 0 || n > HS_MAX_FETCH_BLOCKS) {
        return SEQ_EBADMSG;
    }
    /* (F1) Only the answer to our outstanding request counts: an unasked
     * peer cannot push blocks in, nor move the fetch cursor. */
    if (!core->fetching || from != core->fetch_peer) {
        return SEQ_ESTALE;
    }
    /* Check all of it before anything changes: shape, ids, payloads, every
     * justify QC, and the parent links (descending heights). */
    for (i = 0; i < n; i++) {
        b = resp->blocks[i];
        rv = check_fetched(core, &b);
        if (rv != 0) {
            return rv;
        }
        ids[i] = b.id;
        if (i > 0 && !seq_hash_eq(&resp->blocks[i - 1].parent_id, &ids[i])) {
            return SEQ_EBADMSG;
        }
    }
    /* (F7) The held block is certified by this response's lowest block,
     * whose justify was verified above: it goes in first. */
    if (core->has_held) {
        if (seq_hash_eq(&resp->blocks[n - 1].parent_id, &core->held.id)) {
            insert_held(core, from);
        }
        drop_held(core);
    }
    /* Parents first. (F2) A block goes in only if certified: by the
     * verified justify of the block above it in this response, or, for the
     * topmost, by being the target whose QC (or proposal) we hold. */
    for (i = n; i-- > 0;) {
        b = resp->blocks[i];
        b.id = ids[i];
        if (hs_tree_find(&core->tree, &b.id) != NULL ||
            b.height <= committed_height(core)) {
            /* Already held: still progress along the chain (F3). */
            if (b.height > core->fetch_known) {
                core->fetch_known = b.height;
                progress = true;
            }
            continue;
        }
        parent = hs_tree_find(&core->tree, &b.parent_id);
        if (parent == NULL) {
            /* Not the chain we hold: a fork, or a lie. Forget the cursor;
             * the deadline retries with another peer. */
            core->fetch_known = 0;
            return SEQ_EBADMSG;
        }
        if (i == 0 && !seq_hash_eq(&ids[0], &core->fetch_id)) {
            /* (F7) Uncertified as yet: hold it for the next response. */
            if (hs_block_copy(&core->held, &b) == 0) {
                core->has_held = true;
                core->fetch_known = b.height;
                progress = true;
            }
            break;
        }
        b.justify.height = parent->block.height;
        rv = hs_tree_insert(&core->tree, &b, &node);
        if (rv != 0) {
            return rv == SEQ_EINVAL ? SEQ_EBADMSG : rv;
        }
        core->io->persist_block(core->io, &node->block);
        core->fetch_known = b.height;
        progress = true;
        /* Its justify certifies its parent: may commit (S4). */
        process_qc(core, &node->block.justify, from);
    }
    if (hs_tree_find(&core->tree, &core->fetch_id) != NULL) {
        core->fetching = false;
        drop_held(core);
    } else if (progress) {
        send_fetch(core); /* The rest of the chain, from the same peer. */
    }
    retry_pending(core, from);
    return SEQ_OK;
}

/* ---- Public interface --------------------------------------------------- */

/* End of every input: stop a fetch nobody needs any more (a higher QC
 * superseded it) or start the one still needed, run a deferred proposal,
 * then re-arm the timer. */
static void finish(struct hs_core *core)
{
    /* (F4) A stashed proposal is only worth keeping for the current round:
     * an old one would keep a fetch alive forever. */
    if (core->has_pending_proposal &&
        core->pending.block.round < current_round(core)) {
        hs_block_free(&core->pending.block);
        core->has_pending_proposal = false;
    }
    if (core->fetching && !core->has_pending_qc &&
        !core->has_pending_proposal) {
        core->fetching = false;
        drop_held(core);
    }
    /* A fetch that ended (its target arrived, or it was superseded) while a
     * higher QC's block is still missing: go after that block. */
    if (!core->fetching && core->has_pending_qc) {
        start_fetch(core, &core->pending_qc.block_id, core->validators.n);
    }
    if (core->propose_due || core->propose_idle) {
        core->propose_due = false;
        propose(core);
    }
    arm_timer(core);
}

static int recover_tree(struct hs_core *core, const struct hs_recovery *rec)
{
    const struct hs_block *root =
        rec->root != NULL ? rec->root : &core->genesis;
    struct hs_tree_node *node;
    struct seq_hash id;
    size_t i;
    int rv;

    hs_block_id(root, &core->config.chain_id, &id);
    if (!seq_hash_eq(&id, &root->id)) {
        return SEQ_ECORRUPT;
    }
    if (rec->root != NULL && rec->root_qc != NULL) {
        core->root_qc = *rec->root_qc;
    } else if (rec->root == NULL) {
        hs_genesis_qc(&core->genesis, &core->root_qc);
    } else {
        return SEQ_ECORRUPT;
    }
    if (!seq_hash_eq(&core->root_qc.block_id, &root->id)) {
        return SEQ_ECORRUPT;
    }
    core->root_qc.height = root->height;
    rv = hs_tree_init(&core->tree, root);
    if (rv != 0) {
        return rv;
    }
    core->tree.nodes[0]->certified = true; /* root_qc is durable already. */
    for (i = 0; i < rec->n_blocks; i++) {
        const struct hs_block *b = rec->blocks[i];
        hs_block_id(b, &core->config.chain_id, &id);
        if (!seq_hash_eq(&id, &b->id)) {
            return SEQ_ECORRUPT;
        }
        rv = hs_tree_insert(&core->tree, b, &node);
        if (rv == SEQ_ENOMEM) {
            return rv;
        }
        if (rv != 0) {
            return SEQ_ECORRUPT;
        }
        /* Its justify was verified before it was stored. */
        node->parent->certified = true;
    }
    core->high_qc = rec->high_qc != NULL ? *rec->high_qc : core->root_qc;
    node = hs_tree_find(&core->tree, &core->high_qc.block_id);
    if (node == NULL) {
        return SEQ_ECORRUPT;
    }
    node->certified = true;
    core->high_qc.height = node->block.height;
    if (rec->high_tc != NULL) {
        core->high_tc = *rec->high_tc;
        core->has_high_tc = true;
    }
    /* (L4) The elections that the certified blocks held. */
    for (i = 0; i < core->tree.n; i++) {
        if (core->tree.nodes[i]->certified) {
            elect(core, core->tree.nodes[i]);
        }
    }
    return SEQ_OK;
}

int hs_core_new(const struct hs_config *config,
                const struct hs_recovery *recovery,
                struct hs_io *io,
                const struct hs_crypto *signer,
                struct hs_core **out)
{
    static const struct hs_recovery fresh;
    const struct hs_recovery *rec = recovery != NULL ? recovery : &fresh;
    struct hs_core *core;
    int rv;

    if (config->validators == NULL || config->validators->n == 0 ||
        config->validators->n > HS_MAX_VALIDATORS ||
        (!config->follower && config->self >= config->validators->n)) {
        return SEQ_EINVAL;
    }
    core = seq_calloc(1, sizeof *core);
    if (core == NULL) {
        return SEQ_ENOMEM;
    }
    core->config = *config;
    core->validators = *config->validators;
    core->config.validators = &core->validators;
    if (core->config.base_timeout_ms == 0) {
        core->config.base_timeout_ms = 1000;
    }
    if (core->config.max_timeout_ms == 0) {
        /* Doubling must stop early: under round-robin, f dead leaders end
         * up to 2f rounds in a row by TC (their own and the ones whose
         * votes they should collect), and an uncapped back-off turns that
         * into minutes without a commit. Aptos caps at about 3x. */
        core->config.max_timeout_ms = 4 * core->config.base_timeout_ms;
    }
    if (config->n_schedule > 0) {
        size_t i;
        core->schedule = seq_calloc(config->n_schedule, sizeof *core->schedule);
        if (core->schedule == NULL) {
            rv = SEQ_ENOMEM;
            goto err_after_core;
        }
        for (i = 0; i < config->n_schedule; i++) {
            if (config->leader_schedule[i] >= core->validators.n) {
                rv = SEQ_EINVAL;
                goto err_after_schedule;
            }
            core->schedule[i] = config->leader_schedule[i];
        }
    }
    core->config.leader_schedule = core->schedule;
    core->io = io;
    core->crypto = signer;
    hs_genesis_block(&config->chain_id, config->epoch, &core->genesis);
    core->verifier.chain_id = config->chain_id;
    core->verifier.epoch = config->epoch;
    core->verifier.validators = &core->validators;
    core->verifier.crypto = signer;
    core->verifier.genesis_id = core->genesis.id;
    hs_safety_init(&core->safety, &rec->safety, config->self, &core->verifier,
                   signer, io);
    seq_rng_seed(&core->rng, config->seed);
    hs_votes_init(&core->votes, hs_quorum(core->validators.n));
    hs_pacemaker_init(&core->pm, core->config.base_timeout_ms,
                      core->config.max_timeout_ms);
    rv = recover_tree(core, rec);
    if (rv != 0) {
        goto err_after_tree;
    }
    *out = core;
    return SEQ_OK;

err_after_tree:
    hs_tree_close(&core->tree);
err_after_schedule:
    seq_free(core->schedule);
err_after_core:
    seq_free(core);
    return rv;
}

void hs_core_free(struct hs_core *core)
{
    if (core == NULL) {
        return;
    }
    if (core->has_pending_proposal) {
        hs_block_free(&core->pending.block);
    }
    drop_held(core);
    hs_votes_close(&core->votes);
    hs_tree_close(&core->tree);
    seq_free(core->schedule);
    seq_free(core);
}

int hs_core_start(struct hs_core *core, uint64_t now_ms)
{
    hs_round_t round = core->high_qc.round + 1;

    core->now_ms = now_ms;
    if (core->has_high_tc && core->high_tc.round + 1 > round) {
        round = core->high_tc.round + 1;
    }
    /* A restarted replica resumes in the round it last signed in: it may
     * not vote there again, but it may re-send its timeout (R4). */
    if (core->safety.state.last_voted_round > round) {
        round = core->safety.state.last_voted_round;
    }
    /* Stage the safety state once, so that a replica that stores blocks
     * before it ever signs (a follower, a node catching up) still finds a
     * safety record on restart: blocks without one mean corruption. */
    core->io->persist_safety(core->io, &core->safety.state);
    advance(core, round, false);
    finish(core);
    return SEQ_OK;
}

int hs_core_on_message(struct hs_core *core,
                       uint64_t now_ms,
                       hs_node_t from,
                       const struct hs_msg *msg)
{
    int rv;

    core->now_ms = now_ms;
    if (from >= core->validators.n) {
        rv = SEQ_EBADMSG;
    } else {
        switch (msg->type) {
        case HS_MSG_PROPOSAL:
            rv = on_proposal(core, from, &msg->u.proposal);
            break;
        case HS_MSG_VOTE:
            rv = on_vote(core, from, &msg->u.vote);
            break;
        case HS_MSG_TIMEOUT:
            rv = on_timeout(core, from, &msg->u.timeout);
            break;
        case HS_MSG_BLOCK_REQUEST:
            rv = on_block_request(core, from, &msg->u.request);
            break;
        case HS_MSG_BLOCK_RESPONSE:
            rv = on_block_response(core, from, &msg->u.response);
            break;
        default:
            rv = SEQ_EBADMSG;
            break;
        }
    }
    if (rv == SEQ_EBADMSG) {
        core->stats.msgs_bad++;
    } else if (rv == SEQ_ESTALE) {
        core->stats.msgs_stale++;
    }
    finish(core);
    return rv;
}

int hs_core_on_tick(struct hs_core *core, uint64_t now_ms)
{
    core->now_ms = now_ms;
    if (core->fetching && now_ms >= core->fetch_deadline_ms) {
        /* (F1) No answer in time: another peer, from our own committed
         * height, so that nothing one peer said steers the retry. */
        core->fetch_peer = random_peer(core);
        core->fetch_known = 0;
        drop_held(core);
        send_fetch(core);
    }
    if (now_ms >= core->pm.deadline_ms) {
        core->stats.local_timeouts++;
        local_timeout(core);
        hs_pacemaker_rearm(&core->pm, now_ms);
    }
    finish(core);
    return SEQ_OK;
}

int hs_core_on_payload_ready(struct hs_core *core, uint64_t now_ms)
{
    struct hs_tree_node *node;
    struct hs_proposal p;
    int rv = SEQ_OK;

    core->now_ms = now_ms;
    if (core->has_pending_proposal) {
        node = hs_tree_find(&core->tree, &core->pending.block.id);
        if (node != NULL && core->pending.block.round == current_round(core)) {
            p = core->pending;
            core->has_pending_proposal = false;
            rv = vote_for(core, &p, node);
            hs_block_free(&p.block);
        }
    }
    finish(core);
    return rv;
}

hs_round_t hs_core_round(const struct hs_core *core)
{
    return core->pm.round;
}

hs_height_t hs_core_committed_height(const struct hs_core *core)
{
    return committed_height(core);
}

const struct hs_block *hs_core_committed_tip(const struct hs_core *core)
{
    return hs_tree_root(&core->tree);
}

const struct hs_qc *hs_core_high_qc(const struct hs_core *core)
{
    return &core->high_qc;
}

bool hs_core_catching_up(const struct hs_core *core)
{
    return core->fetching || core->has_pending_qc;
}

const struct hs_core_stats *hs_core_stats(const struct hs_core *core)
{
    return &core->stats;
}

const struct hs_safety *hs_core_safety(const struct hs_core *core)
{
    return &core->safety.state;
}
