/*
 * wait/notify on an aligned 32-bit word of a mapping (futex), for
 * MemoryMappedFile.wait / waitAsync / notify. A shared (read-write) file
 * mapping gives a futex keyed by the file's page, so waiters and wakers in
 * other processes meet too. The futex itself is the platform layer's
 * (rm_plat_wait, rm_plat_wake).
 */
#ifndef RANGED_MMAP_WAIT_OPS_H
#define RANGED_MMAP_WAIT_OPS_H

#include <node_api.h>

/* This thread's waitAsync state, the data of futexWaitAsync and
 * futexWaitCancel in addon.c's table (freed with the environment); NULL with
 * an exception pending. */
void *rm_wait_state_new(napi_env env);

/* The module's functions (addon.c's table). */
napi_value js_wait(napi_env env, napi_callback_info info);
napi_value js_notify(napi_env env, napi_callback_info info);
napi_value js_wait_async(napi_env env, napi_callback_info info);
napi_value js_wait_cancel(napi_env env, napi_callback_info info);

#endif
