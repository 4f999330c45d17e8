/* The files of a validator's home directory (the formats are in
 * net_home.h). Everything read here is operator input, so every field is
 * checked and a failure names the file, the field and what is wrong: an
 * operator who mistyped one character should be told which one, not see a
 * node that half starts. The same checks run before anything is written, so
 * seqd never writes a file that seqd would refuse to read.
 *
 * Reading: a file is read whole into memory (with a size cap), then parsed:
 * JSON with jansson (duplicate keys rejected), config.toml with libinih fed
 * line by line from that buffer. Feeding it ourselves gives line numbers for
 * the messages, and stripping leading blanks keeps inih from taking an
 * indented key for the continuation of the previous value.
 *
 * Writing: the bytes go to a new temporary file in the same directory
 * (open with O_CREAT|O_EXCL), which is fsynced and renamed over the target,
 * and then the directory is fsynced. A reader sees either the old file or
 * the new one, never a prefix, and a crash leaves at worst a stray
 * temporary. Key files are created with mode 0600, and a key file that group
 * or others may access is refused on load, as ssh refuses such a key.
 *
 * The genesis hash is SHA-256 of the file's exact bytes, so the genesis is
 * copied between nodes as bytes and never re-serialised. */

#define _DEFAULT_SOURCE /* explicit_bzero, O_CLOEXEC */

#include "net_home.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <jansson.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "hs_crypto.h"
#include "seq_alloc.h"
#include "seq_hex.h"
#include "seq_random.h"

#define GENESIS_MAX_BYTES (1024 * 1024)
#define SMALL_MAX_BYTES   (64 * 1024) /* config.toml and the key files. */
#define TIMEOUT_MIN_MS    50
#define TIMEOUT_MAX_MS    600000
#define Z85_KEY_LEN       40 /* NET_CURVE_KEY_LEN bytes in Z85. */
#define HEX_KEY_LEN       64
#define TMP_SUFFIX_LEN    22 /* ".tmp-" + 16 hex digits + NUL. */
#define PATH_LEN          4096

/* What a name (chain id, validator name, moniker) may contain: it appears
 * in logs, metrics labels and file names, so no quoting is ever needed. */
#define NAME_RULE "1 to 63 characters from A-Z a-z 0-9 . _ -"

/* Formats "@file: @field: <message>" (or "@file: <message>" when @field is
 * NULL) into @errmsg and returns SEQ_EINVAL, so a check reads as
 * "return invalid(...)". */
static int invalid(char *errmsg,
                   const char *file,
                   const char *field,
                   const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static int invalid(char *errmsg,
                   const char *file,
                   const char *field,
                   const char *fmt,
                   ...)
{
    va_list ap;
    int n;

    if (field != NULL) {
        n = snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: %s: ", file, field);
    } else {
        n = snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: ", file);
    }
    if (n >= 0 && n < SEQ_ERRMSG_LEN) {
        va_start(ap, fmt);
        vsnprintf(errmsg + n, SEQ_ERRMSG_LEN - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return SEQ_EINVAL;
}

static int io_error(char *errmsg, const char *file, const char *what, int err)
{
    snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: %s: %s", file, what, strerror(err));
    return SEQ_EIO;
}

/* ---------------------------------------------------------------- files */

/* Reads the whole regular file at @path (at most @max bytes) into a new
 * NUL-terminated buffer: *out is owned by the caller (seq_free), *len
 * excludes the NUL. With @secret, refuses a file that group or others may
 * access. */
static int read_whole(const char *path,
                      size_t max,
                      bool secret,
                      uint8_t **out,
                      size_t *len,
                      char *errmsg)
{
    struct stat st;
    uint8_t *buf;
    size_t done = 0;
    int fd;
    int rv;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: no such file", path);
            return SEQ_ENOTFOUND;
        }
        return io_error(errmsg, path, "open", errno);
    }
    if (fstat(fd, &st) != 0) {
        rv = io_error(errmsg, path, "stat", errno);
        goto err_after_open;
    }
    if (!S_ISREG(st.st_mode)) {
        rv = invalid(errmsg, path, NULL, "not a regular file");
        goto err_after_open;
    }
    if (secret && (st.st_mode & 077) != 0) {
        rv = invalid(errmsg, path, NULL,
                     "mode %04o lets group or others at this key; run: "
                     "chmod 600 %s",
                     (unsigned)(st.st_mode & 07777), path);
        goto err_after_open;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        rv = invalid(errmsg, path, NULL, "larger than %zu bytes", max);
        goto err_after_open;
    }
    buf = seq_malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        rv = SEQ_ENOMEM;
        goto err_after_open;
    }
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rv = io_error(errmsg, path, "read", errno);
            goto err_after_buf;
        }
        if (n == 0) {
            break; /* Shrank under us: parse what is there. */
        }
        done += (size_t)n;
    }
    buf[done] = '\0';
    close(fd);
    *out = buf;
    *len = done;
    return SEQ_OK;

err_after_buf:
    explicit_bzero(buf, (size_t)st.st_size);
    seq_free(buf);
err_after_open:
    close(fd);
    return rv;
}

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;

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

/* fsync the directory holding @path, so that a rename into it is durable. */
static int sync_parent(const char *path)
{
    char dir[PATH_LEN];
    const char *slash = strrchr(path, '/');
    int fd;
    int rv;

    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        snprintf(dir, sizeof dir, "/");
    } else {
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    rv = fsync(fd);
    close(fd);
    return rv;
}

/* Replaces @path with @len bytes at @data, atomically (see the top of the
 * file). With @secret the file gets mode 0600 whatever the umask; otherwise
 * 0644 less the umask. */
static int write_atomic(const char *path,
                        const void *data,
                        size_t len,
                        bool secret,
                        char *errmsg)
{
    char tmp[PATH_LEN];
    uint8_t nonce[8];
    char nonce_hex[2 * sizeof nonce + 1];
    mode_t mode = secret ? 0600 : 0644;
    int fd;
    int rv;

    if (strlen(path) + TMP_SUFFIX_LEN > sizeof tmp) {
        return io_error(errmsg, path, "create temporary file", ENAMETOOLONG);
    }
    if (seq_random_bytes(nonce, sizeof nonce) != 0) {
        return io_error(errmsg, path, "getrandom", errno);
    }
    seq_hex_encode(nonce, sizeof nonce, nonce_hex);
    snprintf(tmp, sizeof tmp, "%s.tmp-%s", path, nonce_hex);

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return io_error(errmsg, path, "create temporary file", errno);
    }
    if (secret && fchmod(fd, mode) != 0) {
        rv = io_error(errmsg, path, "chmod temporary file", errno);
        goto err_after_create;
    }
    if (write_all(fd, data, len) != 0) {
        rv = io_error(errmsg, path, "write", errno);
        goto err_after_create;
    }
    if (fsync(fd) != 0) {
        rv = io_error(errmsg, path, "fsync", errno);
        goto err_after_create;
    }
    if (close(fd) != 0) {
        fd = -1;
        rv = io_error(errmsg, path, "close", errno);
        goto err_after_create;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rv = io_error(errmsg, path, "rename", errno);
        goto err_after_create;
    }
    if (sync_parent(path) != 0) {
        return io_error(errmsg, path, "fsync directory", errno);
    }
    return SEQ_OK;

