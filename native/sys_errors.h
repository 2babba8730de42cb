#ifndef RANGED_MMAP_SYS_ERRORS_H
#define RANGED_MMAP_SYS_ERRORS_H

#include <node_api.h>

/* Builds an Error carrying errno (negative, as libuv reports it), syscall
 * and, when given, path; TypeScript turns it into an MmapError. */
napi_value rm_make_errno_error(napi_env env, int err, const char *syscall,
                               const char *path);

/* Throws it. Always returns NULL, for `return rm_throw_errno(...)`. */
napi_value rm_throw_errno(napi_env env, int err, const char *syscall, const char *path);

#endif
