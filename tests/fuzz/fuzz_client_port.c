/* libFuzzer target for what a rollup client can send a validator
 * (net/net_parse.h): the client port's ClientRequest and the HTTP API's
 * paths, POST /v1/tx bodies, base64 and decimal numbers. The first byte
 * picks the decoder (modulo 5); the rest is its input. A decoder must
 * answer 0 or one of its documented codes, leave its output untouched
 * where it says so, and never crash or leak (ASan, UBSan and LSan watch).
 * Each one also meets an oracle written apart from it:
 *
 *   request  protobuf-c with a counting allocator of its own is the
 *            reference: the budgeted decode fails with SEQ_ETOOBIG exactly
 *            when the reference's live bytes would pass the budget, with
 *            SEQ_EBADMSG exactly when the reference fails otherwise, and
 *            decodes the same message when the reference does. Accepted
 *            requests keep every bound of proto/client.proto; refused ones
 *            break one, with the Error the handlers used to send. The
 *            allocator's books balance after the free, its peak stays in
 *            the budget, and failing any one allocation gives SEQ_ENOMEM
 *            with nothing leaked. Re-packing is canonical.
 *   route    an accepted path has the segment shape of its kind and its
 *            numbers agree with strtoull; the canonical spelling of the
 *            route parses back to the same route.
 *   tx body  jansson read apart agrees on the namespace, OpenSSL's base64
 *            of the payload is the body's string, and a payload bound
 *            only turns results into SEQ_ETOOBIG.
 *   base64   decoding accepts exactly the strings OpenSSL's encoder
 *            writes (one spelling per byte string), and decode(encode(x))
 *            is x for the input read as bytes; a short buffer is refused
 *            untouched.
 *   u64      agrees with strtoull on 1 to 20 digits, refuses the rest.
 *
 * Any violation aborts, which libFuzzer reports as a crash with the input
 * saved.
 *
 * Seeds: when SEQ_FUZZ_SEED_DIR names a directory, LLVMFuzzerInitialize
 * writes valid and boundary inputs for each decoder there (a Submit of
 * SEQC_MAX_SUBMIT and one more, one past the decoding budget, each path,
 * bodies, numbers), so no binary seeds live in git. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <protobuf-c/protobuf-c.h>

#include "client.pb-c.h"
#include "net_parse.h"
#include "seq_alloc.h"
#include "seq_base64.h"
#include "seq_client.h"
#include "seq_err.h"
#include "seq_hex.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum which {
    WHICH_REQUEST = 0,
    WHICH_ROUTE = 1,
    WHICH_TX_BODY = 2,
    WHICH_BASE64 = 3,
    WHICH_U64 = 4,
    WHICH_COUNT = 5,
};

#define ALLOC_HEADER   sizeof(max_align_t) /* As net_parse.c's allocator. */
#define BODY_SMALL_MAX 16 /* The small payload bound for the tx body. */

_Noreturn static void fail(const char *what)
{
    fprintf(stderr, "fuzz_client_port: %s\n", what);
    abort();
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n > 0 ? n : 1);

    if (p == NULL) {
        fail("out of memory");
    }
    return p;
}

