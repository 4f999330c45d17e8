/* libFuzzer target for what libseqclient decodes from validators and from
 * disk: the protobuf namespace block, its JSON form, and the genesis. The
 * first byte picks the decoder (modulo 3: protobuf, JSON, genesis); the
 * rest is its input. A decoder must answer 0 or its one error code
 * (SEQ_EBADMSG, or SEQ_EINVAL for the genesis), leave its output untouched
 * on failure, and never crash or leak (ASan and UBSan watch). When it
 * accepts, the oracle of seqc_nsblock.c's NOTES (C2) must hold: the block
 * re-encodes, the re-encoding decodes, encoding that gives the same bytes
 * again, and the other form carries the same block (protobuf and JSON
 * encodings agree after a trip through either). An accepted genesis must
 * parse to the same thing twice and answer lookups for every namespace it
 * lists. Any violation aborts, which libFuzzer reports as a crash with the
 * input saved.
 *
 * Seeds: when SEQ_FUZZ_SEED_DIR names a directory, LLVMFuzzerInitialize
 * writes a valid input for each decoder there (presence and absence blocks
 * in both forms, a genesis with namespaces), so no binary seeds live in
 * git. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seq_alloc.h"
#include "seq_client.h"
#include "seq_err.h"
#include "seq_hash.h"
#include "seq_rng.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum which {
    WHICH_PB = 0,
    WHICH_JSON = 1,
    WHICH_GENESIS = 2,
};

_Noreturn static void fail(const char *what)
{
    fprintf(stderr, "fuzz_client: %s\n", what);
    abort();
}

static void same_bytes(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len || memcmp(a, b, a_len) != 0) {
        fail("re-encoding is not canonical");
    }
}

static void untouched(const void *p, size_t len)
{
    const uint8_t *b = p;
    size_t i;

    for (i = 0; i < len; i++) {
        if (b[i] != 0x5a) {
            fail("a failed decode wrote its output");
        }
    }
}

/* The protobuf and JSON encodings of @b (which must encode). */
static void encode_both(const struct seqc_nsblock *b,
                        uint8_t **pb,
                        size_t *pb_len,
                        char **json)
{
    if (seqc_nsblock_encode(b, pb, pb_len) != SEQ_OK) {
        fail("a decoded block does not encode");
    }
    if (seqc_nsblock_to_json(b, NULL, json) != SEQ_OK) {
        fail("a decoded block does not encode as JSON");
    }
}

/* (C2) for a block one of the decoders accepted. */
static void check_block(const struct seqc_nsblock *got)
{
    struct seqc_nsblock again;
    struct seqc_nsblock other;
    uint8_t *pb;
    uint8_t *pb2;
    uint8_t *pb3;
    size_t len;
    size_t len2;
    size_t len3;
    char *json;
    char *json2;
    char *json3;

    encode_both(got, &pb, &len, &json);
    if (seqc_nsblock_decode(pb, len, &again) != SEQ_OK) {
        fail("the protobuf re-encoding does not decode");
    }
    encode_both(&again, &pb2, &len2, &json2);
    same_bytes(pb, len, pb2, len2);
    same_bytes(json, strlen(json), json2, strlen(json2));
    if (seqc_nsblock_from_json(json, strlen(json), &other, NULL) != SEQ_OK) {
        fail("the JSON re-encoding does not decode");
    }
    encode_both(&other, &pb3, &len3, &json3);
    same_bytes(pb, len, pb3, len3);
    same_bytes(json, strlen(json), json3, strlen(json3));
    free(json3);
    free(pb3);
    free(json2);
    free(pb2);
    free(json);
    free(pb);
    seqc_nsblock_free(&other);
    seqc_nsblock_free(&again);
}

static void check_pb(const uint8_t *data, size_t size)
{
    struct seqc_nsblock got;
    int rv;

    memset(&got, 0x5a, sizeof got);
    rv = seqc_nsblock_decode(data, size, &got);
    if (rv != SEQ_OK) {
        if (rv != SEQ_EBADMSG) {
            fail("pb: unexpected error");
        }
        untouched(&got, sizeof got);
        return;
    }
    check_block(&got);
    seqc_nsblock_free(&got);
}

