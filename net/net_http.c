/* The HTTP API (net_node_int.h, DESIGN §5): transactions in (POST /v1/tx)
 * and their status, namespace blocks one at a time or as an NDJSON stream,
 * consensus blocks, status, health and metrics. libmicrohttpd runs in
 * external-epoll mode on the loop thread; a request that must wait for the
 * disk or for a new height is suspended, never polled.
 *
 * NOTES ON THE DESIGN
 * (H1) No 202 before the disk. An admission made while node->write_turn
 *      is T is durable once node->synced_turn >= T (its ticket). The
 *      connection is suspended with its ticket and resumed by
 *      net_http_after_sync once a sync covered it; only then is the 202
 *      queued. A duplicate waits for the current ticket too: the first
 *      copy may have been admitted this very turn, by someone else, and
 *      not be on disk yet. The wait costs one loop turn.
 * (H2) Bodies are bounded before they are read. The one endpoint with a
 *      body takes at most the largest namespace's max_tx_size in base64
 *      plus 1 KiB of JSON. A Content-Length above that is refused with 413
 *      at the headers, before any byte of body is read; a chunked body is
 *      buffered up to the limit, then discarded (and the connection closed
 *      if it goes on far beyond). All body buffers together stay under
 *      HTTP_BODY_BUDGET.
 * (H3) A stream holds one line. GET /v1/namespaces/<N>/stream keeps a
 *      cursor (the next height) and at most one encoded namespace block.
 *      libmicrohttpd asks for bytes when the socket can take them; a reader
 *      that does not read is simply not asked (back-pressure), and costs
 *      nothing more than its cursor. When the cursor passes the highest
 *      servable height the connection is suspended (returning 0 alone
 *      would busy-loop in external-poll mode) and net_http_after_sync
 *      resumes it once net_rollup_height() passes the cursor. A suspended
 *      connection is not watched, so every HTTP_PROBE_MS the parked ones
 *      are peeked at, and one whose client closed it is resumed to be
 *      closed: a stream parked far ahead (or on a halted chain) does not
 *      keep its slot after its client left. Streams are limited to
 *      HTTP_MAX_STREAMS in all (503 beyond) and HTTP_CLIENT_STREAMS per
 *      client address (429 beyond), so that one address cannot take every
 *      slot; both refusals carry Retry-After. Streams have no inactivity
 *      timeout: suspended connections do not time out anyway, and a
 *      reader that lets its window fill is applying back-pressure, not
 *      idling. One call of the content reader builds at most
 *      HTTP_STREAM_LINES blocks, and no new one once the stored batches
 *      read for them (net_rollup_read_bytes, R5) reach
 *      HTTP_STREAM_READ_BYTES: a stream catching up over big blocks reads
 *      at most that plus one height's batches per call. The bound is per
 *      call, hence per stream and turn, not shared among streams.
 * (H4) Before MHD_stop_daemon every suspended connection is resumed (it is
 *      an API violation to stop with any suspended) with the closing flag
 *      set, so that nothing is answered on the way out.
 * (H5) Every malformed or refused request is answered with JSON
 *      {"error", "code"} and counted (seq_http_bad_requests_total); nothing
 *      a client sends is asserted on.
 * (H6) No POST waits forever. A ticket may stay short of the disk for as
 *      long as the node cannot stage a batch (net_rollup_covers_acks:
 *      our held batches at their cap while nothing commits). A POST parked
 *      HTTP_TX_DEADLINE_MS (node->now_ms, the loop's clock) is answered
 *      503 with Retry-After instead, and counted
 *      (seq_http_tx_timeouts_total). The transaction was admitted and may
 *      still commit, so the answer says its status is unknown and that
 *      resubmitting is safe (idempotent by tx_hash); a ticket that became
 *      durable meanwhile still gets its 202. net_http_timeout_ms bounds the
 *      loop's sleep by the earliest deadline, so the 503 leaves within a
 *      loop turn of it. */

#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>
#include <microhttpd.h>

#include "net_node_int.h"
#include "net_parse.h"
#include "seq_alloc.h"
#include "seq_client.h"
#include "seq_err.h"
#include "seq_hex.h"
#include "seq_log.h"

#define LOG_MOD                "http"
#define HTTP_MAX_STREAMS       64
#define HTTP_STREAM_CHUNK      (64 * 1024) /* Bytes per content-reader call, */
#define HTTP_STREAM_LINES      16          /* and blocks at most, */
#define HTTP_STREAM_READ_BYTES (1024 * 1024) /* and batch bytes read. */
#define HTTP_BODY_SLACK        1024 /* JSON around the base64 payload. */
#define HTTP_BODY_BUDGET       (64u * 1024 * 1024) /* All bodies together (H2). */
#define HTTP_DISCARD_MAX       (4u * 1024 * 1024) /* Then the connection goes. */
#define HTTP_BODY_MIN_CAP      4096
#define HTTP_PROBE_MS          1000  /* How often parked streams are checked. */
#define HTTP_CLIENT_STREAMS    8     /* Streams per client address (H3). */
#define HTTP_STREAM_RETRY_MS   5000  /* Retry-After of a refused stream. */
#define HTTP_TX_DEADLINE_MS    10000 /* Longest wait for a ticket (H6). */

