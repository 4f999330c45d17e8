/* The connection to a validator's client port (proto/client.proto): a
 * ZeroMQ DEALER that sends ClientRequests and reads ClientReplies, each as
 * two frames (the kind byte 0x02, then the protobuf body).
 *
 * Replies arrive in one stream whatever asked for them: acks of
 * asynchronous submits, namespace blocks of the subscription, and the
 * answers that a blocking call (seqc_submit, seqc_tx_query) waits for. A
 * blocking call therefore reads the stream itself, keeps what it waits for,
 * and queues everything else, in arrival order, for the next seqc_recv.
 *
 * NOTES ON THE DESIGN
 *
 * (C1) Request ids: blocking calls number their requests from 2^63 up;
 *      seqc_submit_async takes ids below 2^63 only (SEQ_EINVAL otherwise).
 *      A reply in the upper range that no call is waiting for answers a
 *      blocking call that timed out; it is dropped, never surfaced.
 * (C2) Every reply is checked before anyone sees it: two frames, kind
 *      0x02, version 1, exactly one known member of the oneof, hashes of
 *      32 bytes, counts within the SEQC_MAX_* bounds, enum values known.
 *      Anything else is SEQ_EBADMSG and dropped. A bad reply that still
 *      names the request id a blocking call waits for fails that call.
 * (C3) Namespace blocks are decoded straight from their bytes inside the
 *      ClientReply (seqc_nsblock_decode), never unpacked twice.
 * (C4) ZMQ_IMMEDIATE is on: a request is queued only on a live
 *      connection, so SEQ_EAGAIN from seqc_submit_async means "not
 *      connected yet, or the queue is full", and a request never leaves
 *      long after its caller gave up on it.
 * (C5) An Error reply to a blocking call fails it with SEQ_EINVAL (the
 *      node refused the request) and is queued, so that the caller can
 *      read its code and message with seqc_recv.
 * (C6) Replies queued by a blocking call raise no ZMQ_FD edge: a caller
 *      that polls seqc_fd drains with seqc_recv(c, 0) after every
 *      blocking call too. And the protocol has no subscription id: after
 *      a second seqc_subscribe on one connection, blocks of the first
 *      that were already on the way still arrive; seqc_follow_check
 *      refuses them, and the programs in cmd/ never resubscribe on a
 *      connection (they open a new one).
 *
 * Returns beyond the header: seqc_subscribe and seqc_credit wait up to
 * CONTROL_WAIT_MS for the connection (SEQ_ETIMEOUT), and seqc_credit
 * refuses (SEQ_EINVAL) to raise the outstanding credits this side counts
 * above SEQC_MAX_CREDITS. */

#define _POSIX_C_SOURCE 200809L

#include "seq_client.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "client.pb-c.h"
#include "seq_alloc.h"

#define KIND_CLIENT      0x02
#define PROTO_VERSION    1
#define INTERNAL_ID_BASE (UINT64_C(1) << 63)
#define SEND_HWM         256  /* Requests queued towards the node. */
#define RECV_HWM         2048 /* Replies queued from it: credits + acks. */
#define RECONNECT_IVL_MS 100
#define RECONNECT_MAX_MS 1000
#define CONTROL_WAIT_MS  2000 /* Subscribe/Credit wait this long for room. */
#define ENDPOINT_MAX     256

/* One reply waiting for seqc_recv. */
struct reply_node {
    struct reply_node *next;
    struct seqc_reply reply;
};

struct seqc_conn {
    void *ctx;
    void *sock;
    uint64_t next_internal_id; /* (C1) */
    struct reply_node *head;   /* Oldest queued reply. */
    struct reply_node *tail;
    uint32_t credits; /* Outstanding, as far as this side can tell. */
};

/* ------------------------------------------------------------ helpers */

/* The allocator protobuf-c unpacks replies with: seq_malloc, and a note of
 * any failure, since protobuf-c reports one the same way as bad input. */
