import { byteLengthOf, bytesOf, readOptions, toBytes, toOffset } from '../core/arguments.js';
import { type AbortOptions, openAbortable, signalOf, throwIfAborted, whenAborted } from '../core/abort.js';
import type { PathLike } from '../core/path-like.js';
import { fromNative, outOfRange } from '../errors.js';
import { type BatchOffsets, copyMany } from '../core/batch-copy.js';
import {
  CREATE_OPTION_KEYS,
  MappedFileBase,
  attachShared,
  openMapping,
  openMappingAsync,
  toCreateRequest,
  toOpenRequest,
  type CreateFileOptions,
  type SharedMappedFile,
} from '../core/mapped-file-base.js';
import { LARGE_WRITE_BYTES, type ThreadMapping } from '../core/thread-mapping.js';
import { native, SyncMode } from '../native/binding.js';
import { STATUS_FAULTS_I32 } from '../native/status-page.js';

/**
 * The unchecked layer (the seeds' `MmapFileInner`): write and read at any
 * offset, from any thread, with no range ownership. Disjointness is the
 * caller's job: two threads writing the same bytes at once get a mix.
 *
 * "Unchecked" is only about ownership. Every call is still bounds-checked,
 * a closed file is an error, and no call can crash the process.
 *
 * @example
 * ```ts
 * import { RawMmapFile } from 'ranged-mmap';
 * const file = RawMmapFile.create('raw.bin', 1024);
 * file.writeAt(0, new Uint8Array(512).fill(1));
 * file.writeAt(512, new Uint8Array(512).fill(2));
 * file.flush();
 * file.close();
 * ```
 */
export class RawMmapFile extends MappedFileBase {
  private constructor(views: ThreadMapping) {
    super(views);
  }

  /** Creates (or replaces) a file of exactly `size` bytes and maps it. */
  static create(path: PathLike, size: number | bigint, options?: CreateFileOptions): RawMmapFile {
    return new RawMmapFile(openMapping(toCreateRequest(path, size, readOptions(options, 'options', CREATE_OPTION_KEYS))));
  }

  /**
   * {@link create} on the libuv thread pool. It takes no AbortSignal: a
   * create the abort overtook would already have made (or replaced) the
   * file, which cannot be undone safely.
   */
  static async createAsync(path: PathLike, size: number | bigint, options?: CreateFileOptions): Promise<RawMmapFile> {
    return new RawMmapFile(await openMappingAsync(toCreateRequest(path, size, readOptions(options, 'options', CREATE_OPTION_KEYS))));
  }

  /** Maps an existing, non-empty file for reading and writing. */
  static open(path: PathLike): RawMmapFile {
    return new RawMmapFile(openMapping(toOpenRequest(path)));
  }

  /**
   * {@link open} on the libuv thread pool. Aborting `options.signal`
   * rejects at once with an `AbortError`; an open already on the pool is
   * not recalled, and the mapping it makes is closed when it arrives. An
   * already-aborted signal opens nothing.
   *
   * @example
   * ```ts
   * const file = await RawMmapFile.openAsync('data.bin', { signal: AbortSignal.timeout(5_000) });
   * ```
   */
  static async openAsync(path: PathLike, options?: AbortOptions): Promise<RawMmapFile> {
    const req = toOpenRequest(path);
    const signal = signalOf(options);
    throwIfAborted(signal);
    return openAbortable(
      openMappingAsync(req),
      signal,
      (views) => new RawMmapFile(views),
      (views) => views.close(),
    );
  }

  /** A file over the same memory from a `share()` handle posted by another thread. */
  static fromShared(handle: SharedMappedFile): RawMmapFile {
    return new RawMmapFile(attachShared(handle));
  }

  /**
   * Copies `data` to `offset`. The whole of `data` must fit in the file.
   * @throws ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED, ERR_MMAP_FAULT
   */
  writeAt(offset: number | bigint, data: ArrayBufferView): void {
    const bytes = bytesOf(data, 'data');
    const length = byteLengthOf(bytes);
    const v = this.views;
    // Fast path: a small write inside view 0 at a plain integer offset. The
    // `>>> 0` test accepts exactly the integers 0..2^32-1; view 0 is at most
    // 1 GiB, and zero-length once closed, so a closed file never gets here.
    if (
      typeof offset === 'number' &&
      offset >>> 0 === offset &&
      length < LARGE_WRITE_BYTES &&
      offset + length <= v.firstLength &&
      v.status[STATUS_FAULTS_I32] === 0
    ) {
      v.first.set(bytes, offset);
      if (v.status[STATUS_FAULTS_I32] !== 0) throw v.faultError();
      return;
    }
    const start = this.checkSpan(offset, length, 'writeAt');
    if (v.closed || v.status[STATUS_FAULTS_I32] !== 0) v.check();
    if (length !== 0) v.write(start, bytes, length);
    if (v.status[STATUS_FAULTS_I32] !== 0) throw v.faultError();
  }

