#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "file_ops.h"
#include "mapping_table.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reserves the blocks of [0, size) so that a full disk is an error now and
 * not a SIGBUS on first write. fallocate is instant on ext4, xfs, btrfs and
 * tmpfs; where it is unsupported, posix_fallocate writes zeros instead. */
static int reserve_blocks(int fd, uint64_t size, const char **syscall) {
  if (fallocate(fd, 0, 0, (off_t)size) == 0) return 0;
  int err = errno;
  if (err != EOPNOTSUPP && err != ENOSYS) {
    *syscall = "fallocate";
    return err;
  }
  err = posix_fallocate(fd, 0, (off_t)size);
  if (err != 0) *syscall = "posix_fallocate";
  return err;
}

static int open_for_create(const char *path, const rm_open_request *req,
                           int *created, const char **syscall) {
  int flags = O_RDWR | O_CLOEXEC | O_CREAT;
  /* Try to create it fresh first, so that on failure we know whether the
   * file was ours to remove. */
  int fd = open(path, flags | O_EXCL, (mode_t)req->mode);
  if (fd >= 0) {
    *created = 1;
    return fd;
  }
  if (errno != EEXIST || req->exclusive) {
    *syscall = "open";
    return -errno;
  }
  fd = open(path, O_RDWR | O_CLOEXEC | O_TRUNC);
  if (fd < 0) {
    *syscall = "open";
    return -errno;
  }
  *created = 0;
  return fd;
}

int rm_file_open_and_map(const char *path, const rm_open_request *req,
                         rm_open_result *out, const char **syscall) {
  int created = 0;
  int fd;
  int err = 0;
  uint64_t size;

  if (req->create) {
    fd = open_for_create(path, req, &created, syscall);
    if (fd < 0) return -fd;
    size = req->size;
    if (ftruncate(fd, (off_t)size) != 0) {
      err = errno;
      *syscall = "ftruncate";
      goto fail;
    }
    if (!req->sparse && (err = reserve_blocks(fd, size, syscall)) != 0) goto fail;
  } else {
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      *syscall = "open";
      return errno;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      err = errno;
      *syscall = "fstat";
      goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
      err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
      *syscall = "open";
      goto fail;
    }
    size = (uint64_t)st.st_size;
    if (size == 0) {
      close(fd);
      out->mapping = NULL;
      return 0;
    }
  }

  long page = sysconf(_SC_PAGESIZE);
  uint64_t map_len = (size + (uint64_t)page - 1) & ~((uint64_t)page - 1);
  uint8_t *base = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    err = errno;
    *syscall = "mmap";
    goto fail;
  }
  uint8_t *status = mmap(NULL, RM_STATUS_BYTES, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (status == MAP_FAILED) {
    err = errno;
    *syscall = "mmap";
    munmap(base, map_len);
    goto fail;
  }
  rm_mapping *m = rm_table_insert(fd, base, size, map_len, status);
  if (m == NULL) {
    err = EMFILE;
    *syscall = "mmap";
    munmap(status, RM_STATUS_BYTES);
    munmap(base, map_len);
    goto fail;
  }
  out->mapping = m;
  return 0;

fail:
  close(fd);
  /* A file we made ourselves and could not finish is removed, so a failed
   * create leaves the directory as it was. */
  if (created) unlink(path);
  return err;
}
