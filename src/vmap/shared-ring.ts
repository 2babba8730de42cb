/**
 * SharedRing: a single-producer, single-consumer byte ring shared by two
 * threads (memory from memfd, posted to a worker like a file) or two
 * processes (a ring file). Past vmap.
 *
 * - The cursors live in a header page, read and written with Atomics;
 *   the data region is mapped twice back to back, so every readable or
 *   writable stretch is one contiguous Uint8Array.
 * - The consumer sleeps while the ring is empty and the producer while it
 *   is full, on futex words in the header (never a spin). Sleeps wake at
 *   least every 100 ms to check that the other side is still alive: a
 *   producer that dies (thread exit, process killed) is reported to the
 *   consumer as `ERR_MMAP_PEER_GONE`, never a hang; a producer's `close()`
 *   is the end of the stream.
 * - Copies: `write` copies in and `read` copies out; `writeSlice`/`commit`
 *   and `readSlice`/`consume` copy nothing.
 * - A ring file is input. `open` checks its signature, version, capacity,
 *   length and header words; every call checks, after its copy and before
 *   publishing or releasing, that no page was lost (the status page's fault
 *   counter) and that the file still ends with its trailer word (any
 *   truncation takes that word first): a truncated ring fails every call
 *   with `ERR_MMAP_FAULT` and never hands out zeros as data. Both are loads
 *   of words nobody writes while the ring is sound, so they stay in cache.
 *
 * The plain calls block the calling thread while they wait (like
 * `Atomics.wait`): for workers and processes that can afford to block.
 * `readAsync`, `writeAsync` and `waitReadableAsync` wait on a thread of
 * their own instead, so a main thread's event loop keeps running. No wait
 * ever sits on libuv's thread pool.
 */
import { byteLengthOf, toOffset, toPath } from '../core/arguments.js';
import { argTypeError, fromNative, type MmapError, misuse, outOfRange, typedArrayTag } from '../errors.js';
import { type SharedRingFound, type SharedRingMemory, snative } from './native.js';
import { toWriteData } from './ring.js';

// Header words (native/shared_ring.h).
const TAIL = 16;
const HEAD = 32;
const DATA_SEQ = 48;
const CONSUMER_WAITING = 49;
const SPACE_SEQ = 64;
const PRODUCER_WAITING = 65;
const PRODUCER_STATE = 80;
const CONSUMER_STATE = 96;
const HEADER_BYTES = 4096;
/** A page after the data; its last word holds MAGIC while the file is whole. */
const TRAILER_BYTES = 4096;
const MAGIC = 0x474e5253; // "SRNG"
const VERSION = 2;
const PRODUCER = 1;
const CONSUMER = 2;
// States (a state word holds one of these, or -pid while that process claims the role).
const LIVE = 1;
const CLOSED = 2;
const GONE = 3;
// What srPeer returns besides the states above.
const PEER_CLAIMING = 4;
const PEER_CORRUPT = 5;
const PEER_LOST = -1;
/** Linux's largest possible pid (PID_MAX_LIMIT). */
const PID_MAX = 4194304;
/**
 * A claim takes microseconds once its process is named in the state word;
 * one seen in progress for longer than this was forged or its process is
 * stopped, and the waiting side gives up instead of waiting forever.
 */
const STUCK_CLAIM_MS = 2000;
/** How often a sleeper wakes to check that the other side is alive. */
const LIVENESS_MS = 100;
const MAX_CAPACITY = 2 ** 30;

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
/**
 * %TypedArray%.prototype.set, called on the caller's array: a subclass's
 * own `set` never runs, and a typed-array source is read through its
 * internal slots only.
 */
const typedSet = Object.getPrototypeOf(Uint8Array.prototype).set as (this: Uint8Array, source: Uint8Array, offset?: number) => void;

/** What {@link SharedRing.share} returns: post it to a worker, which calls {@link SharedRing.fromShared}. */
export interface SharedRingHandle {
  readonly kind: 'ranged-mmap:shared-ring';
  readonly key: number;
}

/** True when `value` is a number, a whole one, in [0, max] (no conversion, no user code). */
function isCount(value: unknown, max: number): value is number {
  return typeof value === 'number' && value >= 0 && value <= max && Math.floor(value) === value;
}