err_after_create:
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    return rv;
}

/* ------------------------------------------------------- field checks */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* NULL if @s is a valid name, else why not. */
static const char *check_name(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!name_char(s[i])) {
            return "want " NAME_RULE;
        }
    }
    return (i == 0 || i >= NET_NAME_MAX) ? "want " NAME_RULE : NULL;
}

static bool digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static unsigned number(const char *s, size_t n)
{
    unsigned v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v;
}

/* RFC 3339 in UTC: "2026-11-21T06:00:00Z", with optional fraction. */
static const char *check_time(const char *s)
{
    static const char *const why =
        "want an RFC 3339 UTC time such as "
        "2026-11-21T06:00:00Z";
    const char *p = s + 19;

    if (strlen(s) < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
        s[7] != '-' || !digits(s + 8, 2) || s[10] != 'T' ||
        !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
        s[16] != ':' || !digits(s + 17, 2)) {
        return why;
    }
    if (number(s + 5, 2) < 1 || number(s + 5, 2) > 12 || number(s + 8, 2) < 1 ||
        number(s + 8, 2) > 31 || number(s + 11, 2) > 23 ||
        number(s + 14, 2) > 59 || number(s + 17, 2) > 60) {
        return why;
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') {
            return why;
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    return strcmp(p, "Z") == 0 ? NULL : why;
}

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* "host:port": host is a DNS name or IPv4 address, a bracketed IPv6
 * address, or (only where we listen) "*"; port is 1..65535. */
static bool hostport_ok(const char *s, bool listen)
{
    const char *colon;
    const char *p;
    size_t port_len;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end == s + 1 || end[1] != ':') {
            return false;
        }
        for (p = s + 1; p < end; p++) {
            if (!(host_char(*p) || *p == ':')) {
                return false;
            }
        }
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || colon == s) {
            return false;
        }
        if (!(listen && colon == s + 1 && s[0] == '*')) {
            for (p = s; p < colon; p++) {
                if (!host_char(*p)) {
                    return false;
                }
            }
        }
    }
    if (!listen &&
        (strncmp(s, "0.0.0.0:", 8) == 0 || strncmp(s, "[::]:", 5) == 0)) {
        return false; /* Peers cannot dial a wildcard. */
    }
    port_len = strlen(colon + 1);
    if (port_len == 0 || port_len > 5 || !digits(colon + 1, port_len) ||
        colon[1] == '0') {
        return false;
    }
    return number(colon + 1, port_len) <= 65535;
}

/* Whether the host part of @s (up to its last ':') is an IPv4 literal, or
 * "*" when @star is allowed: what the node can bind. Host names need a
 * resolver and IPv6 needs ZMQ_IPV6, which the sockets do not set. */
static bool bindable_host(const char *s, bool star)
{
    const char *colon = strrchr(s, ':');
    struct in_addr addr;
    char host[64];
    size_t len;

    if (colon == NULL) {
        return false;
    }
    len = (size_t)(colon - s);
    if (star && len == 1 && s[0] == '*') {
        return true;
    }
    if (len == 0 || len >= sizeof host) {
        return false;
    }
    memcpy(host, s, len);
    host[len] = '\0';
    return inet_pton(AF_INET, host, &addr) == 1;
}

static const char *check_tcp_listen(const char *s)
{
    if (strncmp(s, "tcp://", 6) != 0 || !hostport_ok(s + 6, true) ||
        !bindable_host(s + 6, true)) {
        return "want tcp://IPv4-address:port (or tcp://*:port) with a port "
               "in 1..65535";
    }
    return NULL;
}

static const char *check_tcp_peer(const char *s)
{
    if (strncmp(s, "tcp://", 6) != 0 || !hostport_ok(s + 6, false) ||
        s[6] == '[') {
        return "want tcp://host:port (a host peers can dial, not a "
               "wildcard) with a port in 1..65535";
    }
    return NULL;
}

static const char *check_http_listen(const char *s)
{
    if (!hostport_ok(s, true) || !bindable_host(s, false)) {
        return "want IPv4-address:port (no scheme) with a port in 1..65535";
    }
    return NULL;
}

static const char *check_log_level(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!(name_char(s[i]) || s[i] == '=' || s[i] == ',')) {
            break;
        }
    }
    if (i == 0 || s[i] != '\0') {
        return "want a level such as \"info\" or "
               "\"consensus=debug,net=warn,info\"";
    }
    return NULL;
}

static const char *check_log_format(const char *s)
{
    if (strcmp(s, "logfmt") != 0 && strcmp(s, "json") != 0) {
        return "want \"logfmt\" or \"json\"";
    }
    return NULL;
}

/* A 32-byte x-coordinate that is not on the curve would make every
 * signature of that validator fail, silently; refuse it up front. This is
 * the one call into libsecp256k1 outside hs_crypto_secp.c: the crypto
 * interface has no key-validation entry point. */
static bool pubkey_valid(const struct hs_pubkey *pk)
{
    secp256k1_xonly_pubkey parsed;

    return secp256k1_xonly_pubkey_parse(secp256k1_context_static, &parsed,
                                        pk->bytes) == 1;
}

/* Length of the NUL-terminated string in a fixed array, or @size when it
 * is not terminated (a caller's struct we are asked to write). */
static size_t field_len(const char *s, size_t size)
{
    const char *nul = memchr(s, '\0', size);

    return nul == NULL ? size : (size_t)(nul - s);
}

/* ------------------------------------------------------------ genesis */

/* The validators of @g: 1..HS_MAX_VALIDATORS, each well formed, no two
 * with the same name, key or address. */
