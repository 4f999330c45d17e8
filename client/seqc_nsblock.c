/* The two forms of a namespace block (DESIGN §5): the protobuf NsBlock of
 * proto/client.proto (the client port), here, and the JSON of the HTTP API
 * (seqc_nsblock_json.c), both decoded into struct seqc_nsblock. Validators
 * encode with the same code, so the two sides cannot drift. Decoding only
 * shapes the block (lengths, counts, kinds); whether it is true is
 * seqc_verify()'s business. The notes below cover both files.
 *
 * NOTES ON THE DESIGN
 *
 * (C1) A decoder trusts nothing: every hash is exactly 32 bytes, every
 *      signature 64, every count is compared with its bound before
 *      anything is allocated for it, and whatever is malformed is
 *      SEQ_EBADMSG, never an assert or a crash (proto/wire.c, W1).
 * (C2) One definition of "in bounds": seqc_nsblock_ok(). Encoders refuse
 *      what it rejects (SEQ_EINVAL) and decoders build only what it
 *      accepts, so everything encoded decodes, and everything decoded
 *      re-encodes to bytes that decode to the same block
 *      (tests/fuzz/fuzz_client.c checks both forms).
 * (C3) One form per block. The proof's kind must agree with the entries
 *      (presence iff there are some), and the neighbours a kind does not
 *      use must be absent; the decoders refuse anything else rather than
 *      ignore it. Tx hashes and the header's "hash" are never read from the
 *      input: decoders recompute tx hashes, encoders recompute both.
 * (C4) Protobuf decoding memory is bounded by the input: protobuf-c
 *      unpacks into an arena with a budget of ARENA_FACTOR times the input
 *      plus ARENA_SLACK. protobuf-c spends about 90 bytes on each element
 *      of a repeated field (scan record, pointer, struct), so the densest
 *      honest input, a run of empty entries at 2 bytes each, needs about
 *      45 times its size; the factor leaves room above that and still caps
 *      what a hostile message can cost (tests/unit/test_client_codec.c
 *      decodes SEQC_MAX_ENTRIES empty entries). The owned copies add the
 *      payloads once more and a struct per entry and header.
 * (C5) A failed call leaves nothing behind and touches no output; an
 *      allocation failure (seq_malloc, or protobuf-c through the arena) is
 *      SEQ_ENOMEM, told apart from a hostile message by the arena's flag.
 *      jansson allocates with its own allocator; its failures are
 *      SEQ_ENOMEM too.
 */

#include "seq_client.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "client.pb-c.h"
#include "pb_arena.h"
#include "seq_alloc.h"
#include "seqc_int.h"

/* The decode budget (C4). */
#define ARENA_FACTOR    64u
#define ARENA_SLACK     (64u * 1024)
#define ARENA_CHUNK_MIN (4u * 1024) /* pb_arena.h */

/* ------------------------------------------------------------------------
 * Ownership and bounds (C2)
 * ------------------------------------------------------------------------ */

void seqc_nsblock_free(struct seqc_nsblock *b)
{
    size_t i;

    if (b == NULL) {
        return;
    }
    if (b->entries != NULL) {
        for (i = 0; i < b->n_entries; i++) {
            seq_free(b->entries[i].payload);
        }
    }
    seq_free(b->entries);
    seq_free(b->chain);
    memset(b, 0, sizeof *b);
}

static bool kind_ok(enum seq_nstree_absence_kind kind)
{
    return kind >= SEQ_NSTREE_ABSENT_EMPTY && kind <= SEQ_NSTREE_ABSENT_ABOVE;
}

bool seqc_uses_pred(enum seq_nstree_absence_kind kind)
{
    return kind == SEQ_NSTREE_ABSENT_BETWEEN || kind == SEQ_NSTREE_ABSENT_ABOVE;
}

bool seqc_uses_succ(enum seq_nstree_absence_kind kind)
{
    return kind == SEQ_NSTREE_ABSENT_BELOW || kind == SEQ_NSTREE_ABSENT_BETWEEN;
}

