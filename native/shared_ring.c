#include "shared_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"
#include "ring.h"

/* Rings up to this capacity are prefaulted at create/open (see map_ring). */
#define RM_SRING_PREFAULT_MAX ((size_t)64 << 20)

static size_t round_capacity(size_t hint) {
  size_t cap = rm_page_size();
  while (cap < hint) cap <<= 1;
  return cap;
}

/* Maps header + data twice + trailer from fd into one reserved stretch. */
static int map_ring(int fd, size_t cap, rm_sring_mem *out, const char **syscall) {
  size_t total = RM_SRING_HEADER + 2 * cap + RM_SRING_TRAILER;
  *syscall = "mmap";
  uint8_t *base =
      mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return errno;
  if (mmap(base, RM_SRING_HEADER, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
           0) == MAP_FAILED ||
      mmap(base + RM_SRING_HEADER, cap, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
           fd, RM_SRING_HEADER) == MAP_FAILED ||
      mmap(base + RM_SRING_HEADER + cap, cap, PROT_READ | PROT_WRITE,
           MAP_SHARED | MAP_FIXED, fd, RM_SRING_HEADER) == MAP_FAILED ||
      mmap(base + RM_SRING_HEADER + 2 * cap, RM_SRING_TRAILER, PROT_READ | PROT_WRITE,
           MAP_SHARED | MAP_FIXED, fd, (off_t)(RM_SRING_HEADER + cap)) == MAP_FAILED) {
    int err = errno;
    munmap(base, total);
    return err;
  }
  /* Prefault the header and one copy of the data, writable (the second copy
   * shares the same pages), so the first lap of a fresh ring takes no page
   * faults. Only for rings up to RM_SRING_PREFAULT_MAX: a huge ring's
   * memory is committed as it is first used. Best effort: a kernel without
   * MADV_POPULATE_WRITE (before 5.14), or a failure, leaves the pages to be
   * faulted in on first touch, as without it. */
  if (cap <= RM_SRING_PREFAULT_MAX)
    (void)rm_plat_populate(base, RM_SRING_HEADER + cap, 1);
  out->base = base;
  out->capacity = cap;
  out->map_len = total;
  return 0;
}

/* The trailer's last word, which holds the magic while the file is whole. */
static _Atomic int32_t *trailer_word(const rm_sring_mem *r) {
  return (_Atomic int32_t *)(r->base + r->map_len) - 1;
}

int rm_sring_create(size_t hint, const char *path, int mode, rm_sring_mem *out,
                    const char **syscall) {
  if (hint == 0 || hint > RM_SRING_MAX_CAPACITY) {
    *syscall = "mmap";
    return EINVAL;
  }
  size_t cap = round_capacity(hint);
  int fd;
  if (path == NULL) {
    *syscall = "memfd_create";
    int err = rm_plat_anon_fd("ranged-mmap-shared-ring", &fd);
    if (err != 0) return err;
  } else {
    *syscall = "open";
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  }
  if (fd < 0) return errno;
  int err = 0;
  if (ftruncate(fd, (off_t)(RM_SRING_HEADER + cap + RM_SRING_TRAILER)) != 0) {
    *syscall = "ftruncate";
    err = errno;
  }
  if (err == 0) err = map_ring(fd, cap, out, syscall);
  close(fd);
  if (err != 0) {
    if (path != NULL) unlink(path);
    return err;
  }
  int32_t *w = (int32_t *)out->base;
  w[RM_SR_VERSION] = RM_SRING_VERSION;
  w[RM_SR_CAPACITY] = (int32_t)cap;
  atomic_store(trailer_word(out), (int32_t)RM_SRING_MAGIC);
  atomic_store((_Atomic int32_t *)&w[RM_SR_MAGIC], (int32_t)RM_SRING_MAGIC);
  return 0;
}

int rm_sring_open(const char *path, rm_sring_mem *out, rm_sring_found *found,
                  const char **syscall) {
  *syscall = "open";
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st;
  uint32_t head[3] = {0, 0, 0};
  memset(found, 0, sizeof *found);
  int err = 0;
  if (fstat(fd, &st) != 0) {
    *syscall = "fstat";
    err = errno;
  } else if (pread(fd, head, sizeof head, 0) < 0 ||
             (st.st_size >= 4 && pread(fd, &found->trailer, 4, st.st_size - 4) < 0)) {
    *syscall = "read";
    err = errno;
  } else {
    /* A file shorter than the header reads as zeros past its end. */
    found->size = (uint64_t)st.st_size;
    found->magic = head[RM_SR_MAGIC];
    found->version = head[RM_SR_VERSION];
    found->capacity = head[RM_SR_CAPACITY];
    uint32_t cap = found->capacity;
    *syscall = "open";
    /* Every length the mapping uses comes from these words: all of them are
     * checked against the file before anything is mapped. */
    if (found->magic != RM_SRING_MAGIC || found->version != RM_SRING_VERSION ||
        cap < rm_page_size() || cap > RM_SRING_MAX_CAPACITY || (cap & (cap - 1)) != 0 ||
        found->size != RM_SRING_HEADER + (uint64_t)cap + RM_SRING_TRAILER ||
        found->trailer != RM_SRING_MAGIC)
      err = RM_SRING_NOT_A_RING;
    else
      err = map_ring(fd, cap, out, syscall);
  }
  close(fd);
  return err;
}

int32_t *rm_sring_word(const rm_sring_mem *r, uint32_t index) {
  return (int32_t *)r->base + index;
}

