/* seq-exec, the reference executor (DESIGN §1 "No loss", §5): follows one
 * namespace from the validators' client ports, verifies every namespace
 * block against the genesis alone, and applies each transaction exactly
 * once, in order, by appending one line per transaction to its output
 *
 *     <height> <index> <tx_hash hex> <payload hex>\n
 *
 * A real rollup would execute the payload instead; the durability and
 * failover logic is the part to copy.
 *
 * NOTES ON THE DESIGN
 *
 * (E1) Exactly once. DIR/state.json records a height, its block id and
 *      the output's length after it. Blocks are appended, then the output
 *      is fdatasync'ed, then state.json replaced atomically (temporary
 *      file, fsync, rename, fsync of the directory): state.json never
 *      names a byte that is not durable. At start the output is truncated
 *      to output_bytes, which undoes appends that a crash cut off before
 *      their state.json was in place. Whatever the crash point, the output
 *      holds the lines of heights 1..height and nothing else.
 * (E6) Group commit. The blocks that are already there (up to GROUP_MAX)
 *      are appended before one fdatasync and one state.json for all of
 *      them. Empty blocks add no line, so the state after only empty
 *      blocks is saved at most once a second (and at exit): a crash then
 *      re-verifies a few empty heights, which is harmless, and a fast
 *      chain of empty blocks does not cost three fsyncs per height.
 * (E2) Continuity. The follow state starts at height + 1 with the parent
 *      id = block_id, whichever node serves the stream, and a block is
 *      applied only after seqc_follow_check (signatures, commit proof,
 *      namespace proof, no skipped height, parent link). A validator can
 *      stall us, never feed us a wrong block.
 * (E3) Failover. A node that errs, sends a block that fails verification,
 *      or gives no block for --failover-ms is left for the next --node in
 *      turn; the new subscription starts at the next height. The
 *      connection is new each time, so nothing of the old stream arrives.
 * (E4) Credits. At most --credits blocks are outstanding: the
 *      subscription starts with K and is topped up to K when half are
 *      used, so a slow disk throttles the node instead of losing data.
 * (E5) SIGTERM/SIGINT are seen between blocks: the block being applied is
 *      finished and made durable, then the program exits 0. */

#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "seq_alloc.h"
#include "seq_client.h"
#include "seq_hex.h"
#include "seq_log.h"
#include "seqctl_util.h"

#define PROG              "seq-exec"
#define MOD               "exec"
#define DEFAULT_CREDITS   64
#define DEFAULT_FAILOVER  3000
#define RECV_TICK_MS      200
#define LOG_INTERVAL_MS   1000
#define STATE_MAX_BYTES   4096
#define STATE_INTERVAL_MS 1000 /* (E6) */
#define GROUP_MAX         64   /* (E6) */
#define MAX_NODES         SEQC_MAX_VALIDATORS

static const char usage_text[] =
    "usage: seq-exec --genesis FILE --namespace N --node EP [--node EP ...]\n"
    "                --state-dir DIR [--output FILE] [--credits K]\n"
    "                [--failover-ms T] [--until-height H] [--log-level L]\n"
    "       seq-exec --testnet FILE --namespace N --state-dir DIR [...]\n"
    "\n"
    "The reference executor: follow namespace N from the validators,\n"
    "verify every namespace block against the genesis, and apply each\n"
    "transaction exactly once by appending the line\n"
    "'<height> <index> <tx_hash hex> <payload hex>' to the output. Resumes\n"
    "after a restart or a crash from the last applied height; moves to the\n"
    "next node when one fails or stalls. SIGTERM or SIGINT: finish the\n"
    "current block and exit 0.\n"
    "\n"
    "  --genesis FILE     the genesis.json to trust\n"
    "  --namespace N      the namespace, by name or id\n"
    "  --node EP          a validator's client port, tcp://HOST:PORT; give\n"
    "                     several to fail over between them\n"
    "  --testnet FILE     every node of a testnet.json (and node 0's\n"
    "                     genesis unless --genesis)\n"
    "  --state-dir DIR    where state.json lives (created if missing)\n"
    "  --output FILE      the applied transactions (default DIR/applied.log)\n"
    "  --credits K        blocks in flight, 1 to 1024 (default 64)\n"
    "  --failover-ms T    move to the next node after T ms without a block\n"
    "                     (default 3000)\n"
    "  --until-height H   exit 0 once height H is applied\n"
    "  --log-level L      debug, info (default), warn or error\n";

