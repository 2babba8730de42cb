/*
 * Opening, sizing and mapping files; all plain POSIX, no Node-API.
 * Every function returns 0 or a positive errno, and names the failing
 * system call in *syscall so the error TypeScript builds can say it.
 */
#ifndef RANGED_MMAP_FILE_OPS_H
#define RANGED_MMAP_FILE_OPS_H

#include <limits.h>
#include <stdint.h>

/* Everything an open or create asks for, parsed once from the options
 * object TypeScript passes (addon.c, parse_open_request). New options are
 * new fields here, not new arguments along the way. */
typedef struct {
  char path[PATH_MAX];
  int create;     /* make the file (size must be > 0) */
  int exclusive;  /* with create: fail if it exists */
  int sparse;     /* with create: do not reserve blocks */
  int mode;       /* with create: permission bits of a new file */
  uint64_t size;  /* with create: exact size in bytes */
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

#endif