enum req_kind {
    REQ_TX = 1, /* POST /v1/tx; owned through con_cls. */
    REQ_STREAM, /* A stream; owned by its response (stream_free). */
};

enum tx_phase {
    TX_UPLOADING = 1, /* Reading the body. */
    TX_WAITING,       /* Admitted; suspended until the ticket is durable. */
};

struct http_req {
    enum req_kind kind;
    struct net_http *http;
    struct MHD_Connection *conn;
    bool suspended;               /* On http->suspended (H1, H3). */
    struct http_req *prev, *next; /* Links in http->suspended. */
    /* REQ_TX */
    enum tx_phase phase;
    char *body;
    size_t len, cap;
    size_t discarded; /* Bytes past the limit (H2). */
    bool too_big;
    uint64_t ticket;
    uint64_t deadline_ms; /* Answered 503 from then on (H6). */
    struct seq_hash hash;
    enum mp_tx_state state;
    /* REQ_STREAM */
    uint32_t client; /* Its client's address (H3). */
    uint64_t ns;
    uint64_t next_height;
    char *line; /* The current block's JSON and '\n' (H3). */
    size_t line_len, line_off;
    bool hangup; /* The client left while the stream was parked (H3). */
};

struct http_stats {
    uint64_t bad_requests;
    uint64_t tx_submitted; /* Bodies handed to net_rollup_submit. */
    uint64_t tx_accepted;  /* New transactions (202 "accepted"). */
    uint64_t tx_too_large;
    uint64_t tx_full;
    uint64_t tx_timeouts; /* (H6) */
    uint64_t streams_opened;
    uint64_t streams_refused;        /* HTTP_MAX_STREAMS open. */
    uint64_t streams_refused_client; /* HTTP_CLIENT_STREAMS from there. */
    uint64_t stream_blocks;
};

/* A client address with streams open (H3). */
struct stream_client {
    uint32_t addr; /* IPv4, network byte order. */
    uint32_t n_streams;
};

struct net_http {
    struct net_node *node;
    struct http_req *suspended; /* Head of the list of suspended requests. */
    size_t n_suspended_tx;
    size_t n_streams;
    /* One entry per address with a stream open: at most one per stream. */
    struct stream_client clients[HTTP_MAX_STREAMS];
    size_t n_clients;
    size_t max_body;   /* (H2) */
    size_t body_bytes; /* Capacity of every body buffer (H2). */
    uint64_t probe_ms; /* Last check of the parked streams (H3). */
    bool closing;      /* (H4) */
    struct http_stats stats;
};

/* ---- Replies ------------------------------------------------------------ */

