/*
 * Node-API bindings of vmap's maps (native/vmap_map.c).
 *
 * A map reaches JavaScript as one external ArrayBuffer over the window of
 * the half it exposes (shared for MemoryMapMut, private for MemoryMap). The
 * native record is attached to that buffer (napi_wrap). Converting between
 * MemoryMap and MemoryMapMut detaches the buffer and makes a new one over
 * the other half (the object converted from is unusable, and so is every
 * view taken from it). close() detaches the current buffer, then unmaps;
 * a map dropped without close() is unmapped when its current buffer is
 * collected (older buffers are detached and reach nothing).
 *
 * A map never closes, duplicates or keeps using the caller's descriptor
 * beyond the call that maps it; flush takes the descriptor again and checks
 * it names the mapped file.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bind_vmap.h"
#include "fault_guard.h"
#include "napi_args.h"
#include "sys_errors.h"
#include "vmap_map.h"

typedef struct {
  rm_vmap_region r;
  uint64_t offset; /* the window's offset in the file, as asked */
  uint64_t length; /* the window's length */
  int mapped;
  uintptr_t generation; /* of the current ArrayBuffer */
  int buffers;          /* ArrayBuffers made and not yet finalized */
} map_handle;

static const napi_type_tag MAP_TAG = {0x766d61706d617073ULL, 0x3e81c7a2d94b5f10ULL};

static _Atomic int64_t live_maps = 0;

static void map_unmap(map_handle *h) {
  if (!h->mapped) return;
  rm_vmap_unmap(&h->r);
  h->mapped = 0;
  atomic_fetch_sub(&live_maps, 1);
}

/* What each ArrayBuffer carries: the map, and which of its buffers this
 * one is. Only the current buffer (the last one made) may act on the map:
 * an older one was detached by a conversion, and a call made with it (by
 * code that kept it) must not make a second live buffer, nor unmap memory
 * the current one still shows. */
typedef struct {
  map_handle *h;
  uintptr_t generation;
} map_ref;

static void map_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  map_ref *ref = data;
  map_handle *h = ref->h;
  /* The current buffer was collected: no view of the memory is left. An
   * older (detached) buffer's collection changes nothing. */
  if (ref->generation == h->generation) map_unmap(h);
  free(ref);
  if (--h->buffers == 0 && !h->mapped) free(h);
}

/* The map_ref of a map buffer (current or not); throws for anything else. */
static map_ref *get_ref(napi_env env, napi_value ab) {
  bool tagged = false;
  void *data = NULL;
  if (napi_check_object_type_tag(env, ab, &MAP_TAG, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, ab, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "native map call: not a map");
    return NULL;
  }
  return data;
}

static int get_named_u64(napi_env env, napi_value obj, const char *name, uint64_t *out) {
  napi_value v;
  return napi_get_named_property(env, obj, name, &v) == napi_ok && rm_u64(env, v, out);
}

static int get_fd(napi_env env, napi_value v, int *fd) {
  int32_t n = -2;
  double d = -2;
  if (napi_get_value_double(env, v, &d) != napi_ok || d != (double)(int32_t)d ||
      (n = (int32_t)d) < -1) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "native map: fd must be an integer >= 0 (or -1)");
    return 0;
  }
  *fd = n;
  return 1;
}

/* The map of its current buffer, mapped; throws ERR_MMAP_CLOSED for a
 * closed map or a buffer a conversion has replaced. */
static map_handle *unwrap(napi_env env, napi_value ab) {
  map_ref *ref = get_ref(env, ab);
  if (ref == NULL) return NULL;
  map_handle *h = ref->h;
  if (!h->mapped || ref->generation != h->generation) {
    napi_throw_error(env, "ERR_MMAP_CLOSED",
                     "the map is closed, or this buffer was replaced by a conversion");
    return NULL;
  }
  return h;
}

