/* Safety rules for 2-chain HotStuff (Jolteon, "Jolteon and Ditto", §4;
 * Aptos consensus/safety-rules/src/safety_rules_2chain.rs). This module
 * holds the signing key and the persisted struct hs_safety; nothing else in
 * the replica may sign a vote or a timeout.
 *
 * NOTES ON THE DESIGN
 * (R1) A vote or timeout for round r is signed only after last_voted_round
 *      has been raised to r and the new state staged with persist_safety();
 *      the driver makes it durable before the message leaves (S1).
 * (R2) Vote for B in round r only if r > last_voted_round and either
 *      B.justify.round + 1 == r, or a TC for r - 1 is attached and
 *      B.justify.round >= the TC's highest high_qc_round.
 * (R3) Time out round r only if r >= last_voted_round, the high QC carried
 *      is at least one_chain_round, and r follows that QC or the attached TC.
 * (R4) Asked again for the same round, return the identical signed message
 *      (re-sending is harmless; signing anew could equivocate).
 * (R5) Propose only in a round above last_voted_round (Aptos
 *      guarded_sign_proposal): a leader votes for its own block in the
 *      same turn, so after a restart it cannot sign a second one.
 *
 * An epoch other than the verifier's is refused: epoch changes come with
 * reconfiguration, which resets this state explicitly. */

#include "hs_safety.h"

#include <assert.h>
#include <string.h>

#include "hs_mutation.h"
#include "seq_err.h"

#ifdef HS_TEST_MUTATIONS
enum hs_mutation hs_mutation = HS_MUT_NONE;
#endif

static void persist(struct hs_safety_rules *rules)
{
    if (HS_MUTATED(HS_MUT_NO_PERSIST)) {
        return;
    }
    rules->io->persist_safety(rules->io, &rules->state);
}

void hs_safety_init(struct hs_safety_rules *rules,
                    const struct hs_safety *recovered,
                    hs_node_t self,
                    const struct hs_verifier *verifier,
                    const struct hs_crypto *signer,
                    struct hs_io *io)
{
    memset(rules, 0, sizeof *rules);
    if (recovered != NULL && recovered->epoch == verifier->epoch) {
        rules->state = *recovered;
    } else {
        /* First boot (zeroed state) or a state from an older epoch. */
        rules->state.epoch = verifier->epoch;
    }
    rules->self = self;
    rules->verifier = verifier;
    rules->signer = signer;
    rules->io = io;
}

/* (R2). */
static bool safe_to_vote(const struct hs_block *block, const struct hs_tc *tc)
{
    hs_round_t qc_round = block->justify.round;

    if (HS_MUTATED(HS_MUT_SKIP_LOCK)) {
        return true;
    }
    if (block->round == qc_round + 1) {
        return true;
    }
    return tc != NULL && block->round == tc->round + 1 &&
           qc_round >= hs_tc_high_qc_round(tc);
}

int hs_safety_vote(struct hs_safety_rules *rules,
                   const struct hs_block *block,
                   const struct hs_tc *tc,
                   struct hs_vote *out)
{
    struct hs_safety *st = &rules->state;
    struct seq_hash digest;
    struct hs_vote vote;
    int rv;

    if (block->epoch != st->epoch) {
        return SEQ_ESTALE;
    }
    /* (R4): the same vote again, never a second one. */
    if (st->has_last_vote && st->last_vote.round == block->round) {
        if (!seq_hash_eq(&st->last_vote.block_id, &block->id)) {
            return SEQ_EUNSAFE;
        }
        *out = st->last_vote;
        return SEQ_OK;
    }
    if (block->round <= st->last_voted_round) {
        return SEQ_EUNSAFE;
    }
    if (!safe_to_vote(block, tc)) {
        return SEQ_EUNSAFE;
    }

