/* Smoke tests of the simulator itself: a healthy network commits and agrees,
 * a seed replays exactly, crashes and restarts keep agreement, and a twin
 * leader that equivocates across a partition cannot split honest replicas.
 * Safety (S1-S5) is checked by the simulator after every event, so each
 * test states only what must happen. The acceptance suites live in the
 * other tests/sim/test_*.c files. */

#include <string.h>

#include "fake_crypto.h"
#include "harness.h"
#include "hs_verify.h"
#include "sim.h"
#include "sim_check.h"

static struct sim_config base_config(uint64_t seed)
{
    struct sim_config config = {
        .n_nodes = 4,
        .seed = seed,
        .latency_ms = { .min = 5, .max = 50 },
        .base_timeout_ms = 1000,
    };

    return config;
}

/* Four honest replicas on a clean network: at least 20 blocks in 30 s of
 * virtual time, and every replica ends with the same log. */
TEST(sim_smoke, happy_path_commits_and_agrees)
{
    struct sim_config config = base_config(test_seed());
    struct sim *sim = sim_new(&config);
    uint32_t i;

    ASSERT_TRUE(sim != NULL);
    sim_run_for(sim, 30 * 1000);
    SIM_ASSERT_OK(sim);
    for (i = 0; i < 4; i++) {
        ASSERT_GE(sim_committed_height(sim, i), 20);
    }
    ASSERT_TRUE(sim_run_until(sim, sim_all_agree, NULL, 5 * 1000));
    SIM_ASSERT_OK(sim);
    ASSERT_EQ(sim_max_qcs_per_round(sim), 1);
    sim_free(sim);
}

/* (P1) An idle chain paces its blocks: with empty payloads and nothing to
 * propose, leaders wait idle_block_ms, so 20 s of virtual time gives about
 * 20000 / 100 blocks instead of one per round trip (10-100 ms here), with
 * no round timing out; with crashes and restarts it still commits. */
TEST(sim_smoke, idle_chain_paces_empty_blocks)
{
    struct sim_config config = base_config(test_seed());
    struct sim *sim;
    uint32_t i;

    config.idle_block_ms = 100;
    sim = sim_new(&config);
    ASSERT_TRUE(sim != NULL);
    sim_run_for(sim, 20 * 1000);
    SIM_ASSERT_OK(sim);
    for (i = 0; i < 4; i++) {
        ASSERT_GE(sim_committed_height(sim, i), 100);
        ASSERT_LE(sim_committed_height(sim, i), 20000 / 100 + 5);
    }
    /* No round timed out: one round per block, as on the happy path. */
    ASSERT_LE(sim_max_round(sim), sim_committed_height(sim, 0) + 6);
    ASSERT_TRUE(sim_run_until(sim, sim_all_agree, NULL, 5 * 1000));
    SIM_ASSERT_OK(sim);
    sim_free(sim);

    /* With random crashes and restarts it stays live and safe. */
    config.crash_per_million = 3000;
    config.crash_mid_turn_per_million = 1000;
    sim = sim_new(&config);
    ASSERT_TRUE(sim != NULL);
    sim_run_for(sim, 20 * 1000);
    SIM_ASSERT_OK(sim);
    ASSERT_TRUE(sim_run_until(sim, sim_heights_at_least, &(hs_height_t){ 50 },
                              30 * 1000));
    SIM_ASSERT_OK(sim);
    sim_free(sim);
    config.crash_per_million = 0;
    config.crash_mid_turn_per_million = 0;

    /* Without pacing the same network makes many more. */
    config.idle_block_ms = 0;
    sim = sim_new(&config);
    ASSERT_TRUE(sim != NULL);
    sim_run_for(sim, 20 * 1000);
    ASSERT_GE(sim_committed_height(sim, 0), 20000 / 100 * 2);
    sim_free(sim);
}

static void run_hash(uint64_t seed, struct seq_hash *out, uint64_t *events)
{
    struct sim_config config = base_config(seed);
    struct sim *sim;

    config.drop_percent = 5;
    config.dup_percent = 5;
    config.crash_mid_turn_per_million = 10000;
    sim = sim_new(&config);
    if (sim == NULL) {
        memset(out, 0, sizeof *out);
        *events = 0;
        return;
    }
    sim_run_for(sim, 20 * 1000);
    sim_trace_hash(sim, out);
    *events = sim_events(sim);
    sim_free(sim);
}

/* The same seed gives the same run, event for event; another seed does
 * not. */
