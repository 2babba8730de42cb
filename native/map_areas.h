/*
 * The memory-map areas (VMAs) this library holds, counted process-wide and
 * held under a cap that TypeScript sets below the kernel's
 * vm.max_map_count. Past that limit every mmap of the process fails,
 * including V8's own, which then aborts the process: refusing our own
 * mappings first, with a typed error, leaves Node the room it needs.
 */
#ifndef RANGED_MMAP_MAP_AREAS_H
#define RANGED_MMAP_MAP_AREAS_H

#include <stdint.h>

/* Not an errno (those are small): the "error" rm_maps_take reports, which
 * sys_errors.c turns into ERR_MMAP_MAP_LIMIT instead of a system error. */
#define RM_EMAPLIMIT 100000

/* Counts `n` more areas, or returns RM_EMAPLIMIT (counting nothing) when
 * that would pass the cap. Call before mapping; give back on failure. */
int rm_maps_take(uint32_t n);

/* Counts `n` more areas even past the cap (a shrink splitting a mapping
 * cannot be refused half-way). */
void rm_maps_add(uint32_t n);

/* Gives back `n` areas after unmapping them. */
void rm_maps_give(uint32_t n);

/* Areas counted now, and the cap. */
uint64_t rm_maps_used(void);
uint64_t rm_maps_cap(void);

/* Sets the cap (TypeScript, at load; tests lower it). */
void rm_maps_set_cap(uint64_t cap);

#endif