/* A new ArrayBuffer over half `which` of h's window; it becomes current. */
static napi_value expose(napi_env env, map_handle *h, int which) {
  napi_value ab;
  if (napi_create_external_arraybuffer(env, rm_vmap_window(&h->r, which),
                                       (size_t)h->length, NULL, NULL, &ab) != napi_ok)
    return NULL;
  map_ref *ref = malloc(sizeof *ref);
  if (ref == NULL) {
    napi_detach_arraybuffer(env, ab);
    return rm_throw_errno(env, ENOMEM, "malloc", NULL);
  }
  ref->h = h;
  ref->generation = h->generation + 1;
  if (napi_type_tag_object(env, ab, &MAP_TAG) != napi_ok ||
      napi_wrap(env, ab, ref, map_finalize, NULL, NULL) != napi_ok) {
    free(ref);
    napi_detach_arraybuffer(env, ab);
    return NULL;
  }
  uintptr_t gen = ref->generation;
  h->generation = gen;
  h->buffers++;
  return ab;
}

/* mapCreate({ fd, offset, length, shared, populate, expose }) -> ArrayBuffer */
napi_value js_map_create(napi_env env, napi_callback_info info) {
  napi_value argv[1], v;
  rm_vmap_request req = {0};
  if (!rm_args(env, info, 1, argv)) return NULL;
  if (napi_get_named_property(env, argv[0], "fd", &v) != napi_ok ||
      !get_fd(env, v, &req.fd) || !get_named_u64(env, argv[0], "offset", &req.offset) ||
      !get_named_u64(env, argv[0], "length", &req.length))
    return NULL;
  req.shared = rm_named_bool(env, argv[0], "shared");
  req.populate = rm_named_bool(env, argv[0], "populate");
  int which = rm_named_bool(env, argv[0], "exposeShared") ? 0 : 1;
  if (which == 0 && (req.fd < 0 || !req.shared)) {
    napi_throw_error(env, "ERR_MMAP_INVALID_MODE",
                     "native mapCreate: no shared half to expose");
    return NULL;
  }
  map_handle *h = calloc(1, sizeof *h);
  if (h == NULL) return rm_throw_errno(env, ENOMEM, "malloc", NULL);
  if (req.fd >= 0) rm_fault_guard_ensure();
  const char *syscall = "mmap";
  int err = rm_vmap_map(&req, &h->r, &syscall);
  if (err != 0) {
    free(h);
    if (err == ERANGE) {
      napi_throw_range_error(env, "ERR_MMAP_OUT_OF_BOUNDS",
                             "the window passes the end of the file");
      return NULL;
    }
    return rm_throw_errno(env, err, syscall, NULL);
  }
  h->mapped = 1;
  h->offset = req.offset;
  h->length = req.length;
  atomic_fetch_add(&live_maps, 1);
  napi_value ab = expose(env, h, which);
  if (ab == NULL) {
    map_unmap(h);
    free(h);
  }
  return ab;
}

/* mapExpose(buffer, exposeShared, resetPrivate) -> the new current buffer;
 * `buffer` is detached first. */
napi_value js_map_expose(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!rm_args(env, info, 3, argv)) return NULL;
  map_handle *h = unwrap(env, argv[0]);
  if (h == NULL) return NULL;
  bool shared = false, reset = false;
  napi_get_value_bool(env, argv[1], &shared);
  napi_get_value_bool(env, argv[2], &reset);
  if (shared && (h->r.m == NULL || h->r.halves != 2)) {
    napi_throw_error(env, "ERR_MMAP_INVALID_MODE",
                     "native mapExpose: no shared half to expose");
    return NULL;
  }
  const char *syscall = "madvise";
  int err = !shared && reset ? rm_vmap_reset_private(&h->r, &syscall) : 0;
  if (err != 0) return rm_throw_errno(env, err, syscall, NULL);
  if (napi_detach_arraybuffer(env, argv[0]) != napi_ok) return NULL;
  napi_value ab = expose(env, h, shared ? 0 : 1);
  if (ab == NULL)
    map_unmap(h); /* the old buffer is detached: nothing reaches the memory */
  return ab;
}

