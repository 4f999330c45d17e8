/* Attacks on one replica by a Byzantine validator (or by bad luck), each
 * pinned as the property that defeats it. They came from a review that
 * drove the core through its public API with fake crypto; the fixes carry
 * the tags cited here: hs_core.c (F1)-(F6), hs_safety.c (R5), hs_votes.c.
 *
 * Every test plays the other validators by hand through core_world.h:
 * node 3 is usually the attacker, node 1 an honest replica that serves
 * blocks, and the replica under attack is driven with exact message
 * sequences and its own clock, so nothing here depends on timing. What a
 * replica holds is measured deterministically: blocks entering its tree
 * (each is persisted), certificates formed (hs_core_stats) and allocations
 * made while it handled the attack (seq_alloc_count), never RSS. */

#include <string.h>

#include "core_world.h"
#include "harness.h"
#include "hs_core.h"
#include "seq_alloc.h"
#include "seq_err.h"

#define ATTACKER 3
#define FLOOD    200 /* Junk messages per attack. */

/* Payload sizes for which a block response (HS_MAX_RESPONSE_PAYLOAD) holds
 * exactly two blocks, or only one. */
#define TWO_PER_RESPONSE ((size_t)HS_MAX_RESPONSE_PAYLOAD / 3 + 1)
#define ONE_PER_RESPONSE ((size_t)HS_MAX_RESPONSE_PAYLOAD / 2 + 1)

/* Deliver @msg to @node from @from and add the allocations the core made
 * for it to *allocs. */
static int feed(struct cw_node *node,
                uint64_t now,
                hs_node_t from,
                const struct hs_msg *msg,
                unsigned long *allocs)
{
    unsigned long before = seq_alloc_count();
    int rv = hs_core_on_message(node->core, now, from, msg);

    *allocs += seq_alloc_count() - before;
    return rv;
}

static hs_height_t last_known(const struct cw_node *node)
{
    const struct cw_sent *s = cw_io_last(&node->io, HS_MSG_BLOCK_REQUEST);

    ASSERT_TRUE(s != NULL);
    return s->msg.u.request.known_height;
}

/* (F1, F2) A lagging replica fetches from the peer that told it of a QC.
 * Before the fix, one block from the attacker, a child of the victim's tip
 * that nobody proposed but that carried a public QC, went into the tree and
 * raised the fetch cursor above the true chain; every honest answer after
 * that "did not connect" and catch-up never ended. Now an unasked peer is
 * not heard at all, the asked one cannot insert an uncertified block, and
 * a deadline retry starts again from the committed height elsewhere, so
 * even a certified fork the attacker steers the cursor up is forgotten. */
