/* seqd, the validator daemon and its operator subcommands (DESIGN §8):
 * this file dispatches on the subcommand, holds the helpers they share,
 * and implements the two that are only wiring: version, and start, which
 * installs the signal handlers and hands over to net_node_run(). init,
 * keygen and testnet (seqd_home.c, seqd_testnet.c) write home directories;
 * status (seqd_status.c) asks a running node over HTTP.
 *
 * Exit status: 0 on success, 1 when the work failed (the reason is on
 * stderr), 2 for a bad command line. Each subcommand parses its options
 * with getopt_long and answers --help with its usage on stdout. */

#define _POSIX_C_SOURCE 200809L

#include "seqd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "net_node.h"
#include "seq_alloc.h"
#include "seqctl_util.h"

#ifndef SEQ_VERSION
#error "SEQ_VERSION is defined by cmd/CMakeLists.txt"
#endif

static const char usage_text[] =
    "usage: seqd <command> [options]\n"
    "\n"
    "A validator of the shared sequencer (2-chain HotStuff over ZeroMQ).\n"
    "\n"
    "commands:\n"
    "  init      create a home directory: config, keys, a one-validator "
    "genesis\n"
    "  keygen    generate a validator key and a CURVE node key\n"
    "  testnet   create the home directories of a local N-validator "
    "network\n"
    "  start     run the validator of a home directory\n"
    "  status    ask a running node for its status\n"
    "  version   print the version of seqd and its libraries\n"
    "\n"
    "Run 'seqd <command> --help' for the options of a command. --home\n"
    "defaults to $SEQ_HOME.\n";

static void print_usage(FILE *out)
{
    fputs(usage_text, out);
}

/* ------------------------------------------------------------ helpers */

const char *seqd_home(const char *option)
{
    const char *env;

    if (option != NULL) {
        return option;
    }
    env = getenv("SEQ_HOME");
    return env != NULL && env[0] != '\0' ? env : NULL;
}

/* seqd's reports are seqctl_util's, under the program name "seqd <cmd>". */
static const char *prog_of(const char *cmd, char buf[64])
{
    snprintf(buf, 64, "seqd %s", cmd);
    return buf;
}

int seqd_usage_error(const char *cmd, const char *fmt, ...)
{
    char prog[64];
    va_list ap;
    int rv;

    va_start(ap, fmt);
    rv = seqctl_vusage_error(prog_of(cmd, prog), fmt, ap);
    va_end(ap);
    return rv;
}

int seqd_fail(const char *cmd, const char *fmt, ...)
{
    char prog[64];
    va_list ap;
    int rv;

    va_start(ap, fmt);
    rv = seqctl_vfail(prog_of(cmd, prog), fmt, ap);
    va_end(ap);
    return rv;
}

int seqd_bad_option(const char *cmd, int c, char **argv)
{
    char prog[64];

    return seqctl_bad_option(prog_of(cmd, prog), c, argv);
}

int seqd_parse_uint(const char *cmd,
                    const char *option,
                    const char *text,
                    uint64_t min,
                    uint64_t max,
                    uint64_t *out)
{
    unsigned long long v;
    char *end;

    errno = 0;
    v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 ||
        v < min || v > max) {
        return seqd_usage_error(cmd,
                                "%s: want a number from %llu to %llu, "
                                "not '%s'",
                                option, (unsigned long long)min,
                                (unsigned long long)max, text);
    }
    *out = v;
    return 0;
}

int seqd_mkdir_p(const char *path, unsigned mode)
{
    char buf[4096];
    size_t len = strlen(path);
    size_t i;

    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (i = 1; i < len; i++) {
        if (buf[i] != '/') {
            continue;
        }
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            return -1;
        }
        buf[i] = '/';
    }
    if (mkdir(buf, (mode_t)mode) != 0) {
        struct stat st;

        if (errno != EEXIST) {
            return -1;
        }
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            return -1;
        }
    }
    return 0;
}

int seqd_create_file(const char *path, const void *data, size_t len)
{
    const char *p = data;
    int fd;
    int saved;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
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
    return close(fd);

err:
    saved = errno;
    close(fd);
    unlink(path);
    errno = saved;
    return -1;
}

int seqd_read_file(const char *path, uint8_t **out, size_t *len)
{
    struct stat st;
    uint8_t *buf;
    size_t done = 0;
    int fd;
    int saved;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        goto err;
    }
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        goto err;
    }
    if (st.st_size > 1024 * 1024) {
        errno = EFBIG;
        goto err;
    }
    buf = seq_malloc((size_t)st.st_size);
    if (buf == NULL) {
        errno = ENOMEM;
        goto err;
    }
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            saved = n < 0 ? errno : EIO;
            seq_free(buf);
            errno = saved;
            goto err;
        }
        done += (size_t)n;
    }
    close(fd);
    *out = buf;
    *len = done;
    return 0;

err:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* ------------------------------------------------------------ version */

static const char version_usage[] =
    "usage: seqd version\n"
    "\n"
    "Print the version of seqd and of the libraries it runs on.\n";

