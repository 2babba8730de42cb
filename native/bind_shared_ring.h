#ifndef RANGED_MMAP_BIND_SHARED_RING_H
#define RANGED_MMAP_BIND_SHARED_RING_H

#include <node_api.h>

/* Adds the SharedRing bindings (sr*) to `exports`; 1, or 0 with an
 * exception pending. Called by rm_register_ring. */
int rm_register_shared_ring(napi_env env, napi_value exports);

#endif
