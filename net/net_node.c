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
 *      different messages for one round. */

#define _POSIX_C_SOURCE 200809L
#include "net_node.h"

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
#define OUTBOX_TO_ALL       UINT32_MAX
#define POLL_ITEMS          (NET_MESH_POLL_MAX + 2)
#define CLIENT_KIND_STATUS  1
#define CLIENT_MAX_MSG      (64 * 1024)

struct outbox_entry {
    hs_node_t to; /* OUTBOX_TO_ALL for a broadcast. */
    enum hs_msg_type type;
    hs_round_t round;
    struct seq_hash block_id; /* Votes: what was voted for. */
    hs_round_t high_qc_round; /* Timeouts: what was signed. */
    uint8_t *frame;
    size_t len;
};

struct node_stats {
    uint64_t turns;
    uint64_t frames_bad; /* Undecodable consensus frames. */
    uint64_t client_bad; /* Malformed client requests. */
    uint64_t client_requests;
    uint64_t commits;
    uint64_t http_requests;
};

struct commit_note {
    hs_height_t height;
    hs_round_t round;
    hs_node_t author;
    struct seq_hash id;
};

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
    void *client;
    struct MHD_Daemon *http;

    uint64_t now_ms;
    uint64_t deadline_ms;
    struct outbox_entry *outbox;
    size_t n_out, cap_out;
    struct commit_note *commits; /* This turn's, logged after the sync. */
    size_t n_commits, cap_commits;
    struct node_stats stats;
};

static uint64_t clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void hex_of(const struct seq_hash *h, char out[2 * SEQ_HASH_LEN + 1])
{
    seq_hex_encode(h->bytes, SEQ_HASH_LEN, out);
}

/* ---- hs_io: staged writes ----------------------------------------------- */

static struct net_node *node_of(struct hs_io *io)
{
    return io->impl;
}

static void note_io(struct net_node *node, int rv, const char *what)
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
    note_io(node, store_put_safety(node->store, st), "store safety");
}

static void io_persist_block(struct hs_io *io, const struct hs_block *b)
{
    struct net_node *node = node_of(io);
    note_io(node, store_put_block(node->store, b), "store block");
}

static void io_persist_qc(struct hs_io *io, const struct hs_qc *qc, bool high)
{
    struct net_node *node = node_of(io);

    note_io(node, store_put_qc(node->store, qc), "store qc");
    if (high) {
        note_io(node, store_put_high_qc(node->store, qc), "store high qc");
    }
}

static void io_persist_tc(struct hs_io *io, const struct hs_tc *tc)
{
    struct net_node *node = node_of(io);
    note_io(node, store_put_high_tc(node->store, tc), "store high tc");
}

static void io_commit(struct hs_io *io,
                      const struct hs_block *block,
                      const struct hs_qc *qc)
{
    struct net_node *node = node_of(io);
    struct commit_note *note;

    note_io(node, store_put_block(node->store, block), "store block");
    note_io(node, store_put_qc(node->store, qc), "store qc");
    note_io(node, store_put_commit(node->store, block->height, &block->id),
            "store commit");
    node->stats.commits++;
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
        hex_of(&c->id, hash);
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
        hex_of(&e->block_id, hash);
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

static bool node_ready(const struct net_node *node)
{
    uint32_t connected = net_mesh_peers(node->mesh) + 1;

    return !hs_core_catching_up(node->core) &&
           connected >= hs_quorum(node->validators.n);
}

static json_t *status_json(const struct net_node *node)
{
    const struct hs_block *tip = hs_core_committed_tip(node->core);
    hs_round_t round = hs_core_round(node->core);
    char genesis[2 * SEQ_HASH_LEN + 1], hash[2 * SEQ_HASH_LEN + 1];

    hex_of(&node->genesis.hash, genesis);
    hex_of(&tip->id, hash);
    return json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:s, s:I}",
        "chain_id", node->genesis.chain_id, "genesis_hash", genesis, "moniker",
        node->config.moniker, "validator", (json_int_t)node->self, "height",
        (json_int_t)tip->height, "round", (json_int_t)round, "epoch",
        (json_int_t)node->genesis.epoch, "leader",
        (json_int_t)hs_core_leader(node->core, round), "peers",
        (json_int_t)net_mesh_peers(node->mesh), "catching_up",
        hs_core_catching_up(node->core), "ready", node_ready(node),
        "committed_hash", hash, "validators", (json_int_t)node->validators.n);
}