int seqd_version_main(int argc, char **argv)
{
    static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int major;
    int minor;
    int patch;
    int c;

    opterr = 0;
    for (c = getopt_long(argc, argv, ":h", options, NULL); c != -1;
         c = getopt_long(argc, argv, ":h", options, NULL)) {
        if (c == 'h') {
            fputs(version_usage, stdout);
            return SEQD_OK;
        }
        return seqd_bad_option("version", c, argv);
    }
    if (optind < argc) {
        return seqd_usage_error("version", "unexpected argument '%s'",
                                argv[optind]);
    }
    zmq_version(&major, &minor, &patch);
    printf("seqd %s\n", SEQ_VERSION);
    printf("libzmq %d.%d.%d\n", major, minor, patch);
    printf("jansson %s\n", jansson_version_str());
    return SEQD_OK;
}

/* -------------------------------------------------------------- start */

static const char start_usage[] =
    "usage: seqd start [--home DIR] [--log-level SPEC] [--log-format FMT]\n"
    "\n"
    "Run the validator whose home directory is DIR (default $SEQ_HOME)\n"
    "until SIGTERM or SIGINT; a second signal ends it at once.\n"
    "\n"
    "  --home DIR         home directory made by 'seqd init' or 'seqd "
    "testnet'\n"
    "  --log-level SPEC   'info', or per module: "
    "'consensus=debug,net=warn,info'\n"
    "                     (overrides [log] level in config.toml)\n"
    "  --log-format FMT   logfmt or json (overrides [log] format)\n";

/* Set by the handler, polled by the node's loop once per turn. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int signo)
{
    (void)signo;
    stop_requested = 1;
}

/* SIGTERM and SIGINT ask for a clean stop. SA_RESETHAND restores the
 * default action, so a second signal kills a stop that hangs. No
 * SA_RESTART: the loop's zmq_poll returns with EINTR and sees the flag at
 * once. A peer closing a socket must not kill us, hence SIGPIPE ignored. */
static int install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGINT, &sa, NULL) != 0) {
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGPIPE, &sa, NULL);
}

int seqd_start_main(int argc, char **argv)
{
    static const struct option options[] = {
        { "home", required_argument, NULL, 'H' },
        { "log-level", required_argument, NULL, 'l' },
        { "log-format", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct net_node_options run;
    const char *home = NULL;
    struct stat st;
    int c;

    memset(&run, 0, sizeof run);
    opterr = 0;
    for (c = getopt_long(argc, argv, ":h", options, NULL); c != -1;
         c = getopt_long(argc, argv, ":h", options, NULL)) {
        switch (c) {
        case 'H':
            home = optarg;
            break;
        case 'l':
            run.log_level = optarg;
            break;
        case 'f':
            run.log_format = optarg;
            break;
        case 'h':
            fputs(start_usage, stdout);
            return SEQD_OK;
        default:
            return seqd_bad_option("start", c, argv);
        }
    }
    if (optind < argc) {
        return seqd_usage_error("start", "unexpected argument '%s'",
                                argv[optind]);
    }
    run.home = seqd_home(home);
    if (run.home == NULL) {
        return seqd_usage_error("start",
                                "--home is required (or set "
                                "SEQ_HOME)");
    }
    if (run.log_format != NULL && strcmp(run.log_format, "logfmt") != 0 &&
        strcmp(run.log_format, "json") != 0) {
        return seqd_usage_error("start",
                                "--log-format: want logfmt or "
                                "json, not '%s'",
                                run.log_format);
    }
    if (run.log_level != NULL && run.log_level[0] == '\0') {
        return seqd_usage_error("start", "--log-level: empty");
    }
    if (stat(run.home, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return seqd_fail("start",
                         "%s: not a home directory (create one "
                         "with 'seqd init --home %s')",
                         run.home, run.home);
    }
    if (install_signals() != 0) {
        return seqd_fail("start", "sigaction: %s", strerror(errno));
    }
    return net_node_run(&run, &stop_requested);
}

/* --------------------------------------------------------------- main */

static const struct {
    const char *name;
    int (*main)(int argc, char **argv);
} commands[] = {
    { "init", seqd_init_main },       { "keygen", seqd_keygen_main },
    { "testnet", seqd_testnet_main }, { "start", seqd_start_main },
    { "status", seqd_status_main },   { "version", seqd_version_main },
};

int main(int argc, char **argv)
{
    size_t i;

    /* Everything jansson allocates goes through the project's allocator
     * hook too (STYLE §5); set before the first JSON value exists. */
    json_set_alloc_funcs(seq_malloc, seq_free);

    if (argc < 2) {
        print_usage(stderr);
        return SEQD_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(stdout);
        return SEQD_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        return seqd_version_main(1, argv + 1);
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            optind = 1;
            return commands[i].main(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "seqd: unknown command '%s'\n\n", argv[1]);
    print_usage(stderr);
    return SEQD_USAGE;
}
