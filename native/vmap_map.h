/*
 * vmap's maps: a window of a file the caller opened (or anonymous memory),
 * at any offset. Plain POSIX, no Node-API.
 *
 * A file map reserves one stretch of address space and puts up to two
 * mappings of the same window of the file in it, back to back:
 *   - the shared half (MAP_SHARED, read/write), only when the map may ever
 *     write to the file (.write()); stores there reach the file;
 *   - the private half (MAP_PRIVATE, read/write, NORESERVE): what a
 *     read-only map exposes. JavaScript has no read-only typed arrays, and a
 *     store into PROT_READ memory is a SIGSEGV Node does not survive; here a
 *     store lands in private memory and never reaches the file.
 * Switching between MemoryMap and MemoryMapMut exposes the other half: no
 * copy, no new mapping. The whole reservation is one entry of the
 * process-wide mapping table, so the SIGBUS guard covers both halves.
 */
#ifndef RANGED_MMAP_VMAP_MAP_H
#define RANGED_MMAP_VMAP_MAP_H

#include <stdint.h>
#include <sys/types.h>

#include "mapping_table.h"

/* Largest window one map may cover: it reaches JavaScript as one
 * ArrayBuffer, and Node 20's typed arrays stop at 4 GiB. */
#define RM_VMAP_MAX_LENGTH ((uint64_t)1 << 32)

typedef struct {
  int fd;          /* the caller's descriptor; -1 for anonymous memory */
  uint64_t offset; /* any offset; aligned down to the page here */
  uint64_t length; /* bytes of the window, >= 1 */
  int shared;      /* also map the shared (writing) half */
  int populate;    /* MAP_POPULATE */
} rm_vmap_request;

typedef struct {
  uint8_t *base;  /* the reservation: halves * total bytes */
  uint64_t total; /* bytes of one half: delta + length, in whole pages */
  uint64_t delta; /* offset - aligned offset */
  int halves;     /* 1 or 2 (the shared half first) */
  rm_mapping *m;  /* table entry of a file map (one reference), NULL for anonymous */
  dev_t dev;      /* the file's identity, to check a descriptor given to flush */
  ino_t ino;
} rm_vmap_region;

/* Maps a window. Returns 0, or a positive errno with *syscall set; ERANGE
 * means the window passes the end of the file. */
int rm_vmap_map(const rm_vmap_request *req, rm_vmap_region *out, const char **syscall);

/* Unmaps it (a file map through the mapping table; never closes the fd). */
void rm_vmap_unmap(rm_vmap_region *r);

/* Start of the shared (which = 0) or private (which = 1) half's window. */
uint8_t *rm_vmap_window(const rm_vmap_region *r, int which);

/* Throws the private half's copied pages away: it shows the file again. */
int rm_vmap_reset_private(const rm_vmap_region *r, const char **syscall);

/* msync of [offset, offset + length) of the window's shared half. */
int rm_vmap_flush(const rm_vmap_region *r, uint64_t offset, uint64_t length, int sync,
                  const char **syscall);

#endif
