/* The validator mesh (net/net_mesh.h) over real sockets: up to four meshes
 * in one process, each in a ZeroMQ context of its own (the ZAP endpoint is
 * one per context), on 127.0.0.1 ports the kernel picked, with fresh CURVE
 * keys and a genesis built here (its hash is a digest of the seed, not of a
 * file). A fifth validator slot has no mesh: its key lets a test play an
 * authenticated but hostile peer with a raw DEALER. Every wait pumps all
 * meshes with zmq_poll until the condition holds or a deadline passes;
 * nothing sleeps in place of a condition. */

#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "harness.h"
#include "net_mesh.h"
#include "seq_alloc.h"
#include "seq_hash.h"
#include "seq_log.h"
#include "seq_rng.h"

#define N_SLOTS     5 /* Validators in the largest genesis. */
#define N_MESH      4 /* Slots 0..3 run a mesh. */
#define RAW_SLOT    4 /* Slot whose key the hostile raw DEALER uses. */
#define MAX_FRAME   1024
#define QUEUE_LIMIT 100
#define DEADLINE_MS 15000
#define PUMP_MS     10

/* What one mesh handed up, by sender. */
struct inbox {
    uint64_t count[N_SLOTS];
    uint8_t last[N_SLOTS][MAX_FRAME];
    size_t last_len[N_SLOTS];
};

struct fixture {
    uint32_t n;
    struct net_genesis genesis;
    struct net_genesis foreign; /* The same validators, another hash. */
    struct net_node_key keys[N_SLOTS];
    char listen[N_SLOTS][NET_ADDR_MAX];
    void *ctx[N_MESH];
    struct net_mesh *mesh[N_MESH];
    struct inbox inbox[N_MESH];
};

static struct fixture fx;

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Ports the kernel hands out for 127.0.0.1:0. All sockets stay bound until
 * every port is chosen, so the ports differ; they never connected, so they
 * are free again once closed. */
static void pick_ports(int *ports, size_t n)
{
    int fds[N_SLOTS];
    struct sockaddr_in addr;
    socklen_t len;
    size_t i;

    for (i = 0; i < n; i++) {
        memset(&addr, 0, sizeof addr);
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        ASSERT_TRUE(fds[i] >= 0);
        ASSERT_EQ(bind(fds[i], (struct sockaddr *)&addr, sizeof addr), 0);
        len = sizeof addr;
        ASSERT_EQ(getsockname(fds[i], (struct sockaddr *)&addr, &len), 0);
        ports[i] = ntohs(addr.sin_port);
    }
    for (i = 0; i < n; i++) {
        close(fds[i]);
    }
}

static void key_generate(struct net_node_key *key)
{
    char public_z85[41];
    char secret_z85[41];

    ASSERT_EQ(zmq_curve_keypair(public_z85, secret_z85), 0);
    ASSERT_TRUE(zmq_z85_decode(key->public_key, public_z85) != NULL);
    ASSERT_TRUE(zmq_z85_decode(key->secret_key, secret_z85) != NULL);
}

/* A genesis of @n validators; meshes are opened separately. */
static void fixture_init(uint32_t n)
{
    int ports[N_SLOTS];
    uint64_t seed = test_seed();
    uint32_t i;

    seq_log_setup(SEQ_LOG_WARN, SEQ_LOG_LOGFMT); /* Links coming and going. */
    memset(&fx, 0, sizeof fx);
    fx.n = n;
    pick_ports(ports, n);
    snprintf(fx.genesis.chain_id, sizeof fx.genesis.chain_id, "seq-test");
    fx.genesis.n_validators = n;
    fx.genesis.base_timeout_ms = 1000;
    for (i = 0; i < n; i++) {
        struct net_validator *v = &fx.genesis.validators[i];

        key_generate(&fx.keys[i]);
        snprintf(v->name, sizeof v->name, "node%u", i);
        memset(v->pubkey.bytes, (int)i + 1, sizeof v->pubkey.bytes);
        memcpy(v->node_key, fx.keys[i].public_key, NET_CURVE_KEY_LEN);
        snprintf(v->p2p, sizeof v->p2p, "tcp://127.0.0.1:%d", ports[i]);
        snprintf(fx.listen[i], sizeof fx.listen[i], "%s", v->p2p);
    }
    seq_sha256(&seed, sizeof seed, &fx.genesis.hash);
    fx.foreign = fx.genesis;
    seq_sha256(&fx.genesis.hash, sizeof fx.genesis.hash, &fx.foreign.hash);
}

