/* The JSON form of a namespace block (the HTTP API; the format is in
 * seq_client.h), with strict base64 for payloads. It shares the bounds and
 * the notes on the design with the protobuf form (seqc_nsblock.c, C1-C5):
 * the encoder writes only what seqc_nsblock_ok() accepts, the decoder
 * builds only that, and the two forms of one block always agree. */

#include "seq_client.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "seq_alloc.h"
#include "seq_base64.h"
#include "seq_hex.h"
#include "seqc_int.h"

/* The largest integer a JSON number carries exactly in every reader. */
#define JSON_EXACT_MAX (UINT64_C(1) << 53)

/* ------------------------------------------------------------------------
 * Base64: strict (common/seq_base64.h), so every payload has one text.
 * ------------------------------------------------------------------------ */

/* Decodes @len characters into *out (seq_malloc'd, *out_len bytes).
 * SEQ_EBADMSG for anything but canonical padded base64, SEQ_ENOMEM. */
static int b64_decode(const char *in,
                      size_t len,
                      uint8_t **out,
                      size_t *out_len)
{
    size_t n;
    uint8_t *buf;

    if (seq_base64_decoded_len(in, len, &n) != 0) {
        return SEQ_EBADMSG;
    }
    buf = seq_malloc(n);
    if (buf == NULL) {
        return SEQ_ENOMEM;
    }
    if (seq_base64_decode(in, len, buf, n, out_len) != 0) {
        seq_free(buf);
        return SEQ_EBADMSG;
    }
    *out = buf;
    return SEQ_OK;
}

/* ------------------------------------------------------------------------
 * JSON encoding: written directly into a growing buffer. Every string it
 * writes is hex, base64 or a fixed word, so nothing needs escaping.
 * ------------------------------------------------------------------------ */

struct sbuf {
    char *data;
    size_t len;
    size_t cap;
    bool oom;
};

/* Room for @n more bytes and a NUL; false (and oom set) if there is none. */
static bool sb_reserve(struct sbuf *s, size_t n)
{
    size_t cap;
    char *grown;

    if (s->oom) {
        return false;
    }
    if (n < s->cap - s->len) {
        return true;
    }
    if (n > SIZE_MAX / 2 - s->len) {
        s->oom = true;
        return false;
    }
    cap = s->cap < 256 ? 256 : s->cap;
    while (cap - s->len <= n) {
        cap *= 2;
    }
    grown = seq_realloc(s->data, cap);
    if (grown == NULL) {
        s->oom = true;
        return false;
    }
    s->data = grown;
    s->cap = cap;
    return true;
}

static void sb_put(struct sbuf *s, const char *text)
{
    size_t n = strlen(text);

    if (sb_reserve(s, n)) {
        memcpy(s->data + s->len, text, n + 1);
        s->len += n;
    }
}

/* "key": */
static void sb_key(struct sbuf *s, const char *key)
{
    sb_put(s, "\"");
    sb_put(s, key);
    sb_put(s, "\":");
}

/* A number up to 2^53, a decimal string above. */
static void sb_u64(struct sbuf *s, const char *key, uint64_t v)
{
    char text[32];

    snprintf(text, sizeof text, v <= JSON_EXACT_MAX ? "%llu" : "\"%llu\"",
             (unsigned long long)v);
    sb_key(s, key);
    sb_put(s, text);
}

static void sb_hex(struct sbuf *s, const char *key, const uint8_t *p, size_t n)
{
    char text[2 * SEQC_SIG_LEN + 1];

    assert(n <= SEQC_SIG_LEN);
    seq_hex_encode(p, n, text);
    if (key != NULL) {
        sb_key(s, key);
    }
    sb_put(s, "\"");
    sb_put(s, text);
    sb_put(s, "\"");
}

static void sb_hash(struct sbuf *s, const char *key, const struct seq_hash *h)
{
    sb_hex(s, key, h->bytes, SEQ_HASH_LEN);
}

static void sb_base64(struct sbuf *s, const uint8_t *p, size_t n)
{
    size_t len = seq_base64_len(n);

    if (n > SIZE_MAX / 2 || !sb_reserve(s, len + 2)) {
        s->oom = true;
        return;
    }
    s->data[s->len++] = '"';
    seq_base64_encode(p, n, s->data + s->len);
    s->len += len;
    s->data[s->len++] = '"';
    s->data[s->len] = '\0';
}