struct exec_args {
    const char *genesis_path;
    const char *testnet_path;
    const char *ns_text;
    const char *state_dir;
    const char *output;
    const char *nodes[MAX_NODES];
    uint32_t n_nodes;
    uint64_t credits;
    uint64_t failover_ms;
    uint64_t until_height; /* 0: none */
};

/* What state.json holds (E1). */
struct exec_state {
    uint64_t height; /* 0: nothing applied yet. */
    struct seq_hash block_id;
    uint64_t output_bytes;
};

/* A summary of what was applied since the last log line. */
struct exec_log {
    uint64_t last_line_ms;
    uint64_t first_height;
    uint64_t last_height;
    uint64_t blocks;
    uint64_t txs;
    struct seq_hash last_id;
};

struct exec {
    struct exec_args args;
    struct seqc_genesis genesis;
    uint64_t ns;
    char state_path[SEQCTL_PATH_MAX];
    char output_path[SEQCTL_PATH_MAX];
    int out_fd;
    int lock_fd;             /* DIR/lock, held for the whole run. */
    struct exec_state state; /* Applied: written to the output. */
    struct exec_state saved; /* What state.json says. */
    uint64_t synced_bytes;   /* Of the output, known durable. */
    uint64_t saved_ms;
    unsigned group; /* Blocks applied since the last persist (E6). */
    struct seqc_follow follow;
    struct seqc_qc_cache qc_cache; /* Heights one child commits share it. */
    struct exec_log log;
    struct seqctl_testnet testnet;
};

/* How following one node ended. */
enum follow_end {
    FOLLOW_DONE = 1, /* --until-height reached, or a signal. */
    FOLLOW_FAILOVER,
    FOLLOW_FATAL,
};

/* ---------------------------------------------------------- arguments */

static int parse_option(struct exec_args *a, int c, char **argv)
{
    switch (c) {
    case 'g':
        a->genesis_path = optarg;
        return 0;
    case 't':
        a->testnet_path = optarg;
        return 0;
    case 'n':
        a->ns_text = optarg;
        return 0;
    case 'N':
        if (a->n_nodes == MAX_NODES) {
            return seqctl_usage_error(PROG, "at most %d --node", MAX_NODES);
        }
        if (seqctl_check_endpoint(optarg) != 0) {
            return seqctl_usage_error(PROG,
                                      "--node: want tcp://HOST:PORT, not "
                                      "'%s'",
                                      optarg);
        }
        a->nodes[a->n_nodes++] = optarg;
        return 0;
    case 's':
        a->state_dir = optarg;
        return 0;
    case 'o':
        a->output = optarg;
        return 0;
    case 'k':
        if (seqctl_parse_u64(optarg, 1, SEQC_MAX_CREDITS, &a->credits) != 0) {
            return seqctl_usage_error(PROG, "--credits: want 1 to %d, not '%s'",
                                      SEQC_MAX_CREDITS, optarg);
        }
        return 0;
    case 'f':
        if (seqctl_parse_u64(optarg, 100, 3600000, &a->failover_ms) != 0) {
            return seqctl_usage_error(PROG,
                                      "--failover-ms: want 100 to 3600000, "
                                      "not '%s'",
                                      optarg);
        }
        return 0;
    case 'u':
        if (seqctl_parse_u64(optarg, 1, UINT64_MAX - 1, &a->until_height) !=
            0) {
            return seqctl_usage_error(PROG,
                                      "--until-height: want a height >= 1, "
                                      "not '%s'",
                                      optarg);
        }
        return 0;
    case 'l':
        if (seq_log_parse_levels(optarg) != 0) {
            return seqctl_usage_error(PROG, "--log-level: bad level '%s'",
                                      optarg);
        }
        return 0;
    default:
        return seqctl_bad_option(PROG, c, argv);
    }
}

