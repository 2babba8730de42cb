/**
 * MemoryMap and MemoryMapMut (vmap's `Map` and `MapMut`; `Map` would shadow
 * JavaScript's global) and their options builder.
 *
 * - A map covers any window of a file, at any offset: the real mapping
 *   starts at the allocation boundary below and the difference is hidden.
 * - A map made by `open(path)` owns the descriptor it opened: `close()`
 *   (or `using`) closes it, and `flush(mode)` uses it. A map made by
 *   `map(fd)` borrows the caller's descriptor (a number or a `FileHandle`):
 *   it never duplicates or closes it, and `flush(fd, mode)` takes it again.
 * - `map.bytes` is a zero-copy Uint8Array over the window. For a read-only
 *   MemoryMap it lies over a private mapping: JavaScript has no read-only
 *   typed arrays, so a store through it must land somewhere harmless; it
 *   lands in private memory and never reaches the file.
 * - `intoMapMut()` / `intoMap()` convert in place (no copy; the map made
 *   with `.write()` carries both a shared and a private mapping of the
 *   window from the start); the object converted from, and every view taken
 *   from it, become unusable.
 *
 * Native side: native/vmap_map.c, native/bind_vmap.c. File maps are entries
 * of the process-wide mapping table, so the SIGBUS guard covers them: a
 * file truncated under a map cannot crash the process, and the next
 * `flush` reports `ERR_MMAP_FAULT`.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, unlinkSync } from 'node:fs';
import { toOffset, toPath } from '../core/arguments.js';
import { type Descriptor, toDescriptor } from '../core/descriptor.js';
import { createMappedReadStream, type MappedReadStreamOptions } from '../core/mapped-read-stream.js';
import type { Readable } from 'node:stream';
import { MmapError, argValueError, faultError, fromNative, misuse, outOfRange } from '../errors.js';
import { mnative, vnative } from './native.js';

/** Flush modes (vmap's `Flush`): wait for the data to reach the disk, or only schedule it. */
export const Flush = Object.freeze({
  /** Write the dirty pages and wait until they are on the disk (`msync(MS_SYNC)`). */
  Sync: 'sync',
  /** Schedule the dirty pages for writing and return (`msync(MS_ASYNC)`). */
  Async: 'async',
} as const);
/** A value of {@link Flush}. */
export type FlushMode = (typeof Flush)[keyof typeof Flush];

/** What the options builder has read, every value already checked. */
interface MapSettings {
  offset: number;
  /** Bytes, 'end', or undefined (the rest of the file; one allocation unit for `alloc`). */
  len: number | 'end' | undefined;
  write: boolean;
  create: boolean;
  truncate: boolean;
  copy: boolean;
  populate: boolean;
}

/** The live state of a map; moves to the new object on conversion. */
interface MapState {
  buffer: ArrayBuffer;
  bytes: Uint8Array;
  /** Has a shared half (made with `.write()`, not `.copy()`, over a file). */
  shared: boolean;
  /** May become a MemoryMapMut (`.write()` or `.copy()`). */
  writable: boolean;
  /** What errors name: the path, `fd N`, or 'anonymous memory'. */
  label: string;
  /** The descriptor `open(path)` opened, closed with the map; null for `map(fd)` (the caller's) and anonymous memory. */
  fd: number | null;
}

function toFlushMode(value: unknown): boolean {
  if (value === Flush.Sync) return true;
  if (value === Flush.Async) return false;
  throw argValueError('mode', "must be Flush.Sync ('sync') or Flush.Async ('async')", value);
}

/** The native core's errors in the library's shape. */
function vmapError(error: unknown, label: string): Error {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  if (e.code === 'ERR_MMAP_INVALID_MODE' || e.code === 'ERR_MMAP_INVALID_ARGUMENT') {
    return new MmapError(e.code, `${label}: ${String(e.message)}`);
  }
  return fromNative(error, label);
}

function closedError(what: string): MmapError {
  return misuse('ERR_MMAP_CLOSED', `this ${what} is closed, or was converted with intoMap()/intoMapMut(); use the object that call returned`);
}

/**
 * The options builder of {@link MemoryMap.withOptions} and
 * {@link MemoryMapMut.withOptions} (vmap's `Options`). Each setter checks
 * its value at once and returns the builder; `open`, `map` and `alloc`
 * make the map.
 *
 * @example
 * ```ts
 * import { MemoryMap } from 'ranged-mmap';
 * const map = MemoryMap.withOptions().offset(10).len(4).open('example');
 * map.close(); // closes the descriptor open() made
 * ```
 */