static int validators_check(const struct net_genesis *g,
                            const char *file,
                            char *errmsg)
{
    char field[48];
    const char *why;
    uint32_t i;
    uint32_t j;

    if (g->n_validators == 0 || g->n_validators > HS_MAX_VALIDATORS) {
        return invalid(errmsg, file, "validators",
                       "has %u entries; want 1 to %d", g->n_validators,
                       HS_MAX_VALIDATORS);
    }
    for (i = 0; i < g->n_validators; i++) {
        const struct net_validator *v = &g->validators[i];

        snprintf(field, sizeof field, "validators[%u].name", i);
        if (field_len(v->name, sizeof v->name) == sizeof v->name ||
            check_name(v->name) != NULL) {
            return invalid(errmsg, file, field, "want " NAME_RULE);
        }
        snprintf(field, sizeof field, "validators[%u].pubkey", i);
        if (!pubkey_valid(&v->pubkey)) {
            return invalid(errmsg, file, field,
                           "not a valid secp256k1 x-only public key");
        }
        snprintf(field, sizeof field, "validators[%u].p2p", i);
        if (field_len(v->p2p, sizeof v->p2p) == sizeof v->p2p) {
            return invalid(errmsg, file, field, "too long");
        }
        why = check_tcp_peer(v->p2p);
        if (why != NULL) {
            return invalid(errmsg, file, field, "%s", why);
        }
        for (j = 0; j < i; j++) {
            const struct net_validator *w = &g->validators[j];
            const char *what = NULL;

            if (strcmp(v->name, w->name) == 0) {
                what = "name";
            } else if (memcmp(&v->pubkey, &w->pubkey, sizeof v->pubkey) == 0) {
                what = "pubkey";
            } else if (memcmp(v->node_key, w->node_key, sizeof v->node_key) ==
                       0) {
                what = "node_key";
            } else if (strcmp(v->p2p, w->p2p) == 0) {
                what = "p2p";
            }
            if (what != NULL) {
                snprintf(field, sizeof field, "validators[%u].%s", i, what);
                return invalid(errmsg, file, field, "same as validators[%u].%s",
                               j, what);
            }
        }
    }
    return SEQ_OK;
}

/* Whether @value is in @min..@max; if not, names @field and the range. */
static int range_check(uint64_t value,
                       uint64_t min,
                       uint64_t max,
                       const char *field,
                       const char *file,
                       char *errmsg)
{
    if (value < min || value > max) {
        return invalid(errmsg, file, field, "is %llu; want %llu to %llu",
                       (unsigned long long)value, (unsigned long long)min,
                       (unsigned long long)max);
    }
    return SEQ_OK;
}

/* The namespaces of @g (DESIGN §5): at most NET_MAX_NAMESPACES, ids
 * strictly ascending (so unique, and net_genesis_namespace can search
 * them), names unique, weights and sizes in range. */
static int namespaces_check(const struct net_genesis *g,
                            const char *file,
                            char *errmsg)
{
    char field[48];
    uint32_t i;
    uint32_t j;
    int rv;

    if (g->n_namespaces > NET_MAX_NAMESPACES) {
        return invalid(errmsg, file, "namespaces",
                       "has %u entries; want at most %d", g->n_namespaces,
                       NET_MAX_NAMESPACES);
    }
    for (i = 0; i < g->n_namespaces; i++) {
        const struct net_namespace *ns = &g->namespaces[i];

        snprintf(field, sizeof field, "namespaces[%u].id", i);
        rv = range_check(ns->id, 1, INT64_MAX, field, file, errmsg);
        if (rv != 0) {
            return rv;
        }
        if (i > 0 && ns->id <= g->namespaces[i - 1].id) {
            return invalid(errmsg, file, field,
                           "is %llu; want more than namespaces[%u].id (%llu): "
                           "ids ascend, each once",
                           (unsigned long long)ns->id, i - 1,
                           (unsigned long long)g->namespaces[i - 1].id);
        }
        snprintf(field, sizeof field, "namespaces[%u].name", i);
        if (field_len(ns->name, sizeof ns->name) == sizeof ns->name ||
            check_name(ns->name) != NULL) {
            return invalid(errmsg, file, field, "want " NAME_RULE);
        }
        for (j = 0; j < i; j++) {
            if (strcmp(ns->name, g->namespaces[j].name) == 0) {
                return invalid(errmsg, file, field,
                               "same as namespaces[%u].name", j);
            }
        }
        snprintf(field, sizeof field, "namespaces[%u].weight", i);
        rv = range_check(ns->weight, 1, NET_MAX_WEIGHT, field, file, errmsg);
        if (rv != 0) {
            return rv;
        }
        snprintf(field, sizeof field, "namespaces[%u].max_tx_size", i);
        rv = range_check(ns->max_tx_size, 1, NET_MAX_TX_SIZE, field, file,
                         errmsg);
        if (rv != 0) {
            return rv;
        }
    }
    return SEQ_OK;
}

/* The semantic checks, shared by load (after parsing) and write. */
static int genesis_check(const struct net_genesis *g,
                         const char *file,
                         char *errmsg)
{
    const char *why;
    int rv;

    if (field_len(g->chain_id, sizeof g->chain_id) == sizeof g->chain_id ||
        check_name(g->chain_id) != NULL) {
        return invalid(errmsg, file, "chain_id", "want " NAME_RULE);
    }
    if (field_len(g->genesis_time, sizeof g->genesis_time) ==
        sizeof g->genesis_time) {
        return invalid(errmsg, file, "genesis_time", "too long");
    }
    why = check_time(g->genesis_time);
    if (why != NULL) {
        return invalid(errmsg, file, "genesis_time", "%s", why);
    }
    if (g->epoch > INT64_MAX) {
        return invalid(errmsg, file, "epoch", "want at most %lld",
                       (long long)INT64_MAX);
    }
    if (g->base_timeout_ms < TIMEOUT_MIN_MS ||
        g->base_timeout_ms > TIMEOUT_MAX_MS) {
        return invalid(errmsg, file, "base_timeout_ms",
                       "is %llu; want %d to %d",
                       (unsigned long long)g->base_timeout_ms, TIMEOUT_MIN_MS,
                       TIMEOUT_MAX_MS);
    }
    rv = validators_check(g, file, errmsg);
    if (rv == 0) {
        rv = namespaces_check(g, file, errmsg);
    }
    return rv;
}

/* Refuses any member of @obj not in @allowed (NULL-terminated): a
 * misspelt field must not be silently ignored. @where prefixes the field
 * name in the message ("validators[2]"), or is NULL at the top level. */
static int only_members(json_t *obj,
                        const char *const *allowed,
                        const char *file,
                        const char *where,
                        char *errmsg)
{
    const char *key;
    json_t *value;

    json_object_foreach(obj, key, value)
    {
        size_t i;

        for (i = 0; allowed[i] != NULL; i++) {
            if (strcmp(key, allowed[i]) == 0) {
                break;
            }
        }
        if (allowed[i] == NULL) {
            return invalid(errmsg, file, where, "unknown field \"%s\"", key);
        }
    }
    return SEQ_OK;
}

/* The string member @key of @obj (borrowed from @obj), or SEQ_EINVAL when
 * it is missing or not a string. @field is its name in messages. */
