/* A validator's home directory (DESIGN §8): the genesis, the node's config,
 * its CURVE transport key and its secp256k1 validator key, and data/ (the
 * RocksDB database). This header is the one place that knows the file
 * formats; seqd's init, keygen and testnet write them, seqd start reads
 * them, and the cluster tests read testnet.json.
 *
 *   HOME/genesis.json            the network: chain name, epoch, timeouts,
 *                                validators (index, name, secp256k1 x-only
 *                                public key, CURVE public key, p2p address)
 *   HOME/config.toml             this node: listen addresses, log settings
 *   HOME/node_key.json           {"public_key": "<40 Z85>", "secret_key":
 *                                "<40 Z85>"}, the CURVE pair, mode 0600
 *   HOME/priv_validator_key.json {"pubkey": "<64 hex>", "seckey": "<64
 *                                hex>"}, secp256k1, mode 0600
 *   HOME/data/                   RocksDB
 *
 * genesis.json:
 *   { "chain_id": "seq-local", "genesis_time": "2026-11-21T06:00:00Z",
 *     "epoch": 0, "base_timeout_ms": 1000,
 *     "validators": [ { "index": 0, "name": "node0",
 *                       "pubkey": "<64 hex>", "node_key": "<40 Z85>",
 *                       "p2p": "tcp://127.0.0.1:26600" }, ... ],
 *     "namespaces": [ { "id": 1, "name": "rollup-1", "weight": 1,
 *                       "max_tx_size": 65536 }, ... ] }
 * Its genesis hash is SHA-256 of the file's exact bytes; it is the chain id
 * every signature is bound to, and peers compare it when they connect.
 *
 * Names and chain ids are 1-63 of [A-Za-z0-9._-]; genesis_time is UTC
 * RFC 3339 ending in Z; p2p addresses must be dialable (no * or 0.0.0.0).
 * "namespaces" (the rollups, DESIGN §5) is optional: absent means none, and
 * the writer leaves it out when there are none, so a genesis without
 * rollups has the same bytes (and hash) as before the member existed. Ids
 * are 1..2^63-1 and strictly ascending; names are unique; weight is
 * 1..NET_MAX_WEIGHT and max_tx_size 1..NET_MAX_TX_SIZE bytes.
 *
 * config.toml (INI-style TOML, read with libinih; values are quoted):
 *   [node]      moniker = "node0"
 *   [p2p]       listen = "tcp://127.0.0.1:26600"
 *   [rpc]       http = "127.0.0.1:26601"   client = "tcp://127.0.0.1:26602"
 *   [log]       level = "info"   format = "logfmt"
 *   [mempool]   max_pending_txs = "200000"
 *               max_pending_bytes = "268435456"
 *
 * testnet.json (written by seqd testnet next to the node homes):
 *   { "chain_id": "...", "genesis_hash": "<64 hex>", "validators": 4,
 *     "namespaces": [ { "id": 1, "name": "rollup-1" }, ... ],
 *     "nodes": [ { "index": 0, "name": "node0", "home": "/abs/node0",
 *                  "p2p": "tcp://127.0.0.1:26600",
 *                  "http": "http://127.0.0.1:26601",
 *                  "client": "tcp://127.0.0.1:26602" }, ... ] }
 *   "namespaces" is always there, empty when the genesis registers none. */

#ifndef SEQ_NET_NET_HOME_H
#define SEQ_NET_NET_HOME_H

#include <stdbool.h>
#include <stdint.h>

#include "hs_types.h"
#include "seq_err.h"
#include "seq_hash.h"

#define NET_NAME_MAX      64
#define NET_ADDR_MAX      128
#define NET_CURVE_KEY_LEN 32 /* Binary; 40 characters in Z85. */

struct net_validator {
    char name[NET_NAME_MAX];
    struct hs_pubkey pubkey;             /* secp256k1, x-only. */
    uint8_t node_key[NET_CURVE_KEY_LEN]; /* CURVE public key. */
    char p2p[NET_ADDR_MAX];              /* tcp://host:port */
};

/* A rollup registered in genesis (DESIGN §5). */
struct net_namespace {
    uint64_t id;             /* >= 1, unique, ascending in the file. */
    char name[NET_NAME_MAX]; /* NAME_RULE, unique. */
    uint32_t weight;         /* 1..NET_MAX_WEIGHT: share of capacity. */
    uint32_t max_tx_size;    /* 1..NET_MAX_TX_SIZE bytes of payload. */
};

#define NET_MAX_NAMESPACES 256
#define NET_MAX_TX_SIZE    (1u << 20)
#define NET_MAX_WEIGHT     1000000u

/* What seqd init and seqd testnet give a namespace they are not told
 * more about: an equal share, and room for any test or demo payload. */
