/*
 * Batch copies: many equal-length items between the mapping and one packed
 * buffer in one native call (readAtMany / writeAtMany in TypeScript).
 * Listed in addon.c's export table.
 */
#ifndef RANGED_MMAP_BATCH_OPS_H
#define RANGED_MMAP_BATCH_OPS_H

#include <node_api.h>

/* copyMany(key, base, limit, offsets, count, length, bytes, intoMapping): see
 * batch_ops.c. */
napi_value js_copy_many(napi_env env, napi_callback_info info);

#endif
