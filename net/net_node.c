/* The validator process (net_node.h): it loads and checks the home
 * directory, recovers the consensus core from RocksDB, and drives it from
 * one loop on one thread. It is the hs_io of consensus/hs_io.h: the core's
 * persist_* calls become staged store writes, its messages go to an
 * outbox, and the loop releases the outbox only after the store synced.
 *
 * NOTES ON THE DESIGN
 * (D1) One loop turn: wait (zmq_poll, at most until the core's deadline),
 *      read the clock once, feed every ready input to the core, fire its
 *      timer if due, sync the store ONCE (group commit), then flush the
 *      outbox and serve HTTP. Redis orders AOF fsync before replies the same
 *      way. Nothing that depends on a write leaves before the write is
 *      durable: no vote from memory.
 * (D2) A failed sync stops the node with exit status 1. The outbox of that
 *      turn is dropped unsent.
 * (D3) A frame's sender is the index ZAP authenticated (net_mesh.h), never
 *      a field of the frame. Undecodable frames are counted and dropped.
 * (D4) HTTP runs in libmicrohttpd's external-poll mode on this thread (its
 *      epoll fd is one more poll item), after the sync: what it shows is
 *      durable, and it never races with the core.
 * (D5) Every vote and timeout released is logged ("sent vote" /
 *      "sent timeout" with its round and block or high QC round), so that
 *      tests can check from what the nodes sent that no key signed two
 *      different messages for one round.
 * (D6) A turn that releases nothing leaves its writes staged for the next
 *      turn's sync (turn_releases): no frame in the outbox, no commit since
 *      the last sync (counted by stats.commits, which cannot fail to
 *      count), no ticket handed out above synced_turn (every admission,
 *      hence every ack and 202 waiting, sets last_ticket), and no entries
 *      staged above the served height. Such a turn stored what peers sent
 *      (their batches, blocks fetched), certificates, proposals we did not
 *      vote for, or safety state with no message (our own vote when we
 *      lead the next round: our signature leaves only inside a QC, in a
 *      later proposal or timeout, which syncs first). Nothing seen outside
 *      depends on those until a vote, a proposal, an ack or a commit does,
 *      and one sync writes everything staged before it, atomically: after
 *      a crash the disk holds the state at the end of some synced turn, as
 *      before. Staged writes are readable, so the turn's work goes on as
 *      before; a peer has what a crash loses. At most MAX_UNSYNCED_TURNS
 *      turns in a row skip, so that what is staged stays bounded under a
 *      flood of batches. On a node with rollups at load, most turns are a
 *      peer's batch arriving: each was a sync. */

#define _POSIX_C_SOURCE 200809L
#include "net_node.h"
#include "net_node_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>
#include <microhttpd.h>
#include <zmq.h>

#include "hs_core.h"
#include "hs_crypto.h"
#include "net_home.h"
#include "net_mesh.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hex.h"
#include "seq_log.h"
#include "seq_random.h"
#include "store.h"
#include "store_recover.h"
#include "store_rocks.h"
#include "wire.h"

#define LOG_MOD             "node"
#define PATH_MAX_LEN        1024
#define MAX_FRAMES_PER_TURN 512
#define POLL_MAX_MS         200 /* Upper bound on one wait: SIGTERM latency. */
#define MAX_UNSYNCED_TURNS  16  /* (D6) */
#define IDLE_BLOCK_MS       100
#define POLL_ITEMS          (NET_MESH_POLL_MAX + 2)

static uint64_t clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void node_hex(const struct seq_hash *h, char out[2 * SEQ_HASH_LEN + 1])
{
    seq_hex_encode(h->bytes, SEQ_HASH_LEN, out);
}

/* ---- hs_io: staged writes ----------------------------------------------- */

static struct net_node *node_of(struct hs_io *io)
{
    return io->impl;
}

void node_note_io(struct net_node *node, int rv, const char *what)
{
    if (rv != 0 && node->io_error == 0) {
        node->io_error = rv;
        SEQ_LOGE(LOG_MOD, "%s failed: %s (%s)", what, seq_strerror(rv),
                 node->store->errmsg);
    }
}

static void io_persist_safety(struct hs_io *io, const struct hs_safety *st)
{
    struct net_node *node = node_of(io);
    node_note_io(node, store_put_safety(node->store, st), "store safety");
}

