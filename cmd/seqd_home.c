/* seqd init and seqd keygen: making one node's home directory (DESIGN §8;
 * the file formats are in net/net_home.h), and the helpers that
 * seqd_testnet.c uses to make N of them.
 *
 * A key is never overwritten: losing a validator key loses the validator,
 * and a fresh key under an old name is worse. Both commands look for every
 * file they would write before writing any, list what already exists and
 * stop. A failure half-way removes what the command wrote, so the home is
 * left as it was found (the home directory itself too, if it was new). */

#define _DEFAULT_SOURCE /* explicit_bzero */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "net_home.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hex.h"
#include "seqd.h"

#define PATH_LEN 4096

/* The files of a home, in the order they are written. */
static const char *const home_files[] = {
    "config.toml",
    "node_key.json",
    "priv_validator_key.json",
    "genesis.json",
};
#define N_HOME_FILES  (sizeof home_files / sizeof home_files[0])
#define FILE_CONFIG   0
#define FILE_NODE_KEY 1
#define FILE_VAL_KEY  2
#define FILE_GENESIS  3

static bool join(char out[PATH_LEN], const char *dir, const char *name)
{
    int n = snprintf(out, PATH_LEN, "%s/%s", dir, name);

    return n > 0 && n < PATH_LEN;
}

static bool exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* Lists which of home_files[@from..@to) exist in @home, on stderr as
 * @cmd; returns how many. */
static size_t report_existing(const char *cmd,
                              const char *home,
                              size_t from,
                              size_t to)
{
    char path[PATH_LEN];
    size_t found = 0;
    size_t i;

    for (i = from; i < to; i++) {
        if (join(path, home, home_files[i]) && exists(path)) {
            if (found == 0) {
                fprintf(stderr, "seqd %s: %s already holds:\n", cmd, home);
            }
            fprintf(stderr, "  %s\n", path);
            found++;
        }
    }
    if (found > 0) {
        fprintf(stderr,
                "seqd %s: refusing to overwrite; move %s away or choose "
                "another --home.\n",
                cmd, found == 1 ? "it" : "them");
    }
    return found;
}

/* Removes home_files[@from..@to) and data/ (if empty) from @home. Only
 * called for files this process has just written. */
static void remove_written(const char *home, size_t from, size_t to)
{
    char path[PATH_LEN];
    size_t i;

    for (i = from; i < to; i++) {
        if (join(path, home, home_files[i])) {
            unlink(path);
        }
    }
    if (join(path, home, "data")) {
        rmdir(path);
    }
}

void seqd_utc_now(char out[NET_NAME_MAX])
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, NET_NAME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int seqd_keys_generate(const char *cmd, struct seqd_keys *out)
{
    int rv;

    rv = net_validator_key_generate(&out->validator);
    if (rv != 0) {
        return seqd_fail(cmd, "cannot generate a validator key: %s",
                         seq_strerror(rv));
    }
    rv = net_node_key_generate(&out->node);
    if (rv != 0) {
        explicit_bzero(out, sizeof *out);
        return seqd_fail(cmd,
                         "cannot generate a CURVE key (is libzmq built "
                         "with CURVE?): %s",
                         seq_strerror(rv));
    }
    return SEQD_OK;
}

/* Writes the two key files into @home; on failure removes what it wrote. */
static int write_keys(const char *cmd,
                      const char *home,
                      const struct seqd_keys *keys)
{
    char errmsg[SEQ_ERRMSG_LEN];
    char path[PATH_LEN];
    int rv;

    if (!join(path, home, home_files[FILE_NODE_KEY])) {
        return seqd_fail(cmd, "%s: path too long", home);
    }
    rv = net_node_key_write(path, &keys->node, errmsg);
    if (rv != 0) {
        return seqd_fail(cmd, "%s", errmsg);
    }
    if (!join(path, home, home_files[FILE_VAL_KEY])) {
        rv = seqd_fail(cmd, "%s: path too long", home);
    } else if (net_validator_key_write(path, &keys->validator, errmsg) != 0) {
        rv = seqd_fail(cmd, "%s", errmsg);
    }
    if (rv != 0) {
        remove_written(home, FILE_NODE_KEY, FILE_NODE_KEY + 1);
    }
    return rv;
}

