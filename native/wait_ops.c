#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "wait_ops.h"
#include "mapping_table.h"
#include "napi_args.h"
#include "platform/platform.h"
#include "sys_errors.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Outcomes (RM_WAIT_*, platform.h), as TypeScript maps them: 'ok',
 * 'not-equal', 'timed-out', closed. */

/* The mapping (one reference, for the caller to release) and the aligned
 * word at argv[1] inside it. */
static rm_mapping *word_of(napi_env env, napi_value *argv, _Atomic uint32_t **word) {
  uint64_t key, offset;
  if (!rm_u64(env, argv[0], &key) || !rm_u64(env, argv[1], &offset)) return NULL;
  rm_mapping *m = rm_table_acquire(key);
  if (m == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the file mapping is closed");
    return NULL;
  }
  if (offset % 4 != 0 || offset > m->size || 4 > m->size - offset) {
    rm_table_release(m);
    napi_throw_range_error(env, "ERR_MMAP_OUT_OF_BOUNDS",
                           "native wait: the word is misaligned or outside the file");
    return NULL;
  }
  *word = (_Atomic uint32_t *)(m->base + offset);
  return m;
}

/* The deadline of a timeout in ms; has_deadline = 0 for forever (Infinity). */
static void deadline_of(double ms, struct timespec *at, int *has_deadline) {
  *has_deadline = isfinite(ms);
  if (*has_deadline) rm_plat_deadline(ms, at);
}

static napi_value int_value(napi_env env, int32_t n) {
  napi_value v;
  napi_create_int32(env, n, &v);
  return v;
}

/* The expected word and the timeout, checked as strictly as every other
 * number the native core takes: a whole number in [0, 2^32), and a timeout
 * that is >= 0 (Infinity: no deadline). */
static int wait_args(napi_env env, napi_value expected_v, napi_value ms_v,
                     uint32_t *expected, double *ms) {
  double e;
  if (napi_get_value_double(env, expected_v, &e) != napi_ok || !(e >= 0) ||
      e > 4294967295.0 || e != (double)(uint32_t)e) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "native wait: expected must be a whole number in [0, 2^32)");
    return 0;
  }
  if (napi_get_value_double(env, ms_v, ms) != napi_ok || !(*ms >= 0)) {
    napi_throw_range_error(
        env, "ERR_OUT_OF_RANGE",
        "native wait: the timeout must be a number >= 0 (Infinity: none)");
    return 0;
  }
  *expected = (uint32_t)e;
  return 1;
}

/* wait(key, offset, expected, timeoutMs) -> 0 ok, 1 not-equal, 2 timed-out.
 * Blocks the calling thread (like Atomics.wait). */
napi_value js_wait(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t expected;
  double ms;
  _Atomic uint32_t *word;
  if (!rm_args(env, info, 4, argv) || !wait_args(env, argv[2], argv[3], &expected, &ms))
    return NULL;
  rm_mapping *m = word_of(env, argv, &word);
  if (m == NULL) return NULL;
  struct timespec at;
  int has_deadline;
  deadline_of(ms, &at, &has_deadline);
  int r = rm_plat_wait(word, expected, has_deadline ? &at : NULL);
  rm_table_release(m);
  if (r < 0) return rm_throw_errno(env, -r, "futex", NULL);
  return int_value(env, r);
}

/* notify(key, offset, count) -> number of waiters woken (in every process). */
napi_value js_notify(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  double count;
  _Atomic uint32_t *word;
  if (!rm_args(env, info, 3, argv)) return NULL;
  if (napi_get_value_double(env, argv[2], &count) != napi_ok || !(count >= 0) ||
      (count != INFINITY && count != floor(count))) {
    napi_throw_range_error(
        env, "ERR_OUT_OF_RANGE",
        "native notify: count must be a whole number >= 0, or Infinity");
    return NULL;
  }
  rm_mapping *m = word_of(env, argv, &word);
  if (m == NULL) return NULL;
  int n = !(count < (double)INT_MAX) ? INT_MAX : count < 0 ? 0 : (int)count;
  long r = rm_plat_wake(word, n); /* count 0 wakes none, as Atomics.notify */
  int err = r < 0 ? (int)-r : 0;
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, "futex", NULL);
  return int_value(env, (int32_t)r);
}

/* ---- waitAsync: one thread of its own per wait ---------------------------
 *
 * A wait can last forever, so it must not sit on the libuv pool (four
 * threads shared with every fs call). Each waitAsync gets a small thread
 * that waits on two words at once (rm_plat_wait_or_cancel): the word, and a
 * cancel word of its own. Closing the file in this thread, or the thread's
 * environment going away, sets the cancel word and wakes it. The thread
 * holds a reference to the mapping, so the word stays mapped meanwhile. */

typedef struct wait_state wait_state;

typedef struct waiter {
  uint64_t id;
  rm_mapping *m;
  _Atomic uint32_t *word;
  uint32_t expected;
  struct timespec at;
  int has_deadline;
  _Atomic uint32_t cancel;
  int result;
  int queued; /* the thread handed the result to the JavaScript thread */
  int joined;
  pthread_t thread;
  napi_threadsafe_function tsfn;
  napi_deferred deferred;
  wait_state *st;
  struct waiter *next;
} waiter;

