/**
 * The last of the window classes (see window-base.ts for the chain):
 * iteration in chunks and pages, and segments. {@link MappedWindow} has
 * every window method; {@link MemoryMappedFile} (the whole file) and
 * {@link MappedSegment} extend it. Offsets are relative to the window;
 * every call checks them against the window.
 */
import { toOffset } from '../core/arguments.js';
import { VIEW_BYTES } from '../core/thread-mapping.js';
import { argValueError, misuse, outOfRange } from '../errors.js';
import { rangeOf, stateOf, type WindowState } from './window-base.js';
import { PAGE_BYTES, WindowPages } from './window-pages.js';

export { PAGE_BYTES } from './window-pages.js';
export type { WaitResult } from './window-atomics.js';

function toChunkSize(size: unknown): number {
  const n = toOffset(size, 'size');
  if (n === 0) throw outOfRange('size', 'an integer >= 1', size);
  return n;
}

/**
 * Every call of a window: slices, copies and flushes, atomic views and
 * wait/notify, advice, touching and locking, iteration and segments.
 * {@link MemoryMappedFile} and {@link MappedSegment} extend it; see those
 * for the whole picture. Not constructed directly.
 */
export class MappedWindow extends WindowPages {
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
    const n = toChunkSize(size);
    const s = stateOf(this);
    s.live();
    return new ChunkIterable(s, n, false);
  }

  /**
   * {@link chunks} of one page (4096 bytes).
   * @example
   * ```ts
   * for (const page of file.pages()) consume(page);
   * ```
   */
  pages(): Iterable<Uint8Array> {
    const s = stateOf(this);
    s.live();
    return new ChunkIterable(s, PAGE_BYTES, false);
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
    const n = toChunkSize(size);
    const s = stateOf(this);
    s.live();
    s.core.refuseWrite('chunksMut');
    // Every piece starts at base + k * n; it stays in one view for all k
    // when the window fits in one view, or when n divides the view size
    // and the window starts on a multiple of n within its view.
    const first = Math.floor(s.base / VIEW_BYTES);
    const last = Math.floor((s.base + Math.max(s.len(), 1) - 1) / VIEW_BYTES);
    if (first !== last && (VIEW_BYTES % n !== 0 || (s.base % VIEW_BYTES) % n !== 0)) {
      throw argValueError('size', `must divide ${VIEW_BYTES} (and the segment's offset within it) for a window that crosses an internal view boundary`, size);
    }
    return new ChunkIterable(s, n, true);
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
    const r = rangeOf(this, offset, length, 'segment');
    return new MappedSegment(r.s.core, r.abs, r.n);
  }
}

/** The piece at [abs, abs + length) of the window `s`: a view, or a copy when it straddles views. */
function pieceOf(s: WindowState, abs: number, length: number, writable: boolean): Uint8Array {
  if (s.core.moved) s.core.live();
  const v = s.core.views;
  if (v.closed) throw v.closedError();
  if (abs + length > v.size) {
    throw misuse(
      'ERR_MMAP_OUT_OF_BOUNDS',
      `the iteration reached bytes ${abs}..${abs + length} of '${s.path}', which was resized to ${v.size} bytes meanwhile`,
      s.path,
    );
  }
  // As viewPiece, without its result object: a step allocates only the view it yields.
  const index = Math.floor(abs / VIEW_BYTES);
  const inner = abs - index * VIEW_BYTES;
  if (length > 0 && inner + length > VIEW_BYTES) {
    if (writable) throw s.straddleError('chunksMut', abs, length);
    return v.slice(abs, length);
  }
  return v.expose(index).subarray(inner, inner + length);
}

/** The iterable `chunks()`, `pages()` and `chunksMut()` return; each iteration starts at the window's start. */
class ChunkIterable implements Iterable<Uint8Array> {
  readonly #s: WindowState;
  readonly #size: number;
  readonly #writable: boolean;
  constructor(s: WindowState, size: number, writable: boolean) {
    this.#s = s;
    this.#size = size;
    this.#writable = writable;
  }
  [Symbol.iterator](): Iterator<Uint8Array> {
    return new ChunkIterator(this.#s, this.#size, this.#writable);
  }
}

/**
 * Returns the same result object from every `next()` (only its fields
 * change), so a step allocates nothing but the view it yields.
 */
class ChunkIterator implements Iterator<Uint8Array> {
  readonly #s: WindowState;
  readonly #size: number;
  readonly #writable: boolean;
  readonly #end: number;
  #at: number;
  readonly #result: { done: boolean; value: Uint8Array } = { done: false, value: new Uint8Array(0) };

  constructor(s: WindowState, size: number, writable: boolean) {
    this.#s = s;
    this.#size = size;
    this.#writable = writable;
    this.#at = s.base;
    this.#end = this.#at + s.len();
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
    r.value = pieceOf(this.#s, at, n, this.#writable);
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
  /** @internal */
  constructor(...args: ConstructorParameters<typeof MappedWindow>) {
    super(...args);
    Object.freeze(this);
  }

  /** Offset of the segment's first byte in the file. */
  get start(): number {
    return stateOf(this).base;
  }
}
