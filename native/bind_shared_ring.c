/*
 * Node-API bindings of SharedRing (native/shared_ring.c). Registered from
 * bind_ring.c.
 *
 * The ring's memory is an entry of the process-wide mapping table (so the
 * SIGBUS guard covers a ring file truncated under it, and other threads
 * attach to it by key). Each thread gets one external ArrayBuffer over the
 * whole of it (header page, the data region twice, the trailer page), and
 * one over the entry's status page, whose fault counter TypeScript reads
 * after every copy (the SIGBUS guard bumps it when a page is lost); the thread's
 * record (its reference, its role) is attached to that buffer with
 * napi_wrap. close() gives up the role (a producer's close is the end of
 * the stream), detaches the buffer, then drops the reference. A buffer
 * collected, or a thread that exits, without close() leaves its role GONE,
 * which the other side reports as an error instead of waiting forever.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bind_shared_ring.h"
#include "fault_guard.h"
#include "map_areas.h"
#include "mapping_table.h"
#include "napi_args.h"
#include "shared_ring.h"
#include "sys_errors.h"

typedef struct {
  rm_mapping *m; /* NULL once released */
  rm_sring_mem mem;
  uint32_t role;   /* state index of the role this thread holds, 0 if none */
  napi_ref status; /* weak: this thread's buffer over the status page */
} sr_handle;

static const napi_type_tag SR_TAG = {0x73686172656472ULL, 0x6e67a5c3e1d07b29ULL};

static void sr_release(sr_handle *h, rm_sr_state leave_as) {
  if (h->m == NULL) return;
  if (h->role != 0) rm_sring_leave(&h->mem, h->role, leave_as);
  h->role = 0;
  rm_table_release(h->m);
  h->m = NULL;
}

static void sr_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  sr_handle *h = data;
  if (h->status != NULL) napi_delete_reference(env, h->status);
  /* Collected or its thread exited without close(): the role is GONE. */
  sr_release(h, RM_SR_GONE);
  free(h);
}

static sr_handle *unwrap(napi_env env, napi_value ab) {
  bool tagged = false;
  void *data = NULL;
  if (napi_check_object_type_tag(env, ab, &SR_TAG, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, ab, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "native call: not a shared ring");
    return NULL;
  }
  sr_handle *h = data;
  if (h->m == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the shared ring is closed");
    return NULL;
  }
  return h;
}

/* [key, buffer] for m, taking over the caller's reference. */
static napi_value attach(napi_env env, rm_mapping *m) {
  sr_handle *h = calloc(1, sizeof *h);
  if (h == NULL) {
    rm_table_release(m);
    return rm_throw_errno(env, ENOMEM, "malloc", NULL);
  }
  h->m = m;
  h->mem.base = m->base;
  h->mem.map_len = (size_t)m->map_len;
  h->mem.capacity = ((size_t)m->map_len - RM_SRING_HEADER - RM_SRING_TRAILER) / 2;
  napi_value ab, status, out;
  /* The status page lives as long as the entry, which this thread's
   * reference (released by close or by the ring buffer's finalizer) keeps;
   * TypeScript holds the status buffer only next to the ring buffer, and
   * close() detaches both. */
  if (napi_create_external_arraybuffer(env, m->base, (size_t)m->map_len, NULL, NULL,
                                       &ab) != napi_ok ||
      napi_create_external_arraybuffer(env, m->status, RM_STATUS_BYTES, NULL, NULL,
                                       &status) != napi_ok) {
    rm_table_release(m);
    free(h);
    return NULL;
  }
  if (napi_create_reference(env, status, 0, &h->status) != napi_ok) h->status = NULL;
  if (napi_type_tag_object(env, ab, &SR_TAG) != napi_ok ||
      napi_wrap(env, ab, h, sr_finalize, NULL, NULL) != napi_ok) {
    if (h->status != NULL) napi_delete_reference(env, h->status);
    napi_detach_arraybuffer(env, ab);
    rm_table_release(m);
    free(h);
    return NULL;
  }
  napi_create_array_with_length(env, 3, &out);
  napi_set_element(env, out, 0, rm_double(env, (double)m->key));
  napi_set_element(env, out, 1, ab);
  napi_set_element(env, out, 2, status);
  return out;
}

