/* Field-by-field comparison of the structs a store gives back. A disk store
 * rebuilds structs, padding and all, so memcmp() of whole structs would
 * compare padding too. */

#ifndef SEQ_TESTS_LIB_STORE_EQ_H
#define SEQ_TESTS_LIB_STORE_EQ_H

#include <stdbool.h>

#include "hs_types.h"

/* True when @a and @b agree on epoch, round, height, block id and their
 * first n_sigs signatures (signer and bytes). */
bool qc_eq(const struct hs_qc *a, const struct hs_qc *b);

#endif /* SEQ_TESTS_LIB_STORE_EQ_H */
