/* Verification of a namespace block against the genesis alone (DESIGN §5):
 * the one place where a rollup decides that bytes from a validator are
 * the sequencer's committed history. Nothing here trusts the block: every
 * claim it makes is recomputed from the genesis keys and hashes.
 *
 * NOTES ON THE DESIGN
 *
 * (V1) Finality is the 2-chain rule (Jolteon; consensus/hs_core.c S4): a
 *      QC for child whose parent is chain[k] with child.round =
 *      chain[k].round + 1 commits chain[k] and, through parent links,
 *      every ancestor chain[0..k-1]. So the proof checks the QC, the round
 *      step, and that each id along the chain is the parent_id of the next;
 *      nothing else about chain[0..k-1] needs trusting.
 * (V2) A QC counts only distinct signers that are members (index below
 *      n), at least quorum(n) = n - floor((n - 1) / 3) of them, and every
 *      signature it carries must verify: a QC with one bad signature is
 *      refused even if the others would make a quorum, as hs_verify_qc()
 *      does. The vote digest binds the chain id and epoch, so a QC from
 *      another chain or epoch never verifies.
 * (V3) The namespace claim is checked against chain[0].ns_root, which the
 *      header id binds: entries_hash over the tx hashes recomputed from the
 *      payloads (never a hash the sender supplied), so a dropped, added,
 *      altered or reordered entry changes the leaf. No entries means an
 *      absence proof, so a validator cannot hide a namespace's entries
 *      behind an empty list.
 * (V4) Continuity (seqc_follow_check) is what makes withholding visible:
 *      heights arrive one by one, empty ones included, and each chain[0]
 *      names its predecessor's id.
 * (V5) A QC cache (struct seqc_qc_cache) only ever skips the signature
 *      checks of (V2), for a QC whose digest, signers, keys and
 *      signatures all match one that passed them; the checks of its
 *      fields, signers and quorum run every time before the lookup. */

#define _POSIX_C_SOURCE 200809L /* pthread_once */

#include "seq_client.h"

#include <assert.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_preallocated.h>
#include <secp256k1_schnorrsig.h>

#include "seqc_int.h"

/* ------------------------------------------------------------------------
 * The libsecp256k1 context (seqc_int.h)
 * ------------------------------------------------------------------------ */

/* A verification context needs no precomputed tables in libsecp256k1
 * 0.2, so it is a small struct; it lives in static memory so that creating
 * it can never fail. */
static alignas(max_align_t) unsigned char secp_mem[1024];
static secp256k1_context *secp_ctx;
static pthread_once_t secp_once = PTHREAD_ONCE_INIT;

static void secp_init(void)
{
    size_t size = secp256k1_context_preallocated_size(SECP256K1_CONTEXT_NONE);

    assert(size <= sizeof secp_mem);
    secp_ctx =
        secp256k1_context_preallocated_create(secp_mem, SECP256K1_CONTEXT_NONE);
    assert(secp_ctx != NULL);
}

const secp256k1_context *seqc_secp(void)
{
    int rv = pthread_once(&secp_once, secp_init);

    assert(rv == 0);
    (void)rv;
    return secp_ctx;
}

int seqc_pubkey_check(const uint8_t pubkey[32])
{
    secp256k1_xonly_pubkey parsed;

    return secp256k1_xonly_pubkey_parse(seqc_secp(), &parsed, pubkey)
               ? SEQ_OK
               : SEQ_EINVAL;
}

/* ------------------------------------------------------------------------
 * The checks
 * ------------------------------------------------------------------------ */

