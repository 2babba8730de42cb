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