static int mesh_open_with(uint32_t i,
                          const struct net_genesis *genesis,
                          struct net_mesh **out,
                          char *errmsg)
{
    struct net_mesh_config config = {
        .zmq_ctx = fx.ctx[i],
        .genesis = genesis,
        .self = i,
        .node_key = &fx.keys[i],
        .listen = fx.listen[i],
        .max_frame = MAX_FRAME,
        .queue_limit = QUEUE_LIMIT,
    };

    return net_mesh_open(&config, out, errmsg);
}

static void mesh_start(uint32_t i, const struct net_genesis *genesis)
{
    char errmsg[SEQ_ERRMSG_LEN] = "";
    int rv;

    fx.ctx[i] = zmq_ctx_new();
    ASSERT_TRUE(fx.ctx[i] != NULL);
    rv = mesh_open_with(i, genesis, &fx.mesh[i], errmsg);
    if (rv != 0) {
        harness_fail(__FILE__, __LINE__, "mesh %u: %s", i, errmsg);
    }
}

/* Closes mesh @i and, like a process exit, ends its context. */
static void mesh_stop(uint32_t i)
{
    net_mesh_close(fx.mesh[i]);
    fx.mesh[i] = NULL;
    ASSERT_EQ(zmq_ctx_term(fx.ctx[i]), 0);
    fx.ctx[i] = NULL;
}

static void fixture_fini(void)
{
    uint32_t i;

    for (i = 0; i < N_MESH; i++) {
        if (fx.ctx[i] != NULL) {
            mesh_stop(i);
        }
    }
}

/* One poll over every open mesh, then each drains what it has. */
static void pump(int timeout_ms)
{
    zmq_pollitem_t items[N_MESH * NET_MESH_POLL_MAX];
    size_t n = 0;
    const uint8_t *frame;
    hs_node_t from;
    size_t len;
    uint32_t i;

    for (i = 0; i < N_MESH; i++) {
        if (fx.mesh[i] != NULL) {
            n += net_mesh_poll_items(fx.mesh[i], items + n);
        }
    }
    ASSERT_TRUE(zmq_poll(items, (int)n, timeout_ms) >= 0);
    for (i = 0; i < N_MESH; i++) {
        struct inbox *in = &fx.inbox[i];

        while (fx.mesh[i] != NULL &&
               net_mesh_recv(fx.mesh[i], &from, &frame, &len) == 1) {
            ASSERT_LT(from, fx.n);
            ASSERT_NE(from, i);
            ASSERT_TRUE(len >= 1 && len <= MAX_FRAME);
            in->count[from]++;
            memcpy(in->last[from], frame, len);
            in->last_len[from] = len;
        }
    }
}

typedef bool (*cond_fn)(const void *arg);

static bool wait_for(cond_fn cond, const void *arg)
{
    uint64_t deadline = now_ms() + DEADLINE_MS;

    while (!cond(arg)) {
        if (now_ms() >= deadline) {
            return false;
        }
        pump(PUMP_MS);
    }
    return true;
}

static struct net_mesh_stats stats_of(uint32_t i)
{
    struct net_mesh_stats s;

    net_mesh_stats(fx.mesh[i], &s);
    return s;
}

/* Every open mesh sees *@arg matched peers. */
static bool peers_are(const void *arg)
{
    uint32_t want = *(const uint32_t *)arg;
    uint32_t i;

    for (i = 0; i < N_MESH; i++) {
        if (fx.mesh[i] != NULL && net_mesh_peers(fx.mesh[i]) != want) {
            return false;
        }
    }
    return true;
}

static void wait_peers(uint32_t want)
{
    if (!wait_for(peers_are, &want)) {
        harness_fail(__FILE__, __LINE__, "meshes never saw %u peers", want);
    }
}

struct count_want {
    uint32_t mesh;
    uint32_t from;
    uint64_t count;
};

static bool inbox_reaches(const void *arg)
{
    const struct count_want *w = arg;

    return fx.inbox[w->mesh].count[w->from] >= w->count;
}

