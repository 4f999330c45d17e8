/* The deterministic simulator: N replicas of the consensus core in one
 * process, over a simulated network, on one virtual clock, driven by one
 * seeded PRNG (raft's fixture, Twins). Every replica has its own hs_core, an
 * in-memory store (store_mem) and an hs_io that stages writes in that store
 * and queues messages in an outbox. The simulator pops one event at a time
 * from a heap ordered by (time, seq) -- a delivery, a timer, a restart or a
 * scheduled call -- feeds it to one core, syncs that replica's store, and
 * only then releases the outbox into the network (the loop turn of STYLE
 * snippet 6). Faults: latency, drop, duplicate (hence reorder), partitions
 * (explicit, or per round for Twins), crashes that lose unsynced writes,
 * crashes between persist and send, and Twins: extra replicas that run with
 * an existing validator's key.
 *
 * Safety is checked after every event (sim_check.c): S1 synced safety state
 * covers every outgoing vote and timeout; S2 no honest key signs two votes
 * or two timeouts that conflict in one round; S3 every certificate carried
 * has a quorum of distinct valid signers; S4 agreement per height; S5
 * committed logs only grow. The first violation stops the run; sim_failure()
 * says what broke and sim_dump() prints the last 200 events. Nothing here
 * reads the real clock or calls rand(): one seed replays one run exactly,
 * and sim_trace_hash() proves it.
 *
 * Replicas are numbered [0, n_nodes + n_twins). Replica r < n_nodes runs
 * validator key r; replica n_nodes + i is a twin running key twin_of[i]. A
 * validator with a twin is Byzantine; all other validators are honest, and
 * the invariants are checked among honest replicas only. */

#ifndef SEQ_TESTS_SIM_SIM_H
#define SEQ_TESTS_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hs_core.h"
#include "hs_types.h"
#include "seq_hash.h"
#include "store.h"

struct sim; /* Opaque. */

struct sim_range {
    uint64_t min, max; /* Inclusive; drawn uniformly. */
};

struct sim_config {
    uint32_t n_nodes;            /* Validators, 1..HS_MAX_VALIDATORS. */
    uint32_t n_twins;            /* Extra replicas... */
    const hs_node_t *twin_of;    /* ...running these keys. Copied. */
    uint64_t seed;               /* The one source of randomness. */
    struct sim_range latency_ms; /* Per message copy; {0, 0} means {1, 1}. */
    unsigned drop_percent;       /* Per message copy, until gst_ms. */
    unsigned dup_percent;        /* Deliver twice, independent delays. */
    uint64_t gst_ms;             /* Drops and dups stop here; 0: never. */
    uint64_t base_timeout_ms;    /* hs_config.base_timeout_ms; 0: core's. */
    uint64_t max_timeout_ms;     /* hs_config.max_timeout_ms; 0: core's. */
    bool real_crypto;            /* secp256k1 keys instead of fake ones. */
    /* Chances per million events. crash_mid_turn: the replica that ran the
     * event dies after its core ran but before the sync and the flush (a
     * kill between persist and send): the turn's staged writes and
     * messages are lost. crash: after the event, a random live replica
     * dies (between turns: nothing unsynced to lose). Either way it
     * restarts after restart_delay_ms. */
    uint32_t crash_mid_turn_per_million;
    uint32_t crash_per_million;
    struct sim_range restart_delay_ms; /* {0, 0} means {100, 2000}. */
    /* Random crashes (both kinds above) only while fewer than this many
     * replicas are down; 0 means f of n_nodes (at least 1). */
    uint32_t max_down;
    /* Twins: group of each replica for messages of round r <
     * n_partition_rounds, at round_partitions[r * n_replicas + replica]; a
     * message crosses only within a group. Later rounds are connected.
     * Copied. Proposal: block round; vote, timeout: their round; block
     * requests and responses: the sender's current round. Replicas that
     * stall inside those rounds stay partitioned until sim_heal(). */
    const uint32_t *round_partitions;
    uint32_t n_partition_rounds;
    const hs_node_t *leader_schedule; /* hs_config.leader_schedule; copied */
    size_t n_schedule;
    /* Round-robin leaders after the schedule (hs_config.leader_reputation
     * off); by default, as in seqd, leaders are elected (hs_core.c L1). */
    bool round_robin;
    /* Twins that fork: a twin replica (not the original it copies) that
     * proposes after a timeout rewrites its proposal to extend a QC one or
     * two below the one it should (keeping the TC), re-sealed and signed
     * with its own key only, while the original proposes honestly. The vote
     * rule (justify round >= the TC's highest high_qc_round) must refuse
     * the fork; a core that skips the lock check is caught by S4. */
    bool twins_fork;
    /* Idle chain (hs_core.c (P1)): blocks carry empty payloads, the driver
     * never has payload, and leaders pace empty blocks by this; 0: off. */
    uint64_t idle_block_ms;
    bool verbose; /* Keep the cores' trace lines in the event ring. */
    /* Optional: called on every commit by every replica, after the checks;
     * @block is borrowed for the call. */
    void (*on_commit)(void *arg,
                      struct sim *sim,
                      uint32_t replica,
                      const struct hs_block *block);
    void *on_commit_arg;
};