static void *pb_alloc(void *data, size_t size)
{
    void *p = seq_malloc(size);

    if (p == NULL) {
        *(bool *)data = true;
    }
    return p;
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    seq_free(ptr);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What is left of @timeout_ms (-1: forever) that started at @start. */
static int remaining_ms(int timeout_ms, uint64_t start)
{
    uint64_t elapsed;

    if (timeout_ms < 0) {
        return -1;
    }
    elapsed = now_ms() - start;
    if (elapsed >= (uint64_t)timeout_ms) {
        return 0;
    }
    return (int)((uint64_t)timeout_ms - elapsed);
}

static bool is_internal(const struct seqc_reply *r)
{
    return r->kind != SEQC_REPLY_BLOCK && r->request_id >= INTERNAL_ID_BASE;
}

/* Copies a string from the node into @out, keeping printable ASCII only,
 * so that a hostile message cannot drive a terminal. */
static void copy_text(char *out, size_t size, const char *in)
{
    size_t i;

    for (i = 0; i + 1 < size && in != NULL && in[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)in[i];
        out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[i] = '\0';
}

/* ------------------------------------------------------- reply queue */

static int queue_push(struct seqc_conn *c, struct seqc_reply *r)
{
    struct reply_node *node = seq_malloc(sizeof *node);

    if (node == NULL) {
        seqc_reply_free(r);
        return SEQ_ENOMEM;
    }
    node->next = NULL;
    node->reply = *r;
    memset(r, 0, sizeof *r);
    if (c->tail != NULL) {
        c->tail->next = node;
    } else {
        c->head = node;
    }
    c->tail = node;
    return SEQ_OK;
}

static bool queue_pop(struct seqc_conn *c, struct seqc_reply *out)
{
    struct reply_node *node = c->head;

    if (node == NULL) {
        return false;
    }
    c->head = node->next;
    if (c->head == NULL) {
        c->tail = NULL;
    }
    *out = node->reply;
    seq_free(node);
    return true;
}

/* ---------------------------------------------------------- decoding */

static int read_varint(const uint8_t *buf,
                       size_t len,
                       size_t *pos,
                       uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift;

    for (shift = 0; shift < 64; shift += 7) {
        uint8_t b;

        if (*pos >= len) {
            return SEQ_EBADMSG;
        }
        b = buf[(*pos)++];
        if (shift == 63 && (b & 0x7e) != 0) {
            return SEQ_EBADMSG; /* More than 64 bits. */
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return SEQ_OK;
        }
    }
    return SEQ_EBADMSG;
}

/* The top level of a ClientReply, by hand (C3): the version and the one
 * member of the oneof, as a slice of @buf. */
struct reply_scan {
    uint64_t version;
    uint32_t member; /* Field number 2..5, or 0 if none. */
    const uint8_t *body;
    size_t body_len;
};

static int scan_field(const uint8_t *buf,
                      size_t len,
                      size_t *pos,
                      struct reply_scan *s)
{
    uint64_t key;
    uint64_t v;
    uint64_t field;
    int rv;

    rv = read_varint(buf, len, pos, &key);
    if (rv != 0) {
        return rv;
    }
    field = key >> 3;
    switch (key & 7) {
    case 0:
        rv = read_varint(buf, len, pos, &v);
        if (rv != 0 || (field >= 2 && field <= 5)) {
            return SEQ_EBADMSG;
        }
        if (field == 1) {
            s->version = v;
        }
        return field == 0 ? SEQ_EBADMSG : SEQ_OK;
    case 1:
    case 5:
        v = (key & 7) == 1 ? 8 : 4;
        if (field >= 1 && field <= 5) {
            return SEQ_EBADMSG;
        }
        break;
    case 2:
        rv = read_varint(buf, len, pos, &v);
        if (rv != 0 || field == 1) {
            return SEQ_EBADMSG;
        }
        if (v > len - *pos) {
            return SEQ_EBADMSG;
        }
        if (field >= 2 && field <= 5) {
            if (s->member != 0) {
                return SEQ_EBADMSG; /* Two members of one oneof. */
            }
            s->member = (uint32_t)field;
            s->body = buf + *pos;
            s->body_len = (size_t)v;
        }
        break;
    default:
        return SEQ_EBADMSG; /* Groups are not proto3. */
    }
    if (field == 0 || v > len - *pos) {
        return SEQ_EBADMSG;
    }
    *pos += (size_t)v;
    return SEQ_OK;
}

static int scan_reply(const uint8_t *buf, size_t len, struct reply_scan *s)
{
    size_t pos = 0;
    int rv;

    memset(s, 0, sizeof *s);
    while (pos < len) {
        rv = scan_field(buf, len, &pos, s);
        if (rv != 0) {
            return rv;
        }
    }
    return s->member != 0 ? SEQ_OK : SEQ_EBADMSG;
}

static int decode_ack(const Seqc__SubmitAck *ack, struct seqc_reply *out)
{
    size_t i;

    out->request_id = ack->request_id;
    if (ack->n_results == 0 || ack->n_results > SEQC_MAX_SUBMIT) {
        return SEQ_EBADMSG;
    }
    out->results = seq_calloc(ack->n_results, sizeof *out->results);
    if (out->results == NULL) {
        return SEQ_ENOMEM;
    }
    out->n_results = ack->n_results;
    for (i = 0; i < ack->n_results; i++) {
        const Seqc__TxResult *r = ack->results[i];
        struct seqc_tx_result *res = &out->results[i];

        if ((int)r->status < SEQC_TX_ACCEPTED ||
            (int)r->status > SEQC_TX_MALFORMED) {
            return SEQ_EBADMSG;
        }
        res->status = (enum seqc_tx_status)r->status;
        if (r->tx_hash.len == SEQ_HASH_LEN) {
            memcpy(res->tx_hash.bytes, r->tx_hash.data, SEQ_HASH_LEN);
        } else if (r->tx_hash.len != 0 || res->status != SEQC_TX_MALFORMED) {
            return SEQ_EBADMSG;
        }
    }
    out->retry_after_ms = ack->retry_after_ms;
    out->kind = SEQC_REPLY_ACK;
    return SEQ_OK;
}

static int decode_tx_status(const Seqc__TxStatus *st,
                            struct seqc_reply *out,
                            struct seq_hash *tx_hash)
{
    out->request_id = st->request_id;
    if (st->tx_hash.len != SEQ_HASH_LEN || (int)st->state < 0 ||
        (int)st->state > 2) {
        return SEQ_EBADMSG;
    }
    memcpy(tx_hash->bytes, st->tx_hash.data, SEQ_HASH_LEN);
    out->tx_state = (int)st->state;
    if (out->tx_state == 2) {
        out->tx_height = st->height;
        out->tx_ns = st->namespace_;
        out->tx_index = st->index;
    }
    out->kind = SEQC_REPLY_TX_STATUS;
    return SEQ_OK;
}

static void decode_error(const Seqc__Error *e, struct seqc_reply *out)
{
    out->request_id = e->request_id;
    copy_text(out->error_code, sizeof out->error_code, e->code);
    copy_text(out->error_message, sizeof out->error_message, e->message);
    out->kind = SEQC_REPLY_ERROR;
}

/* Decodes a ClientReply body into @out (zeroed first). On SEQ_EBADMSG,
 * *bad_id is the request id the reply named, if it got that far, else 0.
 * @tx_hash receives a TxStatus's hash. */
static int decode_reply(const uint8_t *buf,
                        size_t len,
                        struct seqc_reply *out,
                        uint64_t *bad_id,
                        struct seq_hash *tx_hash)
{
    bool oom = false;
    ProtobufCAllocator allocator = {
        .alloc = pb_alloc,
        .free = pb_free,
        .allocator_data = &oom,
    };
    struct reply_scan s;
    ProtobufCMessage *msg = NULL;
    int rv;

    memset(out, 0, sizeof *out);
    *bad_id = 0;
    rv = scan_reply(buf, len, &s);
    if (rv != 0) {
        return rv;
    }
    switch (s.member) {
    case SEQC__CLIENT_REPLY__MSG_BLOCK:
        if (s.version != PROTO_VERSION) {
            return SEQ_EBADMSG;
        }
        rv = seqc_nsblock_decode(s.body, s.body_len, &out->block);
        if (rv == 0) {
            out->kind = SEQC_REPLY_BLOCK;
        }
        return rv;
    case SEQC__CLIENT_REPLY__MSG_ACK:
        msg = (ProtobufCMessage *)seqc__submit_ack__unpack(&allocator,
                                                           s.body_len, s.body);
        rv =
            msg != NULL ? decode_ack((Seqc__SubmitAck *)msg, out) : SEQ_EBADMSG;
        break;
    case SEQC__CLIENT_REPLY__MSG_TX_STATUS:
        msg = (ProtobufCMessage *)seqc__tx_status__unpack(&allocator,
                                                          s.body_len, s.body);
        rv = msg != NULL ? decode_tx_status((Seqc__TxStatus *)msg, out, tx_hash)
                         : SEQ_EBADMSG;
        break;
    default:
        msg = (ProtobufCMessage *)seqc__error__unpack(&allocator, s.body_len,
                                                      s.body);
        if (msg != NULL) {
            decode_error((Seqc__Error *)msg, out);
        }
        rv = msg != NULL ? SEQ_OK : SEQ_EBADMSG;
        break;
    }
    /* The version is checked after the member, so that a reply of another
     * version still fails the call that waits for it (C2). */
    if (rv == 0 && s.version != PROTO_VERSION) {
        rv = SEQ_EBADMSG;
    }
    if (oom) {
        rv = SEQ_ENOMEM;
    }
    if (rv != 0) {
        *bad_id = out->request_id;
        seqc_reply_free(out);
    }
    protobuf_c_message_free_unpacked(msg, &allocator);
    return rv;
}

/* ------------------------------------------------------ socket level */

/* Reads whatever frames of one message remain after a bad first part. */
static void drain_parts(void *sock)
{
    int more = 1;
    size_t size = sizeof more;

    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &size) == 0 && more) {
        zmq_msg_t part;

        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            return;
        }
        zmq_msg_close(&part);
        size = sizeof more;
    }
}

