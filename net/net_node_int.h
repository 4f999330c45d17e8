/* The validator process's insides, shared by its files (not a public
 * header):
 *   net_node.c    the loop turn, hs_io (staged writes, the outbox),
 *                 start-up and shutdown;
 *   net_rollup.c  the rollup path: the mempool, dissemination batches over
 *                 the mesh, payloads and namespace roots for the core,
 *                 materializing committed blocks into namespace entries,
 *                 and building namespace blocks with their proofs;
 *   net_http.c    the HTTP API (libmicrohttpd, external epoll);
 *   net_client.c  the client port (ZeroMQ ROUTER, proto/client.proto):
 *                 submissions with acks, tx queries, credit-based
 *                 subscriptions.
 *
 * All run on the one loop thread. The turn (net_node.c, (D1)):
 *   poll -> clock -> mesh drain (consensus frames, batches) -> client
 *   drain and HTTP (admissions) -> mempool tick (seal, stage batches) ->
 *   core tick -> rollup work (fetches, materializing commits) -> ONE store
 *   sync (unless the turn releases nothing, net_node.c (D6)) -> outbox
 *   flush -> acks and HTTP replies for what that sync made durable ->
 *   subscriptions and streams -> HTTP again.
 *
 * Durability tickets: an admission made while node->write_turn == T is on
 * disk once node->synced_turn >= T. A sync that leaves admitted
 * transactions outside a staged batch does not advance synced_turn
 * (net_rollup_covers_acks), so no ack ever runs ahead of the disk. */

#ifndef SEQ_NET_NET_NODE_INT_H
#define SEQ_NET_NET_NODE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "hs_core.h"
#include "hs_crypto.h"
#include "mp_pool.h"
#include "net_home.h"
#include "net_mesh.h"
#include "seq_client.h"
#include "seq_hash.h"
#include "store.h"

struct MHD_Daemon;
struct net_rollup;
struct net_client;
struct net_http;

struct node_stats {
    uint64_t turns;
    uint64_t frames_bad; /* Undecodable consensus frames. */
    uint64_t client_bad; /* Malformed client requests. */
    uint64_t client_requests;
    uint64_t commits;
    uint64_t http_requests;
    uint64_t syncs_deferred; /* Turns that released nothing (D6). */
};

struct commit_note {
    hs_height_t height;
    hs_round_t round;
    hs_node_t author;
    struct seq_hash id;
};

struct outbox_entry {
    hs_node_t to; /* OUTBOX_TO_ALL for a broadcast. */
    int type;     /* enum hs_msg_type, or 0 for a rollup frame. */
    hs_round_t round;
    struct seq_hash block_id; /* Votes: what was voted for. */
    hs_round_t high_qc_round; /* Timeouts: what was signed. */
    uint8_t *frame;
    size_t len;
};

#define OUTBOX_TO_ALL UINT32_MAX

struct net_node {
    struct net_config config;
    struct net_genesis genesis;
    struct net_node_key node_key;
    struct net_validator_key vkey;
    struct hs_validator_set validators;
    hs_node_t self;

    struct store *store;
    struct hs_crypto *crypto;
    struct hs_core *core;
    struct hs_io io;
    int io_error; /* First failed staged write of this turn. */

    void *zmq;
    struct net_mesh *mesh;
    struct net_client *client;
    struct MHD_Daemon *http;
    struct net_http *http_state;
    struct net_rollup *rollup;

    uint64_t now_ms;
    uint64_t deadline_ms;
    uint64_t write_turn;     /* Ticket of admissions made now. */
    uint64_t synced_turn;    /* Admissions with tickets <= this are durable. */
    uint64_t last_ticket;    /* The latest ticket handed out. */
    unsigned unsynced;       /* Turns since the last sync (D6), */
    uint64_t commits_synced; /* and stats.commits at it. */
    struct outbox_entry *outbox;
    size_t n_out, cap_out;
    struct commit_note *commits; /* This turn's, logged after the sync. */
    size_t n_commits, cap_commits;
    struct node_stats stats;
};

/* ---- net_node.c --------------------------------------------------------- */

void node_hex(const struct seq_hash *h, char out[2 * SEQ_HASH_LEN + 1]);
bool node_ready(const struct net_node *node);
json_t *node_status_json(const struct net_node *node);
char *node_metrics_text(const struct net_node *node); /* free() */
/* Queue an encoded frame (takes @frame, seq_malloc'ed) for @to or
 * OUTBOX_TO_ALL, sent after this turn's sync. */
void node_outbox_frame(struct net_node *node,
                       hs_node_t to,
                       uint8_t *frame,
                       size_t len);
/* One Prometheus metric with its HELP and TYPE lines, for /metrics: every
 * file's *_metrics() writes through these. */
void node_metric(FILE *f,
                 const char *type,
                 const char *name,
                 const char *help,
                 uint64_t value);
#define NODE_GAUGE(f, name, help, value) \
    node_metric((f), "gauge", (name), (help), (uint64_t)(value))
#define NODE_COUNTER(f, name, help, value) \
    node_metric((f), "counter", (name), (help), (uint64_t)(value))
