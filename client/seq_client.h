/* libseqclient: what a rollup links to talk to the sequencer (DESIGN §5).
 *
 *   - Genesis: the one thing a client trusts (validator keys, epoch, chain
 *     id = SHA-256 of genesis.json's bytes, the registered namespaces).
 *   - Namespace blocks: one namespace's slice of one committed block with
 *     its proofs, in the protobuf form of proto/client.proto (the client
 *     port) and the JSON form of the HTTP API, both decoded into struct
 *     seqc_nsblock; validators use the same encoders to serve them.
 *   - Verification against the genesis validator set only: QC signatures
 *     (2f+1 distinct members, the genesis epoch, domain-separated vote
 *     digest), commit proof shape, header hashes, the namespace proof
 *     (presence with exactly these entries in this order, or absence), and
 *     continuity (no skipped height, parent links) across a stream.
 *   - A connection to a validator's client port (ZeroMQ DEALER): submit
 *     with acks, transaction status, and a credit-based subscription that a
 *     slow reader throttles instead of losing data.
 *
 * Depends on common/ (hashes, Merkle and namespace trees, seq_header), the
 * client protocol (proto/client.proto), libsecp256k1, jansson and libzmq;
 * never on validator code.
 *
 * Conventions: functions return 0 or a negative SEQ_E* code (seq_err.h);
 * where an errmsg buffer is taken, a failure writes one line saying what
 * was wrong. Every byte from a validator is untrusted: decoders bound every
 * count and length and fail with SEQ_EBADMSG, never crash. Outputs are set
 * only on success. A struct seqc_conn is used from one thread at a time. */

#ifndef SEQ_CLIENT_SEQ_CLIENT_H
#define SEQ_CLIENT_SEQ_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seq_err.h"
#include "seq_hash.h"
#include "seq_header.h"
#include "seq_nstree.h"

#define SEQC_MAX_VALIDATORS 64
#define SEQC_MAX_NAMESPACES 256
#define SEQC_NAME_MAX       64         /* Names, with their NUL. */
#define SEQC_MAX_CHAIN      1024       /* Headers in one commit proof. */
#define SEQC_MAX_ENTRIES    (1u << 20) /* Entries in one namespace block. */
#define SEQC_MAX_SUBMIT     4096       /* Transactions in one Submit. */
#define SEQC_MAX_MSG        (4u * 1024 * 1024) /* Client-port request. */
/* A reply (a namespace block can be as large as a block's payload). */
#define SEQC_MAX_REPLY   (32u * 1024 * 1024)
#define SEQC_MAX_CREDITS 1024 /* Outstanding subscription credits. */

/* ---- Genesis ------------------------------------------------------------ */

struct seqc_namespace {
    uint64_t id;
    char name[SEQC_NAME_MAX];
    uint32_t weight;
    uint32_t max_tx_size;
};

struct seqc_genesis {
    struct seq_hash chain_id; /* SHA-256 of the file's bytes. */
    char chain_name[SEQC_NAME_MAX];
    uint64_t epoch;
    uint32_t n_validators;                    /* 1..SEQC_MAX_VALIDATORS */
    uint8_t pubkeys[SEQC_MAX_VALIDATORS][32]; /* BIP-340 x-only keys. */
    uint32_t n_namespaces;
    struct seqc_namespace namespaces[SEQC_MAX_NAMESPACES];
};

/* Parses genesis.json's bytes (the format is in net/net_home.h; only
 * chain_id, epoch, validators[].pubkey and namespaces[] are read, the rest
 * is ignored). SEQ_EINVAL with errmsg for anything missing or malformed. */
int seqc_genesis_parse(const uint8_t *buf,
                       size_t len,
                       struct seqc_genesis *out,
                       char errmsg[SEQ_ERRMSG_LEN]);
/* Reads and parses a file; SEQ_EIO with errmsg if it cannot be read. */
int seqc_genesis_load(const char *path,
                      struct seqc_genesis *out,
                      char errmsg[SEQ_ERRMSG_LEN]);