static int refuse(char *errmsg, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(char *errmsg, const char *where, const char *fmt, ...)
{
    char text[SEQ_ERRMSG_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    seqc_errmsg(errmsg, where, "%s", text);
    return SEQ_EBADMSG;
}

static uint32_t quorum(uint32_t n)
{
    return n - (n - 1) / 3;
}

static bool sig_valid(const uint8_t pubkey[32],
                      const struct seq_hash *digest,
                      const uint8_t sig[64])
{
    const secp256k1_context *ctx = seqc_secp();
    secp256k1_xonly_pubkey parsed;

    /* The genesis parser checked the key; parse it again all the same,
     * since a caller may fill struct seqc_genesis by hand. */
    return secp256k1_xonly_pubkey_parse(ctx, &parsed, pubkey) &&
           secp256k1_schnorrsig_verify(ctx, sig, digest->bytes, SEQ_HASH_LEN,
                                       &parsed);
}

/* (V5) The cache key of @qc with vote @digest under @g. */
static void qc_key(const struct seqc_genesis *g,
                   const struct seqc_qc *qc,
                   const struct seq_hash *digest,
                   struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;
    uint32_t i;

    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, "SEQC-QC-OK-v1", 13);
    seq_sha256_update(&ctx, digest->bytes, SEQ_HASH_LEN);
    seq_sha256_u32(&ctx, qc->n_sigs);
    for (i = 0; i < qc->n_sigs; i++) {
        seq_sha256_u32(&ctx, qc->sigs[i].signer);
        seq_sha256_update(&ctx, g->pubkeys[qc->sigs[i].signer], 32);
        seq_sha256_update(&ctx, qc->sigs[i].sig, 64);
    }
    seq_sha256_final(&ctx, out);
}

static bool cache_has(const struct seqc_qc_cache *c, const struct seq_hash *k)
{
    uint32_t i;

    for (i = 0; c != NULL && i < c->n && i < SEQC_QC_CACHE; i++) {
        if (seq_hash_eq(&c->ok[i], k)) {
            return true;
        }
    }
    return false;
}

static void cache_add(struct seqc_qc_cache *c, const struct seq_hash *k)
{
    if (c == NULL) {
        return;
    }
    c->next %= SEQC_QC_CACHE;
    c->ok[c->next++] = *k;
    if (c->n < SEQC_QC_CACHE) {
        c->n++;
    }
}

/* (V2): child_qc certifies @child_id in child's round, with a quorum;
 * (V5) with @cache (optional). */
static int check_qc(const struct seqc_genesis *g,
                    const struct seqc_qc *qc,
                    const struct seq_header *child,
                    const struct seq_hash *child_id,
                    struct seqc_qc_cache *cache,
                    char *errmsg)
{
    struct seq_hash digest;
    struct seq_hash key;
    uint64_t seen = 0;
    uint32_t need = quorum(g->n_validators);
    uint32_t i;

    if (qc->epoch != g->epoch) {
        return refuse(errmsg, "child_qc", "epoch %llu; the genesis has %llu",
                      (unsigned long long)qc->epoch,
                      (unsigned long long)g->epoch);
    }
    if (qc->round != child->round || qc->height != child->height) {
        return refuse(errmsg, "child_qc", "round and height are not child's");
    }
    if (!seq_hash_eq(&qc->block_id, child_id)) {
        return refuse(errmsg, "child_qc", "block_id is not id(child)");
    }
    if (qc->n_sigs > SEQC_MAX_VALIDATORS || qc->n_sigs < need) {
        return refuse(errmsg, "child_qc", "%u signatures; want %u to %u",
                      qc->n_sigs, need, g->n_validators);
    }
    for (i = 0; i < qc->n_sigs; i++) {
        uint32_t signer = qc->sigs[i].signer;

        if (signer >= g->n_validators) {
            return refuse(errmsg, "child_qc", "signer %u of %u validators",
                          signer, g->n_validators);
        }
        if ((seen & ((uint64_t)1 << signer)) != 0) {
            return refuse(errmsg, "child_qc", "signer %u twice", signer);
        }
        seen |= (uint64_t)1 << signer;
    }
    seq_vote_digest(&g->chain_id, qc->epoch, qc->round, child_id, &digest);
    if (cache != NULL) {
        qc_key(g, qc, &digest, &key);
        if (cache_has(cache, &key)) {
            cache->hits++;
            return SEQ_OK;
        }
    }
    for (i = 0; i < qc->n_sigs; i++) {
        const struct seqc_qc_sig *s = &qc->sigs[i];

        if (!sig_valid(g->pubkeys[s->signer], &digest, s->sig)) {
            return refuse(errmsg, "child_qc", "bad signature from signer %u",
                          s->signer);
        }
    }
    if (cache != NULL) {
        cache_add(cache, &key);
    }
    return SEQ_OK;
}

/* (V1): the chain is linked and in the genesis epoch, and child extends
 * its last header by the 2-chain rule. Sets *last_id to id(chain[k]) and
 * *child_id to id(child). */
static int check_chain(const struct seqc_genesis *g,
                       const struct seqc_nsblock *b,
                       struct seq_hash *child_id,
                       char *errmsg)
{
    const struct seq_header *last;
    const struct seq_header *child = &b->child;
    struct seq_hash id;
    char where[32];
    size_t i;

    if (b->n_chain == 0 || b->n_chain > SEQC_MAX_CHAIN || b->chain == NULL) {
        return refuse(errmsg, "commit_proof", "%zu headers; want 1 to %d",
                      b->n_chain, SEQC_MAX_CHAIN);
    }
    if (b->chain[0].height != b->height) {
        return refuse(errmsg, "chain[0]", "height %llu; the block says %llu",
                      (unsigned long long)b->chain[0].height,
                      (unsigned long long)b->height);
    }
    for (i = 0; i < b->n_chain; i++) {
        const struct seq_header *h = &b->chain[i];

        snprintf(where, sizeof where, "chain[%zu]", i);
        if (h->epoch != g->epoch) {
            return refuse(errmsg, where, "not in the genesis epoch");
        }
        if (i > 0 && (b->chain[i - 1].height == UINT64_MAX ||
                      h->height != b->chain[i - 1].height + 1)) {
            return refuse(errmsg, where, "height does not follow chain[%zu]",
                          i - 1);
        }
        if (i > 0 && !seq_hash_eq(&h->parent_id, &id)) {
            return refuse(errmsg, where, "parent_id is not id(chain[%zu])",
                          i - 1);
        }
        seq_header_id(h, &g->chain_id, &id);
    }
    last = &b->chain[b->n_chain - 1];
    if (child->epoch != g->epoch) {
        return refuse(errmsg, "child", "not in the genesis epoch");
    }
    if (last->height == UINT64_MAX || child->height != last->height + 1) {
        return refuse(errmsg, "child", "height does not follow the chain");
    }
    if (!seq_hash_eq(&child->parent_id, &id)) {
        return refuse(errmsg, "child", "parent_id is not id(chain[%zu])",
                      b->n_chain - 1);
    }
    if (last->round == UINT64_MAX || child->round != last->round + 1 ||
        child->justify_round != last->round) {
        return refuse(errmsg, "child",
                      "round %llu justifying %llu does not directly follow "
                      "round %llu: no 2-chain",
                      (unsigned long long)child->round,
                      (unsigned long long)child->justify_round,
                      (unsigned long long)last->round);
    }
    seq_header_id(child, &g->chain_id, child_id);
    return SEQ_OK;
}

/* (V3) against chain[0].ns_root. */
static int check_namespace(const struct seqc_nsblock *b, char *errmsg)
{
    const struct seq_hash *ns_root = &b->chain[0].ns_root;
    struct seq_hash entries_hash;
    struct seq_sha256_ctx ctx;
    struct seq_hash tx;
    size_t i;

    if (b->present != (b->n_entries > 0)) {
        return refuse(errmsg, "proof", "%s proof with %zu entries",
                      b->present ? "a presence" : "an absence", b->n_entries);
    }
    if (!b->present) {
        if (seq_nstree_verify_absence(ns_root, b->ns, &b->absence) != 0) {
            return refuse(errmsg, "proof",
                          "does not show namespace %llu absent",
                          (unsigned long long)b->ns);
        }
        return SEQ_OK;
    }
    if (b->n_entries > SEQC_MAX_ENTRIES || b->entries == NULL) {
        return refuse(errmsg, "entries", "%zu; want at most %u", b->n_entries,
                      SEQC_MAX_ENTRIES);
    }
    /* seq_nstree_entries_hash() over the recomputed hashes, in one pass
     * without an array of them (seq_nstree.h spells out the encoding). */
    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, "SEQ-NSENTRIES-v1", 16);
    seq_sha256_u64(&ctx, (uint64_t)b->n_entries);
    for (i = 0; i < b->n_entries; i++) {
        seqc_tx_hash(b->ns, b->entries[i].payload, b->entries[i].len, &tx);
        seq_sha256_update(&ctx, tx.bytes, SEQ_HASH_LEN);
    }
    seq_sha256_final(&ctx, &entries_hash);
    if (seq_nstree_verify_presence(ns_root, b->ns, &entries_hash,
                                   &b->presence) != 0) {
        return refuse(errmsg, "proof",
                      "the entries are not namespace %llu's in this block",
                      (unsigned long long)b->ns);
    }
    return SEQ_OK;
}

