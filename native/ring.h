/*
 * Ring memory: one memory object (memfd) mapped twice, back to back, so the
 * byte after the last one is the first one again. A read or a write that
 * crosses the end of the ring is one contiguous access. POSIX plus the
 * platform layer, no Node-API.
 */
#ifndef RANGED_MMAP_RING_H
#define RANGED_MMAP_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t *base;   /* 2 * capacity bytes: [0, cap) and [cap, 2 cap) alias */
  size_t capacity; /* a whole number of pages */
} rm_ring_mem;

/* Largest capacity a ring may have: its double mapping must fit one
 * ArrayBuffer on every Node version the package supports. */
#define RM_RING_MAX_CAPACITY ((size_t)1 << 30)

/* rm_page_size() comes from the platform layer. */
#include "platform/platform.h"

/* Maps a ring of at least `hint` bytes (rounded up to whole pages; hint must
 * be in [1, RM_RING_MAX_CAPACITY]). Returns 0, or a positive errno with
 * *syscall naming the refused call. Holds no descriptor afterwards: the two
 * mappings keep the memory object alive by themselves. */
int rm_ring_map(size_t hint, rm_ring_mem *out, const char **syscall);

/* Unmaps both halves. */
void rm_ring_unmap(rm_ring_mem *ring);

#endif