TEST(core_attacks, unasked_response_cannot_steer_catch_up)
{
    enum { CH = 100 };
    static struct cw_world w;
    struct cw_chain c;
    struct cw_recovery rs, rl;
    struct cw_node server, lag;
    struct hs_block junk, fork[2];
    struct hs_qc fork_qc;
    struct hs_msg m;
    const struct cw_sent *req;
    const struct hs_core_stats *st;
    unsigned persisted, ticks;
    uint64_t now = 0;

    cw_world_init(&w, "unasked");
    cw_chain_build(&c, &w, CH, 16);
    cw_recovery_init(&rs, &c, CH - 2, CH);
    cw_recovery_init(&rl, &c, 1, 2);
    cw_node_start(&server, &w, 1, &rs.rec, &c, now);
    cw_node_start(&lag, &w, 0, &rl.rec, NULL, now);
    st = hs_core_stats(lag.core);
    cw_io_clear(&lag.io);

    /* The attacker brings the (real) QC of block 100 and is asked. */
    cw_timeout(&w, ATTACKER, CH + 1, &c.qcs[CH], &m);
    ASSERT_OK(hs_core_on_message(lag.core, now, ATTACKER, &m));
    req = cw_io_last(&lag.io, HS_MSG_BLOCK_REQUEST);
    ASSERT_TRUE(req != NULL);
    ASSERT_EQ(req->to, ATTACKER);
    ASSERT_EQ(req->msg.u.request.known_height, 1u);
    cw_io_clear(&lag.io);
    persisted = lag.io.blocks_persisted;

    /* (F1) The junk block from node 2, which was not asked: not looked at. */
    cw_block(&w, &c.blocks[2], &c.qcs[2], 77, 2, 16, 0xEE, &junk);
    cw_response(&junk, 1, &m);
    ASSERT_ERR(hs_core_on_message(lag.core, now, 2, &m), SEQ_ESTALE);
    /* (F2) From the attacker, which was asked: the block is not the target
     * and nothing in the response certifies it, so it stays out. */
    hs_core_on_message(lag.core, now, ATTACKER, &m);
    ASSERT_EQ(lag.io.blocks_persisted, persisted);

    /* A certified fork (a block that got a QC, then lost out) does go in,
     * certified by the block above it: the attacker, still the peer asked,
     * has steered the fetch cursor up its fork as far as it can. */
    cw_block(&w, &c.blocks[2], &c.qcs[2], 50, cw_leader(50), 16, 0xF0,
             &fork[1]);
    cw_qc(&w, &fork[1], &fork_qc);
    cw_block(&w, &fork[1], &fork_qc, 51, cw_leader(51), 16, 0xF1, &fork[0]);
    cw_response(fork, 2, &m);
    ASSERT_OK(hs_core_on_message(lag.core, now, ATTACKER, &m));
    ASSERT_GE(last_known(&lag), 3u);
    ASSERT_EQ(cw_io_last(&lag.io, HS_MSG_BLOCK_REQUEST)->to, ATTACKER);

    /* The attacker now stays silent. (F1) Each deadline retry asks another
     * peer from the committed height; the honest server answers for nodes
     * 1 and 2, every answer connects, and catch-up completes. */
    for (ticks = 0; ticks < 20 && hs_core_catching_up(lag.core); ticks++) {
        now += 1001;
        cw_io_clear(&lag.io);
        ASSERT_OK(hs_core_on_tick(lag.core, now));
        ASSERT_EQ(last_known(&lag), hs_core_committed_height(lag.core));
        while ((req = cw_io_last(&lag.io, HS_MSG_BLOCK_REQUEST)) != NULL &&
               req->to != ATTACKER) {
            ASSERT_OK(cw_serve_fetch(&server, &lag, now));
        }
    }
    ASSERT_FALSE(hs_core_catching_up(lag.core));
    ASSERT_EQ(hs_core_committed_height(lag.core), CH - 1);
    ASSERT_EQ(hs_core_high_qc(lag.core)->round, CH);
    ASSERT_EQ(st->msgs_bad, 0u);

    hs_block_free(&junk);
    hs_block_free(&fork[0]);
    hs_block_free(&fork[1]);
    cw_node_stop(&lag);
    cw_node_stop(&server);
    cw_chain_free(&c);
}

/* Replica 0 has committed block 1 and holds 2 and 3 (it voted for 3);
 * replica 1 has the chain to 6. Replica 0 hears of QC(6) and catches up,
 * served by replica 1, with blocks of @payload_len bytes. Every answer
 * must move the fetch cursor and send the next request at once: no
 * deadline, no retry, however few blocks fit one response. */
