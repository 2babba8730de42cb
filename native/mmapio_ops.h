/*
 * Bindings for MemoryMappedFile (src/mmapio/): page locking and the huge
 * page hint, resize, and the jobs of resizeAsync, touchAsync and
 * memLockAsync.
 */
#ifndef RANGED_MMAP_MMAPIO_OPS_H
#define RANGED_MMAP_MMAPIO_OPS_H

#include <node_api.h>

/* The module's functions (addon.c's table). */
napi_value js_mem_lock(napi_env env, napi_callback_info info);
napi_value js_mem_lock_async(napi_env env, napi_callback_info info);
napi_value js_huge_pages(napi_env env, napi_callback_info info);
napi_value js_resize(napi_env env, napi_callback_info info);
napi_value js_resize_async(napi_env env, napi_callback_info info);
napi_value js_touch_async(napi_env env, napi_callback_info info);

#endif

/* Where a resized mapping's status page records its successor's key (a
 * float64), read by every thread's next call to follow it. Far from the
 * core's own fields at the start of the page. */
#define RM_STATUS_SUCCESSOR_BYTE 2048