export class MapOptions<T extends MemoryMap | MemoryMapMut> {
  readonly #mutable: boolean;
  readonly #settings: MapSettings = { offset: 0, len: undefined, write: false, create: false, truncate: false, copy: false, populate: false };

  /** @internal Use `MemoryMap.withOptions()` or `MemoryMapMut.withOptions()`. */
  constructor(mutable: boolean) {
    this.#mutable = mutable;
    if (mutable) this.#settings.write = true;
  }

  /**
   * Start of the window in the file, in bytes: any offset (the real mapping
   * is aligned down to {@link allocationSize} and the difference hidden).
   * Has no meaning for anonymous memory.
   *
   * @example
   * ```ts
   * MemoryMap.withOptions().offset(10).len(4).map(fd);
   * ```
   */
  offset(offset: number): this {
    this.#settings.offset = toOffset(offset, 'offset');
    return this;
  }

  /**
   * Length of the window in bytes (at least 1, at most 4 GiB), or `'end'`
   * for the rest of the file (the default for files).
   *
   * @example
   * ```ts
   * MemoryMap.withOptions().len(4).open(path);
   * MemoryMap.withOptions().offset(100).len('end').map(fd);
   * ```
   */
  len(len: number | 'end'): this {
    if (len === 'end') {
      this.#settings.len = 'end';
      return this;
    }
    const n = toOffset(len, 'len');
    if (n < 1 || n > mnative.mapMaxLength) throw outOfRange('len', `an integer >= 1 and <= ${mnative.mapMaxLength}, or 'end'`, len);
    this.#settings.len = n;
    return this;
  }

  /**
   * Opens the file for writing (`open`) and lets the map become a
   * {@link MemoryMapMut} (`intoMapMut`). Implied by `MemoryMapMut.withOptions()`.
   *
   * @example
   * ```ts
   * const map = MemoryMap.withOptions().write().open(path);
   * const mut = map.intoMapMut();
   * ```
   */
  write(): this {
    this.#settings.write = true;
    return this;
  }

  /**
   * `open` creates the file if it does not exist (needs `write()`). With a
   * `len` past the end of the file, the file is extended to fit.
   *
   * @example
   * ```ts
   * MemoryMapMut.withOptions().create().len(4096).open(path);
   * ```
   */
  create(): this {
    this.#settings.create = true;
    return this;
  }

  /**
   * `open` truncates the file to 0 bytes first (needs `write()` and a
   * `len`); the file is then extended to `offset + len`.
   *
   * @example
   * ```ts
   * MemoryMapMut.withOptions().truncate().len(4096).open(path);
   * ```
   */
  truncate(): this {
    this.#settings.truncate = true;
    return this;
  }

  /**
   * A private (copy-on-write) map: stores change this process's copy of
   * the pages only, never the file. The map can become a
   * {@link MemoryMapMut} whatever the descriptor's mode.
   *
   * @example
   * ```ts
   * const scratch = MemoryMapMut.withOptions().copy().map(fd);
   * scratch.bytes[0] = 1; // the file is unchanged
   * ```
   */
  copy(): this {
    this.#settings.copy = true;
    return this;
  }

  /**
   * Reads the window's pages in at once (`MAP_POPULATE`), so first touches
   * do not fault.
   *
   * @example
   * ```ts
   * MemoryMap.withOptions().populate().open(path);
   * ```
   */
  populate(): this {
    this.#settings.populate = true;
    return this;
  }