/* Receives and decodes one message from the socket, waiting up to
 * @timeout_ms. SEQ_EAGAIN when a signal or a spurious wake-up cut the wait
 * short (the caller recomputes its time), SEQ_ETIMEOUT when nothing came. */
static int recv_one(struct seqc_conn *c,
                    struct seqc_reply *out,
                    int timeout_ms,
                    uint64_t *bad_id,
                    struct seq_hash *tx_hash)
{
    zmq_pollitem_t item = { .socket = c->sock, .events = ZMQ_POLLIN };
    zmq_msg_t kind;
    zmq_msg_t body;
    int rv;

    *bad_id = 0;
    rv = zmq_poll(&item, 1, timeout_ms);
    if (rv < 0) {
        return zmq_errno() == EINTR ? SEQ_EAGAIN : SEQ_EIO;
    }
    if (rv == 0) {
        return SEQ_ETIMEOUT;
    }
    zmq_msg_init(&kind);
    if (zmq_msg_recv(&kind, c->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&kind);
        rv = zmq_errno();
        return rv == EAGAIN || rv == EINTR ? SEQ_EAGAIN : SEQ_EIO;
    }
    if (zmq_msg_size(&kind) != 1 ||
        *(const uint8_t *)zmq_msg_data(&kind) != KIND_CLIENT ||
        !zmq_msg_more(&kind)) {
        zmq_msg_close(&kind);
        drain_parts(c->sock);
        return SEQ_EBADMSG;
    }
    zmq_msg_close(&kind);
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, c->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&body);
        return SEQ_EBADMSG; /* The parts of a message arrive together. */
    }
    if (zmq_msg_more(&body)) {
        zmq_msg_close(&body);
        drain_parts(c->sock);
        return SEQ_EBADMSG;
    }
    rv = decode_reply(zmq_msg_data(&body), zmq_msg_size(&body), out, bad_id,
                      tx_hash);
    zmq_msg_close(&body);
    if (rv == 0 && out->kind == SEQC_REPLY_BLOCK && c->credits > 0) {
        c->credits--;
    }
    return rv;
}

