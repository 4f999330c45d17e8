/* Restart from a store: read back the safety state, the committed tip (the
 * root) and its QC, the highest QC, and the uncommitted blocks from the root
 * up to the high QC's block, and hand them to the consensus core as a
 * struct hs_recovery. seqd and the simulator both restart through here, so
 * a crash in the simulator exercises the same recovery code as a real one.
 * Whatever does not add up is refused with SEQ_ECORRUPT: a validator that
 * restarts from state it cannot trust could sign twice (DESIGN §8). */

/******************* NOTES ON THE DESIGN OF STORE RECOVERY ********************
 *
 * (R1) No safety state but a committed height or a high QC: SEQ_ECORRUPT.
 *      A node that has certified blocks may have voted, and starting from a
 *      zeroed safety state would let it vote again in the same round. An
 *      empty store is a first boot: a zeroed recovery (genesis).
 * (R2) The root is the block at the committed height. Its id in the height
 *      index, the block itself and its QC must all be present and agree.
 * (R3) The high QC's block descends from the root: following parent links
 *      from it, the height drops by exactly one per link and reaches the
 *      root's id at the root's height. A missing block, a wrong height or
 *      another block at the root's height is SEQ_ECORRUPT, never skipped:
 *      QCs only form on blocks that extend the committed chain, so a
 *      correct run cannot have stored anything else. With no commit yet the
 *      root is genesis, which the core derives and checks itself.
 * (R4) A stored high QC below the root's height is older than the root's
 *      own QC, which replaces it; no high QC at all also means the root's
 *      QC. A high QC at the root's height must certify the root itself
 *      (R3 with no link to follow).
 * (R5) rec.blocks are the blocks strictly above the root up to and
 *      including the high QC's block, in ascending height: each extends
 *      the root or the block before it, as hs_core_new() requires.
 ******************************************************************************/

#include "store_recover.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "seq_alloc.h"
#include "seq_hex.h"

/* Bytes of an id shown in error messages. */
#define RECOVER_ID_SHOWN 8

static void id_text(const struct seq_hash *id,
                    char out[2 * RECOVER_ID_SHOWN + 1])
{
    seq_hex_encode(id->bytes, RECOVER_ID_SHOWN, out);
}

/* Load the committed tip at @height and its QC (R2). */
static int load_root(struct store *s,
                     struct store_recovery *out,
                     hs_height_t height)
{
    char text[2 * RECOVER_ID_SHOWN + 1];
    struct seq_hash id;
    int rv;

    rv = store_get_commit(s, height, &id);
    if (rv == SEQ_ENOTFOUND) {
        snprintf(s->errmsg, SEQ_ERRMSG_LEN,
                 "recovery: committed height %" PRIu64 " has no block id",
                 height);
        return SEQ_ECORRUPT;
    }
    if (rv != 0) {
        return rv;
    }
    id_text(&id, text);
    rv = store_get_block(s, &id, &out->root);
    if (rv == SEQ_ENOTFOUND) {
        snprintf(s->errmsg, SEQ_ERRMSG_LEN,
                 "recovery: committed block %s at height %" PRIu64
                 " is missing",
                 text, height);
        return SEQ_ECORRUPT;
    }
    if (rv != 0) {
        return rv;
    }
    out->has_root = true;
    if (out->root.height != height || !seq_hash_eq(&out->root.id, &id)) {
        snprintf(s->errmsg, SEQ_ERRMSG_LEN,
                 "recovery: block stored as %s at height %" PRIu64
                 " has height %" PRIu64 " or another id",
                 text, height, out->root.height);
        return SEQ_ECORRUPT;
    }
    rv = store_get_qc(s, &id, &out->root_qc);
    if (rv == SEQ_ENOTFOUND) {
        snprintf(s->errmsg, SEQ_ERRMSG_LEN,
                 "recovery: no QC for committed block %s at height %" PRIu64,
                 text, height);
        return SEQ_ECORRUPT;
    }
    if (rv != 0) {
        return rv;
    }
    if (!seq_hash_eq(&out->root_qc.block_id, &id)) {
        snprintf(s->errmsg, SEQ_ERRMSG_LEN,
                 "recovery: QC stored for block %s certifies another block",
                 text);
        return SEQ_ECORRUPT;
    }
    return SEQ_OK;
}

static void blocks_free(struct hs_block *blocks, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        hs_block_free(&blocks[i]);
    }
    seq_free(blocks);
}

/* Walk from the high QC's block down to the root, which sits at
 * @root_height (R3), and keep the blocks in ascending height (R5). */