  /**
   * Opens `path` with the chosen options and maps it. The map owns the
   * descriptor it opened: `close()` (or the end of a `using` block) closes
   * it too, and `flush(mode)` syncs through it. (It used to return
   * `{ map, fd }` and the caller closed the descriptor.)
   *
   * @example
   * ```ts
   * using map = MemoryMap.withOptions().len(4).open('example');
   * Buffer.from(map.bytes).toString();
   * // closed, descriptor and all, at the end of the block
   * ```
   */
  open(path: string | URL): T {
    const p = toPath(path);
    const s = { ...this.#settings };
    if ((s.create || s.truncate) && !s.write) {
      throw misuse('ERR_MMAP_INVALID_MODE', `create() and truncate() open '${p}' for writing: add write(), or use MemoryMapMut.withOptions()`, p);
    }
    if (s.truncate && typeof s.len !== 'number') {
      throw misuse('ERR_MMAP_EMPTY_FILE', `truncate() empties '${p}': give len(n) for the size to map`, p);
    }
    // No O_TRUNC: the file is emptied only once every check has passed, just
    // before it is mapped (#make), so a refused call leaves it as it was.
    const base = s.write ? constants.O_RDWR : constants.O_RDONLY;
    let fd: number;
    let created = false;
    try {
      if (s.create) {
        try {
          fd = openSync(p, base | constants.O_CREAT | constants.O_EXCL, 0o666);
          created = true;
        } catch (error) {
          if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
          fd = openSync(p, base);
        }
      } else {
        fd = openSync(p, base);
      }
    } catch (error) {
      throw fromNative(error, p);
    }
    try {
      return this.#make(fd, p, s, s.truncate, true);
    } catch (error) {
      // We opened it, so it is ours to close; a file we created goes too.
      closeSync(fd);
      if (created) {
        try {
          unlinkSync(p);
        } catch {
          // already gone
        }
      }
      throw error;
    }
  }

  /**
   * Maps a descriptor the caller already has: a number, or a `FileHandle`
   * from `node:fs/promises`. The map borrows it: it never duplicates or
   * closes it (the caller closes it, before or after the map; the map stays
   * valid either way).
   *
   * @example
   * ```ts
   * const m2 = MemoryMap.withOptions().offset(10).len(4).map(fd);
   * const handle = await fs.promises.open(path);
   * const m3 = MemoryMap.withOptions().map(handle);
   * ```
   */
  map(fd: Descriptor): T {
    const f = toDescriptor(fd, 'fd');
    return this.#make(f, `fd ${f}`, { ...this.#settings }, false, false);
  }

  /**
   * Maps anonymous memory (zero-filled, private to this thread's process):
   * `len` bytes, one {@link allocationSize} by default. `offset` is
   * ignored.
   *
   * @example
   * ```ts
   * const scratch = MemoryMapMut.withOptions().len(1 << 20).alloc();
   * scratch.bytes.fill(7);
   * ```
   */
  alloc(): T {
    const s = this.#settings;
    if (s.len === 'end') throw argValueError('len', "cannot be 'end' for anonymous memory (there is no file)", 'end');
    const length = s.len ?? vnative.pageSize;
    const label = ANONYMOUS;
    let buffer: ArrayBuffer;
    try {
      buffer = mnative.mapCreate({ fd: -1, offset: 0, length, shared: false, populate: s.populate, exposeShared: false });
    } catch (error) {
      throw vmapError(error, label);
    }
    return this.#wrap({ buffer, bytes: new Uint8Array(buffer), shared: false, writable: s.write || s.copy, label, fd: null });
  }

  #make(fd: number, label: string, s: MapSettings, truncateFirst: boolean, owned: boolean): T {
    let size: number;
    let isFile: boolean;
    try {
      const st = fstatSync(fd);
      size = st.size;
      isFile = st.isFile();
    } catch (error) {
      throw fromNative(error, label);
    }
    if (!isFile) throw misuse('ERR_MMAP_INVALID_ARGUMENT', `${label} is not a regular file; only files can be mapped (use alloc() for memory)`);
    let length: number;
    if (typeof s.len === 'number') {
      length = s.len;
      if (truncateFirst) {
        // open() with truncate(): the file becomes offset + len zero bytes.
        // Growing it first (which keeps its bytes) proves the size is
        // possible, so a refusal (EFBIG, ...) leaves the old contents.
        const target = s.offset + length;
        try {
          if (target > size) ftruncateSync(fd, target);
          ftruncateSync(fd, 0);
          ftruncateSync(fd, target);
        } catch (error) {
          throw fromNative(error, label);
        }
        size = target;
      }
      if (s.offset + length > size) {
        if (s.write && !s.copy && (s.create || s.truncate)) {
          try {
            ftruncateSync(fd, s.offset + length);
          } catch (error) {
            throw fromNative(error, label);
          }
        } else {
          throw misuse(
            'ERR_MMAP_OUT_OF_BOUNDS',
            `${label}: a window of ${length} bytes at offset ${s.offset} passes the end of the file (${size} bytes); ` +
              'map a smaller window, or extend the file (create() or truncate() with write() do)',
          );
        }
      }
    } else {
      if (s.offset > size) {
        throw misuse('ERR_MMAP_OUT_OF_BOUNDS', `${label}: offset ${s.offset} is past the end of the file (${size} bytes)`);
      }
      length = size - s.offset;
      if (length === 0)
        throw misuse('ERR_MMAP_EMPTY_FILE', `${label}: nothing to map (the file is empty from offset ${s.offset}); give len(n) with create() to extend it`);
      if (length > mnative.mapMaxLength) {
        throw misuse('ERR_MMAP_OUT_OF_BOUNDS', `${label}: the rest of the file (${length} bytes) exceeds the 4 GiB a map may cover; give len(n)`);
      }
    }
    const shared = s.write && !s.copy;
    const exposeShared = this.#mutable && shared;
    let buffer: ArrayBuffer;
    try {
      buffer = mnative.mapCreate({ fd, offset: s.offset, length, shared, populate: s.populate, exposeShared });
    } catch (error) {
      throw vmapError(error, label);
    }
    return this.#wrap({ buffer, bytes: new Uint8Array(buffer), shared, writable: s.write || s.copy, label, fd: owned ? fd : null });
  }

