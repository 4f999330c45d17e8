/* The validator mesh (DESIGN §7): one ROUTER that every other validator's
 * DEALER connects to, one DEALER to every other validator, and the ZAP
 * handler that decides, from genesis alone, who may connect and as which
 * validator. Frames only ever travel DEALER -> ROUTER, so every frame we
 * receive arrived on a connection our own ZAP handler authenticated, and
 * every frame we send goes to a server whose CURVE key genesis names. The
 * file has no thread: the ZAP handler and the socket monitors are served
 * from net_mesh_recv(), driven by the caller's zmq_poll(). */

/*********************** NOTES ON THE DESIGN OF THE MESH ***********************
 *
 * (M1) A frame's sender is the ZAP User-Id of the connection that carried
 *      it, which our handler sets to the validator index in decimal; nothing
 *      inside a frame can claim a sender. The ZAP endpoint is bound before
 *      the ROUTER, because libzmq 4.3 admits every CURVE client when no
 *      handler is bound. The endpoint is one per ZeroMQ context, so a context
 *      holds at most one mesh, and the handler refuses every request that
 *      is not ours (another domain or mechanism).
 * (M2) The handler admits a CURVE key iff it is the node_key of a genesis
 *      validator other than ourselves. Our own key is refused: the mesh never
 *      connects to itself, so a connection bearing our key comes from a
 *      copied home directory or a stolen key, and refusing it gives callers
 *      from != self for free.
 * (M3) Every connection starts with a hello. Our DEALER queues one as soon
 *      as its monitor reports HANDSHAKE_SUCCEEDED and queues nothing else on
 *      that link before it (the link is "up" only once the hello is queued).
 *      libzmq attaches the new pipe before it emits the event, and reading
 *      ZMQ_EVENTS makes the DEALER take the pipe, so the hello goes out on
 *      the new connection. ZeroMQ keeps order on a connection; hence a
 *      consensus frame is accepted only from a ROUTER connection that
 *      carried a hello matching our genesis. The last MESH_CONNS_PER_PEER
 *      connections of each validator are remembered with their verdicts,
 *      so that a second connection bearing a validator's key (a restarted
 *      process, a standby with a copied home) cannot cut the first one off.
 *      Frames on a connection whose hello named another genesis count as
 *      dropped_mismatch; on one without a hello, as dropped_bad.
 * (M4) A peer counts in net_mesh_peers() when our DEALER to it has completed
 *      a handshake since its last disconnect and its latest hello matched.
 *      A host that is gone is found by TCP, not by ZMTP heartbeats (M7):
 *      keepalives close an idle connection to it within about
 *      MESH_KEEPALIVE_IDLE_S + MESH_KEEPALIVE_CNT * MESH_KEEPALIVE_INTVL_S
 *      seconds, and ZMQ_TCP_MAXRT one with data unacknowledged for
 *      MESH_TCP_MAXRT_MS; a restarted process resets the old connection at
 *      once. A process that is alive but hung (SIGSTOP) still counts: its
 *      kernel keeps the connection, and what we send it waits in the queue
 *      (ZMQ_SNDHWM) or is dropped (M6). Inbound connections are not
 *      tracked: the ROUTER's monitor names file descriptors, not
 *      validators.
 * (M5) Every message is read to its last part, whatever its shape, so that
 *      a hostile message never leaves a socket in mid-message. What a peer
 *      can make us hold is bounded: ZMQ_MAXMSGSIZE per part on the ROUTER
 *      (max_frame plus MESH_WIRE_SLACK; a larger part makes libzmq drop the
 *      connection), ZMQ_RCVHWM = queue_limit messages per inbound
 *      connection, and on the DEALERs one message of at most
 *      MESH_WIRE_SLACK bytes. Nothing honest arrives on a DEALER; what
 *      does is read at every housekeeping (at most MESH_BURST messages per
 *      DEALER) and counted as dropped_bad, so that libzmq keeps reading the
 *      connection and a reset of it reaches the DEALER, which reconnects,
 *      instead of leaving a connection that nothing reads. (The
 *      parts of one message are not bounded: the high-water marks count
 *      messages, so a validator could still send one of very many parts.)
 *      Failed handshakes reach handshake_failed through the ROUTER's monitor;
 *      libzmq 4.3.4 closes a peer whose first byte is not 0xff (ZMTP 1.0,
 *      which it refuses when ZAP is on) without any event, so such
 *      connections are closed but not counted.
 * (M6) Nothing blocks. Sends and receives use ZMQ_DONTWAIT; a full or
 *      unconnected peer loses the frame (dropped_full). The monitor PAIRs
 *      and the ZAP socket are among the poll items, so their events wake the
 *      caller, whose next net_mesh_recv() serves them before it reads the
 *      ROUTER; a long burst of frames serves them every MESH_BURST frames.
 * (M7) No socket of the mesh sends ZMTP heartbeats: libzmq 4.3.4 aborts
 *      (zmq_assert (!_io_error) in stream_engine_base_t::out_event,
 *      zeromq/libzmq#4364) when a heartbeat timer fires on a connection
 *      whose input is stopped, because its pipe is full, and that then got
 *      an I/O error. Both ends could be driven there:
 *      - a ROUTER: a validator paused for longer than its peers'
 *        heartbeat timeout (SIGSTOP, a VM stall) wakes up to a full inbound
 *        pipe from each peer, whose connection the peer has meanwhile
 *        dropped. It did abort so, about one run in two of
 *        tests/cluster/test_http_limits.py.
 *      - a DEALER, at a Byzantine validator's will: its ROUTER sends two
 *        messages to our DEALER (RCVHWM 1), which fills the pipe, then
 *        resets the connection. Every honest validator aborted within a
 *        second (tests/cluster/test_byzantine_router.py), so one
 *        validator could stop the chain.
 *      TCP keepalives and ZMQ_TCP_MAXRT find a dead host instead (M4).
 ******************************************************************************/

