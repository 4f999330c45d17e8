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

#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, madvise */

#include "seq_alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

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

/* @size rounded up to whole huge pages, or 0 if that overflows. */
static size_t huge_len(size_t size)
{
    return size > SIZE_MAX - HUGE_PAGE
               ? 0
               : (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

/* Maps one huge page more than needed and unmaps the unaligned head and
 * the tail: the kernel backs a region with huge pages only where it is
 * 2 MiB-aligned. madvise() failing (THP disabled) is no error: the pages
 * are then small ones, as from calloc(). */
void *seq_calloc_huge(size_t size)
{
    size_t len = huge_len(size);
    uint8_t *map, *start;
    size_t head;

    if (size < SEQ_HUGE_MIN) {
        return seq_calloc(1, size);
    }
    if (should_fail() || len == 0 || len > SIZE_MAX - HUGE_PAGE) {
        return NULL;
    }
    map = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        return NULL;
    }
    head = (HUGE_PAGE - (uintptr_t)map % HUGE_PAGE) % HUGE_PAGE;
    start = map + head;
    if (head > 0) {
        munmap(map, head);
    }
    munmap(start + len, HUGE_PAGE - head);
    (void)madvise(start, len, MADV_HUGEPAGE);
    return start;
}

void seq_free_huge(void *ptr, size_t size)
{
    if (ptr == NULL) {
        return;
    }
    if (size < SEQ_HUGE_MIN) {
        seq_free(ptr);
        return;
    }
    munmap(ptr, huge_len(size));
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
