/*
 * Write-back, durability, advice and page population on a mapped range.
 * Plain POSIX; each returns 0 or a positive errno and names the syscall.
 * Offsets and lengths are checked by the caller (addon.c) against the
 * mapping before they get here.
 */
#ifndef RANGED_MMAP_SYNC_OPS_H
#define RANGED_MMAP_SYNC_OPS_H

#include "mapping_table.h"

typedef enum {
  RM_SYNC_SCHEDULE = 0, /* start write-back of the range, do not wait */
  RM_SYNC_RANGE = 1,    /* write the range back and wait for it */
  RM_SYNC_ALL = 2       /* data, size, block allocation and name durable */
} rm_sync_mode;

int rm_sync(rm_mapping *m, uint64_t offset, uint64_t length, rm_sync_mode mode,
            const char **syscall);

/* True (and recorded in the status page) if another process has made the
 * file shorter than the mapping. */
int rm_file_shrank(rm_mapping *m);

/* Bringing pages in (madvise MADV_POPULATE_*, mlock) past the end of a file
 * that another process has truncated fails with EFAULT or ENOMEM: those
 * pages would raise SIGBUS. That is the mapping's loss, not a bad address
 * or a lack of memory. Returns 1 (and records the loss in the status page,
 * for the caller to report as ERR_MMAP_FAULT) when `err` is such a failure
 * and the file is now shorter than the mapping. */
int rm_lost_to_truncation(rm_mapping *m, int err);

int rm_advise(rm_mapping *m, uint64_t offset, uint64_t length, int advice,
              const char **syscall);

/* Faults in the range's pages for writing in one call (MADV_POPULATE_WRITE,
 * Linux 5.14+), far cheaper than one page fault per 4 KiB during a copy.
 * Also reports ENOSPC/EIO up front instead of a SIGBUS mid-copy. */
int rm_populate_write(rm_mapping *m, uint64_t offset, uint64_t length,
                      const char **syscall);

/* Counts the pages of the range that are in the page cache (mincore), so
 * the caller can tell a warm range (copy through the mapping) from a cold one
 * (let pwrite fill the page cache: no zeroing, no fault per page).
 * Returns 0 or errno; the count goes to *resident. */
int rm_resident_pages(rm_mapping *m, uint64_t offset, uint64_t length, uint64_t *resident,
                      const char **syscall);

/* Copies through the kernel (pwrite) instead of through the mapping. */
int rm_pwrite_all(rm_mapping *m, uint64_t offset, const void *data, uint64_t length,
                  const char **syscall);

#endif