#include "net_mesh.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "seq_alloc.h"
#include "seq_log.h"

#define MESH_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define MESH_ZAP_DOMAIN   "seq"
/* A CURVE request (RFC 27) past the envelope: version, request id, domain,
 * address, identity, mechanism, credentials (the client's public key). */
#define MESH_ZAP_PARTS 7
/* Room above max_frame for the CURVE message box (33 bytes) and for the
 * handshake commands, which pass the same ZMQ_MAXMSGSIZE check and are a
 * few hundred bytes: a tiny max_frame must not break the handshake. */
#define MESH_WIRE_SLACK           1024
#define MESH_HELLO_LEN            (SEQ_HASH_LEN + 4)
#define MESH_RID_MAX              255 /* Longest ZeroMQ routing id. */
#define MESH_RECONNECT_IVL_MS     100
#define MESH_RECONNECT_IVL_MAX_MS 500
#define MESH_CONNS_PER_PEER       4
#define MESH_HANDSHAKE_IVL_MS     3000
#define MESH_KEEPALIVE_IDLE_S     5 /* A dead host's idle connection */
#define MESH_KEEPALIVE_INTVL_S    1 /* is closed after about 10 s (M4). */
#define MESH_KEEPALIVE_CNT        5
#define MESH_TCP_MAXRT_MS         10000 /* Unacknowledged data (M4). */
#define MESH_BURST                64    /* Frames between housekeeping (M6). */
#define MESH_ENDPOINT_MAX         64
#define MESH_LOG                  "net"

enum mesh_link {
    LINK_DOWN = 1,      /* No completed handshake on our DEALER. */
    LINK_HELLO_PENDING, /* Handshake done; the hello is not queued yet. */
    LINK_UP,            /* Hello queued on the current connection (M3). */
};

enum mesh_hello {
    HELLO_NONE = 1,
    HELLO_MATCHED,
    HELLO_MISMATCHED,
};

struct mesh_conn {
    uint8_t rid[MESH_RID_MAX]; /* ROUTER routing id. */
    size_t rid_len;
    enum mesh_hello hello;
};

struct mesh_peer {
    void *dealer;  /* NULL for ourselves. */
    void *monitor; /* PAIR reading the DEALER's monitor events. */
    enum mesh_link link;
    bool refused; /* Its ZAP handler refused our key since the last up. */
    enum mesh_hello hello; /* Verdict of the latest hello. */
    /* (M3) Connections from this validator that carried a hello, with
     * each one's verdict: a ring of the most recent few. */
    struct mesh_conn conns[MESH_CONNS_PER_PEER];
    unsigned n_conns, next_conn;
};

struct net_mesh {
    const struct net_genesis *genesis;
    hs_node_t self;
    uint32_t n;
    size_t max_frame;
    void *router;
    void *router_monitor;
    void *zap;
    zmq_msg_t held; /* The body last handed up; valid while holding. */
    bool holding;
    unsigned burst; /* Frames handed up since the last housekeeping. */
    uint8_t hello[MESH_HELLO_LEN];
    struct net_mesh_stats stats;
    struct mesh_peer peers[HS_MAX_VALIDATORS];
};

/* Names the inproc endpoints of socket monitors. An endpoint outlives the
 * close of its socket for a moment (libzmq unbinds it from the reaper
 * thread), so names are never reused within the process. */
static atomic_ulong mesh_monitor_serial;

