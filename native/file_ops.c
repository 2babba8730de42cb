#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "file_ops.h"
#include "map_areas.h"
#include "mapping_table.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reserves the blocks of [0, size) so that a full disk is an error now and
 * not a SIGBUS on first write (rm_plat_reserve; where the fast way is
 * unsupported, zeros are written instead). */
static int reserve_blocks(int fd, uint64_t size, const char **syscall) {
  return rm_plat_reserve(fd, 0, size, 0, 1, syscall);
}

int rm_map_file(int fd, uint64_t size, int access, rm_mapping **out,
                const char **syscall) {
  long page = sysconf(_SC_PAGESIZE);
  uint64_t map_len = (size + (uint64_t)page - 1) & ~((uint64_t)page - 1);
  int share = access == RM_ACCESS_RW ? MAP_SHARED : MAP_PRIVATE;
  *syscall = "mmap";
  if (rm_maps_take(2) != 0) return RM_EMAPLIMIT; /* the file and the status page */
  uint8_t *base = mmap(NULL, map_len, PROT_READ | PROT_WRITE, share, fd, 0);
  if (base == MAP_FAILED) {
    int err = errno;
    rm_maps_give(2);
    return err;
  }
  uint8_t *status = mmap(NULL, RM_STATUS_BYTES, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (status == MAP_FAILED) {
    int err = errno;
    munmap(base, map_len);
    rm_maps_give(2);
    return err;
  }
  rm_mapping *m = rm_table_insert(fd, base, size, map_len, status);
  if (m == NULL) {
    munmap(status, RM_STATUS_BYTES);
    munmap(base, map_len);
    rm_maps_give(2);
    return EMFILE;
  }
  m->areas = 2;
  m->access = access;
  *out = m;
  return 0;
}

static int open_existing(const rm_open_request *req, rm_open_result *out,
                         const char **syscall) {
  int err;
  int flags = req->access == RM_ACCESS_RW ? O_RDWR : O_RDONLY;
  int fd = open(req->path, flags | O_CLOEXEC);
  if (fd < 0) {
    *syscall = "open";
    return errno;
  }
  struct stat st;
  err = 0;
  if (fstat(fd, &st) != 0) {
    err = errno;
    *syscall = "fstat";
  } else if (!S_ISREG(st.st_mode)) {
    err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    *syscall = "open";
  } else if (st.st_size == 0) {
    close(fd);
    out->mapping = NULL;
    return 0;
  } else {
    err = rm_map_file(fd, (uint64_t)st.st_size, req->access, &out->mapping, syscall);
    /* Known to have every block when it has no hole (SEEK_HOLE finds none
     * before the end, and the allocated blocks cover the size): writes
     * through the mapping then need no check for a full disk. */
    if (err == 0 && lseek(fd, 0, SEEK_HOLE) >= st.st_size &&
        (uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size)
      out->mapping->reserved = 1;
  }
  if (err != 0)
    close(fd);
  else
    out->mapping->path = strdup(req->path); /* NULL on ENOMEM: handles then carry none */
  return err;
}

/* Splits "dir/name" into the directory part (for the temporary file and
 * the directory fsync). A path without a slash lives in ".". */
static void directory_of(const char *path, char *dir, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    snprintf(dir, cap, ".");
  } else if (slash == path) {
    snprintf(dir, cap, "/");
  } else {
    snprintf(dir, cap, "%.*s", (int)(slash - path), path);
  }
}

/* The file a create is about: a symlink is followed, as open() would, so
 * the rename replaces its target and not the link. */
static int destination_of(const char *path, char *dest) {
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && realpath(path, dest) != NULL)
    return 0;
  if (strlen(path) >= PATH_MAX) return ENAMETOOLONG;
  strcpy(dest, path);
  return 0;
}

static atomic_uint temp_counter = 0;

/* Moves the finished temporary file to its name. */
static int publish(const char *temp, const char *dest, int exclusive,
                   const char **syscall) {
  if (!exclusive) {
    if (rename(temp, dest) == 0) return 0;
    *syscall = "rename";
    return errno;
  }
  if (renameat2(AT_FDCWD, temp, AT_FDCWD, dest, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) {
    *syscall = "rename";
    return errno;
  }
  /* A file system without RENAME_NOREPLACE: link() also refuses to replace. */
  if (link(temp, dest) != 0) {
    *syscall = "link";
    return errno;
  }
  unlink(temp);
  return 0;
}

static int create_new(const rm_open_request *req, rm_open_result *out,
                      const char **syscall) {
  char dest[PATH_MAX], dir[PATH_MAX], temp[PATH_MAX];
  int err = destination_of(req->path, dest);
  if (err != 0) {
    *syscall = "open";
    return err;
  }
  /* Refuse early what the final rename would refuse anyway, before any
   * work: an existing name with `exclusive`, a directory, a device. */
  struct stat old;
  int replacing = stat(dest, &old) == 0;
  if (replacing && (req->exclusive || !S_ISREG(old.st_mode))) {
    *syscall = "open";
    return req->exclusive ? EEXIST : S_ISDIR(old.st_mode) ? EISDIR : EINVAL;
  }
  directory_of(dest, dir, sizeof dir);
  if ((size_t)snprintf(temp, sizeof temp, "%s/.ranged-mmap-%ld-%u.tmp", dir,
                       (long)getpid(),
                       atomic_fetch_add(&temp_counter, 1)) >= sizeof temp) {
    *syscall = "open";
    return ENAMETOOLONG;
  }
  int fd = open(temp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)req->mode);
  if (fd < 0) {
    *syscall = "open";
    return errno;
  }
  /* A replaced file keeps its permission bits and, where allowed, owner. */
  if (replacing) {
    if (fchmod(fd, old.st_mode & 07777) != 0) { /* best effort */
    }
    if (fchown(fd, old.st_uid, old.st_gid) != 0) { /* best effort */
    }
  }
  rm_mapping *m = NULL;
  if (ftruncate(fd, (off_t)req->size) != 0) {
    err = errno;
    *syscall = "ftruncate";
  } else if (!req->sparse && (err = reserve_blocks(fd, req->size, syscall)) != 0) {
    /* err set */
  } else if ((err = rm_map_file(fd, req->size, RM_ACCESS_RW, &m, syscall)) != 0) {
    /* err set */
  }
  if (err != 0) {
    close(fd);
    unlink(temp);
    return err;
  }
  m->reserved = !req->sparse;
  m->sparse = req->sparse;
  if ((err = publish(temp, dest, req->exclusive, syscall)) != 0) {
    unlink(temp);
    rm_table_release(m); /* unmaps and closes fd */
    return err;
  }
  m->dir_path = strdup(dir); /* NULL on ENOMEM: the name is then not synced */
  m->path = strdup(req->path);
  out->mapping = m;
  return 0;
}

int rm_file_open_and_map(const rm_open_request *req, rm_open_result *out,
                         const char **syscall) {
  out->mapping = NULL;
  if (req->access != RM_ACCESS_RW && req->access != RM_ACCESS_RO &&
      req->access != RM_ACCESS_COW) {
    *syscall = "open";
    return EINVAL;
  }
  /* A new file is always made read-write: there is nothing to protect yet. */
  if (req->create && req->access != RM_ACCESS_RW) {
    *syscall = "open";
    return EINVAL;
  }
  return req->create ? create_new(req, out, syscall) : open_existing(req, out, syscall);
}