static int string_member(json_t *obj,
                         const char *key,
                         const char *field,
                         json_t **out,
                         const char *file,
                         char *errmsg)
{
    json_t *value = json_object_get(obj, key);

    if (value == NULL) {
        return invalid(errmsg, file, field, "missing");
    }
    if (!json_is_string(value)) {
        return invalid(errmsg, file, field, "want a string");
    }
    *out = value;
    return SEQ_OK;
}

/* Copies the string member @key of @obj into @out (@size bytes). */
static int get_string(json_t *obj,
                      const char *key,
                      const char *field,
                      char *out,
                      size_t size,
                      const char *file,
                      char *errmsg)
{
    json_t *value = NULL;
    size_t len;
    int rv;

    rv = string_member(obj, key, field, &value, file, errmsg);
    if (rv != 0) {
        return rv;
    }
    len = json_string_length(value);
    if (len >= size) {
        return invalid(errmsg, file, field, "longer than %zu characters",
                       size - 1);
    }
    memcpy(out, json_string_value(value), len + 1);
    return SEQ_OK;
}

static int get_uint(json_t *obj,
                    const char *key,
                    const char *field,
                    uint64_t *out,
                    const char *file,
                    char *errmsg)
{
    json_t *value = json_object_get(obj, key);

    if (value == NULL) {
        return invalid(errmsg, file, field, "missing");
    }
    if (!json_is_integer(value) || json_integer_value(value) < 0) {
        return invalid(errmsg, file, field, "want a non-negative integer");
    }
    *out = (uint64_t)json_integer_value(value);
    return SEQ_OK;
}

/* @len bytes from a string of exactly 2 * @len hex digits. (jansson
 * refuses NUL inside strings, so the length check is exact.) */
static int get_hex(json_t *obj,
                   const char *key,
                   const char *field,
                   uint8_t *out,
                   size_t len,
                   const char *file,
                   char *errmsg)
{
    json_t *value = NULL;
    int rv;

    rv = string_member(obj, key, field, &value, file, errmsg);
    if (rv != 0) {
        return rv;
    }
    if (json_string_length(value) != 2 * len ||
        seq_hex_decode(json_string_value(value), out, len) != SEQ_OK) {
        return invalid(errmsg, file, field, "want %zu hex characters", 2 * len);
    }
    return SEQ_OK;
}

/* NET_CURVE_KEY_LEN bytes from a 40-character Z85 string. */
static int get_z85(json_t *obj,
                   const char *key,
                   const char *field,
                   uint8_t out[NET_CURVE_KEY_LEN],
                   const char *file,
                   char *errmsg)
{
    json_t *value = NULL;
    int rv;

    rv = string_member(obj, key, field, &value, file, errmsg);
    if (rv != 0) {
        return rv;
    }
    if (json_string_length(value) != Z85_KEY_LEN ||
        zmq_z85_decode(out, json_string_value(value)) == NULL) {
        return invalid(errmsg, file, field, "want a %d-character Z85 CURVE key",
                       Z85_KEY_LEN);
    }
    return SEQ_OK;
}

static int validator_from_json(json_t *obj,
                               uint32_t i,
                               struct net_validator *v,
                               const char *file,
                               char *errmsg)
{
    static const char *const members[] = { "index",    "name", "pubkey",
                                           "node_key", "p2p",  NULL };
    char where[24];
    char field[48];
    uint64_t index;
    int rv;

    snprintf(where, sizeof where, "validators[%u]", i);
    if (!json_is_object(obj)) {
        return invalid(errmsg, file, where, "want an object");
    }
    rv = only_members(obj, members, file, where, errmsg);
    if (rv != 0) {
        return rv;
    }
    snprintf(field, sizeof field, "%s.index", where);
    rv = get_uint(obj, "index", field, &index, file, errmsg);
    if (rv != 0) {
        return rv;
    }
    if (index != i) {
        return invalid(errmsg, file, field,
                       "is %llu; want %u (indices run 0..n-1 in order)",
                       (unsigned long long)index, i);
    }
    snprintf(field, sizeof field, "%s.name", where);
    rv = get_string(obj, "name", field, v->name, sizeof v->name, file, errmsg);
    if (rv != 0) {
        return rv;
    }
    snprintf(field, sizeof field, "%s.pubkey", where);
    rv = get_hex(obj, "pubkey", field, v->pubkey.bytes, HS_PUBKEY_LEN, file,
                 errmsg);
    if (rv != 0) {
        return rv;
    }
    snprintf(field, sizeof field, "%s.node_key", where);
    rv = get_z85(obj, "node_key", field, v->node_key, file, errmsg);
    if (rv != 0) {
        return rv;
    }
    snprintf(field, sizeof field, "%s.p2p", where);
    return get_string(obj, "p2p", field, v->p2p, sizeof v->p2p, file, errmsg);
}

/* A uint32_t member in @min..@max: checked here, before narrowing, so a
 * value past 2^32 is refused rather than wrapped into range. */
static int get_u32(json_t *obj,
                   const char *key,
                   const char *field,
                   uint32_t min,
                   uint32_t max,
                   uint32_t *out,
                   const char *file,
                   char *errmsg)
{
    uint64_t value;
    int rv;

    rv = get_uint(obj, key, field, &value, file, errmsg);
    if (rv == 0) {
        rv = range_check(value, min, max, field, file, errmsg);
    }
    if (rv == 0) {
        *out = (uint32_t)value;
    }
    return rv;
}

static int namespace_from_json(json_t *obj,
                               uint32_t i,
                               struct net_namespace *ns,
                               const char *file,
                               char *errmsg)
{
    static const char *const members[] = { "id", "name", "weight",
                                           "max_tx_size", NULL };
    char where[24];
    char field[48];
    int rv;

    snprintf(where, sizeof where, "namespaces[%u]", i);
    if (!json_is_object(obj)) {
        return invalid(errmsg, file, where, "want an object");
    }
    rv = only_members(obj, members, file, where, errmsg);
    if (rv != 0) {
        return rv;
    }
    snprintf(field, sizeof field, "%s.id", where);
    rv = get_uint(obj, "id", field, &ns->id, file, errmsg);
    if (rv != 0) {
        return rv;
    }
    snprintf(field, sizeof field, "%s.name", where);
    rv =
        get_string(obj, "name", field, ns->name, sizeof ns->name, file, errmsg);
    if (rv != 0) {
        return rv;
    }
    snprintf(field, sizeof field, "%s.weight", where);
    rv = get_u32(obj, "weight", field, 1, NET_MAX_WEIGHT, &ns->weight, file,
                 errmsg);
    if (rv != 0) {
        return rv;
    }
    snprintf(field, sizeof field, "%s.max_tx_size", where);
    return get_u32(obj, "max_tx_size", field, 1, NET_MAX_TX_SIZE,
                   &ns->max_tx_size, file, errmsg);
}