/* ---- HTTP (D4) ----------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *conn,
                             unsigned int status,
                             const char *content_type,
                             char *body) /* takes: free()d by MHD */
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (body == NULL) {
        return MHD_NO;
    }
    resp = MHD_create_response_from_buffer(strlen(body), body,
                                           MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", content_type);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *conn,
                                  unsigned int status,
                                  json_t *json) /* takes */
{
    char *body;

    if (json == NULL) {
        return MHD_NO;
    }
    body = json_dumps(json, JSON_COMPACT);
    json_decref(json);
    return reply(conn, status, "application/json", body);
}

static enum MHD_Result reply_error(struct MHD_Connection *conn,
                                   unsigned int status,
                                   const char *code,
                                   const char *text)
{
    return reply_json(conn, status,
                      json_pack("{s:s, s:s}", "error", text, "code", code));
}

static json_t *signers_json(const struct hs_qc *qc)
{
    json_t *list = json_array();
    uint32_t i;

    for (i = 0; list != NULL && i < qc->n_sigs; i++) {
        json_array_append_new(list, json_integer(qc->sigs[i].signer));
    }
    return list;
}

static enum MHD_Result http_block(struct net_node *node,
                                  struct MHD_Connection *conn,
                                  const char *arg)
{
    char hash[2 * SEQ_HASH_LEN + 1], parent[2 * SEQ_HASH_LEN + 1];
    char payload[2 * SEQ_HASH_LEN + 1];
    struct hs_block block;
    struct hs_qc qc;
    struct seq_hash id;
    unsigned long long height;
    char *end;
    json_t *json, *cert;
    int rv;

    errno = 0;
    height = strtoull(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || errno != 0 || arg[0] == '-') {
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_height",
                           "height must be a decimal number");
    }
    if (store_get_commit(node->store, height, &id) != 0 ||
        store_get_block(node->store, &id, &block) != 0) {
        return reply_error(conn, MHD_HTTP_NOT_FOUND, "unknown_height",
                           "no committed block at that height");
    }
    hex_of(&block.id, hash);
    hex_of(&block.parent_id, parent);
    hex_of(&block.payload_hash, payload);
    json = json_pack("{s:I, s:I, s:I, s:s, s:s, s:I, s:s, s:I, s:{s:I, s:o}}",
                     "height", (json_int_t)block.height, "round",
                     (json_int_t)block.round, "epoch", (json_int_t)block.epoch,
                     "hash", hash, "parent", parent, "author",
                     (json_int_t)block.author, "payload_hash", payload,
                     "payload_len", (json_int_t)block.payload_len, "justify",
                     "round", (json_int_t)block.justify.round, "signers",
                     signers_json(&block.justify));
    rv = store_get_qc(node->store, &block.id, &qc);
    if (json != NULL && rv == 0) {
        cert = json_pack("{s:I, s:o}", "round", (json_int_t)qc.round, "signers",
                         signers_json(&qc));
        json_object_set_new(json, "qc", cert);
    }
    hs_block_free(&block);
    return reply_json(conn, MHD_HTTP_OK, json);
}

static char *metrics_text(const struct net_node *node)
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
#define GAUGE(name, help, value)                                              \
    fprintf(f, "# HELP seq_%s %s\n# TYPE seq_%s gauge\nseq_%s %" PRIu64 "\n", \
            name, help, name, name, (uint64_t)(value))
