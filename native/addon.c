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

#include "fault_guard.h"
#include "file_ops.h"
#include "mapping_table.h"
#include "sync_ops.h"
#include "sys_errors.h"

/* Node 20 caps one ArrayBuffer at 4 GiB; views are cut at 1 GiB so that
 * every view is far from that limit and boundary handling is exercised by
 * files of ordinary size in tests. Must match src/native/binding.ts. */
#define RM_VIEW_BYTES ((uint64_t)1 << 30)
#define RM_MAX_SAFE_INTEGER 9007199254740991.0

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

/* ---- argument helpers ---------------------------------------------------- */

static int get_args(napi_env env, napi_callback_info info, size_t want,
                    napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want) {
    napi_throw_type_error(env, "ERR_MMAP_INVALID_ARGUMENT",
                          "native call received too few arguments");
    return 0;
  }
  return 1;
}

/* A whole number in [0, 2^53). */
static int get_u64(napi_env env, napi_value v, uint64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) ||
      d > RM_MAX_SAFE_INTEGER || d != (double)(uint64_t)d) {
    napi_throw_range_error(env, "ERR_MMAP_INVALID_ARGUMENT",
                           "native call received an offset or length that is "
                           "not a whole number in [0, 2^53)");
    return 0;
  }
  *out = (uint64_t)d;
  return 1;
}

static int get_bool(napi_env env, napi_value v) {
  bool b = false;
  napi_get_value_bool(env, v, &b);
  return b;
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
  if (!get_u64(env, argv[0], &key) || !get_u64(env, argv[1], offset) ||
      !get_u64(env, argv[2], length))
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

/* Makes an ArrayBuffer over [data, data+len) and keeps a reference to it in
 * slot `slot` of the attachment, so that detach can reach it later. */
static napi_value make_buffer(napi_env env, attachment *a, size_t slot, void *data,
                              size_t len) {
  napi_value ab;
  /* No finalizer: the memory belongs to the mapping table, which frees it
   * only after every thread has detached or exited. */
  if (napi_create_external_arraybuffer(env, data, len, NULL, NULL, &ab) != napi_ok)
    return NULL;
  if (napi_create_reference(env, ab, 1, &a->refs[slot]) != napi_ok) return NULL;
  return ab;
}

static void detach_buffers(napi_env env, attachment *a) {
  for (size_t i = 0; i < a->nrefs; i++) {
    if (a->refs[i] == NULL) continue;
    napi_value ab;
    if (napi_get_reference_value(env, a->refs[i], &ab) == napi_ok && ab != NULL)
      napi_detach_arraybuffer(env, ab);
    napi_delete_reference(env, a->refs[i]);
    a->refs[i] = NULL;
  }
}

static attachment *find_attachment(env_state *st, uint32_t token) {
  for (attachment *a = st->head; a != NULL; a = a->next)
    if (a->token == token) return a;
  return NULL;
}

/* Gives this thread an attachment to m, taking over the caller's reference
 * to it. Returns [key, size, token, statusBuffer]. The views over the file
 * are made on first use (view()): V8 counts every ArrayBuffer's length as
 * memory of the isolate and collects garbage early when that grows, so
 * eager 1 GiB views in short-lived workers that only ever pwrite or sync
 * would cost each of them a full GC for nothing. */
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

  napi_value out, status;
  napi_create_array_with_length(env, 4, &out);
  int ok = napi_set_element(env, out, 0, make_double(env, (double)m->key)) == napi_ok &&
           napi_set_element(env, out, 1, make_double(env, (double)m->size)) == napi_ok &&
           napi_set_element(env, out, 2, make_double(env, a->token)) == napi_ok &&
           (status = make_buffer(env, a, 0, m->status, RM_STATUS_BYTES)) != NULL &&
           napi_set_element(env, out, 3, status) == napi_ok;
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
  if (!get_args(env, info, 2, argv)) return NULL;
  napi_get_value_uint32(env, argv[0], &token);
  napi_get_value_uint32(env, argv[1], &index);
  attachment *a = find_attachment(get_state(env), token);
  if (a == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the file is closed in this thread");
    return NULL;
  }
  if ((size_t)index + 1 >= a->nrefs) {
    napi_throw_range_error(env, "ERR_MMAP_OUT_OF_BOUNDS", "native view index lies outside the file");
    return NULL;
  }
  napi_value ab;
  if (a->refs[index + 1] != NULL &&
      napi_get_reference_value(env, a->refs[index + 1], &ab) == napi_ok && ab != NULL)
    return ab;
  uint64_t off = (uint64_t)index * RM_VIEW_BYTES;
  uint64_t len = a->m->size - off < RM_VIEW_BYTES ? a->m->size - off : RM_VIEW_BYTES;
  return make_buffer(env, a, index + 1, a->m->base + off, (size_t)len);
}

