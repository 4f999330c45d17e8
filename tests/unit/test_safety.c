/* Safety rules as a table, in the spirit of Aptos' test_2chain_rules.
 *
 * The first table drives a real replica (validator 3 of 4) with proposals
 * over a fork tree, with and without TCs, signed by the other three
 * validators through the fake crypto, and checks per row: the return code,
 * whether a vote left, and which blocks committed (the 2-chain rule). The
 * second table drives the safety module directly for the timeout rules,
 * which a replica only exercises on its own timer. Every row that signs
 * also checks (S1): the state persisted before the call returned already
 * covers the signed round.
 *
 *   genesis - a1 - b1 - a2' - a3 - a4 - a5 - a6 - a7 - a8
 *               |\- b2 (needs TC(2)) - f8    \- a4x (same round as a4)
 *                \- a2 (refused: TC(3) holds a QC above a2's justify)
 */

#include <string.h>

#include "fake_crypto.h"
#include "harness.h"
#include "hs_core.h"
#include "hs_safety.h"
#include "hs_verify.h"
#include "seq_err.h"

#define N           4
#define SELF        3
#define MAX_COMMITS 32

struct table_io {
    struct hs_io io;
    struct hs_safety persisted;
    unsigned persists;
    unsigned votes_sent;
    struct hs_vote last_vote;
    struct seq_hash commits[MAX_COMMITS];
    unsigned n_commits;
};

static void io_persist_safety(struct hs_io *io, const struct hs_safety *st)
{
    struct table_io *t = io->impl;
    t->persisted = *st;
    t->persists++;
}

static void io_persist_block(struct hs_io *io, const struct hs_block *b)
{
    (void)io;
    (void)b;
}

static void io_persist_qc(struct hs_io *io, const struct hs_qc *qc, bool high)
{
    (void)io;
    (void)qc;
    (void)high;
}

static void io_persist_tc(struct hs_io *io, const struct hs_tc *tc)
{
    (void)io;
    (void)tc;
}

static void io_send(struct hs_io *io, hs_node_t to, const struct hs_msg *msg)
{
    struct table_io *t = io->impl;
    (void)to;
    if (msg->type == HS_MSG_VOTE) {
        t->votes_sent++;
        t->last_vote = msg->u.vote;
    }
}

static void io_broadcast(struct hs_io *io, const struct hs_msg *msg)
{
    (void)io;
    (void)msg;
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
    struct table_io *t = io->impl;
    (void)qc;
    if (t->n_commits < MAX_COMMITS) {
        t->commits[t->n_commits++] = b->id;
    }
}

static void table_io_init(struct table_io *t)
{
    memset(t, 0, sizeof *t);
    t->io.impl = t;
    t->io.persist_safety = io_persist_safety;
    t->io.persist_block = io_persist_block;
    t->io.persist_qc = io_persist_qc;
    t->io.persist_tc = io_persist_tc;
    t->io.send = io_send;
    t->io.broadcast = io_broadcast;
    t->io.set_timer = io_set_timer;
    t->io.commit = io_commit;
}

struct world {
    struct seq_hash chain_id;
    struct hs_validator_set validators;
    struct fake_crypto keys[N];
    struct hs_block genesis;
    struct hs_qc genesis_qc;
};

static void world_init(struct world *w)
{
    hs_node_t i;

    memset(w, 0, sizeof *w);
    seq_sha256("safety-table", 12, &w->chain_id);
    fake_validator_set(N, &w->validators);
    for (i = 0; i < N; i++) {
        fake_crypto_init(&w->keys[i], i);
    }
    hs_genesis_block(&w->chain_id, 0, &w->genesis);
    hs_genesis_qc(&w->genesis, &w->genesis_qc);
}

/* A QC for @b signed by validators 0, 1 and 2. */
static void make_qc(struct world *w, const struct hs_block *b, struct hs_qc *qc)
{
    struct seq_hash digest;
    hs_node_t i;

    memset(qc, 0, sizeof *qc);
    qc->epoch = b->epoch;
    qc->round = b->round;
    qc->height = b->height;
    qc->block_id = b->id;
    hs_vote_digest(&w->chain_id, qc->epoch, qc->round, &qc->block_id, &digest);
    for (i = 0; i < 3; i++) {
        qc->sigs[i].signer = i;
        w->keys[i].base.sign(&w->keys[i].base, &digest, &qc->sigs[i].sig);
    }
    qc->n_sigs = 3;
}