static void catch_up_over_held(const char *name, size_t payload_len)
{
    static struct cw_world w;
    struct cw_chain c;
    struct cw_recovery rs, rl;
    struct cw_node server, lag;
    struct hs_msg m;
    hs_height_t known = 0;
    unsigned trips, retries = 0;
    uint64_t now = 0;

    cw_world_init(&w, name);
    cw_chain_build(&c, &w, 6, payload_len);
    cw_recovery_init(&rs, &c, 4, 6);
    cw_recovery_init(&rl, &c, 1, 2);
    cw_node_start(&server, &w, 1, &rs.rec, &c, now);
    cw_node_start(&lag, &w, 0, &rl.rec, NULL, now);
    cw_proposal(&w, &c.blocks[3], &m);
    ASSERT_OK(hs_core_on_message(lag.core, now, cw_leader(3), &m));
    ASSERT_EQ(hs_core_stats(lag.core)->votes_sent, 1u);
    cw_io_clear(&lag.io);
    cw_timeout(&w, 2, 7, &c.qcs[6], &m);
    ASSERT_OK(hs_core_on_message(lag.core, now, 2, &m));
    ASSERT_TRUE(hs_core_catching_up(lag.core));

    for (trips = 0; trips < 10 && hs_core_catching_up(lag.core); trips++) {
        if (cw_io_last(&lag.io, HS_MSG_BLOCK_REQUEST) == NULL) {
            /* Stalled: only a deadline retry asks again. */
            retries++;
            now += 1001;
            cw_io_clear(&lag.io);
            ASSERT_OK(hs_core_on_tick(lag.core, now));
        } else if (trips > 0) {
            ASSERT_GT(last_known(&lag), known);
        }
        known = last_known(&lag);
        ASSERT_OK(cw_serve_fetch(&server, &lag, now));
    }
    ASSERT_FALSE(hs_core_catching_up(lag.core));
    ASSERT_EQ(retries, 0u);
    ASSERT_EQ(hs_core_committed_height(lag.core), 5u);

    cw_node_stop(&lag);
    cw_node_stop(&server);
    cw_chain_free(&c);
}

/* (F3) Before the fix the cursor advanced only over blocks newly inserted:
 * when all the blocks that fit one response were ones the replica already
 * held, nothing went in, no request followed, and every retry asked for
 * the same blocks again, for ever. Two blocks fit a response here. */
TEST(core_attacks, catch_up_progresses_over_held_blocks)
{
    catch_up_over_held("held-2", TWO_PER_RESPONSE);
}

/* The same when blocks are so large that a response holds only one (a
 * payload above HS_MAX_RESPONSE_PAYLOAD / 2, which HS_MAX_PAYLOAD allows):
 * the reviewer's original case. The lone block of each response is neither
 * the target nor certified by a block above it in that response; only the
 * lowest block of the next response can certify it. */
TEST(core_attacks, catch_up_progresses_one_block_per_response)
{
    catch_up_over_held("held-1", ONE_PER_RESPONSE);
}

/* (F5) Before the fix, timeouts for any future round and votes for any
 * round and any block id each opened an aggregation slot, kept until the
 * replica reached that round: one validator could make a replica allocate
 * without bound. Now timeouts are aggregated for the current round only,
 * votes within [current - 1, current + 8], and a voter opens at most one
 * slot per round. Aggregation that should work still does. */
