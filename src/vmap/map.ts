/**
 * MemoryMap and MemoryMapMut (vmap's `Map` and `MapMut`; `Map` would shadow
 * JavaScript's global); their options builder is in map-options.ts.
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
import { closeSync } from 'node:fs';
import { toOffset } from '../core/arguments.js';
import { type Descriptor, toDescriptor } from '../core/descriptor.js';
import { createMappedReadStream, type MappedReadStreamOptions } from '../core/mapped-read-stream.js';
import type { Readable } from 'node:stream';
import { type MmapError, argValueError, faultError, misuse } from '../errors.js';
import { ANONYMOUS, MapOptions, type MapState, vmapError } from './map-options.js';
import { mnative } from './native.js';

export { MapOptions } from './map-options.js';

/** Flush modes (vmap's `Flush`): wait for the data to reach the disk, or only schedule it. */
export const Flush = Object.freeze({
  /** Write the dirty pages and wait until they are on the disk (`msync(MS_SYNC)`). */
  Sync: 'sync',
  /** Schedule the dirty pages for writing and return (`msync(MS_ASYNC)`). */
  Async: 'async',
} as const);
/** A value of {@link Flush}. */
export type FlushMode = (typeof Flush)[keyof typeof Flush];

function toFlushMode(value: unknown): boolean {
  if (value === Flush.Sync) return true;
  if (value === Flush.Async) return false;
  throw argValueError('mode', "must be Flush.Sync ('sync') or Flush.Async ('async')", value);
}

function closedError(what: string): MmapError {
  return misuse('ERR_MMAP_CLOSED', `this ${what} is closed, or was converted with intoMap()/intoMapMut(); use the object that call returned`);
}

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
    return new MapOptions<MemoryMap>(false, (state) => new MemoryMap(TOKEN, state));
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
    return new MapOptions<MemoryMapMut>(true, (state) => new MemoryMapMut(TOKEN, state));
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
