/*
 * SIGBUS guard.
 *
 * Touching a page of a shared file mapping that the file no longer backs
 * (another process truncated it) or that the file system cannot back (a
 * sparse file on a full disk) raises SIGBUS, which kills a Node process.
 * This handler turns such a fault inside one of our mappings into a
 * recorded event: it maps a private zero page over the faulting page, so the
 * interrupted copy can finish harmlessly, and bumps the fault counter in the
 * mapping's status page, which TypeScript checks on every call.
 *
 * Faults outside our mappings go to whatever handler was installed before
 * us, or to the default action (death by SIGBUS, as without us).
 *
 * JavaScript can take the signal over: process.on('SIGBUS') makes libuv
 * install its own handler, and removing the last listener makes libuv put
 * back SIG_DFL. Either way ours is gone. rm_fault_guard_ensure() notices
 * that and installs ours again in front, chaining to whatever it found;
 * TypeScript calls it whenever a SIGBUS listener comes or goes, and the
 * native side calls it on every open and attach.
 */
#include "fault_guard.h"
#include "mapping_table.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The handler we chain to. It can be replaced while another thread is in
 * the handler, so it lives in two slots and an index flips between them:
 * a reader always sees a whole struct. */
static struct sigaction previous[2];
static atomic_int previous_slot = 0;
static atomic_int installed = 0;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t page_mask;

static void chain_to_previous(int sig, siginfo_t *info, void *ctx) {
  const struct sigaction *prev = &previous[atomic_load(&previous_slot)];
  if (prev->sa_flags & SA_SIGINFO) {
    if (prev->sa_sigaction != NULL) {
      prev->sa_sigaction(sig, info, ctx);
      return;
    }
  } else if (prev->sa_handler == SIG_IGN) {
    return;
  } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != NULL) {
    prev->sa_handler(sig);
    return;
  }
  /* Default action: restore it and let the fault happen again on return
   * (a hardware fault re-executes the instruction; a sent signal is
   * re-raised), so the process dies exactly as it would have without us. */
  signal(SIGBUS, SIG_DFL);
  if (info == NULL || info->si_code <= 0) raise(SIGBUS);
}

static void on_sigbus(int sig, siginfo_t *info, void *ctx) {
  int saved_errno = errno;
  /* si_code > 0 means the kernel raised it for a memory access; a SIGBUS
   * sent with kill() or raise() is never ours to swallow. */
  if (info != NULL && info->si_code > 0) {
    uintptr_t addr = (uintptr_t)info->si_addr;
    uintptr_t base = 0;
    uint8_t *status = rm_guard_lookup(addr, &base);
    if (status != NULL) {
      uintptr_t page = addr & ~page_mask;
      /* mmap is a plain system call; MAP_FIXED replaces just this page of
       * the file mapping with anonymous zeroed memory. */
      void *p = mmap((void *)page, page_mask + 1, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (p != MAP_FAILED) {
        _Atomic int32_t *faults = (_Atomic int32_t *)status;
        if (atomic_fetch_add(faults, 1) == 0) {
          double offset = (double)(page - base);
          memcpy(status + 8 * RM_STATUS_FAULT_OFFSET_F64, &offset, sizeof offset);
        }
        errno = saved_errno;
        return;
      }
    }
  }
  errno = saved_errno;
  chain_to_previous(sig, info, ctx);
}

static int is_ours(const struct sigaction *sa) {
  return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_sigbus;
}

int rm_fault_guard_ensure(void) {
  struct sigaction current, ours;
  if (atomic_load(&installed) && sigaction(SIGBUS, NULL, &current) == 0 &&
      is_ours(&current))
    return 0; /* the common case: still in place, no lock taken */
  pthread_mutex_lock(&install_lock);
  int result = 0;
  if (sigaction(SIGBUS, NULL, &current) != 0) {
    result = -1;
  } else if (!is_ours(&current)) {
    page_mask = (uintptr_t)sysconf(_SC_PAGESIZE) - 1;
    /* Chain to what is there now: libuv's handler while JavaScript listens,
     * SIG_DFL once it stopped listening. */
    int slot = 1 - atomic_load(&previous_slot);
    previous[slot] = current;
    atomic_store(&previous_slot, slot);
    memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = on_sigbus;
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&ours.sa_mask);
    if (sigaction(SIGBUS, &ours, NULL) != 0) {
      result = -1;
    } else {
      result = atomic_load(&installed) ? 1 : 0;
      atomic_store(&installed, 1);
    }
  }
  pthread_mutex_unlock(&install_lock);
  return result;
}