TEST(core_attacks, vote_and_timeout_slots_stay_bounded)
{
    static struct cw_world w;
    struct cw_node r;
    struct hs_msg m;
    struct seq_hash id;
    const struct hs_core_stats *st;
    unsigned long allocs = 0;
    uint64_t stale;
    uint32_t i;

    cw_world_init(&w, "slots");
    /* Replica 1 leads round 1 and collects the votes of rounds 4k. */
    cw_node_start(&r, &w, 1, NULL, NULL, 0);
    st = hs_core_stats(r.core);
    ASSERT_EQ(hs_core_round(r.core), 1u);

    /* Timeouts from the attacker for FLOOD future rounds. */
    stale = st->msgs_stale;
    for (i = 0; i < FLOOD; i++) {
        cw_timeout(&w, ATTACKER, 1000 + i, &w.genesis_qc, &m);
        ASSERT_ERR(feed(&r, 0, ATTACKER, &m, &allocs), SEQ_ESTALE);
    }
    ASSERT_EQ(st->msgs_stale - stale, FLOOD);
    ASSERT_EQ(allocs, 0u);
    ASSERT_EQ(hs_core_round(r.core), 1u);
    /* Timeouts for the current round still make a TC: f + 1 of them, and
     * the replica joins. */
    cw_timeout(&w, 0, 1, &w.genesis_qc, &m);
    ASSERT_OK(hs_core_on_message(r.core, 0, 0, &m));
    cw_timeout(&w, 2, 1, &w.genesis_qc, &m);
    ASSERT_OK(hs_core_on_message(r.core, 0, 2, &m));
    ASSERT_EQ(st->tcs_formed, 1u);
    ASSERT_EQ(hs_core_round(r.core), 2u);

    /* Votes from the attacker for rounds beyond the window (12, 16, ...). */
    for (i = 0; i < FLOOD; i++) {
        seq_sha256(&i, sizeof i, &id);
        cw_vote(&w, ATTACKER, 12 + 4 * (hs_round_t)i, &id, &m);
        ASSERT_ERR(feed(&r, 0, ATTACKER, &m, &allocs), SEQ_ESTALE);
    }
    ASSERT_EQ(allocs, 0u);

    /* Votes from the attacker for FLOOD block ids in round 8, inside the
     * window: the first opens a slot, the rest are equivocation. */
    for (i = 0; i < FLOOD; i++) {
        seq_sha256(&i, sizeof i, &id);
        cw_vote(&w, ATTACKER, 8, &id, &m);
        feed(&r, 0, ATTACKER, &m, &allocs);
    }
    ASSERT_LE(allocs, 1u);
    /* Nodes 0 and 2 vote for another block of round 8: the attacker's
     * vote for it would make a quorum, but it is its second vote in the
     * round and does not count. */
    i = FLOOD;
    seq_sha256(&i, sizeof i, &id);
    cw_vote(&w, 0, 8, &id, &m);
    ASSERT_OK(hs_core_on_message(r.core, 0, 0, &m));
    cw_vote(&w, 2, 8, &id, &m);
    ASSERT_OK(hs_core_on_message(r.core, 0, 2, &m));
    cw_vote(&w, ATTACKER, 8, &id, &m);
    hs_core_on_message(r.core, 0, ATTACKER, &m);
    ASSERT_EQ(st->qcs_formed, 0u);
    /* A first vote in round 4, inside the window, counts as ever: with
     * nodes 0 and 2, a QC forms and the replica moves to round 5. */
    cw_vote(&w, 0, 4, &id, &m);
    ASSERT_OK(hs_core_on_message(r.core, 0, 0, &m));
    cw_vote(&w, 2, 4, &id, &m);
    ASSERT_OK(hs_core_on_message(r.core, 0, 2, &m));
    cw_vote(&w, ATTACKER, 4, &id, &m);
    ASSERT_OK(hs_core_on_message(r.core, 0, ATTACKER, &m));
    ASSERT_EQ(st->qcs_formed, 1u);
    ASSERT_EQ(hs_core_round(r.core), 5u);

    cw_node_stop(&r);
}

/* (F2, F4) Before the fix, a proposal on a parent below the committed root
 * stayed stashed for good and kept a fetch going; while anything was
 * pending, any peer could push never-proposed blocks in with unasked block
 * responses; every stale proposal whose parent was present went into the
 * tree; and a leader's second block for its round did too. The tree, and
 * the store behind persist_block, grew with every junk message. */