/* The namespace with @id, or NULL. */
const struct seqc_namespace *seqc_genesis_namespace(
    const struct seqc_genesis *g,
    uint64_t id);
/* The namespace named @name, or with that decimal id; NULL if none. */
const struct seqc_namespace *seqc_genesis_namespace_by_name(
    const struct seqc_genesis *g,
    const char *name);

/* tx_hash = SHA-256(u64 big-endian namespace || payload). */
void seqc_tx_hash(uint64_t ns,
                  const uint8_t *payload,
                  size_t len,
                  struct seq_hash *out);

/* ---- Namespace blocks --------------------------------------------------- */

struct seqc_qc_sig {
    uint32_t signer;
    uint8_t sig[64];
};

struct seqc_qc {
    uint64_t epoch;
    uint64_t round;
    uint64_t height;
    struct seq_hash block_id;
    uint32_t n_sigs; /* 0..SEQC_MAX_VALIDATORS */
    struct seqc_qc_sig sigs[SEQC_MAX_VALIDATORS];
};

struct seqc_entry {
    struct seq_hash tx_hash; /* Recomputed by the decoders, never read. */
    uint8_t *payload;        /* Owned by the block. */
    size_t len;
};

struct seqc_nsblock {
    uint64_t ns;
    uint64_t height;
    struct seqc_entry *entries; /* Block order; owned. */
    size_t n_entries;
    bool present; /* Which proof: presence iff n_entries > 0. */
    struct seq_nstree_presence presence;
    struct seq_nstree_absence absence;
    /* Commit proof: chain[0] is the header at @height. */
    struct seq_header *chain; /* Owned; 1..SEQC_MAX_CHAIN. */
    size_t n_chain;
    struct seq_header child;
    struct seqc_qc child_qc;
};

/* Frees what @b owns (not @b) and zeroes it. NULL is fine. A block built
 * by hand (a validator serving one) owns the same parts the decoders give
 * it, each a separate seq_malloc block: every entries[i].payload, entries,
 * and chain. */
void seqc_nsblock_free(struct seqc_nsblock *b);

/* Protobuf NsBlock (proto/client.proto). encode returns *out owned
 * (free()) or SEQ_EINVAL (a bound exceeded) / SEQ_ENOMEM. decode:
 * SEQ_EBADMSG for anything malformed or out of bounds (hash lengths, counts,
 * kinds), SEQ_ENOMEM; on success @out owns its parts. */
int seqc_nsblock_encode(const struct seqc_nsblock *b,
                        uint8_t **out,
                        size_t *out_len);
int seqc_nsblock_decode(const uint8_t *buf,
                        size_t len,
                        struct seqc_nsblock *out);

/* JSON (the HTTP API; one line, no newline, returned owned, free()).
 * @chain_id (the genesis hash) gives the header's "hash"; NULL omits it:
 *   {"namespace": N, "height": H,
 *    "header": {header of chain[0], below, plus "hash": "<64 hex>"},
 *    "entries": [{"tx_hash": "<64 hex>", "payload": "<base64>"}, ...],
 *    "proof": {"kind": "presence"|"empty"|"below"|"between"|"above",
 *              "n_leaves": n, "merkle_root": "<hex>",
 *              "path": {"index": i, "n_leaves": n, "siblings": ["<hex>"]},
 *              "pred": {"ns_id": n, "entries_hash": "<hex>"},
 *              "pred_path": {...}, "succ": {...}, "succ_path": {...}},
 *    "commit_proof": {"chain": [header, ...], "child": header,
 *                     "child_qc": {"epoch": e, "round": r, "height": h,
 *                                  "block_id": "<hex>",
 *                                  "signatures": [{"signer": i,
 *                                                  "sig": "<128 hex>"}]}}}
 *   header = {"epoch", "round", "height", "parent_id", "justify_round",
 *             "author", "payload_hash", "ns_root"} (hashes in hex);
 * proof members a kind does not use are omitted. Integers are JSON
 * numbers (exact up to 2^53) or decimal strings; the encoder writes a
 * number up to 2^53 and a string above, the decoder accepts both.
 * to_json fails as encode does. The decoder ignores "hash" and "tx_hash"
 * (it recomputes them) and unknown members; it refuses a "header" that
 * differs from chain[0] and proof members the kind does not use (as the
 * protobuf decoder refuses a kind that disagrees with the entries, presence
 * iff there are some, or neighbours the kind does not use). SEQ_EBADMSG
 * with errmsg (may be NULL) otherwise, or SEQ_ENOMEM. */
