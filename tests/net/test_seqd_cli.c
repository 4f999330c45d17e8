/* The seqd command line, run as an operator runs it: the built binary
 * (SEQD_PATH, from tests/net/CMakeLists.txt) in a child process with
 * stdout and stderr captured, in a temporary directory. testnet writes N
 * complete homes that share one genesis and a testnet.json that describes
 * them; keys are 0600; init and keygen never overwrite a key; status speaks
 * HTTP to a node (a fake one here) and fails clearly when there is none;
 * every subcommand answers --help, and every bad command line exits
 * non-zero with a message. Starting a real node is the cluster tier's. */

#define _XOPEN_SOURCE 700 /* realpath, kill. */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "net_home.h"
#include "seq_err.h"
#include "seq_hash.h"
#include "seq_hex.h"
#include "test_fs.h"

#ifndef SEQD_PATH
#error "tests/net/CMakeLists.txt passes the path of the seqd binary"
#endif

#define OUT_MAX       65536
#define RUN_TIMEOUT_S 30

/* ---- Scratch directory. ---- */

#define SCRATCH_LEN 512
#define AT_LEN      (SCRATCH_LEN + 512)

static char scratch[SCRATCH_LEN];

static void scratch_open(void)
{
    char dir[PATH_MAX];
    char real[PATH_MAX];

    test_tmpdir("seqd-cli", dir, sizeof dir);
    ASSERT_TRUE(realpath(dir, real) != NULL);
    ASSERT_LT(strlen(real), sizeof scratch);
    memcpy(scratch, real, strlen(real) + 1);
}

static void scratch_close(void)
{
    test_rm_tree(scratch);
}

/* A path under the scratch directory; rotates through a few buffers so
 * that one call may take several. */
