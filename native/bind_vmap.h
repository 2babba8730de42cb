#ifndef RANGED_MMAP_BIND_VMAP_H
#define RANGED_MMAP_BIND_VMAP_H

#include <node_api.h>

/* Map bindings (mapCreate, mapExpose, mapClose, mapFlush, mapFaults,
 * liveMaps); mapMaxLength is a value in addon.c's table. The functions addon.c's
 * table lists. */
napi_value js_map_create(napi_env env, napi_callback_info info);
napi_value js_map_expose(napi_env env, napi_callback_info info);
napi_value js_map_close(napi_env env, napi_callback_info info);
napi_value js_map_flush(napi_env env, napi_callback_info info);
napi_value js_map_faults(napi_env env, napi_callback_info info);
napi_value js_live_maps(napi_env env, napi_callback_info info);

#endif
