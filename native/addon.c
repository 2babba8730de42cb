/*
 * Node-API bindings: the only door between TypeScript and the native core.
 *
 * Every number that arrives here is checked again (finite, whole, inside the
 * mapping), even though TypeScript checked it first: a wrong offset must
 * never reach memcpy, msync or madvise.
 *
 * The module is context-aware: each thread (napi_env) that loads it gets its
 * own list of attachments, while the mapping table itself is process-wide.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bind_ring.h"
#include "fault_guard.h"
#include "file_ops.h"
#include "map_areas.h"
#include "mapping_table.h"
#include "mmapio_ops.h"
#include "napi_args.h"
#include "sync_ops.h"
#include "sys_errors.h"

/* Node 20 caps one ArrayBuffer at 4 GiB; views are cut at 1 GiB so that
 * every view is far from that limit and boundary handling is exercised by
 * files of ordinary size in tests. Must match src/native/binding.ts. */
#define RM_VIEW_BYTES ((uint64_t)1 << 30)

/* ---- per-thread state ---------------------------------------------------- */

typedef struct attachment {
  uint32_t token;
  rm_mapping *m;
  size_t nrefs;   /* 1 + number of views of the mapping */
  napi_ref *refs; /* status page buffer, then one slot per view (NULL until made) */
  struct attachment *next;
} attachment;

typedef struct {
  attachment *head;
  uint32_t next_token;
  uint32_t count;
} env_state;

/* Runs when the thread's environment is torn down (worker exit or
 * terminate, process exit). No JavaScript can run any more, so there is no
 * view left to detach: dropping the references is enough. */
static void env_state_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  env_state *st = data;
  attachment *a = st->head;
  while (a != NULL) {
    attachment *next = a->next;
    rm_table_release(a->m);
    free(a->refs);
    free(a);
    a = next;
  }
  free(st);
}

