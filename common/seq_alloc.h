/* The allocator hook. Every allocation in the project goes through these
 * calls so that tests can fail the Nth one (raft, curl torture tests) and
 * check that each failure path cleans up and reports SEQ_ENOMEM. */

#ifndef SEQ_COMMON_SEQ_ALLOC_H
#define SEQ_COMMON_SEQ_ALLOC_H

#include <stddef.h>

/* A zero-size request returns a valid 1-byte block, so NULL always means
 * out of memory. */
void *seq_malloc(size_t size);
void *seq_calloc(size_t n, size_t size); /* Checks n * size for overflow. */
void *seq_realloc(void *ptr, size_t size);
void seq_free(void *ptr); /* NULL is fine. */

/* A zeroed block of @size bytes for a big, long-lived table that is read
 * at random (the hash sets'): from SEQ_HUGE_MIN bytes up it is mapped on
 * its own, aligned to 2 MiB and marked for transparent huge pages, so that
 * random reads miss the TLB far less; below, it is seq_calloc()'s. Freed
 * only with seq_free_huge() and the same @size. NULL means out of memory. */
#define SEQ_HUGE_MIN ((size_t)4 << 20)
void *seq_calloc_huge(size_t size);
void seq_free_huge(void *ptr, size_t size); /* NULL is fine. */

/* Test hook: make the @nth allocation from now on fail (1 = the next one),
 * and every one after it if @sticky. 0 disables failure injection. Not
 * thread-safe; tests call it from their one thread. */
void seq_alloc_fail_at(unsigned long nth, int sticky);

/* Allocations attempted since the process started (failed ones included). */
unsigned long seq_alloc_count(void);

#endif /* SEQ_COMMON_SEQ_ALLOC_H */