static void errmsg_set(char *errmsg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void errmsg_set(char *errmsg, const char *fmt, ...)
{
    va_list ap;

    if (errmsg == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(errmsg, SEQ_ERRMSG_LEN, fmt, ap);
    va_end(ap);
}

/* The boundary: zmq_errno() becomes SEQ_EIO plus a message. */
static int zmq_failed(char *errmsg, const char *call, const char *what)
{
    int err = zmq_errno();

    errmsg_set(errmsg, "%s %s: %s", call, what, zmq_strerror(err));
    return SEQ_EIO;
}

/* bind and connect: a malformed endpoint is the caller's SEQ_EINVAL. */
static int endpoint_failed(char *errmsg, const char *call, const char *ep)
{
    int err = zmq_errno();

    errmsg_set(errmsg, "%s %s: %s", call, ep, zmq_strerror(err));
    if (err == EINVAL || err == EPROTONOSUPPORT || err == ENOCOMPATPROTO) {
        return SEQ_EINVAL;
    }
    return SEQ_EIO;
}

static bool string_ok(const char *s, size_t max)
{
    return s != NULL && s[0] != '\0' && memchr(s, '\0', max) != NULL;
}

static int config_check(const struct net_mesh_config *config, char *errmsg)
{
    const struct net_genesis *g = config->genesis;
    uint32_t i;
    uint32_t j;

    if (config->zmq_ctx == NULL || g == NULL || config->node_key == NULL ||
        !string_ok(config->listen, NET_ADDR_MAX)) {
        errmsg_set(errmsg, "mesh: context, genesis, key or listen missing");
        return SEQ_EINVAL;
    }
    if (g->n_validators < 1 || g->n_validators > HS_MAX_VALIDATORS ||
        config->self >= g->n_validators) {
        errmsg_set(errmsg, "mesh: index %u in a genesis of %u validators",
                   config->self, g->n_validators);
        return SEQ_EINVAL;
    }
    if (config->max_frame == 0 ||
        (uint64_t)config->max_frame > (uint64_t)INT64_MAX - MESH_WIRE_SLACK ||
        config->queue_limit < 1) {
        errmsg_set(errmsg, "mesh: max_frame %zu or queue_limit %d invalid",
                   config->max_frame, config->queue_limit);
        return SEQ_EINVAL;
    }
    if (memcmp(config->node_key->public_key,
               g->validators[config->self].node_key, NET_CURVE_KEY_LEN) != 0) {
        errmsg_set(errmsg,
                   "mesh: our node key is not validator %u's in genesis",
                   config->self);
        return SEQ_EINVAL;
    }
    for (i = 0; i < g->n_validators; i++) {
        if (!string_ok(g->validators[i].p2p, NET_ADDR_MAX)) {
            errmsg_set(errmsg, "mesh: validator %u has no p2p address", i);
            return SEQ_EINVAL;
        }
        /* (M1) needs one index per key. */
        for (j = 0; j < i; j++) {
            if (memcmp(g->validators[i].node_key, g->validators[j].node_key,
                       NET_CURVE_KEY_LEN) == 0) {
                errmsg_set(errmsg, "mesh: validators %u and %u share a key", j,
                           i);
                return SEQ_EINVAL;
            }
        }
    }
    return SEQ_OK;
}

struct mesh_opt {
    int option;
    const char *name;
    const void *value;
    size_t len;
};

static int opts_set(void *socket,
                    const struct mesh_opt *opts,
                    size_t n,
                    char *errmsg)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (zmq_setsockopt(socket, opts[i].option, opts[i].value,
                           opts[i].len) != 0) {
            return zmq_failed(errmsg, "zmq_setsockopt", opts[i].name);
        }
    }
    return SEQ_OK;
}

/* What finds a dead host, on every mesh socket instead of ZMTP heartbeats
 * (M4, M7). */
static int tcp_opts_set(void *socket, char *errmsg)
{
    static const int one = 1;
    static const int idle = MESH_KEEPALIVE_IDLE_S;
    static const int intvl = MESH_KEEPALIVE_INTVL_S;
    static const int cnt = MESH_KEEPALIVE_CNT;
    static const int maxrt = MESH_TCP_MAXRT_MS;
    static const struct mesh_opt opts[] = {
        { ZMQ_TCP_KEEPALIVE, "ZMQ_TCP_KEEPALIVE", &one, sizeof one },
        { ZMQ_TCP_KEEPALIVE_IDLE, "ZMQ_TCP_KEEPALIVE_IDLE", &idle,
          sizeof idle },
        { ZMQ_TCP_KEEPALIVE_INTVL, "ZMQ_TCP_KEEPALIVE_INTVL", &intvl,
          sizeof intvl },
        { ZMQ_TCP_KEEPALIVE_CNT, "ZMQ_TCP_KEEPALIVE_CNT", &cnt, sizeof cnt },
        { ZMQ_TCP_MAXRT, "ZMQ_TCP_MAXRT", &maxrt, sizeof maxrt },
    };

    return opts_set(socket, opts, sizeof opts / sizeof opts[0], errmsg);
}

static void socket_close(void **socket)
{
    if (*socket != NULL) {
        zmq_close(*socket);
        *socket = NULL;
    }
}

/* Starts monitoring @socket for @events and connects a PAIR to the monitor:
 * on success *out reads the events (monitor_next()). Call it before the
 * socket binds or connects, so that no event is missed. */
static int monitor_open(void *ctx,
                        void *socket,
                        int events,
                        void **out,
                        char *errmsg)
{
    char endpoint[MESH_ENDPOINT_MAX];
    int linger = 0;
    void *pair;
    int rv;

    snprintf(endpoint, sizeof endpoint, "inproc://seq-mesh-monitor-%lu",
             atomic_fetch_add(&mesh_monitor_serial, 1));
    if (zmq_socket_monitor(socket, endpoint, events) != 0) {
        rv = zmq_failed(errmsg, "zmq_socket_monitor", endpoint);
        goto err;
    }
    pair = zmq_socket(ctx, ZMQ_PAIR);
    if (pair == NULL) {
        rv = zmq_failed(errmsg, "zmq_socket", "monitor");
        goto err_after_monitor;
    }
    if (zmq_setsockopt(pair, ZMQ_LINGER, &linger, sizeof linger) != 0) {
        rv = zmq_failed(errmsg, "zmq_setsockopt", "ZMQ_LINGER");
        goto err_after_pair;
    }
    if (zmq_connect(pair, endpoint) != 0) {
        rv = zmq_failed(errmsg, "zmq_connect", endpoint);
        goto err_after_pair;
    }
    *out = pair;
    return SEQ_OK;

err_after_pair:
    zmq_close(pair);
err_after_monitor:
    zmq_socket_monitor(socket, NULL, 0);
err:
    return rv;
}

/* (M1) First the ZAP handler, so that no CURVE client is ever admitted
 * without it. */