static enum MHD_Result reply_header(struct MHD_Connection *conn,
                                    unsigned int status,
                                    const char *content_type,
                                    char *body, /* takes: free()d by MHD */
                                    const char *header,
                                    const char *value)
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
    if (header != NULL) {
        MHD_add_response_header(resp, header, value);
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply(struct MHD_Connection *conn,
                             unsigned int status,
                             const char *content_type,
                             char *body) /* takes */
{
    return reply_header(conn, status, content_type, body, NULL, NULL);
}

static enum MHD_Result reply_json_header(struct MHD_Connection *conn,
                                         unsigned int status,
                                         json_t *json, /* takes */
                                         const char *header,
                                         const char *value)
{
    char *body;

    if (json == NULL) {
        return MHD_NO;
    }
    body = json_dumps(json, JSON_COMPACT);
    json_decref(json);
    return reply_header(conn, status, "application/json", body, header, value);
}

static enum MHD_Result reply_json(struct MHD_Connection *conn,
                                  unsigned int status,
                                  json_t *json) /* takes */
{
    return reply_json_header(conn, status, json, NULL, NULL);
}

static enum MHD_Result reply_error(struct MHD_Connection *conn,
                                   unsigned int status,
                                   const char *code,
                                   const char *text)
{
    return reply_json(conn, status,
                      json_pack("{s:s, s:s}", "error", text, "code", code));
}

/* A refused request (H5). */
static enum MHD_Result reply_bad(struct net_http *http,
                                 struct MHD_Connection *conn,
                                 unsigned int status,
                                 const char *code,
                                 const char *text)
{
    http->stats.bad_requests++;
    return reply_error(conn, status, code, text);
}

/* A refusal worth retrying: @json ({"error", "code"} and whatever else)
 * gains "retry_after_ms": @ms, and the reply a Retry-After header in whole
 * seconds, at least 1. */
static enum MHD_Result reply_retry(struct MHD_Connection *conn,
                                   unsigned int status,
                                   json_t *json, /* takes */
                                   uint32_t ms)
{
    char secs[16];

    snprintf(secs, sizeof secs, "%" PRIu64,
             ms == 0 ? 1 : ((uint64_t)ms + 999) / 1000);
    if (json != NULL) {
        json_object_set_new(json, "retry_after_ms", json_integer(ms));
    }
    return reply_json_header(conn, status, json, "Retry-After", secs);
}

/* 429: the mempool is full. */
static enum MHD_Result reply_full(struct net_http *http,
                                  struct MHD_Connection *conn)
{
    http->stats.tx_full++;
    return reply_retry(conn, MHD_HTTP_TOO_MANY_REQUESTS,
                       json_pack("{s:s, s:s}", "error",
                                 "mempool full, retry later", "code", "full"),
                       net_rollup_retry_after_ms(http->node));
}

/* ---- Suspended requests (H1, H3) ---------------------------------------- */

static void park(struct net_http *http, struct http_req *req)
{
    MHD_suspend_connection(req->conn);
    req->suspended = true;
    req->prev = NULL;
    req->next = http->suspended;
    if (http->suspended != NULL) {
        http->suspended->prev = req;
    }
    http->suspended = req;
    if (req->kind == REQ_TX) {
        http->n_suspended_tx++;
    }
}

/* Takes @req off the list; the caller resumes its connection, or frees
 * it (MHD never frees a suspended connection, so that is only for
 * safety). */
static void unlink_req(struct net_http *http, struct http_req *req)
{
    if (!req->suspended) {
        return;
    }
    if (req->prev != NULL) {
        req->prev->next = req->next;
    } else {
        http->suspended = req->next;
    }
    if (req->next != NULL) {
        req->next->prev = req->prev;
    }
    req->prev = req->next = NULL;
    req->suspended = false;
    if (req->kind == REQ_TX) {
        http->n_suspended_tx--;
    }
}

static void unpark(struct net_http *http, struct http_req *req)
{
    unlink_req(http, req);
    MHD_resume_connection(req->conn);
}

/* ---- Consensus blocks -----------------------------------------------------
 */

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
                                  uint64_t height)
{
    char hash[2 * SEQ_HASH_LEN + 1], parent[2 * SEQ_HASH_LEN + 1];
    char payload[2 * SEQ_HASH_LEN + 1];
    struct hs_block block;
    struct hs_qc qc;
    struct seq_hash id;
    json_t *json, *cert;
    int rv;

    if (store_get_commit(node->store, height, &id) != 0 ||
        store_get_block(node->store, &id, &block) != 0) {
        return reply_error(conn, MHD_HTTP_NOT_FOUND, "unknown_height",
                           "no committed block at that height");
    }
    node_hex(&block.id, hash);
    node_hex(&block.parent_id, parent);
    node_hex(&block.payload_hash, payload);
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

/* ---- Transactions: POST /v1/tx and GET /v1/tx/<hash> -------------------- */

static void tx_free(struct http_req *req)
{
    struct net_http *http = req->http;

    http->body_bytes -= req->cap;
    seq_free(req->body);
    seq_free(req);
}

/* Grows @req's body buffer to hold @need bytes, within the budget (H2). */
static bool tx_reserve(struct http_req *req, size_t need)
{
    struct net_http *http = req->http;
    size_t cap = req->cap > 0 ? req->cap : HTTP_BODY_MIN_CAP;
    char *body;

    if (need <= req->cap) {
        return true;
    }
    while (cap < need) {
        cap *= 2;
    }
    if (cap > http->max_body) {
        cap = http->max_body;
    }
    if (cap - req->cap > HTTP_BODY_BUDGET - http->body_bytes) {
        return false;
    }
    body = seq_realloc(req->body, cap);
    if (body == NULL) {
        return false;
    }
    http->body_bytes += cap - req->cap;
    req->body = body;
    req->cap = cap;
    return true;
}

/* The first call for POST /v1/tx: the headers are in, no body yet. */
static enum MHD_Result tx_begin(struct net_http *http,
                                struct MHD_Connection *conn,
                                void **con_cls)
{
    const char *cl = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    struct http_req *req;
    uint64_t length = 0;

    if (cl != NULL && net_parse_u64(cl, strlen(cl), &length) == 0 &&
        length > http->max_body) {
        http->stats.tx_too_large++;
        return reply_bad(http, conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
                         "request body too large");
    }
    req = seq_calloc(1, sizeof *req);
    if (req == NULL) {
        return MHD_NO;
    }
    req->kind = REQ_TX;
    req->http = http;
    req->conn = conn;
    req->phase = TX_UPLOADING;
    if (length > 0 && !tx_reserve(req, (size_t)length)) {
        seq_free(req);
        return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                           "too many uploads in progress");
    }
    *con_cls = req;
    return MHD_YES;
}