static const char *at(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static const char *at(const char *fmt, ...)
{
    static char bufs[8][AT_LEN];
    static unsigned next;
    char *buf = bufs[next++ % 8];
    char rel[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    snprintf(buf, AT_LEN, "%s/%s", scratch, rel);
    return buf;
}

static bool exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* ---- Running seqd. ---- */

struct run {
    int status; /* Exit status, or 128 + signal. */
    char out[OUT_MAX];
    char err[OUT_MAX];
};

static struct run result;
static const char *env_seq_home; /* SEQ_HOME for the child, or unset. */

static void read_capture(const char *path, char *buf)
{
    int fd = open(path, O_RDONLY);
    ssize_t n;

    ASSERT_TRUE(fd >= 0);
    n = read(fd, buf, OUT_MAX - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    unlink(path);
}

/* Runs seqd with the NULL-terminated arguments into `result`; kills it if
 * it takes longer than RUN_TIMEOUT_S. */
static struct run *seqd(const char *arg, ...)
{
    const char *argv[32];
    char out_path[AT_LEN];
    char err_path[AT_LEN];
    va_list ap;
    size_t n = 0;
    time_t start = time(NULL);
    int status;
    pid_t pid;

    argv[n++] = SEQD_PATH;
    va_start(ap, arg);
    for (; arg != NULL && n < 31; arg = va_arg(ap, const char *)) {
        argv[n++] = arg;
    }
    va_end(ap);
    argv[n] = NULL;
    snprintf(out_path, sizeof out_path, "%s/.stdout", scratch);
    snprintf(err_path, sizeof err_path, "%s/.stderr", scratch);
    fflush(stdout);
    pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);

        if (out < 0 || err < 0 || in < 0 || dup2(in, 0) < 0 ||
            dup2(out, 1) < 0 || dup2(err, 2) < 0) {
            _exit(127);
        }
        if (env_seq_home != NULL) {
            setenv("SEQ_HOME", env_seq_home, 1);
        } else {
            unsetenv("SEQ_HOME");
        }
        execv(SEQD_PATH, (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, WNOHANG) == 0) {
        struct timespec ts = { 0, 5 * 1000 * 1000 };

        if (time(NULL) - start > RUN_TIMEOUT_S) {
            kill(pid, SIGKILL);
        }
        nanosleep(&ts, NULL);
    }
    result.status =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    read_capture(out_path, result.out);
    read_capture(err_path, result.err);
    /* Under ASan a leak exits 1, which a failure case would take for its
     * own exit status: look for the report instead. */
    if (strstr(result.err, "Sanitizer") != NULL) {
        harness_fail(__FILE__, __LINE__, "seqd %s: sanitizer report:\n%s",
                     argv[1] != NULL ? argv[1] : "", result.err);
    }
    return &result;
}

/* Exit status @want and, if not NULL, @text in stdout or stderr. */
static void expect(const struct run *r,
                   int want,
                   const char *where,
                   const char *text,
                   int line)
{
    const char *buf =
        where != NULL && strcmp(where, "out") == 0 ? r->out : r->err;

    if (r->status != want) {
        harness_fail(__FILE__, line, "exit %d, want %d\nstdout: %s\nstderr: %s",
                     r->status, want, r->out, r->err);
    }
    if (text != NULL && strstr(buf, text) == NULL) {
        harness_fail(__FILE__, line,
                     "std%s lacks \"%s\"\nstdout: %s\nstderr: %s", where, text,
                     r->out, r->err);
    }
}

#define EXPECT(r, want, where, text) \
    expect((r), (want), (where), (text), __LINE__)

/* ------------------------------------------------------ usage, --help */

TEST(cli, usage_and_help)
{
    static const char *const commands[] = { "init",  "keygen", "testnet",
                                            "start", "status", "version" };
    char want[64];
    size_t i;

    scratch_open();
    EXPECT(seqd(NULL), 2, "err", "usage: seqd <command>");
    EXPECT(seqd("--help", NULL), 0, "out", "testnet");
    EXPECT(&result, 0, "out", "status");
    EXPECT(seqd("help", NULL), 0, "out", "usage: seqd");
    EXPECT(seqd("frobnicate", NULL), 2, "err", "unknown command 'frobnicate'");
    EXPECT(&result, 2, "err", "usage: seqd");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        snprintf(want, sizeof want, "usage: seqd %s", commands[i]);
        EXPECT(seqd(commands[i], "--help", NULL), 0, "out", want);
        EXPECT(seqd(commands[i], "-h", NULL), 0, "out", want);
    }
    EXPECT(seqd("version", NULL), 0, "out", "seqd ");
    EXPECT(&result, 0, "out", "libzmq ");
    scratch_close();
}

TEST(cli, bad_command_lines_exit_2_with_a_message)
{
    static const struct {
        const char *args[8];
        const char *want;
    } cases[] = {
        { { "init", "--bogus" }, "seqd init: unknown option '--bogus'" },
        { { "init", "--home" }, "option '--home' needs a value" },
        { { "init" }, "--home is required" },
        { { "init", "--home", "h", "--genesis", "g", "--chain-id", "c" },
          "--chain-id and --genesis exclude each other" },
        { { "init", "--home", "h", "extra" }, "unexpected argument 'extra'" },
        { { "keygen", "-x" }, "seqd keygen: unknown option '-x'" },
        { { "testnet", "--output-dir", "d" }, "--validators is required" },
        { { "testnet", "--validators", "4" }, "--output-dir is required" },
        { { "testnet", "--validators", "0", "--output-dir", "d" },
          "--validators: want a number from 1 to 64, not '0'" },
        { { "testnet", "--validators", "65", "--output-dir", "d" },
          "--validators: want a number from 1 to 64" },
        { { "testnet", "--validators", "4x", "--output-dir", "d" },
          "--validators: want a number" },
        { { "testnet", "--validators", "-1", "--output-dir", "d" },
          "--validators: want a number" },
        { { "testnet", "--validators", "4", "--output-dir", "d", "--base-port",
            "65510" },
          "past 65535" },
        { { "testnet", "--validators", "64", "--output-dir", "d", "--base-port",
            "64904" },
          "64 validators need ports up to 65536, past 65535" },
        { { "testnet", "--validators", "1", "--output-dir", "d", "--base-port",
            "0" },
          "--base-port: want a number from 1 to 65535" },
        { { "testnet", "--validators", "1", "--output-dir", "d",
            "--base-timeout-ms", "49" },
          "--base-timeout-ms: want a number from 50 to 600000" },
        { { "testnet", "--validators", "1", "--output-dir", "d", "--host",
            "a b" },
          "--host: want a host name" },
        { { "testnet", "--validators", "1", "--output-dir", "d", "--rollups",
            "257" },
          "--rollups: want a number from 0 to 256, not '257'" },
        { { "testnet", "--validators", "1", "--output-dir", "d", "--rollups",
            "-1" },
          "--rollups: want a number from 0 to 256" },
        { { "testnet", "--validators", "1", "--output-dir", "d", "--rollups",
            "3x" },
          "--rollups: want a number" },
        { { "testnet", "--validators", "1", "--output-dir", "d", "--rollups",
            "" },
          "--rollups: want a number" },
        { { "testnet", "--validators", "1", "--output-dir", "d", "--rollups" },
          "option '--rollups' needs a value" },
        { { "init", "--home", "h", "--namespace", "0:a" },
          "--namespace ID: want a number from 1 to 9223372036854775807, "
          "not '0'" },
        { { "init", "--home", "h", "--namespace", "x:a" },
          "--namespace ID: want a number" },
        { { "init", "--home", "h", "--namespace", "1" },
          "--namespace '1': want ID:NAME[:WEIGHT[:MAX_TX_SIZE]]" },
        { { "init", "--home", "h", "--namespace", "1:a:1:1:1" },
          "--namespace '1:a:1:1:1': want ID:NAME" },
        { { "init", "--home", "h", "--namespace", "1:" },
          "--namespace '1:': NAME: want 1 to 63 characters" },
        { { "init", "--home", "h", "--namespace", "1:a b" },
          "NAME: want 1 to 63 characters" },
        { { "init", "--home", "h", "--namespace", "1:a:0" },
          "--namespace WEIGHT: want a number from 1 to 1000000, not '0'" },
        { { "init", "--home", "h", "--namespace", "1:a:1000001" },
          "--namespace WEIGHT: want a number from 1 to 1000000" },
        { { "init", "--home", "h", "--namespace", "1:a:1:0" },
          "--namespace MAX_TX_SIZE: want a number from 1 to 1048576, not "
          "'0'" },
        { { "init", "--home", "h", "--namespace", "1:a:1:1048577" },
          "--namespace MAX_TX_SIZE: want a number from 1 to 1048576" },
        { { "init", "--home", "h", "--namespace", "1:a", "--namespace", "1:b" },
          "--namespace: id 1 given twice" },
        { { "init", "--home", "h", "--namespace", "1:a", "--namespace", "2:a" },
          "--namespace: name a given twice" },
        { { "init", "--home", "h", "--namespace", "1:a", "--genesis", "g" },
          "--namespace and --genesis exclude each other" },
        { { "start" }, "--home is required" },
        { { "start", "--home", "h", "--log-format", "xml" },
          "--log-format: want logfmt or json" },
        { { "status" }, "give --home or --http" },
        { { "status", "--http", "nonsense" }, "--http: want host:port" },
        { { "status", "--http", "h:1", "--home", "x" }, "not both" },
        { { "version", "now" }, "unexpected argument 'now'" },
    };
    size_t i;

    scratch_open();
    ASSERT_EQ(chdir(scratch), 0);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *a = cases[i].args;

        seqd(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], NULL);
        if (result.status != 2 || strstr(result.err, cases[i].want) == NULL) {
            harness_fail(__FILE__, __LINE__,
                         "case %zu: exit %d, stderr \"%s\" lacks \"%s\"", i,
                         result.status, result.err, cases[i].want);
        }
        ASSERT_CONTAINS(result.err, "--help");
    }
    ASSERT_FALSE(exists(at("d")));
    ASSERT_FALSE(exists(at("h")));
    ASSERT_EQ(chdir("/"), 0);
    scratch_close();
}

