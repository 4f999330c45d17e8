/* Pure parsers for the client-facing ports (net_http.c, net_client.c):
 * strict decimal numbers, strict base64, the HTTP API's paths, the
 * POST /v1/tx body and the client port's ClientRequest (DESIGN §5). No
 * I/O and no state: every byte they see
 * comes from a client, so every length is checked and nothing is asserted
 * on input. Outputs are set only on success, except where said. */

#ifndef SEQ_NET_NET_PARSE_H
#define SEQ_NET_NET_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.pb-c.h"
#include "seq_client.h"
#include "seq_hash.h"

/* A decimal number: 1 to 20 digits, nothing else (no sign, no space), at
 * most UINT64_MAX. Returns 0 with *out, or SEQ_EINVAL. */
int net_parse_u64(const char *s, size_t len, uint64_t *out);

/* The HTTP API's paths (net_http.c). */
enum net_route_kind {
    NET_ROUTE_STATUS = 1, /* /v1/status */
    NET_ROUTE_BLOCK,      /* /v1/blocks/<height>: height (0 allowed) */
    NET_ROUTE_TX_SUBMIT,  /* /v1/tx */
    NET_ROUTE_TX_GET,     /* /v1/tx/<64 hex>: hash */
    NET_ROUTE_NS_BLOCK,   /* /v1/namespaces/<N>/blocks/<height>: ns, height */
    NET_ROUTE_NS_STREAM,  /* /v1/namespaces/<N>/stream: ns */
    NET_ROUTE_LIVEZ,      /* /livez */
    NET_ROUTE_READYZ,     /* /readyz */
    NET_ROUTE_METRICS,    /* /metrics */
};

struct net_route {
    enum net_route_kind kind;
    uint64_t ns;
    uint64_t height;
    struct seq_hash hash;
    const char *error; /* SEQ_EINVAL: the error code, static. */
};

/* Matches @path (the URL path, without the query) exactly: no trailing
 * slash, no empty or extra segment. Returns 0 with *out, SEQ_ENOTFOUND
 * (no such path), or SEQ_EINVAL for a known path with a bad argument:
 * out->kind says which path and out->error the code ("bad_height",
 * "bad_namespace", "bad_hash"). Namespace block heights start at 1. */
int net_route_parse(const char *path, struct net_route *out);

/* A POST /v1/tx body, {"namespace": N, "payload": "<base64>"}: a JSON
 * object (no duplicate members; others are ignored) whose "namespace" is
 * a non-negative integer and whose "payload" is a strict base64 string. */
struct net_tx_body {
    uint64_t ns;
    uint8_t *payload; /* Owned: seq_free(). Never NULL on success. */
    size_t len;
};

/* Returns 0 with *out; SEQ_EINVAL with *code ("malformed_json",
 * "bad_namespace", "bad_payload", "bad_request") and *why (static text);
 * SEQ_ETOOBIG (the payload decodes to more than @max_payload bytes); or
 * SEQ_ENOMEM. */
int net_tx_body_parse(const char *body,
                      size_t len,
                      size_t max_payload,
                      struct net_tx_body *out,
                      const char **code,
                      const char **why);

/* The client port's kind-0x02 body, one ClientRequest (net_client.c NOTES
 * (C1), (C2)), decoded and checked against everything that needs no node
 * state: version 1; exactly one of submit (1..SEQC_MAX_SUBMIT
 * transactions), subscribe (from_height >= 1, 1..SEQC_MAX_CREDITS
 * credits), credit (at least 1) or tx_query (a 32-byte tx_hash).
 * protobuf-c unpacks through an allocator whose live bytes (each block plus
 * a max_align_t header) never pass NET_CLIENT_DECODE_FACTOR times the body
 * plus NET_CLIENT_DECODE_SLACK, so a body packed with empty repeated
 * elements cannot make us allocate 30 times its size. */
#define NET_CLIENT_DECODE_FACTOR 4u
#define NET_CLIENT_DECODE_SLACK  (SEQC_MAX_SUBMIT * 128u + 64u * 1024)

struct net_client_request {
    /* Owned: net_client_request_free(). Set on 0 and SEQ_EINVAL only;
     * on 0 the member msg_case names is non-NULL. */
    Seqc__ClientRequest *msg;
    /* SEQ_EINVAL: what the Error reply carries. code is "version" or
     * "malformed"; code and why are static. */
    uint64_t request_id;
    const char *code;
    const char *why;
    /* The allocator (C2). Read-only for callers; tests check the
     * accounting. */
    ProtobufCAllocator alloc;
    size_t budget; /* Live bytes allowed. */
    size_t left;   /* budget minus the live bytes. */
    size_t peak;   /* Most live bytes at any time. */
    bool spent;    /* The budget refused a block. */
    bool oom;      /* seq_malloc failed. */
};

/* Decodes @body (borrowed, @len bytes) into @out, which keeps its address
 * until net_client_request_free (the allocator points into it). Returns 0
 * (a request the handlers may act on), SEQ_EINVAL (it decodes but breaks a
 * bound: answer an Error with out->request_id, out->code, out->why),
 * SEQ_EBADMSG (not a ClientRequest), SEQ_ETOOBIG (decoding would pass the
 * budget) or SEQ_ENOMEM. Call net_client_request_free in every case. */
int net_client_request_decode(const uint8_t *body,
                              size_t len,
                              struct net_client_request *out);
void net_client_request_free(struct net_client_request *req);

#endif /* SEQ_NET_NET_PARSE_H */