/* Takes one reply off the socket that no blocking call is waiting for:
 * queues it, or drops it (a bad message, or a late answer to a blocking
 * call, C1). */
static int stash_one(struct seqc_conn *c)
{
    struct seqc_reply r;
    struct seq_hash ignored;
    uint64_t bad_id;
    int rv;

    rv = recv_one(c, &r, 0, &bad_id, &ignored);
    if (rv == SEQ_EBADMSG || rv == SEQ_EAGAIN || rv == SEQ_ETIMEOUT) {
        return SEQ_OK;
    }
    if (rv != 0) {
        return rv;
    }
    if (is_internal(&r)) {
        seqc_reply_free(&r);
        return SEQ_OK;
    }
    return queue_push(c, &r);
}

/* Sends one request. @timeout_ms 0: SEQ_EAGAIN at once if it cannot be
 * queued now; otherwise waits that long (-1: forever) for room, stashing
 * whatever arrives meanwhile, then SEQ_ETIMEOUT. SEQ_EINVAL if the request
 * would exceed SEQC_MAX_MSG. */
static int send_request(struct seqc_conn *c,
                        const Seqc__ClientRequest *req,
                        int timeout_ms)
{
    static const uint8_t kind = KIND_CLIENT;
    uint64_t start = now_ms();
    size_t size = seqc__client_request__get_packed_size(req);
    zmq_msg_t body;
    int rv;

    if (size > SEQC_MAX_MSG) {
        return SEQ_EINVAL;
    }
    if (zmq_msg_init_size(&body, size) != 0) {
        return SEQ_ENOMEM;
    }
    seqc__client_request__pack(req, zmq_msg_data(&body));
    while (zmq_send(c->sock, &kind, 1, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        zmq_pollitem_t item = { .socket = c->sock,
                                .events = ZMQ_POLLIN | ZMQ_POLLOUT };
        int left;

        rv = zmq_errno();
        if (rv != EAGAIN && rv != EINTR) {
            rv = SEQ_EIO;
            goto out;
        }
        left = remaining_ms(timeout_ms, start);
        if (left == 0) {
            rv = timeout_ms == 0 ? SEQ_EAGAIN : SEQ_ETIMEOUT;
            goto out;
        }
        if (zmq_poll(&item, 1, left) < 0 && zmq_errno() != EINTR) {
            rv = SEQ_EIO;
            goto out;
        }
        if ((item.revents & ZMQ_POLLIN) != 0) {
            rv = stash_one(c);
            if (rv != 0) {
                goto out;
            }
        }
    }
    /* Once the first part is queued, the rest of the message always is. */
    while (zmq_msg_send(&body, c->sock, 0) < 0) {
        if (zmq_errno() != EINTR) {
            rv = SEQ_EIO;
            goto out;
        }
    }
    return SEQ_OK;

out:
    zmq_msg_close(&body);
    return rv;
}

/* Waits up to @timeout_ms (from @start) for the answer to request @id,
 * queueing everything else. */
static int wait_reply(struct seqc_conn *c,
                      uint64_t id,
                      int timeout_ms,
                      uint64_t start,
                      struct seqc_reply *out,
                      struct seq_hash *tx_hash)
{
    for (;;) {
        struct seqc_reply r;
        uint64_t bad_id;
        int rv;

        rv = recv_one(c, &r, remaining_ms(timeout_ms, start), &bad_id, tx_hash);
        if (rv == SEQ_EBADMSG && bad_id == id) {
            return rv;
        }
        if (rv == SEQ_EBADMSG || rv == SEQ_EAGAIN) {
            continue;
        }
        if (rv != 0) {
            return rv;
        }
        if (r.kind != SEQC_REPLY_BLOCK && r.request_id == id) {
            *out = r;
            return SEQ_OK;
        }
        if (is_internal(&r)) {
            seqc_reply_free(&r); /* (C1) */
            continue;
        }
        rv = queue_push(c, &r);
        if (rv != 0) {
            return rv;
        }
    }
}

/* ------------------------------------------------------- public calls */

int seqc_connect(const char *endpoint, struct seqc_conn **out)
{
    static const struct {
        int option;
        int value;
    } options[] = {
        { ZMQ_LINGER, 0 },
        { ZMQ_SNDHWM, SEND_HWM },
        { ZMQ_RCVHWM, RECV_HWM },
        { ZMQ_RECONNECT_IVL, RECONNECT_IVL_MS },
        { ZMQ_RECONNECT_IVL_MAX, RECONNECT_MAX_MS },
        { ZMQ_IMMEDIATE, 1 }, /* (C4) */
    };
    int64_t max_msg = SEQC_MAX_REPLY;
    struct seqc_conn *c;
    size_t i;
    size_t len;
    int rv;

    if (endpoint == NULL || out == NULL) {
        return SEQ_EINVAL;
    }
    len = strnlen(endpoint, ENDPOINT_MAX);
    if (len == ENDPOINT_MAX ||
        (strncmp(endpoint, "tcp://", 6) != 0 &&
         strncmp(endpoint, "ipc://", 6) != 0) ||
        len <= 6) {
        return SEQ_EINVAL;
    }
    c = seq_calloc(1, sizeof *c);
    if (c == NULL) {
        return SEQ_ENOMEM;
    }
    c->next_internal_id = INTERNAL_ID_BASE;
    c->ctx = zmq_ctx_new();
    if (c->ctx == NULL) {
        rv = SEQ_EIO;
        goto err_after_alloc;
    }
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    if (c->sock == NULL) {
        rv = SEQ_EIO;
        goto err_after_ctx;
    }
    for (i = 0; i < sizeof options / sizeof options[0]; i++) {
        if (zmq_setsockopt(c->sock, options[i].option, &options[i].value,
                           sizeof options[i].value) != 0) {
            rv = SEQ_EIO;
            goto err_after_sock;
        }
    }
    if (zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg) !=
        0) {
        rv = SEQ_EIO;
        goto err_after_sock;
    }
    if (zmq_connect(c->sock, endpoint) != 0) {
        rv = zmq_errno() == EINVAL || zmq_errno() == EPROTONOSUPPORT
                 ? SEQ_EINVAL
                 : SEQ_EIO;
        goto err_after_sock;
    }
    *out = c;
    return SEQ_OK;

err_after_sock:
    zmq_close(c->sock);
err_after_ctx:
    zmq_ctx_term(c->ctx);
err_after_alloc:
    seq_free(c);
    return rv;
}