/* Registers fresh ring memory in the table; the table never closes an fd
 * for it (there is none left open). */
static napi_value register_ring(napi_env env, rm_sring_mem *mem) {
  /* Header, two copies of the data and the status page. Counted once the
   * ring is mapped (shared_ring.c knows nothing of the count): refused, it
   * is unmapped at once, well inside the headroom the cap leaves. */
  if (rm_maps_take(4) != 0) {
    munmap(mem->base, mem->map_len);
    return rm_throw_errno(env, RM_EMAPLIMIT, "mmap", NULL);
  }
  uint8_t *status = mmap(NULL, RM_STATUS_BYTES, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (status == MAP_FAILED) {
    int err = errno;
    munmap(mem->base, mem->map_len);
    rm_maps_give(4);
    return rm_throw_errno(env, err, "mmap", NULL);
  }
  rm_mapping *m = rm_table_insert(-1, mem->base, mem->map_len, mem->map_len, status);
  if (m == NULL) {
    munmap(status, RM_STATUS_BYTES);
    munmap(mem->base, mem->map_len);
    rm_maps_give(4);
    return rm_throw_errno(env, ENOMEM, "mmap", NULL);
  }
  m->areas = 4;
  m->fd_borrowed = 1;
  return attach(env, m);
}

static int get_path(napi_env env, napi_value v, char *path, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, path, size, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "native shared ring: path must be a string");
    return 0;
  }
  if (len >= size - 1) {
    rm_throw_errno(env, ENAMETOOLONG, "open", NULL);
    return 0;
  }
  if (len == 0 || strlen(path) != len) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                          "native shared ring: path must be non-empty, without NUL");
    return 0;
  }
  return 1;
}

/* srCreate(hint, path | null, mode) -> [key, buffer, status] */
napi_value js_sr_create(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  double hint = 0;
  int32_t mode = 0600;
  if (!rm_args(env, info, 3, argv)) return NULL;
  if (napi_get_value_double(env, argv[0], &hint) != napi_ok || !(hint >= 1) ||
      hint > (double)RM_SRING_MAX_CAPACITY || hint != (double)(uint64_t)hint) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "native srCreate: capacity out of range");
    return NULL;
  }
  napi_valuetype type;
  napi_typeof(env, argv[1], &type);
  char path[PATH_MAX];
  const char *p = NULL;
  if (type != napi_null && type != napi_undefined) {
    if (!get_path(env, argv[1], path, sizeof path)) return NULL;
    p = path;
  }
  uint32_t bits = 0;
  if (!rm_u32(env, argv[2], &bits)) return NULL;
  if (bits > 07777) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "native srCreate: mode must be 0 to 07777");
    return NULL;
  }
  mode = (int32_t)bits;
  rm_fault_guard_ensure();
  rm_sring_mem mem;
  const char *syscall = "mmap";
  int err = rm_sring_create((size_t)hint, p, mode & 07777, &mem, &syscall);
  if (err != 0) return rm_throw_errno(env, err, syscall, p);
  return register_ring(env, &mem);
}

/* srOpen(path) -> [key, buffer, status]. A file that is not a whole ring of
 * this version throws ERR_MMAP_INVALID_STATE carrying what it holds in
 * `found`: { size, magic, version, capacity, trailer } (TypeScript says
 * what is wrong). */
