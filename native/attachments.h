/*
 * Per-thread attachments: each thread (napi_env) that uses a mapping gets
 * its own ArrayBuffers over it (the status page and, made on first use, one
 * per RM_VIEW_BYTES of the file) and holds one reference to the mapping
 * while attached. The mapping table is process-wide; this list is not.
 */
#ifndef RANGED_MMAP_ATTACHMENTS_H
#define RANGED_MMAP_ATTACHMENTS_H

#include <node_api.h>

#include "mapping_table.h"

/* Node 20 caps one ArrayBuffer at 4 GiB; views are cut at 1 GiB so that
 * every view is far from that limit and boundary handling is exercised by
 * files of ordinary size in tests. Must match src/native/binding.ts. */
#define RM_VIEW_BYTES ((uint64_t)1 << 30)

/* Sets up this thread's (empty) list; 0 with an exception pending. */
int rm_attachments_init(napi_env env);

/* Gives this thread an attachment to m, taking over the caller's reference
 * to it: [key, size, token, statusBuffer, path, nonce, access, reserved],
 * or NULL with an exception pending (the reference is then released). */
napi_value rm_attach_mapping(napi_env env, rm_mapping *m);

/* The module's functions (addon.c's table). */
napi_value js_attach(napi_env env, napi_callback_info info);
napi_value js_attach_newest(napi_env env, napi_callback_info info);
napi_value js_view(napi_env env, napi_callback_info info);
napi_value js_detach(napi_env env, napi_callback_info info);
napi_value js_release(napi_env env, napi_callback_info info);
napi_value js_detach_view(napi_env env, napi_callback_info info);
napi_value js_thread_attachments(napi_env env, napi_callback_info info);

#endif