static void wait_inbox(uint32_t mesh, uint32_t from, uint64_t count)
{
    struct count_want w = { .mesh = mesh, .from = from, .count = count };

    if (!wait_for(inbox_reaches, &w)) {
        harness_fail(__FILE__, __LINE__, "mesh %u got %llu frames from %u",
                     mesh, (unsigned long long)fx.inbox[mesh].count[from],
                     from);
    }
}

/* The next frame from @from to @to carries @len bytes of @rng. */
static void send_random(struct seq_rng *rng,
                        uint32_t from,
                        uint32_t to,
                        size_t len,
                        uint8_t *copy)
{
    size_t k;

    for (k = 0; k < len; k++) {
        copy[k] = (uint8_t)seq_rng_next(rng);
    }
    net_mesh_send(fx.mesh[from], to, copy, len);
}

TEST(net_mesh, every_pair_exchanges_authenticated_frames)
{
    static uint8_t sent[N_MESH][N_MESH][MAX_FRAME];
    size_t sent_len[N_MESH][N_MESH];
    struct seq_rng rng;
    uint32_t i;
    uint32_t j;

    seq_rng_seed(&rng, test_seed());
    fixture_init(N_MESH);
    for (i = 0; i < N_MESH; i++) {
        mesh_start(i, &fx.genesis);
    }
    wait_peers(N_MESH - 1);

    for (i = 0; i < N_MESH; i++) {
        for (j = 0; j < N_MESH; j++) {
            if (i == j) {
                continue;
            }
            /* Both edges of the size range, then random sizes. */
            sent_len[i][j] = i == 0 && j == 1 ? MAX_FRAME
                             : i == 1 && j == 0
                                 ? 1
                                 : 1 + seq_rng_below(&rng, MAX_FRAME);
            send_random(&rng, i, j, sent_len[i][j], sent[i][j]);
        }
    }
    for (i = 0; i < N_MESH; i++) {
        for (j = 0; j < N_MESH; j++) {
            if (i != j) {
                wait_inbox(j, i, 1);
            }
        }
    }
    for (i = 0; i < N_MESH; i++) {
        struct net_mesh_stats s = stats_of(i);

        for (j = 0; j < N_MESH; j++) {
            if (i == j) {
                ASSERT_EQ(fx.inbox[i].count[j], 0u);
                continue;
            }
            ASSERT_EQ(fx.inbox[j].count[i], 1u);
            ASSERT_EQ(fx.inbox[j].last_len[i], sent_len[i][j]);
            ASSERT_MEMEQ(fx.inbox[j].last[i], sent[i][j], sent_len[i][j]);
        }
        ASSERT_EQ(s.frames_out, N_MESH - 1);
        ASSERT_EQ(s.frames_in, N_MESH - 1);
        ASSERT_EQ(s.dropped_full, 0u);
        ASSERT_EQ(s.dropped_bad, 0u);
        ASSERT_EQ(s.dropped_mismatch, 0u);
        ASSERT_EQ(s.zap_denied, 0u);
        ASSERT_GE(s.zap_allowed, N_MESH - 1);
        ASSERT_EQ(net_mesh_mismatched(fx.mesh[i]), 0u);
    }
    fixture_fini();
}

struct stat_want {
    uint32_t mesh;
    size_t offset; /* Of a uint64_t field of struct net_mesh_stats. */
    uint64_t at_least;
};

static bool stat_reaches(const void *arg)
{
    const struct stat_want *w = arg;
    struct net_mesh_stats s = stats_of(w->mesh);
    uint64_t value;

    memcpy(&value, (const uint8_t *)&s + w->offset, sizeof value);
    return value >= w->at_least;
}

#define WAIT_STAT(mesh_, field, min)                                          \
    do {                                                                      \
        struct stat_want w_ = { (mesh_),                                      \
                                offsetof(struct net_mesh_stats, field),       \
                                (min) };                                      \
        if (!wait_for(stat_reaches, &w_)) {                                   \
            harness_fail(__FILE__, __LINE__, "%s never reached %llu", #field, \
                         (unsigned long long)(min));                          \
        }                                                                     \
    } while (0)

