#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "mmapio_ops.h"
#include "async_queue.h"
#include "file_ops.h"
#include "map_areas.h"
#include "mapping_table.h"
#include "napi_args.h"
#include "platform/platform.h"
#include "sync_ops.h"
#include "sys_errors.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* [a, b]: what hugePages, resize and resizeAsync return. */
static napi_value pair(napi_env env, double a, double b) {
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, rm_double(env, a));
  napi_set_element(env, out, 1, rm_double(env, b));
  return out;
}

/* mlock faults every page in; a truncation that took pages away (see
 * rm_lost_to_truncation) is recorded, not reported here: undo the partial
 * lock and return no error. */
static int lock_lost_pages(rm_mapping *m, uint8_t *addr, size_t len, int err) {
  if (!rm_lost_to_truncation(m, err)) return err;
  (void)munlock(addr, len);
  return 0;
}

/* memLock(key, offset, length, lock): mlock or munlock the pages of the span.
 * A low RLIMIT_MEMLOCK shows up as ENOMEM (or EPERM when the limit is 0 and
 * the process may not lock at all), with syscall 'mlock'. */
napi_value js_mem_lock(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint8_t *addr;
  size_t len;
  bool lock = false;
  if (!rm_args(env, info, 4, argv)) return NULL;
  napi_get_value_bool(env, argv[3], &lock);
  uint64_t offset, length;
  rm_mapping *m = rm_acquire_span(env, argv, &offset, &length, &addr, &len);
  if (m == NULL) return NULL;
  int err = 0;
  if (len > 0 && (lock ? mlock(addr, len) : munlock(addr, len)) != 0) err = errno;
  if (lock) err = lock_lost_pages(m, addr, len, err);
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, lock ? "mlock" : "munlock", NULL);
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* hugePages(key, enable) -> [errno of madvise (0 when it was accepted),
 * THPeligible of the mapping afterwards (1, 0, or -1 unknown)]. Never
 * throws for the madvise itself: the hint must never fail an open. */
napi_value js_huge_pages(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint64_t key;
  bool enable = false;
  if (!rm_args(env, info, 2, argv) || !rm_u64(env, argv[0], &key)) return NULL;
  napi_get_value_bool(env, argv[1], &enable);
  rm_mapping *m = rm_table_acquire(key);
  if (m == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the file mapping is closed");
    return NULL;
  }
  int err = rm_plat_huge_pages(m->base, m->map_len, enable);
  int eligible = rm_plat_huge_pages_eligible(m->base);
  rm_table_release(m);
  return pair(env, err, eligible);
}

/* ---- resize ---------------------------------------------------------------
 *
 * A mapping never changes size: a resize makes a new mapping of the new
 * size over the same file and records it as the old one's successor. No
 * memory is ever unmapped under a live view: the old mapping lives on until
 * every thread has left it (each follows the successor at its next call,
 * detaching its old views). Nobody waits on anybody: the lock below covers
 * only the few system calls of one resize. */

static pthread_mutex_t resize_lock = PTHREAD_MUTEX_INITIALIZER;

static int map_successor(rm_mapping *m, uint64_t size, rm_mapping **out,
                         const char **syscall) {
  int fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    *syscall = "dup";
    return errno;
  }
  rm_mapping *n;
  int err = rm_map_file(fd, size, m->access, &n, syscall);
  if (err != 0) {
    close(fd);
    return err;
  }
  /* The same file under the same name: share() handles of the successor
   * carry the path, and fromShared checks it against this copy. */
  n->path = m->path != NULL ? strdup(m->path) : NULL;
  if (m->family == 0) m->family = m->key;
  n->family = m->family;
  /* One nonce for the whole file: a share() handle whose mapping is gone
   * finds the newest mapping by it (rm_table_acquire_newest). */
  n->nonce = m->nonce;
  n->sparse = m->sparse;
  *out = n;
  return 0;
}