/* A TC for @round from validators 0, 1, 2 with these high QC rounds. */
static void make_tc(struct world *w,
                    hs_round_t round,
                    const hs_round_t hqc[3],
                    struct hs_tc *tc)
{
    struct seq_hash digest;
    hs_node_t i;

    memset(tc, 0, sizeof *tc);
    tc->round = round;
    for (i = 0; i < 3; i++) {
        hs_timeout_digest(&w->chain_id, 0, round, hqc[i], &digest);
        tc->sigs[i].signer = i;
        tc->sigs[i].high_qc_round = hqc[i];
        w->keys[i].base.sign(&w->keys[i].base, &digest, &tc->sigs[i].sig);
    }
    tc->n_sigs = 3;
}

/* A block by validator 0 extending @parent in @round; @salt varies the
 * payload so that two blocks of one round differ. */
static void make_block(struct world *w,
                       const struct hs_block *parent,
                       const struct hs_qc *parent_qc,
                       hs_round_t round,
                       uint8_t salt,
                       uint8_t payload[1],
                       struct hs_block *b)
{
    memset(b, 0, sizeof *b);
    b->round = round;
    b->height = parent->height + 1;
    b->parent_id = parent->id;
    b->author = 0;
    b->justify = *parent_qc;
    payload[0] = salt;
    b->payload = payload;
    b->payload_len = 1;
    hs_block_seal(b, &w->chain_id);
}

static int propose(struct world *w,
                   struct hs_core *core,
                   const struct hs_block *b,
                   const struct hs_tc *tc)
{
    struct hs_msg msg;
    struct seq_hash digest;

    memset(&msg, 0, sizeof msg);
    msg.type = HS_MSG_PROPOSAL;
    msg.u.proposal.block = *b;
    if (tc != NULL) {
        msg.u.proposal.has_tc = true;
        msg.u.proposal.tc = *tc;
    }
    hs_proposal_digest(&w->chain_id, 0, b->round, &b->id, &digest);
    w->keys[0].base.sign(&w->keys[0].base, &digest, &msg.u.proposal.sig);
    return hs_core_on_message(core, 0, 0, &msg);
}

/* Field by field: the struct has padding, which memcmp would read. */
static bool votes_equal(const struct hs_vote *a, const struct hs_vote *b)
{
    return a->epoch == b->epoch && a->round == b->round &&
           a->height == b->height && a->voter == b->voter &&
           seq_hash_eq(&a->block_id, &b->block_id) &&
           memcmp(a->sig.bytes, b->sig.bytes, HS_SIG_LEN) == 0;
}

enum { NONE = -1 };

/* One row: propose blocks[block] (with tcs[tc] unless NONE); expect @rv,
 * whether a vote left, and the blocks committed by this row. */
struct row {
    const char *what;
    int block;
    int tc;
    int rv;
    bool votes;
    int commits[4]; /* Block indices, NONE-terminated. */
};

enum { A1, B1, B2, A2, A2P, A3, A4, A4X, C6, F8, A5, A6, A7, A8, N_BLOCKS };

