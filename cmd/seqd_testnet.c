/* seqd testnet: a ready local network in one command (DESIGN §8). For N
 * validators it makes DIR/node0 .. DIR/node{N-1}, each a complete home
 * (keys, config.toml, data/) holding the same genesis.json, byte for byte,
 * which lists all N and registers K rollups (namespaces 1..K, named
 * rollup-1 .. rollup-K; DESIGN §5); and DIR/testnet.json (format in
 * net/net_home.h), which the cluster tests and scripts read to find the
 * nodes and the namespaces. Node i listens on base+10i (p2p), base+10i+1
 * (HTTP) and base+10i+2 (clients).
 *
 * All or nothing: everything is built in a hidden staging directory next to
 * DIR and renamed to DIR at the end, so an interrupted run leaves no
 * half-made network, and a failed one removes its staging directory. DIR
 * may exist only if it is empty: a testnet is never written over another. */

#define _XOPEN_SOURCE   700 /* mkdtemp, nftw, realpath */
#define _DEFAULT_SOURCE     /* explicit_bzero */

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net_home.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hex.h"
#include "seqd.h"

#define PATH_LEN     4096
#define PORT_STRIDE  10
#define DEFAULT_PORT 26600

static const char testnet_usage[] =
    "usage: seqd testnet --validators N --output-dir DIR [--rollups K]\n"
    "                    [--base-port P] [--chain-id ID] [--host H]\n"
    "                    [--base-timeout-ms T]\n"
    "\n"
    "Create a local network of N validators: DIR/node0 .. DIR/node<N-1>\n"
    "(complete home directories sharing one genesis.json) and\n"
    "DIR/testnet.json describing them. Node i listens on P+10i (p2p),\n"
    "P+10i+1 (HTTP) and P+10i+2 (clients). DIR must not exist or be empty.\n"
    "\n"
    "  --validators N        1 to 64\n"
    "  --output-dir DIR      where to create the network\n"
    "  --rollups K           register K rollups in the genesis, 0 to 256\n"
    "                        (default 0): namespaces 1..K named rollup-1 ..\n"
    "                        rollup-K, weight 1, max_tx_size 65536\n"
    "  --base-port P         first port (default 26600)\n"
    "  --chain-id ID         chain name (default seq-local)\n"
    "  --base-timeout-ms T   consensus base timeout, 50 to 600000 (default "
    "1000)\n"
    "  --host H              address every node listens on and is dialled "
    "at\n"
    "                        (default 127.0.0.1)\n";

struct testnet_args {
    uint64_t n;
    uint64_t rollups;
    uint64_t base_port;
    uint64_t base_timeout_ms;
    const char *output_dir;
    const char *chain_id;
    const char *host;
};

static bool host_ok(const char *host)
{
    size_t i;

    for (i = 0; host[i] != '\0'; i++) {
        char c = host[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '-')) {
            return false;
        }
    }
    return i > 0 && i < 64;
}

