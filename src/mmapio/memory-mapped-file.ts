/**
 * MemoryMappedFile: mmap-io's API in camelCase, on the same core as
 * MmapFile and RawMmapFile (one mapping table, one set of copy routes, one
 * fault guard, one thread story).
 */
import { readFileSync } from 'node:fs';
import { readOptions, toBoolean, toOffset, toPath } from '../core/arguments.js';
import type { PathLike } from '../core/path-like.js';
import {
  MappedFileBase,
  attachShared,
  openMapping,
  openMappingAsync,
  toCreateRequest,
  type CreateFileOptions,
  type OpenRequest,
  type SharedMappedFile,
} from '../core/mapped-file-base.js';
import type { ThreadMapping } from '../core/thread-mapping.js';
import { MmapError, argTypeError, argValueError, fromNative, misuse } from '../errors.js';
import { Access, native } from '../native/binding.js';
import type { Advice } from './advice.js';
import type { AtomicU32, AtomicU64 } from './atomic-view.js';
import { describePolicy, toFlushPolicy, type FlushPolicy, type FlushStats, type ParsedFlushPolicy } from './flush-policy.js';
import { MappedWindow, type MappedSegment, type WaitResult } from './window.js';
import { startWatch, type WatchEvent, type WatchHandle, type WatchOptions } from './watch.js';
import { WindowCore } from './window-core.js';
import type { MappingMode } from './mapping-mode.js';

/** `'lazy'` (default): pages come in on first access; `'eager'`: every page is faulted in at open. */
export type TouchHint = 'lazy' | 'eager';

/** Options of every MemoryMappedFile open. */
export interface MemoryMappedFileOptions {
  /** When write-back is scheduled (default `'manual'`); see {@link FlushPolicy}. */
  flushPolicy?: FlushPolicy;
  /** `'eager'` faults every page in at open (read access; nothing is dirtied). */
  touchHint?: TouchHint;
  /** Ask for transparent huge pages (`MADV_HUGEPAGE`); never fails the open. See {@link MemoryMappedFile.hugePages}. */
  hugePages?: boolean;
}

/** Options of `createRw` and `openOrCreate`. */
export interface MemoryMappedFileCreateOptions extends MemoryMappedFileOptions, CreateFileOptions {}

/** What became of a huge-page request (`file.hugePages`). */
export interface HugePageReport {
  /** True when huge pages were asked for (false after `requestHugePages(false)`). */
  readonly requested: boolean;
  /** The kernel accepted the `madvise` (`MADV_HUGEPAGE`/`MADV_NOHUGEPAGE`). */
  readonly applied: boolean;
  /**
   * The kernel's own verdict on the mapping afterwards (`THPeligible` in
   * /proc/self/smaps): true when huge pages can back it, null when it could
   * not be read.
   */
  readonly eligible: boolean | null;
  /** `requested && applied && eligible === true`: the hint took effect. */
  readonly effective: boolean;
  /** Why it did not take effect, or `'ok'`. */
  readonly reason: string;
}

const MODE_TO_ACCESS: Readonly<Record<MappingMode, Access>> = { rw: Access.ReadWrite, ro: Access.ReadOnly, cow: Access.CopyOnWrite };
const ACCESS_TO_MODE: readonly MappingMode[] = ['rw', 'ro', 'cow'];
const OPEN_KEYS = ['flushPolicy', 'touchHint', 'hugePages'] as const;
const CREATE_KEYS = ['flushPolicy', 'touchHint', 'hugePages', 'exclusive', 'mode', 'sparse'] as const;

interface ParsedOpenOptions {
  policy: ParsedFlushPolicy;
  eager: boolean;
  huge: boolean;
}

/** True for a genuine MemoryMappedFile (a brand check; runs no user code). Set by the class's static block. */
export let isMemoryMappedFile: (value: unknown) => value is MemoryMappedFile;

/** Set by MemoryMappedFile's static block: its private #finish, for the builder. */
let finishOpen: (views: ThreadMapping, o: ParsedOpenOptions) => MemoryMappedFile;

function toMode(value: unknown): MappingMode {
  if (value === 'ro' || value === 'rw' || value === 'cow') return value;
  if (typeof value !== 'string') throw argTypeError('mode', 'of type string', value);
  throw argValueError('mode', "must be 'ro', 'rw' or 'cow'", value);
}