/* The header object; with "hash" when @chain_id is given. */
static void json_header(struct sbuf *s,
                        const struct seq_header *h,
                        const struct seq_hash *chain_id)
{
    struct seq_hash id;

    sb_put(s, "{");
    sb_u64(s, "epoch", h->epoch);
    sb_put(s, ",");
    sb_u64(s, "round", h->round);
    sb_put(s, ",");
    sb_u64(s, "height", h->height);
    sb_put(s, ",");
    sb_hash(s, "parent_id", &h->parent_id);
    sb_put(s, ",");
    sb_u64(s, "justify_round", h->justify_round);
    sb_put(s, ",");
    sb_u64(s, "author", h->author);
    sb_put(s, ",");
    sb_hash(s, "payload_hash", &h->payload_hash);
    sb_put(s, ",");
    sb_hash(s, "ns_root", &h->ns_root);
    if (chain_id != NULL) {
        seq_header_id(h, chain_id, &id);
        sb_put(s, ",");
        sb_hash(s, "hash", &id);
    }
    sb_put(s, "}");
}

static void json_path(struct sbuf *s,
                      const char *key,
                      const struct seq_merkle_proof *p)
{
    uint32_t i;

    sb_key(s, key);
    sb_put(s, "{");
    sb_u64(s, "index", p->index);
    sb_put(s, ",");
    sb_u64(s, "n_leaves", p->n_leaves);
    sb_put(s, ",\"siblings\":[");
    for (i = 0; i < p->n_siblings; i++) {
        sb_put(s, i > 0 ? "," : "");
        sb_hash(s, NULL, &p->siblings[i]);
    }
    sb_put(s, "]}");
}

static void json_neighbour(struct sbuf *s,
                           const char *key,
                           const char *path_key,
                           const struct seq_nstree_leaf *leaf,
                           const struct seq_merkle_proof *path)
{
    sb_put(s, ",");
    sb_key(s, key);
    sb_put(s, "{");
    sb_u64(s, "ns_id", leaf->ns_id);
    sb_put(s, ",");
    sb_hash(s, "entries_hash", &leaf->entries_hash);
    sb_put(s, "},");
    json_path(s, path_key, path);
}

static const char *const kind_names[] = {
    [SEQC_KIND_PRESENCE] = "presence",
    [SEQ_NSTREE_ABSENT_EMPTY] = "empty",
    [SEQ_NSTREE_ABSENT_BELOW] = "below",
    [SEQ_NSTREE_ABSENT_BETWEEN] = "between",
    [SEQ_NSTREE_ABSENT_ABOVE] = "above",
};

static void json_proof(struct sbuf *s, const struct seqc_nsblock *b)
{
    const struct seq_nstree_absence *abs = &b->absence;

    sb_key(s, "proof");
    sb_put(s, "{\"kind\":\"");
    sb_put(s, kind_names[b->present ? SEQC_KIND_PRESENCE : abs->kind]);
    sb_put(s, "\",");
    if (b->present) {
        sb_u64(s, "n_leaves", b->presence.n_leaves);
        sb_put(s, ",");
        sb_hash(s, "merkle_root", &b->presence.merkle_root);
        sb_put(s, ",");
        json_path(s, "path", &b->presence.path);
    } else {
        sb_u64(s, "n_leaves", abs->n_leaves);
        sb_put(s, ",");
        sb_hash(s, "merkle_root", &abs->merkle_root);
        if (seqc_uses_pred(abs->kind)) {
            json_neighbour(s, "pred", "pred_path", &abs->pred, &abs->pred_path);
        }
        if (seqc_uses_succ(abs->kind)) {
            json_neighbour(s, "succ", "succ_path", &abs->succ, &abs->succ_path);
        }
    }
    sb_put(s, "}");
}