/* Before a shrink: every older mapping of the file (and the current one)
 * gets anonymous memory over its pages past the new end (MAP_FIXED replaces
 * them atomically), so a view another thread still holds there neither
 * faults nor reaches the file, now or after a later grow brings the offsets
 * back. The page holding the new end stays mapped to the file (its bytes
 * before the end are file bytes). */
static void clip_mapping(rm_mapping *p, void *ctx) {
  uint64_t new_size = *(const uint64_t *)ctx;
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  uint64_t from = (new_size + page - 1) & ~(page - 1);
  uint64_t end = p->cut_at != 0 ? p->cut_at : p->map_len; /* beyond: cut already */
  if (from >= end) return;
  if (mmap(p->base + from, (size_t)(end - from), PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
    /* Cannot happen for a range we own; if it did, the SIGBUS guard still
     * catches touches past the end. */
    return;
  }
  /* The anonymous tail is an area of its own (counted while p lives). */
  if (p->cut_at == 0) {
    rm_maps_add(1);
    p->areas++;
  }
  p->cut_at = from;
}

/* Once the shrink is done, each clipped mapping is marked as having lost
 * pages, like a truncation: a MemoryMappedFile follows the successor first
 * and is not affected, but a file of another API still on an old mapping
 * (RawMmapFile.fromShared of an old handle) then reports ERR_MMAP_FAULT
 * instead of writing into memory that no longer reaches the file. */
static void mark_cut(rm_mapping *p, void *ctx) {
  uint64_t new_size = *(const uint64_t *)ctx;
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  uint64_t from = (new_size + page - 1) & ~(page - 1);
  if (from < p->map_len) rm_mapping_record_loss(p, new_size);
}

/* Undoes clip_mapping on the current mapping when the shrink it prepared
 * failed: the file still has those pages, so map them again. */
static void remap_tail(rm_mapping *m, uint64_t new_size) {
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  uint64_t from = (new_size + page - 1) & ~(page - 1);
  if (from >= m->map_len) return;
  if (mmap(m->base + from, (size_t)(m->map_len - from), PROT_READ | PROT_WRITE,
           MAP_SHARED | MAP_FIXED, m->fd, (off_t)from) == MAP_FAILED) {
    /* Left anonymous: stores there no longer reach the file. Record it as
     * lost pages, so every later call reports it instead of succeeding. */
    rm_mapping_record_loss(m, from);
    return;
  }
  m->cut_at = 0;
}

/* After a grow: the bytes between the old end and the end of its page may
 * hold stores made past the old end through the shared page; the file must
 * read zeros there. */
static int zero_old_tail(rm_mapping *m, uint64_t new_size, const char **syscall) {
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  uint64_t end = (m->size + page - 1) & ~(page - 1);
  if (end > new_size) end = new_size;
  if (end <= m->size) return 0;
  static const uint8_t zeros[4096];
  uint64_t at = m->size;
  while (at < end) {
    size_t n = end - at < sizeof zeros ? (size_t)(end - at) : sizeof zeros;
    ssize_t w = pwrite(m->fd, zeros, n, (off_t)at);
    if (w < 0) {
      if (errno == EINTR) continue;
      *syscall = "pwrite";
      return errno;
    }
    at += (uint64_t)w;
  }
  return 0;
}

/* Before a grow of a file not created sparse: reserve the new blocks, so a
 * full disk fails the resize before the file changes (size and bytes).
 * Where fallocate is not supported, posix_fallocate writes a zero into every
 * new block instead; that extends the file as it goes, so a failure puts
 * the old size back. */
static int reserve_tail(rm_mapping *m, uint64_t size, const char **syscall) {
  int err = rm_plat_reserve(m->fd, m->size, size - m->size, 1, 1, syscall);
  if (err != 0 && strcmp(*syscall, "posix_fallocate") == 0 &&
      ftruncate(m->fd, (off_t)m->size) != 0) { /* nothing more to do */
  }
  return err;
}

/* The resize itself (no JavaScript values: it also runs on the libuv pool
 * for resizeAsync). Returns 0 or an errno (with *syscall); *moved is 1 when
 * another thread resized m first; *next is the new (or successor's) key. */
static int resize_core(rm_mapping *m, uint64_t size, int *moved_out, double *next_out,
                       const char **syscall_out) {
  int err = 0, moved = 0;
  const char *syscall = "ftruncate";
  rm_mapping *n = NULL;
  pthread_mutex_lock(&resize_lock);
  if (m->successor != NULL) {
    moved = 1;
    n = m->successor;
  } else {
    int reserved = m->reserved;
    /* Refuse before the file changes when the successor's areas would pass
     * the cap (map_successor takes them; a race lost there is undone). */
    if (rm_maps_used() + 2 > rm_maps_cap()) {
      err = RM_EMAPLIMIT;
      syscall = "mmap";
    } else if (size > m->size && !m->sparse) {
      err = reserve_tail(m, size, &syscall);
    } else if (size > m->size) {
      reserved = 0;
    }
    if (err == 0 && size < m->size) rm_table_each_predecessor(m, clip_mapping, &size);
    if (err == 0 && ftruncate(m->fd, (off_t)size) != 0) {
      err = errno;
      syscall = "ftruncate";
      if (size < m->size) remap_tail(m, size); /* m stays the file's mapping */
    }
    if (err == 0 && size > m->size && (err = zero_old_tail(m, size, &syscall)) != 0) {
      if (ftruncate(m->fd, (off_t)m->size) != 0) { /* nothing more to do */
      }
    }
    if (err == 0 && (err = map_successor(m, size, &n, &syscall)) != 0) {
      /* The file has its new size but no mapping shows it: put the old size back. */
      if (ftruncate(m->fd, (off_t)m->size) != 0) { /* nothing more to do */
      }
      if (size < m->size) remap_tail(m, size);
    }
    if (err == 0) {
      n->reserved = reserved;
      /* The successor is published before the old mappings are marked:
       * a thread that finds the mark must also find where to go. */
      uint64_t old_size = m->size;
      m->successor = n; /* the new mapping's first reference is held by m */
      double at = (double)n->key;
      memcpy(m->status + RM_STATUS_SUCCESSOR_BYTE, &at, sizeof at);
      atomic_thread_fence(memory_order_seq_cst);
      if (size < old_size) rm_table_each_predecessor(m, mark_cut, &size);
    }
  }
  double next = n != NULL ? (double)n->key : 0;
  pthread_mutex_unlock(&resize_lock);
  *moved_out = moved;
  *next_out = next;
  *syscall_out = syscall;
  return err;
}

/* The arguments of resize and resizeAsync: (key, newSize). Returns the
 * mapping (one reference, for the caller to release) with the new size in
 * *size, or NULL with an exception pending. */
static rm_mapping *resize_args(napi_env env, napi_callback_info info, uint64_t *size) {
  napi_value argv[2];
  uint64_t key;
  if (!rm_args(env, info, 2, argv) || !rm_u64(env, argv[0], &key) ||
      !rm_u64(env, argv[1], size))
    return NULL;
  if (*size == 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "native resize: size must be at least 1");
    return NULL;
  }
  rm_mapping *m = rm_table_acquire(key);
  if (m == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the file mapping is closed");
    return NULL;
  }
  if (m->access != RM_ACCESS_RW) {
    rm_table_release(m);
    napi_throw_error(env, "ERR_MMAP_INVALID_MODE", "resize of a private mapping");
    return NULL;
  }
  return m;
}

