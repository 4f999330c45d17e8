/* The client-port connection (client/seqc_conn.c) against a fake validator:
 * a ZeroMQ ROUTER on 127.0.0.1 in a thread of this process, with its own
 * context. The fake checks the framing of every request (identity, the
 * kind byte 0x02, one ClientRequest of version 1) and counts violations;
 * it answers submits and transaction queries by fixed rules, serves
 * namespace blocks only while the subscription has credits, and on cue
 * sends malformed replies. Each test ends by checking that the fake saw
 * nothing malformed and never needed to send beyond the credits. */

#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "client.pb-c.h"
#include "harness.h"
#include "seq_alloc.h"
#include "seq_client.h"

#define FAKE_HEIGHTS          20 /* Blocks the fake can serve: heights 1..20. */
#define FAKE_MAX_TXS          256
#define FAKE_FULL_MS          250
#define FAKE_TOO_BIG          100 /* Payloads above this are refused. */
#define FAKE_BAD_NS           999 /* The namespace the fake does not know. */
#define FAKE_COMMITTED_HEIGHT 7

struct fake {
    void *ctx;
    void *router;
    char endpoint[64];
    pthread_t thread;
    bool lazy; /* Send blocks only just before answering a request. */
    atomic_bool stop;
    /* Only the fake's thread touches these until it is joined, except the
     * atomics. */
    uint8_t peer[256];
    size_t peer_len;
    bool subscribed;
    uint64_t sub_ns;
    uint64_t next_height;
    uint32_t credits;
    uint8_t *blocks[FAKE_HEIGHTS + 1]; /* Encoded NsBlocks, by height. */
    size_t block_len[FAKE_HEIGHTS + 1];
    struct seq_hash txs[FAKE_MAX_TXS];
    size_t n_txs;
    uint8_t *late; /* A held-back ack, sent before the next reply. */
    size_t late_len;
    atomic_int bad_requests;
    atomic_int credit_overflows;
    atomic_int blocks_sent;
};

/* ---------------------------------------------------------- the fake */

static void fake_send(struct fake *f,
                      const void *kind,
                      size_t kind_len,
                      const uint8_t *body,
                      size_t len,
                      bool extra_frame)
{
    zmq_send(f->router, f->peer, f->peer_len, ZMQ_SNDMORE);
    zmq_send(f->router, kind, kind_len, ZMQ_SNDMORE);
    zmq_send(f->router, body, len, extra_frame ? ZMQ_SNDMORE : 0);
    if (extra_frame) {
        zmq_send(f->router, "", 0, 0);
    }
}

static void fake_send_reply(struct fake *f, const Seqc__ClientReply *reply)
{
    static const uint8_t kind = 0x02;
    size_t len = seqc__client_reply__get_packed_size(reply);
    uint8_t *buf = malloc(len + 1);

    seqc__client_reply__pack(reply, buf);
    if (f->late != NULL) {
        fake_send(f, &kind, 1, f->late, f->late_len, false);
        free(f->late);
        f->late = NULL;
    }
    fake_send(f, &kind, 1, buf, len, false);
    free(buf);
}

