/*
 * The bindings of a mapped file: open (sync and async), sync, advice,
 * populate, pwrite, async copies and fills, the fault record, the range
 * hand-over tickets and the counters tests read. Per-thread buffers are
 * attachments.c's; the async calls are jobs of async_queue.c.
 *
 * Every number that arrives here is checked again (finite, whole, inside the
 * mapping), even though TypeScript checked it first: a wrong offset must
 * never reach memcpy, msync or madvise.
 */
#include "bind_mapping.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "async_queue.h"
#include "attachments.h"
#include "fault_guard.h"
#include "file_ops.h"
#include "map_areas.h"
#include "mapping_table.h"
#include "napi_args.h"
#include "sync_ops.h"
#include "sys_errors.h"

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
  napi_set_named_property(env, error, "faults", rm_double(env, faults));
  napi_set_named_property(env, error, "offset", rm_double(env, first));
  napi_set_named_property(env, error, "fileSize", rm_double(env, now));
  napi_set_named_property(env, error, "mappedSize", rm_double(env, (double)m->size));
  return error;
}

/* faultInfo(key) -> the ERR_MMAP_FAULT error for that mapping, or null when
 * it has none; throws ERR_MMAP_CLOSED when no mapping has that key. */
napi_value js_fault_info(napi_env env, napi_callback_info info) {
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
  return rm_attach_mapping(env, m);
}

/* open({ path, create, exclusive, sparse, mode, size }) */
napi_value js_open(napi_env env, napi_callback_info info) {
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

/* ---- the jobs of openAsync, syncAsync, copyAsync and fillAsync ----------
 *
 * Queued on the one async queue (async_queue.h), whose rule they follow:
 * writes copy the caller's bytes into a bounce buffer before queueing; reads
 * fill a bounce buffer on the pool and copy it out on the JavaScript thread
 * at completion, after checking that the target is still there and still
 * long enough. */

typedef struct {
  rm_job job;
  rm_open_request open;
  rm_open_result opened;
} open_job;

static void open_execute(rm_job *job) {
  open_job *o = (open_job *)job;
  job->err = rm_file_open_and_map(&o->open, &o->opened, &job->syscall);
}

static napi_value open_settle(napi_env env, rm_job *job, napi_value *error) {
  open_job *o = (open_job *)job;
  rm_mapping *m = o->opened.mapping;
  o->opened.mapping = NULL;
  (void)error;
  /* Attaching creates ArrayBuffers, so it happens here, on the JS thread. */
  return open_result(env, m);
}

/* A mapping the work made but no one took (cancelled, or failed later). */
static void open_cleanup(napi_env env, rm_job *job) {
  (void)env;
  open_job *o = (open_job *)job;
  if (o->opened.mapping != NULL) rm_table_release(o->opened.mapping);
  o->opened.mapping = NULL;
}

/* openAsync(options) -> Promise of what open() returns */
napi_value js_open_async(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!rm_args(env, info, 1, argv)) return NULL;
  open_job *o = rm_job_new(env, sizeof *o, "open");
  if (o == NULL) return NULL;
  o->job.execute = open_execute;
  o->job.settle = open_settle;
  o->job.cleanup = open_cleanup;
  o->job.path = o->open.path;
  if (!parse_open_request(env, argv[0], &o->open)) {
    rm_job_free(env, &o->job);
    return NULL;
  }
  rm_fault_guard_ensure();
  return rm_job_queue(env, &o->job, "ranged-mmap:open");
}

typedef enum { SPAN_SYNC, SPAN_COPY_IN, SPAN_COPY_OUT, SPAN_FILL } span_kind;

/* A job over [offset, offset + length) of job.m. */
typedef struct {
  rm_job job;
  span_kind kind;
  uint64_t offset, length;
  rm_sync_mode mode; /* SPAN_SYNC */
  int fill_value;    /* SPAN_FILL */
  uint8_t *bounce;   /* SPAN_COPY_*: owned by the job */
  napi_ref target;   /* SPAN_COPY_OUT: the caller's typed array */
} span_job;