static void *socket_new(void *ctx, int type)
{
    int linger = 0;
    void *s = zmq_socket(ctx, type);

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger), 0);
    return s;
}

/* A DEALER that authenticates with @key to mesh @server. With @monitor,
 * *@monitor reads its DISCONNECTED events (monitoring starts before the
 * connect, so none is missed). */
static void *curve_dealer(void *ctx,
                          const struct net_node_key *key,
                          uint32_t server,
                          void **monitor)
{
    void *s = socket_new(ctx, ZMQ_DEALER);

    if (monitor != NULL) {
        ASSERT_EQ(zmq_socket_monitor(s, "inproc://test-monitor",
                                     ZMQ_EVENT_DISCONNECTED),
                  0);
        *monitor = socket_new(ctx, ZMQ_PAIR);
        ASSERT_EQ(zmq_connect(*monitor, "inproc://test-monitor"), 0);
    }

    ASSERT_EQ(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, fx.keys[server].public_key,
                             NET_CURVE_KEY_LEN),
              0);
    ASSERT_EQ(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, key->public_key,
                             NET_CURVE_KEY_LEN),
              0);
    ASSERT_EQ(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, key->secret_key,
                             NET_CURVE_KEY_LEN),
              0);
    ASSERT_EQ(zmq_connect(s, fx.listen[server]), 0);
    return s;
}

static void send_parts(void *s,
                       size_t n,
                       const void *const *data,
                       const size_t *len)
{
    size_t i;

    for (i = 0; i < n; i++) {
        ASSERT_EQ(zmq_send(s, data[i], len[i], i + 1 < n ? ZMQ_SNDMORE : 0),
                  (int)len[i]);
    }
}

static void send_two(void *s, uint8_t kind, const void *body, size_t len)
{
    const void *data[2] = { &kind, body };
    size_t lens[2] = { 1, len };

    send_parts(s, 2, data, lens);
}

/* An open TCP connection to mesh @server. */
static int tcp_connect(uint32_t server)
{
    struct sockaddr_in addr;
    unsigned port;
    int fd;

    ASSERT_EQ(sscanf(fx.listen[server], "tcp://127.0.0.1:%u", &port), 1);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    return fd;
}

/* Pumps the meshes until the mesh closes raw connection @fd. */
static bool wait_tcp_closed(int fd)
{
    uint64_t deadline = now_ms() + DEADLINE_MS;
    zmq_pollitem_t item = { .fd = fd, .events = ZMQ_POLLIN };
    char buf[256];
    ssize_t n;

    while (now_ms() < deadline) {
        pump(PUMP_MS);
        item.revents = 0;
        ASSERT_TRUE(zmq_poll(&item, 1, 0) >= 0);
        if (item.revents & ZMQ_POLLIN) {
            n = read(fd, buf, sizeof buf);
            if (n == 0 || (n < 0 && errno == ECONNRESET)) {
                return true;
            }
        }
    }
    return false;
}

