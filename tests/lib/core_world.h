/* A small world for driving replicas (hs_core.h) by hand: four validators
 * with fake keys (fake_crypto.h), a certified chain to recover replicas
 * from and to serve block requests with, message builders that sign as any
 * validator (which is how a test plays a Byzantine one), and an hs_io that
 * captures everything a replica sends and persists. Unit tests that feed a
 * replica exact message sequences use it; the simulator (tests/sim) is for
 * whole clusters.
 *
 * Every certificate built here is signed by validators 0, 1 and 2, a
 * quorum of four. Blocks of a chain have round == height and are authored
 * by their round's round-robin leader (round % 4). Helpers fail the
 * current test (harness.h) on out-of-memory instead of returning codes. */

#ifndef SEQ_TESTS_LIB_CORE_WORLD_H
#define SEQ_TESTS_LIB_CORE_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_crypto.h"
#include "hs_core.h"
#include "hs_types.h"

#define CW_N 4

struct cw_world {
    struct seq_hash chain_id;
    struct hs_validator_set validators;
    struct fake_crypto keys[CW_N];
    struct hs_block genesis;
    struct hs_qc genesis_qc;
    /* hs_config.leader_reputation of the replicas started afterwards;
     * false after cw_world_init (round-robin, as cw_leader has it). */
    bool reputation;
};

/* Validators 0 .. CW_N-1, chain id SHA-256(@name). */
void cw_world_init(struct cw_world *w, const char *name);

/* The leader of @round without a schedule or reputation, as
 * hs_core_leader() has it. */
hs_node_t cw_leader(hs_round_t round);

/* A sealed block by @author extending @parent, which @parent_qc certifies,
 * with @payload_len bytes of @fill (owned: hs_block_free). */
void cw_block(const struct cw_world *w,
              const struct hs_block *parent,
              const struct hs_qc *parent_qc,
              hs_round_t round,
              hs_node_t author,
              size_t payload_len,
              uint8_t fill,
              struct hs_block *out);

/* A QC for @b signed by validators 0, 1 and 2. */
void cw_qc(const struct cw_world *w,
           const struct hs_block *b,
           struct hs_qc *out);

/* Messages signed by the right validator. The proposal is shallow: it
 * borrows @b's payload, so @b must outlive it and it is never freed. */
void cw_proposal(const struct cw_world *w,
                 const struct hs_block *b,
                 struct hs_msg *out);
void cw_timeout(const struct cw_world *w,
                hs_node_t author,
                hs_round_t round,
                const struct hs_qc *high_qc,
                struct hs_msg *out);
void cw_vote(const struct cw_world *w,
             hs_node_t voter,
             hs_round_t round,
             const struct seq_hash *block_id,
             struct hs_msg *out);
/* A block response carrying @n blocks of @blocks (borrowed), which must be
 * in descending height order. */
void cw_response(struct hs_block *blocks, uint32_t n, struct hs_msg *out);

/* blocks[0] is genesis, blocks[h] the block at height h, qcs[h] its QC. */
struct cw_chain {
    size_t n; /* Blocks above genesis. */
    struct hs_block *blocks;
    struct hs_qc *qcs;
};

/* @n blocks above genesis, each with @payload_len bytes. */
void cw_chain_build(struct cw_chain *c,
                    const struct cw_world *w,
                    size_t n,
                    size_t payload_len);
void cw_chain_free(struct cw_chain *c);

/* What a replica read back from storage: committed up to @root, blocks
 * @root+1 .. @top in its tree, the QC of @top its high QC, and (as if it
 * had voted for it) last_voted_round == round of @top. Borrows @c. */
struct cw_recovery {
    struct hs_recovery rec;
    const struct hs_block *above[HS_MAX_FETCH_BLOCKS];
};

void cw_recovery_init(struct cw_recovery *r,
                      const struct cw_chain *c,
                      hs_height_t root,
                      hs_height_t top);

/* One message a replica handed to send() or broadcast(), deep-copied. */
struct cw_sent {
    hs_node_t to; /* Unused for a broadcast. */
    bool broadcast;
    struct hs_msg msg;
};

struct cw_io {
    struct hs_io io;
    const struct cw_chain *store; /* Serves load_committed; may be NULL. */
    struct cw_sent *sent;         /* Owned; cw_io_clear() empties it. */
    size_t n_sent, cap_sent;
    /* The last state persisted, as a driver would read it back. */
    struct hs_safety safety;
    bool has_high_qc;
    struct hs_qc high_qc;
    bool has_high_tc;
    struct hs_tc high_tc;
    unsigned blocks_persisted; /* persist_block() calls: tree inserts. */
    unsigned commits;
    /* make_payload gives 8 bytes that differ from one call to the next
     * (the mempool moved on), so two proposals never coincide. */
    uint8_t payload_counter;
};

/* Forget the captured messages (frees them); everything else stays. */
void cw_io_clear(struct cw_io *t);

/* The last captured message of @type, or NULL. */
const struct cw_sent *cw_io_last(const struct cw_io *t, enum hs_msg_type type);
size_t cw_io_count(const struct cw_io *t, enum hs_msg_type type);

/* A replica with its captured io. */
struct cw_node {
    hs_node_t id;
    struct hs_core *core;
    struct cw_io io;
};

/* Create replica @id from @rec (NULL: first boot), with base timeout
 * 1000 ms and seed test_seed(), and start it at @now. Keeps @w and @store
 * (may be NULL). The start's own messages stay captured. */
void cw_node_start(struct cw_node *node,
                   const struct cw_world *w,
                   hs_node_t id,
                   const struct hs_recovery *rec,
                   const struct cw_chain *store,
                   uint64_t now);

/* Free the replica (a crash: whatever it persisted stays in node->io) and
 * start it again at @now from the persisted safety state and high TC. No
 * blocks are recovered, so it must not have persisted a high QC (whose
 * block recovery would need); that fails the test. */
void cw_node_restart(struct cw_node *node,
                     const struct cw_world *w,
                     uint64_t now);

/* Free the replica and its captured messages. */
void cw_node_stop(struct cw_node *node);

/* Answer @asker's last block request with @server's replica, as if
 * @server were the peer it asked, and deliver the answer back from that
 * peer. Returns what @asker's core returned for the response, or
 * SEQ_ENOTFOUND when there was no request or @server did not answer.
 * Both captures are cleared first (the server's again at the end), so
 * afterwards @asker's holds what it sent in reply: its next request, say. */
int cw_serve_fetch(struct cw_node *server, struct cw_node *asker, uint64_t now);

#endif /* SEQ_TESTS_LIB_CORE_WORLD_H */
