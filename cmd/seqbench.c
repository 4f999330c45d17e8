/* seqbench, the load generator (DESIGN §10): submits transactions with
 * unique payloads round-robin across the validators' client ports, open
 * loop at a target rate (or as fast as acks come back with --max), follows
 * every rollup's namespace on one validator with each block verified
 * against the genesis, and reports submitted, acked and committed tx/s
 * and the latency from submission to commit (the namespace block arrived)
 * and to delivery (the block passed verification).
 *
 * NOTES ON THE DESIGN
 *
 * (B1) Open loop: the schedule is rate x elapsed time on the monotonic
 *      clock and never waits for acks. When every connection's send queue
 *      is full the due transactions stay due (a "backlog" event); what is
 *      still due at the end is reported as behind schedule.
 * (B2) The subscriptions start after a probe transaction committed at
 *      height H0: every transaction of the run is submitted later, so it
 *      can only be in a block above H0, and following from H0 + 1 sees
 *      all of them (--from-height overrides).
 * (B3) Every transaction is in the table from the moment its message was
 *      queued, keyed by tx_hash: acks find it by request id and position,
 *      blocks by hash. A transaction in two blocks, or a block that fails
 *      verification, is a failure of the run (exit 1).
 * (B4) One thread, one poll(2) over every connection's ZMQ_FD. ZMQ_FD is
 *      edge-triggered, so every turn drains every connection with
 *      seqc_recv(…, 0) before sleeping, and sleeps at most a few ms.
 * (B5) Open-loop pacing by message: one leaves when --batch transactions
 *      are due, or when the first due one has waited --linger ms. Sending
 *      each transaction the moment it is due would make one-transaction
 *      messages above 1,000 tx/s, and a loop that never sleeps. */

#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seq_alloc.h"
#include "seq_client.h"
#include "seq_random.h"
#include "seqbench.h"
#include "seqctl_util.h"

#define PROG             "seqbench"
#define MAX_NODES        SEQC_MAX_VALIDATORS
#define SUB_CREDITS      256
#define TICK_MS          5
#define PROGRESS_US      1000000u
#define PROBE_TIMEOUT_MS 30000
#define MIN_SIZE         16 /* The run id and the counter. */
#define MSG_OVERHEAD     32 /* Per transaction in a Submit, generously. */

static const char usage_text[] =
    "usage: seqbench (--testnet FILE | --node EP [--node EP ...] --genesis "
    "FILE)\n"
    "                (--rate TX_PER_S | --max) [--rollups K] [--size BYTES]\n"
    "                [--duration S] [--warmup S] [--batch N] [--linger MS]\n"
    "                [--inflight N]\n"
    "                [--drain S] [--subscribe-validator I] [--from-height H]\n"
    "                [--json]\n"
    "\n"
    "Open-loop load: submit transactions with unique payloads round-robin\n"
    "across all validators, follow every rollup's namespace on one\n"
    "validator with each block verified against the genesis, and report\n"
    "submitted, acked and committed tx/s over the measurement window and\n"
    "the latency from submission to commit and to verified delivery.\n"
    "\n"
    "  --testnet FILE     every node of a testnet.json, and node 0's genesis\n"
    "  --node EP          a validator's client port (repeat for each)\n"
    "  --genesis FILE     the genesis.json (with --node)\n"
    "  --rate R           submit R tx/s, open loop\n"
    "  --max              as fast as acks come back, with at most --inflight\n"
    "                     messages in flight per validator\n"
    "  --rollups K        use the first K namespaces of the genesis (default "
    "1)\n"
    "  --size BYTES       payload size, at least 16 (default 256)\n"
    "  --duration S       measurement window in seconds (default 10)\n"
    "  --warmup S         seconds of load before the window (default 2)\n"
    "  --batch N          transactions per Submit message (default 64)\n"
    "  --linger MS        with --rate, a message leaves when N transactions\n"
    "                     are due or its first has waited MS ms (default 1;\n"
    "                     latency counts from the send)\n"
    "  --inflight N       messages in flight per validator with --max\n"
    "                     (default 64)\n"
    "  --drain S          wait up to S seconds for stragglers (default 10)\n"
    "  --subscribe-validator I  the validator serving the subscriptions\n"
    "                     (default 0)\n"
    "  --from-height H    subscribe from H instead of after a probe\n"
    "  --json             end with one line of JSON\n"
    "\n"
    "Exit status: 0, 1 if a block failed verification or a transaction was\n"
    "delivered twice (or the run could not start), 2 for a bad command line.\n";

struct bench_args {
    const char *testnet_path;
    const char *genesis_path;
    const char *nodes[MAX_NODES];
    uint32_t n_nodes;
    uint64_t rollups;
    uint64_t size;
    uint64_t rate; /* 0 with --max */
    bool max;
    uint64_t duration;
    uint64_t warmup;
    uint64_t batch;
    uint64_t linger_ms;
    uint64_t inflight;
    uint64_t drain;
    uint64_t sub_node;
    uint64_t from_height;
    bool json;
};