/* mapClose(buffer): detach (every view becomes zero-length), then unmap.
 * Closing twice is a no-op. */
napi_value js_map_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!rm_args(env, info, 1, argv)) return NULL;
  map_ref *ref = get_ref(env, argv[0]);
  if (ref == NULL) return NULL;
  map_handle *h = ref->h;
  /* Only the current buffer closes the map: an old one is already detached,
   * and the current one (still attached) must never outlive the memory. */
  if (h->mapped && ref->generation == h->generation) {
    if (napi_detach_arraybuffer(env, argv[0]) != napi_ok) return NULL;
    map_unmap(h);
  }
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

/* The ERR_MMAP_FAULT error for h (shaped as addon.c's), or NULL. */
static napi_value fault_error(napi_env env, map_handle *h, double file_size) {
  if (h->r.m == NULL) return NULL;
  double first = 0;
  int32_t faults = rm_mapping_faults(h->r.m, &first);
  if (faults == 0) return NULL;
  /* From an offset in the reservation to an offset in the file. */
  uint64_t in_half = (uint64_t)first % h->r.total;
  double at = (double)(h->offset - h->r.delta + in_half);
  napi_value code, msg, error;
  napi_create_string_utf8(env, "ERR_MMAP_FAULT", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, "a page of the map could not be accessed",
                          NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_set_named_property(env, error, "faults", rm_double(env, faults));
  napi_set_named_property(env, error, "offset", rm_double(env, at));
  napi_set_named_property(env, error, "fileSize", rm_double(env, file_size));
  napi_set_named_property(env, error, "mappedSize",
                          rm_double(env, (double)(h->offset + h->length)));
  return error;
}

/* mapFlush(buffer, fd, offset, length, sync): msync of a span of the
 * window, after checking fd names the mapped file; throws ERR_MMAP_FAULT
 * when a page was lost. */
napi_value js_map_flush(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int fd;
  uint64_t offset, length;
  bool sync = false;
  if (!rm_args(env, info, 5, argv)) return NULL;
  map_handle *h = unwrap(env, argv[0]);
  if (h == NULL || !get_fd(env, argv[1], &fd) || !rm_u64(env, argv[2], &offset) ||
      !rm_u64(env, argv[3], &length))
    return NULL;
  napi_get_value_bool(env, argv[4], &sync);
  if (offset > h->length || length > h->length - offset) {
    napi_throw_range_error(env, "ERR_MMAP_OUT_OF_BOUNDS",
                           "native mapFlush: span outside the map");
    return NULL;
  }
  double file_size = -1;
  if (h->r.m != NULL) {
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
      return rm_throw_errno(env, fd < 0 ? EBADF : errno, "fstat", NULL);
    if (st.st_dev != h->r.dev || st.st_ino != h->r.ino) {
      napi_throw_error(env, "ERR_MMAP_INVALID_ARGUMENT",
                       "the descriptor does not name the mapped file");
      return NULL;
    }
    file_size = (double)st.st_size;
  }
  const char *syscall = "msync";
  int err = rm_vmap_flush(&h->r, offset, length, sync, &syscall);
  if (err != 0) return rm_throw_errno(env, err, syscall, NULL);
  napi_value fault = fault_error(env, h, file_size);
  if (fault != NULL) {
    napi_throw(env, fault);
    return NULL;
  }
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

/* mapFaults(buffer) -> the ERR_MMAP_FAULT error, or null */
napi_value js_map_faults(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!rm_args(env, info, 1, argv)) return NULL;
  map_handle *h = unwrap(env, argv[0]);
  if (h == NULL) return NULL;
  napi_value out = fault_error(env, h, -1);
  if (out == NULL) napi_get_null(env, &out);
  return out;
}

napi_value js_live_maps(napi_env env, napi_callback_info info) {
  (void)info;
  return rm_double(env, (double)atomic_load(&live_maps));
}