/* 0, -1 after --help, or the usage error's exit status. */
static int testnet_parse(int argc, char **argv, struct testnet_args *a)
{
    static const struct option options[] = {
        { "validators", required_argument, NULL, 'n' },
        { "output-dir", required_argument, NULL, 'o' },
        { "rollups", required_argument, NULL, 'r' },
        { "base-port", required_argument, NULL, 'p' },
        { "chain-id", required_argument, NULL, 'c' },
        { "base-timeout-ms", required_argument, NULL, 't' },
        { "host", required_argument, NULL, 'H' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int rv = 0;
    int c;

    memset(a, 0, sizeof *a);
    a->base_port = DEFAULT_PORT;
    a->base_timeout_ms = 1000;
    a->chain_id = "seq-local";
    a->host = "127.0.0.1";
    opterr = 0;
    for (c = getopt_long(argc, argv, ":h", options, NULL); c != -1;
         c = getopt_long(argc, argv, ":h", options, NULL)) {
        switch (c) {
        case 'n':
            rv = seqd_parse_uint("testnet", "--validators", optarg, 1,
                                 HS_MAX_VALIDATORS, &a->n);
            break;
        case 'o':
            a->output_dir = optarg;
            break;
        case 'r':
            rv = seqd_parse_uint("testnet", "--rollups", optarg, 0,
                                 NET_MAX_NAMESPACES, &a->rollups);
            break;
        case 'p':
            rv = seqd_parse_uint("testnet", "--base-port", optarg, 1, 65535,
                                 &a->base_port);
            break;
        case 'c':
            a->chain_id = optarg;
            break;
        case 't':
            rv = seqd_parse_uint("testnet", "--base-timeout-ms", optarg, 50,
                                 600000, &a->base_timeout_ms);
            break;
        case 'H':
            a->host = optarg;
            break;
        case 'h':
            fputs(testnet_usage, stdout);
            return -1;
        default:
            return seqd_bad_option("testnet", c, argv);
        }
        if (rv != 0) {
            return rv;
        }
    }
    if (optind < argc) {
        return seqd_usage_error("testnet", "unexpected argument '%s'",
                                argv[optind]);
    }
    if (a->n == 0) {
        return seqd_usage_error("testnet", "--validators is required");
    }
    if (a->output_dir == NULL || a->output_dir[0] == '\0') {
        return seqd_usage_error("testnet", "--output-dir is required");
    }
    if (a->base_port + PORT_STRIDE * (a->n - 1) + 2 > 65535) {
        return seqd_usage_error(
            "testnet",
            "--base-port %llu: %llu validators need ports up to %llu, past "
            "65535",
            (unsigned long long)a->base_port, (unsigned long long)a->n,
            (unsigned long long)(a->base_port + PORT_STRIDE * (a->n - 1) + 2));
    }
    if (!host_ok(a->host)) {
        return seqd_usage_error("testnet",
                                "--host: want a host name or IPv4 "
                                "address, not '%s'",
                                a->host);
    }
    if (strlen(a->chain_id) >= NET_NAME_MAX) {
        return seqd_usage_error("testnet",
                                "--chain-id: longer than %d "
                                "characters",
                                NET_NAME_MAX - 1);
    }
    return 0;
}

/* ------------------------------------------------------ the directory */

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    bool empty = true;

    if (d == NULL) {
        return false;
    }
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = false;
            break;
        }
    }
    closedir(d);
    return empty;
}

/* Where the network goes: @abs is the absolute path of the output
 * directory (its parent created if needed), @parent the directory that
 * holds it. Refuses an existing output directory that is not empty. */
static int resolve_output(const char *dir,
                          char abs[PATH_LEN],
                          char parent[PATH_LEN])
{
    char copy[PATH_LEN];
    char real_parent[PATH_MAX];
    struct stat st;
    char *slash;
    size_t len = strlen(dir);

    if (len >= sizeof copy) {
        return seqd_fail("testnet", "--output-dir: path too long");
    }
    memcpy(copy, dir, len + 1);
    while (len > 1 && copy[len - 1] == '/') {
        copy[--len] = '\0';
    }
    if (stat(copy, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            return seqd_fail("testnet", "%s exists and is not a directory",
                             dir);
        }
        if (!dir_is_empty(copy)) {
            return seqd_fail("testnet",
                             "%s exists and is not empty; remove it or "
                             "choose another --output-dir",
                             dir);
        }
        if (realpath(copy, real_parent) == NULL ||
            strcmp(real_parent, "/") == 0) {
            return seqd_fail("testnet", "%s: cannot use this directory", dir);
        }
        snprintf(copy, sizeof copy, "%s", real_parent);
    }
    slash = strrchr(copy, '/');
    if (slash == NULL) {
        snprintf(parent, PATH_LEN, ".");
    } else if (slash == copy) {
        snprintf(parent, PATH_LEN, "/");
    } else {
        *slash = '\0';
        snprintf(parent, PATH_LEN, "%s", copy);
        *slash = '/';
    }
    if (seqd_mkdir_p(parent, 0755) != 0 ||
        realpath(parent, real_parent) == NULL) {
        return seqd_fail("testnet", "%s: %s", parent, strerror(errno));
    }
    if (snprintf(abs, PATH_LEN, "%s/%s",
                 strcmp(real_parent, "/") == 0 ? "" : real_parent,
                 slash == NULL ? copy : slash + 1) >= PATH_LEN) {
        return seqd_fail("testnet", "--output-dir: path too long");
    }
    snprintf(parent, PATH_LEN, "%s", real_parent);
    return 0;
}