/* One Submit message in flight or answered. n == 0 once answered. */
struct bench_msg {
    uint64_t first; /* Sequence number of its first transaction. */
    uint32_t n;
    uint32_t node;
};

struct bench_sub {
    struct seqc_conn *conn;
    struct seqc_follow follow;
    uint32_t outstanding;
    bool failed;
};

struct bench_counts {
    uint64_t sent, sent_window;
    uint64_t acked, acked_window;
    uint64_t rejected_full, rejected_other;
    uint64_t backlog;
    uint64_t committed, committed_window;
    uint64_t pending_commit; /* Acked, not committed yet. */
    uint64_t unanswered;     /* Messages without an ack. */
    uint64_t blocks, bad_blocks, twice, foreign, bad_replies;
    uint64_t top_height;
};

struct bench {
    struct bench_args a;
    struct seqctl_testnet testnet;
    struct seqc_genesis genesis;
    uint64_t ns[SEQC_MAX_NAMESPACES];
    struct seqc_conn *conns[MAX_NODES];
    uint32_t inflight[MAX_NODES];
    uint32_t next_node;
    struct bench_sub subs[SEQC_MAX_NAMESPACES];
    struct seqc_qc_cache qc_cache; /* Shared by subs[]: one QC per height. */
    struct bench_table table;
    struct bench_msg *msgs;
    size_t n_msgs;
    size_t cap_msgs;
    uint8_t *fill;     /* @size random bytes every payload starts from. */
    uint8_t *payloads; /* @batch payloads. */
    struct seqc_tx *txs;
    struct seq_hash *hashes;
    uint8_t run_id[8];
    uint64_t t0, window_start, window_end, drain_end;
    struct bench_counts c;
    bool error_reported;
};

/* ---------------------------------------------------------- arguments */

static int parse_num(const char *option,
                     const char *text,
                     uint64_t min,
                     uint64_t max,
                     uint64_t *out)
{
    if (seqctl_parse_u64(text, min, max, out) != 0) {
        return seqctl_usage_error(PROG, "%s: want %llu to %llu, not '%s'",
                                  option, (unsigned long long)min,
                                  (unsigned long long)max, text);
    }
    return 0;
}

static int parse_option(struct bench_args *a, int c, char **argv)
{
    switch (c) {
    case 't':
        a->testnet_path = optarg;
        return 0;
    case 'g':
        a->genesis_path = optarg;
        return 0;
    case 'N':
        if (a->n_nodes == MAX_NODES || seqctl_check_endpoint(optarg) != 0) {
            return seqctl_usage_error(PROG,
                                      "--node: want tcp://HOST:PORT (at most "
                                      "%d), not '%s'",
                                      MAX_NODES, optarg);
        }
        a->nodes[a->n_nodes++] = optarg;
        return 0;
    case 'r':
        return parse_num("--rate", optarg, 1, 100000000, &a->rate);
    case 'M':
        a->max = true;
        return 0;
    case 'k':
        return parse_num("--rollups", optarg, 1, SEQC_MAX_NAMESPACES,
                         &a->rollups);
    case 's':
        return parse_num("--size", optarg, MIN_SIZE, SEQC_MAX_MSG / 2,
                         &a->size);
    case 'd':
        return parse_num("--duration", optarg, 1, 86400, &a->duration);
    case 'w':
        return parse_num("--warmup", optarg, 0, 3600, &a->warmup);
    case 'b':
        return parse_num("--batch", optarg, 1, SEQC_MAX_SUBMIT, &a->batch);
    case 'L':
        return parse_num("--linger", optarg, 0, 1000, &a->linger_ms);
    case 'i':
        return parse_num("--inflight", optarg, 1, 4096, &a->inflight);
    case 'D':
        return parse_num("--drain", optarg, 0, 3600, &a->drain);
    case 'V':
        return parse_num("--subscribe-validator", optarg, 0, MAX_NODES - 1,
                         &a->sub_node);
    case 'H':
        return parse_num("--from-height", optarg, 1, UINT64_MAX - 1,
                         &a->from_height);
    case 'j':
        a->json = true;
        return 0;
    default:
        return seqctl_bad_option(PROG, c, argv);
    }
}

