/* The client-facing parsers (net/net_parse.h): decimal numbers refuse
 * signs, spaces and overflow; base64 is strict (alphabet, length,
 * padding, zero pad bits) and round-trips every length; HTTP paths match
 * exactly and name the bad argument; the POST /v1/tx body refuses every
 * malformed shape with a code, and an oversized payload with
 * SEQ_ETOOBIG; running out of memory is a clean SEQ_ENOMEM. */

#include <stdio.h>
#include <string.h>

#include "client.pb-c.h"
#include "harness.h"
#include "net_parse.h"
#include "seq_alloc.h"
#include "seq_base64.h"
#include "seq_client.h"
#include "seq_err.h"

/* ---- Decimal numbers ---------------------------------------------------- */

TEST(parse, u64_good)
{
    uint64_t v = 7;

    ASSERT_OK(net_parse_u64("0", 1, &v));
    ASSERT_EQ(v, 0u);
    ASSERT_OK(net_parse_u64("42", 2, &v));
    ASSERT_EQ(v, 42u);
    ASSERT_OK(net_parse_u64("007", 3, &v));
    ASSERT_EQ(v, 7u);
    ASSERT_OK(net_parse_u64("18446744073709551615", 20, &v));
    ASSERT_EQ(v, UINT64_MAX);
    /* Only @len bytes are read. */
    ASSERT_OK(net_parse_u64("12/blocks", 2, &v));
    ASSERT_EQ(v, 12u);
}

TEST(parse, u64_bad)
{
    static const char *bad[] = {
        "",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1a",
        "0x10",
        "1.0",
        "18446744073709551616", /* UINT64_MAX + 1 */
        "99999999999999999999",
        "000000000000000000001", /* 21 digits */
    };
    uint64_t v = 7;
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_ERR(net_parse_u64(bad[i], strlen(bad[i]), &v), SEQ_EINVAL);
    }
    ASSERT_ERR(net_parse_u64(NULL, 0, &v), SEQ_EINVAL);
    ASSERT_EQ(v, 7u); /* Untouched on failure. */
}

/* ---- Base64 ------------------------------------------------------------- */

static void b64_encode(const uint8_t *in, size_t len, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;

    for (i = 0; i < len; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16;

        if (i + 1 < len) {
            w |= (uint32_t)in[i + 1] << 8;
        }
        if (i + 2 < len) {
            w |= in[i + 2];
        }
        out[o++] = alphabet[w >> 18 & 63];
        out[o++] = alphabet[w >> 12 & 63];
        out[o++] = i + 1 < len ? alphabet[w >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? alphabet[w & 63] : '=';
    }
    out[o] = '\0';
}

TEST(parse, base64_known)
{
    static const struct {
        const char *b64, *plain;
    } cases[] = {
        { "", "" },
        { "Zg==", "f" },
        { "Zm8=", "fo" },
        { "Zm9v", "foo" },
        { "Zm9vYg==", "foob" },
        { "Zm9vYmE=", "fooba" },
        { "Zm9vYmFy", "foobar" },
        { "+/+/", "\xfb\xff\xbf" },
    };
    uint8_t out[16];
    size_t i, n;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ASSERT_OK(seq_base64_decode(cases[i].b64, strlen(cases[i].b64), out,
                                    sizeof out, &n));
        ASSERT_EQ(n, strlen(cases[i].plain));
        ASSERT_MEMEQ(out, cases[i].plain, n);
        ASSERT_OK(
            seq_base64_decoded_len(cases[i].b64, strlen(cases[i].b64), &n));
        ASSERT_EQ(n, strlen(cases[i].plain));
    }
}

TEST(parse, base64_round_trip)
{
    uint8_t in[64], out[64];
    char text[100];
    size_t len, i, n;

    for (len = 0; len <= sizeof in; len++) {
        for (i = 0; i < len; i++) {
            in[i] = (uint8_t)(i * 37 + len * 11);
        }
        b64_encode(in, len, text);
        ASSERT_OK(seq_base64_decode(text, strlen(text), out, len, &n));
        ASSERT_EQ(n, len);
        ASSERT_MEMEQ(out, in, len);
        if (len > 0) {
            /* One byte short of room: refused before writing. */
            ASSERT_ERR(seq_base64_decode(text, strlen(text), out, len - 1, &n),
                       SEQ_ETOOBIG);
        }
    }
}