static int zap_open(struct net_mesh *mesh, void *ctx, char *errmsg)
{
    int linger = 0;
    bool in_use;
    void *zap;
    int rv;

    zap = zmq_socket(ctx, ZMQ_REP);
    if (zap == NULL) {
        rv = zmq_failed(errmsg, "zmq_socket", "ZAP handler");
        goto err;
    }
    if (zmq_setsockopt(zap, ZMQ_LINGER, &linger, sizeof linger) != 0) {
        rv = zmq_failed(errmsg, "zmq_setsockopt", "ZMQ_LINGER");
        goto err_after_socket;
    }
    if (zmq_bind(zap, MESH_ZAP_ENDPOINT) != 0) {
        in_use = zmq_errno() == EADDRINUSE;
        rv = zmq_failed(errmsg, "zmq_bind", MESH_ZAP_ENDPOINT);
        if (in_use) {
            errmsg_set(errmsg,
                       "mesh: this ZeroMQ context already has a ZAP "
                       "handler (one mesh per context)");
        }
        goto err_after_socket;
    }
    mesh->zap = zap;
    return SEQ_OK;

err_after_socket:
    zmq_close(zap);
err:
    return rv;
}

/* The endpoint is unbound now, not when the reaper gets to the socket, so
 * that the context can host a new mesh at once. */
static void zap_close(struct net_mesh *mesh)
{
    if (mesh->zap != NULL) {
        zmq_unbind(mesh->zap, MESH_ZAP_ENDPOINT);
        socket_close(&mesh->zap);
    }
}