static int check_args(const struct bench_args *a)
{
    if ((a->rate != 0) == a->max) {
        return seqctl_usage_error(PROG, "give one of --rate R and --max");
    }
    if (a->testnet_path != NULL && (a->n_nodes > 0)) {
        return seqctl_usage_error(PROG, "give --node or --testnet, not both");
    }
    if (a->testnet_path == NULL &&
        (a->n_nodes == 0 || a->genesis_path == NULL)) {
        return seqctl_usage_error(PROG,
                                  "give --testnet FILE, or --node (one per "
                                  "validator) and --genesis FILE");
    }
    if (a->batch * (a->size + MSG_OVERHEAD) > SEQC_MAX_MSG) {
        return seqctl_usage_error(PROG,
                                  "--batch %llu of --size %llu exceeds the "
                                  "%u-byte message limit",
                                  (unsigned long long)a->batch,
                                  (unsigned long long)a->size,
                                  (unsigned)SEQC_MAX_MSG);
    }
    return SEQCTL_OK;
}

/* 0, -1 after --help, or an exit status. */
static int parse_args(int argc, char **argv, struct bench_args *a)
{
    static const struct option options[] = {
        { "testnet", required_argument, NULL, 't' },
        { "genesis", required_argument, NULL, 'g' },
        { "node", required_argument, NULL, 'N' },
        { "rate", required_argument, NULL, 'r' },
        { "max", no_argument, NULL, 'M' },
        { "rollups", required_argument, NULL, 'k' },
        { "size", required_argument, NULL, 's' },
        { "duration", required_argument, NULL, 'd' },
        { "warmup", required_argument, NULL, 'w' },
        { "batch", required_argument, NULL, 'b' },
        { "inflight", required_argument, NULL, 'i' },
        { "linger", required_argument, NULL, 'L' },
        { "drain", required_argument, NULL, 'D' },
        { "subscribe-validator", required_argument, NULL, 'V' },
        { "from-height", required_argument, NULL, 'H' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    int rv;

    memset(a, 0, sizeof *a);
    a->rollups = 1;
    a->size = 256;
    a->duration = 10;
    a->warmup = 2;
    a->batch = 64;
    a->linger_ms = 1;
    a->inflight = 64;
    a->drain = 10;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return -1;
        }
        rv = parse_option(a, c, argv);
        if (rv != 0) {
            return rv;
        }
    }
    if (optind < argc) {
        return seqctl_usage_error(PROG, "unexpected argument '%s'",
                                  argv[optind]);
    }
    return check_args(a);
}

/* -------------------------------------------------------------- setup */

/* Nodes, genesis, namespaces; the payload buffers. */
static int setup(struct bench *b)
{
    char errmsg[SEQ_ERRMSG_LEN];
    uint32_t i;

    if (b->a.testnet_path != NULL) {
        if (seqctl_testnet_load(b->a.testnet_path, &b->testnet, errmsg) != 0) {
            return seqctl_fail(PROG, "%s", errmsg);
        }
        for (i = 0; i < b->testnet.n_nodes; i++) {
            b->a.nodes[i] = b->testnet.client[i];
        }
        b->a.n_nodes = b->testnet.n_nodes;
    }
    if (b->a.sub_node >= b->a.n_nodes) {
        return seqctl_usage_error(PROG,
                                  "--subscribe-validator %llu: there are %u "
                                  "validators",
                                  (unsigned long long)b->a.sub_node,
                                  (unsigned)b->a.n_nodes);
    }
    if (seqctl_genesis_find(b->a.genesis_path,
                            b->a.testnet_path != NULL ? &b->testnet : NULL, 0,
                            &b->genesis, errmsg) != 0) {
        return seqctl_fail(PROG, "genesis: %s", errmsg);
    }
    if (b->a.rollups > b->genesis.n_namespaces) {
        return seqctl_fail(PROG,
                           "--rollups %llu: the genesis registers %u "
                           "namespace(s)",
                           (unsigned long long)b->a.rollups,
                           (unsigned)b->genesis.n_namespaces);
    }
    for (i = 0; i < b->a.rollups; i++) {
        b->ns[i] = b->genesis.namespaces[i].id;
        if (b->a.size > b->genesis.namespaces[i].max_tx_size) {
            return seqctl_fail(PROG,
                               "--size %llu is above namespace %s's "
                               "max_tx_size %u",
                               (unsigned long long)b->a.size,
                               b->genesis.namespaces[i].name,
                               (unsigned)b->genesis.namespaces[i].max_tx_size);
        }
    }
    b->fill = seq_malloc(b->a.size);
    b->payloads = seq_malloc(b->a.batch * b->a.size);
    b->txs = seq_calloc(b->a.batch, sizeof *b->txs);
    b->hashes = seq_calloc(b->a.batch, sizeof *b->hashes);
    if (b->fill == NULL || b->payloads == NULL || b->txs == NULL ||
        b->hashes == NULL) {
        return seqctl_fail(PROG, "out of memory");
    }
    if (seq_random_bytes(b->fill, b->a.size) != 0 ||
        seq_random_bytes(b->run_id, sizeof b->run_id) != 0) {
        return seqctl_fail(PROG, "no randomness from the system");
    }
    return SEQCTL_OK;
}