TEST(sim_smoke, seed_replays_exactly)
{
    struct seq_hash a, b, c;
    uint64_t ea, eb, ec;

    run_hash(test_seed(), &a, &ea);
    run_hash(test_seed(), &b, &eb);
    run_hash(test_seed() + 1, &c, &ec);
    ASSERT_GT(ea, 20); /* Back-off after losses can make a run short. */
    ASSERT_EQ(ea, eb);
    ASSERT_TRUE(seq_hash_eq(&a, &b));
    ASSERT_FALSE(seq_hash_eq(&a, &c));
}

/* One replica crashes and comes back from its store: the others keep
 * committing meanwhile, and afterwards all four agree. */
TEST(sim_smoke, crash_restart_keeps_agreement)
{
    struct sim_config config = base_config(test_seed());
    struct sim *sim = sim_new(&config);
    hs_height_t before, target;

    ASSERT_TRUE(sim != NULL);
    sim_run_for(sim, 5 * 1000);
    sim_crash(sim, 2);
    ASSERT_FALSE(sim_is_alive(sim, 2));
    ASSERT_TRUE(sim_core(sim, 2) == NULL);
    before = sim_committed_height(sim, 0);
    sim_run_for(sim, 10 * 1000);
    SIM_ASSERT_OK(sim);
    ASSERT_GT(sim_committed_height(sim, 0), before);

    sim_restart(sim, 2);
    ASSERT_TRUE(sim_is_alive(sim, 2));
    target = sim_max_honest_height(sim) + 5;
    ASSERT_TRUE(sim_run_until(sim, sim_heights_at_least, &target, 30 * 1000));
    SIM_ASSERT_OK(sim);
    ASSERT_TRUE(sim_run_until(sim, sim_all_agree, NULL, 5 * 1000));
    sim_free(sim);
}

/* Random crashes, including kills between persist and send, on a lossy
 * network: safety holds throughout and the chain still grows. */
TEST(sim_smoke, random_crashes_stay_safe)
{
    struct sim_config config = base_config(test_seed());
    struct sim *sim;

    config.drop_percent = 2;
    config.dup_percent = 2;
    config.crash_mid_turn_per_million = 10000;
    config.crash_per_million = 10000;
    config.restart_delay_ms.min = 50;
    config.restart_delay_ms.max = 1500;
    sim = sim_new(&config);
    ASSERT_TRUE(sim != NULL);
    sim_run_for(sim, 60 * 1000);
    SIM_ASSERT_OK(sim);
    ASSERT_GE(sim_max_honest_height(sim), 5);
    sim_free(sim);
}

/* Twins: replica 4 runs validator 0's key. Validator 0 leads rounds 1-7;
 * in those rounds the original (with replica 1) and the twin (with
 * replicas 2 and 3) see different halves of the network, so key 0
 * equivocates. Honest replicas must never disagree, no round may certify
 * two blocks, and once the partition ends the chain must grow. */
TEST(sim_smoke, twin_leader_cannot_split_honest_replicas)
{
    enum { ROUNDS = 8, REPLICAS = 5 };
    static const hs_node_t twin_of[] = { 0 };
    static const hs_node_t schedule[ROUNDS] = { 0, 0, 0, 0, 0, 0, 0, 0 };
    uint32_t partitions[ROUNDS * REPLICAS];
    struct sim_config config = base_config(test_seed());
    struct sim *sim;
    hs_height_t target = 5;
    uint32_t round, r;

    for (round = 0; round < ROUNDS; round++) {
        for (r = 0; r < REPLICAS; r++) {
            /* Group 0: replicas 0 and 1. Group 1: the twin, 2 and 3. */
            partitions[round * REPLICAS + r] = r <= 1 ? 0 : 1;
        }
    }
    config.n_twins = 1;
    config.twin_of = twin_of;
    config.leader_schedule = schedule;
    config.n_schedule = ROUNDS;
    config.round_partitions = partitions;
    config.n_partition_rounds = ROUNDS;
    sim = sim_new(&config);
    ASSERT_TRUE(sim != NULL);
    ASSERT_EQ(sim_n_replicas(sim), 5);
    ASSERT_EQ(sim_replica_node(sim, 4), 0);
    ASSERT_FALSE(sim_is_honest(sim, 0));
    ASSERT_FALSE(sim_is_honest(sim, 4));
    ASSERT_TRUE(sim_is_honest(sim, 1));

    ASSERT_TRUE(sim_run_until(sim, sim_heights_at_least, &target, 60 * 1000));
    SIM_ASSERT_OK(sim);
    ASSERT_LE(sim_max_qcs_per_round(sim), 1);
    sim_free(sim);
}

