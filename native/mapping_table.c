#include "mapping_table.h"

#include "map_areas.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

/* The table proper: guarded by one mutex. Entries change only on open,
 * attach, detach and close, never on the write path. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static rm_mapping *slots[RM_MAX_MAPPINGS];
static uint64_t next_generation = 1;
static uint32_t live_count = 0;

/* A lock-free mirror of each slot's address range for the SIGBUS handler,
 * which may not take a mutex. The handler only reads; writers publish the
 * range after the mapping exists and withdraw it before it is unmapped. */
typedef struct {
  _Atomic uintptr_t start;
  _Atomic uintptr_t end;
  _Atomic(uint8_t *) status;
} rm_guard;

static rm_guard guards[RM_MAX_MAPPINGS];
static _Atomic uint32_t guard_high = 0; /* slots >= this were never used */

rm_mapping *rm_table_insert(int fd, uint8_t *base, uint64_t size, uint64_t map_len,
                            uint8_t *status) {
  rm_mapping *m = calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  m->fd = fd;
  m->base = base;
  m->size = size;
  m->map_len = map_len;
  m->status = status;
  m->refs = 1;
  m->next_ticket = 1;
  /* Not a secret against this process (it can share the file anyway), only
   * a check that a handle was made for this mapping and not edited. */
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
    r = (uint64_t)(uintptr_t)m ^ (uint64_t)base;
  m->nonce = r & (((uint64_t)1 << 53) - 1);
  pthread_mutex_init(&m->dir_lock, NULL);

  pthread_mutex_lock(&table_lock);
  uint32_t slot = RM_MAX_MAPPINGS;
  /* Slot 0 is never used so that key 0 can mean "none". */
  for (uint32_t i = 1; i < RM_MAX_MAPPINGS; i++) {
    if (slots[i] == NULL) {
      slot = i;
      break;
    }
  }
  if (slot == RM_MAX_MAPPINGS) {
    pthread_mutex_unlock(&table_lock);
    free(m);
    return NULL;
  }
  m->key = (next_generation++ << RM_SLOT_BITS) | slot;
  slots[slot] = m;
  live_count++;
  atomic_store(&guards[slot].status, status);
  atomic_store(&guards[slot].end, (uintptr_t)base + map_len);
  atomic_store(&guards[slot].start, (uintptr_t)base);
  if (atomic_load(&guard_high) <= slot) atomic_store(&guard_high, slot + 1);
  pthread_mutex_unlock(&table_lock);
  return m;
}

rm_mapping *rm_table_acquire(uint64_t key) {
  uint32_t slot = (uint32_t)(key & (RM_MAX_MAPPINGS - 1));
  rm_mapping *found = NULL;
  pthread_mutex_lock(&table_lock);
  rm_mapping *m = slots[slot];
  if (m != NULL && m->key == key) {
    m->refs++;
    found = m;
  }
  pthread_mutex_unlock(&table_lock);
  return found;
}

void rm_table_retain(rm_mapping *m) {
  pthread_mutex_lock(&table_lock);
  m->refs++;
  pthread_mutex_unlock(&table_lock);
}

static void free_tickets(rm_ticket *t) {
  while (t != NULL) {
    rm_ticket *next = t->next;
    free(t);
    t = next;
  }
}

/* Drops one reference; after the last, frees m and returns the successor
 * whose reference m held (for the caller to release in turn). */
static rm_mapping *release_one(rm_mapping *m) {
  uint32_t slot = (uint32_t)(m->key & (RM_MAX_MAPPINGS - 1));
  pthread_mutex_lock(&table_lock);
  int last = --m->refs == 0;
  if (last) {
    /* Withdraw the guard range first: once unmapped, the address range may
     * be reused by anything, and faults there are no longer ours. */
    atomic_store(&guards[slot].start, 0);
    atomic_store(&guards[slot].end, 0);
    atomic_store(&guards[slot].status, NULL);
    slots[slot] = NULL;
    live_count--;
  }
  pthread_mutex_unlock(&table_lock);
  if (!last) return NULL;
  munmap(m->base, m->map_len);
  munmap(m->status, RM_STATUS_BYTES);
  rm_maps_give(m->areas);
  if (!m->fd_borrowed) close(m->fd);
  free(m->dir_path);
  free(m->path);
  pthread_mutex_destroy(&m->dir_lock);
  free_tickets(m->tickets);
  rm_mapping *successor = m->successor;
  free(m);
  return successor;
}