static int connect_all(struct bench *b)
{
    uint32_t i;
    int rv;

    for (i = 0; i < b->a.n_nodes; i++) {
        rv = seqc_connect(b->a.nodes[i], &b->conns[i]);
        if (rv != 0) {
            return seqctl_fail(PROG, "connect %s: %s", b->a.nodes[i],
                               seq_strerror(rv));
        }
    }
    return SEQCTL_OK;
}

/* The height the subscriptions start from (B2): one transaction, then its
 * status until it is committed. */
static int probe_height(struct bench *b, uint64_t *from)
{
    struct seqc_conn *c = b->conns[b->a.sub_node];
    const char *node = b->a.nodes[b->a.sub_node];
    uint64_t start = seqctl_now_ms();
    struct seqc_tx_result res;
    uint8_t payload[32];
    struct seqc_tx tx;
    int rv;

    memcpy(payload, "seqbench-probe--", 16);
    memcpy(payload + 16, b->run_id, sizeof b->run_id);
    memcpy(payload + 24, b->fill, 8);
    tx.ns = b->ns[0];
    tx.payload = payload;
    tx.len = sizeof payload;
    rv = seqc_submit(c, &tx, 1, &res, NULL, 5000);
    if (rv != 0 ||
        (res.status != SEQC_TX_ACCEPTED && res.status != SEQC_TX_PENDING)) {
        return seqctl_fail(PROG, "probe transaction at %s: %s", node,
                           rv != 0 ? seq_strerror(rv) : "refused");
    }
    while (!seqctl_stop && seqctl_now_ms() - start < PROBE_TIMEOUT_MS) {
        uint64_t height = 0;
        int state = 0;

        rv = seqc_tx_query(c, &res.tx_hash, &state, &height, NULL, NULL, 2000);
        if (rv != 0 && rv != SEQ_ETIMEOUT) {
            return seqctl_fail(PROG, "probe status at %s: %s", node,
                               seq_strerror(rv));
        }
        if (rv == 0 && state == 2) {
            *from = height + 1;
            return SEQCTL_OK;
        }
        poll(NULL, 0, 50);
    }
    return seqctl_fail(PROG,
                       "the probe transaction did not commit within %d s: "
                       "is the network running?",
                       PROBE_TIMEOUT_MS / 1000);
}

static int subscribe_all(struct bench *b, uint64_t from)
{
    const char *node = b->a.nodes[b->a.sub_node];
    uint32_t i;
    int rv;

    for (i = 0; i < b->a.rollups; i++) {
        struct bench_sub *s = &b->subs[i];

        rv = seqc_connect(node, &s->conn);
        if (rv == 0) {
            rv = seqc_subscribe(s->conn, b->ns[i], from, SUB_CREDITS);
        }
        if (rv != 0) {
            return seqctl_fail(PROG, "subscribe to namespace %llu at %s: %s",
                               (unsigned long long)b->ns[i], node,
                               seq_strerror(rv));
        }
        s->follow.ns = b->ns[i];
        s->follow.next_height = from;
        s->follow.qc_cache = &b->qc_cache;
        s->outstanding = SUB_CREDITS;
    }
    return SEQCTL_OK;
}

/* ------------------------------------------------------------ sending */

static bool in_window(const struct bench *b, uint64_t t)
{
    return t >= b->window_start && t < b->window_end;
}

/* Fills b->txs[0..n) with fresh unique payloads: the run id and the
 * sequence number over the random fill. */
static void make_txs(struct bench *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        uint64_t seq = b->table.n + i;
        uint8_t *p = b->payloads + i * b->a.size;
        int k;

        memcpy(p, b->fill, b->a.size);
        memcpy(p, b->run_id, sizeof b->run_id);
        for (k = 0; k < 8; k++) {
            p[8 + k] = (uint8_t)(seq >> (56 - 8 * k));
        }
        b->txs[i].ns = b->ns[seq % b->a.rollups];
        b->txs[i].payload = p;
        b->txs[i].len = b->a.size;
        seqc_tx_hash(b->txs[i].ns, p, b->a.size, &b->hashes[i]);
    }
}

/* Books a sent message and its transactions (B3). */
static int record_sent(struct bench *b, uint32_t node, size_t n, uint64_t now)
{
    struct bench_msg *m;
    size_t i;
    int rv;

    if (b->n_msgs == b->cap_msgs) {
        size_t cap = b->cap_msgs == 0 ? 1024 : 2 * b->cap_msgs;
        struct bench_msg *msgs = seq_realloc(b->msgs, cap * sizeof *msgs);

        if (msgs == NULL) {
            return SEQ_ENOMEM;
        }
        b->msgs = msgs;
        b->cap_msgs = cap;
    }
    m = &b->msgs[b->n_msgs++];
    m->first = b->table.n;
    m->n = (uint32_t)n;
    m->node = node;
    for (i = 0; i < n; i++) {
        rv = bench_table_add(&b->table, &b->hashes[i], now);
        if (rv != 0) {
            return rv;
        }
    }
    b->inflight[node]++;
    b->c.unanswered++;
    b->c.sent += n;
    if (in_window(b, now)) {
        b->c.sent_window += n;
    }
    return SEQ_OK;
}

