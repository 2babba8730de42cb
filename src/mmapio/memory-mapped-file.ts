/**
 * MemoryMappedFile: mmap-io's API in camelCase, on the same core as
 * MmapFile and RawMmapFile (one mapping table, one set of copy routes, one
 * fault guard, one thread story).
 */
import { readOptions, toBoolean, toOffset, toPath } from '../core/arguments.js';
import type { PathLike } from '../core/path-like.js';
import { attachShared, openMapping, openMappingAsync, toCreateRequest, type OpenRequest, type SharedMappedFile } from '../core/mapped-file-base.js';
import type { ThreadMapping } from '../core/thread-mapping.js';
import { type AbortOptions, openAbortable, signalOf, throwIfAborted } from '../core/abort.js';
import { MmapError, argValueError, misuse } from '../errors.js';
import { toFlushPolicy, type FlushPolicy, type ParsedFlushPolicy } from './flush-policy.js';
import { FileWindow, isFileWindow } from './file-window.js';
import {
  CREATE_KEYS,
  OPEN_KEYS,
  openRequest,
  toMode,
  toOpenOptions,
  toTouch,
  type MemoryMappedFileCreateOptions,
  type MemoryMappedFileOpenAsyncOptions,
  type MemoryMappedFileOptions,
  type ParsedOpenOptions,
  type TouchHint,
} from './open-options.js';
import type { MappingMode } from './mapping-mode.js';

export type { HugePageReport } from './huge-pages.js';
export type { MemoryMappedFileCreateOptions, MemoryMappedFileOpenAsyncOptions, MemoryMappedFileOptions, TouchHint } from './open-options.js';

/** True for a genuine MemoryMappedFile (a brand check; runs no user code). Set by the class's static block. */
export let isMemoryMappedFile: (value: unknown) => value is MemoryMappedFile;

/** Set by MemoryMappedFile's static block: its private #finish, for the builder. */
let finishOpen: (views: ThreadMapping, o: ParsedOpenOptions) => MemoryMappedFile;

/** The file an async open makes, or the `AbortError` as soon as `signal` aborts (`openAbortable` in core/abort). */
function openFileAbortable(opening: Promise<ThreadMapping>, o: ParsedOpenOptions, signal: AbortSignal | undefined): Promise<MemoryMappedFile> {
  return openAbortable(
    opening,
    signal,
    (views) => finishOpen(views, o),
    (views) => views.close(),
  );
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
export class MemoryMappedFile extends FileWindow {
  private constructor(views: ThreadMapping, policy: ParsedFlushPolicy) {
    super(views, policy);
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
    const signal = signalOf(options);
    throwIfAborted(signal);
    return openFileAbortable(openMappingAsync(openRequest(p, mode)), o, signal);
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

  /**
   * {@link createRw} on the libuv thread pool. It takes no AbortSignal: a
   * create the abort overtook would already have made (or replaced) the
   * file, which cannot be undone safely.
   * @example
   * ```ts
   * const m = await MemoryMappedFile.createRwAsync('data.bin', 1 << 30);
   * ```
   */
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

  /**
   * {@link openRo} on the libuv thread pool. Aborting `options.signal`
   * rejects with an `AbortError` at once; a mapping made after the abort
   * is closed, so nothing is left open.
   * @example
   * ```ts
   * const m = await MemoryMappedFile.openRoAsync('data.bin');
   * ```
   */
  static openRoAsync(path: PathLike, options?: MemoryMappedFileOpenAsyncOptions): Promise<MemoryMappedFile> {
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

  /**
   * {@link openRw} on the libuv thread pool. Aborting `options.signal`
   * rejects with an `AbortError` at once; a mapping made after the abort
   * is closed, so nothing is left open.
   * @example
   * ```ts
   * const m = await MemoryMappedFile.openRwAsync('data.bin');
   * ```
   */
  static openRwAsync(path: PathLike, options?: MemoryMappedFileOpenAsyncOptions): Promise<MemoryMappedFile> {
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

  /**
   * {@link openCow} on the libuv thread pool. Aborting `options.signal`
   * rejects with an `AbortError` at once; a mapping made after the abort
   * is closed, so nothing is left open.
   * @example
   * ```ts
   * const m = await MemoryMappedFile.openCowAsync('template.bin');
   * ```
   */
  static openCowAsync(path: PathLike, options?: MemoryMappedFileOpenAsyncOptions): Promise<MemoryMappedFile> {
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

  /**
   * {@link openOrCreate} on the libuv thread pool. No AbortSignal, for the
   * reason given at {@link createRwAsync}.
   * @example
   * ```ts
   * const m = await MemoryMappedFile.openOrCreateAsync('state.bin', 4096);
   * ```
   */
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
    isMemoryMappedFile = (value) => isFileWindow(value);
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
  /**
   * {@link create} on the libuv thread pool. It takes no AbortSignal: a
   * create the abort overtook would already have made (or replaced) the
   * file, which cannot be undone safely.
   */
  async createAsync(): Promise<MemoryMappedFile> {
    const { req, o } = this.#createRequest();
    return finishOpen(await openMappingAsync(req), o);
  }
  /** Maps the existing file in the chosen mode. */
  open(): MemoryMappedFile {
    const { req, o } = this.#openRequest();
    return finishOpen(openMapping(req), o);
  }
  /** {@link open} on the libuv thread pool; `options.signal` as in `MemoryMappedFile.openRwAsync`. */
  async openAsync(options?: AbortOptions): Promise<MemoryMappedFile> {
    const signal = signalOf(options);
    const { req, o } = this.#openRequest();
    throwIfAborted(signal);
    return openFileAbortable(openMappingAsync(req), o, signal);
  }
}