static bool path_ok(const struct seq_merkle_proof *p)
{
    return p->n_siblings <= SEQ_MERKLE_MAX_DEPTH;
}

static bool proof_ok(const struct seqc_nsblock *b)
{
    const struct seq_nstree_absence *a = &b->absence;

    if (b->present != (b->n_entries > 0)) {
        return false;
    }
    if (b->present) {
        return path_ok(&b->presence.path);
    }
    return kind_ok(a->kind) &&
           (!seqc_uses_pred(a->kind) || path_ok(&a->pred_path)) &&
           (!seqc_uses_succ(a->kind) || path_ok(&a->succ_path));
}

static bool qc_ok(const struct seqc_qc *qc)
{
    uint32_t i;

    if (qc->n_sigs > SEQC_MAX_VALIDATORS) {
        return false;
    }
    for (i = 0; i < qc->n_sigs; i++) {
        if (qc->sigs[i].signer >= SEQC_MAX_VALIDATORS) {
            return false;
        }
    }
    return true;
}

bool seqc_nsblock_ok(const struct seqc_nsblock *b)
{
    size_t i;

    if (b->n_entries > SEQC_MAX_ENTRIES ||
        (b->n_entries > 0 && b->entries == NULL)) {
        return false;
    }
    for (i = 0; i < b->n_entries; i++) {
        if (b->entries[i].payload == NULL && b->entries[i].len > 0) {
            return false;
        }
    }
    return proof_ok(b) && b->n_chain >= 1 && b->n_chain <= SEQC_MAX_CHAIN &&
           b->chain != NULL && qc_ok(&b->child_qc);
}

/* ------------------------------------------------------------------------
 * Protobuf encoding. The protobuf-c structs live in a scratch arena and
 * their bytes fields point into the block (packing only reads them).
 * Each builder returns NULL when out of memory.
 * ------------------------------------------------------------------------ */

static ProtobufCBinaryData bytes_ref(const uint8_t *data, size_t len)
{
    ProtobufCBinaryData bd = { .len = len, .data = (uint8_t *)data };

    return bd;
}

static Seqc__Header *header_to_pb(struct pb_arena *a,
                                  const struct seq_header *h)
{
    Seqc__Header *pb = pb_arena_alloc(a, sizeof *pb);

    if (pb == NULL) {
        return NULL;
    }
    seqc__header__init(pb);
    pb->epoch = h->epoch;
    pb->round = h->round;
    pb->height = h->height;
    pb->parent_id = bytes_ref(h->parent_id.bytes, SEQ_HASH_LEN);
    pb->justify_round = h->justify_round;
    pb->author = h->author;
    pb->payload_hash = bytes_ref(h->payload_hash.bytes, SEQ_HASH_LEN);
    pb->ns_root = bytes_ref(h->ns_root.bytes, SEQ_HASH_LEN);
    return pb;
}

static Seqc__MerklePath *path_to_pb(struct pb_arena *a,
                                    const struct seq_merkle_proof *p)
{
    Seqc__MerklePath *pb = pb_arena_alloc(a, sizeof *pb);
    ProtobufCBinaryData *sib = pb_arena_array(a, p->n_siblings, sizeof *sib);
    uint32_t i;

    if (pb == NULL || sib == NULL) {
        return NULL;
    }
    seqc__merkle_path__init(pb);
    pb->index = p->index;
    pb->n_leaves = p->n_leaves;
    for (i = 0; i < p->n_siblings; i++) {
        sib[i] = bytes_ref(p->siblings[i].bytes, SEQ_HASH_LEN);
    }
    pb->n_siblings = p->n_siblings;
    pb->siblings = sib;
    return pb;
}