/* Sends @n due transactions in one message to the next validator that
 * takes it. Returns how many were sent (0: every queue was full, or with
 * --max every validator has --inflight messages out), or a negative
 * SEQ_E* code. */
static int send_batch(struct bench *b, size_t n, uint64_t now)
{
    uint32_t tries;

    make_txs(b, n);
    for (tries = 0; tries < b->a.n_nodes; tries++) {
        uint32_t node = b->next_node;
        int rv;

        b->next_node = (b->next_node + 1) % b->a.n_nodes;
        if (b->a.max && b->inflight[node] >= b->a.inflight) {
            continue;
        }
        rv = seqc_submit_async(b->conns[node], b->n_msgs + 1, b->txs, n);
        if (rv == SEQ_EAGAIN) {
            continue;
        }
        if (rv != 0) {
            return rv;
        }
        rv = record_sent(b, node, n, now);
        return rv != 0 ? rv : (int)n;
    }
    if (!b->a.max) {
        b->c.backlog++; /* (B1) */
    }
    return 0;
}

/* Sends what the schedule says is due (B1), or with --max whatever the
 * in-flight bound allows. */
/* When transaction number @k (1-based) of the schedule is due. */
static uint64_t due_us(const struct bench *b, uint64_t k)
{
    return b->t0 + (k * 1000000u + b->a.rate - 1) / b->a.rate;
}

static int send_due(struct bench *b, uint64_t now)
{
    uint64_t due;
    int rv;

    if (b->a.max) {
        due = UINT64_MAX;
    } else {
        /* The schedule ends with the window: a last pass after it sends
         * what was due up to window_end. */
        due = b->a.rate *
              ((now < b->window_end ? now : b->window_end) - b->t0) / 1000000u;
    }
    while (b->c.sent < due) {
        uint64_t n = due - b->c.sent;

        /* A short message waits for more until its first transaction has
         * lingered (B5); the last pass sends everything. */
        if (!b->a.max && n < b->a.batch && now < b->window_end &&
            now < due_us(b, b->c.sent + 1) + b->a.linger_ms * 1000u) {
            break;
        }
        rv = send_batch(b, n < b->a.batch ? (size_t)n : b->a.batch, now);
        if (rv <= 0) {
            return rv;
        }
    }
    return SEQ_OK;
}

/* ---------------------------------------------------------- receiving */

static void report_error_once(struct bench *b,
                              const char *node,
                              const struct seqc_reply *r)
{
    if (!b->error_reported) {
        fprintf(stderr, "%s: %s refused a submit: %s: %s\n", PROG, node,
                r->error_code, r->error_message);
        b->error_reported = true;
    }
}

static void on_result(struct bench *b,
                      struct bench_tx *tx,
                      const struct seqc_tx_result *res,
                      uint64_t now)
{
    if (res != NULL && !seq_hash_eq(&res->tx_hash, &tx->hash) &&
        res->status != SEQC_TX_MALFORMED) {
        b->c.bad_replies++;
    }
    switch (res != NULL ? res->status : SEQC_TX_MALFORMED) {
    case SEQC_TX_ACCEPTED:
    case SEQC_TX_PENDING:
    case SEQC_TX_COMMITTED:
        tx->state = BENCH_TX_ACKED;
        b->c.acked++;
        if (in_window(b, now)) {
            b->c.acked_window++;
        }
        if (tx->commit_us == 0) {
            b->c.pending_commit++;
        }
        break;
    case SEQC_TX_FULL:
        tx->state = BENCH_TX_REJECTED_FULL;
        b->c.rejected_full++;
        break;
    default:
        tx->state = BENCH_TX_REJECTED;
        b->c.rejected_other++;
        break;
    }
}

/* An ack (or an Error) for one of our messages. The node answers a
 * Submit it has no room to hold the ack of with Error "busy": that is back
 * pressure, counted as full like a TX_FULL result. */