function toTouch(value: unknown): boolean {
  if (value === undefined || value === 'lazy') return false;
  if (value === 'eager') return true;
  if (typeof value !== 'string') throw argTypeError('touchHint', 'of type string', value);
  throw argValueError('touchHint', "must be 'lazy' or 'eager'", value);
}

function toOpenOptions(o: Partial<Record<(typeof OPEN_KEYS)[number], unknown>>): ParsedOpenOptions {
  return { policy: toFlushPolicy(o.flushPolicy, 'options.flushPolicy'), eager: toTouch(o.touchHint), huge: toBoolean(o.hugePages, 'options.hugePages') };
}

function openRequest(path: string, mode: MappingMode): OpenRequest {
  return { path, create: false, size: 0, exclusive: false, sparse: false, mode: 0, access: MODE_TO_ACCESS[mode] };
}

function thpSetting(): string {
  try {
    const text = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    return /\[(\w+)\]/.exec(text)?.[1] ?? 'unknown';
  } catch {
    return 'unavailable';
  }
}

/**
 * A memory-mapped file in one of three modes (mmap-io's
 * `MemoryMappedFile`):
 * - `'rw'` (`createRw`, `openRw`, `openOrCreate`): shared; writes reach the file.
 * - `'ro'` (`openRo`): reads only through the API. The file is opened
 *   read-only and mapped privately, so even a store through a view
 *   (`asSlice`, `atomicU32Slice`) cannot crash the process or reach the file.
 * - `'cow'` (`openCow`): copy-on-write; writes work and stay private to
 *   this process. Other processes keep seeing the file's bytes.
 *
 * Zero-copy slices in every mode, atomic views, flush policies, advice,
 * page pre-touching, locking, huge pages, segments and allocation-free
 * iteration. `share()` / `fromShared()` hand it to worker threads.
 *
 * @example
 * ```ts
 * import { MemoryMappedFile } from 'ranged-mmap';
 * using m = MemoryMappedFile.createRw('data.bin', 1 << 20);
 * m.updateRegion(0, new TextEncoder().encode('hello'));
 * m.atomicU64(8).add(1n);
 * m.flush();
 * const ro = MemoryMappedFile.openRo('data.bin');
 * console.log(ro.asSlice(0, 5)); // the bytes written above
 * ro.close();
 * ```
 */
export class MemoryMappedFile extends MappedFileBase {
  readonly #w: MappedWindow;
  readonly #core: WindowCore;
  #huge: HugePageReport | null = null;

