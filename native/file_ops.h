/*
 * Opening, sizing and mapping files; all plain POSIX, no Node-API.
 * Every function returns 0 or a positive errno, and names the failing
 * system call in *syscall so the error TypeScript builds can say it.
 */
#ifndef RANGED_MMAP_FILE_OPS_H
#define RANGED_MMAP_FILE_OPS_H

#include <stdint.h>

typedef struct {
  int create;     /* make the file (size must be > 0) */
  int exclusive;  /* with create: fail if it exists */
  int sparse;     /* with create: do not reserve blocks */
  int mode;       /* with create: permission bits */
  uint64_t size;  /* with create: exact size in bytes */
} rm_open_request;

#include "mapping_table.h"

/* The new mapping with one reference owned by the caller, or NULL when the
 * file is empty (nothing to map). */
typedef struct {
  rm_mapping *mapping;
} rm_open_result;

int rm_file_open_and_map(const char *path, const rm_open_request *req,
                         rm_open_result *out, const char **syscall);

#endif
