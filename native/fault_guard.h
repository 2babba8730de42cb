#ifndef RANGED_MMAP_FAULT_GUARD_H
#define RANGED_MMAP_FAULT_GUARD_H

#include <errno.h>

/* Installs the process-wide SIGBUS guard once; later calls do nothing.
 * Returns 0, or -1 with errno set. */
int rm_fault_guard_install(void);

#endif
