#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "mmapio_ops.h"
#include "mapping_table.h"
#include "sys_errors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_SAFE 9007199254740991.0

/* A whole number in [0, 2^53); throws otherwise. (addon.c's reader is
 * file-local; the rule is the same: nothing unchecked reaches a syscall.) */
static int read_u64(napi_env env, napi_value v, uint64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > MAX_SAFE ||
      d != (double)(uint64_t)d) {
    napi_throw_range_error(env, "ERR_MMAP_INVALID_ARGUMENT",
                           "native call received an offset or length that is "
                           "not a whole number in [0, 2^53)");
    return 0;
  }
  *out = (uint64_t)d;
  return 1;
}

static int read_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want) {
    napi_throw_type_error(env, "ERR_MMAP_INVALID_ARGUMENT", "native call received too few arguments");
    return 0;
  }
  return 1;
}

/* The mapping with key argv[0] and the page span covering [argv[1],
 * argv[1] + argv[2]), checked to lie inside the file. The caller releases. */
static rm_mapping *span_of(napi_env env, napi_value *argv, uint8_t **addr, size_t *len) {
  uint64_t key, offset, length;
  if (!read_u64(env, argv[0], &key) || !read_u64(env, argv[1], &offset) ||
      !read_u64(env, argv[2], &length))
    return NULL;
  rm_mapping *m = rm_table_acquire(key);
  if (m == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the file mapping is closed");
    return NULL;
  }
  if (offset > m->size || length > m->size - offset) {
    rm_table_release(m);
    napi_throw_range_error(env, "ERR_MMAP_OUT_OF_BOUNDS", "native call range lies outside the file");
    return NULL;
  }
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  uint64_t start = offset & ~(page - 1);
  uint64_t end = (offset + length + page - 1) & ~(page - 1);
  if (end > m->map_len) end = m->map_len;
  *addr = m->base + start;
  *len = length == 0 ? 0 : (size_t)(end - start);
  return m;
}

/* memLock(key, offset, length, lock): mlock or munlock the pages of the span.
 * A low RLIMIT_MEMLOCK shows up as ENOMEM (or EPERM when the limit is 0 and
 * the process may not lock at all), with syscall 'mlock'. */
static napi_value js_mem_lock(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint8_t *addr;
  size_t len;
  bool lock = false;
  if (!read_args(env, info, 4, argv)) return NULL;
  napi_get_value_bool(env, argv[3], &lock);
  rm_mapping *m = span_of(env, argv, &addr, &len);
  if (m == NULL) return NULL;
  int err = 0;
  if (len > 0 && (lock ? mlock(addr, len) : munlock(addr, len)) != 0) err = errno;
  rm_table_release(m);
  if (err != 0) return rm_throw_errno(env, err, lock ? "mlock" : "munlock", NULL);
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* Whether the kernel counts the mapping at base as eligible for transparent
 * huge pages (/proc/self/smaps, THPeligible): 1, 0, or -1 when it cannot say. */
static int thp_eligible(uintptr_t base) {
  FILE *f = fopen("/proc/self/smaps", "re");
  if (f == NULL) return -1;
  char line[512];
  int in_vma = 0, result = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long start, end;
    /* A VMA header is "start-end perms ..."; field lines are "Name: value"
     * (a name that begins with hex letters, like "AnonHugePages", stops
     * sscanf before the '-'). */
    if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
      if (in_vma) break;
      in_vma = start == (unsigned long)base;
      continue;
    }
    if (in_vma && strncmp(line, "THPeligible:", 12) == 0) {
      result = atoi(line + 12) != 0;
      break;
    }
  }
  fclose(f);
  return result;
}

/* hugePages(key, enable) -> [errno of madvise (0 when it was accepted),
 * THPeligible of the mapping afterwards (1, 0, or -1 unknown)]. Never
 * throws for the madvise itself: the hint must never fail an open. */
static napi_value js_huge_pages(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint64_t key;
  bool enable = false;
  if (!read_args(env, info, 2, argv) || !read_u64(env, argv[0], &key)) return NULL;
  napi_get_value_bool(env, argv[1], &enable);
  rm_mapping *m = rm_table_acquire(key);
  if (m == NULL) {
    napi_throw_error(env, "ERR_MMAP_CLOSED", "the file mapping is closed");
    return NULL;
  }
  int err = madvise(m->base, m->map_len, enable ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) == 0 ? 0 : errno;
  int eligible = thp_eligible((uintptr_t)m->base);
  rm_table_release(m);
  napi_value out, a, b;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, err, &a);
  napi_create_int32(env, eligible, &b);
  napi_set_element(env, out, 0, a);
  napi_set_element(env, out, 1, b);
  return out;
}

int rm_mmapio_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"memLock", NULL, js_mem_lock, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hugePages", NULL, js_huge_pages, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