/* Before a copy into a file with holes: reserve the pages first, as the
 * synchronous writes do, so a full disk refuses the whole write (ENOSPC)
 * before a byte lands. A truncation found so is recorded (reported as a
 * fault); a kernel without MADV_POPULATE_WRITE (EINVAL) just copies.
 * Returns 0 when the write must not be made. */
static int reserve_before_write(span_job *s) {
  rm_mapping *m = s->job.m;
  if (m->reserved || m->access != RM_ACCESS_RW || s->length == 0) return 1;
  const char *syscall = "madvise";
  int err = rm_populate_write(m, s->offset, s->length, &syscall);
  if (rm_lost_to_truncation(m, err)) return 0;
  if (err == EFAULT) {
    s->job.err = ENOSPC;
    s->job.syscall = "madvise";
    return 0;
  }
  return 1;
}

static void span_execute(rm_job *job) {
  span_job *s = (span_job *)job;
  uint8_t *at = job->m->base + s->offset;
  switch (s->kind) {
  case SPAN_SYNC:
    job->err = rm_sync(job->m, s->offset, s->length, s->mode, &job->syscall);
    break;
  case SPAN_COPY_IN:
    if (!reserve_before_write(s)) break;
    /* A page fault here may wait on the disk, which is why this runs on
     * the pool. A SIGBUS is caught by the guard and recorded. */
    memcpy(at, s->bounce, (size_t)s->length);
    break;
  case SPAN_COPY_OUT:
    memcpy(s->bounce, at, (size_t)s->length);
    break;
  case SPAN_FILL:
    if (!reserve_before_write(s)) break;
    memset(at, s->fill_value, (size_t)s->length);
    break;
  }
}

static napi_value span_settle(napi_env env, rm_job *job, napi_value *error) {
  span_job *s = (span_job *)job;
  /* A fault recorded while the work ran (or found by syncAll's fstat) is
   * read from the mapping itself: the calling thread may have closed its
   * handle, and its view of the status page with it, in the meantime. */
  if ((*error = fault_error(env, job->m)) != NULL) return NULL;
  if (s->kind == SPAN_COPY_OUT && s->length > 0) {
    napi_value target;
    napi_typedarray_type type;
    size_t length = 0;
    void *bytes = NULL;
    if (napi_get_reference_value(env, s->target, &target) != napi_ok || target == NULL ||
        napi_get_typedarray_info(env, target, &type, &length, &bytes, NULL, NULL) !=
            napi_ok ||
        bytes == NULL || length < s->length) {
      napi_value code, msg;
      napi_create_string_utf8(env, "ERR_MMAP_BUFFER_DETACHED", NAPI_AUTO_LENGTH, &code);
      napi_create_string_utf8(env,
                              "the target buffer was detached, transferred or shrunk "
                              "while the read was in flight; nothing was copied into it",
                              NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, code, msg, error);
      return NULL;
    }
    memcpy(bytes, s->bounce, (size_t)s->length);
  }
  return rm_undefined(env);
}

static void span_cleanup(napi_env env, rm_job *job) {
  span_job *s = (span_job *)job;
  if (s->target != NULL) napi_delete_reference(env, s->target);
  free(s->bounce);
}

/* A span job of `kind` over a checked span of m (whose reference it takes),
 * or NULL with an exception pending (m then released). */
