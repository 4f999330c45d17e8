/* The allocator hook. Every allocation passes through should_fail(), which
 * counts it and, when a test asked for it, refuses it. Tests walk N from 1
 * upwards, failing the Nth allocation of an operation each time, until the
 * operation succeeds without hitting the failure; every failure path in
 * between must return SEQ_ENOMEM and leak nothing (raft's heap fixture, curl's
 * torture tests, SQLite's malloc failure tests).
 *
 * A zero-byte request is served as one byte, so that NULL always means "out
 * of memory" and callers need no special case for empty arrays. The counters
 * are relaxed atomics: failure injection is meant for one test thread, but a
 * helper thread that allocates must not turn the count into a data race. */

#include "seq_alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

static atomic_ulong alloc_count;
static atomic_ulong fail_at;   /* Count at which to fail; 0 = never. */
static atomic_int fail_sticky; /* Also fail every allocation after it. */

/* Counts one attempted allocation and says whether to refuse it. */
static int should_fail(void)
{
    unsigned long n =
        atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) + 1;
    unsigned long at = atomic_load_explicit(&fail_at, memory_order_relaxed);

    if (at == 0 || n < at) {
        return 0;
    }
    return n == at ||
           atomic_load_explicit(&fail_sticky, memory_order_relaxed) != 0;
}

void *seq_malloc(size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    return malloc(size == 0 ? 1 : size);
}

void *seq_calloc(size_t n, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    if (n == 0 || size == 0) {
        return calloc(1, 1);
    }
    return calloc(n, size);
}

/* Like realloc(3): on failure @ptr is untouched and still owned by the
 * caller. A NULL @ptr allocates; a zero @size keeps a one-byte block rather
 * than freeing, so the result is never ambiguous. */
void *seq_realloc(void *ptr, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    return realloc(ptr, size == 0 ? 1 : size);
}

void seq_free(void *ptr)
{
    free(ptr);
}

void seq_alloc_fail_at(unsigned long nth, int sticky)
{
    unsigned long now =
        atomic_load_explicit(&alloc_count, memory_order_relaxed);

    atomic_store_explicit(&fail_sticky, sticky != 0, memory_order_relaxed);
    atomic_store_explicit(&fail_at, nth == 0 ? 0 : now + nth,
                          memory_order_relaxed);
}

unsigned long seq_alloc_count(void)
{
    return atomic_load_explicit(&alloc_count, memory_order_relaxed);
}