#define COUNTER(name, help, value)                                           \
    fprintf(f,                                                               \
            "# HELP seq_%s %s\n# TYPE seq_%s counter\nseq_%s %" PRIu64 "\n", \
            name, help, name, name, (uint64_t)(value))
    GAUGE("height", "Committed height.", hs_core_committed_height(node->core));
    GAUGE("round", "Current round.", hs_core_round(node->core));
    GAUGE("peers", "Validators connected with a matching genesis.",
          net_mesh_peers(node->mesh));
    GAUGE("catching_up", "1 while fetching missing blocks.",
          hs_core_catching_up(node->core));
    COUNTER("blocks_committed_total", "Blocks committed.", node->stats.commits);
    COUNTER("proposals_sent_total", "Proposals sent.", cs->proposals_sent);
    COUNTER("votes_sent_total", "Votes sent.", cs->votes_sent);
    COUNTER("timeouts_sent_total", "Timeouts sent.", cs->timeouts_sent);
    COUNTER("local_timeouts_total", "Round timers that fired.",
            cs->local_timeouts);
    COUNTER("msgs_bad_total", "Consensus messages that failed validation.",
            cs->msgs_bad);
    COUNTER("msgs_stale_total", "Consensus messages for older rounds.",
            cs->msgs_stale);
    COUNTER("frames_bad_total", "Undecodable frames from validators.",
            node->stats.frames_bad);
    COUNTER("client_bad_total", "Malformed requests on the client port.",
            node->stats.client_bad);
    COUNTER("p2p_dropped_bad_total", "Malformed envelopes on the p2p port.",
            ms.dropped_bad);
    COUNTER("p2p_dropped_full_total", "Frames dropped: peer queue full.",
            ms.dropped_full);
    COUNTER("p2p_dropped_mismatch_total",
            "Frames dropped: peer with another genesis.", ms.dropped_mismatch);
    COUNTER("zap_denied_total", "Connections refused: key not in genesis.",
            ms.zap_denied);
    COUNTER("store_syncs_total",
            "Store syncs that wrote a batch (one per "
            "loop turn with writes).",
            rs.syncs);
    COUNTER("store_sync_microseconds_total", "Time spent in store syncs.",
            rs.sync_us_total);
    GAUGE("store_sync_microseconds_max", "Longest store sync.", rs.sync_us_max);
    COUNTER("store_sync_bytes_total", "Bytes written by store syncs.",
            rs.sync_bytes_total);
    COUNTER("loop_turns_total", "Loop turns (poll, feed, sync, flush).",
            node->stats.turns);
    COUNTER("http_requests_total", "HTTP requests served.",
            node->stats.http_requests);
    COUNTER("client_requests_total", "Requests answered on the client port.",
            node->stats.client_requests);
#undef GAUGE
#undef COUNTER
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static enum MHD_Result http_handle(void *cls,
                                   struct MHD_Connection *conn,
                                   const char *url,
                                   const char *method,
                                   const char *version,
                                   const char *upload_data,
                                   size_t *upload_data_size,
                                   void **con_cls)
{
    static const char blocks_prefix[] = "/v1/blocks/";
    struct net_node *node = cls;

    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* No endpoint here takes a body. */
        return MHD_YES;
    }
    node->stats.http_requests++;
    if (strcmp(method, "GET") != 0) {
        return reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method",
                           "only GET is served here");
    }
    if (strcmp(url, "/v1/status") == 0) {
        return reply_json(conn, MHD_HTTP_OK, status_json(node));
    }
    if (strncmp(url, blocks_prefix, sizeof blocks_prefix - 1) == 0) {
        return http_block(node, conn, url + sizeof blocks_prefix - 1);
    }
    if (strcmp(url, "/livez") == 0) {
        return reply_json(conn, MHD_HTTP_OK,
                          json_pack("{s:s}", "status", "ok"));
    }
    if (strcmp(url, "/readyz") == 0) {
        bool ready = node_ready(node);
        return reply_json(
            conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
            json_pack("{s:s, s:b, s:I}", "status",
                      ready ? "ready" : "not ready", "catching_up",
                      hs_core_catching_up(node->core), "peers",
                      (json_int_t)net_mesh_peers(node->mesh)));
    }
    if (strcmp(url, "/metrics") == 0) {
        return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4",
                     metrics_text(node));
    }
    return reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such path");
}