/* The word may be shared with another process: rm_plat_wait and
 * rm_plat_wake meet across processes. */
int rm_sring_wait(int32_t *word, int32_t expected, uint32_t timeout_ms) {
  struct timespec at;
  rm_plat_deadline((double)timeout_ms, &at);
  return rm_plat_wait((_Atomic uint32_t *)word, (uint32_t)expected, &at) ==
         RM_WAIT_TIMED_OUT;
}

void rm_sring_wake(int32_t *word) {
  (void)rm_plat_wake((_Atomic uint32_t *)word, INT_MAX);
}

/* The start time of a process (rm_plat_process_start): with the pid it
 * names one process even after the pid is reused. A process that has died
 * but is not yet reaped (a zombie: its parent may be the very thread
 * waiting on the ring) counts as gone: UINT64_MAX. */
static uint64_t start_time(pid_t pid) { return rm_plat_process_start(pid); }

/* Whether process `pid` (not this one) is gone: no such process, or a
 * zombie, or (when `start` is not 0) a process of that pid that started at
 * another time, i.e. the pid was reused. */
static int process_gone(pid_t pid, uint64_t start, int compare_start) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return 1;
  uint64_t now = start_time(pid);
  if (now == UINT64_MAX) return 1;
  /* now == 0: the platform could not tell (hidden); kill() said it exists.
   * One tick of slack: under qemu user mode a process reads its own start
   * time one tick off what another process reads for it. A pid reused
   * within one tick (10 ms) of its last holder's start is not a case. */
  return compare_start && now != 0 && (now > start + 1 || now + 1 < start);
}

int rm_sring_claim(const rm_sring_mem *r, uint32_t state_index) {
  _Atomic int32_t *state = (_Atomic int32_t *)rm_sring_word(r, state_index);
  int32_t *w = rm_sring_word(r, state_index);
  pid_t me = getpid();
  /* The slow step (reading the start time) comes before the role is touched: once
   * the swap below names this process, only two stores remain. */
  uint64_t start = start_time(me);
  for (;;) {
    int32_t s = atomic_load(state);
    if (s == RM_SR_LIVE || s < 0) {
      /* Held, or being claimed: taken over only if its holder is dead. */
      if (rm_sring_peer(r, state_index) != RM_SR_GONE) return 0;
      continue;
    }
    if (s != RM_SR_NONE && s != RM_SR_GONE) return 0; /* CLOSED, or corrupt */
    /* One swap takes the role and names the claimer (see rm_sr_state). */
    if (!atomic_compare_exchange_strong(state, &s, -(int32_t)me)) continue;
    atomic_store((_Atomic int32_t *)&w[1], (int32_t)me);
    memcpy(&w[2], &start, sizeof start);
    int32_t claiming = -(int32_t)me;
    return atomic_compare_exchange_strong(state, &claiming, RM_SR_LIVE);
  }
}

static void wake_both(const rm_sring_mem *r) {
  rm_sring_wake(rm_sring_word(r, RM_SR_DATA_SEQ));
  rm_sring_wake(rm_sring_word(r, RM_SR_SPACE_SEQ));
}

void rm_sring_leave(const rm_sring_mem *r, uint32_t state_index, rm_sr_state to) {
  _Atomic int32_t *state = (_Atomic int32_t *)rm_sring_word(r, state_index);
  int32_t expected = RM_SR_LIVE;
  atomic_compare_exchange_strong(state, &expected, (int32_t)to);
  /* Bump both sequence words so a sleeper's futex sees a change. */
  atomic_fetch_add((_Atomic int32_t *)rm_sring_word(r, RM_SR_DATA_SEQ), 1);
  atomic_fetch_add((_Atomic int32_t *)rm_sring_word(r, RM_SR_SPACE_SEQ), 1);
  wake_both(r);
}

rm_sr_state rm_sring_peer(const rm_sring_mem *r, uint32_t state_index) {
  _Atomic int32_t *state = (_Atomic int32_t *)rm_sring_word(r, state_index);
  int32_t *w = rm_sring_word(r, state_index);
  int32_t s = atomic_load(state);
  pid_t pid;
  int gone;
  if (s < 0) {
    /* Being claimed by process -s: dead if that process is (its start time
     * is not in the header yet, so only the pid can be checked). */
    if (s < -RM_SR_PID_MAX) return RM_SR_CORRUPT;
    pid = (pid_t)-s;
    if (pid == getpid()) return RM_SR_CLAIMING; /* a thread of ours, mid-claim */
    gone = process_gone(pid, 0, 0);
    if (!gone) return RM_SR_CLAIMING;
  } else if (s == RM_SR_LIVE) {
    pid = (pid_t)atomic_load((_Atomic int32_t *)&w[1]);
    /* kill(0, 0) and kill(-1, 0) succeed: such a pid would look alive
     * forever. No claim stores one. */
    if (pid <= 0 || pid > RM_SR_PID_MAX) return RM_SR_CORRUPT;
    if (pid == getpid())
      return RM_SR_LIVE; /* a thread of ours: its exit marks the state itself */
    uint64_t start;
    memcpy(&start, &w[2], sizeof start);
    gone = process_gone(pid, start, 1);
    if (!gone) return RM_SR_LIVE;
  } else if (s <= RM_SR_GONE) {
    return (rm_sr_state)s;
  } else {
    return RM_SR_CORRUPT;
  }
  int32_t expected = s;
  atomic_compare_exchange_strong(state, &expected, RM_SR_GONE);
  wake_both(r);
  return rm_sring_peer(r, state_index); /* whatever it is now */
}