static void on_ack(struct bench *b,
                   uint32_t node,
                   const struct seqc_reply *r,
                   uint64_t now)
{
    struct bench_msg *m;
    bool busy;
    size_t i;

    if (r->kind != SEQC_REPLY_ACK && r->kind != SEQC_REPLY_ERROR) {
        b->c.bad_replies++;
        return;
    }
    if (r->request_id == 0 || r->request_id > b->n_msgs ||
        b->msgs[r->request_id - 1].n == 0 ||
        b->msgs[r->request_id - 1].node != node) {
        b->c.bad_replies++;
        if (r->kind == SEQC_REPLY_ERROR) {
            report_error_once(b, b->a.nodes[node], r);
        }
        return;
    }
    m = &b->msgs[r->request_id - 1];
    busy = r->kind == SEQC_REPLY_ERROR && strcmp(r->error_code, "busy") == 0;
    if (r->kind == SEQC_REPLY_ERROR && !busy) {
        report_error_once(b, b->a.nodes[node], r);
    } else if (r->kind == SEQC_REPLY_ACK && r->n_results != m->n) {
        b->c.bad_replies++;
    }
    for (i = 0; i < m->n; i++) {
        struct seqc_tx_result busy_result = { .status = SEQC_TX_FULL };
        const struct seqc_tx_result *res = NULL;

        if (r->kind == SEQC_REPLY_ACK && r->n_results == m->n) {
            res = &r->results[i];
        } else if (busy) {
            busy_result.tx_hash = b->table.txs[m->first + i].hash;
            res = &busy_result;
        }
        on_result(b, &b->table.txs[m->first + i], res, now);
    }
    m->n = 0;
    b->inflight[node]--;
    b->c.unanswered--;
}

/* A namespace block (B3): verify, then time every transaction of ours. */
static void on_block(struct bench *b,
                     struct bench_sub *s,
                     const struct seqc_nsblock *blk,
                     uint64_t arrived)
{
    char errmsg[SEQ_ERRMSG_LEN];
    uint64_t delivered;
    size_t i;
    int rv;

    if (s->failed) {
        return;
    }
    if (seqc_follow_check(&s->follow, &b->genesis, blk, errmsg) != 0) {
        fprintf(stderr,
                "%s: namespace %llu height %llu failed verification: %s\n",
                PROG, (unsigned long long)blk->ns,
                (unsigned long long)blk->height, errmsg);
        b->c.bad_blocks++;
        s->failed = true;
        return;
    }
    delivered = seqctl_now_us();
    b->c.blocks++;
    if (blk->height > b->c.top_height) {
        b->c.top_height = blk->height;
    }
    for (i = 0; i < blk->n_entries; i++) {
        struct bench_tx *tx =
            bench_table_find(&b->table, &blk->entries[i].tx_hash);

        if (tx == NULL) {
            b->c.foreign++;
            continue;
        }
        if (tx->commit_us != 0) {
            b->c.twice++;
            continue;
        }
        tx->commit_us = arrived;
        tx->deliver_us = delivered;
        b->c.committed++;
        if (in_window(b, arrived)) {
            b->c.committed_window++;
        }
        if (tx->state == BENCH_TX_ACKED) {
            b->c.pending_commit--;
        }
    }
    if (--s->outstanding <= SUB_CREDITS / 2) {
        rv = seqc_credit(s->conn, SUB_CREDITS - s->outstanding);
        if (rv == 0) {
            s->outstanding = SUB_CREDITS;
        }
    }
}

/* Drains every connection (B4). */
static void drain_all(struct bench *b)
{
    struct seqc_reply r;
    uint32_t i;
    int rv;

    for (i = 0; i < b->a.n_nodes; i++) {
        while ((rv = seqc_recv(b->conns[i], &r, 0)) != SEQ_ETIMEOUT) {
            if (rv != 0) {
                b->c.bad_replies++;
                break;
            }
            on_ack(b, i, &r, seqctl_now_us());
            seqc_reply_free(&r);
        }
    }
    for (i = 0; i < b->a.rollups; i++) {
        struct bench_sub *s = &b->subs[i];

        while ((rv = seqc_recv(s->conn, &r, 0)) != SEQ_ETIMEOUT) {
            if (rv != 0) {
                b->c.bad_replies++;
                break;
            }
            if (r.kind == SEQC_REPLY_BLOCK) {
                on_block(b, s, &r.block, seqctl_now_us());
            } else if (r.kind == SEQC_REPLY_ERROR) {
                fprintf(stderr, "%s: subscription to %llu: %s: %s\n", PROG,
                        (unsigned long long)s->follow.ns, r.error_code,
                        r.error_message);
                s->failed = true;
            }
            seqc_reply_free(&r);
        }
    }
}

/* Sleeps until a connection has something or @wait_ms passes. */
static void wait_io(struct bench *b, int wait_ms)
{
    struct pollfd fds[MAX_NODES + SEQC_MAX_NAMESPACES];
    nfds_t n = 0;
    uint32_t i;

    for (i = 0; i < b->a.n_nodes; i++) {
        fds[n].fd = seqc_fd(b->conns[i]);
        fds[n++].events = POLLIN;
    }
    for (i = 0; i < b->a.rollups; i++) {
        fds[n].fd = seqc_fd(b->subs[i].conn);
        fds[n++].events = POLLIN;
    }
    poll(fds, n, wait_ms);
}

