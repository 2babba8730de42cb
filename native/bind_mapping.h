/*
 * The bindings of a mapped file (see bind_mapping.c): the functions
 * addon.c's table lists.
 */
#ifndef RANGED_MMAP_BIND_MAPPING_H
#define RANGED_MMAP_BIND_MAPPING_H

#include <node_api.h>

napi_value js_fault_info(napi_env env, napi_callback_info info);
napi_value js_open(napi_env env, napi_callback_info info);
napi_value js_open_async(napi_env env, napi_callback_info info);
napi_value js_sync(napi_env env, napi_callback_info info);
napi_value js_sync_async(napi_env env, napi_callback_info info);
napi_value js_advise(napi_env env, napi_callback_info info);
napi_value js_populate(napi_env env, napi_callback_info info);
napi_value js_resident_pages(napi_env env, napi_callback_info info);
napi_value js_pwrite(napi_env env, napi_callback_info info);
napi_value js_copy_async(napi_env env, napi_callback_info info);
napi_value js_fill_async(napi_env env, napi_callback_info info);
napi_value js_guard_ensure(napi_env env, napi_callback_info info);
napi_value js_ticket_issue(napi_env env, napi_callback_info info);
napi_value js_ticket_claim(napi_env env, napi_callback_info info);
napi_value js_live_mappings(napi_env env, napi_callback_info info);
napi_value js_map_areas(napi_env env, napi_callback_info info);
napi_value js_set_map_area_cap(napi_env env, napi_callback_info info);

#endif
