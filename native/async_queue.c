#include "async_queue.h"

#include <errno.h>
#include <stdlib.h>

#include "napi_args.h"
#include "sys_errors.h"

void *rm_job_new(napi_env env, size_t size, const char *syscall) {
  rm_job *job = calloc(1, size);
  if (job == NULL) {
    rm_throw_errno(env, ENOMEM, syscall, NULL);
    return NULL;
  }
  job->syscall = syscall;
  return job;
}

void rm_job_free(napi_env env, rm_job *job) {
  if (job->cleanup != NULL) job->cleanup(env, job);
  if (job->m != NULL) rm_table_release(job->m);
  free(job);
}

static void job_execute(napi_env env, void *data) {
  (void)env;
  rm_job *job = data;
  job->execute(job);
}

static void job_complete(napi_env env, napi_status status, void *data) {
  rm_job *job = data;
  if (status != napi_ok && job->err == 0) {
    /* Cancelled: cleanup gives back anything the work made. */
    job->err = ECANCELED;
    job->syscall = "uv_queue_work";
  }
  napi_value error = NULL, value = NULL;
  if (job->err != 0)
    error = rm_make_errno_error(env, job->err, job->syscall, job->path);
  else if (job->settle == NULL)
    value = rm_undefined(env);
  else if ((value = job->settle(env, job, &error)) == NULL && error == NULL)
    napi_get_and_clear_last_exception(env, &error);
  if (value != NULL)
    napi_resolve_deferred(env, job->deferred, value);
  else
    napi_reject_deferred(env, job->deferred, error);
  napi_delete_async_work(env, job->work);
  rm_job_free(env, job);
}

napi_value rm_job_queue(napi_env env, rm_job *job, const char *name) {
  napi_value promise, resource;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    rm_job_free(env, job);
    return NULL;
  }
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  if (napi_create_async_work(env, NULL, resource, job_execute, job_complete, job,
                             &job->work) != napi_ok) {
    napi_reject_deferred(env, job->deferred,
                         rm_make_errno_error(env, ENOMEM, "uv_queue_work", NULL));
    rm_job_free(env, job);
    return promise;
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_reject_deferred(env, job->deferred,
                         rm_make_errno_error(env, EAGAIN, "uv_queue_work", NULL));
    napi_delete_async_work(env, job->work);
    rm_job_free(env, job);
  }
  return promise;
}