static int rm_entry(const char *path,
                    const struct stat *st,
                    int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ----------------------------------------------------------- contents */

/* @stage/node@i, or @stage/node@i/@file. The staging path is short enough
 * for this (seqd_testnet_main checks), so the assert is ours to keep. */
static void node_path(char out[PATH_LEN],
                      const char *stage,
                      uint64_t i,
                      const char *file)
{
    int n = snprintf(out, PATH_LEN, "%s/node%u%s%s", stage, (unsigned)i,
                     file != NULL ? "/" : "", file != NULL ? file : "");

    assert(n > 0 && n < PATH_LEN);
}

/* config.toml for node @i of the network. */
static void node_config(const struct testnet_args *a,
                        uint64_t i,
                        struct net_config *c)
{
    unsigned port = (unsigned)(a->base_port + PORT_STRIDE * i);

    net_config_defaults(c);
    snprintf(c->moniker, sizeof c->moniker, "node%u", (unsigned)i);
    snprintf(c->p2p_listen, sizeof c->p2p_listen, "tcp://%s:%u", a->host, port);
    snprintf(c->http_listen, sizeof c->http_listen, "%s:%u", a->host, port + 1);
    snprintf(c->client_listen, sizeof c->client_listen, "tcp://%s:%u", a->host,
             port + 2);
}

static json_t *node_json(const struct testnet_args *a,
                         uint64_t i,
                         const char *abs)
{
    struct net_config c;
    char home[PATH_LEN + 16];
    char http[NET_ADDR_MAX + 8];

    node_config(a, i, &c);
    snprintf(home, sizeof home, "%s/node%u", abs, (unsigned)i);
    snprintf(http, sizeof http, "http://%s", c.http_listen);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "index", (json_int_t)i,
                     "name", c.moniker, "home", home, "p2p", c.p2p_listen,
                     "http", http, "client", c.client_listen);
}

/* @root as two-space indented JSON and a final newline, in a new buffer
 * (seq_free). NULL when out of memory. */
static char *render(json_t *root, size_t *len)
{
    size_t size = json_dumpb(root, NULL, 0, JSON_INDENT(2));
    char *text;

    if (size == 0) {
        return NULL;
    }
    text = seq_malloc(size + 1);
    if (text == NULL) {
        return NULL;
    }
    if (json_dumpb(root, text, size, JSON_INDENT(2)) != size) {
        seq_free(text);
        return NULL;
    }
    text[size] = '\n';
    *len = size + 1;
    return text;
}