void seqc_close(struct seqc_conn *c)
{
    struct seqc_reply r;

    if (c == NULL) {
        return;
    }
    while (queue_pop(c, &r)) {
        seqc_reply_free(&r);
    }
    zmq_close(c->sock);
    zmq_ctx_term(c->ctx);
    seq_free(c);
}

/* 1..SEQC_MAX_SUBMIT transactions, each with its payload. */
static int check_txs(const struct seqc_tx *txs, size_t n)
{
    size_t i;

    if (txs == NULL || n == 0 || n > SEQC_MAX_SUBMIT) {
        return SEQ_EINVAL;
    }
    for (i = 0; i < n; i++) {
        if (txs[i].payload == NULL && txs[i].len > 0) {
            return SEQ_EINVAL;
        }
    }
    return SEQ_OK;
}

/* Builds and sends a Submit of @txs (checked by check_txs) with
 * @timeout_ms as in send_request. */
static int send_submit(struct seqc_conn *c,
                       uint64_t request_id,
                       const struct seqc_tx *txs,
                       size_t n,
                       int timeout_ms)
{
    Seqc__ClientRequest req = SEQC__CLIENT_REQUEST__INIT;
    Seqc__Submit submit = SEQC__SUBMIT__INIT;
    Seqc__Tx *tx_structs;
    Seqc__Tx **tx_ptrs;
    size_t i;
    int rv;

    tx_structs = seq_calloc(n, sizeof *tx_structs);
    tx_ptrs = seq_calloc(n, sizeof *tx_ptrs);
    if (tx_structs == NULL || tx_ptrs == NULL) {
        rv = SEQ_ENOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        seqc__tx__init(&tx_structs[i]);
        tx_structs[i].namespace_ = txs[i].ns;
        tx_structs[i].payload.len = txs[i].len;
        tx_structs[i].payload.data = (uint8_t *)txs[i].payload;
        tx_ptrs[i] = &tx_structs[i];
    }
    submit.request_id = request_id;
    submit.n_txs = n;
    submit.txs = tx_ptrs;
    req.version = PROTO_VERSION;
    req.msg_case = SEQC__CLIENT_REQUEST__MSG_SUBMIT;
    req.submit = &submit;
    rv = send_request(c, &req, timeout_ms);

out:
    seq_free(tx_ptrs);
    seq_free(tx_structs);
    return rv;
}

