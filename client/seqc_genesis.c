/* The genesis as a client sees it: the one document a rollup trusts. It
 * gives the chain id every signature is bound to (SHA-256 of the file's
 * exact bytes, so a re-serialised genesis is another chain), the epoch, the
 * validators' BIP-340 keys in signer order, and the registered namespaces.
 * The parser reads only those members and ignores the rest of the file
 * (genesis_time, timeouts, transport keys, addresses), which is the
 * validator's business (net/net_home.h); what it reads it checks as
 * strictly as the validator does, since a key or a namespace it got wrong
 * would make every later verification wrong. Also here: the transaction
 * hash, and the JSON helpers both decoders share (seqc_int.h). */

#include "seq_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "seq_alloc.h"
#include "seq_hex.h"
#include "seqc_int.h"

/* net/net_home.c reads at most this much too; a genesis is a few KiB. */
#define GENESIS_MAX_BYTES (1u << 20)

#define WEIGHT_MAX 1000000u

/* ------------------------------------------------------------------------
 * Shared helpers (seqc_int.h)
 * ------------------------------------------------------------------------ */

void seqc_errmsg(char *errmsg, const char *where, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (errmsg == NULL) {
        return;
    }
    n = snprintf(errmsg, SEQ_ERRMSG_LEN, "%s: ", where);
    if (n < 0 || n >= SEQ_ERRMSG_LEN) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(errmsg + n, SEQ_ERRMSG_LEN - (size_t)n, fmt, ap);
    va_end(ap);
}

/* @len decimal digits at @s: no sign, no leading zero, no overflow. */
static int decimal_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t acc = 0;
    size_t i;

    /* UINT64_MAX has 20 digits; "0" is the only number with a leading 0. */
    if (len == 0 || len > 20 || (s[0] == '0' && len > 1)) {
        return SEQ_EINVAL;
    }
    for (i = 0; i < len; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9') {
            return SEQ_EINVAL;
        }
        d = (unsigned)(s[i] - '0');
        if (acc > (UINT64_MAX - d) / 10) {
            return SEQ_EINVAL;
        }
        acc = acc * 10 + d;
    }
    *out = acc;
    return SEQ_OK;
}

int seqc_json_u64(const json_t *value, uint64_t *out)
{
    if (json_is_integer(value)) {
        json_int_t v = json_integer_value(value);

        if (v < 0) {
            return SEQ_EINVAL;
        }
        *out = (uint64_t)v;
        return SEQ_OK;
    }
    if (!json_is_string(value)) {
        return SEQ_EINVAL;
    }
    return decimal_u64(json_string_value(value), json_string_length(value),
                       out);
}

/* ------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------ */

