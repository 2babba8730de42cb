#include "sys_errors.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ETXTBSY: return "ETXTBSY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ELOOP: return "ELOOP";
    case EOVERFLOW: return "EOVERFLOW";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EDQUOT: return "EDQUOT";
    case EINTR: return "EINTR";
    case ENXIO: return "ENXIO";
    default: return "EUNKNOWN";
  }
}

static void set_string(napi_env env, napi_value obj, const char *name,
                       const char *value) {
  napi_value v;
  if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok)
    napi_set_named_property(env, obj, name, v);
}

napi_value rm_make_errno_error(napi_env env, int err, const char *syscall,
                               const char *path) {
  char message[4200];
  char description[256];
  const char *code = errno_name(err);
  /* Node words its fs errors in lower case ("no such file or directory"). */
  snprintf(description, sizeof description, "%s", strerror(err));
  if (description[0] >= 'A' && description[0] <= 'Z') description[0] += 'a' - 'A';
  if (path != NULL)
    snprintf(message, sizeof message, "%s: %s, %s '%s'", code, description,
             syscall, path);
  else
    snprintf(message, sizeof message, "%s: %s, %s", code, description, syscall);
  napi_value msg, code_v, error, errno_v;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v);
  napi_create_error(env, code_v, msg, &error);
  napi_create_int32(env, -err, &errno_v);
  napi_set_named_property(env, error, "errno", errno_v);
  set_string(env, error, "syscall", syscall);
  if (path != NULL) set_string(env, error, "path", path);
  return error;
}

napi_value rm_throw_errno(napi_env env, int err, const char *syscall,
                          const char *path) {
  napi_throw(env, rm_make_errno_error(env, err, syscall, path));
  return NULL;
}
