/* Aggregation of verified votes into QCs and of verified timeouts into TCs.
 * One slot per (round, block) for votes and per round for timeouts; a
 * signer counts once per slot, so every certificate built here has
 * distinct signers. Callers verify signatures before adding. */

#ifndef SEQ_CONSENSUS_HS_VOTES_H
#define SEQ_CONSENSUS_HS_VOTES_H

#include <stdbool.h>
#include <stddef.h>

#include "hs_types.h"

struct hs_vote_slot;
struct hs_timeout_slot;

struct hs_votes {
    uint32_t quorum;
    struct hs_vote_slot *votes; /* Owned array. */
    size_t n_votes, cap_votes;
    struct hs_timeout_slot *timeouts; /* Owned array. */
    size_t n_timeouts, cap_timeouts;
};

void hs_votes_init(struct hs_votes *votes, uint32_t quorum);
void hs_votes_close(struct hs_votes *votes);

/* Add a verified vote. Returns 1 and fills @qc when this vote completes a
 * quorum (only once per slot), 0 when counted, SEQ_EEXIST when the voter
 * already voted in this round (for any block: equivocation), SEQ_ENOMEM. */
int hs_votes_add_vote(struct hs_votes *votes,
                      const struct hs_vote *vote,
                      struct hs_qc *qc);

/* Add a verified timeout. Returns 1 and fills @tc when it completes a
 * quorum (once per round), 0 when counted, SEQ_EEXIST, SEQ_ENOMEM.
 * *count receives the number of distinct signers for that round so far. */
int hs_votes_add_timeout(struct hs_votes *votes,
                         const struct hs_timeout *timeout,
                         struct hs_tc *tc,
                         uint32_t *count);

/* Forget everything for rounds below @round. */
void hs_votes_prune(struct hs_votes *votes, hs_round_t round);

#endif /* SEQ_CONSENSUS_HS_VOTES_H */