static env_state *get_state(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

static napi_value make_double(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* Looks up the mapping and checks [offset, offset + length) lies inside the
 * file. On success the caller owns one reference and must release it. */
static rm_mapping *acquire_span(napi_env env, napi_value *argv, uint64_t *offset,
                                uint64_t *length) {
  uint64_t key;
  if (!rm_u64(env, argv[0], &key) || !rm_u64(env, argv[1], offset) ||
      !rm_u64(env, argv[2], length))
    return NULL;
  rm_mapping *m = rm_table_acquire(key);
  if (m == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the file mapping is closed");
    return NULL;
  }
  if (*offset > m->size || *length > m->size - *offset) {
    rm_table_release(m);
    napi_throw_range_error(env, "ERR_MMAP_OUT_OF_BOUNDS",
                           "native call range lies outside the file");
    return NULL;
  }
  return m;
}

/* ---- open / attach / detach ---------------------------------------------- */

/* A buffer's own reference to its mapping: the one signal of "JavaScript
 * still holds a view of this mapping". A view may outlive the object that
 * made it in two ways: the file object was collected without close() and its
 * attachment released (js_release), or a resize moved the thread to a new
 * mapping and the old attachment was released while user code still holds
 * views of it (TypeScript's ThreadMapping.retire). Either way the memory must
 * stay mapped, and stores through such a view reach the file, until the view
 * is gone too. The pin is wrapped on the buffer, so the buffer's collection
 * drops it; close() (js_detach, js_detach_view) drops it at once, after
 * detaching the buffer, so nothing can reach the memory any more. */
typedef struct {
  rm_mapping *m;
} view_pin;

/* Marks the buffers make_buffer made, so js_detach_view takes no other. */
static const napi_type_tag VIEW_TAG = {0x6d6d61707669657aULL, 0x51c0e7a94b2d3f86ULL};

static void pin_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  view_pin *pin = data;
  rm_table_release(pin->m);
  free(pin);
}

/* Detaches a buffer make_buffer made (its views become zero-length), then
 * drops its pin. */
static void detach_pinned(napi_env env, napi_value ab) {
  napi_detach_arraybuffer(env, ab);
  void *pin = NULL;
  if (napi_remove_wrap(env, ab, &pin) == napi_ok && pin != NULL)
    pin_finalize(env, pin, NULL);
}

/* Makes an ArrayBuffer over [data, data+len), pinned to the mapping, and
 * keeps a weak reference to it in slot `slot` of the attachment, so that
 * detach can reach it later (the thread's ThreadMapping holds the buffer
 * itself while the file is open). */
static napi_value make_buffer(napi_env env, attachment *a, size_t slot, void *data,
                              size_t len) {
  napi_value ab;
  view_pin *pin = malloc(sizeof *pin);
  if (pin == NULL) return rm_throw_errno(env, ENOMEM, "malloc", NULL);
  if (napi_create_external_arraybuffer(env, data, len, NULL, NULL, &ab) != napi_ok) {
    free(pin);
    return NULL;
  }
  rm_table_retain(a->m);
  pin->m = a->m;
  if (napi_type_tag_object(env, ab, &VIEW_TAG) != napi_ok ||
      napi_wrap(env, ab, pin, pin_finalize, NULL, NULL) != napi_ok) {
    napi_detach_arraybuffer(env, ab);
    rm_table_release(pin->m);
    free(pin);
    return NULL;
  }
  /* A slot whose buffer was collected holds a dead reference: replace it. */
  if (a->refs[slot] != NULL) napi_delete_reference(env, a->refs[slot]);
  a->refs[slot] = NULL;
  if (napi_create_reference(env, ab, 0, &a->refs[slot]) != napi_ok) {
    napi_detach_arraybuffer(env, ab); /* the pin goes with the buffer */
    return NULL;
  }
  return ab;
}

/* Drops the attachment's references to its buffers. With `detach`, every
 * buffer still alive is detached (its views become zero-length) and its pin
 * released now; without, the buffers live on with their pins. */
static void drop_buffers(napi_env env, attachment *a, int detach) {
  for (size_t i = 0; i < a->nrefs; i++) {
    if (a->refs[i] == NULL) continue;
    napi_value ab;
    if (detach && napi_get_reference_value(env, a->refs[i], &ab) == napi_ok && ab != NULL)
      detach_pinned(env, ab);
    napi_delete_reference(env, a->refs[i]);
    a->refs[i] = NULL;
  }
}

static void detach_buffers(napi_env env, attachment *a) { drop_buffers(env, a, 1); }

static attachment *find_attachment(env_state *st, uint32_t token) {
  for (attachment *a = st->head; a != NULL; a = a->next)
    if (a->token == token) return a;
  return NULL;
}

/* Gives this thread an attachment to m, taking over the caller's reference
 * to it. Returns [key, size, token, statusBuffer, path, nonce, access,
 * reserved]. The views over
 * the file are made on first use (view()): V8 counts every ArrayBuffer's length as memory
 * of the isolate and collects garbage early when that grows, so eager 1 GiB views in
 * short-lived workers that only ever pwrite or sync would cost each of them a full GC for
 * nothing. */
static napi_value attach_mapping(napi_env env, rm_mapping *m) {
  env_state *st = get_state(env);
  size_t nviews = (size_t)((m->size + RM_VIEW_BYTES - 1) / RM_VIEW_BYTES);
  attachment *a = calloc(1, sizeof *a);
  napi_ref *refs = calloc(nviews + 1, sizeof *refs);
  if (a == NULL || refs == NULL) {
    free(a);
    free(refs);
    rm_table_release(m);
    return rm_throw_errno(env, ENOMEM, "attach", NULL);
  }
  a->m = m;
  a->refs = refs;
  a->nrefs = nviews + 1;
  a->token = ++st->next_token;

  napi_value out, status, path;
  napi_create_array_with_length(env, 8, &out);
  if (m->path == NULL ||
      napi_create_string_utf8(env, m->path, NAPI_AUTO_LENGTH, &path) != napi_ok)
    napi_get_null(env, &path);
  int ok = napi_set_element(env, out, 0, make_double(env, (double)m->key)) == napi_ok &&
           napi_set_element(env, out, 1, make_double(env, (double)m->size)) == napi_ok &&
           napi_set_element(env, out, 2, make_double(env, a->token)) == napi_ok &&
           (status = make_buffer(env, a, 0, m->status, RM_STATUS_BYTES)) != NULL &&
           napi_set_element(env, out, 3, status) == napi_ok &&
           napi_set_element(env, out, 4, path) == napi_ok &&
           napi_set_element(env, out, 5, make_double(env, (double)m->nonce)) == napi_ok &&
           napi_set_element(env, out, 6, make_double(env, m->access)) == napi_ok &&
           napi_set_element(env, out, 7, make_double(env, m->reserved)) == napi_ok;
  if (!ok) {
    detach_buffers(env, a);
    free(a->refs);
    free(a);
    rm_table_release(m);
    return NULL; /* a Node-API call failed and left an exception pending */
  }
  a->next = st->head;
  st->head = a;
  st->count++;
  return out;
}

/* view(token, index) -> this thread's ArrayBuffer over view `index` of an
 * attached mapping (made once, then the same buffer every call). */
static napi_value js_view(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t token = 0, index = 0;
  if (!rm_args(env, info, 2, argv) || !rm_u32(env, argv[0], &token) ||
      !rm_u32(env, argv[1], &index))
    return NULL;
  attachment *a = find_attachment(get_state(env), token);
  if (a == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the file is closed in this thread");
    return NULL;
  }
  if ((size_t)index + 1 >= a->nrefs) {
    napi_throw_range_error(env, "ERR_MMAP_OUT_OF_BOUNDS",
                           "native view index lies outside the file");
    return NULL;
  }
  napi_value ab;
  if (a->refs[index + 1] != NULL &&
      napi_get_reference_value(env, a->refs[index + 1], &ab) == napi_ok && ab != NULL)
    return ab; /* else never made, or collected: make_buffer makes another */
  uint64_t off = (uint64_t)index * RM_VIEW_BYTES;
  uint64_t len = a->m->size - off < RM_VIEW_BYTES ? a->m->size - off : RM_VIEW_BYTES;
  return make_buffer(env, a, index + 1, a->m->base + off, (size_t)len);
}

/* attach and attachNewest: this thread's attachment to the mapping found (a
 * reference the caller took), or ERR_MMAP_CLOSED when none was. */
static napi_value attach_found(napi_env env, rm_mapping *m) {
  if (m == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED",
                     "the file mapping is closed in every thread; it cannot be "
                     "shared any more");
    return NULL;
  }
  rm_fault_guard_ensure();
  return attach_mapping(env, m);
}

