/*
 * wait/notify on an aligned 32-bit word of a mapping (futex), for
 * MemoryMappedFile.wait / waitAsync / notify. A shared (read-write) file
 * mapping gives a futex keyed by the file's page, so waiters and wakers in
 * other processes meet too. Registered by mmapio_ops.c.
 */
#ifndef RANGED_MMAP_WAIT_OPS_H
#define RANGED_MMAP_WAIT_OPS_H

#include <node_api.h>

int rm_wait_register(napi_env env, napi_value exports);

#endif
