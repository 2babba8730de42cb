/*
 * Readers for the arguments every binding takes. One copy for the whole
 * native core: each refuses (throws and returns 0) anything but exactly
 * what it names, so no fraction, NaN, negative number or stray type is ever
 * coerced into a key, offset, length or index that reaches a system call.
 */
#ifndef RANGED_MMAP_NAPI_ARGS_H
#define RANGED_MMAP_NAPI_ARGS_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#include "mapping_table.h"

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

/* The one span helper: the mapping with key argv[0] (one reference, for the
 * caller to release) and [argv[1], argv[1] + argv[2]) in *offset and
 * *length, checked to lie inside the file; NULL with ERR_MMAP_CLOSED or
 * ERR_MMAP_OUT_OF_BOUNDS pending. With `addr` and `len` not NULL, also the
 * whole pages that cover the span (msync, madvise and mlock want a
 * page-aligned start), clipped to the mapping; *len is 0 for an empty span. */
rm_mapping *rm_acquire_span(napi_env env, napi_value *argv, uint64_t *offset,
                            uint64_t *length, uint8_t **addr, size_t *len);

/* The whole pages that cover [offset, offset + length) of m, clipped to the
 * mapping (the span is already checked to lie inside the file). */
void rm_page_span(const rm_mapping *m, uint64_t offset, uint64_t length, uint8_t **addr,
                  size_t *len);

/* Small values every binding returns. */
napi_value rm_double(napi_env env, double d);
napi_value rm_undefined(napi_env env);

#endif
