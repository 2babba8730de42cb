/*
 * Readers for the arguments every binding takes. One copy for the whole
 * native core: each refuses (throws and returns 0) anything but exactly
 * what it names, so no fraction, NaN, negative number or stray type is ever
 * coerced into a key, offset, length or index that reaches a system call.
 */
#ifndef RANGED_MMAP_NAPI_ARGS_H
#define RANGED_MMAP_NAPI_ARGS_H

#include <node_api.h>
#include <stdint.h>

/* Fills argv with the first `want` arguments; throws when fewer came. */
int rm_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);

/* A whole number in [0, 2^53). */
int rm_u64(napi_env env, napi_value v, uint64_t *out);

/* A whole number in [0, 2^32). */
int rm_u32(napi_env env, napi_value v, uint32_t *out);

/* A whole number in [-2^31, 2^31): a futex word's expected value. */
int rm_i32(napi_env env, napi_value v, int32_t *out);

/* A boolean (anything else reads as false: flags default to off). */
int rm_bool(napi_env env, napi_value v);

/* The boolean property `name` of an options object (false when absent). */
int rm_named_bool(napi_env env, napi_value obj, const char *name);

#endif