int seqd_home_write(const char *cmd,
                    const char *home,
                    const struct net_config *config,
                    const struct seqd_keys *keys)
{
    char errmsg[SEQ_ERRMSG_LEN];
    char path[PATH_LEN];
    int rv;

    if (!join(path, home, home_files[FILE_CONFIG])) {
        return seqd_fail(cmd, "%s: path too long", home);
    }
    rv = net_config_write(path, config, errmsg);
    if (rv != 0) {
        return seqd_fail(cmd, "%s", errmsg);
    }
    rv = write_keys(cmd, home, keys);
    if (rv != 0) {
        goto err_after_config;
    }
    if (!join(path, home, "data") || seqd_mkdir_p(path, 0700) != 0) {
        rv = seqd_fail(cmd, "%s/data: %s", home, strerror(errno));
        goto err_after_keys;
    }
    return SEQD_OK;

err_after_keys:
    remove_written(home, FILE_NODE_KEY, FILE_VAL_KEY + 1);
err_after_config:
    remove_written(home, FILE_CONFIG, FILE_CONFIG + 1);
    return rv;
}

/* Copies the option value @value into @field (@size bytes). */
static int set_field(const char *cmd,
                     const char *option,
                     const char *value,
                     char *field,
                     size_t size)
{
    if (strlen(value) >= size) {
        return seqd_usage_error(cmd, "%s: longer than %zu characters", option,
                                size - 1);
    }
    memcpy(field, value, strlen(value) + 1);
    return 0;
}

/* ---------------------------------------------------------------- init */

static const char init_usage[] =
    "usage: seqd init [--home DIR] [--moniker NAME] [--chain-id ID]\n"
    "                 [--p2p tcp://HOST:PORT] [--http HOST:PORT]\n"
    "                 [--client tcp://HOST:PORT] [--genesis FILE]\n"
    "                 [--namespace ID:NAME[:WEIGHT[:MAX_TX_SIZE]]]...\n"
    "\n"
    "Create the home directory DIR (default $SEQ_HOME; mode 0700) with\n"
    "config.toml, node_key.json, priv_validator_key.json (both 0600),\n"
    "data/, and a genesis.json in which this node is the only validator.\n"
    "Existing files are never overwritten.\n"
    "\n"
    "  --home DIR        the home directory\n"
    "  --moniker NAME    this node's name (default node0)\n"
    "  --chain-id ID     chain name of the new genesis (default seq-local)\n"
    "  --p2p ADDR        validator mesh listen address, also the address\n"
    "                    in the genesis (default tcp://127.0.0.1:26600)\n"
    "  --http ADDR       HTTP status/metrics address (default "
    "127.0.0.1:26601)\n"
    "  --client ADDR     client socket address (default "
    "tcp://127.0.0.1:26602)\n"
    "  --genesis FILE    use FILE, byte for byte, as genesis.json instead\n"
    "                    of making one (not with --chain-id or --namespace)\n"
    "  --namespace SPEC  register a rollup in the new genesis: id 1 or more,\n"
    "                    a unique name, weight 1 to 1000000 (default 1),\n"
    "                    max_tx_size 1 to 1048576 bytes (default 65536);\n"
    "                    repeat for more, in any order\n";

struct init_args {
    const char *home;
    const char *chain_id;
    const char *genesis;
    struct net_config config;
    uint32_t n_namespaces; /* From --namespace, sorted by id. */
    struct net_namespace namespaces[NET_MAX_NAMESPACES];
};

/* The characters of a name (net_home.h): checked here too, so that a bad
 * --namespace is a usage error naming the option rather than a failure
 * after the keys were made. */
static bool name_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return i > 0 && i < NET_NAME_MAX;
}

/* Parses --namespace @spec, ID:NAME[:WEIGHT[:MAX_TX_SIZE]], and adds it to
 * @a unless its id or name is already there. */