    memset(&vote, 0, sizeof vote);
    vote.epoch = block->epoch;
    vote.round = block->round;
    vote.height = block->height;
    vote.block_id = block->id;
    vote.voter = rules->self;
    hs_vote_digest(&rules->verifier->chain_id, vote.epoch, vote.round,
                   &vote.block_id, &digest);
    rv = rules->signer->sign(rules->signer, &digest, &vote.sig);
    if (rv != 0) {
        return rv;
    }

    /* (R1): the state moves before the vote exists anywhere else. */
    st->last_voted_round = block->round;
    if (block->justify.round > st->one_chain_round) {
        st->one_chain_round = block->justify.round;
    }
    st->last_vote = vote;
    st->has_last_vote = true;
    persist(rules);
    *out = vote;
    return SEQ_OK;
}

/* (R3). */
static bool safe_to_timeout(const struct hs_safety *st,
                            hs_round_t round,
                            hs_round_t qc_round,
                            const struct hs_tc *tc)
{
    hs_round_t tc_round = tc != NULL ? tc->round : 0;

    if (round < st->last_voted_round) {
        return false;
    }
    if (round != qc_round + 1 && round != tc_round + 1) {
        return false;
    }
    return qc_round >= st->one_chain_round;
}

int hs_safety_timeout(struct hs_safety_rules *rules,
                      hs_round_t round,
                      const struct hs_qc *high_qc,
                      const struct hs_tc *tc,
                      struct hs_timeout *out)
{
    struct hs_safety *st = &rules->state;
    struct seq_hash digest;
    struct hs_sig sig;
    int rv;

    if (high_qc->epoch != st->epoch) {
        return SEQ_ESTALE;
    }
    out->epoch = st->epoch;
    out->round = round;
    out->author = rules->self;
    /* (R4). */
    if (st->has_last_timeout && st->last_timeout_round == round) {
        out->high_qc_round = st->last_timeout_hqc_round;
        out->sig = st->last_timeout_sig;
        return SEQ_OK;
    }
    if (!safe_to_timeout(st, round, high_qc->round, tc)) {
        return SEQ_EUNSAFE;
    }

    hs_timeout_digest(&rules->verifier->chain_id, st->epoch, round,
                      high_qc->round, &digest);
    rv = rules->signer->sign(rules->signer, &digest, &sig);
    if (rv != 0) {
        return rv;
    }
    if (round > st->last_voted_round) {
        st->last_voted_round = round;
    }
    if (round > st->highest_timeout_round) {
        st->highest_timeout_round = round;
    }
    st->has_last_timeout = true;
    st->last_timeout_round = round;
    st->last_timeout_hqc_round = high_qc->round;
    st->last_timeout_sig = sig;
    persist(rules);
    out->high_qc_round = high_qc->round;
    out->sig = sig;
    return SEQ_OK;
}

int hs_safety_propose(struct hs_safety_rules *rules,
                      const struct hs_block *block,
                      struct hs_sig *out)
{
    struct seq_hash digest;

    assert(block->author == rules->self);
    if (block->epoch != rules->state.epoch) {
        return SEQ_ESTALE;
    }
    /* (R5) Never propose in a round already voted or timed out in: after a
     * restart, the block proposed before the crash (and voted for, so
     * last_voted_round covers it) must not get a sibling. */
    if (block->round <= rules->state.last_voted_round) {
        return SEQ_EUNSAFE;
    }
    hs_proposal_digest(&rules->verifier->chain_id, block->epoch, block->round,
                       &block->id, &digest);
    return rules->signer->sign(rules->signer, &digest, out);
}

void hs_safety_observe_qc(struct hs_safety_rules *rules,
                          hs_round_t qc_round,
                          hs_round_t parent_round)
{
    struct hs_safety *st = &rules->state;
    bool changed = false;

    if (qc_round > st->one_chain_round) {
        st->one_chain_round = qc_round;
        changed = true;
    }
    if (parent_round > st->preferred_round) {
        st->preferred_round = parent_round;
        changed = true;
    }
    if (changed) {
        persist(rules);
    }
}
