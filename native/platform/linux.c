/*
 * The platform layer on Linux (see platform.h for what each operation must
 * do). Everything Linux-only in the native core is here: futex and
 * futex_waitv, sync_file_range, MADV_POPULATE_*, MADV_HUGEPAGE,
 * memfd_create, fallocate, and the /proc files.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/futex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Older kernel headers lack these; the calls fail with EINVAL or ENOSYS on
 * older kernels, which the callers treat as "not supported". */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX_32
#define FUTEX_32 2
#endif

/* ---- memory ------------------------------------------------------------ */

size_t rm_page_size(void) {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? (size_t)p : 4096;
}

int rm_plat_anon_fd(const char *name, int *fd) {
  *fd = memfd_create(name, MFD_CLOEXEC);
  return *fd < 0 ? errno : 0;
}

int rm_plat_populate(void *addr, size_t len, int write) {
  return madvise(addr, len, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0
             ? 0
             : errno;
}

/* ---- files -------------------------------------------------------------- */

int rm_plat_sync_schedule(int fd, uint64_t offset, uint64_t length) {
  /* msync(MS_ASYNC) is a no-op on Linux (dirty mapped pages are already in
   * the page cache); this starts their writeback now. */
  return sync_file_range(fd, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE) == 0
             ? 0
             : errno;
}

int rm_plat_reserve(int fd, uint64_t offset, uint64_t length, int keep_size, int fallback,
                    const char **syscall) {
  /* fallocate is instant on ext4, xfs, btrfs and tmpfs. */
  if (fallocate(fd, keep_size ? FALLOC_FL_KEEP_SIZE : 0, (off_t)offset, (off_t)length) ==
      0)
    return 0;
  int err = errno;
  if (err != EOPNOTSUPP && err != ENOSYS) {
    *syscall = "fallocate";
    return err;
  }
  if (!fallback) return 0;
  err = posix_fallocate(fd, (off_t)offset, (off_t)length);
  if (err != 0) *syscall = "posix_fallocate";
  return err;
}

/* ---- huge pages --------------------------------------------------------- */

int rm_plat_huge_pages(void *addr, size_t len, int enable) {
  return madvise(addr, len, enable ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) == 0 ? 0 : errno;
}

/* From /proc/self/smaps: the THPeligible line of the mapping at addr. */
int rm_plat_huge_pages_eligible(const void *addr) {
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
      in_vma = start == (unsigned long)(uintptr_t)addr;
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

/* ---- wait and wake -------------------------------------------------------- */

void rm_plat_deadline(double ms, struct timespec *at) {
  if (!(ms >= 0)) ms = 0;
  clock_gettime(CLOCK_MONOTONIC, at);
  double whole = floor(ms / 1000.0);
  at->tv_sec += (time_t)whole;
  at->tv_nsec += (long)((ms - whole * 1000.0) * 1e6);
  if (at->tv_nsec >= 1000000000L) {
    at->tv_sec += 1;
    at->tv_nsec -= 1000000000L;
  }
}

/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline (plain
 * FUTEX_WAIT a relative one). Not FUTEX_PRIVATE: the word may be shared
 * with another process, and a shared futex is keyed by the file's page. */
int rm_plat_wait(_Atomic uint32_t *word, uint32_t expected,
                 const struct timespec *deadline) {
  for (;;) {
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, deadline, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    if (r == 0) return RM_WAIT_OK;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return RM_WAIT_NOT_EQUAL;
    if (errno == ETIMEDOUT) return RM_WAIT_TIMED_OUT;
    return -errno;
  }
}

struct futex_waitv_entry {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};

/* Both words at once with futex_waitv (Linux 5.16+). The cancel word is
 * private, and waits and wakes on it must agree on that flag: a private and
 * a shared futex on the same address are different futexes. */
int rm_plat_wait_or_cancel(_Atomic uint32_t *word, uint32_t expected,
                           _Atomic uint32_t *cancel, const struct timespec *deadline) {
  struct futex_waitv_entry v[2] = {
      {expected, (uint64_t)(uintptr_t)word, FUTEX_32, 0},
      {0, (uint64_t)(uintptr_t)cancel, FUTEX_32 | FUTEX_PRIVATE_FLAG, 0},
  };
  for (;;) {
    if (atomic_load(cancel) != 0) return RM_WAIT_CANCELLED;
    long r = syscall(SYS_futex_waitv, v, 2, 0, deadline, CLOCK_MONOTONIC);
    if (r == 0) return RM_WAIT_OK;
    if (r == 1) return RM_WAIT_CANCELLED;
    if (errno == EINTR) continue;
    if (errno == EAGAIN)
      return atomic_load(cancel) != 0 ? RM_WAIT_CANCELLED : RM_WAIT_NOT_EQUAL;
    if (errno == ETIMEDOUT) return RM_WAIT_TIMED_OUT;
    if (errno == ENOSYS) break;
    return -errno;
  }
  /* No futex_waitv (Linux < 5.16): wait on the word in slices of 50 ms,
   * looking at the cancel word between them. */
  for (;;) {
    if (atomic_load(cancel) != 0) return RM_WAIT_CANCELLED;
    struct timespec slice;
    rm_plat_deadline(50, &slice);
    int last = 0;
    if (deadline != NULL &&
        (slice.tv_sec > deadline->tv_sec ||
         (slice.tv_sec == deadline->tv_sec && slice.tv_nsec >= deadline->tv_nsec))) {
      slice = *deadline;
      last = 1;
    }
    int r = rm_plat_wait(word, expected, &slice);
    if (r != RM_WAIT_TIMED_OUT || last) return r;
  }
}

void rm_plat_cancel(_Atomic uint32_t *cancel) {
  atomic_store(cancel, 1);
  syscall(SYS_futex, cancel, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

long rm_plat_wake(_Atomic uint32_t *word, int count) {
  int n = count;
  /* FUTEX_WAKE counts a waiter before comparing with n, so n = 0 would
   * still wake one; Atomics.notify(..., 0) wakes none, and so must we. */
  long r = n == 0 ? 0 : syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
  return r < 0 ? -errno : r;
}

/* ---- processes ------------------------------------------------------------ */

/* Field 22 of /proc/pid/stat (start time in clock ticks since boot). */
uint64_t rm_plat_process_start(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (p == NULL) return 0;
  if (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X')) return UINT64_MAX;
  int field = 2;
  for (; *p != 0 && field < 22; p++)
    if (*p == ' ') field++;
  unsigned long long t = 0;
  if (sscanf(p, "%llu", &t) != 1) return 0;
  return t;
}
