/**
 * The options builder of MemoryMap and MemoryMapMut (vmap's `Options`):
 * checks each setting, opens or takes the file, and makes the mapping
 * (native/vmap_map.c); map.ts wraps the result in the map class.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, unlinkSync } from 'node:fs';
import { toOffset, toPath } from '../core/arguments.js';
import { type Descriptor, toDescriptor } from '../core/descriptor.js';
import { MmapError, argValueError, fromNative, misuse, outOfRange } from '../errors.js';
import { mnative, vnative } from './native.js';

/** @internal The label of anonymous memory (which has no descriptor to flush through). */
export const ANONYMOUS = 'anonymous memory';

/** @internal What the options builder has read, every value already checked. */
export interface MapSettings {
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
/** @internal */
export interface MapState {
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

/** @internal The native core's errors in the library's shape. */
export function vmapError(error: unknown, label: string): Error {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  if (e.code === 'ERR_MMAP_INVALID_MODE' || e.code === 'ERR_MMAP_INVALID_ARGUMENT') {
    return new MmapError(e.code, `${label}: ${String(e.message)}`);
  }
  return fromNative(error, label);
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
export class MapOptions<T> {
  readonly #mutable: boolean;
  readonly #wrap: (state: MapState) => T;
  readonly #settings: MapSettings = { offset: 0, len: undefined, write: false, create: false, truncate: false, copy: false, populate: false };

  /** @internal Use `MemoryMap.withOptions()` or `MemoryMapMut.withOptions()`. */
  constructor(mutable: boolean, wrap: (state: MapState) => T) {
    this.#mutable = mutable;
    this.#wrap = wrap;
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
}