static int router_open(struct net_mesh *mesh,
                       const struct net_mesh_config *config,
                       char *errmsg)
{
    int64_t max_msg = (int64_t)(config->max_frame + MESH_WIRE_SLACK);
    int zero = 0;
    int one = 1;
    int handshake = MESH_HANDSHAKE_IVL_MS;
    const struct mesh_opt opts[] = {
        { ZMQ_LINGER, "ZMQ_LINGER", &zero, sizeof zero },
        { ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER", &one, sizeof one },
        { ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY",
          config->node_key->secret_key, NET_CURVE_KEY_LEN },
        { ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN", MESH_ZAP_DOMAIN,
          strlen(MESH_ZAP_DOMAIN) },
        { ZMQ_MAXMSGSIZE, "ZMQ_MAXMSGSIZE", &max_msg, sizeof max_msg },
        { ZMQ_RCVHWM, "ZMQ_RCVHWM", &config->queue_limit,
          sizeof config->queue_limit },
        /* A stranger may hold a connection (and the frame it is sending)
         * only this long before it has authenticated. */
        { ZMQ_HANDSHAKE_IVL, "ZMQ_HANDSHAKE_IVL", &handshake,
          sizeof handshake },
    };
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    void *router;
    int rv;

    router = zmq_socket(config->zmq_ctx, ZMQ_ROUTER);
    if (router == NULL) {
        rv = zmq_failed(errmsg, "zmq_socket", "ROUTER");
        goto err;
    }
    rv = opts_set(router, opts, sizeof opts / sizeof opts[0], errmsg);
    if (rv == 0) {
        rv = tcp_opts_set(router, errmsg);
    }
    if (rv != 0) {
        goto err_after_socket;
    }
    rv = monitor_open(config->zmq_ctx, router, events, &mesh->router_monitor,
                      errmsg);
    if (rv != 0) {
        goto err_after_socket;
    }
    if (zmq_bind(router, config->listen) != 0) {
        rv = endpoint_failed(errmsg, "zmq_bind", config->listen);
        goto err_after_monitor;
    }
    mesh->router = router;
    return SEQ_OK;

err_after_monitor:
    socket_close(&mesh->router_monitor);
err_after_socket:
    zmq_close(router);
err:
    return rv;
}

static int peer_open(struct net_mesh *mesh,
                     const struct net_mesh_config *config,
                     hs_node_t index,
                     char *errmsg)
{
    const struct net_validator *v = &mesh->genesis->validators[index];
    struct mesh_peer *peer = &mesh->peers[index];
    int64_t max_msg = MESH_WIRE_SLACK; /* (M5): we never read DEALERs. */
    int zero = 0;
    int one = 1;
    int reconnect = MESH_RECONNECT_IVL_MS;
    int reconnect_max = MESH_RECONNECT_IVL_MAX_MS;
    const struct mesh_opt opts[] = {
        { ZMQ_LINGER, "ZMQ_LINGER", &zero, sizeof zero },
        { ZMQ_IMMEDIATE, "ZMQ_IMMEDIATE", &one, sizeof one },
        { ZMQ_SNDHWM, "ZMQ_SNDHWM", &config->queue_limit,
          sizeof config->queue_limit },
        { ZMQ_RCVHWM, "ZMQ_RCVHWM", &one, sizeof one },
        { ZMQ_MAXMSGSIZE, "ZMQ_MAXMSGSIZE", &max_msg, sizeof max_msg },
        { ZMQ_RECONNECT_IVL, "ZMQ_RECONNECT_IVL", &reconnect,
          sizeof reconnect },
        { ZMQ_RECONNECT_IVL_MAX, "ZMQ_RECONNECT_IVL_MAX", &reconnect_max,
          sizeof reconnect_max },
        { ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY", v->node_key,
          NET_CURVE_KEY_LEN },
        { ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY",
          config->node_key->public_key, NET_CURVE_KEY_LEN },
        { ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY",
          config->node_key->secret_key, NET_CURVE_KEY_LEN },
    };
    int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    void *dealer;
    int rv;

    dealer = zmq_socket(config->zmq_ctx, ZMQ_DEALER);
    if (dealer == NULL) {
        rv = zmq_failed(errmsg, "zmq_socket", "DEALER");
        goto err;
    }
    rv = opts_set(dealer, opts, sizeof opts / sizeof opts[0], errmsg);
    if (rv == 0) {
        rv = tcp_opts_set(dealer, errmsg);
    }
    if (rv != 0) {
        goto err_after_socket;
    }
    rv = monitor_open(config->zmq_ctx, dealer, events, &peer->monitor, errmsg);
    if (rv != 0) {
        goto err_after_socket;
    }
    if (zmq_connect(dealer, v->p2p) != 0) {
        rv = endpoint_failed(errmsg, "zmq_connect", v->p2p);
        goto err_after_monitor;
    }
    peer->dealer = dealer;
    return SEQ_OK;

err_after_monitor:
    socket_close(&peer->monitor);
err_after_socket:
    zmq_close(dealer);
err:
    return rv;
}

static void peers_close(struct net_mesh *mesh)
{
    uint32_t i;

    for (i = 0; i < mesh->n; i++) {
        socket_close(&mesh->peers[i].monitor);
        socket_close(&mesh->peers[i].dealer);
    }
}

int net_mesh_open(const struct net_mesh_config *config,
                  struct net_mesh **out,
                  char errmsg[SEQ_ERRMSG_LEN])
{
    struct net_mesh *mesh;
    uint32_t i;
    uint32_t self_be;
    int rv;

    assert(config != NULL);
    assert(out != NULL);

    rv = config_check(config, errmsg);
    if (rv != 0) {
        goto err;
    }
    mesh = seq_calloc(1, sizeof *mesh);
    if (mesh == NULL) {
        errmsg_set(errmsg, "mesh: out of memory");
        rv = SEQ_ENOMEM;
        goto err;
    }
    mesh->genesis = config->genesis;
    mesh->self = config->self;
    mesh->n = config->genesis->n_validators;
    mesh->max_frame = config->max_frame;
    memcpy(mesh->hello, config->genesis->hash.bytes, SEQ_HASH_LEN);
    self_be = config->self;
    mesh->hello[SEQ_HASH_LEN] = (uint8_t)(self_be >> 24);
    mesh->hello[SEQ_HASH_LEN + 1] = (uint8_t)(self_be >> 16);
    mesh->hello[SEQ_HASH_LEN + 2] = (uint8_t)(self_be >> 8);
    mesh->hello[SEQ_HASH_LEN + 3] = (uint8_t)self_be;
    for (i = 0; i < mesh->n; i++) {
        mesh->peers[i].link = LINK_DOWN;
        mesh->peers[i].hello = HELLO_NONE;
    }

    rv = zap_open(mesh, config->zmq_ctx, errmsg);
    if (rv != 0) {
        goto err_after_mesh;
    }
    rv = router_open(mesh, config, errmsg);
    if (rv != 0) {
        goto err_after_zap;
    }
    for (i = 0; i < mesh->n; i++) {
        if (i == mesh->self) {
            continue;
        }
        rv = peer_open(mesh, config, i, errmsg);
        if (rv != 0) {
            goto err_after_router;
        }
    }
    *out = mesh;
    return SEQ_OK;

err_after_router:
    peers_close(mesh);
    socket_close(&mesh->router_monitor);
    socket_close(&mesh->router);
err_after_zap:
    zap_close(mesh);
err_after_mesh:
    seq_free(mesh);
err:
    return rv;
}

void net_mesh_close(struct net_mesh *mesh)
{
    if (mesh == NULL) {
        return;
    }
    if (mesh->holding) {
        zmq_msg_close(&mesh->held);
    }
    peers_close(mesh);
    socket_close(&mesh->router_monitor);
    socket_close(&mesh->router);
    zap_close(mesh); /* After the ROUTER (M1). */
    seq_free(mesh);
}

size_t net_mesh_poll_items(struct net_mesh *mesh, zmq_pollitem_t *items)
{
    size_t k = 0;
    uint32_t i;

    assert(mesh != NULL);
    assert(items != NULL);

    items[k++] =
        (zmq_pollitem_t){ .socket = mesh->router, .events = ZMQ_POLLIN };
    items[k++] = (zmq_pollitem_t){ .socket = mesh->zap, .events = ZMQ_POLLIN };
    items[k++] = (zmq_pollitem_t){ .socket = mesh->router_monitor,
                                   .events = ZMQ_POLLIN };
    for (i = 0; i < mesh->n; i++) {
        if (mesh->peers[i].monitor != NULL) {
            items[k++] = (zmq_pollitem_t){ .socket = mesh->peers[i].monitor,
                                           .events = ZMQ_POLLIN };
        }
    }
    assert(k <= NET_MESH_POLL_MAX);
    return k;
}

/* Reads one whole message (M5): the first @max parts go to @parts (the
 * caller closes *n_kept of them), the rest are read and closed. Returns 0
 * when none was waiting, 1 for a whole message of *n_parts parts, and -1
 * when the socket failed in mid-message (a malformed message). */
static int recv_message(void *socket,
                        zmq_msg_t *parts,
                        size_t max,
                        size_t *n_kept,
                        size_t *n_parts)
{
    zmq_msg_t extra;
    zmq_msg_t *part;
    size_t kept = 0;
    size_t total = 0;
    int more = 1;

    while (more) {
        part = kept < max ? &parts[kept] : &extra;
        zmq_msg_init(part);
        if (zmq_msg_recv(part, socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(part);
            break;
        }
        total++;
        more = zmq_msg_more(part);
        if (part == &extra) {
            zmq_msg_close(&extra);
        } else {
            kept++;
        }
    }
    *n_kept = kept;
    *n_parts = total;
    if (total == 0) {
        return 0;
    }
    return more ? -1 : 1;
}

static void parts_close(zmq_msg_t *parts, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        zmq_msg_close(&parts[i]);
    }
}

static bool part_is(zmq_msg_t *part, const char *text)
{
    size_t len = strlen(text);

    return zmq_msg_size(part) == len &&
           memcmp(zmq_msg_data(part), text, len) == 0;
}

/* (M2) The verdict on one ZAP request: true and *index set to admit. */
static bool zap_admit(const struct net_mesh *mesh,
                      zmq_msg_t *parts,
                      size_t n_parts,
                      hs_node_t *index)
{
    const uint8_t *key;
    uint32_t i;

    if (n_parts != MESH_ZAP_PARTS || !part_is(&parts[0], "1.0") ||
        !part_is(&parts[2], MESH_ZAP_DOMAIN) || !part_is(&parts[5], "CURVE") ||
        zmq_msg_size(&parts[6]) != NET_CURVE_KEY_LEN) {
        return false;
    }
    key = zmq_msg_data(&parts[6]);
    for (i = 0; i < mesh->n; i++) {
        if (memcmp(mesh->genesis->validators[i].node_key, key,
                   NET_CURVE_KEY_LEN) == 0) {
            *index = i;
            return i != mesh->self;
        }
    }
    return false;
}

/* One reply (RFC 27): version, request id, status code, status text, user
 * id, metadata. The REP socket adds the envelope libzmq expects. */
/* @n_kept parts of the request were kept; @whole says they are all of it. */
static void zap_reply(struct net_mesh *mesh,
                      zmq_msg_t *parts,
                      size_t n_kept,
                      bool whole)
{
    char user_id[16] = "";
    const char *status = "400";
    const char *text = "not a validator";
    const void *request_id = "";
    size_t request_id_len = 0;
    hs_node_t index;
    int flags = ZMQ_SNDMORE | ZMQ_DONTWAIT;

    if (n_kept >= 2) {
        request_id = zmq_msg_data(&parts[1]);
        request_id_len = zmq_msg_size(&parts[1]);
    }
    if (whole && zap_admit(mesh, parts, n_kept, &index)) {
        snprintf(user_id, sizeof user_id, "%u", index);
        status = "200";
        text = "OK";
        mesh->stats.zap_allowed++;
    } else {
        mesh->stats.zap_denied++;
    }
    /* A REP send cannot hit a high-water mark (it drops a reply to a
     * vanished requester instead), so these never fail in practice. */
    if (zmq_send(mesh->zap, "1.0", 3, flags) < 0 ||
        zmq_send(mesh->zap, request_id, request_id_len, flags) < 0 ||
        zmq_send(mesh->zap, status, 3, flags) < 0 ||
        zmq_send(mesh->zap, text, strlen(text), flags) < 0 ||
        zmq_send(mesh->zap, user_id, strlen(user_id), flags) < 0 ||
        zmq_send(mesh->zap, "", 0, ZMQ_DONTWAIT) < 0) {
        SEQ_LOGW(MESH_LOG, "ZAP reply failed: %s", zmq_strerror(zmq_errno()));
    }
}

static void zap_serve(struct net_mesh *mesh)
{
    zmq_msg_t parts[MESH_ZAP_PARTS];
    size_t n_kept;
    size_t n_parts;
    int rc;

    for (;;) {
        rc = recv_message(mesh->zap, parts, MESH_ZAP_PARTS, &n_kept, &n_parts);
        if (rc == 0) {
            return;
        }
        zap_reply(mesh, parts, n_kept, rc > 0 && n_kept == n_parts);
        parts_close(parts, n_kept);
    }
}

/* The next event of a monitor PAIR: 1 and *event set (0 if unreadable), or
 * 0 when there is none. */
static int monitor_next(void *monitor, uint16_t *event)
{
    zmq_msg_t part;
    size_t n_kept;
    size_t n_parts;

    if (recv_message(monitor, &part, 1, &n_kept, &n_parts) == 0) {
        return 0;
    }
    *event = 0;
    if (n_kept == 1) {
        /* Part 1: the event (u16) then its value (u32), host order. */
        if (zmq_msg_size(&part) >= sizeof *event + sizeof(uint32_t)) {
            memcpy(event, zmq_msg_data(&part), sizeof *event);
        }
        zmq_msg_close(&part);
    }
    return 1;
}

static void log_peer(enum seq_log_level level,
                     hs_node_t index,
                     const char *text)
{
    char kv[32];

    snprintf(kv, sizeof kv, "peer=%u", index);
    seq_log(level, MESH_LOG, kv, "%s", text);
}

/* (M3) Reading ZMQ_EVENTS makes the DEALER process its pending commands,
 * among them the attach of the new connection's pipe, which libzmq issued
 * before the HANDSHAKE_SUCCEEDED event we reacted to. A failed send leaves
 * the link pending, to be retried on the next call. */
static void hello_send(struct net_mesh *mesh, hs_node_t index)
{
    struct mesh_peer *peer = &mesh->peers[index];
    uint8_t kind = NET_KIND_HELLO;
    int events;
    size_t size = sizeof events;

    zmq_getsockopt(peer->dealer, ZMQ_EVENTS, &events, &size);
    if (zmq_send(peer->dealer, &kind, 1, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(peer->dealer, mesh->hello, MESH_HELLO_LEN, ZMQ_DONTWAIT) < 0) {
        return; /* libzmq drops a partly sent message whole. */
    }
    peer->link = LINK_UP;
    log_peer(SEQ_LOG_INFO, index, "mesh link up");
}

static void peer_housekeeping(struct net_mesh *mesh, hs_node_t index)
{
    struct mesh_peer *peer = &mesh->peers[index];
    size_t n, n_kept, n_parts;
    uint16_t event;

    while (monitor_next(peer->monitor, &event) == 1) {
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            peer->link = LINK_HELLO_PENDING;
            peer->refused = false;
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            /* Once per episode: the DEALER retries every few seconds. */
            if (!peer->refused) {
                log_peer(SEQ_LOG_WARN, index, "peer refuses our node key");
            }
            peer->refused = true;
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            if (peer->link == LINK_UP) {
                log_peer(SEQ_LOG_INFO, index, "mesh link down");
            }
            peer->link = LINK_DOWN;
        }
    }
    if (peer->link == LINK_HELLO_PENDING) {
        hello_send(mesh, index);
    }
    /* (M5) Nothing honest arrives here. */
    for (n = 0; n < MESH_BURST; n++) {
        if (recv_message(peer->dealer, NULL, 0, &n_kept, &n_parts) == 0) {
            break;
        }
        mesh->stats.dropped_bad++;
    }
}

static void housekeeping(struct net_mesh *mesh)
{
    uint16_t event;
    uint32_t i;

    zap_serve(mesh);
    while (monitor_next(mesh->router_monitor, &event) == 1) {
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
            event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
            event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            mesh->stats.handshake_failed++;
        }
    }
    for (i = 0; i < mesh->n; i++) {
        if (i != mesh->self) {
            peer_housekeeping(mesh, i);
        }
    }
}

