/* The simulator's insides, shared by sim.c (the engine: event heap,
 * network, crashes, queries) and sim_io.c (the hs_io each replica's core
 * talks to, and the message copies it makes). Tests use sim.h only. */

#ifndef SEQ_TESTS_SIM_SIM_INTERNAL_H
#define SEQ_TESTS_SIM_SIM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "fake_crypto.h"
#include "hs_core.h"
#include "hs_io.h"
#include "seq_hash.h"
#include "seq_rng.h"
#include "sim.h"
#include "sim_check.h"
#include "store.h"

#define SIM_RING     200 /* Events kept for the failure dump. */
#define SIM_TEXT     120 /* Bytes of a core trace line kept. */
#define SIM_EPOCH    1
#define SIM_NONE     UINT32_MAX       /* No replica: an injected message. */
#define SIM_MEMO     32               /* Proposals remembered for twins_fork. */
#define SIM_ISOLATED (UINT32_MAX / 2) /* Groups of isolated replicas. */

enum sim_event_kind {
    SIM_EV_DELIVER = 1,
    SIM_EV_TIMER,
    SIM_EV_RESTART,
    SIM_EV_CALL,
};

/* What the event ring records; each record but TRACE enters the hash. */
enum sim_rec_kind {
    SIM_REC_DELIVER = 1,
    SIM_REC_LOST, /* Receiver down or cut off when the message arrived. */
    SIM_REC_TIMER,
    SIM_REC_BOOT,  /* Start or restart. */
    SIM_REC_CRASH, /* rv: one of enum sim_crash_cause. */
    SIM_REC_STOP,  /* Sync failed: the replica stops for good. */
    SIM_REC_COMMIT,
    SIM_REC_CALL,
    SIM_REC_TRACE,
};

enum sim_crash_cause {
    SIM_CRASH_API = 1,
    SIM_CRASH_RANDOM,
    SIM_CRASH_MID_TURN,
};

struct sim_msg {
    struct sim_msg *next_free;
    uint32_t refs;
    uint32_t from; /* Sending replica, or SIM_NONE when injected. */
    hs_node_t from_node;
    struct hs_msg msg;
};

struct sim_event {
    uint64_t time;
    uint64_t seq;
    uint32_t kind;
    uint32_t replica;
    uint64_t gen; /* Timers and restarts: the generation they belong to. */
    struct sim_msg *msg;
    void (*fn)(struct sim *sim, void *arg);
    void *arg;
};

struct sim_rec {
    uint64_t time;
    uint64_t seq;
    uint32_t kind;
    uint32_t type; /* enum hs_msg_type, or 0. */
    uint32_t from;
    uint32_t to;
    uint64_t round;
    uint64_t height;
    struct seq_hash id;
    int32_t rv;
    char text[SIM_TEXT];
};

/* The justify QC of a recently released proposal (twins_fork). */
struct sim_memo {
    struct seq_hash block_id;
    struct hs_qc justify;
};

struct sim_send {
    struct sim_msg *m;
    bool broadcast;
    hs_node_t to;
};

struct sim_replica {
    struct sim *sim;
    uint32_t index;
    hs_node_t node;
    bool alive;
    bool stopped; /* Its sync failed: down until sim_restart(). */
    struct hs_core *core;
    struct store *store;
    struct hs_io io;
    struct fake_crypto fake;
    struct hs_crypto *secp;
    const struct hs_crypto *crypto;
    uint64_t timer_gen;
    uint64_t restart_gen;
    uint64_t deadline;
    bool timer_dirty; /* set_timer() ran this turn. */
    uint32_t boots;
    hs_height_t committed;
    uint32_t group; /* Explicit partition group. */
    int io_rv;      /* First store error of this turn. */
    struct sim_send *out;
    size_t n_out, cap_out;
};

struct sim {
    struct sim_config config; /* Arrays point at the copies below. */
    hs_node_t *twin_of;
    uint32_t *round_partitions;
    hs_node_t *leader_schedule;
    uint32_t n_nodes, n_replicas;
    uint32_t max_down, n_down;
    unsigned drop_percent, dup_percent;
    uint32_t crash_mid_turn_ppm, crash_ppm; /* Per million events. */
    struct hs_validator_set validators;
    struct hs_config core_config;
    struct seq_rng rng;
    uint64_t now;
    uint64_t next_seq;
    uint64_t cur_seq; /* Seq of the event being run. */
    struct sim_event *heap;
    size_t n_heap, cap_heap;
    struct sim_replica *replicas;
    struct sim_msg *free_msgs;
    struct sim_range *links; /* n_replicas^2 overrides, or NULL. */
    struct sim_memo *memo;   /* SIM_MEMO entries with twins_fork, or NULL. */
    size_t n_memo;           /* Ever written; the ring keeps the last. */
    struct fake_crypto verifier_fake;
    struct hs_crypto *verifier_secp;
    bool check_ready;
    struct sim_check chk;
    struct seq_sha256_ctx trace;
    struct sim_stats stats;
    size_t n_recs; /* Records ever written; the ring holds the last ones. */
    struct sim_rec ring[SIM_RING];
};

/* A deep copy of @src from replica @from (SIM_NONE: injected as key
 * @from_node) with one reference; NULL (and a failure recorded) when out
 * of memory. The last sim_msg_unref() frees it into the pool. */
struct sim_msg *sim_msg_new(struct sim *sim,
                            uint32_t from,
                            hs_node_t from_node,
                            const struct hs_msg *src);
void sim_msg_unref(struct sim *sim, struct sim_msg *m);

/* The next record of the event ring, zeroed but for time, seq and kind;
 * sim_rec_hash() enters a finished one into the trace hash. */
struct sim_rec *sim_rec_new(struct sim *sim, uint32_t kind);
void sim_rec_hash(struct sim *sim, const struct sim_rec *rec);

/* Fill in r->io for replica @r (r->sim and the config set already). */
void sim_io_init(struct sim_replica *r);

#endif /* SEQ_TESTS_SIM_SIM_INTERNAL_H */