/* ------------------------------------------------------------ testnet */

static void sha256_hex(const char *path, char out[65])
{
    struct seq_hash h;
    size_t len;
    char *bytes = test_read_file(path, &len);

    seq_sha256(bytes, len, &h);
    seq_hex_encode(h.bytes, SEQ_HASH_LEN, out);
    free(bytes);
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    ASSERT_TRUE(json_is_string(v));
    return json_string_value(v);
}

/* Node @i of the network at @dir (base port @port): its home is complete
 * and agrees with testnet.json's entry @node and with the genesis @g. */
static void check_node(const char *dir,
                       unsigned i,
                       unsigned port,
                       json_t *node,
                       const struct net_genesis *g)
{
    char errmsg[SEQ_ERRMSG_LEN];
    char want[256];
    struct net_config c;
    struct net_node_key nk;
    struct net_validator_key vk;

    ASSERT_EQ(json_integer_value(json_object_get(node, "index")), i);
    snprintf(want, sizeof want, "node%u", i);
    ASSERT_STREQ(jstr(node, "name"), want);
    snprintf(want, sizeof want, "%s/node%u", dir, i);
    ASSERT_STREQ(jstr(node, "home"), want);
    ASSERT_EQ(test_file_mode(want), 0700u);
    snprintf(want, sizeof want, "tcp://127.0.0.1:%u", port + 10 * i);
    ASSERT_STREQ(jstr(node, "p2p"), want);
    ASSERT_STREQ(g->validators[i].p2p, want);
    snprintf(want, sizeof want, "http://127.0.0.1:%u", port + 10 * i + 1);
    ASSERT_STREQ(jstr(node, "http"), want);
    snprintf(want, sizeof want, "tcp://127.0.0.1:%u", port + 10 * i + 2);
    ASSERT_STREQ(jstr(node, "client"), want);

    ASSERT_OK(net_config_load(at("net/node%u/config.toml", i), &c, errmsg));
    ASSERT_STREQ(c.p2p_listen, jstr(node, "p2p"));
    ASSERT_STREQ(c.http_listen, jstr(node, "http") + strlen("http://"));
    ASSERT_STREQ(c.client_listen, jstr(node, "client"));
    ASSERT_STREQ(c.moniker, g->validators[i].name);

    ASSERT_EQ(test_file_mode(at("net/node%u/node_key.json", i)), 0600u);
    ASSERT_EQ(test_file_mode(at("net/node%u/priv_validator_key.json", i)),
              0600u);
    ASSERT_OK(
        net_node_key_load(at("net/node%u/node_key.json", i), &nk, errmsg));
    ASSERT_OK(net_validator_key_load(
        at("net/node%u/priv_validator_key.json", i), &vk, errmsg));
    ASSERT_MEMEQ(&vk.pubkey, &g->validators[i].pubkey, sizeof vk.pubkey);
    ASSERT_MEMEQ(nk.public_key, g->validators[i].node_key, NET_CURVE_KEY_LEN);
    ASSERT_TRUE(exists(at("net/node%u/data", i)));
}