static int http_start(struct net_node *node, char errmsg[SEQ_ERRMSG_LEN])
{
    const char *colon = strrchr(node->config.http_listen, ':');
    unsigned long port;
    struct sockaddr_in addr;
    char host[NET_ADDR_MAX];
    char *end;

    if (colon == NULL ||
        (size_t)(colon - node->config.http_listen) >= sizeof host) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "config: rpc.http: want host:port");
        return SEQ_EINVAL;
    }
    memcpy(host, node->config.http_listen,
           (size_t)(colon - node->config.http_listen));
    host[colon - node->config.http_listen] = '\0';
    port = strtoul(colon + 1, &end, 10);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (*end != '\0' || port == 0 || port > 65535 ||
        inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        snprintf(errmsg, SEQ_ERRMSG_LEN,
                 "config: rpc.http: want IPv4-address:port, got %s",
                 node->config.http_listen);
        return SEQ_EINVAL;
    }
    /* No MHD_USE_ERROR_LOG: under a connection flood it writes a line per
     * refused connection. A per-address limit keeps one client from
     * holding every slot (slowloris). */
    node->http = MHD_start_daemon(
        MHD_USE_EPOLL, (uint16_t)port, NULL, NULL, http_handle, node,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)16,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
    if (node->http == NULL) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "http: cannot listen on %s",
                 node->config.http_listen);
        return SEQ_EIO;
    }
    return SEQ_OK;
}

/* ---- The client socket ----------------------------------------------------
 */

/* Requests on the client ROUTER are [routing id][kind byte][body]. This
 * stage serves CLIENT_KIND_STATUS (the /v1/status JSON, for tools that
 * speak ZeroMQ); submissions and subscriptions come with the rollup path.
 * Anything else is counted and dropped without an answer. */
static void client_drain(struct net_node *node)
{
    unsigned n;

    for (n = 0; n < MAX_FRAMES_PER_TURN; n++) {
        zmq_msg_t parts[3];
        int n_parts = 0, more = 1;
        bool ok;

        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, node->client, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&part);
                if (n_parts == 0) {
                    return; /* Nothing (more) to read. */
                }
                break;
            }
            more = zmq_msg_more(&part);
            if (n_parts < 3) {
                parts[n_parts++] = part;
            } else {
                zmq_msg_close(&part);
                n_parts = 4; /* Too many parts: malformed. */
            }
        }
        ok = n_parts == 3 && zmq_msg_size(&parts[1]) == 1 &&
             *(const uint8_t *)zmq_msg_data(&parts[1]) == CLIENT_KIND_STATUS;
        if (ok) {
            json_t *json = status_json(node);
            char *body = json != NULL ? json_dumps(json, JSON_COMPACT) : NULL;
            uint8_t kind = CLIENT_KIND_STATUS;

            json_decref(json);
            node->stats.client_requests++;
            if (body != NULL) {
                zmq_send(node->client, zmq_msg_data(&parts[0]),
                         zmq_msg_size(&parts[0]), ZMQ_SNDMORE | ZMQ_DONTWAIT);
                zmq_send(node->client, &kind, 1, ZMQ_SNDMORE | ZMQ_DONTWAIT);
                zmq_send(node->client, body, strlen(body), ZMQ_DONTWAIT);
                free(body);
            }
        } else {
            node->stats.client_bad++;
        }
        while (n_parts > 0) {
            if (n_parts <= 3) {
                zmq_msg_close(&parts[n_parts - 1]);
            }
            n_parts--;
        }
    }
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
        if (wire_decode_msg(frame, len, &msg) != 0) {
            node->stats.frames_bad++; /* (D3) */
            continue;
        }
        hs_core_on_message(node->core, node->now_ms, from, &msg);
        hs_msg_free(&msg);
    }
}

