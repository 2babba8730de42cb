#include "napi_args.h"
#include "platform/platform.h"

#define RM_MAX_SAFE_INTEGER 9007199254740991.0

int rm_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want) {
    napi_throw_type_error(env, "ERR_MMAP_INVALID_ARGUMENT",
                          "native call received too few arguments");
    return 0;
  }
  return 1;
}

int rm_u64(napi_env env, napi_value v, uint64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) ||
      d > RM_MAX_SAFE_INTEGER || d != (double)(uint64_t)d) {
    napi_throw_range_error(env, "ERR_MMAP_INVALID_ARGUMENT",
                           "native call received an offset or length that is not a "
                           "whole number in [0, 2^53)");
    return 0;
  }
  *out = (uint64_t)d;
  return 1;
}

int rm_u32(napi_env env, napi_value v, uint32_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 4294967295.0 ||
      d != (double)(uint32_t)d) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "native call received a token, index or count that is not a "
                           "whole number in [0, 2^32)");
    return 0;
  }
  *out = (uint32_t)d;
  return 1;
}

int rm_i32(napi_env env, napi_value v, int32_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= -2147483648.0) ||
      d > 2147483647.0 || d != (double)(int32_t)d) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "native call received a value that is not a whole number "
                           "in [-2^31, 2^31)");
    return 0;
  }
  *out = (int32_t)d;
  return 1;
}

int rm_bool(napi_env env, napi_value v) {
  bool b = false;
  napi_get_value_bool(env, v, &b);
  return b;
}

int rm_named_bool(napi_env env, napi_value obj, const char *name) {
  napi_value v;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return 0;
  return rm_bool(env, v);
}

void rm_page_span(const rm_mapping *m, uint64_t offset, uint64_t length, uint8_t **addr,
                  size_t *len) {
  uint64_t page = (uint64_t)rm_page_size();
  uint64_t start = offset & ~(page - 1);
  uint64_t end = (offset + length + page - 1) & ~(page - 1);
  if (end > m->map_len) end = m->map_len;
  *addr = m->base + start;
  *len = (size_t)(end - start);
}

rm_mapping *rm_acquire_span(napi_env env, napi_value *argv, uint64_t *offset,
                            uint64_t *length, uint8_t **addr, size_t *len) {
  uint64_t key;
  if (!rm_u64(env, argv[0], &key) || !rm_u64(env, argv[1], offset) ||
      !rm_u64(env, argv[2], length))
    return NULL;
  rm_mapping *m = rm_table_acquire(key);
  if (m == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the file mapping is closed");
    return NULL;
  }
  if (*offset > m->size || *length > m->size - *offset) {
    rm_table_release(m);
    napi_throw_range_error(env, "ERR_MMAP_OUT_OF_BOUNDS",
                           "native call range lies outside the file");
    return NULL;
  }
  if (addr != NULL) {
    rm_page_span(m, *offset, *length, addr, len);
    if (*length == 0) *len = 0;
  }
  return m;
}

napi_value rm_double(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

napi_value rm_undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}