/* (M1) The validator ZAP authenticated for the connection that carried
 * @part: our handler wrote its index in canonical decimal. */
static bool sender_index(const struct net_mesh *mesh,
                         zmq_msg_t *part,
                         hs_node_t *out)
{
    const char *id = zmq_msg_gets(part, "User-Id");
    uint32_t value = 0;
    size_t i;

    if (id == NULL || id[0] == '\0' || (id[0] == '0' && id[1] != '\0')) {
        return false;
    }
    for (i = 0; id[i] != '\0'; i++) {
        if (i >= 3 || id[i] < '0' || id[i] > '9') {
            return false;
        }
        value = value * 10 + (uint32_t)(id[i] - '0');
    }
    if (value >= mesh->n || value == mesh->self) {
        return false;
    }
    *out = value;
    return true;
}

/* The connection @rid of @peer, if it carried a hello. */
static struct mesh_conn *conn_find(struct mesh_peer *peer, zmq_msg_t *rid)
{
    unsigned i;

    for (i = 0; i < peer->n_conns; i++) {
        struct mesh_conn *c = &peer->conns[i];
        if (c->rid_len == zmq_msg_size(rid) &&
            memcmp(c->rid, zmq_msg_data(rid), c->rid_len) == 0) {
            return c;
        }
    }
    return NULL;
}

