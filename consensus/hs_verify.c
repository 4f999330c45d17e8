/* What each signature means, and the checks that turn peer bytes into
 * trusted votes, timeouts, proposals and certificates. Everything here is a
 * pure function of the message, the validator set and the crypto
 * interface, so executors and libseqclient repeat exactly these checks.
 *
 * Certificates are checked cheapest first: the epoch, then the count and
 * the signer indices (a bitmap, so neither order nor duplicates can
 * inflate the count), and only then the signatures. A malformed
 * certificate never costs a signature check, and a short one costs none.
 * Every check is strict: one bad signature or one duplicate signer rejects
 * the whole certificate even when the rest would reach a quorum. An honest
 * aggregator (hs_votes.c) never builds such a certificate, so a strict
 * rule loses nothing and keeps the accepted set simple to state. */

#include "hs_verify.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_mutation.h"
#include "seq_err.h"
#include "seq_hash.h"
#include "seq_header.h"

static const char timeout_tag[] = "SEQ-TIMEOUT-v1";
static const char proposal_tag[] = "SEQ-PROPOSAL-v1";

/* tag (without its NUL) || chain_id || epoch || round, the common prefix of
 * every signed message (hs_verify.h). */
static void digest_begin(struct seq_sha256_ctx *ctx,
                         const char *tag,
                         size_t tag_len,
                         const struct seq_hash *chain_id,
                         hs_epoch_t epoch,
                         hs_round_t round)
{
    seq_sha256_init(ctx);
    seq_sha256_update(ctx, tag, tag_len);
    seq_sha256_update(ctx, chain_id->bytes, SEQ_HASH_LEN);
    seq_sha256_u64(ctx, epoch);
    seq_sha256_u64(ctx, round);
}

void hs_vote_digest(const struct seq_hash *chain_id,
                    hs_epoch_t epoch,
                    hs_round_t round,
                    const struct seq_hash *block_id,
                    struct seq_hash *out)
{
    seq_vote_digest(chain_id, epoch, round, block_id, out);
}

void hs_timeout_digest(const struct seq_hash *chain_id,
                       hs_epoch_t epoch,
                       hs_round_t round,
                       hs_round_t high_qc_round,
                       struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;

    digest_begin(&ctx, timeout_tag, sizeof timeout_tag - 1, chain_id, epoch,
                 round);
    seq_sha256_u64(&ctx, high_qc_round);
    seq_sha256_final(&ctx, out);
}

void hs_proposal_digest(const struct seq_hash *chain_id,
                        hs_epoch_t epoch,
                        hs_round_t round,
                        const struct seq_hash *block_id,
                        struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;

    digest_begin(&ctx, proposal_tag, sizeof proposal_tag - 1, chain_id, epoch,
                 round);
    seq_sha256_update(&ctx, block_id->bytes, SEQ_HASH_LEN);
    seq_sha256_final(&ctx, out);
}

/* The verifier comes from our own configuration, not from a peer: a bad
 * one is our bug. */
static void verifier_check(const struct hs_verifier *v)
{
    assert(v != NULL);
    assert(v->validators != NULL);
    assert(v->crypto != NULL);
    assert(v->validators->n >= 1);
    assert(v->validators->n <= HS_MAX_VALIDATORS);
}

/* Signatures a certificate needs. HS_MUT_WEAK_QC (test-only library
 * seq_consensus_mut) accepts one fewer, 2f, to prove the simulator notices
 * a broken quorum rule. */
static uint32_t required_signers(uint32_t n)
{
    uint32_t required = hs_quorum(n);

    if (HS_MUTATED(HS_MUT_WEAK_QC)) {
        required--;
    }
    return required;
}

/* A certificate needs between required_signers(n) and HS_MAX_VALIDATORS
 * entries; the upper bound keeps a peer's count from running us past the
 * array. */
