/**
 * The calls only the whole file has (MemoryMappedFile's instance methods
 * beyond the window's): resize, flush policy, huge pages, watching,
 * syncing, sharing, streams and close. MemoryMappedFile (memory-mapped-file.ts,
 * its opens and builder) extends {@link FileWindow}.
 */
import type { Readable } from 'node:stream';
import { type AbortOptions, signalOf, throwIfAborted, whenAborted } from '../core/abort.js';
import { toBoolean, toOffset } from '../core/arguments.js';
import { MappedFileBase, type SharedMappedFile } from '../core/mapped-file-base.js';
import type { MappedReadStreamOptions } from '../core/mapped-read-stream.js';
import type { MappingCursor } from '../core/mapping-cursor.js';
import type { ThreadMapping } from '../core/thread-mapping.js';
import { type MmapError, fromNative, misuse } from '../errors.js';
import { native } from '../native/binding.js';
import { describePolicy, type FlushPolicy, type FlushStats, type ParsedFlushPolicy } from './flush-policy.js';
import { hugePageReport, type HugePageReport } from './huge-pages.js';
import { ACCESS_TO_MODE } from './open-options.js';
import { startWatch, type WatchEvent, type WatchHandle, type WatchOptions } from './watch.js';
import { MappedWindow } from './window.js';
import { WindowCore } from './window-core.js';

/**
 * @internal The file-level calls every file type shares (share, syncAll,
 * cursor, createReadStream, close), for a MemoryMappedFile: it extends the
 * window classes, so it holds one of these instead of extending it.
 */
class WholeFile extends MappedFileBase {
  readonly #file: FileWindow;

  constructor(views: ThreadMapping, file: FileWindow) {
    super(views);
    this.#file = file;
  }

  /** Moves to the mapping that replaced the old one after a resize. */
  follow(next: ThreadMapping): void {
    this.views = next;
  }

  /** The file's length, which follows a resize made in any thread (createReadStream reads it). */
  override get size(): number {
    return this.#file.length;
  }

  /** createReadStream's chunks, through the file's asSlice (which follows a resize). */
  protected override streamChunk(offset: number, length: number): Uint8Array {
    return this.#file.asSlice(offset, length);
  }
}

/** True for a genuine FileWindow, so a MemoryMappedFile (a brand check; runs no user code). Set by the class's static block. */
export let isFileWindow: (value: unknown) => value is FileWindow;

/** The window core over a new mapping; closes the mapping when its mode is unknown. */
function coreOf(views: ThreadMapping, policy: ParsedFlushPolicy): WindowCore {
  const mode = ACCESS_TO_MODE[views.access];
  if (mode === undefined) {
    views.close();
    throw misuse('ERR_MMAP_INVALID_STATE', `the native core reported an unknown mapping mode ${String(views.access)}`);
  }
  return new WindowCore(views, mode, policy);
}

/**
 * The whole-file calls of {@link MemoryMappedFile}; see there. Not
 * constructed directly.
 */
export class FileWindow extends MappedWindow implements Disposable, AsyncDisposable {
  readonly #core: WindowCore;
  readonly #file: WholeFile;
  #huge: HugePageReport | null = null;

  /** @internal */
  constructor(views: ThreadMapping, policy: ParsedFlushPolicy) {
    const core = coreOf(views, policy);
    super(core, 0, views.size, true);
    this.#core = core;
    this.#file = new WholeFile(views, this);
    core.onSwap = (next) => this.#file.follow(next);
  }

  static {
    isFileWindow = (value): value is FileWindow => typeof value === 'object' && value !== null && #core in value;
  }

  /** Same as {@link length}. */
  get size(): number {
    return this.length;
  }