static int load_chain(struct store *s,
                      struct store_recovery *out,
                      hs_height_t root_height)
{
    char text[2 * RECOVER_ID_SHOWN + 1];
    struct hs_block *blocks = NULL;
    const struct hs_block **ptrs;
    struct seq_hash id = out->high_qc.block_id;
    hs_height_t height = out->high_qc.height;
    size_t n = 0;
    size_t cap = 0;
    size_t i;
    int rv;

    while (height > root_height) {
        if (n == cap) {
            size_t n_new = cap == 0 ? 16 : cap * 2;
            struct hs_block *grown;

            grown = seq_realloc(blocks, n_new * sizeof *blocks);
            if (grown == NULL) {
                rv = SEQ_ENOMEM;
                goto err;
            }
            blocks = grown;
            cap = n_new;
        }
        id_text(&id, text);
        rv = store_get_block(s, &id, &blocks[n]);
        if (rv == SEQ_ENOTFOUND) {
            snprintf(s->errmsg, SEQ_ERRMSG_LEN,
                     "recovery: block %s at height %" PRIu64
                     " on the high QC's chain is missing",
                     text, height);
            rv = SEQ_ECORRUPT;
            goto err;
        }
        if (rv != 0) {
            goto err;
        }
        n++;
        if (blocks[n - 1].height != height ||
            !seq_hash_eq(&blocks[n - 1].id, &id)) {
            snprintf(s->errmsg, SEQ_ERRMSG_LEN,
                     "recovery: block stored as %s has height %" PRIu64
                     " or another id, expected height %" PRIu64,
                     text, blocks[n - 1].height, height);
            rv = SEQ_ECORRUPT;
            goto err;
        }
        id = blocks[n - 1].parent_id;
        height--;
    }
    if (out->has_root && !seq_hash_eq(&id, &out->root.id)) {
        id_text(&id, text);
        snprintf(s->errmsg, SEQ_ERRMSG_LEN,
                 "recovery: the high QC's chain reaches block %s at height "
                 "%" PRIu64 ", not the committed root",
                 text, root_height);
        rv = SEQ_ECORRUPT;
        goto err;
    }
    if (n == 0) {
        return SEQ_OK;
    }
    ptrs = seq_calloc(n, sizeof *ptrs);
    if (ptrs == NULL) {
        rv = SEQ_ENOMEM;
        goto err;
    }
    /* Collected from the top down; the core wants them bottom up. */
    for (i = 0; i < n / 2; i++) {
        struct hs_block tmp = blocks[i];

        blocks[i] = blocks[n - 1 - i];
        blocks[n - 1 - i] = tmp;
    }
    for (i = 0; i < n; i++) {
        ptrs[i] = &blocks[i];
    }
    out->blocks = blocks;
    out->block_ptrs = ptrs;
    out->rec.blocks = ptrs;
    out->rec.n_blocks = n;
    return SEQ_OK;

err:
    blocks_free(blocks, n);
    return rv;
}

int store_recovery_load(struct store *s, struct store_recovery *out)
{
    hs_height_t root_height = 0;
    bool has_safety = true;
    bool has_commit = true;
    bool has_high_qc = true;
    int rv;

    memset(out, 0, sizeof *out);
    rv = store_get_safety(s, &out->rec.safety);
    if (rv == SEQ_ENOTFOUND) {
        has_safety = false;
    } else if (rv != 0) {
        goto err;
    }
    rv = store_committed_height(s, &root_height);
    if (rv == SEQ_ENOTFOUND) {
        has_commit = false;
    } else if (rv != 0) {
        goto err;
    }
    rv = store_get_high_qc(s, &out->high_qc);
    if (rv == SEQ_ENOTFOUND) {
        has_high_qc = false;
    } else if (rv != 0) {
        goto err;
    }
    if (!has_safety && (has_commit || has_high_qc)) { /* (R1) */
        snprintf(s->errmsg, SEQ_ERRMSG_LEN,
                 "recovery: blocks were certified or committed but the "
                 "safety state is missing; refusing to start");
        rv = SEQ_ECORRUPT;
        goto err;
    }
    if (has_commit) {
        rv = load_root(s, out, root_height);
        if (rv != 0) {
            goto err;
        }
        /* (R4); one at the root's height is checked by load_chain(). */
        if (!has_high_qc || out->high_qc.height < root_height) {
            out->high_qc = out->root_qc;
            has_high_qc = true;
        }
    }
    if (has_high_qc) {
        rv = load_chain(s, out, root_height);
        if (rv != 0) {
            goto err;
        }
        out->rec.high_qc = &out->high_qc;
    }
    if (out->has_root) {
        out->rec.root = &out->root;
        out->rec.root_qc = &out->root_qc;
    }
    rv = store_get_high_tc(s, &out->high_tc);
    if (rv == 0) {
        out->rec.high_tc = &out->high_tc;
    } else if (rv != SEQ_ENOTFOUND) {
        goto err;
    }
    return SEQ_OK;

err:
    store_recovery_free(out);
    return rv;
}

void store_recovery_free(struct store_recovery *r)
{
    if (r == NULL) {
        return;
    }
    blocks_free(r->blocks, r->rec.n_blocks);
    seq_free(r->block_ptrs);
    if (r->has_root) {
        hs_block_free(&r->root);
    }
    memset(r, 0, sizeof *r);
}