static void hello_on(struct net_mesh *mesh,
                     hs_node_t from,
                     zmq_msg_t *rid,
                     zmq_msg_t *body)
{
    struct mesh_peer *peer = &mesh->peers[from];
    const uint8_t *b = zmq_msg_data(body);
    enum mesh_hello verdict = HELLO_MATCHED;
    struct mesh_conn *conn;
    uint32_t claimed;

    if (zmq_msg_size(body) != MESH_HELLO_LEN) {
        mesh->stats.dropped_bad++;
        return;
    }
    if (memcmp(b, mesh->genesis->hash.bytes, SEQ_HASH_LEN) != 0) {
        verdict = HELLO_MISMATCHED;
    } else {
        claimed = (uint32_t)b[SEQ_HASH_LEN] << 24 |
                  (uint32_t)b[SEQ_HASH_LEN + 1] << 16 |
                  (uint32_t)b[SEQ_HASH_LEN + 2] << 8 |
                  (uint32_t)b[SEQ_HASH_LEN + 3];
        if (claimed != from) {
            mesh->stats.dropped_bad++;
            return;
        }
    }
    if (verdict == HELLO_MISMATCHED && peer->hello != HELLO_MISMATCHED) {
        log_peer(SEQ_LOG_WARN, from, "peer has another genesis");
    } else if (verdict == HELLO_MATCHED && peer->hello != HELLO_MATCHED) {
        log_peer(SEQ_LOG_INFO, from, "peer hello matched");
    }
    peer->hello = verdict;
    conn = conn_find(peer, rid);
    if (conn == NULL) {
        conn = &peer->conns[peer->next_conn];
        peer->next_conn = (peer->next_conn + 1) % MESH_CONNS_PER_PEER;
        if (peer->n_conns < MESH_CONNS_PER_PEER) {
            peer->n_conns++;
        }
        conn->rid_len = zmq_msg_size(rid);
        memcpy(conn->rid, zmq_msg_data(rid), conn->rid_len);
    }
    conn->hello = verdict;
}