/* A twin that leads after timeouts proposes forks that skip certified
 * blocks (twins_fork); the vote rule refuses them, so nothing breaks and
 * the chain grows once the scenario's rounds are healed. */
TEST(sim_smoke, forking_twin_leader_is_refused)
{
    enum { ROUNDS = 24, REPLICAS = 5 };
    static const hs_node_t twin_of[] = { 0 };
    hs_node_t schedule[ROUNDS];
    uint32_t partitions[ROUNDS * REPLICAS];
    struct sim_config config = base_config(test_seed());
    struct sim_stats stats;
    struct sim *sim;
    hs_height_t target;
    uint32_t round, r;

    /* Every third round is led by key 1 and cuts replica 1 off, so that
     * the others time out and form a TC; key 0 (both twins) leads the rest
     * and so proposes right after each TC, where the twin forks. */
    for (round = 0; round < ROUNDS; round++) {
        schedule[round] = round % 3 == 1 ? 1 : 0;
        for (r = 0; r < REPLICAS; r++) {
            partitions[round * REPLICAS + r] = round % 3 == 1 && r == 1;
        }
    }
    config.n_twins = 1;
    config.twin_of = twin_of;
    config.twins_fork = true;
    config.base_timeout_ms = 300;
    config.max_timeout_ms = 1200;
    config.leader_schedule = schedule;
    config.n_schedule = ROUNDS;
    config.round_partitions = partitions;
    config.n_partition_rounds = ROUNDS;
    sim = sim_new(&config);
    ASSERT_TRUE(sim != NULL);
    sim_run_for(sim, 20 * 1000);
    SIM_ASSERT_OK(sim);
    sim_stats(sim, &stats);
    ASSERT_GT(stats.forks, 0);
    ASSERT_LE(sim_max_qcs_per_round(sim), 1);

    sim_heal(sim);
    target = sim_max_honest_height(sim) + 3;
    ASSERT_TRUE(sim_run_until(sim, sim_heights_at_least, &target, 30 * 1000));
    SIM_ASSERT_OK(sim);
    sim_free(sim);
}

/* The checker on its own, fed hand-made violations: a simulator whose
 * checks cannot fail proves nothing. Four fake validators, all honest. */
struct check_world {
    struct seq_hash chain_id;
    struct hs_validator_set validators;
    struct fake_crypto signers[4];
    struct hs_block genesis;
    struct hs_qc genesis_qc;
    struct sim_check chk;
};

static void world_init(struct check_world *w)
{
    uint32_t i;

    seq_sha256("check", 5, &w->chain_id);
    fake_validator_set(4, &w->validators);
    for (i = 0; i < 4; i++) {
        fake_crypto_init(&w->signers[i], i);
    }
    hs_genesis_block(&w->chain_id, 1, &w->genesis);
    hs_genesis_qc(&w->genesis, &w->genesis_qc);
    ASSERT_OK(sim_check_init(&w->chk, &w->chain_id, 1, &w->genesis.id,
                             &w->validators, &w->signers[0].base, 4));
}

/* A QC for @block signed by the first @n_signers validators; signer 0
 * signs twice when @dup. */
static void make_qc(struct check_world *w,
                    const struct hs_block *block,
                    uint32_t n_signers,
                    bool dup,
                    struct hs_qc *qc)
{
    struct seq_hash digest;
    uint32_t i;

    memset(qc, 0, sizeof *qc);
    qc->epoch = 1;
    qc->round = block->round;
    qc->height = block->height;
    qc->block_id = block->id;
    hs_vote_digest(&w->chain_id, 1, block->round, &block->id, &digest);
    for (i = 0; i < n_signers; i++) {
        hs_node_t signer = dup && i == n_signers - 1 ? 0 : i;
        const struct hs_crypto *c = &w->signers[signer].base;

        qc->sigs[i].signer = signer;
        ASSERT_OK(c->sign(c, &digest, &qc->sigs[i].sig));
    }
    qc->n_sigs = n_signers;
}

static void make_block(struct check_world *w,
                       const struct hs_block *parent,
                       const struct hs_qc *parent_qc,
                       hs_round_t round,
                       uint8_t tag,
                       struct hs_block *out)
{
    memset(out, 0, sizeof *out);
    out->epoch = 1;
    out->round = round;
    out->height = parent->height + 1;
    out->parent_id = parent->id;
    out->justify = *parent_qc;
    out->ns_root.bytes[0] = tag; /* Makes siblings differ. */
    hs_block_seal(out, &w->chain_id);
}