napi_value js_sr_open(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[PATH_MAX];
  if (!rm_args(env, info, 1, argv) || !get_path(env, argv[0], path, sizeof path))
    return NULL;
  rm_fault_guard_ensure();
  rm_sring_mem mem;
  rm_sring_found found;
  const char *syscall = "open";
  int err = rm_sring_open(path, &mem, &found, &syscall);
  if (err == RM_SRING_NOT_A_RING) {
    napi_value out, code, msg, error;
    napi_create_object(env, &out);
    napi_set_named_property(env, out, "size", rm_double(env, (double)found.size));
    napi_set_named_property(env, out, "magic", rm_double(env, found.magic));
    napi_set_named_property(env, out, "version", rm_double(env, found.version));
    napi_set_named_property(env, out, "capacity", rm_double(env, found.capacity));
    napi_set_named_property(env, out, "trailer", rm_double(env, found.trailer));
    napi_create_string_utf8(env, "ERR_MMAP_INVALID_STATE", NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, "native srOpen: not a whole ring file of this version",
                            NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, code, msg, &error);
    napi_set_named_property(env, error, "found", out);
    napi_throw(env, error);
    return NULL;
  }
  if (err != 0) return rm_throw_errno(env, err, syscall, path);
  return register_ring(env, &mem);
}

/* srAttach(key) -> [key, buffer, status] for this thread */
napi_value js_sr_attach(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  double d = -1;
  if (!rm_args(env, info, 1, argv)) return NULL;
  napi_get_value_double(env, argv[0], &d);
  if (!(d >= 1) || d > 9007199254740991.0 || d != (double)(uint64_t)d) {
    napi_throw_range_error(env, "ERR_MMAP_INVALID_ARGUMENT", "native srAttach: bad key");
    return NULL;
  }
  rm_mapping *m = rm_table_acquire((uint64_t)d);
  /* A key of some other kind of mapping is refused: a ring's table entry
   * has no descriptor and its length is a header and a trailer plus twice a
   * power of two. */
  size_t cap = m == NULL || m->map_len < RM_SRING_HEADER + RM_SRING_TRAILER
                   ? 0
                   : ((size_t)m->map_len - RM_SRING_HEADER - RM_SRING_TRAILER) / 2;
  if (m != NULL && (m->fd != -1 || cap == 0 || (cap & (cap - 1)) != 0 ||
                    ((uint32_t *)m->base)[RM_SR_MAGIC] != RM_SRING_MAGIC)) {
    rm_table_release(m);
    m = NULL;
  }
  if (m == NULL) {
    napi_throw_error(
        env, "ERR_MMAP_CLOSED",
        "the shared ring is closed in every thread; it cannot be attached any more");
    return NULL;
  }
  rm_fault_guard_ensure();
  return attach(env, m);
}

static int role_index(napi_env env, napi_value v, uint32_t *index) {
  uint32_t role = 0;
  if (!rm_u32(env, v, &role)) return 0;
  if (role != 1 && role != 2) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "native shared ring: role must be 1 or 2");
    return 0;
  }
  *index = role == 1 ? RM_SR_PRODUCER_STATE : RM_SR_CONSUMER_STATE;
  return 1;
}

/* The ring of argv[0] and, from argv[1], the header word index: a role's
 * state word (`words` role_index) or a sequence word (seq_index). Reads
 * `want` arguments; NULL with an exception pending. */
static sr_handle *ring_word(napi_env env, napi_callback_info info, size_t want,
                            napi_value *argv,
                            int (*words)(napi_env, napi_value, uint32_t *),
                            uint32_t *index) {
  if (!rm_args(env, info, want, argv)) return NULL;
  sr_handle *h = unwrap(env, argv[0]);
  if (h == NULL || !words(env, argv[1], index)) return NULL;
  return h;
}

/* srClaim(buffer, role) -> boolean (1 producer, 2 consumer) */
napi_value js_sr_claim(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t index;
  sr_handle *h = ring_word(env, info, 2, argv, role_index, &index);
  if (h == NULL) return NULL;
  int ok = h->role == index || (h->role == 0 && rm_sring_claim(&h->mem, index));
  if (ok) h->role = index;
  napi_value v;
  napi_get_boolean(env, ok, &v);
  return v;
}

