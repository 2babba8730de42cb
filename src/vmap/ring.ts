/**
 * Ring and InfiniteRing (vmap's `io::Ring` and `io::InfiniteRing`): a
 * circular byte buffer whose memory is mapped twice, back to back, so the
 * byte after the last one is the first one again. Every readable or
 * writable stretch is one contiguous Uint8Array, whatever the cursors'
 * positions: `readSlice()` and `writeSlice()` never split at the wrap.
 *
 * Cursors live in JavaScript (a ring belongs to one thread); the native side
 * only maps and unmaps (native/ring.c, native/bind_ring.c). The memory is
 * released by `close()` or, if the ring is dropped without it, when its
 * buffer is garbage-collected.
 */
import { Readable, Writable } from 'node:stream';
import { type AbortOptions, signalOf } from '../core/abort.js';
import { byteLengthOf, prefixOf, toBytes, toOffset } from '../core/arguments.js';
import { argTypeError, fromNative, misuse, outOfRange } from '../errors.js';
import { vnative } from './native.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const NEWLINE = 10;

/** Reads a ring's capacity hint: a whole number of bytes in [1, 1 GiB]. */
function toCapacityHint(value: unknown): number {
  const n = toOffset(value, 'capacity');
  if (n < 1 || n > vnative.ringMaxCapacity) throw outOfRange('capacity', `an integer >= 1 and <= ${vnative.ringMaxCapacity}`, value);
  return n;
}

/** @internal Reads what `write` accepts: a string, or a plain Uint8Array over the caller's bytes. */
export function toWriteData(data: unknown): Uint8Array | string {
  if (typeof data === 'string') return data;
  try {
    // A plain Uint8Array over the same memory, located through internal
    // slots: a subclass's own `length`, `subarray` or `set` never runs.
    const bytes = toBytes(data, 'data');
    return prefixOf(bytes, byteLengthOf(bytes));
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_INVALID_ARG_TYPE') {
      throw argTypeError('data', 'of type string or an instance of Buffer, TypedArray or DataView', data);
    }
    throw error;
  }
}

/**
 * What {@link Ring} and {@link InfiniteRing} share: the double mapping, the
 * cursors, reads, and zero-copy slices. Not constructed directly.
 */
export abstract class RingBase {
  /** Both halves of the double mapping: `2 * capacity` bytes. */
  #bytes: Uint8Array;
  readonly #buffer: ArrayBuffer;
  readonly #capacity: number;
  /** Offset of the first unread byte, in [0, capacity). */
  protected head = 0;
  /** Unread bytes, in [0, capacity]. */
  protected used = 0;
  #closed = false;

  protected constructor(capacity: unknown) {
    const hint = toCapacityHint(capacity);
    let buffer: ArrayBuffer;
    try {
      buffer = vnative.ringCreate(hint);
    } catch (error) {
      throw fromNative(error);
    }
    this.#buffer = buffer;
    this.#bytes = new Uint8Array(buffer);
    this.#capacity = buffer.byteLength / 2;
  }

  /** Bytes the ring holds when full: the hint rounded up to whole pages. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Bytes that can be read now. */
  get readLen(): number {
    return this.used;
  }