/* DIR/testnet.json, written into the staging directory @stage. */
static int write_testnet_json(const struct testnet_args *a,
                              const char *stage,
                              const char *abs,
                              const struct net_genesis *g)
{
    char hash[2 * SEQ_HASH_LEN + 1];
    char path[PATH_LEN];
    json_t *namespaces;
    json_t *nodes;
    json_t *root = NULL;
    char *text = NULL;
    size_t len = 0;
    uint64_t i;
    int rv = SEQD_OK;

    seq_hex_encode(g->hash.bytes, SEQ_HASH_LEN, hash);
    namespaces = json_array();
    for (i = 0; namespaces != NULL && i < g->n_namespaces; i++) {
        if (json_array_append_new(
                namespaces,
                json_pack("{s:I, s:s}", "id", (json_int_t)g->namespaces[i].id,
                          "name", g->namespaces[i].name)) != 0) {
            json_decref(namespaces);
            namespaces = NULL;
        }
    }
    nodes = json_array();
    for (i = 0; nodes != NULL && i < a->n; i++) {
        if (json_array_append_new(nodes, node_json(a, i, abs)) != 0) {
            json_decref(nodes);
            nodes = NULL;
        }
    }
    if (namespaces != NULL && nodes != NULL) {
        /* "o" takes the references, even when json_pack fails. */
        root = json_pack("{s:s, s:s, s:I, s:o, s:o}", "chain_id", g->chain_id,
                         "genesis_hash", hash, "validators", (json_int_t)a->n,
                         "namespaces", namespaces, "nodes", nodes);
    } else {
        json_decref(namespaces);
        json_decref(nodes);
    }
    if (root != NULL) {
        text = render(root, &len);
    }
    if (text == NULL) {
        rv = seqd_fail("testnet", "out of memory");
    } else if (snprintf(path, sizeof path, "%s/testnet.json", stage) >=
                   (int)sizeof path ||
               seqd_create_file(path, text, len) != 0) {
        rv = seqd_fail("testnet", "%s/testnet.json: %s", abs, strerror(errno));
    }
    seq_free(text);
    json_decref(root);
    return rv;
}

/* The genesis of the network: every node a validator, in index order. */
static void testnet_genesis(const struct testnet_args *a,
                            const struct seqd_keys *keys,
                            struct net_genesis *g)
{
    uint64_t i;

    memset(g, 0, sizeof *g);
    snprintf(g->chain_id, sizeof g->chain_id, "%s", a->chain_id);
    seqd_utc_now(g->genesis_time);
    g->epoch = 0;
    g->base_timeout_ms = a->base_timeout_ms;
    g->n_validators = (uint32_t)a->n;
    for (i = 0; i < a->n; i++) {
        struct net_validator *v = &g->validators[i];
        struct net_config c;

        node_config(a, i, &c);
        memcpy(v->name, c.moniker, sizeof v->name);
        v->pubkey = keys[i].validator.pubkey;
        memcpy(v->node_key, keys[i].node.public_key, NET_CURVE_KEY_LEN);
        memcpy(v->p2p, c.p2p_listen, sizeof v->p2p);
    }
    g->n_namespaces = (uint32_t)a->rollups;
    for (i = 0; i < a->rollups; i++) {
        struct net_namespace *ns = &g->namespaces[i];

        ns->id = i + 1;
        snprintf(ns->name, sizeof ns->name, "rollup-%u", (unsigned)(i + 1));
        ns->weight = NET_DEFAULT_WEIGHT;
        ns->max_tx_size = NET_DEFAULT_MAX_TX_SIZE;
    }
}

/* Writes genesis.json into node0 and copies its bytes to the others; sets
 * g->hash from what was written. */
static int write_genesis(const struct testnet_args *a,
                         const char *stage,
                         struct net_genesis *g)
{
    char errmsg[SEQ_ERRMSG_LEN];
    char path[PATH_LEN];
    uint8_t *bytes;
    size_t len;
    uint64_t i;
    int rv = SEQD_OK;

    node_path(path, stage, 0, "genesis.json");
    if (net_genesis_write(path, g, errmsg) != 0 ||
        net_genesis_load(path, g, errmsg) != 0) {
        return seqd_fail("testnet", "%s", errmsg);
    }
    if (seqd_read_file(path, &bytes, &len) != 0) {
        return seqd_fail("testnet", "%s: %s", path, strerror(errno));
    }
    for (i = 1; rv == SEQD_OK && i < a->n; i++) {
        node_path(path, stage, i, "genesis.json");
        if (seqd_create_file(path, bytes, len) != 0) {
            rv = seqd_fail("testnet", "%s: %s", path, strerror(errno));
        }
    }
    seq_free(bytes);
    return rv;
}

/* Every node's home inside @stage, then the shared genesis. */
static int build(const struct testnet_args *a,
                 const char *stage,
                 struct net_genesis *g)
{
    struct seqd_keys *keys;
    char home[PATH_LEN];
    uint64_t i;
    int rv = SEQD_OK;

