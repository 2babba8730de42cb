#include "ring.h"

#include "map_areas.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform/platform.h"

int rm_ring_map(size_t hint, rm_ring_mem *out, const char **syscall) {
  size_t page = rm_page_size();
  if (hint == 0 || hint > RM_RING_MAX_CAPACITY) {
    *syscall = "mmap";
    return EINVAL;
  }
  size_t cap = (hint + page - 1) / page * page;
  *syscall = "mmap";
  if (rm_maps_take(2) != 0) return RM_EMAPLIMIT; /* one area per half */
  int fd;
  int err = rm_plat_anon_fd("ranged-mmap-ring", &fd);
  if (err != 0) {
    *syscall = "memfd_create";
    rm_maps_give(2);
    return err;
  }
  if (ftruncate(fd, (off_t)cap) != 0) {
    err = errno;
    close(fd);
    rm_maps_give(2);
    *syscall = "ftruncate";
    return err;
  }
  /* Reserve 2 * cap of address space first, so nothing else can land
   * between the two halves; then put the object over each half. */
  uint8_t *base =
      mmap(NULL, 2 * cap, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    err = errno;
    close(fd);
    rm_maps_give(2);
    *syscall = "mmap";
    return err;
  }
  for (int half = 0; half < 2; half++) {
    void *at = mmap(base + half * cap, cap, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_FIXED, fd, 0);
    if (at == MAP_FAILED) {
      err = errno;
      munmap(base, 2 * cap);
      close(fd);
      rm_maps_give(2);
      *syscall = "mmap";
      return err;
    }
  }
  close(fd);
  out->base = base;
  out->capacity = cap;
  return 0;
}

void rm_ring_unmap(rm_ring_mem *ring) {
  if (ring->base == NULL) return;
  munmap(ring->base, 2 * ring->capacity);
  rm_maps_give(2);
  ring->base = NULL;
}