void rm_table_release(rm_mapping *m) {
  /* A loop, not recursion: the old mappings of a resized file hold their
   * successors, and a long chain must not grow the stack. */
  while (m != NULL) m = release_one(m);
}

void rm_table_each_predecessor(rm_mapping *latest, void (*fn)(rm_mapping *, void *),
                               void *ctx) {
  pthread_mutex_lock(&table_lock);
  uint32_t high = atomic_load(&guard_high);
  /* A file is only ever resized through its newest mapping (an older one
   * answers "moved"), so the other live members of latest's family are its
   * predecessors (and a successor the caller just made): one pass. */
  for (uint32_t i = 1; i < high; i++) {
    rm_mapping *p = slots[i];
    if (p == latest || (p != NULL && latest->family != 0 && p->family == latest->family))
      fn(p, ctx);
  }
  pthread_mutex_unlock(&table_lock);
}

rm_mapping *rm_table_acquire_newest(uint64_t nonce, uint64_t after) {
  rm_mapping *found = NULL;
  pthread_mutex_lock(&table_lock);
  uint32_t high = atomic_load(&guard_high);
  /* Every mapping of a resized file carries the first one's nonce and a
   * family; keys grow with every insert, so the newest is the largest. */
  for (uint32_t i = 1; i < high; i++) {
    rm_mapping *p = slots[i];
    if (p != NULL && p->family != 0 && p->nonce == nonce && p->key > after &&
        (found == NULL || p->key > found->key))
      found = p;
  }
  if (found != NULL) found->refs++;
  pthread_mutex_unlock(&table_lock);
  return found;
}

uint32_t rm_table_count(void) {
  pthread_mutex_lock(&table_lock);
  uint32_t n = live_count;
  pthread_mutex_unlock(&table_lock);
  return n;
}

uint64_t rm_ticket_issue(rm_mapping *m, uint64_t start, uint64_t end) {
  rm_ticket *t = malloc(sizeof *t);
  if (t == NULL) return 0;
  pthread_mutex_lock(&table_lock);
  t->id = m->next_ticket++;
  t->start = start;
  t->end = end;
  t->next = m->tickets;
  m->tickets = t;
  pthread_mutex_unlock(&table_lock);
  return t->id;
}

int rm_ticket_claim(rm_mapping *m, uint64_t id, uint64_t start, uint64_t end) {
  int ok = 0;
  rm_ticket *found = NULL;
  pthread_mutex_lock(&table_lock);
  for (rm_ticket **p = &m->tickets; *p != NULL; p = &(*p)->next) {
    rm_ticket *t = *p;
    if (t->id == id) {
      /* A ticket is good for exactly the range it was issued for; a claim
       * with other bounds is a forgery and leaves the ticket in place. */
      if (t->start == start && t->end == end) {
        *p = t->next;
        found = t;
        ok = 1;
      }
      break;
    }
  }
  pthread_mutex_unlock(&table_lock);
  free(found);
  return ok;
}

uint8_t *rm_guard_lookup(uintptr_t addr, uintptr_t *base_out) {
  uint32_t high = atomic_load(&guard_high);
  for (uint32_t i = 1; i < high; i++) {
    uintptr_t start = atomic_load(&guards[i].start);
    if (start == 0 || addr < start) continue;
    if (addr >= atomic_load(&guards[i].end)) continue;
    *base_out = start;
    return atomic_load(&guards[i].status);
  }
  return NULL;
}

int32_t rm_mapping_faults(const rm_mapping *m, double *first_offset) {
  int32_t n = atomic_load((_Atomic int32_t *)m->status);
  if (n != 0 && first_offset != NULL)
    memcpy(first_offset, m->status + 8 * RM_STATUS_FAULT_OFFSET_F64,
           sizeof *first_offset);
  return n;
}

void rm_mapping_record_loss(rm_mapping *m, uint64_t offset) {
  _Atomic int32_t *faults = (_Atomic int32_t *)m->status;
  if (atomic_fetch_add(faults, 1) == 0) {
    double at = (double)offset;
    memcpy(m->status + 8 * RM_STATUS_FAULT_OFFSET_F64, &at, sizeof at);
  }
}