static void check_json(const uint8_t *data, size_t size)
{
    char errmsg[SEQ_ERRMSG_LEN];
    struct seqc_nsblock got;
    int rv;

    memset(&got, 0x5a, sizeof got);
    rv = seqc_nsblock_from_json((const char *)data, size, &got, errmsg);
    if (rv != SEQ_OK) {
        if (rv != SEQ_EBADMSG || memchr(errmsg, '\0', sizeof errmsg) == NULL) {
            fail("json: unexpected error or unterminated errmsg");
        }
        untouched(&got, sizeof got);
        return;
    }
    check_block(&got);
    seqc_nsblock_free(&got);
}

static bool genesis_eq(const struct seqc_genesis *a,
                       const struct seqc_genesis *b)
{
    uint32_t i;

    if (!seq_hash_eq(&a->chain_id, &b->chain_id) || a->epoch != b->epoch ||
        strcmp(a->chain_name, b->chain_name) != 0 ||
        a->n_validators != b->n_validators ||
        memcmp(a->pubkeys, b->pubkeys, a->n_validators * 32u) != 0 ||
        a->n_namespaces != b->n_namespaces) {
        return false;
    }
    for (i = 0; i < a->n_namespaces; i++) {
        const struct seqc_namespace *x = &a->namespaces[i];
        const struct seqc_namespace *y = &b->namespaces[i];

        if (x->id != y->id || strcmp(x->name, y->name) != 0 ||
            x->weight != y->weight || x->max_tx_size != y->max_tx_size) {
            return false;
        }
    }
    return true;
}

static void check_genesis(const uint8_t *data, size_t size)
{
    static struct seqc_genesis got;
    static struct seqc_genesis again;
    char errmsg[SEQ_ERRMSG_LEN];
    struct seq_hash want;
    uint32_t i;
    int rv;

    memset(&got, 0x5a, sizeof got);
    rv = seqc_genesis_parse(data, size, &got, errmsg);
    if (rv != SEQ_OK) {
        if (rv != SEQ_EINVAL) {
            fail("genesis: unexpected error");
        }
        untouched(&got, sizeof got);
        return;
    }
    seq_sha256(data, size, &want);
    if (!seq_hash_eq(&got.chain_id, &want) || got.n_validators == 0 ||
        got.n_validators > SEQC_MAX_VALIDATORS ||
        got.n_namespaces > SEQC_MAX_NAMESPACES) {
        fail("genesis: accepted out of bounds");
    }
    for (i = 0; i < got.n_namespaces; i++) {
        const struct seqc_namespace *ns = &got.namespaces[i];

        if (ns->id == 0 || ns->weight == 0 || ns->max_tx_size == 0 ||
            seqc_genesis_namespace(&got, ns->id) != ns ||
            seqc_genesis_namespace_by_name(&got, ns->name) != ns) {
            fail("genesis: a namespace it lists does not look up");
        }
    }
    if (seqc_genesis_parse(data, size, &again, errmsg) != SEQ_OK ||
        !genesis_eq(&got, &again)) {
        fail("genesis: not deterministic");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    switch ((enum which)(data[0] % 3)) {
    case WHICH_PB:
        check_pb(data + 1, size - 1);
        break;
    case WHICH_JSON:
        check_json(data + 1, size - 1);
        break;
    case WHICH_GENESIS:
        check_genesis(data + 1, size - 1);
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Seeds
 * ------------------------------------------------------------------------ */

static struct seq_rng rng;

static void rand_fill(void *p, size_t len)
{
    uint8_t *b = p;
    size_t i;

    for (i = 0; i < len; i++) {
        b[i] = (uint8_t)seq_rng_next(&rng);
    }
}

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
        fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "fuzz_client: cannot write %s\n", path);
        exit(1);
    }
}

static void seed_header(struct seq_header *h, uint64_t height)
{
    memset(h, 0, sizeof *h);
    h->epoch = 1;
    h->round = height + 3;
    h->height = height;
    rand_fill(&h->parent_id, SEQ_HASH_LEN);
    h->justify_round = height + 2;
    h->author = 1;
    rand_fill(&h->payload_hash, SEQ_HASH_LEN);
    rand_fill(&h->ns_root, SEQ_HASH_LEN);
}

static void seed_path(struct seq_merkle_proof *p, uint64_t index)
{
    memset(p, 0, sizeof *p);
    p->index = index;
    p->n_leaves = 5;
    p->n_siblings = 3;
    rand_fill(p->siblings, 3 * sizeof p->siblings[0]);
}

/* A block of namespace 7 at height 100: with two entries (presence), or
 * none (absence between two neighbours). */
