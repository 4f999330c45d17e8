/* Safety rules (Jolteon; Aptos safety_rules_2chain): the only module that
 * holds the signing key and the only one that decides whether a vote or
 * timeout may be signed. Every decision that signs first updates the state
 * and stages it with io->persist_safety(), so the state on disk is always
 * at least as new as anything signed from it (S1). */

#ifndef SEQ_CONSENSUS_HS_SAFETY_H
#define SEQ_CONSENSUS_HS_SAFETY_H

#include "hs_crypto.h"
#include "hs_io.h"
#include "hs_types.h"
#include "hs_verify.h"

struct hs_safety_rules {
    struct hs_safety state;
    hs_node_t self;
    const struct hs_verifier *verifier; /* Kept. */
    const struct hs_crypto *signer;     /* Kept; holds our secret key. */
    struct hs_io *io;                   /* Kept; persist_safety only. */
};

void hs_safety_init(struct hs_safety_rules *rules,
                    const struct hs_safety *recovered,
                    hs_node_t self,
                    const struct hs_verifier *verifier,
                    const struct hs_crypto *signer,
                    struct hs_io *io);

/* Vote for @block, which carries @tc (the TC of round - 1) or NULL. The
 * caller has verified the block's QC and TC. Returns 0 and fills @out, or
 * SEQ_EUNSAFE when the rules forbid it, SEQ_ESTALE for another epoch. A
 * second call for the same round and block returns the identical vote; for
 * another block in that round it returns SEQ_EUNSAFE. */
int hs_safety_vote(struct hs_safety_rules *rules,
                   const struct hs_block *block,
                   const struct hs_tc *tc,
                   struct hs_vote *out);

/* Sign a timeout for @round with @high_qc (our highest QC) and @tc (TC of
 * round - 1, or NULL). Fills out->{epoch, round, author, high_qc_round,
 * sig}. Asked again for the same round it returns the same signature and
 * high_qc_round. SEQ_EUNSAFE when not allowed. */
int hs_safety_timeout(struct hs_safety_rules *rules,
                      hs_round_t round,
                      const struct hs_qc *high_qc,
                      const struct hs_tc *tc,
                      struct hs_timeout *out);

/* Sign a proposal for @block (its id already sealed). */
int hs_safety_propose(struct hs_safety_rules *rules,
                      const struct hs_block *block,
                      struct hs_sig *out);

/* Observe a verified QC (Aptos observe_qc): raises one_chain_round to its
 * round and preferred_round to @parent_round (the round of the block its
 * block extends). Persists when something changed. */
void hs_safety_observe_qc(struct hs_safety_rules *rules,
                          hs_round_t qc_round,
                          hs_round_t parent_round);

#endif /* SEQ_CONSENSUS_HS_SAFETY_H */
