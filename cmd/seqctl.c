/* seqctl, the client command line (DESIGN §5): submit a transaction, ask
 * for its status, follow a namespace while verifying every block against
 * the genesis, and verify a saved namespace block. It talks to one node's
 * client port through libseqclient and trusts nothing but the genesis.
 *
 * Exit status: 0 on success, 1 when the work failed or the node refused
 * (the reason is on stderr), 2 for a bad command line. */

#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "seq_alloc.h"
#include "seq_client.h"
#include "seqctl_util.h"

#define DEFAULT_TIMEOUT_MS 5000
#define TAIL_CREDITS       64
#define TAIL_QUIET_MS      10000 /* Say so once after this long without. */
#define MAX_PAYLOAD        (SEQC_MAX_MSG - 1024)
#define MAX_JSON           (64u * 1024 * 1024)

static const char usage_text[] =
    "usage: seqctl [--node tcp://HOST:PORT | --testnet FILE [--validator I]]\n"
    "              [--genesis FILE] [--timeout-ms T] <command> [options]\n"
    "\n"
    "Talk to a node's client port: submit transactions, ask for their\n"
    "status, follow a namespace with every block verified against the\n"
    "genesis validator set.\n"
    "\n"
    "commands:\n"
    "  submit   submit one transaction; print its hash and status\n"
    "  tx       print the status of a transaction\n"
    "  tail     follow a namespace from a height, verifying every block\n"
    "  verify   verify a saved namespace block (JSON)\n"
    "\n"
    "options:\n"
    "  --node EP         the node's client port (default " SEQCTL_DEFAULT_NODE
    ")\n"
    "  --testnet FILE    a testnet.json from 'seqd testnet': use node I's\n"
    "                    client port and genesis\n"
    "  --validator I     which node of --testnet (default 0)\n"
    "  --genesis FILE    the genesis.json to trust (default: the node's\n"
    "                    home in --testnet)\n"
    "  --timeout-ms T    how long to wait for an answer (default 5000)\n"
    "\n"
    "Run 'seqctl <command> --help' for the options of a command.\n";

static const char submit_usage[] =
    "usage: seqctl [global options] submit --namespace N\n"
    "              (--data STRING | --file FILE | -)\n"
    "\n"
    "Submit one transaction and print its hash and status (accepted,\n"
    "pending: already known, committed: already in a block). Exits 1 when\n"
    "the node refuses it: unknown namespace, too large, or mempool full\n"
    "(with the time after which to retry).\n"
    "\n"
    "  --namespace N   the namespace, by name or id (a name needs the\n"
    "                  genesis: --genesis or --testnet)\n"
    "  --data STRING   the payload is STRING's bytes\n"
    "  --file FILE     the payload is FILE's bytes\n"
    "  -               the payload is standard input\n";

static const char tx_usage[] =
    "usage: seqctl [global options] tx HASH\n"
    "\n"
    "Print the status of the transaction with HASH (64 hex digits):\n"
    "'pending', 'committed height H namespace N index I', or 'unknown'.\n";

static const char tail_usage[] =
    "usage: seqctl [global options] tail --namespace N [--from H]\n"
    "              [--count K] [--output-dir DIR]\n"
    "\n"
    "Follow a namespace from height H (default 1): verify every namespace\n"
    "block against the genesis (signatures, commit proof, namespace\n"
    "proof, continuity) and print one line per height and one per entry.\n"
    "Stops after K blocks, or at SIGINT. Exits 1 at the first block that\n"
    "fails verification.\n"
    "\n"
    "  --namespace N     the namespace, by name or id\n"
    "  --from H          the first height (default 1)\n"
    "  --count K         stop after K blocks (default: never)\n"
    "  --output-dir DIR  also save each block as DIR/<ns>-<height>.json\n";

static const char verify_usage[] =
    "usage: seqctl [global options] verify FILE [--from-prev HASH]\n"
    "\n"
    "Verify a namespace block saved as JSON (by 'seqctl tail --output-dir'\n"
    "or from the HTTP API) against the genesis. Prints 'OK' with the block\n"
    "id, or the reason and exits 1.\n"
    "\n"
    "  --from-prev HASH  also require that the block's parent is HASH (the\n"
    "                    id of the previous height's block)\n";

