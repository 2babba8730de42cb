/**
 * SharedRing's byte-stream calls: `write`/`read` copy in and out,
 * `writeSlice`/`commit` and `readSlice`/`consume` copy nothing, with
 * non-blocking (`try*`) and async forms. A ring carries bytes or messages
 * (shared-ring.ts), fixed by its first call; the protocol under both is in
 * shared-ring-core.ts.
 *
 * The plain calls block the calling thread while they wait (like
 * `Atomics.wait`): for workers and processes that can afford to block.
 * `readAsync`, `writeAsync` and `waitReadableAsync` wait on a thread of
 * their own instead, so a main thread's event loop keeps running, and take
 * `{ signal }`. No wait ever sits on libuv's thread pool.
 */
import { type AbortOptions, signalOf, throwIfAborted } from '../core/abort.js';
import { byteLengthOf, toOffset } from '../core/arguments.js';
import { argTypeError, misuse, outOfRange, typedArrayTag } from '../errors.js';
import { toWriteData } from './ring.js';
import { SharedRingCore } from './shared-ring-core.js';
import {
  BYTES,
  CLOSED,
  CONSUMER,
  CONSUMER_STATE,
  EMPTY,
  encoder,
  GONE,
  HEAD,
  isCount,
  MAGIC,
  PRODUCER,
  PRODUCER_STATE,
  TAIL,
  typedSet,
} from './shared-ring-format.js';

