/*
 * The module: its init and the one table of everything it exports. Each
 * row names a function of the file that implements it; nothing is
 * registered anywhere else, so this table is the C side of the seam, and
 * src/native/shape.ts (BINDING_EXPORTS) the TypeScript side, checked
 * against what this exports when the module loads.
 *
 * The module is context-aware: each thread (napi_env) that loads it gets its
 * own attachments (attachments.c) and waitAsync state (wait_ops.c), while
 * the mapping table itself is process-wide.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>

#include "attachments.h"
#include "batch_ops.h"
#include "bind_mapping.h"
#include "bind_ring.h"
#include "bind_shared_ring.h"
#include "bind_vmap.h"
#include "fault_guard.h"
#include "mapping_table.h"
#include "mmapio_ops.h"
#include "napi_args.h"
#include "ring.h"
#include "sys_errors.h"
#include "vmap_map.h"
#include "wait_ops.h"

/* A function row, one with per-thread data, and a value row. */
#define FN(name, fn)                                                                     \
  { name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL }
#define FN_DATA(name, fn, data)                                                          \
  { name, NULL, fn, NULL, NULL, NULL, napi_enumerable, data }
#define VALUE(name, value)                                                               \
  { name, NULL, NULL, NULL, NULL, value, napi_enumerable, NULL }

/* The status page layout (mapping_table.h), so TypeScript's copy of it can
 * be checked. */
static napi_value status_layout(napi_env env) {
  napi_value layout;
  napi_create_object(env, &layout);
  napi_set_named_property(env, layout, "faultsI32", rm_double(env, RM_STATUS_FAULTS_I32));
  napi_set_named_property(env, layout, "allocatorKindI32",
                          rm_double(env, RM_STATUS_ALLOC_KIND_I32));
  napi_set_named_property(env, layout, "faultOffsetF64",
                          rm_double(env, RM_STATUS_FAULT_OFFSET_F64));
  napi_set_named_property(env, layout, "allocNextI64",
                          rm_double(env, RM_STATUS_ALLOC_NEXT_I64));
  napi_set_named_property(env, layout, "allocNextPagesI32",
                          rm_double(env, RM_STATUS_ALLOC_PAGES_I32));
  napi_set_named_property(env, layout, "bytes", rm_double(env, RM_STATUS_BYTES));
  return layout;
}

static napi_value init(napi_env env, napi_value exports) {
  if (rm_fault_guard_ensure() < 0) return rm_throw_errno(env, errno, "sigaction", NULL);
  if (!rm_attachments_init(env)) return NULL;
  void *waits = rm_wait_state_new(env);
  if (waits == NULL) return NULL;
  napi_property_descriptor props[] = {
      /* a mapped file: open, per-thread attachments (attachments.c) */
      FN("open", js_open),
      FN("openAsync", js_open_async),
      FN("attach", js_attach),
      FN("attachNewest", js_attach_newest),
      FN("view", js_view),
      FN("detach", js_detach),
      FN("release", js_release),
      FN("detachView", js_detach_view),
      FN("liveMappings", js_live_mappings),
      FN("threadAttachments", js_thread_attachments),
      VALUE("viewBytes", rm_double(env, (double)RM_VIEW_BYTES)),
      VALUE("statusLayout", status_layout(env)),
      VALUE("statusSuccessorByte", rm_double(env, RM_STATUS_SUCCESSOR_BYTE)),
      /* sync, advice, copies (bind_mapping.c) */
      FN("sync", js_sync),
      FN("syncAsync", js_sync_async),
      FN("advise", js_advise),
      FN("populate", js_populate),
      FN("pwrite", js_pwrite),
      FN("residentPages", js_resident_pages),
      FN("copyAsync", js_copy_async),
      FN("fillAsync", js_fill_async),
      /* many equal-length items in one call (batch_ops.c) */
      FN("copyMany", js_copy_many),
      /* faults, the map-area count, allocator tickets (bind_mapping.c) */
      FN("faultInfo", js_fault_info),
      FN("guardEnsure", js_guard_ensure),
      FN("areaCount", js_map_areas),
      FN("setAreaCap", js_set_map_area_cap),
      FN("ticketIssue", js_ticket_issue),
      FN("ticketClaim", js_ticket_claim),
      /* MemoryMappedFile extras (mmapio_ops.c) */
      FN("memLock", js_mem_lock),
      FN("memLockAsync", js_mem_lock_async),
      FN("hugePages", js_huge_pages),
      FN("resize", js_resize),
      FN("resizeAsync", js_resize_async),
      FN("touchAsync", js_touch_async),
      /* wait/notify on a word of a mapping (wait_ops.c) */
      FN("futexWait", js_wait),
      FN("futexNotify", js_notify),
      FN_DATA("futexWaitAsync", js_wait_async, waits),
      FN_DATA("futexWaitCancel", js_wait_cancel, waits),
      /* rings (bind_ring.c) */
      FN("ringCreate", js_ring_create),
      FN("ringClose", js_ring_close),
      FN("liveRings", js_live_rings),
      VALUE("pageSize", rm_double(env, (double)rm_page_size())),
      VALUE("ringMaxCapacity", rm_double(env, (double)RM_RING_MAX_CAPACITY)),
      /* maps (bind_vmap.c) */
      FN("mapCreate", js_map_create),
      FN("mapExpose", js_map_expose),
      FN("mapClose", js_map_close),
      FN("mapFlush", js_map_flush),
      FN("mapFaults", js_map_faults),
      FN("liveMaps", js_live_maps),
      VALUE("mapMaxLength", rm_double(env, (double)RM_VMAP_MAX_LENGTH)),
      /* shared rings (bind_shared_ring.c) */
      FN("srCreate", js_sr_create),
      FN("srOpen", js_sr_open),
      FN("srAttach", js_sr_attach),
      FN("srClaim", js_sr_claim),
      FN("srPeer", js_sr_peer),
      FN("srWait", js_sr_wait),
      FN("srWake", js_sr_wake),
      FN("srWaitAsync", js_sr_wait_async),
      FN("srClose", js_sr_close),
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) !=
      napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