/* A ClientReply carrying block bytes, put together by hand. */
static void fake_send_block(struct fake *f, uint64_t height)
{
    static const uint8_t kind = 0x02;
    size_t len = f->block_len[height];
    uint8_t *buf = malloc(len + 16);
    size_t n = 0;
    size_t v = len;

    buf[n++] = 0x08; /* version = 1 */
    buf[n++] = 0x01;
    buf[n++] = 0x1a; /* field 3, length-delimited */
    do {
        buf[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    memcpy(buf + n, f->blocks[height], len);
    fake_send(f, &kind, 1, buf, n + len, false);
    free(buf);
    atomic_fetch_add(&f->blocks_sent, 1);
}

/* Sends blocks while the subscription has credits and blocks are left:
 * the fake enforces the credits. */
static void fake_flush(struct fake *f)
{
    while (f->subscribed && f->credits > 0 && f->next_height <= FAKE_HEIGHTS) {
        fake_send_block(f, f->next_height);
        f->next_height++;
        f->credits--;
    }
}

static bool fake_known(struct fake *f, const struct seq_hash *h)
{
    size_t i;

    for (i = 0; i < f->n_txs; i++) {
        if (seq_hash_eq(&f->txs[i], h)) {
            return true;
        }
    }
    return false;
}

static bool payload_is(const Seqc__Tx *tx, const char *text)
{
    return tx->payload.len == strlen(text) &&
           memcmp(tx->payload.data, text, tx->payload.len) == 0;
}

/* Replies that break the protocol in one way each, named by the payload
 * of the first transaction. True if one was sent. */
static bool fake_misbehave(struct fake *f, const Seqc__Submit *s)
{
    static const uint8_t kind = 0x02;
    static const uint8_t bad_kind = 0x03;
    Seqc__ClientReply reply = SEQC__CLIENT_REPLY__INIT;
    Seqc__SubmitAck ack = SEQC__SUBMIT_ACK__INIT;
    Seqc__Error err = SEQC__ERROR__INIT;
    Seqc__TxResult res = SEQC__TX_RESULT__INIT;
    Seqc__TxResult *results[2] = { &res, &res };
    uint8_t hash[32] = { 0 };
    uint8_t body[64];
    size_t len;
    const Seqc__Tx *tx = s->txs[0];

    reply.version = 1;
    reply.msg_case = SEQC__CLIENT_REPLY__MSG_ACK;
    reply.ack = &ack;
    ack.request_id = s->request_id;
    ack.n_results = 1;
    ack.results = results;
    res.tx_hash.data = hash;
    res.tx_hash.len = 32;
    if (payload_is(tx, "bad-version")) {
        reply.version = 2;
    } else if (payload_is(tx, "bad-hash")) {
        res.tx_hash.len = 31;
    } else if (payload_is(tx, "bad-status")) {
        res.status = (Seqc__TxStatusCode)7;
    } else if (payload_is(tx, "wrong-count")) {
        ack.n_results = 2;
    } else if (payload_is(tx, "no-member")) {
        reply.msg_case = SEQC__CLIENT_REPLY__MSG__NOT_SET;
    } else if (payload_is(tx, "error")) {
        reply.msg_case = SEQC__CLIENT_REPLY__MSG_ERROR;
        reply.error = &err;
        err.request_id = s->request_id;
        err.code = "malformed";
        err.message = "bad\x1b[31m tx";
    } else if (payload_is(tx, "bad-kind") || payload_is(tx, "three-frames") ||
               payload_is(tx, "bad-block") || payload_is(tx, "junk")) {
        reply.msg_case = SEQC__CLIENT_REPLY__MSG__NOT_SET;
        len = seqc__client_reply__get_packed_size(&reply);
        seqc__client_reply__pack(&reply, body);
        if (payload_is(tx, "bad-kind")) {
            fake_send(f, &bad_kind, 1, body, len, false);
        } else if (payload_is(tx, "three-frames")) {
            fake_send(f, &kind, 1, body, len, true);
        } else if (payload_is(tx, "bad-block")) {
            /* version 1, then a block whose body is one stray byte. */
            memcpy(body, "\x08\x01\x1a\x01\xff", 5);
            fake_send(f, &kind, 1, body, 5, false);
        } else {
            memcpy(body, "\x08\x01\x12\x7f", 4); /* Length past the end. */
            fake_send(f, &kind, 1, body, 4, false);
        }
        return true;
    } else {
        return false;
    }
    fake_send_reply(f, &reply);
    return true;
}

/* The fake's rules: namespace FAKE_BAD_NS is unknown, payloads above
 * FAKE_TOO_BIG are too large, "full" finds the mempool full, a known hash
 * is pending, anything else is accepted; "late" holds the ack back until
 * the next reply. */
static void fake_on_submit(struct fake *f, const Seqc__Submit *s)
{
    Seqc__ClientReply reply = SEQC__CLIENT_REPLY__INIT;
    Seqc__SubmitAck ack = SEQC__SUBMIT_ACK__INIT;
    Seqc__TxResult *res;
    Seqc__TxResult **ptrs;
    struct seq_hash *hashes;
    size_t i;

    if (s->n_txs == 0) {
        atomic_fetch_add(&f->bad_requests, 1);
        return;
    }
    if (fake_misbehave(f, s)) {
        return;
    }
    res = calloc(s->n_txs, sizeof *res);
    ptrs = calloc(s->n_txs, sizeof *ptrs);
    hashes = calloc(s->n_txs, sizeof *hashes);
    for (i = 0; i < s->n_txs; i++) {
        const Seqc__Tx *tx = s->txs[i];

        seqc__tx_result__init(&res[i]);
        ptrs[i] = &res[i];
        seqc_tx_hash(tx->namespace_, tx->payload.data, tx->payload.len,
                     &hashes[i]);
        res[i].tx_hash.data = hashes[i].bytes;
        res[i].tx_hash.len = 32;
        if (tx->namespace_ == FAKE_BAD_NS) {
            res[i].status = SEQC__TX_STATUS_CODE__TX_UNKNOWN_NAMESPACE;
        } else if (tx->payload.len > FAKE_TOO_BIG) {
            res[i].status = SEQC__TX_STATUS_CODE__TX_TOO_LARGE;
        } else if (payload_is(tx, "full")) {
            res[i].status = SEQC__TX_STATUS_CODE__TX_FULL;
            ack.retry_after_ms = FAKE_FULL_MS;
        } else if (fake_known(f, &hashes[i])) {
            res[i].status = SEQC__TX_STATUS_CODE__TX_PENDING;
        } else if (f->n_txs < FAKE_MAX_TXS) {
            f->txs[f->n_txs++] = hashes[i];
        }
    }
    reply.version = 1;
    reply.msg_case = SEQC__CLIENT_REPLY__MSG_ACK;
    reply.ack = &ack;
    ack.request_id = s->request_id;
    ack.n_results = s->n_txs;
    ack.results = ptrs;
    if (payload_is(s->txs[0], "late")) {
        f->late_len = seqc__client_reply__get_packed_size(&reply);
        f->late = malloc(f->late_len);
        seqc__client_reply__pack(&reply, f->late);
    } else {
        fake_send_reply(f, &reply);
    }
    free(hashes);
    free(ptrs);
    free(res);
}

/* Known hashes are pending, except those whose first byte is even, which
 * are committed at FAKE_COMMITTED_HEIGHT; a hash of all 0xee gets an
 * answer about another hash. */
static void fake_on_query(struct fake *f, const Seqc__TxQuery *q)
{
    Seqc__ClientReply reply = SEQC__CLIENT_REPLY__INIT;
    Seqc__TxStatus st = SEQC__TX_STATUS__INIT;
    struct seq_hash h = { { 0 } };
    uint8_t other[32] = { 1 };

    if (q->tx_hash.len != 32) {
        atomic_fetch_add(&f->bad_requests, 1);
        return;
    }
    memcpy(h.bytes, q->tx_hash.data, 32);
    reply.version = 1;
    reply.msg_case = SEQC__CLIENT_REPLY__MSG_TX_STATUS;
    reply.tx_status = &st;
    st.request_id = q->request_id;
    st.tx_hash = q->tx_hash;
    if (h.bytes[0] == 0xee && h.bytes[31] == 0xee) {
        st.tx_hash.data = other;
    } else if (fake_known(f, &h) && h.bytes[0] % 2 == 0) {
        st.state = SEQC__TX_STATE__TX_STATE_COMMITTED;
        st.height = FAKE_COMMITTED_HEIGHT;
        st.namespace_ = 1;
        st.index = 3;
    } else if (fake_known(f, &h)) {
        st.state = SEQC__TX_STATE__TX_STATE_PENDING;
    }
    fake_send_reply(f, &reply);
}

static void fake_on_request(struct fake *f, const Seqc__ClientRequest *req)
{
    switch (req->msg_case) {
    case SEQC__CLIENT_REQUEST__MSG_SUBMIT:
        if (f->lazy) {
            fake_flush(f);
        }
        fake_on_submit(f, req->submit);
        break;
    case SEQC__CLIENT_REQUEST__MSG_TX_QUERY:
        if (f->lazy) {
            fake_flush(f);
        }
        fake_on_query(f, req->tx_query);
        break;
    case SEQC__CLIENT_REQUEST__MSG_SUBSCRIBE:
        if (req->subscribe->credits == 0 || req->subscribe->credits > 1024 ||
            req->subscribe->from_height == 0) {
            atomic_fetch_add(&f->bad_requests, 1);
        }
        f->subscribed = true;
        f->sub_ns = req->subscribe->namespace_;
        f->next_height = req->subscribe->from_height;
        f->credits = req->subscribe->credits;
        break;
    case SEQC__CLIENT_REQUEST__MSG_CREDIT:
        if (req->credit->credits == 0 ||
            f->credits + req->credit->credits > 1024) {
            atomic_fetch_add(&f->credit_overflows, 1);
        }
        f->credits += req->credit->credits;
        break;
    default:
        atomic_fetch_add(&f->bad_requests, 1);
        return;
    }
    if (!f->lazy) {
        fake_flush(f);
    }
}

/* One message: [identity][0x02][ClientRequest]. */
static void fake_on_message(struct fake *f)
{
    zmq_msg_t parts[4];
    int n = 0;
    int more = 1;
    Seqc__ClientRequest *req;

    while (more) {
        zmq_msg_init(&parts[n < 4 ? n : 3]);
        if (n >= 4) {
            zmq_msg_close(&parts[3]);
        }
        zmq_msg_recv(&parts[n < 4 ? n : 3], f->router, 0);
        more = zmq_msg_more(&parts[n < 4 ? n : 3]);
        n++;
    }
    if (n != 3 || zmq_msg_size(&parts[1]) != 1 ||
        *(uint8_t *)zmq_msg_data(&parts[1]) != 0x02 ||
        zmq_msg_size(&parts[0]) > sizeof f->peer) {
        atomic_fetch_add(&f->bad_requests, 1);
        goto out;
    }
    f->peer_len = zmq_msg_size(&parts[0]);
    memcpy(f->peer, zmq_msg_data(&parts[0]), f->peer_len);
    req = seqc__client_request__unpack(NULL, zmq_msg_size(&parts[2]),
                                       zmq_msg_data(&parts[2]));
    if (req == NULL || req->version != 1) {
        atomic_fetch_add(&f->bad_requests, 1);
    } else {
        fake_on_request(f, req);
    }
    seqc__client_request__free_unpacked(req, NULL);

out:
    for (n = n < 4 ? n : 4; n > 0; n--) {
        zmq_msg_close(&parts[n - 1]);
    }
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;

    while (!atomic_load(&f->stop)) {
        zmq_pollitem_t item = { .socket = f->router, .events = ZMQ_POLLIN };

        if (zmq_poll(&item, 1, 10) > 0) {
            fake_on_message(f);
        }
    }
    return NULL;
}

/* A namespace block for @height with no entries and no signatures: the
 * connection decodes blocks, it does not verify them. */
static void make_block(uint64_t height, uint8_t **out, size_t *len)
{
    struct seqc_nsblock b;
    struct seq_header chain;

    memset(&b, 0, sizeof b);
    memset(&chain, 0, sizeof chain);
    chain.height = height;
    chain.round = height;
    b.ns = 1;
    b.height = height;
    b.absence.kind = SEQ_NSTREE_ABSENT_EMPTY;
    b.chain = &chain;
    b.n_chain = 1;
    b.child.height = height + 1;
    b.child.round = height + 1;
    b.child.justify_round = height;
    b.child_qc.height = height + 1;
    b.child_qc.round = height + 1;
    ASSERT_OK(seqc_nsblock_encode(&b, out, len));
}

static void fake_start(struct fake *f, bool lazy)
{
    size_t len = sizeof f->endpoint;
    int linger = 0;
    uint64_t h;

    memset(f, 0, sizeof *f);
    f->lazy = lazy;
    for (h = 1; h <= FAKE_HEIGHTS; h++) {
        make_block(h, &f->blocks[h], &f->block_len[h]);
    }
    f->ctx = zmq_ctx_new();
    f->router = zmq_socket(f->ctx, ZMQ_ROUTER);
    zmq_setsockopt(f->router, ZMQ_LINGER, &linger, sizeof linger);
    ASSERT_EQ(zmq_bind(f->router, "tcp://127.0.0.1:*"), 0);
    ASSERT_EQ(zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, f->endpoint, &len),
              0);
    ASSERT_EQ(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

/* Stops the fake and checks that it saw only well-formed requests and
 * credits within the bound. */
static void fake_stop(struct fake *f)
{
    uint64_t h;

    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    zmq_close(f->router);
    zmq_ctx_term(f->ctx);
    for (h = 1; h <= FAKE_HEIGHTS; h++) {
        seq_free(f->blocks[h]);
    }
    free(f->late);
    ASSERT_EQ(atomic_load(&f->bad_requests), 0);
    ASSERT_EQ(atomic_load(&f->credit_overflows), 0);
}

static struct seqc_tx tx_of(uint64_t ns, const char *text)
{
    struct seqc_tx tx = { .ns = ns,
                          .payload = (const uint8_t *)text,
                          .len = strlen(text) };
    return tx;
}

/* ------------------------------------------------------------- tests */

TEST(client_conn, connect_rejects_bad_endpoints)
{
    struct seqc_conn *c = NULL;

    ASSERT_ERR(seqc_connect(NULL, &c), SEQ_EINVAL);
    ASSERT_ERR(seqc_connect("tcp://", &c), SEQ_EINVAL);
    ASSERT_ERR(seqc_connect("http://127.0.0.1:1", &c), SEQ_EINVAL);
    ASSERT_ERR(seqc_connect("127.0.0.1:1", &c), SEQ_EINVAL);
    ASSERT_ERR(seqc_connect("tcp://127.0.0.1", &c), SEQ_EINVAL);
    ASSERT_TRUE(c == NULL);
    seqc_close(NULL);
}

TEST(client_conn, submit_gets_one_result_per_tx)
{
    struct fake f;
    struct seqc_conn *c;
    char big[FAKE_TOO_BIG + 2];
    struct seqc_tx txs[5];
    struct seqc_tx_result res[5];
    uint32_t retry = 12345;
    struct seq_hash h;
    size_t i;

    fake_start(&f, false);
    ASSERT_OK(seqc_connect(f.endpoint, &c));
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    txs[0] = tx_of(1, "hello");
    txs[1] = tx_of(1, "hello"); /* The same transaction again. */
    txs[2] = tx_of(FAKE_BAD_NS, "hello");
    txs[3] = tx_of(2, big);
    txs[4] = tx_of(2, "");
    ASSERT_OK(seqc_submit(c, txs, 5, res, &retry, 2000));
    ASSERT_EQ(res[0].status, SEQC_TX_ACCEPTED);
    ASSERT_EQ(res[1].status, SEQC_TX_PENDING);
    ASSERT_EQ(res[2].status, SEQC_TX_UNKNOWN_NAMESPACE);
    ASSERT_EQ(res[3].status, SEQC_TX_TOO_LARGE);
    ASSERT_EQ(res[4].status, SEQC_TX_ACCEPTED);
    ASSERT_EQ(retry, 0);
    for (i = 0; i < 5; i++) {
        seqc_tx_hash(txs[i].ns, txs[i].payload, txs[i].len, &h);
        ASSERT_MEMEQ(h.bytes, res[i].tx_hash.bytes, 32);
    }

    txs[0] = tx_of(1, "full");
    ASSERT_OK(seqc_submit(c, txs, 1, res, &retry, 2000));
    ASSERT_EQ(res[0].status, SEQC_TX_FULL);
    ASSERT_EQ(retry, FAKE_FULL_MS);
    ASSERT_OK(seqc_submit(c, txs, 1, res, NULL, 2000));

    ASSERT_ERR(seqc_submit(c, txs, 0, res, NULL, 100), SEQ_EINVAL);
    ASSERT_ERR(seqc_submit(c, txs, SEQC_MAX_SUBMIT + 1, res, NULL, 100),
               SEQ_EINVAL);
    ASSERT_ERR(seqc_submit(c, NULL, 1, res, NULL, 100), SEQ_EINVAL);
    txs[0].payload = NULL;
    ASSERT_ERR(seqc_submit(c, txs, 1, res, NULL, 100), SEQ_EINVAL);
    seqc_close(c);
    fake_stop(&f);
}

TEST(client_conn, submit_refuses_a_message_above_the_limit)
{
    struct fake f;
    struct seqc_conn *c;
    size_t len = SEQC_MAX_MSG / 2;
    uint8_t *payload = calloc(1, len);
    struct seqc_tx txs[3];
    struct seqc_tx_result res[3];
    size_t i;

    fake_start(&f, false);
    ASSERT_OK(seqc_connect(f.endpoint, &c));
    for (i = 0; i < 3; i++) {
        txs[i].ns = 1;
        txs[i].payload = payload;
        txs[i].len = len;
    }
    ASSERT_ERR(seqc_submit(c, txs, 3, res, NULL, 1000), SEQ_EINVAL);
    ASSERT_ERR(seqc_submit_async(c, 1, txs, 3), SEQ_EINVAL);
    seqc_close(c);
    fake_stop(&f);
    free(payload);
}

TEST(client_conn, async_acks_carry_the_request_id)
{
    struct fake f;
    struct seqc_conn *c;
    struct seqc_tx tx;
    struct seqc_reply r;
    char text[16];
    uint64_t id;
    int rv;

    fake_start(&f, false);
    ASSERT_OK(seqc_connect(f.endpoint, &c));
    tx = tx_of(1, "a");
    /* Connecting is asynchronous (ZMQ_IMMEDIATE): wait for room. */
    do {
        rv = seqc_submit_async(c, 1, &tx, 1);
    } while (rv == SEQ_EAGAIN);
    ASSERT_OK(rv);
    for (id = 2; id <= 10; id++) {
        snprintf(text, sizeof text, "tx-%u", (unsigned)id);
        tx = tx_of(1, text);
        ASSERT_OK(seqc_submit_async(c, id, &tx, 1));
    }
    for (id = 1; id <= 10; id++) {
        ASSERT_OK(seqc_recv(c, &r, 2000));
        ASSERT_EQ(r.kind, SEQC_REPLY_ACK);
        ASSERT_EQ(r.request_id, id);
        ASSERT_EQ(r.n_results, 1);
        ASSERT_EQ(r.results[0].status, SEQC_TX_ACCEPTED);
        seqc_reply_free(&r);
    }
    ASSERT_ERR(seqc_recv(c, &r, 50), SEQ_ETIMEOUT);
    ASSERT_ERR(seqc_submit_async(c, UINT64_C(1) << 63, &tx, 1), SEQ_EINVAL);
    ASSERT_ERR(seqc_submit_async(c, 1, &tx, 0), SEQ_EINVAL);
    seqc_reply_free(NULL);
    seqc_close(c);
    fake_stop(&f);
}

TEST(client_conn, tx_query_states)
{
    struct fake f;
    struct seqc_conn *c;
    struct seqc_tx_result res;
    struct seqc_tx tx;
    struct seq_hash h;
    uint64_t height = 0, ns = 0, index = 0;
    char text[16];
    int state = -1;
    int i;

    fake_start(&f, false);
    ASSERT_OK(seqc_connect(f.endpoint, &c));
    memset(&h, 0x11, sizeof h);
    ASSERT_OK(seqc_tx_query(c, &h, &state, &height, &ns, &index, 2000));
    ASSERT_EQ(state, 0);

    /* Find one transaction whose hash starts odd (pending) and one even
     * (committed), as the fake decides. */
    for (i = 0; i < 8; i++) {
        snprintf(text, sizeof text, "q-%d", i);
        tx = tx_of(1, text);
        ASSERT_OK(seqc_submit(c, &tx, 1, &res, NULL, 2000));
        ASSERT_OK(
            seqc_tx_query(c, &res.tx_hash, &state, &height, &ns, &index, 2000));
        if (res.tx_hash.bytes[0] % 2 == 0) {
            ASSERT_EQ(state, 2);
            ASSERT_EQ(height, FAKE_COMMITTED_HEIGHT);
            ASSERT_EQ(ns, 1);
            ASSERT_EQ(index, 3);
        } else {
            ASSERT_EQ(state, 1);
        }
    }
    memset(&h, 0xee, sizeof h);
    ASSERT_ERR(seqc_tx_query(c, &h, &state, NULL, NULL, NULL, 2000),
               SEQ_EBADMSG);
    ASSERT_ERR(seqc_tx_query(c, NULL, &state, NULL, NULL, NULL, 2000),
               SEQ_EINVAL);
    seqc_close(c);
    fake_stop(&f);
}

/* Each bad reply is refused: by the blocking call it answers when the
 * reply still names the request, else by seqc_recv; none of them leaves
 * anything behind. */
TEST(client_conn, bad_replies_are_refused)
{
    static const char *named[] = { "bad-version", "bad-hash", "bad-status",
                                   "wrong-count" };
    static const char *anonymous[] = { "no-member", "bad-kind", "three-frames",
                                       "bad-block", "junk" };
    struct fake f;
    struct seqc_conn *c;
    struct seqc_tx_result res;
    struct seqc_reply r;
    struct seqc_tx tx;
    size_t i;
    int rv;

    fake_start(&f, false);
    ASSERT_OK(seqc_connect(f.endpoint, &c));
    for (i = 0; i < sizeof named / sizeof named[0]; i++) {
        tx = tx_of(1, named[i]);
        ASSERT_ERR(seqc_submit(c, &tx, 1, &res, NULL, 2000), SEQ_EBADMSG);
    }
    for (i = 0; i < sizeof anonymous / sizeof anonymous[0]; i++) {
        tx = tx_of(1, anonymous[i]);
        do {
            rv = seqc_submit_async(c, 7, &tx, 1);
        } while (rv == SEQ_EAGAIN);
        ASSERT_OK(rv);
        ASSERT_ERR(seqc_recv(c, &r, 2000), SEQ_EBADMSG);
    }
    /* An anonymous bad reply to a blocking call: the call times out. */
    tx = tx_of(1, "bad-kind");
    ASSERT_ERR(seqc_submit(c, &tx, 1, &res, NULL, 200), SEQ_ETIMEOUT);
    ASSERT_ERR(seqc_recv(c, &r, 50), SEQ_ETIMEOUT);

    /* The connection still works. */
    tx = tx_of(1, "fine");
    ASSERT_OK(seqc_submit(c, &tx, 1, &res, NULL, 2000));
    ASSERT_EQ(res.status, SEQC_TX_ACCEPTED);
    seqc_close(c);
    fake_stop(&f);
}

TEST(client_conn, error_reply_fails_the_call_and_is_kept)
{
    struct fake f;
    struct seqc_conn *c;
    struct seqc_tx_result res;
    struct seqc_reply r;
    struct seqc_tx tx = tx_of(1, "error");

    fake_start(&f, false);
    ASSERT_OK(seqc_connect(f.endpoint, &c));
    ASSERT_ERR(seqc_submit(c, &tx, 1, &res, NULL, 2000), SEQ_EINVAL);
    ASSERT_OK(seqc_recv(c, &r, 0));
    ASSERT_EQ(r.kind, SEQC_REPLY_ERROR);
    ASSERT_STREQ(r.error_code, "malformed");
    ASSERT_STREQ(r.error_message, "bad?[31m tx"); /* No escape reaches us. */
    seqc_reply_free(&r);
    seqc_close(c);
    fake_stop(&f);
}

/* A blocking call that timed out leaves its request id behind; the late
 * answer is dropped, not handed to seqc_recv or to the next call. */
TEST(client_conn, late_reply_is_dropped)
{
    struct fake f;
    struct seqc_conn *c;
    struct seqc_tx_result res;
    struct seqc_reply r;
    struct seqc_tx tx = tx_of(1, "late");

    fake_start(&f, false);
    ASSERT_OK(seqc_connect(f.endpoint, &c));
    ASSERT_ERR(seqc_submit(c, &tx, 1, &res, NULL, 300), SEQ_ETIMEOUT);
    tx = tx_of(1, "next");
    ASSERT_OK(seqc_submit(c, &tx, 1, &res, NULL, 2000));
    ASSERT_EQ(res.status, SEQC_TX_ACCEPTED);
    ASSERT_ERR(seqc_recv(c, &r, 100), SEQ_ETIMEOUT);
    seqc_close(c);
    fake_stop(&f);
}

static void expect_block(struct seqc_conn *c, uint64_t height)
{
    struct seqc_reply r;

    ASSERT_OK(seqc_recv(c, &r, 2000));
    ASSERT_EQ(r.kind, SEQC_REPLY_BLOCK);
    ASSERT_EQ(r.block.ns, 1);
    ASSERT_EQ(r.block.height, height);
    ASSERT_EQ(r.block.n_chain, 1);
    seqc_reply_free(&r);
}

TEST(client_conn, subscription_respects_credits)
{
    struct fake f;
    struct seqc_conn *c;
    struct seqc_reply r;
    uint64_t h;

    fake_start(&f, false);
    ASSERT_OK(seqc_connect(f.endpoint, &c));
    ASSERT_ERR(seqc_subscribe(c, 1, 0, 3), SEQ_EINVAL);
    ASSERT_ERR(seqc_subscribe(c, 1, 1, 0), SEQ_EINVAL);
    ASSERT_ERR(seqc_subscribe(c, 1, 1, SEQC_MAX_CREDITS + 1), SEQ_EINVAL);
    ASSERT_OK(seqc_subscribe(c, 1, 1, 3));
    for (h = 1; h <= 3; h++) {
        expect_block(c, h);
    }
    ASSERT_ERR(seqc_recv(c, &r, 200), SEQ_ETIMEOUT);
    ASSERT_EQ(atomic_load(&f.blocks_sent), 3);

    ASSERT_ERR(seqc_credit(c, 0), SEQ_EINVAL);
    ASSERT_ERR(seqc_credit(c, SEQC_MAX_CREDITS + 1), SEQ_EINVAL);
    ASSERT_OK(seqc_credit(c, 2));
    expect_block(c, 4);
    expect_block(c, 5);
    ASSERT_ERR(seqc_recv(c, &r, 200), SEQ_ETIMEOUT);
    ASSERT_EQ(atomic_load(&f.blocks_sent), 5);

    /* Top up one credit per block, as an executor does. */
    ASSERT_OK(seqc_credit(c, 1));
    for (h = 6; h <= FAKE_HEIGHTS; h++) {
        expect_block(c, h);
        ASSERT_OK(seqc_credit(c, 1));
    }
    ASSERT_ERR(seqc_recv(c, &r, 200), SEQ_ETIMEOUT);
    ASSERT_EQ(atomic_load(&f.blocks_sent), FAKE_HEIGHTS);

    /* The connection refuses to grant more than SEQC_MAX_CREDITS. */
    ASSERT_ERR(seqc_credit(c, SEQC_MAX_CREDITS), SEQ_EINVAL);

    /* A new subscription replaces the old one. */
    ASSERT_OK(seqc_subscribe(c, 1, 10, 2));
    expect_block(c, 10);
    expect_block(c, 11);
    ASSERT_ERR(seqc_recv(c, &r, 200), SEQ_ETIMEOUT);
    seqc_close(c);
    fake_stop(&f);
}

/* Blocks that arrive while seqc_submit waits for its ack are kept, in
 * order, for seqc_recv. */
TEST(client_conn, submit_keeps_blocks_for_recv)
{
    struct fake f;
    struct seqc_conn *c;
    struct seqc_tx_result res;
    struct seqc_reply r;
    struct seqc_tx tx = tx_of(1, "x");
    int state;
    uint64_t h;

    fake_start(&f, true);
    ASSERT_OK(seqc_connect(f.endpoint, &c));
    ASSERT_OK(seqc_subscribe(c, 1, 1, 5));
    ASSERT_OK(seqc_submit(c, &tx, 1, &res, NULL, 2000));
    ASSERT_EQ(atomic_load(&f.blocks_sent), 5);
    ASSERT_OK(seqc_credit(c, 3));
    ASSERT_OK(seqc_tx_query(c, &res.tx_hash, &state, NULL, NULL, NULL, 2000));
    ASSERT_EQ(atomic_load(&f.blocks_sent), 8);
    for (h = 1; h <= 8; h++) {
        expect_block(c, h);
    }
    ASSERT_ERR(seqc_recv(c, &r, 100), SEQ_ETIMEOUT);
    seqc_close(c);
    fake_stop(&f);
}

TEST(client_conn, dead_endpoint_times_out)
{
    struct seqc_conn *c;
    struct seqc_tx_result res;
    struct seqc_reply r;
    struct seqc_tx tx = tx_of(1, "x");
    struct seq_hash h = { { 0 } };
    int state;

    /* Port 1 on loopback: nothing listens there. */
    ASSERT_OK(seqc_connect("tcp://127.0.0.1:1", &c));
    ASSERT_ERR(seqc_submit(c, &tx, 1, &res, NULL, 200), SEQ_ETIMEOUT);
    ASSERT_ERR(seqc_tx_query(c, &h, &state, NULL, NULL, NULL, 200),
               SEQ_ETIMEOUT);
    ASSERT_ERR(seqc_submit_async(c, 1, &tx, 1), SEQ_EAGAIN);
    ASSERT_ERR(seqc_recv(c, &r, 100), SEQ_ETIMEOUT);
    ASSERT_ERR(seqc_recv(c, &r, 0), SEQ_ETIMEOUT);
    seqc_close(c);
}

/* seqc_fd for poll(2): after it fires, seqc_recv(…, 0) drains. */
TEST(client_conn, fd_signals_replies)
{
    struct fake f;
    struct seqc_conn *c;
    struct seqc_reply r;
    struct seqc_tx tx = tx_of(1, "polled");
    struct pollfd p;
    int got = 0;
    int rounds;
    int rv;

    fake_start(&f, false);
    ASSERT_OK(seqc_connect(f.endpoint, &c));
    p.fd = seqc_fd(c);
    p.events = POLLIN;
    ASSERT_GE(p.fd, 0);
    do {
        rv = seqc_submit_async(c, 42, &tx, 1);
    } while (rv == SEQ_EAGAIN);
    ASSERT_OK(rv);
    for (rounds = 0; rounds < 200 && got == 0; rounds++) {
        poll(&p, 1, 10);
        while (seqc_recv(c, &r, 0) == 0) {
            ASSERT_EQ(r.request_id, 42);
            seqc_reply_free(&r);
            got++;
        }
    }
    ASSERT_EQ(got, 1);
    ASSERT_ERR(seqc_fd(NULL), SEQ_EINVAL);
    seqc_close(c);
    fake_stop(&f);
}

/* Fail each allocation of connect, submit and a queued block in turn:
 * every failure is SEQ_ENOMEM and leaves the connection usable. The fake
 * never allocates through seq_malloc (its blocks are encoded up front), so
 * the count is this thread's. */
TEST(client_conn, allocation_failures)
{
    struct fake f;
    struct seqc_conn *c = NULL;
    struct seqc_tx_result res;
    struct seqc_reply r;
    struct seqc_tx tx;
    char text[32];
    unsigned long nth;
    int rv;

    fake_start(&f, true);
    for (nth = 1;; nth++) {
        seq_alloc_fail_at(nth, 0);
        rv = seqc_connect(f.endpoint, &c);
        seq_alloc_fail_at(0, 0);
        if (rv == 0) {
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
    }
    ASSERT_OK(seqc_subscribe(c, 1, 1, FAKE_HEIGHTS));
    for (nth = 1;; nth++) {
        snprintf(text, sizeof text, "alloc-%lu", nth);
        tx = tx_of(1, text);
        seq_alloc_fail_at(nth, 0);
        rv = seqc_submit(c, &tx, 1, &res, NULL, 2000);
        seq_alloc_fail_at(0, 0);
        if (rv == 0) {
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
    }
    /* Blocks whose decoding failed are lost; those that survived come in
     * order. */
    {
        uint64_t last = 0;

        while (seqc_recv(c, &r, 200) == 0) {
            if (r.kind == SEQC_REPLY_BLOCK) {
                ASSERT_GT(r.block.height, last);
                last = r.block.height;
            }
            seqc_reply_free(&r);
        }
    }
    tx = tx_of(1, "after");
    ASSERT_OK(seqc_submit(c, &tx, 1, &res, NULL, 2000));
    seqc_close(c);
    fake_stop(&f);
}

TEST_MAIN()