/* A piece of the body: kept up to max_body, then counted and dropped. */
static enum MHD_Result tx_upload(struct http_req *req,
                                 const char *data,
                                 size_t *size)
{
    size_t n = *size;

    *size = 0;
    if (!req->too_big && n > req->http->max_body - req->len) {
        req->too_big = true;
    }
    if (req->too_big) {
        req->discarded += n;
        if (req->discarded > HTTP_DISCARD_MAX) {
            req->http->stats.bad_requests++;
            req->http->stats.tx_too_large++;
            return MHD_NO; /* Far too big: the connection goes (H2). */
        }
        return MHD_YES;
    }
    if (!tx_reserve(req, req->len + n)) {
        return MHD_NO; /* Out of memory or budget: the connection goes. */
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    return MHD_YES;
}

static const char *tx_state_name(enum mp_tx_state state)
{
    switch (state) {
    case MP_TX_NEW:
        return "accepted";
    case MP_TX_PENDING:
        return "pending";
    case MP_TX_COMMITTED:
        return "committed";
    case MP_TX_UNKNOWN:
        break;
    }
    return "unknown";
}

static enum MHD_Result tx_accepted(struct http_req *req)
{
    char hex[2 * SEQ_HASH_LEN + 1];

    node_hex(&req->hash, hex);
    return reply_json(req->conn, MHD_HTTP_ACCEPTED,
                      json_pack("{s:s, s:s}", "tx_hash", hex, "status",
                                tx_state_name(req->state)));
}

/* The whole body is in: parse, admit, and wait for the ticket (H1). */
static enum MHD_Result tx_submit(struct net_http *http, struct http_req *req)
{
    struct net_node *node = http->node;
    struct net_tx_body tx;
    const char *code, *why;
    size_t max_payload = http->max_body;
    int rv;

    if (req->too_big) {
        http->stats.tx_too_large++;
        return reply_bad(http, req->conn, MHD_HTTP_CONTENT_TOO_LARGE,
                         "too_large", "request body too large");
    }
    rv = net_tx_body_parse(req->body != NULL ? req->body : "", req->len,
                           max_payload, &tx, &code, &why);
    if (rv == SEQ_ETOOBIG) {
        http->stats.tx_too_large++;
        return reply_bad(http, req->conn, MHD_HTTP_CONTENT_TOO_LARGE,
                         "too_large", "payload too large");
    }
    if (rv == SEQ_ENOMEM) {
        return reply_error(req->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                           "out of memory");
    }
    if (rv != 0) {
        return reply_bad(http, req->conn, MHD_HTTP_BAD_REQUEST, code, why);
    }
    http->stats.tx_submitted++;
    rv = net_rollup_submit(node, tx.ns, tx.payload, tx.len, &req->hash,
                           &req->state);
    seq_free(tx.payload);
    switch (rv) {
    case SEQ_OK:
        break;
    case SEQ_ENOTFOUND:
        return reply_bad(http, req->conn, MHD_HTTP_BAD_REQUEST,
                         "unknown_namespace", "namespace not in genesis");
    case SEQ_ETOOBIG:
        http->stats.tx_too_large++;
        return reply_bad(http, req->conn, MHD_HTTP_CONTENT_TOO_LARGE,
                         "too_large", "payload above the namespace's limit");
    case SEQ_EFULL:
        return reply_full(http, req->conn);
    default:
        return reply_error(req->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                           seq_strerror(rv));
    }
    if (req->state == MP_TX_NEW) {
        http->stats.tx_accepted++;
    }
    /* The body is done with; only the ticket is waited for. */
    http->body_bytes -= req->cap;
    seq_free(req->body);
    req->body = NULL;
    req->len = req->cap = 0;
    req->phase = TX_WAITING;
    req->ticket = node->write_turn;
    req->deadline_ms = node->now_ms + HTTP_TX_DEADLINE_MS; /* (H6) */
    if (node->synced_turn >= req->ticket) {
        return tx_accepted(req);
    }
    park(http, req);
    return MHD_YES;
}

/* (H6): the ticket is still not durable at the deadline. */
static enum MHD_Result tx_timed_out(struct net_http *http, struct http_req *req)
{
    char hex[2 * SEQ_HASH_LEN + 1];

    http->stats.tx_timeouts++;
    node_hex(&req->hash, hex);
    return reply_retry(
        req->conn, MHD_HTTP_SERVICE_UNAVAILABLE,
        json_pack("{s:s, s:s, s:s}", "error",
                  "admitted, but not on disk within the deadline: its status "
                  "is unknown and it may still commit; resubmitting is safe "
                  "(idempotent by tx_hash)",
                  "code", "not_durable", "tx_hash", hex),
        net_rollup_retry_after_ms(http->node));
}

/* Every call after the first for POST /v1/tx. */
static enum MHD_Result tx_continue(struct net_http *http,
                                   struct http_req *req,
                                   const char *data,
                                   size_t *size)
{
    if (http->closing) {
        return MHD_NO; /* (H4) */
    }
    if (req->phase == TX_UPLOADING) {
        if (*size > 0) {
            return tx_upload(req, data, size);
        }
        return tx_submit(http, req);
    }
    if (http->node->synced_turn >= req->ticket) {
        return tx_accepted(req);
    }
    if (http->node->now_ms >= req->deadline_ms) {
        return tx_timed_out(http, req);
    }
    park(http, req); /* Resumed early: wait on. */
    return MHD_YES;
}

static enum MHD_Result tx_status(struct net_http *http,
                                 struct MHD_Connection *conn,
                                 const struct seq_hash *hash)
{
    char hex[2 * SEQ_HASH_LEN + 1];
    uint64_t height = 0, ns = 0, index = 0;
    enum mp_tx_state state;

    node_hex(hash, hex);
    state = net_rollup_tx(http->node, hash, &height, &ns, &index);
    switch (state) {
    case MP_TX_COMMITTED:
        return reply_json(
            conn, MHD_HTTP_OK,
            json_pack("{s:s, s:s, s:I, s:I, s:I}", "tx_hash", hex, "status",
                      "committed", "height", (json_int_t)height, "namespace",
                      (json_int_t)ns, "index", (json_int_t)index));
    case MP_TX_PENDING:
    case MP_TX_NEW:
        return reply_json(
            conn, MHD_HTTP_OK,
            json_pack("{s:s, s:s}", "tx_hash", hex, "status", "pending"));
    case MP_TX_UNKNOWN:
        break;
    }
    return reply_json(
        conn, MHD_HTTP_NOT_FOUND,
        json_pack("{s:s, s:s, s:s, s:s}", "tx_hash", hex, "status", "unknown",
                  "error", "no such transaction here", "code", "unknown_tx"));
}

/* ---- Namespace blocks -----------------------------------------------------
 */

static enum MHD_Result ns_block(struct net_http *http,
                                struct MHD_Connection *conn,
                                uint64_t ns,
                                uint64_t height)
{
    struct seqc_nsblock b;
    char *text = NULL;
    int rv;

    if (net_genesis_namespace(&http->node->genesis, ns) == NULL) {
        return reply_bad(http, conn, MHD_HTTP_BAD_REQUEST, "unknown_namespace",
                         "namespace not in genesis");
    }
    memset(&b, 0, sizeof b);
    rv = net_rollup_nsblock(http->node, ns, height, &b);
    if (rv == SEQ_ENOTFOUND) {
        return reply_error(conn, MHD_HTTP_NOT_FOUND, "unknown_height",
                           "no committed block at that height yet");
    }
    if (rv == SEQ_EINVAL) {
        return reply_bad(http, conn, MHD_HTTP_BAD_REQUEST, "unknown_namespace",
                         "namespace not in genesis");
    }
    if (rv == 0) {
        rv = seqc_nsblock_to_json(&b, &http->node->genesis.hash, &text);
        seqc_nsblock_free(&b);
    }
    if (rv != 0) {
        SEQ_LOGE(LOG_MOD,
                 "namespace block ns=%" PRIu64 " height=%" PRIu64 ": %s", ns,
                 height, seq_strerror(rv));
        return reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                           seq_strerror(rv));
    }
    return reply(conn, MHD_HTTP_OK, "application/json", text);
}