TEST(parse, base64_bad)
{
    static const char *bad[] = {
        "Z",        "Zg",       "Zg=",        "Zm9vY",       /* length */
        "Zg==Zg==", "Z===",     "====",       "=Zg=",        /* '=' placement */
        "Zh==",     "Zm9=",     "QR==",                      /* pad bits */
        "Zm9v\n",   "Zm 9v",    " Zm9v",      "Zm9v ",       /* space */
        "Zm-_",     "Zm9v.AAA", "Zm\xc3\xa9", "Zm9v\001AAA", /* alphabet */
    };
    uint8_t out[16];
    size_t i, n = 99;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rv = seq_base64_decode(bad[i], strlen(bad[i]), out, sizeof out, &n);
        if (rv != SEQ_EINVAL) {
            harness_fail(__FILE__, __LINE__, "\"%s\" decoded: %d", bad[i], rv);
        }
    }
    /* A NUL inside the string is just another bad character. */
    ASSERT_ERR(seq_base64_decode("Zm\0v", 4, out, sizeof out, &n), SEQ_EINVAL);
    ASSERT_EQ(n, 99u);
}

/* ---- Paths -------------------------------------------------------------- */

TEST(parse, route_fixed)
{
    struct net_route r;

    ASSERT_OK(net_route_parse("/v1/status", &r));
    ASSERT_EQ(r.kind, NET_ROUTE_STATUS);
    ASSERT_OK(net_route_parse("/v1/tx", &r));
    ASSERT_EQ(r.kind, NET_ROUTE_TX_SUBMIT);
    ASSERT_OK(net_route_parse("/livez", &r));
    ASSERT_EQ(r.kind, NET_ROUTE_LIVEZ);
    ASSERT_OK(net_route_parse("/readyz", &r));
    ASSERT_EQ(r.kind, NET_ROUTE_READYZ);
    ASSERT_OK(net_route_parse("/metrics", &r));
    ASSERT_EQ(r.kind, NET_ROUTE_METRICS);
}

TEST(parse, route_arguments)
{
    static const char hex[] =
        "00112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100";
    char path[128];
    struct net_route r;

    ASSERT_OK(net_route_parse("/v1/blocks/0", &r));
    ASSERT_EQ(r.kind, NET_ROUTE_BLOCK);
    ASSERT_EQ(r.height, 0u);
    ASSERT_OK(net_route_parse("/v1/blocks/18446744073709551615", &r));
    ASSERT_EQ(r.height, UINT64_MAX);

    snprintf(path, sizeof path, "/v1/tx/%s", hex);
    ASSERT_OK(net_route_parse(path, &r));
    ASSERT_EQ(r.kind, NET_ROUTE_TX_GET);
    ASSERT_EQ(r.hash.bytes[0], 0x00);
    ASSERT_EQ(r.hash.bytes[1], 0x11);
    ASSERT_EQ(r.hash.bytes[16], 0xff);
    ASSERT_EQ(r.hash.bytes[31], 0x00);

    ASSERT_OK(net_route_parse("/v1/namespaces/7/blocks/12", &r));
    ASSERT_EQ(r.kind, NET_ROUTE_NS_BLOCK);
    ASSERT_EQ(r.ns, 7u);
    ASSERT_EQ(r.height, 12u);
    ASSERT_OK(net_route_parse("/v1/namespaces/0/stream", &r));
    ASSERT_EQ(r.kind, NET_ROUTE_NS_STREAM);
    ASSERT_EQ(r.ns, 0u);
}