static span_job *span_job_new(napi_env env, span_kind kind, rm_mapping *m,
                              uint64_t offset, uint64_t length, const char *syscall) {
  span_job *s = rm_job_new(env, sizeof *s, syscall);
  if (s == NULL) {
    rm_table_release(m);
    return NULL;
  }
  s->job.execute = span_execute;
  s->job.settle = span_settle;
  s->job.cleanup = span_cleanup;
  s->job.m = m; /* the job's reference keeps the fd open meanwhile */
  s->kind = kind;
  s->offset = offset;
  s->length = length;
  return s;
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
napi_value js_sync(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint64_t offset, length;
  rm_sync_mode mode;
  if (!rm_args(env, info, 4, argv) || !get_sync_mode(env, argv[3], &mode)) return NULL;
  rm_mapping *m = rm_acquire_span(env, argv, &offset, &length, NULL, NULL);
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
  return rm_undefined(env);
}

/* syncAsync(key, offset, length, mode) -> Promise<void>, on the libuv pool */
napi_value js_sync_async(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint64_t offset, length;
  rm_sync_mode mode;
  if (!rm_args(env, info, 4, argv) || !get_sync_mode(env, argv[3], &mode)) return NULL;
  rm_mapping *m = rm_acquire_span(env, argv, &offset, &length, NULL, NULL);
  if (m == NULL) return NULL;
  span_job *s = span_job_new(env, SPAN_SYNC, m, offset, length, "msync");
  if (s == NULL) return NULL;
  s->mode = mode;
  return rm_job_queue(env, &s->job, "ranged-mmap:sync");
}

/* advise(key, offset, length, advice) */
napi_value js_advise(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint64_t offset, length;
  uint32_t advice = 0;
  if (!rm_args(env, info, 4, argv) || !rm_u32(env, argv[3], &advice)) return NULL;
  rm_mapping *m = rm_acquire_span(env, argv, &offset, &length, NULL, NULL);
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
  return rm_undefined(env);
}

/* populate(key, offset, length) -> 0 or errno (never throws for the syscall:
 * the caller decides whether a failure matters) */
napi_value js_populate(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint64_t offset, length;
  if (!rm_args(env, info, 3, argv)) return NULL;
  rm_mapping *m = rm_acquire_span(env, argv, &offset, &length, NULL, NULL);
  if (m == NULL) return NULL;
  const char *syscall = "madvise";
  int err = rm_populate_write(m, offset, length, &syscall);
  rm_table_release(m);
  napi_value v;
  napi_create_int32(env, err, &v);
  return v;
}

/* residentPages(key, offset, length) -> pages of the span in the page cache */
napi_value js_resident_pages(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint64_t offset, length, resident = 0;
  if (!rm_args(env, info, 3, argv)) return NULL;
  rm_mapping *m = rm_acquire_span(env, argv, &offset, &length, NULL, NULL);
  if (m == NULL) return NULL;
  const char *syscall = "mincore";
  int err = rm_resident_pages(m, offset, length, &resident, &syscall);
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, syscall, NULL);
  return rm_double(env, (double)resident);
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

/* The first `want` arguments, of which (key, offset, uint8array) come
 * first: the mapping (one reference) and the array's bytes, whose span
 * [offset, offset + its length) is checked to lie inside the file. */
static rm_mapping *bytes_span(napi_env env, napi_callback_info info, size_t want,
                              napi_value *argv, uint8_t **data, uint64_t *offset,
                              uint64_t *len) {
  size_t length;
  if (!rm_args(env, info, want, argv) || !get_bytes(env, argv[2], data, &length))
    return NULL;
  napi_value span[3] = {argv[0], argv[1], rm_double(env, (double)length)};
  return rm_acquire_span(env, span, offset, len, NULL, NULL);
}

/* pwrite(key, offset, uint8array) */
napi_value js_pwrite(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t *data;
  uint64_t offset, len;
  rm_mapping *m = bytes_span(env, info, 3, argv, &data, &offset, &len);
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
  return rm_undefined(env);
}

/* copyAsync(key, offset, uint8array, intoMapping) -> Promise<void>
 * Copies between the mapping and the array; the part that may wait on the
 * disk runs on the libuv pool (see the request comment above). */
napi_value js_copy_async(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint8_t *data;
  uint64_t offset, len;
  rm_mapping *m = bytes_span(env, info, 4, argv, &data, &offset, &len);
  if (m == NULL) return NULL;
  int into_mapping = rm_bool(env, argv[3]);
  span_job *s = span_job_new(env, into_mapping ? SPAN_COPY_IN : SPAN_COPY_OUT, m, offset,
                             len, "memcpy");
  if (s == NULL) return NULL;
  s->bounce = malloc(len > 0 ? (size_t)len : 1);
  if (s->bounce == NULL) {
    rm_job_free(env, &s->job);
    return rm_throw_errno(env, ENOMEM, "malloc", NULL);
  }
  if (into_mapping) {
    /* The caller's bytes, taken now, on this thread (an empty array may
     * have no data pointer at all). */
    if (len > 0) memcpy(s->bounce, data, (size_t)len);
  } else if (napi_create_reference(env, argv[2], 1, &s->target) != napi_ok) {
    rm_job_free(env, &s->job);
    return NULL;
  }
  return rm_job_queue(env, &s->job, "ranged-mmap:copy");
}

/* fillAsync(key, offset, length, value) -> Promise<void>: memset on the pool */
napi_value js_fill_async(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint64_t offset, length;
  uint32_t value = 256;
  if (!rm_args(env, info, 4, argv) || !rm_u32(env, argv[3], &value)) return NULL;
  if (value > 255) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "native fill: value must be a byte");
    return NULL;
  }
  rm_mapping *m = rm_acquire_span(env, argv, &offset, &length, NULL, NULL);
  if (m == NULL) return NULL;
  span_job *s = span_job_new(env, SPAN_FILL, m, offset, length, "memset");
  if (s == NULL) return NULL;
  s->fill_value = (int)value;
  return rm_job_queue(env, &s->job, "ranged-mmap:fill");
}