  #wrap(state: MapState): T {
    return (this.#mutable ? new MemoryMapMut(TOKEN, state) : new MemoryMap(TOKEN, state)) as T;
  }
}

/** The label of anonymous memory (which has no descriptor to flush through). */
const ANONYMOUS = 'anonymous memory';

/** Only this module can construct maps from a state. */
const TOKEN: unique symbol = Symbol('vmap map');

/**
 * A read-only map of a window of a file, or of anonymous memory (vmap's
 * `Map`). `bytes` is a zero-copy view; a store through it stays in this
 * process's private copy of the page and never reaches the file.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { MemoryMap } from 'ranged-mmap';
 * writeFileSync('example', 'this is a test');
 * const map = MemoryMap.withOptions().len(4).open('example'); // owns its descriptor
 * Buffer.from(map.bytes).toString(); // 'this'
 * const fd = openSync('example', 'r');
 * const m2 = MemoryMap.withOptions().offset(10).len(4).map(fd); // borrows fd
 * Buffer.from(m2.bytes).toString(); // 'test'
 * map.close();
 * m2.close();
 * closeSync(fd);
 * ```
 */
export class MemoryMap {
  #state: MapState | null;

  /** @internal Use {@link MemoryMap.withOptions}. */
  constructor(token: typeof TOKEN, state: MapState) {
    if (token !== TOKEN) throw misuse('ERR_MMAP_INVALID_STATE', 'use MemoryMap.withOptions() to make a map');
    this.#state = state;
  }

  /**
   * The options builder for a read-only map.
   *
   * @example
   * ```ts
   * const map = MemoryMap.withOptions().offset(10).len(4).open(path);
   * ```
   */
  static withOptions(): MapOptions<MemoryMap> {
    return new MapOptions<MemoryMap>(false);
  }

  /** @internal */
  protected live(): MapState {
    const s = this.#state;
    if (s === null) throw closedError('map');
    return s;
  }

  /** @internal Takes the state away (conversion, close). */
  protected take(): MapState {
    const s = this.live();
    this.#state = null;
    return s;
  }

  /**
   * The window's bytes, zero-copy (the same Uint8Array every time). It
   * becomes zero-length when the map is closed or converted.
   *
   * @example
   * ```ts
   * const text = Buffer.from(map.bytes).toString();
   * ```
   */
  get bytes(): Uint8Array {
    return this.live().bytes;
  }

  /** Length of the window in bytes. */
  get length(): number {
    return this.live().bytes.length;
  }

  /** True once closed or converted. */
  get closed(): boolean {
    return this.#state === null;
  }

  /**
   * The descriptor this map owns (the one `open(path)` opened; closed with
   * the map), or null: a map made by `map(fd)` borrows the caller's, and
   * anonymous memory has none.
   *
   * @example
   * ```ts
   * fs.fstatSync(map.fd!).size;
   * ```
   */
  get fd(): number | null {
    return this.live().fd;
  }