TEST(parse, route_bad_arguments)
{
    static const struct {
        const char *path;
        enum net_route_kind kind;
        const char *error;
    } cases[] = {
        { "/v1/blocks/", NET_ROUTE_BLOCK, "bad_height" },
        { "/v1/blocks/-1", NET_ROUTE_BLOCK, "bad_height" },
        { "/v1/blocks/1x", NET_ROUTE_BLOCK, "bad_height" },
        { "/v1/blocks/18446744073709551616", NET_ROUTE_BLOCK, "bad_height" },
        { "/v1/blocks/1/", NET_ROUTE_BLOCK, "bad_height" },
        { "/v1/tx/", NET_ROUTE_TX_GET, "bad_hash" },
        { "/v1/tx/abc", NET_ROUTE_TX_GET, "bad_hash" },
        { "/v1/tx/"
          "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeg0",
          NET_ROUTE_TX_GET, "bad_hash" },
        { "/v1/tx/"
          "00112233445566778899aabbccddeeff00112233445566778899aabbccddee00"
          "00",
          NET_ROUTE_TX_GET, "bad_hash" },
        { "/v1/namespaces/x/blocks/1", NET_ROUTE_NS_BLOCK, "bad_namespace" },
        { "/v1/namespaces//blocks/1", NET_ROUTE_NS_BLOCK, "bad_namespace" },
        { "/v1/namespaces/-1/stream", NET_ROUTE_NS_STREAM, "bad_namespace" },
        { "/v1/namespaces/99999999999999999999/stream", NET_ROUTE_NS_STREAM,
          "bad_namespace" },
        { "/v1/namespaces/1/blocks/0", NET_ROUTE_NS_BLOCK, "bad_height" },
        { "/v1/namespaces/1/blocks/", NET_ROUTE_NS_BLOCK, "bad_height" },
        { "/v1/namespaces/1/blocks/1/", NET_ROUTE_NS_BLOCK, "bad_height" },
        { "/v1/namespaces/1/blocks/18446744073709551616", NET_ROUTE_NS_BLOCK,
          "bad_height" },
    };
    struct net_route r;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rv = net_route_parse(cases[i].path, &r);
        if (rv != SEQ_EINVAL || r.kind != cases[i].kind ||
            strcmp(r.error, cases[i].error) != 0) {
            harness_fail(__FILE__, __LINE__, "%s: rv %d kind %d error %s",
                         cases[i].path, rv, (int)r.kind,
                         rv == SEQ_EINVAL ? r.error : "-");
        }
    }
}

TEST(parse, route_unknown)
{
    static const char *paths[] = {
        "",
        "/",
        "/v1",
        "/v1/",
        "/v1/status/",
        "/v1/statusx",
        "/V1/status",
        "/v1/txs",
        "/livez/",
        "/v1/namespaces",
        "/v1/namespaces/",
        "/v1/namespaces/1",
        "/v1/namespaces/1/",
        "/v1/namespaces/1/block/1",
        "/v1/namespaces/1/stream/",
        "/v1/namespaces/1/streams",
        "/v2/status",
    };
    struct net_route r;
    size_t i;

    for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int rv = net_route_parse(paths[i], &r);
        if (rv != SEQ_ENOTFOUND) {
            harness_fail(__FILE__, __LINE__, "\"%s\": rv %d", paths[i], rv);
        }
    }
    ASSERT_ERR(net_route_parse(NULL, &r), SEQ_ENOTFOUND);
}

/* ---- The POST /v1/tx body ----------------------------------------------- */

static int parse_body(const char *body,
                      size_t max,
                      struct net_tx_body *out,
                      const char **code)
{
    const char *why;

    return net_tx_body_parse(body, strlen(body), max, out, code, &why);
}

TEST(parse, tx_body_good)
{
    struct net_tx_body b;
    const char *code;

    ASSERT_OK(parse_body("{\"namespace\": 3, \"payload\": \"Zm9vYmFy\"}", 64,
                         &b, &code));
    ASSERT_EQ(b.ns, 3u);
    ASSERT_EQ(b.len, 6u);
    ASSERT_MEMEQ(b.payload, "foobar", 6);
    seq_free(b.payload);

    /* Other members are ignored; an empty payload is a payload. */
    ASSERT_OK(parse_body("{\"payload\":\"\",\"x\":[1,{}],\"namespace\":0}", 64,
                         &b, &code));
    ASSERT_EQ(b.ns, 0u);
    ASSERT_EQ(b.len, 0u);
    ASSERT_TRUE(b.payload != NULL);
    seq_free(b.payload);

    /* Exactly at the limit. */
    ASSERT_OK(parse_body("{\"namespace\": 1, \"payload\": \"Zm9vYmFy\"}", 6, &b,
                         &code));
    seq_free(b.payload);
}

