/*
 * Bindings for MemoryMappedFile (src/mmapio/): page locking and the huge
 * page hint. Registered on the module's exports by addon.c's init with one
 * call, so this family's native surface lives apart from the core's.
 */
#ifndef RANGED_MMAP_MMAPIO_OPS_H
#define RANGED_MMAP_MMAPIO_OPS_H

#include <node_api.h>

/* Adds this file's functions to exports; 0 (with an exception pending) on failure. */
int rm_mmapio_register(napi_env env, napi_value exports);

#endif

/* Where a resized mapping's status page records its successor's key (a
 * float64), read by every thread's next call to follow it. Far from the
 * core's own fields at the start of the page. */
#define RM_STATUS_SUCCESSOR_BYTE 2048