/* ---------------------------------------------------------------- run */

static void progress(const struct bench *b, uint64_t now)
{
    fprintf(stderr,
            "%s: %5.1f s sent %llu acked %llu committed %llu full %llu "
            "backlog %llu height %llu\n",
            PROG, (double)(now - b->t0) / 1e6, (unsigned long long)b->c.sent,
            (unsigned long long)b->c.acked, (unsigned long long)b->c.committed,
            (unsigned long long)b->c.rejected_full,
            (unsigned long long)b->c.backlog,
            (unsigned long long)b->c.top_height);
}

/* How long to sleep: until the next message is due (B5), at most a tick.
 * Rounded up: poll(2) counts whole milliseconds, and waking early would
 * spin. */
static int next_wait_ms(const struct bench *b, uint64_t now, bool sending)
{
    uint64_t next_us, full_us;

    if (!sending || b->a.max) {
        return TICK_MS;
    }
    next_us = due_us(b, b->c.sent + 1) + b->a.linger_ms * 1000u;
    full_us = due_us(b, b->c.sent + b->a.batch);
    if (full_us < next_us) {
        next_us = full_us;
    }
    if (next_us <= now) {
        return 0;
    }
    return next_us - now >= TICK_MS * 1000u
               ? TICK_MS
               : (int)((next_us - now + 999u) / 1000u);
}

static int run(struct bench *b)
{
    bool last_pass_done = false;
    uint64_t next_progress;

    b->t0 = seqctl_now_us();
    b->window_start = b->t0 + b->a.warmup * 1000000u;
    b->window_end = b->window_start + b->a.duration * 1000000u;
    b->drain_end = b->window_end + b->a.drain * 1000000u;
    next_progress = b->t0 + PROGRESS_US;
    while (!seqctl_stop) {
        uint64_t now = seqctl_now_us();
        bool sending = now < b->window_end;
        int rv;

        if (sending || !last_pass_done) {
            rv = send_due(b, now);
            if (rv < 0) {
                return seqctl_fail(PROG, "submit: %s", seq_strerror(rv));
            }
            last_pass_done = !sending;
        } else if ((b->c.unanswered == 0 && b->c.pending_commit == 0) ||
                   now >= b->drain_end) {
            break;
        }
        drain_all(b);
        if (now >= next_progress) {
            progress(b, now);
            next_progress += PROGRESS_US;
        }
        wait_io(b, next_wait_ms(b, now, sending));
    }
    return SEQCTL_OK;
}

/* ------------------------------------------------------------- report */