TEST(core_attacks, junk_blocks_and_stale_stash_do_not_accumulate)
{
    static struct cw_world w;
    struct cw_chain c;
    struct cw_recovery rec;
    struct cw_node v;
    struct hs_block stale, b7, junk;
    struct hs_msg m;
    const struct hs_core_stats *st;
    unsigned long allocs = 0;
    unsigned persisted, i;
    uint64_t now = 10, fetches, votes;

    cw_world_init(&w, "junk");
    cw_chain_build(&c, &w, 6, 0);
    cw_recovery_init(&rec, &c, 4, 5);
    cw_node_start(&v, &w, 0, &rec.rec, NULL, 0);
    st = hs_core_stats(v.core);
    ASSERT_EQ(hs_core_round(v.core), 6u);

    /* Node 2 leads round 6 and first proposes on block 2, below the
     * victim's root: the proposal waits for a parent and a fetch starts. */
    cw_block(&w, &c.blocks[2], &c.qcs[2], 6, cw_leader(6), 0, 0, &stale);
    cw_proposal(&w, &stale, &m);
    ASSERT_ERR(hs_core_on_message(v.core, now, 2, &m), SEQ_EAGAIN);
    ASSERT_TRUE(hs_core_catching_up(v.core));
    /* Round 6 goes on with block 6, round 7 with block 7 carrying QC(6). */
    cw_proposal(&w, &c.blocks[6], &m);
    ASSERT_OK(hs_core_on_message(v.core, now, 2, &m));
    cw_block(&w, &c.blocks[6], &c.qcs[6], 7, cw_leader(7), 0, 0, &b7);
    cw_proposal(&w, &b7, &m);
    ASSERT_OK(hs_core_on_message(v.core, now, cw_leader(7), &m));
    ASSERT_EQ(hs_core_round(v.core), 7u);
    ASSERT_EQ(hs_core_committed_height(v.core), 5u);
    /* (F4) The round-6 stash is dropped, and its fetch with it. */
    ASSERT_FALSE(hs_core_catching_up(v.core));
    fetches = st->fetches_sent;
    for (i = 0; i < 50; i++) {
        now += 1000;
        ASSERT_OK(hs_core_on_tick(v.core, now));
        cw_io_clear(&v.io);
    }
    ASSERT_EQ(st->fetches_sent, fetches);

    persisted = v.io.blocks_persisted;
    votes = st->votes_sent;
    /* (F1) Unasked responses: blocks nobody proposed, children of block 6
     * carrying its public QC, 1 KiB each. Nothing is being fetched. */
    for (i = 0; i < FLOOD; i++) {
        cw_block(&w, &c.blocks[6], &c.qcs[6], 100 + i, 1, 1024, (uint8_t)i,
                 &junk);
        cw_response(&junk, 1, &m);
        ASSERT_ERR(feed(&v, now, 2, &m, &allocs), SEQ_ESTALE);
        hs_block_free(&junk);
    }
    /* (F2) Stale proposals: node 2 signs more blocks for its past round 6,
     * on block 5 (the root now). Nothing waits for them. */
    for (i = 0; i < FLOOD; i++) {
        cw_block(&w, &c.blocks[5], &c.qcs[5], 6, 2, 8, (uint8_t)i, &junk);
        cw_proposal(&w, &junk, &m);
        ASSERT_ERR(feed(&v, now, 2, &m, &allocs), SEQ_ESTALE);
        hs_block_free(&junk);
    }
    /* (F4) Equivocation: node 3 signs more blocks for the current round 7,
     * which already has block 7 in the tree. */
    for (i = 0; i < FLOOD; i++) {
        cw_block(&w, &c.blocks[6], &c.qcs[6], 7, cw_leader(7), 8, (uint8_t)i,
                 &junk);
        cw_proposal(&w, &junk, &m);
        ASSERT_ERR(feed(&v, now, cw_leader(7), &m, &allocs), SEQ_EBADMSG);
        hs_block_free(&junk);
    }
    ASSERT_EQ(st->equivocations, FLOOD);
    ASSERT_EQ(v.io.blocks_persisted, persisted);
    ASSERT_EQ(st->votes_sent, votes);
    ASSERT_EQ(allocs, 0u); /* Refusing costs nothing to hold. */

    hs_block_free(&stale);
    hs_block_free(&b7);
    cw_node_stop(&v);
    cw_chain_free(&c);
}

/* (R5, F4) Before the fix, a leader that crashed after proposing (and
 * voting) in round r resumed in round r and signed a second, different
 * proposal for it, with whatever its mempool held by then; a replica that
 * had not seen the first would vote for it. Now the safety rules refuse
 * to propose in a round at or below last_voted_round, and a replica that
 * holds a block of the round refuses a second one as equivocation. */
