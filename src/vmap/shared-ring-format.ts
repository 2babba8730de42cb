/**
 * SharedRing's file format and the checks of its words: the header word
 * indexes (native/shared_ring.h must agree), the states, and what to say
 * about a file that is not a whole ring. Shared by the SharedRing files.
 *
 * Not exported from the package.
 */
import { toOffset } from '../core/arguments.js';
import { type MmapError, misuse, outOfRange } from '../errors.js';
import type { SharedRingFound } from './native.js';

// Header words (native/shared_ring.h).
export const TAIL = 16;
export const HEAD = 32;
export const DATA_SEQ = 48;
export const CONSUMER_WAITING = 49;
export const SPACE_SEQ = 64;
export const PRODUCER_WAITING = 65;
export const PRODUCER_STATE = 80;
export const CONSUMER_STATE = 96;
export const HEADER_BYTES = 4096;
/** A page after the data; its last word holds MAGIC while the file is whole. */
export const TRAILER_BYTES = 4096;
export const MAGIC = 0x474e5253; // "SRNG"
export const VERSION = 2;
export const PRODUCER = 1;
export const CONSUMER = 2;
// States (a state word holds one of these, or -pid while that process claims the role).
export const LIVE = 1;
export const CLOSED = 2;
export const GONE = 3;
// What srPeer returns besides the states above.
export const PEER_CLAIMING = 4;
export const PEER_CORRUPT = 5;
export const PEER_LOST = -1;
/** Linux's largest possible pid (PID_MAX_LIMIT). */
export const PID_MAX = 4194304;
/**
 * A claim takes microseconds once its process is named in the state word;
 * one seen in progress for longer than this was forged or its process is
 * stopped, and the waiting side gives up instead of waiting forever.
 */
export const STUCK_CLAIM_MS = 2000;
/** How often a sleeper wakes to check that the other side is alive. */
export const LIVENESS_MS = 100;
export const MAX_CAPACITY = 2 ** 30;

export const encoder = new TextEncoder();
export const EMPTY = new Uint8Array(0);
/**
 * %TypedArray%.prototype.set, called on the caller's array: a subclass's
 * own `set` never runs, and a typed-array source is read through its
 * internal slots only.
 */
export const typedSet = Object.getPrototypeOf(Uint8Array.prototype).set as (this: Uint8Array, source: Uint8Array, offset?: number) => void;

/** What {@link SharedRing.share} returns: post it to a worker, which calls {@link SharedRing.fromShared}. */
export interface SharedRingHandle {
  readonly kind: 'ranged-mmap:shared-ring';
  readonly key: number;
}

/** True when `value` is a number, a whole one, in [0, max] (no conversion, no user code). */
export function isCount(value: unknown, max: number): value is number {
  return typeof value === 'number' && value >= 0 && value <= max && Math.floor(value) === value;
}

/** The error for a file srOpen refused: what it holds instead of a whole ring of this version. */
export function notARing(path: string, found: SharedRingFound): MmapError {
  const { size, magic, version, capacity, trailer } = found;
  const expected = HEADER_BYTES + capacity + TRAILER_BYTES;
  let what: string;
  if (magic !== MAGIC) {
    what =
      size === 0
        ? 'is empty, not a ring file'
        : `is not a ring file: it does not start with the SharedRing signature ("SRNG"; ${size} bytes, first word 0x${magic.toString(16)})`;
    what += '. Make ring files with SharedRing.create()';
  } else if (size < HEADER_BYTES + 4096 + TRAILER_BYTES) {
    what = `is ${size} bytes, too short for a ring file (at least ${HEADER_BYTES + 4096 + TRAILER_BYTES}): it was truncated`;
  } else if (version !== VERSION) {
    what = `is a ring file of format version ${version}; this version of ranged-mmap reads version ${VERSION} only. Make a new ring with SharedRing.create()`;
  } else if (capacity < 4096 || capacity > MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    what = `has a corrupt header: its capacity ${capacity} is not a power of two from 4096 to ${MAX_CAPACITY}`;
  } else if (size !== expected) {
    what = `is ${size} bytes, but a ring of capacity ${capacity} is ${expected} bytes: it was ${size < expected ? 'truncated' : 'extended'} after it was made`;
  } else {
    what = `lost its end: its last word, a copy of the signature, reads 0x${trailer.toString(16)}: the file was truncated and extended again, or written over`;
  }
  return misuse('ERR_MMAP_INVALID_STATE', `'${path}' ${what}`, path);
}

export function toCapacity(value: unknown): number {
  const n = toOffset(value, 'capacity');
  if (n < 1 || n > MAX_CAPACITY) throw outOfRange('capacity', `an integer >= 1 and <= ${MAX_CAPACITY}`, value);
  return n;
}

/**
 * The header word that says what the ring carries, set by the first call
 * of either kind (compare-and-swap from 0) and checked by every side: 0 not
 * yet decided, BYTES a byte stream (write/read), MESSAGES framed messages
 * (writeMessage/readMessage). Rings made before it read 0 here.
 */
export const FRAMING = 112;
export const BYTES = 1;
export const MESSAGES = 2;
/** Each message is its length (32-bit little-endian) then its bytes, published with one store of the tail. */
export const FRAME_HEADER = 4;

/** Reads the 32-bit little-endian length at `at` (no allocation). */
export function lengthAt(d: Uint8Array, at: number): number {
  return (d[at] | (d[at + 1] << 8) | (d[at + 2] << 16) | (d[at + 3] << 24)) >>> 0;
}

/** Writes `n` as the 32-bit little-endian length at `at`. */
export function putLength(d: Uint8Array, at: number, n: number): void {
  d[at] = n;
  d[at + 1] = n >>> 8;
  d[at + 2] = n >>> 16;
  d[at + 3] = n >>> 24;
}