/* srPeer(buffer, role) -> that role's state as rm_sring_peer sees it (GONE
 * if its process died, CLAIMING, CORRUPT); -1 when a page of the ring was
 * lost (the ring file was truncated). */
napi_value js_sr_peer(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t index;
  sr_handle *h = ring_word(env, info, 2, argv, role_index, &index);
  if (h == NULL) return NULL;
  if (rm_mapping_faults(h->m, NULL) != 0) return rm_double(env, -1);
  return rm_double(env, rm_sring_peer(&h->mem, index));
}

static int seq_index(napi_env env, napi_value v, uint32_t *index) {
  uint32_t i = 0;
  if (!rm_u32(env, v, &i)) return 0;
  if (i != RM_SR_DATA_SEQ && i != RM_SR_SPACE_SEQ) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "native shared ring: not a futex word");
    return 0;
  }
  *index = i;
  return 1;
}

/* The expected value and the timeout of srWait and srWaitAsync (argv[2],
 * argv[3]); a timeout is capped at a minute: callers loop. */
static int wait_args(napi_env env, napi_value *argv, int32_t *expected,
                     uint32_t *timeout) {
  if (!rm_i32(env, argv[2], expected) || !rm_u32(env, argv[3], timeout)) return 0;
  if (*timeout > 60000) *timeout = 60000;
  return 1;
}

/* srWait(buffer, index, expected, timeoutMs) -> true if the time ran out */
napi_value js_sr_wait(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t index, timeout = 0;
  int32_t expected = 0;
  sr_handle *h = ring_word(env, info, 4, argv, seq_index, &index);
  if (h == NULL) return NULL;
  if (!wait_args(env, argv, &expected, &timeout)) return NULL;
  napi_value v;
  napi_get_boolean(env, rm_sring_wait(rm_sring_word(&h->mem, index), expected, timeout),
                   &v);
  return v;
}

/* ---- waits that do not block JavaScript --------------------------------
 *
 * srWaitAsync sleeps on a thread of its own, never on libuv's pool (a
 * futex wait can last; four of them would stall every fs call of the
 * process). The thread holds a reference to the ring's table entry, so the
 * memory it sleeps on stays mapped even if every thread closes the ring
 * meanwhile; the promise settles through a thread-safe function. */

/* Shared by the waiting thread and the JavaScript side. Node deletes a
 * thread-safe function when its environment is torn down (a worker
 * terminated mid-wait) even if a thread still holds it, so the thread
 * touches the function only under `lock` and only while `env_alive`; an
 * environment cleanup hook (registered after the function, so it runs
 * before Node's own) clears that flag. Two references: the thread's and
 * the JavaScript side's (dropped when the promise settles, or by the hook). */
typedef struct {
  pthread_mutex_t lock;
  int refs;
  int env_alive;
  napi_env env;
  rm_mapping *m;
  int32_t *word;
  int32_t expected;
  uint32_t timeout_ms;
  int timed_out;
  napi_deferred deferred;
  napi_threadsafe_function tsfn;
} sr_async_wait;

static void async_wait_drop(sr_async_wait *w) {
  pthread_mutex_lock(&w->lock);
  int left = --w->refs;
  pthread_mutex_unlock(&w->lock);
  if (left != 0) return;
  rm_table_release(w->m);
  pthread_mutex_destroy(&w->lock);
  free(w);
}

static void async_wait_env_gone(void *arg) {
  sr_async_wait *w = arg;
  pthread_mutex_lock(&w->lock);
  w->env_alive = 0;
  pthread_mutex_unlock(&w->lock);
  async_wait_drop(w); /* the JavaScript side's reference */
}