TEST(safety_table, fork_tree_votes_and_commits)
{
    static const struct row rows[] = {
        { "a1 extends genesis", A1, NONE, 0, true, { NONE } },
        { "b1 extends a1", B1, NONE, 0, true, { NONE } },
        { "b2 skips round 2 without a TC",
          B2,
          NONE,
          SEQ_EBADMSG,
          false,
          { NONE } },
        { "b2 with TC(2), its QC covers the TC", B2, 0, 0, true, { NONE } },
        { "a2: TC(3) holds a higher QC than its justify",
          A2,
          1,
          SEQ_EUNSAFE,
          false,
          { NONE } },
        { "a2' with TC(4) it covers; QC(b1) commits a1",
          A2P,
          2,
          0,
          true,
          { A1, NONE } },
        { "a3 extends a2'", A3, NONE, 0, true, { NONE } },
        { "a4 certifies a2' <- a3 (2-chain): commit",
          A4,
          NONE,
          0,
          true,
          { B1, A2P, NONE } },
        { "a4 again: the same vote", A4, NONE, 0, true, { NONE } },
        { "a4x, a second block for round 7: equivocation",
          A4X,
          NONE,
          SEQ_EBADMSG,
          false,
          { NONE } },
        { "c6 in an old round", C6, NONE, SEQ_ESTALE, false, { NONE } },
        { "f8 extends pruned b2 under a TC",
          F8,
          3,
          SEQ_EAGAIN,
          false,
          { NONE } },
        { "a5 extends a4: commit a3", A5, NONE, 0, true, { A3, NONE } },
        { "a6 after TC(9) with QC(a5): commit a4",
          A6,
          4,
          0,
          true,
          { A4, NONE } },
        { "a7 extends a6 (rounds 8, 10): no commit",
          A7,
          NONE,
          0,
          true,
          { NONE } },
        { "a8 extends a7: commit a5, a6", A8, NONE, 0, true, { A5, A6, NONE } },
    };
    static const hs_round_t hqc_tc2[3] = { 1, 1, 0 };
    static const hs_round_t hqc_tc3[3] = { 2, 1, 1 };
    static const hs_round_t hqc_tc4[3] = { 2, 2, 1 };
    static const hs_round_t hqc_tc7_fork[3] = { 3, 3, 3 };
    static const hs_round_t hqc_tc9[3] = { 8, 8, 7 };
    static struct world w;
    struct hs_block blocks[N_BLOCKS];
    struct hs_qc qcs[N_BLOCKS];
    uint8_t payloads[N_BLOCKS][1];
    struct hs_tc tcs[5];
    struct table_io tio;
    struct hs_config config;
    struct hs_core *core;
    struct hs_vote row_votes[16];
    size_t r;

    world_init(&w);
    /* The tree, with each block's QC. */
#define BLOCK(i, parent, pqc, round, salt)                            \
    do {                                                              \
        make_block(&w, (parent), (pqc), (round), (salt), payloads[i], \
                   &blocks[i]);                                       \
        make_qc(&w, &blocks[i], &qcs[i]);                             \
    } while (0)
    BLOCK(A1, &w.genesis, &w.genesis_qc, 1, 1);
    BLOCK(B1, &blocks[A1], &qcs[A1], 2, 2);
    BLOCK(B2, &blocks[A1], &qcs[A1], 3, 3);
    BLOCK(A2, &blocks[A1], &qcs[A1], 4, 4);
    BLOCK(A2P, &blocks[B1], &qcs[B1], 5, 5);
    BLOCK(A3, &blocks[A2P], &qcs[A2P], 6, 6);
    BLOCK(A4, &blocks[A3], &qcs[A3], 7, 7);
    BLOCK(A4X, &blocks[A3], &qcs[A3], 7, 8);
    BLOCK(C6, &blocks[A2P], &qcs[A2P], 6, 9);
    BLOCK(F8, &blocks[B2], &qcs[B2], 8, 10);
    BLOCK(A5, &blocks[A4], &qcs[A4], 8, 11);
    BLOCK(A6, &blocks[A5], &qcs[A5], 10, 12);
    BLOCK(A7, &blocks[A6], &qcs[A6], 11, 13);
    BLOCK(A8, &blocks[A7], &qcs[A7], 12, 14);
#undef BLOCK
    make_tc(&w, 2, hqc_tc2, &tcs[0]);
    make_tc(&w, 3, hqc_tc3, &tcs[1]);
    make_tc(&w, 4, hqc_tc4, &tcs[2]);
    make_tc(&w, 7, hqc_tc7_fork, &tcs[3]);
    make_tc(&w, 9, hqc_tc9, &tcs[4]);

    table_io_init(&tio);
    memset(&config, 0, sizeof config);
    config.chain_id = w.chain_id;
    config.self = SELF;
    config.validators = &w.validators;
    /* Validator 0 leads every round of the table. */
    {
        static const hs_node_t schedule[16];
        config.leader_schedule = schedule;
        config.n_schedule = 16;
    }
    ASSERT_OK(hs_core_new(&config, NULL, &tio.io, &w.keys[SELF].base, &core));
    ASSERT_OK(hs_core_start(core, 0));

    for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        const struct row *row = &rows[r];
        unsigned votes_before = tio.votes_sent;
        unsigned commits_before = tio.n_commits;
        unsigned c = 0;
        int rv;

        rv = propose(&w, core, &blocks[row->block],
                     row->tc == NONE ? NULL : &tcs[row->tc]);
        if (rv != row->rv) {
            harness_fail(__FILE__, __LINE__, "row %zu (%s): rv %d, want %d", r,
                         row->what, rv, row->rv);
        }
        ASSERT_EQ(tio.votes_sent - votes_before, row->votes ? 1u : 0u);
        if (row->votes) {
            ASSERT_MEMEQ(&tio.last_vote.block_id, &blocks[row->block].id,
                         sizeof(struct seq_hash));
            /* (S1): what was persisted covers the vote already. */
            ASSERT_GE(tio.persisted.last_voted_round, tio.last_vote.round);
        }
        for (c = 0; row->commits[c] != NONE; c++) {
            ASSERT_LT(commits_before + c, tio.n_commits);
            ASSERT_MEMEQ(&tio.commits[commits_before + c],
                         &blocks[row->commits[c]].id, sizeof(struct seq_hash));
        }
        if (tio.n_commits != commits_before + c) {
            harness_fail(__FILE__, __LINE__,
                         "row %zu (%s): %u commits, want %u", r, row->what,
                         tio.n_commits - commits_before, c);
        }
        row_votes[r] = tio.last_vote;
    }
    /* Rows 8 and 9 (a4 twice) sent the identical vote, signature too. */
    ASSERT_STREQ(rows[8].what, "a4 again: the same vote");
    ASSERT_TRUE(votes_equal(&row_votes[7], &row_votes[8]));
    ASSERT_EQ(hs_core_committed_height(core), blocks[A6].height);
    hs_core_free(core);
}

