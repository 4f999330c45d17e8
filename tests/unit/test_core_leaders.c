/* Reputation-based leaders (hs_core.c L1-L4), driven by hand through
 * core_world.h. Every certificate there is signed by validators 0, 1 and
 * 2, so validator 3 plays one that has crashed: it never signs, and must
 * never be elected, although round-robin gives it every fourth round.
 * Chains have round == height, so every block extends its parent directly
 * and every round from the third on gets an elected leader. */

#include <string.h>

#include "core_world.h"
#include "harness.h"
#include "hs_core.h"
#include "seq_err.h"

#define SILENT 3 /* Never signs a certificate of the world. */
#define BLOCKS 12

/* A world named @name with reputation on, its chain of BLOCKS blocks, and
 * replica 1 knowing all of it: committed up to 2, blocks 3..12 in its
 * tree, so it has elected the leaders of rounds 5..14. */
static void start_server(struct cw_node *s,
                         struct cw_world *w,
                         struct cw_chain *c,
                         const char *name)
{
    struct cw_recovery rec;

    cw_world_init(w, name);
    cw_chain_build(c, w, BLOCKS, 0);
    w->reputation = true;
    cw_recovery_init(&rec, c, 2, BLOCKS);
    cw_node_start(s, w, 1, &rec.rec, c, 0);
}

/* A round in [7, BLOCKS] whose elected leader is neither round-robin's
 * nor @not, as @s sees it; fails the test if there is none. */
static hs_round_t round_off_robin(const struct cw_node *s, hs_node_t not )
{
    hs_round_t r;

    for (r = 7; r <= BLOCKS; r++) {
        hs_node_t l = hs_core_leader(s->core, r);
        if (l != cw_leader(r) && l != not ) {
            return r;
        }
    }
    ASSERT_TRUE(!"no round whose elected leader differs from round-robin");
    return 0;
}

/* (L1, L2, L4) Replicas recovered from the chain elect the same leaders:
 * round-robin, but the silent validator, which signs none of the last QCs,
 * leads no round (round-robin gives it rounds 7 and 11). Without
 * reputation, round-robin. */
TEST(core_leaders, elected_from_signers_alike_everywhere)
{
    static struct cw_world w;
    struct cw_chain c;
    struct cw_recovery rec;
    struct cw_node a, b, rr;
    hs_round_t r;

    cw_world_init(&w, "leaders");
    cw_chain_build(&c, &w, BLOCKS, 0);
    w.reputation = true;
    cw_recovery_init(&rec, &c, 2, BLOCKS);
    cw_node_start(&a, &w, 0, &rec.rec, &c, 0);
    cw_recovery_init(&rec, &c, 6, BLOCKS);
    cw_node_start(&b, &w, 2, &rec.rec, &c, 0);
    w.reputation = false;
    cw_recovery_init(&rec, &c, 2, BLOCKS);
    cw_node_start(&rr, &w, 0, &rec.rec, &c, 0);

    /* Blocks 3..12 are certified in a's tree: rounds 5..14 elected. */
    ASSERT_EQ(hs_core_stats(a.core)->leaders_elected, 10u);
    for (r = 5; r <= BLOCKS + 2; r++) {
        hs_node_t l = hs_core_leader(a.core, r);
        /* Validator 3's rounds go to 1, which leads neither neighbour. */
        ASSERT_EQ(l, cw_leader(r) == SILENT ? 1 : cw_leader(r));
        if (r >= 9) { /* b's tree starts at block 7. */
            ASSERT_EQ(hs_core_leader(b.core, r), l);
        }
        ASSERT_EQ(hs_core_leader(rr.core, r), cw_leader(r));
    }
    ASSERT_EQ(hs_core_stats(rr.core)->leaders_elected, 0u);
    /* Not elected yet: round-robin. */
    ASSERT_EQ(hs_core_leader(a.core, BLOCKS + 3), cw_leader(BLOCKS + 3));

    cw_node_stop(&a);
    cw_node_stop(&b);
    cw_node_stop(&rr);
    cw_chain_free(&c);
}

/* (L1) A replica votes for the elected leader's proposal and sends the
 * vote to the next elected leader; the round-robin leader's proposal for
 * the same round, on the same parent, is refused. */
TEST(core_leaders, proposals_and_votes_follow_the_elected_leaders)
{
    static struct cw_world w;
    struct cw_chain c;
    struct cw_recovery rec;
    struct cw_node s, v;
    struct hs_block good, bad;
    struct hs_msg m;
    const struct cw_sent *vote;
    hs_round_t r;
    hs_node_t leader;

    start_server(&s, &w, &c, "leaders-vote");
    r = round_off_robin(&s, 0);
    leader = hs_core_leader(s.core, r);
    /* Replica 0 is at round r, with blocks up to r - 1. */
    cw_recovery_init(&rec, &c, r - 3, r - 1);
    cw_node_start(&v, &w, 0, &rec.rec, &c, 0);
    ASSERT_EQ(hs_core_round(v.core), r);
    ASSERT_EQ(hs_core_leader(v.core, r), leader);

    cw_block(&w, &c.blocks[r - 1], &c.qcs[r - 1], r, cw_leader(r), 0, 0, &bad);
    cw_proposal(&w, &bad, &m);
    ASSERT_ERR(hs_core_on_message(v.core, 5, cw_leader(r), &m), SEQ_EBADMSG);
    ASSERT_EQ(hs_core_stats(v.core)->votes_sent, 0u);

    cw_block(&w, &c.blocks[r - 1], &c.qcs[r - 1], r, leader, 0, 0, &good);
    cw_proposal(&w, &good, &m);
    ASSERT_OK(hs_core_on_message(v.core, 5, leader, &m));
    ASSERT_EQ(hs_core_stats(v.core)->votes_sent, 1u);
    vote = cw_io_last(&v.io, HS_MSG_VOTE);
    if (hs_core_leader(v.core, r + 1) == v.id) {
        ASSERT_TRUE(vote == NULL); /* Kept for the QC it aggregates. */
    } else {
        ASSERT_TRUE(vote != NULL);
        ASSERT_EQ(vote->to, hs_core_leader(v.core, r + 1));
    }
    ASSERT_EQ(hs_core_leader(v.core, r + 1), hs_core_leader(s.core, r + 1));

    hs_block_free(&good);
    hs_block_free(&bad);
    cw_node_stop(&v);
    cw_node_stop(&s);
    cw_chain_free(&c);
}