  /** Bytes that can be written now without failing (see {@link Ring.write}). */
  abstract get writeLen(): number;

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal The live memory, or ERR_MMAP_CLOSED. */
  protected memory(): Uint8Array {
    if (this.#closed) throw misuse('ERR_MMAP_CLOSED', 'the ring is closed; make a new one');
    return this.#bytes;
  }

  /** @internal Offset of the first free byte, in [0, capacity). */
  protected get tail(): number {
    const t = this.head + this.used;
    return t >= this.#capacity ? t - this.#capacity : t;
  }

  /**
   * Copies up to `target.byteLength` unread bytes into `target` and
   * releases them; returns how many were copied (0 when the ring is empty).
   *
   * @example
   * ```ts
   * const ring = new Ring(4096);
   * ring.write('hello');
   * const out = new Uint8Array(16);
   * ring.read(out); // 5
   * ```
   */
  read(target: Uint8Array): number {
    const given = toBytes(target, 'target');
    const room = byteLengthOf(given);
    const into = prefixOf(given, room);
    const mem = this.memory();
    const n = Math.min(room, this.used);
    if (n === 0) return 0;
    into.set(mem.subarray(this.head, this.head + n));
    this.release(n);
    return n;
  }

  /**
   * Reads one line: the unread bytes up to and including the first `\n`,
   * decoded as UTF-8, and releases them. Returns null, reading nothing,
   * when no complete line is in the ring.
   *
   * @example
   * ```ts
   * const ring = new Ring(4096);
   * ring.write('one\ntwo');
   * ring.readLine(); // 'one\n'
   * ring.readLine(); // null ('two' has no newline yet)
   * ```
   */
  readLine(): string | null {
    const mem = this.memory();
    if (this.used === 0) return null;
    const unread = mem.subarray(this.head, this.head + this.used);
    const at = unread.indexOf(NEWLINE);
    if (at < 0) return null;
    const line = decoder.decode(unread.subarray(0, at + 1));
    this.release(at + 1);
    return line;
  }

  /**
   * Zero-copy read: one contiguous view of every unread byte (it does not
   * split at the wrap). Nothing is released until {@link consume}. The view
   * becomes zero-length when the ring is closed.
   *
   * @example
   * ```ts
   * const ring = new Ring(4096);
   * ring.write('abc');
   * const bytes = ring.readSlice(); // 3 bytes: 'abc'
   * ring.consume(bytes.length);
   * ```
   */
  readSlice(): Uint8Array {
    const mem = this.memory();
    if (this.used === 0) return EMPTY;
    return mem.subarray(this.head, this.head + this.used);
  }

  /**
   * Releases the first `n` unread bytes (after {@link readSlice}).
   * `n` must be at most {@link readLen} (else ERR_OUT_OF_RANGE, and nothing
   * is released).
   *
   * @example
   * ```ts
   * ring.consume(ring.readSlice().length);
   * ```
   */
  consume(n: number): void {
    const count = toOffset(n, 'n');
    this.memory();
    if (count > this.used) throw outOfRange('n', `an integer >= 0 and <= ${this.used} (the unread bytes)`, n);
    this.release(count);
  }

  /**
   * Zero-copy write: one contiguous view of the space the next write goes
   * to (all free space for a {@link Ring}, the whole capacity for an
   * {@link InfiniteRing}). Nothing is published until {@link commit}.
   *
   * @example
   * ```ts
   * const ring = new Ring(4096);
   * const free = ring.writeSlice();
   * free[0] = 0x41;
   * ring.commit(1);
   * ```
   */
  writeSlice(): Uint8Array {
    const mem = this.memory();
    const n = this.writeLen;
    if (n === 0) return EMPTY;
    const t = this.tail;
    return mem.subarray(t, t + n);
  }

  /**
   * Publishes the first `n` bytes of the last {@link writeSlice}. `n` must
   * be at most {@link writeLen} (else ERR_OUT_OF_RANGE, and nothing is
   * published).
   *
   * @example
   * ```ts
   * const free = ring.writeSlice();
   * const n = source.readSync(free);
   * ring.commit(n);
   * ```
   */
  commit(n: number): void {
    const count = toOffset(n, 'n');
    this.memory();
    const limit = this.writeLen;
    if (count > limit) throw outOfRange('n', `an integer >= 0 and <= ${limit} (the writable bytes)`, n);
    this.publish(count);
    if (count > 0) this.published();
  }

  /**
   * Discards every unread byte.
   *
   * @example
   * ```ts
   * ring.clear(); // ring.readLen === 0
   * ```
   */
  clear(): void {
    this.memory();
    const n = this.used;
    this.head = 0;
    this.used = 0;
    if (n > 0 && this.#wakeWriter !== null) this.#wake('writer');
  }

  /**
   * Unmaps the ring. Every view it handed out (`readSlice`, `writeSlice`)
   * becomes zero-length first, so a kept view can never reach freed
   * memory. Closing twice is harmless.
   *
   * @example
   * ```ts
   * const ring = new Ring(4096);
   * ring.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#bytes = EMPTY;
    vnative.ringClose(this.#buffer);
    // Adapters waiting on the ring learn it is gone.
    if (this.#wakeReader !== null) this.#wake('reader');
    if (this.#wakeWriter !== null) this.#wake('writer');
  }

  /** `using ring = new Ring(n)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Releases `n` unread bytes. */
  protected release(n: number): void {
    this.used -= n;
    this.head = this.used === 0 ? 0 : (this.head + n) % this.#capacity;
    if (this.#wakeWriter !== null && n > 0) this.#wake('writer');
  }

  /** @internal Wakes a stream adapter waiting for data after bytes were published. */
  protected published(): void {
    if (this.#wakeReader !== null) this.#wake('reader');
  }

  /** The adapters' wake-ups (one reader and one writer at a time). */
  #wakeReader: (() => void) | null = null;
  #wakeWriter: (() => void) | null = null;
  /** Set when the writable() side ended: readable() ends once drained. */
  #ended = false;

  #wake(which: 'reader' | 'writer'): void {
    const fn = which === 'reader' ? this.#wakeReader : this.#wakeWriter;
    if (which === 'reader') this.#wakeReader = null;
    else this.#wakeWriter = null;
    // On a later tick: the wake-up may push into a stream, which must not
    // happen inside the caller's read or write.
    if (fn !== null) process.nextTick(fn);
  }

  /**
   * A Node `Readable` of the ring's bytes: it emits what is written into
   * the ring (by `write()`, {@link commit} or {@link writable}) and
   * ends once the {@link writable} side has ended and the ring is drained.
   * Chunks are copies, so the ring's memory is free again at once. One
   * reader at a time. Aborting `options.signal` destroys the stream with
   * an `AbortError` (Node's stream `signal` option); the ring stays usable.
   *
   * @example
   * ```ts
   * import { pipeline } from 'node:stream/promises';
   * const ring = new Ring(1 << 16);
   * await Promise.all([
   *   pipeline(fs.createReadStream('in'), ring.writable()),
   *   pipeline(ring.readable(), fs.createWriteStream('out')),
   * ]);
   * ```
   */
  readable(options?: AbortOptions): Readable {
    const signal = signalOf(options);
    const pump = (): void => {
      // Destroyed (aborted): the bytes stay in the ring for the next reader.
      if (stream.destroyed) return;
      if (this.#closed) {
        stream.destroy(misuse('ERR_MMAP_CLOSED', 'the ring was closed while its readable() was reading'));
        return;
      }
      for (;;) {
        if (this.used > 0) {
          const chunk = Buffer.from(this.readSlice()); // a copy
          this.release(chunk.length);
          if (!stream.push(chunk)) return; // Node calls read() again when it wants more
        } else if (this.#ended) {
          stream.push(null);
          return;
        } else {
          this.#wakeReader = pump;
          return;
        }
      }
    };
    const stream = new Readable({ read: pump, signal });
    return stream;
  }

  /**
   * A Node `Writable` into the ring. For a {@link Ring}, a chunk that does
   * not fit waits (backpressure) until a reader frees space; for an
   * {@link InfiniteRing}, writes never wait and overwrite the oldest bytes.
   * Ending it ends {@link readable} once the ring is drained. Aborting
   * `options.signal` destroys the stream with an `AbortError`, ending a
   * write waiting for room; the ring stays usable.
   *
   * @example
   * ```ts
   * const ring = new Ring(1 << 16);
   * const w = ring.writable();
   * w.write('line\n');
   * w.end();
   * ```
   */
  writable(options?: AbortOptions): Writable {
    const signal = signalOf(options);
    const stream: Writable = new Writable({
      signal,
      write: (chunk: Buffer, _encoding, callback) => {
        let done = 0;
        const step = (): void => {
          // Destroyed (aborted) while it waited for room: the rest of the chunk is not written.
          if (stream.destroyed) return;
          if (this.#closed) {
            callback(misuse('ERR_MMAP_CLOSED', 'the ring was closed while its writable() was writing'));
            return;
          }
          for (;;) {
            // An InfiniteRing always has room: it loops until the chunk is in.
            const n = Math.min(this.writeLen, chunk.length - done);
            if (n === 0) break;
            this.put(this.memory(), chunk.subarray(done, done + n), n);
            this.publish(n);
            this.published();
            done += n;
          }
          if (done === chunk.length) callback();
          else this.#wakeWriter = step;
        };
        step();
      },
      final: (callback) => {
        this.#ended = true;
        this.published();
        callback();
      },
    });
    return stream;
  }

  /** @internal Publishes `n` bytes written at the tail. */
  protected abstract publish(n: number): void;

  /** @internal Copies `data` (at most capacity bytes) to the tail; the caller checked the room. */
  protected put(mem: Uint8Array, data: Uint8Array | string, n: number): void {
    const t = this.tail;
    if (typeof data === 'string') encoder.encodeInto(data, mem.subarray(t, t + n));
    else mem.set(data, t); // the caller passes exactly n bytes
  }
}

/** Byte length of `data` as {@link RingBase.put} writes it. */
function lengthOf(data: Uint8Array | string): number {
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : byteLengthOf(data);
}

/**
 * A circular byte buffer (vmap's `io::Ring`). Its capacity is the hint
 * rounded up to whole pages; its memory is mapped twice, back to back, so
 * reads and writes never split at the wrap. A write that does not fit fails
 * whole with `ERR_MMAP_RING_FULL`.
 *
 * @example
 * ```ts
 * import { Ring } from 'ranged-mmap';
 * const ring = new Ring(4000); // capacity 4096
 * ring.write('this is test line 1\n');
 * ring.readLine(); // 'this is test line 1\n'
 * ring.close();
 * ```
 */
export class Ring extends RingBase {
  /**
   * Maps a ring of at least `capacity` bytes (an integer in [1, 1 GiB],
   * rounded up to whole pages).
   */
  constructor(capacity: number) {
    super(capacity);
  }

  /** Free bytes: `capacity - readLen`. */
  get writeLen(): number {
    return this.capacity - this.used;
  }

  /**
   * Appends all of `data` (bytes, or a string written as UTF-8), or throws
   * `ERR_MMAP_RING_FULL` having written nothing when it does not fit in
   * {@link writeLen}. Returns the number of bytes written.
   *
   * @example
   * ```ts
   * const ring = new Ring(4096);
   * ring.write(new Uint8Array([1, 2, 3])); // 3
   * ring.write('text'); // 4
   * ```
   */
  write(data: Uint8Array | string): number {
    const bytes = toWriteData(data);
    const n = lengthOf(bytes);
    const mem = this.memory();
    const free = this.capacity - this.used;
    if (n > free) {
      throw misuse('ERR_MMAP_RING_FULL', `the ring has ${free} free bytes and the write needs ${n}; read from it first (nothing was written)`);
    }
    if (n === 0) return 0;
    this.put(mem, bytes, n);
    this.used += n;
    this.published();
    return n;
  }

  protected publish(n: number): void {
    this.used += n;
  }
}

/**
 * A circular byte buffer whose writes always succeed (vmap's
 * `io::InfiniteRing`): a write overwrites the oldest unread bytes, so a
 * reader sees the most recent `capacity` bytes written.
 *
 * @example
 * ```ts
 * import { InfiniteRing } from 'ranged-mmap';
 * const log = new InfiniteRing(4096);
 * for (let i = 0; i < 1000; i++) log.write(`event ${i}\n`);
 * log.readLen; // 4096: the newest bytes
 * log.close();
 * ```
 */
export class InfiniteRing extends RingBase {
  /**
   * Maps a ring of at least `capacity` bytes (an integer in [1, 1 GiB],
   * rounded up to whole pages).
   */
  constructor(capacity: number) {
    super(capacity);
  }

  /** Always the capacity: a write may overwrite unread bytes. */
  get writeLen(): number {
    return this.capacity;
  }

  /**
   * Appends `data` (bytes, or a string written as UTF-8); never fails for
   * lack of room. Unread bytes beyond the newest `capacity` are dropped (of
   * a write longer than the capacity, only its last `capacity` bytes are
   * kept). Returns the number of bytes of `data`.
   *
   * @example
   * ```ts
   * const ring = new InfiniteRing(4096);
   * ring.write(new Uint8Array(10_000)); // 10000; ring.readLen === 4096
   * ```
   */
  write(data: Uint8Array | string): number {
    let bytes = toWriteData(data);
    let n = lengthOf(bytes);
    const mem = this.memory();
    const total = n;
    if (n === 0) return 0;
    const cap = this.capacity;
    if (n > cap) {
      // Only the newest `cap` bytes survive; a string is encoded first so
      // that its last `cap` bytes are exact.
      if (typeof bytes === 'string') bytes = encoder.encode(bytes);
      bytes = bytes.subarray(n - cap);
      n = cap;
      this.head = 0;
      this.used = 0;
    }
    this.put(mem, bytes, n);
    this.publish(n);
    this.published();
    return total;
  }

  protected publish(n: number): void {
    const cap = this.capacity;
    const over = this.used + n - cap;
    if (over > 0) {
      // The oldest `over` unread bytes were overwritten.
      this.head = (this.head + over) % cap;
      this.used = cap;
    } else {
      this.used += n;
    }
  }
}
