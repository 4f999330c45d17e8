/* What the seqd subcommand files share: one entry point per subcommand,
 * and the few helpers every one of them uses for options and errors. A
 * subcommand gets argv with its own name in argv[0] and returns the process
 * exit status: SEQD_OK, SEQD_FAIL when the work could not be done (the
 * reason is on stderr), or SEQD_USAGE for a bad command line. */

#ifndef SEQ_CMD_SEQD_H
#define SEQ_CMD_SEQD_H

#include <stddef.h>
#include <stdint.h>

#include "net_home.h"

#define SEQD_OK    0
#define SEQD_FAIL  1
#define SEQD_USAGE 2

int seqd_version_main(int argc, char **argv);
int seqd_init_main(int argc, char **argv);
int seqd_keygen_main(int argc, char **argv);
int seqd_testnet_main(int argc, char **argv);
int seqd_start_main(int argc, char **argv);
int seqd_status_main(int argc, char **argv);

/* @option if not NULL, else $SEQ_HOME if set and not empty, else NULL. */
const char *seqd_home(const char *option);

/* Prints "seqd <cmd>: <message>" and a hint to try --help on stderr;
 * returns SEQD_USAGE. */
int seqd_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "seqd <cmd>: <message>" on stderr; returns SEQD_FAIL. */
int seqd_fail(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The getopt_long error for the option at argv[optind - 1] (@c is what
 * getopt_long returned: '?' or ':'), as a usage error. */
int seqd_bad_option(const char *cmd, int c, char **argv);

/* Parses @text as a decimal integer in [@min, @max]. On failure prints a
 * usage error naming @option and returns SEQD_USAGE; else 0. */
int seqd_parse_uint(const char *cmd,
                    const char *option,
                    const char *text,
                    uint64_t min,
                    uint64_t max,
                    uint64_t *out);

/* Creates @path and any missing parents; the last component gets @mode,
 * parents 0755. An existing directory is fine. 0 or -1 with errno. */
int seqd_mkdir_p(const char *path, unsigned mode);

/* Creates @path, which must not exist yet, holding @len bytes at @data,
 * with mode 0644, and fsyncs it. 0 or -1 with errno. */
int seqd_create_file(const char *path, const void *data, size_t len);

/* Reads the regular file @path (at most 1 MiB) into a new buffer that the
 * caller frees with seq_free. 0, or -1 with errno (EFBIG when too large). */
int seqd_read_file(const char *path, uint8_t **out, size_t *len);

/* The two key pairs of one node. */
struct seqd_keys {
    struct net_validator_key validator;
    struct net_node_key node;
};

/* Fresh keys from the OS randomness source. On failure prints why (as
 * @cmd) and returns SEQD_FAIL. */
int seqd_keys_generate(const char *cmd, struct seqd_keys *out);

/* Writes config.toml, node_key.json and priv_validator_key.json into the
 * existing directory @home, and creates data/ (0700). On failure prints
 * why, removes whatever it wrote, and returns SEQD_FAIL. */
int seqd_home_write(const char *cmd,
                    const char *home,
                    const struct net_config *config,
                    const struct seqd_keys *keys);

/* The current UTC time in the genesis format (2026-11-21T06:00:00Z). */
void seqd_utc_now(char out[NET_NAME_MAX]);

#endif /* SEQ_CMD_SEQD_H */