/* Checks an ack against the @n transactions it answers: one result each,
 * and the hash of each that decoded is the hash of what we sent. */
static int check_ack(const struct seqc_reply *ack,
                     const struct seqc_tx *txs,
                     size_t n)
{
    size_t i;

    if (ack->n_results != n) {
        return SEQ_EBADMSG;
    }
    for (i = 0; i < n; i++) {
        struct seq_hash h;

        if (ack->results[i].status == SEQC_TX_MALFORMED) {
            continue;
        }
        seqc_tx_hash(txs[i].ns, txs[i].payload, txs[i].len, &h);
        if (!seq_hash_eq(&h, &ack->results[i].tx_hash)) {
            return SEQ_EBADMSG;
        }
    }
    return SEQ_OK;
}

int seqc_submit(struct seqc_conn *c,
                const struct seqc_tx *txs,
                size_t n,
                struct seqc_tx_result *results,
                uint32_t *retry_after_ms,
                int timeout_ms)
{
    uint64_t start = now_ms();
    uint64_t id;
    struct seqc_reply r;
    struct seq_hash ignored;
    bool full = false;
    size_t i;
    int rv;

    if (c == NULL || results == NULL || check_txs(txs, n) != 0) {
        return SEQ_EINVAL;
    }
    id = c->next_internal_id++;
    rv = send_submit(c, id, txs, n, timeout_ms);
    if (rv != 0) {
        return rv == SEQ_EAGAIN ? SEQ_ETIMEOUT : rv;
    }
    rv = wait_reply(c, id, timeout_ms, start, &r, &ignored);
    if (rv != 0) {
        return rv;
    }
    if (r.kind == SEQC_REPLY_ERROR) {
        rv = queue_push(c, &r); /* (C5) */
        return rv != 0 ? rv : SEQ_EINVAL;
    }
    rv = r.kind == SEQC_REPLY_ACK ? check_ack(&r, txs, n) : SEQ_EBADMSG;
    if (rv == 0) {
        for (i = 0; i < n; i++) {
            results[i] = r.results[i];
            full = full || r.results[i].status == SEQC_TX_FULL;
        }
        if (retry_after_ms != NULL) {
            *retry_after_ms = full ? r.retry_after_ms : 0;
        }
    }
    seqc_reply_free(&r);
    return rv;
}

