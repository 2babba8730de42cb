#include "vmap_map.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "map_areas.h"
#include "ring.h"

int rm_vmap_map(const rm_vmap_request *req, rm_vmap_region *out, const char **syscall) {
  uint64_t page = rm_page_size();
  *syscall = "mmap";
  if (req->length == 0 || req->length > RM_VMAP_MAX_LENGTH ||
      req->offset > (uint64_t)INT64_MAX ||
      req->length > (uint64_t)INT64_MAX - req->offset)
    return EINVAL;
  uint64_t aligned = req->offset / page * page;
  uint64_t delta = req->offset - aligned;
  uint64_t total = (delta + req->length + page - 1) / page * page;
  int anon = req->fd < 0;
  int halves = !anon && req->shared ? 2 : 1;
  out->dev = 0;
  out->ino = 0;
  if (!anon) {
    struct stat st;
    if (fstat(req->fd, &st) != 0) {
      *syscall = "fstat";
      return errno;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) return ENODEV;
    /* Never map past the end: a touch there would be a SIGBUS (guarded,
     * but a map that starts out broken helps nobody). */
    if (S_ISREG(st.st_mode) && req->offset + req->length > (uint64_t)st.st_size)
      return ERANGE;
    out->dev = st.st_dev;
    out->ino = st.st_ino;
  }
  int extra = req->populate ? MAP_POPULATE : 0;
  /* Anonymous memory is one area; a file map is one per half plus its
   * status page. */
  uint32_t areas = anon ? 1 : (uint32_t)halves + 1;
  if (rm_maps_take(areas) != 0) return RM_EMAPLIMIT;
  uint8_t *base;
  if (anon) {
    base = mmap(NULL, total, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | extra, -1, 0);
    if (base == MAP_FAILED) {
      int err = errno;
      rm_maps_give(areas);
      return err;
    }
  } else {
    base = mmap(NULL, halves * total, PROT_NONE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
      int err = errno;
      rm_maps_give(areas);
      return err;
    }
    uint8_t *priv = base + (halves - 1) * total;
    if ((halves == 2 &&
         mmap(base, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | extra,
              req->fd, (off_t)aligned) == MAP_FAILED) ||
        mmap(priv, total, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_NORESERVE | MAP_FIXED | extra, req->fd,
             (off_t)aligned) == MAP_FAILED) {
      int err = errno;
      munmap(base, halves * total);
      rm_maps_give(areas);
      return err;
    }
  }
  out->base = base;
  out->total = total;
  out->delta = delta;
  out->halves = halves;
  out->m = NULL;
  if (!anon) {
    uint8_t *status = mmap(NULL, RM_STATUS_BYTES, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (status == MAP_FAILED) {
      int err = errno;
      munmap(base, halves * total);
      rm_maps_give(areas);
      return err;
    }
    /* size covers the reservation, so a fault offset stays inside it. */
    rm_mapping *m =
        rm_table_insert(req->fd, base, halves * total, halves * total, status);
    if (m == NULL) {
      munmap(status, RM_STATUS_BYTES);
      munmap(base, halves * total);
      rm_maps_give(areas);
      *syscall = "mmap";
      return ENOMEM;
    }
    m->areas = areas;
    /* Nobody else knows the key yet, so setting this now is race-free. */
    m->fd_borrowed = 1;
    out->m = m;
  }
  return 0;
}

void rm_vmap_unmap(rm_vmap_region *r) {
  if (r->base == NULL) return;
  if (r->m != NULL)
    rm_table_release(r->m);
  else {
    munmap(r->base, r->total);
    rm_maps_give(1);
  }
  r->m = NULL;
  r->base = NULL;
}

uint8_t *rm_vmap_window(const rm_vmap_region *r, int which) {
  uint8_t *half = r->base + (which == 1 && r->halves == 2 ? r->total : 0);
  return half + r->delta;
}

int rm_vmap_reset_private(const rm_vmap_region *r, const char **syscall) {
  if (r->m == NULL) return 0; /* anonymous memory has no file to show again */
  *syscall = "madvise";
  uint8_t *priv = r->base + (r->halves - 1) * r->total;
  return madvise(priv, r->total, MADV_DONTNEED) == 0 ? 0 : errno;
}

int rm_vmap_flush(const rm_vmap_region *r, uint64_t offset, uint64_t length, int sync,
                  const char **syscall) {
  *syscall = "msync";
  if (r->m == NULL || r->halves != 2 || length == 0)
    return 0; /* nothing reaches a file */
  uint64_t page = rm_page_size();
  uint64_t start = (r->delta + offset) / page * page;
  uint64_t end = r->delta + offset + length;
  if (end > r->total) return EINVAL;
  return msync(r->base + start, end - start, sync ? MS_SYNC : MS_ASYNC) == 0 ? 0 : errno;
}
