/* The logger. Each event becomes one line on stderr, written with a single
 * fwrite so that lines from different threads never interleave:
 *
 *   ts=2024-05-01T12:00:00.123Z level=info module=net msg="peer up" peer=2
 *   {"ts":"2024-05-01T12:00:00.123Z","level":"info","module":"net",
 *    "msg":"peer up","peer":2}                      (one line in the output)
 *
 * Callers pass extra fields as preformatted logfmt (key=value or
 * key="quoted value"); the JSON format re-parses them into members, and if
 * they do not parse, keeps them whole as a "kv" string rather than emit
 * invalid JSON. A line is at most LINE_LEN bytes: a longer message is cut
 * and ends in "...", but the line always stays well formed.
 *
 * Levels are a default plus up to MAX_MODULES per-module overrides. They are
 * set at start-up, before other threads exist, and only read afterwards. This
 * file reads the wall clock; it is in common/, and the consensus core, which
 * may not, never calls it (its traces go through hs_io.trace). */

#define _POSIX_C_SOURCE 200809L

#include "seq_log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "seq_err.h"

#define MAX_MODULES 32
#define MODULE_LEN  32
#define LINE_LEN    4096
#define MSG_LEN     1024
#define RESERVE     8 /* Room kept for the closing '"', '}' and '\n'. */

struct module_level {
    char name[MODULE_LEN];
    enum seq_log_level level;
};

struct levels {
    enum seq_log_level fallback;
    size_t n_modules;
    struct module_level modules[MAX_MODULES];
};

static struct levels levels = { .fallback = SEQ_LOG_INFO };
static enum seq_log_format log_format = SEQ_LOG_LOGFMT;

static const char *const level_names[] = {
    [SEQ_LOG_DEBUG] = "debug",
    [SEQ_LOG_INFO] = "info",
    [SEQ_LOG_WARN] = "warn",
    [SEQ_LOG_ERROR] = "error",
};

static bool level_valid(enum seq_log_level level)
{
    return level >= SEQ_LOG_DEBUG && level <= SEQ_LOG_ERROR;
}

void seq_log_setup(enum seq_log_level level, enum seq_log_format format)
{
    if (level_valid(level)) {
        levels.fallback = level;
    }
    if (format == SEQ_LOG_LOGFMT || format == SEQ_LOG_JSON) {
        log_format = format;
    }
}

/* Level names are matched without regard to ASCII case ("INFO" works), and
 * "warning" is accepted for "warn". Returns false for anything else. */
static bool parse_level(const char *s, size_t len, enum seq_log_level *out)
{
    static const struct {
        const char *name;
        enum seq_log_level level;
    } names[] = {
        { "debug", SEQ_LOG_DEBUG }, { "info", SEQ_LOG_INFO },
        { "warn", SEQ_LOG_WARN },   { "warning", SEQ_LOG_WARN },
        { "error", SEQ_LOG_ERROR },
    };
    size_t i;
    size_t j;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) != len) {
            continue;
        }
        for (j = 0; j < len; j++) {
            char c = s[j];

            if (c >= 'A' && c <= 'Z') {
                c = (char)(c - 'A' + 'a');
            }
            if (c != names[i].name[j]) {
                break;
            }
        }
        if (j == len) {
            *out = names[i].level;
            return true;
        }
    }
    return false;
}

static bool module_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* One "module=level" or bare "level" item of a spec, without its comma and
 * surrounding blanks, applied to @next. */
static int parse_item(const char *s, size_t len, struct levels *next)
{
    const char *eq = memchr(s, '=', len);
    enum seq_log_level level;
    size_t name_len;
    size_t i;

    if (eq == NULL) {
        if (!parse_level(s, len, &level)) {
            return SEQ_EINVAL;
        }
        next->fallback = level;
        return SEQ_OK;
    }
    name_len = (size_t)(eq - s);
    if (name_len == 0 || name_len >= MODULE_LEN ||
        !parse_level(eq + 1, len - name_len - 1, &level)) {
        return SEQ_EINVAL;
    }
    for (i = 0; i < name_len; i++) {
        if (!module_char(s[i])) {
            return SEQ_EINVAL;
        }
    }
    /* A module named twice keeps its last level. */
    for (i = 0; i < next->n_modules; i++) {
        if (strlen(next->modules[i].name) == name_len &&
            memcmp(next->modules[i].name, s, name_len) == 0) {
            next->modules[i].level = level;
            return SEQ_OK;
        }
    }
    if (next->n_modules == MAX_MODULES) {
        return SEQ_EINVAL;
    }
    memcpy(next->modules[next->n_modules].name, s, name_len);
    next->modules[next->n_modules].name[name_len] = '\0';
    next->modules[next->n_modules].level = level;
    next->n_modules++;
    return SEQ_OK;
}

