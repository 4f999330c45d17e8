/* What a signature means and how certificates are checked. Every signed
 * message is the SHA-256 of a domain tag, the chain id, the epoch and the
 * fields, each integer big-endian (DESIGN §3):
 *
 *   vote:     "SEQ-VOTE-v1"     || chain_id || epoch || round || block_id
 *   timeout:  "SEQ-TIMEOUT-v1"  || chain_id || epoch || round || hqc_round
 *   proposal: "SEQ-PROPOSAL-v1" || chain_id || epoch || round || block_id
 *
 * A QC is valid for a validator set when it has at least hs_quorum(n)
 * signatures, from distinct members, each valid over the vote message of
 * its epoch, round and block; signature order does not matter. A TC is the
 * same over timeout messages, each with its own high_qc_round, which must
 * be below the TC's round. A timeout's high_qc_round is below its round and
 * at most the round of the QC it carries. A vote for round 0 is malformed,
 * and a genesis QC has height 0. These are
 * the checks that third parties (executors, libseqclient) repeat, so they
 * depend on nothing but the validator set and the crypto interface. */

#ifndef SEQ_CONSENSUS_HS_VERIFY_H
#define SEQ_CONSENSUS_HS_VERIFY_H

#include "hs_crypto.h"
#include "hs_types.h"

/* The public facts a verifier trusts. */
struct hs_verifier {
    struct seq_hash chain_id;
    hs_epoch_t epoch;
    const struct hs_validator_set *validators; /* Kept; must outlive. */
    const struct hs_crypto *crypto;            /* Kept; only verify used. */
    struct seq_hash genesis_id; /* The genesis block's id (round 0 QC). */
};

void hs_vote_digest(const struct seq_hash *chain_id,
                    hs_epoch_t epoch,
                    hs_round_t round,
                    const struct seq_hash *block_id,
                    struct seq_hash *out);
void hs_timeout_digest(const struct seq_hash *chain_id,
                       hs_epoch_t epoch,
                       hs_round_t round,
                       hs_round_t high_qc_round,
                       struct seq_hash *out);
void hs_proposal_digest(const struct seq_hash *chain_id,
                        hs_epoch_t epoch,
                        hs_round_t round,
                        const struct seq_hash *block_id,
                        struct seq_hash *out);

/* Each returns 0 or SEQ_EBADMSG (SEQ_ESTALE for a wrong epoch). A QC of
 * round 0 is valid only as the genesis QC: no signatures, genesis id. */
int hs_verify_qc(const struct hs_verifier *v, const struct hs_qc *qc);
int hs_verify_tc(const struct hs_verifier *v, const struct hs_tc *tc);
int hs_verify_vote(const struct hs_verifier *v, const struct hs_vote *vote);
int hs_verify_timeout(const struct hs_verifier *v,
                      const struct hs_timeout *timeout);
/* Checks the author's signature over the block id, that the id matches the
 * header, and the payload hash. Not the justify QC or the TC. */
int hs_verify_proposal(const struct hs_verifier *v,
                       const struct hs_proposal *proposal);

#endif /* SEQ_CONSENSUS_HS_VERIFY_H */