  /**
   * {@link writeAt} with the copy on the libuv thread pool (for pages that
   * may have to come from disk first). Checks throw synchronously. Do not
   * modify, transfer or detach `data` until the promise settles. Aborting
   * `options.signal` rejects with an `AbortError` at once; the queued copy
   * is not recalled, so the bytes may or may not have landed.
   */
  writeAtAsync(offset: number | bigint, data: ArrayBufferView, options?: AbortOptions): Promise<void> {
    const bytes = toBytes(data, 'data');
    const signal = signalOf(options);
    const start = this.checkSpan(offset, byteLengthOf(bytes), 'writeAtAsync');
    this.views.check();
    return this.copyAbortable(start, bytes, true, signal);
  }

  /**
   * {@link readAt} with the copy on the libuv thread pool; resolves to the
   * bytes read. The bytes land in `target` on this thread when the copy is
   * done; if `target` was detached or shrunk meanwhile, the promise rejects
   * with ERR_MMAP_BUFFER_DETACHED and nothing is copied. An abort of
   * `options.signal` rejects with an `AbortError`, and `target` is not
   * written afterwards (with a signal the copy goes through a buffer of its
   * own).
   */
  readAtAsync(offset: number | bigint, target: ArrayBufferView, options?: AbortOptions): Promise<number> {
    const bytes = toBytes(target, 'target');
    const length = byteLengthOf(bytes);
    const signal = signalOf(options);
    const start = this.checkSpan(offset, length, 'readAtAsync');
    this.views.check();
    return this.copyAbortable(start, bytes, false, signal).then(() => length);
  }

  /**
   * Fills all of `target` with the bytes at `offset` and returns how many
   * were read (`target.byteLength`).
   * @throws ERR_MMAP_OUT_OF_BOUNDS when the file ends before `target` is full.
   */
  readAt(offset: number | bigint, target: ArrayBufferView): number {
    const bytes = bytesOf(target, 'target');
    const length = byteLengthOf(bytes);
    const v = this.views;
    // Fast path, as in writeAt.
    if (typeof offset === 'number' && offset >>> 0 === offset && offset + length <= v.firstLength && v.status[STATUS_FAULTS_I32] === 0) {
      bytes.set(v.first.subarray(offset, offset + length));
      if (v.status[STATUS_FAULTS_I32] !== 0) throw v.faultError();
      return length;
    }
    const start = this.checkSpan(offset, length, 'readAt');
    if (v.closed || v.status[STATUS_FAULTS_I32] !== 0) v.check();
    if (length !== 0) v.read(start, length, bytes, 0);
    if (v.status[STATUS_FAULTS_I32] !== 0) throw v.faultError();
    return length;
  }

  /**
   * Reads many items of `length` bytes in one native call: item `i` is the
   * `length` bytes at `offsets[i]`, copied to `target` at `i * length`
   * (items packed one after the other; `target` must hold at least
   * `offsets.length * length` bytes). Returns the number of items read.
   *
   * Every offset is checked (an integer >= 0, the item inside the file)
   * before anything is copied; a bad one throws with the index of the item
   * in `error.itemIndex` and nothing copied. A page fault caught during the
   * copy (the file was truncated under the mapping) throws ERR_MMAP_FAULT
   * with `error.itemIndex` set to the item being copied: items before it
   * are in `target`, the bytes of that item are zeros where pages were lost,
   * and nothing after it was copied. A `Float64Array` of offsets is used as
   * it is; a `BigUint64Array` or `number[]` is copied into one first.
   *
   * @example
   * ```ts
   * const offsets = Float64Array.of(0, 8192, 4096);
   * const target = new Uint8Array(3 * 4096);
   * raw.readAtMany(offsets, 4096, target); // item 1 is target.subarray(4096, 8192)
   * ```
   * @throws ERR_OUT_OF_RANGE (a bad offset), ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_BUFFER_TOO_SMALL, ERR_MMAP_CLOSED, ERR_MMAP_FAULT
   */
  readAtMany(offsets: BatchOffsets, length: number | bigint, target: ArrayBufferView): number {
    const v = this.views;
    v.check();
    return byteLengthOf(copyMany(v, 0, v.size, offsets, length, target, false, 'readAtMany', `'${v.path}'`)) / 8;
  }

