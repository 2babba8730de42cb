/**
 * The read/write/flush/atomic API over a window of a mapped file: the whole
 * file (MemoryMappedFile forwards to one) or a segment of it. Offsets are
 * relative to the window; every call checks them against the window.
 */
import { byteLengthOf, prefixOf, toBytes, toOffset } from '../core/arguments.js';
import { VIEW_BYTES, type ThreadMapping } from '../core/thread-mapping.js';
import { argTypeError, argValueError, fromNative, misuse, outOfRange, type MmapError } from '../errors.js';
import { native } from '../native/binding.js';
import { STATUS_FAULTS_I32 } from '../native/status-page.js';
import { toAdvice, type Advice } from './advice.js';
import { AtomicU32, AtomicU64 } from './atomic-view.js';
import type { WindowCore } from './window-core.js';
import type { MappingMode } from './mapping-mode.js';

/** What `wait` and `waitAsync` report, as `Atomics.wait` does. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';
const WAIT_RESULTS: readonly WaitResult[] = ['ok', 'not-equal', 'timed-out'];

function toTimeout(value: unknown): number {
  if (value === undefined) return Infinity;
  if (typeof value !== 'number') throw argTypeError('timeoutMs', 'of type number', value);
  if (Number.isNaN(value) || value < 0) throw outOfRange('timeoutMs', 'a number >= 0 (Infinity: no timeout)', value);
  return value;
}

function toU32(value: unknown, name: string): number {
  if (typeof value !== 'number') throw argTypeError(name, 'of type number', value);
  if (value >>> 0 !== value) throw outOfRange(name, 'an integer >= 0 and <= 4294967295', value);
  return value;
}

/** Page size used by `pages()` and page pre-touching. */
export const PAGE_BYTES = 4096;
const MADV_POPULATE_READ = 22;
const EINVAL_CODE = 'EINVAL';

/**
 * @internal One contiguous piece of this thread's view holding
 * [abs, abs + length): the view and the offset inside it, or null when the
 * span straddles two of the internal 1 GiB views.
 */
function viewPiece(core: WindowCore, abs: number, length: number): { view: Uint8Array; inner: number } | null {
  const index = Math.floor(abs / VIEW_BYTES);
  const inner = abs - index * VIEW_BYTES;
  if (length > 0 && inner + length > VIEW_BYTES) return null;
  return { view: core.views.expose(index), inner };
}

/** Module-internal access to a window's private state (set by MappedWindow's static block). */
let baseOf: (w: MappedWindow) => number;
let lengthOf: (w: MappedWindow) => number;
let pieceOf: (w: MappedWindow, abs: number, length: number, writable: boolean) => Uint8Array;

/**
 * Methods shared by {@link MemoryMappedFile} and {@link MappedSegment}; see
 * those for examples. Not constructed directly.
 */
export class MappedWindow {
  // Private fields and methods only (no TypeScript `private`, which is a
  // plain property at run time): user code cannot replace the core, move
  // the base or call a check-free helper on a segment it holds.
  readonly #core: WindowCore;
  /** Absolute offset of the window in the file. */
  readonly #base: number;
  readonly #length: number;
  /** The whole file: its length follows resizes. */
  readonly #whole: boolean;

  /** @internal */
  constructor(core: WindowCore, base: number, length: number, whole = false) {
    this.#core = core;
    this.#base = base;
    this.#length = length;
    this.#whole = whole;
    Object.freeze(this);
  }

  /** Length of the window in bytes (for the whole file: its current size). */
  get length(): number {
    return this.#len();
  }

