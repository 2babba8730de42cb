#ifndef RANGED_MMAP_BIND_RING_H
#define RANGED_MMAP_BIND_RING_H

#include <node_api.h>

/* Adds the vmap family's bindings to `exports`: the rings (ringCreate,
 * ringClose, liveRings, pageSize, ringMaxCapacity), and through
 * rm_register_shared_ring and rm_register_vmap the shared rings and the
 * maps. The one call addon.c's init makes for the whole family. Returns 1,
 * or 0 with an exception pending. */
int rm_register_ring(napi_env env, napi_value exports);

#endif