/* ---- Streams (H3) ---------------------------------------------------------
 */

/* Loads the line for s->next_height (<= net_rollup_height). */
static int stream_fill(struct http_req *s)
{
    struct seqc_nsblock b;
    char *text = NULL;
    size_t n;
    int rv;

    memset(&b, 0, sizeof b);
    rv = net_rollup_nsblock(s->http->node, s->ns, s->next_height, &b);
    if (rv == 0) {
        rv = seqc_nsblock_to_json(&b, &s->http->node->genesis.hash, &text);
        seqc_nsblock_free(&b);
    }
    if (rv != 0) {
        SEQ_LOGE(LOG_MOD,
                 "stream ns=%" PRIu64 " height=%" PRIu64 ": %s; closing it",
                 s->ns, s->next_height, seq_strerror(rv));
        return rv;
    }
    n = strlen(text);
    seq_free(s->line);
    s->line = seq_malloc(n + 1);
    if (s->line == NULL) {
        free(text);
        return SEQ_ENOMEM;
    }
    memcpy(s->line, text, n);
    s->line[n] = '\n';
    free(text);
    s->line_len = n + 1;
    s->line_off = 0;
    s->next_height++;
    s->http->stats.stream_blocks++;
    return SEQ_OK;
}

/* Fills @buf with as many lines as fit (at most HTTP_STREAM_LINES new
 * blocks per call, and none after HTTP_STREAM_READ_BYTES of batches were
 * read), the last one possibly cut, the rest kept for the next call. The
 * first line is always built, so a call returns 0 only with nothing to
 * send, and then suspends (H3). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_req *s = cls;
    uint64_t height = net_rollup_height(s->http->node);
    uint64_t read_start = net_rollup_read_bytes(s->http->node);
    unsigned filled = 0;
    size_t n, done = 0;

    (void)pos;
    if (s->http->closing || s->hangup) {
        return MHD_CONTENT_READER_END_WITH_ERROR; /* (H3, H4) */
    }
    while (done < max) {
        if (s->line_off == s->line_len) {
            if (s->next_height > height || filled == HTTP_STREAM_LINES ||
                net_rollup_read_bytes(s->http->node) - read_start >=
                    HTTP_STREAM_READ_BYTES) {
                break;
            }
            if (stream_fill(s) != 0) {
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
            filled++;
        }
        n = s->line_len - s->line_off;
        if (n > max - done) {
            n = max - done;
        }
        memcpy(buf + done, s->line + s->line_off, n);
        s->line_off += n;
        done += n;
    }
    if (done == 0) {
        park(s->http, s); /* Resumed by net_http_after_sync. */
    }
    return (ssize_t)done;
}