  /**
   * Writes many items of `length` bytes in one native call: the `length`
   * bytes of `source` at `i * length` go to `offsets[i]` in the file.
   * Returns the number of items written.
   *
   * Every offset is checked before anything is written: a bad one throws
   * with `error.itemIndex` and leaves the file as it was. A page fault
   * caught during the copy throws ERR_MMAP_FAULT with `error.itemIndex` set
   * to the item being written: **items before it have landed**, that item
   * is lost where pages were lost, and nothing after it was written.
   *
   * @example
   * ```ts
   * const records = new Uint8Array(2 * 512).fill(7);
   * raw.writeAtMany(Float64Array.of(1024, 0), records, 512);
   * ```
   * @throws ERR_OUT_OF_RANGE (a bad offset), ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_BUFFER_TOO_SMALL, ERR_MMAP_CLOSED, ERR_MMAP_FAULT
   */
  writeAtMany(offsets: BatchOffsets, source: ArrayBufferView, length: number | bigint): number {
    const v = this.views;
    v.check();
    return byteLengthOf(copyMany(v, 0, v.size, offsets, length, source, true, 'writeAtMany', `'${v.path}'`)) / 8;
  }

  /**
   * The `length` bytes at `offset` as a **live, writable** `Uint8Array` over
   * the mapping itself, with no copy: reading it reads the file, and
   * **writing into it writes the file**, with no check of any kind (no
   * bounds past the view, no ownership, no fault report until the next
   * checked call). Use {@link readAt} for a private copy.
   *
   * Zero-copy when the bytes lie within one internal 1 GiB view (always, for
   * files up to 1 GiB); a private copy when they straddle two views. The
   * view becomes zero-length when the file is closed in this thread, so
   * holding it after close is harmless.
   *
   * @example
   * ```ts
   * const live = raw.readSlice(0, 4);
   * live[0] = 9;            // the file's first byte is now 9
   * ```
   */
  readSlice(offset: number | bigint, length: number | bigint): Uint8Array {
    const n = toOffset(length, 'length');
    const start = this.checkSpan(offset, n, 'readSlice');
    this.views.check();
    return this.views.slice(start, n);
  }

  /** Sets `length` bytes at `offset` to `value` (0 to 255). */
  fill(offset: number | bigint, length: number | bigint, value: number): void {
    const n = toOffset(length, 'length');
    const start = this.checkSpan(offset, n, 'fill');
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) throw outOfRange('value', 'a byte, an integer from 0 to 255', value);
    this.views.check();
    this.views.fill(start, n, value);
    if (this.views.faulted) throw this.views.faultError();
  }

  /**
   * {@link fill} on the libuv thread pool, for spans whose pages may have to
   * come from disk first. Checks reject before anything is written. An
   * abort of `options.signal` rejects with an `AbortError` at once; the
   * fill already queued is not recalled (the bytes may or may not be set).
   */
  async fillAsync(offset: number | bigint, length: number | bigint, value: number, options?: AbortOptions): Promise<void> {
    const n = toOffset(length, 'length');
    const start = this.checkSpan(offset, n, 'fillAsync');
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) throw outOfRange('value', 'a byte, an integer from 0 to 255', value);
    const signal = signalOf(options);
    const v = this.views;
    v.check();
    throwIfAborted(signal);
    const job = native.fillAsync(v.key, start, n, value).catch((error: unknown) => {
      throw fromNative(error, v.path);
    });
    await whenAborted(job, signal);
  }

  /** Sets `length` bytes at `offset` to zero. */
  zero(offset: number | bigint, length: number | bigint): void {
    this.fill(offset, length, 0);
  }

  /** Starts write-back of `length` bytes at `offset` without waiting. */
  flushRange(offset: number | bigint, length: number | bigint): void {
    const n = toOffset(length, 'length');
    this.views.sync(this.checkSpan(offset, n, 'flushRange'), n, SyncMode.Schedule);
  }

  /** {@link flushRange} on the libuv thread pool; an abort of `options.signal` stops the wait (not the write-back) with an `AbortError`. */
  flushRangeAsync(offset: number | bigint, length: number | bigint, options?: AbortOptions): Promise<void> {
    const n = toOffset(length, 'length');
    return this.syncAbortable(this.checkSpan(offset, n, 'flushRangeAsync'), n, SyncMode.Schedule, signalOf(options));
  }

  /** Writes `length` bytes at `offset` back to disk and waits (`msync(MS_SYNC)`). */
  syncRange(offset: number | bigint, length: number | bigint): void {
    const n = toOffset(length, 'length');
    this.views.sync(this.checkSpan(offset, n, 'syncRange'), n, SyncMode.Range);
  }

  /** {@link syncRange} on the libuv thread pool; an abort of `options.signal` rejects with an `AbortError` at once (the sync goes on; durability is then unknown). */
  syncRangeAsync(offset: number | bigint, length: number | bigint, options?: AbortOptions): Promise<void> {
    const n = toOffset(length, 'length');
    return this.syncAbortable(this.checkSpan(offset, n, 'syncRangeAsync'), n, SyncMode.Range, signalOf(options));
  }
}