/* attach(key) -> [key, size, token, statusBuffer, path, nonce, access, reserved] */
static napi_value js_attach(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint64_t key;
  if (!rm_args(env, info, 1, argv) || !rm_u64(env, argv[0], &key)) return NULL;
  return attach_found(env, rm_table_acquire(key));
}

/* attachNewest(nonce, key) -> as attach(), for the newest mapping of the
 * resized file whose mapping `key` (now gone) belonged to: a share() handle
 * follows the file across resizes. */
static napi_value js_attach_newest(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint64_t nonce, key;
  if (!rm_args(env, info, 2, argv) || !rm_u64(env, argv[0], &nonce) ||
      !rm_u64(env, argv[1], &key))
    return NULL;
  return attach_found(env, rm_table_acquire_newest(nonce, key));
}

/* ---- the fault record --------------------------------------------------- */

/* An Error with code ERR_MMAP_FAULT when a guarded fault (or a loss found by
 * fstat) has been recorded for m, else NULL. It carries what TypeScript
 * needs to say what happened: how many faults, where the first one was, and
 * how long the file is now (shorter than the mapping: it was truncated). */
static napi_value fault_error(napi_env env, rm_mapping *m) {
  double first = 0;
  int32_t faults = rm_mapping_faults(m, &first);
  if (faults == 0) return NULL;
  struct stat st;
  double now = fstat(m->fd, &st) == 0 ? (double)st.st_size : -1;
  napi_value code, msg, error;
  napi_create_string_utf8(env, "ERR_MMAP_FAULT", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, "a page of the mapping could not be accessed",
                          NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_set_named_property(env, error, "faults", make_double(env, faults));
  napi_set_named_property(env, error, "offset", make_double(env, first));
  napi_set_named_property(env, error, "fileSize", make_double(env, now));
  napi_set_named_property(env, error, "mappedSize", make_double(env, (double)m->size));
  return error;
}

/* faultInfo(key) -> the ERR_MMAP_FAULT error for that mapping, or null when
 * it has none; throws ERR_MMAP_CLOSED when no mapping has that key. */
static napi_value js_fault_info(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint64_t key;
  if (!rm_args(env, info, 1, argv) || !rm_u64(env, argv[0], &key)) return NULL;
  rm_mapping *m = rm_table_acquire(key);
  if (m == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the file mapping is closed");
    return NULL;
  }
  napi_value out = fault_error(env, m);
  rm_table_release(m);
  if (out == NULL) napi_get_null(env, &out);
  return out;
}

/* Reads the one options object TypeScript builds for open and create:
 * { path, create, exclusive, sparse, mode, size }. The path must not hold a
 * NUL: C would see only the part before it and open another file. */
static int parse_open_request(napi_env env, napi_value obj, rm_open_request *req) {
  memset(req, 0, sizeof *req);
  napi_value v;
  size_t len = 0;
  if (napi_get_named_property(env, obj, "path", &v) != napi_ok) return 0;
  if (napi_get_value_string_utf8(env, v, req->path, sizeof req->path, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "native open: path must be a string");
    return 0;
  }
  if (len >= sizeof req->path - 1) {
    rm_throw_errno(env, ENAMETOOLONG, "open", NULL);
    return 0;
  }
  if (len == 0 || strlen(req->path) != len) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                          "native open: path must be non-empty and hold no NUL byte");
    return 0;
  }
  req->create = rm_named_bool(env, obj, "create");
  req->exclusive = rm_named_bool(env, obj, "exclusive");
  req->sparse = rm_named_bool(env, obj, "sparse");
  int32_t mode = 0666;
  if (napi_get_named_property(env, obj, "mode", &v) == napi_ok)
    napi_get_value_int32(env, v, &mode);
  req->mode = mode & 07777;
  int32_t access = RM_ACCESS_RW;
  if (napi_get_named_property(env, obj, "access", &v) == napi_ok)
    napi_get_value_int32(env, v, &access);
  req->access = access; /* file_ops.c refuses a value outside rm_access */
  if (req->create) {
    if (napi_get_named_property(env, obj, "size", &v) != napi_ok ||
        !rm_u64(env, v, &req->size))
      return 0;
    if (req->size == 0 || req->size > (uint64_t)INT64_MAX) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                             "native open: size must be at least 1");
      return 0;
    }
  }
  return 1;
}

/* What open() resolves to: null for an empty file, else as attach(). */
static napi_value open_result(napi_env env, rm_mapping *m) {
  if (m == NULL) {
    napi_value nul;
    napi_get_null(env, &nul);
    return nul;
  }
  /* The mapping's first reference goes to this thread's attachment, so
   * closing the file here (and everywhere it was shared) is what frees it. */
  return attach_mapping(env, m);
}