/* The optional "namespaces" member: absent means none. */
static int namespaces_from_json(json_t *root,
                                struct net_genesis *g,
                                const char *file,
                                char *errmsg)
{
    json_t *namespaces = json_object_get(root, "namespaces");
    size_t i;
    int rv;

    g->n_namespaces = 0;
    if (namespaces == NULL) {
        return SEQ_OK;
    }
    if (!json_is_array(namespaces)) {
        return invalid(errmsg, file, "namespaces", "want an array");
    }
    if (json_array_size(namespaces) > NET_MAX_NAMESPACES) {
        return invalid(errmsg, file, "namespaces",
                       "has %zu entries; want at most %d",
                       json_array_size(namespaces), NET_MAX_NAMESPACES);
    }
    g->n_namespaces = (uint32_t)json_array_size(namespaces);
    for (i = 0; i < g->n_namespaces; i++) {
        rv = namespace_from_json(json_array_get(namespaces, i), (uint32_t)i,
                                 &g->namespaces[i], file, errmsg);
        if (rv != 0) {
            return rv;
        }
    }
    return SEQ_OK;
}

static int genesis_from_json(json_t *root,
                             struct net_genesis *g,
                             const char *file,
                             char *errmsg)
{
    static const char *const members[] = { "chain_id",   "genesis_time",
                                           "epoch",      "base_timeout_ms",
                                           "validators", "namespaces",
                                           NULL };
    json_t *validators;
    size_t i;
    int rv;

    if (!json_is_object(root)) {
        return invalid(errmsg, file, NULL, "want a JSON object");
    }
    rv = only_members(root, members, file, NULL, errmsg);
    if (rv == 0) {
        rv = get_string(root, "chain_id", "chain_id", g->chain_id,
                        sizeof g->chain_id, file, errmsg);
    }
    if (rv == 0) {
        rv = get_string(root, "genesis_time", "genesis_time", g->genesis_time,
                        sizeof g->genesis_time, file, errmsg);
    }
    if (rv == 0) {
        rv = get_uint(root, "epoch", "epoch", &g->epoch, file, errmsg);
    }
    if (rv == 0) {
        rv = get_uint(root, "base_timeout_ms", "base_timeout_ms",
                      &g->base_timeout_ms, file, errmsg);
    }
    if (rv != 0) {
        return rv;
    }
    validators = json_object_get(root, "validators");
    if (validators == NULL) {
        return invalid(errmsg, file, "validators", "missing");
    }
    if (!json_is_array(validators)) {
        return invalid(errmsg, file, "validators", "want an array");
    }
    if (json_array_size(validators) == 0 ||
        json_array_size(validators) > HS_MAX_VALIDATORS) {
        return invalid(errmsg, file, "validators",
                       "has %zu entries; want 1 to %d",
                       json_array_size(validators), HS_MAX_VALIDATORS);
    }
    g->n_validators = (uint32_t)json_array_size(validators);
    for (i = 0; i < g->n_validators; i++) {
        rv = validator_from_json(json_array_get(validators, i), (uint32_t)i,
                                 &g->validators[i], file, errmsg);
        if (rv != 0) {
            return rv;
        }
    }
    return namespaces_from_json(root, g, file, errmsg);
}

/* Parses @len bytes at @text as JSON, duplicate keys refused. *out is a new
 * reference (json_decref). */
static int parse_json(const uint8_t *text,
                      size_t len,
                      json_t **out,
                      const char *file,
                      char *errmsg)
{
    json_error_t error;

    *out = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &error);
    if (*out == NULL) {
        /* jansson leaves the text empty when its lexer could not even
         * allocate its buffer, and says "out of memory" otherwise. */
        if (json_error_code(&error) == json_error_out_of_memory ||
            error.text[0] == '\0') {
            return SEQ_ENOMEM;
        }
        return invalid(errmsg, file, NULL, "line %d column %d: %s", error.line,
                       error.column, error.text);
    }
    return SEQ_OK;
}

int net_genesis_load(const char *path,
                     struct net_genesis *out,
                     char errmsg[SEQ_ERRMSG_LEN])
{
    struct net_genesis *g;
    uint8_t *text;
    size_t len;
    json_t *root;
    int rv;

    rv = read_whole(path, GENESIS_MAX_BYTES, false, &text, &len, errmsg);
    if (rv != 0) {
        goto err;
    }
    rv = parse_json(text, len, &root, path, errmsg);
    if (rv != 0) {
        goto err_after_read;
    }
    g = seq_calloc(1, sizeof *g); /* ~37 KiB: not on the stack. */
    if (g == NULL) {
        rv = SEQ_ENOMEM;
        goto err_after_parse;
    }
    rv = genesis_from_json(root, g, path, errmsg);
    if (rv == 0) {
        rv = genesis_check(g, path, errmsg);
    }
    if (rv != 0) {
        goto err_after_alloc;
    }
    seq_sha256(text, len, &g->hash);
    *out = *g;
    seq_free(g);
    json_decref(root);
    seq_free(text);
    return SEQ_OK;

err_after_alloc:
    seq_free(g);
err_after_parse:
    json_decref(root);
err_after_read:
    seq_free(text);
err:
    return rv;
}

static json_t *validator_to_json(const struct net_validator *v, uint32_t i)
{
    char pubkey[HEX_KEY_LEN + 1];
    char node_key[Z85_KEY_LEN + 1];

    seq_hex_encode(v->pubkey.bytes, HS_PUBKEY_LEN, pubkey);
    zmq_z85_encode(node_key, v->node_key, NET_CURVE_KEY_LEN);
    return json_pack("{s:I, s:s, s:s, s:s, s:s}", "index", (json_int_t)i,
                     "name", v->name, "pubkey", pubkey, "node_key", node_key,
                     "p2p", v->p2p);
}

/* The "namespaces" array of @g, or NULL when out of memory. */
static json_t *namespaces_to_json(const struct net_genesis *g)
{
    json_t *namespaces = json_array();
    uint32_t i;

    for (i = 0; namespaces != NULL && i < g->n_namespaces; i++) {
        const struct net_namespace *ns = &g->namespaces[i];

        if (json_array_append_new(
                namespaces,
                json_pack("{s:I, s:s, s:I, s:I}", "id", (json_int_t)ns->id,
                          "name", ns->name, "weight", (json_int_t)ns->weight,
                          "max_tx_size", (json_int_t)ns->max_tx_size)) != 0) {
            json_decref(namespaces);
            namespaces = NULL;
        }
    }
    return namespaces;
}

/* The file's bytes: two-space indented JSON and a final newline, members
 * in the order of the format in net_home.h (jansson keeps insertion
 * order). "namespaces" is written only when there are some, so a genesis
 * without rollups renders exactly as it did before they existed. *out is
 * owned by the caller (seq_free). */