TEST(sim_smoke, checker_catches_each_violation)
{
    struct check_world w;
    struct hs_block a, b, a2;
    struct hs_qc qc_a, qc_b, qc_a2, weak, dup;
    struct hs_safety synced = { .epoch = 1, .last_voted_round = 1 };
    struct hs_msg msg = { .type = HS_MSG_VOTE };

    world_init(&w);
    make_block(&w, &w.genesis, &w.genesis_qc, 1, 1, &a);
    make_block(&w, &w.genesis, &w.genesis_qc, 1, 2, &b);
    make_qc(&w, &a, 3, false, &qc_a);
    make_qc(&w, &b, 3, false, &qc_b);
    make_block(&w, &a, &qc_a, 2, 0, &a2);
    make_qc(&w, &a2, 3, false, &qc_a2);

    /* Valid traffic passes: a commit, a vote covered by the synced state,
     * a proposal whose QC has exactly a quorum. */
    ASSERT_TRUE(sim_check_commit(&w.chk, 0, 0, &a, &qc_a));
    ASSERT_TRUE(sim_check_commit(&w.chk, 1, 1, &a, &qc_a));
    msg.u.vote = (struct hs_vote){ .epoch = 1, .round = 1, .voter = 2 };
    msg.u.vote.block_id = a.id;
    ASSERT_TRUE(sim_check_outgoing(&w.chk, 2, 2, &synced, &msg));
    ASSERT_TRUE(sim_check_outgoing(&w.chk, 2, 2, &synced, &msg));
    ASSERT_TRUE(sim_check_committed_id(&w.chk, 1, &msg.u.vote.block_id));
    ASSERT_TRUE(seq_hash_eq(&msg.u.vote.block_id, &a.id));
    ASSERT_TRUE(w.chk.msg[0] == '\0');
    sim_check_close(&w.chk);

    /* (S4) another block at height 1. */
    world_init(&w);
    ASSERT_TRUE(sim_check_commit(&w.chk, 0, 0, &a, &qc_a));
    ASSERT_FALSE(sim_check_commit(&w.chk, 1, 1, &b, &qc_b));
    ASSERT_TRUE(strncmp(w.chk.msg, "S4", 2) == 0);
    sim_check_close(&w.chk);

    /* (S5) height 2 before height 1. */
    world_init(&w);
    ASSERT_FALSE(sim_check_commit(&w.chk, 0, 0, &a2, &qc_a2));
    ASSERT_TRUE(strncmp(w.chk.msg, "S5", 2) == 0);
    sim_check_close(&w.chk);

    /* (S2) two votes of key 2 in round 1. */
    world_init(&w);
    msg.u.vote.block_id = a.id;
    ASSERT_TRUE(sim_check_outgoing(&w.chk, 2, 2, &synced, &msg));
    msg.u.vote.block_id = b.id;
    ASSERT_FALSE(sim_check_outgoing(&w.chk, 2, 2, &synced, &msg));
    ASSERT_TRUE(strncmp(w.chk.msg, "S2", 2) == 0);
    sim_check_close(&w.chk);

    /* (S1) a vote for a round the synced state does not cover. */
    world_init(&w);
    msg.u.vote.round = 2;
    ASSERT_FALSE(sim_check_outgoing(&w.chk, 2, 2, &synced, &msg));
    ASSERT_TRUE(strncmp(w.chk.msg, "S1", 2) == 0);
    sim_check_close(&w.chk);

    /* (S3) a QC of 2f signers, and one of 2f distinct signers padded with a
     * duplicate, each in a proposal. */
    make_qc(&w, &a, 2, false, &weak);
    make_qc(&w, &a, 3, true, &dup);
    memset(&msg, 0, sizeof msg);
    msg.type = HS_MSG_PROPOSAL;
    make_block(&w, &a, &weak, 2, 0, &msg.u.proposal.block);
    world_init(&w);
    ASSERT_FALSE(sim_check_outgoing(&w.chk, 3, 3, NULL, &msg));
    ASSERT_TRUE(strncmp(w.chk.msg, "S3", 2) == 0);
    sim_check_close(&w.chk);
    make_block(&w, &a, &dup, 2, 0, &msg.u.proposal.block);
    world_init(&w);
    ASSERT_FALSE(sim_check_outgoing(&w.chk, 3, 3, NULL, &msg));
    ASSERT_TRUE(strncmp(w.chk.msg, "S3", 2) == 0);
    sim_check_close(&w.chk);
}

TEST_MAIN()