TEST(cli, testnet_writes_a_ready_network)
{
    struct net_genesis *g = malloc(sizeof *g);
    struct net_genesis *other = malloc(sizeof *other);
    char errmsg[SEQ_ERRMSG_LEN];
    char hash[65];
    char hex[65];
    json_t *root;
    json_t *nodes;
    char *genesis0;
    unsigned i;

    scratch_open();
    EXPECT(seqd("testnet", "--validators", "4", "--output-dir", at("net"),
                "--base-port", "30000", NULL),
           0, "out", "4 validators");
    root = json_load_file(at("net/testnet.json"), JSON_REJECT_DUPLICATES, NULL);
    ASSERT_TRUE(root != NULL);
    ASSERT_STREQ(jstr(root, "chain_id"), "seq-local");
    ASSERT_EQ(json_integer_value(json_object_get(root, "validators")), 4);
    ASSERT_TRUE(json_is_array(json_object_get(root, "namespaces")));
    ASSERT_EQ(json_array_size(json_object_get(root, "namespaces")), 0u);
    ASSERT_CONTAINS(result.out, "namespaces    none");
    sha256_hex(at("net/node0/genesis.json"), hash);
    ASSERT_STREQ(jstr(root, "genesis_hash"), hash);
    ASSERT_CONTAINS(result.out, hash);

    ASSERT_OK(net_genesis_load(at("net/node0/genesis.json"), g, errmsg));
    seq_hex_encode(g->hash.bytes, SEQ_HASH_LEN, hex);
    ASSERT_STREQ(hex, hash);
    ASSERT_EQ(g->n_validators, 4u);
    ASSERT_EQ(g->base_timeout_ms, 1000u);
    ASSERT_EQ(g->n_namespaces, 0u);
    nodes = json_object_get(root, "nodes");
    ASSERT_EQ(json_array_size(nodes), 4u);
    genesis0 = test_read_file(at("net/node0/genesis.json"), NULL);
    for (i = 0; i < 4; i++) {
        char *bytes = test_read_file(at("net/node%u/genesis.json", i), NULL);

        ASSERT_STREQ(bytes, genesis0); /* The same bytes everywhere. */
        free(bytes);
        check_node(at("net"), i, 30000, json_array_get(nodes, i), g);
    }
    /* Nothing was left next to the network (no staging directory). */
    ASSERT_EQ(test_count_entries(scratch), 1u);
    ASSERT_OK(net_genesis_load(at("net/node3/genesis.json"), other, errmsg));
    ASSERT_TRUE(seq_hash_eq(&other->hash, &g->hash));
    free(genesis0);
    json_decref(root);
    free(other);
    free(g);
    scratch_close();
}

/* --rollups K: the genesis registers namespaces 1..K and testnet.json
 * lists them, so a script or the cluster tests know what to submit to. */