/* Names and chain ids: 1-63 of [A-Za-z0-9._-] (net/net_home.h). */
static bool name_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len >= SEQC_NAME_MAX) {
        return false;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* Copies the name in @obj's member @key into @out (SEQC_NAME_MAX). */
static int get_name(const json_t *obj,
                    const char *key,
                    const char *where,
                    char *out,
                    char *errmsg)
{
    const json_t *v = json_object_get(obj, key);
    size_t len;

    if (v == NULL) {
        seqc_errmsg(errmsg, where, "%s: missing", key);
        return SEQ_EINVAL;
    }
    /* jansson refuses NUL inside strings, so the length is strlen's. */
    len = json_is_string(v) ? json_string_length(v) : 0;
    if (!json_is_string(v) || !name_ok(json_string_value(v), len)) {
        seqc_errmsg(errmsg, where, "%s: want 1 to %d of [A-Za-z0-9._-]", key,
                    SEQC_NAME_MAX - 1);
        return SEQ_EINVAL;
    }
    memcpy(out, json_string_value(v), len + 1);
    return SEQ_OK;
}

/* The u64 member @key of @obj, within [@min, @max]. */
static int get_u64(const json_t *obj,
                   const char *key,
                   const char *where,
                   uint64_t min,
                   uint64_t max,
                   uint64_t *out,
                   char *errmsg)
{
    const json_t *v = json_object_get(obj, key);
    uint64_t value;

    if (v == NULL) {
        seqc_errmsg(errmsg, where, "%s: missing", key);
        return SEQ_EINVAL;
    }
    if (seqc_json_u64(v, &value) != SEQ_OK || value < min || value > max) {
        seqc_errmsg(errmsg, where, "%s: want an integer from %llu to %llu", key,
                    (unsigned long long)min, (unsigned long long)max);
        return SEQ_EINVAL;
    }
    *out = value;
    return SEQ_OK;
}

/* validators[i].pubkey, in signer order; keys must be valid and distinct,
 * or one key could count twice towards a quorum. */
static int validators_from_json(const json_t *root,
                                struct seqc_genesis *g,
                                const char *file,
                                char *errmsg)
{
    const json_t *arr = json_object_get(root, "validators");
    char where[300];
    size_t n;
    size_t i;
    size_t j;

    n = json_is_array(arr) ? json_array_size(arr) : 0;
    if (n == 0 || n > SEQC_MAX_VALIDATORS) {
        seqc_errmsg(errmsg, file, "validators: want an array of 1 to %d",
                    SEQC_MAX_VALIDATORS);
        return SEQ_EINVAL;
    }
    for (i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        const json_t *pk = json_object_get(v, "pubkey");

        snprintf(where, sizeof where, "%s: validators[%zu].pubkey", file, i);
        if (!json_is_string(pk) || json_string_length(pk) != 64 ||
            seq_hex_decode(json_string_value(pk), g->pubkeys[i], 32) != 0) {
            seqc_errmsg(errmsg, where, "want 64 hex characters");
            return SEQ_EINVAL;
        }
        if (seqc_pubkey_check(g->pubkeys[i]) != SEQ_OK) {
            seqc_errmsg(errmsg, where,
                        "not a valid secp256k1 x-only public key");
            return SEQ_EINVAL;
        }
        for (j = 0; j < i; j++) {
            if (memcmp(g->pubkeys[i], g->pubkeys[j], 32) == 0) {
                seqc_errmsg(errmsg, where, "same as validators[%zu]", j);
                return SEQ_EINVAL;
            }
        }
    }
    g->n_validators = (uint32_t)n;
    return SEQ_OK;
}

static int namespace_from_json(const json_t *obj,
                               const char *where,
                               struct seqc_namespace *ns,
                               char *errmsg)
{
    uint64_t v;
    int rv;

    if (!json_is_object(obj)) {
        seqc_errmsg(errmsg, where, "want an object");
        return SEQ_EINVAL;
    }
    rv = get_u64(obj, "id", where, 1, UINT64_MAX, &ns->id, errmsg);
    if (rv == 0) {
        rv = get_name(obj, "name", where, ns->name, errmsg);
    }
    if (rv == 0) {
        rv = get_u64(obj, "weight", where, 1, WEIGHT_MAX, &v, errmsg);
        ns->weight = (uint32_t)v;
    }
    if (rv == 0) {
        rv = get_u64(obj, "max_tx_size", where, 1, UINT32_MAX, &v, errmsg);
        ns->max_tx_size = (uint32_t)v;
    }
    return rv;
}

/* The optional namespaces[]: ids and names unique. */
static int namespaces_from_json(const json_t *root,
                                struct seqc_genesis *g,
                                const char *file,
                                char *errmsg)
{
    const json_t *arr = json_object_get(root, "namespaces");
    char where[300];
    size_t n;
    size_t i;
    size_t j;
    int rv;

    if (arr == NULL) {
        g->n_namespaces = 0;
        return SEQ_OK;
    }
    if (!json_is_array(arr) || json_array_size(arr) > SEQC_MAX_NAMESPACES) {
        seqc_errmsg(errmsg, file, "namespaces: want an array of at most %d",
                    SEQC_MAX_NAMESPACES);
        return SEQ_EINVAL;
    }
    n = json_array_size(arr);
    for (i = 0; i < n; i++) {
        struct seqc_namespace *ns = &g->namespaces[i];

        snprintf(where, sizeof where, "%s: namespaces[%zu]", file, i);
        rv = namespace_from_json(json_array_get(arr, i), where, ns, errmsg);
        if (rv != 0) {
            return rv;
        }
        for (j = 0; j < i; j++) {
            if (g->namespaces[j].id == ns->id) {
                seqc_errmsg(errmsg, where, "id: same as namespaces[%zu]", j);
                return SEQ_EINVAL;
            }
            if (strcmp(g->namespaces[j].name, ns->name) == 0) {
                seqc_errmsg(errmsg, where, "name: same as namespaces[%zu]", j);
                return SEQ_EINVAL;
            }
        }
    }
    g->n_namespaces = (uint32_t)n;
    return SEQ_OK;
}

static int genesis_from_json(const json_t *root,
                             struct seqc_genesis *g,
                             const char *file,
                             char *errmsg)
{
    int rv;

    if (!json_is_object(root)) {
        seqc_errmsg(errmsg, file, "want a JSON object");
        return SEQ_EINVAL;
    }
    rv = get_name(root, "chain_id", file, g->chain_name, errmsg);
    if (rv == 0) {
        rv = get_u64(root, "epoch", file, 0, UINT64_MAX, &g->epoch, errmsg);
    }
    if (rv == 0) {
        rv = validators_from_json(root, g, file, errmsg);
    }
    if (rv == 0) {
        rv = namespaces_from_json(root, g, file, errmsg);
    }
    return rv;
}

/* seqc_genesis_parse, with @file naming the source in messages. */
static int genesis_parse(const uint8_t *buf,
                         size_t len,
                         struct seqc_genesis *out,
                         const char *file,
                         char *errmsg)
{
    struct seqc_genesis *g;
    json_error_t error;
    json_t *root;
    int rv;

    root = json_loadb(len == 0 ? "" : (const char *)buf, len,
                      JSON_REJECT_DUPLICATES, &error);
    if (root == NULL) {
        if (json_error_code(&error) == json_error_out_of_memory) {
            return SEQ_ENOMEM;
        }
        seqc_errmsg(errmsg, file, "line %d column %d: %s", error.line,
                    error.column, error.text);
        return SEQ_EINVAL;
    }
    g = seq_calloc(1, sizeof *g); /* About 22 KiB: not on the stack. */
    if (g == NULL) {
        rv = SEQ_ENOMEM;
        goto out;
    }
    rv = genesis_from_json(root, g, file, errmsg);
    if (rv == 0) {
        seq_sha256(buf, len, &g->chain_id);
        *out = *g;
    }
    seq_free(g);
out:
    json_decref(root);
    return rv;
}

int seqc_genesis_parse(const uint8_t *buf,
                       size_t len,
                       struct seqc_genesis *out,
                       char errmsg[SEQ_ERRMSG_LEN])
{
    return genesis_parse(buf, len, out, "genesis", errmsg);
}

/* The whole of @path, at most GENESIS_MAX_BYTES, into *out (seq_free). */
static int read_file(const char *path,
                     uint8_t **out,
                     size_t *out_len,
                     char *errmsg)
{
    uint8_t *buf;
    size_t len;
    FILE *f;
    int rv = SEQ_OK;

    f = fopen(path, "rb");
    if (f == NULL) {
        seqc_errmsg(errmsg, path, "%s", strerror(errno));
        return SEQ_EIO;
    }
    /* One byte more than allowed, to tell a file at the limit from one
     * above it. */
    buf = seq_malloc(GENESIS_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return SEQ_ENOMEM;
    }
    len = fread(buf, 1, GENESIS_MAX_BYTES + 1, f);
    if (ferror(f)) {
        seqc_errmsg(errmsg, path, "read failed");
        rv = SEQ_EIO;
    } else if (len > GENESIS_MAX_BYTES) {
        seqc_errmsg(errmsg, path, "larger than %u bytes", GENESIS_MAX_BYTES);
        rv = SEQ_EINVAL;
    }
    fclose(f);
    if (rv != SEQ_OK) {
        seq_free(buf);
        return rv;
    }
    *out = buf;
    *out_len = len;
    return SEQ_OK;
}

int seqc_genesis_load(const char *path,
                      struct seqc_genesis *out,
                      char errmsg[SEQ_ERRMSG_LEN])
{
    uint8_t *buf;
    size_t len;
    int rv;

    rv = read_file(path, &buf, &len, errmsg);
    if (rv != SEQ_OK) {
        return rv;
    }
    rv = genesis_parse(buf, len, out, path, errmsg);
    seq_free(buf);
    return rv;
}

/* ------------------------------------------------------------------------
 * Lookups and the transaction hash
 * ------------------------------------------------------------------------ */

const struct seqc_namespace *seqc_genesis_namespace(
    const struct seqc_genesis *g,
    uint64_t id)
{
    uint32_t i;

    for (i = 0; i < g->n_namespaces; i++) {
        if (g->namespaces[i].id == id) {
            return &g->namespaces[i];
        }
    }
    return NULL;
}

/* A name wins over an id: "42" is namespace 42 only if no namespace is
 * named "42". */
const struct seqc_namespace *seqc_genesis_namespace_by_name(
    const struct seqc_genesis *g,
    const char *name)
{
    uint64_t id;
    uint32_t i;

    for (i = 0; i < g->n_namespaces; i++) {
        if (strcmp(g->namespaces[i].name, name) == 0) {
            return &g->namespaces[i];
        }
    }
    if (decimal_u64(name, strlen(name), &id) != SEQ_OK) {
        return NULL;
    }
    return seqc_genesis_namespace(g, id);
}

void seqc_tx_hash(uint64_t ns,
                  const uint8_t *payload,
                  size_t len,
                  struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;

    seq_sha256_init(&ctx);
    seq_sha256_u64(&ctx, ns);
    seq_sha256_update(&ctx, payload, len);
    seq_sha256_final(&ctx, out);
}