/* The address of @conn's client, the key of the per-client limit (H3).
 * The listener is IPv4 only (net_http_open). */
static uint32_t client_addr(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    struct sockaddr_in sin;

    if (info == NULL || info->client_addr == NULL ||
        info->client_addr->sa_family != AF_INET) {
        return 0; /* Not expected; such clients share one count. */
    }
    memcpy(&sin, info->client_addr, sizeof sin);
    return sin.sin_addr.s_addr;
}

/* @addr's entry in http->clients, or NULL when it has no stream open. */
static struct stream_client *client_find(struct net_http *http, uint32_t addr)
{
    size_t i;

    for (i = 0; i < http->n_clients; i++) {
        if (http->clients[i].addr == addr) {
            return &http->clients[i];
        }
    }
    return NULL;
}

/* Counts a stream for @addr. There is room: every entry has a stream open,
 * and a new stream is refused before this once HTTP_MAX_STREAMS are. */
static void client_add(struct net_http *http, uint32_t addr)
{
    struct stream_client *c = client_find(http, addr);

    if (c == NULL) {
        assert(http->n_clients < HTTP_MAX_STREAMS);
        c = &http->clients[http->n_clients++];
        c->addr = addr;
        c->n_streams = 0;
    }
    c->n_streams++;
}

static void client_remove(struct net_http *http, uint32_t addr)
{
    struct stream_client *c = client_find(http, addr);

    assert(c != NULL && c->n_streams > 0);
    if (--c->n_streams == 0) {
        *c = http->clients[--http->n_clients];
    }
}

/* The response's free callback: the stream's end, however it came. */
static void stream_free(void *cls)
{
    struct http_req *s = cls;

    unlink_req(s->http, s);
    client_remove(s->http, s->client);
    s->http->n_streams--;
    seq_free(s->line);
    seq_free(s);
}

/* A stream refused for now: 503 when HTTP_MAX_STREAMS are open, 429 when
 * its client's address has HTTP_CLIENT_STREAMS (H3). */
static enum MHD_Result stream_refuse(struct net_http *http,
                                     struct MHD_Connection *conn,
                                     bool per_client)
{
    if (per_client) {
        http->stats.streams_refused_client++;
        return reply_retry(conn, MHD_HTTP_TOO_MANY_REQUESTS,
                           json_pack("{s:s, s:s}", "error",
                                     "too many streams open from this address",
                                     "code", "too_many_client_streams"),
                           HTTP_STREAM_RETRY_MS);
    }
    http->stats.streams_refused++;
    return reply_retry(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                       json_pack("{s:s, s:s}", "error", "too many streams open",
                                 "code", "too_many_streams"),
                       HTTP_STREAM_RETRY_MS);
}

static enum MHD_Result stream_open(struct net_http *http,
                                   struct MHD_Connection *conn,
                                   uint64_t ns)
{
    const char *from =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "from");
    uint32_t addr = client_addr(conn);
    const struct stream_client *client;
    struct MHD_Response *resp;
    struct http_req *s;
    enum MHD_Result ret;
    uint64_t height = 1;

    if (from != NULL &&
        (net_parse_u64(from, strlen(from), &height) != 0 || height == 0)) {
        return reply_bad(http, conn, MHD_HTTP_BAD_REQUEST, "bad_height",
                         "from must be a height, 1 or more");
    }
    if (net_genesis_namespace(&http->node->genesis, ns) == NULL) {
        return reply_bad(http, conn, MHD_HTTP_BAD_REQUEST, "unknown_namespace",
                         "namespace not in genesis");
    }
    client = client_find(http, addr);
    if (client != NULL && client->n_streams >= HTTP_CLIENT_STREAMS) {
        return stream_refuse(http, conn, true);
    }
    if (http->n_streams >= HTTP_MAX_STREAMS) {
        return stream_refuse(http, conn, false);
    }
    s = seq_calloc(1, sizeof *s);
    if (s == NULL) {
        return MHD_NO;
    }
    s->kind = REQ_STREAM;
    s->http = http;
    s->conn = conn;
    s->client = addr;
    s->ns = ns;
    s->next_height = height;
    resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, HTTP_STREAM_CHUNK, stream_read, s, stream_free);
    if (resp == NULL) {
        seq_free(s);
        return MHD_NO;
    }
    http->n_streams++; /* From here stream_free runs, once. */
    client_add(http, addr);
    http->stats.streams_opened++;
    MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned int)0);
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- Routing --------------------------------------------------------------
 */

static enum MHD_Result http_readyz(struct net_node *node,
                                   struct MHD_Connection *conn)
{
    bool ready = node_ready(node);

