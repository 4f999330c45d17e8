/* Helpers shared by seqctl, seq-exec and seqbench (see seqctl_util.h). */

#define _POSIX_C_SOURCE 200809L

#include "seqctl_util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "seq_alloc.h"
#include "seq_hex.h"

volatile sig_atomic_t seqctl_stop;

#define TESTNET_MAX_BYTES (1u << 20)

static void on_signal(int sig)
{
    (void)sig;
    seqctl_stop = 1;
}

void seqctl_signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void vreport(const char *prog, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vreport(const char *prog, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int seqctl_vusage_error(const char *prog, const char *fmt, va_list ap)
{
    vreport(prog, fmt, ap);
    fprintf(stderr, "Try '%s --help'.\n", prog);
    return SEQCTL_USAGE;
}

int seqctl_vfail(const char *prog, const char *fmt, va_list ap)
{
    vreport(prog, fmt, ap);
    return SEQCTL_FAIL;
}

int seqctl_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    int rv;

    va_start(ap, fmt);
    rv = seqctl_vusage_error(prog, fmt, ap);
    va_end(ap);
    return rv;
}

int seqctl_fail(const char *prog, const char *fmt, ...)
{
    va_list ap;
    int rv;

    va_start(ap, fmt);
    rv = seqctl_vfail(prog, fmt, ap);
    va_end(ap);
    return rv;
}

int seqctl_bad_option(const char *prog, int c, char **argv)
{
    const char *arg = argv[optind - 1];

    if (c == ':') {
        return seqctl_usage_error(prog, "option '%s' needs a value", arg);
    }
    if (optopt != 0 && strncmp(arg, "--", 2) != 0) {
        return seqctl_usage_error(prog, "unknown option '-%c'", optopt);
    }
    return seqctl_usage_error(prog, "unknown option '%s'", arg);
}

uint64_t seqctl_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t seqctl_now_ms(void)
{
    return seqctl_now_us() / 1000u;
}

int seqctl_parse_u64(const char *text,
                     uint64_t min,
                     uint64_t max,
                     uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (text == NULL || text[0] == '\0' || strlen(text) > 20) {
        return -1;
    }
    for (i = 0; text[i] != '\0'; i++) {
        unsigned d;

        if (text[i] < '0' || text[i] > '9') {
            return -1;
        }
        d = (unsigned)(text[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    if (v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int seqctl_parse_hash(const char *text, struct seq_hash *out)
{
    if (text == NULL || strlen(text) != 2 * SEQ_HASH_LEN) {
        return -1;
    }
    return seq_hex_decode(text, out->bytes, SEQ_HASH_LEN) == 0 ? 0 : -1;
}

void seqctl_hash_hex(const struct seq_hash *h, char out[65])
{
    seq_hex_encode(h->bytes, SEQ_HASH_LEN, out);
}

int seqctl_check_endpoint(const char *endpoint)
{
    const char *colon;
    uint64_t port;

    if (endpoint == NULL || strlen(endpoint) >= SEQCTL_ADDR_MAX) {
        return -1;
    }
    if (strncmp(endpoint, "ipc://", 6) == 0) {
        return endpoint[6] != '\0' ? 0 : -1;
    }
    if (strncmp(endpoint, "tcp://", 6) != 0) {
        return -1;
    }
    colon = strrchr(endpoint + 6, ':');
    if (colon == NULL || colon == endpoint + 6 ||
        seqctl_parse_u64(colon + 1, 1, 65535, &port) != 0) {
        return -1;
    }
    return 0;
}

int seqctl_read_file(const char *path,
                     size_t max,
                     uint8_t **out,
                     size_t *len,
                     char errmsg[SEQ_ERRMSG_LEN])
{
    FILE *f;
    uint8_t *buf;
    size_t n = 0;
    bool is_stdin = strcmp(path, "-") == 0;
    int rv = SEQ_OK;

    f = is_stdin ? stdin : fopen(path, "rb");
    if (f == NULL) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: %s", path, strerror(errno));
        return SEQ_EIO;
    }
    buf = seq_malloc(max + 2);
    if (buf == NULL) {
        rv = SEQ_ENOMEM;
        snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: out of memory", path);
        goto out;
    }
    /* Read one byte past @max to tell "exactly max" from "more". */
    n = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: read error", path);
        rv = SEQ_EIO;
    } else if (n > max) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: more than %zu bytes", path, max);
        rv = SEQ_ETOOBIG;
    }
    if (rv != 0) {
        seq_free(buf);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;

out:
    if (!is_stdin) {
        fclose(f);
    }
    return rv;
}

static int node_from_json(const char *path,
                          const json_t *node,
                          uint32_t i,
                          struct seqctl_testnet *out,
                          char errmsg[SEQ_ERRMSG_LEN])
{
    const char *client = json_string_value(json_object_get(node, "client"));
    const char *home = json_string_value(json_object_get(node, "home"));

    if (client == NULL || seqctl_check_endpoint(client) != 0) {
        snprintf(errmsg, SEQ_ERRMSG_LEN,
                 "%s: nodes[%u].client: want \"tcp://host:port\"", path,
                 (unsigned)i);
        return SEQ_EINVAL;
    }
    if (home == NULL || home[0] == '\0' || strlen(home) >= SEQCTL_PATH_MAX) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: nodes[%u].home: want a path",
                 path, (unsigned)i);
        return SEQ_EINVAL;
    }
    snprintf(out->client[i], sizeof out->client[i], "%s", client);
    snprintf(out->home[i], sizeof out->home[i], "%s", home);
    return SEQ_OK;
}

int seqctl_testnet_load(const char *path,
                        struct seqctl_testnet *out,
                        char errmsg[SEQ_ERRMSG_LEN])
{
    json_error_t jerr;
    json_t *root;
    const json_t *nodes;
    uint8_t *text;
    size_t len;
    size_t i;
    int rv;

    rv = seqctl_read_file(path, TESTNET_MAX_BYTES, &text, &len, errmsg);
    if (rv != 0) {
        return rv;
    }
    root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    seq_free(text);
    if (root == NULL) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: line %d: %s", path, jerr.line,
                 jerr.text);
        return SEQ_EINVAL;
    }
    nodes = json_object_get(root, "nodes");
    if (!json_is_array(nodes) || json_array_size(nodes) == 0 ||
        json_array_size(nodes) > SEQC_MAX_VALIDATORS) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: \"nodes\": want 1 to %d nodes",
                 path, SEQC_MAX_VALIDATORS);
        json_decref(root);
        return SEQ_EINVAL;
    }
    memset(out, 0, sizeof *out);
    for (i = 0; i < json_array_size(nodes); i++) {
        rv = node_from_json(path, json_array_get(nodes, i), (uint32_t)i, out,
                            errmsg);
        if (rv != 0) {
            json_decref(root);
            return rv;
        }
    }
    out->n_nodes = (uint32_t)json_array_size(nodes);
    json_decref(root);
    return SEQ_OK;
}