/* resize(key, newSize) -> [0, newKey] once resized, or [1, successorKey]
 * when another thread resized this mapping first (follow it and retry). */
napi_value js_resize(napi_env env, napi_callback_info info) {
  uint64_t size;
  rm_mapping *m = resize_args(env, info, &size);
  if (m == NULL) return NULL;
  int moved = 0;
  double next = 0;
  const char *syscall = "ftruncate";
  int err = resize_core(m, size, &moved, &next, &syscall);
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, syscall, NULL);
  return pair(env, moved, next);
}

/* ---- resizeAsync, touchAsync, memLockAsync: jobs of the async queue ---- */

typedef enum { JOB_RESIZE, JOB_TOUCH, JOB_LOCK } job_kind;

typedef struct {
  rm_job job; /* job.m: pinned by a reference from the call to completion */
  job_kind kind;
  uint64_t size; /* JOB_RESIZE */
  uint8_t *addr; /* JOB_TOUCH, JOB_LOCK: the page span, inside job.m */
  size_t len;
  int moved;
  double next;
} mmapio_job;

static void job_execute(rm_job *job) {
  mmapio_job *j = (mmapio_job *)job;
  if (j->kind == JOB_RESIZE) {
    job->err = resize_core(job->m, j->size, &j->moved, &j->next, &job->syscall);
    return;
  }
  if (j->len == 0) return;
  if (j->kind == JOB_LOCK) {
    /* mlock faults every page in first: this is what can wait on the disk. */
    if (mlock(j->addr, j->len) != 0) {
      job->err = lock_lost_pages(job->m, j->addr, j->len, errno);
      job->syscall = "mlock";
    }
    return;
  }
  int err = rm_plat_populate(j->addr, j->len, 0);
  if (err == 0) return;
  if (err != EINVAL) {
    if (rm_lost_to_truncation(job->m, err)) return; /* recorded */
    job->err = err;
    job->syscall = "madvise";
    return;
  }
  /* No populate here (Linux before 5.14): read one byte of every page. A
   * SIGBUS (the file was truncated by another process) is caught by the
   * guard and recorded in the mapping's status page, as for the async
   * copies. */
  size_t page = rm_page_size();
  volatile uint8_t sink = 0;
  for (size_t at = 0; at < j->len; at += page) sink ^= ((volatile uint8_t *)j->addr)[at];
  (void)sink;
}