int seqc_submit_async(struct seqc_conn *c,
                      uint64_t request_id,
                      const struct seqc_tx *txs,
                      size_t n)
{
    if (c == NULL || request_id >= INTERNAL_ID_BASE || check_txs(txs, n) != 0) {
        return SEQ_EINVAL;
    }
    return send_submit(c, request_id, txs, n, 0);
}

int seqc_tx_query(struct seqc_conn *c,
                  const struct seq_hash *tx_hash,
                  int *state,
                  uint64_t *height,
                  uint64_t *ns,
                  uint64_t *index,
                  int timeout_ms)
{
    Seqc__ClientRequest req = SEQC__CLIENT_REQUEST__INIT;
    Seqc__TxQuery query = SEQC__TX_QUERY__INIT;
    uint64_t start = now_ms();
    struct seqc_reply r;
    struct seq_hash got;
    int rv;

    if (c == NULL || tx_hash == NULL || state == NULL) {
        return SEQ_EINVAL;
    }
    query.request_id = c->next_internal_id++;
    query.tx_hash.len = SEQ_HASH_LEN;
    query.tx_hash.data = (uint8_t *)tx_hash->bytes;
    req.version = PROTO_VERSION;
    req.msg_case = SEQC__CLIENT_REQUEST__MSG_TX_QUERY;
    req.tx_query = &query;
    rv = send_request(c, &req, timeout_ms);
    if (rv != 0) {
        return rv == SEQ_EAGAIN ? SEQ_ETIMEOUT : rv;
    }
    rv = wait_reply(c, query.request_id, timeout_ms, start, &r, &got);
    if (rv != 0) {
        return rv;
    }
    if (r.kind == SEQC_REPLY_ERROR) {
        rv = queue_push(c, &r); /* (C5) */
        return rv != 0 ? rv : SEQ_EINVAL;
    }
    if (r.kind != SEQC_REPLY_TX_STATUS || !seq_hash_eq(&got, tx_hash)) {
        seqc_reply_free(&r);
        return SEQ_EBADMSG;
    }
    *state = r.tx_state;
    if (r.tx_state == 2) {
        if (height != NULL) {
            *height = r.tx_height;
        }
        if (ns != NULL) {
            *ns = r.tx_ns;
        }
        if (index != NULL) {
            *index = r.tx_index;
        }
    }
    seqc_reply_free(&r);
    return SEQ_OK;
}