/* Stage a store write's result: the first failure stops the node. */
void node_note_io(struct net_node *node, int rv, const char *what);

/* ---- net_rollup.c ------------------------------------------------------- */

/* Opens the mempool from genesis and recovers what the store holds
 * (batches not yet committed, the dedup window, our batch sequence,
 * commits not yet materialized). Call after the core is recovered. */
int net_rollup_open(struct net_node *node);
void net_rollup_close(struct net_node *node);

/* Admission (POST /v1/tx, Submit). 0 with *hash and *state (MP_TX_NEW,
 * PENDING or COMMITTED; a duplicate changes nothing); SEQ_ENOTFOUND
 * (unknown namespace), SEQ_ETOOBIG, SEQ_EFULL (retry after
 * net_rollup_retry_after_ms), SEQ_ENOMEM. A new transaction is durable
 * with ticket node->write_turn (see above). */
int net_rollup_submit(struct net_node *node,
                      uint64_t ns,
                      const uint8_t *payload,
                      size_t len,
                      struct seq_hash *hash,
                      enum mp_tx_state *state);
uint32_t net_rollup_retry_after_ms(const struct net_node *node);

/* Where a transaction is: MP_TX_COMMITTED with *height, *ns, *index (its
 * position among the namespace's entries at that height; only durable
 * commits are reported), MP_TX_PENDING, or MP_TX_UNKNOWN. */
enum mp_tx_state net_rollup_tx(struct net_node *node,
                               const struct seq_hash *hash,
                               uint64_t *height,
                               uint64_t *ns,
                               uint64_t *index);

/* The highest height whose namespace entries are durable: namespace
 * blocks up to it can be served. */
uint64_t net_rollup_height(const struct net_node *node);

/* Whether entries are staged above net_rollup_height: the next sync makes
 * them servable (D6). */
bool net_rollup_unserved(const struct net_node *node);

/* Bytes of stored batches read so far to serve namespace entries (R5):
 * what building namespace blocks cost the disk, for per-turn budgets. */
uint64_t net_rollup_read_bytes(const struct net_node *node);

/* The namespace block of @ns at @height (1..net_rollup_height), entries
 * and both proofs, owned by the caller (seqc_nsblock_free). Returns 0,
 * SEQ_EINVAL (namespace not in genesis), SEQ_ENOTFOUND (height 0 or
 * above net_rollup_height), SEQ_ECORRUPT / SEQ_EIO / SEQ_ENOMEM. */
int net_rollup_nsblock(struct net_node *node,
                       uint64_t ns,
                       uint64_t height,
                       struct seqc_nsblock *out);

/* Loop hooks. */
void net_rollup_on_frame(struct net_node *node,
                         hs_node_t from,
                         const uint8_t *frame,
                         size_t len);               /* A non-consensus frame. */
void net_rollup_before_sync(struct net_node *node); /* Seal, fetch, commit. */
bool net_rollup_covers_acks(const struct net_node *node);
/* True while sealed batches wait for room among our held ones, which only
 * a commit (hence a message) makes: another turn now cannot cover acks. */
bool net_rollup_acks_blocked(const struct net_node *node);
void net_rollup_after_sync(struct net_node *node);
void net_rollup_metrics(const struct net_node *node, FILE *f);

/* hs_io hooks it implements (make_payload, check_payload, commit_cert),
 * and what net_node.c's persist_block and commit tell it. */
void net_rollup_io(struct hs_io *io);
void net_rollup_on_block(struct net_node *node, const struct hs_block *b);
void net_rollup_on_commit(struct net_node *node, const struct hs_block *b);
/* After a restart: queue the blocks committed above the last materialized
 * height, up to @committed. */
int net_rollup_recover_commits(struct net_node *node, uint64_t committed);

/* ---- net_client.c ------------------------------------------------------- */

int net_client_open(struct net_node *node); /* Binds config.client_listen. */
void net_client_close(struct net_node *node);
void *net_client_socket(struct net_node *node); /* For zmq_poll. */
/* Whether the last turn left namespace blocks it could send now (C5). */
bool net_client_has_work(const struct net_node *node);
void net_client_drain(struct net_node *node); /* Requests (admissions). */
/* After the sync: acks whose ticket is durable, then subscription blocks
 * within each subscriber's credits. */
void net_client_after_sync(struct net_node *node);
void net_client_metrics(const struct net_node *node, FILE *f);

/* ---- net_http.c --------------------------------------------------------- */

int net_http_open(struct net_node *node, char errmsg[SEQ_ERRMSG_LEN]);
void net_http_close(struct net_node *node);
int net_http_epoll_fd(struct net_node *node);
uint64_t net_http_timeout_ms(struct net_node *node, uint64_t max);
void net_http_run(struct net_node *node);
/* After the sync: resume requests whose ticket is durable and streams with
 * new heights, then run MHD so they are answered. */
void net_http_after_sync(struct net_node *node);
void net_http_metrics(const struct net_node *node, FILE *f);

#endif /* SEQ_NET_NET_NODE_INT_H */