  /**
   * A Node `Readable` of the window's bytes from `start` to `end`
   * (inclusive, as `fs.createReadStream`), read as the consumer takes them.
   * Chunks are Buffers over the map itself (no copy): they become empty if
   * the map is closed or converted before they are consumed, so close it
   * after the stream has finished, or pass `copy: true`. Closing the map
   * while streaming destroys the stream with `ERR_MMAP_CLOSED`.
   *
   * @example
   * ```ts
   * using map = MemoryMap.withOptions().open('big.log');
   * await pipeline(map.createReadStream({ start: 100 }), process.stdout);
   * ```
   */
  createReadStream(options?: MappedReadStreamOptions): Readable {
    return createMappedReadStream(
      {
        length: () => this.live().bytes.length,
        chunk: (offset, length) => {
          const bytes = this.live().bytes;
          if (offset > bytes.length || length > bytes.length - offset) {
            throw misuse('ERR_MMAP_OUT_OF_BOUNDS', `createReadStream: ${length} bytes at offset ${offset} pass the end of the map (${bytes.length} bytes)`);
          }
          return bytes.subarray(offset, offset + length);
        },
        check: () => {
          this.live();
        },
      },
      options,
    );
  }

  /**
   * Turns the map into a {@link MemoryMapMut} over the same window, in
   * place (no copy). Only for a map made with `.write()` (stores then reach
   * the file) or `.copy()` (stores stay private); otherwise
   * `ERR_MMAP_INVALID_MODE`, and the map is unchanged. Afterwards this
   * object, and every view of its `bytes`, are unusable (`ERR_MMAP_CLOSED`).
   *
   * @example
   * ```ts
   * const map = MemoryMap.withOptions().write().len(14).open(path);
   * const mut = map.intoMapMut(); // takes over the descriptor
   * mut.bytes.set(Buffer.from('that'));
   * mut.flush(Flush.Sync);
   * ```
   */
  intoMapMut(): MemoryMapMut {
    const s = this.live();
    if (!s.writable) {
      throw misuse('ERR_MMAP_INVALID_MODE', `${s.label}: this map was made read-only; make it with .write() (or .copy()) to convert it into a MemoryMapMut`);
    }
    this.take();
    let buffer: ArrayBuffer;
    try {
      buffer = mnative.mapExpose(s.buffer, s.shared, false);
    } catch (error) {
      throw vmapError(error, s.label);
    }
    return new MemoryMapMut(TOKEN, { ...s, buffer, bytes: new Uint8Array(buffer) });
  }

  /**
   * Unmaps the window and, for a map made by `open(path)`, closes its
   * descriptor. Every view of `bytes` becomes zero-length first, so a kept
   * view can never reach unmapped memory. A borrowed descriptor (`map(fd)`)
   * is not touched. Closing twice is harmless.
   *
   * @example
   * ```ts
   * map.close();
   * ```
   */
  close(): void {
    const s = this.#state;
    if (s === null) return;
    this.#state = null;
    try {
      mnative.mapClose(s.buffer);
    } finally {
      if (s.fd !== null) closeSync(s.fd);
    }
  }

  /** `using map = ...` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A writable map of a window of a file, or of anonymous memory (vmap's
 * `MapMut`). Stores through `bytes` reach the file (made with `.write()`,
 * the default of `MemoryMapMut.withOptions()`), or stay private (`.copy()`,
 * `alloc()`).
 *
 * @example
 * ```ts
 * import { MemoryMapMut, Flush } from 'ranged-mmap';
 * using map = MemoryMapMut.withOptions().create().len(4096).open('out.bin');
 * map.bytes.set(Buffer.from('hello'));
 * map.flush(Flush.Sync);
 * ```
 */
export class MemoryMapMut extends MemoryMap {
  /** @internal Use {@link MemoryMapMut.withOptions}. */
  constructor(token: typeof TOKEN, state: MapState) {
    super(token, state);
  }

  /**
   * The options builder for a writable map (`.write()` is implied).
   *
   * @example
   * ```ts
   * const map = MemoryMapMut.withOptions().create().len(8192).open(path);
   * ```
   */
  static override withOptions(): MapOptions<MemoryMapMut> {
    return new MapOptions<MemoryMapMut>(true);
  }

  /**
   * Already a MemoryMapMut: returns a new handle and retires this one, like
   * every conversion.
   */
  override intoMapMut(): MemoryMapMut {
    return super.intoMapMut();
  }

