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
/* A page after the data whose last word holds the magic again. Truncation
 * always takes the end of a file first, so any truncation (to any length,
 * even one inside this page, which zeroes its tail without a fault) loses
 * that word: a ring file is whole exactly when it still reads the magic.
 * The mapping puts this page after the second copy of the data. */
#define RM_SRING_TRAILER 4096
#define RM_SRING_MAGIC 0x474e5253u /* "SRNG" */
/* 2: the trailer page; claiming stores the claimer's pid in the state word. */
#define RM_SRING_VERSION 2u

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
#define RM_SR_PRODUCER_STATE 80 /* rm_sr_state, or -pid while that pid claims it */
#define RM_SR_PRODUCER_PID 81
#define RM_SR_PRODUCER_START 82 /* two int32: process start time (clock ticks) */
#define RM_SR_CONSUMER_STATE 96
#define RM_SR_CONSUMER_PID 97
#define RM_SR_CONSUMER_START 98
/* What the ring carries (0 undecided, 1 bytes, 2 length-prefixed messages): set
 * and checked by TypeScript only; a new ring reads 0. */
#define RM_SR_FRAMING 112
#define RM_SR_WORDS (RM_SRING_HEADER / 4)

/* A state word holds one of the first four values, or minus the pid of a
 * process that is claiming the role (between its compare-and-swap and its
 * store of LIVE). Putting the pid in the very word the claim swaps means a
 * claimer killed half way is named in the header: the other side finds it
 * dead and marks the role GONE, and a later peer can take the role over.
 * CLAIMING and CORRUPT are only ever returned by rm_sring_peer, never
 * stored. */
typedef enum {
  RM_SR_NONE = 0, /* no one has taken the role yet */
  RM_SR_LIVE = 1,
  RM_SR_CLOSED = 2,   /* closed cleanly: for a producer, end of stream */
  RM_SR_GONE = 3,     /* died (thread exited, process killed) without closing */
  RM_SR_CLAIMING = 4, /* a live process is taking it; the other side waits */
  RM_SR_CORRUPT = 5,  /* the words make no sense: not written by this library */
} rm_sr_state;

/* Linux's largest possible pid (PID_MAX_LIMIT on 64-bit): a pid word above
 * it, or a state word below its negation, is corrupt. */
#define RM_SR_PID_MAX 4194304

#define RM_SRING_MAX_CAPACITY ((size_t)1 << 30)

typedef struct {
  uint8_t *base;   /* header, then the data region twice, then the trailer */
  size_t capacity; /* data bytes: a power of two, >= one page */
  size_t map_len;  /* RM_SRING_HEADER + 2 * capacity + RM_SRING_TRAILER */
} rm_sring_mem;

/* What rm_sring_open found in a file that is not a usable ring (returned
 * with RM_SRING_NOT_A_RING), for TypeScript to say what is wrong. */
typedef struct {
  uint64_t size;  /* the file's length */
  uint32_t magic; /* header words 0-2 (0 where the file is shorter) */
  uint32_t version;
  uint32_t capacity;
  uint32_t trailer; /* the last word of the file (0 if shorter than 4 bytes) */
} rm_sring_found;

/* rm_sring_open's result for a file that is not a ring it can map. */
#define RM_SRING_NOT_A_RING (-1)

/* Makes a ring of at least `hint` bytes (rounded up to a power of two, at
 * least one page), in a memfd (path == NULL) or in a new file (O_EXCL).
 * Returns 0 or a positive errno with *syscall set. */
int rm_sring_create(size_t hint, const char *path, int mode, rm_sring_mem *out,
                    const char **syscall);

/* Maps an existing ring file. Returns 0, a positive errno with *syscall
 * set, or RM_SRING_NOT_A_RING with *found filled when the file's signature,
 * version, capacity, length or trailer is not that of a whole ring. */
int rm_sring_open(const char *path, rm_sring_mem *out, rm_sring_found *found,
                  const char **syscall);

/* The int32 header word `index`. */
int32_t *rm_sring_word(const rm_sring_mem *r, uint32_t index);

/* Sleeps while header word `index` equals `expected`, at most timeout_ms.
 * Returns 1 if the time ran out, else 0 (woken, changed or interrupted). */
int rm_sring_wait(int32_t *word, int32_t expected, uint32_t timeout_ms);

/* Wakes every sleeper on the word. */
void rm_sring_wake(int32_t *word);

/* Claims a role (state word at `state_index`) for this process: returns 1,
 * or 0 if a live peer holds it (or it was closed, or its words are
 * corrupt). A role whose holder died (GONE, or found dead here) is taken
 * over. */
int rm_sring_claim(const rm_sring_mem *r, uint32_t state_index);

/* Sets a role's state from LIVE to `to` and wakes both sides. */
void rm_sring_leave(const rm_sring_mem *r, uint32_t state_index, rm_sr_state to);

/* The role's state, after checking that a holder (LIVE or claiming) in
 * another process still exists (if not, the state becomes GONE): NONE,
 * LIVE, CLOSED, GONE, CLAIMING (a live process is claiming it) or CORRUPT
 * (a state or pid word no process of this library writes). */
rm_sr_state rm_sring_peer(const rm_sring_mem *r, uint32_t state_index);

#endif
