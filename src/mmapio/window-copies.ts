/**
 * Copies and flushes of a window: zero-copy slices, checked copies in and
 * out (synchronous or on the libuv pool), and write-back of its pages.
 */
import { byteLengthOf, prefixOf, toBytes, toOffset } from '../core/arguments.js';
import { type AbortOptions, signalOf, throwIfAborted, whenAborted } from '../core/abort.js';
import { fromNative, misuse } from '../errors.js';
import { native } from '../native/binding.js';
import { allOf, rangeOf, stateOf, viewPiece, WindowBase, type WindowState } from './window-base.js';

/** readIntoAsync's copy on the pool into `bytes`; read again from the new mapping when a shrink elsewhere cut the old one. */
async function copyOut(s: WindowState, off: number, bytes: Uint8Array, length: number): Promise<number> {
  for (;;) {
    s.live();
    const abs = s.span(off, length, 'readIntoAsync');
    const v = s.core.views;
    try {
      await native.copyAsync(v.key, abs, bytes, false);
      return length;
    } catch (error) {
      // Nothing was copied into the target: read again, from the new mapping.
      if (!s.cutByResize(error, v, abs, length)) throw fromNative(error, v.path);
    }
  }
}

/**
 * Slices, copies and flushes of {@link MappedWindow}; see there. Not
 * constructed directly.
 */
export class WindowCopies extends WindowBase {
  /**
   * The `length` bytes at `offset` as a `Uint8Array` over the mapping itself
   * (no copy), in every mode. A span that straddles one of the internal
   * 1 GiB views (only in files over 1 GiB) is returned as a copy.
   * The view becomes zero-length when the file is closed in this thread.
   * On a read-only file a store through the view changes only this
   * process's private copy of the page, never the file.
   * @example
   * ```ts
   * const header = file.asSlice(0, 16);
   * console.log(header[0]);
   * ```
   * @throws ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED, ERR_MMAP_FAULT
   */
  asSlice(offset: number | bigint, length: number | bigint): Uint8Array {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    const s = stateOf(this);
    s.live();
    const abs = s.span(off, n, 'asSlice');
    return s.core.views.slice(abs, n);
  }

  /**
   * A writable `Uint8Array` over the `length` bytes at `offset` (no copy):
   * on `'rw'` stores reach the file, on `'cow'` they stay private to this
   * process. Not allowed on `'ro'` (`ERR_MMAP_INVALID_MODE`), nor across an
   * internal 1 GiB view boundary (`ERR_MMAP_INVALID_ARGUMENT`).
   * @example
   * ```ts
   * file.asSliceMut(0, 4).set([1, 2, 3, 4]);
   * ```
   * @throws ERR_MMAP_INVALID_MODE, ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED, ERR_MMAP_FAULT
   */
  asSliceMut(offset: number | bigint, length: number | bigint): Uint8Array {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    const s = stateOf(this);
    s.live();
    s.core.refuseWrite('asSliceMut');
    const abs = s.span(off, n, 'asSliceMut');
    const piece = viewPiece(s.core, abs, n);
    if (piece === null) throw s.straddleError('asSliceMut', abs, n);
    return piece.view.subarray(piece.inner, piece.inner + n);
  }

  /**
   * Copies all of `data` to `offset` (mmap-io's `update_region`), through
   * the same copy routes as every file type, and applies the flush policy.
   * @example
   * ```ts
   * file.updateRegion(0, new TextEncoder().encode('hello'));
   * ```
   * @throws ERR_MMAP_INVALID_MODE (on `'ro'`), ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED, ERR_MMAP_FAULT
   */
  updateRegion(offset: number | bigint, data: ArrayBufferView): void {
    const off = toOffset(offset, 'offset');
    // A fresh view over the same bytes, made from internal slots: the copy
    // routes below read `.byteLength`, which an own property could fake.
    const bytes = toBytes(data, 'data');
    const length = byteLengthOf(bytes);
    const s = stateOf(this);
    s.live();
    s.core.refuseWrite('updateRegion');
    const abs = s.span(off, length, 'updateRegion');
    if (length !== 0) s.core.views.write(abs, bytes, length);
    s.faultCheck(abs, length);
    s.core.noteWrite(abs, length);
  }