TEST(cli, testnet_registers_rollups)
{
    struct net_genesis *g = malloc(sizeof *g);
    char errmsg[SEQ_ERRMSG_LEN];
    char want[NET_NAME_MAX];
    json_t *root;
    json_t *list;
    char *genesis0;
    unsigned i;

    scratch_open();
    EXPECT(seqd("testnet", "--validators", "4", "--rollups", "3",
                "--output-dir", at("net"), "--base-port", "30100", NULL),
           0, "out", "namespaces    3: ids 1..3, rollup-1 .. rollup-3");
    ASSERT_OK(net_genesis_load(at("net/node0/genesis.json"), g, errmsg));
    ASSERT_EQ(g->n_namespaces, 3u);
    root = json_load_file(at("net/testnet.json"), JSON_REJECT_DUPLICATES, NULL);
    ASSERT_TRUE(root != NULL);
    list = json_object_get(root, "namespaces");
    ASSERT_EQ(json_array_size(list), 3u);
    for (i = 0; i < 3; i++) {
        json_t *ns = json_array_get(list, i);

        snprintf(want, sizeof want, "rollup-%u", i + 1);
        ASSERT_EQ(g->namespaces[i].id, i + 1);
        ASSERT_STREQ(g->namespaces[i].name, want);
        ASSERT_EQ(g->namespaces[i].weight, 1u);
        ASSERT_EQ(g->namespaces[i].max_tx_size, 65536u);
        ASSERT_EQ(json_integer_value(json_object_get(ns, "id")), i + 1);
        ASSERT_STREQ(jstr(ns, "name"), want);
        ASSERT_EQ(json_object_size(ns), 2u);
    }
    genesis0 = test_read_file(at("net/node0/genesis.json"), NULL);
    for (i = 1; i < 4; i++) {
        char *bytes = test_read_file(at("net/node%u/genesis.json", i), NULL);

        ASSERT_STREQ(bytes, genesis0);
        free(bytes);
    }
    json_decref(root);

    /* The most a genesis may hold. */
    EXPECT(seqd("testnet", "--validators", "1", "--rollups", "256",
                "--output-dir", at("big"), NULL),
           0, "out", "namespaces    256: ids 1..256");
    ASSERT_OK(net_genesis_load(at("big/node0/genesis.json"), g, errmsg));
    ASSERT_EQ(g->n_namespaces, 256u);
    ASSERT_STREQ(g->namespaces[255].name, "rollup-256");
    root = json_load_file(at("big/testnet.json"), JSON_REJECT_DUPLICATES, NULL);
    ASSERT_TRUE(root != NULL);
    ASSERT_EQ(json_array_size(json_object_get(root, "namespaces")), 256u);
    json_decref(root);

    /* --rollups 0 is the default: no "namespaces" in the genesis at all. */
    EXPECT(seqd("testnet", "--validators", "1", "--rollups", "0",
                "--output-dir", at("none"), NULL),
           0, "out", "namespaces    none");
    free(genesis0);
    genesis0 = test_read_file(at("none/node0/genesis.json"), NULL);
    ASSERT_TRUE(strstr(genesis0, "namespaces") == NULL);
    free(genesis0);
    free(g);
    scratch_close();
}

TEST(cli, testnet_options_and_refusals)
{
    struct net_genesis *g = malloc(sizeof *g);
    char errmsg[SEQ_ERRMSG_LEN];
    struct net_config c;
    char *before;
    char *after;

    scratch_open();
    ASSERT_EQ(mkdir(at("empty"), 0755), 0); /* An empty directory is fine. */
    EXPECT(seqd("testnet", "--validators", "7", "--output-dir", at("empty"),
                "--base-port", "40000", "--chain-id", "chain-x",
                "--base-timeout-ms", "250", "--host", "127.0.0.2", NULL),
           0, "out", "7 validators");
    /* A host the node could not bind is refused up front, not at start. */
    EXPECT(seqd("testnet", "--validators", "4", "--output-dir", at("lh"),
                "--host", "localhost", NULL),
           1, "err", "IPv4-address");
    ASSERT_FALSE(exists(at("lh")));
    ASSERT_OK(net_genesis_load(at("empty/node6/genesis.json"), g, errmsg));
    ASSERT_STREQ(g->chain_id, "chain-x");
    ASSERT_EQ(g->base_timeout_ms, 250u);
    ASSERT_EQ(g->n_validators, 7u);
    ASSERT_STREQ(g->validators[6].p2p, "tcp://127.0.0.2:40060");
    ASSERT_OK(net_config_load(at("empty/node6/config.toml"), &c, errmsg));
    ASSERT_STREQ(c.http_listen, "127.0.0.2:40061");

    /* A second network is never written over the first. */
    before = test_read_file(at("empty/testnet.json"), NULL);
    EXPECT(
        seqd("testnet", "--validators", "2", "--output-dir", at("empty"), NULL),
        1, "err", "exists and is not empty");
    ASSERT_CONTAINS(result.err, at("empty"));
    ASSERT_TRUE(exists(at("empty/node6")));
    after = test_read_file(at("empty/testnet.json"), NULL);
    ASSERT_STREQ(after, before);

    /* Parents are created; the largest network fits its ports exactly
     * (the last client port is 65535). */
    EXPECT(seqd("testnet", "--validators", "64", "--output-dir", at("a/b/big"),
                "--base-port", "64903", NULL),
           0, NULL, NULL);
    ASSERT_OK(net_genesis_load(at("a/b/big/node63/genesis.json"), g, errmsg));
    ASSERT_STREQ(g->validators[63].p2p, "tcp://127.0.0.1:65533");
    ASSERT_OK(net_config_load(at("a/b/big/node63/config.toml"), &c, errmsg));
    ASSERT_STREQ(c.client_listen, "tcp://127.0.0.1:65535");

    /* A file where the directory should go. */
    EXPECT(seqd("testnet", "--validators", "1", "--output-dir",
                at("empty/testnet.json"), NULL),
           1, "err", "is not a directory");
    free(after);
    free(before);
    free(g);
    scratch_close();
}

