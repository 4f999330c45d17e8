/* Round timing (hs_pacemaker.h). Exponential back-off: after k >= 1 rounds
 * in a row that ended by timeout, a round lasts base * 2^(k-1), capped. A
 * QC proves the network is back, so the next round starts at the base
 * again. */

#include "hs_pacemaker.h"

#define HS_MAX_BACKOFF_SHIFT 20

void hs_pacemaker_init(struct hs_pacemaker *pm,
                       uint64_t base_ms,
                       uint64_t max_ms)
{
    pm->round = 0;
    pm->base_ms = base_ms;
    pm->max_ms = max_ms < base_ms ? base_ms : max_ms;
    pm->consecutive_timeouts = 0;
    pm->deadline_ms = 0;
}

uint64_t hs_pacemaker_duration(const struct hs_pacemaker *pm)
{
    /* One round ended by TC is what a single dead leader always costs
     * (the round before it loses its votes to it): do not punish the next
     * round for that; double from the second TC in a row. */
    unsigned shift =
        pm->consecutive_timeouts > 0 ? pm->consecutive_timeouts - 1 : 0;
    uint64_t d;

    if (shift > HS_MAX_BACKOFF_SHIFT) {
        shift = HS_MAX_BACKOFF_SHIFT;
    }
    d = pm->base_ms << shift;
    return d > pm->max_ms ? pm->max_ms : d;
}

bool hs_pacemaker_advance(struct hs_pacemaker *pm,
                          hs_round_t round,
                          uint64_t now_ms,
                          bool by_timeout)
{
    if (round <= pm->round) {
        return false;
    }
    pm->round = round;
    if (by_timeout) {
        pm->consecutive_timeouts++;
    } else {
        pm->consecutive_timeouts = 0;
    }
    pm->deadline_ms = now_ms + hs_pacemaker_duration(pm);
    return true;
}

void hs_pacemaker_rearm(struct hs_pacemaker *pm, uint64_t now_ms)
{
    pm->deadline_ms = now_ms + hs_pacemaker_duration(pm);
}