static void io_persist_block(struct hs_io *io, const struct hs_block *b)
{
    struct net_node *node = node_of(io);
    node_note_io(node, store_put_block(node->store, b), "store block");
    net_rollup_on_block(node, b);
}

static void io_persist_qc(struct hs_io *io, const struct hs_qc *qc, bool high)
{
    struct net_node *node = node_of(io);

    node_note_io(node, store_put_qc(node->store, qc), "store qc");
    if (high) {
        node_note_io(node, store_put_high_qc(node->store, qc), "store high qc");
    }
}

static void io_persist_tc(struct hs_io *io, const struct hs_tc *tc)
{
    struct net_node *node = node_of(io);
    node_note_io(node, store_put_high_tc(node->store, tc), "store high tc");
}

static void io_commit(struct hs_io *io,
                      const struct hs_block *block,
                      const struct hs_qc *qc)
{
    struct net_node *node = node_of(io);
    struct commit_note *note;

    node_note_io(node, store_put_block(node->store, block), "store block");
    node_note_io(node, store_put_qc(node->store, qc), "store qc");
    node_note_io(node, store_put_commit(node->store, block->height, &block->id),
                 "store commit");
    node->stats.commits++;
    net_rollup_on_commit(node, block);
    /* Logged once durable (after the turn's sync), like everything else
     * the outside world sees. */
    if (node->n_commits == node->cap_commits) {
        size_t cap = node->cap_commits == 0 ? 16 : node->cap_commits * 2;
        struct commit_note *p =
            seq_realloc(node->commits, cap * sizeof *node->commits);
        if (p == NULL) {
            return; /* Only the log line is lost. */
        }
        node->commits = p;
        node->cap_commits = cap;
    }
    note = &node->commits[node->n_commits++];
    note->height = block->height;
    note->round = block->round;
    note->author = block->author;
    note->id = block->id;
}

static void log_commits(struct net_node *node)
{
    char hash[2 * SEQ_HASH_LEN + 1];
    char kv[200];
    size_t i;

    for (i = 0; i < node->n_commits; i++) {
        const struct commit_note *c = &node->commits[i];
        node_hex(&c->id, hash);
        snprintf(kv, sizeof kv,
                 "height=%" PRIu64 " round=%" PRIu64
                 " hash=%.16s author=%" PRIu32,
                 c->height, c->round, hash, c->author);
        seq_log(SEQ_LOG_INFO, "consensus", kv, "commit");
    }
    node->n_commits = 0;
}

static int io_load_committed(struct hs_io *io,
                             hs_height_t height,
                             struct hs_block *out)
{
    struct net_node *node = node_of(io);
    struct seq_hash id;
    int rv;

    rv = store_get_commit(node->store, height, &id);
    if (rv != 0) {
        return rv;
    }
    return store_get_block(node->store, &id, out);
}

static void io_set_timer(struct hs_io *io, uint64_t deadline_ms)
{
    node_of(io)->deadline_ms = deadline_ms;
}

static void io_trace(struct hs_io *io, int level, const char *text)
{
    (void)io;
    seq_log(level >= 3 ? SEQ_LOG_WARN : SEQ_LOG_DEBUG, "consensus", NULL, "%s",
            text);
}

/* ---- hs_io: the outbox -------------------------------------------------- */

static void outbox_add(struct net_node *node,
                       hs_node_t to,
                       const struct hs_msg *msg)
{
    struct outbox_entry *e;
    int rv;

    if (node->n_out == node->cap_out) {
        size_t cap = node->cap_out == 0 ? 32 : node->cap_out * 2;
        struct outbox_entry *p =
            seq_realloc(node->outbox, cap * sizeof *node->outbox);
        if (p == NULL) {
            SEQ_LOGW(LOG_MOD, "outbox: out of memory, message dropped");
            return;
        }
        node->outbox = p;
        node->cap_out = cap;
    }
    e = &node->outbox[node->n_out];
    memset(e, 0, sizeof *e);
    rv = wire_encode_msg(msg, &e->frame, &e->len);
    if (rv != 0) {
        SEQ_LOGW(LOG_MOD, "encode %s: %s", hs_msg_type_name(msg->type),
                 seq_strerror(rv));
        return;
    }
    e->to = to;
    e->type = msg->type;
    if (msg->type == HS_MSG_VOTE) {
        e->round = msg->u.vote.round;
        e->block_id = msg->u.vote.block_id;
    } else if (msg->type == HS_MSG_TIMEOUT) {
        e->round = msg->u.timeout.round;
        e->high_qc_round = msg->u.timeout.high_qc_round;
    }
    node->n_out++;
}

