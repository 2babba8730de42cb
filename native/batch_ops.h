/*
 * Batch copies: many equal-length items between the mapping and one packed
 * buffer in one native call (readAtMany / writeAtMany in TypeScript).
 * Registered on the module's exports by addon.c's init with one call.
 */
#ifndef RANGED_MMAP_BATCH_OPS_H
#define RANGED_MMAP_BATCH_OPS_H

#include <node_api.h>

/* Adds this file's functions to exports; 0 (with an exception pending) on failure. */
int rm_batch_register(napi_env env, napi_value exports);

#endif