static int sig_count_check(uint32_t n_validators, uint32_t n_sigs)
{
    if (n_sigs > HS_MAX_VALIDATORS || n_sigs < required_signers(n_validators)) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

/* Admit @signer to the set @seen: it must be a member, and new. With
 * n_sigs entries all admitted, there are n_sigs distinct signers. */
static int signer_admit(uint64_t *seen, uint32_t n_validators, hs_node_t signer)
{
    uint64_t bit;

    if (signer >= n_validators) {
        return SEQ_EBADMSG;
    }
    bit = (uint64_t)1 << signer;
    if ((*seen & bit) != 0) {
        return SEQ_EBADMSG;
    }
    *seen |= bit;
    return SEQ_OK;
}

static int sig_check(const struct hs_verifier *v,
                     hs_node_t signer,
                     const struct seq_hash *digest,
                     const struct hs_sig *sig)
{
    const struct hs_crypto *c = v->crypto;

    if (c->verify(c, &v->validators->keys[signer], digest, sig) != 0) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

/* The genesis QC is valid by definition, and only in its exact form: the
 * genesis block id, height 0, no signatures (hs_genesis_qc). */
static int genesis_qc_check(const struct hs_verifier *v, const struct hs_qc *qc)
{
    if (qc->n_sigs != 0 || qc->height != 0 ||
        !seq_hash_eq(&qc->block_id, &v->genesis_id)) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

int hs_verify_qc(const struct hs_verifier *v, const struct hs_qc *qc)
{
    struct seq_hash digest;
    uint64_t seen = 0;
    uint32_t i;
    int rv;

    verifier_check(v);
    assert(qc != NULL);

    if (qc->epoch != v->epoch) {
        return SEQ_ESTALE;
    }
    if (qc->round == 0) {
        return genesis_qc_check(v, qc);
    }
    rv = sig_count_check(v->validators->n, qc->n_sigs);
    for (i = 0; rv == 0 && i < qc->n_sigs; i++) {
        rv = signer_admit(&seen, v->validators->n, qc->sigs[i].signer);
    }
    if (rv != 0) {
        return rv;
    }
    hs_vote_digest(&v->chain_id, qc->epoch, qc->round, &qc->block_id, &digest);
    for (i = 0; i < qc->n_sigs; i++) {
        rv = sig_check(v, qc->sigs[i].signer, &digest, &qc->sigs[i].sig);
        if (rv != 0) {
            return rv;
        }
    }
    return SEQ_OK;
}

/* Each signer signed its own high_qc_round, which must lie below the round
 * that timed out: a replica that held a QC for round r would have left
 * round r instead of timing out in it (Aptos TwoChainTimeout::verify). As a
 * TC has at least one entry, this also rules out round 0. */
int hs_verify_tc(const struct hs_verifier *v, const struct hs_tc *tc)
{
    struct seq_hash digest;
    uint64_t seen = 0;
    uint32_t i;
    int rv;

    verifier_check(v);
    assert(tc != NULL);

    if (tc->epoch != v->epoch) {
        return SEQ_ESTALE;
    }
    rv = sig_count_check(v->validators->n, tc->n_sigs);
    for (i = 0; rv == 0 && i < tc->n_sigs; i++) {
        rv = signer_admit(&seen, v->validators->n, tc->sigs[i].signer);
        if (rv == 0 && tc->sigs[i].high_qc_round >= tc->round) {
            rv = SEQ_EBADMSG;
        }
    }
    if (rv != 0) {
        return rv;
    }
    for (i = 0; i < tc->n_sigs; i++) {
        hs_timeout_digest(&v->chain_id, tc->epoch, tc->round,
                          tc->sigs[i].high_qc_round, &digest);
        rv = sig_check(v, tc->sigs[i].signer, &digest, &tc->sigs[i].sig);
        if (rv != 0) {
            return rv;
        }
    }
    return SEQ_OK;
}

/* Round 0 belongs to genesis, which nobody votes for. */
int hs_verify_vote(const struct hs_verifier *v, const struct hs_vote *vote)
{
    struct seq_hash digest;

    verifier_check(v);
    assert(vote != NULL);

    if (vote->epoch != v->epoch) {
        return SEQ_ESTALE;
    }
    if (vote->round == 0 || vote->voter >= v->validators->n) {
        return SEQ_EBADMSG;
    }
    hs_vote_digest(&v->chain_id, vote->epoch, vote->round, &vote->block_id,
                   &digest);
    return sig_check(v, vote->voter, &digest, &vote->sig);
}

/* The signature covers (round, high_qc_round); the attached high QC (and
 * TC, if any) ride along for catch-up and must be valid too, or a peer
 * could make us fetch or trust a certificate nobody signed. They belong to
 * the timeout's epoch, so any failure of theirs, a wrong epoch included,
 * makes the timeout malformed: SEQ_EBADMSG. */
int hs_verify_timeout(const struct hs_verifier *v,
                      const struct hs_timeout *timeout)
{
    struct seq_hash digest;
    int rv;

    verifier_check(v);
    assert(timeout != NULL);

    if (timeout->epoch != v->epoch) {
        return SEQ_ESTALE;
    }
    if (timeout->author >= v->validators->n ||
        timeout->high_qc_round >= timeout->round ||
        timeout->high_qc.round < timeout->high_qc_round) {
        return SEQ_EBADMSG;
    }
    hs_timeout_digest(&v->chain_id, timeout->epoch, timeout->round,
                      timeout->high_qc_round, &digest);
    rv = sig_check(v, timeout->author, &digest, &timeout->sig);
    if (rv != 0) {
        return rv;
    }
    if (hs_verify_qc(v, &timeout->high_qc) != 0) {
        return SEQ_EBADMSG;
    }
    if (timeout->has_tc && hs_verify_tc(v, &timeout->tc) != 0) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

static void payload_hash(const struct hs_block *block, struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;

    seq_sha256_init(&ctx);
    if (block->payload_len > 0) {
        seq_sha256_update(&ctx, block->payload, block->payload_len);
    }
    seq_sha256_final(&ctx, out);
}

/* The shape every block has (hs_types.h): it extends the block its justify
 * QC certifies, one level higher, in a later round. */
static int block_shape_check(const struct hs_block *block)
{
    const struct hs_qc *justify = &block->justify;

    if (!seq_hash_eq(&block->parent_id, &justify->block_id) ||
        justify->height == UINT64_MAX || block->height != justify->height + 1 ||
        block->round <= justify->round) {
        return SEQ_EBADMSG;
    }
    return SEQ_OK;
}

/* The wire does not carry the block id: the receiver seals the block and
 * this check recomputes both hashes anyway, so a sender cannot pair a
 * signed id with a different header or payload. */
int hs_verify_proposal(const struct hs_verifier *v,
                       const struct hs_proposal *proposal)
{
    const struct hs_block *block;
    struct seq_hash hash;
    int rv;

    verifier_check(v);
    assert(proposal != NULL);
    block = &proposal->block;

    if (block->epoch != v->epoch) {
        return SEQ_ESTALE;
    }
    if (block->author >= v->validators->n ||
        block->payload_len > HS_MAX_PAYLOAD ||
        (block->payload_len > 0 && block->payload == NULL)) {
        return SEQ_EBADMSG;
    }
    rv = block_shape_check(block);
    if (rv != 0) {
        return rv;
    }
    payload_hash(block, &hash);
    if (!seq_hash_eq(&hash, &block->payload_hash)) {
        return SEQ_EBADMSG;
    }
    hs_block_id(block, &v->chain_id, &hash);
    if (!seq_hash_eq(&hash, &block->id)) {
        return SEQ_EBADMSG;
    }
    hs_proposal_digest(&v->chain_id, block->epoch, block->round, &block->id,
                       &hash);
    return sig_check(v, block->author, &hash, &proposal->sig);
}