static napi_value resize_settle(napi_env env, rm_job *job, napi_value *error) {
  mmapio_job *j = (mmapio_job *)job;
  (void)error;
  return pair(env, j->moved, j->next);
}

/* resizeAsync(key, newSize) -> Promise of what resize returns. */
napi_value js_resize_async(napi_env env, napi_callback_info info) {
  uint64_t size;
  rm_mapping *m = resize_args(env, info, &size);
  if (m == NULL) return NULL;
  mmapio_job *j = rm_job_new(env, sizeof *j, "ftruncate");
  if (j == NULL) {
    rm_table_release(m);
    return NULL;
  }
  j->job.execute = job_execute;
  j->job.settle = resize_settle;
  j->job.m = m;
  j->kind = JOB_RESIZE;
  j->size = size;
  return rm_job_queue(env, &j->job, "ranged-mmap:resize");
}

/* A job over the page span of argv[0..2] (key, offset, length). */
static napi_value span_job(napi_env env, napi_callback_info info, job_kind kind,
                           const char *syscall, const char *name) {
  napi_value argv[3];
  uint64_t offset, length;
  uint8_t *addr;
  size_t len;
  if (!rm_args(env, info, 3, argv)) return NULL;
  rm_mapping *m = rm_acquire_span(env, argv, &offset, &length, &addr, &len);
  if (m == NULL) return NULL;
  mmapio_job *j = rm_job_new(env, sizeof *j, syscall);
  if (j == NULL) {
    rm_table_release(m);
    return NULL;
  }
  j->job.execute = job_execute;
  j->job.m = m;
  j->kind = kind;
  j->addr = addr;
  j->len = len;
  return rm_job_queue(env, &j->job, name);
}

/* touchAsync(key, offset, length) -> Promise: faults the span's pages in
 * (rm_plat_populate, or a read of every page) on the pool. */
napi_value js_touch_async(napi_env env, napi_callback_info info) {
  return span_job(env, info, JOB_TOUCH, "madvise", "ranged-mmap:touch");
}

/* memLockAsync(key, offset, length) -> Promise: mlock of the span on the
 * pool (errors as memLock's). */
napi_value js_mem_lock_async(napi_env env, napi_callback_info info) {
  return span_job(env, info, JOB_LOCK, "mlock", "ranged-mmap:mlock");
}
