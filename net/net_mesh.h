/* The validator mesh (DESIGN §7): each node binds one ROUTER (CURVE
 * server) and connects one DEALER (CURVE client) to every other validator.
 * A ZAP handler, served from the node's own loop, admits only the CURVE
 * keys listed in genesis and names each connection by its validator index
 * (ZAP User-Id); a frame's sender is what ZAP authenticated, never what the
 * frame claims. We only ever receive on the ROUTER and send on the DEALERs;
 * whatever arrives on a DEALER is read, counted as dropped_bad and
 * discarded.
 *
 * Every ZeroMQ message is two parts: a kind byte and a body.
 *   NET_KIND_HELLO     body = genesis hash (32 bytes) || index (u32, BE).
 *                      Sent on every (re)connection. A peer whose genesis
 *                      differs is marked mismatched and its frames dropped.
 *   NET_KIND_CONSENSUS body = a proto/wire.h frame, handed up as is.
 * Anything else (wrong part count, unknown kind, oversize, a hello that
 * claims another index than ZAP authenticated) is dropped and counted.
 *
 * Threads: none of its own. The caller adds net_mesh_poll_items() to its
 * zmq_poll and then calls net_mesh_recv() until it returns 0. */

#ifndef SEQ_NET_NET_MESH_H
#define SEQ_NET_NET_MESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "hs_types.h"
#include "net_home.h"
#include "seq_err.h"

#define NET_KIND_HELLO     1
#define NET_KIND_CONSENSUS 2
/* ROUTER, ZAP handler, the ROUTER's monitor, and one monitor per DEALER
 * (at most HS_MAX_VALIDATORS - 1 of them). */
#define NET_MESH_POLL_MAX (3 + HS_MAX_VALIDATORS - 1)

struct net_mesh;

struct net_mesh_config {
    /* Kept. At most one mesh per context: the mesh owns the context's ZAP
     * endpoint and refuses other domains, so another CURVE server needs a
     * context of its own. */
    void *zmq_ctx;
    const struct net_genesis *genesis;   /* Kept; must outlive the mesh. */
    hs_node_t self;                      /* Our index in genesis. */
    const struct net_node_key *node_key; /* Copied. */
    const char *listen;                  /* tcp://host:port to bind. */
    size_t max_frame;                    /* Larger messages are dropped. */
    int queue_limit;                     /* Per-peer send HWM (messages). */
};

struct net_mesh_stats {
    uint64_t frames_in;        /* Consensus frames handed up. */
    uint64_t frames_out;       /* Consensus frames queued to peers. */
    uint64_t dropped_full;     /* Peer queue full or peer not connected. */
    uint64_t dropped_bad;      /* Malformed envelopes, unknown kinds,
                                * frames before a hello, frames over
                                * max_frame (also refused sends), any
                                * message on our DEALERs. */
    uint64_t dropped_mismatch; /* From peers with another genesis. */
    uint64_t zap_denied;       /* Connections refused by the ZAP handler. */
    uint64_t zap_allowed;
    uint64_t handshake_failed; /* Failed handshakes on our ROUTER (ZAP
                                * denials, non-CURVE or garbage peers). */
};

/* Bind, connect to every other validator, start serving ZAP. Returns 0,
 * SEQ_EIO (bind failed, e.g. port in use: @errmsg says so), SEQ_EINVAL or
 * SEQ_ENOMEM. */
int net_mesh_open(const struct net_mesh_config *config,
                  struct net_mesh **out,
                  char errmsg[SEQ_ERRMSG_LEN]);
void net_mesh_close(struct net_mesh *mesh); /* Linger 0. NULL is fine. */

/* Fill up to NET_MESH_POLL_MAX poll items; returns how many. */
size_t net_mesh_poll_items(struct net_mesh *mesh, zmq_pollitem_t *items);

/* Serve pending ZAP requests and take the next consensus frame, if any:
 * returns 1 with *from (authenticated index), *frame and *len set (the
 * frame is borrowed until the next call), or 0 when nothing is ready.
 * Never blocks. */
int net_mesh_recv(struct net_mesh *mesh,
                  hs_node_t *from,
                  const uint8_t **frame,
                  size_t *len);

/* Queue @frame (copied) to validator @to, which is not us (asserted).
 * Never blocks: a full or unconnected peer drops it (counted); consensus
 * tolerates loss. */
void net_mesh_send(struct net_mesh *mesh,
                   hs_node_t to,
                   const uint8_t *frame,
                   size_t len);

/* Peers whose hello matched our genesis and whose connection is up: our
 * DEALER to them has completed a handshake since it last disconnected. */
uint32_t net_mesh_peers(const struct net_mesh *mesh);
/* Peers that presented another genesis. */
uint32_t net_mesh_mismatched(const struct net_mesh *mesh);
void net_mesh_stats(const struct net_mesh *mesh, struct net_mesh_stats *out);

#endif /* SEQ_NET_NET_MESH_H */