static void async_wait_settle(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)context;
  sr_async_wait *w = data;
  /* env == NULL: the environment is being torn down, and the cleanup hook
   * has already dropped the JavaScript side's reference. */
  if (env == NULL) return;
  napi_value v;
  napi_get_boolean(env, w->timed_out, &v);
  napi_resolve_deferred(env, w->deferred, v);
  napi_remove_env_cleanup_hook(env, async_wait_env_gone, w);
  async_wait_drop(w);
}

static void *async_wait_main(void *arg) {
  sr_async_wait *w = arg;
  w->timed_out = rm_sring_wait(w->word, w->expected, w->timeout_ms);
  pthread_mutex_lock(&w->lock);
  if (w->env_alive) {
    napi_call_threadsafe_function(w->tsfn, w, napi_tsfn_nonblocking);
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
  }
  pthread_mutex_unlock(&w->lock);
  async_wait_drop(w); /* the thread's reference */
  return NULL;
}

/* srWaitAsync(buffer, index, expected, timeoutMs) -> Promise<boolean> (true
 * if the time ran out) */
napi_value js_sr_wait_async(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t index, timeout = 0;
  int32_t expected = 0;
  sr_handle *h = ring_word(env, info, 4, argv, seq_index, &index);
  if (h == NULL) return NULL;
  if (!wait_args(env, argv, &expected, &timeout)) return NULL;
  sr_async_wait *w = calloc(1, sizeof *w);
  if (w == NULL) return rm_throw_errno(env, ENOMEM, "malloc", NULL);
  w->m = rm_table_acquire(h->m->key);
  if (w->m == NULL) {
    free(w);
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the shared ring is closed");
    return NULL;
  }
  pthread_mutex_init(&w->lock, NULL);
  w->refs = 2;
  w->env_alive = 1;
  w->env = env;
  w->word = rm_sring_word(&h->mem, index);
  w->expected = expected;
  w->timeout_ms = timeout;
  napi_value promise, name;
  napi_create_string_utf8(env, "ranged-mmap:shared-ring-wait", NAPI_AUTO_LENGTH, &name);
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL,
                                      async_wait_settle, &w->tsfn) != napi_ok) {
    rm_table_release(w->m);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return NULL;
  }
  napi_add_env_cleanup_hook(env, async_wait_env_gone, w);
  pthread_attr_t attr;
  pthread_t thread;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  int err = pthread_create(&thread, &attr, async_wait_main, w);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    napi_remove_env_cleanup_hook(env, async_wait_env_gone, w);
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
    napi_reject_deferred(env, w->deferred,
                         rm_make_errno_error(env, err, "pthread_create", NULL));
    rm_table_release(w->m);
    pthread_mutex_destroy(&w->lock);
    free(w);
  }
  return promise;
}

/* srWake(buffer, index) */
napi_value js_sr_wake(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t index;
  sr_handle *h = ring_word(env, info, 2, argv, seq_index, &index);
  if (h == NULL) return NULL;
  rm_sring_wake(rm_sring_word(&h->mem, index));
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

/* srClose(buffer): leaves the role (CLOSED: a producer's end of stream),
 * detaches the buffer and this thread's status buffer, drops the
 * reference. Closing twice is a no-op. */
napi_value js_sr_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!rm_args(env, info, 1, argv)) return NULL;
  bool tagged = false;
  void *data = NULL;
  if (napi_check_object_type_tag(env, argv[0], &SR_TAG, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "native srClose: not a shared ring");
    return NULL;
  }
  sr_handle *h = data;
  if (h->m != NULL) {
    if (napi_detach_arraybuffer(env, argv[0]) != napi_ok) return NULL;
    /* The status buffer, if it is still alive (it is held next to the ring
     * buffer, so it normally is). */
    napi_value status = NULL;
    if (h->status != NULL &&
        napi_get_reference_value(env, h->status, &status) == napi_ok && status != NULL)
      napi_detach_arraybuffer(env, status);
    sr_release(h, RM_SR_CLOSED);
  }
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}