static Seqc__NsLeaf *leaf_to_pb(struct pb_arena *a,
                                const struct seq_nstree_leaf *leaf)
{
    Seqc__NsLeaf *pb = pb_arena_alloc(a, sizeof *pb);

    if (pb == NULL) {
        return NULL;
    }
    seqc__ns_leaf__init(pb);
    pb->ns_id = leaf->ns_id;
    pb->entries_hash = bytes_ref(leaf->entries_hash.bytes, SEQ_HASH_LEN);
    return pb;
}

static Seqc__NsProof *proof_to_pb(struct pb_arena *a,
                                  const struct seqc_nsblock *b)
{
    const struct seq_nstree_absence *abs = &b->absence;
    Seqc__NsProof *pb = pb_arena_alloc(a, sizeof *pb);

    if (pb == NULL) {
        return NULL;
    }
    seqc__ns_proof__init(pb);
    if (b->present) {
        pb->kind = SEQC_KIND_PRESENCE;
        pb->n_leaves = b->presence.n_leaves;
        pb->merkle_root =
            bytes_ref(b->presence.merkle_root.bytes, SEQ_HASH_LEN);
        pb->path = path_to_pb(a, &b->presence.path);
        return pb->path != NULL ? pb : NULL;
    }
    pb->kind = (uint32_t)abs->kind;
    pb->n_leaves = abs->n_leaves;
    pb->merkle_root = bytes_ref(abs->merkle_root.bytes, SEQ_HASH_LEN);
    if (seqc_uses_pred(abs->kind)) {
        pb->pred = leaf_to_pb(a, &abs->pred);
        pb->pred_path = path_to_pb(a, &abs->pred_path);
        if (pb->pred == NULL || pb->pred_path == NULL) {
            return NULL;
        }
    }
    if (seqc_uses_succ(abs->kind)) {
        pb->succ = leaf_to_pb(a, &abs->succ);
        pb->succ_path = path_to_pb(a, &abs->succ_path);
        if (pb->succ == NULL || pb->succ_path == NULL) {
            return NULL;
        }
    }
    return pb;
}

static Seqc__Qc *qc_to_pb(struct pb_arena *a, const struct seqc_qc *qc)
{
    Seqc__Qc *pb = pb_arena_alloc(a, sizeof *pb);
    Seqc__QcSig *sigs = pb_arena_array(a, qc->n_sigs, sizeof *sigs);
    Seqc__QcSig **ptrs = pb_arena_array(a, qc->n_sigs, sizeof *ptrs);
    uint32_t i;

    if (pb == NULL || sigs == NULL || ptrs == NULL) {
        return NULL;
    }
    seqc__qc__init(pb);
    pb->epoch = qc->epoch;
    pb->round = qc->round;
    pb->height = qc->height;
    pb->block_id = bytes_ref(qc->block_id.bytes, SEQ_HASH_LEN);
    for (i = 0; i < qc->n_sigs; i++) {
        seqc__qc_sig__init(&sigs[i]);
        sigs[i].signer = qc->sigs[i].signer;
        sigs[i].sig = bytes_ref(qc->sigs[i].sig, SEQC_SIG_LEN);
        ptrs[i] = &sigs[i];
    }
    pb->n_sigs = qc->n_sigs;
    pb->sigs = ptrs;
    return pb;
}

static Seqc__CommitProof *commit_to_pb(struct pb_arena *a,
                                       const struct seqc_nsblock *b)
{
    Seqc__CommitProof *pb = pb_arena_alloc(a, sizeof *pb);
    Seqc__Header **chain = pb_arena_array(a, b->n_chain, sizeof *chain);
    size_t i;

    if (pb == NULL || chain == NULL) {
        return NULL;
    }
    seqc__commit_proof__init(pb);
    for (i = 0; i < b->n_chain; i++) {
        chain[i] = header_to_pb(a, &b->chain[i]);
        if (chain[i] == NULL) {
            return NULL;
        }
    }
    pb->n_chain = b->n_chain;
    pb->chain = chain;
    pb->child = header_to_pb(a, &b->child);
    pb->child_qc = qc_to_pb(a, &b->child_qc);
    return pb->child != NULL && pb->child_qc != NULL ? pb : NULL;
}