TEST(safety_table, same_round_same_vote)
{
    static struct world w;
    struct hs_safety_rules rules;
    struct hs_verifier v;
    struct table_io tio;
    struct hs_block a, b;
    struct hs_vote v1, v2;
    uint8_t pa[1], pb[1];
    unsigned persists;

    world_init(&w);
    table_io_init(&tio);
    memset(&v, 0, sizeof v);
    v.chain_id = w.chain_id;
    v.validators = &w.validators;
    v.crypto = &w.keys[SELF].base;
    v.genesis_id = w.genesis.id;
    hs_safety_init(&rules, NULL, SELF, &v, &w.keys[SELF].base, &tio.io);
    make_block(&w, &w.genesis, &w.genesis_qc, 1, 1, pa, &a);
    make_block(&w, &w.genesis, &w.genesis_qc, 1, 2, pb, &b);

    ASSERT_OK(hs_safety_vote(&rules, &a, NULL, &v1));
    persists = tio.persists;
    ASSERT_GE(tio.persisted.last_voted_round, 1u);
    ASSERT_OK(hs_safety_vote(&rules, &a, NULL, &v2));
    ASSERT_TRUE(votes_equal(&v1, &v2)); /* Identical, signature too. */
    ASSERT_EQ(tio.persists, persists);  /* Nothing new to persist. */
    ASSERT_ERR(hs_safety_vote(&rules, &b, NULL, &v2), SEQ_EUNSAFE);

    /* The same holds after a restart from the persisted state. */
    hs_safety_init(&rules, &tio.persisted, SELF, &v, &w.keys[SELF].base,
                   &tio.io);
    ASSERT_OK(hs_safety_vote(&rules, &a, NULL, &v2));
    ASSERT_TRUE(votes_equal(&v1, &v2));
    ASSERT_ERR(hs_safety_vote(&rules, &b, NULL, &v2), SEQ_EUNSAFE);
}

