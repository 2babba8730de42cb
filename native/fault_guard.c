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
 */
#include "fault_guard.h"
#include "mapping_table.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct sigaction previous;
static atomic_int installed = 0;
static uintptr_t page_mask;

static void chain_to_previous(int sig, siginfo_t *info, void *ctx) {
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction != NULL) {
      previous.sa_sigaction(sig, info, ctx);
      return;
    }
  } else if (previous.sa_handler == SIG_IGN) {
    return;
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != NULL) {
    previous.sa_handler(sig);
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

int rm_fault_guard_install(void) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&installed, &expected, 1)) return 0;
  page_mask = (uintptr_t)sysconf(_SC_PAGESIZE) - 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGBUS, &sa, &previous) != 0) {
    atomic_store(&installed, 0);
    return -1;
  }
  return 0;
}
