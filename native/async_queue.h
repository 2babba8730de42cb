/*
 * The one async job queue: every `...Async` call of the module (openAsync,
 * syncAsync, copyAsync, fillAsync, resizeAsync, touchAsync, memLockAsync)
 * is an rm_job run on the libuv pool and settled as a promise. (The waits,
 * futexWaitAsync and srWaitAsync, are not jobs: a wait can last forever, so
 * each gets a thread of its own rather than one of the pool's four.)
 *
 * The rule every job follows: the work on the pool touches only memory the
 * job owns. The mapping is pinned by a reference taken when the call is
 * made; the caller's bytes are never touched off the JavaScript thread,
 * because JavaScript can transfer, detach, shrink or unmap them at any moment
 * while the work runs.
 */
#ifndef RANGED_MMAP_ASYNC_QUEUE_H
#define RANGED_MMAP_ASYNC_QUEUE_H

#include <node_api.h>

#include "mapping_table.h"

typedef struct rm_job rm_job;

struct rm_job {
  /* On the pool. Sets err (and syscall) on failure. */
  void (*execute)(rm_job *job);
  /* On the JavaScript thread, when err is 0: the value to resolve with, or
   * NULL after storing the rejection in *error. NULL: resolve undefined. */
  napi_value (*settle)(napi_env env, rm_job *job, napi_value *error);
  /* Frees what the job owns besides itself and m (also after a
   * cancellation or a failure to queue); NULL when nothing. */
  void (*cleanup)(napi_env env, rm_job *job);
  rm_mapping *m;       /* a reference the job holds until it is freed (or NULL) */
  int err;             /* 0, or the errno the promise is rejected with */
  const char *syscall; /* ... naming this call */
  const char *path;    /* ... and this file (NULL: none) */
  /* the queue's own */
  napi_async_work work;
  napi_deferred deferred;
};

/* A zeroed job of `size` bytes (a struct whose first member is an rm_job),
 * or NULL with ENOMEM thrown naming `syscall`. */
void *rm_job_new(napi_env env, size_t size, const char *syscall);

/* Queues the job and returns its promise. From here the job is the queue's:
 * it is freed (cleanup, then m released) after it settles, or at once if it
 * cannot be queued (the promise is then rejected, or NULL is returned with
 * an exception pending). */
napi_value rm_job_queue(napi_env env, rm_job *job, const char *name);

/* Frees a job that was never queued (cleanup, m released). */
void rm_job_free(napi_env env, rm_job *job);

#endif
