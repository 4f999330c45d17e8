/* The client port (net_node_int.h, proto/client.proto): a ZeroMQ ROUTER
 * for rollups, executors and load generators. Submissions with acks held
 * until the disk has them, transaction queries, and credit-based
 * subscriptions to one namespace's blocks.
 *
 * NOTES ON THE DESIGN
 * (C1) Messages are [routing id][kind][body]. Kind 0x01 asks for the
 *      /v1/status JSON; kind 0x02 carries one ClientRequest (version 1).
 *      Anything else, and any body that does not decode or breaks a bound
 *      (1..SEQC_MAX_SUBMIT transactions, 32-byte hashes, heights >= 1,
 *      1..SEQC_MAX_CREDITS credits), is counted in client_bad and answered
 *      with an Error: the routing id always tells who asked. The bounds
 *      that need no node state are net_client_request_decode's
 *      (net_parse.h), which tests/fuzz/fuzz_client_port.c fuzzes; the
 *      handlers below only see requests that passed them.
 * (C2) Decoding is bounded twice: libzmq refuses a frame above
 *      SEQC_MAX_MSG (ZMQ_MAXMSGSIZE), and protobuf-c unpacks through an
 *      allocator with a budget of NET_CLIENT_DECODE_FACTOR times the body
 *      plus NET_CLIENT_DECODE_SLACK (net_parse.h), so a message packed
 *      with empty repeated elements cannot make us allocate 30 times its
 *      size.
 * (C3) No ack before the disk. A SubmitAck with any transaction admitted
 *      (new, or a duplicate whose first copy may have come this very turn)
 *      waits in the ack queue with the ticket node->write_turn and leaves
 *      in net_client_after_sync once node->synced_turn reaches it. An ack
 *      of refusals only leaves at once. The queue is bounded
 *      (CLIENT_MAX_ACKS, CLIENT_MAX_ACK_BYTES); a Submit that would not
 *      fit is answered Error "busy" before anything is admitted.
 * (C4) Sends never block: ZMQ_ROUTER_MANDATORY turns a full peer queue
 *      into EAGAIN and a departed peer into EHOSTUNREACH at the routing-id
 *      frame, before anything of the message is queued. A block that could
 *      not go stays built in its subscription (at most one each) and is
 *      retried next turn, the cursor unmoved; an ack is retried the same
 *      way until CLIENT_ACK_STALE_MS (one peer holds at most
 *      CLIENT_MAX_ACKS_PEER of the queue); a reply to a request is
 *      dropped (the client asks again).
 * (C5) A subscription is the routing id's: a new Subscribe replaces it.
 *      It never sends more blocks than its credits, at most
 *      CLIENT_BLOCKS_PER_SUB per turn and CLIENT_BLOCKS_PER_TURN over all
 *      of them (starting from a rotating index), so that no subscriber
 *      starves the loop or the others. Blocks are counted in bytes too:
 *      once the turn's blocks sent and the stored batches read to build
 *      them (net_rollup_read_bytes: a namespace's entries are references
 *      into whole batches, R5) reach CLIENT_BYTES_PER_TURN, a subscription
 *      builds no second block that turn. Its first build of a turn never
 *      waits, so a live follower gets its block whichever subscription
 *      caught up before it; a turn therefore spends at most the budget
 *      plus one block (and its height's batches) per subscription. A
 *      stream catching up over big blocks takes several turns, not one
 *      long one, and when a limit (not credits, the tip or a full peer
 *      queue) left blocks unsent, net_client_has_work() asks the loop
 *      for the next turn at once.
 *      At most CLIENT_MAX_SUBS exist; one that neither took a block nor
 *      heard from its peer for CLIENT_STALE_MS is dropped (sub_stale). */

#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zmq.h>

#include "client.pb-c.h"
#include "mp_batch.h"
#include "net_node_int.h"
#include "net_parse.h"
#include "seq_alloc.h"
#include "seq_client.h"
#include "seq_err.h"
#include "seq_log.h"