int seqc_nsblock_to_json(const struct seqc_nsblock *b,
                         const struct seq_hash *chain_id,
                         char **out);
int seqc_nsblock_from_json(const char *text,
                           size_t len,
                           struct seqc_nsblock *out,
                           char errmsg[SEQ_ERRMSG_LEN]);

/* Checks @b against @g alone (no state): the child QC (epoch == genesis
 * epoch, block_id == id(child), round and height those of child, at least
 * 2f+1 = n - floor((n - 1) / 3) distinct signers below n, each a valid
 * BIP-340 signature of seq_vote_digest), the commit proof
 * (consecutive heights and parent links along chain, child.height =
 * last + 1, child.parent_id = id(last), child.round = last.round + 1,
 * child.justify_round = last.round, all in the genesis epoch, chain[0].height
 * == @b->height), and the namespace proof against chain[0].ns_root:
 * presence with the entries_hash of the entries' recomputed tx hashes, or,
 * with no entries, absence. 0, or SEQ_EBADMSG with errmsg. */
int seqc_verify(const struct seqc_genesis *g,
                const struct seqc_nsblock *b,
                char errmsg[SEQ_ERRMSG_LEN]);

/* A memory of QCs whose signatures all verified, for a caller that
 * follows several namespaces of one chain: the namespace blocks of one
 * height carry the same child QC, and so do heights one child commits
 * together, so all but the first skip the signature checks (most of the
 * cost of seqc_verify). An entry is a digest of exactly what was checked:
 * the vote digest (chain id, epoch, round, block id) and each signer's
 * genesis key and signature, so a QC with any signature, signer or key
 * changed never matches. Every other check runs each time. Zero it to
 * start; share it between the followers of one thread (it has no lock). */
#define SEQC_QC_CACHE 16
struct seqc_qc_cache {
    struct seq_hash ok[SEQC_QC_CACHE];
    uint32_t n, next;
    uint64_t hits; /* Signature checks skipped, for reports. */
};

/* Continuity across a stream of one namespace. Start it at the first
 * height wanted, and, when resuming, with the id of the last header
 * applied (has_prev). */
struct seqc_follow {
    uint64_t ns;
    uint64_t next_height;
    bool has_prev;
    struct seq_hash prev_id; /* id(chain[0]) of the last block accepted. */
    struct seqc_qc_cache *qc_cache; /* Optional (NULL: none), borrowed. */
};

/* seqc_verify (with f->qc_cache, if set), then: b->ns == f->ns, b->height
 * == f->next_height, and chain[0].parent_id == f->prev_id when has_prev.
 * On 0, @f advances (next height, prev id = id(chain[0])). SEQ_EBADMSG
 * with errmsg otherwise, @f unchanged. */
int seqc_follow_check(struct seqc_follow *f,
                      const struct seqc_genesis *g,
                      const struct seqc_nsblock *b,
                      char errmsg[SEQ_ERRMSG_LEN]);

/* id(chain[0]): the id of the block at b->height. */
void seqc_nsblock_block_id(const struct seqc_nsblock *b,
                           const struct seq_hash *chain_id,
                           struct seq_hash *out);

/* ---- Connection to a validator's client port --------------------------- */

struct seqc_conn; /* Opaque. */

struct seqc_tx {
    uint64_t ns;
    const uint8_t *payload; /* Borrowed. */
    size_t len;
};

enum seqc_tx_status {
    SEQC_TX_ACCEPTED = 0,
    SEQC_TX_PENDING = 1,
    SEQC_TX_COMMITTED = 2,
    SEQC_TX_UNKNOWN_NAMESPACE = 3,
    SEQC_TX_TOO_LARGE = 4,
    SEQC_TX_FULL = 5,
    SEQC_TX_MALFORMED = 6,
};

