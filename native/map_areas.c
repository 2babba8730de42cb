#include "map_areas.h"

#include <stdatomic.h>

static _Atomic uint64_t used = 0;
/* Until TypeScript sets it from /proc/sys/vm/max_map_count: the kernel's
 * default limit (65530) less a quarter for the rest of the process. */
static _Atomic uint64_t cap = 65530 - 65530 / 4;

int rm_maps_take(uint32_t n) {
  /* A compare-and-swap loop, not add-then-check: two threads near the cap
   * must not both pass it. */
  uint64_t now = atomic_load(&used);
  do {
    if (now + n > atomic_load(&cap)) return RM_EMAPLIMIT;
  } while (!atomic_compare_exchange_weak(&used, &now, now + n));
  return 0;
}

void rm_maps_add(uint32_t n) { atomic_fetch_add(&used, n); }

void rm_maps_give(uint32_t n) { atomic_fetch_sub(&used, n); }

uint64_t rm_maps_used(void) { return atomic_load(&used); }

uint64_t rm_maps_cap(void) { return atomic_load(&cap); }

void rm_maps_set_cap(uint64_t c) { atomic_store(&cap, c); }
