#include "napi_args.h"

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