#define LOG_MOD                "client"
#define MAX_FRAMES_PER_TURN    512
#define CLIENT_KIND_STATUS     1
#define CLIENT_KIND_PROTO      2
#define CLIENT_VERSION         1
#define CLIENT_ID_MAX          255  /* ZeroMQ routing ids: 1..255 bytes. */
#define CLIENT_RCVHWM          8    /* Messages queued per peer, each ... */
#define CLIENT_SNDHWM          32   /* ... up to SEQC_MAX_MSG. */
#define CLIENT_MAX_ACKS        1024 /* (C3) */
#define CLIENT_MAX_ACK_BYTES   (32u * 1024 * 1024) /* (C3) */
#define CLIENT_MAX_SUBS        256                 /* (C5) */
#define CLIENT_BLOCKS_PER_SUB  64
#define CLIENT_BLOCKS_PER_TURN 1024
#define CLIENT_BYTES_PER_TURN  (4u * 1024 * 1024) /* (C5) */
#define CLIENT_STALE_MS        120000             /* (C4, C5) */
/* An ack its peer does not take within this is dropped: safe, since a
 * resubmission is idempotent, and it frees the shared queue (C3). */
#define CLIENT_ACK_STALE_MS  2000
#define CLIENT_MAX_ACKS_PEER 64
#define CLIENT_RESULT_BYTES  48 /* Bounds one encoded TxResult, */
#define CLIENT_ACK_HEAD      64 /* and the rest of a SubmitAck reply. */

struct client_id {
    uint8_t len;
    uint8_t bytes[CLIENT_ID_MAX];
};

/* A SubmitAck waiting for its ticket (C3). */
struct client_ack {
    struct client_id to;
    uint64_t ticket;
    uint64_t queued_ms;
    uint8_t *msg; /* The encoded ClientReply. */
    size_t len;
};

struct client_sub {
    struct client_id peer;
    uint64_t ns;
    uint64_t next_height;
    uint32_t credits;
    uint64_t heard_ms;    /* Last message from the peer. */
    uint64_t progress_ms; /* Last block it took (or its subscribe). */
    bool gone;            /* The last send found no such peer. */
    uint8_t *pending;     /* Built for next_height, not sent yet (C4). */
    size_t pending_len;
};

struct client_stats {
    uint64_t submits;
    uint64_t txs;
    uint64_t txs_accepted;
    uint64_t acks_sent;
    uint64_t acks_dropped;
    uint64_t queries;
    uint64_t subscribes;
    uint64_t blocks_sent;
    uint64_t turns_bytes_limited;
    uint64_t turn_bytes_max; /* The most one turn's blocks spent (C5). */
    uint64_t replies_dropped;
    uint64_t errors;
};

struct net_client {
    void *sock;
    struct client_ack *acks; /* FIFO: tickets never decrease. */
    size_t n_acks, cap_acks;
    size_t ack_bytes;
    struct client_sub *subs; /* CLIENT_MAX_SUBS slots. */
    size_t n_subs;
    size_t next_sub; /* Where the next turn's sending starts (C5). */
    bool more;       /* The last turn left blocks it could have sent. */
    struct client_stats stats;
};

/* ---- Sending (C4) ------------------------------------------------------- */

/* [to][kind][body]: 0, SEQ_EAGAIN (the peer's queue is full),
 * SEQ_ENOTFOUND (no such peer) or SEQ_EIO. */