/* open({ path, create, exclusive, sparse, mode, size }) */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  rm_open_request req;
  if (!rm_args(env, info, 1, argv) || !parse_open_request(env, argv[0], &req))
    return NULL;
  rm_fault_guard_ensure();
  rm_open_result res;
  const char *syscall = "open";
  int err = rm_file_open_and_map(&req, &res, &syscall);
  if (err != 0) return rm_throw_errno(env, err, syscall, req.path);
  return open_result(env, res.mapping);
}

/* Ends this thread's attachment `token` (a no-op if it has none): with
 * `detach`, its buffers are detached first (close()); without, they live on
 * with their pins (the file object was collected, a view may remain). */
static napi_value end_attachment(napi_env env, napi_callback_info info, int detach) {
  napi_value argv[1];
  uint32_t token = 0;
  if (!rm_args(env, info, 1, argv) || !rm_u32(env, argv[0], &token)) return NULL;
  env_state *st = get_state(env);
  for (attachment **p = &st->head; *p != NULL; p = &(*p)->next) {
    attachment *a = *p;
    if (a->token != token) continue;
    *p = a->next;
    st->count--;
    drop_buffers(env, a, detach);
    rm_table_release(a->m);
    free(a->refs);
    free(a);
    break;
  }
  return undefined(env);
}

/* detach(token): detaches this thread's buffers of that attachment (every
 * view over them becomes zero-length), then drops its reference. */
static napi_value js_detach(napi_env env, napi_callback_info info) {
  return end_attachment(env, info, 1);
}

/* release(token): the file object holding that attachment was collected
 * without close(), or a resize moved this thread to a new mapping while user
 * code holds views of this one; drops the attachment's reference, leaving
 * any buffer JavaScript still holds mapped (it holds its own, see view_pin). */
static napi_value js_release(napi_env env, napi_callback_info info) {
  return end_attachment(env, info, 0);
}

/* detachView(buffer): detaches one buffer of a released attachment (its
 * views become zero-length) and drops its pin: close() and a shrink reach
 * the views of a mapping a resize replaced this way. A buffer already
 * detached is a no-op; anything make_buffer did not make is refused. */
static napi_value js_detach_view(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  bool tagged = false;
  if (!rm_args(env, info, 1, argv)) return NULL;
  if (napi_check_object_type_tag(env, argv[0], &VIEW_TAG, &tagged) != napi_ok ||
      !tagged) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "native detachView: not a view of a mapped file");
    return NULL;
  }
  detach_pinned(env, argv[0]);
  return undefined(env);
}

/* ---- one request type for every call that runs on the libuv pool --------
 *
 * The rule every async call follows: the work on the pool touches only
 * memory the request owns. The mapping is pinned by a reference taken when
 * the call is made; the caller's bytes are never touched off the JavaScript
 * thread, because JavaScript can transfer, detach, shrink or unmap them at
 * any moment while the work runs (a view over another mapping that is
 * closed, a transferred buffer that is then collected, a resizable buffer
 * that shrinks). Writes copy the caller's bytes into a bounce buffer before
 * queueing; reads fill a bounce buffer on the pool and copy it out on the
 * JavaScript thread at completion, after checking that the target is still
 * there and still long enough. */

typedef enum { RQ_OPEN, RQ_SYNC, RQ_COPY_IN, RQ_COPY_OUT, RQ_FILL } rq_kind;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  rq_kind kind;
  int err;
  const char *syscall;
  rm_mapping *m; /* pinned for the request's life (not for RQ_OPEN) */
  uint64_t offset, length;
  rm_sync_mode mode;    /* RQ_SYNC */
  int fill_value;       /* RQ_FILL */
  uint8_t *bounce;      /* RQ_COPY_*: owned by the request */
  napi_ref target;      /* RQ_COPY_OUT: the caller's typed array */
  rm_open_request open; /* RQ_OPEN */
  rm_open_result opened;
} rm_request;

static void request_free(napi_env env, rm_request *rq) {
  if (rq->m != NULL) rm_table_release(rq->m);
  if (rq->target != NULL) napi_delete_reference(env, rq->target);
  free(rq->bounce);
  free(rq);
}

/* Before a copy into a file with holes: reserve the pages first, as the
 * synchronous writes do, so a full disk refuses the whole write (ENOSPC)
 * before a byte lands. A truncation found so is recorded (reported as a
 * fault); a kernel without MADV_POPULATE_WRITE (EINVAL) just copies.
 * Returns 0 when the write must not be made. */
static int reserve_before_write(rm_request *rq) {
  if (rq->m->reserved || rq->m->access != RM_ACCESS_RW || rq->length == 0) return 1;
  const char *syscall = "madvise";
  int err = rm_populate_write(rq->m, rq->offset, rq->length, &syscall);
  if (rm_lost_to_truncation(rq->m, err)) return 0;
  if (err == EFAULT) {
    rq->err = ENOSPC;
    rq->syscall = "madvise";
    return 0;
  }
  return 1;
}