  private constructor(views: ThreadMapping, policy: ParsedFlushPolicy) {
    super(views);
    const mode = ACCESS_TO_MODE[views.access];
    if (mode === undefined) {
      views.close();
      throw misuse('ERR_MMAP_INVALID_STATE', `the native core reported an unknown mapping mode ${String(views.access)}`);
    }
    this.#core = new WindowCore(views, mode, policy);
    this.#core.onSwap = (next) => {
      this.views = next;
    };
    this.#w = new MappedWindow(this.#core, 0, views.size, true);
  }

  /** Runs the open options on a new mapping; on failure closes it. */
  static #finish(views: ThreadMapping, o: ParsedOpenOptions): MemoryMappedFile {
    let file: MemoryMappedFile | undefined;
    try {
      file = new MemoryMappedFile(views, o.policy);
      if (o.huge) file.requestHugePages(true);
      if (o.eager) file.touchPages();
      return file;
    } catch (error) {
      if (file !== undefined) file.close();
      else views.close();
      throw error;
    }
  }

  static #open(path: unknown, mode: MappingMode, options: unknown): MemoryMappedFile {
    const p = toPath(path);
    const o = toOpenOptions(readOptions(options, 'options', OPEN_KEYS));
    return MemoryMappedFile.#finish(openMapping(openRequest(p, mode)), o);
  }

  static async #openAsync(path: unknown, mode: MappingMode, options: unknown): Promise<MemoryMappedFile> {
    const p = toPath(path);
    const o = toOpenOptions(readOptions(options, 'options', OPEN_KEYS));
    return MemoryMappedFile.#finish(await openMappingAsync(openRequest(p, mode)), o);
  }

  static #createParts(path: unknown, size: unknown, options: unknown, exclusive?: boolean): { req: OpenRequest; o: ParsedOpenOptions } {
    const fields = readOptions(options, 'options', CREATE_KEYS);
    const req = toCreateRequest(path, size, fields);
    if (exclusive) req.exclusive = true;
    return { req, o: toOpenOptions(fields) };
  }

  /**
   * Creates a file of exactly `size` bytes (an existing one is replaced,
   * atomically: a failed create leaves it as it was) and maps it read-write.
   * @example
   * ```ts
   * const m = MemoryMappedFile.createRw('data.bin', 4096, { flushPolicy: { everyBytes: 1 << 20 } });
   * ```
   * @throws ERR_MMAP_EMPTY_FILE for size 0, ERR_OUT_OF_RANGE, system errors (`open`, `fallocate`, `mmap`, `rename`)
   */
  static createRw(path: PathLike, size: number | bigint, options?: MemoryMappedFileCreateOptions): MemoryMappedFile {
    const { req, o } = MemoryMappedFile.#createParts(path, size, options);
    return MemoryMappedFile.#finish(openMapping(req), o);
  }

  /** {@link createRw} on the libuv thread pool. */
  static async createRwAsync(path: PathLike, size: number | bigint, options?: MemoryMappedFileCreateOptions): Promise<MemoryMappedFile> {
    const { req, o } = MemoryMappedFile.#createParts(path, size, options);
    return MemoryMappedFile.#finish(await openMappingAsync(req), o);
  }

  /**
   * Maps an existing, non-empty file read-only (`'ro'`).
   * @example
   * ```ts
   * const m = MemoryMappedFile.openRo('data.bin');
   * const header = m.asSlice(0, 16);
   * ```
   * @throws ERR_MMAP_EMPTY_FILE, system errors (`ENOENT`, `EACCES`, ...)
   */
  static openRo(path: PathLike, options?: MemoryMappedFileOptions): MemoryMappedFile {
    return MemoryMappedFile.#open(path, 'ro', options);
  }

  /** {@link openRo} on the libuv thread pool. */
  static openRoAsync(path: PathLike, options?: MemoryMappedFileOptions): Promise<MemoryMappedFile> {
    return MemoryMappedFile.#openAsync(path, 'ro', options);
  }

  /**
   * Maps an existing, non-empty file read-write (`'rw'`).
   * @example
   * ```ts
   * const m = MemoryMappedFile.openRw('data.bin');
   * m.updateRegion(0, new Uint8Array([1]));
   * ```
   */
  static openRw(path: PathLike, options?: MemoryMappedFileOptions): MemoryMappedFile {
    return MemoryMappedFile.#open(path, 'rw', options);
  }

  /** {@link openRw} on the libuv thread pool. */
  static openRwAsync(path: PathLike, options?: MemoryMappedFileOptions): Promise<MemoryMappedFile> {
    return MemoryMappedFile.#openAsync(path, 'rw', options);
  }

  /**
   * Maps an existing, non-empty file copy-on-write (`'cow'`): writes work
   * and stay private to this process; the file never changes.
   * @example
   * ```ts
   * const m = MemoryMappedFile.openCow('template.bin');
   * m.updateRegion(0, patch); // only this process sees it
   * ```
   */
  static openCow(path: PathLike, options?: MemoryMappedFileOptions): MemoryMappedFile {
    return MemoryMappedFile.#open(path, 'cow', options);
  }

  /** {@link openCow} on the libuv thread pool. */
  static openCowAsync(path: PathLike, options?: MemoryMappedFileOptions): Promise<MemoryMappedFile> {
    return MemoryMappedFile.#openAsync(path, 'cow', options);
  }

  /**
   * Opens the file read-write if it exists, else creates it with `size`
   * bytes (never replacing a file another process created meanwhile).
   * An existing file keeps its size.
   * @example
   * ```ts
   * const m = MemoryMappedFile.openOrCreate('state.bin', 4096);
   * ```
   */
  static openOrCreate(path: PathLike, size: number | bigint, options?: MemoryMappedFileCreateOptions): MemoryMappedFile {
    const { req, o } = MemoryMappedFile.#createParts(path, size, options, true);
    const open = openRequest(req.path, 'rw');
    try {
      return MemoryMappedFile.#finish(openMapping(open), o);
    } catch (error) {
      if (!(error instanceof MmapError) || error.code !== 'ENOENT') throw error;
    }
    try {
      return MemoryMappedFile.#finish(openMapping(req), o);
    } catch (error) {
      if (!(error instanceof MmapError) || error.code !== 'EEXIST') throw error;
    }
    return MemoryMappedFile.#finish(openMapping(open), o);
  }

  /** {@link openOrCreate} on the libuv thread pool. */
  static async openOrCreateAsync(path: PathLike, size: number | bigint, options?: MemoryMappedFileCreateOptions): Promise<MemoryMappedFile> {
    const { req, o } = MemoryMappedFile.#createParts(path, size, options, true);
    const open = openRequest(req.path, 'rw');
    try {
      return MemoryMappedFile.#finish(await openMappingAsync(open), o);
    } catch (error) {
      if (!(error instanceof MmapError) || error.code !== 'ENOENT') throw error;
    }
    try {
      return MemoryMappedFile.#finish(await openMappingAsync(req), o);
    } catch (error) {
      if (!(error instanceof MmapError) || error.code !== 'EEXIST') throw error;
    }
    return MemoryMappedFile.#finish(await openMappingAsync(open), o);
  }

  /**
   * A builder for every option at once (mmap-io's `MemoryMappedFile::builder`).
   * @example
   * ```ts
   * const m = MemoryMappedFile.builder('data.bin')
   *   .mode('rw').size(1 << 20).flushPolicy({ everyBytes: 1 << 16 })
   *   .touchHint('eager').hugePages(true)
   *   .create();
   * ```
   */
  static builder(path: PathLike): MemoryMappedFileBuilder {
    return new MemoryMappedFileBuilder(toPath(path));
  }

  /**
   * The file over the same memory in this thread, from the `share()` handle
   * of a MemoryMappedFile (or of any file of this package) posted by
   * another thread. The mode is the mapping's own; the flush policy is this
   * thread's (default `'manual'`).
   * @example
   * ```ts
   * // main: worker.postMessage(m.share());
   * parentPort.on('message', (h) => { const m = MemoryMappedFile.fromShared(h); m.atomicU64(0).add(1n); });
   * ```
   */
  static fromShared(handle: SharedMappedFile, options?: Pick<MemoryMappedFileOptions, 'flushPolicy'>): MemoryMappedFile {
    const policy = toFlushPolicy(readOptions(options, 'options', ['flushPolicy'] as const).flushPolicy, 'options.flushPolicy');
    return new MemoryMappedFile(attachShared(handle, true), policy);
  }

  static {
    // The builder's way in to #finish, without a public static for it.
    finishOpen = (views, o) => MemoryMappedFile.#finish(views, o);
    // A brand check that runs no user code (no instanceof on user values).
    isMemoryMappedFile = (value) => typeof value === 'object' && value !== null && #core in value;
  }

  /** `'ro'`, `'rw'` or `'cow'`. */
  get mode(): MappingMode {
    return this.#core.mode;
  }

  /** Length of the file in bytes (mmap-io's `len()`; same as `size`); follows a resize made in any thread. */
  get length(): number {
    if (this.#core.moved) this.#core.follow();
    return this.views.size;
  }

  /** Same as {@link length}. */
  override get size(): number {
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
    const core = this.#core;
    for (;;) {
      const v = core.views;
      if (v.size === n) return;
      let moved: number;
      try {
        [moved] = native.resize(v.key, n);
      } catch (error) {
        throw fromNative(error, v.path);
      }
      core.live(); // follows the new mapping (ours, or the one another thread made first)
      if (moved === 0) return;
      if (core.views === v) throw this.#noSuccessor();
    }
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
   * @example
   * ```ts
   * await m.resizeAsync(1 << 30);
   * ```
   * @throws ERR_MMAP_INVALID_MODE on `'ro'`/`'cow'`, ERR_MMAP_EMPTY_FILE for 0, ERR_MMAP_CLOSED, system errors (`ftruncate`, `fallocate`, `mmap`)
   */
  async resizeAsync(newSize: number | bigint): Promise<void> {
    const n = this.#resizeTo(newSize, 'resizeAsync');
    const core = this.#core;
    for (;;) {
      const v = core.views;
      if (v.size === n) return;
      let moved: number;
      try {
        [moved] = await native.resizeAsync(v.key, n);
      } catch (error) {
        throw fromNative(error, v.path);
      }
      // Closed in this thread meanwhile: the resize was made (and settles
      // as done) unless another thread's came first.
      if (moved === 0 && core.views.closed) return;
      core.live(); // follows the new mapping (ours, or the one another thread made first)
      if (moved === 0) return;
      if (core.views === v) throw this.#noSuccessor();
    }
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
      result = native.hugePages(this.views.key, on);
    } catch (error) {
      throw fromNative(error, this.path);
    }
    const [err, eligible] = result;
    const applied = err === 0;
    const known = eligible === -1 ? null : eligible === 1;
    const setting = thpSetting();
    let reason = 'ok';
    if (!on) reason = 'huge pages were turned off for this mapping';
    else if (!applied) reason = `the kernel refused MADV_HUGEPAGE (errno ${err}); transparent huge pages are ${setting}`;
    else if (known === false)
      reason =
        setting === 'never'
          ? 'transparent huge pages are disabled on this system (never)'
          : 'the kernel does not offer huge pages for this mapping (its file system does not support them for file mappings)';
    else if (known === null) reason = 'the kernel accepted the hint, but /proc/self/smaps could not be read to confirm it';
    this.#huge = Object.freeze({ requested: on, applied, eligible: known, effective: on && applied && known === true, reason });
    return this.#huge;
  }

  /** @internal createReadStream's chunks: through {@link asSlice}, which follows a resize. */
  protected override streamChunk(offset: number, length: number): Uint8Array {
    return this.#w.asSlice(offset, length);
  }

  /** {@link MappedWindow.asSlice} */
  asSlice(offset: number | bigint, length: number | bigint): Uint8Array {
    return this.#w.asSlice(offset, length);
  }
  /** {@link MappedWindow.asSliceMut} */
  asSliceMut(offset: number | bigint, length: number | bigint): Uint8Array {
    return this.#w.asSliceMut(offset, length);
  }
  /** {@link MappedWindow.updateRegion} */
  updateRegion(offset: number | bigint, data: ArrayBufferView): void {
    this.#w.updateRegion(offset, data);
  }
  /** {@link MappedWindow.updateRegionAsync} */
  updateRegionAsync(offset: number | bigint, data: ArrayBufferView): Promise<void> {
    return this.#w.updateRegionAsync(offset, data);
  }
  /** {@link MappedWindow.readInto} */
  readInto(offset: number | bigint, target: ArrayBufferView): number {
    return this.#w.readInto(offset, target);
  }
  /** {@link MappedWindow.readIntoAsync} */
  readIntoAsync(offset: number | bigint, target: ArrayBufferView): Promise<number> {
    return this.#w.readIntoAsync(offset, target);
  }
  /**
   * Starts write-back of every dirty page and returns without waiting
   * (`syncAll()` waits). On `'ro'` and `'cow'` there is nothing to write back.
   */
  override flush(): void {
    this.#w.flush();
  }
  /** {@link flush} on the libuv thread pool. */
  override flushAsync(): Promise<void> {
    return this.#w.flushAsync();
  }
  /** {@link MappedWindow.flushRange} */
  flushRange(offset: number | bigint, length: number | bigint): void {
    this.#w.flushRange(offset, length);
  }
  /** {@link MappedWindow.flushRangeAsync} */
  flushRangeAsync(offset: number | bigint, length: number | bigint): Promise<void> {
    return this.#w.flushRangeAsync(offset, length);
  }
  /** {@link MappedWindow.atomicU32} */
  atomicU32(offset: number | bigint): AtomicU32 {
    return this.#w.atomicU32(offset);
  }
  /** {@link MappedWindow.atomicU64} */
  atomicU64(offset: number | bigint): AtomicU64 {
    return this.#w.atomicU64(offset);
  }
  /** {@link MappedWindow.atomicU32Slice} */
  atomicU32Slice(offset: number | bigint, count: number | bigint): Uint32Array {
    return this.#w.atomicU32Slice(offset, count);
  }
  /** {@link MappedWindow.atomicU64Slice} */
  atomicU64Slice(offset: number | bigint, count: number | bigint): BigUint64Array {
    return this.#w.atomicU64Slice(offset, count);
  }
  /** {@link MappedWindow.advise} */
  advise(offset: number | bigint, length: number | bigint, advice: Advice): void {
    this.#w.advise(offset, length, advice);
  }
  /** {@link MappedWindow.touchPages} */
  touchPages(): void {
    this.#w.touchPages();
  }
  /** {@link MappedWindow.touchPagesAsync} */
  touchPagesAsync(): Promise<void> {
    return this.#w.touchPagesAsync();
  }
  /** {@link MappedWindow.touchPagesRangeAsync} */
  touchPagesRangeAsync(offset: number | bigint, length: number | bigint): Promise<void> {
    return this.#w.touchPagesRangeAsync(offset, length);
  }
  /** {@link MappedWindow.touchPagesRange} */
  touchPagesRange(offset: number | bigint, length: number | bigint): void {
    this.#w.touchPagesRange(offset, length);
  }
  /** {@link MappedWindow.lock} */
  lock(offset: number | bigint, length: number | bigint): void {
    this.#w.lock(offset, length);
  }
  /** {@link MappedWindow.lockAsync} */
  lockAsync(offset: number | bigint, length: number | bigint): Promise<void> {
    return this.#w.lockAsync(offset, length);
  }
  /** {@link MappedWindow.lockAllAsync} */
  lockAllAsync(): Promise<void> {
    return this.#w.lockAllAsync();
  }
  /** {@link MappedWindow.unlock} */
  unlock(offset: number | bigint, length: number | bigint): void {
    this.#w.unlock(offset, length);
  }
  /** {@link MappedWindow.lockAll} */
  lockAll(): void {
    this.#w.lockAll();
  }
  /** {@link MappedWindow.unlockAll} */
  unlockAll(): void {
    this.#w.unlockAll();
  }
  /** {@link MappedWindow.chunks} */
  chunks(size: number | bigint): Iterable<Uint8Array> {
    return this.#w.chunks(size);
  }
  /** {@link MappedWindow.pages} */
  pages(): Iterable<Uint8Array> {
    return this.#w.pages();
  }
  /** {@link MappedWindow.chunksMut} */
  chunksMut(size: number | bigint): Iterable<Uint8Array> {
    return this.#w.chunksMut(size);
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

  /** {@link MappedWindow.wait} */
  wait(offset: number | bigint, expected: number, timeoutMs?: number): WaitResult {
    return this.#w.wait(offset, expected, timeoutMs);
  }
  /** {@link MappedWindow.waitAsync} */
  waitAsync(offset: number | bigint, expected: number, timeoutMs?: number): Promise<WaitResult> {
    return this.#w.waitAsync(offset, expected, timeoutMs);
  }
  /** {@link MappedWindow.notify} */
  notify(offset: number | bigint, count?: number): number {
    return this.#w.notify(offset, count);
  }
  /** {@link MappedWindow.segment} */
  segment(offset: number | bigint, length: number | bigint): MappedSegment {
    return this.#w.segment(offset, length);
  }

  /** Returns once every byte written, the size and the block allocation are on disk (msync + fsync). */
  override syncAll(): void {
    this.#core.live();
    super.syncAll();
  }

  /** {@link syncAll} on the libuv thread pool. */
  override async syncAllAsync(): Promise<void> {
    this.#core.live();
    return super.syncAllAsync();
  }

  /** A plain object to post to a worker thread, where `MemoryMappedFile.fromShared(handle)` opens the same memory. */
  override share(): SharedMappedFile {
    this.#core.live();
    return super.share();
  }

  /**
   * Closes the file in this thread (its views, atomic views and segments
   * stop working; other threads are not affected) and stops the
   * `everyMillis` flusher. Does not flush.
   */
  override close(): void {
    this.#core.stopTimer();
    this.#core.cancelWaits();
    this.#core.stopWatchers();
    this.#core.closeRetired();
    super.close();
  }
}

/**
 * Collects the options of one open or create (`MemoryMappedFile.builder`).
 * Each setter checks its value at once and returns the builder.
 */
export class MemoryMappedFileBuilder {
  readonly #path: string;
  #mode: MappingMode = 'rw';
  #size: number | undefined;
  #policy: ParsedFlushPolicy = { kind: 'manual', every: 0 };
  #eager = false;
  #huge = false;
  #exclusive = false;
  #sparse = false;
  #fileMode = 0o666;

  /** @internal */
  constructor(path: string) {
    this.#path = path;
  }

  /** `'rw'` (default), `'ro'` or `'cow'`; `create()` needs `'rw'`. */
  mode(mode: MappingMode): this {
    this.#mode = toMode(mode);
    return this;
  }
  /** Size in bytes of the file `create()` makes (required for create, refused by open). */
  size(size: number | bigint): this {
    const n = toOffset(size, 'size');
    if (n === 0) throw misuse('ERR_MMAP_EMPTY_FILE', `cannot create '${this.#path}' with size 0: an empty file cannot be mapped`, this.#path);
    this.#size = n;
    return this;
  }
  /** See {@link FlushPolicy}. */
  flushPolicy(policy: FlushPolicy): this {
    this.#policy = toFlushPolicy(policy);
    return this;
  }
  /** `'lazy'` (default) or `'eager'` (fault every page in at open). */
  touchHint(hint: TouchHint): this {
    this.#eager = toTouch(hint);
    return this;
  }
  /** Ask for transparent huge pages; the result is in `file.hugePages`. */
  hugePages(enable: boolean): this {
    this.#huge = toBoolean(enable, 'enable');
    return this;
  }
  /** With create: fail with EEXIST if the file exists. */
  exclusive(enable: boolean): this {
    this.#exclusive = toBoolean(enable, 'enable');
    return this;
  }
  /** With create: do not reserve the file's blocks. */
  sparse(enable: boolean): this {
    this.#sparse = toBoolean(enable, 'enable');
    return this;
  }
  /** With create: permission bits of a new file (default 0o666, before the umask). */
  fileMode(mode: number): this {
    toCreateRequest(this.#path, 1, { mode }); // the same check as create's
    this.#fileMode = mode;
    return this;
  }

  #createRequest(): { req: OpenRequest; o: ParsedOpenOptions } {
    if (this.#mode !== 'rw') {
      throw misuse('ERR_MMAP_INVALID_MODE', `create() makes a new file read-write; mode '${this.#mode}' can only open() an existing file`, this.#path);
    }
    if (this.#size === undefined) throw argValueError('size', 'must be set with .size(n) before create()', undefined);
    const req = toCreateRequest(this.#path, this.#size, { exclusive: this.#exclusive, sparse: this.#sparse, mode: this.#fileMode });
    return { req, o: { policy: this.#policy, eager: this.#eager, huge: this.#huge } };
  }

  #openRequest(): { req: OpenRequest; o: ParsedOpenOptions } {
    if (this.#size !== undefined) throw argValueError('size', 'is for create(); open() maps the file at its own size', this.#size);
    return { req: openRequest(this.#path, this.#mode), o: { policy: this.#policy, eager: this.#eager, huge: this.#huge } };
  }

  /** Creates the file (mode `'rw'`, size set) and maps it. */
  create(): MemoryMappedFile {
    const { req, o } = this.#createRequest();
    return finishOpen(openMapping(req), o);
  }
  /** {@link create} on the libuv thread pool. */
  async createAsync(): Promise<MemoryMappedFile> {
    const { req, o } = this.#createRequest();
    return finishOpen(await openMappingAsync(req), o);
  }
  /** Maps the existing file in the chosen mode. */
  open(): MemoryMappedFile {
    const { req, o } = this.#openRequest();
    return finishOpen(openMapping(req), o);
  }
  /** {@link open} on the libuv thread pool. */
  async openAsync(): Promise<MemoryMappedFile> {
    const { req, o } = this.#openRequest();
    return finishOpen(await openMappingAsync(req), o);
  }
}