struct seqc_tx_result {
    struct seq_hash tx_hash;
    enum seqc_tx_status status;
};

/* Connects a DEALER to @endpoint ("tcp://host:port"). Returns 0,
 * SEQ_EINVAL (bad endpoint), SEQ_EIO, SEQ_ENOMEM. Connecting is
 * asynchronous: a dead endpoint shows up as timeouts. */
int seqc_connect(const char *endpoint, struct seqc_conn **out);
void seqc_close(struct seqc_conn *c); /* NULL is fine. */

/* Blocking submit of @n (1..SEQC_MAX_SUBMIT) transactions; waits up to
 * @timeout_ms for the ack. results[i] is for txs[i]. *retry_after_ms (may
 * be NULL) is set when some result is SEQC_TX_FULL. Returns 0, SEQ_ETIMEOUT,
 * SEQ_EINVAL, SEQ_EBADMSG (a bad reply), SEQ_EIO. */
int seqc_submit(struct seqc_conn *c,
                const struct seqc_tx *txs,
                size_t n,
                struct seqc_tx_result *results,
                uint32_t *retry_after_ms,
                int timeout_ms);

/* Asynchronous submit: sends and returns; the ack arrives through
 * seqc_recv with the same @request_id. Returns 0, SEQ_EAGAIN (the socket's
 * queue is full), SEQ_EINVAL, SEQ_EIO. */
int seqc_submit_async(struct seqc_conn *c,
                      uint64_t request_id,
                      const struct seqc_tx *txs,
                      size_t n);

/* Blocking status query. *state: 0 unknown, 1 pending, 2 committed (then
 * *height, *ns, *index set). */
int seqc_tx_query(struct seqc_conn *c,
                  const struct seq_hash *tx_hash,
                  int *state,
                  uint64_t *height,
                  uint64_t *ns,
                  uint64_t *index,
                  int timeout_ms);

/* Starts (or replaces) the subscription to @ns from @from_height with
 * @credits (1..SEQC_MAX_CREDITS). */
int seqc_subscribe(struct seqc_conn *c,
                   uint64_t ns,
                   uint64_t from_height,
                   uint32_t credits);
int seqc_credit(struct seqc_conn *c, uint32_t credits);

/* What seqc_recv got. */
enum seqc_reply_kind {
    SEQC_REPLY_ACK = 1,
    SEQC_REPLY_BLOCK,
    SEQC_REPLY_TX_STATUS,
    SEQC_REPLY_ERROR,
};

struct seqc_reply {
    enum seqc_reply_kind kind;
    uint64_t request_id;
    /* SEQC_REPLY_ACK: */
    struct seqc_tx_result *results; /* Owned; n_results of them. */
    size_t n_results;
    uint32_t retry_after_ms;
    /* SEQC_REPLY_BLOCK (decoded, NOT verified: call seqc_follow_check): */
    struct seqc_nsblock block;
    /* SEQC_REPLY_TX_STATUS: */
    int tx_state;
    uint64_t tx_height, tx_ns, tx_index;
    /* SEQC_REPLY_ERROR: */
    char error_code[32];
    char error_message[256];
};

void seqc_reply_free(struct seqc_reply *r); /* NULL is fine. */

/* Waits up to @timeout_ms (0: poll, -1: forever) for the next reply.
 * Returns 0 with *out filled (seqc_reply_free), SEQ_ETIMEOUT, SEQ_EBADMSG
 * (a reply that does not decode; it is dropped), SEQ_EIO. */
int seqc_recv(struct seqc_conn *c, struct seqc_reply *out, int timeout_ms);

/* The socket's file descriptor for poll(2) integration (ZMQ_FD: edge
 * triggered; call seqc_recv(…, 0) until SEQ_ETIMEOUT after it fires). */
int seqc_fd(struct seqc_conn *c);

#endif /* SEQ_CLIENT_SEQ_CLIENT_H */