static int send_to(struct net_client *c,
                   const struct client_id *to,
                   uint8_t kind,
                   const void *body,
                   size_t len)
{
    if (zmq_send(c->sock, to->bytes, to->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        int err = zmq_errno();

        return err == EAGAIN         ? SEQ_EAGAIN
               : err == EHOSTUNREACH ? SEQ_ENOTFOUND
                                     : SEQ_EIO;
    }
    /* Past the routing id, the message is taken whole. */
    if (zmq_send(c->sock, &kind, 1, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(c->sock, body, len, ZMQ_DONTWAIT) < 0) {
        return SEQ_EIO;
    }
    return SEQ_OK;
}

/* Packs @reply (version set here) into a seq_malloc'ed buffer. */
static int pack_reply(Seqc__ClientReply *reply, uint8_t **out, size_t *len)
{
    size_t n;

    reply->version = CLIENT_VERSION;
    n = seqc__client_reply__get_packed_size(reply);
    *out = seq_malloc(n);
    if (*out == NULL) {
        return SEQ_ENOMEM;
    }
    *len = seqc__client_reply__pack(reply, *out);
    return SEQ_OK;
}

/* A reply to a request, sent now or dropped (C4). */
static void send_reply(struct net_client *c,
                       const struct client_id *to,
                       Seqc__ClientReply *reply)
{
    uint8_t *msg;
    size_t len;

    if (pack_reply(reply, &msg, &len) != 0 ||
        send_to(c, to, CLIENT_KIND_PROTO, msg, len) != 0) {
        c->stats.replies_dropped++;
    }
    seq_free(msg);
}

static void send_error(struct net_client *c,
                       const struct client_id *to,
                       uint64_t request_id,
                       const char *code,
                       const char *message)
{
    Seqc__ClientReply reply = SEQC__CLIENT_REPLY__INIT;
    Seqc__Error error = SEQC__ERROR__INIT;

    error.request_id = request_id;
    error.code = (char *)code;
    error.message = (char *)message;
    reply.msg_case = SEQC__CLIENT_REPLY__MSG_ERROR;
    reply.error = &error;
    c->stats.errors++;
    send_reply(c, to, &reply);
}

/* A malformed request (C1): counted, and answered. */
static void refuse(struct net_node *node,
                   const struct client_id *to,
                   uint64_t request_id,
                   const char *message)
{
    node->stats.client_bad++;
    send_error(node->client, to, request_id, "malformed", message);
}

/* ---- Subscriptions (C5) ------------------------------------------------- */

static size_t peer_acks(const struct net_client *c,
                        const struct client_id *peer)
{
    size_t i, n = 0;

    for (i = 0; i < c->n_acks; i++) {
        n += c->acks[i].to.len == peer->len &&
             memcmp(c->acks[i].to.bytes, peer->bytes, peer->len) == 0;
    }
    return n;
}

static struct client_sub *find_sub(struct net_client *c,
                                   const struct client_id *peer)
{
    size_t i;

    for (i = 0; i < c->n_subs; i++) {
        struct client_sub *s = &c->subs[i];
        if (s->peer.len == peer->len &&
            memcmp(s->peer.bytes, peer->bytes, peer->len) == 0) {
            return s;
        }
    }
    return NULL;
}

static void drop_sub(struct net_client *c, size_t i)
{
    seq_free(c->subs[i].pending);
    c->subs[i] = c->subs[c->n_subs - 1];
    c->n_subs--;
    if (c->next_sub >= c->n_subs) {
        c->next_sub = 0;
    }
}

/* (C5) A subscription that neither took a block nor said anything for
 * CLIENT_STALE_MS goes, credits or not: a peer that left, one that stopped
 * reading (its sends fail with EAGAIN), or one that asked for a height
 * far ahead would otherwise hold its slot, and what libzmq queued for it,
 * for ever. A live executor on a live chain takes a block at least every
 * idle block interval, and one that waits longer resubscribes. */
static bool sub_stale(const struct client_sub *s, uint64_t now_ms)
{
    uint64_t last = s->heard_ms > s->progress_ms ? s->heard_ms : s->progress_ms;

    /* A departed peer's routing id never comes back (a reconnecting
     * DEALER gets a new one): drop it at once. */
    return s->gone || now_ms - last > CLIENT_STALE_MS;
}

static void expire_subs(struct net_client *c, uint64_t now_ms)
{
    size_t i = 0;

    while (i < c->n_subs) {
        if (sub_stale(&c->subs[i], now_ms)) {
            drop_sub(c, i);
        } else {
            i++;
        }
    }
}

static void on_subscribe(struct net_node *node,
                         const struct client_id *from,
                         const Seqc__Subscribe *m)
{
    struct net_client *c = node->client;
    struct client_sub *s;

    if (net_genesis_namespace(&node->genesis, m->namespace_) == NULL) {
        send_error(c, from, 0, "unknown_namespace", "namespace not in genesis");
        return;
    }
    s = find_sub(c, from);
    if (s == NULL) {
        if (c->n_subs == CLIENT_MAX_SUBS) {
            expire_subs(c, node->now_ms);
        }
        if (c->n_subs == CLIENT_MAX_SUBS) {
            send_error(c, from, 0, "busy", "too many subscriptions");
            return;
        }
        s = &c->subs[c->n_subs++];
        memset(s, 0, sizeof *s);
        s->peer = *from;
    }
    seq_free(s->pending);
    s->pending = NULL;
    s->pending_len = 0;
    s->ns = m->namespace_;
    s->next_height = m->from_height;
    s->credits = m->credits;
    s->heard_ms = node->now_ms;
    s->progress_ms = node->now_ms;
    s->gone = false;
    c->stats.subscribes++;
}

static void on_credit(struct net_node *node,
                      const struct client_id *from,
                      const Seqc__Credit *m)
{
    struct client_sub *s = find_sub(node->client, from);
    uint64_t credits;

    if (s == NULL) {
        send_error(node->client, from, 0, "no_subscription",
                   "credit without a subscription");
        return;
    }
    credits = (uint64_t)s->credits + m->credits;
    s->credits =
        credits > SEQC_MAX_CREDITS ? SEQC_MAX_CREDITS : (uint32_t)credits;
}

/* The ClientReply for one namespace block, encoded around
 * seqc_nsblock_encode's bytes: field 1 (version, varint) and field 3
 * (block, length-delimited), which is what packing a ClientReply with
 * .block set writes, without decoding the block back into protobuf-c. */
static int build_block(struct net_node *node,
                       struct client_sub *s,
                       uint8_t **out,
                       size_t *out_len)
{
    struct seqc_nsblock b;
    uint8_t head[16], *enc = NULL, *msg;
    size_t enc_len = 0, n = 0;
    uint64_t v;
    int rv;

    memset(&b, 0, sizeof b);
    rv = net_rollup_nsblock(node, s->ns, s->next_height, &b);
    if (rv != 0) {
        return rv;
    }
    rv = seqc_nsblock_encode(&b, &enc, &enc_len);
    seqc_nsblock_free(&b);
    if (rv != 0) {
        return rv;
    }
    head[n++] = 1 << 3 | 0; /* version, varint */
    head[n++] = CLIENT_VERSION;
    head[n++] = 3 << 3 | 2; /* block, length-delimited */
    for (v = enc_len; v >= 0x80; v >>= 7) {
        head[n++] = (uint8_t)(v | 0x80);
    }
    head[n++] = (uint8_t)v;
    msg = seq_malloc(n + enc_len);
    if (msg == NULL) {
        free(enc);
        return SEQ_ENOMEM;
    }
    memcpy(msg, head, n);
    memcpy(msg + n, enc, enc_len);
    free(enc);
    *out = msg;
    *out_len = n + enc_len;
    return SEQ_OK;
}

/* What the subscriptions may still take this turn (C5). */
struct send_budget {
    unsigned blocks;
    uint64_t sent_bytes;
    uint64_t read_start; /* net_rollup_read_bytes when the turn began. */
    bool bytes_hit;      /* A build was put off for the bytes. */
    bool more;           /* A limit, not the peer or the tip, stopped one. */
};

/* Bytes the turn has spent: blocks sent and batches read to build them. */
static uint64_t budget_spent(const struct net_node *node,
                             const struct send_budget *b)
{
    return b->sent_bytes + (net_rollup_read_bytes(node) - b->read_start);
}

/* Sends what @s may send this turn, out of @b; returns -1 when the
 * subscription must go (its blocks cannot be built), else 0. Its first
 * build of the turn does not wait for the byte budget (C5). */
static int sub_send(struct net_node *node,
                    struct client_sub *s,
                    uint64_t height,
                    struct send_budget *b)
{
    struct net_client *c = node->client;
    unsigned sent = 0, built = 0;
    bool limited = false;
    int rv;

    while (s->credits > 0) {
        if (s->pending == NULL && s->next_height > height) {
            break; /* At the tip. */
        }
        if (sent == CLIENT_BLOCKS_PER_SUB || b->blocks == 0) {
            limited = true;
            break;
        }
        if (s->pending == NULL) {
            if (built > 0 && budget_spent(node, b) >= CLIENT_BYTES_PER_TURN) {
                b->bytes_hit = limited = true;
                break;
            }
            built++;
            rv = build_block(node, s, &s->pending, &s->pending_len);
            if (rv != 0) {
                SEQ_LOGE(LOG_MOD,
                         "subscription ns=%" PRIu64 " height=%" PRIu64
                         ": %s; dropping it",
                         s->ns, s->next_height, seq_strerror(rv));
                send_error(c, &s->peer, 0, "internal",
                           "cannot build the namespace block");
                return -1;
            }
        }
        rv =
            send_to(c, &s->peer, CLIENT_KIND_PROTO, s->pending, s->pending_len);
        if (rv != 0) {
            s->gone = rv == SEQ_ENOTFOUND;
            break; /* Kept for the next turn (C4). */
        }
        b->sent_bytes += s->pending_len;
        b->blocks--;
        seq_free(s->pending);
        s->pending = NULL;
        s->pending_len = 0;
        s->gone = false;
        s->progress_ms = node->now_ms;
        s->credits--;
        s->next_height++;
        c->stats.blocks_sent++;
        sent++;
    }
    b->more |= limited;
    return 0;
}

static void send_blocks(struct net_node *node)
{
    struct net_client *c = node->client;
    uint64_t height = net_rollup_height(node);
    struct send_budget b = {
        .blocks = CLIENT_BLOCKS_PER_TURN,
        .read_start = net_rollup_read_bytes(node),
    };
    size_t i, n = c->n_subs, start = c->next_sub;
    uint64_t spent;

    /* Walk from a rotating start; a dropped subscription swaps the last
     * one into its slot, which this pass may then skip: it goes first
     * next turn. */
    for (i = 0; i < n; i++) {
        size_t k = (start + i) % n;

        if (k >= c->n_subs) {
            continue;
        }
        if (sub_send(node, &c->subs[k], height, &b) != 0) {
            drop_sub(c, k);
        }
    }
    spent = budget_spent(node, &b);
    c->more = b.more;
    c->stats.turns_bytes_limited += b.bytes_hit;
    if (spent > c->stats.turn_bytes_max) {
        c->stats.turn_bytes_max = spent;
    }
    if (c->n_subs > 0) {
        c->next_sub = (start + 1) % c->n_subs;
    }
}

/* ---- Submissions and queries -------------------------------------------- */

static Seqc__TxStatusCode submit_one(struct net_node *node,
                                     const Seqc__Tx *tx,
                                     struct seq_hash *hash,
                                     bool *admitted,
                                     bool *full)
{
    static const uint8_t empty[1];
    const uint8_t *payload = tx->payload.len > 0 ? tx->payload.data : empty;
    enum mp_tx_state state;
    int rv;

    rv = net_rollup_submit(node, tx->namespace_, payload, tx->payload.len, hash,
                           &state);
    if (rv == 0) {
        *admitted = true;
        if (state == MP_TX_NEW) {
            node->client->stats.txs_accepted++;
            return SEQC__TX_STATUS_CODE__TX_ACCEPTED;
        }
        return state == MP_TX_COMMITTED ? SEQC__TX_STATUS_CODE__TX_COMMITTED
                                        : SEQC__TX_STATUS_CODE__TX_PENDING;
    }
    mp_tx_hash(tx->namespace_, payload, tx->payload.len, hash);
    switch (rv) {
    case SEQ_ENOTFOUND:
        return SEQC__TX_STATUS_CODE__TX_UNKNOWN_NAMESPACE;
    case SEQ_ETOOBIG:
        return SEQC__TX_STATUS_CODE__TX_TOO_LARGE;
    default: /* SEQ_EFULL, SEQ_ENOMEM: both pass with time. */
        *full = true;
        return SEQC__TX_STATUS_CODE__TX_FULL;
    }
}

/* Queues an encoded ack (takes @msg) for its ticket. */
static int queue_ack(struct net_node *node,
                     const struct client_id *to,
                     uint8_t *msg,
                     size_t len)
{
    struct net_client *c = node->client;
    struct client_ack *a;

    if (c->n_acks == c->cap_acks) {
        size_t cap = c->cap_acks > 0 ? 2 * c->cap_acks : 16;
        struct client_ack *acks = seq_realloc(c->acks, cap * sizeof *acks);

        if (acks == NULL) {
            return SEQ_ENOMEM;
        }
        c->acks = acks;
        c->cap_acks = cap;
    }
    a = &c->acks[c->n_acks++];
    a->to = *to;
    a->ticket = node->write_turn;
    a->queued_ms = node->now_ms;
    a->msg = msg;
    a->len = len;
    c->ack_bytes += len;
    return SEQ_OK;
}

static void on_submit(struct net_node *node,
                      const struct client_id *from,
                      const Seqc__Submit *m)
{
    struct net_client *c = node->client;
    Seqc__ClientReply reply = SEQC__CLIENT_REPLY__INIT;
    Seqc__SubmitAck ack = SEQC__SUBMIT_ACK__INIT;
    Seqc__TxResult *results = NULL, **ptrs = NULL;
    struct seq_hash *hashes = NULL;
    bool admitted = false, full = false;
    uint8_t *msg = NULL;
    size_t i, len = 0;

    /* Room for the ack first (C3): nothing is admitted that could not be
     * acknowledged. One peer gets at most CLIENT_MAX_ACKS_PEER of the
     * queue, so a client that does not read cannot make others busy. */
    if (peer_acks(c, from) >= CLIENT_MAX_ACKS_PEER) {
        send_error(c, from, m->request_id, "busy",
                   "too many acks pending for this connection");
        return;
    }
    if (c->n_acks >= CLIENT_MAX_ACKS ||
        c->ack_bytes + m->n_txs * CLIENT_RESULT_BYTES + CLIENT_ACK_HEAD >
            CLIENT_MAX_ACK_BYTES) {
        send_error(c, from, m->request_id, "busy", "too many acks pending");
        return;
    }
    results = seq_calloc(m->n_txs, sizeof *results);
    ptrs = seq_calloc(m->n_txs, sizeof *ptrs);
    hashes = seq_calloc(m->n_txs, sizeof *hashes);
    if (results == NULL || ptrs == NULL || hashes == NULL) {
        send_error(c, from, m->request_id, "busy", "out of memory");
        goto err_after_alloc;
    }
    c->stats.submits++;
    for (i = 0; i < m->n_txs; i++) {
        seqc__tx_result__init(&results[i]);
        results[i].status =
            submit_one(node, m->txs[i], &hashes[i], &admitted, &full);
        results[i].tx_hash.data = hashes[i].bytes;
        results[i].tx_hash.len = SEQ_HASH_LEN;
        ptrs[i] = &results[i];
    }
    c->stats.txs += m->n_txs;
    ack.request_id = m->request_id;
    ack.n_results = m->n_txs;
    ack.results = ptrs;
    ack.retry_after_ms = full ? net_rollup_retry_after_ms(node) : 0;
    if (full && ack.retry_after_ms == 0) {
        ack.retry_after_ms = 1;
    }
    reply.msg_case = SEQC__CLIENT_REPLY__MSG_ACK;
    reply.ack = &ack;
    if (pack_reply(&reply, &msg, &len) != 0) {
        /* What was admitted stays admitted; the client's retry is a
         * duplicate, answered pending. */
        c->stats.replies_dropped++;
    } else if (admitted && node->synced_turn < node->write_turn) {
        if (queue_ack(node, from, msg, len) != 0) {
            c->stats.replies_dropped++;
            seq_free(msg);
        }
    } else {
        if (send_to(c, from, CLIENT_KIND_PROTO, msg, len) != 0) {
            c->stats.replies_dropped++;
        } else {
            c->stats.acks_sent++;
        }
        seq_free(msg);
    }
err_after_alloc:
    seq_free(hashes);
    seq_free(ptrs);
    seq_free(results);
}

static void on_tx_query(struct net_node *node,
                        const struct client_id *from,
                        const Seqc__TxQuery *m)
{
    Seqc__ClientReply reply = SEQC__CLIENT_REPLY__INIT;
    Seqc__TxStatus status = SEQC__TX_STATUS__INIT;
    struct seq_hash hash;
    uint64_t height = 0, ns = 0, index = 0;

    memcpy(hash.bytes, m->tx_hash.data, SEQ_HASH_LEN);
    node->client->stats.queries++;
    switch (net_rollup_tx(node, &hash, &height, &ns, &index)) {
    case MP_TX_COMMITTED:
        status.state = SEQC__TX_STATE__TX_STATE_COMMITTED;
        status.height = height;
        status.namespace_ = ns;
        status.index = index;
        break;
    case MP_TX_PENDING:
    case MP_TX_NEW:
        status.state = SEQC__TX_STATE__TX_STATE_PENDING;
        break;
    case MP_TX_UNKNOWN:
        status.state = SEQC__TX_STATE__TX_STATE_UNKNOWN;
        break;
    }
    status.request_id = m->request_id;
    status.tx_hash.data = hash.bytes;
    status.tx_hash.len = SEQ_HASH_LEN;
    reply.msg_case = SEQC__CLIENT_REPLY__MSG_TX_STATUS;
    reply.tx_status = &status;
    send_reply(node->client, from, &reply);
}

/* ---- Requests (C1) ------------------------------------------------------ */

/* One ClientRequest: the checks without node state first (C1, C2), then
 * the handler, which may still refuse on the node's state. */
static void on_request(struct net_node *node,
                       const struct client_id *from,
                       const uint8_t *body,
                       size_t len)
{
    struct net_client_request req;
    const Seqc__ClientRequest *m;
    struct client_sub *s;
    int rv;

    rv = net_client_request_decode(body, len, &req);
    if (req.msg == NULL) {
        if (rv == SEQ_ENOMEM) {
            send_error(node->client, from, 0, "busy", "out of memory");
        } else {
            refuse(node, from, 0, "ClientRequest does not decode");
        }
        net_client_request_free(&req);
        return;
    }
    node->stats.client_requests++;
    s = find_sub(node->client, from);
    if (s != NULL) {
        s->heard_ms = node->now_ms; /* Any word keeps it alive (C5). */
    }
    m = req.msg;
    if (rv != 0) {
        node->stats.client_bad++;
        send_error(node->client, from, req.request_id, req.code, req.why);
    } else if (m->msg_case == SEQC__CLIENT_REQUEST__MSG_SUBMIT) {
        on_submit(node, from, m->submit);
    } else if (m->msg_case == SEQC__CLIENT_REQUEST__MSG_SUBSCRIBE) {
        on_subscribe(node, from, m->subscribe);
    } else if (m->msg_case == SEQC__CLIENT_REQUEST__MSG_CREDIT) {
        on_credit(node, from, m->credit);
    } else {
        on_tx_query(node, from, m->tx_query);
    }
    net_client_request_free(&req);
}

static void on_status(struct net_node *node, const struct client_id *from)
{
    json_t *json = node_status_json(node);
    char *body = json != NULL ? json_dumps(json, JSON_COMPACT) : NULL;

    json_decref(json);
    node->stats.client_requests++;
    if (body == NULL || send_to(node->client, from, CLIENT_KIND_STATUS, body,
                                strlen(body)) != 0) {
        node->client->stats.replies_dropped++;
    }
    free(body);
}

/* One message, [routing id][kind][body] (C1). */
static void on_message(struct net_node *node, zmq_msg_t *parts, int n_parts)
{
    struct client_id from;
    size_t id_len = zmq_msg_size(&parts[0]);
    const uint8_t *kind;

    if (id_len == 0 || id_len > CLIENT_ID_MAX) {
        node->stats.client_bad++; /* Not from libzmq: cannot answer. */
        return;
    }
    from.len = (uint8_t)id_len;
    memcpy(from.bytes, zmq_msg_data(&parts[0]), id_len);
    kind = n_parts >= 2 ? zmq_msg_data(&parts[1]) : NULL;
    if (n_parts != 3 || zmq_msg_size(&parts[1]) != 1) {
        refuse(node, &from, 0, "want [kind byte][body]");
    } else if (kind[0] == CLIENT_KIND_STATUS) {
        on_status(node, &from);
    } else if (kind[0] == CLIENT_KIND_PROTO) {
        on_request(node, &from, zmq_msg_data(&parts[2]),
                   zmq_msg_size(&parts[2]));
    } else {
        refuse(node, &from, 0, "unknown kind");
    }
}

void net_client_drain(struct net_node *node)
{
    unsigned n;

    for (n = 0; n < MAX_FRAMES_PER_TURN; n++) {
        zmq_msg_t parts[3];
        int n_parts = 0, more = 1, kept;

        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, node->client->sock, ZMQ_DONTWAIT) < 0) {
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
        kept = n_parts < 3 ? n_parts : 3;
        on_message(node, parts, n_parts);
        while (kept > 0) {
            zmq_msg_close(&parts[--kept]);
        }
    }
}

/* ---- After the sync ------------------------------------------------------ */

/* Acks whose ticket the sync covered (C3), in order. */
static void send_acks(struct net_node *node)
{
    struct net_client *c = node->client;
    size_t i, kept = 0;

    for (i = 0; i < c->n_acks; i++) {
        struct client_ack *a = &c->acks[i];
        bool done = false;

        if (a->ticket <= node->synced_turn) {
            int rv = send_to(c, &a->to, CLIENT_KIND_PROTO, a->msg, a->len);

            if (rv == 0) {
                c->stats.acks_sent++;
                done = true;
            } else if (rv != SEQ_EAGAIN ||
                       node->now_ms - a->queued_ms > CLIENT_ACK_STALE_MS) {
                c->stats.acks_dropped++; /* Gone, or not reading. */
                done = true;
            }
        }
        if (done) {
            c->ack_bytes -= a->len;
            seq_free(a->msg);
        } else {
            c->acks[kept++] = *a;
        }
    }
    c->n_acks = kept;
}

void net_client_after_sync(struct net_node *node)
{
    send_acks(node);
    expire_subs(node->client, node->now_ms);
    send_blocks(node);
}

/* ---- Life cycle -----------------------------------------------------------
 */

int net_client_open(struct net_node *node)
{
    int zero = 0, one = 1, rcvhwm = CLIENT_RCVHWM, sndhwm = CLIENT_SNDHWM;
    int handshake = 3000;
    int64_t max = SEQC_MAX_MSG;
    struct net_client *c;

    c = seq_calloc(1, sizeof *c);
    if (c == NULL) {
        return SEQ_ENOMEM;
    }
    node->client = c;
    c->subs = seq_calloc(CLIENT_MAX_SUBS, sizeof *c->subs);
    if (c->subs == NULL) {
        return SEQ_ENOMEM;
    }
    /* The client port takes no authentication yet. Messages up to
     * SEQC_MAX_MSG, short queues and a short handshake bound what a
     * stranger can make us hold; libzmq does not bound the parts of one
     * multipart message, so the default listen address is loopback (see
     * the README). */
    c->sock = zmq_socket(node->zmq, ZMQ_ROUTER);
    if (c->sock == NULL ||
        zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_HANDSHAKE_IVL, &handshake,
                       sizeof handshake) != 0 ||
        zmq_bind(c->sock, node->config.client_listen) != 0) {
        SEQ_LOGE(LOG_MOD, "client socket %s: %s", node->config.client_listen,
                 zmq_strerror(zmq_errno()));
        return SEQ_EIO;
    }
    return SEQ_OK;
}