static int genesis_render(const struct net_genesis *g, char **out, size_t *len)
{
    json_t *validators;
    json_t *root;
    size_t size;
    char *buf;
    uint32_t i;
    int rv = SEQ_ENOMEM;

    validators = json_array();
    if (validators == NULL) {
        goto err;
    }
    for (i = 0; i < g->n_validators; i++) {
        if (json_array_append_new(
                validators, validator_to_json(&g->validators[i], i)) != 0) {
            goto err_after_validators;
        }
    }
    root = json_pack("{s:s, s:s, s:I, s:I, s:O}", "chain_id", g->chain_id,
                     "genesis_time", g->genesis_time, "epoch",
                     (json_int_t)g->epoch, "base_timeout_ms",
                     (json_int_t)g->base_timeout_ms, "validators", validators);
    if (root == NULL) {
        goto err_after_validators;
    }
    if (g->n_namespaces > 0 &&
        json_object_set_new(root, "namespaces", namespaces_to_json(g)) != 0) {
        goto err_after_root;
    }
    size = json_dumpb(root, NULL, 0, JSON_INDENT(2));
    if (size == 0) {
        goto err_after_root;
    }
    buf = seq_malloc(size + 1);
    if (buf == NULL) {
        goto err_after_root;
    }
    if (json_dumpb(root, buf, size, JSON_INDENT(2)) != size) {
        seq_free(buf);
        goto err_after_root;
    }
    buf[size] = '\n';
    *out = buf;
    *len = size + 1;
    rv = SEQ_OK;

err_after_root:
    json_decref(root);
err_after_validators:
    json_decref(validators);
err:
    return rv;
}

int net_genesis_write(const char *path,
                      const struct net_genesis *genesis,
                      char errmsg[SEQ_ERRMSG_LEN])
{
    char *text;
    size_t len;
    int rv;

    rv = genesis_check(genesis, path, errmsg);
    if (rv != 0) {
        return rv;
    }
    rv = genesis_render(genesis, &text, &len);
    if (rv != 0) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: out of memory", path);
        return rv;
    }
    rv = write_atomic(path, text, len, false, errmsg);
    seq_free(text);
    return rv;
}

void net_genesis_validator_set(const struct net_genesis *genesis,
                               struct hs_validator_set *out)
{
    uint32_t i;

    memset(out, 0, sizeof *out);
    out->n = genesis->n_validators;
    for (i = 0; i < genesis->n_validators; i++) {
        out->keys[i] = genesis->validators[i].pubkey;
    }
}

int net_genesis_find(const struct net_genesis *genesis,
                     const struct hs_pubkey *pubkey,
                     hs_node_t *index)
{
    uint32_t i;

    for (i = 0; i < genesis->n_validators; i++) {
        if (memcmp(&genesis->validators[i].pubkey, pubkey, sizeof *pubkey) ==
            0) {
            *index = i;
            return SEQ_OK;
        }
    }
    return SEQ_ENOTFOUND;
}