static int verify(const struct seqc_genesis *g,
                  const struct seqc_nsblock *b,
                  struct seqc_qc_cache *cache,
                  char *errmsg)
{
    struct seq_hash child_id;
    int rv;

    assert(g != NULL);
    assert(b != NULL);

    if (g->n_validators == 0 || g->n_validators > SEQC_MAX_VALIDATORS) {
        return refuse(errmsg, "genesis", "%u validators", g->n_validators);
    }
    rv = check_chain(g, b, &child_id, errmsg);
    if (rv == 0) {
        rv = check_qc(g, &b->child_qc, &b->child, &child_id, cache, errmsg);
    }
    if (rv == 0) {
        rv = check_namespace(b, errmsg);
    }
    return rv;
}

int seqc_verify(const struct seqc_genesis *g,
                const struct seqc_nsblock *b,
                char errmsg[SEQ_ERRMSG_LEN])
{
    return verify(g, b, NULL, errmsg);
}

int seqc_follow_check(struct seqc_follow *f,
                      const struct seqc_genesis *g,
                      const struct seqc_nsblock *b,
                      char errmsg[SEQ_ERRMSG_LEN])
{
    int rv;

    assert(f != NULL);

    rv = verify(g, b, f->qc_cache, errmsg);
    if (rv != 0) {
        return rv;
    }
    if (b->ns != f->ns) {
        return refuse(errmsg, "follow", "namespace %llu; following %llu",
                      (unsigned long long)b->ns, (unsigned long long)f->ns);
    }
    if (b->height != f->next_height || b->height == UINT64_MAX) {
        return refuse(errmsg, "follow", "height %llu; want %llu",
                      (unsigned long long)b->height,
                      (unsigned long long)f->next_height);
    }
    if (f->has_prev && !seq_hash_eq(&b->chain[0].parent_id, &f->prev_id)) {
        return refuse(errmsg, "follow",
                      "chain[0].parent_id is not the last block's id");
    }
    seqc_nsblock_block_id(b, &g->chain_id, &f->prev_id);
    f->has_prev = true;
    f->next_height = b->height + 1;
    return SEQ_OK;
}

void seqc_nsblock_block_id(const struct seqc_nsblock *b,
                           const struct seq_hash *chain_id,
                           struct seq_hash *out)
{
    assert(b != NULL && b->n_chain > 0 && b->chain != NULL);
    seq_header_id(&b->chain[0], chain_id, out);
}
