/* The acceptance scenarios (scenarios.h). Every random choice a scenario
 * makes (which replicas to cut off, when to crash, how lossy the network
 * is) comes from a PRNG seeded with the scenario's seed, separate from the
 * simulator's own, so a seed names one scenario and replays it exactly. */

#include "scenarios.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hs_core.h"
#include "seq_rng.h"
#include "sim.h"

/* Scenario-choice PRNG stream, kept apart from the simulator's. */
#define SCN_RNG_SALT 0x5eed5ca1ab1e0001ull

static void fail(struct scn_result *res,
                 struct sim *sim,
                 const struct scn_options *opt,
                 const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

static void fail(struct scn_result *res,
                 struct sim *sim,
                 const struct scn_options *opt,
                 const char *fmt,
                 ...)
{
    char text[384];
    va_list ap;

    if (!res->ok) {
        return; /* Keep the first failure. */
    }
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    res->ok = false;
    snprintf(res->why, sizeof res->why, "%s (replay: SEQ_TEST_SEED=%llu)", text,
             sim != NULL ? (unsigned long long)sim_seed(sim) : 0ull);
    if (opt != NULL && opt->dump && sim != NULL) {
        sim_dump(sim, stderr);
    }
}

/* False (and the result failed) when the simulator saw a violation. */
static bool sim_ok(struct scn_result *res,
                   struct sim *sim,
                   const struct scn_options *opt)
{
    if (sim_failure(sim) != NULL) {
        fail(res, sim, opt, "%s", sim_failure(sim));
        return false;
    }
    return res->ok;
}

static void base_config(struct sim_config *c,
                        uint64_t seed,
                        uint32_t n,
                        const struct scn_options *opt)
{
    memset(c, 0, sizeof *c);
    c->n_nodes = n;
    c->seed = seed;
    c->latency_ms.min = 5;
    c->latency_ms.max = 50;
    c->base_timeout_ms = 1000;
    c->real_crypto = opt != NULL && opt->real_crypto;
}

static struct sim *start(const struct sim_config *c, struct scn_result *res)
{
    struct sim *sim;

    memset(res, 0, sizeof *res);
    res->ok = true;
    sim = sim_new(c);
    if (sim == NULL) {
        res->ok = false;
        snprintf(res->why, sizeof res->why, "sim_new failed (seed %llu)",
                 (unsigned long long)c->seed);
    }
    return sim;
}

static void finish(struct sim *sim,
                   struct scn_result *res,
                   const struct scn_options *opt)
{
    sim_ok(res, sim, opt);
    res->events = sim_events(sim);
    res->rounds = sim_max_round(sim);
    res->height = sim_min_honest_height(sim);
    res->virtual_ms = sim_now(sim);
    sim_free(sim);
}

/* Liveness: every live honest replica reaches the highest honest height
 * plus @more within @within_ms of virtual time; else fail with @what. */
static void expect_progress(struct sim *sim,
                            struct scn_result *res,
                            const struct scn_options *opt,
                            hs_height_t more,
                            uint64_t within_ms,
                            const char *what)
{
    hs_height_t target = sim_max_honest_height(sim) + more;

    if (!sim_ok(res, sim, opt)) {
        return;
    }
    if (!sim_run_until(sim, sim_heights_at_least, &target, within_ms)) {
        fail(res, sim, opt, "%s: height %llu, want %llu within %llu ms", what,
             (unsigned long long)sim_min_honest_height(sim),
             (unsigned long long)target, (unsigned long long)within_ms);
    }
}

static uint64_t local_timeouts(struct sim *sim)
{
    uint64_t total = 0;
    uint32_t r;

    for (r = 0; r < sim_n_replicas(sim); r++) {
        struct hs_core *core = sim_core(sim, r);
        if (core != NULL) {
            total += hs_core_stats(core)->local_timeouts;
        }
    }
    return total;
}

/* Happy path: identical commits everywhere, about one block per round and
 * no round ever times out. */
void scn_happy(uint64_t seed,
               uint32_t n,
               const struct scn_options *opt,
               struct scn_result *res)
{
    struct sim_config c;
    struct sim *sim;
    hs_height_t h;
    uint64_t rounds;

    base_config(&c, seed, n, opt);
    sim = start(&c, res);
    if (sim == NULL) {
        return;
    }
    sim_run_for(sim, 20 * 1000);
    if (sim_ok(res, sim, opt)) {
        h = sim_min_honest_height(sim);
        rounds = sim_max_round(sim);
        if (h < 50) {
            fail(res, sim, opt, "happy path: only %llu blocks in 20 s",
                 (unsigned long long)h);
        } else if (rounds > h + 6) {
            /* Round r commits the block of round r - 2; allow for the
             * slowest replica being a few messages behind. */
            fail(res, sim, opt, "happy path: %llu rounds for %llu blocks",
                 (unsigned long long)rounds, (unsigned long long)h);
        } else if (local_timeouts(sim) != 0) {
            fail(res, sim, opt, "happy path: %llu local timeouts",
                 (unsigned long long)local_timeouts(sim));
        } else if (!sim_run_until(sim, sim_all_agree, NULL, 5000)) {
            fail(res, sim, opt, "happy path: replicas never level");
        }
    }
    finish(sim, res, opt);
}

/* Crash f replicas for good, chosen as the leaders of the next rounds, at
 * a random moment: the others keep committing, and once the crashed are no
 * longer elected, at full speed. */
void scn_crash_f_forever(uint64_t seed,
                         uint32_t n,
                         const struct scn_options *opt,
                         struct scn_result *res)
{
    struct sim_config c;
    struct seq_rng rng;
    struct sim *sim;
    hs_height_t before;
    uint32_t f = hs_faults(n), k, r;
    uint64_t round;

    seq_rng_seed(&rng, seed ^ SCN_RNG_SALT);
    base_config(&c, seed, n, opt);
    sim = start(&c, res);
    if (sim == NULL) {
        return;
    }
    sim_run_for(sim, seq_rng_range(&rng, 500, 5000));
    round = sim_max_round(sim);
    for (k = 1; k <= f; k++) {
        struct hs_core *any = NULL;
        for (r = 0; r < sim_n_replicas(sim) && any == NULL; r++) {
            any = sim_core(sim, r);
        }
        sim_crash(sim, hs_core_leader(any, round + k));
    }
    /* The crashed validators led the next rounds, so those time out with
     * back-off (f of them, plus the rounds whose votes went to them, and
     * round-robin ones after each TC): 20 blocks within 60 s. */
    expect_progress(sim, res, opt, 20, 60 * 1000, "f crashed");
    /* Then the crashed no longer lead (hs_core.c L1): 20 s without a
     * timed-out round, at near the healthy rate (250-330 blocks here over
     * 900 seeds; round-robin made 16-28, with 51-100 local timeouts). */
    if (sim_ok(res, sim, opt)) {
        uint64_t timeouts = local_timeouts(sim);
        before = sim_min_honest_height(sim);
        sim_run_for(sim, 20 * 1000);
        timeouts = local_timeouts(sim) - timeouts;
        if (sim_ok(res, sim, opt) &&
            (timeouts != 0 || sim_min_honest_height(sim) < before + 150)) {
            fail(res, sim, opt,
                 "f crashed, in the 20 s after: %llu blocks, %llu local "
                 "timeouts, want >= 150 and 0",
                 (unsigned long long)(sim_min_honest_height(sim) - before),
                 (unsigned long long)timeouts);
        }
    }
    finish(sim, res, opt);
}

/* One validator, chosen by the seed, is slow: everything it sends takes
 * 500-550 ms instead of 5-50. The others are a quorum without it, so once
 * its signature is missing from the last QCs its rounds go to them
 * (hs_core.c L1), and the chain keeps near its healthy rate: at least 250
 * blocks in 20 s (n = 7 and 10 gave 319-333 over 20 seeds; round-robin,
 * which waits for the slow leader every n rounds, 149-181). With n = 4 the
 * slow one's own QCs keep it active in some seeds (110-355 blocks against
 * round-robin's 110-115), so this runs for n >= 7. */
void scn_slow_validator(uint64_t seed,
                        uint32_t n,
                        const struct scn_options *opt,
                        struct scn_result *res)
{
    struct sim_config c;
    struct sim_range slow = { 500, 550 };
    struct seq_rng rng;
    struct sim *sim;
    hs_height_t before;
    uint32_t victim, to;

    seq_rng_seed(&rng, seed ^ SCN_RNG_SALT);
    base_config(&c, seed, n, opt);
    sim = start(&c, res);
    if (sim == NULL) {
        return;
    }
    victim = (uint32_t)seq_rng_below(&rng, n);
    for (to = 0; to < n; to++) {
        if (to != victim) {
            sim_set_link_latency(sim, victim, to, slow);
        }
    }
    sim_run_for(sim, 5 * 1000);
    before = sim_min_honest_height(sim);
    sim_run_for(sim, 20 * 1000);
    if (sim_ok(res, sim, opt) && sim_min_honest_height(sim) < before + 250) {
        fail(res, sim, opt,
             "slow validator %u: %llu blocks in 20 s, want >= 250", victim,
             (unsigned long long)(sim_min_honest_height(sim) - before));
    }
    finish(sim, res, opt);
}

/* Put @k of the @n replicas, chosen by @rng, in group 1 of @groups. */
static void pick_side(struct seq_rng *rng,
                      uint32_t n,
                      uint32_t k,
                      uint32_t groups[HS_MAX_VALIDATORS])
{
    uint32_t placed = 0, r;

    while (placed < k) {
        r = (uint32_t)seq_rng_below(rng, n);
        if (groups[r] == 0) {
            groups[r] = 1;
            placed++;
        }
    }
}

/* Cut f replicas off for 40 s: the 2f+1 commit, the f do not; after the
 * heal the minority catches up (and S4 holds throughout). */
void scn_minority_partition(uint64_t seed,
                            uint32_t n,
                            const struct scn_options *opt,
                            struct scn_result *res)
{
    uint32_t groups[HS_MAX_VALIDATORS] = { 0 };
    struct sim_config c;
    struct seq_rng rng;
    struct sim *sim;
    hs_height_t minority_before = 0, majority_before;
    uint32_t f = hs_faults(n), r;

    seq_rng_seed(&rng, seed ^ SCN_RNG_SALT);
    base_config(&c, seed, n, opt);
    sim = start(&c, res);
    if (sim == NULL) {
        return;
    }
    pick_side(&rng, n, f, groups);
    sim_run_for(sim, seq_rng_range(&rng, 500, 3000));
    sim_partition(sim, groups);
    majority_before = sim_max_honest_height(sim);
    for (r = 0; r < n; r++) {
        if (groups[r] == 1 && sim_committed_height(sim, r) > minority_before) {
            minority_before = sim_committed_height(sim, r);
        }
    }
    sim_run_for(sim, 40 * 1000);
    if (!sim_ok(res, sim, opt)) {
        goto out;
    }
    for (r = 0; r < n; r++) {
        hs_height_t h = sim_committed_height(sim, r);
        /* Slow but steady: with f leaders unreachable, the rounds they
         * lead and the rounds before them (whose votes go to them) end in
         * backed-off TCs under round-robin. Claim progress, not speed. */
        if (groups[r] == 0 && h < majority_before + 4) {
            fail(res, sim, opt,
                 "majority replica %u: height %llu after 40 s cut off, "
                 "%llu before",
                 r, (unsigned long long)h, (unsigned long long)majority_before);
        }
        /* A QC already in flight may still commit one or two blocks. */
        if (groups[r] == 1 && h > minority_before + 2) {
            fail(res, sim, opt, "cut-off replica %u committed alone", r);
        }
    }
    sim_heal(sim);
    expect_progress(sim, res, opt, 0, 20 * 1000, "minority catching up");
out:
    finish(sim, res, opt);
}

/* Split the validators in two halves, neither a quorum: nothing commits
 * while split; commits resume a bounded number of timeouts after. */
void scn_even_split(uint64_t seed,
                    uint32_t n,
                    const struct scn_options *opt,
                    struct scn_result *res)
{
    uint32_t groups[HS_MAX_VALIDATORS] = { 0 };
    struct sim_config c;
    struct seq_rng rng;
    struct sim *sim;
    hs_height_t before, after_split, target;

    seq_rng_seed(&rng, seed ^ SCN_RNG_SALT);
    base_config(&c, seed, n, opt);
    /* Cap the back-off so that "bounded" has a number: 4 base timeouts. */
    c.max_timeout_ms = 4 * c.base_timeout_ms;
    sim = start(&c, res);
    if (sim == NULL) {
        return;
    }
    pick_side(&rng, n, n / 2, groups);
    sim_run_for(sim, seq_rng_range(&rng, 500, 3000));
    sim_partition(sim, groups);
    before = sim_max_honest_height(sim);
    sim_run_for(sim, 30 * 1000);
    after_split = sim_max_honest_height(sim);
    if (!sim_ok(res, sim, opt)) {
        goto out;
    }
    /* Certificates in flight at the cut may commit up to two blocks. */
    if (after_split > before + 2) {
        fail(res, sim, opt, "split: committed %llu -> %llu",
             (unsigned long long)before, (unsigned long long)after_split);
        goto out;
    }
    sim_heal(sim);
    target = after_split + 1;
    /* Each replica's timer is at most 4 base timeouts away; a round that
     * ends by TC syncs everyone, and the next one commits. Allow 3 such
     * timeouts. */
    if (!sim_run_until(sim, sim_heights_at_least, &target,
                       3 * c.max_timeout_ms + 2000)) {
        fail(res, sim, opt, "split healed but no commit within %llu ms",
             (unsigned long long)(3 * c.max_timeout_ms + 2000));
    }
out:
    finish(sim, res, opt);
}

/* 1-20% loss and duplication and heavy reordering until GST; after it,
 * commits flow again. */
void scn_lossy(uint64_t seed,
               uint32_t n,
               const struct scn_options *opt,
               struct scn_result *res)
{
    struct sim_config c;
    struct seq_rng rng;
    struct sim *sim;

    seq_rng_seed(&rng, seed ^ SCN_RNG_SALT);
    base_config(&c, seed, n, opt);
    c.drop_percent = (unsigned)seq_rng_range(&rng, 1, 20);
    c.dup_percent = (unsigned)seq_rng_range(&rng, 1, 20);
    c.latency_ms.min = 1;
    c.latency_ms.max = seq_rng_range(&rng, 50, 400);
    c.gst_ms = 20 * 1000;
    sim = start(&c, res);
    if (sim == NULL) {
        return;
    }
    sim_run_for(sim, c.gst_ms);
    expect_progress(sim, res, opt, 10, 30 * 1000, "after GST");
    finish(sim, res, opt);
}

static void restart_all(struct sim *sim)
{
    uint32_t r;

    for (r = 0; r < sim_n_replicas(sim); r++) {
        if (!sim_is_alive(sim, r)) {
            sim_restart(sim, r);
        }
    }
}

/* Random crashes at random points, including between persist and send
 * (the turn's writes and messages both lost), up to f down at once; then
 * everyone back: no double-sign ever (S1, S2), and progress resumes. */
void scn_random_crashes(uint64_t seed,
                        uint32_t n,
                        const struct scn_options *opt,
                        struct scn_result *res)
{
    struct sim_config c;
    struct seq_rng rng;
    struct sim *sim;

    seq_rng_seed(&rng, seed ^ SCN_RNG_SALT);
    base_config(&c, seed, n, opt);
    c.crash_mid_turn_per_million = (unsigned)seq_rng_range(&rng, 500, 5000);
    c.crash_per_million = (unsigned)seq_rng_range(&rng, 500, 5000);
    c.restart_delay_ms.min = 50;
    c.restart_delay_ms.max = 3000;
    sim = start(&c, res);
    if (sim == NULL) {
        return;
    }
    sim_run_for(sim, 30 * 1000);
    sim_set_crash_rates(sim, 0, 0);
    restart_all(sim);
    expect_progress(sim, res, opt, 5, 30 * 1000, "after the crashes");
    finish(sim, res, opt);
}

/* Every replica crashes at once (unsynced writes lost) and restarts from
 * its store: commits survive and progress resumes from there. */
void scn_whole_cluster_restart(uint64_t seed,
                               uint32_t n,
                               const struct scn_options *opt,
                               struct scn_result *res)
{
    hs_height_t before[HS_MAX_VALIDATORS];
    struct sim_config c;
    struct seq_rng rng;
    struct sim *sim;
    uint32_t r;

    seq_rng_seed(&rng, seed ^ SCN_RNG_SALT);
    base_config(&c, seed, n, opt);
    sim = start(&c, res);
    if (sim == NULL) {
        return;
    }
    sim_run_for(sim, seq_rng_range(&rng, 1000, 10 * 1000));
    for (r = 0; r < n; r++) {
        before[r] = sim_committed_height(sim, r);
        sim_crash(sim, r);
    }
    sim_run_for(sim, seq_rng_range(&rng, 10, 2000));
    for (r = 0; r < n; r++) {
        if (sim_committed_height(sim, r) != before[r]) {
            fail(res, sim, opt, "replica %u: durable height %llu != %llu", r,
                 (unsigned long long)sim_committed_height(sim, r),
                 (unsigned long long)before[r]);
        }
    }
    restart_all(sim);
    expect_progress(sim, res, opt, 10, 30 * 1000, "after restart");
    finish(sim, res, opt);
}

/* Twins (Bano et al., "Twins: BFT Systems Made Robust", 2021): validator k
 * runs twice with one key, so it equivocates as a Byzantine node would.
 * For each of the first @rounds rounds the scenario picks a leader and a
 * partition of the five replicas; messages of that round cross only within
 * a group. Rounds are drawn from the kinds that matter: its leader cut off
 * (it ends in a TC), led by the twinned key with everyone together (right
 * after a TC, where equivocation and forks bite), everyone together, or the
 * twins apart with the honest replicas spread over both sides. Half the
 * scenarios also make the twin fork (sim.h,
 * twins_fork). Afterwards the network is whole and must make progress. */
void scn_twins(uint64_t seed,
               uint32_t rounds,
               const struct scn_options *opt,
               struct scn_result *res)
{
    enum { N = 4, REPLICAS = 5, MAX_ROUNDS = 64 };
    uint32_t partitions[(MAX_ROUNDS + 1) * REPLICAS];
    hs_node_t leaders[MAX_ROUNDS + 1];
    hs_node_t twin_of[1];
    struct sim_config c;
    struct seq_rng rng;
    struct sim *sim;
    uint32_t round, r;
    bool prev_cut = false;

    if (rounds > MAX_ROUNDS) {
        rounds = MAX_ROUNDS;
    }
    seq_rng_seed(&rng, seed ^ SCN_RNG_SALT);
    twin_of[0] = (hs_node_t)seq_rng_below(&rng, N);
    for (round = 0; round <= rounds; round++) {
        uint32_t *g = &partitions[round * REPLICAS];
        uint32_t twin_side = (uint32_t)seq_rng_below(&rng, 2);
        hs_node_t other = (hs_node_t)seq_rng_below(&rng, N);
        enum { CUT_LEADER, TWIN_LEADS, TOGETHER, TWINS_APART } kind;

        /* A Markov chain over kinds of round: a round whose leader is cut
         * off ends in a TC, and the round after it is where an
         * equivocating (or forking) leader can do harm, so it usually
         * follows. */
        if (round > 0 && prev_cut && seq_rng_percent(&rng, 80)) {
            kind = TWIN_LEADS;
        } else {
            uint64_t d = seq_rng_below(&rng, 100);
            kind = d < 35 ? CUT_LEADER : d < 60 ? TOGETHER : TWINS_APART;
        }
        prev_cut = kind == CUT_LEADER && other != twin_of[0];
        leaders[round] = kind == TWIN_LEADS ? twin_of[0] : other;
        for (r = 0; r < REPLICAS; r++) {
            switch (kind) {
            case CUT_LEADER:
                g[r] = r == other;
                break;
            case TWIN_LEADS:
            case TOGETHER:
                g[r] = 0;
                break;
            case TWINS_APART:
                if (r == twin_of[0]) {
                    g[r] = twin_side;
                } else if (r == N) {
                    g[r] = 1 - twin_side; /* Replica N is the twin. */
                } else {
                    g[r] = (uint32_t)seq_rng_below(&rng, 2);
                }
                break;
            }
        }
    }
    base_config(&c, seed, N, opt);
    /* Half the scenarios also let the twin fork: after a TC it proposes
     * on an older QC than its own, which only the vote rule stops. */
    c.twins_fork = seq_rng_percent(&rng, 50);
    c.n_twins = 1;
    c.twin_of = twin_of;
    c.base_timeout_ms = 300;
    c.max_timeout_ms = 1200;
    c.round_partitions = partitions;
    c.n_partition_rounds = rounds + 1;
    c.leader_schedule = leaders;
    c.n_schedule = rounds + 1;
    sim = start(&c, res);
    if (sim == NULL) {
        return;
    }
    sim_run_for(sim, 15 * 1000);
    if (sim_ok(res, sim, opt) && sim_max_qcs_per_round(sim) > 1) {
        fail(res, sim, opt, "twins: %u QCs in one round",
             sim_max_qcs_per_round(sim));
    }
    /* Liveness once the scenario is over and the network whole again,
     * with f = 1 Byzantine. */
    sim_heal(sim);
    expect_progress(sim, res, opt, 3, 20 * 1000, "twins, after healing");
    if (res->ok && sim_max_qcs_per_round(sim) > 1) {
        fail(res, sim, opt, "twins: %u QCs in one round",
             sim_max_qcs_per_round(sim));
    }
    finish(sim, res, opt);
}

unsigned scn_sweep(void (*fn)(uint64_t seed,
                              uint32_t n,
                              const struct scn_options *opt,
                              struct scn_result *res),
                   uint32_t n,
                   uint64_t first,
                   unsigned count,
                   const struct scn_options *opt,
                   struct scn_result *res)
{
    unsigned i;

    memset(res, 0, sizeof *res);
    res->ok = true;
    for (i = 0; i < count; i++) {
        fn(first + i, n, opt, res);
        if (!res->ok) {
            return i + 1;
        }
    }
    return count;
}