static void json_qc(struct sbuf *s, const struct seqc_qc *qc)
{
    uint32_t i;

    sb_key(s, "child_qc");
    sb_put(s, "{");
    sb_u64(s, "epoch", qc->epoch);
    sb_put(s, ",");
    sb_u64(s, "round", qc->round);
    sb_put(s, ",");
    sb_u64(s, "height", qc->height);
    sb_put(s, ",");
    sb_hash(s, "block_id", &qc->block_id);
    sb_put(s, ",\"signatures\":[");
    for (i = 0; i < qc->n_sigs; i++) {
        sb_put(s, i > 0 ? ",{" : "{");
        sb_u64(s, "signer", qc->sigs[i].signer);
        sb_put(s, ",");
        sb_hex(s, "sig", qc->sigs[i].sig, SEQC_SIG_LEN);
        sb_put(s, "}");
    }
    sb_put(s, "]}");
}

static void json_commit(struct sbuf *s, const struct seqc_nsblock *b)
{
    size_t i;

    sb_key(s, "commit_proof");
    sb_put(s, "{\"chain\":[");
    for (i = 0; i < b->n_chain; i++) {
        sb_put(s, i > 0 ? "," : "");
        json_header(s, &b->chain[i], NULL);
    }
    sb_put(s, "],\"child\":");
    json_header(s, &b->child, NULL);
    sb_put(s, ",");
    json_qc(s, &b->child_qc);
    sb_put(s, "}");
}

static void json_entries(struct sbuf *s, const struct seqc_nsblock *b)
{
    struct seq_hash tx;
    size_t i;

    sb_put(s, "\"entries\":[");
    for (i = 0; i < b->n_entries && !s->oom; i++) {
        const struct seqc_entry *e = &b->entries[i];

        seqc_tx_hash(b->ns, e->payload, e->len, &tx);
        sb_put(s, i > 0 ? ",{" : "{");
        sb_hash(s, "tx_hash", &tx);
        sb_put(s, ",\"payload\":");
        sb_base64(s, e->payload, e->len);
        sb_put(s, "}");
    }
    sb_put(s, "]");
}

int seqc_nsblock_to_json(const struct seqc_nsblock *b,
                         const struct seq_hash *chain_id,
                         char **out)
{
    struct sbuf s = { NULL, 0, 0, false };

    assert(b != NULL && out != NULL);

    if (!seqc_nsblock_ok(b)) {
        return SEQ_EINVAL;
    }
    sb_put(&s, "{");
    sb_u64(&s, "namespace", b->ns);
    sb_put(&s, ",");
    sb_u64(&s, "height", b->height);
    sb_put(&s, ",\"header\":");
    json_header(&s, &b->chain[0], chain_id);
    sb_put(&s, ",");
    json_entries(&s, b);
    sb_put(&s, ",");
    json_proof(&s, b);
    sb_put(&s, ",");
    json_commit(&s, b);
    sb_put(&s, "}");
    if (s.oom) {
        seq_free(s.data);
        return SEQ_ENOMEM;
    }
    *out = s.data;
    return SEQ_OK;
}

/* ------------------------------------------------------------------------
 * JSON decoding (C1, C3). @where names the member in messages
 * ("commit_proof.chain[2]"). Each reader returns 0 or SEQ_EBADMSG (with
 * errmsg), or SEQ_ENOMEM.
 * ------------------------------------------------------------------------ */

static bool header_eq(const struct seq_header *a, const struct seq_header *b)
{
    /* Field by field: the struct has tail padding. */
    return a->epoch == b->epoch && a->round == b->round &&
           a->height == b->height &&
           seq_hash_eq(&a->parent_id, &b->parent_id) &&
           a->justify_round == b->justify_round && a->author == b->author &&
           seq_hash_eq(&a->payload_hash, &b->payload_hash) &&
           seq_hash_eq(&a->ns_root, &b->ns_root);
}

static int bad(char *errmsg, const char *where, const char *what)
{
    seqc_errmsg(errmsg, where, "%s", what);
    return SEQ_EBADMSG;
}

/* Member @key of @obj: object, array, string or anything (type 0). */
static const json_t *member(const json_t *obj,
                            const char *key,
                            json_type type,
                            const char *where,
                            char *errmsg)
{
    const json_t *v = json_object_get(obj, key);
    char field[160];

    snprintf(field, sizeof field, "%s%s%s", where, where[0] ? "." : "", key);
    if (v == NULL) {
        bad(errmsg, field, "missing");
        return NULL;
    }
    if (json_typeof(v) != type) {
        bad(errmsg, field,
            type == JSON_OBJECT  ? "want an object"
            : type == JSON_ARRAY ? "want an array"
                                 : "want a string");
        return NULL;
    }
    return v;
}