/* The global options, and what they resolve to. */
struct ctl {
    const char *node;
    const char *testnet_path;
    const char *genesis_path;
    uint64_t validator;
    bool validator_set;
    int timeout_ms;
    struct seqctl_testnet testnet;
    bool have_testnet;
    struct seqc_genesis genesis;
    bool have_genesis;
};

/* ------------------------------------------------------------ helpers */

/* Loads the genesis, if the command line names one (required: fail if
 * not). Prints why on failure and returns SEQCTL_FAIL or _USAGE. */
static int load_genesis(const char *prog, struct ctl *ctl, bool required)
{
    char errmsg[SEQ_ERRMSG_LEN];
    int rv;

    if (ctl->genesis_path == NULL && !ctl->have_testnet) {
        if (required) {
            return seqctl_usage_error(
                prog,
                "this needs the genesis: give --genesis FILE or "
                "--testnet FILE");
        }
        return SEQCTL_OK;
    }
    rv = seqctl_genesis_find(ctl->genesis_path,
                             ctl->have_testnet ? &ctl->testnet : NULL,
                             (uint32_t)ctl->validator, &ctl->genesis, errmsg);
    if (rv != 0) {
        return seqctl_fail(prog, "genesis: %s", errmsg);
    }
    ctl->have_genesis = true;
    return SEQCTL_OK;
}

/* The namespace @text names: a name or id registered in the genesis if we
 * have it, else a decimal id. */
static int resolve_namespace(const char *prog,
                             const struct ctl *ctl,
                             const char *text,
                             uint64_t *ns)
{
    const struct seqc_namespace *n;

    if (text == NULL) {
        return seqctl_usage_error(prog, "--namespace is required");
    }
    if (!ctl->have_genesis) {
        if (seqctl_parse_u64(text, 0, UINT64_MAX, ns) != 0) {
            return seqctl_usage_error(prog,
                                      "--namespace '%s' is not a namespace "
                                      "id (a name needs the genesis: "
                                      "--genesis or --testnet)",
                                      text);
        }
        return SEQCTL_OK;
    }
    n = seqc_genesis_namespace_by_name(&ctl->genesis, text);
    if (n == NULL) {
        return seqctl_fail(prog,
                           "unknown namespace '%s': the genesis registers "
                           "%u namespace(s)",
                           text, (unsigned)ctl->genesis.n_namespaces);
    }
    *ns = n->id;
    return SEQCTL_OK;
}

static int connect_node(const char *prog,
                        const struct ctl *ctl,
                        struct seqc_conn **out)
{
    int rv = seqc_connect(ctl->node, out);

    if (rv != 0) {
        return seqctl_fail(prog, "connect %s: %s", ctl->node, seq_strerror(rv));
    }
    return SEQCTL_OK;
}

/* Why a blocking call failed, in words; an Error reply the node sent is
 * waiting in the connection (seqc_conn.c, C5). */
static int call_failed(const char *prog,
                       const struct ctl *ctl,
                       struct seqc_conn *c,
                       int rv)
{
    struct seqc_reply r;

    if (rv == SEQ_ETIMEOUT) {
        return seqctl_fail(prog, "no answer from %s within %d ms", ctl->node,
                           ctl->timeout_ms);
    }
    if (rv == SEQ_EINVAL && seqc_recv(c, &r, 0) == 0) {
        if (r.kind == SEQC_REPLY_ERROR) {
            seqctl_fail(prog, "the node refused the request: %s: %s",
                        r.error_code, r.error_message);
            seqc_reply_free(&r);
            return SEQCTL_FAIL;
        }
        seqc_reply_free(&r);
    }
    if (rv == SEQ_EBADMSG) {
        return seqctl_fail(prog, "%s sent a malformed answer", ctl->node);
    }
    return seqctl_fail(prog, "%s: %s", ctl->node, seq_strerror(rv));
}

static const char *status_name(enum seqc_tx_status s)
{
    switch (s) {
    case SEQC_TX_ACCEPTED:
        return "accepted";
    case SEQC_TX_PENDING:
        return "pending";
    case SEQC_TX_COMMITTED:
        return "committed";
    case SEQC_TX_UNKNOWN_NAMESPACE:
        return "unknown_namespace";
    case SEQC_TX_TOO_LARGE:
        return "too_large";
    case SEQC_TX_FULL:
        return "full";
    case SEQC_TX_MALFORMED:
        return "malformed";
    }
    return "?";
}