static void request_execute(napi_env env, void *data) {
  (void)env;
  rm_request *rq = data;
  switch (rq->kind) {
  case RQ_OPEN:
    rq->err = rm_file_open_and_map(&rq->open, &rq->opened, &rq->syscall);
    break;
  case RQ_SYNC:
    rq->err = rm_sync(rq->m, rq->offset, rq->length, rq->mode, &rq->syscall);
    break;
  case RQ_COPY_IN:
    if (!reserve_before_write(rq)) break;
    /* A page fault here may wait on the disk, which is why this runs on
     * the pool. A SIGBUS is caught by the guard and recorded. */
    memcpy(rq->m->base + rq->offset, rq->bounce, (size_t)rq->length);
    break;
  case RQ_COPY_OUT:
    memcpy(rq->bounce, rq->m->base + rq->offset, (size_t)rq->length);
    break;
  case RQ_FILL:
    if (!reserve_before_write(rq)) break;
    memset(rq->m->base + rq->offset, rq->fill_value, (size_t)rq->length);
    break;
  }
}

/* Settles the promise; returns the value to resolve with, or NULL after
 * storing the rejection in *error. */
static napi_value request_result(napi_env env, rm_request *rq, napi_value *error) {
  if (rq->err != 0) {
    *error = rm_make_errno_error(env, rq->err, rq->syscall,
                                 rq->kind == RQ_OPEN ? rq->open.path : NULL);
    return NULL;
  }
  if (rq->kind == RQ_OPEN) {
    rm_mapping *m = rq->opened.mapping;
    rq->opened.mapping = NULL;
    /* Attaching creates ArrayBuffers, so it happens here, on the JS thread. */
    napi_value out = open_result(env, m);
    if (out == NULL) napi_get_and_clear_last_exception(env, error);
    return out;
  }
  /* A fault recorded while the work ran (or found by syncAll's fstat) is
   * read from the mapping itself: the calling thread may have closed its
   * handle, and its view of the status page with it, in the meantime. */
  if ((*error = fault_error(env, rq->m)) != NULL) return NULL;
  if (rq->kind == RQ_COPY_OUT && rq->length > 0) {
    napi_value target;
    napi_typedarray_type type;
    size_t length = 0;
    void *bytes = NULL;
    if (napi_get_reference_value(env, rq->target, &target) != napi_ok || target == NULL ||
        napi_get_typedarray_info(env, target, &type, &length, &bytes, NULL, NULL) !=
            napi_ok ||
        bytes == NULL || length < rq->length) {
      napi_value code, msg;
      napi_create_string_utf8(env, "ERR_MMAP_BUFFER_DETACHED", NAPI_AUTO_LENGTH, &code);
      napi_create_string_utf8(env,
                              "the target buffer was detached, transferred or shrunk "
                              "while the read was in flight; nothing was copied into it",
                              NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, code, msg, error);
      return NULL;
    }
    memcpy(bytes, rq->bounce, (size_t)rq->length);
  }
  return undefined(env);
}

static void request_complete(napi_env env, napi_status status, void *data) {
  rm_request *rq = data;
  if (status != napi_ok && rq->err == 0) {
    /* Cancelled: give back a mapping the work may have made. */
    if (rq->kind == RQ_OPEN && rq->opened.mapping != NULL) {
      rm_table_release(rq->opened.mapping);
      rq->opened.mapping = NULL;
    }
    rq->err = ECANCELED;
    rq->syscall = "uv_queue_work";
  }
  napi_value error = NULL;
  napi_value value = request_result(env, rq, &error);
  if (value != NULL)
    napi_resolve_deferred(env, rq->deferred, value);
  else
    napi_reject_deferred(env, rq->deferred, error);
  napi_delete_async_work(env, rq->work);
  request_free(env, rq);
}

/* Queues rq and returns its promise; on failure frees rq and returns NULL. */
static napi_value request_queue(napi_env env, rm_request *rq) {
  static const char *names[] = {"ranged-mmap:open", "ranged-mmap:sync",
                                "ranged-mmap:copy", "ranged-mmap:copy",
                                "ranged-mmap:fill"};
  napi_value promise, name;
  if (napi_create_promise(env, &rq->deferred, &promise) != napi_ok) {
    request_free(env, rq);
    return NULL;
  }
  napi_create_string_utf8(env, names[rq->kind], NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, request_execute, request_complete, rq,
                             &rq->work) != napi_ok) {
    napi_reject_deferred(env, rq->deferred,
                         rm_make_errno_error(env, ENOMEM, "uv_queue_work", NULL));
    request_free(env, rq);
    return promise;
  }
  if (napi_queue_async_work(env, rq->work) != napi_ok) {
    napi_reject_deferred(env, rq->deferred,
                         rm_make_errno_error(env, EAGAIN, "uv_queue_work", NULL));
    napi_delete_async_work(env, rq->work);
    request_free(env, rq);
  }
  return promise;
}