/* One per thread (napi_env), passed as the functions' data; freed when the
 * environment is gone and its last waiter is settled. Touched only on that
 * JavaScript thread (and in its cleanup hook). */
struct wait_state {
  waiter *head;
  uint64_t next_id;
  int refs; /* 1 for the environment + 1 per waiter not yet freed */
};

static void state_unref(wait_state *st) {
  if (--st->refs == 0) free(st);
}

static void *waiter_main(void *arg) {
  waiter *w = arg;
  w->result = rm_plat_wait_or_cancel(w->word, w->expected, &w->cancel,
                                     w->has_deadline ? &w->at : NULL);
  w->queued = napi_call_threadsafe_function(w->tsfn, w, napi_tsfn_nonblocking) == napi_ok;
  return NULL;
}

static void join_waiter(waiter *w) {
  if (w->joined) return;
  pthread_join(w->thread, NULL);
  w->joined = 1;
}

static void unlink_waiter(wait_state *st, waiter *w) {
  for (waiter **p = &st->head; *p != NULL; p = &(*p)->next) {
    if (*p == w) {
      *p = w->next;
      return;
    }
  }
}

static void free_waiter(waiter *w) {
  wait_state *st = w->st;
  unlink_waiter(st, w);
  rm_table_release(w->m);
  free(w);
  state_unref(st);
}

/* On the JavaScript thread: settle the promise and free the waiter. Also
 * called with env NULL when the environment is torn down with the result
 * still queued: then only free. */
static void waiter_done(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)context;
  waiter *w = data;
  join_waiter(w);
  if (env != NULL) {
    if (w->result >= 0)
      napi_resolve_deferred(env, w->deferred, int_value(env, w->result));
    else
      napi_reject_deferred(env, w->deferred,
                           rm_make_errno_error(env, -w->result, "futex", NULL));
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
  }
  free_waiter(w);
}

static void cancel(waiter *w) { rm_plat_cancel(&w->cancel); }

/* waitAsync(key, offset, expected, timeoutMs) -> [id, Promise<0|1|2|3>];
 * 3 means cancelled (the file was closed in this thread). */
napi_value js_wait_async(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  size_t argc = 4;
  void *data = NULL;
  uint32_t expected;
  double ms;
  _Atomic uint32_t *word;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  if (argc < 4) {
    napi_throw_type_error(env, "ERR_MMAP_INVALID_ARGUMENT",
                          "native call received too few arguments");
    return NULL;
  }
  wait_state *st = data;
  if (!wait_args(env, argv[2], argv[3], &expected, &ms)) return NULL;
  rm_mapping *m = word_of(env, argv, &word);
  if (m == NULL) return NULL;
  waiter *w = calloc(1, sizeof *w);
  if (w == NULL) {
    rm_table_release(m);
    return rm_throw_errno(env, ENOMEM, "waitAsync", NULL);
  }
  w->m = m;
  w->word = word;
  w->expected = expected;
  w->st = st;
  deadline_of(ms, &w->at, &w->has_deadline);
  napi_value promise, name;
  napi_create_string_utf8(env, "ranged-mmap:waitAsync", NAPI_AUTO_LENGTH, &name);
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL,
                                      waiter_done, &w->tsfn) != napi_ok) {
    rm_table_release(m);
    free(w);
    return NULL;
  }
  int err = pthread_create(&w->thread, NULL, waiter_main, w);
  if (err != 0) {
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
    rm_table_release(m);
    free(w);
    return rm_throw_errno(env, err, "pthread_create", NULL);
  }
  st->refs++;
  w->id = ++st->next_id;
  w->next = st->head;
  st->head = w;
  napi_value out, id;
  napi_create_double(env, (double)w->id, &id);
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, id);
  napi_set_element(env, out, 1, promise);
  return out;
}

/* waitCancel(id): wakes that waitAsync; its promise then settles with 3. */
napi_value js_wait_cancel(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  void *data = NULL;
  uint64_t id;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_MMAP_INVALID_ARGUMENT",
                          "native call received too few arguments");
    return NULL;
  }
  if (!rm_u64(env, argv[0], &id)) return NULL;
  wait_state *st = data;
  for (waiter *w = st->head; w != NULL; w = w->next)
    if (w->id == id) cancel(w);
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* The environment is going away (worker exit or terminate, process exit):
 * wake every waiter and wait for its thread, so none outlives what it
 * uses. Results already queued are freed by waiter_done (env NULL) when the
 * threadsafe functions are torn down; the others here. */
static void state_cleanup(void *arg) {
  wait_state *st = arg;
  for (waiter *w = st->head; w != NULL; w = w->next) cancel(w);
  waiter *w = st->head;
  while (w != NULL) {
    waiter *next = w->next;
    join_waiter(w);
    if (!w->queued) free_waiter(w);
    w = next;
  }
  state_unref(st);
}

void *rm_wait_state_new(napi_env env) {
  wait_state *st = calloc(1, sizeof *st);
  if (st == NULL) {
    rm_throw_errno(env, ENOMEM, "init", NULL);
    return NULL;
  }
  st->refs = 1;
  if (napi_add_env_cleanup_hook(env, state_cleanup, st) != napi_ok) {
    free(st);
    return NULL;
  }
  return st;
}