/* ---------------------------------------------------------------- init */

TEST(cli, init_makes_a_home_and_never_overwrites)
{
    struct net_genesis *g = malloc(sizeof *g);
    char errmsg[SEQ_ERRMSG_LEN];
    struct net_validator_key vk;
    struct net_node_key nk;
    struct net_config c;
    char *key_before;
    char *node_before;
    char *key_after;
    char *node_after;

    scratch_open();
    EXPECT(seqd("init", "--home", at("h"), "--moniker", "alice", "--chain-id",
                "c1", "--p2p", "tcp://127.0.0.1:31000", "--http",
                "127.0.0.1:31001", "--client", "tcp://127.0.0.1:31002", NULL),
           0, "out", "index 0 of 1");
    ASSERT_EQ(test_file_mode(at("h")), 0700u);
    ASSERT_EQ(test_file_mode(at("h/node_key.json")), 0600u);
    ASSERT_EQ(test_file_mode(at("h/priv_validator_key.json")), 0600u);
    ASSERT_TRUE(exists(at("h/data")));
    ASSERT_OK(net_config_load(at("h/config.toml"), &c, errmsg));
    ASSERT_STREQ(c.moniker, "alice");
    ASSERT_STREQ(c.p2p_listen, "tcp://127.0.0.1:31000");
    ASSERT_STREQ(c.http_listen, "127.0.0.1:31001");
    ASSERT_STREQ(c.client_listen, "tcp://127.0.0.1:31002");
    ASSERT_OK(net_genesis_load(at("h/genesis.json"), g, errmsg));
    ASSERT_STREQ(g->chain_id, "c1");
    ASSERT_EQ(g->n_validators, 1u);
    ASSERT_STREQ(g->validators[0].name, "alice");
    ASSERT_STREQ(g->validators[0].p2p, "tcp://127.0.0.1:31000");
    ASSERT_OK(
        net_validator_key_load(at("h/priv_validator_key.json"), &vk, errmsg));
    ASSERT_OK(net_node_key_load(at("h/node_key.json"), &nk, errmsg));
    ASSERT_MEMEQ(&vk.pubkey, &g->validators[0].pubkey, sizeof vk.pubkey);
    ASSERT_MEMEQ(nk.public_key, g->validators[0].node_key, NET_CURVE_KEY_LEN);

    key_before = test_read_file(at("h/priv_validator_key.json"), NULL);
    node_before = test_read_file(at("h/node_key.json"), NULL);
    EXPECT(seqd("init", "--home", at("h"), NULL), 1, "err", "refusing");
    ASSERT_CONTAINS(result.err, "priv_validator_key.json");
    ASSERT_CONTAINS(result.err, "node_key.json");
    EXPECT(seqd("keygen", "--home", at("h"), NULL), 1, "err", "refusing");
    key_after = test_read_file(at("h/priv_validator_key.json"), NULL);
    node_after = test_read_file(at("h/node_key.json"), NULL);
    ASSERT_STREQ(key_after, key_before);
    ASSERT_STREQ(node_after, node_before);

    /* One key left from an earlier attempt is enough to refuse. */
    ASSERT_EQ(mkdir(at("k"), 0700), 0);
    ASSERT_EQ(rename(at("h/node_key.json"), at("k/node_key.json")), 0);
    EXPECT(seqd("init", "--home", at("k"), NULL), 1, "err", "node_key.json");
    ASSERT_FALSE(exists(at("k/config.toml")));
    free(key_after);
    free(node_after);
    free(key_before);
    free(node_before);
    free(g);
    scratch_close();
}

/* --namespace registers rollups in the genesis init makes, sorted by id
 * whatever the order given, with the defaults filled in. */