static rm_request *request_new(napi_env env, rq_kind kind, const char *syscall) {
  rm_request *rq = calloc(1, sizeof *rq);
  if (rq == NULL) {
    rm_throw_errno(env, ENOMEM, syscall, NULL);
    return NULL;
  }
  rq->kind = kind;
  rq->syscall = syscall;
  return rq;
}

/* openAsync(options) -> Promise of what open() returns */
static napi_value js_open_async(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!rm_args(env, info, 1, argv)) return NULL;
  rm_request *rq = request_new(env, RQ_OPEN, "open");
  if (rq == NULL) return NULL;
  if (!parse_open_request(env, argv[0], &rq->open)) {
    request_free(env, rq);
    return NULL;
  }
  rm_fault_guard_ensure();
  return request_queue(env, rq);
}

/* ---- sync, advice, populate, pwrite -------------------------------------- */

static int get_sync_mode(napi_env env, napi_value v, rm_sync_mode *mode) {
  uint32_t n = 0;
  if (!rm_u32(env, v, &n)) return 0;
  if (n != RM_SYNC_SCHEDULE && n != RM_SYNC_RANGE && n != RM_SYNC_ALL) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "native sync: unknown mode");
    return 0;
  }
  *mode = (rm_sync_mode)n;
  return 1;
}

/* sync(key, offset, length, mode); throws ERR_MMAP_FAULT when a fault has
 * been recorded, so no caller can report durability for lost pages. */
static napi_value js_sync(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint64_t offset, length;
  rm_sync_mode mode;
  if (!rm_args(env, info, 4, argv) || !get_sync_mode(env, argv[3], &mode)) return NULL;
  rm_mapping *m = acquire_span(env, argv, &offset, &length);
  if (m == NULL) return NULL;
  const char *syscall = "msync";
  int err = rm_sync(m, offset, length, mode, &syscall);
  napi_value fault = err == 0 ? fault_error(env, m) : NULL;
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, syscall, NULL);
  if (fault != NULL) {
    napi_throw(env, fault);
    return NULL;
  }
  return undefined(env);
}

/* syncAsync(key, offset, length, mode) -> Promise<void>, on the libuv pool */
static napi_value js_sync_async(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint64_t offset, length;
  rm_sync_mode mode;
  if (!rm_args(env, info, 4, argv) || !get_sync_mode(env, argv[3], &mode)) return NULL;
  rm_mapping *m = acquire_span(env, argv, &offset, &length);
  if (m == NULL) return NULL;
  rm_request *rq = request_new(env, RQ_SYNC, "msync");
  if (rq == NULL) {
    rm_table_release(m);
    return NULL;
  }
  rq->m = m; /* the request's reference keeps the fd open meanwhile */
  rq->offset = offset;
  rq->length = length;
  rq->mode = mode;
  return request_queue(env, rq);
}

/* advise(key, offset, length, advice) */
static napi_value js_advise(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint64_t offset, length;
  uint32_t advice = 0;
  if (!rm_args(env, info, 4, argv) || !rm_u32(env, argv[3], &advice)) return NULL;
  rm_mapping *m = acquire_span(env, argv, &offset, &length);
  if (m == NULL) return NULL;
  /* Only advice that cannot lose data or change the mapping's meaning:
   * MADV_DONTNEED on a shared mapping is safe (pages are re-read from the
   * file), MADV_REMOVE or MADV_FREE would not be. */
  int allowed = advice == MADV_NORMAL || advice == MADV_RANDOM ||
                advice == MADV_SEQUENTIAL || advice == MADV_WILLNEED ||
                advice == MADV_DONTNEED || advice == MADV_HUGEPAGE ||
                advice == MADV_NOHUGEPAGE || advice == 22 /* POPULATE_READ */ ||
                advice == 23 /* POPULATE_WRITE */;
  const char *syscall = "madvise";
  int err = allowed ? rm_advise(m, offset, length, (int)advice, &syscall) : EINVAL;
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, syscall, NULL);
  return undefined(env);
}

/* populate(key, offset, length) -> 0 or errno (never throws for the syscall:
 * the caller decides whether a failure matters) */
static napi_value js_populate(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint64_t offset, length;
  if (!rm_args(env, info, 3, argv)) return NULL;
  rm_mapping *m = acquire_span(env, argv, &offset, &length);
  if (m == NULL) return NULL;
  const char *syscall = "madvise";
  int err = rm_populate_write(m, offset, length, &syscall);
  rm_table_release(m);
  napi_value v;
  napi_create_int32(env, err, &v);
  return v;
}

/* residentPages(key, offset, length) -> pages of the span in the page cache */
static napi_value js_resident_pages(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint64_t offset, length, resident = 0;
  if (!rm_args(env, info, 3, argv)) return NULL;
  rm_mapping *m = acquire_span(env, argv, &offset, &length);
  if (m == NULL) return NULL;
  const char *syscall = "mincore";
  int err = rm_resident_pages(m, offset, length, &resident, &syscall);
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, syscall, NULL);
  return make_double(env, (double)resident);
}

