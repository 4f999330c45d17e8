/* seqd status: GET /v1/status from a running node and pretty-print the
 * JSON it answers. The address is --http, or [rpc] http from the home's
 * config.toml (a wildcard listen address is asked on loopback).
 *
 * The HTTP client is written by hand: one HTTP/1.0 GET over a TCP socket,
 * read until the server closes. No HTTP client library is among the
 * project's dependencies, and this is all seqd needs. Every step (connect,
 * send, receive) runs against one deadline, so a node that accepts the
 * connection but never answers cannot hang the command. */

#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net_home.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seqd.h"

#define STATUS_PATH     "/v1/status"
#define MAX_RESPONSE    (4u * 1024 * 1024)
#define DEFAULT_TIMEOUT 5000

static const char status_usage[] =
    "usage: seqd status [--home DIR | --http HOST:PORT] [--timeout-ms T]\n"
    "\n"
    "Ask a running node for its status (GET /v1/status) and print it.\n"
    "\n"
    "  --home DIR       ask the node of this home (its [rpc] http address;\n"
    "                   default $SEQ_HOME)\n"
    "  --http ADDR      ask the node at ADDR (host:port or http://host:port)\n"
    "  --timeout-ms T   give up after T milliseconds (default 5000)\n";

struct endpoint {
    char host[NET_ADDR_MAX];
    char port[8];
};

struct response {
    int code;         /* HTTP status code. */
    char reason[64];  /* Its reason phrase. */
    char *data;       /* Whole response; seq_free. */
    const char *body; /* Into data. */
    size_t body_len;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Splits "host:port", "[v6]:port" or "http://host:port[/]". A wildcard
 * host (where a node listens on every interface) becomes loopback. */
static bool parse_endpoint(const char *text, struct endpoint *ep)
{
    char buf[NET_ADDR_MAX];
    const char *host;
    char *colon;
    size_t len;

    if (strncmp(text, "http://", 7) == 0) {
        text += 7;
    }
    len = strlen(text);
    if (len > 0 && text[len - 1] == '/') {
        len--;
    }
    if (len == 0 || len >= sizeof buf) {
        return false;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    colon = strrchr(buf, ':');
    if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) > 5 ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
        return false;
    }
    *colon = '\0';
    host = buf;
    if (host[0] == '[') {
        size_t hl = strlen(host);
        if (hl < 3 || host[hl - 1] != ']') {
            return false;
        }
        buf[hl - 1] = '\0';
        host++;
    }
    if (host[0] == '\0') {
        return false;
    }
    if (strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0) {
        host = "127.0.0.1";
    } else if (strcmp(host, "::") == 0) {
        host = "::1";
    }
    snprintf(ep->host, sizeof ep->host, "%s", host);
    snprintf(ep->port, sizeof ep->port, "%s", colon + 1);
    return atoi(ep->port) >= 1 && atoi(ep->port) <= 65535;
}