    return reply_json(
        conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
        json_pack("{s:s, s:b, s:I}", "status", ready ? "ready" : "not ready",
                  "catching_up", hs_core_catching_up(node->core), "peers",
                  (json_int_t)net_mesh_peers(node->mesh)));
}

/* 405 with the method the path takes. */
static enum MHD_Result reply_method(struct net_http *http,
                                    struct MHD_Connection *conn,
                                    const char *allow)
{
    http->stats.bad_requests++;
    return reply_json_header(
        conn, MHD_HTTP_METHOD_NOT_ALLOWED,
        json_pack("{s:s, s:s}", "error", "method not allowed here", "code",
                  "method"),
        "Allow", allow);
}

static const char *route_error_text(const char *code)
{
    if (strcmp(code, "bad_hash") == 0) {
        return "a transaction hash is 64 hex digits";
    }
    if (strcmp(code, "bad_namespace") == 0) {
        return "a namespace is a decimal number";
    }
    return "a height is a decimal number (namespace blocks from 1)";
}

static enum MHD_Result http_route(struct net_http *http,
                                  struct MHD_Connection *conn,
                                  const char *url,
                                  const char *method,
                                  void **con_cls)
{
    struct net_node *node = http->node;
    struct net_route route;
    const char *want;
    int rv;

    rv = net_route_parse(url, &route);
    if (rv == SEQ_ENOTFOUND) {
        return reply_bad(http, conn, MHD_HTTP_NOT_FOUND, "not_found",
                         "no such path");
    }
    want = route.kind == NET_ROUTE_TX_SUBMIT ? "POST" : "GET";
    if (strcmp(method, want) != 0) {
        return reply_method(http, conn, want);
    }
    if (rv != 0) {
        return reply_bad(http, conn, MHD_HTTP_BAD_REQUEST, route.error,
                         route_error_text(route.error));
    }
    switch (route.kind) {
    case NET_ROUTE_STATUS:
        return reply_json(conn, MHD_HTTP_OK, node_status_json(node));
    case NET_ROUTE_BLOCK:
        return http_block(node, conn, route.height);
    case NET_ROUTE_TX_SUBMIT:
        return tx_begin(http, conn, con_cls);
    case NET_ROUTE_TX_GET:
        return tx_status(http, conn, &route.hash);
    case NET_ROUTE_NS_BLOCK:
        return ns_block(http, conn, route.ns, route.height);
    case NET_ROUTE_NS_STREAM:
        return stream_open(http, conn, route.ns);
    case NET_ROUTE_LIVEZ:
        return reply_json(conn, MHD_HTTP_OK,
                          json_pack("{s:s}", "status", "ok"));
    case NET_ROUTE_READYZ:
        return http_readyz(node, conn);
    case NET_ROUTE_METRICS:
        return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4",
                     node_metrics_text(node));
    }
    return MHD_NO;
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
    struct net_http *http = cls;

    (void)version;
    if (*con_cls != NULL) {
        return tx_continue(http, *con_cls, upload_data, upload_data_size);
    }
    if (http->closing) {
        return MHD_NO;
    }
    http->node->stats.http_requests++;
    /* Every path but POST /v1/tx answers here, at the headers: a body
     * sent with it is not read (libmicrohttpd closes the connection after
     * the reply). */
    return http_route(http, conn, url, method, con_cls);
}

/* MHD_OPTION_NOTIFY_COMPLETED: a POST /v1/tx is over, answered or not. */
static void http_completed(void *cls,
                           struct MHD_Connection *conn,
                           void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct http_req *req = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (req != NULL) {
        unlink_req(req->http, req);
        tx_free(req);
        *con_cls = NULL;
    }
}

/* ---- Life cycle and the loop hooks --------------------------------------- */

/* (H2): the largest payload in base64, plus the JSON around it. */
static size_t body_limit(const struct net_genesis *genesis)
{
    uint32_t largest = 0, i;

    for (i = 0; i < genesis->n_namespaces; i++) {
        if (genesis->namespaces[i].max_tx_size > largest) {
            largest = genesis->namespaces[i].max_tx_size;
        }
    }
    return ((size_t)largest + 2) / 3 * 4 + HTTP_BODY_SLACK;
}

int net_http_open(struct net_node *node, char errmsg[SEQ_ERRMSG_LEN])
{
    const char *colon = strrchr(node->config.http_listen, ':');
    unsigned long port;
    struct sockaddr_in addr;
    struct net_http *http;
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
    http = seq_calloc(1, sizeof *http);
    if (http == NULL) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "http: out of memory");
        return SEQ_ENOMEM;
    }
    http->node = node;
    http->max_body = body_limit(&node->genesis);
    node->http_state = http;
    /* No MHD_USE_ERROR_LOG: under a connection flood it writes a line per
     * refused connection. A per-address limit keeps one client from
     * holding every slot (slowloris). */
    node->http = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, (uint16_t)port, NULL, NULL,
        http_handle, http, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)16,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, http, MHD_OPTION_END);
    if (node->http == NULL) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "http: cannot listen on %s",
                 node->config.http_listen);
        node->http_state = NULL;
        seq_free(http);
        return SEQ_EIO;
    }
    return SEQ_OK;
}

