/*
 * The platform layer: every operation the native core needs that POSIX does
 * not give the same way everywhere. The core (the .c files of native/) calls only these
 * for the operations below and no longer names futex, sync_file_range,
 * MADV_POPULATE_*, memfd_create, /proc, fallocate or madvise's huge-page
 * advice itself. native/platform/linux.c implements them for Linux; a port
 * (macOS, Windows) is one more file here that implements the same
 * functions, picked by the build.
 *
 * Conventions: a function that can fail returns 0 or a positive errno (the
 * caller reports it as an errno error, naming the system call the function
 * documents); none of them throws, allocates JavaScript values or touches
 * Node-API. Lengths and offsets are already checked by the caller: a port
 * may trust them.
 */
#ifndef RANGED_MMAP_PLATFORM_H
#define RANGED_MMAP_PLATFORM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* ---- memory ------------------------------------------------------------ */

/* The size of a page: the granularity of mapping offsets, of madvise/msync
 * spans and of mincore's vector. Never fails (4096 if the system cannot
 * say). */
size_t rm_page_size(void);

/* A new memory object of size 0, known to no other process, for the rings
 * to map twice back to back: its descriptor in *fd, close-on-exec. Returns 0
 * or errno (syscall: "memfd_create"). `name` is for debugging only. Mappings
 * of it keep it alive after the descriptor is closed. */
int rm_plat_anon_fd(const char *name, int *fd);

/* Faults in the pages of [addr, addr + len) (page-aligned) in one call,
 * for writing when `write` is 1 (each page made private-dirty-ready, as a
 * store would), else for reading. Returns 0 or errno (syscall: "madvise");
 * EINVAL means "not supported here": callers then fall back to touching the
 * pages themselves, or leave them to be faulted in on first use. EFAULT or
 * ENOMEM: a page could not be brought in (past the end of the file). */
int rm_plat_populate(void *addr, size_t len, int write);

/* ---- files -------------------------------------------------------------- */

/* Starts writeback of the dirty pages of [offset, offset + length) of the
 * file, without waiting for it: "schedule a flush". Returns 0 or errno
 * (syscall: "sync_file_range"). A platform with no such call may start a
 * whole-file asynchronous flush or do nothing: durability is only promised
 * by a later synchronous flush. */
int rm_plat_sync_schedule(int fd, uint64_t offset, uint64_t length);

/* Reserves disk blocks for [offset, offset + length) of the file so that a
 * later store through a mapping cannot meet a full disk (which would be a
 * SIGBUS). `keep_size` 1: the file's size does not change; 0: the file
 * grows to offset + length if it is shorter. Where the fast reservation is
 * unsupported: with `fallback` 1, zeros are written into every block
 * instead (slow; this grows the file to offset + length even with
 * keep_size, so a caller that fails afterwards puts the old size back);
 * with `fallback` 0, nothing is reserved and 0 is returned. Returns 0 or
 * errno, with *syscall the call that failed ("fallocate", or
 * "posix_fallocate" for the fallback). ENOSPC, EDQUOT, EFBIG: no room. */
int rm_plat_reserve(int fd, uint64_t offset, uint64_t length, int keep_size, int fallback,
                    const char **syscall);

/* ---- huge pages --------------------------------------------------------- */

/* Asks (enable 1) or forbids (0) transparent huge pages for the mapping at
 * [addr, addr + len). Returns 0 or errno (syscall: "madvise"); EINVAL where
 * the kernel has no such support. */
int rm_plat_huge_pages(void *addr, size_t len, int enable);

/* Whether the kernel would back the mapping that starts at `addr` with huge
 * pages: 1 yes, 0 no, -1 when it cannot say (a platform without the notion
 * returns -1). */
int rm_plat_huge_pages_eligible(const void *addr);

/* ---- wait and wake on a 32-bit word -------------------------------------- */

/* Outcomes of a wait. */
enum {
  RM_WAIT_OK = 0,
  RM_WAIT_NOT_EQUAL = 1,
  RM_WAIT_TIMED_OUT = 2,
  RM_WAIT_CANCELLED = 3
};

/* An absolute deadline `ms` milliseconds (>= 0, finite) from now on the
 * clock the waits below measure against (a monotonic clock: changes of the
 * wall clock do not move it). */
void rm_plat_deadline(double ms, struct timespec *at);

/* Sleeps while *word == expected: until a wake on the word, or `deadline`
 * (from rm_plat_deadline; NULL: no deadline) passes. The word may be in
 * memory shared with other processes (a MAP_SHARED file mapping): waiters
 * and wakers of every process that maps the same page must meet. Interrupted
 * sleeps are resumed. Returns RM_WAIT_OK (woken; may be spurious: the
 * caller re-reads the word), RM_WAIT_NOT_EQUAL (*word != expected at the
 * start), RM_WAIT_TIMED_OUT, or a negative errno (syscall: "futex"). */
int rm_plat_wait(_Atomic uint32_t *word, uint32_t expected,
                 const struct timespec *deadline);

/* As rm_plat_wait, but also ends with RM_WAIT_CANCELLED as soon as
 * *cancel != 0 after rm_plat_cancel (the cancel word is private to this
 * process). A platform that cannot wait on two words at once may wait in
 * short slices and look at *cancel between them. */
int rm_plat_wait_or_cancel(_Atomic uint32_t *word, uint32_t expected,
                           _Atomic uint32_t *cancel, const struct timespec *deadline);

/* Sets *cancel to 1 and wakes its rm_plat_wait_or_cancel. */
void rm_plat_cancel(_Atomic uint32_t *cancel);

/* Wakes up to `count` waiters of `word` (INT_MAX: all), in every process;
 * count 0 wakes none. Returns how many were woken (0 where the platform
 * cannot tell), or a negative errno (syscall: "futex"). */
long rm_plat_wake(_Atomic uint32_t *word, int count);

/* ---- processes ------------------------------------------------------------ */

/* When process `pid` started, in any unit that names one process among all
 * that ever had this pid: 0 when the platform cannot tell (hidden, or no
 * such process), UINT64_MAX when the process has died but is not reaped yet
 * (a zombie counts as gone). Async-signal-safety is not required; it may
 * read files. */
uint64_t rm_plat_process_start(pid_t pid);

#endif