/* guardEnsure() -> 1 if the SIGBUS guard had been replaced and is back in
 * front, 0 if it was in place. */
napi_value js_guard_ensure(napi_env env, napi_callback_info info) {
  (void)info;
  int r = rm_fault_guard_ensure();
  if (r < 0) return rm_throw_errno(env, errno, "sigaction", NULL);
  napi_value v;
  napi_create_int32(env, r, &v);
  return v;
}

/* ---- range hand-over tickets --------------------------------------------- */

/* ticketIssue(key, start, end) -> ticket id */
napi_value js_ticket_issue(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint64_t start, length;
  if (!rm_args(env, info, 3, argv)) return NULL;
  uint64_t end;
  if (!rm_u64(env, argv[2], &end) || !rm_u64(env, argv[1], &start)) return NULL;
  if (end < start) {
    napi_throw_range_error(env, "ERR_MMAP_INVALID_ARGUMENT", "range end before start");
    return NULL;
  }
  napi_value span[3] = {argv[0], argv[1], rm_double(env, (double)(end - start))};
  rm_mapping *m = rm_acquire_span(env, span, &start, &length, NULL, NULL);
  if (m == NULL) return NULL;
  uint64_t id = rm_ticket_issue(m, start, end);
  rm_table_release(m);
  if (id == 0) return rm_throw_errno(env, ENOMEM, "ticket", NULL);
  return rm_double(env, (double)id);
}

/* ticketClaim(key, ticket, start, end) -> boolean */
napi_value js_ticket_claim(napi_env env, napi_callback_info info) {
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

napi_value js_live_mappings(napi_env env, napi_callback_info info) {
  (void)info;
  return rm_double(env, rm_table_count());
}

/* areaCount() -> [areas counted, cap] (see map_areas.h) */
napi_value js_map_areas(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, rm_double(env, (double)rm_maps_used()));
  napi_set_element(env, out, 1, rm_double(env, (double)rm_maps_cap()));
  return out;
}

/* setAreaCap(cap): TypeScript's cap, from vm.max_map_count. */
napi_value js_set_map_area_cap(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint64_t cap;
  if (!rm_args(env, info, 1, argv) || !rm_u64(env, argv[0], &cap)) return NULL;
  rm_maps_set_cap(cap);
  return rm_undefined(env);
}