struct sim_stats {
    uint64_t events;     /* Events processed (sim_events()). */
    uint64_t sent;       /* Message copies put on the wire. */
    uint64_t delivered;  /* Copies handed to a core. */
    uint64_t dropped;    /* Random drops, partitions, dead receivers. */
    uint64_t duplicated; /* Extra copies. */
    uint64_t timers;     /* hs_core_on_tick calls. */
    uint64_t crashes;    /* Every kind. */
    uint64_t restarts;
    uint64_t commits;      /* commit() calls over all replicas. */
    uint64_t commit_certs; /* commit_cert() calls: one per 2-chain. */
    uint64_t forks;        /* Proposals rewritten by twins_fork. */
};

/* Create the network and start every replica at virtual time 0. Copies
 * @config and its arrays. NULL when out of memory or @config is invalid (no
 * nodes, too many, a twin of a missing key, min > max). */
struct sim *sim_new(const struct sim_config *config);
void sim_free(struct sim *sim); /* NULL is fine. */

/* Run one event. False when no event is left or an invariant failed (then
 * sim_failure() is set and every later call is a no-op). */
bool sim_step(struct sim *sim);
/* Run every event up to now + @ms, then set the clock to now + @ms. */
void sim_run_for(struct sim *sim, uint64_t ms);
/* Run until @pred holds (checked first, then after every event) or @max_ms
 * of virtual time passed. True iff @pred held and nothing failed. */
bool sim_run_until(struct sim *sim,
                   bool (*pred)(struct sim *sim, void *arg),
                   void *arg,
                   uint64_t max_ms);
/* Run @fn(@sim, @arg) as an event at virtual time @at_ms (not before now):
 * a scenario's scripted faults, in order with the rest. */
void sim_schedule(struct sim *sim,
                  uint64_t at_ms,
                  void (*fn)(struct sim *sim, void *arg),
                  void *arg);

/* Network faults. sim_partition and sim_isolate act when a message is
 * delivered: one in flight across a new cut is lost, and one in flight
 * when the cut heals arrives. Round partitions, drops and duplicates are
 * decided when a message is released. Groups are arbitrary numbers; a
 * message crosses only between replicas of one group. */
void sim_partition(struct sim *sim, const uint32_t *group_of_replica);
void sim_isolate(struct sim *sim, uint32_t replica);
/* Undo sim_partition and sim_isolate, and end the config's round
 * partitions (Twins): a replica stuck in a partitioned round would stay cut
 * off for good otherwise, since the cut follows the message's round. Drops
 * and duplicates are not changed (sim_set_faults, gst_ms). */
void sim_heal(struct sim *sim);
void sim_set_faults(struct sim *sim, unsigned drop_percent, unsigned dup_pct);
/* Change the random crash chances of the config (per million events);
 * 0, 0 stops random crashes (pending restarts still happen). */
void sim_set_crash_rates(struct sim *sim,
                         uint32_t mid_turn_per_million,
                         uint32_t per_event_per_million);
void sim_set_link_latency(struct sim *sim,
                          uint32_t from_replica,
                          uint32_t to_replica,
                          struct sim_range latency_ms);

/* Crash now: the store forgets unsynced writes (none, between events), the
 * core is freed, messages on the wire stay there and messages to it are
 * lost. No effect on a crashed replica. Cancels a pending random restart. */
