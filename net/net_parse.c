/* Parsers for what clients send (net_parse.h). Each one accepts exactly
 * one spelling of a value: a number has no sign, space or 21st digit, a
 * base64 string has one encoding, a path has no extra slash. Refusing the
 * odd spellings keeps what two validators accept the same, and leaves no
 * corner where an overflow or a partial parse could hide. */

#include "net_parse.h"
#include "seq_base64.h"

#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hex.h"

#define U64_MAX_DIGITS 20

int net_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (s == NULL || len == 0 || len > U64_MAX_DIGITS) {
        return SEQ_EINVAL;
    }
    for (i = 0; i < len; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9') {
            return SEQ_EINVAL;
        }
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return SEQ_EINVAL; /* Would pass UINT64_MAX. */
        }
        v = v * 10 + d;
    }
    *out = v;
    return SEQ_OK;
}

/* ---- Paths ---------------------------------------------------------------
 */

/* If @s starts with @prefix, the rest of it; else NULL. */
static const char *skip_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);

    return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

static int route_error(struct net_route *out,
                       enum net_route_kind kind,
                       const char *error)
{
    out->kind = kind;
    out->error = error;
    return SEQ_EINVAL;
}

/* "/v1/namespaces/<N>/blocks/<height>" and "/v1/namespaces/<N>/stream",
 * @rest being what follows "/v1/namespaces/". */
static int route_namespace(const char *rest, struct net_route *out)
{
    const char *slash = strchr(rest, '/');
    const char *tail, *height;
    enum net_route_kind kind;
    uint64_t ns, h = 0;

    if (slash == NULL) {
        return SEQ_ENOTFOUND;
    }
    tail = slash + 1;
    height = skip_prefix(tail, "blocks/");
    if (height != NULL) {
        kind = NET_ROUTE_NS_BLOCK;
    } else if (strcmp(tail, "stream") == 0) {
        kind = NET_ROUTE_NS_STREAM;
    } else {
        return SEQ_ENOTFOUND;
    }
    if (net_parse_u64(rest, (size_t)(slash - rest), &ns) != 0) {
        return route_error(out, kind, "bad_namespace");
    }
    if (kind == NET_ROUTE_NS_BLOCK &&
        (net_parse_u64(height, strlen(height), &h) != 0 || h == 0)) {
        return route_error(out, kind, "bad_height");
    }
    out->kind = kind;
    out->ns = ns;
    out->height = h;
    out->error = NULL;
    return SEQ_OK;
}

int net_route_parse(const char *path, struct net_route *out)
{
    static const struct {
        const char *path;
        enum net_route_kind kind;
    } fixed[] = {
        { "/v1/status", NET_ROUTE_STATUS }, { "/v1/tx", NET_ROUTE_TX_SUBMIT },
        { "/livez", NET_ROUTE_LIVEZ },      { "/readyz", NET_ROUTE_READYZ },
        { "/metrics", NET_ROUTE_METRICS },
    };
    const char *rest;
    uint64_t h;
    size_t i;

    if (path == NULL) {
        return SEQ_ENOTFOUND;
    }
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (strcmp(path, fixed[i].path) == 0) {
            memset(out, 0, sizeof *out);
            out->kind = fixed[i].kind;
            return SEQ_OK;
        }
    }
    rest = skip_prefix(path, "/v1/blocks/");
    if (rest != NULL) {
        if (net_parse_u64(rest, strlen(rest), &h) != 0) {
            return route_error(out, NET_ROUTE_BLOCK, "bad_height");
        }
        memset(out, 0, sizeof *out);
        out->kind = NET_ROUTE_BLOCK;
        out->height = h;
        return SEQ_OK;
    }
    rest = skip_prefix(path, "/v1/tx/");
    if (rest != NULL) {
        struct seq_hash hash;

        if (strlen(rest) != 2 * SEQ_HASH_LEN ||
            seq_hex_decode(rest, hash.bytes, SEQ_HASH_LEN) != 0) {
            return route_error(out, NET_ROUTE_TX_GET, "bad_hash");
        }
        memset(out, 0, sizeof *out);
        out->kind = NET_ROUTE_TX_GET;
        out->hash = hash;
        return SEQ_OK;
    }
    rest = skip_prefix(path, "/v1/namespaces/");
    if (rest != NULL) {
        return route_namespace(rest, out);
    }
    return SEQ_ENOTFOUND;
}

/* ---- The POST /v1/tx body ------------------------------------------------
 */

static int body_error(const char **code,
                      const char **why,
                      const char *c,
                      const char *w)
{
    *code = c;
    *why = w;
    return SEQ_EINVAL;
}

int net_tx_body_parse(const char *body,
                      size_t len,
                      size_t max_payload,
                      struct net_tx_body *out,
                      const char **code,
                      const char **why)
{
    json_t *root, *ns, *payload;
    const char *text;
    size_t text_len, n;
    uint8_t *buf;
    json_int_t id;
    int rv;

    *code = NULL;
    *why = NULL;
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (root == NULL) {
        return body_error(code, why, "malformed_json",
                          "the body is not one JSON value");
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return body_error(code, why, "malformed_json",
                          "the body must be a JSON object");
    }
    ns = json_object_get(root, "namespace");
    payload = json_object_get(root, "payload");
    if (ns == NULL || payload == NULL) {
        json_decref(root);
        return body_error(code, why, "bad_request",
                          "\"namespace\" and \"payload\" are required");
    }
    id = json_is_integer(ns) ? json_integer_value(ns) : -1;
    if (id < 0) {
        json_decref(root);
        return body_error(code, why, "bad_namespace",
                          "\"namespace\" must be a non-negative integer");
    }
    if (!json_is_string(payload)) {
        json_decref(root);
        return body_error(code, why, "bad_payload",
                          "\"payload\" must be a base64 string");
    }
    text = json_string_value(payload);
    text_len = json_string_length(payload);
    if (seq_base64_decoded_len(text, text_len, &n) != 0) {
        json_decref(root);
        return body_error(code, why, "bad_payload",
                          "\"payload\" is not padded base64");
    }
    if (n > max_payload) {
        json_decref(root);
        return SEQ_ETOOBIG;
    }
    buf = seq_malloc(n); /* 0 gives a valid block (seq_alloc.h). */
    if (buf == NULL) {
        json_decref(root);
        return SEQ_ENOMEM;
    }
    rv = seq_base64_decode(text, text_len, buf, n, &n);
    json_decref(root);
    if (rv != 0) {
        seq_free(buf);
        return body_error(code, why, "bad_payload",
                          "\"payload\" is not strict base64");
    }
    out->ns = (uint64_t)id;
    out->payload = buf;
    out->len = n;
    return SEQ_OK;
}