TEST(net_mesh, strangers_and_garbage_are_refused)
{
    struct net_node_key stranger_key;
    struct net_mesh_stats before;
    struct net_mesh_stats s;
    uint8_t garbage[256];
    uint8_t frame[8] = "from 1";
    void *ctx;
    void *stranger;
    void *self_dialer;
    void *plain;
    uint32_t i;
    size_t k;
    int fd;

    fixture_init(N_MESH);
    for (i = 0; i < N_MESH; i++) {
        mesh_start(i, &fx.genesis);
    }
    wait_peers(N_MESH - 1);
    ctx = zmq_ctx_new();
    ASSERT_TRUE(ctx != NULL);

    /* Raw TCP garbage, first alone. A ZMTP 1.0 lookalike (first byte not
     * 0xff) is dropped by libzmq 4.3.4 without a handshake event; a broken
     * ZMTP 3 greeting is dropped and counted. */
    for (k = 0; k < sizeof garbage; k++) {
        garbage[k] = (uint8_t)(k * 7 + 1);
    }
    fd = tcp_connect(0);
    ASSERT_EQ(write(fd, garbage, sizeof garbage), (ssize_t)sizeof garbage);
    ASSERT_TRUE(wait_tcp_closed(fd));
    close(fd);
    before = stats_of(0);
    garbage[0] = 0xff;
    garbage[9] = 0x7f;
    fd = tcp_connect(0);
    ASSERT_EQ(write(fd, garbage, sizeof garbage), (ssize_t)sizeof garbage);
    ASSERT_TRUE(wait_tcp_closed(fd));
    close(fd);
    WAIT_STAT(0, handshake_failed, before.handshake_failed + 1);

    /* A CURVE client whose key is not in genesis: ZAP says 400, and the
     * ROUTER reports the failed handshake. */
    before = stats_of(0);
    key_generate(&stranger_key);
    stranger = curve_dealer(ctx, &stranger_key, 0, NULL);
    send_two(stranger, NET_KIND_CONSENSUS, "let me in", 9);
    WAIT_STAT(0, zap_denied, 1);
    WAIT_STAT(0, handshake_failed, before.handshake_failed + 1);

    /* Our own key is refused too (M2): the mesh never dials itself. */
    before = stats_of(0);
    self_dialer = curve_dealer(ctx, &fx.keys[0], 0, NULL);
    send_two(self_dialer, NET_KIND_CONSENSUS, "me", 2);
    WAIT_STAT(0, zap_denied, before.zap_denied + 1);

    /* A client without CURVE fails the handshake (mechanism mismatch). */
    before = stats_of(0);
    plain = socket_new(ctx, ZMQ_DEALER);
    ASSERT_EQ(zmq_connect(plain, fx.listen[0]), 0);
    send_two(plain, NET_KIND_CONSENSUS, "plain", 5);
    WAIT_STAT(0, handshake_failed, before.handshake_failed + 1);

    /* The mesh still works, and nothing came from the intruders. */
    net_mesh_send(fx.mesh[1], 0, frame, sizeof frame);
    wait_inbox(0, 1, 1);
    s = stats_of(0);
    ASSERT_EQ(s.frames_in, 1u);
    ASSERT_EQ(s.dropped_bad, 0u);
    ASSERT_GE(s.zap_denied, 1u);
    ASSERT_EQ(s.zap_allowed, N_MESH - 1);
    for (i = 0; i < N_MESH; i++) {
        ASSERT_EQ(fx.inbox[0].count[i], i == 1 ? 1u : 0u);
    }
    ASSERT_EQ(net_mesh_peers(fx.mesh[0]), N_MESH - 1);

    zmq_close(stranger);
    zmq_close(self_dialer);
    zmq_close(plain);
    ASSERT_EQ(zmq_ctx_term(ctx), 0);
    fixture_fini();
}

struct mismatch_want {
    uint32_t foreign;
};

static bool mismatch_seen(const void *arg)
{
    uint32_t foreign = ((const struct mismatch_want *)arg)->foreign;
    uint32_t i;

    for (i = 0; i < N_MESH; i++) {
        uint32_t want_mismatched = i == foreign ? N_MESH - 1 : 1;
        uint32_t want_peers = i == foreign ? 0 : N_MESH - 2;

        if (net_mesh_mismatched(fx.mesh[i]) != want_mismatched ||
            net_mesh_peers(fx.mesh[i]) != want_peers) {
            return false;
        }
    }
    return true;
}

TEST(net_mesh, another_genesis_is_mismatched_both_ways)
{
    struct mismatch_want want = { .foreign = 3 };
    uint8_t frame[16] = "consensus";
    struct net_mesh_stats s;
    uint32_t i;

    fixture_init(N_MESH);
    for (i = 0; i < N_MESH; i++) {
        mesh_start(i, i == want.foreign ? &fx.foreign : &fx.genesis);
    }
    ASSERT_TRUE(wait_for(mismatch_seen, &want));

    /* Its DEALERs are up (the keys are in genesis), so its frames leave and
     * are dropped on arrival; the same the other way round. */
    for (i = 0; i < want.foreign; i++) {
        net_mesh_send(fx.mesh[want.foreign], i, frame, sizeof frame);
        net_mesh_send(fx.mesh[i], want.foreign, frame, sizeof frame);
        /* And the matched meshes still talk to each other. */
        net_mesh_send(fx.mesh[i], (i + 1) % want.foreign, frame, sizeof frame);
    }
    for (i = 0; i < want.foreign; i++) {
        WAIT_STAT(i, dropped_mismatch, 1);
        wait_inbox((i + 1) % want.foreign, i, 1);
    }
    WAIT_STAT(want.foreign, dropped_mismatch, want.foreign);
    for (i = 0; i < N_MESH; i++) {
        s = stats_of(i);
        ASSERT_EQ(fx.inbox[i].count[want.foreign], 0u);
        ASSERT_EQ(s.dropped_bad, 0u);
        if (i == want.foreign) {
            ASSERT_EQ(s.frames_in, 0u);
            ASSERT_EQ(s.dropped_mismatch, want.foreign);
        } else {
            ASSERT_EQ(s.frames_in, 1u);
            ASSERT_EQ(s.dropped_mismatch, 1u);
        }
    }
    fixture_fini();
}