void net_client_close(struct net_node *node)
{
    struct net_client *c = node->client;
    size_t i;

    if (c == NULL) {
        return;
    }
    if (c->sock != NULL) {
        zmq_close(c->sock);
    }
    for (i = 0; i < c->n_acks; i++) {
        seq_free(c->acks[i].msg);
    }
    seq_free(c->acks);
    for (i = 0; i < c->n_subs; i++) {
        seq_free(c->subs[i].pending);
    }
    seq_free(c->subs);
    seq_free(c);
    node->client = NULL;
}

void *net_client_socket(struct net_node *node)
{
    return node->client->sock;
}

bool net_client_has_work(const struct net_node *node)
{
    return node->client->more;
}

void net_client_metrics(const struct net_node *node, FILE *f)
{
    const struct net_client *c = node->client;

    if (c == NULL) {
        return;
    }
    NODE_GAUGE(f, "client_subscriptions", "Subscriptions on the client port.",
               c->n_subs);
    {
        uint64_t top = net_rollup_height(node), lag = 0;
        size_t i;

        for (i = 0; i < c->n_subs; i++) {
            uint64_t next = c->subs[i].next_height;
            if (next <= top && top - next + 1 > lag) {
                lag = top - next + 1;
            }
        }
        NODE_GAUGE(f, "client_subscriber_lag_max",
                   "Heights the furthest-behind subscriber has yet to receive.",
                   lag);
    }
    NODE_GAUGE(f, "client_acks_pending", "Submit acks waiting for their sync.",
               c->n_acks);
    NODE_COUNTER(f, "client_submits_total",
                 "Submit requests on the client port.", c->stats.submits);
    NODE_COUNTER(f, "client_txs_submitted_total",
                 "Transactions submitted on the client port.", c->stats.txs);
    NODE_COUNTER(f, "client_txs_accepted_total",
                 "New transactions admitted on the client port.",
                 c->stats.txs_accepted);
    NODE_COUNTER(f, "client_acks_sent_total", "Submit acks sent.",
                 c->stats.acks_sent);
    NODE_COUNTER(f, "client_acks_dropped_total",
                 "Submit acks dropped: client gone or not reading.",
                 c->stats.acks_dropped);
    NODE_COUNTER(f, "client_tx_queries_total", "Transaction status queries.",
                 c->stats.queries);
    NODE_COUNTER(f, "client_subscribes_total", "Subscribe requests accepted.",
                 c->stats.subscribes);
    NODE_COUNTER(f, "client_blocks_sent_total",
                 "Namespace blocks sent to subscribers.", c->stats.blocks_sent);
    NODE_GAUGE(f, "client_turn_bytes_max",
               "Most bytes one turn spent on namespace blocks: blocks sent "
               "and stored batches read to build them.",
               c->stats.turn_bytes_max);
    NODE_COUNTER(f, "client_turns_bytes_limited_total",
                 "Turns that left namespace blocks for the next one: "
                 "their bytes reached the turn's budget.",
                 c->stats.turns_bytes_limited);
    NODE_COUNTER(f, "client_replies_dropped_total",
                 "Replies not sent: client queue full or gone.",
                 c->stats.replies_dropped);
    NODE_COUNTER(f, "client_errors_total", "Error replies sent or attempted.",
                 c->stats.errors);
}
