/* The simulator's invariant checker (internal to tests/sim). It sees every
 * message a replica releases and every commit, keeps its own records, and
 * reports the first violation of S1-S5 (see sim.h). It depends on no
 * verification code of the core: certificate checks are redone here with
 * the crypto interface and the digest functions, so a core built with
 * deliberate bugs (hs_mutation.h) cannot fool it. */

#ifndef SEQ_TESTS_SIM_SIM_CHECK_H
#define SEQ_TESTS_SIM_SIM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_crypto.h"
#include "hs_types.h"
#include "seq_hash.h"

#define SIM_CHECK_MSG_LEN 512
#define SIM_CHECK_CACHE   4096 /* Verified certificates remembered. */

struct sim_check_entry; /* One record of the checker's hash table. */

struct sim_check {
    struct seq_hash chain_id;
    hs_epoch_t epoch;
    struct seq_hash genesis_id;
    const struct hs_validator_set *validators; /* Kept. */
    const struct hs_crypto *verifier;          /* Kept; verify only. */
    uint32_t quorum;
    bool honest[HS_MAX_VALIDATORS];

    /* Digests of certificates already verified (direct-mapped). */
    struct seq_hash *cache;

    /* Votes and timeouts signed per (key, epoch, round) (S2), and the
     * blocks certified per round. Open addressing, linear probing. */
    struct sim_check_entry *table;
    size_t table_cap, table_used;
    uint32_t max_qcs_per_round;

    /* S4: the block id committed at each height, indexed by height. */
    struct seq_hash *committed;
    uint8_t *has_committed;
    size_t committed_cap;
    hs_height_t max_height;

    /* S5: the next height each replica may commit. */
    hs_height_t *next_height;
    uint32_t n_replicas;

    bool failed;
    char msg[SIM_CHECK_MSG_LEN];
};

/* Returns 0 or SEQ_ENOMEM. Keeps @validators and @verifier. */
int sim_check_init(struct sim_check *chk,
                   const struct seq_hash *chain_id,
                   hs_epoch_t epoch,
                   const struct seq_hash *genesis_id,
                   const struct hs_validator_set *validators,
                   const struct hs_crypto *verifier,
                   uint32_t n_replicas);
void sim_check_close(struct sim_check *chk);

/* Key @node is Byzantine from now on: nothing it signs is checked. */
void sim_check_set_byzantine(struct sim_check *chk, hs_node_t node);
bool sim_check_is_honest(const struct sim_check *chk, hs_node_t node);

/* @msg is about to leave @replica (key @node). @synced is the replica's
 * safety state as of its last sync, NULL if none. S1 and S2 for votes and
 * timeouts, S3 for every certificate, the per-round QC count always (even
 * for Byzantine senders). Returns false once any invariant failed. */
bool sim_check_outgoing(struct sim_check *chk,
                        uint32_t replica,
                        hs_node_t node,
                        const struct hs_safety *synced,
                        const struct hs_msg *msg);

/* @replica (key @node) (re)started with @height committed durably. */
void sim_check_started(struct sim_check *chk,
                       uint32_t replica,
                       hs_height_t height);
/* @replica committed @block, certified by @qc (S3, S4, S5). */
bool sim_check_commit(struct sim_check *chk,
                      uint32_t replica,
                      hs_node_t node,
                      const struct hs_block *block,
                      const struct hs_qc *qc);

/* Record a failure found elsewhere (printf-style); the first one stays. */
void sim_check_fail(struct sim_check *chk, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The block committed at @height by honest replicas, if any. */
/* S6: a replica's commit proof (hs_io.commit_cert) is what a third party
 * needs: @child extends @b0 in the next round with justify = QC(b0),
 * @child_qc is a valid QC for @child, and @b0 is what was committed at
 * its height. */
bool sim_check_commit_cert(struct sim_check *chk,
                           uint32_t replica,
                           hs_node_t node,
                           const struct hs_block *b0,
                           const struct hs_block *child,
                           const struct hs_qc *child_qc);
bool sim_check_committed_id(const struct sim_check *chk,
                            hs_height_t height,
                            struct seq_hash *out);

#endif /* SEQ_TESTS_SIM_SIM_CHECK_H */