  /** The checks resize and resizeAsync share: the size read first, then a live, read-write, non-empty target. */
  #resizeTo(newSize: number | bigint, what: string): number {
    const n = toOffset(newSize, 'newSize');
    const core = this.#core;
    core.live();
    if (core.mode !== 'rw') throw core.modeError(what);
    if (n === 0) throw misuse('ERR_MMAP_EMPTY_FILE', `cannot resize '${this.path}' to 0 bytes: an empty file cannot be mapped`, this.path);
    return n;
  }

  /**
   * Changes the file's size to `newSize` bytes (`'rw'` only) without
   * blocking anyone and without unmapping memory any view can reach:
   * a new mapping of the new size replaces the old one, in this thread at
   * once and in every other thread at its next call on the file.
   *
   * Views taken before a grow (`asSlice`, `asSliceMut`, `chunks`,
   * `atomicU32Slice`, ...) keep working: they stay on the old mapping,
   * which maps the same file, so their stores reach the file and every
   * mapping shows them; the old mapping lives until they are collected or
   * the file is closed. A shrink below the size of a view's mapping
   * detaches the view (its length becomes 0): in this thread when `resize`
   * returns, in other threads at their next call on the file (until then a
   * store past the new end neither crashes nor reaches the file). Take new
   * views after a shrink. Checked calls past the new end get
   * ERR_MMAP_OUT_OF_BOUNDS, atomic views move to the new mapping (a word
   * past the new end is refused), a segment past the new end refuses its
   * calls, and a `share()` handle made before the resize opens the new
   * size. A grow reserves the new blocks first (`fallocate`, or
   * `posix_fallocate` where that is unsupported; not for a file created
   * sparse), so a full disk fails the resize with ENOSPC and leaves the
   * file as it was.
   * @example
   * ```ts
   * const m = MemoryMappedFile.createRw('log.bin', 4096);
   * m.resize(8192);
   * m.updateRegion(4096, record);
   * ```
   * @throws ERR_MMAP_INVALID_MODE on `'ro'`/`'cow'`, ERR_MMAP_EMPTY_FILE for 0, ERR_MMAP_CLOSED, system errors (`ftruncate`, `fallocate`, `mmap`)
   */
  resize(newSize: number | bigint): void {
    const n = this.#resizeTo(newSize, 'resize');
    for (let v = this.#core.views; v.size !== n; v = this.#core.views) {
      let moved: number;
      try {
        [moved] = native.resize(v.key, n);
      } catch (error) {
        throw fromNative(error, v.path);
      }
      if (this.#resized(v, moved)) return;
    }
  }

  /**
   * After one native resize of `v` (by resize or resizeAsync): follows the
   * new mapping, ours or the one another thread made first; true when ours
   * is in place, false when another thread's resize came first (and `v`
   * must be resized again).
   */
  #resized(v: ThreadMapping, moved: number): boolean {
    const core = this.#core;
    // Closed in this thread meanwhile (only possible while resizeAsync
    // waited): the resize was made, and settles as done, unless another
    // thread's came first.
    if (moved === 0 && core.views.closed) return true;
    core.live();
    if (moved === 0) return true;
    if (core.views === v) throw this.#noSuccessor();
    return false;
  }

  /** A resize reported as made by another thread without a successor to follow: an error, never an endless loop. */
  #noSuccessor(): MmapError {
    return misuse(
      'ERR_MMAP_INVALID_STATE',
      `resize of '${this.path}': the native core reported a newer mapping of the file but recorded none to follow; close the file and open it again`,
      this.path,
    );
  }

  /**
   * {@link resize} with the system calls (`ftruncate`, `fallocate`, which
   * can wait on the disk) on the libuv thread pool. A refused call rejects
   * and changes nothing; this thread moves to the new mapping when the
   * promise settles, the other threads at their next call, as after `resize`.
   * Aborting `options.signal` rejects with an `AbortError` at once; a
   * resize already queued may still be made (then the file has the new
   * size, which `length` shows once it is done), none is started after.
   * @example
   * ```ts
   * await m.resizeAsync(1 << 30);
   * ```
   * @throws ERR_MMAP_INVALID_MODE on `'ro'`/`'cow'`, ERR_MMAP_EMPTY_FILE for 0, ERR_MMAP_CLOSED, system errors (`ftruncate`, `fallocate`, `mmap`)
   */
  async resizeAsync(newSize: number | bigint, options?: AbortOptions): Promise<void> {
    const signal = signalOf(options);
    const n = this.#resizeTo(newSize, 'resizeAsync');
    throwIfAborted(signal);
    const job = (async () => {
      // After an abort no further attempt starts; the one queued still runs.
      for (let v = this.#core.views; v.size !== n && signal?.aborted !== true; v = this.#core.views) {
        const [moved] = await native.resizeAsync(v.key, n).catch((error: unknown) => {
          throw fromNative(error, v.path);
        });
        if (this.#resized(v, moved)) return;
      }
    })();
    return whenAborted(job, signal);
  }

  /** The flush policy in force in this thread. */
  get flushPolicy(): FlushPolicy {
    return describePolicy(this.#core.policy);
  }

  /** What the flush policy has done so far in this thread. */
  get flushStats(): FlushStats {
    const c = this.#core;
    return {
      flushes: c.flushes,
      pendingBytes: c.pendingBytes,
      pendingWrites: c.pendingWrites,
      timerActive: c.timer !== undefined,
      backgroundFailures: c.backgroundFailures,
    };
  }

  /** The outcome of the last huge-page request, or null if none was made. */
  get hugePages(): HugePageReport | null {
    return this.#huge;
  }

  /**
   * Asks the kernel to back the mapping with transparent huge pages
   * (`MADV_HUGEPAGE`; `false`: `MADV_NOHUGEPAGE`) and reports whether that
   * took effect. Never throws for the kernel's refusal: where the kernel or
   * the file system does not support it, it does nothing and says so.
   * @example
   * ```ts
   * const r = m.requestHugePages();
   * if (!r.effective) console.log('no huge pages:', r.reason);
   * ```
   */
  requestHugePages(enable = true): HugePageReport {
    const on = toBoolean(enable, 'enable');
    this.#core.live();
    let result: [number, number];
    try {
      result = native.hugePages(this.#core.views.key, on);
    } catch (error) {
      throw fromNative(error, this.path);
    }
    this.#huge = hugePageReport(on, result[0], result[1]);
    return this.#huge;
  }

  /**
   * Calls `callback` when the file changes: `{ kind: 'modified', offset,
   * length }` for changed pages (made by another process through `write()`
   * or its own mapping, or by this one), `{ kind: 'metadata', size }` for a
   * resize or other metadata change, `{ kind: 'removed' }` once the path no
   * longer leads to the file. Looks every `intervalMs` (default 1000) by
   * hashing the mapping's pages (files up to 256 MiB; larger ones report
   * `'modified'` without a range, from the modification time). The timer
   * never keeps the process alive; `handle.close()` or closing the file
   * stops it.
   * @example
   * ```ts
   * const w = m.watch((e) => console.log(e.kind, e.offset, e.length), { intervalMs: 100 });
   * // ...
   * w.close();
   * ```
   * @throws ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE, ERR_MMAP_CLOSED
   */
  watch(callback: (event: WatchEvent) => void, options?: WatchOptions): WatchHandle {
    return startWatch(this.#core, callback, options);
  }

  /**
   * Returns once every byte written, the size and the block allocation are
   * on disk (msync + fsync). Throws `ERR_MMAP_FAULT` if a page of the
   * mapping was lost to a fault, instead of reporting success. Blocks the
   * calling thread; see {@link syncAllAsync}.
   * @example
   * ```ts
   * m.updateRegion(0, record);
   * m.syncAll(); // the record survives a crash from here on
   * ```
   */
  syncAll(): void {
    this.#core.live();
    this.#file.syncAll();
  }

  /**
   * {@link syncAll} on the libuv thread pool, leaving the event loop free.
   * Aborting `options.signal` rejects with an `AbortError` at once; then
   * nothing is known of durability (the sync goes on; call it again).
   * @example
   * ```ts
   * await m.syncAllAsync();
   * ```
   */
  async syncAllAsync(options?: AbortOptions): Promise<void> {
    this.#core.live();
    return this.#file.syncAllAsync(options);
  }

  /**
   * A plain object to post to a worker thread, where
   * `MemoryMappedFile.fromShared(handle)` opens the same memory.
   * @example
   * ```ts
   * worker.postMessage(m.share());
   * ```
   */
  share(): SharedMappedFile {
    this.#core.live();
    return this.#file.share();
  }

  /**
   * A {@link MappingCursor} for in-place, allocation-free access to the
   * file's bytes in this thread (see there). It stays on the mapping it was
   * made on: take a new one after a resize.
   * @example
   * ```ts
   * const cursor = m.cursor();
   * const at = cursor.seek(4096, 16);
   * console.log(cursor.bytes[at]);
   * ```
   */
  cursor(): MappingCursor {
    this.#core.live();
    return this.#file.cursor();
  }

  /**
   * A Node `Readable` of the file's bytes from `start` to `end` (inclusive,
   * as `fs.createReadStream`), read only as fast as its consumer takes; the
   * chunks are views over the mapping (see {@link asSlice}) unless
   * `copy: true`, and follow a resize made meanwhile. The same stream as
   * `MmapFile.createReadStream`, whose notes on closing apply here too.
   * @example
   * ```ts
   * import { pipeline } from 'node:stream/promises';
   * await pipeline(m.createReadStream({ highWaterMark: 1 << 20 }), response);
   * ```
   */
  createReadStream(options?: MappedReadStreamOptions): Readable {
    return this.#file.createReadStream(options);
  }

  /**
   * Closes the file in this thread (its views, atomic views and segments
   * stop working; other threads are not affected) and stops the
   * `everyMillis` flusher and the watchers. Does not flush. Closing twice
   * is harmless.
   * @example
   * ```ts
   * m.syncAll();
   * m.close();
   * ```
   */
  close(): void {
    this.#core.stopTimer();
    this.#core.cancelWaits();
    this.#core.stopWatchers();
    this.#core.closeRetired();
    this.#file.close();
  }

  /**
   * `using m = MemoryMappedFile.openRw(...)` closes it at the end of the block.
   * @example
   * ```ts
   * {
   *   using m = MemoryMappedFile.openRo('data.bin');
   *   console.log(m.asSlice(0, 4));
   * } // closed here
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * `await using` support; closes the file.
   * @example
   * ```ts
   * await using m = await MemoryMappedFile.openRwAsync('data.bin');
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