void node_outbox_frame(struct net_node *node,
                       hs_node_t to,
                       uint8_t *frame,
                       size_t len)
{
    struct outbox_entry *e;

    if (node->n_out == node->cap_out) {
        size_t cap = node->cap_out == 0 ? 32 : node->cap_out * 2;
        struct outbox_entry *p =
            seq_realloc(node->outbox, cap * sizeof *node->outbox);
        if (p == NULL) {
            SEQ_LOGW(LOG_MOD, "outbox: out of memory, frame dropped");
            seq_free(frame);
            return;
        }
        node->outbox = p;
        node->cap_out = cap;
    }
    e = &node->outbox[node->n_out++];
    memset(e, 0, sizeof *e);
    e->to = to;
    e->frame = frame;
    e->len = len;
}

static void io_send(struct hs_io *io, hs_node_t to, const struct hs_msg *msg)
{
    outbox_add(node_of(io), to, msg);
}

static void io_broadcast(struct hs_io *io, const struct hs_msg *msg)
{
    outbox_add(node_of(io), OUTBOX_TO_ALL, msg);
}

/* (D5): what this key signed, as it leaves. */
static void log_signed(const struct net_node *node,
                       const struct outbox_entry *e)
{
    char hash[2 * SEQ_HASH_LEN + 1];
    char kv[200];

    if (e->type == HS_MSG_VOTE) {
        node_hex(&e->block_id, hash);
        snprintf(kv, sizeof kv,
                 "validator=%" PRIu32 " round=%" PRIu64 " block=%s", node->self,
                 e->round, hash);
        seq_log(SEQ_LOG_INFO, "consensus", kv, "sent vote");
    } else if (e->type == HS_MSG_TIMEOUT) {
        snprintf(kv, sizeof kv,
                 "validator=%" PRIu32 " round=%" PRIu64
                 " high_qc_round=%" PRIu64,
                 node->self, e->round, e->high_qc_round);
        seq_log(SEQ_LOG_INFO, "consensus", kv, "sent timeout");
    }
}

/* (D1): only after the sync. */
static void outbox_flush(struct net_node *node)
{
    size_t i;
    hs_node_t peer;

    for (i = 0; i < node->n_out; i++) {
        struct outbox_entry *e = &node->outbox[i];
        log_signed(node, e);
        if (e->to == OUTBOX_TO_ALL) {
            for (peer = 0; peer < node->validators.n; peer++) {
                if (peer != node->self) {
                    net_mesh_send(node->mesh, peer, e->frame, e->len);
                }
            }
        } else if (e->to < node->validators.n && e->to != node->self) {
            net_mesh_send(node->mesh, e->to, e->frame, e->len);
        }
        seq_free(e->frame);
    }
    node->n_out = 0;
}

static void outbox_drop(struct net_node *node)
{
    size_t i;

    for (i = 0; i < node->n_out; i++) {
        seq_free(node->outbox[i].frame);
    }
    node->n_out = 0;
}

/* ---- Status, shared by HTTP and the client socket ---------------------- */

bool node_ready(const struct net_node *node)
{
    uint32_t connected = net_mesh_peers(node->mesh) + 1;

    return !hs_core_catching_up(node->core) &&
           connected >= hs_quorum(node->validators.n);
}

json_t *node_status_json(const struct net_node *node)
{
    const struct hs_block *tip = hs_core_committed_tip(node->core);
    hs_round_t round = hs_core_round(node->core);
    char genesis[2 * SEQ_HASH_LEN + 1], hash[2 * SEQ_HASH_LEN + 1];

    node_hex(&node->genesis.hash, genesis);
    node_hex(&tip->id, hash);
    return json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:s, s:I, "
        "s:I}",
        "chain_id", node->genesis.chain_id, "genesis_hash", genesis, "moniker",
        node->config.moniker, "validator", (json_int_t)node->self, "height",
        (json_int_t)tip->height, "round", (json_int_t)round, "epoch",
        (json_int_t)node->genesis.epoch, "leader",
        (json_int_t)hs_core_leader(node->core, round), "peers",
        (json_int_t)net_mesh_peers(node->mesh), "catching_up",
        hs_core_catching_up(node->core), "ready", node_ready(node),
        "committed_hash", hash, "validators", (json_int_t)node->validators.n,
        "rollup_height", (json_int_t)net_rollup_height(node));
}

