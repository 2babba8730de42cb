#include "attachments.h"

#include <errno.h>
#include <stdlib.h>

#include "fault_guard.h"
#include "napi_args.h"
#include "sys_errors.h"

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

int rm_attachments_init(napi_env env) {
  env_state *st = calloc(1, sizeof *st);
  if (st == NULL) {
    rm_throw_errno(env, ENOMEM, "init", NULL);
    return 0;
  }
  if (napi_set_instance_data(env, st, env_state_finalize, NULL) != napi_ok) {
    free(st);
    return 0;
  }
  return 1;
}

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

/* rm_attach_mapping: returns [key, size, token, statusBuffer, path, nonce, access,
 * reserved]. The views over
 * the file are made on first use (view()): V8 counts every ArrayBuffer's length as memory
 * of the isolate and collects garbage early when that grows, so eager 1 GiB views in
 * short-lived workers that only ever pwrite or sync would cost each of them a full GC for
 * nothing. */
napi_value rm_attach_mapping(napi_env env, rm_mapping *m) {
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
  int ok = napi_set_element(env, out, 0, rm_double(env, (double)m->key)) == napi_ok &&
           napi_set_element(env, out, 1, rm_double(env, (double)m->size)) == napi_ok &&
           napi_set_element(env, out, 2, rm_double(env, a->token)) == napi_ok &&
           (status = make_buffer(env, a, 0, m->status, RM_STATUS_BYTES)) != NULL &&
           napi_set_element(env, out, 3, status) == napi_ok &&
           napi_set_element(env, out, 4, path) == napi_ok &&
           napi_set_element(env, out, 5, rm_double(env, (double)m->nonce)) == napi_ok &&
           napi_set_element(env, out, 6, rm_double(env, m->access)) == napi_ok &&
           napi_set_element(env, out, 7, rm_double(env, m->reserved)) == napi_ok;
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
napi_value js_view(napi_env env, napi_callback_info info) {
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
  return rm_attach_mapping(env, m);
}

/* attach(key) -> [key, size, token, statusBuffer, path, nonce, access, reserved] */
napi_value js_attach(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint64_t key;
  if (!rm_args(env, info, 1, argv) || !rm_u64(env, argv[0], &key)) return NULL;
  return attach_found(env, rm_table_acquire(key));
}

/* attachNewest(nonce, key) -> as attach(), for the newest mapping of the
 * resized file whose mapping `key` (now gone) belonged to: a share() handle
 * follows the file across resizes. */
napi_value js_attach_newest(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint64_t nonce, key;
  if (!rm_args(env, info, 2, argv) || !rm_u64(env, argv[0], &nonce) ||
      !rm_u64(env, argv[1], &key))
    return NULL;
  return attach_found(env, rm_table_acquire_newest(nonce, key));
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
  return rm_undefined(env);
}

/* detach(token): detaches this thread's buffers of that attachment (every
 * view over them becomes zero-length), then drops its reference. */
napi_value js_detach(napi_env env, napi_callback_info info) {
  return end_attachment(env, info, 1);
}

/* release(token): the file object holding that attachment was collected
 * without close(), or a resize moved this thread to a new mapping while user
 * code holds views of this one; drops the attachment's reference, leaving
 * any buffer JavaScript still holds mapped (it holds its own, see view_pin). */
napi_value js_release(napi_env env, napi_callback_info info) {
  return end_attachment(env, info, 0);
}

/* detachView(buffer): detaches one buffer of a released attachment (its
 * views become zero-length) and drops its pin: close() and a shrink reach
 * the views of a mapping a resize replaced this way. A buffer already
 * detached is a no-op; anything make_buffer did not make is refused. */
napi_value js_detach_view(napi_env env, napi_callback_info info) {
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
  return rm_undefined(env);
}

napi_value js_thread_attachments(napi_env env, napi_callback_info info) {
  (void)info;
  return rm_double(env, get_state(env)->count);
}
