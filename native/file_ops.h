/*
 * Opening, sizing and mapping files; all plain POSIX, no Node-API.
 * Every function returns 0 or a positive errno, and names the failing
 * system call in *syscall so the error TypeScript builds can say it.
 */
#ifndef RANGED_MMAP_FILE_OPS_H
#define RANGED_MMAP_FILE_OPS_H

#include <limits.h>
#include <stdint.h>

/* How a file is mapped (MemoryMappedFile's modes; MmapFile and RawMmapFile
 * always use RM_ACCESS_RW).
 * - RW: the file opened O_RDWR, mapped MAP_SHARED: stores reach the file.
 * - RO and COW: the file opened O_RDONLY, mapped MAP_PRIVATE with
 *   PROT_READ|PROT_WRITE. A store through any view lands in this process's
 *   private copy of the page and never reaches the file, so JavaScript can
 *   hold a writable view of a read-only file without a SIGSEGV on a store
 *   (SPEC 7). The two differ only in what TypeScript allows. */
typedef enum { RM_ACCESS_RW = 0, RM_ACCESS_RO = 1, RM_ACCESS_COW = 2 } rm_access;

/* Everything an open or create asks for, parsed once from the options
 * object TypeScript passes (addon.c, parse_open_request). New options are
 * new fields here, not new arguments along the way. */
typedef struct {
  char path[PATH_MAX];
  int create;    /* make the file (size must be > 0) */
  int exclusive; /* with create: fail if it exists */
  int sparse;    /* with create: do not reserve blocks */
  int mode;      /* with create: permission bits of a new file */
  uint64_t size; /* with create: exact size in bytes */
  int access;    /* rm_access: how the file is mapped (create: RM_ACCESS_RW only) */
} rm_open_request;

#include "mapping_table.h"

/* The new mapping with one reference owned by the caller, or NULL when the
 * file is empty (nothing to map). */
typedef struct {
  rm_mapping *mapping;
} rm_open_result;

/* A create builds the new file under a temporary name in the destination's
 * directory and renames it into place only once it is sized, reserved and
 * mapped: a create that fails leaves the path exactly as it was. */
int rm_file_open_and_map(const rm_open_request *req, rm_open_result *out,
                         const char **syscall);

/* Maps [0, size) of fd read-write (shared for RM_ACCESS_RW, private for
 * RM_ACCESS_RO and RM_ACCESS_COW), with its status page, and registers it:
 * 0 and the new mapping (one reference) in *out, which owns fd from then
 * on; or an errno with *syscall, everything undone but fd (the caller's to
 * close). Open, create and resize's successor all map this way. */
int rm_map_file(int fd, uint64_t size, int access, rm_mapping **out,
                const char **syscall);

#endif
