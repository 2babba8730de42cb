/*
 * System errors cross to TypeScript as numbers: errno (negative, as Node
 * reports it), the system call and the path. TypeScript names them with
 * util.getSystemErrorMap(), the same table Node's own fs errors come from,
 * so no errno table is kept here.
 */
#include "sys_errors.h"

#include "map_areas.h"

#include <stdio.h>

static void set_string(napi_env env, napi_value obj, const char *name,
                       const char *value) {
  napi_value v;
  if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok)
    napi_set_named_property(env, obj, name, v);
}

/* ERR_MMAP_MAP_LIMIT: no system call failed; the count of areas reached the
 * cap. TypeScript writes the message from these numbers. */
static napi_value map_limit_error(napi_env env) {
  napi_value code, msg, error, v;
  napi_create_string_utf8(env, "ERR_MMAP_MAP_LIMIT", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, "too many memory-map areas", NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_double(env, (double)rm_maps_used(), &v);
  napi_set_named_property(env, error, "mapAreas", v);
  napi_create_double(env, (double)rm_maps_cap(), &v);
  napi_set_named_property(env, error, "mapAreaCap", v);
  return error;
}

napi_value rm_make_errno_error(napi_env env, int err, const char *syscall,
                               const char *path) {
  if (err == RM_EMAPLIMIT) return map_limit_error(env);
  char text[96];
  snprintf(text, sizeof text, "%s failed with errno %d", syscall, err);
  napi_value msg, error, errno_v;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_int32(env, -err, &errno_v);
  napi_set_named_property(env, error, "errno", errno_v);
  set_string(env, error, "syscall", syscall);
  if (path != NULL) set_string(env, error, "path", path);
  return error;
}

napi_value rm_throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  napi_throw(env, rm_make_errno_error(env, err, syscall, path));
  return NULL;
}