static void seed_block(struct seqc_nsblock *b,
                       struct seqc_entry *entries,
                       uint8_t payloads[2][24],
                       struct seq_header *chain,
                       bool present)
{
    uint32_t i;

    memset(b, 0, sizeof *b);
    b->ns = 7;
    b->height = 100;
    if (present) {
        for (i = 0; i < 2; i++) {
            rand_fill(payloads[i], 24);
            entries[i].payload = payloads[i];
            entries[i].len = 24;
        }
        b->entries = entries;
        b->n_entries = 2;
        b->present = true;
        b->presence.n_leaves = 5;
        rand_fill(&b->presence.merkle_root, SEQ_HASH_LEN);
        seed_path(&b->presence.path, 2);
    } else {
        b->absence.kind = SEQ_NSTREE_ABSENT_BETWEEN;
        b->absence.n_leaves = 5;
        rand_fill(&b->absence.merkle_root, SEQ_HASH_LEN);
        b->absence.pred.ns_id = 5;
        rand_fill(&b->absence.pred.entries_hash, SEQ_HASH_LEN);
        seed_path(&b->absence.pred_path, 1);
        b->absence.succ.ns_id = 9;
        rand_fill(&b->absence.succ.entries_hash, SEQ_HASH_LEN);
        seed_path(&b->absence.succ_path, 2);
    }
    seed_header(&chain[0], 100);
    b->chain = chain;
    b->n_chain = 1;
    seed_header(&b->child, 101);
    b->child_qc.epoch = 1;
    b->child_qc.round = b->child.round;
    b->child_qc.height = 101;
    rand_fill(&b->child_qc.block_id, SEQ_HASH_LEN);
    b->child_qc.n_sigs = 3;
    for (i = 0; i < 3; i++) {
        b->child_qc.sigs[i].signer = i;
        rand_fill(b->child_qc.sigs[i].sig, 64);
    }
}

static void write_block_seeds(const char *dir, const char *name, bool present)
{
    static struct seqc_nsblock b;
    struct seqc_entry entries[2];
    uint8_t payloads[2][24];
    struct seq_header chain[1];
    char file[64];
    uint8_t *pb;
    size_t len;
    char *json;

    seed_block(&b, entries, payloads, chain, present);
    if (seqc_nsblock_encode(&b, &pb, &len) != SEQ_OK ||
        seqc_nsblock_to_json(&b, NULL, &json) != SEQ_OK) {
        fail("seed: encoding failed");
    }
    snprintf(file, sizeof file, "pb-%s", name);
    write_seed(dir, file, WHICH_PB, pb, len);
    snprintf(file, sizeof file, "json-%s", name);
    write_seed(dir, file, WHICH_JSON, json, strlen(json));
    free(json);
    free(pb);
}

static const char genesis_seed[] =
    "{\n"
    "  \"chain_id\": \"seq-local\",\n"
    "  \"genesis_time\": \"2026-11-21T06:00:00Z\",\n"
    "  \"epoch\": 0,\n"
    "  \"base_timeout_ms\": 1000,\n"
    "  \"validators\": [\n"
    "    {\"index\": 0, \"name\": \"node0\", \"pubkey\": "
    "\"79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798\"},\n"
    "    {\"index\": 1, \"name\": \"node1\", \"pubkey\": "
    "\"c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5\"},\n"
    "    {\"index\": 2, \"name\": \"node2\", \"pubkey\": "
    "\"f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9\"},\n"
    "    {\"index\": 3, \"name\": \"node3\", \"pubkey\": "
    "\"e493dbf1c10d80f3581e4904930b1404cc6c13900ee0758474fa94abe8c4cd13\"}\n"
    "  ],\n"
    "  \"namespaces\": [\n"
    "    {\"id\": 1, \"name\": \"rollup-a\", \"weight\": 1, "
    "\"max_tx_size\": 65536},\n"
    "    {\"id\": 2, \"name\": \"rollup-b\", \"weight\": 3, "
    "\"max_tx_size\": \"1024\"}\n"
    "  ]\n"
    "}\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("SEQ_FUZZ_SEED_DIR");

    (void)argc;
    (void)argv;
    if (dir == NULL || dir[0] == '\0') {
        return 0;
    }
    seq_rng_seed(&rng, 1);
    write_block_seeds(dir, "presence", true);
    write_block_seeds(dir, "absence", false);
    write_seed(dir, "genesis", WHICH_GENESIS, genesis_seed,
               sizeof genesis_seed - 1);
    return 0;
}