TEST(cli, init_registers_namespaces)
{
    struct net_genesis *g = malloc(sizeof *g);
    char errmsg[SEQ_ERRMSG_LEN];

    scratch_open();
    EXPECT(seqd("init", "--home", at("h"), "--namespace", "7:gamma:1:1048576",
                "--namespace", "2:beta:3", "--namespace", "1:alpha", NULL),
           0, "out", "namespace     1 alpha (weight 1, max_tx_size 65536)");
    ASSERT_CONTAINS(result.out,
                    "namespace     7 gamma (weight 1, max_tx_size 1048576)");
    ASSERT_OK(net_genesis_load(at("h/genesis.json"), g, errmsg));
    ASSERT_EQ(g->n_namespaces, 3u);
    ASSERT_EQ(g->namespaces[0].id, 1u);
    ASSERT_STREQ(g->namespaces[0].name, "alpha");
    ASSERT_EQ(g->namespaces[0].weight, 1u);
    ASSERT_EQ(g->namespaces[0].max_tx_size, 65536u);
    ASSERT_EQ(g->namespaces[1].id, 2u);
    ASSERT_STREQ(g->namespaces[1].name, "beta");
    ASSERT_EQ(g->namespaces[1].weight, 3u);
    ASSERT_EQ(g->namespaces[1].max_tx_size, 65536u);
    ASSERT_EQ(g->namespaces[2].id, 7u);
    ASSERT_EQ(g->namespaces[2].max_tx_size, 1048576u);

    /* Without --namespace: none, and no member in the file. */
    EXPECT(seqd("init", "--home", at("plain"), NULL), 0, NULL, NULL);
    ASSERT_TRUE(strstr(result.out, "namespace ") == NULL);
    ASSERT_OK(net_genesis_load(at("plain/genesis.json"), g, errmsg));
    ASSERT_EQ(g->n_namespaces, 0u);
    free(g);
    scratch_close();
}

TEST(cli, init_with_genesis_copies_its_bytes)
{
    struct net_genesis *g = malloc(sizeof *g);
    char errmsg[SEQ_ERRMSG_LEN];
    char *want;
    char *got;

    scratch_open();
    EXPECT(
        seqd("testnet", "--validators", "4", "--output-dir", at("net"), NULL),
        0, NULL, NULL);
    EXPECT(seqd("init", "--home", at("follower"), "--genesis",
                at("net/node0/genesis.json"), NULL),
           0, "out", "not in this genesis");
    want = test_read_file(at("net/node0/genesis.json"), NULL);
    got = test_read_file(at("follower/genesis.json"), NULL);
    ASSERT_STREQ(got, want);
    ASSERT_OK(net_genesis_load(at("follower/genesis.json"), g, errmsg));
    ASSERT_EQ(g->n_validators, 4u);

    /* A genesis that does not load is refused, and nothing is left. */
    got[strlen(got) / 2] = '\0';
    {
        FILE *f = fopen(at("broken.json"), "w");
        ASSERT_TRUE(f != NULL);
        fputs(got, f);
        fclose(f);
    }
    EXPECT(
        seqd("init", "--home", at("h2"), "--genesis", at("broken.json"), NULL),
        1, "err", "broken.json");
    ASSERT_FALSE(exists(at("h2")));
    EXPECT(
        seqd("init", "--home", at("h3"), "--genesis", at("missing.json"), NULL),
        1, "err", "missing.json: no such file");
    ASSERT_FALSE(exists(at("h3")));
    free(got);
    free(want);
    free(g);
    scratch_close();
}

TEST(cli, init_failure_leaves_nothing_and_SEQ_HOME_is_the_default)
{
    scratch_open();
    EXPECT(seqd("init", "--home", at("bad"), "--p2p", "127.0.0.1:1", NULL), 1,
           "err", "[p2p] listen: want tcp://IPv4-address:port");
    ASSERT_FALSE(exists(at("bad")));
    EXPECT(seqd("init", "--home", at("wild"), "--p2p", "tcp://0.0.0.0:1", NULL),
           1, "err", "validators[0].p2p");
    ASSERT_FALSE(exists(at("wild")));
    EXPECT(seqd("init", "--home", at("long"), "--moniker",
                "a123456789b123456789c123456789d123456789e123456789f1234567"
                "89g123",
                NULL),
           2, "err", "--moniker: longer than 63");

    env_seq_home = at("env");
    EXPECT(seqd("init", NULL), 0, "out", at("env"));
    env_seq_home = NULL;
    ASSERT_TRUE(exists(at("env/config.toml")));
    ASSERT_TRUE(exists(at("env/genesis.json")));
    scratch_close();
}

/* -------------------------------------------------------------- keygen */

TEST(cli, keygen_prints_or_writes_keys)
{
    char errmsg[SEQ_ERRMSG_LEN];
    struct net_validator_key vk;
    char first[OUT_MAX];
    char hex[65];
    json_t *keys;

    scratch_open();
    EXPECT(seqd("keygen", NULL), 0, NULL, NULL);
    keys = json_loads(result.out, 0, NULL);
    ASSERT_TRUE(keys != NULL);
    ASSERT_EQ(strlen(jstr(keys, "pubkey")), 64u);
    ASSERT_EQ(strlen(jstr(keys, "node_key")), 40u);
    json_decref(keys);
    memcpy(first, result.out, sizeof first);
    EXPECT(seqd("keygen", NULL), 0, NULL, NULL);
    ASSERT_TRUE(strcmp(first, result.out) != 0);
    ASSERT_FALSE(exists(at("config.toml")));

    EXPECT(seqd("keygen", "--home", at("keys"), NULL), 0, NULL, NULL);
    ASSERT_EQ(test_file_mode(at("keys/node_key.json")), 0600u);
    ASSERT_EQ(test_file_mode(at("keys/priv_validator_key.json")), 0600u);
    ASSERT_OK(net_validator_key_load(at("keys/priv_validator_key.json"), &vk,
                                     errmsg));
    seq_hex_encode(vk.pubkey.bytes, 32, hex);
    ASSERT_CONTAINS(result.out, hex);
    EXPECT(seqd("keygen", "--home", at("keys"), NULL), 1, "err", "refusing");
    scratch_close();
}

