#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sync_ops.h"
#include "napi_args.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* True (and recorded) if another process has made the file shorter than
 * the mapping: the pages past its end are gone, whatever was acknowledged
 * there. Writes and syncs that go through the file descriptor would not
 * notice otherwise (pwrite even grows the file back, leaving a hole). */
int rm_file_shrank(rm_mapping *m) {
  struct stat st;
  if (fstat(m->fd, &st) != 0 || (uint64_t)st.st_size >= m->size) return 0;
  rm_mapping_record_loss(m, (uint64_t)st.st_size);
  return 1;
}

/* A created file reaches its name by rename(); until the directory is
 * synced, a crash can lose the name even though the data is durable. The
 * first syncAll pays for that once; later ones find no directory to sync. The lock
 * makes a concurrent syncAll wait for the first one's directory sync instead
 * of returning early. */
static int sync_directory(rm_mapping *m) {
  int err = 0;
  pthread_mutex_lock(&m->dir_lock);
  if (m->dir_path != NULL) {
    int fd = open(m->dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    /* A directory that is gone or cannot be opened has no name to lose. */
    if (fd >= 0) {
      if (fsync(fd) != 0 && errno != EINVAL) err = errno;
      close(fd);
    }
    if (err == 0) {
      free(m->dir_path);
      m->dir_path = NULL;
    }
  }
  pthread_mutex_unlock(&m->dir_lock);
  errno = err;
  return err == 0 ? 0 : -1;
}

int rm_sync(rm_mapping *m, uint64_t offset, uint64_t length, rm_sync_mode mode,
            const char **syscall) {
  uint8_t *addr;
  size_t len;
  switch (mode) {
  case RM_SYNC_SCHEDULE:
    /* Start writing the pages back now, without waiting: that is what
     * "schedule" means, and it overlaps disk I/O with the caller's next
     * writes. */
    if (length == 0) return 0;
    *syscall = "sync_file_range";
    return rm_plat_sync_schedule(m->fd, offset, length);
  case RM_SYNC_RANGE:
    if (length == 0) return 0;
    rm_page_span(m, offset, length, &addr, &len);
    if (msync(addr, len, MS_SYNC) != 0) {
      *syscall = "msync";
      return errno;
    }
    return 0;
  case RM_SYNC_ALL:
    if (msync(m->base, m->map_len, MS_SYNC) != 0) {
      *syscall = "msync";
      return errno;
    }
    if (fsync(m->fd) != 0) {
      *syscall = "fsync";
      return errno;
    }
    if (sync_directory(m) != 0) {
      *syscall = "fsync";
      return errno;
    }
    rm_file_shrank(m); /* reported by the caller from the status page */
    return 0;
  }
  *syscall = "msync";
  return EINVAL;
}

/* RM_ADVISE_POPULATE_WRITE: not an madvise value, the platform's populate. */
#define RM_ADVISE_POPULATE_WRITE (-1)

static int advise_span(rm_mapping *m, uint64_t offset, uint64_t length, int advice,
                       const char **syscall) {
  uint8_t *addr;
  size_t len;
  if (length == 0) return 0;
  rm_page_span(m, offset, length, &addr, &len);
  int err = advice == RM_ADVISE_POPULATE_WRITE ? rm_plat_populate(addr, len, 1)
            : madvise(addr, len, advice) != 0  ? errno
                                               : 0;
  if (err != 0) *syscall = "madvise";
  return err;
}

int rm_lost_to_truncation(rm_mapping *m, int err) {
  return (err == EFAULT || err == ENOMEM) && rm_file_shrank(m);
}

int rm_advise(rm_mapping *m, uint64_t offset, uint64_t length, int advice,
              const char **syscall) {
  int err = advise_span(m, offset, length, advice, syscall);
  return rm_lost_to_truncation(m, err) ? 0 : err;
}

/* Before a large copy: EFAULT is returned as it is, so that the caller
 * refuses the whole write before a byte of it lands. */
int rm_populate_write(rm_mapping *m, uint64_t offset, uint64_t length,
                      const char **syscall) {
  return advise_span(m, offset, length, RM_ADVISE_POPULATE_WRITE, syscall);
}

int rm_resident_pages(rm_mapping *m, uint64_t offset, uint64_t length, uint64_t *resident,
                      const char **syscall) {
  /* mincore fills one byte per page; walk the range in pieces so the vector
   * stays on the stack whatever the length. */
  unsigned char vec[1024];
  const uint64_t piece = (uint64_t)sizeof vec * 4096;
  uint8_t *addr;
  size_t len;
  *resident = 0;
  if (length == 0) return 0;
  rm_page_span(m, offset, length, &addr, &len);
  while (len > 0) {
    size_t n = len < piece ? len : (size_t)piece;
    if (mincore(addr, n, vec) != 0) {
      *syscall = "mincore";
      return errno;
    }
    size_t pages = (n + 4095) / 4096;
    for (size_t i = 0; i < pages; i++) *resident += vec[i] & 1;
    addr += n;
    len -= n;
  }
  return 0;
}

#define RM_PWRITE_PIECE ((size_t)32 * 1024)

int rm_pwrite_all(rm_mapping *m, uint64_t offset, const void *data, uint64_t length,
                  const char **syscall) {
  const uint8_t *p = data;
  /* Never let a pwrite grow a file that another process has truncated:
   * the write would land past a hole and look like success. */
  if (rm_file_shrank(m)) return 0;
  /* On a file whose blocks were not all reserved at create (sparse, or
   * opened rather than created), reserve this span first: a full disk then
   * fails the whole call before a byte is written, instead of leaving the
   * first part of the data behind when pwrite runs out of space midway. */
  if (!m->reserved && length > 0) {
    int err = rm_plat_reserve(m->fd, offset, length, 1, 0, syscall);
    if (err == ENOSPC || err == EDQUOT || err == EFBIG) return err;
  }
  while (length > 0) {
    /* At most RM_PWRITE_PIECE bytes per call: the kernel sizes the page-cache
     * folios it allocates for a write by the length of that call, and
     * folios above 32 KiB (order > 3) come from outside the per-CPU free
     * lists; on a VM that returns free memory to its host they cost up to
     * 4x more to fill, in some runs and not others. 32 KiB calls cost one
     * system call per 8 pages and were as fast as the best large-call runs
     * (bench/probes/pwrite-piece.mjs). */
    size_t piece = length < RM_PWRITE_PIECE ? (size_t)length : RM_PWRITE_PIECE;
    ssize_t n = pwrite(m->fd, p, piece, (off_t)offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      *syscall = "pwrite";
      return errno;
    }
    p += n;
    offset += (uint64_t)n;
    length -= (uint64_t)n;
  }
  return 0;
}