static int add_namespace(struct init_args *a, const char *spec)
{
    struct net_namespace *ns = &a->namespaces[a->n_namespaces];
    char copy[256];
    char *field[4] = { NULL };
    char *p = copy;
    uint64_t v;
    size_t n = 0;
    uint32_t i;
    int rv;

    if (a->n_namespaces == NET_MAX_NAMESPACES) {
        return seqd_usage_error("init", "--namespace: at most %d",
                                NET_MAX_NAMESPACES);
    }
    if (strlen(spec) >= sizeof copy) {
        return seqd_usage_error("init", "--namespace: too long");
    }
    memcpy(copy, spec, strlen(spec) + 1);
    while (p != NULL && n < 4) {
        field[n++] = p;
        p = strchr(p, ':');
        if (p != NULL) {
            *p++ = '\0';
        }
    }
    if (n < 2 || p != NULL) {
        return seqd_usage_error("init",
                                "--namespace '%s': want "
                                "ID:NAME[:WEIGHT[:MAX_TX_SIZE]]",
                                spec);
    }
    memset(ns, 0, sizeof *ns);
    rv = seqd_parse_uint("init", "--namespace ID", field[0], 1, INT64_MAX,
                         &ns->id);
    if (rv != 0) {
        return rv;
    }
    if (!name_ok(field[1])) {
        return seqd_usage_error("init",
                                "--namespace '%s': NAME: want 1 to 63 "
                                "characters from A-Z a-z 0-9 . _ -",
                                spec);
    }
    memcpy(ns->name, field[1], strlen(field[1]) + 1);
    v = NET_DEFAULT_WEIGHT;
    if (field[2] != NULL) {
        rv = seqd_parse_uint("init", "--namespace WEIGHT", field[2], 1,
                             NET_MAX_WEIGHT, &v);
    }
    ns->weight = (uint32_t)v;
    v = NET_DEFAULT_MAX_TX_SIZE;
    if (rv == 0 && field[3] != NULL) {
        rv = seqd_parse_uint("init", "--namespace MAX_TX_SIZE", field[3], 1,
                             NET_MAX_TX_SIZE, &v);
    }
    ns->max_tx_size = (uint32_t)v;
    for (i = 0; rv == 0 && i < a->n_namespaces; i++) {
        if (a->namespaces[i].id == ns->id) {
            rv = seqd_usage_error("init", "--namespace: id %llu given twice",
                                  (unsigned long long)ns->id);
        } else if (strcmp(a->namespaces[i].name, ns->name) == 0) {
            rv = seqd_usage_error("init", "--namespace: name %s given twice",
                                  ns->name);
        }
    }
    if (rv == 0) {
        a->n_namespaces++;
    }
    return rv;
}

static int namespace_cmp(const void *x, const void *y)
{
    const struct net_namespace *a = x;
    const struct net_namespace *b = y;

    return (a->id > b->id) - (a->id < b->id);
}