void net_http_close(struct net_node *node)
{
    struct net_http *http = node->http_state;

    if (node->http != NULL) {
        if (http != NULL) {
            http->closing = true; /* (H4) */
            while (http->suspended != NULL) {
                unpark(http, http->suspended);
            }
        }
        MHD_stop_daemon(node->http);
        node->http = NULL;
    }
    seq_free(http);
    node->http_state = NULL;
}

int net_http_epoll_fd(struct net_node *node)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(node->http, MHD_DAEMON_INFO_EPOLL_FD);

    return info != NULL ? info->epoll_fd : -1;
}

/* The earliest deadline of a parked POST bounds the sleep too (H6). It is
 * measured from this turn's clock, so the loop may wake as late as this
 * turn's length after it: a few milliseconds. */
uint64_t net_http_timeout_ms(struct net_node *node, uint64_t max)
{
    const struct net_http *http = node->http_state;
    const struct http_req *req;
    MHD_UNSIGNED_LONG_LONG ms;

    for (req = http->n_suspended_tx > 0 ? http->suspended : NULL; req != NULL;
         req = req->next) {
        if (req->kind != REQ_TX) {
            continue;
        }
        if (req->deadline_ms <= node->now_ms) {
            return 0;
        }
        if (req->deadline_ms - node->now_ms < max) {
            max = req->deadline_ms - node->now_ms;
        }
    }
    if (MHD_get_timeout(node->http, &ms) == MHD_YES && ms < max) {
        return ms;
    }
    return max;
}

void net_http_run(struct net_node *node)
{
    MHD_run(node->http);
}

/* Whether the client of a parked connection has closed or reset it: a
 * suspended connection is not watched by libmicrohttpd, so a stream parked
 * at a height that is long in coming would otherwise hold its slot after
 * its client left (H3). Peeking consumes nothing. */
static bool peer_left(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    ssize_t n;
    char c;

    if (info == NULL) {
        return false;
    }
    n = recv(info->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 ||
           (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void net_http_after_sync(struct net_node *node)
{
    struct net_http *http = node->http_state;
    uint64_t height = net_rollup_height(node);
    bool probe = node->now_ms - http->probe_ms >= HTTP_PROBE_MS;
    struct http_req *req, *next;

    if (probe) {
        http->probe_ms = node->now_ms;
    }
    for (req = http->suspended; req != NULL; req = next) {
        next = req->next;
        if (req->kind == REQ_TX) {
            /* Answered by tx_continue: 202, or 503 past the deadline. */
            if (node->synced_turn >= req->ticket ||
                node->now_ms >= req->deadline_ms) {
                unpark(http, req);
            }
        } else if (req->next_height <= height) {
            unpark(http, req);
        } else if (probe && peer_left(req->conn)) {
            req->hangup = true;
            unpark(http, req); /* To be closed by stream_read. */
        }
    }
    MHD_run(node->http);
}

void net_http_metrics(const struct net_node *node, FILE *f)
{
    const struct net_http *http = node->http_state;

    if (http == NULL) {
        return;
    }
    NODE_GAUGE(f, "http_streams", "Namespace block streams open.",
               http->n_streams);
    NODE_GAUGE(f, "http_tx_waiting",
               "POST /v1/tx requests waiting for their sync before the 202.",
               http->n_suspended_tx);
    NODE_GAUGE(f, "http_body_bytes", "Bytes of request body buffers held.",
               http->body_bytes);
    NODE_COUNTER(
        f, "http_bad_requests_total",
        "HTTP requests refused as malformed, too large or misdirected.",
        http->stats.bad_requests);
    NODE_COUNTER(f, "http_tx_submitted_total",
                 "Transactions submitted over HTTP.", http->stats.tx_submitted);
    NODE_COUNTER(f, "http_tx_accepted_total",
                 "New transactions admitted over HTTP.",
                 http->stats.tx_accepted);
    NODE_COUNTER(f, "http_tx_too_large_total",
                 "HTTP submissions refused as too large.",
                 http->stats.tx_too_large);
    NODE_COUNTER(f, "http_tx_full_total",
                 "HTTP submissions refused: mempool full.",
                 http->stats.tx_full);
    NODE_COUNTER(f, "http_tx_timeouts_total",
                 "POST /v1/tx answered 503: not durable within the deadline.",
                 http->stats.tx_timeouts);
    NODE_COUNTER(f, "http_streams_opened_total",
                 "Namespace block streams opened.", http->stats.streams_opened);
    NODE_COUNTER(f, "http_streams_refused_total",
                 "Streams refused: too many open in all.",
                 http->stats.streams_refused);
    NODE_COUNTER(f, "http_streams_refused_client_total",
                 "Streams refused: too many open from the client's address.",
                 http->stats.streams_refused_client);
    NODE_COUNTER(f, "http_stream_blocks_total",
                 "Namespace blocks sent on streams.",
                 http->stats.stream_blocks);
}
