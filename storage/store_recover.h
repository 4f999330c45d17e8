/* Rebuild the consensus core's recovery input (struct hs_recovery) from a
 * store: safety state, committed tip and its QC, and the uncommitted chain
 * from the tip to the highest QC's block, walking parent links. Shared by
 * seqd and the simulator so both restart the same way. */

#ifndef SEQ_STORAGE_STORE_RECOVER_H
#define SEQ_STORAGE_STORE_RECOVER_H

#include "hs_core.h"
#include "store.h"

struct store_recovery {
    struct hs_recovery rec; /* Points into the fields below. */
    struct hs_block root;
    struct hs_qc root_qc;
    struct hs_qc high_qc;
    struct hs_tc high_tc;    /* rec.high_tc points here when one was stored. */
    struct hs_block *blocks; /* Ascending height; n in rec.n_blocks. */
    const struct hs_block **block_ptrs;
    bool has_root;
};

/* Fill @out from @s. An empty store yields a zeroed recovery (genesis).
 * @out points into itself: do not copy or move it once loaded. On failure
 * it is left zeroed (store_recovery_free is still safe).
 * Returns 0, SEQ_ENOMEM, SEQ_EIO, or SEQ_ECORRUPT when blocks exist but the
 * safety state does not, or a parent link is missing (errmsg in s). Free
 * with store_recovery_free. */
int store_recovery_load(struct store *s, struct store_recovery *out);
void store_recovery_free(struct store_recovery *r);

#endif /* SEQ_STORAGE_STORE_RECOVER_H */
