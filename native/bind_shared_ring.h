#ifndef RANGED_MMAP_BIND_SHARED_RING_H
#define RANGED_MMAP_BIND_SHARED_RING_H

#include <node_api.h>

/* SharedRing bindings (sr*). The functions addon.c's
 * table lists. */
napi_value js_sr_create(napi_env env, napi_callback_info info);
napi_value js_sr_open(napi_env env, napi_callback_info info);
napi_value js_sr_attach(napi_env env, napi_callback_info info);
napi_value js_sr_claim(napi_env env, napi_callback_info info);
napi_value js_sr_peer(napi_env env, napi_callback_info info);
napi_value js_sr_wait(napi_env env, napi_callback_info info);
napi_value js_sr_wake(napi_env env, napi_callback_info info);
napi_value js_sr_wait_async(napi_env env, napi_callback_info info);
napi_value js_sr_close(napi_env env, napi_callback_info info);

#endif
