#ifndef RANGED_MMAP_BIND_RING_H
#define RANGED_MMAP_BIND_RING_H

#include <node_api.h>

/* Ring bindings (ringCreate, ringClose, liveRings); pageSize and
 * ringMaxCapacity are values in addon.c's table. The functions addon.c's
 * table lists. */
napi_value js_ring_create(napi_env env, napi_callback_info info);
napi_value js_ring_close(napi_env env, napi_callback_info info);
napi_value js_live_rings(napi_env env, napi_callback_info info);

#endif