/** The byte-stream calls of {@link SharedRing}; not constructed directly. */
export abstract class SharedRingStream extends SharedRingCore {
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
    if (this.side === PRODUCER && this.framing === BYTES && !this.shut && typedArrayTag(data) === 'Uint8Array') {
      const n = byteLengthOf(data);
      const state = Atomics.load(this.h, CONSUMER_STATE);
      if (n !== 0 && state !== CLOSED && state !== GONE && n <= this.cap - ((this.cursor - this.peer) >>> 0)) {
        this.data.set(data as Uint8Array, this.cursor & this.mask);
        // After the copy, before publishing: a page lost to truncation took
        // the bytes (see the file comment).
        if (this.end[0] !== MAGIC || this.status[0] !== 0) throw this.lost();
        this.publish(n);
        return n;
      }
      // Full for now: wait for room for all of it here, as the slow path
      // would, without its argument conversion (no object per call). A
      // view that tracks a growable SharedArrayBuffer may have grown
      // (another thread) while this one slept: then the slow path, which
      // copies a fixed-length prefix.
      if (n !== 0 && state !== CLOSED && state !== GONE && n <= this.cap) {
        this.waitSpace(n);
        if (byteLengthOf(data) !== n) return this.#writeSlow(data);
        this.data.set(data as Uint8Array, this.cursor & this.mask);
        if (this.end[0] !== MAGIC || this.status[0] !== 0) throw this.lost();
        this.publish(n);
        return n;
      }
    }
    return this.#writeSlow(data);
  }

  #writeSlow(data: Uint8Array | string): number {
    const d = toWriteData(data);
    const bytes = typeof d === 'string' ? encoder.encode(d) : d;
    this.claim(PRODUCER, BYTES);
    const n = byteLengthOf(bytes);
    this.checkPeer(CONSUMER, Atomics.load(this.h, CONSUMER_STATE), true);
    let off = 0;
    while (off < n) {
      // Waits for room for the whole rest (up to the capacity): one copy and
      // one wake-up per write, not a trickle of partial ones.
      const free = this.waitSpace(Math.min(n - off, this.cap));
      const k = Math.min(free, n - off);
      this.data.set(off === 0 && k === n ? bytes : bytes.subarray(off, off + k), this.cursor & this.mask);
      if (!this.sound()) throw this.lost();
      this.publish(k);
      off += k;
    }
    return n;
  }

  /**
   * {@link write} without blocking the thread: resolves once all of `data`
   * is in the ring (the bytes are taken at the call). Sleeps on a thread of
   * its own, never on libuv's pool; usable from the main thread.
   * Aborting `options.signal` while it waits rejects with an `AbortError`:
   * the bytes already copied stay in the ring (all of `data` when it fit at
   * once; for data larger than the free space, a first part may have gone
   * in), and the ring stays usable. Use {@link writeMessageAsync} for
   * all-or-nothing.
   *
   * @example
   * ```ts
   * await ring.writeAsync(message);
   * await ring.writeAsync(message, { signal: AbortSignal.timeout(1000) });
   * ```
   */
  async writeAsync(data: Uint8Array | string, options?: AbortOptions): Promise<number> {
    const d = toWriteData(data);
    // A copy: the caller may change or detach its buffer while we wait.
    const bytes = typeof d === 'string' ? encoder.encode(d) : new Uint8Array(d);
    const signal = signalOf(options);
    this.claim(PRODUCER, BYTES);
    throwIfAborted(signal);
    const n = bytes.length;
    this.checkPeer(CONSUMER, Atomics.load(this.h, CONSUMER_STATE), true);
    let off = 0;
    while (off < n) {
      const free = await this.waitSpaceAsync(Math.min(n - off, this.cap), signal);
      this.live(); // closed in this thread after the wait returned (a turn later)
      const k = Math.min(free, n - off);
      this.data.set(bytes.subarray(off, off + k), this.cursor & this.mask);
      if (!this.sound()) throw this.lost();
      this.publish(k);
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
    this.claim(PRODUCER, BYTES);
    this.checkPeer(CONSUMER, Atomics.load(this.h, CONSUMER_STATE), true);
    const free = this.free(this.cap);
    const k = Math.min(free, byteLengthOf(bytes));
    if (k === 0) return 0;
    this.data.set(bytes.subarray(0, k), this.cursor & this.mask);
    if (!this.sound()) throw this.lost();
    this.publish(k);
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
    if (this.side === PRODUCER && this.framing === BYTES && !this.shut && isCount(min, this.cap)) {
      const state = Atomics.load(this.h, CONSUMER_STATE);
      if (state !== CLOSED && state !== GONE) {
        this.peer = Atomics.load(this.h, HEAD) >>> 0;
        const free = this.cap - this.span(this.cursor, this.peer);
        if (free !== 0 && free >= min && this.end[0] === MAGIC && this.status[0] === 0) {
          const at = this.cursor & this.mask;
          return this.data.subarray(at, at + free);
        }
      }
    }
    return this.#writeSliceSlow(min);
  }

  #writeSliceSlow(min: number): Uint8Array {
    const want = toOffset(min, 'min');
    if (want > this.cap) throw outOfRange('min', `an integer >= 0 and <= ${this.cap}`, min);
    this.claim(PRODUCER, BYTES);
    this.checkPeer(CONSUMER, Atomics.load(this.h, CONSUMER_STATE), true);
    if (want > 0) this.waitSpace(want);
    const free = this.free(this.cap); // all the free space, not just the cached count
    if (!this.sound()) throw this.lost();
    if (free === 0) return EMPTY;
    const at = this.cursor & this.mask;
    return this.data.subarray(at, at + free);
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
    if (this.side === PRODUCER && this.framing === BYTES && !this.shut && isCount(n, this.cap - ((this.cursor - this.peer) >>> 0))) {
      if (this.end[0] !== MAGIC || this.status[0] !== 0) throw this.lost();
      if (n > 0) this.publish(n);
      return;
    }
    const count = toOffset(n, 'n');
    this.claim(PRODUCER, BYTES);
    const free = this.free(count);
    if (count > free) throw outOfRange('n', `an integer >= 0 and <= ${free} (the free bytes)`, n);
    if (!this.sound()) throw this.lost();
    if (count > 0) this.publish(count);
  }

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
    if (want > this.cap) throw outOfRange('min', `an integer >= 0 and <= ${this.cap}`, min);
    this.claim(CONSUMER, 0);
    return this.waitData(want);
  }

  /**
   * {@link waitReadable} without blocking the thread: sleeps on a thread of
   * its own (never on libuv's pool); usable from the main thread. Works on
   * a ring of messages too (any readable byte there is a whole message).
   * Aborting `options.signal` rejects with an `AbortError` and changes
   * nothing.
   *
   * @example
   * ```ts
   * while ((await ring.waitReadableAsync()) > 0) { ... }
   * await ring.waitReadableAsync(1, { signal: AbortSignal.timeout(1000) });
   * ```
   */
  async waitReadableAsync(min = 1, options?: AbortOptions): Promise<number> {
    const want = toOffset(min, 'min');
    if (want > this.cap) throw outOfRange('min', `an integer >= 0 and <= ${this.cap}`, min);
    const signal = signalOf(options);
    this.claim(CONSUMER, 0);
    throwIfAborted(signal);
    return this.waitDataAsync(want, signal);
  }

  /**
   * {@link read} without blocking the thread. `target` is written when the
   * bytes are there; if it was detached or shrunk meanwhile, nothing is
   * read (`ERR_MMAP_BUFFER_DETACHED`) and the bytes stay in the ring.
   * Aborting `options.signal` while it waits rejects with an `AbortError`;
   * nothing is read, and the ring stays usable.
   *
   * @example
   * ```ts
   * const n = await ring.readAsync(buf); // 0 at the end of the stream
   * ```
   */
  async readAsync(target: Uint8Array, options?: AbortOptions): Promise<number> {
    const into = toWriteData(target);
    if (typeof into === 'string') throw argTypeError('target', 'an instance of Buffer, TypedArray or DataView', target);
    const room = byteLengthOf(into);
    const signal = signalOf(options);
    this.claim(CONSUMER, BYTES);
    throwIfAborted(signal);
    if (room === 0) return 0;
    const avail = await this.waitDataAsync(1, signal);
    this.live(); // closed in this thread after the wait returned (a turn later)
    if (avail === 0) return 0;
    if (byteLengthOf(into) < room) {
      throw misuse('ERR_MMAP_BUFFER_DETACHED', 'the target was detached or shrunk while the read waited; nothing was read');
    }
    const n = Math.min(avail, room);
    const at = this.cursor & this.mask;
    into.set(this.data.subarray(at, at + n));
    if (!this.sound()) throw this.lost();
    this.release(n);
    return n;
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
    if (this.side === CONSUMER && this.framing === BYTES && !this.shut && typedArrayTag(target) === 'Uint8Array') {
      const room = byteLengthOf(target);
      let avail = (this.peer - this.cursor) >>> 0;
      if (avail === 0) {
        this.peer = Atomics.load(this.h, TAIL) >>> 0;
        avail = this.span(this.peer, this.cursor);
        // Nothing there yet: sleep here, as the slow path would (its
        // checks are the ones above), so that a reader that waits for
        // every message (ping-pong) runs no argument conversion and makes
        // no object per call. 0 is the end of the stream.
        if (avail === 0 && room !== 0) {
          avail = this.waitData(1);
          if (avail === 0) return 0;
        }
      }
      // avail <= capacity: a cached tail is trusted only within the ring
      // (one read at claim time is not yet checked).
      if (room !== 0 && avail !== 0 && avail <= this.cap) {
        const n = Math.min(avail, room);
        const at = this.cursor & this.mask;
        Reflect.apply(typedSet, target, [this.data.subarray(at, at + n)]);
        // After the copy, before releasing: zeros from a lost page are never data.
        if (this.end[0] !== MAGIC || this.status[0] !== 0) throw this.lost();
        this.release(n);
        return n;
      }
    }
    return this.#readSlow(target);
  }

  #readSlow(target: Uint8Array): number {
    const into = toWriteData(target);
    if (typeof into === 'string') throw argTypeError('target', 'an instance of Buffer, TypedArray or DataView', target);
    const room = byteLengthOf(into);
    this.claim(CONSUMER, BYTES);
    if (room === 0) return 0;
    const avail = this.waitData(1);
    if (avail === 0) return 0;
    const n = Math.min(avail, room);
    const at = this.cursor & this.mask;
    into.set(this.data.subarray(at, at + n));
    if (!this.sound()) throw this.lost();
    this.release(n);
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
    this.claim(CONSUMER, BYTES);
    const avail = this.avail(byteLengthOf(into));
    const n = Math.min(avail, byteLengthOf(into));
    if (n === 0) {
      this.checkPeer(PRODUCER, Atomics.load(this.h, PRODUCER_STATE), false);
      return 0;
    }
    const at = this.cursor & this.mask;
    into.set(this.data.subarray(at, at + n));
    if (!this.sound()) throw this.lost();
    this.release(n);
    return n;
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
    if (this.side === CONSUMER && this.framing === BYTES && !this.shut && isCount(min, this.cap)) {
      this.peer = Atomics.load(this.h, TAIL) >>> 0;
      const avail = this.span(this.peer, this.cursor);
      if (avail !== 0 && avail >= min && this.end[0] === MAGIC && this.status[0] === 0) {
        const at = this.cursor & this.mask;
        return this.data.subarray(at, at + avail);
      }
    }
    const want = toOffset(min, 'min');
    if (want > this.cap) throw outOfRange('min', `an integer >= 0 and <= ${this.cap}`, min);
    this.claim(CONSUMER, BYTES);
    if (this.waitData(want) === 0) return EMPTY;
    const avail = this.avail(this.cap); // every readable byte, not just the cached count
    if (!this.sound()) throw this.lost();
    const at = this.cursor & this.mask;
    return this.data.subarray(at, at + avail);
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
    const cached = (this.peer - this.cursor) >>> 0; // trusted only within the ring (see read)
    // The view's bytes were read by the caller: a page lost meanwhile read as zeros, so this throws.
    if (this.side === CONSUMER && this.framing === BYTES && !this.shut && cached <= this.cap && isCount(n, cached)) {
      if (this.end[0] !== MAGIC || this.status[0] !== 0) throw this.lost();
      if (n > 0) this.release(n);
      return;
    }
    const count = toOffset(n, 'n');
    this.claim(CONSUMER, BYTES);
    const avail = this.avail(count);
    if (count > avail) throw outOfRange('n', `an integer >= 0 and <= ${avail} (the readable bytes)`, n);
    if (!this.sound()) throw this.lost();
    if (count > 0) this.release(count);
  }
}