static Seqc__NsBlock *nsblock_to_pb(struct pb_arena *a,
                                    const struct seqc_nsblock *b)
{
    Seqc__NsBlock *pb = pb_arena_alloc(a, sizeof *pb);
    Seqc__Entry *entries = pb_arena_array(a, b->n_entries, sizeof *entries);
    Seqc__Entry **ptrs = pb_arena_array(a, b->n_entries, sizeof *ptrs);
    size_t i;

    if (pb == NULL || entries == NULL || ptrs == NULL) {
        return NULL;
    }
    seqc__ns_block__init(pb);
    pb->namespace_ = b->ns;
    pb->height = b->height;
    for (i = 0; i < b->n_entries; i++) {
        seqc__entry__init(&entries[i]);
        entries[i].payload =
            bytes_ref(b->entries[i].payload, b->entries[i].len);
        ptrs[i] = &entries[i];
    }
    pb->n_entries = b->n_entries;
    pb->entries = ptrs;
    pb->proof = proof_to_pb(a, b);
    pb->commit_proof = commit_to_pb(a, b);
    return pb->proof != NULL && pb->commit_proof != NULL ? pb : NULL;
}

int seqc_nsblock_encode(const struct seqc_nsblock *b,
                        uint8_t **out,
                        size_t *out_len)
{
    struct pb_arena a;
    Seqc__NsBlock *pb;
    uint8_t *buf;
    size_t len;
    size_t packed;
    int rv = SEQ_OK;

    assert(b != NULL && out != NULL && out_len != NULL);

    if (!seqc_nsblock_ok(b)) {
        return SEQ_EINVAL;
    }
    pb_arena_init(&a, SIZE_MAX, ARENA_CHUNK_MIN);
    pb = nsblock_to_pb(&a, b);
    if (pb == NULL) {
        rv = SEQ_ENOMEM;
        goto out;
    }
    len = seqc__ns_block__get_packed_size(pb);
    buf = seq_malloc(len);
    if (buf == NULL) {
        rv = SEQ_ENOMEM;
        goto out;
    }
    packed = seqc__ns_block__pack(pb, buf);
    assert(packed == len); /* protobuf-c packs what it measured. */
    (void)packed;
    *out = buf;
    *out_len = len;
out:
    pb_arena_close(&a);
    return rv;
}

/* ------------------------------------------------------------------------
 * Protobuf decoding (C1, C3). The builders fill a zeroed block; on failure
 * the caller frees what they allocated.
 * ------------------------------------------------------------------------ */

static int hash_from_pb(ProtobufCBinaryData d, struct seq_hash *out)
{
    if (d.len != SEQ_HASH_LEN) {
        return SEQ_EBADMSG;
    }
    memcpy(out->bytes, d.data, SEQ_HASH_LEN);
    return SEQ_OK;
}