TEST(net_mesh, oversize_and_empty_frames_are_not_sent)
{
    static uint8_t big[MAX_FRAME + 1];
    struct net_mesh_stats s;
    uint32_t i;

    fixture_init(N_MESH);
    for (i = 0; i < N_MESH; i++) {
        mesh_start(i, &fx.genesis);
    }
    wait_peers(N_MESH - 1);
    net_mesh_send(fx.mesh[0], 1, big, sizeof big);
    net_mesh_send(fx.mesh[0], 1, big, 0);
    net_mesh_send(fx.mesh[0], 1, big, MAX_FRAME);
    wait_inbox(1, 0, 1);
    s = stats_of(0);
    ASSERT_EQ(s.dropped_bad, 2u);
    ASSERT_EQ(s.frames_out, 1u);
    ASSERT_EQ(fx.inbox[1].last_len[0], (size_t)MAX_FRAME);
    fixture_fini();
}

/* The event part of the next monitor message, waiting up to the deadline
 * while the meshes are pumped. */
static bool wait_monitor_event(void *monitor, uint16_t want)
{
    uint64_t deadline = now_ms() + DEADLINE_MS;
    uint8_t buf[64];
    uint16_t event;
    int more;
    size_t more_size = sizeof more;

    while (now_ms() < deadline) {
        pump(PUMP_MS);
        while (zmq_recv(monitor, buf, sizeof buf, ZMQ_DONTWAIT) >= 6) {
            memcpy(&event, buf, sizeof event);
            ASSERT_EQ(zmq_getsockopt(monitor, ZMQ_RCVMORE, &more, &more_size),
                      0);
            ASSERT_TRUE(more);
            ASSERT_TRUE(zmq_recv(monitor, buf, sizeof buf, 0) >= 0);
            if (event == want) {
                return true;
            }
        }
    }
    return false;
}

static void hello_body(uint8_t *body,
                       const struct seq_hash *hash,
                       uint32_t index)
{
    memcpy(body, hash->bytes, SEQ_HASH_LEN);
    body[SEQ_HASH_LEN] = (uint8_t)(index >> 24);
    body[SEQ_HASH_LEN + 1] = (uint8_t)(index >> 16);
    body[SEQ_HASH_LEN + 2] = (uint8_t)(index >> 8);
    body[SEQ_HASH_LEN + 3] = (uint8_t)index;
}