/* attach(key) -> [key, size, token, statusBuffer] */
static napi_value js_attach(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint64_t key;
  if (!get_args(env, info, 1, argv) || !get_u64(env, argv[0], &key)) return NULL;
  rm_mapping *m = rm_table_acquire(key);
  if (m == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED",
                     "the file mapping is closed in every thread; it cannot be "
                     "shared any more");
    return NULL;
  }
  return attach_mapping(env, m);
}

/* open(path, create, exclusive, sparse, mode, size)
 *   -> null for an empty file, else as attach() */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!get_args(env, info, 6, argv)) return NULL;
  char path[PATH_MAX + 1];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok)
    return NULL;
  if (len >= PATH_MAX) return rm_throw_errno(env, ENAMETOOLONG, "open", path);
  rm_open_request req;
  memset(&req, 0, sizeof req);
  req.create = get_bool(env, argv[1]);
  req.exclusive = get_bool(env, argv[2]);
  req.sparse = get_bool(env, argv[3]);
  int32_t mode = 0666;
  napi_get_value_int32(env, argv[4], &mode);
  req.mode = mode & 07777;
  if (!get_u64(env, argv[5], &req.size)) return NULL;

  rm_open_result res;
  const char *syscall = "open";
  int err = rm_file_open_and_map(path, &req, &res, &syscall);
  if (err != 0) return rm_throw_errno(env, err, syscall, path);

  if (res.mapping == NULL) { /* an empty file: nothing to map */
    napi_value nul;
    napi_get_null(env, &nul);
    return nul;
  }
  /* The mapping's first reference goes to this thread's attachment, so
   * closing the file here (and everywhere it was shared) is what frees it. */
  return attach_mapping(env, res.mapping);
}

/* detach(token): detaches this thread's buffers of that attachment (every
 * view over them becomes zero-length), then drops its reference. */
static napi_value js_detach(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t token = 0;
  if (!get_args(env, info, 1, argv)) return NULL;
  napi_get_value_uint32(env, argv[0], &token);
  env_state *st = get_state(env);
  for (attachment **p = &st->head; *p != NULL; p = &(*p)->next) {
    attachment *a = *p;
    if (a->token != token) continue;
    *p = a->next;
    st->count--;
    detach_buffers(env, a);
    rm_table_release(a->m);
    free(a->refs);
    free(a);
    break;
  }
  return undefined(env);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char path[PATH_MAX + 1];
  rm_open_request req;
  rm_open_result res;
  int err;
  const char *syscall;
} open_job;

static void open_job_execute(napi_env env, void *data) {
  (void)env;
  open_job *job = data;
  job->err = rm_file_open_and_map(job->path, &job->req, &job->res, &job->syscall);
}

static void open_job_complete(napi_env env, napi_status status, void *data) {
  open_job *job = data;
  if (status != napi_ok && job->err == 0) {
    /* Cancelled after the file was mapped: give the mapping back. */
    if (job->res.mapping != NULL) rm_table_release(job->res.mapping);
    job->err = ECANCELED;
  }
  if (job->err != 0) {
    napi_reject_deferred(env, job->deferred,
                         rm_make_errno_error(env, job->err, job->syscall, job->path));
  } else if (job->res.mapping == NULL) {
    napi_value nul;
    napi_get_null(env, &nul);
    napi_resolve_deferred(env, job->deferred, nul);
  } else {
    /* Attaching creates ArrayBuffers, so it happens here, on the JS thread. */
    napi_value out = attach_mapping(env, job->res.mapping);
    if (out != NULL) {
      napi_resolve_deferred(env, job->deferred, out);
    } else {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_reject_deferred(env, job->deferred, exc);
    }
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

/* openAsync(...) -> Promise of what open() returns, work on the libuv pool */
static napi_value js_open_async(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!get_args(env, info, 6, argv)) return NULL;
  open_job *job = calloc(1, sizeof *job);
  if (job == NULL) return rm_throw_errno(env, ENOMEM, "open", NULL);
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], job->path, sizeof job->path, &len) != napi_ok) {
    free(job);
    return NULL;
  }
  if (len >= PATH_MAX) {
    free(job);
    return rm_throw_errno(env, ENAMETOOLONG, "open", NULL);
  }
  job->req.create = get_bool(env, argv[1]);
  job->req.exclusive = get_bool(env, argv[2]);
  job->req.sparse = get_bool(env, argv[3]);
  int32_t mode = 0666;
  napi_get_value_int32(env, argv[4], &mode);
  job->req.mode = mode & 07777;
  if (!get_u64(env, argv[5], &job->req.size)) {
    free(job);
    return NULL;
  }
  job->syscall = "open";
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "ranged-mmap:open", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, open_job_execute, open_job_complete,
                             job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free(job);
    return NULL;
  }
  return promise;
}