const struct net_namespace *net_genesis_namespace(
    const struct net_genesis *genesis,
    uint64_t id)
{
    uint32_t lo = 0;
    uint32_t hi = genesis->n_namespaces;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const struct net_namespace *ns = &genesis->namespaces[mid];

        if (ns->id == id) {
            return ns;
        }
        if (ns->id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------- config */

/* A decimal in [1, max], or why not. */
static const char *check_decimal(const char *s, uint64_t max)
{
    uint64_t v = 0;
    const char *p;

    if (*s == '\0') {
        return "want a decimal number";
    }
    for (p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return "want a decimal number";
        }
        if (v > (max - (uint64_t)(*p - '0')) / 10) {
            return "too large";
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v == 0 ? "must be at least 1" : NULL;
}

static const char *check_max_txs(const char *s)
{
    return check_decimal(s, 10000000);
}

static const char *check_max_bytes(const char *s)
{
    return check_decimal(s, 1ull << 36);
}

#define CONFIG_FIELD(member)             \
    offsetof(struct net_config, member), \
        sizeof(((struct net_config *)0)->member)

/* Every key config.toml may hold. A key not in this table is an error. */
static const struct config_key {
    const char *section;
    const char *name;
    size_t offset;
    size_t size;
    const char *(*check)(const char *value); /* NULL or why not. */
} config_keys[] = {
    { "node", "moniker", CONFIG_FIELD(moniker), check_name },
    { "p2p", "listen", CONFIG_FIELD(p2p_listen), check_tcp_listen },
    { "rpc", "http", CONFIG_FIELD(http_listen), check_http_listen },
    { "rpc", "client", CONFIG_FIELD(client_listen), check_tcp_listen },
    { "log", "level", CONFIG_FIELD(log_level), check_log_level },
    { "log", "format", CONFIG_FIELD(log_format), check_log_format },
    { "mempool", "max_pending_txs", CONFIG_FIELD(mempool_max_txs),
      check_max_txs },
    { "mempool", "max_pending_bytes", CONFIG_FIELD(mempool_max_bytes),
      check_max_bytes },
};

#define N_CONFIG_KEYS (sizeof config_keys / sizeof config_keys[0])

struct ini_state {
    const char *file;
    char *errmsg;
    const char *text; /* The whole file, NUL-terminated. */
    size_t len;
    size_t pos;
    unsigned lineno; /* Of the line last handed to inih. */
    int rv;          /* The first error; inih keeps going after one. */
    unsigned seen;   /* Bit i: config_keys[i] was set. */
    struct net_config *out;
};

/* inih's reader: one line of the buffer per call, leading blanks removed
 * (see the top of the file). A line longer than inih's buffer would be cut
 * in two and half of it misread, so it is refused instead. */
static char *ini_read_line(char *str, int num, void *stream)
{
    struct ini_state *st = stream;
    const char *p = st->text + st->pos;
    const char *nl;
    size_t n;

    if (st->rv != 0 || st->pos >= st->len) {
        return NULL;
    }
    nl = memchr(p, '\n', st->len - st->pos);
    n = nl != NULL ? (size_t)(nl - p) + 1 : st->len - st->pos;
    st->pos += n;
    st->lineno++;
    while (n > 1 && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    if (n + 1 > (size_t)num) {
        st->rv =
            invalid(st->errmsg, st->file, NULL,
                    "line %u: longer than %d characters", st->lineno, num - 3);
        return NULL;
    }
    memcpy(str, p, n);
    str[n] = '\0';
    return str;
}

/* A TOML string value: "basic" or 'literal', with nothing after it but
 * blanks or a # comment. Escapes are not supported (no value here needs
 * one), so a backslash in a basic string is refused rather than misread. */
static const char *unquote(const char *value, char *out, size_t size)
{
    char quote = value[0];
    const char *end;
    const char *p;
    size_t len;

    if (quote != '"' && quote != '\'') {
        return "want a quoted string";
    }
    end = strchr(value + 1, quote);
    if (end == NULL) {
        return "unterminated string";
    }
    for (p = end + 1; *p == ' ' || *p == '\t'; p++) {
    }
    if (*p != '\0' && *p != '#') {
        return "unexpected text after the closing quote";
    }
    len = (size_t)(end - value - 1);
    if (quote == '"' && memchr(value + 1, '\\', len) != NULL) {
        return "escape sequences are not supported";
    }
    if (len >= size) {
        return "too long";
    }
    memcpy(out, value + 1, len);
    out[len] = '\0';
    return NULL;
}

static int ini_on_value(void *user,
                        const char *section,
                        const char *name,
                        const char *value)
{
    struct ini_state *st = user;
    char text[NET_ADDR_MAX];
    char field[NET_ADDR_MAX];
    const char *why;
    size_t i;

    if (st->rv != 0) {
        return 0;
    }
    for (i = 0; i < N_CONFIG_KEYS; i++) {
        if (strcmp(section, config_keys[i].section) == 0 &&
            strcmp(name, config_keys[i].name) == 0) {
            break;
        }
    }
    if (i == N_CONFIG_KEYS) {
        if (section[0] == '\0') {
            st->rv = invalid(st->errmsg, st->file, NULL,
                             "line %u: unknown key \"%s\" outside any "
                             "[section]",
                             st->lineno, name);
        } else {
            st->rv = invalid(st->errmsg, st->file, NULL,
                             "line %u: unknown key \"%s\" in [%s]", st->lineno,
                             name, section);
        }
        return 0;
    }
    snprintf(field, sizeof field, "line %u: [%s] %s", st->lineno, section,
             name);
    if (st->seen & (1u << i)) {
        st->rv = invalid(st->errmsg, st->file, field, "set twice");
        return 0;
    }
    st->seen |= 1u << i;
    why = unquote(value, text, config_keys[i].size);
    if (why == NULL) {
        why = config_keys[i].check(text);
    }
    if (why != NULL) {
        st->rv = invalid(st->errmsg, st->file, field, "%s", why);
        return 0;
    }
    memcpy((char *)st->out + config_keys[i].offset, text, strlen(text) + 1);
    return 1;
}

void net_config_defaults(struct net_config *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->moniker, sizeof out->moniker, "node0");
    snprintf(out->p2p_listen, sizeof out->p2p_listen, "tcp://127.0.0.1:26600");
    snprintf(out->http_listen, sizeof out->http_listen, "127.0.0.1:26601");
    snprintf(out->client_listen, sizeof out->client_listen,
             "tcp://127.0.0.1:26602");
    snprintf(out->log_level, sizeof out->log_level, "info");
    snprintf(out->log_format, sizeof out->log_format, "logfmt");
    snprintf(out->mempool_max_txs, sizeof out->mempool_max_txs, "200000");
    snprintf(out->mempool_max_bytes, sizeof out->mempool_max_bytes,
             "268435456");
}

int net_config_load(const char *path,
                    struct net_config *out,
                    char errmsg[SEQ_ERRMSG_LEN])
{
    struct net_config config;
    struct ini_state st;
    uint8_t *text;
    size_t len;
    int line;
    int rv;

    rv = read_whole(path, SMALL_MAX_BYTES, false, &text, &len, errmsg);
    if (rv != 0) {
        return rv;
    }
    if (memchr(text, '\0', len) != NULL) {
        rv = invalid(errmsg, path, NULL, "contains a NUL byte");
        goto out;
    }
    net_config_defaults(&config);
    memset(&st, 0, sizeof st);
    st.file = path;
    st.errmsg = errmsg;
    st.text = (const char *)text;
    st.len = len;
    st.out = &config;
    line = ini_parse_stream(ini_read_line, &st, ini_on_value, &st);
    if (st.rv != 0) {
        rv = st.rv;
    } else if (line != 0) {
        rv = invalid(errmsg, path, NULL,
                     "line %d: want [section] or key = \"value\"", line);
    } else {
        *out = config;
    }
out:
    seq_free(text);
    return rv;
}

int net_config_write(const char *path,
                     const struct net_config *config,
                     char errmsg[SEQ_ERRMSG_LEN])
{
    char text[2048];
    size_t i;
    int n;

    for (i = 0; i < N_CONFIG_KEYS; i++) {
        const char *value = (const char *)config + config_keys[i].offset;
        char field[32];
        const char *why = NULL;

        snprintf(field, sizeof field, "[%s] %s", config_keys[i].section,
                 config_keys[i].name);
        if (field_len(value, config_keys[i].size) == config_keys[i].size) {
            why = "too long";
        } else {
            why = config_keys[i].check(value);
        }
        if (why != NULL) {
            return invalid(errmsg, path, field, "%s", why);
        }
    }
    n = snprintf(text, sizeof text,
                 "# seqd node configuration (format: net/net_home.h). A "
                 "missing key takes\n"
                 "# its default; an unknown key is an error.\n"
                 "\n[node]\nmoniker = \"%s\"\n"
                 "\n[p2p]\nlisten = \"%s\"\n"
                 "\n[rpc]\nhttp = \"%s\"\nclient = \"%s\"\n"
                 "\n[log]\nlevel = \"%s\"\nformat = \"%s\"\n"
                 "\n[mempool]\nmax_pending_txs = \"%s\"\n"
                 "max_pending_bytes = \"%s\"\n",
                 config->moniker, config->p2p_listen, config->http_listen,
                 config->client_listen, config->log_level, config->log_format,
                 config->mempool_max_txs, config->mempool_max_bytes);
    if (n < 0 || (size_t)n >= sizeof text) {
        return invalid(errmsg, path, NULL, "too long");
    }
    return write_atomic(path, text, (size_t)n, false, errmsg);
}

/* --------------------------------------------------------------- keys */

/* Whether @key's public half is the CURVE public key of its secret half. */
static int curve_pair_check(const struct net_node_key *key, bool *match)
{
    char secret_z85[Z85_KEY_LEN + 1];
    char public_z85[Z85_KEY_LEN + 1];
    uint8_t derived[NET_CURVE_KEY_LEN];
    int rv = SEQ_OK;

    zmq_z85_encode(secret_z85, key->secret_key, NET_CURVE_KEY_LEN);
    if (zmq_curve_public(public_z85, secret_z85) != 0 ||
        zmq_z85_decode(derived, public_z85) == NULL) {
        rv = SEQ_EIO; /* libzmq built without CURVE support. */
    } else {
        *match = memcmp(derived, key->public_key, sizeof derived) == 0;
    }
    explicit_bzero(secret_z85, sizeof secret_z85);
    return rv;
}

/* Reads a key file: mode checked, JSON parsed, no member but @members.
 * *root is a new reference; *text is wiped and freed here. */
static int key_file_open(const char *path,
                         const char *const *members,
                         json_t **root,
                         char *errmsg)
{
    uint8_t *text;
    size_t len;
    int rv;

    rv = read_whole(path, SMALL_MAX_BYTES, true, &text, &len, errmsg);
    if (rv != 0) {
        return rv;
    }
    rv = parse_json(text, len, root, path, errmsg);
    explicit_bzero(text, len);
    seq_free(text);
    if (rv != 0) {
        return rv;
    }
    if (!json_is_object(*root)) {
        rv = invalid(errmsg, path, NULL, "want a JSON object");
    } else {
        rv = only_members(*root, members, path, NULL, errmsg);
    }
    if (rv != 0) {
        json_decref(*root);
    }
    return rv;
}

int net_node_key_generate(struct net_node_key *out)
{
    char public_z85[Z85_KEY_LEN + 1];
    char secret_z85[Z85_KEY_LEN + 1];
    int rv = SEQ_OK;

    if (zmq_curve_keypair(public_z85, secret_z85) != 0 ||
        zmq_z85_decode(out->public_key, public_z85) == NULL ||
        zmq_z85_decode(out->secret_key, secret_z85) == NULL) {
        explicit_bzero(out, sizeof *out);
        rv = SEQ_EIO; /* libzmq built without CURVE support. */
    }
    explicit_bzero(secret_z85, sizeof secret_z85);
    return rv;
}

int net_node_key_load(const char *path,
                      struct net_node_key *out,
                      char errmsg[SEQ_ERRMSG_LEN])
{
    static const char *const members[] = { "public_key", "secret_key", NULL };
    struct net_node_key key;
    bool match = false;
    json_t *root;
    int rv;

    rv = key_file_open(path, members, &root, errmsg);
    if (rv != 0) {
        return rv;
    }
    rv =
        get_z85(root, "public_key", "public_key", key.public_key, path, errmsg);
    if (rv == 0) {
        rv = get_z85(root, "secret_key", "secret_key", key.secret_key, path,
                     errmsg);
    }
    if (rv == 0) {
        rv = curve_pair_check(&key, &match);
        if (rv != 0) {
            snprintf(errmsg, SEQ_ERRMSG_LEN,
                     "%s: libzmq cannot derive CURVE keys", path);
        } else if (!match) {
            rv = invalid(errmsg, path, "public_key",
                         "is not the public key of secret_key");
        }
    }
    if (rv == 0) {
        *out = key;
    }
    explicit_bzero(&key, sizeof key);
    json_decref(root);
    return rv;
}

int net_node_key_write(const char *path,
                       const struct net_node_key *key,
                       char errmsg[SEQ_ERRMSG_LEN])
{
    char public_z85[Z85_KEY_LEN + 1];
    char secret_z85[Z85_KEY_LEN + 1];
    char text[256];
    bool match = false;
    int n;
    int rv;

    rv = curve_pair_check(key, &match);
    if (rv != 0) {
        snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: libzmq cannot derive CURVE keys",
                 path);
        return rv;
    }
    if (!match) {
        return invalid(errmsg, path, "public_key",
                       "is not the public key of secret_key");
    }
    /* The Z85 alphabet has no '"' or '\\': no JSON escaping is needed. */
    zmq_z85_encode(public_z85, key->public_key, NET_CURVE_KEY_LEN);
    zmq_z85_encode(secret_z85, key->secret_key, NET_CURVE_KEY_LEN);
    n = snprintf(text, sizeof text,
                 "{\n  \"public_key\": \"%s\",\n  \"secret_key\": \"%s\"\n}\n",
                 public_z85, secret_z85);
    rv = write_atomic(path, text, (size_t)n, true, errmsg);
    explicit_bzero(secret_z85, sizeof secret_z85);
    explicit_bzero(text, sizeof text);
    return rv;
}

int net_validator_key_generate(struct net_validator_key *out)
{
    int rv;

    rv = hs_crypto_secp_keygen(seq_random_bytes, out->seckey);
    if (rv == 0) {
        rv = hs_crypto_secp_pubkey(out->seckey, &out->pubkey);
    }
    if (rv != 0) {
        explicit_bzero(out, sizeof *out);
    }
    return rv;
}

int net_validator_key_load(const char *path,
                           struct net_validator_key *out,
                           char errmsg[SEQ_ERRMSG_LEN])
{
    static const char *const members[] = { "pubkey", "seckey", NULL };
    struct net_validator_key key;
    struct hs_pubkey derived;
    json_t *root;
    int rv;

    rv = key_file_open(path, members, &root, errmsg);
    if (rv != 0) {
        return rv;
    }
    rv = get_hex(root, "pubkey", "pubkey", key.pubkey.bytes, HS_PUBKEY_LEN,
                 path, errmsg);
    if (rv == 0) {
        rv = get_hex(root, "seckey", "seckey", key.seckey, sizeof key.seckey,
                     path, errmsg);
    }
    if (rv == 0) {
        rv = hs_crypto_secp_pubkey(key.seckey, &derived);
        if (rv == SEQ_EINVAL) {
            invalid(errmsg, path, "seckey", "not a valid secp256k1 secret key");
        } else if (rv == 0 &&
                   memcmp(&derived, &key.pubkey, sizeof derived) != 0) {
            rv = invalid(errmsg, path, "pubkey",
                         "is not the public key of seckey");
        }
    }
    if (rv == 0) {
        *out = key;
    }
    explicit_bzero(&key, sizeof key);
    json_decref(root);
    return rv;
}

int net_validator_key_write(const char *path,
                            const struct net_validator_key *key,
                            char errmsg[SEQ_ERRMSG_LEN])
{
    char pubkey[HEX_KEY_LEN + 1];
    char seckey[HEX_KEY_LEN + 1];
    struct hs_pubkey derived;
    char text[256];
    int n;
    int rv;

    rv = hs_crypto_secp_pubkey(key->seckey, &derived);
    if (rv == SEQ_EINVAL) {
        return invalid(errmsg, path, "seckey",
                       "not a valid secp256k1 secret key");
    }
    if (rv != 0) {
        return rv;
    }
    if (memcmp(&derived, &key->pubkey, sizeof derived) != 0) {
        return invalid(errmsg, path, "pubkey",
                       "is not the public key of seckey");
    }
    seq_hex_encode(key->pubkey.bytes, HS_PUBKEY_LEN, pubkey);
    seq_hex_encode(key->seckey, sizeof key->seckey, seckey);
    n = snprintf(text, sizeof text,
                 "{\n  \"pubkey\": \"%s\",\n  \"seckey\": \"%s\"\n}\n", pubkey,
                 seckey);
    rv = write_atomic(path, text, (size_t)n, true, errmsg);
    explicit_bzero(seckey, sizeof seckey);
    explicit_bzero(text, sizeof text);
    return rv;
}