#define NET_DEFAULT_WEIGHT      1u
#define NET_DEFAULT_MAX_TX_SIZE 65536u

struct net_genesis {
    char chain_id[NET_NAME_MAX];
    char genesis_time[NET_NAME_MAX];
    hs_epoch_t epoch;
    uint64_t base_timeout_ms;
    uint32_t n_validators;
    struct net_validator validators[HS_MAX_VALIDATORS];
    uint32_t n_namespaces; /* 0..NET_MAX_NAMESPACES */
    struct net_namespace namespaces[NET_MAX_NAMESPACES];
    struct seq_hash hash; /* SHA-256 of the file bytes (set by load). */
};

struct net_config {
    char moniker[NET_NAME_MAX];
    char p2p_listen[NET_ADDR_MAX];    /* tcp://host:port */
    char http_listen[NET_ADDR_MAX];   /* host:port */
    char client_listen[NET_ADDR_MAX]; /* tcp://host:port */
    char log_level[NET_ADDR_MAX];     /* seq_log_parse_levels syntax */
    char log_format[16];              /* "logfmt" or "json" */
    /* [mempool], decimal: admitted, not yet committed transactions and
     * their payload bytes; past either, submissions get "full" (429). */
    char mempool_max_txs[24];   /* 1..10000000, default 200000 */
    char mempool_max_bytes[24]; /* 1..2^36, default 268435456 */
};

struct net_node_key {
    uint8_t public_key[NET_CURVE_KEY_LEN];
    uint8_t secret_key[NET_CURVE_KEY_LEN];
};

struct net_validator_key {
    uint8_t seckey[32];
    struct hs_pubkey pubkey;
};

/* Loaders validate everything (lengths, hex/Z85, ranges, duplicate keys,
 * addresses or namespaces, 1..HS_MAX_VALIDATORS validators,
 * 0..NET_MAX_NAMESPACES namespaces) and return 0, SEQ_ENOTFOUND
 * (no such file), SEQ_EIO, SEQ_EINVAL (malformed; @errmsg names the file,
 * the field and what is wrong) or SEQ_ENOMEM. Writers create the file
 * atomically (temporary file, fsync, rename) and return 0 or SEQ_EIO. Key
 * files are written with mode 0600, and loading one that others can read
 * fails with SEQ_EINVAL. Writers validate first (SEQ_EINVAL, nothing
 * written) and may also return SEQ_ENOMEM. The *_generate calls return 0,
 * SEQ_EIO (no OS randomness) or SEQ_EINVAL. */
int net_genesis_load(const char *path,
                     struct net_genesis *out,
                     char errmsg[SEQ_ERRMSG_LEN]);
int net_genesis_write(const char *path,
                      const struct net_genesis *genesis,
                      char errmsg[SEQ_ERRMSG_LEN]);
int net_config_load(const char *path,
                    struct net_config *out,
                    char errmsg[SEQ_ERRMSG_LEN]);
int net_config_write(const char *path,
                     const struct net_config *config,
                     char errmsg[SEQ_ERRMSG_LEN]);
void net_config_defaults(struct net_config *out); /* Ports 26600-26602. */
int net_node_key_load(const char *path,
                      struct net_node_key *out,
                      char errmsg[SEQ_ERRMSG_LEN]);
int net_node_key_write(const char *path,
                       const struct net_node_key *key,
                       char errmsg[SEQ_ERRMSG_LEN]);
int net_node_key_generate(struct net_node_key *out); /* zmq_curve_keypair */
int net_validator_key_load(const char *path,
                           struct net_validator_key *out,
                           char errmsg[SEQ_ERRMSG_LEN]);
int net_validator_key_write(const char *path,
                            const struct net_validator_key *key,
                            char errmsg[SEQ_ERRMSG_LEN]);
int net_validator_key_generate(struct net_validator_key *out);

/* The validator set of @genesis for the consensus core, and this node's
 * index in it: 0 and *index set, or SEQ_ENOTFOUND when @pubkey is not a
 * validator. */
void net_genesis_validator_set(const struct net_genesis *genesis,
                               struct hs_validator_set *out);
int net_genesis_find(const struct net_genesis *genesis,
                     const struct hs_pubkey *pubkey,
                     hs_node_t *index);

/* The namespace @id of @genesis (borrowed from it), or NULL when the
 * genesis does not register @id. @genesis must hold its namespaces in
 * ascending id order, as every loaded or written genesis does: the lookup
 * is a binary search, cheap enough for every transaction admitted. */
const struct net_namespace *net_genesis_namespace(
    const struct net_genesis *genesis,
    uint64_t id);

#endif /* SEQ_NET_NET_HOME_H */