/* -------------------------------------------------------------- status */

/* How the fake node answers. */
enum fake_mode {
    FAKE_OK = 1,
    FAKE_SILENT,
    FAKE_503,
};

/* A one-process HTTP server on 127.0.0.1 that answers up to @n requests
 * as @mode says. Returns its pid; *port is where it listens. */
static pid_t fake_node(enum fake_mode mode, int n, unsigned *port)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    pid_t pid;

    ASSERT_TRUE(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    ASSERT_EQ(listen(fd, 4), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid > 0) {
        close(fd);
        return pid;
    }
    while (n-- > 0) {
        char req[2048] = "";
        size_t got = 0;
        int c = accept(fd, NULL, NULL);
        const char *answer;

        if (c < 0) {
            _exit(1);
        }
        while (got < sizeof req - 1 && strstr(req, "\r\n\r\n") == NULL) {
            ssize_t r = read(c, req + got, sizeof req - 1 - got);
            if (r <= 0) {
                break;
            }
            got += (size_t)r;
            req[got] = '\0';
        }
        if (mode == FAKE_SILENT) {
            pause();
        }
        if (strncmp(req, "GET /v1/status HTTP/1.0\r\n", 25) != 0) {
            answer = "HTTP/1.0 400 Bad Request\r\n\r\nwrong request";
        } else if (mode == FAKE_503) {
            answer =
                "HTTP/1.0 503 Service Unavailable\r\n"
                "Content-Type: text/plain\r\n\r\nstarting up";
        } else {
            answer =
                "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                "\r\n{\"chain_id\":\"seq-local\",\"height\":7}";
        }
        if (write(c, answer, strlen(answer)) < 0) {
            _exit(1);
        }
        close(c);
    }
    _exit(0);
}

static void fake_stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

TEST(cli, status_prints_what_the_node_answers)
{
    char http[64];
    unsigned port;
    pid_t pid;

    scratch_open();
    pid = fake_node(FAKE_OK, 2, &port);
    snprintf(http, sizeof http, "http://127.0.0.1:%u", port);
    EXPECT(seqd("status", "--http", http, NULL), 0, "out", "\"height\": 7");
    ASSERT_CONTAINS(result.out, "\"chain_id\": \"seq-local\"");

    /* Through a home: the [rpc] http address of its config.toml. */
    snprintf(http, sizeof http, "127.0.0.1:%u", port);
    EXPECT(seqd("init", "--home", at("h"), "--http", http, NULL), 0, NULL,
           NULL);
    EXPECT(seqd("status", "--home", at("h"), NULL), 0, "out", "\"height\": 7");
    fake_stop(pid);

    pid = fake_node(FAKE_503, 1, &port);
    snprintf(http, sizeof http, "127.0.0.1:%u", port);
    EXPECT(seqd("status", "--http", http, NULL), 1, "err",
           "answered 503 Service Unavailable: starting up");
    fake_stop(pid);
    scratch_close();
}

TEST(cli, status_fails_clearly_without_a_node)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    char http[64];
    unsigned port;
    time_t start;
    pid_t pid;
    int fd;

    scratch_open();
    /* A port nobody listens on: bound, then closed. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    snprintf(http, sizeof http, "127.0.0.1:%u", ntohs(addr.sin_port));
    EXPECT(seqd("status", "--http", http, NULL), 1, "err", "cannot reach");
    ASSERT_CONTAINS(result.err, "Connection refused");

    /* A node that accepts and never answers: the timeout ends it. */
    pid = fake_node(FAKE_SILENT, 1, &port);
    snprintf(http, sizeof http, "127.0.0.1:%u", port);
    start = time(NULL);
    EXPECT(seqd("status", "--http", http, "--timeout-ms", "300", NULL), 1,
           "err", "timed out");
    ASSERT_LE(time(NULL) - start, 5);
    fake_stop(pid);

    EXPECT(seqd("status", "--home", at("nohome"), NULL), 1, "err",
           "config.toml: no such file");
    scratch_close();
}

TEST(cli, start_needs_a_home)
{
    scratch_open();
    EXPECT(seqd("start", "--home", at("absent"), NULL), 1, "err",
           "not a home directory");
    scratch_close();
}

TEST_MAIN()