/* ---- The client port's ClientRequest -------------------------------------
 */

#define REQUEST_VERSION 1
/* Each block starts with its size, padded to keep the rest aligned. */
#define REQUEST_HEADER sizeof(max_align_t)

static void *request_alloc(void *data, size_t size)
{
    struct net_client_request *r = data;
    uint8_t *p;

    if (size > r->left || REQUEST_HEADER > r->left - size) {
        r->spent = true;
        return NULL;
    }
    p = seq_malloc(REQUEST_HEADER + size);
    if (p == NULL) {
        r->oom = true;
        return NULL;
    }
    r->left -= REQUEST_HEADER + size;
    if (r->budget - r->left > r->peak) {
        r->peak = r->budget - r->left;
    }
    memcpy(p, &size, sizeof size);
    return p + REQUEST_HEADER;
}

static void request_free_block(void *data, void *ptr)
{
    struct net_client_request *r = data;
    uint8_t *p;
    size_t size;

    if (ptr == NULL) {
        return;
    }
    p = (uint8_t *)ptr - REQUEST_HEADER;
    memcpy(&size, p, sizeof size);
    r->left += REQUEST_HEADER + size;
    seq_free(p);
}

static int request_refuse(struct net_client_request *r,
                          uint64_t request_id,
                          const char *code,
                          const char *why)
{
    r->request_id = request_id;
    r->code = code;
    r->why = why;
    return SEQ_EINVAL;
}

static uint64_t request_id_of(const Seqc__ClientRequest *m)
{
    if (m->msg_case == SEQC__CLIENT_REQUEST__MSG_SUBMIT && m->submit != NULL) {
        return m->submit->request_id;
    }
    if (m->msg_case == SEQC__CLIENT_REQUEST__MSG_TX_QUERY &&
        m->tx_query != NULL) {
        return m->tx_query->request_id;
    }
    return 0;
}

/* The bounds that need no node state (C1). */
static int request_check(struct net_client_request *r)
{
    const Seqc__ClientRequest *m = r->msg;

    if (m->version != REQUEST_VERSION) {
        return request_refuse(r, request_id_of(m), "version",
                              "unsupported version (want 1)");
    }
    if (m->msg_case == SEQC__CLIENT_REQUEST__MSG_SUBMIT && m->submit != NULL) {
        if (m->submit->n_txs == 0 || m->submit->n_txs > SEQC_MAX_SUBMIT) {
            return request_refuse(r, m->submit->request_id, "malformed",
                                  "submit: 1..4096 transactions");
        }
        return SEQ_OK;
    }
    if (m->msg_case == SEQC__CLIENT_REQUEST__MSG_SUBSCRIBE &&
        m->subscribe != NULL) {
        if (m->subscribe->from_height == 0 || m->subscribe->credits == 0 ||
            m->subscribe->credits > SEQC_MAX_CREDITS) {
            return request_refuse(
                r, 0, "malformed",
                "subscribe: from_height >= 1 and 1..1024 credits");
        }
        return SEQ_OK;
    }
    if (m->msg_case == SEQC__CLIENT_REQUEST__MSG_CREDIT && m->credit != NULL) {
        if (m->credit->credits == 0) {
            return request_refuse(r, 0, "malformed", "credit: at least 1");
        }
        return SEQ_OK;
    }
    if (m->msg_case == SEQC__CLIENT_REQUEST__MSG_TX_QUERY &&
        m->tx_query != NULL) {
        if (m->tx_query->tx_hash.len != SEQ_HASH_LEN) {
            return request_refuse(r, m->tx_query->request_id, "malformed",
                                  "tx_query: a 32-byte tx_hash");
        }
        return SEQ_OK;
    }
    return request_refuse(r, 0, "malformed", "ClientRequest without a request");
}

int net_client_request_decode(const uint8_t *body,
                              size_t len,
                              struct net_client_request *out)
{
    memset(out, 0, sizeof *out);
    out->alloc.alloc = request_alloc;
    out->alloc.free = request_free_block;
    out->alloc.allocator_data = out;
    out->budget = NET_CLIENT_DECODE_FACTOR * len + NET_CLIENT_DECODE_SLACK;
    out->left = out->budget;
    out->msg = seqc__client_request__unpack(&out->alloc, len, body);
    if (out->msg == NULL) {
        if (out->oom) {
            return SEQ_ENOMEM;
        }
        /* A refused block ends the unpacking at once, so spent means
         * the budget is why it failed. */
        return out->spent ? SEQ_ETOOBIG : SEQ_EBADMSG;
    }
    return request_check(out);
}

void net_client_request_free(struct net_client_request *req)
{
    if (req->msg != NULL) {
        seqc__client_request__free_unpacked(req->msg, &req->alloc);
        req->msg = NULL;
    }
}