/** The error for a file srOpen refused: what it holds instead of a whole ring of this version. */
function notARing(path: string, found: SharedRingFound): MmapError {
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

function toCapacity(value: unknown): number {
  const n = toOffset(value, 'capacity');
  if (n < 1 || n > MAX_CAPACITY) throw outOfRange('capacity', `an integer >= 1 and <= ${MAX_CAPACITY}`, value);
  return n;
}

/**
 * A single-producer, single-consumer byte ring shared by two threads or two
 * processes. The first `write`-side call makes this object the producer,
 * the first `read`-side call the consumer (one of each per ring).
 *
 * @example
 * ```ts
 * // main thread
 * import { SharedRing } from 'ranged-mmap';
 * const ring = new SharedRing(1 << 20);
 * new Worker('./consumer.js', { workerData: ring.share() });
 * ring.write(new Uint8Array(4096)); // blocks while the ring is full
 * ring.close(); // end of stream
 *
 * // consumer.js
 * const ring = SharedRing.fromShared(workerData);
 * const buf = new Uint8Array(65536);
 * for (let n; (n = ring.read(buf)) > 0; ) handle(buf.subarray(0, n));
 * ring.close();
 * ```
 */
export class SharedRing {
  #buffer: ArrayBuffer;
  #h: Int32Array;
  #data: Uint8Array;
  /** The status page's fault counter at [0] (bumped by the SIGBUS guard when a page is lost). */
  #status: Int32Array;
  /** The trailer's last word: MAGIC while the ring's memory is whole. */
  #end: Int32Array;
  /** The ring file, for messages (undefined for a ring between threads). */
  readonly #path: string | undefined;
  readonly #key: number;
  readonly #capacity: number;
  readonly #mask: number;
  #role = 0;
  /** This side's cursor (the producer's tail or the consumer's head), modulo 2^32. */
  #cursor = 0;
  /**
   * The other side's cursor as last read (the producer's copy of the head,
   * the consumer's of the tail). Re-read only when it shows too little
   * room or data: the other side's cache line moves between cores only
   * when it has to.
   */
  #peer = 0;
  #closed = false;
  /** When the other side was first seen mid-claim (performance.now()), 0 if it is not. */
  #claimSeen = 0;

  /**
   * A ring of at least `capacity` bytes (rounded up to a power of two, at
   * least one page) in memory shared by the threads of this process. Rings
   * of up to 64 MiB are prefaulted here (no page faults on the first lap).
   */
  constructor(capacity: number);
  /** @internal */
  constructor(capacity: number, made: SharedRingMemory, path?: string);
  constructor(capacity: number, made?: SharedRingMemory, path?: string) {
    let result = made;
    if (result === undefined) {
      const hint = toCapacity(capacity);
      try {
        result = snative.srCreate(hint, null, 0o600);
      } catch (error) {
        throw fromNative(error);
      }
    }
    const [key, buffer, status] = result;
    this.#key = key;
    this.#buffer = buffer;
    this.#path = path;
    this.#h = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#capacity = (buffer.byteLength - HEADER_BYTES - TRAILER_BYTES) / 2;
    this.#mask = this.#capacity - 1;
    this.#data = new Uint8Array(buffer, HEADER_BYTES, 2 * this.#capacity);
    this.#status = new Int32Array(status, 0, 1);
    this.#end = new Int32Array(buffer, buffer.byteLength - 4, 1);
  }

  /**
   * Creates a ring file at `path` (which must not exist; permission bits
   * `mode`, 0o600 by default) for a ring shared between processes; the
   * other process opens it with {@link SharedRing.open}.
   *
   * @example
   * ```ts
   * const ring = SharedRing.create('/tmp/feed.ring', 1 << 20);
   * ```
   */
  static create(path: string | URL, capacity: number, options?: { mode?: number }): SharedRing {
    const p = toPath(path);
    const hint = toCapacity(capacity);
    let mode = 0o600;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) throw argTypeError('options', 'of type object', options);
      const m = options.mode;
      if (m !== undefined) {
        if (typeof m !== 'number') throw argTypeError('options.mode', 'of type number', m);
        if (!Number.isInteger(m) || m < 0 || m > 0o7777) throw outOfRange('options.mode', 'an integer from 0 to 0o7777', m);
        mode = m;
      }
    }
    let made: SharedRingMemory;
    try {
      made = snative.srCreate(hint, p, mode);
    } catch (error) {
      throw fromNative(error, p);
    }
    return new SharedRing(0, made, p);
  }

  /**
   * Opens a ring file made by {@link SharedRing.create} (in this or another
   * process). A file that is not a whole ring of this version (another
   * file, another format version, truncated, or with header words no ring
   * writes) is refused with `ERR_MMAP_INVALID_STATE`, whose message says
   * what is wrong with it.
   *
   * @example
   * ```ts
   * const ring = SharedRing.open('/tmp/feed.ring');
   * ```
   */
  static open(path: string | URL): SharedRing {
    const p = toPath(path);
    let got: SharedRingMemory;
    try {
      got = snative.srOpen(p);
    } catch (error) {
      const found = typeof error === 'object' && error !== null ? (error as { found?: SharedRingFound }).found : undefined;
      throw found === undefined ? fromNative(error, p) : notARing(p, found);
    }
    const ring = new SharedRing(0, got, p);
    const problem = ring.#headerProblem();
    if (problem !== undefined) {
      ring.close(); // holds no role: changes nothing in the file
      throw ring.#corrupt(problem);
    }
    return ring;
  }

  /**
   * This thread's view of a ring another thread shared with
   * {@link SharedRing.share}.
   *
   * @example
   * ```ts
   * const ring = SharedRing.fromShared(workerData);
   * ```
   */
  static fromShared(handle: SharedRingHandle): SharedRing {
    if (typeof handle !== 'object' || handle === null) throw argTypeError('handle', 'a SharedRingHandle (from share())', handle);
    let kind: unknown;
    let key: unknown;
    try {
      kind = handle.kind;
      key = handle.key;
    } catch {
      throw argTypeError('handle', 'a SharedRingHandle (from share())', handle);
    }
    if (kind !== 'ranged-mmap:shared-ring' || typeof key !== 'number') throw argTypeError('handle', 'a SharedRingHandle (from share())', handle);
    // Keys are positive safe integers; anything else never came from share().
    if (!Number.isSafeInteger(key) || key < 1) {
      throw misuse('ERR_MMAP_INVALID_ARGUMENT', 'fromShared() takes the object that ring.share() returned (posted to this thread as is)');
    }
    try {
      return new SharedRing(0, snative.srAttach(key));
    } catch (error) {
      throw fromNative(error);
    }
  }

  /**
   * A plain object to post to a worker thread of this process, where
   * {@link SharedRing.fromShared} opens the same ring.
   *
   * @example
   * ```ts
   * worker.postMessage(ring.share());
   * ```
   */
  share(): SharedRingHandle {
    this.#live();
    return { kind: 'ranged-mmap:shared-ring', key: this.#key };
  }

  /** Data bytes the ring holds when full (a power of two). */
  get capacity(): number {
    return this.#capacity;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** "the ring file 'p'" or "the shared ring", for messages. */
  #name(): string {
    return this.#path === undefined ? 'the shared ring' : `the ring file '${this.#path}'`;
  }

  /** True while no page of the ring was lost and the file still ends with its trailer word. */
  #sound(): boolean {
    return this.#end[0] === MAGIC && this.#status[0] === 0;
  }

  /** `n`, read from the header, if the ring is sound; else ERR_MMAP_FAULT. */
  #soundCount(n: number): number {
    if (!this.#sound()) throw this.#lost();
    return n;
  }

  /** ERR_MMAP_FAULT: the ring's file was truncated (or a page of it could not be read). */
  #lost(): MmapError {
    return misuse(
      'ERR_MMAP_FAULT',
      `${this.#name()} was truncated, or a page of it could not be read, while in use: bytes in it are lost (none are handed out as data). ` +
        'The ring is broken: close it, and make a new one',
      this.#path,
    );
  }

  /** ERR_MMAP_INVALID_STATE: the header holds words no ring writes. */
  #corrupt(what: string): MmapError {
    return misuse('ERR_MMAP_INVALID_STATE', `${this.#name()} has a corrupt header: ${what}. The ring is broken: close it, and make a new one`, this.#path);
  }

  /** What is wrong with the header words now (states, pids, cursors), or undefined. */
  #headerProblem(): string | undefined {
    const h = this.#h;
    for (const [role, at] of [
      ['producer', PRODUCER_STATE],
      ['consumer', CONSUMER_STATE],
    ] as const) {
      const state = Atomics.load(h, at);
      if (state > GONE || state < -PID_MAX) return `the ${role}'s state word is ${state}, not a state a ring takes`;
      const pid = Atomics.load(h, at + 1);
      if (state === LIVE && (pid <= 0 || pid > PID_MAX)) return `the ${role} is live with process id ${pid}, which no process has`;
    }
    const used = (Atomics.load(h, TAIL) - Atomics.load(h, HEAD)) >>> 0;
    if (used > this.#capacity) return `${used} bytes between the cursors, capacity ${this.#capacity}`;
    return undefined;
  }

  /** Bytes between the cursors, checked: another process could have scribbled over the header. */
  #span(tail: number, head: number): number {
    const used = (tail - head) >>> 0;
    if (used > this.#capacity) {
      // A lost header page reads as zeros: say so rather than "corrupt".
      if (!this.#sound()) throw this.#lost();
      throw this.#corrupt(`${used} bytes between the cursors, capacity ${this.#capacity}`);
    }
    return used;
  }

  /** Producer: free bytes, re-reading the head when the cached one shows fewer than `want`. */
  #free(want: number): number {
    let free = this.#capacity - this.#span(this.#cursor, this.#peer);
    if (free < want) {
      this.#peer = Atomics.load(this.#h, HEAD) >>> 0;
      free = this.#capacity - this.#span(this.#cursor, this.#peer);
    }
    return free;
  }

  /** Consumer: readable bytes, re-reading the tail when the cached one shows fewer than `want` (at least 1). */
  #avail(want: number): number {
    let avail = this.#span(this.#peer, this.#cursor);
    if (avail < want || avail === 0) {
      this.#peer = Atomics.load(this.#h, TAIL) >>> 0;
      avail = this.#span(this.#peer, this.#cursor);
    }
    return avail;
  }

  #live(): void {
    if (this.#closed) throw misuse('ERR_MMAP_CLOSED', 'the shared ring is closed in this thread');
  }

  #claim(role: number): void {
    this.#live();
    if (this.#role === role) return;
    const name = role === PRODUCER ? 'producer' : 'consumer';
    if (this.#role !== 0) {
      throw misuse(
        'ERR_MMAP_INVALID_STATE',
        `this SharedRing object is the ${this.#role === PRODUCER ? 'producer' : 'consumer'}; it cannot also be the ${name}`,
      );
    }
    const claimed = snative.srClaim(this.#buffer, role as 1 | 2);
    if (!this.#sound()) throw this.#lost();
    if (!claimed) {
      const state = Atomics.load(this.#h, role === PRODUCER ? PRODUCER_STATE : CONSUMER_STATE);
      this.#checkState(state);
      if (snative.srPeer(this.#buffer, role as 1 | 2) === PEER_CORRUPT) {
        throw this.#corrupt(
          `the ${name} is live with process id ${Atomics.load(this.#h, (role === PRODUCER ? PRODUCER_STATE : CONSUMER_STATE) + 1)}, which no process has`,
        );
      }
      if (state === CLOSED) throw misuse('ERR_MMAP_INVALID_STATE', `the ${name} of the ring closed it; a closed role is not taken again`, this.#path);
      throw misuse('ERR_MMAP_INVALID_STATE', `the ring already has a ${name} (one producer and one consumer per ring)`, this.#path);
    }
    this.#role = role;
    this.#cursor = Atomics.load(this.#h, role === PRODUCER ? TAIL : HEAD) >>> 0;
    this.#peer = Atomics.load(this.#h, role === PRODUCER ? HEAD : TAIL) >>> 0;
  }

  /** Throws if a state word read from the header is none a ring takes. */
  #checkState(state: number): void {
    if (state > GONE || state < -PID_MAX) {
      if (!this.#sound()) throw this.#lost();
      throw this.#corrupt(`a state word is ${state}, not a state a ring takes`);
    }
  }

  /**
   * Throws if the side `role` can no longer take part (died, or closed when
   * `closedIsError`), or if the ring is broken. `state` is the role's state
   * word as read from the header.
   */
  #checkPeer(role: number, state: number, closedIsError: boolean): void {
    if (!this.#sound()) throw this.#lost();
    this.#checkState(state);
    const name = role === PRODUCER ? 'producer' : 'consumer';
    if (state === GONE) throw misuse('ERR_MMAP_PEER_GONE', `the ${name} of the shared ring exited or was killed without closing it`, this.#path);
    if (state === CLOSED && closedIsError) throw misuse('ERR_MMAP_PEER_GONE', `the ${name} closed the shared ring`, this.#path);
  }

  /**
   * After a sleep that ran out: asks the native side whether the other
   * side's process is alive (marking it GONE if not) and throws as
   * {@link #checkPeer} does; also gives up on a claim that never ends.
   */
  #askPeer(role: number, closedIsError: boolean): void {
    const state = snative.srPeer(this.#buffer, role as 1 | 2);
    const name = role === PRODUCER ? 'producer' : 'consumer';
    if (state === PEER_LOST) throw this.#lost();
    if (state === PEER_CORRUPT) {
      throw this.#corrupt(`the ${name}'s state or process id words hold values no ring writes (a live role with process id 0 or below, or an unknown state)`);
    }
    if (state !== PEER_CLAIMING) {
      this.#claimSeen = 0;
      this.#checkPeer(role, state, closedIsError);
      return;
    }
    const now = performance.now();
    if (this.#claimSeen === 0) this.#claimSeen = now;
    else if (now - this.#claimSeen > STUCK_CLAIM_MS) {
      const pid = -Atomics.load(this.#h, role === PRODUCER ? PRODUCER_STATE : CONSUMER_STATE);
      throw this.#corrupt(
        `the ${name} role has been being claimed by process ${pid} for over ${STUCK_CLAIM_MS} ms, a step that takes microseconds (the word was forged, or that process is stopped)`,
      );
    }
  }

  /** Bytes that can be read now (consumer side; 0 on the producer side before it is claimed). Throws if the ring is broken. */
  get readLen(): number {
    if (this.#closed) return 0;
    const head = this.#role === CONSUMER ? this.#cursor : Atomics.load(this.#h, HEAD) >>> 0;
    const used = this.#span(Atomics.load(this.#h, TAIL) >>> 0, head);
    if (!this.#sound()) throw this.#lost();
    return used;
  }

  /** Bytes that can be written now without waiting. Throws if the ring is broken. */
  get writeLen(): number {
    if (this.#closed) return 0;
    const tail = this.#role === PRODUCER ? this.#cursor : Atomics.load(this.#h, TAIL) >>> 0;
    const free = this.#capacity - this.#span(tail, Atomics.load(this.#h, HEAD) >>> 0);
    if (!this.#sound()) throw this.#lost();
    return free;
  }

  // ---- producer ----------------------------------------------------------

  /** Publishes `n` bytes written at the tail and wakes a sleeping consumer. */
  #publish(n: number): void {
    this.#cursor = (this.#cursor + n) >>> 0;
    Atomics.store(this.#h, TAIL, this.#cursor | 0);
    // The sequence word moves only when someone sleeps on it: a consumer
    // that announced its sleep (CONSUMER_WAITING) after reading the word
    // either sees the new tail when it checks again, or is woken here.
    // The waker clears the flag (exchange), so the writes published while
    // the woken consumer is still being scheduled make no further futex
    // calls: one wake per sleep, not one per message.
    if (Atomics.load(this.#h, CONSUMER_WAITING) !== 0 && Atomics.exchange(this.#h, CONSUMER_WAITING, 0) !== 0) {
      Atomics.add(this.#h, DATA_SEQ, 1);
      snative.srWake(this.#buffer, DATA_SEQ);
    }
  }

  /** Sleeps until at least `want` bytes are free; throws if the consumer is gone or closed. */
  #waitSpace(want: number): number {
    const h = this.#h;
    for (;;) {
      const free = this.#free(want);
      if (free >= want) return free;
      this.#checkPeer(CONSUMER, Atomics.load(h, CONSUMER_STATE), true);
      const seq = Atomics.load(h, SPACE_SEQ);
      Atomics.store(h, PRODUCER_WAITING, 1);
      // Checked again after announcing the sleep: a consumer that freed
      // space in between either is seen here or sees the flag and wakes us.
      if (this.#free(want) >= want) {
        Atomics.store(h, PRODUCER_WAITING, 0);
        continue;
      }
      const timedOut = snative.srWait(this.#buffer, SPACE_SEQ, seq, LIVENESS_MS);
      Atomics.store(h, PRODUCER_WAITING, 0);
      if (timedOut) this.#askPeer(CONSUMER, true);
    }
  }

  /**
   * Writes all of `data` (bytes, or a string as UTF-8), sleeping while the
   * ring is full. Returns the byte count. Throws `ERR_MMAP_PEER_GONE` if
   * the consumer closed the ring or died.
   *
   * @example
   * ```ts
   * ring.write(message);
   * ```
   */
  write(data: Uint8Array | string): number {
    // Fast path, the same checks as below in fewer steps: this object is a
    // live producer, the consumer has neither closed nor died, `data` is a
    // genuine non-empty Uint8Array (a subclass included: only internal
    // slots are read, no user code runs), and it fits in the free space
    // known from the cached head. One copy, no native call unless the
    // consumer sleeps.
    if (this.#role === PRODUCER && !this.#closed && typedArrayTag(data) === 'Uint8Array') {
      const n = byteLengthOf(data);
      const state = Atomics.load(this.#h, CONSUMER_STATE);
      if (n !== 0 && state !== CLOSED && state !== GONE && n <= this.#capacity - ((this.#cursor - this.#peer) >>> 0)) {
        this.#data.set(data as Uint8Array, this.#cursor & this.#mask);
        // After the copy, before publishing: a page lost to truncation took
        // the bytes (see the file comment).
        if (this.#end[0] !== MAGIC || this.#status[0] !== 0) throw this.#lost();
        this.#publish(n);
        return n;
      }
    }
    return this.#writeSlow(data);
  }

  #writeSlow(data: Uint8Array | string): number {
    const d = toWriteData(data);
    const bytes = typeof d === 'string' ? encoder.encode(d) : d;
    this.#claim(PRODUCER);
    const n = byteLengthOf(bytes);
    this.#checkPeer(CONSUMER, Atomics.load(this.#h, CONSUMER_STATE), true);
    let off = 0;
    while (off < n) {
      // Waits for room for the whole rest (up to the capacity): one copy and
      // one wake-up per write, not a trickle of partial ones.
      const free = this.#waitSpace(Math.min(n - off, this.#capacity));
      const k = Math.min(free, n - off);
      this.#data.set(off === 0 && k === n ? bytes : bytes.subarray(off, off + k), this.#cursor & this.#mask);
      if (!this.#sound()) throw this.#lost();
      this.#publish(k);
      off += k;
    }
    return n;
  }

  /** {@link #waitSpace} without blocking: sleeps on a thread of its own. */
  async #waitSpaceAsync(want: number): Promise<number> {
    for (;;) {
      this.#live();
      const h = this.#h;
      const free = this.#free(want);
      if (free >= want) return free;
      this.#checkPeer(CONSUMER, Atomics.load(h, CONSUMER_STATE), true);
      const seq = Atomics.load(h, SPACE_SEQ);
      Atomics.store(h, PRODUCER_WAITING, 1);
      if (this.#free(want) >= want) {
        Atomics.store(h, PRODUCER_WAITING, 0);
        continue;
      }
      const timedOut = await snative.srWaitAsync(this.#buffer, SPACE_SEQ, seq, LIVENESS_MS);
      this.#live(); // closed in this thread meanwhile
      Atomics.store(h, PRODUCER_WAITING, 0);
      if (timedOut) this.#askPeer(CONSUMER, true);
    }
  }

  /**
   * {@link write} without blocking the thread: resolves once all of `data`
   * is in the ring (the bytes are taken at the call). Sleeps on a thread of
   * its own, never on libuv's pool; usable from the main thread.
   *
   * @example
   * ```ts
   * await ring.writeAsync(message);
   * ```
   */
  async writeAsync(data: Uint8Array | string): Promise<number> {
    const d = toWriteData(data);
    // A copy: the caller may change or detach its buffer while we wait.
    const bytes = typeof d === 'string' ? encoder.encode(d) : new Uint8Array(d);
    this.#claim(PRODUCER);
    const n = bytes.length;
    this.#checkPeer(CONSUMER, Atomics.load(this.#h, CONSUMER_STATE), true);
    let off = 0;
    while (off < n) {
      const free = await this.#waitSpaceAsync(Math.min(n - off, this.#capacity));
      const k = Math.min(free, n - off);
      this.#data.set(bytes.subarray(off, off + k), this.#cursor & this.#mask);
      if (!this.#sound()) throw this.#lost();
      this.#publish(k);
      off += k;
    }
    return n;
  }

  /**
   * Writes as much of `data` as fits now, without sleeping; returns the
   * bytes written (0 when full).
   *
   * @example
   * ```ts
   * const n = ring.tryWrite(chunk);
   * ```
   */
  tryWrite(data: Uint8Array | string): number {
    const d = toWriteData(data);
    const bytes = typeof d === 'string' ? encoder.encode(d) : d;
    this.#claim(PRODUCER);
    this.#checkPeer(CONSUMER, Atomics.load(this.#h, CONSUMER_STATE), true);
    const free = this.#free(this.#capacity);
    const k = Math.min(free, byteLengthOf(bytes));
    if (k === 0) return 0;
    this.#data.set(bytes.subarray(0, k), this.#cursor & this.#mask);
    if (!this.#sound()) throw this.#lost();
    this.#publish(k);
    return k;
  }

  /**
   * Zero-copy write: one contiguous view of the free space, sleeping until
   * at least `min` bytes (1 by default, at most the capacity) are free.
   * Publish with {@link commit}.
   *
   * @example
   * ```ts
   * const free = ring.writeSlice(4096);
   * encodeMessageInto(free);
   * ring.commit(4096);
   * ```
   */
  writeSlice(min = 1): Uint8Array {
    // Fast path (same checks, fewer steps): a live producer, a whole-number
    // `min` within the capacity, the consumer neither closed nor dead, and
    // at least `min` bytes free now (the head is re-read: the view covers
    // all the free space).
    if (this.#role === PRODUCER && !this.#closed && isCount(min, this.#capacity)) {
      const state = Atomics.load(this.#h, CONSUMER_STATE);
      if (state !== CLOSED && state !== GONE) {
        this.#peer = Atomics.load(this.#h, HEAD) >>> 0;
        const free = this.#capacity - this.#span(this.#cursor, this.#peer);
        if (free !== 0 && free >= min && this.#end[0] === MAGIC && this.#status[0] === 0) {
          const at = this.#cursor & this.#mask;
          return this.#data.subarray(at, at + free);
        }
      }
    }
    return this.#writeSliceSlow(min);
  }

  #writeSliceSlow(min: number): Uint8Array {
    const want = toOffset(min, 'min');
    if (want > this.#capacity) throw outOfRange('min', `an integer >= 0 and <= ${this.#capacity}`, min);
    this.#claim(PRODUCER);
    this.#checkPeer(CONSUMER, Atomics.load(this.#h, CONSUMER_STATE), true);
    if (want > 0) this.#waitSpace(want);
    const free = this.#free(this.#capacity); // all the free space, not just the cached count
    if (!this.#sound()) throw this.#lost();
    if (free === 0) return EMPTY;
    const at = this.#cursor & this.#mask;
    return this.#data.subarray(at, at + free);
  }

  /**
   * Publishes the first `n` bytes of the last {@link writeSlice} (at most
   * the free space, else `ERR_OUT_OF_RANGE`).
   *
   * @example
   * ```ts
   * ring.commit(n);
   * ```
   */
  commit(n: number): void {
    // Fast path: a live producer publishing a whole number of bytes within
    // the free space known from the cached head.
    // The bytes were written into the view: published only if no page of it was lost.
    if (this.#role === PRODUCER && !this.#closed && isCount(n, this.#capacity - ((this.#cursor - this.#peer) >>> 0))) {
      if (this.#end[0] !== MAGIC || this.#status[0] !== 0) throw this.#lost();
      if (n > 0) this.#publish(n);
      return;
    }
    const count = toOffset(n, 'n');
    this.#claim(PRODUCER);
    const free = this.#free(count);
    if (count > free) throw outOfRange('n', `an integer >= 0 and <= ${free} (the free bytes)`, n);
    if (!this.#sound()) throw this.#lost();
    if (count > 0) this.#publish(count);
  }

  // ---- consumer ----------------------------------------------------------

  /**
   * Sleeps until at least `min` bytes (1 by default) can be read; returns
   * bytes known to be readable (at least `min`), or 0 at the end of the stream (the producer closed
   * and everything was read; fewer than `min` may remain then). Throws
   * `ERR_MMAP_PEER_GONE` if the producer died.
   *
   * @example
   * ```ts
   * while (ring.waitReadable() > 0) { ... }
   * ```
   */
  waitReadable(min = 1): number {
    const want = toOffset(min, 'min');
    if (want > this.#capacity) throw outOfRange('min', `an integer >= 0 and <= ${this.#capacity}`, min);
    this.#claim(CONSUMER);
    const h = this.#h;
    for (;;) {
      let avail = this.#avail(want);
      if (avail >= want && avail > 0) return this.#soundCount(avail);
      const state = Atomics.load(h, PRODUCER_STATE);
      if (state === CLOSED) {
        // The producer stored its last tail before it closed.
        return this.#soundCount(this.#avail(this.#capacity));
      }
      this.#checkPeer(PRODUCER, state, false);
      const seq = Atomics.load(h, DATA_SEQ);
      Atomics.store(h, CONSUMER_WAITING, 1);
      avail = this.#avail(want);
      if ((avail >= want && avail > 0) || Atomics.load(h, PRODUCER_STATE) !== state) {
        Atomics.store(h, CONSUMER_WAITING, 0);
        continue;
      }
      const timedOut = snative.srWait(this.#buffer, DATA_SEQ, seq, LIVENESS_MS);
      Atomics.store(h, CONSUMER_WAITING, 0);
      if (timedOut) this.#askPeer(PRODUCER, false);
    }
  }

  /**
   * {@link waitReadable} without blocking the thread: sleeps on a thread of
   * its own (never on libuv's pool); usable from the main thread.
   *
   * @example
   * ```ts
   * while ((await ring.waitReadableAsync()) > 0) { ... }
   * ```
   */
  async waitReadableAsync(min = 1): Promise<number> {
    const want = toOffset(min, 'min');
    if (want > this.#capacity) throw outOfRange('min', `an integer >= 0 and <= ${this.#capacity}`, min);
    this.#claim(CONSUMER);
    for (;;) {
      this.#live();
      const h = this.#h;
      let avail = this.#avail(want);
      if (avail >= want && avail > 0) return this.#soundCount(avail);
      const state = Atomics.load(h, PRODUCER_STATE);
      if (state === CLOSED) return this.#soundCount(this.#avail(this.#capacity));
      this.#checkPeer(PRODUCER, state, false);
      const seq = Atomics.load(h, DATA_SEQ);
      Atomics.store(h, CONSUMER_WAITING, 1);
      avail = this.#avail(want);
      if ((avail >= want && avail > 0) || Atomics.load(h, PRODUCER_STATE) !== state) {
        Atomics.store(h, CONSUMER_WAITING, 0);
        continue;
      }
      const timedOut = await snative.srWaitAsync(this.#buffer, DATA_SEQ, seq, LIVENESS_MS);
      this.#live(); // closed in this thread meanwhile
      Atomics.store(h, CONSUMER_WAITING, 0);
      if (timedOut) this.#askPeer(PRODUCER, false);
    }
  }

  /**
   * {@link read} without blocking the thread. `target` is written when the
   * bytes are there; if it was detached or shrunk meanwhile, nothing is
   * read (`ERR_MMAP_BUFFER_DETACHED`) and the bytes stay in the ring.
   *
   * @example
   * ```ts
   * const n = await ring.readAsync(buf); // 0 at the end of the stream
   * ```
   */
  async readAsync(target: Uint8Array): Promise<number> {
    const into = toWriteData(target);
    if (typeof into === 'string') throw argTypeError('target', 'an instance of Buffer, TypedArray or DataView', target);
    const room = byteLengthOf(into);
    this.#claim(CONSUMER);
    if (room === 0) return 0;
    const avail = await this.waitReadableAsync(1);
    if (avail === 0) return 0;
    if (byteLengthOf(into) < room) {
      throw misuse('ERR_MMAP_BUFFER_DETACHED', 'the target was detached or shrunk while the read waited; nothing was read');
    }
    const n = Math.min(avail, room);
    const at = this.#cursor & this.#mask;
    into.set(this.#data.subarray(at, at + n));
    if (!this.#sound()) throw this.#lost();
    this.#release(n);
    return n;
  }

  /** Releases `n` read bytes and wakes a sleeping producer. */
  #release(n: number): void {
    this.#cursor = (this.#cursor + n) >>> 0;
    Atomics.store(this.#h, HEAD, this.#cursor | 0);
    // As in #publish: one wake per sleep (the waker clears the flag).
    if (Atomics.load(this.#h, PRODUCER_WAITING) !== 0 && Atomics.exchange(this.#h, PRODUCER_WAITING, 0) !== 0) {
      Atomics.add(this.#h, SPACE_SEQ, 1);
      snative.srWake(this.#buffer, SPACE_SEQ);
    }
  }

  /**
   * Reads up to `target.byteLength` bytes, sleeping until at least one is
   * there; returns the count, 0 at the end of the stream.
   *
   * @example
   * ```ts
   * for (let n; (n = ring.read(buf)) > 0; ) handle(buf.subarray(0, n));
   * ```
   */
  read(target: Uint8Array): number {
    // Fast path, the same checks as below in fewer steps: this object is a
    // live consumer, `target` is a genuine non-empty Uint8Array (a subclass
    // included: written through the intrinsic set, no user code runs), and
    // bytes are readable (the cached tail is re-read, and checked, only
    // when it shows none). One copy, no native call unless the producer sleeps.
    if (this.#role === CONSUMER && !this.#closed && typedArrayTag(target) === 'Uint8Array') {
      const room = byteLengthOf(target);
      let avail = (this.#peer - this.#cursor) >>> 0;
      if (avail === 0) {
        this.#peer = Atomics.load(this.#h, TAIL) >>> 0;
        avail = this.#span(this.#peer, this.#cursor);
      }
      // avail <= capacity: a cached tail is trusted only within the ring
      // (one read at claim time is not yet checked).
      if (room !== 0 && avail !== 0 && avail <= this.#capacity) {
        const n = Math.min(avail, room);
        const at = this.#cursor & this.#mask;
        Reflect.apply(typedSet, target, [this.#data.subarray(at, at + n)]);
        // After the copy, before releasing: zeros from a lost page are never data.
        if (this.#end[0] !== MAGIC || this.#status[0] !== 0) throw this.#lost();
        this.#release(n);
        return n;
      }
    }
    return this.#readSlow(target);
  }

  #readSlow(target: Uint8Array): number {
    const into = toWriteData(target);
    if (typeof into === 'string') throw argTypeError('target', 'an instance of Buffer, TypedArray or DataView', target);
    const room = byteLengthOf(into);
    this.#claim(CONSUMER);
    if (room === 0) return 0;
    const avail = this.waitReadable(1);
    if (avail === 0) return 0;
    const n = Math.min(avail, room);
    const at = this.#cursor & this.#mask;
    into.set(this.#data.subarray(at, at + n));
    if (!this.#sound()) throw this.#lost();
    this.#release(n);
    return n;
  }

  /**
   * Reads what is there now into `target`, without sleeping; returns the
   * count (0 when empty; see {@link ended}).
   *
   * @example
   * ```ts
   * const n = ring.tryRead(buf);
   * ```
   */
  tryRead(target: Uint8Array): number {
    const into = toWriteData(target);
    if (typeof into === 'string') throw argTypeError('target', 'an instance of Buffer, TypedArray or DataView', target);
    this.#claim(CONSUMER);
    const avail = this.#avail(byteLengthOf(into));
    const n = Math.min(avail, byteLengthOf(into));
    if (n === 0) {
      this.#checkPeer(PRODUCER, Atomics.load(this.#h, PRODUCER_STATE), false);
      return 0;
    }
    const at = this.#cursor & this.#mask;
    into.set(this.#data.subarray(at, at + n));
    if (!this.#sound()) throw this.#lost();
    this.#release(n);
    return n;
  }

  /** True when the producer closed the ring and every byte was read. */
  get ended(): boolean {
    if (this.#closed) return true;
    const state = Atomics.load(this.#h, PRODUCER_STATE);
    if (!this.#sound()) throw this.#lost();
    return state === CLOSED && this.readLen === 0;
  }

  /**
   * Zero-copy read: sleeps until at least `min` bytes (1 by default) are
   * there, then returns one contiguous view of every readable byte (empty
   * at the end of the stream). Release with {@link consume}.
   *
   * @example
   * ```ts
   * const bytes = ring.readSlice(4096);
   * handle(bytes.subarray(0, 4096));
   * ring.consume(4096);
   * ```
   */
  readSlice(min = 1): Uint8Array {
    // Fast path: a live consumer, a whole-number `min` within the capacity,
    // and at least `min` (and at least 1) bytes readable now (the tail is
    // re-read, and checked: the view covers every readable byte).
    if (this.#role === CONSUMER && !this.#closed && isCount(min, this.#capacity)) {
      this.#peer = Atomics.load(this.#h, TAIL) >>> 0;
      const avail = this.#span(this.#peer, this.#cursor);
      if (avail !== 0 && avail >= min && this.#end[0] === MAGIC && this.#status[0] === 0) {
        const at = this.#cursor & this.#mask;
        return this.#data.subarray(at, at + avail);
      }
    }
    if (this.waitReadable(min) === 0) return EMPTY;
    const avail = this.#avail(this.#capacity); // every readable byte, not just the cached count
    if (!this.#sound()) throw this.#lost();
    const at = this.#cursor & this.#mask;
    return this.#data.subarray(at, at + avail);
  }

  /**
   * Releases the first `n` bytes of the last {@link readSlice} (at most the
   * readable bytes, else `ERR_OUT_OF_RANGE`).
   *
   * @example
   * ```ts
   * ring.consume(bytes.length);
   * ```
   */
  consume(n: number): void {
    // Fast path: a live consumer releasing a whole number of bytes within
    // those known readable from the cached tail.
    const cached = (this.#peer - this.#cursor) >>> 0; // trusted only within the ring (see read)
    // The view's bytes were read by the caller: a page lost meanwhile read as zeros, so this throws.
    if (this.#role === CONSUMER && !this.#closed && cached <= this.#capacity && isCount(n, cached)) {
      if (this.#end[0] !== MAGIC || this.#status[0] !== 0) throw this.#lost();
      if (n > 0) this.#release(n);
      return;
    }
    const count = toOffset(n, 'n');
    this.#claim(CONSUMER);
    const avail = this.#avail(count);
    if (count > avail) throw outOfRange('n', `an integer >= 0 and <= ${avail} (the readable bytes)`, n);
    if (!this.#sound()) throw this.#lost();
    if (count > 0) this.#release(count);
  }

  /**
   * Leaves the ring in this thread: a producer's close is the end of the
   * stream for the consumer; a consumer's close makes the producer's
   * writes fail. Views from `readSlice`/`writeSlice` become zero-length.
   * The memory goes when every thread (and process) has closed it.
   *
   * @example
   * ```ts
   * ring.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const buffer = this.#buffer;
    this.#data = EMPTY;
    this.#h = new Int32Array(0);
    this.#status = new Int32Array(1);
    snative.srClose(buffer); // detaches the status buffer too
  }

  /** `using ring = ...` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }
}