/* (M3) Whether a consensus frame from @from on connection @rid is handed
 * up; counts it when not. */
static bool consensus_admit(struct net_mesh *mesh,
                            hs_node_t from,
                            zmq_msg_t *rid,
                            zmq_msg_t *body)
{
    struct mesh_conn *conn = conn_find(&mesh->peers[from], rid);

    if (zmq_msg_size(body) == 0 || zmq_msg_size(body) > mesh->max_frame) {
        mesh->stats.dropped_bad++;
        return false;
    }
    if (conn == NULL) {
        mesh->stats.dropped_bad++; /* No hello on this connection. */
        return false;
    }
    if (conn->hello == HELLO_MISMATCHED) {
        mesh->stats.dropped_mismatch++;
        return false;
    }
    return true;
}

/* One message from the ROUTER: [routing id][kind][body]. Returns 1 with a
 * frame handed up, 0 when none was waiting, -1 when one was consumed (a
 * hello, or dropped and counted). */
static int router_recv(struct net_mesh *mesh,
                       hs_node_t *from,
                       const uint8_t **frame,
                       size_t *len)
{
    zmq_msg_t parts[3];
    size_t n_kept;
    size_t n_parts;
    hs_node_t index;
    int rv = -1;
    int rc;

    rc = recv_message(mesh->router, parts, 3, &n_kept, &n_parts);
    if (rc == 0) {
        return 0;
    }
    if (rc < 0 || n_parts != 3 || zmq_msg_size(&parts[0]) == 0 ||
        zmq_msg_size(&parts[0]) > MESH_RID_MAX ||
        zmq_msg_size(&parts[1]) != 1 ||
        !sender_index(mesh, &parts[1], &index)) {
        mesh->stats.dropped_bad++;
    } else if (*(const uint8_t *)zmq_msg_data(&parts[1]) == NET_KIND_HELLO) {
        hello_on(mesh, index, &parts[0], &parts[2]);
    } else if (*(const uint8_t *)zmq_msg_data(&parts[1]) !=
               NET_KIND_CONSENSUS) {
        mesh->stats.dropped_bad++;
    } else if (consensus_admit(mesh, index, &parts[0], &parts[2])) {
        zmq_msg_init(&mesh->held);
        zmq_msg_move(&mesh->held, &parts[2]);
        mesh->holding = true;
        mesh->stats.frames_in++;
        *from = index;
        *frame = zmq_msg_data(&mesh->held);
        *len = zmq_msg_size(&mesh->held);
        rv = 1;
    }
    parts_close(parts, n_kept);
    return rv;
}

int net_mesh_recv(struct net_mesh *mesh,
                  hs_node_t *from,
                  const uint8_t **frame,
                  size_t *len)
{
    int rc;

    assert(mesh != NULL);
    assert(from != NULL && frame != NULL && len != NULL);

    if (mesh->holding) {
        zmq_msg_close(&mesh->held);
        mesh->holding = false;
    }
    /* (M6) Once per drain, and every MESH_BURST frames within a long one. */
    if (mesh->burst == 0 || mesh->burst >= MESH_BURST) {
        housekeeping(mesh);
        mesh->burst = 0;
    }
    do {
        rc = router_recv(mesh, from, frame, len);
    } while (rc < 0);
    if (rc == 0) {
        mesh->burst = 0;
        return 0;
    }
    mesh->burst++;
    return 1;
}

void net_mesh_send(struct net_mesh *mesh,
                   hs_node_t to,
                   const uint8_t *frame,
                   size_t len)
{
    struct mesh_peer *peer;
    uint8_t kind = NET_KIND_CONSENSUS;

    assert(mesh != NULL);
    assert(to < mesh->n && to != mesh->self);
    assert(frame != NULL || len == 0);

    if (len == 0 || len > mesh->max_frame) {
        mesh->stats.dropped_bad++; /* The peer would drop it (M5). */
        return;
    }
    peer = &mesh->peers[to];
    peer_housekeeping(mesh, to); /* Never ahead of the hello (M3). */
    if (peer->link != LINK_UP ||
        zmq_send(peer->dealer, &kind, 1, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(peer->dealer, frame, len, ZMQ_DONTWAIT) < 0) {
        mesh->stats.dropped_full++;
        return;
    }
    mesh->stats.frames_out++;
}

uint32_t net_mesh_peers(const struct net_mesh *mesh)
{
    uint32_t count = 0;
    uint32_t i;

    assert(mesh != NULL);
    for (i = 0; i < mesh->n; i++) {
        if (mesh->peers[i].link == LINK_UP &&
            mesh->peers[i].hello == HELLO_MATCHED) {
            count++;
        }
    }
    return count;
}

uint32_t net_mesh_mismatched(const struct net_mesh *mesh)
{
    uint32_t count = 0;
    uint32_t i;

    assert(mesh != NULL);
    for (i = 0; i < mesh->n; i++) {
        if (mesh->peers[i].hello == HELLO_MISMATCHED) {
            count++;
        }
    }
    return count;
}

void net_mesh_stats(const struct net_mesh *mesh, struct net_mesh_stats *out)
{
    assert(mesh != NULL);
    assert(out != NULL);
    *out = mesh->stats;
}