/* ---- sync, advice, populate, pwrite -------------------------------------- */

/* sync(key, offset, length, mode) */
static napi_value js_sync(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint64_t offset, length;
  int32_t mode = 0;
  if (!get_args(env, info, 4, argv)) return NULL;
  rm_mapping *m = acquire_span(env, argv, &offset, &length);
  if (m == NULL) return NULL;
  napi_get_value_int32(env, argv[3], &mode);
  const char *syscall = "msync";
  int err = rm_sync(m, offset, length, (rm_sync_mode)mode, &syscall);
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, syscall, NULL);
  return undefined(env);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  rm_mapping *m;
  uint64_t offset, length;
  rm_sync_mode mode;
  int err;
  const char *syscall;
} sync_job;

static void sync_job_execute(napi_env env, void *data) {
  (void)env;
  sync_job *job = data;
  job->err = rm_sync(job->m, job->offset, job->length, job->mode, &job->syscall);
}

static void sync_job_complete(napi_env env, napi_status status, void *data) {
  sync_job *job = data;
  /* The job held its own reference, so the fd stayed open even if every
   * thread closed the file while the disk was busy. */
  rm_table_release(job->m);
  if (status != napi_ok) job->err = ECANCELED;
  if (job->err == 0)
    napi_resolve_deferred(env, job->deferred, undefined(env));
  else
    napi_reject_deferred(env, job->deferred,
                         rm_make_errno_error(env, job->err, job->syscall, NULL));
  napi_delete_async_work(env, job->work);
  free(job);
}

/* syncAsync(key, offset, length, mode) -> Promise<void>, on the libuv pool */
static napi_value js_sync_async(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint64_t offset, length;
  int32_t mode = 0;
  if (!get_args(env, info, 4, argv)) return NULL;
  rm_mapping *m = acquire_span(env, argv, &offset, &length);
  if (m == NULL) return NULL;
  napi_get_value_int32(env, argv[3], &mode);
  sync_job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    rm_table_release(m);
    return rm_throw_errno(env, ENOMEM, "msync", NULL);
  }
  job->m = m;
  job->offset = offset;
  job->length = length;
  job->mode = (rm_sync_mode)mode;
  job->syscall = "msync";
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "ranged-mmap:sync", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, sync_job_execute, sync_job_complete,
                             job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    rm_table_release(m);
    free(job);
    return NULL;
  }
  return promise;
}

/* advise(key, offset, length, advice) */
static napi_value js_advise(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint64_t offset, length;
  int32_t advice = 0;
  if (!get_args(env, info, 4, argv)) return NULL;
  rm_mapping *m = acquire_span(env, argv, &offset, &length);
  if (m == NULL) return NULL;
  napi_get_value_int32(env, argv[3], &advice);
  /* Only advice that cannot lose data or change the mapping's meaning:
   * MADV_DONTNEED on a shared mapping is safe (pages are re-read from the
   * file), MADV_REMOVE or MADV_FREE would not be. */
  int allowed = advice == MADV_NORMAL || advice == MADV_RANDOM ||
                advice == MADV_SEQUENTIAL || advice == MADV_WILLNEED ||
                advice == MADV_DONTNEED || advice == MADV_HUGEPAGE ||
                advice == MADV_NOHUGEPAGE || advice == 22 /* POPULATE_READ */ ||
                advice == 23 /* POPULATE_WRITE */;
  const char *syscall = "madvise";
  int err = allowed ? rm_advise(m, offset, length, advice, &syscall) : EINVAL;
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, syscall, NULL);
  return undefined(env);
}

/* populate(key, offset, length) -> 0 or errno (never throws for the syscall:
 * the caller decides whether a failure matters) */
static napi_value js_populate(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint64_t offset, length;
  if (!get_args(env, info, 3, argv)) return NULL;
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
  if (!get_args(env, info, 3, argv)) return NULL;
  rm_mapping *m = acquire_span(env, argv, &offset, &length);
  if (m == NULL) return NULL;
  const char *syscall = "mincore";
  int err = rm_resident_pages(m, offset, length, &resident, &syscall);
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, syscall, NULL);
  return make_double(env, (double)resident);
}