static int get_u64(const json_t *obj,
                   const char *key,
                   const char *where,
                   uint64_t max,
                   uint64_t *out,
                   char *errmsg)
{
    const json_t *v = json_object_get(obj, key);
    char field[160];
    uint64_t value;

    snprintf(field, sizeof field, "%s%s%s", where, where[0] ? "." : "", key);
    if (v == NULL) {
        return bad(errmsg, field, "missing");
    }
    if (seqc_json_u64(v, &value) != 0 || value > max) {
        seqc_errmsg(errmsg, field,
                    "want an integer up to %llu (number or decimal string)",
                    (unsigned long long)max);
        return SEQ_EBADMSG;
    }
    *out = value;
    return SEQ_OK;
}

static int get_u32(const json_t *obj,
                   const char *key,
                   const char *where,
                   uint32_t max,
                   uint32_t *out,
                   char *errmsg)
{
    uint64_t v;
    int rv = get_u64(obj, key, where, max, &v, errmsg);

    if (rv == 0) {
        *out = (uint32_t)v;
    }
    return rv;
}

/* @n bytes from a string of 2 * @n hex digits, member @key of @obj or,
 * with @key NULL, @obj itself. */
static int get_hex(const json_t *obj,
                   const char *key,
                   const char *where,
                   uint8_t *out,
                   size_t n,
                   char *errmsg)
{
    const json_t *v =
        key != NULL ? member(obj, key, JSON_STRING, where, errmsg) : obj;
    char field[160];

    if (v == NULL) {
        return SEQ_EBADMSG;
    }
    snprintf(field, sizeof field, "%s%s%s", where,
             key != NULL && where[0] ? "." : "", key != NULL ? key : "");
    if (!json_is_string(v) || json_string_length(v) != 2 * n ||
        seq_hex_decode(json_string_value(v), out, n) != 0) {
        seqc_errmsg(errmsg, field, "want %zu hex characters", 2 * n);
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

static int get_hash(const json_t *obj,
                    const char *key,
                    const char *where,
                    struct seq_hash *out,
                    char *errmsg)
{
    return get_hex(obj, key, where, out->bytes, SEQ_HASH_LEN, errmsg);
}

static int header_from_json(const json_t *obj,
                            const char *where,
                            struct seq_header *h,
                            char *errmsg)
{
    int rv;

    if (!json_is_object(obj)) {
        return bad(errmsg, where, "want an object");
    }
    rv = get_u64(obj, "epoch", where, UINT64_MAX, &h->epoch, errmsg);
    if (rv == 0) {
        rv = get_u64(obj, "round", where, UINT64_MAX, &h->round, errmsg);
    }
    if (rv == 0) {
        rv = get_u64(obj, "height", where, UINT64_MAX, &h->height, errmsg);
    }
    if (rv == 0) {
        rv = get_hash(obj, "parent_id", where, &h->parent_id, errmsg);
    }
    if (rv == 0) {
        rv = get_u64(obj, "justify_round", where, UINT64_MAX, &h->justify_round,
                     errmsg);
    }
    if (rv == 0) {
        rv = get_u32(obj, "author", where, UINT32_MAX, &h->author, errmsg);
    }
    if (rv == 0) {
        rv = get_hash(obj, "payload_hash", where, &h->payload_hash, errmsg);
    }
    if (rv == 0) {
        rv = get_hash(obj, "ns_root", where, &h->ns_root, errmsg);
    }
    return rv;
}

static int path_from_json(const json_t *proof,
                          const char *key,
                          struct seq_merkle_proof *p,
                          char *errmsg)
{
    const json_t *obj = member(proof, key, JSON_OBJECT, "proof", errmsg);
    const json_t *sibs;
    char where[64];
    char field[96];
    size_t i;
    int rv;

    if (obj == NULL) {
        return SEQ_EBADMSG;
    }
    snprintf(where, sizeof where, "proof.%s", key);
    rv = get_u64(obj, "index", where, UINT64_MAX, &p->index, errmsg);
    if (rv == 0) {
        rv = get_u64(obj, "n_leaves", where, UINT64_MAX, &p->n_leaves, errmsg);
    }
    if (rv != 0) {
        return rv;
    }
    sibs = member(obj, "siblings", JSON_ARRAY, where, errmsg);
    if (sibs == NULL) {
        return SEQ_EBADMSG;
    }
    if (json_array_size(sibs) > SEQ_MERKLE_MAX_DEPTH) {
        seqc_errmsg(errmsg, where, "siblings: more than %d",
                    SEQ_MERKLE_MAX_DEPTH);
        return SEQ_EBADMSG;
    }
    for (i = 0; i < json_array_size(sibs); i++) {
        snprintf(field, sizeof field, "%s.siblings[%zu]", where, i);
        rv = get_hash(json_array_get(sibs, i), NULL, field, &p->siblings[i],
                      errmsg);
        if (rv != 0) {
            return rv;
        }
    }
    p->n_siblings = (uint32_t)json_array_size(sibs);
    return SEQ_OK;
}

/* Neighbour @key and its path "@key_path": present iff @used (C3). */
static int neighbour_from_json(const json_t *proof,
                               bool used,
                               const char *key,
                               struct seq_nstree_leaf *leaf,
                               struct seq_merkle_proof *path,
                               char *errmsg)
{
    const json_t *obj;
    char path_key[16];
    char where[32];
    int rv;

    snprintf(path_key, sizeof path_key, "%s_path", key);
    snprintf(where, sizeof where, "proof.%s", key);
    if (!used) {
        if (json_object_get(proof, key) != NULL ||
            json_object_get(proof, path_key) != NULL) {
            return bad(errmsg, where, "not used by this kind of proof");
        }
        return SEQ_OK;
    }
    obj = member(proof, key, JSON_OBJECT, "proof", errmsg);
    if (obj == NULL) {
        return SEQ_EBADMSG;
    }
    rv = get_u64(obj, "ns_id", where, UINT64_MAX, &leaf->ns_id, errmsg);
    if (rv == 0) {
        rv = get_hash(obj, "entries_hash", where, &leaf->entries_hash, errmsg);
    }
    if (rv == 0) {
        rv = path_from_json(proof, path_key, path, errmsg);
    }
    return rv;
}

/* Needs b->n_entries set (C3). */
static int proof_from_json(const json_t *root,
                           struct seqc_nsblock *b,
                           char *errmsg)
{
    const json_t *proof = member(root, "proof", JSON_OBJECT, "", errmsg);
    const json_t *kind_v;
    struct seq_nstree_absence *abs = &b->absence;
    size_t kind;
    int rv;

    if (proof == NULL) {
        return SEQ_EBADMSG;
    }
    kind_v = member(proof, "kind", JSON_STRING, "proof", errmsg);
    if (kind_v == NULL) {
        return SEQ_EBADMSG;
    }
    for (kind = 0; kind < sizeof kind_names / sizeof kind_names[0]; kind++) {
        if (strcmp(json_string_value(kind_v), kind_names[kind]) == 0) {
            break;
        }
    }
    if (kind == sizeof kind_names / sizeof kind_names[0]) {
        return bad(errmsg, "proof.kind", "unknown kind");
    }
    if ((kind == SEQC_KIND_PRESENCE) != (b->n_entries > 0)) {
        return bad(errmsg, "proof.kind",
                   "presence iff the namespace has entries");
    }
    if (kind == SEQC_KIND_PRESENCE) {
        b->present = true;
        if (json_object_get(proof, "pred") != NULL ||
            json_object_get(proof, "pred_path") != NULL ||
            json_object_get(proof, "succ") != NULL ||
            json_object_get(proof, "succ_path") != NULL) {
            return bad(errmsg, "proof", "neighbours in a presence proof");
        }
        rv = get_u64(proof, "n_leaves", "proof", UINT64_MAX,
                     &b->presence.n_leaves, errmsg);
        if (rv == 0) {
            rv = get_hash(proof, "merkle_root", "proof",
                          &b->presence.merkle_root, errmsg);
        }
        return rv == 0
                   ? path_from_json(proof, "path", &b->presence.path, errmsg)
                   : rv;
    }
    if (json_object_get(proof, "path") != NULL) {
        return bad(errmsg, "proof.path", "not used by an absence proof");
    }
    abs->kind = (enum seq_nstree_absence_kind)kind;
    rv =
        get_u64(proof, "n_leaves", "proof", UINT64_MAX, &abs->n_leaves, errmsg);
    if (rv == 0) {
        rv = get_hash(proof, "merkle_root", "proof", &abs->merkle_root, errmsg);
    }
    if (rv == 0) {
        rv = neighbour_from_json(proof, seqc_uses_pred(abs->kind), "pred",
                                 &abs->pred, &abs->pred_path, errmsg);
    }
    if (rv == 0) {
        rv = neighbour_from_json(proof, seqc_uses_succ(abs->kind), "succ",
                                 &abs->succ, &abs->succ_path, errmsg);
    }
    return rv;
}

static int qc_from_json(const json_t *commit, struct seqc_qc *qc, char *errmsg)
{
    const char *where = "commit_proof.child_qc";
    const json_t *obj =
        member(commit, "child_qc", JSON_OBJECT, "commit_proof", errmsg);
    const json_t *sigs;
    char field[64];
    size_t i;
    int rv;

    if (obj == NULL) {
        return SEQ_EBADMSG;
    }
    rv = get_u64(obj, "epoch", where, UINT64_MAX, &qc->epoch, errmsg);
    if (rv == 0) {
        rv = get_u64(obj, "round", where, UINT64_MAX, &qc->round, errmsg);
    }
    if (rv == 0) {
        rv = get_u64(obj, "height", where, UINT64_MAX, &qc->height, errmsg);
    }
    if (rv == 0) {
        rv = get_hash(obj, "block_id", where, &qc->block_id, errmsg);
    }
    if (rv != 0) {
        return rv;
    }
    sigs = member(obj, "signatures", JSON_ARRAY, where, errmsg);
    if (sigs == NULL) {
        return SEQ_EBADMSG;
    }
    if (json_array_size(sigs) > SEQC_MAX_VALIDATORS) {
        return bad(errmsg, "commit_proof.child_qc.signatures", "more than 64");
    }
    for (i = 0; i < json_array_size(sigs); i++) {
        const json_t *s = json_array_get(sigs, i);

        snprintf(field, sizeof field, "%s.signatures[%zu]", where, i);
        if (!json_is_object(s)) {
            return bad(errmsg, field, "want an object");
        }
        rv = get_u32(s, "signer", field, SEQC_MAX_VALIDATORS - 1,
                     &qc->sigs[i].signer, errmsg);
        if (rv == 0) {
            rv =
                get_hex(s, "sig", field, qc->sigs[i].sig, SEQC_SIG_LEN, errmsg);
        }
        if (rv != 0) {
            return rv;
        }
    }
    qc->n_sigs = (uint32_t)json_array_size(sigs);
    return SEQ_OK;
}

static int commit_from_json(const json_t *root,
                            struct seqc_nsblock *b,
                            char *errmsg)
{
    const json_t *commit =
        member(root, "commit_proof", JSON_OBJECT, "", errmsg);
    const json_t *chain;
    char where[48];
    size_t n;
    size_t i;
    int rv;

    if (commit == NULL) {
        return SEQ_EBADMSG;
    }
    chain = member(commit, "chain", JSON_ARRAY, "commit_proof", errmsg);
    if (chain == NULL) {
        return SEQ_EBADMSG;
    }
    n = json_array_size(chain);
    if (n == 0 || n > SEQC_MAX_CHAIN) {
        seqc_errmsg(errmsg, "commit_proof.chain", "%zu headers; want 1 to %d",
                    n, SEQC_MAX_CHAIN);
        return SEQ_EBADMSG;
    }
    rv = header_from_json(json_object_get(commit, "child"),
                          "commit_proof.child", &b->child, errmsg);
    if (rv == 0) {
        rv = qc_from_json(commit, &b->child_qc, errmsg);
    }
    if (rv != 0) {
        return rv;
    }
    b->chain = seq_calloc(n, sizeof *b->chain);
    if (b->chain == NULL) {
        return SEQ_ENOMEM;
    }
    b->n_chain = n;
    for (i = 0; i < n; i++) {
        snprintf(where, sizeof where, "commit_proof.chain[%zu]", i);
        rv = header_from_json(json_array_get(chain, i), where, &b->chain[i],
                              errmsg);
        if (rv != 0) {
            return rv;
        }
    }
    return SEQ_OK;
}

static int entries_from_json(const json_t *arr,
                             struct seqc_nsblock *b,
                             char *errmsg)
{
    char where[48];
    size_t i;
    int rv;

    for (i = 0; i < b->n_entries; i++) {
        const json_t *e = json_array_get(arr, i);
        const json_t *p;
        uint8_t *data;
        size_t len;

        snprintf(where, sizeof where, "entries[%zu]", i);
        if (!json_is_object(e)) {
            return bad(errmsg, where, "want an object");
        }
        p = member(e, "payload", JSON_STRING, where, errmsg);
        if (p == NULL) {
            return SEQ_EBADMSG;
        }
        rv = b64_decode(json_string_value(p), json_string_length(p), &data,
                        &len);
        if (rv == SEQ_EBADMSG) {
            return bad(errmsg, where, "payload: want padded base64");
        }
        if (rv != 0) {
            return rv;
        }
        b->entries[i].payload = data;
        b->entries[i].len = len;
        seqc_tx_hash(b->ns, data, len, &b->entries[i].tx_hash);
    }
    return SEQ_OK;
}

static int nsblock_from_json(const json_t *root,
                             struct seqc_nsblock *b,
                             char *errmsg)
{
    const json_t *entries;
    struct seq_header header;
    int rv;

    if (!json_is_object(root)) {
        return bad(errmsg, "nsblock", "want a JSON object");
    }
    rv = get_u64(root, "namespace", "", UINT64_MAX, &b->ns, errmsg);
    if (rv == 0) {
        rv = get_u64(root, "height", "", UINT64_MAX, &b->height, errmsg);
    }
    if (rv == 0) {
        rv = header_from_json(json_object_get(root, "header"), "header",
                              &header, errmsg);
    }
    if (rv != 0) {
        return rv;
    }
    entries = member(root, "entries", JSON_ARRAY, "", errmsg);
    if (entries == NULL) {
        return SEQ_EBADMSG;
    }
    if (json_array_size(entries) > SEQC_MAX_ENTRIES) {
        return bad(errmsg, "entries", "too many");
    }
    /* Shapes first, allocations after (C1). */
    b->n_entries = json_array_size(entries);
    rv = proof_from_json(root, b, errmsg);
    b->n_entries = 0;
    if (rv == 0) {
        rv = commit_from_json(root, b, errmsg);
    }
    if (rv == 0 && !header_eq(&header, &b->chain[0])) {
        rv = bad(errmsg, "header", "differs from commit_proof.chain[0]");
    }
    if (rv == 0) {
        rv = seqc_entries_alloc(b, json_array_size(entries));
    }
    if (rv == 0) {
        rv = entries_from_json(entries, b, errmsg);
    }
    assert(rv != 0 || seqc_nsblock_ok(b)); /* (C2) */
    return rv;
}

int seqc_nsblock_from_json(const char *text,
                           size_t len,
                           struct seqc_nsblock *out,
                           char errmsg[SEQ_ERRMSG_LEN])
{
    struct seqc_nsblock b;
    json_error_t error;
    json_t *root;
    int rv;

    assert(out != NULL);
    assert(text != NULL || len == 0);

    root =
        json_loadb(len == 0 ? "" : text, len, JSON_REJECT_DUPLICATES, &error);
    if (root == NULL) {
        if (json_error_code(&error) == json_error_out_of_memory) {
            return SEQ_ENOMEM;
        }
        seqc_errmsg(errmsg, "nsblock", "line %d column %d: %s", error.line,
                    error.column, error.text);
        return SEQ_EBADMSG;
    }
    memset(&b, 0, sizeof b);
    rv = nsblock_from_json(root, &b, errmsg);
    if (rv == 0) {
        *out = b;
    } else {
        seqc_nsblock_free(&b);
    }
    json_decref(root);
    return rv;
}