/* ------------------------------------------------------------- submit */

struct submit_args {
    const char *ns;
    const char *data;
    const char *file;
};

static int submit_parse(int argc, char **argv, struct submit_args *a)
{
    static const char prog[] = "seqctl submit";
    static const struct option options[] = {
        { "namespace", required_argument, NULL, 'n' },
        { "data", required_argument, NULL, 'd' },
        { "file", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int sources;
    int c;

    memset(a, 0, sizeof *a);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'n':
            a->ns = optarg;
            break;
        case 'd':
            a->data = optarg;
            break;
        case 'f':
            a->file = optarg;
            break;
        case 'h':
            fputs(submit_usage, stdout);
            return -1;
        default:
            return seqctl_bad_option(prog, c, argv);
        }
    }
    if (optind < argc && strcmp(argv[optind], "-") == 0) {
        if (a->file != NULL) {
            return seqctl_usage_error(prog, "give --file or -, not both");
        }
        a->file = "-";
        optind++;
    }
    if (optind < argc) {
        return seqctl_usage_error(prog, "unexpected argument '%s'",
                                  argv[optind]);
    }
    sources = (a->data != NULL) + (a->file != NULL);
    if (sources != 1) {
        return seqctl_usage_error(prog,
                                  "give the payload once: --data STRING, "
                                  "--file FILE or -");
    }
    return SEQCTL_OK;
}

static int submit_report(const char *prog,
                         const struct seqc_tx_result *res,
                         uint64_t ns,
                         size_t len,
                         uint32_t retry_ms)
{
    char hex[65];

    seqctl_hash_hex(&res->tx_hash, hex);
    printf("%s %s\n", hex, status_name(res->status));
    switch (res->status) {
    case SEQC_TX_ACCEPTED:
    case SEQC_TX_PENDING:
    case SEQC_TX_COMMITTED:
        return SEQCTL_OK;
    case SEQC_TX_UNKNOWN_NAMESPACE:
        return seqctl_fail(prog, "refused: namespace %llu is not registered",
                           (unsigned long long)ns);
    case SEQC_TX_TOO_LARGE:
        return seqctl_fail(prog,
                           "refused: %zu bytes is above namespace %llu's "
                           "max_tx_size",
                           len, (unsigned long long)ns);
    case SEQC_TX_FULL:
        return seqctl_fail(prog, "refused: mempool full, retry after %u ms",
                           (unsigned)retry_ms);
    case SEQC_TX_MALFORMED:
        return seqctl_fail(prog, "refused: malformed transaction");
    }
    return SEQCTL_FAIL;
}

static int cmd_submit(struct ctl *ctl, int argc, char **argv)
{
    static const char prog[] = "seqctl submit";
    char errmsg[SEQ_ERRMSG_LEN];
    struct submit_args a;
    struct seqc_conn *c;
    struct seqc_tx_result res;
    struct seqc_tx tx;
    uint8_t *payload = NULL;
    uint32_t retry_ms = 0;
    size_t len;
    uint64_t ns;
    int rv;

    rv = submit_parse(argc, argv, &a);
    if (rv != 0) {
        return rv < 0 ? SEQCTL_OK : rv;
    }
    rv = load_genesis(prog, ctl, false);
    if (rv == 0) {
        rv = resolve_namespace(prog, ctl, a.ns, &ns);
    }
    if (rv != 0) {
        return rv;
    }
    if (a.data != NULL) {
        len = strlen(a.data);
        if (len > MAX_PAYLOAD) {
            return seqctl_usage_error(prog, "--data: more than %u bytes",
                                      (unsigned)MAX_PAYLOAD);
        }
        tx.payload = (const uint8_t *)a.data;
    } else {
        rv = seqctl_read_file(a.file, MAX_PAYLOAD, &payload, &len, errmsg);
        if (rv != 0) {
            return seqctl_fail(prog, "%s", errmsg);
        }
        tx.payload = payload;
    }
    tx.ns = ns;
    tx.len = len;
    rv = connect_node(prog, ctl, &c);
    if (rv != 0) {
        seq_free(payload);
        return rv;
    }
    rv = seqc_submit(c, &tx, 1, &res, &retry_ms, ctl->timeout_ms);
    rv = rv == 0 ? submit_report(prog, &res, ns, len, retry_ms)
                 : call_failed(prog, ctl, c, rv);
    seqc_close(c);
    seq_free(payload);
    return rv;
}

