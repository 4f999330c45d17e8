/* A running validator: the home directory loaded and checked, the RocksDB
 * store recovered, the consensus core, the validator mesh, the client
 * socket and the HTTP server, all driven by one loop on one thread
 * (DESIGN §3, "the driver's loop turn"): poll, read the clock once, feed
 * the core, sync the store once, then flush the outbox. */

#ifndef SEQ_NET_NET_NODE_H
#define SEQ_NET_NET_NODE_H

#include <signal.h>

struct net_node_options {
    const char *home;      /* Home directory (DESIGN §8). */
    const char *log_level; /* Overrides config.toml when not NULL. */
    const char *log_format;
};

/* Run the node until *@stop becomes non-zero (set it from a SIGTERM or
 * SIGINT handler): the current turn finishes, its sync completes, sockets
 * close, and the call returns. Returns the process exit status: 0 after a
 * clean stop, 1 when the node refused to start or had to stop (genesis
 * mismatch with its peers, corrupt or missing safety state, a key that is
 * not in the validator set, a store that cannot sync); the reason is
 * logged. */
int net_node_run(const struct net_node_options *options,
                 volatile sig_atomic_t *stop);

#endif /* SEQ_NET_NET_NODE_H */