int seqctl_genesis_find(const char *path,
                        const struct seqctl_testnet *testnet,
                        uint32_t node,
                        struct seqc_genesis *out,
                        char errmsg[SEQ_ERRMSG_LEN])
{
    char buf[SEQCTL_PATH_MAX + 16];

    if (path == NULL && testnet != NULL && node < testnet->n_nodes) {
        snprintf(buf, sizeof buf, "%s/genesis.json", testnet->home[node]);
        path = buf;
    }
    if (path == NULL) {
        snprintf(errmsg, SEQ_ERRMSG_LEN,
                 "no genesis: give --genesis FILE or --testnet FILE");
        return SEQ_EINVAL;
    }
    return seqc_genesis_load(path, out, errmsg);
}

static int fsync_dir_of(const char *path)
{
    char buf[SEQCTL_PATH_MAX];
    int fd;
    int rv;

    if (strlen(path) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, strlen(path) + 1);
    fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    rv = fsync(fd);
    close(fd);
    return rv;
}

int seqctl_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[SEQCTL_PATH_MAX];
    const uint8_t *p = data;
    int fd;
    int saved;

    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            goto err;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) != 0) {
        goto err;
    }
    if (close(fd) != 0) {
        fd = -1;
        goto err;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        goto err;
    }
    return fsync_dir_of(path);

err:
    saved = errno;
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    errno = saved;
    return -1;
}
