/*
 * Node-API bindings of the rings (native/ring.c): ringCreate, ringClose,
 * liveRings (listed, with the page size, in addon.c's table).
 *
 * A ring reaches JavaScript as one external ArrayBuffer over both halves of
 * its double mapping (2 * capacity bytes). The ring's native record is
 * attached to that ArrayBuffer (napi_wrap), so its lifetime is the
 * ArrayBuffer's: every view JavaScript holds keeps the buffer, and so the
 * memory, alive. close() detaches the buffer first (every view becomes
 * zero-length) and only then unmaps; a ring that is never closed is unmapped
 * when its buffer is garbage-collected.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "bind_ring.h"
#include "ring.h"
#include "sys_errors.h"

typedef struct {
  rm_ring_mem mem; /* mem.base == NULL once unmapped */
} ring_handle;

/* Tags the ArrayBuffers that carry a ring_handle, so no other object (a
 * file view, a map's buffer, a user's buffer) is ever taken for one. */
static const napi_type_tag RING_TAG = {0x72696e67626d6170ULL, 0x9b1d6c0e5f3a2d47ULL};

static _Atomic int64_t live_rings = 0;

static void ring_unmap(napi_env env, ring_handle *h) {
  if (h->mem.base == NULL) return;
  size_t cap = h->mem.capacity;
  rm_ring_unmap(&h->mem);
  atomic_fetch_sub(&live_rings, 1);
  int64_t ignored;
  if (env != NULL) napi_adjust_external_memory(env, -(int64_t)cap, &ignored);
}

/* The buffer was collected (or its thread is exiting): no view of it is
 * left anywhere, so the memory can go. */
static void ring_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  ring_handle *h = data;
  ring_unmap(env, h);
  free(h);
}

static int get_one_arg(napi_env env, napi_callback_info info, napi_value *arg) {
  size_t argc = 1;
  if (napi_get_cb_info(env, info, &argc, arg, NULL, NULL) != napi_ok) return 0;
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_MMAP_INVALID_ARGUMENT",
                          "native call received too few arguments");
    return 0;
  }
  return 1;
}

/* ringCreate(hint) -> ArrayBuffer of 2 * capacity bytes */
napi_value js_ring_create(napi_env env, napi_callback_info info) {
  napi_value arg;
  double hint = 0;
  if (!get_one_arg(env, info, &arg)) return NULL;
  if (napi_get_value_double(env, arg, &hint) != napi_ok || !(hint >= 1) ||
      hint > (double)RM_RING_MAX_CAPACITY || hint != (double)(uint64_t)hint) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "native ringCreate: capacity out of range");
    return NULL;
  }
  ring_handle *h = calloc(1, sizeof *h);
  if (h == NULL) return rm_throw_errno(env, ENOMEM, "malloc", NULL);
  const char *syscall = "mmap";
  int err = rm_ring_map((size_t)hint, &h->mem, &syscall);
  if (err != 0) {
    free(h);
    return rm_throw_errno(env, err, syscall, NULL);
  }
  atomic_fetch_add(&live_rings, 1);
  napi_value ab;
  if (napi_create_external_arraybuffer(env, h->mem.base, 2 * h->mem.capacity, NULL, NULL,
                                       &ab) != napi_ok) {
    ring_unmap(env, h);
    free(h);
    return NULL;
  }
  if (napi_type_tag_object(env, ab, &RING_TAG) != napi_ok ||
      napi_wrap(env, ab, h, ring_finalize, NULL, NULL) != napi_ok) {
    napi_detach_arraybuffer(env, ab);
    ring_unmap(env, h);
    free(h);
    return NULL;
  }
  int64_t ignored;
  napi_adjust_external_memory(env, (int64_t)h->mem.capacity, &ignored);
  return ab;
}

/* ringClose(arrayBuffer): detach (every view becomes zero-length), then
 * unmap. Closing twice is a no-op. */
napi_value js_ring_close(napi_env env, napi_callback_info info) {
  napi_value ab;
  bool tagged = false;
  void *data = NULL;
  if (!get_one_arg(env, info, &ab)) return NULL;
  if (napi_check_object_type_tag(env, ab, &RING_TAG, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, ab, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "native ringClose: not a ring");
    return NULL;
  }
  ring_handle *h = data;
  if (h->mem.base != NULL) {
    if (napi_detach_arraybuffer(env, ab) != napi_ok)
      return NULL; /* never unmap under a live view */
    ring_unmap(env, h);
  }
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

napi_value js_live_rings(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_double(env, (double)atomic_load(&live_rings), &v);
  return v;
}