  /** {@link length}, for the checks (an own `length` property cannot stand in for it). */
  #len(): number {
    return this.#whole ? this.#core.views.size : this.#length;
  }

  static {
    baseOf = (w) => w.#base;
    lengthOf = (w) => w.#len();
    pieceOf = (w, abs, length, writable) => w.#piece(abs, length, writable);
  }

  /** `'ro'`, `'rw'` or `'cow'`. */
  get mode(): MappingMode {
    return this.#core.mode;
  }

  /** The path of the file. */
  get path(): string {
    return this.#core.path;
  }

  /** True once the file was closed in this thread. */
  get isClosed(): boolean {
    return this.#core.views.closed;
  }

  /** Checks [offset, offset + length) lies in the window; returns the absolute offset. */
  #span(offset: number, length: number, what: string): number {
    const size = this.#len();
    const fileSize = this.#core.views.size;
    if (!this.#whole && this.#base + size > fileSize && offset <= size && length <= size - offset && this.#base + offset + length > fileSize) {
      throw misuse(
        'ERR_MMAP_OUT_OF_BOUNDS',
        `${what} of ${length} bytes at offset ${offset} of the segment at ${this.#base} passes the end of '${this.path}', which was resized to ${fileSize} bytes`,
        this.path,
      );
    }
    if (offset > size || length > size - offset) {
      throw misuse(
        'ERR_MMAP_OUT_OF_BOUNDS',
        `${what} of ${length} bytes at offset ${offset} would pass the end of ${this.#whole ? `'${this.path}'` : `the segment of '${this.path}'`} (${size} bytes); ` +
          (length > size ? `at most ${size} bytes fit` : `the offset must be at most ${size - length}`),
        this.path,
      );
    }
    return this.#base + offset;
  }

  /** Throws ERR_MMAP_CLOSED / ERR_MMAP_FAULT when the file cannot be used. */
  #live(): void {
    this.#core.live();
  }

  /**
   * After a copy through this thread's mapping: throws ERR_MMAP_FAULT if a
   * page of it was lost meanwhile. A shrink made by another thread during
   * the copy marks the old mapping so (its pages past the new end are cut
   * off); then the copy counts if [abs, abs + length) is still inside the
   * file (those pages were never cut, so the bytes reached the file or came
   * from it), else it is ERR_MMAP_OUT_OF_BOUNDS.
   */
  #faultCheck(abs: number, length: number): void {
    const v = this.#core.views;
    if (v.status[STATUS_FAULTS_I32] === 0) return;
    if (!this.#core.moved) throw v.faultError();
    this.#core.live();
    const size = this.#core.views.size;
    if (abs + length > size) {
      throw misuse(
        'ERR_MMAP_OUT_OF_BOUNDS',
        `bytes ${abs}..${abs + length} of '${this.path}' were cut off by a resize to ${size} bytes (in another thread) while they were copied`,
        this.path,
      );
    }
  }

  #straddleError(what: string, abs: number, length: number): MmapError {
    const boundary = (Math.floor(abs / VIEW_BYTES) + 1) * VIEW_BYTES;
    return misuse(
      'ERR_MMAP_INVALID_ARGUMENT',
      `${what}: bytes ${abs}..${abs + length} of '${this.path}' straddle the internal view boundary at ${boundary} (views are ${VIEW_BYTES} bytes); ` +
        'one view cannot cover them. Split the access at that offset, or use updateRegion/readInto, which copy across it.',
      this.path,
    );
  }

  /**
   * The `length` bytes at `offset` as a `Uint8Array` over the mapping itself
   * (no copy), in every mode. A span that straddles one of the internal
   * 1 GiB views (only in files over 1 GiB) is returned as a copy.
   * The view becomes zero-length when the file is closed in this thread.
   * On a read-only file a store through the view changes only this
   * process's private copy of the page, never the file.
   * @throws ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED, ERR_MMAP_FAULT
   */
  asSlice(offset: number | bigint, length: number | bigint): Uint8Array {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    this.#live();
    const abs = this.#span(off, n, 'asSlice');
    return this.#core.views.slice(abs, n);
  }

  /**
   * A writable `Uint8Array` over the `length` bytes at `offset` (no copy):
   * on `'rw'` stores reach the file, on `'cow'` they stay private to this
   * process. Not allowed on `'ro'` (`ERR_MMAP_INVALID_MODE`), nor across an
   * internal 1 GiB view boundary (`ERR_MMAP_INVALID_ARGUMENT`).
   * @throws ERR_MMAP_INVALID_MODE, ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED, ERR_MMAP_FAULT
   */
  asSliceMut(offset: number | bigint, length: number | bigint): Uint8Array {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    this.#live();
    this.#core.refuseWrite('asSliceMut');
    const abs = this.#span(off, n, 'asSliceMut');
    const piece = viewPiece(this.#core, abs, n);
    if (piece === null) throw this.#straddleError('asSliceMut', abs, n);
    return piece.view.subarray(piece.inner, piece.inner + n);
  }

  /**
   * Copies all of `data` to `offset` (mmap-io's `update_region`), through
   * the same copy routes as every file type, and applies the flush policy.
   * @throws ERR_MMAP_INVALID_MODE (on `'ro'`), ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED, ERR_MMAP_FAULT
   */
  updateRegion(offset: number | bigint, data: ArrayBufferView): void {
    const off = toOffset(offset, 'offset');
    // A fresh view over the same bytes, made from internal slots: the copy
    // routes below read `.byteLength`, which an own property could fake.
    const bytes = toBytes(data, 'data');
    const length = byteLengthOf(bytes);
    this.#live();
    this.#core.refuseWrite('updateRegion');
    const abs = this.#span(off, length, 'updateRegion');
    if (length !== 0) this.#core.views.write(abs, bytes, length);
    this.#faultCheck(abs, length);
    this.#core.noteWrite(abs, length);
  }

  /**
   * {@link updateRegion} with the copy on the libuv thread pool (for pages
   * that may have to come from disk first). The bytes of `data` are taken
   * before this returns; checks throw synchronously.
   */
  async updateRegionAsync(offset: number | bigint, data: ArrayBufferView): Promise<void> {
    const off = toOffset(offset, 'offset');
    const bytes = toBytes(data, 'data');
    const length = byteLengthOf(bytes);
    this.#live();
    this.#core.refuseWrite('updateRegionAsync');
    const abs = this.#span(off, length, 'updateRegionAsync');
    const v = this.#core.views;
    const done = native.copyAsync(v.key, abs, bytes, true);
    try {
      await done;
    } catch (error) {
      // A shrink in another thread while the copy ran: the bytes count if
      // they are still inside the file (their pages were never cut).
      if (!this.#cutByResize(error, v, abs, length)) throw fromNative(error, v.path);
    }
    if (!this.#core.views.closed) this.#core.noteWrite(abs, length);
  }

  /**
   * @internal True when `error` is the fault a shrink (made in another
   * thread while an async copy ran) recorded on the old mapping `v`, and
   * [abs, abs + length) is still inside the file; ERR_MMAP_OUT_OF_BOUNDS
   * when it is not. False for every other error.
   */
  #cutByResize(error: unknown, v: ThreadMapping, abs: number, length: number): boolean {
    if ((error as { code?: unknown })?.code !== 'ERR_MMAP_FAULT') return false;
    // Resized: this thread has moved on from v already, or is about to.
    const resized = v !== this.#core.views || (!v.closed && this.#core.moved);
    if (!resized) return false; // a real fault
    const now = this.#core.live(); // this thread moves to the newest mapping (if it has not yet)
    if (abs + length > now.size) {
      throw misuse(
        'ERR_MMAP_OUT_OF_BOUNDS',
        `bytes ${abs}..${abs + length} of '${this.path}' were cut off by a resize to ${now.size} bytes (in another thread) while they were copied`,
        this.path,
      );
    }
    return true;
  }

  /**
   * Fills all of `target` with the bytes at `offset`; returns the number of
   * bytes read (`target.byteLength`).
   * @throws ERR_MMAP_OUT_OF_BOUNDS when the window ends before `target` is full
   */
  readInto(offset: number | bigint, target: ArrayBufferView): number {
    const off = toOffset(offset, 'offset');
    const given = toBytes(target, 'target');
    const length = byteLengthOf(given);
    const bytes = prefixOf(given, length); // as in updateRegion
    this.#live();
    const abs = this.#span(off, length, 'readInto');
    if (length !== 0) this.#core.views.read(abs, length, bytes, 0);
    this.#faultCheck(abs, length);
    return length;
  }

  /**
   * {@link readInto} with the copy on the libuv thread pool. The bytes land
   * in `target` on this thread when the copy is done; a target detached or
   * shrunk meanwhile rejects with ERR_MMAP_BUFFER_DETACHED.
   */
  async readIntoAsync(offset: number | bigint, target: ArrayBufferView): Promise<number> {
    const off = toOffset(offset, 'offset');
    const bytes = toBytes(target, 'target');
    const length = byteLengthOf(bytes);
    this.#live();
    const abs = this.#span(off, length, 'readIntoAsync');
    const v = this.#core.views;
    try {
      await native.copyAsync(v.key, abs, bytes, false);
    } catch (error) {
      if (!this.#cutByResize(error, v, abs, length)) throw fromNative(error, v.path);
      // Nothing was copied into the target: read again, from the new mapping.
      return this.readIntoAsync(off, bytes);
    }
    return length;
  }

  /**
   * Starts write-back of the window's dirty pages and returns without
   * waiting (`syncAll()` on the file waits). On `'ro'` and `'cow'` there is
   * nothing to write back: the call only checks the file is usable.
   */
  flush(): void {
    this.#live();
    this.#core.flushSpan(this.#span(0, this.#len(), 'flush'), this.#len());
  }

  /** {@link flush} on the libuv thread pool. */
  async flushAsync(): Promise<void> {
    this.#live();
    return this.#core.flushSpanAsync(this.#span(0, this.#len(), 'flushAsync'), this.#len());
  }

  /** Starts write-back of `length` bytes at `offset` (see {@link flush}). */
  flushRange(offset: number | bigint, length: number | bigint): void {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    this.#live();
    this.#core.flushSpan(this.#span(off, n, 'flushRange'), n);
  }

  /** {@link flushRange} on the libuv thread pool. */
  async flushRangeAsync(offset: number | bigint, length: number | bigint): Promise<void> {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    this.#live();
    return this.#core.flushSpanAsync(this.#span(off, n, 'flushRangeAsync'), n);
  }

  #atomicSpan(offset: unknown, count: number, width: number, what: string): { abs: number; view: Uint8Array; inner: number; off: number } {
    const off = toOffset(offset, 'offset');
    this.#live();
    if (off % width !== 0 || this.#base % width !== 0) {
      throw misuse(
        'ERR_MMAP_MISALIGNED',
        `${what} needs an offset that is a multiple of ${width}; got ${off}${this.#base % width !== 0 ? ` in a segment starting at file offset ${this.#base}` : ''}. ` +
          `The nearest aligned offsets are ${off - (off % width)} and ${off - (off % width) + width}`,
        this.path,
      );
    }
    const abs = this.#span(off, count * width, what);
    const piece = viewPiece(this.#core, abs, count * width);
    if (piece === null) throw this.#straddleError(what, abs, count * width);
    return { abs, off, view: piece.view, inner: piece.inner };
  }

  /**
   * An atomic view of the unsigned 32-bit word at `offset` (a multiple of 4).
   * @example
   * ```ts
   * const c = file.atomicU32(0);
   * c.add(1);
   * ```
   * @throws ERR_MMAP_MISALIGNED, ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED
   */
  atomicU32(offset: number | bigint): AtomicU32 {
    const s = this.#atomicSpan(offset, 1, 4, 'atomicU32');
    return new AtomicU32(this.#core, new Uint32Array(s.view.buffer, s.inner, 1), s.off, s.abs);
  }

  /**
   * An atomic view of the unsigned 64-bit word at `offset` (a multiple of 8).
   * @example
   * ```ts
   * const c = file.atomicU64(8);
   * c.add(1n);
   * ```
   * @throws ERR_MMAP_MISALIGNED, ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED
   */
  atomicU64(offset: number | bigint): AtomicU64 {
    const s = this.#atomicSpan(offset, 1, 8, 'atomicU64');
    return new AtomicU64(this.#core, new BigUint64Array(s.view.buffer, s.inner, 1), s.off, s.abs);
  }

  /**
   * `count` unsigned 32-bit words at `offset` (a multiple of 4) as a
   * `Uint32Array` over the mapping, for `Atomics.*` (not `Atomics.wait`).
   * On `'ro'` stores through it stay in this process's private copy.
   * @example
   * ```ts
   * const words = file.atomicU32Slice(0, 16);
   * Atomics.add(words, 3, 1);
   * ```
   * @throws ERR_MMAP_MISALIGNED, ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED
   */
  atomicU32Slice(offset: number | bigint, count: number | bigint): Uint32Array {
    const n = toOffset(count, 'count');
    const s = this.#atomicSpan(offset, n, 4, 'atomicU32Slice');
    return new Uint32Array(s.view.buffer, s.inner, n);
  }

  /**
   * `count` unsigned 64-bit words at `offset` (a multiple of 8) as a
   * `BigUint64Array` over the mapping, for `Atomics.*`.
   * @example
   * ```ts
   * const words = file.atomicU64Slice(0, 4);
   * Atomics.add(words, 0, 1n);
   * ```
   * @throws ERR_MMAP_MISALIGNED, ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED
   */
  atomicU64Slice(offset: number | bigint, count: number | bigint): BigUint64Array {
    const n = toOffset(count, 'count');
    const s = this.#atomicSpan(offset, n, 8, 'atomicU64Slice');
    return new BigUint64Array(s.view.buffer, s.inner, n);
  }

  /**
   * Tells the kernel how `length` bytes at `offset` will be used
   * (`madvise`); see {@link Advice}.
   * @example
   * ```ts
   * file.advise(0, file.length, 'sequential');
   * ```
   * @throws ERR_INVALID_ARG_VALUE for an unknown advice, ERR_MMAP_OUT_OF_BOUNDS, or a system error with `syscall: 'madvise'`
   */
  advise(offset: number | bigint, length: number | bigint, advice: Advice): void {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    const value = toAdvice(advice);
    this.#live();
    const abs = this.#span(off, n, 'advise');
    const v = this.#core.views;
    try {
      native.advise(v.key, abs, n, value);
    } catch (error) {
      throw fromNative(error, v.path);
    }
    // A loss the native side found and recorded (the file was truncated).
    this.#faultCheck(abs, n);
  }

  /**
   * Faults in every page of the window now (read access, so nothing is
   * dirtied), so later accesses do not wait on page faults.
   * @example
   * ```ts
   * file.touchPages();
   * ```
   */
  touchPages(): void {
    this.#live();
    this.#touch(this.#span(0, this.#len(), 'touchPages'), this.#len());
  }

  /**
   * {@link touchPages} with the page faults taken on the libuv thread pool
   * (they may wait on the disk), so the event loop keeps running.
   * @example
   * ```ts
   * await file.touchPagesAsync();
   * ```
   */
  async touchPagesAsync(): Promise<void> {
    this.#live();
    return this.#touchAsync(this.#span(0, this.#len(), 'touchPagesAsync'), this.#len());
  }

  /** {@link touchPagesAsync} for `length` bytes at `offset`. */
  async touchPagesRangeAsync(offset: number | bigint, length: number | bigint): Promise<void> {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    this.#live();
    return this.#touchAsync(this.#span(off, n, 'touchPagesRangeAsync'), n);
  }

  async #touchAsync(abs: number, length: number): Promise<void> {
    const v = this.#core.views;
    if (length === 0) return;
    try {
      await native.touchAsync(v.key, abs, length);
    } catch (error) {
      if (!this.#cutByResize(error, v, abs, length)) throw fromNative(error, v.path);
      return;
    }
    // A fault recorded while the pages came in (the file was truncated by
    // another process) is reported as for a copy; once the file is closed
    // in this thread there is nobody left to report it to.
    if (!this.#core.views.closed) this.#faultCheck(abs, length);
  }

  /** {@link touchPages} for `length` bytes at `offset`. */
  touchPagesRange(offset: number | bigint, length: number | bigint): void {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    this.#live();
    this.#touch(this.#span(off, n, 'touchPagesRange'), n);
  }

  #touch(abs: number, length: number): void {
    const v = this.#core.views;
    if (length === 0) return;
    let populated = false;
    try {
      native.advise(v.key, abs, length, MADV_POPULATE_READ);
      populated = true;
    } catch (error) {
      const e = fromNative(error, v.path) as MmapError;
      if (e.code !== EINVAL_CODE) throw e;
    }
    if (populated) {
      // Pages another process truncated away are recorded, not thrown, by
      // the native side: report them here as for a copy.
      this.#faultCheck(abs, length);
      return;
    }
    // Kernel older than 5.14: read one byte of every page.
    let sum = 0;
    for (let at = abs - (abs % PAGE_BYTES); at < abs + length; at += PAGE_BYTES) {
      const index = Math.floor(at / VIEW_BYTES);
      sum += v.view(index)[at - index * VIEW_BYTES] ?? 0;
    }
    this.#faultCheck(abs, length);
    void sum;
  }

  /**
   * Locks the pages of `length` bytes at `offset` in memory (`mlock`).
   * A low `RLIMIT_MEMLOCK` is an `ENOMEM` (or `EPERM`) error with
   * `syscall: 'mlock'`. Locks are per process and end with the mapping.
   * @example
   * ```ts
   * file.lock(0, 4096);
   * file.unlock(0, 4096);
   * ```
   */
  lock(offset: number | bigint, length: number | bigint): void {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    this.#live();
    this.#memLock(this.#span(off, n, 'lock'), n, true);
  }

  /**
   * {@link lock} with the `mlock` (which faults every page in first, and
   * so can wait on the disk) on the libuv thread pool.
   * @example
   * ```ts
   * await file.lockAsync(0, 1 << 20);
   * ```
   */
  async lockAsync(offset: number | bigint, length: number | bigint): Promise<void> {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    this.#live();
    return this.#memLockAsync(this.#span(off, n, 'lockAsync'), n);
  }

  /** {@link lockAsync} over the whole window. */
  async lockAllAsync(): Promise<void> {
    this.#live();
    return this.#memLockAsync(this.#span(0, this.#len(), 'lockAllAsync'), this.#len());
  }

  async #memLockAsync(abs: number, length: number): Promise<void> {
    const v = this.#core.views;
    try {
      await native.memLockAsync(v.key, abs, length);
    } catch (error) {
      throw fromNative(error, v.path);
    }
    // Pages lost to a truncation are recorded by the native side (and left
    // unlocked), not thrown: report them as for a copy.
    if (!this.#core.views.closed) this.#faultCheck(abs, length);
  }

  /** Unlocks pages locked by {@link lock} (`munlock`). */
  unlock(offset: number | bigint, length: number | bigint): void {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    this.#live();
    this.#memLock(this.#span(off, n, 'unlock'), n, false);
  }

  /** {@link lock} over the whole window. */
  lockAll(): void {
    this.#live();
    this.#memLock(this.#span(0, this.#len(), 'lockAll'), this.#len(), true);
  }

  /** {@link unlock} over the whole window. */
  unlockAll(): void {
    this.#live();
    this.#memLock(this.#span(0, this.#len(), 'unlockAll'), this.#len(), false);
  }

  #memLock(abs: number, length: number, lock: boolean): void {
    const v = this.#core.views;
    try {
      native.memLock(v.key, abs, length, lock);
    } catch (error) {
      throw fromNative(error, v.path);
    }
    if (lock) this.#faultCheck(abs, length);
  }

  /**
   * The window in pieces of `size` bytes (the last one shorter), each a
   * zero-copy `Uint8Array` over the mapping; nothing else is allocated per
   * step. A piece that straddles an internal 1 GiB view (files over 1 GiB,
   * with a size that does not divide 1 GiB) is yielded as a copy.
   * @example
   * ```ts
   * let sum = 0;
   * for (const chunk of file.chunks(1 << 20)) sum += chunk[0];
   * ```
   */
  chunks(size: number | bigint): Iterable<Uint8Array> {
    const n = this.#chunkSize(size);
    this.#live();
    return new ChunkIterable(this, n, false);
  }

  /** {@link chunks} of one page (4096 bytes). */
  pages(): Iterable<Uint8Array> {
    this.#live();
    return new ChunkIterable(this, PAGE_BYTES, false);
  }

  /**
   * {@link chunks} as writable views (not on `'ro'`). The size must keep
   * every piece inside one internal 1 GiB view: any size up to 1 GiB that
   * divides it (a power of two does) always works.
   * @example
   * ```ts
   * for (const chunk of file.chunksMut(4096)) chunk.fill(7);
   * ```
   */
  chunksMut(size: number | bigint): Iterable<Uint8Array> {
    const n = this.#chunkSize(size);
    this.#live();
    this.#core.refuseWrite('chunksMut');
    // Every piece starts at base + k * n; it stays in one view for all k
    // when the window fits in one view, or when n divides the view size
    // and the window starts on a multiple of n within its view.
    const first = Math.floor(this.#base / VIEW_BYTES);
    const last = Math.floor((this.#base + Math.max(this.#len(), 1) - 1) / VIEW_BYTES);
    if (first !== last && (VIEW_BYTES % n !== 0 || (this.#base % VIEW_BYTES) % n !== 0)) {
      throw argValueError('size', `must divide ${VIEW_BYTES} (and the segment's offset within it) for a window that crosses an internal view boundary`, size);
    }
    return new ChunkIterable(this, n, true);
  }

  #chunkSize(size: unknown): number {
    const n = toOffset(size, 'size');
    if (n === 0) throw outOfRange('size', 'an integer >= 1', size);
    return n;
  }

  /**
   * Sleeps until another thread or process calls {@link notify} on the
   * 32-bit word at `offset` (a multiple of 4), as `Atomics.wait` does but on
   * the mapping (which `Atomics.wait` refuses): `'not-equal'` at once if the
   * word is not `expected`, `'timed-out'` after `timeoutMs` (default: no
   * timeout). On a `'rw'` file the waiters and notifiers can be in other
   * processes that map the same file; on `'ro'`/`'cow'` (private memory)
   * only this process's threads meet. Blocks the calling thread: use
   * {@link waitAsync} on a thread with an event loop to keep.
   * @example
   * ```ts
   * // worker: sleep until the word at 0 changes from 0
   * while (file.atomicU32(0).load() === 0) file.wait(0, 0);
   * // elsewhere: file.atomicU32(0).store(1); file.notify(0);
   * ```
   * @throws ERR_MMAP_MISALIGNED, ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED
   */
  wait(offset: number | bigint, expected: number, timeoutMs?: number): WaitResult {
    const value = toU32(expected, 'expected');
    const timeout = toTimeout(timeoutMs);
    const s = this.#atomicSpan(offset, 1, 4, 'wait');
    const v = this.#core.views;
    let r: number;
    try {
      r = native.futexWait(v.key, s.abs, value, timeout);
    } catch (error) {
      throw fromNative(error, v.path);
    }
    return WAIT_RESULTS[r]!;
  }

  /**
   * {@link wait} without blocking: the wait runs on a thread of its own
   * (never on the libuv pool, whose threads `fs` needs), and the promise
   * settles with the same results. Closing the file in this thread rejects
   * it with `ERR_MMAP_CLOSED`. A pending wait keeps the process alive, as
   * pending I/O does.
   * @example
   * ```ts
   * const r = await file.waitAsync(0, 0, 5000); // 'ok' | 'not-equal' | 'timed-out'
   * ```
   */
  async waitAsync(offset: number | bigint, expected: number, timeoutMs?: number): Promise<WaitResult> {
    const value = toU32(expected, 'expected');
    const timeout = toTimeout(timeoutMs);
    const s = this.#atomicSpan(offset, 1, 4, 'waitAsync');
    const v = this.#core.views;
    let id: number;
    let pending: Promise<number>;
    try {
      [id, pending] = native.futexWaitAsync(v.key, s.abs, value, timeout);
    } catch (error) {
      throw fromNative(error, v.path);
    }
    this.#core.waits.add(id);
    let r: number;
    try {
      r = await pending;
    } catch (error) {
      throw fromNative(error, v.path);
    } finally {
      this.#core.waits.delete(id);
    }
    if (r === 3) throw misuse('ERR_MMAP_CLOSED', `'${v.path}' was closed in this thread while waitAsync(${s.off}) was waiting`, v.path);
    return WAIT_RESULTS[r]!;
  }

  /**
   * Wakes up to `count` (default: all) waiters of {@link wait} /
   * {@link waitAsync} on the 32-bit word at `offset`, in every thread and,
   * on a `'rw'` file, every process; returns how many were woken.
   * @example
   * ```ts
   * file.atomicU32(0).store(1);
   * file.notify(0);
   * ```
   */
  notify(offset: number | bigint, count?: number): number {
    let n = Infinity;
    if (count !== undefined) {
      if (typeof count !== 'number') throw argTypeError('count', 'of type number', count);
      if (count !== Infinity && (!Number.isInteger(count) || count < 0)) throw outOfRange('count', 'an integer >= 0, or Infinity', count);
      n = count;
    }
    const s = this.#atomicSpan(offset, 1, 4, 'notify');
    const v = this.#core.views;
    try {
      return native.futexNotify(v.key, s.abs, n);
    } catch (error) {
      throw fromNative(error, v.path);
    }
  }

  /**
   * A window of `length` bytes at `offset` that behaves like the file:
   * the same read, write, flush, atomic, advice, locking and iteration
   * calls, at offsets relative to the segment, checked against its length.
   * It shares the file's mode, flush policy and life: closing the file
   * closes its segments.
   * @example
   * ```ts
   * const header = file.segment(0, 4096);
   * header.updateRegion(0, new Uint8Array([1, 2, 3]));
   * header.atomicU32(8).add(1);
   * ```
   * @throws ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED
   */
  segment(offset: number | bigint, length: number | bigint): MappedSegment {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    this.#live();
    return new MappedSegment(this.#core, this.#span(off, n, 'segment'), n);
  }

  /** The piece at [abs, abs + length): a view, or a copy when it straddles views. */
  #piece(abs: number, length: number, writable: boolean): Uint8Array {
    if (this.#core.moved) this.#core.live();
    const v = this.#core.views;
    if (v.closed) throw v.closedError();
    if (abs + length > v.size) {
      throw misuse(
        'ERR_MMAP_OUT_OF_BOUNDS',
        `the iteration reached bytes ${abs}..${abs + length} of '${this.path}', which was resized to ${v.size} bytes meanwhile`,
        this.path,
      );
    }
    // As viewPiece, without its result object: a step allocates only the view it yields.
    const index = Math.floor(abs / VIEW_BYTES);
    const inner = abs - index * VIEW_BYTES;
    if (length > 0 && inner + length > VIEW_BYTES) {
      if (writable) throw this.#straddleError('chunksMut', abs, length);
      return v.slice(abs, length);
    }
    return v.expose(index).subarray(inner, inner + length);
  }
}

/** The iterable `chunks()`, `pages()` and `chunksMut()` return; each iteration starts at the window's start. */
class ChunkIterable implements Iterable<Uint8Array> {
  readonly #w: MappedWindow;
  readonly #size: number;
  readonly #writable: boolean;
  constructor(w: MappedWindow, size: number, writable: boolean) {
    this.#w = w;
    this.#size = size;
    this.#writable = writable;
  }
  [Symbol.iterator](): Iterator<Uint8Array> {
    return new ChunkIterator(this.#w, this.#size, this.#writable);
  }
}

/**
 * Returns the same result object from every `next()` (only its fields
 * change), so a step allocates nothing but the view it yields.
 */
class ChunkIterator implements Iterator<Uint8Array> {
  readonly #w: MappedWindow;
  readonly #size: number;
  readonly #writable: boolean;
  readonly #end: number;
  #at: number;
  readonly #result: { done: boolean; value: Uint8Array } = { done: false, value: new Uint8Array(0) };

  constructor(w: MappedWindow, size: number, writable: boolean) {
    this.#w = w;
    this.#size = size;
    this.#writable = writable;
    this.#at = baseOf(w);
    this.#end = this.#at + lengthOf(w);
  }

  next(): IteratorResult<Uint8Array> {
    const r = this.#result;
    const at = this.#at;
    if (at >= this.#end) {
      r.done = true;
      r.value = undefined as unknown as Uint8Array;
      return r as IteratorResult<Uint8Array>;
    }
    const n = Math.min(this.#size, this.#end - at);
    r.value = pieceOf(this.#w, at, n, this.#writable);
    this.#at = at + n;
    return r as IteratorResult<Uint8Array>;
  }

  [Symbol.iterator](): Iterator<Uint8Array> {
    return this;
  }
}

/**
 * A window of a MemoryMappedFile (mmap-io's `MappedSlice` / segment), from
 * `file.segment(offset, length)`: every call of {@link MappedWindow} at
 * offsets relative to {@link start}.
 *
 * @example
 * ```ts
 * const body = file.segment(4096, 8192);
 * body.updateRegion(0, data);          // file offset 4096
 * for (const page of body.pages()) consume(page);
 * ```
 */
export class MappedSegment extends MappedWindow {
  /** Offset of the segment's first byte in the file. */
  get start(): number {
    return baseOf(this);
  }
}