TEST(net_mesh, garbage_from_an_authenticated_peer_is_dropped)
{
    static uint8_t big[MAX_FRAME + 4096];
    uint8_t hello[SEQ_HASH_LEN + 4];
    uint8_t liar[SEQ_HASH_LEN + 4];
    uint8_t consensus = NET_KIND_CONSENSUS;
    uint8_t two_byte_kind[2] = { NET_KIND_CONSENSUS, 0 };
    uint8_t unknown = 9;
    const void *ten_data[10];
    size_t ten_len[10];
    uint64_t bad = 0;
    struct net_mesh_stats s;
    void *ctx;
    void *raw;
    void *monitor;
    uint32_t i;

    fixture_init(N_SLOTS);
    for (i = 0; i < N_MESH; i++) {
        mesh_start(i, &fx.genesis);
    }
    wait_peers(N_MESH - 1); /* Slot 4 is down: nobody listens there. */
    hello_body(hello, &fx.genesis.hash, RAW_SLOT);
    hello_body(liar, &fx.genesis.hash, 2);
    ctx = zmq_ctx_new();
    ASSERT_TRUE(ctx != NULL);
    raw = curve_dealer(ctx, &fx.keys[RAW_SLOT], 0, NULL);

    /* In order on one connection, so all are judged before "ok". */
    send_two(raw, NET_KIND_CONSENSUS, "early", 5); /* before its hello */
    bad++;
    send_two(raw, NET_KIND_HELLO, hello, sizeof hello);
    send_parts(raw, 1, (const void *[]){ &consensus }, (size_t[]){ 1 });
    bad++;
    send_parts(raw, 1, (const void *[]){ "" }, (size_t[]){ 0 });
    bad++;
    send_parts(raw, 3, (const void *[]){ &consensus, "a", "b" },
               (size_t[]){ 1, 1, 1 });
    bad++;
    for (i = 0; i < 10; i++) {
        ten_data[i] = i == 0 ? (const void *)&consensus : "x";
        ten_len[i] = 1;
    }
    send_parts(raw, 10, ten_data, ten_len);
    bad++;
    send_parts(raw, 2, (const void *[]){ "", "x" }, (size_t[]){ 0, 1 });
    bad++;
    send_parts(raw, 2, (const void *[]){ two_byte_kind, "x" },
               (size_t[]){ 2, 1 });
    bad++;
    send_two(raw, unknown, "x", 1);
    bad++;
    send_two(raw, NET_KIND_HELLO, hello, sizeof hello - 1);
    bad++;
    send_two(raw, NET_KIND_HELLO, liar, sizeof liar); /* claims slot 2 */
    bad++;
    send_two(raw, NET_KIND_CONSENSUS, "", 0);
    bad++;
    send_two(raw, NET_KIND_CONSENSUS, big, MAX_FRAME + 1); /* within slack */
    bad++;
    send_two(raw, NET_KIND_CONSENSUS, "ok", 2);
    wait_inbox(0, RAW_SLOT, 1);
    s = stats_of(0);
    ASSERT_EQ(s.dropped_bad, bad);
    ASSERT_EQ(s.frames_in, 1u);
    ASSERT_EQ(fx.inbox[0].last_len[RAW_SLOT], 2u);
    ASSERT_MEMEQ(fx.inbox[0].last[RAW_SLOT], "ok", 2);
    zmq_close(raw);

    /* A part beyond ZMQ_MAXMSGSIZE: libzmq drops the connection. */
    raw = curve_dealer(ctx, &fx.keys[RAW_SLOT], 0, &monitor);
    send_two(raw, NET_KIND_HELLO, hello, sizeof hello);
    send_two(raw, NET_KIND_CONSENSUS, big, sizeof big);
    ASSERT_TRUE(wait_monitor_event(monitor, ZMQ_EVENT_DISCONNECTED));
    net_mesh_send(fx.mesh[1], 0, (const uint8_t *)"still", 5);
    wait_inbox(0, 1, 1);
    s = stats_of(0);
    ASSERT_EQ(fx.inbox[0].count[RAW_SLOT], 1u);
    ASSERT_EQ(s.frames_in, 2u);
    ASSERT_EQ(s.dropped_bad, bad);

    zmq_close(raw);
    zmq_close(monitor);
    ASSERT_EQ(zmq_ctx_term(ctx), 0);
    fixture_fini();
}

static bool reopened(const void *arg)
{
    uint32_t i = *(const uint32_t *)arg;
    char errmsg[SEQ_ERRMSG_LEN];

    /* The old listener closes in libzmq's I/O thread: until then the port
     * is still taken and the open fails with SEQ_EIO. */
    return fx.mesh[i] != NULL ||
           mesh_open_with(i, &fx.genesis, &fx.mesh[i], errmsg) == 0;
}