    keys = seq_calloc(a->n, sizeof *keys);
    if (keys == NULL) {
        return seqd_fail("testnet", "out of memory");
    }
    for (i = 0; rv == SEQD_OK && i < a->n; i++) {
        struct net_config c;

        node_config(a, i, &c);
        node_path(home, stage, i, NULL);
        if (mkdir(home, 0700) != 0) {
            rv = seqd_fail("testnet", "%s: %s", home, strerror(errno));
            break;
        }
        rv = seqd_keys_generate("testnet", &keys[i]);
        if (rv == SEQD_OK) {
            rv = seqd_home_write("testnet", home, &c, &keys[i]);
        }
    }
    if (rv == SEQD_OK) {
        testnet_genesis(a, keys, g);
        rv = write_genesis(a, stage, g);
    }
    explicit_bzero(keys, a->n * sizeof *keys);
    seq_free(keys);
    return rv;
}

static void report(const struct testnet_args *a,
                   const char *abs,
                   const struct net_genesis *g)
{
    char hash[2 * SEQ_HASH_LEN + 1];
    uint64_t i;

    seq_hex_encode(g->hash.bytes, SEQ_HASH_LEN, hash);
    printf("testnet: %u validators in %s\n", (unsigned)a->n, abs);
    printf("  chain_id      %s\n", g->chain_id);
    printf("  genesis_hash  %s\n", hash);
    if (g->n_namespaces == 0) {
        printf("  namespaces    none (--rollups K registers some)\n");
    } else {
        printf("  namespaces    %u: ids %llu..%llu, %s .. %s\n",
               g->n_namespaces, (unsigned long long)g->namespaces[0].id,
               (unsigned long long)g->namespaces[g->n_namespaces - 1].id,
               g->namespaces[0].name, g->namespaces[g->n_namespaces - 1].name);
    }
    for (i = 0; i < a->n; i++) {
        struct net_config c;

        node_config(a, i, &c);
        printf("  %-6s p2p %s  http %s  client %s\n", c.moniker, c.p2p_listen,
               c.http_listen, c.client_listen);
    }
    printf("start node i with: seqd start --home %s/node<i>\n", abs);
}

/* fsync @dir, so that a rename into it survives a crash. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int seqd_testnet_main(int argc, char **argv)
{
    struct testnet_args a;
    struct net_genesis *g;
    char abs[PATH_LEN];
    char parent[PATH_LEN];
    char stage[PATH_LEN];
    int rv;

    rv = testnet_parse(argc, argv, &a);
    if (rv != 0) {
        return rv < 0 ? SEQD_OK : rv;
    }
    rv = resolve_output(a.output_dir, abs, parent);
    if (rv != 0) {
        return rv;
    }
    if (strlen(parent) + 64 > sizeof stage) {
        return seqd_fail("testnet", "--output-dir: path too long");
    }
    snprintf(stage, sizeof stage, "%s/.testnet-XXXXXX", parent);
    if (mkdtemp(stage) == NULL) {
        return seqd_fail("testnet", "%s: %s", parent, strerror(errno));
    }
    g = seq_malloc(sizeof *g);
    if (g == NULL) {
        rv = seqd_fail("testnet", "out of memory");
        goto err_after_stage;
    }
    rv = build(&a, stage, g);
    if (rv == SEQD_OK) {
        rv = write_testnet_json(&a, stage, abs, g);
    }
    if (rv != SEQD_OK) {
        goto err_after_genesis;
    }
    /* rename(2) replaces an empty directory, and fails if one appeared
     * and filled up meanwhile: nothing is ever written over. */
    if (rename(stage, abs) != 0) {
        rv = seqd_fail("testnet", "rename to %s: %s", abs, strerror(errno));
        goto err_after_genesis;
    }
    sync_dir(parent);
    report(&a, abs, g);
    seq_free(g);
    return SEQD_OK;

err_after_genesis:
    seq_free(g);
err_after_stage:
    nftw(stage, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rv;
}
