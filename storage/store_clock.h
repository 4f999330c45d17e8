/* Monotonic microseconds, for what the RocksDB store measures of itself
 * (sync and fold durations in its stats). Never for anything the store's
 * behaviour depends on, and not for store_mem, the simulator's disk. */

#ifndef SEQ_STORAGE_STORE_CLOCK_H
#define SEQ_STORAGE_STORE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t store_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#endif /* SEQ_STORAGE_STORE_CLOCK_H */
