/*
 * copyMany: the native half of readAtMany / writeAtMany.
 *
 * TypeScript has already checked every offset (a whole number, the item
 * inside the window) before calling; this file checks each item again
 * against the mapping as it is now, because the offsets live in memory
 * JavaScript can change (another thread may hold the same buffer) and the
 * file may have been resized in another thread since TypeScript looked.
 */
#include "batch_ops.h"
#include "file_ops.h"
#include "mapping_table.h"
#include "napi_args.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

/* A typed array of the given kind, read from its internal slots. */
static int typed_of(napi_env env, napi_value v, napi_typedarray_type want, void **data,
                    size_t *count) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, count, data, NULL, NULL) != napi_ok ||
      type != want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          want == napi_float64_array
                              ? "native copyMany expects a Float64Array of offsets"
                              : "native copyMany expects a Uint8Array");
    return 0;
  }
  return 1;
}

/* copyMany(key, base, limit, offsets, count, length, bytes, intoMapping)
 *   -> count when every item was copied;
 *      i (0 <= i < count) when item i lies outside the file (nothing copied
 *        from i on);
 *      -(i + 1) when a page fault was caught while item i was copied (item i
 *        went through the guard's zero page; nothing copied after it).
 * Item i is [base + offsets[i], + length) in the file and
 * [i * length, + length) in bytes; offsets are relative to the window that
 * starts at `base` and is `limit` bytes long. */
napi_value js_copy_many(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  uint64_t key, base, limit, count, length;
  double *offsets = NULL;
  uint8_t *bytes = NULL;
  size_t n_offsets = 0, n_bytes = 0;
  if (!rm_args(env, info, 8, argv) || !rm_u64(env, argv[0], &key) ||
      !rm_u64(env, argv[1], &base) || !rm_u64(env, argv[2], &limit) ||
      !typed_of(env, argv[3], napi_float64_array, (void **)&offsets, &n_offsets) ||
      !rm_u64(env, argv[4], &count) || !rm_u64(env, argv[5], &length) ||
      !typed_of(env, argv[6], napi_uint8_array, (void **)&bytes, &n_bytes))
    return NULL;
  /* The true lengths (detached buffers report 0), never what JavaScript
   * claimed: count items of length bytes must fit in both arrays. */
  if (count > n_offsets || (length != 0 && count > n_bytes / length)) {
    napi_throw_range_error(env, "ERR_MMAP_OUT_OF_BOUNDS",
                           "native copyMany: the arrays are shorter than the batch");
    return NULL;
  }
  int into_mapping = rm_bool(env, argv[7]);
  rm_mapping *m = rm_table_acquire(key);
  if (m == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the file mapping is closed");
    return NULL;
  }
  if (into_mapping && m->access == RM_ACCESS_RO) {
    /* The pages are PROT_READ: a store would be SIGSEGV, not a fault. */
    rm_table_release(m);
    napi_throw_error(env, "ERR_MMAP_INVALID_MODE", "copyMany into a read-only mapping");
    return NULL;
  }
  /* The window as far as it lies inside the mapping now. */
  uint64_t end = base > m->size ? 0 : (limit > m->size - base ? m->size - base : limit);
  uint8_t *window = m->base + (base > m->size ? 0 : base);
  /* The guard bumps this counter when it swaps a zero page in under a copy;
   * a change during item i means item i met a lost page. TypeScript calls
   * only with the counter at 0, but any value works as the baseline. */
  _Atomic int32_t *faults = (_Atomic int32_t *)m->status;
  int32_t before = atomic_load(faults);
  double result = (double)count;
  for (uint64_t i = 0; i < count; i++) {
    double d = offsets[i];
    /* NaN fails d >= 0, infinities and 2^53 up the second test, so the
     * cast is defined; a fraction then fails the round trip. */
    if (!(d >= 0 && d < 9007199254740992.0)) {
      result = (double)i;
      break;
    }
    uint64_t off = (uint64_t)d;
    if ((double)off != d || off > end || length > end - off) {
      result = (double)i;
      break;
    }
    uint8_t *item = bytes + i * length;
    /* memmove: the buffer may itself be a view of this mapping. */
    if (into_mapping)
      memmove(window + off, item, (size_t)length);
    else
      memmove(item, window + off, (size_t)length);
    if (atomic_load(faults) != before) {
      result = -(double)i - 1;
      break;
    }
  }
  rm_table_release(m);
  return rm_double(env, result);
}