/* Returns 0, -1 for --help (printed), or an exit status. */
static int parse_args(int argc, char **argv, struct exec_args *a)
{
    static const struct option options[] = {
        { "genesis", required_argument, NULL, 'g' },
        { "testnet", required_argument, NULL, 't' },
        { "namespace", required_argument, NULL, 'n' },
        { "node", required_argument, NULL, 'N' },
        { "state-dir", required_argument, NULL, 's' },
        { "output", required_argument, NULL, 'o' },
        { "credits", required_argument, NULL, 'k' },
        { "failover-ms", required_argument, NULL, 'f' },
        { "until-height", required_argument, NULL, 'u' },
        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    int rv;

    memset(a, 0, sizeof *a);
    a->credits = DEFAULT_CREDITS;
    a->failover_ms = DEFAULT_FAILOVER;
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
    if (a->ns_text == NULL || a->state_dir == NULL) {
        return seqctl_usage_error(PROG,
                                  "--namespace and --state-dir are "
                                  "required");
    }
    if (a->testnet_path != NULL && a->n_nodes > 0) {
        return seqctl_usage_error(PROG, "give --node or --testnet, not both");
    }
    if (a->testnet_path == NULL &&
        (a->n_nodes == 0 || a->genesis_path == NULL)) {
        return seqctl_usage_error(PROG,
                                  "give --genesis and at least one --node "
                                  "(or --testnet)");
    }
    return SEQCTL_OK;
}

/* -------------------------------------------------------------- state */

static int state_parse(const struct exec *x,
                       const char *text,
                       size_t len,
                       struct exec_state *out,
                       char errmsg[SEQ_ERRMSG_LEN])
{
    json_error_t jerr;
    json_t *root;
    json_t *ns, *height, *bytes;
    const char *id;
    const char *chain;
    struct seq_hash chain_id;
    int rv = SEQ_EINVAL;

    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "line %d: %s", jerr.line, jerr.text);
        return SEQ_EINVAL;
    }
    ns = json_object_get(root, "namespace");
    height = json_object_get(root, "height");
    bytes = json_object_get(root, "output_bytes");
    id = json_string_value(json_object_get(root, "block_id"));
    chain = json_string_value(json_object_get(root, "chain_id"));
    if (!json_is_integer(ns) || !json_is_integer(height) ||
        !json_is_integer(bytes) || json_integer_value(ns) < 0 ||
        json_integer_value(height) < 0 || json_integer_value(bytes) < 0 ||
        id == NULL || chain == NULL ||
        seqctl_parse_hash(id, &out->block_id) != 0 ||
        seqctl_parse_hash(chain, &chain_id) != 0) {
        snprintf(errmsg, SEQ_ERRMSG_LEN,
                 "want {\"namespace\", \"chain_id\", \"height\", "
                 "\"block_id\", \"output_bytes\"}");
        goto out;
    }
    if ((uint64_t)json_integer_value(ns) != x->ns) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "it is for namespace %lld, not %llu",
                 (long long)json_integer_value(ns), (unsigned long long)x->ns);
        goto out;
    }
    if (!seq_hash_eq(&chain_id, &x->genesis.chain_id)) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "it is for another genesis");
        goto out;
    }
    out->height = (uint64_t)json_integer_value(height);
    out->output_bytes = (uint64_t)json_integer_value(bytes);
    rv = SEQ_OK;

out:
    json_decref(root);
    return rv;
}

