/*
 * Process-wide table of file mappings.
 *
 * The addon's shared object is loaded once per process, so this table is
 * shared by the main thread and every worker thread. Each entry owns one
 * mmap of one file; each thread that uses it holds a reference (an
 * "attachment") and gets its own ArrayBuffers over the same memory. The
 * memory is unmapped only when the last reference is gone.
 */
#ifndef RANGED_MMAP_MAPPING_TABLE_H
#define RANGED_MMAP_MAPPING_TABLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Slots in the table; a key is (generation << SLOT_BITS) | slot, so keys are
 * never reused and a stale key from a closed file can never reach a new
 * mapping that happens to sit in the same slot. */
#define RM_SLOT_BITS 16
#define RM_MAX_MAPPINGS (1u << RM_SLOT_BITS)

/* Layout of the per-mapping status page, shared with TypeScript
 * (src/native/status-page.ts must agree). */
#define RM_STATUS_FAULTS_I32 0       /* int32: number of guarded faults */
#define RM_STATUS_ALLOC_KIND_I32 1   /* int32: allocator kind (TypeScript's) */
#define RM_STATUS_FAULT_OFFSET_F64 1 /* float64 at byte 8: first fault offset */
/* The allocator counters live at byte 256, away from the fault counter's
 * cache line that every copy reads; bytes 512-2047 hold the allocator's
 * per-thread batch slots (TypeScript only). */
#define RM_STATUS_ALLOC_NEXT_I64 32  /* int64 at byte 256: bytes (files over 4 TiB) */
#define RM_STATUS_ALLOC_PAGES_I32 66 /* int32 at byte 264: 4 KiB pages (up to 4 TiB) */
#define RM_STATUS_BYTES 4096

typedef struct rm_ticket {
  uint64_t id;
  uint64_t start;
  uint64_t end;
  struct rm_ticket *next;
} rm_ticket;

typedef struct rm_mapping {
  uint64_t key;
  int fd;
  uint8_t *base;
  uint64_t size;    /* file size in bytes, as mapped */
  uint64_t map_len; /* length passed to mmap (size rounded to pages) */
  uint8_t *status;  /* RM_STATUS_BYTES of anonymous memory */
  int refs;         /* attachments + in-flight async operations */
  int reserved;     /* every block of [0, size) is known to be allocated (created
                       without `sparse`, or opened with no hole): a write through
                       the mapping cannot meet a full disk */
  int sparse;       /* created with `sparse` (inherited by successors): a grow
                       leaves the new blocks unreserved too */
  int fd_borrowed;  /* fd belongs to the caller (vmap maps): never closed here */
  int access;       /* rm_access (file_ops.h): 0 shared read-write, else private */
  struct rm_mapping *successor; /* after a resize: the mapping that replaced
                          this one (one reference held here, dropped when this
                          mapping is freed), so every thread can follow */
  uint64_t family;              /* key of the first mapping of a resized file; every
                                   successor inherits it (0: never resized) */
  uint64_t cut_at;              /* a shrink gave [cut_at, map_len) anonymous memory
                                   (0: never cut) */
  char *dir_path;               /* directory of a created file, fsynced once by the
                                   first syncAll so the new name is durable; NULL after
                                   (a path, not a descriptor: a mapping holds one fd) */
  pthread_mutex_t dir_lock;
  uint64_t next_ticket;
  rm_ticket *tickets;
  char *path;     /* the path it was opened with (NULL if none), and */
  uint64_t nonce; /* a random number below 2^53, the same for every mapping
                     of a resized file: share() handles carry both, attach()
                     refuses a handle whose key was swapped for another live
                     mapping's, and a handle whose mapping is gone finds its
                     successor by it */
  uint32_t areas; /* memory-map areas counted for it (map_areas.h), given
                     back when it is unmapped */
} rm_mapping;

/* Registers a new mapping and returns it with one reference, which the
 * caller owns. Returns NULL when the table is full. */
rm_mapping *rm_table_insert(int fd, uint8_t *base, uint64_t size, uint64_t map_len,
                            uint8_t *status);

/* Takes a reference on the mapping with this key; NULL if it is gone. */
rm_mapping *rm_table_acquire(uint64_t key);

/* Takes one more reference on a mapping the caller already holds. */
void rm_table_retain(rm_mapping *m);

/* Drops a reference; the last one unmaps the memory and closes the file. */
void rm_table_release(rm_mapping *m);

/* Guarded faults recorded so far, and the offset of the first one. */
int32_t rm_mapping_faults(const rm_mapping *m, double *first_offset);

/* Records a lost stretch of the file exactly as the SIGBUS guard does. */
void rm_mapping_record_loss(rm_mapping *m, uint64_t offset);

/* Calls fn on latest and on every other live mapping of the same resized
 * file (same family), under the table lock: none of them can be freed
 * meanwhile. fn must not call back into the table. */
void rm_table_each_predecessor(rm_mapping *latest, void (*fn)(rm_mapping *, void *),
                               void *ctx);

/* Takes a reference on the newest live mapping of the resized file whose
 * mappings carry `nonce`, with a key above `after` (a successor of the
 * mapping `after` named, which may be gone); NULL if there is none. */
rm_mapping *rm_table_acquire_newest(uint64_t nonce, uint64_t after);

/* Number of live mappings (for leak tests). */
uint32_t rm_table_count(void);

/* Range hand-over tickets: issue one for [start, end), claim it once. */
uint64_t rm_ticket_issue(rm_mapping *m, uint64_t start, uint64_t end);
int rm_ticket_claim(rm_mapping *m, uint64_t id, uint64_t start, uint64_t end);

/* Signal-handler side: find the mapping that holds addr, async-signal-safe.
 * Returns the status page and the mapping's base, or NULL. */
uint8_t *rm_guard_lookup(uintptr_t addr, uintptr_t *base_out);

#endif