static bool untouched(const void *p, size_t len)
{
    const uint8_t *b = p;
    size_t i;

    for (i = 0; i < len; i++) {
        if (b[i] != 0x5a) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------
 * ClientRequest
 * ------------------------------------------------------------------------ */

/* The reference: malloc with the same per-block accounting as the budget,
 * never refusing. over: some block would have passed @budget. */
struct ref_alloc {
    ProtobufCAllocator base;
    size_t budget, live;
    bool over;
};

static void *ref_alloc_block(void *data, size_t size)
{
    struct ref_alloc *r = data;
    size_t *p;

    if (r->live + ALLOC_HEADER + size > r->budget) {
        r->over = true;
    }
    p = xmalloc(ALLOC_HEADER + size);
    p[0] = size;
    r->live += ALLOC_HEADER + size;
    return (uint8_t *)p + ALLOC_HEADER;
}

static void ref_free_block(void *data, void *ptr)
{
    struct ref_alloc *r = data;
    size_t *p;

    if (ptr == NULL) {
        return;
    }
    p = (size_t *)(void *)((uint8_t *)ptr - ALLOC_HEADER);
    r->live -= ALLOC_HEADER + p[0];
    free(p);
}

/* What the request should get, from proto/client.proto's comments: 0, or
 * SEQ_EINVAL with the Error's request id and code. */
static int ref_verdict(const Seqc__ClientRequest *m,
                       uint64_t *request_id,
                       const char **code)
{
    *request_id = 0;
    *code = "malformed";
    if (m->version != 1) {
        *code = "version";
        if (m->msg_case == SEQC__CLIENT_REQUEST__MSG_SUBMIT) {
            *request_id = m->submit->request_id;
        } else if (m->msg_case == SEQC__CLIENT_REQUEST__MSG_TX_QUERY) {
            *request_id = m->tx_query->request_id;
        }
        return SEQ_EINVAL;
    }
    switch (m->msg_case) {
    case SEQC__CLIENT_REQUEST__MSG_SUBMIT:
        *request_id = m->submit->request_id;
        return m->submit->n_txs >= 1 && m->submit->n_txs <= SEQC_MAX_SUBMIT
                   ? SEQ_OK
                   : SEQ_EINVAL;
    case SEQC__CLIENT_REQUEST__MSG_SUBSCRIBE:
        return m->subscribe->from_height >= 1 && m->subscribe->credits >= 1 &&
                       m->subscribe->credits <= SEQC_MAX_CREDITS
                   ? SEQ_OK
                   : SEQ_EINVAL;
    case SEQC__CLIENT_REQUEST__MSG_CREDIT:
        return m->credit->credits >= 1 ? SEQ_OK : SEQ_EINVAL;
    case SEQC__CLIENT_REQUEST__MSG_TX_QUERY:
        *request_id = m->tx_query->request_id;
        return m->tx_query->tx_hash.len == 32 ? SEQ_OK : SEQ_EINVAL;
    default:
        return SEQ_EINVAL;
    }
}

/* What the handlers rely on in an accepted request. */
static void check_accepted(const Seqc__ClientRequest *m)
{
    size_t i;

    if (m->version != 1) {
        fail("request: accepted another version");
    }
    switch (m->msg_case) {
    case SEQC__CLIENT_REQUEST__MSG_SUBMIT:
        if (m->submit == NULL || m->submit->n_txs < 1 ||
            m->submit->n_txs > SEQC_MAX_SUBMIT || m->submit->txs == NULL) {
            fail("request: accepted a submit out of bounds");
        }
        for (i = 0; i < m->submit->n_txs; i++) {
            const Seqc__Tx *tx = m->submit->txs[i];

            if (tx == NULL ||
                (tx->payload.len > 0 && tx->payload.data == NULL)) {
                fail("request: accepted a submit with a hole");
            }
        }
        break;
    case SEQC__CLIENT_REQUEST__MSG_SUBSCRIBE:
        if (m->subscribe == NULL || m->subscribe->from_height < 1 ||
            m->subscribe->credits < 1 ||
            m->subscribe->credits > SEQC_MAX_CREDITS) {
            fail("request: accepted a subscribe out of bounds");
        }
        break;
    case SEQC__CLIENT_REQUEST__MSG_CREDIT:
        if (m->credit == NULL || m->credit->credits < 1) {
            fail("request: accepted a credit out of bounds");
        }
        break;
    case SEQC__CLIENT_REQUEST__MSG_TX_QUERY:
        if (m->tx_query == NULL || m->tx_query->tx_hash.len != 32 ||
            m->tx_query->tx_hash.data == NULL) {
            fail("request: accepted a tx_query without a 32-byte hash");
        }
        break;
    default:
        fail("request: accepted without a request");
    }
}

static uint8_t *pack_request(const Seqc__ClientRequest *m, size_t *len)
{
    uint8_t *buf;

    *len = seqc__client_request__get_packed_size(m);
    buf = xmalloc(*len);
    if (seqc__client_request__pack(m, buf) != *len) {
        fail("request: pack wrote another size");
    }
    return buf;
}

static void same_bytes(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len || memcmp(a, b, a_len) != 0) {
        fail("request: encodings differ");
    }
}

/* The allocator's books, after any decode and its free. */
static void check_books(const struct net_client_request *r, size_t len)
{
    if (r->budget != NET_CLIENT_DECODE_FACTOR * len + NET_CLIENT_DECODE_SLACK ||
        r->peak > r->budget || r->left != r->budget || r->msg != NULL) {
        fail("request: allocator books do not balance");
    }
}

/* Every allocation the decode makes, failed in turn would be the torture
 * test; one, picked by the input, keeps the run fast. */
static void check_enomem(const uint8_t *data, size_t size, unsigned long allocs)
{
    struct net_client_request r;
    unsigned long nth = 1;
    size_t i;
    int rv;

    for (i = 0; i < size; i++) {
        nth = nth * 31 + data[i];
    }
    nth = 1 + nth % allocs;
    seq_alloc_fail_at(nth, 0);
    rv = net_client_request_decode(data, size, &r);
    seq_alloc_fail_at(0, 0);
    if (rv != SEQ_ENOMEM || r.msg != NULL || !r.oom) {
        fail("request: a failed allocation is not SEQ_ENOMEM");
    }
    net_client_request_free(&r);
    check_books(&r, size);
}

static bool tag0_in(const ProtobufCMessage *m)
{
    unsigned i;

    for (i = 0; m != NULL && i < m->n_unknown_fields; i++) {
        if (m->unknown_fields[i].tag == 0) {
            return true;
        }
    }
    return false;
}

/* protobuf-c 1.4 reads an overlong tag of field number 0 ("85 00") as an
 * unknown field, and packs it back as "05", which it refuses: a quirk of
 * the library the validator never meets, since it does not re-pack
 * requests. */
static bool has_tag0(const Seqc__ClientRequest *m)
{
    size_t i;

    if (tag0_in(&m->base)) {
        return true;
    }
    switch (m->msg_case) {
    case SEQC__CLIENT_REQUEST__MSG_SUBMIT:
        for (i = 0; i < m->submit->n_txs; i++) {
            if (tag0_in(&m->submit->txs[i]->base)) {
                return true;
            }
        }
        return tag0_in(&m->submit->base);
    case SEQC__CLIENT_REQUEST__MSG_SUBSCRIBE:
        return tag0_in(&m->subscribe->base);
    case SEQC__CLIENT_REQUEST__MSG_CREDIT:
        return tag0_in(&m->credit->base);
    case SEQC__CLIENT_REQUEST__MSG_TX_QUERY:
        return tag0_in(&m->tx_query->base);
    default:
        return false;
    }
}

/* Re-packing is canonical: the packed form decodes to the same verdict
 * and packs to the same bytes. */
static void check_repack(const struct net_client_request *r, size_t len)
{
    struct net_client_request again;
    uint8_t *enc, *enc2;
    size_t enc_len, enc2_len;
    int rv, rv2;

    rv = r->msg == NULL ? SEQ_EBADMSG : r->code == NULL ? SEQ_OK : SEQ_EINVAL;
    enc = pack_request(r->msg, &enc_len);
    rv2 = net_client_request_decode(enc, enc_len, &again);
    if ((rv2 == SEQ_ETOOBIG && enc_len < len) ||
        (rv2 == SEQ_EBADMSG && has_tag0(r->msg))) {
        /* A shorter spelling has a smaller budget for the same blocks;
         * for field number 0, see has_tag0. */
        net_client_request_free(&again);
        free(enc);
        return;
    }
    if (rv2 != rv || again.request_id != r->request_id ||
        again.code != r->code || again.why != r->why) {
        fail("request: the re-encoding gets another verdict");
    }
    enc2 = pack_request(again.msg, &enc2_len);
    same_bytes(enc, enc_len, enc2, enc2_len);
    free(enc2);
    net_client_request_free(&again);
    check_books(&again, enc_len);
    free(enc);
}

static void check_request(const uint8_t *data, size_t size)
{
    struct ref_alloc ref = { 0 };
    struct net_client_request r;
    Seqc__ClientRequest *want;
    unsigned long allocs;
    uint64_t want_id;
    const char *want_code;
    int rv, want_rv;

    allocs = seq_alloc_count();
    rv = net_client_request_decode(data, size, &r);
    allocs = seq_alloc_count() - allocs;

    ref.base.alloc = ref_alloc_block;
    ref.base.free = ref_free_block;
    ref.base.allocator_data = &ref;
    ref.budget = NET_CLIENT_DECODE_FACTOR * size + NET_CLIENT_DECODE_SLACK;
    want = seqc__client_request__unpack(&ref.base, size, data);

    if (ref.over) {
        if (rv != SEQ_ETOOBIG || r.msg != NULL || !r.spent) {
            fail("request: past the budget but not SEQ_ETOOBIG");
        }
    } else if (want == NULL) {
        if (rv != SEQ_EBADMSG || r.msg != NULL) {
            fail("request: the reference refuses, the decoder does not");
        }
    } else {
        uint8_t *a, *b;
        size_t a_len, b_len;

        if (r.msg == NULL) {
            fail("request: the reference decodes, the decoder does not");
        }
        want_rv = ref_verdict(want, &want_id, &want_code);
        if (rv != want_rv) {
            fail("request: wrong verdict");
        }
        if (rv == SEQ_OK) {
            check_accepted(r.msg);
            if (r.code != NULL || r.why != NULL) {
                fail("request: accepted with an error");
            }
        } else if (r.request_id != want_id || r.code == NULL ||
                   strcmp(r.code, want_code) != 0 || r.why == NULL ||
                   r.why[0] == '\0') {
            fail("request: refused with the wrong Error");
        }
        a = pack_request(r.msg, &a_len);
        b = pack_request(want, &b_len);
        same_bytes(a, a_len, b, b_len);
        free(b);
        free(a);
        check_repack(&r, size);
    }
    if (want != NULL) {
        seqc__client_request__free_unpacked(want, &ref.base);
    }
    if (ref.live != 0) {
        fail("request: the reference leaks");
    }
    net_client_request_free(&r);
    check_books(&r, size);
    if (allocs > 0) {
        check_enomem(data, size, allocs);
    }
}

/* ------------------------------------------------------------------------
 * Numbers and base64
 * ------------------------------------------------------------------------ */

/* The reference: 1 to 20 ASCII digits that strtoull reads without
 * ERANGE. */
static bool ref_u64(const char *s, size_t len, uint64_t *out)
{
    char buf[21];
    unsigned long long v;
    char *end;
    size_t i;

    if (len < 1 || len > 20) {
        return false;
    }
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtoull(buf, &end, 10);
    if (errno == ERANGE || end != buf + len) {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

static void check_u64(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    uint64_t got = 0x5a5a5a5a5a5a5a5a, want = 0;
    bool ok = ref_u64(s, size, &want);
    int rv = net_parse_u64(s, size, &got);

    if (rv != (ok ? SEQ_OK : SEQ_EINVAL)) {
        fail("u64: disagrees with strtoull");
    }
    if (ok ? got != want : got != 0x5a5a5a5a5a5a5a5a) {
        fail("u64: wrong value, or output written on failure");
    }
}

/* OpenSSL's encoding of @len bytes: NUL-terminated, owned. */
static char *b64_encode(const uint8_t *in, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);

    if (len > INT32_MAX) {
        fail("base64: input too long");
    }
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

/* Whether @in is what OpenSSL's encoder writes for some byte string, and
 * that string (owned, @out_len bytes). */
static bool ref_b64_decode(const char *in,
                           size_t len,
                           uint8_t **out,
                           size_t *out_len)
{
    uint8_t *buf;
    size_t pad = 0;
    char *again;
    int n;

    *out = NULL;
    if (len % 4 != 0 || len > INT32_MAX) {
        return false;
    }
    buf = xmalloc(len / 4 * 3);
    n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
    if (n < 0 || (size_t)n != len / 4 * 3) {
        free(buf);
        return false;
    }
    while (pad < 2 && pad < len && in[len - 1 - pad] == '=') {
        pad++;
    }
    *out_len = (size_t)n - pad;
    again = b64_encode(buf, *out_len);
    if (strlen(again) != len || memcmp(again, in, len) != 0) {
        free(again);
        free(buf);
        return false;
    }
    free(again);
    *out = buf;
    return true;
}

static void check_base64(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    uint8_t *want, *got;
    size_t want_len = 0, got_len = 0, n;
    bool canonical = ref_b64_decode(in, size, &want, &want_len);
    char *enc;
    int rv;

    got = xmalloc(size);
    rv = seq_base64_decode(in, size, got, size, &got_len);
    if (canonical) {
        if (rv != SEQ_OK || got_len != want_len ||
            memcmp(got, want, want_len) != 0) {
            fail("base64: refuses or misreads OpenSSL's encoding");
        }
        if (seq_base64_decoded_len(in, size, &n) != SEQ_OK || n != got_len) {
            fail("base64: decoded_len disagrees with decode");
        }
        if (got_len > 0) {
            memset(got, 0x5a, size);
            if (seq_base64_decode(in, size, got, got_len - 1, &n) !=
                    SEQ_ETOOBIG ||
                !untouched(got, size)) {
                fail("base64: a short buffer is not refused untouched");
            }
        }
    } else if (rv != SEQ_EINVAL) {
        fail("base64: accepts what OpenSSL would not write");
    }
    free(want);
    free(got);

    /* decode(encode(x)) == x, x being the input's bytes. */
    enc = b64_encode(data, size);
    got = xmalloc(size);
    if (seq_base64_decode(enc, strlen(enc), got, size, &got_len) != SEQ_OK ||
        got_len != size || memcmp(got, data, size) != 0) {
        fail("base64: decode(encode(x)) != x");
    }
    free(got);
    free(enc);
}

/* ------------------------------------------------------------------------
 * Paths
 * ------------------------------------------------------------------------ */

static const char *const fixed_paths[] = {
    [NET_ROUTE_STATUS] = "/v1/status", [NET_ROUTE_TX_SUBMIT] = "/v1/tx",
    [NET_ROUTE_LIVEZ] = "/livez",      [NET_ROUTE_READYZ] = "/readyz",
    [NET_ROUTE_METRICS] = "/metrics",
};

/* The canonical spelling of @r (no leading zeros, lower-case hex). */
static void render_route(const struct net_route *r, char *out, size_t cap)
{
    char hex[2 * SEQ_HASH_LEN + 1];

    switch (r->kind) {
    case NET_ROUTE_BLOCK:
        snprintf(out, cap, "/v1/blocks/%llu", (unsigned long long)r->height);
        break;
    case NET_ROUTE_TX_GET:
        seq_hex_encode(r->hash.bytes, SEQ_HASH_LEN, hex);
        snprintf(out, cap, "/v1/tx/%s", hex);
        break;
    case NET_ROUTE_NS_BLOCK:
        snprintf(out, cap, "/v1/namespaces/%llu/blocks/%llu",
                 (unsigned long long)r->ns, (unsigned long long)r->height);
        break;
    case NET_ROUTE_NS_STREAM:
        snprintf(out, cap, "/v1/namespaces/%llu/stream",
                 (unsigned long long)r->ns);
        break;
    case NET_ROUTE_STATUS:
    case NET_ROUTE_TX_SUBMIT:
    case NET_ROUTE_LIVEZ:
    case NET_ROUTE_READYZ:
    case NET_ROUTE_METRICS:
        snprintf(out, cap, "%s", fixed_paths[r->kind]);
        break;
    default:
        fail("route: unknown kind");
    }
}

/* The fields @a's kind defines (the others are unspecified). */
static bool route_eq(const struct net_route *a, const struct net_route *b)
{
    bool has_ns =
        a->kind == NET_ROUTE_NS_BLOCK || a->kind == NET_ROUTE_NS_STREAM;
    bool has_height =
        a->kind == NET_ROUTE_BLOCK || a->kind == NET_ROUTE_NS_BLOCK;

    return a->kind == b->kind && a->error == NULL && b->error == NULL &&
           (!has_ns || a->ns == b->ns) &&
           (!has_height || a->height == b->height) &&
           (a->kind != NET_ROUTE_TX_GET ||
            memcmp(a->hash.bytes, b->hash.bytes, SEQ_HASH_LEN) == 0);
}

/* The segments of @path after its leading '/': at most @max, each
 * NUL-terminated in @buf; -1 if @path is not "/seg/seg..." with every
 * segment non-empty. */
static int split_path(const char *path, char *buf, char **seg, int max)
{
    int n = 0;
    char *p;

    if (path[0] != '/') {
        return -1;
    }
    strcpy(buf, path + 1);
    for (p = buf; n < max;) {
        char *slash = strchr(p, '/');

        seg[n++] = p;
        if (slash == NULL) {
            return p[0] == '\0' ? -1 : n;
        }
        *slash = '\0';
        if (p[0] == '\0') {
            return -1;
        }
        p = slash + 1;
    }
    return -1;
}

/* An accepted path has its kind's segments, and the numbers and hash in
 * them are the route's. */
static void check_route_shape(const char *path, const struct net_route *r)
{
    char *buf = xmalloc(strlen(path) + 1), *seg[6];
    int n = split_path(path, buf, seg, 6);
    struct seq_hash h;
    uint64_t v;
    bool ok;

    switch (r->kind) {
    case NET_ROUTE_BLOCK:
        ok = n == 3 && strcmp(seg[0], "v1") == 0 &&
             strcmp(seg[1], "blocks") == 0 &&
             ref_u64(seg[2], strlen(seg[2]), &v) && v == r->height;
        break;
    case NET_ROUTE_TX_GET:
        ok = n == 3 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "tx") == 0 &&
             strlen(seg[2]) == 2 * SEQ_HASH_LEN &&
             seq_hex_decode(seg[2], h.bytes, SEQ_HASH_LEN) == 0 &&
             memcmp(h.bytes, r->hash.bytes, SEQ_HASH_LEN) == 0;
        break;
    case NET_ROUTE_NS_BLOCK:
        ok = n == 5 && strcmp(seg[0], "v1") == 0 &&
             strcmp(seg[1], "namespaces") == 0 &&
             ref_u64(seg[2], strlen(seg[2]), &v) && v == r->ns &&
             strcmp(seg[3], "blocks") == 0 &&
             ref_u64(seg[4], strlen(seg[4]), &v) && v == r->height &&
             r->height >= 1;
        break;
    case NET_ROUTE_NS_STREAM:
        ok = n == 4 && strcmp(seg[0], "v1") == 0 &&
             strcmp(seg[1], "namespaces") == 0 &&
             ref_u64(seg[2], strlen(seg[2]), &v) && v == r->ns &&
             strcmp(seg[3], "stream") == 0;
        break;
    default:
        ok = strcmp(path, fixed_paths[r->kind]) == 0;
        break;
    }
    if (!ok) {
        fail("route: accepted a path of another shape");
    }
    free(buf);
}

static void check_route(const uint8_t *data, size_t size)
{
    char *path = xmalloc(size + 1);
    char canon[160];
    struct net_route r, again;
    int rv;

    memset(&again, 0x5a, sizeof again);
    memcpy(path, data, size);
    path[size] = '\0';
    memset(&r, 0x5a, sizeof r);
    rv = net_route_parse(path, &r);
    switch (rv) {
    case SEQ_OK:
        if (r.kind < NET_ROUTE_STATUS || r.kind > NET_ROUTE_METRICS ||
            r.error != NULL) {
            fail("route: accepted with a bad kind or an error");
        }
        check_route_shape(path, &r);
        render_route(&r, canon, sizeof canon);
        if (net_route_parse(canon, &again) != SEQ_OK || !route_eq(&r, &again)) {
            fail("route: the canonical spelling parses to another route");
        }
        break;
    case SEQ_EINVAL:
        if (r.error == NULL || !((r.kind == NET_ROUTE_BLOCK &&
                                  strcmp(r.error, "bad_height") == 0) ||
                                 (r.kind == NET_ROUTE_TX_GET &&
                                  strcmp(r.error, "bad_hash") == 0) ||
                                 ((r.kind == NET_ROUTE_NS_BLOCK ||
                                   r.kind == NET_ROUTE_NS_STREAM) &&
                                  (strcmp(r.error, "bad_namespace") == 0 ||
                                   strcmp(r.error, "bad_height") == 0)))) {
            fail("route: refused with a bad kind or error");
        }
        if (strncmp(path, "/v1/", 4) != 0) {
            fail("route: a bad argument outside /v1/");
        }
        break;
    case SEQ_ENOTFOUND:
        if (!untouched(&r, sizeof r)) {
            fail("route: not found but wrote its output");
        }
        break;
    default:
        fail("route: unexpected code");
    }
    free(path);
}

/* ------------------------------------------------------------------------
 * POST /v1/tx bodies
 * ------------------------------------------------------------------------ */

/* jansson read apart: the body is one object with a non-negative integer
 * "namespace" (@ns) and a string "payload" (@text, owned). */
static bool ref_body(const uint8_t *data,
                     size_t size,
                     uint64_t *ns,
                     char **text)
{
    json_t *root =
        json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    json_t *n = json_object_get(root, "namespace");
    json_t *p = json_object_get(root, "payload");
    bool ok = json_is_object(root) && json_is_integer(n) &&
              json_integer_value(n) >= 0 && json_is_string(p);

    if (ok) {
        *ns = (uint64_t)json_integer_value(n);
        *text = xmalloc(json_string_length(p) + 1);
        memcpy(*text, json_string_value(p), json_string_length(p) + 1);
    }
    json_decref(root);
    return ok;
}

static const char *const body_codes[] = {
    "malformed_json",
    "bad_namespace",
    "bad_payload",
    "bad_request",
};

static void check_body_code(const char *code, const char *why)
{
    size_t i;

    for (i = 0; i < sizeof body_codes / sizeof body_codes[0]; i++) {
        if (code != NULL && strcmp(code, body_codes[i]) == 0) {
            if (why == NULL || why[0] == '\0') {
                fail("body: refused without a reason");
            }
            return;
        }
    }
    fail("body: refused with an unknown code");
}

static void check_tx_body(const uint8_t *data, size_t size)
{
    struct net_tx_body got, small;
    const char *code, *why, *code2, *why2;
    uint64_t ns = 0;
    char *text = NULL, *enc;
    bool ref_ok;
    int rv, rv2;

    memset(&got, 0x5a, sizeof got);
    rv = net_tx_body_parse((const char *)data, size, SIZE_MAX, &got, &code,
                           &why);
    ref_ok = ref_body(data, size, &ns, &text);
    if (rv == SEQ_OK) {
        if (!ref_ok || got.ns != ns || got.payload == NULL || code != NULL ||
            why != NULL) {
            fail("body: accepted what jansson reads otherwise");
        }
        enc = b64_encode(got.payload, got.len);
        if (strcmp(enc, text) != 0) {
            fail("body: the payload is not the body's base64");
        }
        free(enc);
    } else if (rv == SEQ_EINVAL) {
        check_body_code(code, why);
        if (!untouched(&got, sizeof got) ||
            (ref_ok && strcmp(code, "bad_payload") != 0)) {
            fail("body: refused a well-formed body, or wrote its output");
        }
    } else {
        fail("body: unexpected code without a payload bound");
    }

    /* A payload bound only turns results into SEQ_ETOOBIG. */
    memset(&small, 0x5a, sizeof small);
    rv2 = net_tx_body_parse((const char *)data, size, BODY_SMALL_MAX, &small,
                            &code2, &why2);
    if (rv2 == SEQ_ETOOBIG) {
        if ((rv == SEQ_OK ? got.len <= BODY_SMALL_MAX
                          : strcmp(code, "bad_payload") != 0) ||
            !untouched(&small, sizeof small)) {
            fail("body: SEQ_ETOOBIG for a payload in bounds");
        }
    } else if (rv2 != rv || (rv == SEQ_OK && got.len > BODY_SMALL_MAX) ||
               (rv == SEQ_OK &&
                (small.ns != got.ns || small.len != got.len ||
                 memcmp(small.payload, got.payload, got.len) != 0)) ||
               (rv != SEQ_OK && (code2 != code || why2 != why))) {
        fail("body: the payload bound changed more than the size verdict");
    }
    if (rv2 == SEQ_OK) {
        seq_free(small.payload);
    }
    if (rv == SEQ_OK) {
        seq_free(got.payload);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    switch ((enum which)(data[0] % WHICH_COUNT)) {
    case WHICH_REQUEST:
        check_request(data + 1, size - 1);
        break;
    case WHICH_ROUTE:
        check_route(data + 1, size - 1);
        break;
    case WHICH_TX_BODY:
        check_tx_body(data + 1, size - 1);
        break;
    case WHICH_BASE64:
        check_base64(data + 1, size - 1);
        break;
    case WHICH_U64:
        check_u64(data + 1, size - 1);
        break;
    case WHICH_COUNT:
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Seeds
 * ------------------------------------------------------------------------ */

static void write_seed(const char *dir,
                       const char *name,
                       enum which which,
                       const void *buf,
                       size_t len)
{
    char path[4096];
    uint8_t tag = (uint8_t)which;
    FILE *f;

    snprintf(path, sizeof path, "%s/seed-%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(&tag, 1, 1, f) != 1 ||
        (len > 0 && fwrite(buf, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "fuzz_client_port: cannot write %s\n", path);
        exit(1);
    }
}

static void write_request(const char *dir,
                          const char *name,
                          const Seqc__ClientRequest *m)
{
    size_t len;
    uint8_t *buf = pack_request(m, &len);

    write_seed(dir, name, WHICH_REQUEST, buf, len);
    free(buf);
}

/* A Submit of @n transactions (n > 0), payload bytes @payload_len each;
 * empty ones are in namespace 0, which makes them 2 bytes each. */
static void write_submit(const char *dir,
                         const char *name,
                         size_t n,
                         size_t payload_len)
{
    Seqc__ClientRequest m = SEQC__CLIENT_REQUEST__INIT;
    Seqc__Submit submit = SEQC__SUBMIT__INIT;
    Seqc__Tx *txs = xmalloc(n * sizeof *txs),
             **ptrs = xmalloc(n * sizeof *ptrs);
    uint8_t payload[64];
    size_t i;

    memset(payload, 0xab, sizeof payload);
    for (i = 0; i < n; i++) {
        seqc__tx__init(&txs[i]);
        txs[i].namespace_ = payload_len > 0 ? 1 + i % 3 : 0;
        txs[i].payload.data = payload;
        txs[i].payload.len = payload_len;
        ptrs[i] = &txs[i];
    }
    submit.request_id = 42;
    submit.n_txs = n;
    submit.txs = ptrs;
    m.version = 1;
    m.msg_case = SEQC__CLIENT_REQUEST__MSG_SUBMIT;
    m.submit = &submit;
    write_request(dir, name, &m);
    free(ptrs);
    free(txs);
}

static void write_request_seeds(const char *dir)
{
    Seqc__ClientRequest m = SEQC__CLIENT_REQUEST__INIT;
    Seqc__Subscribe sub = SEQC__SUBSCRIBE__INIT;
    Seqc__Credit credit = SEQC__CREDIT__INIT;
    Seqc__TxQuery query = SEQC__TX_QUERY__INIT;
    uint8_t hash[32];

    write_submit(dir, "req-submit", 3, 24);
    write_submit(dir, "req-submit-max", SEQC_MAX_SUBMIT, 0);
    write_submit(dir, "req-submit-max1", SEQC_MAX_SUBMIT + 1, 0);
    /* Empty transactions cost their blocks far more than their 2 bytes:
     * this one passes the budget. */
    write_submit(dir, "req-submit-budget", 12000, 0);

    m.version = 1;
    m.msg_case = SEQC__CLIENT_REQUEST__MSG_SUBSCRIBE;
    m.subscribe = &sub;
    sub.namespace_ = 7;
    sub.from_height = 1;
    sub.credits = SEQC_MAX_CREDITS;
    write_request(dir, "req-subscribe", &m);
    sub.credits = SEQC_MAX_CREDITS + 1;
    write_request(dir, "req-subscribe-credits", &m);

    m.msg_case = SEQC__CLIENT_REQUEST__MSG_CREDIT;
    m.credit = &credit;
    credit.credits = 5;
    write_request(dir, "req-credit", &m);

    memset(hash, 0x11, sizeof hash);
    m.msg_case = SEQC__CLIENT_REQUEST__MSG_TX_QUERY;
    m.tx_query = &query;
    query.request_id = 9;
    query.tx_hash.data = hash;
    query.tx_hash.len = sizeof hash;
    write_request(dir, "req-tx-query", &m);
    m.version = 2;
    write_request(dir, "req-version", &m);
}

static void write_text(const char *dir,
                       const char *name,
                       enum which which,
                       const char *text)
{
    write_seed(dir, name, which, text, strlen(text));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char tx_route[] =
        "/v1/tx/"
        "00112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100";
    static const char *const routes[] = {
        "/v1/status",
        "/v1/tx",
        "/livez",
        "/readyz",
        "/metrics",
        "/v1/blocks/18446744073709551615",
        "/v1/blocks/007",
        tx_route,
        "/v1/namespaces/3/blocks/1",
        "/v1/namespaces/3/stream",
        "/v1/namespaces//blocks/0",
    };
    const char *dir = getenv("SEQ_FUZZ_SEED_DIR");
    char name[32];
    size_t i;

    (void)argc;
    (void)argv;
    if (dir == NULL || dir[0] == '\0') {
        return 0;
    }
    write_request_seeds(dir);
    for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        snprintf(name, sizeof name, "route-%zu", i);
        write_text(dir, name, WHICH_ROUTE, routes[i]);
    }
    write_text(dir, "body", WHICH_TX_BODY,
               "{\"namespace\": 7, \"payload\": \"aGVsbG8gd29ybGQ=\"}");
    write_text(dir, "body-big", WHICH_TX_BODY,
               "{\"payload\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAA\", "
               "\"namespace\": 9223372036854775807, \"x\": [1, {}]}");
    write_text(dir, "body-dup", WHICH_TX_BODY,
               "{\"namespace\": 1, \"namespace\": 2, \"payload\": \"\"}");
    write_text(dir, "b64", WHICH_BASE64, "QUJDRA==");
    write_text(dir, "b64-bits", WHICH_BASE64, "QR==");
    write_text(dir, "u64-max", WHICH_U64, "18446744073709551615");
    write_text(dir, "u64-over", WHICH_U64, "18446744073709551616");
    write_text(dir, "u64-zeros", WHICH_U64, "00000000000000000001");
    return 0;
}