int seqc_subscribe(struct seqc_conn *c,
                   uint64_t ns,
                   uint64_t from_height,
                   uint32_t credits)
{
    Seqc__ClientRequest req = SEQC__CLIENT_REQUEST__INIT;
    Seqc__Subscribe sub = SEQC__SUBSCRIBE__INIT;
    int rv;

    if (c == NULL || from_height == 0 || credits == 0 ||
        credits > SEQC_MAX_CREDITS) {
        return SEQ_EINVAL;
    }
    sub.namespace_ = ns;
    sub.from_height = from_height;
    sub.credits = credits;
    req.version = PROTO_VERSION;
    req.msg_case = SEQC__CLIENT_REQUEST__MSG_SUBSCRIBE;
    req.subscribe = &sub;
    rv = send_request(c, &req, CONTROL_WAIT_MS);
    if (rv == 0) {
        c->credits = credits; /* The new subscription replaces the old. */
    }
    return rv;
}

int seqc_credit(struct seqc_conn *c, uint32_t credits)
{
    Seqc__ClientRequest req = SEQC__CLIENT_REQUEST__INIT;
    Seqc__Credit credit = SEQC__CREDIT__INIT;
    int rv;

    if (c == NULL || credits == 0 || credits > SEQC_MAX_CREDITS - c->credits) {
        return SEQ_EINVAL;
    }
    credit.credits = credits;
    req.version = PROTO_VERSION;
    req.msg_case = SEQC__CLIENT_REQUEST__MSG_CREDIT;
    req.credit = &credit;
    rv = send_request(c, &req, CONTROL_WAIT_MS);
    if (rv == 0) {
        c->credits += credits;
    }
    return rv;
}

void seqc_reply_free(struct seqc_reply *r)
{
    if (r == NULL) {
        return;
    }
    seq_free(r->results);
    seqc_nsblock_free(&r->block);
    memset(r, 0, sizeof *r);
}

int seqc_recv(struct seqc_conn *c, struct seqc_reply *out, int timeout_ms)
{
    uint64_t start = now_ms();

    if (c == NULL || out == NULL) {
        return SEQ_EINVAL;
    }
    if (queue_pop(c, out)) {
        return SEQ_OK;
    }
    for (;;) {
        struct seqc_reply r;
        struct seq_hash ignored;
        uint64_t bad_id;
        int rv;

        rv =
            recv_one(c, &r, remaining_ms(timeout_ms, start), &bad_id, &ignored);
        if (rv == SEQ_EAGAIN) {
            continue;
        }
        if (rv != 0) {
            return rv;
        }
        if (is_internal(&r)) {
            seqc_reply_free(&r); /* (C1) */
            continue;
        }
        *out = r;
        return SEQ_OK;
    }
}

int seqc_fd(struct seqc_conn *c)
{
    int fd = -1;
    size_t size = sizeof fd;

    if (c == NULL) {
        return SEQ_EINVAL;
    }
    if (zmq_getsockopt(c->sock, ZMQ_FD, &fd, &size) != 0) {
        return SEQ_EIO;
    }
    return fd;
}