  /**
   * {@link updateRegion} with the copy on the libuv thread pool (for pages
   * that may have to come from disk first). The bytes of `data` are taken
   * before this returns; checks throw synchronously. Aborting
   * `options.signal` rejects with an `AbortError` at once; a copy already
   * queued still runs, so the bytes may or may not have landed (an
   * already-aborted signal copies nothing).
   * @example
   * ```ts
   * await file.updateRegionAsync(4096, record, { signal: AbortSignal.timeout(1000) });
   * ```
   */
  async updateRegionAsync(offset: number | bigint, data: ArrayBufferView, options?: AbortOptions): Promise<void> {
    const signal = signalOf(options);
    const off = toOffset(offset, 'offset');
    const bytes = toBytes(data, 'data');
    const length = byteLengthOf(bytes);
    const s = stateOf(this);
    s.live();
    s.core.refuseWrite('updateRegionAsync');
    const abs = s.span(off, length, 'updateRegionAsync');
    throwIfAborted(signal);
    const v = s.core.views;
    const done = native.copyAsync(v.key, abs, bytes, true);
    const job = (async () => {
      try {
        await done;
      } catch (error) {
        // A shrink in another thread while the copy ran: the bytes count if
        // they are still inside the file (their pages were never cut).
        if (!s.cutByResize(error, v, abs, length)) throw fromNative(error, v.path);
      }
      // Counted for the flush policy even after an abort: the bytes landed.
      if (!s.core.views.closed) s.core.noteWrite(abs, length);
    })();
    return whenAborted(job, signal);
  }

  /**
   * Fills all of `target` with the bytes at `offset`; returns the number of
   * bytes read (`target.byteLength`).
   * @example
   * ```ts
   * const header = new Uint8Array(16);
   * file.readInto(0, header);
   * ```
   * @throws ERR_MMAP_OUT_OF_BOUNDS when the window ends before `target` is full
   */
  readInto(offset: number | bigint, target: ArrayBufferView): number {
    const off = toOffset(offset, 'offset');
    const given = toBytes(target, 'target');
    const length = byteLengthOf(given);
    const bytes = prefixOf(given, length); // as in updateRegion
    const s = stateOf(this);
    s.live();
    const abs = s.span(off, length, 'readInto');
    if (length !== 0) s.core.views.read(abs, length, bytes, 0);
    s.faultCheck(abs, length);
    return length;
  }

  /**
   * {@link readInto} with the copy on the libuv thread pool. The bytes land
   * in `target` on this thread when the copy is done; a target detached or
   * shrunk meanwhile rejects with ERR_MMAP_BUFFER_DETACHED. Aborting
   * `options.signal` rejects with an `AbortError` at once, and nothing is
   * ever written into `target` after that (with a signal the copy goes
   * through a buffer of its own, copied into `target` only if the read
   * ends first).
   * @example
   * ```ts
   * const n = await file.readIntoAsync(0, new Uint8Array(1 << 20));
   * ```
   */
  async readIntoAsync(offset: number | bigint, target: ArrayBufferView, options?: AbortOptions): Promise<number> {
    const signal = signalOf(options);
    const off = toOffset(offset, 'offset');
    const bytes = toBytes(target, 'target');
    const length = byteLengthOf(bytes);
    const s = stateOf(this);
    s.live();
    s.span(off, length, 'readIntoAsync');
    throwIfAborted(signal);
    if (signal === undefined) return copyOut(s, off, bytes, length);
    const own = new Uint8Array(length);
    await whenAborted(copyOut(s, off, own, length), signal);
    if (byteLengthOf(bytes) < length) {
      throw misuse('ERR_MMAP_BUFFER_DETACHED', 'the target was detached or shrunk while readIntoAsync ran; nothing was copied into it');
    }
    bytes.set(own);
    return length;
  }

  /**
   * Starts write-back of the window's dirty pages (of the whole file, or of
   * the segment) and returns without waiting (`syncAll()` on the file
   * waits). On `'ro'` and `'cow'` there is nothing to write back: the call
   * only checks the file is usable.
   * @example
   * ```ts
   * file.updateRegion(0, data);
   * file.flush();
   * ```
   */
  flush(): void {
    const r = allOf(this, 'flush');
    r.s.core.flushSpan(r.abs, r.n);
  }

  /**
   * {@link flush} on the libuv thread pool. Aborting `options.signal`
   * rejects with an `AbortError` at once; a write-back already queued still
   * starts (it only moves bytes that are in the file anyway).
   * @example
   * ```ts
   * await file.flushAsync();
   * ```
   */
  async flushAsync(options?: AbortOptions): Promise<void> {
    const signal = signalOf(options);
    const r = allOf(this, 'flushAsync');
    return r.s.core.flushSpanAsync(r.abs, r.n, signal);
  }

  /**
   * Starts write-back of `length` bytes at `offset` (see {@link flush}).
   * @example
   * ```ts
   * file.updateRegion(4096, record);
   * file.flushRange(4096, record.length);
   * ```
   */
  flushRange(offset: number | bigint, length: number | bigint): void {
    const r = rangeOf(this, offset, length, 'flushRange');
    r.s.core.flushSpan(r.abs, r.n);
  }

  /**
   * {@link flushRange} on the libuv thread pool; `options.signal` as in
   * {@link flushAsync}.
   * @example
   * ```ts
   * await file.flushRangeAsync(4096, record.length);
   * ```
   */
  async flushRangeAsync(offset: number | bigint, length: number | bigint, options?: AbortOptions): Promise<void> {
    const signal = signalOf(options);
    const r = rangeOf(this, offset, length, 'flushRangeAsync');
    return r.s.core.flushSpanAsync(r.abs, r.n, signal);
  }
}
