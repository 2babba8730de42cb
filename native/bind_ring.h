#ifndef RANGED_MMAP_BIND_RING_H
#define RANGED_MMAP_BIND_RING_H

#include <node_api.h>

/* Adds the ring bindings (ringCreate, ringClose, liveRings, pageSize,
 * ringMaxCapacity) to `exports`. Returns 1, or 0 with an exception pending. */
int rm_register_ring(napi_env env, napi_value exports);

#endif
