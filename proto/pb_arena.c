/* A budgeted protobuf-c allocator (pb_arena.h). */

#include "pb_arena.h"

#include <stdalign.h>
#include <stdint.h>

#include "seq_alloc.h"

#define ARENA_ALIGN     alignof(max_align_t)
#define ARENA_CHUNK_MAX (256u * 1024)

struct pb_arena_chunk {
    struct pb_arena_chunk *next;
    size_t size; /* Usable bytes after the header. */
    size_t used;
};

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static uint8_t *chunk_data(struct pb_arena_chunk *c)
{
    return (uint8_t *)c + align_up(sizeof(struct pb_arena_chunk));
}

void *pb_arena_alloc(struct pb_arena *a, size_t size)
{
    struct pb_arena_chunk *c = a->head;
    size_t need;
    size_t chunk_size;

    /* Checked before rounding so that a huge size cannot wrap. */
    if (size > a->left || size > SIZE_MAX - ARENA_CHUNK_MAX) {
        return NULL;
    }
    need = align_up(size == 0 ? 1 : size);
    if (need > a->left) {
        return NULL;
    }
    a->left -= need;
    if (c != NULL && c->size - c->used >= need) {
        c->used += need;
        return chunk_data(c) + c->used - need;
    }
    chunk_size = need > a->next_chunk / 4 ? need : a->next_chunk;
    c = seq_malloc(align_up(sizeof(struct pb_arena_chunk)) + chunk_size);
    if (c == NULL) {
        a->oom = true;
        return NULL;
    }
    c->size = chunk_size;
    c->used = need;
    if (chunk_size == need && a->head != NULL) {
        /* A dedicated chunk: keep allocating from the current head. */
        c->next = a->head->next;
        a->head->next = c;
    } else {
        c->next = a->head;
        a->head = c;
        if (a->next_chunk < ARENA_CHUNK_MAX) {
            a->next_chunk *= 2;
        }
    }
    return chunk_data(c);
}

void *pb_arena_array(struct pb_arena *a, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    return pb_arena_alloc(a, n * size);
}

static void *base_alloc(void *data, size_t size)
{
    return pb_arena_alloc(data, size);
}

static void base_free(void *data, void *ptr)
{
    /* Everything goes at once in pb_arena_close(). */
    (void)data;
    (void)ptr;
}

void pb_arena_init(struct pb_arena *a, size_t budget, size_t first_chunk)
{
    a->base.alloc = base_alloc;
    a->base.free = base_free;
    a->base.allocator_data = a;
    a->head = NULL;
    a->left = budget;
    a->next_chunk = first_chunk;
    a->oom = false;
}

void pb_arena_close(struct pb_arena *a)
{
    struct pb_arena_chunk *c = a->head;

    while (c != NULL) {
        struct pb_arena_chunk *next = c->next;

        seq_free(c);
        c = next;
    }
    a->head = NULL;
}