/* The bytes of a Uint8Array, from its internal slots (never from a property
 * JavaScript could have overridden). */
static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  bool is_typedarray = false;
  void *p = NULL;
  if (napi_is_typedarray(env, v, &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, v, &type, length, &p, NULL, NULL) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "native call expects a Uint8Array");
    return 0;
  }
  *data = p;
  return 1;
}

/* pwrite(key, offset, uint8array) */
static napi_value js_pwrite(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t *data;
  size_t length;
  if (!rm_args(env, info, 3, argv) || !get_bytes(env, argv[2], &data, &length))
    return NULL;
  napi_value span[3] = {argv[0], argv[1], make_double(env, (double)length)};
  uint64_t offset, len;
  rm_mapping *m = acquire_span(env, span, &offset, &len);
  if (m == NULL) return NULL;
  if (m->access != RM_ACCESS_RW) {
    /* A private (read-only or copy-on-write) mapping never writes the file. */
    rm_table_release(m);
    napi_throw_error(env, "ERR_MMAP_INVALID_MODE", "pwrite on a private mapping");
    return NULL;
  }
  const char *syscall = "pwrite";
  int err = len == 0 ? 0 : rm_pwrite_all(m, offset, data, len, &syscall);
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, syscall, NULL);
  return undefined(env);
}

/* copyAsync(key, offset, uint8array, intoMapping) -> Promise<void>
 * Copies between the mapping and the array; the part that may wait on the
 * disk runs on the libuv pool (see the request comment above). */
static napi_value js_copy_async(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint8_t *data;
  size_t length;
  if (!rm_args(env, info, 4, argv) || !get_bytes(env, argv[2], &data, &length))
    return NULL;
  napi_value span[3] = {argv[0], argv[1], make_double(env, (double)length)};
  uint64_t offset, len;
  rm_mapping *m = acquire_span(env, span, &offset, &len);
  if (m == NULL) return NULL;
  int into_mapping = rm_bool(env, argv[3]);
  rm_request *rq = request_new(env, into_mapping ? RQ_COPY_IN : RQ_COPY_OUT, "memcpy");
  if (rq == NULL) {
    rm_table_release(m);
    return NULL;
  }
  rq->m = m;
  rq->offset = offset;
  rq->length = len;
  rq->bounce = malloc(len > 0 ? (size_t)len : 1);
  if (rq->bounce == NULL) {
    request_free(env, rq);
    return rm_throw_errno(env, ENOMEM, "malloc", NULL);
  }
  if (into_mapping) {
    /* The caller's bytes, taken now, on this thread (an empty array may
     * have no data pointer at all). */
    if (len > 0) memcpy(rq->bounce, data, (size_t)len);
  } else if (napi_create_reference(env, argv[2], 1, &rq->target) != napi_ok) {
    request_free(env, rq);
    return NULL;
  }
  return request_queue(env, rq);
}

/* fillAsync(key, offset, length, value) -> Promise<void>: memset on the pool */
static napi_value js_fill_async(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint64_t offset, length;
  uint32_t value = 256;
  if (!rm_args(env, info, 4, argv) || !rm_u32(env, argv[3], &value)) return NULL;
  if (value > 255) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "native fill: value must be a byte");
    return NULL;
  }
  rm_mapping *m = acquire_span(env, argv, &offset, &length);
  if (m == NULL) return NULL;
  rm_request *rq = request_new(env, RQ_FILL, "memset");
  if (rq == NULL) {
    rm_table_release(m);
    return NULL;
  }
  rq->m = m;
  rq->offset = offset;
  rq->length = length;
  rq->fill_value = (int)value;
  return request_queue(env, rq);
}

/* guardEnsure() -> 1 if the SIGBUS guard had been replaced and is back in
 * front, 0 if it was in place. */
static napi_value js_guard_ensure(napi_env env, napi_callback_info info) {
  (void)info;
  int r = rm_fault_guard_ensure();
  if (r < 0) return rm_throw_errno(env, errno, "sigaction", NULL);
  napi_value v;
  napi_create_int32(env, r, &v);
  return v;
}

/* ---- range hand-over tickets --------------------------------------------- */

/* ticketIssue(key, start, end) -> ticket id */
static napi_value js_ticket_issue(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint64_t start, length;
  if (!rm_args(env, info, 3, argv)) return NULL;
  uint64_t end;
  if (!rm_u64(env, argv[2], &end) || !rm_u64(env, argv[1], &start)) return NULL;
  if (end < start) {
    napi_throw_range_error(env, "ERR_MMAP_INVALID_ARGUMENT", "range end before start");
    return NULL;
  }
  napi_value span[3] = {argv[0], argv[1], make_double(env, (double)(end - start))};
  rm_mapping *m = acquire_span(env, span, &start, &length);
  if (m == NULL) return NULL;
  uint64_t id = rm_ticket_issue(m, start, end);
  rm_table_release(m);
  if (id == 0) return rm_throw_errno(env, ENOMEM, "ticket", NULL);
  return make_double(env, (double)id);
}

