/* A protobuf-c allocator with a byte budget, shared by every decoder of
 * untrusted protobuf (proto/wire.c for validators' frames, libseqclient's
 * namespace blocks). Allocations come from chunks that are freed together
 * by pb_arena_close(); free() does nothing. An allocation beyond the
 * budget fails, so a hostile message of many tiny elements cannot make a
 * decoder allocate far more than its size; `oom` tells a real allocation
 * failure (SEQ_ENOMEM) from a spent budget (a hostile message). Part of
 * seq_proto_client, which depends on protobuf-c and seq_common only. */

#ifndef SEQ_PROTO_PB_ARENA_H
#define SEQ_PROTO_PB_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct pb_arena_chunk;

struct pb_arena {
    ProtobufCAllocator base; /* Hand &base to protobuf-c. */
    struct pb_arena_chunk *head;
    size_t left;       /* Budget left, in bytes. */
    size_t next_chunk; /* Size of the next ordinary chunk. */
    bool oom;          /* seq_malloc failed, as opposed to budget spent. */
};

/* Chunks start at @first_chunk bytes and double up to 256 KiB; an
 * allocation bigger than a quarter of the next chunk gets its own. */
void pb_arena_init(struct pb_arena *a, size_t budget, size_t first_chunk);
/* @size bytes aligned for any object, or NULL (budget or memory). */
void *pb_arena_alloc(struct pb_arena *a, size_t size);
/* @n objects of @size bytes, or NULL (also on overflow). */
void *pb_arena_array(struct pb_arena *a, size_t n, size_t size);
void pb_arena_close(struct pb_arena *a);

#endif /* SEQ_PROTO_PB_ARENA_H */
