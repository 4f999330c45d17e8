/* Field-by-field comparison of stored structs (see store_eq.h). */

#include "store_eq.h"

#include <stdint.h>
#include <string.h>

#include "seq_hash.h"

bool qc_eq(const struct hs_qc *a, const struct hs_qc *b)
{
    uint32_t i;

    if (a->epoch != b->epoch || a->round != b->round ||
        a->height != b->height || !seq_hash_eq(&a->block_id, &b->block_id) ||
        a->n_sigs != b->n_sigs) {
        return false;
    }
    for (i = 0; i < a->n_sigs; i++) {
        if (a->sigs[i].signer != b->sigs[i].signer ||
            memcmp(a->sigs[i].sig.bytes, b->sigs[i].sig.bytes, HS_SIG_LEN) !=
                0) {
            return false;
        }
    }
    return true;
}
