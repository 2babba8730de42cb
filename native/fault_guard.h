#ifndef RANGED_MMAP_FAULT_GUARD_H
#define RANGED_MMAP_FAULT_GUARD_H

#include <errno.h>
#include <pthread.h>

/* Installs the process-wide SIGBUS guard, or installs it again in front of
 * whatever replaced it (a JavaScript SIGBUS listener does, through libuv).
 * Returns 0 when it was in place (or installed for the first time), 1 when
 * it had been replaced and was put back, -1 with errno set on failure. */
int rm_fault_guard_ensure(void);

#endif