/* (L3) A replica that missed the blocks an election needs sees the
 * round-robin leader. The elected leader's proposal waits while the parent
 * is fetched, then gets a vote; another author's proposal waits too, and
 * is dropped once the election shows it is not the leader's. */
TEST(core_leaders, a_lagging_replica_elects_after_fetching_then_votes)
{
    static struct cw_world w;
    struct cw_chain c;
    struct cw_recovery rec;
    struct cw_node s, v;
    struct hs_block b;
    struct hs_msg m;
    hs_round_t r;
    hs_node_t leader, other;
    int pass;

    start_server(&s, &w, &c, "leaders-lag");
    r = round_off_robin(&s, SILENT);
    leader = hs_core_leader(s.core, r);
    for (other = 0; other == leader || other == cw_leader(r) || other == SILENT;
         other++) {
    }
    for (pass = 0; pass < 2; pass++) {
        hs_node_t author = pass == 0 ? leader : other;
        /* Replica 3 has blocks up to r - 4: it lacks r - 3 .. r - 1, and
         * with them the election of round r. */
        cw_recovery_init(&rec, &c, r - 6, r - 4);
        cw_node_start(&v, &w, SILENT, &rec.rec, NULL, 0);
        ASSERT_EQ(hs_core_leader(v.core, r), cw_leader(r));

        cw_block(&w, &c.blocks[r - 1], &c.qcs[r - 1], r, author, 0, 0, &b);
        cw_proposal(&w, &b, &m);
        ASSERT_ERR(hs_core_on_message(v.core, 5, author, &m), SEQ_EAGAIN);
        ASSERT_EQ(hs_core_round(v.core), r);
        ASSERT_TRUE(hs_core_catching_up(v.core));
        while (hs_core_catching_up(v.core)) {
            ASSERT_OK(cw_serve_fetch(&s, &v, 5));
        }
        ASSERT_EQ(hs_core_leader(v.core, r), leader);
        ASSERT_EQ(hs_core_stats(v.core)->votes_sent, pass == 0 ? 1u : 0u);
        hs_block_free(&b);
        cw_node_stop(&v);
    }
    cw_node_stop(&s);
    cw_chain_free(&c);
}

/* (L3) Votes can overtake the proposal that would tell their recipient
 * that it leads the next round. It keeps them while it has not elected
 * that leader, so the QC still forms; a replica that has elected someone
 * else refuses them. */
TEST(core_leaders, votes_reach_a_leader_that_has_not_elected_yet)
{
    static struct cw_world w;
    struct cw_chain c;
    struct cw_recovery rec;
    struct cw_node s, v, knows;
    struct hs_msg m;
    hs_round_t r;
    hs_node_t next, voter, other;
    uint32_t votes = 0;

    start_server(&s, &w, &c, "leaders-votes");
    /* Votes of round r - 1 go to the elected leader of r. */
    r = round_off_robin(&s, SILENT);
    next = hs_core_leader(s.core, r);
    /* It has blocks up to r - 3 (no election for r) and is in round
     * r - 2: the votes for block r - 1 are one round ahead. */
    cw_recovery_init(&rec, &c, r - 5, r - 3);
    cw_node_start(&v, &w, next, &rec.rec, NULL, 0);
    ASSERT_EQ(hs_core_round(v.core), r - 2);
    ASSERT_NE(hs_core_leader(v.core, r), next);
    for (voter = 0; voter < 3; voter++) {
        cw_vote(&w, voter, r - 1, &c.blocks[r - 1].id, &m);
        ASSERT_OK(hs_core_on_message(v.core, 5, voter, &m));
        votes++;
    }
    ASSERT_EQ(votes, 3u);
    ASSERT_EQ(hs_core_stats(v.core)->qcs_formed, 1u);
    ASSERT_EQ(hs_core_round(v.core), r);

    /* A replica that has elected the leader of r, and it is not itself,
     * refuses them. */
    other = next == 0 ? 2 : 0;
    cw_recovery_init(&rec, &c, r - 4, r - 2);
    cw_node_start(&knows, &w, other, &rec.rec, NULL, 0);
    ASSERT_EQ(hs_core_leader(knows.core, r), next);
    cw_vote(&w, 1, r - 1, &c.blocks[r - 1].id, &m);
    ASSERT_ERR(hs_core_on_message(knows.core, 5, 1, &m), SEQ_ESTALE);

    cw_node_stop(&knows);
    cw_node_stop(&v);
    cw_node_stop(&s);
    cw_chain_free(&c);
}

TEST_MAIN()