/* ticketClaim(key, ticket, start, end) -> boolean */
static napi_value js_ticket_claim(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint64_t key, id, start, end;
  if (!rm_args(env, info, 4, argv) || !rm_u64(env, argv[0], &key) ||
      !rm_u64(env, argv[1], &id) || !rm_u64(env, argv[2], &start) ||
      !rm_u64(env, argv[3], &end))
    return NULL;
  rm_mapping *m = rm_table_acquire(key);
  int ok = 0;
  if (m != NULL) {
    ok = rm_ticket_claim(m, id, start, end);
    rm_table_release(m);
  }
  napi_value v;
  napi_get_boolean(env, ok, &v);
  return v;
}

/* ---- introspection for tests --------------------------------------------- */

static napi_value js_live_mappings(napi_env env, napi_callback_info info) {
  (void)info;
  return make_double(env, rm_table_count());
}

static napi_value js_thread_attachments(napi_env env, napi_callback_info info) {
  (void)info;
  return make_double(env, get_state(env)->count);
}

/* areaCount() -> [areas counted, cap] (see map_areas.h) */
static napi_value js_map_areas(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, make_double(env, (double)rm_maps_used()));
  napi_set_element(env, out, 1, make_double(env, (double)rm_maps_cap()));
  return out;
}

/* setAreaCap(cap): TypeScript's cap, from vm.max_map_count. */
static napi_value js_set_map_area_cap(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint64_t cap;
  if (!rm_args(env, info, 1, argv) || !rm_u64(env, argv[0], &cap)) return NULL;
  rm_maps_set_cap(cap);
  return undefined(env);
}

/* ---- module -------------------------------------------------------------- */

static napi_value init(napi_env env, napi_value exports) {
  if (rm_fault_guard_ensure() < 0) return rm_throw_errno(env, errno, "sigaction", NULL);
  env_state *st = calloc(1, sizeof *st);
  if (st == NULL) return rm_throw_errno(env, ENOMEM, "init", NULL);
  if (napi_set_instance_data(env, st, env_state_finalize, NULL) != napi_ok) {
    free(st);
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openAsync", NULL, js_open_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"attach", NULL, js_attach, NULL, NULL, NULL, napi_enumerable, NULL},
      {"attachNewest", NULL, js_attach_newest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"detach", NULL, js_detach, NULL, NULL, NULL, napi_enumerable, NULL},
      {"release", NULL, js_release, NULL, NULL, NULL, napi_enumerable, NULL},
      {"detachView", NULL, js_detach_view, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sync", NULL, js_sync, NULL, NULL, NULL, napi_enumerable, NULL},
      {"syncAsync", NULL, js_sync_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"advise", NULL, js_advise, NULL, NULL, NULL, napi_enumerable, NULL},
      {"populate", NULL, js_populate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"copyAsync", NULL, js_copy_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pwrite", NULL, js_pwrite, NULL, NULL, NULL, napi_enumerable, NULL},
      {"view", NULL, js_view, NULL, NULL, NULL, napi_enumerable, NULL},
      {"residentPages", NULL, js_resident_pages, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ticketIssue", NULL, js_ticket_issue, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ticketClaim", NULL, js_ticket_claim, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fillAsync", NULL, js_fill_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"faultInfo", NULL, js_fault_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"guardEnsure", NULL, js_guard_ensure, NULL, NULL, NULL, napi_enumerable, NULL},
      {"liveMappings", NULL, js_live_mappings, NULL, NULL, NULL, napi_enumerable, NULL},
      {"threadAttachments", NULL, js_thread_attachments, NULL, NULL, NULL,
       napi_enumerable, NULL},
      {"areaCount", NULL, js_map_areas, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setAreaCap", NULL, js_set_map_area_cap, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  if (!rm_mmapio_register(env, exports)) return NULL; /* mmapio_ops.c */
  napi_value view_bytes;
  napi_create_double(env, (double)RM_VIEW_BYTES, &view_bytes);
  napi_set_named_property(env, exports, "viewBytes", view_bytes);
  /* The status page layout, so TypeScript's copy of it can be checked. */
  napi_value layout;
  napi_create_object(env, &layout);
  napi_set_named_property(env, layout, "faultsI32",
                          make_double(env, RM_STATUS_FAULTS_I32));
  napi_set_named_property(env, layout, "allocatorKindI32",
                          make_double(env, RM_STATUS_ALLOC_KIND_I32));
  napi_set_named_property(env, layout, "faultOffsetF64",
                          make_double(env, RM_STATUS_FAULT_OFFSET_F64));
  napi_set_named_property(env, layout, "allocNextI64",
                          make_double(env, RM_STATUS_ALLOC_NEXT_I64));
  napi_set_named_property(env, layout, "allocNextPagesI32",
                          make_double(env, RM_STATUS_ALLOC_PAGES_I32));
  napi_set_named_property(env, layout, "bytes", make_double(env, RM_STATUS_BYTES));
  napi_set_named_property(env, exports, "statusLayout", layout);
  if (!rm_register_ring(env, exports))
    return NULL; /* vmap: rings, maps, shared rings (native/bind_ring.c) */
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
