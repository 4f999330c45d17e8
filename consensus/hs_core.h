/* HotStuff replica: the 2-chain (Jolteon) vote, lock and commit rules, the
 * pacemaker and the block tree, and nothing else. No socket, file, clock or
 * thread: inputs are calls, effects go to hs_io, time is an argument and
 * randomness a seed (DESIGN §3). */

#ifndef SEQ_CONSENSUS_HS_CORE_H
#define SEQ_CONSENSUS_HS_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "hs_crypto.h"
#include "hs_io.h"
#include "hs_types.h"

struct hs_core; /* Opaque. One per replica; called from one thread only. */

struct hs_config {
    struct seq_hash chain_id;
    hs_epoch_t epoch;
    hs_node_t self;
    const struct hs_validator_set *validators; /* Copied. */
    uint64_t base_timeout_ms;                  /* Round timer; 0 means 1000. */
    uint64_t max_timeout_ms; /* Back-off cap; 0 means 4 * base. */
    uint64_t seed;           /* PRNG seed (request target choice). */
    bool follower;           /* Never votes, times out or proposes. */
    /* When > 0 and hs_io.has_payload is set: a leader with nothing to
     * propose on an empty parent and grandparent waits up to this long
     * (or until has_payload) before proposing an empty block. Must stay
     * well below base_timeout_ms. 0: propose at once. */
    uint64_t idle_block_ms;
    /* Optional fixed leaders: round r < n_schedule is led by
     * leader_schedule[r]; later rounds are round-robin. Copied. Used by
     * Twins scenarios; NULL in production. */
    const hs_node_t *leader_schedule;
    size_t n_schedule;
    /* Reputation-based leaders (hs_core.c, L1-L4): in a round whose
     * grandparent round certified a block extending its direct parent, a
     * round-robin leader that signed neither of the last two QCs gives
     * its round to one that did, so a crashed validator stops being
     * chosen. Off: round-robin. Every replica must use the same value. */
    bool leader_reputation;
};

/* What the driver read back from storage. Zeroed (all NULL) on first boot:
 * the core then starts from the genesis block. */
struct hs_recovery {
    struct hs_safety safety;
    const struct hs_block *root; /* Committed tip, or NULL for genesis. */
    const struct hs_qc *root_qc; /* QC for root; NULL with root NULL. */
    /* Uncommitted blocks in ascending height, each extending the root or an
     * earlier one in the list. Borrowed for the call. */
    const struct hs_block *const *blocks;
    size_t n_blocks;
    const struct hs_qc *high_qc; /* Highest QC known, or NULL. */
    const struct hs_tc *high_tc; /* Highest TC known, or NULL. */
};

struct hs_core_stats {
    uint64_t proposals_sent;
    uint64_t votes_sent;
    uint64_t timeouts_sent;
    uint64_t qcs_formed;
    uint64_t tcs_formed;
    uint64_t blocks_committed;
    uint64_t msgs_bad;    /* Failed validation (bad signature, shape). */
    uint64_t msgs_stale;  /* Older round or epoch. */
    uint64_t msgs_unsafe; /* The safety rules refused to sign. */
    uint64_t fetches_sent;
    uint64_t equivocations; /* Second proposals of one round, refused. */
    uint64_t local_timeouts;
    uint64_t leaders_elected; /* Rounds given a reputation leader (L1). */
};

/* Create a replica. Keeps @io and @signer: both must outlive the core;
 * @signer signs with this replica's key and verifies others'. Copies what
 * it needs from @config and @recovery. Returns 0, SEQ_ENOMEM, SEQ_EINVAL
 * (bad config) or SEQ_ECORRUPT (recovery data inconsistent). */
int hs_core_new(const struct hs_config *config,
                const struct hs_recovery *recovery,
                struct hs_io *io,
                const struct hs_crypto *signer,
                struct hs_core **out);
void hs_core_free(struct hs_core *core); /* NULL is fine, as for free(3). */

/* Enter the first round: arm the timer and propose if leader. Call once,
 * after hs_core_new, from the driver's loop. */
int hs_core_start(struct hs_core *core, uint64_t now_ms);

/* Inputs run to completion and never block. @now_ms is the driver's clock,
 * sampled once per loop turn. @from is the sender as the transport
 * authenticated it. Messages are borrowed for the call. Returns 0 or a
 * negative SEQ_E* code saying why the input was ignored. */
int hs_core_on_message(struct hs_core *core,
                       uint64_t now_ms,
                       hs_node_t from,
                       const struct hs_msg *msg);
int hs_core_on_tick(struct hs_core *core, uint64_t now_ms);
/* Payload data that check_payload reported missing may have arrived. */
int hs_core_on_payload_ready(struct hs_core *core, uint64_t now_ms);

/* Queries. */
hs_round_t hs_core_round(const struct hs_core *core);
hs_height_t hs_core_committed_height(const struct hs_core *core);
const struct hs_block *hs_core_committed_tip(const struct hs_core *core);
const struct hs_qc *hs_core_high_qc(const struct hs_core *core);
/* The leader of @round as this replica knows it now: the schedule, else
 * the reputation-based leader once elected (L1), else round-robin. */
hs_node_t hs_core_leader(const struct hs_core *core, hs_round_t round);
/* True while the core knows of certified blocks it has not fetched. */
bool hs_core_catching_up(const struct hs_core *core);
const struct hs_core_stats *hs_core_stats(const struct hs_core *core);
const struct hs_safety *hs_core_safety(const struct hs_core *core);

#endif /* SEQ_CONSENSUS_HS_CORE_H */