static int header_from_pb(const Seqc__Header *pb, struct seq_header *h)
{
    if (pb == NULL) {
        return SEQ_EBADMSG;
    }
    h->epoch = pb->epoch;
    h->round = pb->round;
    h->height = pb->height;
    h->justify_round = pb->justify_round;
    h->author = pb->author;
    if (hash_from_pb(pb->parent_id, &h->parent_id) != 0 ||
        hash_from_pb(pb->payload_hash, &h->payload_hash) != 0 ||
        hash_from_pb(pb->ns_root, &h->ns_root) != 0) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

static int path_from_pb(const Seqc__MerklePath *pb, struct seq_merkle_proof *p)
{
    size_t i;

    if (pb == NULL || pb->n_siblings > SEQ_MERKLE_MAX_DEPTH) {
        return SEQ_EBADMSG;
    }
    p->index = pb->index;
    p->n_leaves = pb->n_leaves;
    p->n_siblings = (uint32_t)pb->n_siblings;
    for (i = 0; i < pb->n_siblings; i++) {
        if (hash_from_pb(pb->siblings[i], &p->siblings[i]) != 0) {
            return SEQ_EBADMSG;
        }
    }
    return SEQ_OK;
}

static int leaf_from_pb(const Seqc__NsLeaf *pb, struct seq_nstree_leaf *leaf)
{
    if (pb == NULL) {
        return SEQ_EBADMSG;
    }
    leaf->ns_id = pb->ns_id;
    return hash_from_pb(pb->entries_hash, &leaf->entries_hash);
}

/* The neighbour (@leaf, @path) of an absence proof: present in the input
 * iff @used, decoded when used (C3). */
static int neighbour_from_pb(bool used,
                             const Seqc__NsLeaf *leaf_pb,
                             const Seqc__MerklePath *path_pb,
                             struct seq_nstree_leaf *leaf,
                             struct seq_merkle_proof *path)
{
    if (!used) {
        return leaf_pb == NULL && path_pb == NULL ? SEQ_OK : SEQ_EBADMSG;
    }
    if (leaf_from_pb(leaf_pb, leaf) != 0 || path_from_pb(path_pb, path) != 0) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

/* Needs b->n_entries set. */
static int proof_from_pb(const Seqc__NsProof *pb, struct seqc_nsblock *b)
{
    struct seq_nstree_absence *abs = &b->absence;
    enum seq_nstree_absence_kind kind;

    if (pb == NULL) {
        return SEQ_EBADMSG;
    }
    if (pb->kind == SEQC_KIND_PRESENCE) {
        if (b->n_entries == 0 || pb->pred != NULL || pb->pred_path != NULL ||
            pb->succ != NULL || pb->succ_path != NULL) {
            return SEQ_EBADMSG;
        }
        b->present = true;
        b->presence.n_leaves = pb->n_leaves;
        if (hash_from_pb(pb->merkle_root, &b->presence.merkle_root) != 0) {
            return SEQ_EBADMSG;
        }
        return path_from_pb(pb->path, &b->presence.path);
    }
    if (pb->kind > SEQ_NSTREE_ABSENT_ABOVE || b->n_entries > 0 ||
        pb->path != NULL) {
        return SEQ_EBADMSG;
    }
    kind = (enum seq_nstree_absence_kind)pb->kind;
    b->present = false;
    abs->kind = kind;
    abs->n_leaves = pb->n_leaves;
    if (hash_from_pb(pb->merkle_root, &abs->merkle_root) != 0 ||
        neighbour_from_pb(seqc_uses_pred(kind), pb->pred, pb->pred_path,
                          &abs->pred, &abs->pred_path) != 0 ||
        neighbour_from_pb(seqc_uses_succ(kind), pb->succ, pb->succ_path,
                          &abs->succ, &abs->succ_path) != 0) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

static int qc_from_pb(const Seqc__Qc *pb, struct seqc_qc *qc)
{
    size_t i;

    if (pb == NULL || pb->n_sigs > SEQC_MAX_VALIDATORS) {
        return SEQ_EBADMSG;
    }
    qc->epoch = pb->epoch;
    qc->round = pb->round;
    qc->height = pb->height;
    if (hash_from_pb(pb->block_id, &qc->block_id) != 0) {
        return SEQ_EBADMSG;
    }
    for (i = 0; i < pb->n_sigs; i++) {
        const Seqc__QcSig *s = pb->sigs[i];

        if (s->signer >= SEQC_MAX_VALIDATORS || s->sig.len != SEQC_SIG_LEN) {
            return SEQ_EBADMSG;
        }
        qc->sigs[i].signer = s->signer;
        memcpy(qc->sigs[i].sig, s->sig.data, SEQC_SIG_LEN);
    }
    qc->n_sigs = (uint32_t)pb->n_sigs;
    return SEQ_OK;
}

static int commit_from_pb(const Seqc__CommitProof *pb, struct seqc_nsblock *b)
{
    size_t i;

    if (pb == NULL || pb->n_chain == 0 || pb->n_chain > SEQC_MAX_CHAIN) {
        return SEQ_EBADMSG;
    }
    if (header_from_pb(pb->child, &b->child) != 0 ||
        qc_from_pb(pb->child_qc, &b->child_qc) != 0) {
        return SEQ_EBADMSG;
    }
    b->chain = seq_calloc(pb->n_chain, sizeof *b->chain);
    if (b->chain == NULL) {
        return SEQ_ENOMEM;
    }
    b->n_chain = pb->n_chain;
    for (i = 0; i < pb->n_chain; i++) {
        if (header_from_pb(pb->chain[i], &b->chain[i]) != 0) {
            return SEQ_EBADMSG;
        }
    }
    return SEQ_OK;
}

/* Sets b->entries (owned) from @n payloads, recomputing each tx hash. */
int seqc_entries_alloc(struct seqc_nsblock *b, size_t n)
{
    if (n > SEQC_MAX_ENTRIES) {
        return SEQ_EBADMSG;
    }
    if (n == 0) {
        return SEQ_OK;
    }
    b->entries = seq_calloc(n, sizeof *b->entries);
    if (b->entries == NULL) {
        return SEQ_ENOMEM;
    }
    b->n_entries = n;
    return SEQ_OK;
}

/* Entry @i takes a copy of @len bytes at @data. */
static int entry_set(struct seqc_nsblock *b,
                     size_t i,
                     const uint8_t *data,
                     size_t len)
{
    struct seqc_entry *e = &b->entries[i];

    e->payload = seq_malloc(len);
    if (e->payload == NULL) {
        return SEQ_ENOMEM;
    }
    if (len > 0) {
        memcpy(e->payload, data, len);
    }
    e->len = len;
    seqc_tx_hash(b->ns, e->payload, len, &e->tx_hash);
    return SEQ_OK;
}

static int nsblock_from_pb(const Seqc__NsBlock *pb, struct seqc_nsblock *b)
{
    size_t i;
    int rv;

    /* Counts and shapes first, copies after (C1). */
    if (pb->n_entries > SEQC_MAX_ENTRIES) {
        return SEQ_EBADMSG;
    }
    b->ns = pb->namespace_;
    b->height = pb->height;
    b->n_entries = pb->n_entries; /* For proof_from_pb; entries come last. */
    rv = proof_from_pb(pb->proof, b);
    b->n_entries = 0;
    if (rv == 0) {
        rv = commit_from_pb(pb->commit_proof, b);
    }
    if (rv == 0) {
        rv = seqc_entries_alloc(b, pb->n_entries);
    }
    for (i = 0; rv == 0 && i < b->n_entries; i++) {
        rv = entry_set(b, i, pb->entries[i]->payload.data,
                       pb->entries[i]->payload.len);
    }
    assert(rv != 0 || seqc_nsblock_ok(b)); /* (C2) */
    return rv;
}

int seqc_nsblock_decode(const uint8_t *buf,
                        size_t len,
                        struct seqc_nsblock *out)
{
    struct seqc_nsblock b;
    Seqc__NsBlock *pb;
    struct pb_arena a;
    int rv;

    assert(out != NULL);
    assert(buf != NULL || len == 0);

    if (len > (SIZE_MAX - ARENA_SLACK) / ARENA_FACTOR) {
        return SEQ_EBADMSG;
    }
    pb_arena_init(&a, len * ARENA_FACTOR + ARENA_SLACK, ARENA_CHUNK_MIN);
    pb = seqc__ns_block__unpack(&a.base, len, buf);
    if (pb == NULL) {
        rv = a.oom ? SEQ_ENOMEM : SEQ_EBADMSG;
        goto out;
    }
    memset(&b, 0, sizeof b);
    rv = nsblock_from_pb(pb, &b);
    if (rv == 0) {
        *out = b;
    } else {
        seqc_nsblock_free(&b);
    }
out:
    pb_arena_close(&a);
    return rv;
}