static int state_write(struct exec *x, const struct exec_state *s)
{
    char id[65];
    char chain[65];
    char text[STATE_MAX_BYTES];
    int len;

    seqctl_hash_hex(&s->block_id, id);
    seqctl_hash_hex(&x->genesis.chain_id, chain);
    len = snprintf(text, sizeof text,
                   "{\"namespace\": %llu, \"chain_id\": \"%s\", "
                   "\"height\": %llu, \"block_id\": \"%s\", "
                   "\"output_bytes\": %llu}\n",
                   (unsigned long long)x->ns, chain,
                   (unsigned long long)s->height, id,
                   (unsigned long long)s->output_bytes);
    if (seqctl_write_atomic(x->state_path, text, (size_t)len) != 0) {
        SEQ_LOGE(MOD, "cannot write %s: %s", x->state_path, strerror(errno));
        return SEQ_EIO;
    }
    x->saved = *s;
    x->saved_ms = seqctl_now_ms();
    return SEQ_OK;
}

/* One executor per state directory: two appending to one output would
 * break exactly-once (each truncates to its own state). A POSIX record
 * lock on DIR/lock, held until exit (the kernel drops it if we die). */
static int lock_state_dir(struct exec *x)
{
    char path[SEQCTL_PATH_MAX];
    struct flock fl;
    int fd;

    if (snprintf(path, sizeof path, "%s/lock", x->args.state_dir) >=
        (int)sizeof path) {
        return seqctl_fail(PROG, "path too long");
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return seqctl_fail(PROG, "%s: %s", path, strerror(errno));
    }
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int err = errno;
        close(fd);
        if (err == EACCES || err == EAGAIN) {
            return seqctl_fail(PROG,
                               "another seq-exec is running with --state-dir "
                               "%s; refusing to share it",
                               x->args.state_dir);
        }
        return seqctl_fail(PROG, "%s: lock: %s", path, strerror(err));
    }
    x->lock_fd = fd; /* Kept open: closing it would drop the lock. */
    return SEQCTL_OK;
}

/* Makes the directory entry of @path durable (a new file's name is not
 * covered by fdatasync of the file). */
