/* What the client programs (seqctl, seq-exec, seqbench) share: the exit
 * statuses, strict number parsing, reading files, finding the nodes and
 * the genesis of a local network from its testnet.json (format in
 * net/net_home.h), a monotonic clock and the signal flag. They link
 * libseqclient only, never validator code, so none of this comes from
 * seqd. */

#ifndef SEQ_CMD_SEQCTL_UTIL_H
#define SEQ_CMD_SEQCTL_UTIL_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "seq_client.h"

#define SEQCTL_OK    0
#define SEQCTL_FAIL  1 /* The work failed; the reason is on stderr. */
#define SEQCTL_USAGE 2 /* A bad command line. */

#define SEQCTL_ADDR_MAX 256
#define SEQCTL_PATH_MAX 4096

/* The default client port of a node (net_config_defaults). */
#define SEQCTL_DEFAULT_NODE "tcp://127.0.0.1:26602"

/* Prints "@prog: <message>" and "Try '@prog --help'." on stderr and
 * returns SEQCTL_USAGE. */
int seqctl_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "@prog: <message>" on stderr and returns SEQCTL_FAIL. */
int seqctl_fail(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The same with a va_list, for wrappers (seqd's per-command reports). */
int seqctl_vusage_error(const char *prog, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
int seqctl_vfail(const char *prog, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The usage error for what getopt_long just refused (@c is '?' or ':'),
 * for the option at argv[optind - 1]. Parse with opterr = 0 and an
 * optstring starting with ':'. */
int seqctl_bad_option(const char *prog, int c, char **argv);

/* The nodes of a local network, as testnet.json lists them. */
struct seqctl_testnet {
    uint32_t n_nodes; /* 1..SEQC_MAX_VALIDATORS */
    char client[SEQC_MAX_VALIDATORS][SEQCTL_ADDR_MAX]; /* tcp://host:port */
    char home[SEQC_MAX_VALIDATORS][SEQCTL_PATH_MAX];
};

/* Reads testnet.json: every node's "client" endpoint and "home". 0, or
 * SEQ_EIO / SEQ_EINVAL / SEQ_ENOMEM with @errmsg. */
int seqctl_testnet_load(const char *path,
                        struct seqctl_testnet *out,
                        char errmsg[SEQ_ERRMSG_LEN]);

/* Loads the genesis from @path if not NULL, else from the home of node
 * @node of @testnet (HOME/genesis.json) if @testnet is not NULL. 0, or
 * SEQ_EINVAL (neither given), or what seqc_genesis_load returns, with
 * @errmsg. */
int seqctl_genesis_find(const char *path,
                        const struct seqctl_testnet *testnet,
                        uint32_t node,
                        struct seqc_genesis *out,
                        char errmsg[SEQ_ERRMSG_LEN]);

/* @text as a decimal integer in [@min, @max]: 0, or -1 for anything else
 * (signs, spaces, trailing characters, overflow). */
int seqctl_parse_u64(const char *text,
                     uint64_t min,
                     uint64_t max,
                     uint64_t *out);

/* A 64-digit hex hash. 0 or -1. */
int seqctl_parse_hash(const char *text, struct seq_hash *out);

/* 0 if @endpoint looks like "tcp://host:port" (or ipc://path), else -1. */
int seqctl_check_endpoint(const char *endpoint);

/* Reads all of @path ("-" is stdin), at most @max bytes, into a new
 * seq_malloc buffer (NUL-terminated, not counted in *len). 0, or
 * SEQ_EIO / SEQ_ETOOBIG / SEQ_ENOMEM with @errmsg. */
int seqctl_read_file(const char *path,
                     size_t max,
                     uint8_t **out,
                     size_t *len,
                     char errmsg[SEQ_ERRMSG_LEN]);

/* Creates or replaces @path with @len bytes atomically: @path.tmp, fsync,
 * rename, fsync of the directory. 0 or -1 with errno. */
int seqctl_write_atomic(const char *path, const void *data, size_t len);

/* Microseconds and milliseconds of CLOCK_MONOTONIC. */
uint64_t seqctl_now_us(void);
uint64_t seqctl_now_ms(void);

/* SIGINT and SIGTERM set seqctl_stop (without SA_RESTART, so blocking
 * waits return early); SIGPIPE is ignored. */
extern volatile sig_atomic_t seqctl_stop;
void seqctl_signals_install(void);

/* Lower-case hex of a hash into @out (65 bytes). */
void seqctl_hash_hex(const struct seq_hash *h, char out[65]);

#endif /* SEQ_CMD_SEQCTL_UTIL_H */