void node_metric(FILE *f,
                 const char *type,
                 const char *name,
                 const char *help,
                 uint64_t value)
{
    fprintf(f, "# HELP seq_%s %s\n# TYPE seq_%s %s\nseq_%s %" PRIu64 "\n", name,
            help, name, type, name, value);
}

char *node_metrics_text(const struct net_node *node)
{
    const struct hs_core_stats *cs = hs_core_stats(node->core);
    struct net_mesh_stats ms;
    struct store_rocks_stats rs;
    char *text = NULL;
    size_t size = 0;
    FILE *f;

    net_mesh_stats(node->mesh, &ms);
    memset(&rs, 0, sizeof rs);
    store_rocks_stats(node->store, &rs);
    f = open_memstream(&text, &size);
    if (f == NULL) {
        return NULL;
    }
    NODE_GAUGE(f, "height", "Committed height.",
               hs_core_committed_height(node->core));
    NODE_GAUGE(f, "round", "Current round.", hs_core_round(node->core));
    NODE_GAUGE(f, "peers", "Validators connected with a matching genesis.",
               net_mesh_peers(node->mesh));
    NODE_GAUGE(f, "catching_up", "1 while fetching missing blocks.",
               hs_core_catching_up(node->core));
    NODE_COUNTER(f, "blocks_committed_total", "Blocks committed.",
                 node->stats.commits);
    NODE_COUNTER(f, "proposals_sent_total", "Proposals sent.",
                 cs->proposals_sent);
    NODE_COUNTER(f, "votes_sent_total", "Votes sent.", cs->votes_sent);
    NODE_COUNTER(f, "timeouts_sent_total", "Timeouts sent.", cs->timeouts_sent);
    NODE_COUNTER(f, "local_timeouts_total", "Round timers that fired.",
                 cs->local_timeouts);
    NODE_COUNTER(f, "leaders_elected_total",
                 "Rounds given a leader by reputation, not round-robin.",
                 cs->leaders_elected);
    NODE_COUNTER(f, "msgs_bad_total",
                 "Consensus messages that failed validation.", cs->msgs_bad);
    NODE_COUNTER(f, "msgs_stale_total", "Consensus messages for older rounds.",
                 cs->msgs_stale);
    NODE_COUNTER(f, "frames_bad_total", "Undecodable frames from validators.",
                 node->stats.frames_bad);
    NODE_COUNTER(f, "client_bad_total",
                 "Malformed requests on the client port.",
                 node->stats.client_bad);
    NODE_COUNTER(f, "p2p_dropped_bad_total",
                 "Malformed envelopes on the p2p port.", ms.dropped_bad);
    NODE_COUNTER(f, "p2p_dropped_full_total",
                 "Frames dropped: peer queue full.", ms.dropped_full);
    NODE_COUNTER(f, "p2p_dropped_mismatch_total",
                 "Frames dropped: peer with another genesis.",
                 ms.dropped_mismatch);
    NODE_COUNTER(f, "zap_denied_total",
                 "Connections refused: key not in genesis.", ms.zap_denied);
    NODE_COUNTER(f, "store_syncs_total",
                 "Store syncs that wrote a batch (one per "
                 "loop turn with writes).",
                 rs.syncs);
    NODE_COUNTER(f, "store_sync_microseconds_total",
                 "Time spent in store syncs.", rs.sync_us_total);
    NODE_GAUGE(f, "store_sync_microseconds_max", "Longest store sync.",
               rs.sync_us_max);
    NODE_COUNTER(f, "store_sync_bytes_total", "Bytes written by store syncs.",
                 rs.sync_bytes_total);
    NODE_COUNTER(f, "store_tx_folds_total",
                 "Tx index table files written and ingested.", rs.tx_folds);
    NODE_COUNTER(f, "store_tx_folded_total",
                 "Tx index records in those table files.", rs.tx_fold_records);
    NODE_GAUGE(f, "store_tx_fold_microseconds_max",
               "Longest tx index fold (its own thread).", rs.tx_fold_us_max);
    NODE_GAUGE(f, "store_tx_unfolded",
               "Tx index records synced but not folded yet (in memory).",
               rs.tx_unfolded);
    NODE_COUNTER(f, "loop_turns_total", "Loop turns (poll, feed, sync, flush).",
                 node->stats.turns);
    NODE_COUNTER(f, "syncs_deferred_total",
                 "Loop turns that released nothing and left what they "
                 "wrote staged for a later sync.",
                 node->stats.syncs_deferred);
    NODE_COUNTER(f, "http_requests_total", "HTTP requests served.",
                 node->stats.http_requests);
    NODE_COUNTER(f, "client_requests_total",
                 "Requests answered on the client port.",
                 node->stats.client_requests);
    net_rollup_metrics(node, f);
    net_client_metrics(node, f);
    net_http_metrics(node, f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- The loop turn (D1) ---------------------------------------------------
 */

static void mesh_drain(struct net_node *node)
{
    const uint8_t *frame;
    struct hs_msg msg;
    hs_node_t from;
    size_t len;
    unsigned n;

    for (n = 0; n < MAX_FRAMES_PER_TURN; n++) {
        if (net_mesh_recv(node->mesh, &from, &frame, &len) != 1) {
            return;
        }
        if (wire_frame_type(frame, len) >= WIRE_FRAME_BATCHES) {
            net_rollup_on_frame(node, from, frame, len);
            continue;
        }
        if (wire_decode_msg(frame, len, &msg) != 0) {
            node->stats.frames_bad++; /* (D3) */
            continue;
        }
        hs_core_on_message(node->core, node->now_ms, from, &msg);
        hs_msg_free(&msg);
    }
}

static int poll_timeout(struct net_node *node)
{
    uint64_t now = clock_ms();
    uint64_t wait = POLL_MAX_MS;

    if (node->deadline_ms <= now || net_client_has_work(node)) {
        return 0;
    }
    if (node->deadline_ms - now < wait) {
        wait = node->deadline_ms - now;
    }
    /* Admissions wait for the next sync: take the next turn at once (1 ms
     * rather than 0). Not while our batches wait for room among the held
     * ones: only a commit makes it, and it comes with a message, so a
     * stalled chain would have us turn a thousand times a second for
     * nothing. */
    if (node->last_ticket > node->synced_turn && wait > 1 &&
        !net_rollup_acks_blocked(node)) {
        wait = 1;
    }
    return (int)net_http_timeout_ms(node, wait);
}

/* Whether this turn must sync before its end (D6). */
static bool turn_releases(const struct net_node *node)
{
    return node->n_out > 0 || node->stats.commits != node->commits_synced ||
           node->last_ticket > node->synced_turn || net_rollup_unserved(node) ||
           node->unsynced >= MAX_UNSYNCED_TURNS;
}

static int loop_turn(struct net_node *node)
{
    zmq_pollitem_t items[POLL_ITEMS];
    size_t n_items;
    int rv;

    n_items = net_mesh_poll_items(node->mesh, items);
    items[n_items].socket = net_client_socket(node);
    items[n_items].fd = 0;
    items[n_items].events = ZMQ_POLLIN;
    items[n_items].revents = 0;
    n_items++;
    items[n_items].socket = NULL;
    items[n_items].fd = net_http_epoll_fd(node);
    items[n_items].events = ZMQ_POLLIN;
    items[n_items].revents = 0;
    n_items++;

    rv = zmq_poll(items, (int)n_items, poll_timeout(node));
    if (rv < 0 && zmq_errno() != EINTR) {
        SEQ_LOGE(LOG_MOD, "zmq_poll: %s", zmq_strerror(zmq_errno()));
        return SEQ_EIO;
    }
    node->now_ms = clock_ms();
    node->stats.turns++;
    mesh_drain(node);
    net_client_drain(node);
    net_http_run(node);
    if (node->now_ms >= node->deadline_ms) {
        hs_core_on_tick(node->core, node->now_ms);
    }
    net_rollup_before_sync(node);
    if (node->io_error != 0) {
        outbox_drop(node); /* (D2) */
        node->n_commits = 0;
        return node->io_error;
    }
    if (!turn_releases(node)) {
        node->unsynced++;
        node->stats.syncs_deferred += store_rocks_staged(node->store);
    } else {
        rv = store_sync(node->store);
        if (rv != 0) {
            SEQ_LOGE(LOG_MOD,
                     "store sync failed: %s (%s); stopping: a replica "
                     "that cannot persist must not vote",
                     seq_strerror(rv), node->store->errmsg);
            outbox_drop(node); /* (D2) */
            return rv;
        }
        node->unsynced = 0;
        node->commits_synced = node->stats.commits;
        if (net_rollup_covers_acks(node)) {
            node->synced_turn = node->write_turn++;
        }
    }
    outbox_flush(node);
    log_commits(node);
    /* What clients see comes after the sync (D4). */
    net_rollup_after_sync(node);
    net_client_after_sync(node);
    net_http_after_sync(node);
    return SEQ_OK;
}

/* ---- Start-up: the home directory and the checks before any vote ----------
 */

static int home_path(char out[PATH_MAX_LEN], const char *home, const char *name)
{
    int n = snprintf(out, PATH_MAX_LEN, "%s/%s", home, name);

    return n < 0 || n >= PATH_MAX_LEN ? SEQ_EINVAL : SEQ_OK;
}

static int load_home(struct net_node *node, const char *home)
{
    char path[PATH_MAX_LEN], errmsg[SEQ_ERRMSG_LEN] = "";
    int rv;

    rv = home_path(path, home, "config.toml");
    if (rv == 0) {
        rv = net_config_load(path, &node->config, errmsg);
    }
    if (rv == 0 && (rv = home_path(path, home, "genesis.json")) == 0) {
        rv = net_genesis_load(path, &node->genesis, errmsg);
    }
    if (rv == 0 && (rv = home_path(path, home, "node_key.json")) == 0) {
        rv = net_node_key_load(path, &node->node_key, errmsg);
    }
    if (rv == 0 &&
        (rv = home_path(path, home, "priv_validator_key.json")) == 0) {
        rv = net_validator_key_load(path, &node->vkey, errmsg);
    }
    if (rv != 0) {
        SEQ_LOGE(LOG_MOD, "cannot load home %s: %s", home,
                 errmsg[0] != '\0' ? errmsg : seq_strerror(rv));
        return rv;
    }
    net_genesis_validator_set(&node->genesis, &node->validators);
    if (net_genesis_find(&node->genesis, &node->vkey.pubkey, &node->self) !=
        0) {
        char pk[2 * HS_PUBKEY_LEN + 1];
        seq_hex_encode(node->vkey.pubkey.bytes, HS_PUBKEY_LEN, pk);
        SEQ_LOGE(LOG_MOD,
                 "validator key %s is not in the validator set of "
                 "genesis.json (chain %s); refusing to start",
                 pk, node->genesis.chain_id);
        return SEQ_EINVAL;
    }
    if (memcmp(node->genesis.validators[node->self].node_key,
               node->node_key.public_key, NET_CURVE_KEY_LEN) != 0) {
        SEQ_LOGE(LOG_MOD,
                 "node_key.json does not match validator %" PRIu32
                 "'s node_key in genesis.json; refusing to start",
                 node->self);
        return SEQ_EINVAL;
    }
    return SEQ_OK;
}

/* The database belongs to one genesis: refuse another's data directory. */
static int check_store_genesis(struct net_node *node)
{
    static const char key[] = "genesis_hash";
    void *val = NULL;
    size_t len = 0;
    int rv;

    rv = store_get_meta(node->store, key, &val, &len);
    if (rv == SEQ_ENOTFOUND) {
        rv = store_put_meta(node->store, key, node->genesis.hash.bytes,
                            SEQ_HASH_LEN);
        return rv != 0 ? rv : store_sync(node->store);
    }
    if (rv != 0) {
        return rv;
    }
    if (len != SEQ_HASH_LEN ||
        memcmp(val, node->genesis.hash.bytes, SEQ_HASH_LEN) != 0) {
        SEQ_LOGE(LOG_MOD,
                 "data/ was created for another genesis; refusing "
                 "to start (move data/ away to start afresh)");
        rv = SEQ_ECORRUPT;
    }
    seq_free(val);
    return rv;
}

static int open_store_and_core(struct net_node *node, const char *home)
{
    char path[PATH_MAX_LEN], errmsg[SEQ_ERRMSG_LEN] = "";
    struct store_recovery rec;
    struct hs_config config;
    uint64_t seed = 0;
    int rv;

    rv = home_path(path, home, "data");
    if (rv == 0) {
        rv = store_rocks_open(path, &node->store, errmsg);
    }
    if (rv != 0) {
        SEQ_LOGE(LOG_MOD, "cannot open the store: %s", errmsg);
        return rv;
    }
    rv = check_store_genesis(node);
    if (rv != 0) {
        return rv;
    }
    rv = store_recovery_load(node->store, &rec);
    if (rv != 0) {
        SEQ_LOGE(LOG_MOD,
                 "cannot recover consensus state: %s (%s); "
                 "refusing to start",
                 seq_strerror(rv), node->store->errmsg);
        return rv;
    }
    rv = net_rollup_open(node);
    if (rv == 0) {
        size_t i;
        rv = net_rollup_recover_commits(
            node, rec.rec.root != NULL ? rec.rec.root->height : 0);
        for (i = 0; rv == 0 && i < rec.rec.n_blocks; i++) {
            net_rollup_on_block(node, rec.rec.blocks[i]);
        }
    }
    if (rv != 0) {
        store_recovery_free(&rec);
        return rv;
    }
    rv = hs_crypto_secp_new(node->vkey.seckey, &node->crypto);
    if (rv != 0) {
        store_recovery_free(&rec);
        SEQ_LOGE(LOG_MOD, "validator key: %s", seq_strerror(rv));
        return rv;
    }
    /* Only which peer to ask for missing blocks depends on it. */
    seq_random_bytes(&seed, sizeof seed);
    memset(&config, 0, sizeof config);
    config.chain_id = node->genesis.hash;
    config.epoch = node->genesis.epoch;
    config.self = node->self;
    config.validators = &node->validators;
    config.base_timeout_ms = node->genesis.base_timeout_ms;
    /* An idle chain makes a block every IDLE_BLOCK_MS, not every round
     * trip (hs_core.c (P1)); well below the round timeout. */
    config.idle_block_ms = IDLE_BLOCK_MS < config.base_timeout_ms / 4
                               ? IDLE_BLOCK_MS
                               : config.base_timeout_ms / 4;
    config.seed = seed;
    /* A crashed validator stops leading rounds (hs_core.c L1). A protocol
     * rule: every validator of a chain uses it. */
    config.leader_reputation = true;
    rv = hs_core_new(&config, &rec.rec, &node->io, node->crypto, &node->core);
    if (rv == 0) {
        SEQ_LOGI(LOG_MOD,
                 "recovered: committed height %" PRIu64
                 ", last voted round "
                 "%" PRIu64 ", %zu uncommitted blocks",
                 rec.rec.root != NULL ? rec.rec.root->height : 0,
                 rec.rec.safety.last_voted_round, rec.rec.n_blocks);
    } else {
        SEQ_LOGE(LOG_MOD,
                 "recovered state is inconsistent: %s; refusing to "
                 "start",
                 seq_strerror(rv));
    }
    store_recovery_free(&rec);
    return rv;
}

static int open_sockets(struct net_node *node)
{
    struct net_mesh_config mc;
    char errmsg[SEQ_ERRMSG_LEN] = "";
    int rv;

    node->zmq = zmq_ctx_new();
    if (node->zmq == NULL) {
        SEQ_LOGE(LOG_MOD, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
        return SEQ_EIO;
    }
    memset(&mc, 0, sizeof mc);
    mc.zmq_ctx = node->zmq;
    mc.genesis = &node->genesis;
    mc.self = node->self;
    mc.node_key = &node->node_key;
    mc.listen = node->config.p2p_listen;
    mc.max_frame = WIRE_MAX_FRAME;
    mc.queue_limit = 64; /* Per peer, both ways; bounds memory per link. */
    rv = net_mesh_open(&mc, &node->mesh, errmsg);
    if (rv != 0) {
        SEQ_LOGE(LOG_MOD, "p2p: %s", errmsg);
        return rv;
    }
    rv = net_client_open(node);
    if (rv != 0) {
        return rv;
    }
    rv = net_http_open(node, errmsg);
    if (rv != 0) {
        SEQ_LOGE(LOG_MOD, "%s", errmsg);
    }
    return rv;
}

static void node_close(struct net_node *node)
{
    outbox_drop(node);
    seq_free(node->outbox);
    seq_free(node->commits);
    net_http_close(node);
    net_client_close(node);
    net_mesh_close(node->mesh);
    if (node->zmq != NULL) {
        zmq_ctx_term(node->zmq);
    }
    net_rollup_close(node);
    hs_core_free(node->core);
    if (node->crypto != NULL) {
        hs_crypto_secp_free(node->crypto);
    }
    store_close(node->store);
}

/* A node whose genesis differs from what most of its peers present is the
 * odd one out: it stops. Peers seeing one odd node just drop its frames. */
static bool genesis_refused(const struct net_node *node)
{
    uint32_t others = node->validators.n - 1;

    return others > 0 && net_mesh_mismatched(node->mesh) * 2 > others;
}

/* Connections cost file descriptors, and a store that cannot open its next
 * log file cannot sync: take every descriptor the system allows. */
static void raise_fd_limit(void)
{
    struct rlimit lim;

    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
            SEQ_LOGW(LOG_MOD, "cannot raise the open-file limit: %s",
                     strerror(errno));
        }
    }
}

int net_node_run(const struct net_node_options *options,
                 volatile sig_atomic_t *stop)
{
    static struct net_node node; /* Large (config, genesis): not on stack. */
    int rv;

    memset(&node, 0, sizeof node);
    /* Tickets start at 1: nothing counts as durable before a sync. */
    node.write_turn = 1;
    node.io.impl = &node;
    node.io.persist_safety = io_persist_safety;
    node.io.persist_block = io_persist_block;
    node.io.persist_qc = io_persist_qc;
    node.io.persist_tc = io_persist_tc;
    node.io.send = io_send;
    node.io.broadcast = io_broadcast;
    node.io.set_timer = io_set_timer;
    node.io.commit = io_commit;
    node.io.load_committed = io_load_committed;
    node.io.trace = io_trace;
    net_rollup_io(&node.io);

    raise_fd_limit();
    rv = load_home(&node, options->home);
    if (rv == 0) {
        const char *levels = options->log_level != NULL ? options->log_level
                                                        : node.config.log_level;
        const char *format = options->log_format != NULL
                                 ? options->log_format
                                 : node.config.log_format;
        seq_log_setup(SEQ_LOG_INFO, strcmp(format, "json") == 0
                                        ? SEQ_LOG_JSON
                                        : SEQ_LOG_LOGFMT);
        if (seq_log_parse_levels(levels) != 0) {
            SEQ_LOGE(LOG_MOD, "bad log level spec \"%s\"", levels);
            rv = SEQ_EINVAL;
        }
    }
    if (rv == 0) {
        rv = open_store_and_core(&node, options->home);
    }
    if (rv == 0) {
        rv = open_sockets(&node);
    }
    if (rv == 0) {
        char genesis[2 * SEQ_HASH_LEN + 1];
        node_hex(&node.genesis.hash, genesis);
        SEQ_LOGI(LOG_MOD,
                 "started validator %" PRIu32 " of %" PRIu32
                 " (%s), chain "
                 "%s, genesis %.16s, p2p %s, http %s, client %s",
                 node.self, node.validators.n, node.config.moniker,
                 node.genesis.chain_id, genesis, node.config.p2p_listen,
                 node.config.http_listen, node.config.client_listen);
        node.now_ms = clock_ms();
        rv = hs_core_start(node.core, node.now_ms);
    }
    while (rv == 0 && !*stop) {
        rv = loop_turn(&node);
        if (rv == 0 && genesis_refused(&node)) {
            SEQ_LOGE(LOG_MOD,
                     "%" PRIu32 " of %" PRIu32
                     " peers present another "
                     "genesis: this node's genesis.json does not match the "
                     "network's; stopping",
                     net_mesh_mismatched(node.mesh), node.validators.n - 1);
            rv = SEQ_EINVAL;
        }
    }
    if (rv == 0) {
        SEQ_LOGI(LOG_MOD, "stopping: height %" PRIu64 ", round %" PRIu64,
                 hs_core_committed_height(node.core), hs_core_round(node.core));
        /* What turns left staged (D6): kept, though nothing depends on it.
         * A failure here changes no promise made, so it only is logged. */
        if (store_sync(node.store) != 0) {
            SEQ_LOGW(LOG_MOD, "final store sync failed: %s",
                     node.store->errmsg);
        }
    }
    node_close(&node);
    return rv == 0 ? 0 : 1;
}