/* Waits until @fd is ready for @events or @deadline passes. 1 ready, 0
 * timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = { .fd = fd, .events = events };

    for (;;) {
        int64_t left = deadline - now_ms();
        int rv;

        if (left <= 0) {
            return 0;
        }
        rv = poll(&p, 1, (int)left);
        if (rv < 0 && errno == EINTR) {
            continue;
        }
        return rv < 0 ? -1 : rv;
    }
}

/* A connected non-blocking socket to @ep, or -1 with @err set. */
static int dial(const struct endpoint *ep,
                int64_t deadline,
                char *err,
                size_t err_len)
{
    struct addrinfo hints;
    struct addrinfo *list;
    struct addrinfo *ai;
    int fd = -1;
    int rv;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rv = getaddrinfo(ep->host, ep->port, &hints, &list);
    if (rv != 0) {
        snprintf(err, err_len, "%s: %s", ep->host, gai_strerror(rv));
        return -1;
    }
    snprintf(err, err_len, "no address");
    for (ai = list; ai != NULL; ai = ai->ai_next) {
        int soerr = 0;
        socklen_t soerr_len = sizeof soerr;

        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            snprintf(err, err_len, "socket: %s", strerror(errno));
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        if (errno == EINPROGRESS) {
            rv = wait_fd(fd, POLLOUT, deadline);
            if (rv == 0) {
                snprintf(err, err_len, "timed out connecting");
            } else if (rv > 0 &&
                       getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
                                  &soerr_len) == 0 &&
                       soerr == 0) {
                break;
            } else {
                snprintf(err, err_len, "%s",
                         strerror(soerr != 0 ? soerr : errno));
            }
        } else {
            snprintf(err, err_len, "%s", strerror(errno));
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(list);
    return fd;
}

static int send_all(int fd,
                    const char *data,
                    size_t len,
                    int64_t deadline,
                    char *err,
                    size_t err_len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(fd, POLLOUT, deadline) <= 0) {
                snprintf(err, err_len, "timed out sending the request");
                return -1;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            snprintf(err, err_len, "send: %s", strerror(errno));
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads until the server closes; *out is NUL-terminated (seq_free). */
static int recv_all(int fd,
                    int64_t deadline,
                    char **out,
                    size_t *out_len,
                    char *err,
                    size_t err_len)
{
    size_t cap = 16384;
    size_t len = 0;
    char *buf = seq_malloc(cap);

    if (buf == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    for (;;) {
        ssize_t n;

        if (len + 1 == cap) {
            char *bigger;

            if (cap >= MAX_RESPONSE) {
                snprintf(err, err_len, "response larger than %u bytes",
                         MAX_RESPONSE);
                goto err;
            }
            bigger = seq_realloc(buf, cap * 2);
            if (bigger == NULL) {
                snprintf(err, err_len, "out of memory");
                goto err;
            }
            buf = bigger;
            cap *= 2;
        }
        n = recv(fd, buf + len, cap - len - 1, 0);
        if (n > 0) {
            len += (size_t)n;
            continue;
        }
        if (n == 0) {
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            snprintf(err, err_len, "recv: %s", strerror(errno));
            goto err;
        }
        if (wait_fd(fd, POLLIN, deadline) <= 0) {
            snprintf(err, err_len, "timed out waiting for the answer");
            goto err;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;

err:
    seq_free(buf);
    return -1;
}

/* Splits the raw response ("HTTP/1.x NNN Reason", headers, a blank line,
 * the body) into status code, reason and body. */
static int parse_response(struct response *r,
                          size_t len,
                          char *err,
                          size_t err_len)
{
    const char *d = r->data;
    const char *end = strstr(d, "\r\n\r\n");
    const char *eol = strpbrk(d, "\r\n");
    const char *p;
    size_t skip = 4;
    size_t reason_len;

    if (end == NULL) {
        end = strstr(d, "\n\n");
        skip = 2;
    }
    if (end == NULL || eol == NULL || eol - d < 12 ||
        strncmp(d, "HTTP/1.", 7) != 0 || d[8] != ' ' ||
        strspn(d + 9, "0123456789") < 3) {
        snprintf(err, err_len, "not an HTTP response");
        return -1;
    }
    r->code = (d[9] - '0') * 100 + (d[10] - '0') * 10 + (d[11] - '0');
    p = d[12] == ' ' ? d + 13 : d + 12;
    reason_len = p < eol ? (size_t)(eol - p) : 0;
    if (reason_len >= sizeof r->reason) {
        reason_len = sizeof r->reason - 1;
    }
    memcpy(r->reason, p, reason_len);
    r->reason[reason_len] = '\0';
    r->body = end + skip;
    r->body_len = len - (size_t)(r->body - d);
    return 0;
}

/* GET @target from @ep within @timeout_ms. On failure @err says why. */
static int http_get(const struct endpoint *ep,
                    const char *target,
                    int timeout_ms,
                    struct response *r,
                    char *err,
                    size_t err_len)
{
    int64_t deadline = now_ms() + timeout_ms;
    char request[512];
    size_t len;
    int fd;
    int n;
    int rv = -1;

    memset(r, 0, sizeof *r);
    n = snprintf(request, sizeof request,
                 "GET %s HTTP/1.0\r\nHost: %s:%s\r\nUser-Agent: seqd/%s\r\n"
                 "Accept: application/json\r\nConnection: close\r\n\r\n",
                 target, ep->host, ep->port, SEQ_VERSION);
    if (n < 0 || (size_t)n >= sizeof request) {
        snprintf(err, err_len, "request too long");
        return -1;
    }
    fd = dial(ep, deadline, err, err_len);
    if (fd < 0) {
        return -1;
    }
    if (send_all(fd, request, (size_t)n, deadline, err, err_len) == 0 &&
        recv_all(fd, deadline, &r->data, &len, err, err_len) == 0) {
        rv = parse_response(r, len, err, err_len);
        if (rv != 0) {
            seq_free(r->data);
            r->data = NULL;
        }
    }
    close(fd);
    return rv;
}

/* The address to ask: --http, else [rpc] http of the home's config. */
static int status_endpoint(const char *http,
                           const char *home,
                           struct endpoint *ep)
{
    char errmsg[SEQ_ERRMSG_LEN];
    char path[4096];
    struct net_config config;
    int rv;

    if (http != NULL) {
        if (!parse_endpoint(http, ep)) {
            return seqd_usage_error("status",
                                    "--http: want host:port, not "
                                    "'%s'",
                                    http);
        }
        return 0;
    }
    home = seqd_home(home);
    if (home == NULL) {
        return seqd_usage_error("status",
                                "give --home or --http (or set "
                                "SEQ_HOME)");
    }
    if (snprintf(path, sizeof path, "%s/config.toml", home) >=
        (int)sizeof path) {
        return seqd_fail("status", "--home: path too long");
    }
    rv = net_config_load(path, &config, errmsg);
    if (rv != 0) {
        return seqd_fail("status", "%s", errmsg);
    }
    if (!parse_endpoint(config.http_listen, ep)) {
        return seqd_fail("status", "%s: [rpc] http: cannot use '%s'", path,
                         config.http_listen);
    }
    return 0;
}

static int status_parse(int argc,
                        char **argv,
                        struct endpoint *ep,
                        uint64_t *timeout_ms)
{
    static const struct option options[] = {
        { "home", required_argument, NULL, 'H' },
        { "http", required_argument, NULL, 't' },
        { "timeout-ms", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *home = NULL;
    const char *http = NULL;
    int rv = 0;
    int c;

    *timeout_ms = DEFAULT_TIMEOUT;
    opterr = 0;
    for (c = getopt_long(argc, argv, ":h", options, NULL); c != -1;
         c = getopt_long(argc, argv, ":h", options, NULL)) {
        switch (c) {
        case 'H':
            home = optarg;
            break;
        case 't':
            http = optarg;
            break;
        case 'T':
            rv = seqd_parse_uint("status", "--timeout-ms", optarg, 1, 3600000,
                                 timeout_ms);
            break;
        case 'h':
            fputs(status_usage, stdout);
            return -1;
        default:
            return seqd_bad_option("status", c, argv);
        }
        if (rv != 0) {
            return rv;
        }
    }
    if (optind < argc) {
        return seqd_usage_error("status", "unexpected argument '%s'",
                                argv[optind]);
    }
    if (home != NULL && http != NULL) {
        return seqd_usage_error("status", "give --home or --http, not both");
    }
    return status_endpoint(http, home, ep);
}

int seqd_status_main(int argc, char **argv)
{
    struct endpoint ep;
    struct response r;
    char url[NET_ADDR_MAX + 32];
    char err[256];
    uint64_t timeout_ms;
    json_t *json;
    int rv;

    rv = status_parse(argc, argv, &ep, &timeout_ms);
    if (rv != 0) {
        return rv < 0 ? SEQD_OK : rv;
    }
    snprintf(url, sizeof url, "http://%s%s%s:%s%s",
             strchr(ep.host, ':') ? "[" : "", ep.host,
             strchr(ep.host, ':') ? "]" : "", ep.port, STATUS_PATH);
    if (http_get(&ep, STATUS_PATH, (int)timeout_ms, &r, err, sizeof err) != 0) {
        return seqd_fail("status",
                         "cannot reach the node at %s: %s (is "
                         "'seqd start' running?)",
                         url, err);
    }
    if (r.code != 200) {
        rv = seqd_fail("status", "%s answered %d %s: %.*s", url, r.code,
                       r.reason, (int)(r.body_len > 200 ? 200 : r.body_len),
                       r.body);
        seq_free(r.data);
        return rv;
    }
    json = json_loadb(r.body, r.body_len, 0, NULL);
    if (json != NULL) {
        json_dumpf(json, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(json);
    } else {
        fwrite(r.body, 1, r.body_len, stdout);
    }
    seq_free(r.data);
    return fflush(stdout) == 0 ? SEQD_OK : SEQD_FAIL;
}
