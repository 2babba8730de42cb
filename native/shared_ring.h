/*
 * SharedRing memory: a header page and a data region mapped twice back to
 * back (as native/ring.c does), in one memory object shared by threads
 * (memfd) or processes (a file). The header holds the cursors and the futex
 * words; JavaScript reads and writes them with Atomics, and calls in here
 * only to sleep, to wake the other side, and to ask whether it is alive.
 * Plain POSIX/Linux, no Node-API.
 */
#ifndef RANGED_MMAP_SHARED_RING_H
#define RANGED_MMAP_SHARED_RING_H

#include <stddef.h>
#include <stdint.h>

#define RM_SRING_HEADER 4096
#define RM_SRING_MAGIC 0x474e5253u /* "SRNG" */
#define RM_SRING_VERSION 1u

/* Int32 indexes into the header (byte offset / 4); src/vmap/shared-ring.ts
 * must agree. Cursors are byte counts modulo 2^32 (capacity is a power of
 * two, so the offset of a cursor is cursor & (capacity - 1)). */
#define RM_SR_MAGIC 0
#define RM_SR_VERSION 1
#define RM_SR_CAPACITY 2
#define RM_SR_TAIL 16     /* producer's cursor */
#define RM_SR_HEAD 32     /* consumer's cursor */
#define RM_SR_DATA_SEQ 48 /* bumped after publishing; the consumer sleeps on it */
#define RM_SR_CONSUMER_WAITING 49
#define RM_SR_SPACE_SEQ 64 /* bumped after consuming; the producer sleeps on it */
#define RM_SR_PRODUCER_WAITING 65
#define RM_SR_PRODUCER_STATE 80 /* rm_sr_state */
#define RM_SR_PRODUCER_PID 81
#define RM_SR_PRODUCER_START 82 /* two int32: process start time (clock ticks) */
#define RM_SR_CONSUMER_STATE 96
#define RM_SR_CONSUMER_PID 97
#define RM_SR_CONSUMER_START 98
#define RM_SR_WORDS (RM_SRING_HEADER / 4)

typedef enum {
  RM_SR_NONE = 0, /* no one has taken the role yet */
  RM_SR_LIVE = 1,
  RM_SR_CLOSED = 2,   /* closed cleanly: for a producer, end of stream */
  RM_SR_GONE = 3,     /* died (thread exited, process killed) without closing */
  RM_SR_CLAIMING = 4, /* being taken; treated as NONE by the other side */
} rm_sr_state;

#define RM_SRING_MAX_CAPACITY ((size_t)1 << 30)

typedef struct {
  uint8_t *base;   /* header, then the data region twice */
  size_t capacity; /* data bytes: a power of two, >= one page */
  size_t map_len;  /* RM_SRING_HEADER + 2 * capacity */
} rm_sring_mem;

/* Makes a ring of at least `hint` bytes (rounded up to a power of two, at
 * least one page), in a memfd (path == NULL) or in a new file (O_EXCL).
 * Returns 0 or a positive errno with *syscall set. */
int rm_sring_create(size_t hint, const char *path, int mode, rm_sring_mem *out,
                    const char **syscall);

/* Maps an existing ring file; EINVAL if it is not one. */
int rm_sring_open(const char *path, rm_sring_mem *out, const char **syscall);

/* The int32 header word `index`. */
int32_t *rm_sring_word(const rm_sring_mem *r, uint32_t index);

/* Sleeps while header word `index` equals `expected`, at most timeout_ms.
 * Returns 1 if the time ran out, else 0 (woken, changed or interrupted). */
int rm_sring_wait(int32_t *word, int32_t expected, uint32_t timeout_ms);

/* Wakes every sleeper on the word. */
void rm_sring_wake(int32_t *word);

/* Claims a role (state word at `state_index`) for this process: returns 1,
 * or 0 if someone holds it. */
int rm_sring_claim(const rm_sring_mem *r, uint32_t state_index);

/* Sets a role's state from LIVE to `to` and wakes both sides. */
void rm_sring_leave(const rm_sring_mem *r, uint32_t state_index, rm_sr_state to);

/* The role's state, after checking that a LIVE holder in another process
 * still exists (if not, the state becomes GONE). */
rm_sr_state rm_sring_peer(const rm_sring_mem *r, uint32_t state_index);

#endif