/* Timeout rules (R3, R4) row by row on one safety module. */
TEST(safety_table, timeout_rules)
{
    static struct world w;
    struct hs_safety_rules rules;
    struct hs_verifier v;
    struct table_io tio;
    struct hs_timeout t, t2;
    struct hs_block b1, b2, b4;
    struct hs_qc q1, q2, q5;
    struct hs_tc tc2, tc3, tc5;
    struct hs_vote vote;
    uint8_t p1[1], p2[1], p4[1];
    static const hs_round_t h0[3] = { 0, 0, 0 };
    static const hs_round_t h2[3] = { 2, 1, 0 };
    static const hs_round_t h5[3] = { 5, 5, 5 };

    world_init(&w);
    table_io_init(&tio);
    memset(&v, 0, sizeof v);
    v.chain_id = w.chain_id;
    v.validators = &w.validators;
    v.crypto = &w.keys[SELF].base;
    v.genesis_id = w.genesis.id;
    hs_safety_init(&rules, NULL, SELF, &v, &w.keys[SELF].base, &tio.io);
    make_block(&w, &w.genesis, &w.genesis_qc, 1, 1, p1, &b1);
    make_qc(&w, &b1, &q1);
    make_block(&w, &b1, &q1, 2, 2, p2, &b2);
    make_qc(&w, &b2, &q2);
    make_tc(&w, 2, h0, &tc2);
    make_tc(&w, 3, h2, &tc3);
    make_tc(&w, 5, h5, &tc5);

    /* T1: round 1 follows the genesis QC. */
    memset(&t, 0, sizeof t);
    ASSERT_OK(hs_safety_timeout(&rules, 1, &w.genesis_qc, NULL, &t));
    ASSERT_EQ(t.high_qc_round, 0u);
    ASSERT_EQ(tio.persisted.last_voted_round, 1u); /* (S1) */
    /* T2: asked again, the same signature (R4). */
    ASSERT_OK(hs_safety_timeout(&rules, 1, &q1, NULL, &t2));
    ASSERT_EQ(t2.high_qc_round, 0u);
    ASSERT_MEMEQ(&t.sig, &t2.sig, sizeof t.sig);
    /* T3: no vote in a round already timed out. */
    ASSERT_ERR(hs_safety_vote(&rules, &b1, NULL, &vote), SEQ_EUNSAFE);
    /* T4: round 3 neither follows QC(0) nor a TC. */
    ASSERT_ERR(hs_safety_timeout(&rules, 3, &w.genesis_qc, NULL, &t),
               SEQ_EUNSAFE);
    /* T5: with TC(2) it does. */
    ASSERT_OK(hs_safety_timeout(&rules, 3, &w.genesis_qc, &tc2, &t));
    ASSERT_EQ(tio.persisted.last_voted_round, 3u);
    /* T6: vote in round 4 on QC(2) under TC(3) whose high QCs are <= 2. */
    make_block(&w, &b2, &q2, 4, 4, p4, &b4);
    ASSERT_OK(hs_safety_vote(&rules, &b4, &tc3, &vote));
    ASSERT_EQ(rules.state.one_chain_round, 2u);
    /* T7: a timeout for the round just voted in is allowed. */
    ASSERT_OK(hs_safety_timeout(&rules, 4, &q2, &tc3, &t));
    ASSERT_EQ(tio.persisted.last_voted_round, 4u);
    /* T8: after seeing QC(5), a timeout may not carry a lower QC. */
    memset(&q5, 0, sizeof q5);
    hs_safety_observe_qc(&rules, 5, 4);
    ASSERT_EQ(tio.persisted.one_chain_round, 5u);
    ASSERT_EQ(tio.persisted.preferred_round, 4u);
    ASSERT_ERR(hs_safety_timeout(&rules, 6, &q2, &tc5, &t), SEQ_EUNSAFE);
    /* T9: with QC(5) it may. */
    q5 = q2;
    q5.round = 5;
    ASSERT_OK(hs_safety_timeout(&rules, 6, &q5, NULL, &t));
    ASSERT_EQ(t.high_qc_round, 5u);
    /* T10: never for an older round. */
    ASSERT_ERR(hs_safety_timeout(&rules, 5, &q5, NULL, &t), SEQ_EUNSAFE);
    /* T11: another epoch is refused. */
    q5.epoch = 9;
    ASSERT_ERR(hs_safety_timeout(&rules, 7, &q5, NULL, &t), SEQ_ESTALE);
}

TEST_MAIN()
