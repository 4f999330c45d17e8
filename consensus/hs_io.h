/* Everything the core asks of the world. net/ implements it on ZeroMQ and
 * RocksDB, tests/sim/sim_io.c in memory. The contract:
 * - persist_*() stage state that is durable by the end of this loop turn
 *   and before any message queued in this turn leaves: no vote escapes
 *   before it is on disk, yet the core never waits for the disk.
 * - send()/broadcast() copy @msg and return at once; delivery may fail,
 *   reorder or duplicate. broadcast() goes to every validator but self.
 * - set_timer() replaces the previous deadline; when it passes, the driver
 *   calls hs_core_on_tick().
 * - commit() passes committed blocks up, in height order, each once.
 * Optional hooks may be NULL. */

#ifndef SEQ_CONSENSUS_HS_IO_H
#define SEQ_CONSENSUS_HS_IO_H

#include "hs_types.h"

struct hs_io {
    void *impl; /* Implementation state; the core never touches it. */
    void (*persist_safety)(struct hs_io *io, const struct hs_safety *state);
    /* A block entered the block tree (not yet committed). */
    void (*persist_block)(struct hs_io *io, const struct hs_block *block);
    /* A verified QC for a block in the tree; the highest one so far when
     * @is_high (the driver keeps it for recovery). */
    void (*persist_qc)(struct hs_io *io, const struct hs_qc *qc, bool is_high);
    /* The highest TC seen so far (recovery needs it: a replica that voted
     * after a TC cannot time out that round again without it). */
    void (*persist_tc)(struct hs_io *io, const struct hs_tc *tc);
    void (*send)(struct hs_io *io, hs_node_t to, const struct hs_msg *msg);
    void (*broadcast)(struct hs_io *io, const struct hs_msg *msg);
    void (*set_timer)(struct hs_io *io, uint64_t deadline_ms);
    /* @block is committed; @qc certifies it. Both borrowed. */
    void (*commit)(struct hs_io *io,
                   const struct hs_block *block,
                   const struct hs_qc *qc);
    /* Optional: the commits just reported (commit()) end at @b0, which
     * is committed because @child (round(b0) + 1, justify = QC(b0)) is
     * certified by @child_qc: a third party's proof that b0 and its
     * ancestors are final (DESIGN §5, commit proof). Called once per
     * 2-chain, after the commit() calls it explains. All borrowed. */
    void (*commit_cert)(struct hs_io *io,
                        const struct hs_block *b0,
                        const struct hs_block *child,
                        const struct hs_qc *child_qc);
    /* Optional: read the committed block at @height into @out (the caller
     * owns it then, hs_block_free), to serve peers' block requests below
     * the core's block tree. 0 or SEQ_ENOTFOUND. */
    int (*load_committed)(struct hs_io *io,
                          hs_height_t height,
                          struct hs_block *out);
    /* Optional: the payload for a block the core is about to propose on
     * top of @parent. Sets *payload (allocated with seq_malloc; the core
     * takes it), *len and *ns_root (the namespace root of the entries the
     * payload gives at that height, seq_nstree.h). NULL hook, or a
     * non-zero return, means an empty payload and a zero ns_root. */
    int (*make_payload)(struct hs_io *io,
                        const struct hs_block *parent,
                        uint8_t **payload,
                        size_t *len,
                        struct seq_hash *ns_root);
    /* Optional: whether make_payload would have something to propose
     * (hs_config.idle_block_ms). When it changes from false to true, the
     * driver calls hs_core_on_payload_ready() so a waiting leader proposes
     * at once. */
    bool (*has_payload)(struct hs_io *io);
    /* Optional: is @block's payload acceptable, and its ns_root the one
     * its entries give? 0 (vote), SEQ_EAGAIN (data missing; the driver
     * fetches it and calls hs_core_on_payload_ready()), or SEQ_EBADMSG
     * (never vote). Without the hook, any payload is accepted. */
    int (*check_payload)(struct hs_io *io, const struct hs_block *block);
    /* Optional: a line of text about what the core did. */
    void (*trace)(struct hs_io *io, int level, const char *text);
};

#endif /* SEQ_CONSENSUS_HS_IO_H */