static int fsync_parent(const char *path)
{
    char copy[SEQCTL_PATH_MAX];
    int fd, rv;

    snprintf(copy, sizeof copy, "%s", path);
    fd = open(dirname(copy), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    rv = fsync(fd);
    close(fd);
    return rv;
}

/* Opens the output and brings it to state.output_bytes (E1). */
static int output_open(struct exec *x, bool fresh)
{
    struct stat st;
    int fd;

    fd = open(x->output_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || fstat(fd, &st) != 0) {
        seqctl_fail(PROG, "%s: %s", x->output_path, strerror(errno));
        goto err;
    }
    if (fresh && fsync_parent(x->output_path) != 0) {
        seqctl_fail(PROG, "%s: cannot sync its directory: %s", x->output_path,
                    strerror(errno));
        goto err;
    }
    if (fresh && st.st_size > 0) {
        seqctl_fail(PROG,
                    "%s has %lld bytes but %s does not exist: refusing to "
                    "overwrite it (move it away, or restore the state)",
                    x->output_path, (long long)st.st_size, x->state_path);
        goto err;
    }
    if ((uint64_t)st.st_size < x->state.output_bytes) {
        seqctl_fail(PROG,
                    "%s has %lld bytes, fewer than the %llu that %s "
                    "records: refusing to continue",
                    x->output_path, (long long)st.st_size,
                    (unsigned long long)x->state.output_bytes, x->state_path);
        goto err;
    }
    if ((uint64_t)st.st_size > x->state.output_bytes) {
        SEQ_LOGW(MOD, "undoing a partial append of %llu bytes to %s",
                 (unsigned long long)st.st_size - x->state.output_bytes,
                 x->output_path);
        if (ftruncate(fd, (off_t)x->state.output_bytes) != 0 ||
            fsync(fd) != 0) {
            seqctl_fail(PROG, "%s: truncate: %s", x->output_path,
                        strerror(errno));
            goto err;
        }
    }
    x->out_fd = fd;
    return SEQCTL_OK;

err:
    if (fd >= 0) {
        close(fd);
    }
    return SEQCTL_FAIL;
}

/* Reads state.json, or starts one; opens the output. */
static int state_load(struct exec *x)
{
    char errmsg[SEQ_ERRMSG_LEN];
    uint8_t *text;
    size_t len;
    bool fresh;
    struct exec_state s;
    int rv;

    memset(&s, 0, sizeof s);
    rv = seqctl_read_file(x->state_path, STATE_MAX_BYTES, &text, &len, errmsg);
    fresh =
        rv == SEQ_EIO && access(x->state_path, F_OK) != 0 && errno == ENOENT;
    if (rv != 0 && !fresh) {
        return seqctl_fail(PROG, "%s", errmsg);
    }
    if (rv == 0) {
        rv = state_parse(x, (const char *)text, len, &s, errmsg);
        seq_free(text);
        if (rv != 0) {
            return seqctl_fail(PROG, "%s: %s", x->state_path, errmsg);
        }
    }
    x->state = s;
    x->saved = s;
    x->synced_bytes = s.output_bytes;
    rv = output_open(x, fresh);
    if (rv != 0) {
        return rv;
    }
    /* A fresh start writes its state first, so that an output without a
     * state.json is never ours. */
    if (fresh && state_write(x, &s) != 0) {
        return SEQCTL_FAIL;
    }
    memset(&x->follow, 0, sizeof x->follow);
    x->follow.ns = x->ns;
    x->follow.next_height = s.height + 1;
    x->follow.has_prev = s.height > 0;
    x->follow.prev_id = s.block_id;
    x->follow.qc_cache = &x->qc_cache;
    return SEQCTL_OK;
}

/* -------------------------------------------------------------- apply */

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The lines of @b's entries, into a new seq_malloc buffer. */
static char *format_lines(const struct seqc_nsblock *b, size_t *len)
{
    size_t size = 1;
    size_t pos = 0;
    size_t i;
    char *buf;

    for (i = 0; i < b->n_entries; i++) {
        size += 2 * 21 + 2 * SEQ_HASH_LEN + 2 * b->entries[i].len + 4;
    }
    buf = seq_malloc(size);
    if (buf == NULL) {
        return NULL;
    }
    for (i = 0; i < b->n_entries; i++) {
        const struct seqc_entry *e = &b->entries[i];
        char hex[65];

        seqctl_hash_hex(&e->tx_hash, hex);
        pos += (size_t)snprintf(buf + pos, size - pos, "%llu %zu %s ",
                                (unsigned long long)b->height, i, hex);
        seq_hex_encode(e->payload, e->len, buf + pos);
        pos += 2 * e->len;
        buf[pos++] = '\n';
    }
    buf[pos] = '\0';
    *len = pos;
    return buf;
}

/* Appends a verified block's lines; persist() makes them durable (E1).
 * Any failure is fatal: what is on disk stays consistent, and the next
 * start repairs the output. */
static int apply_block(struct exec *x,
                       const struct seqc_nsblock *b,
                       const struct seq_hash *id)
{
    size_t len = 0;
    char *lines;

    lines = format_lines(b, &len);
    if (lines == NULL) {
        SEQ_LOGE(MOD, "out of memory at height %llu",
                 (unsigned long long)b->height);
        return SEQ_ENOMEM;
    }
    if (len > 0 && write_all(x->out_fd, lines, len) != 0) {
        SEQ_LOGE(MOD, "cannot append to %s: %s", x->output_path,
                 strerror(errno));
        seq_free(lines);
        return SEQ_EIO;
    }
    seq_free(lines);
    x->state.height = b->height;
    x->state.block_id = *id;
    x->state.output_bytes += len;
    x->group++;
    return SEQ_OK;
}

static bool lines_pending(const struct exec *x)
{
    return x->state.output_bytes > x->synced_bytes;
}

/* Makes the applied state durable: the output first, then state.json
 * (E1). Without new lines and without @force, at most once every
 * STATE_INTERVAL_MS (E6). */
static int persist(struct exec *x, bool force)
{
    x->group = 0;
    if (x->state.height == x->saved.height) {
        return SEQ_OK;
    }
    if (lines_pending(x)) {
        if (fdatasync(x->out_fd) != 0) {
            SEQ_LOGE(MOD, "cannot sync %s: %s", x->output_path,
                     strerror(errno));
            return SEQ_EIO;
        }
        x->synced_bytes = x->state.output_bytes;
    } else if (!force && seqctl_now_ms() - x->saved_ms < STATE_INTERVAL_MS) {
        return SEQ_OK;
    }
    return state_write(x, &x->state);
}

/* --------------------------------------------------------------- logs */

static void log_flush(struct exec *x, uint64_t now, const char *node)
{
    struct exec_log *l = &x->log;
    char kv[160];
    char id[65];

    if (l->blocks == 0) {
        return;
    }
    if (l->blocks == 1) {
        seqctl_hash_hex(&l->last_id, id);
        snprintf(kv, sizeof kv, "height=%llu txs=%llu block=%.16s node=%s",
                 (unsigned long long)l->last_height, (unsigned long long)l->txs,
                 id, node);
        seq_log(SEQ_LOG_INFO, MOD, kv, "applied block");
    } else {
        snprintf(
            kv, sizeof kv, "from=%llu to=%llu blocks=%llu txs=%llu node=%s",
            (unsigned long long)l->first_height,
            (unsigned long long)l->last_height, (unsigned long long)l->blocks,
            (unsigned long long)l->txs, node);
        seq_log(SEQ_LOG_INFO, MOD, kv, "applied blocks");
    }
    l->blocks = 0;
    l->txs = 0;
    l->last_line_ms = now;
}

/* One line per block at low rates, one summary a second at high rates. */
static void log_block(struct exec *x,
                      const struct seqc_nsblock *b,
                      const struct seq_hash *id,
                      const char *node)
{
    struct exec_log *l = &x->log;
    uint64_t now = seqctl_now_ms();

    if (l->blocks == 0) {
        l->first_height = b->height;
    }
    l->blocks++;
    l->txs += b->n_entries;
    l->last_height = b->height;
    l->last_id = *id;
    if (now - l->last_line_ms >= LOG_INTERVAL_MS) {
        log_flush(x, now, node);
    }
}

/* ------------------------------------------------------------- follow */

static bool reached_end(const struct exec *x)
{
    return x->args.until_height != 0 && x->state.height >= x->args.until_height;
}

/* One block from @node: verify (E2), apply (E1). */
static enum follow_end on_block(struct exec *x,
                                const struct seqc_nsblock *b,
                                const char *node)
{
    char errmsg[SEQ_ERRMSG_LEN];

    if (seqc_follow_check(&x->follow, &x->genesis, b, errmsg) != 0) {
        SEQ_LOGW(MOD, "%s sent a block that failed verification: %s", node,
                 errmsg);
        return FOLLOW_FAILOVER;
    }
    if (apply_block(x, b, &x->follow.prev_id) != 0) {
        return FOLLOW_FATAL;
    }
    log_block(x, b, &x->follow.prev_id, node);
    return 0;
}

/* What one reply means for the stream. 0: carry on. */
static enum follow_end on_reply(struct exec *x,
                                struct seqc_reply *r,
                                const char *node,
                                bool *progress)
{
    enum follow_end end;

    switch (r->kind) {
    case SEQC_REPLY_BLOCK:
        end = on_block(x, &r->block, node);
        *progress = end == 0;
        return end;
    case SEQC_REPLY_ERROR:
        SEQ_LOGW(MOD, "%s refused: %s: %s", node, r->error_code,
                 r->error_message);
        return FOLLOW_FAILOVER;
    default:
        return 0; /* Not ours to answer. */
    }
}

/* Follows @node until the end, a signal, or a reason to fail over (E3). */
static enum follow_end follow_node(struct exec *x, const char *node)
{
    uint64_t outstanding = x->args.credits;
    uint64_t last_progress = seqctl_now_ms();
    enum follow_end end = 0;
    bool drained = false;
    struct seqc_conn *c;
    int rv;

    rv = seqc_connect(node, &c);
    if (rv != 0) {
        SEQ_LOGW(MOD, "cannot connect to %s: %s", node, seq_strerror(rv));
        return FOLLOW_FAILOVER;
    }
    rv = seqc_subscribe(c, x->ns, x->follow.next_height,
                        (uint32_t)x->args.credits);
    if (rv != 0) {
        SEQ_LOGW(MOD, "cannot subscribe at %s: %s", node, seq_strerror(rv));
        seqc_close(c);
        return FOLLOW_FAILOVER;
    }
    SEQ_LOGI(MOD, "following namespace %llu from height %llu at %s",
             (unsigned long long)x->ns,
             (unsigned long long)x->follow.next_height, node);
    while (end == 0) {
        struct seqc_reply r;
        bool progress = false;
        bool waiting;
        uint64_t now;

        if (seqctl_stop || reached_end(x)) {
            end = FOLLOW_DONE;
            break;
        }
        /* Take what is already there without waiting, then persist the
         * group before waiting for more (E6). */
        waiting = !lines_pending(x) || drained || x->group >= GROUP_MAX;
        if (waiting && persist(x, false) != 0) {
            end = FOLLOW_FATAL;
            break;
        }
        rv = seqc_recv(c, &r, waiting ? RECV_TICK_MS : 0);
        drained = rv == SEQ_ETIMEOUT && !waiting;
        now = seqctl_now_ms();
        if (rv == 0) {
            end = on_reply(x, &r, node, &progress);
            seqc_reply_free(&r);
        } else if (rv == SEQ_EBADMSG) {
            SEQ_LOGW(MOD, "%s sent a malformed message", node);
            end = FOLLOW_FAILOVER;
        } else if (rv != SEQ_ETIMEOUT) {
            SEQ_LOGW(MOD, "%s: %s", node, seq_strerror(rv));
            end = FOLLOW_FAILOVER;
        }
        if (now - x->log.last_line_ms >= LOG_INTERVAL_MS) {
            log_flush(x, now, node);
        }
        if (progress) {
            last_progress = now;
            outstanding--;
            if (outstanding <= x->args.credits / 2) {
                rv = seqc_credit(c, (uint32_t)(x->args.credits - outstanding));
                if (rv != 0) {
                    SEQ_LOGW(MOD, "cannot send credits to %s: %s", node,
                             seq_strerror(rv));
                    end = FOLLOW_FAILOVER;
                }
                outstanding = x->args.credits;
            }
        } else if (end == 0 && now - last_progress >= x->args.failover_ms) {
            SEQ_LOGW(MOD, "no block from %s for %llu ms", node,
                     (unsigned long long)(now - last_progress));
            end = FOLLOW_FAILOVER;
        }
    }
    if (end != FOLLOW_FATAL && persist(x, true) != 0) {
        end = FOLLOW_FATAL;
    }
    log_flush(x, seqctl_now_ms(), node);
    seqc_close(c);
    return end;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000,
                           .tv_nsec = (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static int run(struct exec *x)
{
    uint32_t i = 0;

    while (!seqctl_stop && !reached_end(x)) {
        const char *node = x->args.nodes[i];
        enum follow_end end = follow_node(x, node);

        if (end == FOLLOW_FATAL) {
            return SEQCTL_FAIL;
        }
        if (end == FOLLOW_DONE) {
            break;
        }
        i = (i + 1) % x->args.n_nodes;
        if (x->args.n_nodes > 1) {
            SEQ_LOGI(MOD, "failing over to %s at height %llu", x->args.nodes[i],
                     (unsigned long long)x->follow.next_height);
        }
        sleep_ms(100); /* No hot loop when every node refuses at once. */
    }
    SEQ_LOGI(MOD, "stopped at height %llu",
             (unsigned long long)x->state.height);
    return SEQCTL_OK;
}

/* ---------------------------------------------------------------- main */

/* Genesis, namespace, nodes and paths from the arguments. */
static int setup(struct exec *x)
{
    char errmsg[SEQ_ERRMSG_LEN];
    const struct seqc_namespace *n;
    uint32_t i;

    if (x->args.testnet_path != NULL) {
        if (seqctl_testnet_load(x->args.testnet_path, &x->testnet, errmsg) !=
            0) {
            return seqctl_fail(PROG, "%s", errmsg);
        }
        for (i = 0; i < x->testnet.n_nodes; i++) {
            x->args.nodes[i] = x->testnet.client[i];
        }
        x->args.n_nodes = x->testnet.n_nodes;
    }
    if (seqctl_genesis_find(x->args.genesis_path,
                            x->args.testnet_path != NULL ? &x->testnet : NULL,
                            0, &x->genesis, errmsg) != 0) {
        return seqctl_fail(PROG, "genesis: %s", errmsg);
    }
    n = seqc_genesis_namespace_by_name(&x->genesis, x->args.ns_text);
    if (n == NULL) {
        return seqctl_fail(PROG, "namespace '%s' is not in the genesis",
                           x->args.ns_text);
    }
    x->ns = n->id;
    if (mkdir(x->args.state_dir, 0755) != 0 && errno != EEXIST) {
        return seqctl_fail(PROG, "%s: %s", x->args.state_dir, strerror(errno));
    }
    if (lock_state_dir(x) != SEQCTL_OK) {
        return SEQCTL_FAIL;
    }
    if (snprintf(x->state_path, sizeof x->state_path, "%s/state.json",
                 x->args.state_dir) >= (int)sizeof x->state_path ||
        snprintf(x->output_path, sizeof x->output_path, "%s",
                 x->args.output != NULL ? x->args.output : "") >=
            (int)sizeof x->output_path) {
        return seqctl_fail(PROG, "path too long");
    }
    if (x->args.output == NULL &&
        snprintf(x->output_path, sizeof x->output_path, "%s/applied.log",
                 x->args.state_dir) >= (int)sizeof x->output_path) {
        return seqctl_fail(PROG, "path too long");
    }
    return SEQCTL_OK;
}

int main(int argc, char **argv)
{
    static struct exec x; /* Large (the genesis): not on the stack. */
    int rv;

    json_set_alloc_funcs(seq_malloc, seq_free);
    seq_log_setup(SEQ_LOG_INFO, SEQ_LOG_LOGFMT);
    x.out_fd = -1;
    x.lock_fd = -1;
    rv = parse_args(argc, argv, &x.args);
    if (rv != 0) {
        return rv < 0 ? SEQCTL_OK : rv;
    }
    rv = setup(&x);
    if (rv == 0) {
        rv = state_load(&x);
    }
    if (rv != 0) {
        return rv;
    }
    seqctl_signals_install();
    if (reached_end(&x)) {
        SEQ_LOGI(MOD, "height %llu is already applied",
                 (unsigned long long)x.args.until_height);
    } else {
        SEQ_LOGI(MOD, "resuming after height %llu (%llu output bytes)",
                 (unsigned long long)x.state.height,
                 (unsigned long long)x.state.output_bytes);
        rv = run(&x);
    }
    if (close(x.out_fd) != 0 && rv == 0) {
        rv = seqctl_fail(PROG, "%s: %s", x.output_path, strerror(errno));
    }
    return rv;
}