TEST(net_mesh, a_peer_that_restarts_is_reconnected_and_rehelloed)
{
    uint8_t frame[8] = "hi";
    uint32_t restarting = 2;
    struct net_mesh_stats before[N_MESH];
    uint32_t i;

    fixture_init(N_MESH);
    for (i = 0; i < N_MESH; i++) {
        mesh_start(i, &fx.genesis);
    }
    wait_peers(N_MESH - 1);
    for (i = 0; i < N_MESH; i++) {
        before[i] = stats_of(i);
    }

    /* Reopened in the same context: the ZAP endpoint must be free again. */
    net_mesh_close(fx.mesh[restarting]);
    fx.mesh[restarting] = NULL;
    for (i = 0; i < N_MESH; i++) {
        if (i != restarting) {
            fx.inbox[i].count[restarting] = 0;
        }
    }
    wait_peers(N_MESH - 2);
    ASSERT_TRUE(wait_for(reopened, &restarting));
    wait_peers(N_MESH - 1);

    for (i = 0; i < N_MESH; i++) {
        if (i == restarting) {
            continue;
        }
        /* Each side authenticated the other's new connection anew. */
        ASSERT_GT(stats_of(i).zap_allowed, before[i].zap_allowed);
        net_mesh_send(fx.mesh[restarting], i, frame, sizeof frame);
        net_mesh_send(fx.mesh[i], restarting, frame, sizeof frame);
    }
    for (i = 0; i < N_MESH; i++) {
        if (i != restarting) {
            wait_inbox(i, restarting, 1);
            wait_inbox(restarting, i, 1);
        }
    }
    for (i = 0; i < N_MESH; i++) {
        ASSERT_EQ(stats_of(i).dropped_bad, 0u);
        ASSERT_EQ(stats_of(i).dropped_mismatch, 0u);
    }
    fixture_fini();
}

TEST(net_mesh, open_refuses_bad_configs_and_cleans_up)
{
    struct net_mesh *mesh = NULL;
    struct net_mesh *second = NULL;
    char errmsg[SEQ_ERRMSG_LEN];
    struct net_mesh_config config;
    void *other_ctx;

    fixture_init(N_MESH);
    fx.ctx[0] = zmq_ctx_new();
    ASSERT_TRUE(fx.ctx[0] != NULL);
    config = (struct net_mesh_config){
        .zmq_ctx = fx.ctx[0],
        .genesis = &fx.genesis,
        .self = 0,
        .node_key = &fx.keys[0],
        .listen = fx.listen[0],
        .max_frame = MAX_FRAME,
        .queue_limit = QUEUE_LIMIT,
    };

    config.self = N_MESH;
    ASSERT_ERR(net_mesh_open(&config, &mesh, errmsg), SEQ_EINVAL);
    config.self = 1; /* Our key is validator 0's. */
    ASSERT_ERR(net_mesh_open(&config, &mesh, errmsg), SEQ_EINVAL);
    config.self = 0;
    config.queue_limit = 0;
    ASSERT_ERR(net_mesh_open(&config, &mesh, errmsg), SEQ_EINVAL);
    config.queue_limit = QUEUE_LIMIT;
    config.max_frame = 0;
    ASSERT_ERR(net_mesh_open(&config, &mesh, errmsg), SEQ_EINVAL);
    config.max_frame = MAX_FRAME;
    config.listen = "nonsense";
    ASSERT_ERR(net_mesh_open(&config, &mesh, errmsg), SEQ_EINVAL);
    config.listen = fx.listen[0];
    ASSERT_TRUE(mesh == NULL);

    seq_alloc_fail_at(1, 0);
    ASSERT_ERR(net_mesh_open(&config, &mesh, errmsg), SEQ_ENOMEM);
    seq_alloc_fail_at(0, 0);
    ASSERT_TRUE(mesh == NULL);

    /* Every failure above left the context and the port free. */
    ASSERT_OK(net_mesh_open(&config, &mesh, errmsg));
    ASSERT_ERR(net_mesh_open(&config, &second, errmsg), SEQ_EIO);
    ASSERT_TRUE(strstr(errmsg, "one mesh per context") != NULL);
    other_ctx = zmq_ctx_new();
    ASSERT_TRUE(other_ctx != NULL);
    config.zmq_ctx = other_ctx;
    ASSERT_ERR(net_mesh_open(&config, &second, errmsg), SEQ_EIO);
    ASSERT_TRUE(strstr(errmsg, "in use") != NULL);
    ASSERT_TRUE(second == NULL);
    ASSERT_EQ(zmq_ctx_term(other_ctx), 0);
    net_mesh_close(mesh);
    net_mesh_close(NULL);
    ASSERT_EQ(zmq_ctx_term(fx.ctx[0]), 0);
    fx.ctx[0] = NULL;
}

TEST_MAIN()