static int poll_timeout(const struct net_node *node)
{
    uint64_t now = clock_ms();
    MHD_UNSIGNED_LONG_LONG http_ms;
    uint64_t wait = POLL_MAX_MS;

    if (node->deadline_ms <= now) {
        return 0;
    }
    if (node->deadline_ms - now < wait) {
        wait = node->deadline_ms - now;
    }
    if (MHD_get_timeout(node->http, &http_ms) == MHD_YES && http_ms < wait) {
        wait = http_ms;
    }
    return (int)wait;
}

static int loop_turn(struct net_node *node)
{
    zmq_pollitem_t items[POLL_ITEMS];
    const union MHD_DaemonInfo *info;
    size_t n_items;
    int rv;

    n_items = net_mesh_poll_items(node->mesh, items);
    items[n_items].socket = node->client;
    items[n_items].fd = 0;
    items[n_items].events = ZMQ_POLLIN;
    items[n_items].revents = 0;
    n_items++;
    info = MHD_get_daemon_info(node->http, MHD_DAEMON_INFO_EPOLL_FD);
    items[n_items].socket = NULL;
    items[n_items].fd = info != NULL ? info->epoll_fd : -1;
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
    if (node->now_ms >= node->deadline_ms) {
        hs_core_on_tick(node->core, node->now_ms);
    }
    if (node->io_error != 0) {
        outbox_drop(node); /* (D2) */
        node->n_commits = 0;
        return node->io_error;
    }
    rv = store_sync(node->store);
    if (rv != 0) {
        SEQ_LOGE(LOG_MOD,
                 "store sync failed: %s (%s); stopping: a replica "
                 "that cannot persist must not vote",
                 seq_strerror(rv), node->store->errmsg);
        outbox_drop(node); /* (D2) */
        return rv;
    }
    outbox_flush(node);
    log_commits(node);
    /* What clients see comes after the sync (D4). */
    client_drain(node);
    MHD_run(node->http);
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
    config.seed = seed;
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
    int zero = 0, hwm = 16, handshake = 3000;
    int64_t max = CLIENT_MAX_MSG;
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
    /* The client port takes no authentication yet, so it takes little: a
     * status request is a few bytes. Small messages, short queues and a
     * short handshake bound what a stranger can make us hold; libzmq does
     * not bound the parts of one multipart message, so the default
     * listen address is loopback (see the README). */
    node->client = zmq_socket(node->zmq, ZMQ_ROUTER);
    if (node->client == NULL ||
        zmq_setsockopt(node->client, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(node->client, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_setsockopt(node->client, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(node->client, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(node->client, ZMQ_HANDSHAKE_IVL, &handshake,
                       sizeof handshake) != 0 ||
        zmq_bind(node->client, node->config.client_listen) != 0) {
        SEQ_LOGE(LOG_MOD, "client socket %s: %s", node->config.client_listen,
                 zmq_strerror(zmq_errno()));
        return SEQ_EIO;
    }
    rv = http_start(node, errmsg);
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
    if (node->http != NULL) {
        MHD_stop_daemon(node->http);
    }
    if (node->client != NULL) {
        zmq_close(node->client);
    }
    net_mesh_close(node->mesh);
    if (node->zmq != NULL) {
        zmq_ctx_term(node->zmq);
    }
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
        hex_of(&node.genesis.hash, genesis);
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
    }
    node_close(&node);
    return rv == 0 ? 0 : 1;
}