static double per_s(uint64_t n, uint64_t us)
{
    return us == 0 ? 0.0 : (double)n * 1e6 / (double)us;
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static uint64_t behind_schedule(const struct bench *b)
{
    uint64_t due;

    if (b->a.max) {
        return 0;
    }
    due = b->a.rate * (b->window_end - b->t0) / 1000000u;
    return due > b->c.sent ? due - b->c.sent : 0;
}

static void report_json(const struct bench *b,
                        const struct bench_latency *l,
                        uint64_t window_us)
{
    printf(
        "{\"validators\": %u, \"rollups\": %llu, \"size\": %llu, "
        "\"batch\": %llu, \"target_tps\": %llu, \"max\": %s, "
        "\"window_s\": %.3f, \"submitted_tps\": %.1f, "
        "\"acked_tps\": %.1f, \"committed_tps\": %.1f, "
        "\"submitted\": %llu, \"acked\": %llu, \"committed\": %llu, "
        "\"rejected_full\": %llu, \"rejected_other\": %llu, "
        "\"backlog\": %llu, \"behind_schedule\": %llu, "
        "\"never_committed\": %llu, \"unanswered\": %llu, "
        "\"latency_ms\": {\"samples\": %zu, "
        "\"commit\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}, "
        "\"delivery\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}}, "
        "\"blocks\": %llu, \"bad_blocks\": %llu, \"twice\": %llu, "
        "\"bad_replies\": %llu}\n",
        (unsigned)b->a.n_nodes, (unsigned long long)b->a.rollups,
        (unsigned long long)b->a.size, (unsigned long long)b->a.batch,
        (unsigned long long)b->a.rate, b->a.max ? "true" : "false",
        (double)window_us / 1e6, per_s(b->c.sent_window, window_us),
        per_s(b->c.acked_window, window_us),
        per_s(b->c.committed_window, window_us), (unsigned long long)b->c.sent,
        (unsigned long long)b->c.acked, (unsigned long long)b->c.committed,
        (unsigned long long)b->c.rejected_full,
        (unsigned long long)b->c.rejected_other,
        (unsigned long long)b->c.backlog,
        (unsigned long long)behind_schedule(b),
        (unsigned long long)b->c.pending_commit,
        (unsigned long long)b->c.unanswered, l->n, ms(l->commit_p50),
        ms(l->commit_p99), ms(l->commit_max), ms(l->deliver_p50),
        ms(l->deliver_p99), ms(l->deliver_max), (unsigned long long)b->c.blocks,
        (unsigned long long)b->c.bad_blocks, (unsigned long long)b->c.twice,
        (unsigned long long)b->c.bad_replies);
}

static int report(struct bench *b)
{
    struct bench_latency l;
    uint64_t end = seqctl_now_us();
    uint64_t window_us;

    if (end > b->window_end) {
        end = b->window_end;
    }
    window_us = end > b->window_start ? end - b->window_start : 0;
    if (bench_latency_compute(&b->table, b->window_start, b->window_end, &l) !=
        0) {
        return seqctl_fail(PROG, "out of memory");
    }
    printf(
        "seqbench: %u validators, %llu rollups, %llu-byte txs, %llu per "
        "message, ",
        (unsigned)b->a.n_nodes, (unsigned long long)b->a.rollups,
        (unsigned long long)b->a.size, (unsigned long long)b->a.batch);
    if (b->a.max) {
        printf("max (%llu messages in flight per validator)\n",
               (unsigned long long)b->a.inflight);
    } else {
        printf("open loop at %llu tx/s\n", (unsigned long long)b->a.rate);
    }
    printf("window      %.1f s after %llu s of warmup\n",
           (double)window_us / 1e6, (unsigned long long)b->a.warmup);
    printf("submitted   %.1f tx/s\n", per_s(b->c.sent_window, window_us));
    printf("acked       %.1f tx/s\n", per_s(b->c.acked_window, window_us));
    printf("committed   %.1f tx/s\n", per_s(b->c.committed_window, window_us));
    printf(
        "rejected    %llu full or busy, %llu other; backlog %llu, %llu behind "
        "schedule\n",
        (unsigned long long)b->c.rejected_full,
        (unsigned long long)b->c.rejected_other,
        (unsigned long long)b->c.backlog,
        (unsigned long long)behind_schedule(b));
    printf(
        "latency ms  submit->commit   p50 %.1f p99 %.1f max %.1f (%zu "
        "txs)\n",
        ms(l.commit_p50), ms(l.commit_p99), ms(l.commit_max), l.n);
    printf("            submit->delivery p50 %.1f p99 %.1f max %.1f\n",
           ms(l.deliver_p50), ms(l.deliver_p99), ms(l.deliver_max));
    printf(
        "blocks      %llu verified, %llu failed verification, %llu txs "
        "delivered twice\n",
        (unsigned long long)b->c.blocks, (unsigned long long)b->c.bad_blocks,
        (unsigned long long)b->c.twice);
    printf(
        "stragglers  %llu acked but never committed, %llu messages never "
        "acked\n",
        (unsigned long long)b->c.pending_commit,
        (unsigned long long)b->c.unanswered);
    if (b->a.json) {
        report_json(b, &l, window_us);
    }
    return b->c.bad_blocks > 0 || b->c.twice > 0 ? SEQCTL_FAIL : SEQCTL_OK;
}

/* --------------------------------------------------------------- main */

static void bench_close(struct bench *b)
{
    uint32_t i;

    for (i = 0; i < MAX_NODES; i++) {
        seqc_close(b->conns[i]);
    }
    for (i = 0; i < SEQC_MAX_NAMESPACES; i++) {
        seqc_close(b->subs[i].conn);
    }
    bench_table_close(&b->table);
    seq_free(b->msgs);
    seq_free(b->fill);
    seq_free(b->payloads);
    seq_free(b->txs);
    seq_free(b->hashes);
}

int main(int argc, char **argv)
{
    static struct bench b; /* Large (the genesis): not on the stack. */
    uint64_t from;
    int rv;

    json_set_alloc_funcs(seq_malloc, seq_free);
    rv = parse_args(argc, argv, &b.a);
    if (rv != 0) {
        return rv < 0 ? SEQCTL_OK : rv;
    }
    bench_table_init(&b.table);
    seqctl_signals_install();
    rv = setup(&b);
    if (rv == 0) {
        rv = connect_all(&b);
    }
    from = b.a.from_height;
    if (rv == 0 && from == 0) {
        rv = probe_height(&b, &from);
    }
    if (rv == 0) {
        rv = subscribe_all(&b, from);
    }
    if (rv == 0) {
        rv = run(&b);
    }
    if (rv == 0) {
        rv = report(&b);
    }
    bench_close(&b);
    return rv;
}