TEST(parse, tx_body_bad)
{
    static const struct {
        const char *body;
        const char *code;
    } cases[] = {
        { "", "malformed_json" },
        { "{", "malformed_json" },
        { "{\"namespace\": 1, \"payload\": \"Zg==\"} x", "malformed_json" },
        { "{\"namespace\": 1, \"namespace\": 2, \"payload\": \"Zg==\"}",
          "malformed_json" },
        { "[1, \"Zg==\"]", "malformed_json" },
        { "\"Zg==\"", "malformed_json" },
        { "{\"namespace\": 99999999999999999999, \"payload\": \"Zg==\"}",
          "malformed_json" },
        { "{}", "bad_request" },
        { "{\"namespace\": 1}", "bad_request" },
        { "{\"payload\": \"Zg==\"}", "bad_request" },
        { "{\"namespace\": -1, \"payload\": \"Zg==\"}", "bad_namespace" },
        { "{\"namespace\": 1.0, \"payload\": \"Zg==\"}", "bad_namespace" },
        { "{\"namespace\": \"1\", \"payload\": \"Zg==\"}", "bad_namespace" },
        { "{\"namespace\": null, \"payload\": \"Zg==\"}", "bad_namespace" },
        { "{\"namespace\": true, \"payload\": \"Zg==\"}", "bad_namespace" },
        { "{\"namespace\": 1, \"payload\": 5}", "bad_payload" },
        { "{\"namespace\": 1, \"payload\": null}", "bad_payload" },
        { "{\"namespace\": 1, \"payload\": [\"Zg==\"]}", "bad_payload" },
        { "{\"namespace\": 1, \"payload\": \"Zg\"}", "bad_payload" },
        { "{\"namespace\": 1, \"payload\": \"Zh==\"}", "bad_payload" },
        { "{\"namespace\": 1, \"payload\": \"Zm9v\\n\"}", "bad_payload" },
        { "{\"namespace\": 1, \"payload\": \"Zm-_\"}", "bad_payload" },
        { "{\"namespace\": 1, \"payload\": \"Z===\"}", "bad_payload" },
    };
    struct net_tx_body b;
    const char *code;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rv = parse_body(cases[i].body, 64, &b, &code);
        if (rv != SEQ_EINVAL || strcmp(code, cases[i].code) != 0) {
            harness_fail(__FILE__, __LINE__, "%s: rv %d code %s", cases[i].body,
                         rv, rv == SEQ_EINVAL ? code : "-");
        }
    }
    /* A NUL byte inside the body. */
    ASSERT_ERR(net_tx_body_parse("{\"namespace\":1,\0\"payload\":\"\"}", 30, 64,
                                 &b, &code, &code),
               SEQ_EINVAL);
}

TEST(parse, tx_body_too_big)
{
    struct net_tx_body b;
    const char *code;

    ASSERT_ERR(parse_body("{\"namespace\": 1, \"payload\": \"Zm9vYmFy\"}", 5,
                          &b, &code),
               SEQ_ETOOBIG);
    ASSERT_ERR(
        parse_body("{\"namespace\": 1, \"payload\": \"Zg==\"}", 0, &b, &code),
        SEQ_ETOOBIG);
}

TEST(parse, tx_body_oom)
{
    const char body[] = "{\"namespace\": 3, \"payload\": \"Zm9vYmFy\"}";
    struct net_tx_body b;
    const char *code, *why;
    unsigned n;
    int rv;

    /* Fail each allocation in turn (jansson's go through malloc, so only
     * the payload buffer is ours to fail). */
    for (n = 1;; n++) {
        seq_alloc_fail_at(n, 0);
        rv = net_tx_body_parse(body, sizeof body - 1, 64, &b, &code, &why);
        seq_alloc_fail_at(0, 0);
        if (rv == SEQ_OK) {
            seq_free(b.payload);
            break;
        }
        ASSERT_ERR(rv, SEQ_ENOMEM);
        ASSERT_LT(n, 10u);
    }
}

