/* Vote and timeout aggregation (hs_votes.h). Slots live in small arrays:
 * only the current and previous round are kept (hs_votes_prune), and a
 * round has one slot per distinct block voted for, so scans are short. The
 * order of signatures in a certificate is the order of arrival, which the
 * verifier does not depend on. */

#include "hs_votes.h"

#include <string.h>

#include "hs_mutation.h"
#include "seq_alloc.h"
#include "seq_err.h"

struct hs_vote_slot {
    hs_epoch_t epoch;
    hs_round_t round;
    hs_height_t height;
    struct seq_hash block_id;
    uint64_t signers; /* Bitmap of voters counted. */
    bool done;        /* QC already formed from this slot. */
    struct hs_qc qc;  /* Signatures collected so far. */
};

struct hs_timeout_slot {
    hs_epoch_t epoch;
    hs_round_t round;
    uint64_t signers;
    bool done;
    struct hs_tc tc;
};

static uint32_t needed(const struct hs_votes *votes)
{
    /* The mutation test's "2f signers" bug lives here and in hs_verify. */
    return HS_MUTATED(HS_MUT_WEAK_QC) ? votes->quorum - 1 : votes->quorum;
}

void hs_votes_init(struct hs_votes *votes, uint32_t quorum)
{
    memset(votes, 0, sizeof *votes);
    votes->quorum = quorum;
}

void hs_votes_close(struct hs_votes *votes)
{
    seq_free(votes->votes);
    seq_free(votes->timeouts);
    memset(votes, 0, sizeof *votes);
}

static int grow(void **array, size_t *cap, size_t elem)
{
    size_t new_cap = *cap == 0 ? 4 : *cap * 2;
    void *p = seq_realloc(*array, new_cap * elem);

    if (p == NULL) {
        return SEQ_ENOMEM;
    }
    *array = p;
    *cap = new_cap;
    return SEQ_OK;
}

int hs_votes_add_vote(struct hs_votes *votes,
                      const struct hs_vote *vote,
                      struct hs_qc *qc)
{
    struct hs_vote_slot *slot = NULL;
    uint64_t bit = UINT64_C(1) << vote->voter;
    size_t i;
    int rv;

    for (i = 0; i < votes->n_votes; i++) {
        struct hs_vote_slot *s = &votes->votes[i];
        if (s->round != vote->round || s->epoch != vote->epoch) {
            continue;
        }
        /* One vote per voter and round, whatever the block: a second one
         * is equivocation and may not open slots without bound. */
        if ((s->signers & bit) != 0) {
            return SEQ_EEXIST;
        }
        if (seq_hash_eq(&s->block_id, &vote->block_id)) {
            slot = s;
        }
    }
    if (slot == NULL) {
        if (votes->n_votes == votes->cap_votes) {
            rv = grow((void **)&votes->votes, &votes->cap_votes,
                      sizeof *votes->votes);
            if (rv != 0) {
                return rv;
            }
        }
        slot = &votes->votes[votes->n_votes++];
        memset(slot, 0, sizeof *slot);
        slot->epoch = vote->epoch;
        slot->round = vote->round;
        slot->height = vote->height;
        slot->block_id = vote->block_id;
    }
    if ((slot->signers & bit) != 0) {
        return SEQ_EEXIST;
    }
    slot->signers |= bit;
    slot->qc.sigs[slot->qc.n_sigs].signer = vote->voter;
    slot->qc.sigs[slot->qc.n_sigs].sig = vote->sig;
    slot->qc.n_sigs++;
    if (slot->done || slot->qc.n_sigs < needed(votes)) {
        return 0;
    }
    slot->done = true;
    *qc = slot->qc;
    qc->epoch = slot->epoch;
    qc->round = slot->round;
    qc->height = slot->height;
    qc->block_id = slot->block_id;
    return 1;
}

int hs_votes_add_timeout(struct hs_votes *votes,
                         const struct hs_timeout *timeout,
                         struct hs_tc *tc,
                         uint32_t *count)
{
    struct hs_timeout_slot *slot = NULL;
    uint64_t bit = UINT64_C(1) << timeout->author;
    struct hs_tc_sig *entry;
    size_t i;
    int rv;

    for (i = 0; i < votes->n_timeouts; i++) {
        struct hs_timeout_slot *s = &votes->timeouts[i];
        if (s->round == timeout->round && s->epoch == timeout->epoch) {
            slot = s;
            break;
        }
    }
    if (slot == NULL) {
        if (votes->n_timeouts == votes->cap_timeouts) {
            rv = grow((void **)&votes->timeouts, &votes->cap_timeouts,
                      sizeof *votes->timeouts);
            if (rv != 0) {
                return rv;
            }
        }
        slot = &votes->timeouts[votes->n_timeouts++];
        memset(slot, 0, sizeof *slot);
        slot->epoch = timeout->epoch;
        slot->round = timeout->round;
    }
    *count = slot->tc.n_sigs;
    if ((slot->signers & bit) != 0) {
        return SEQ_EEXIST;
    }
    slot->signers |= bit;
    entry = &slot->tc.sigs[slot->tc.n_sigs++];
    entry->signer = timeout->author;
    entry->high_qc_round = timeout->high_qc_round;
    entry->sig = timeout->sig;
    *count = slot->tc.n_sigs;
    if (slot->done || slot->tc.n_sigs < needed(votes)) {
        return 0;
    }
    slot->done = true;
    *tc = slot->tc;
    tc->epoch = slot->epoch;
    tc->round = slot->round;
    return 1;
}

void hs_votes_prune(struct hs_votes *votes, hs_round_t round)
{
    size_t i, j;

    for (i = 0, j = 0; i < votes->n_votes; i++) {
        if (votes->votes[i].round >= round) {
            if (i != j) {
                votes->votes[j] = votes->votes[i];
            }
            j++;
        }
    }
    votes->n_votes = j;
    for (i = 0, j = 0; i < votes->n_timeouts; i++) {
        if (votes->timeouts[i].round >= round) {
            if (i != j) {
                votes->timeouts[j] = votes->timeouts[i];
            }
            j++;
        }
    }
    votes->n_timeouts = j;
}