/* pwrite(key, offset, uint8array) */
static napi_value js_pwrite(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value ab;
  size_t byte_offset;
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &data, &ab,
                               &byte_offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_MMAP_INVALID_ARGUMENT",
                          "native pwrite expects a Uint8Array");
    return NULL;
  }
  napi_value span[3] = {argv[0], argv[1], make_double(env, (double)length)};
  uint64_t offset, len;
  rm_mapping *m = acquire_span(env, span, &offset, &len);
  if (m == NULL) return NULL;
  const char *syscall = "pwrite";
  int err = rm_pwrite_all(m, offset, data, len, &syscall);
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, syscall, NULL);
  return undefined(env);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref buffer_ref; /* keeps the caller's typed array alive meanwhile */
  rm_mapping *m;
  uint8_t *data;
  uint64_t offset, length;
  int into_mapping;
} copy_job;

static void copy_job_execute(napi_env env, void *data) {
  (void)env;
  copy_job *job = data;
  /* A page fault here may wait on the disk, which is why this runs on the
   * pool. A SIGBUS here is caught by the same process-wide guard and shows
   * up in the status page, which TypeScript checks when the promise ends. */
  if (job->into_mapping)
    memmove(job->m->base + job->offset, job->data, (size_t)job->length);
  else
    memmove(job->data, job->m->base + job->offset, (size_t)job->length);
}

static void copy_job_complete(napi_env env, napi_status status, void *data) {
  copy_job *job = data;
  rm_table_release(job->m);
  napi_delete_reference(env, job->buffer_ref);
  if (status == napi_ok)
    napi_resolve_deferred(env, job->deferred, undefined(env));
  else
    napi_reject_deferred(env, job->deferred,
                         rm_make_errno_error(env, ECANCELED, "memcpy", NULL));
  napi_delete_async_work(env, job->work);
  free(job);
}

/* copyAsync(key, offset, uint8array, intoMapping) -> Promise<void>
 * Copies between the mapping and the array on the libuv pool. */
static napi_value js_copy_async(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  napi_typedarray_type type;
  size_t length;
  void *bytes;
  napi_value ab;
  size_t byte_offset;
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &bytes, &ab,
                               &byte_offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_MMAP_INVALID_ARGUMENT",
                          "native copyAsync expects a Uint8Array");
    return NULL;
  }
  napi_value span[3] = {argv[0], argv[1], make_double(env, (double)length)};
  uint64_t offset, len;
  rm_mapping *m = acquire_span(env, span, &offset, &len);
  if (m == NULL) return NULL;
  copy_job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    rm_table_release(m);
    return rm_throw_errno(env, ENOMEM, "memcpy", NULL);
  }
  job->m = m;
  job->data = bytes;
  job->offset = offset;
  job->length = len;
  job->into_mapping = get_bool(env, argv[3]);
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "ranged-mmap:copy", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[2], 1, &job->buffer_ref) != napi_ok ||
      napi_create_async_work(env, NULL, name, copy_job_execute, copy_job_complete,
                             job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    rm_table_release(m);
    free(job);
    return NULL;
  }
  return promise;
}

/* ---- range hand-over tickets --------------------------------------------- */

/* ticketIssue(key, start, end) -> ticket id */
static napi_value js_ticket_issue(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint64_t start, length;
  if (!get_args(env, info, 3, argv)) return NULL;
  uint64_t end;
  if (!get_u64(env, argv[2], &end) || !get_u64(env, argv[1], &start)) return NULL;
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
  if (!get_args(env, info, 4, argv) || !get_u64(env, argv[0], &key) ||
      !get_u64(env, argv[1], &id) || !get_u64(env, argv[2], &start) ||
      !get_u64(env, argv[3], &end))
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

/* ---- module -------------------------------------------------------------- */

static napi_value init(napi_env env, napi_value exports) {
  if (rm_fault_guard_install() != 0)
    return rm_throw_errno(env, errno, "sigaction", NULL);
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
      {"detach", NULL, js_detach, NULL, NULL, NULL, napi_enumerable, NULL},
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
      {"liveMappings", NULL, js_live_mappings, NULL, NULL, NULL, napi_enumerable, NULL},
      {"threadAttachments", NULL, js_thread_attachments, NULL, NULL, NULL,
       napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value view_bytes;
  napi_create_double(env, (double)RM_VIEW_BYTES, &view_bytes);
  napi_set_named_property(env, exports, "viewBytes", view_bytes);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
