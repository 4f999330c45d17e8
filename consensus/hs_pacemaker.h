/* The pacemaker: which round the replica is in and when that round times
 * out. Jolteon: round r ends with a QC or TC for r; the timer starts at the
 * base timeout and doubles with each consecutive round that ended by a TC
 * after the first (one dead leader always costs one), up to a cap, and
 * falls back to the base on a QC (progress). */

#ifndef SEQ_CONSENSUS_HS_PACEMAKER_H
#define SEQ_CONSENSUS_HS_PACEMAKER_H

#include <stdbool.h>
#include <stdint.h>

#include "hs_types.h"

struct hs_pacemaker {
    hs_round_t round;
    uint64_t base_ms;
    uint64_t max_ms;
    unsigned consecutive_timeouts; /* Rounds in a row that ended by TC. */
    uint64_t deadline_ms;
};

void hs_pacemaker_init(struct hs_pacemaker *pm,
                       uint64_t base_ms,
                       uint64_t max_ms);

/* The current round's timer length. */
uint64_t hs_pacemaker_duration(const struct hs_pacemaker *pm);

/* Move to @round (a certificate for round - 1 was seen) at @now_ms. False,
 * and nothing changes, unless @round is higher than the current one.
 * @by_timeout: the certificate was a TC. */
bool hs_pacemaker_advance(struct hs_pacemaker *pm,
                          hs_round_t round,
                          uint64_t now_ms,
                          bool by_timeout);

/* The round timer fired at @now_ms: re-arm it for re-sending the timeout. */
void hs_pacemaker_rearm(struct hs_pacemaker *pm, uint64_t now_ms);

#endif /* SEQ_CONSENSUS_HS_PACEMAKER_H */