void sim_crash(struct sim *sim, uint32_t replica);
/* Restart from the store (store_recovery_load) as seqd would. No effect on
 * a live replica. A restart that fails is an invariant failure. */
void sim_restart(struct sim *sim, uint32_t replica);

/* Byzantine helpers. sim_make_byzantine excludes key @node from the
 * invariants (for scenarios that forge through sim_inject). sim_inject
 * delivers a deep copy of @msg to @to_replica after @delay_ms as if from
 * key @from_node, unchecked and unaffected by network faults. */
void sim_make_byzantine(struct sim *sim, hs_node_t node);
void sim_inject(struct sim *sim,
                hs_node_t from_node,
                uint32_t to_replica,
                const struct hs_msg *msg,
                uint64_t delay_ms);

/* Queries. */
uint64_t sim_now(const struct sim *sim);
uint64_t sim_seed(const struct sim *sim);
uint64_t sim_events(const struct sim *sim);
/* What a forger needs to build messages (hs_block_seal, the digests of
 * hs_verify.h, fake_crypto_init with the Byzantine key). */
const struct seq_hash *sim_chain_id(const struct sim *sim);
hs_epoch_t sim_epoch(const struct sim *sim);
const struct hs_validator_set *sim_validators(const struct sim *sim);
void sim_stats(const struct sim *sim, struct sim_stats *out);
uint32_t sim_n_replicas(const struct sim *sim);
hs_node_t sim_replica_node(const struct sim *sim, uint32_t replica);
bool sim_is_honest(const struct sim *sim, uint32_t replica);
bool sim_is_alive(const struct sim *sim, uint32_t replica);
/* NULL while crashed. Borrowed; valid until the replica crashes. */
struct hs_core *sim_core(struct sim *sim, uint32_t replica);
/* The replica's store_mem (e.g. for store_mem_fail_syncs); borrowed. A
 * replica whose sync fails stops for good, as seqd must. */
struct store *sim_store(struct sim *sim, uint32_t replica);
/* The live core's committed height, or the durable one while crashed. */
hs_height_t sim_committed_height(const struct sim *sim, uint32_t replica);
hs_height_t sim_min_honest_height(const struct sim *sim); /* Live ones. */
hs_height_t sim_max_honest_height(const struct sim *sim); /* Any. */
uint64_t sim_max_round(const struct sim *sim); /* Over live replicas. */
/* The max over rounds of how many distinct blocks were certified by QCs
 * of that round seen in any message or commit (Twins: an equivocating
 * leader must never get two, so this must stay <= 1). */
uint32_t sim_max_qcs_per_round(const struct sim *sim);
/* The block id every honest replica committed at @height; false if none
 * did yet. */
bool sim_committed_id(const struct sim *sim,
                      hs_height_t height,
                      struct seq_hash *out);

/* Predicates for sim_run_until. sim_all_agree: every live honest replica
 * is at the same committed height (S4 makes the logs equal).
 * sim_heights_at_least: every live honest replica committed at least
 * *(const hs_height_t *)arg. */
bool sim_all_agree(struct sim *sim, void *arg);
bool sim_heights_at_least(struct sim *sim, void *arg);

/* NULL, or what broke: "S4 agreement: ...". Valid until sim_free. */
const char *sim_failure(const struct sim *sim);
/* SHA-256 over every event (time, seq, kind, endpoints, message type and
 * round, proposal block ids) and every commit: same seed, same hash. */
void sim_trace_hash(const struct sim *sim, struct seq_hash *out);
/* Print the seed, the failure, each replica's state and the last 200
 * events (with the cores' trace lines when verbose) to @out. */
void sim_dump(const struct sim *sim, FILE *out);

/* For tests (tests/lib/harness.h must be included): on a violation, dump
 * the events and fail the test (harness_fail abandons it) with the
 * violation and the seed that replays it. */
#define SIM_ASSERT_OK(sim)                                                     \
    do {                                                                       \
        if (sim_failure(sim) != NULL) {                                        \
            sim_dump((sim), stderr);                                           \
            harness_fail(__FILE__, __LINE__,                                   \
                         "simulator: %s (replay: SEQ_TEST_SEED=%llu)",         \
                         sim_failure(sim), (unsigned long long)sim_seed(sim)); \
        }                                                                      \
    } while (0)

#endif /* SEQ_TESTS_SIM_SIM_H */
