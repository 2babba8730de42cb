#ifndef RANGED_MMAP_BIND_VMAP_H
#define RANGED_MMAP_BIND_VMAP_H

#include <node_api.h>

/* Adds the map bindings (mapCreate, mapExpose, mapClose, mapFlush,
 * mapFaults, liveMaps, mapMaxLength) to `exports`. Returns 1, or 0 with an
 * exception pending. */
int rm_register_vmap(napi_env env, napi_value exports);

#endif
