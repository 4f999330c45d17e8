/* Big-endian integers in byte strings: keys whose byte order is numeric
 * order (heights, run numbers) and fixed-width fields of stored values. */

#ifndef SEQ_COMMON_SEQ_BE_H
#define SEQ_COMMON_SEQ_BE_H

#include <stdint.h>

static inline void seq_be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t seq_be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static inline void seq_be64_put(uint8_t *p, uint64_t v)
{
    seq_be32_put(p, (uint32_t)(v >> 32));
    seq_be32_put(p + 4, (uint32_t)v);
}

static inline uint64_t seq_be64_get(const uint8_t *p)
{
    return (uint64_t)seq_be32_get(p) << 32 | seq_be32_get(p + 4);
}

#endif /* SEQ_COMMON_SEQ_BE_H */