/* ClientRequest bytes of @msg (protobuf-c pack), owned (seq_free). */
static uint8_t *pack_request(const Seqc__ClientRequest *msg, size_t *len)
{
    uint8_t *buf;

    *len = seqc__client_request__get_packed_size(msg);
    buf = seq_malloc(*len + 1);
    ASSERT_TRUE(buf != NULL);
    ASSERT_EQ(seqc__client_request__pack(msg, buf), *len);
    return buf;
}

static int decode_request(const Seqc__ClientRequest *msg,
                          struct net_client_request *out)
{
    size_t len;
    uint8_t *buf = pack_request(msg, &len);
    int rv = net_client_request_decode(buf, len, out);

    seq_free(buf);
    return rv;
}

TEST(parse, client_request_bounds)
{
    Seqc__ClientRequest req = SEQC__CLIENT_REQUEST__INIT;
    Seqc__Subscribe sub = SEQC__SUBSCRIBE__INIT;
    Seqc__Submit submit = SEQC__SUBMIT__INIT;
    Seqc__TxQuery query = SEQC__TX_QUERY__INIT;
    struct net_client_request out;
    uint8_t hash[32] = { 1 };

    /* A valid subscription. */
    req.version = 1;
    req.msg_case = SEQC__CLIENT_REQUEST__MSG_SUBSCRIBE;
    req.subscribe = &sub;
    sub.namespace_ = 1;
    sub.from_height = 1;
    sub.credits = SEQC_MAX_CREDITS;
    ASSERT_OK(decode_request(&req, &out));
    ASSERT_EQ(out.msg->subscribe->credits, SEQC_MAX_CREDITS);
    net_client_request_free(&out);
    /* Height 0, no credits, too many credits: refused with a reason. */
    sub.from_height = 0;
    ASSERT_ERR(decode_request(&req, &out), SEQ_EINVAL);
    ASSERT_TRUE(out.code != NULL && out.why != NULL);
    net_client_request_free(&out);
    sub.from_height = 1;
    sub.credits = 0;
    ASSERT_ERR(decode_request(&req, &out), SEQ_EINVAL);
    net_client_request_free(&out);
    sub.credits = SEQC_MAX_CREDITS + 1;
    ASSERT_ERR(decode_request(&req, &out), SEQ_EINVAL);
    net_client_request_free(&out);
    /* Another version. */
    sub.credits = 1;
    req.version = 2;
    ASSERT_ERR(decode_request(&req, &out), SEQ_EINVAL);
    ASSERT_STREQ(out.code, "version");
    net_client_request_free(&out);
    req.version = 1;
    /* An empty Submit, and a tx query with a short hash. */
    req.msg_case = SEQC__CLIENT_REQUEST__MSG_SUBMIT;
    req.submit = &submit;
    submit.request_id = 77;
    ASSERT_ERR(decode_request(&req, &out), SEQ_EINVAL);
    ASSERT_EQ(out.request_id, 77u);
    net_client_request_free(&out);
    req.msg_case = SEQC__CLIENT_REQUEST__MSG_TX_QUERY;
    req.tx_query = &query;
    query.tx_hash.data = hash;
    query.tx_hash.len = 31;
    ASSERT_ERR(decode_request(&req, &out), SEQ_EINVAL);
    net_client_request_free(&out);
    query.tx_hash.len = 32;
    ASSERT_OK(decode_request(&req, &out));
    net_client_request_free(&out);
}

TEST(parse, client_request_garbage_and_budget)
{
    static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
    struct net_client_request out;

    ASSERT_ERR(net_client_request_decode(junk, sizeof junk, &out), SEQ_EBADMSG);
    net_client_request_free(&out);
    /* No member set. */
    ASSERT_ERR(net_client_request_decode((const uint8_t *)"\x08\x01", 2, &out),
               SEQ_EINVAL);
    net_client_request_free(&out);
}

TEST_MAIN()