/* The spec replaces every per-module level; the default changes only if the
 * spec has a bare level. Nothing changes unless the whole spec parses. */
int seq_log_parse_levels(const char *spec)
{
    struct levels next;
    const char *p = spec;
    int rv;

    if (spec == NULL) {
        return SEQ_EINVAL;
    }
    memset(&next, 0, sizeof next);
    next.fallback = levels.fallback;
    for (;;) {
        const char *end = strchr(p, ',');
        const char *stop = end != NULL ? end : p + strlen(p);

        while (p < stop && (*p == ' ' || *p == '\t')) {
            p++;
        }
        while (stop > p && (stop[-1] == ' ' || stop[-1] == '\t')) {
            stop--;
        }
        rv = parse_item(p, (size_t)(stop - p), &next);
        if (rv != SEQ_OK) {
            return rv;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    levels = next;
    return SEQ_OK;
}

int seq_log_enabled(const char *module, enum seq_log_level level)
{
    enum seq_log_level threshold = levels.fallback;
    size_t i;

    if (module != NULL) {
        for (i = 0; i < levels.n_modules; i++) {
            if (strcmp(levels.modules[i].name, module) == 0) {
                threshold = levels.modules[i].level;
                break;
            }
        }
    }
    return level_valid(level) && level >= threshold;
}

/* A line under construction. Once something does not fit, the line is full
 * and takes nothing more, except closing characters, which go into the
 * RESERVE bytes. Members are added whole or rolled back, so a full line is
 * still well-formed logfmt or JSON. */
struct line {
    char buf[LINE_LEN];
    size_t len;
    bool full;
};

static size_t room(const struct line *l)
{
    return LINE_LEN - RESERVE - l->len;
}

/* Appends all of @s or, marking the line full, none of it. */
static void put(struct line *l, const char *s, size_t n)
{
    if (l->full || n > room(l)) {
        l->full = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void put_str(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* Appends @s inside double quotes, escaped for logfmt or JSON. If the line
 * fills up, the value is cut between two characters, ends in "..." and is
 * still closed. Returns false, having appended nothing, if there was no room
 * to open it. */
static bool put_quoted(struct line *l, const char *s, size_t n, bool json)
{
    char esc[8];
    size_t i;

    if (l->full || room(l) < 4) {
        l->full = true;
        return false;
    }
    put(l, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *unit = esc;

        switch (c) {
        case '"':
            unit = "\\\"";
            break;
        case '\\':
            unit = "\\\\";
            break;
        case '\n':
            unit = "\\n";
            break;
        case '\r':
            unit = "\\r";
            break;
        case '\t':
            unit = "\\t";
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(esc, sizeof esc, json ? "\\u%04x" : "\\x%02x", c);
            } else {
                esc[0] = (char)c;
                esc[1] = '\0';
            }
            break;
        }
        if (strlen(unit) + 3 > room(l)) {
            put(l, "...", 3);
            l->full = true;
            break;
        }
        put_str(l, unit);
    }
    l->buf[l->len++] = '"';
    return true;
}

/* Appends one key and value: ` key=value` in logfmt, `,"key":value` in JSON.
 * A @quoted value is quoted and escaped; otherwise it is written as it is.
 * All or nothing, except that a quoted value may be cut (put_quoted()). */
static void put_member(struct line *l,
                       bool json,
                       const char *key,
                       size_t key_len,
                       const char *val,
                       size_t val_len,
                       bool quoted)
{
    size_t mark = l->len;

    if (json) {
        put(l, ",", 1);
        put_quoted(l, key, key_len, true);
        put(l, ":", 1);
    } else {
        put(l, " ", 1);
        put(l, key, key_len);
        put(l, "=", 1);
    }
    if (!l->full) {
        if (quoted) {
            if (put_quoted(l, val, val_len, json)) {
                return;
            }
        } else {
            put(l, val, val_len);
        }
    }
    if (l->full) {
        l->len = mark;
    }
}

/* A bare logfmt value that JSON can carry as a number or a boolean. */
static bool json_literal(const char *s, size_t n)
{
    size_t i = 0;
    bool digits = false;

    if ((n == 4 && memcmp(s, "true", 4) == 0) ||
        (n == 5 && memcmp(s, "false", 5) == 0)) {
        return true;
    }
    if (i < n && s[i] == '-') {
        i++;
    }
    if (i + 1 < n && s[i] == '0') {
        return false; /* JSON has no leading zeros. */
    }
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        digits = true;
    }
    return digits && i == n;
}

/* Parses the logfmt pair at *@p: a key, '=', and a bare or quoted value. A
 * quoted value is unescaped into @tmp. Advances *@p past the pair. Returns
 * false if the text is not logfmt. */
static bool next_pair(const char **p,
                      const char **key,
                      size_t *key_len,
                      const char **val,
                      size_t *val_len,
                      bool *quoted,
                      char tmp[MSG_LEN])
{
    const char *q = *p;
    size_t n = 0;

    *key = q;
    while (*q != '\0' && *q != '=' && *q != ' ' && *q != '"') {
        q++;
    }
    *key_len = (size_t)(q - *key);
    if (*key_len == 0 || *q != '=') {
        return false;
    }
    q++;
    *quoted = *q == '"';
    if (!*quoted) {
        *val = q;
        while (*q != '\0' && *q != ' ') {
            q++;
        }
        *val_len = (size_t)(q - *val);
        *p = q;
        return true;
    }
    for (q++; *q != '"'; q++) {
        if (*q == '\0' || n == MSG_LEN) {
            return false;
        }
        if (*q == '\\') {
            q++;
            if (*q == '\0') {
                return false;
            }
            tmp[n++] = *q == 'n' ? '\n' : *q == 't' ? '\t' : *q;
        } else {
            tmp[n++] = *q;
        }
    }
    *val = tmp;
    *val_len = n;
    *p = q + 1;
    return true;
}

/* Checks that @kv is logfmt, then appends its pairs as JSON members. Returns
 * false, having appended nothing, if it is not. */
static bool put_kv_json(struct line *l, const char *kv)
{
    char tmp[MSG_LEN];
    const char *key;
    const char *val;
    size_t key_len;
    size_t val_len;
    bool quoted;
    const char *p;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        for (p = kv;;) {
            while (*p == ' ') {
                p++;
            }
            if (*p == '\0') {
                break;
            }
            if (!next_pair(&p, &key, &key_len, &val, &val_len, &quoted, tmp)) {
                return false;
            }
            if (pass == 1) {
                put_member(l, true, key, key_len, val, val_len,
                           quoted || !json_literal(val, val_len));
            }
        }
    }
    return true;
}

/* UTC wall-clock time with milliseconds, RFC 3339: 2024-05-01T12:00:00.123Z */
static void put_timestamp(struct line *l)
{
    struct timespec ts;
    struct tm tm;
    char text[40];
    size_t n;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 ||
        gmtime_r(&ts.tv_sec, &tm) == NULL) {
        put_str(l, "unknown");
        return;
    }
    n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(text + n, sizeof text - n, ".%03uZ",
             (unsigned)(ts.tv_nsec / 1000000) % 1000u);
    put_str(l, text);
}

void seq_log(enum seq_log_level level,
             const char *module,
             const char *kv,
             const char *fmt,
             ...)
{
    struct line l;
    char msg[MSG_LEN];
    size_t msg_len;
    bool json = log_format == SEQ_LOG_JSON;
    va_list ap;
    int n;

    if (module == NULL) {
        module = "-";
    }
    if (!seq_log_enabled(module, level)) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
    }
    msg_len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;

    l.len = 0;
    l.full = false;
    put_str(&l, json ? "{\"ts\":\"" : "ts=");
    put_timestamp(&l);
    put_str(&l, json ? "\",\"level\":\"" : " level=");
    put_str(&l, level_names[level]);
    if (json) {
        put_str(&l, "\"");
    }
    put_member(&l, json, "module", 6, module, strlen(module), json);
    put_member(&l, json, "msg", 3, msg, msg_len, true);
    if (kv != NULL && json && !put_kv_json(&l, kv)) {
        put_member(&l, true, "kv", 2, kv, strlen(kv), true);
    } else if (kv != NULL && !json && *kv != '\0') {
        size_t mark = l.len;

        put(&l, " ", 1);
        put_str(&l, kv);
        if (l.full) {
            l.len = mark;
        }
    }
    if (json) {
        l.buf[l.len++] = '}';
    }
    l.buf[l.len++] = '\n';
    fwrite(l.buf, 1, l.len, stderr);
}