/* ----------------------------------------------------------------- tx */

static int cmd_tx(struct ctl *ctl, int argc, char **argv)
{
    static const char prog[] = "seqctl tx";
    static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct seqc_conn *c;
    struct seq_hash hash;
    uint64_t height = 0, ns = 0, index = 0;
    int state = 0;
    int rv;

    opterr = 0;
    while ((rv = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (rv == 'h') {
            fputs(tx_usage, stdout);
            return SEQCTL_OK;
        }
        return seqctl_bad_option(prog, rv, argv);
    }
    if (optind + 1 != argc) {
        return seqctl_usage_error(prog, "give exactly one transaction hash");
    }
    if (seqctl_parse_hash(argv[optind], &hash) != 0) {
        return seqctl_usage_error(prog, "'%s' is not a 64-digit hex hash",
                                  argv[optind]);
    }
    rv = connect_node(prog, ctl, &c);
    if (rv != 0) {
        return rv;
    }
    rv = seqc_tx_query(c, &hash, &state, &height, &ns, &index, ctl->timeout_ms);
    if (rv != 0) {
        rv = call_failed(prog, ctl, c, rv);
    } else if (state == 2) {
        printf("committed height %llu namespace %llu index %llu\n",
               (unsigned long long)height, (unsigned long long)ns,
               (unsigned long long)index);
    } else {
        printf("%s\n", state == 1 ? "pending" : "unknown");
    }
    seqc_close(c);
    return rv;
}

/* --------------------------------------------------------------- tail */

struct tail_args {
    const char *ns;
    uint64_t from;
    uint64_t count; /* 0: no limit */
    const char *output_dir;
};

static int tail_parse(int argc, char **argv, struct tail_args *a)
{
    static const char prog[] = "seqctl tail";
    static const struct option options[] = {
        { "namespace", required_argument, NULL, 'n' },
        { "from", required_argument, NULL, 'f' },
        { "count", required_argument, NULL, 'c' },
        { "output-dir", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(a, 0, sizeof *a);
    a->from = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'n':
            a->ns = optarg;
            break;
        case 'f':
            if (seqctl_parse_u64(optarg, 1, UINT64_MAX - 1, &a->from) != 0) {
                return seqctl_usage_error(prog,
                                          "--from: want a height >= 1, not "
                                          "'%s'",
                                          optarg);
            }
            break;
        case 'c':
            if (seqctl_parse_u64(optarg, 1, UINT64_MAX, &a->count) != 0) {
                return seqctl_usage_error(prog,
                                          "--count: want a number >= 1, not "
                                          "'%s'",
                                          optarg);
            }
            break;
        case 'o':
            a->output_dir = optarg;
            break;
        case 'h':
            fputs(tail_usage, stdout);
            return -1;
        default:
            return seqctl_bad_option(prog, c, argv);
        }
    }
    if (optind < argc) {
        return seqctl_usage_error(prog, "unexpected argument '%s'",
                                  argv[optind]);
    }
    if (a->ns == NULL) {
        return seqctl_usage_error(prog, "--namespace is required");
    }
    return SEQCTL_OK;
}

static int save_block(const char *prog,
                      const char *dir,
                      const struct seqc_genesis *g,
                      const struct seqc_nsblock *b)
{
    char path[SEQCTL_PATH_MAX];
    char *json = NULL;
    int rv;

    rv = seqc_nsblock_to_json(b, &g->chain_id, &json);
    if (rv != 0) {
        return seqctl_fail(prog, "height %llu: cannot encode JSON: %s",
                           (unsigned long long)b->height, seq_strerror(rv));
    }
    if (snprintf(path, sizeof path, "%s/%llu-%llu.json", dir,
                 (unsigned long long)b->ns,
                 (unsigned long long)b->height) >= (int)sizeof path) {
        seq_free(json);
        return seqctl_fail(prog, "%s: path too long", dir);
    }
    rv = seqctl_write_atomic(path, json, strlen(json));
    seq_free(json);
    if (rv != 0) {
        return seqctl_fail(prog, "%s: %s", path, strerror(errno));
    }
    return SEQCTL_OK;
}

static void print_block(const struct seqc_genesis *g,
                        const struct seqc_nsblock *b)
{
    struct seq_hash id;
    char hex[65];
    size_t i;

    seqc_nsblock_block_id(b, &g->chain_id, &id);
    seqctl_hash_hex(&id, hex);
    printf("height %llu entries %zu block %s\n", (unsigned long long)b->height,
           b->n_entries, hex);
    for (i = 0; i < b->n_entries; i++) {
        seqctl_hash_hex(&b->entries[i].tx_hash, hex);
        printf("  %llu.%zu tx %s %zu bytes\n", (unsigned long long)b->height, i,
               hex, b->entries[i].len);
    }
    fflush(stdout);
}

/* One block of the subscription: verify, print, save. */
static int tail_block(const char *prog,
                      const struct ctl *ctl,
                      const struct tail_args *a,
                      struct seqc_follow *f,
                      const struct seqc_nsblock *b)
{
    char errmsg[SEQ_ERRMSG_LEN];

    if (seqc_follow_check(f, &ctl->genesis, b, errmsg) != 0) {
        return seqctl_fail(prog,
                           "block at height %llu from %s failed "
                           "verification: %s",
                           (unsigned long long)b->height, ctl->node, errmsg);
    }
    print_block(&ctl->genesis, b);
    if (a->output_dir != NULL) {
        return save_block(prog, a->output_dir, &ctl->genesis, b);
    }
    return SEQCTL_OK;
}

/* Receives until @a->count blocks were accepted or a signal; keeps at
 * most TAIL_CREDITS (and never more than are still wanted) outstanding. */
static int tail_loop(const char *prog,
                     const struct ctl *ctl,
                     const struct tail_args *a,
                     struct seqc_conn *c,
                     struct seqc_follow *f)
{
    uint64_t wanted = a->count == 0 ? UINT64_MAX : a->count;
    uint64_t got = 0;
    uint64_t outstanding;
    uint64_t last = seqctl_now_ms();
    bool warned = false;
    int rv;

    outstanding = wanted < TAIL_CREDITS ? wanted : TAIL_CREDITS;
    rv = seqc_subscribe(c, f->ns, f->next_height, (uint32_t)outstanding);
    if (rv != 0) {
        return seqctl_fail(prog, "subscribe at %s: %s", ctl->node,
                           seq_strerror(rv));
    }
    while (got < wanted && !seqctl_stop) {
        struct seqc_reply r;

        rv = seqc_recv(c, &r, 200);
        if (rv == SEQ_ETIMEOUT) {
            if (!warned && seqctl_now_ms() - last > TAIL_QUIET_MS) {
                fprintf(stderr,
                        "%s: no block from %s for %d s; still waiting\n", prog,
                        ctl->node, TAIL_QUIET_MS / 1000);
                warned = true;
            }
            continue;
        }
        if (rv == SEQ_EBADMSG) {
            fprintf(stderr, "%s: dropped a malformed message from %s\n", prog,
                    ctl->node);
            continue;
        }
        if (rv != 0) {
            return seqctl_fail(prog, "%s: %s", ctl->node, seq_strerror(rv));
        }
        if (r.kind == SEQC_REPLY_ERROR) {
            rv = seqctl_fail(prog, "%s: %s: %s", ctl->node, r.error_code,
                             r.error_message);
            seqc_reply_free(&r);
            return rv;
        }
        if (r.kind != SEQC_REPLY_BLOCK) {
            seqc_reply_free(&r);
            continue;
        }
        rv = tail_block(prog, ctl, a, f, &r.block);
        seqc_reply_free(&r);
        if (rv != 0) {
            return rv;
        }
        got++;
        outstanding--;
        last = seqctl_now_ms();
        warned = false;
        /* Top up in halves: one Credit per TAIL_CREDITS / 2 blocks. */
        if (outstanding <= TAIL_CREDITS / 2 && wanted - got > outstanding) {
            uint64_t more = wanted - got - outstanding;

            if (more > TAIL_CREDITS - outstanding) {
                more = TAIL_CREDITS - outstanding;
            }
            rv = seqc_credit(c, (uint32_t)more);
            if (rv != 0) {
                return seqctl_fail(prog, "credit at %s: %s", ctl->node,
                                   seq_strerror(rv));
            }
            outstanding += more;
        }
    }
    return SEQCTL_OK;
}

static int cmd_tail(struct ctl *ctl, int argc, char **argv)
{
    static const char prog[] = "seqctl tail";
    struct tail_args a;
    struct seqc_follow f;
    struct seqc_conn *c;
    uint64_t ns;
    int rv;

    rv = tail_parse(argc, argv, &a);
    if (rv != 0) {
        return rv < 0 ? SEQCTL_OK : rv;
    }
    rv = load_genesis(prog, ctl, true);
    if (rv == 0) {
        rv = resolve_namespace(prog, ctl, a.ns, &ns);
    }
    if (rv != 0) {
        return rv;
    }
    if (a.output_dir != NULL && mkdir(a.output_dir, 0755) != 0 &&
        errno != EEXIST) {
        return seqctl_fail(prog, "%s: %s", a.output_dir, strerror(errno));
    }
    memset(&f, 0, sizeof f);
    f.ns = ns;
    f.next_height = a.from;
    rv = connect_node(prog, ctl, &c);
    if (rv != 0) {
        return rv;
    }
    seqctl_signals_install();
    rv = tail_loop(prog, ctl, &a, c, &f);
    seqc_close(c);
    return rv;
}

/* ------------------------------------------------------------- verify */

static int verify_parse(int argc,
                        char **argv,
                        const char **file,
                        bool *has_prev,
                        struct seq_hash *prev)
{
    static const char prog[] = "seqctl verify";
    static const struct option options[] = {
        { "from-prev", required_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *has_prev = false;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (seqctl_parse_hash(optarg, prev) != 0) {
                return seqctl_usage_error(prog,
                                          "--from-prev: '%s' is not a "
                                          "64-digit hex hash",
                                          optarg);
            }
            *has_prev = true;
            break;
        case 'h':
            fputs(verify_usage, stdout);
            return -1;
        default:
            return seqctl_bad_option(prog, c, argv);
        }
    }
    if (optind + 1 != argc) {
        return seqctl_usage_error(prog, "give exactly one FILE");
    }
    *file = argv[optind];
    return SEQCTL_OK;
}

static int cmd_verify(struct ctl *ctl, int argc, char **argv)
{
    static const char prog[] = "seqctl verify";
    char errmsg[SEQ_ERRMSG_LEN];
    struct seqc_nsblock b;
    struct seqc_follow f;
    struct seq_hash id;
    const char *file = NULL;
    char hex[65];
    uint8_t *text;
    size_t len;
    int rv;

    memset(&f, 0, sizeof f);
    rv = verify_parse(argc, argv, &file, &f.has_prev, &f.prev_id);
    if (rv != 0) {
        return rv < 0 ? SEQCTL_OK : rv;
    }
    rv = load_genesis(prog, ctl, true);
    if (rv != 0) {
        return rv;
    }
    rv = seqctl_read_file(file, MAX_JSON, &text, &len, errmsg);
    if (rv != 0) {
        return seqctl_fail(prog, "%s", errmsg);
    }
    rv = seqc_nsblock_from_json((const char *)text, len, &b, errmsg);
    seq_free(text);
    if (rv != 0) {
        return seqctl_fail(prog, "%s: not a namespace block: %s", file, errmsg);
    }
    f.ns = b.ns;
    f.next_height = b.height;
    rv = seqc_follow_check(&f, &ctl->genesis, &b, errmsg);
    if (rv != 0) {
        seqc_nsblock_free(&b);
        return seqctl_fail(prog, "%s: FAILED: %s", file, errmsg);
    }
    seqc_nsblock_block_id(&b, &ctl->genesis.chain_id, &id);
    seqctl_hash_hex(&id, hex);
    printf("OK namespace %llu height %llu entries %zu block %s\n",
           (unsigned long long)b.ns, (unsigned long long)b.height, b.n_entries,
           hex);
    seqc_nsblock_free(&b);
    return SEQCTL_OK;
}

/* --------------------------------------------------------------- main */

static int parse_global(int argc, char **argv, struct ctl *ctl)
{
    static const char prog[] = "seqctl";
    static const struct option options[] = {
        { "node", required_argument, NULL, 'n' },
        { "testnet", required_argument, NULL, 't' },
        { "validator", required_argument, NULL, 'v' },
        { "genesis", required_argument, NULL, 'g' },
        { "timeout-ms", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    uint64_t v;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
        switch (c) {
        case 'n':
            ctl->node = optarg;
            break;
        case 't':
            ctl->testnet_path = optarg;
            break;
        case 'v':
            if (seqctl_parse_u64(optarg, 0, SEQC_MAX_VALIDATORS - 1,
                                 &ctl->validator) != 0) {
                return seqctl_usage_error(prog,
                                          "--validator: want 0 to %d, not "
                                          "'%s'",
                                          SEQC_MAX_VALIDATORS - 1, optarg);
            }
            ctl->validator_set = true;
            break;
        case 'g':
            ctl->genesis_path = optarg;
            break;
        case 'T':
            if (seqctl_parse_u64(optarg, 1, 3600000, &v) != 0) {
                return seqctl_usage_error(prog,
                                          "--timeout-ms: want 1 to 3600000, "
                                          "not '%s'",
                                          optarg);
            }
            ctl->timeout_ms = (int)v;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return -1;
        default:
            return seqctl_bad_option(prog, c, argv);
        }
    }
    return SEQCTL_OK;
}

/* --node, or node I of --testnet, or the default. */
static int resolve_node(struct ctl *ctl)
{
    static const char prog[] = "seqctl";
    char errmsg[SEQ_ERRMSG_LEN];

    if (ctl->node != NULL && ctl->testnet_path != NULL) {
        return seqctl_usage_error(prog, "give --node or --testnet, not both");
    }
    if (ctl->validator_set && ctl->testnet_path == NULL) {
        return seqctl_usage_error(prog, "--validator needs --testnet");
    }
    if (ctl->testnet_path != NULL) {
        if (seqctl_testnet_load(ctl->testnet_path, &ctl->testnet, errmsg) !=
            0) {
            return seqctl_fail(prog, "%s", errmsg);
        }
        if (ctl->validator >= ctl->testnet.n_nodes) {
            return seqctl_usage_error(prog, "--validator %llu: %s has %u nodes",
                                      (unsigned long long)ctl->validator,
                                      ctl->testnet_path,
                                      (unsigned)ctl->testnet.n_nodes);
        }
        ctl->have_testnet = true;
        ctl->node = ctl->testnet.client[ctl->validator];
    }
    if (ctl->node == NULL) {
        ctl->node = SEQCTL_DEFAULT_NODE;
    }
    if (seqctl_check_endpoint(ctl->node) != 0) {
        return seqctl_usage_error(
            prog, "--node: want tcp://HOST:PORT, not '%s'", ctl->node);
    }
    return SEQCTL_OK;
}

static const struct {
    const char *name;
    int (*run)(struct ctl *ctl, int argc, char **argv);
} commands[] = {
    { "submit", cmd_submit },
    { "tx", cmd_tx },
    { "tail", cmd_tail },
    { "verify", cmd_verify },
};

int main(int argc, char **argv)
{
    static struct ctl ctl; /* Large (the genesis): not on the stack. */
    const char *name;
    size_t i;
    int rv;

    json_set_alloc_funcs(seq_malloc, seq_free);
    ctl.timeout_ms = DEFAULT_TIMEOUT_MS;
    rv = parse_global(argc, argv, &ctl);
    if (rv != 0) {
        return rv < 0 ? SEQCTL_OK : rv;
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        return SEQCTL_USAGE;
    }
    name = argv[optind];
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) == 0) {
            break;
        }
    }
    if (i == sizeof commands / sizeof commands[0]) {
        return seqctl_usage_error("seqctl", "unknown command '%s'", name);
    }
    rv = resolve_node(&ctl);
    if (rv != 0) {
        return rv;
    }
    argv += optind;
    argc -= optind;
    optind = 0; /* glibc: start over with the command's own argv. */
    return commands[i].run(&ctl, argc, argv);
}