static int init_parse(int argc, char **argv, struct init_args *a)
{
    static const struct option options[] = {
        { "home", required_argument, NULL, 'H' },
        { "moniker", required_argument, NULL, 'm' },
        { "chain-id", required_argument, NULL, 'c' },
        { "p2p", required_argument, NULL, 'p' },
        { "http", required_argument, NULL, 't' },
        { "client", required_argument, NULL, 'C' },
        { "genesis", required_argument, NULL, 'g' },
        { "namespace", required_argument, NULL, 'N' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct net_config *cf = &a->config;
    int rv = 0;
    int c;

    memset(a, 0, sizeof *a);
    net_config_defaults(cf);
    opterr = 0;
    for (c = getopt_long(argc, argv, ":h", options, NULL); c != -1;
         c = getopt_long(argc, argv, ":h", options, NULL)) {
        switch (c) {
        case 'H':
            a->home = optarg;
            break;
        case 'm':
            rv = set_field("init", "--moniker", optarg, cf->moniker,
                           sizeof cf->moniker);
            break;
        case 'c':
            a->chain_id = optarg;
            if (strlen(optarg) >= NET_NAME_MAX) {
                rv = seqd_usage_error("init",
                                      "--chain-id: longer than %d "
                                      "characters",
                                      NET_NAME_MAX - 1);
            }
            break;
        case 'p':
            rv = set_field("init", "--p2p", optarg, cf->p2p_listen,
                           sizeof cf->p2p_listen);
            break;
        case 't':
            rv = set_field("init", "--http", optarg, cf->http_listen,
                           sizeof cf->http_listen);
            break;
        case 'C':
            rv = set_field("init", "--client", optarg, cf->client_listen,
                           sizeof cf->client_listen);
            break;
        case 'g':
            a->genesis = optarg;
            break;
        case 'N':
            rv = add_namespace(a, optarg);
            break;
        case 'h':
            fputs(init_usage, stdout);
            return -1;
        default:
            return seqd_bad_option("init", c, argv);
        }
        if (rv != 0) {
            return rv;
        }
    }
    if (optind < argc) {
        return seqd_usage_error("init", "unexpected argument '%s'",
                                argv[optind]);
    }
    a->home = seqd_home(a->home);
    if (a->home == NULL) {
        return seqd_usage_error("init",
                                "--home is required (or set "
                                "SEQ_HOME)");
    }
    if (a->genesis != NULL && a->chain_id != NULL) {
        return seqd_usage_error("init",
                                "--chain-id and --genesis exclude "
                                "each other: the genesis file names "
                                "its chain");
    }
    if (a->genesis != NULL && a->n_namespaces > 0) {
        return seqd_usage_error("init",
                                "--namespace and --genesis exclude "
                                "each other: the genesis file registers "
                                "its namespaces");
    }
    if (a->chain_id == NULL) {
        a->chain_id = "seq-local";
    }
    /* The genesis lists them by ascending id (net_home.h). */
    qsort(a->namespaces, a->n_namespaces, sizeof a->namespaces[0],
          namespace_cmp);
    return 0;
}

/* genesis.json for a one-validator chain of this node alone. */
static int init_own_genesis(const struct init_args *a,
                            const struct seqd_keys *keys,
                            const char *path)
{
    struct net_genesis *g;
    char errmsg[SEQ_ERRMSG_LEN];
    int rv = SEQD_OK;

    g = seq_calloc(1, sizeof *g);
    if (g == NULL) {
        return seqd_fail("init", "out of memory");
    }
    snprintf(g->chain_id, sizeof g->chain_id, "%s", a->chain_id);
    seqd_utc_now(g->genesis_time);
    g->epoch = 0;
    g->base_timeout_ms = 1000;
    g->n_validators = 1;
    memcpy(g->validators[0].name, a->config.moniker, NET_NAME_MAX);
    g->validators[0].pubkey = keys->validator.pubkey;
    memcpy(g->validators[0].node_key, keys->node.public_key, NET_CURVE_KEY_LEN);
    memcpy(g->validators[0].p2p, a->config.p2p_listen, NET_ADDR_MAX);
    g->n_namespaces = a->n_namespaces;
    memcpy(g->namespaces, a->namespaces,
           a->n_namespaces * sizeof a->namespaces[0]);
    if (net_genesis_write(path, g, errmsg) != 0) {
        rv = seqd_fail("init", "%s", errmsg);
    }
    seq_free(g);
    return rv;
}

/* genesis.json as a byte-for-byte copy of @source (the hash is of the
 * bytes), which must load. */
static int init_copy_genesis(const char *source, const char *path)
{
    struct net_genesis *g;
    char errmsg[SEQ_ERRMSG_LEN];
    uint8_t *bytes;
    size_t len;
    int rv = SEQD_OK;

    g = seq_malloc(sizeof *g);
    if (g == NULL) {
        return seqd_fail("init", "out of memory");
    }
    if (net_genesis_load(source, g, errmsg) != 0) {
        rv = seqd_fail("init", "--genesis: %s", errmsg);
    } else if (seqd_read_file(source, &bytes, &len) != 0) {
        rv = seqd_fail("init", "%s: %s", source, strerror(errno));
    } else {
        if (seqd_create_file(path, bytes, len) != 0) {
            rv = seqd_fail("init", "%s: %s", path, strerror(errno));
        }
        seq_free(bytes);
    }
    seq_free(g);
    return rv;
}

static void init_report(const struct init_args *a,
                        const struct seqd_keys *keys,
                        const struct net_genesis *g)
{
    char pubkey[2 * HS_PUBKEY_LEN + 1];
    char hash[2 * SEQ_HASH_LEN + 1];
    char node_key[41];
    char abs[PATH_MAX];
    hs_node_t index;
    uint32_t i;

    seq_hex_encode(keys->validator.pubkey.bytes, HS_PUBKEY_LEN, pubkey);
    seq_hex_encode(g->hash.bytes, SEQ_HASH_LEN, hash);
    zmq_z85_encode(node_key, keys->node.public_key, NET_CURVE_KEY_LEN);
    if (realpath(a->home, abs) == NULL) {
        snprintf(abs, sizeof abs, "%s", a->home);
    }
    printf("initialised %s\n", abs);
    printf("  moniker       %s\n", a->config.moniker);
    printf("  chain_id      %s\n", g->chain_id);
    printf("  genesis_hash  %s\n", hash);
    if (net_genesis_find(g, &keys->validator.pubkey, &index) == 0) {
        printf("  validator     %s (index %u of %u)\n", pubkey, index,
               g->n_validators);
    } else {
        printf(
            "  validator     %s (not in this genesis: the node follows\n"
            "                until a new genesis lists this key)\n",
            pubkey);
    }
    for (i = 0; i < g->n_namespaces; i++) {
        const struct net_namespace *ns = &g->namespaces[i];

        printf("  namespace     %llu %s (weight %u, max_tx_size %u)\n",
               (unsigned long long)ns->id, ns->name, ns->weight,
               ns->max_tx_size);
    }
    printf("  node_key      %s\n", node_key);
    printf("  p2p           %s\n", a->config.p2p_listen);
    printf("  http          %s\n", a->config.http_listen);
    printf("  client        %s\n", a->config.client_listen);
    printf("start it with: seqd start --home %s\n", abs);
}

int seqd_init_main(int argc, char **argv)
{
    struct init_args a; /* ~21 KiB with its namespaces; fine in main. */
    struct seqd_keys keys;
    struct net_genesis *g;
    char errmsg[SEQ_ERRMSG_LEN];
    char path[PATH_LEN];
    bool new_home;
    int rv;

    rv = init_parse(argc, argv, &a);
    if (rv != 0) {
        return rv < 0 ? SEQD_OK : rv;
    }
    if (report_existing("init", a.home, 0, N_HOME_FILES) > 0) {
        return SEQD_FAIL;
    }
    if (!join(path, a.home, home_files[FILE_GENESIS])) {
        return seqd_fail("init", "%s: path too long", a.home);
    }
    new_home = !exists(a.home);
    if (seqd_mkdir_p(a.home, 0700) != 0) {
        return seqd_fail("init", "%s: %s", a.home, strerror(errno));
    }
    rv = seqd_keys_generate("init", &keys);
    if (rv != 0) {
        goto err_after_mkdir;
    }
    rv = seqd_home_write("init", a.home, &a.config, &keys);
    if (rv != 0) {
        goto err_after_keys;
    }
    if (a.genesis != NULL) {
        rv = init_copy_genesis(a.genesis, path);
    } else {
        rv = init_own_genesis(&a, &keys, path);
    }
    if (rv != 0) {
        goto err_after_home;
    }
    g = seq_malloc(sizeof *g);
    if (g == NULL) {
        rv = seqd_fail("init", "out of memory");
        goto err_after_home;
    }
    if (net_genesis_load(path, g, errmsg) != 0) {
        rv = seqd_fail("init", "%s", errmsg);
        seq_free(g);
        goto err_after_home;
    }
    init_report(&a, &keys, g);
    seq_free(g);
    explicit_bzero(&keys, sizeof keys);
    return SEQD_OK;

err_after_home:
    remove_written(a.home, 0, N_HOME_FILES); /* None existed before. */
err_after_keys:
    explicit_bzero(&keys, sizeof keys);
err_after_mkdir:
    if (new_home) {
        rmdir(a.home);
    }
    return rv;
}

/* -------------------------------------------------------------- keygen */

static const char keygen_usage[] =
    "usage: seqd keygen [--home DIR]\n"
    "\n"
    "Generate a secp256k1 validator key and a CURVE node key. With --home\n"
    "(or $SEQ_HOME) they are written to DIR/priv_validator_key.json and\n"
    "DIR/node_key.json (mode 0600; existing keys are never overwritten)\n"
    "and the public keys are printed as JSON, ready for a genesis:\n"
    "  {\"pubkey\": \"<64 hex>\", \"node_key\": \"<40 Z85>\"}\n"
    "Without a home the keys exist nowhere else, so the secret halves are\n"
    "printed too (\"seckey\", \"node_secret_key\"): keep them secret.\n"
    "\n"
    "  --home DIR   write the keys into this home directory\n";

int seqd_keygen_main(int argc, char **argv)
{
    static const struct option options[] = {
        { "home", required_argument, NULL, 'H' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char pubkey[2 * HS_PUBKEY_LEN + 1];
    char node_key[41];
    struct seqd_keys keys;
    const char *home = NULL;
    int rv;
    int c;

    opterr = 0;
    for (c = getopt_long(argc, argv, ":h", options, NULL); c != -1;
         c = getopt_long(argc, argv, ":h", options, NULL)) {
        if (c == 'H') {
            home = optarg;
        } else if (c == 'h') {
            fputs(keygen_usage, stdout);
            return SEQD_OK;
        } else {
            return seqd_bad_option("keygen", c, argv);
        }
    }
    if (optind < argc) {
        return seqd_usage_error("keygen", "unexpected argument '%s'",
                                argv[optind]);
    }
    home = seqd_home(home);
    if (home != NULL &&
        report_existing("keygen", home, FILE_NODE_KEY, FILE_VAL_KEY + 1) > 0) {
        return SEQD_FAIL;
    }
    rv = seqd_keys_generate("keygen", &keys);
    if (rv != 0) {
        return rv;
    }
    if (home != NULL) {
        if (seqd_mkdir_p(home, 0700) != 0) {
            rv = seqd_fail("keygen", "%s: %s", home, strerror(errno));
        } else {
            rv = write_keys("keygen", home, &keys);
        }
    }
    if (rv == 0 && home != NULL) {
        seq_hex_encode(keys.validator.pubkey.bytes, HS_PUBKEY_LEN, pubkey);
        zmq_z85_encode(node_key, keys.node.public_key, NET_CURVE_KEY_LEN);
        printf("{\"pubkey\": \"%s\", \"node_key\": \"%s\"}\n", pubkey,
               node_key);
    } else if (rv == 0) {
        /* No home: the keys exist nowhere but here, so print all of them
         * (public keys alone would be a validator slot nobody can sign
         * for). */
        char seckey[2 * 32 + 1];
        char node_secret[41];

        seq_hex_encode(keys.validator.pubkey.bytes, HS_PUBKEY_LEN, pubkey);
        seq_hex_encode(keys.validator.seckey, 32, seckey);
        zmq_z85_encode(node_key, keys.node.public_key, NET_CURVE_KEY_LEN);
        zmq_z85_encode(node_secret, keys.node.secret_key, NET_CURVE_KEY_LEN);
        fputs(
            "seqd keygen: no --home: printing the SECRET keys; store them "
            "as priv_validator_key.json and node_key.json (mode 0600)\n",
            stderr);
        printf(
            "{\"pubkey\": \"%s\", \"seckey\": \"%s\", \"node_key\": "
            "\"%s\", \"node_secret_key\": \"%s\"}\n",
            pubkey, seckey, node_key, node_secret);
        explicit_bzero(seckey, sizeof seckey);
        explicit_bzero(node_secret, sizeof node_secret);
    }
    explicit_bzero(&keys, sizeof keys);
    return rv;
}
