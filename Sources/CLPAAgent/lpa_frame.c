/* Length prefixes of the terminal protocol and the bounded arena protobuf-c decodes into. */
#include "lpa_agent.h"

size_t lpa_frame_prefix_encode(uint32_t length, uint8_t out[LPA_FRAME_PREFIX_MAX]) {
    size_t n = 0;
    if (length == 0 || length > LPA_FRAME_LIMIT_MAX) return 0;
    do {
        uint8_t byte = (uint8_t)(length & 0x7Fu);
        length >>= 7;
        out[n++] = length ? (uint8_t)(byte | 0x80u) : byte;
    } while (length);
    return n;
}

int lpa_frame_prefix_decode(const uint8_t *buf, size_t len, uint32_t *length) {
    uint32_t value = 0;
    size_t i;
    for (i = 0; i < LPA_FRAME_PREFIX_MAX; i++) {
        if (i >= len) return 0;
        value |= (uint32_t)(buf[i] & 0x7Fu) << (7 * i);
        if (!(buf[i] & 0x80u)) {
            if (value == 0) return LPA_ERR_PROTOCOL;
            *length = value;
            return (int)(i + 1);
        }
    }
    return LPA_ERR_PROTOCOL; /* the third byte continues */
}

#define LPA_ARENA_ALIGN 8u

void lpa_arena_init(lpa_arena *arena, void *buffer, size_t size) {
    uintptr_t start = (uintptr_t)buffer;
    size_t skip = (size_t)((LPA_ARENA_ALIGN - (start % LPA_ARENA_ALIGN)) % LPA_ARENA_ALIGN);
    arena->base = (uint8_t *)buffer + (skip < size ? skip : size);
    arena->size = skip < size ? size - skip : 0;
    arena->used = 0;
    arena->high_water = 0;
    arena->exhausted = 0;
}

void lpa_arena_reset(lpa_arena *arena) {
    arena->used = 0;
    arena->exhausted = 0;
}

void *lpa_arena_alloc(lpa_arena *arena, size_t size) {
    size_t rounded = (size + LPA_ARENA_ALIGN - 1) & ~(size_t)(LPA_ARENA_ALIGN - 1);
    void *p;
    if (size == 0) rounded = LPA_ARENA_ALIGN;
    if (rounded < size || rounded > arena->size - arena->used) {
        arena->exhausted = 1;
        return NULL;
    }
    p = arena->base + arena->used;
    arena->used += rounded;
    if (arena->used > arena->high_water) arena->high_water = arena->used;
    return p;
}