TEST(core_attacks, restarted_leader_cannot_repropose)
{
    static struct cw_world w;
    struct cw_node leader, peer;
    struct hs_block second;
    struct hs_msg first, m;
    const struct cw_sent *s;
    unsigned persisted;

    cw_world_init(&w, "repropose");
    cw_node_start(&leader, &w, 1, NULL, NULL, 0);
    s = cw_io_last(&leader.io, HS_MSG_PROPOSAL);
    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(s->msg.u.proposal.block.round, 1u);
    ASSERT_OK(hs_msg_copy(&first, &s->msg));
    ASSERT_EQ(leader.io.safety.last_voted_round, 1u);

    /* Crash and restart from what it persisted: back in round 1. */
    cw_io_clear(&leader.io);
    cw_node_restart(&leader, &w, 5000);
    ASSERT_EQ(hs_core_round(leader.core), 1u);
    ASSERT_EQ(hs_core_stats(leader.core)->proposals_sent, 0u);
    ASSERT_EQ(cw_io_count(&leader.io, HS_MSG_PROPOSAL), 0u);

    /* What it would have sent (forged here as node 1) reaches a replica
     * that holds the first: refused, neither stored nor voted for. */
    cw_node_start(&peer, &w, 3, NULL, NULL, 0);
    ASSERT_OK(hs_core_on_message(peer.core, 10, 1, &first));
    ASSERT_EQ(hs_core_stats(peer.core)->votes_sent, 1u);
    persisted = peer.io.blocks_persisted;
    cw_block(&w, &w.genesis, &w.genesis_qc, 1, 1, 8, 0x55, &second);
    cw_proposal(&w, &second, &m);
    ASSERT_ERR(hs_core_on_message(peer.core, 20, 1, &m), SEQ_EBADMSG);
    ASSERT_EQ(hs_core_stats(peer.core)->equivocations, 1u);
    ASSERT_EQ(hs_core_stats(peer.core)->votes_sent, 1u);
    ASSERT_EQ(peer.io.blocks_persisted, persisted);

    hs_block_free(&second);
    hs_msg_free(&first);
    cw_node_stop(&peer);
    cw_node_stop(&leader);
}

/* (F6) A replica timed out round 3 over QC(2), learnt from a peer without
 * its block, then crashed: QC(2) was never persisted (its block never
 * arrived), so after the restart its cached timeout (R4) said
 * high_qc_round 2 but carried the genesis QC, and every peer rejected it
 * as malformed. Now it is held back until a peer brings the QC again, and
 * the timeout that then goes out is one peers accept. */
TEST(core_attacks, timeout_over_lost_qc_is_held_back)
{
    static struct cw_world w;
    struct cw_chain c;
    struct cw_node r, peer;
    struct hs_msg m;
    const struct cw_sent *s;

    cw_world_init(&w, "lost-qc");
    cw_chain_build(&c, &w, 2, 0);
    cw_node_start(&r, &w, 0, NULL, NULL, 0);
    cw_timeout(&w, 2, 3, &c.qcs[2], &m);
    ASSERT_OK(hs_core_on_message(r.core, 10, 2, &m));
    ASSERT_EQ(hs_core_round(r.core), 3u);
    cw_io_clear(&r.io);
    ASSERT_OK(hs_core_on_tick(r.core, 5000));
    s = cw_io_last(&r.io, HS_MSG_TIMEOUT);
    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(s->msg.u.timeout.high_qc_round, 2u);
    ASSERT_FALSE(r.io.has_high_qc);

    cw_io_clear(&r.io);
    cw_node_restart(&r, &w, 6000);
    ASSERT_EQ(hs_core_round(r.core), 3u);
    ASSERT_OK(hs_core_on_tick(r.core, 20000));
    ASSERT_EQ(cw_io_count(&r.io, HS_MSG_TIMEOUT), 0u);
    ASSERT_EQ(hs_core_stats(r.core)->timeouts_sent, 0u);

    /* Node 2 times out round 3 too and brings QC(2) back: with f + 1
     * timeouts the replica joins, and now its timeout carries the QC. */
    ASSERT_OK(hs_core_on_message(r.core, 20010, 2, &m));
    s = cw_io_last(&r.io, HS_MSG_TIMEOUT);
    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(s->msg.u.timeout.round, 3u);
    ASSERT_GE(s->msg.u.timeout.high_qc.round, s->msg.u.timeout.high_qc_round);
    cw_node_start(&peer, &w, 1, NULL, NULL, 0);
    ASSERT_OK(hs_core_on_message(peer.core, 20020, 0, &s->msg));
    ASSERT_EQ(hs_core_stats(peer.core)->msgs_bad, 0u);

    cw_node_stop(&peer);
    cw_node_stop(&r);
    cw_chain_free(&c);
}

TEST_MAIN()