  /**
   * Turns the map into a read-only {@link MemoryMap} over the same window,
   * in place (no copy). Afterwards this object, and every view of its
   * `bytes`, are unusable (`ERR_MMAP_CLOSED`). Flush first: conversion
   * does not.
   *
   * @example
   * ```ts
   * const ro = mut.intoMap();
   * Buffer.from(ro.bytes).toString();
   * ```
   */
  intoMap(): MemoryMap {
    const s = this.take();
    let buffer: ArrayBuffer;
    try {
      // The private half shows the file again, not stores made through an
      // earlier read-only view of it.
      buffer = mnative.mapExpose(s.buffer, false, s.shared);
    } catch (error) {
      throw vmapError(error, s.label);
    }
    return new MemoryMap(TOKEN, { ...s, buffer, bytes: new Uint8Array(buffer) });
  }

  /**
   * Writes the whole window back to the file: `Flush.Sync` waits until it
   * is on the disk, `Flush.Async` schedules it. A map made by `open(path)`
   * uses its own descriptor: `flush(mode)`. A map made by `map(fd)` takes
   * the descriptor again, `flush(fd, mode)` (a number or a FileHandle of
   * the mapped file; checked, never kept). Throws `ERR_MMAP_FAULT` if a
   * page of the map was lost (the file was truncated under it).
   *
   * @example
   * ```ts
   * owned.flush(Flush.Sync);
   * borrowed.flush(fd, Flush.Sync);
   * ```
   */
  flush(mode: FlushMode): void;
  flush(fd: Descriptor, mode: FlushMode): void;
  flush(...args: [FlushMode] | [Descriptor, FlushMode]): void {
    const [fd, mode] = args.length === 1 ? [undefined, args[0]] : args;
    const given = fd === undefined ? null : toDescriptor(fd, 'fd');
    const sync = toFlushMode(mode);
    const s = this.live();
    this.#flush(s, given ?? this.#ownFd(s), 0, s.bytes.length, sync);
  }

  /**
   * Writes `len` bytes of the window from `offset` back to the file (see
   * {@link flush}; the descriptor goes first for a map made by `map(fd)`).
   * The span must lie inside the window (`ERR_MMAP_OUT_OF_BOUNDS` otherwise).
   *
   * @example
   * ```ts
   * owned.flushRange(0, 4, Flush.Async);
   * borrowed.flushRange(fd, 0, 4, Flush.Async);
   * ```
   */
  flushRange(offset: number, len: number, mode: FlushMode): void;
  flushRange(fd: Descriptor, offset: number, len: number, mode: FlushMode): void;
  flushRange(...args: [number, number, FlushMode] | [Descriptor, number, number, FlushMode]): void {
    const [fd, offset, len, mode] = args.length === 3 ? [undefined, ...args] : args;
    const given = fd === undefined ? null : toDescriptor(fd, 'fd');
    const start = toOffset(offset, 'offset');
    const length = toOffset(len, 'len');
    const sync = toFlushMode(mode);
    const s = this.live();
    const f = given ?? this.#ownFd(s);
    const size = s.bytes.length;
    if (start > size || length > size - start) {
      throw misuse('ERR_MMAP_OUT_OF_BOUNDS', `${s.label}: a span of ${length} bytes at offset ${start} passes the end of the map (${size} bytes)`);
    }
    this.#flush(s, f, start, length, sync);
  }

  /** The descriptor a flush without one goes through: the map's own (none is needed for anonymous memory). */
  #ownFd(s: MapState): number {
    if (s.fd !== null) return s.fd;
    if (s.label === ANONYMOUS) return -1;
    throw misuse(
      'ERR_MMAP_INVALID_ARGUMENT',
      `${s.label}: this map borrows its descriptor (made by map(fd)), so it has none of its own to flush through; pass it: flush(fd, mode)`,
    );
  }

  #flush(s: MapState, fd: number, offset: number, length: number, sync: boolean): void {
    try {
      mnative.mapFlush(s.buffer, fd, offset, length, sync);
    } catch (error) {
      const e = error as Record<string, unknown>;
      if (e?.code === 'ERR_MMAP_FAULT' && typeof e.faults === 'number') {
        throw faultError(s.label, e as unknown as Parameters<typeof faultError>[1]);
      }
      // The descriptor checked is the one passed, not the one the map was made from: name it.
      if (e?.syscall === 'fstat') throw vmapError(error, `fd ${fd}`);
      if (e?.code === 'ERR_MMAP_INVALID_ARGUMENT') {
        throw misuse('ERR_MMAP_INVALID_ARGUMENT', `${s.label}: fd ${fd}, passed to flush, does not name the mapped file; pass a descriptor of that file`);
      }
      throw vmapError(error, s.label);
    }
  }
}
