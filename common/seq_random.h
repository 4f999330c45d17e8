/* Secret randomness from the operating system (getrandom(2)), for key
 * generation and nothing else. Never called from consensus/ or mempool/:
 * the core is deterministic and gets its keys and seeds from outside. */

#ifndef SEQ_COMMON_SEQ_RANDOM_H
#define SEQ_COMMON_SEQ_RANDOM_H

#include <stddef.h>

/* Fill @buf with @len bytes of cryptographically secure randomness.
 * Returns 0 or SEQ_EIO (the kernel refused; errno-based text in the log is
 * the caller's business). Blocks only until the kernel's pool is seeded. */
int seq_random_bytes(void *buf, size_t len);

#endif /* SEQ_COMMON_SEQ_RANDOM_H */
