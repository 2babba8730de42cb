/**
 * The root of the window classes: what a window is (a span of one file in
 * one thread, checked on every call) and the checks every concern shares.
 * The public methods are added one concern per file, each a class that
 * extends the one before:
 *
 *   WindowBase (here: length, mode, path, isClosed)
 *   -> WindowCopies   (window-copies.ts: slices, copies, flushes)
 *   -> WindowAtomics  (window-atomics.ts: atomic views, wait/notify)
 *   -> WindowPages    (window-pages.ts: advice, touching, locking)
 *   -> MappedWindow   (window.ts: iteration, segments)
 *   -> MappedSegment (window.ts), and
 *      FileWindow (file-window.ts: resize, sync, share, close, ...)
 *      -> MemoryMappedFile (memory-mapped-file.ts: opens and builder)
 *
 * so each method is written once and the classes users see inherit it,
 * JSDoc included. The checks live in {@link WindowState}, reached through
 * {@link stateOf}, which only this package's modules can import.
 */
import { toOffset } from '../core/arguments.js';
import { VIEW_BYTES, type ThreadMapping } from '../core/thread-mapping.js';
import { misuse, type MmapError } from '../errors.js';
import { STATUS_FAULTS_I32 } from '../native/status-page.js';
import type { MappingMode } from './mapping-mode.js';
import type { WindowCore } from './window-core.js';

/**
 * @internal One window's place in its file and the checks of its calls.
 * Held in a private field of {@link WindowBase}: user code cannot replace
 * the core, move the base or call a check-free helper on a window it holds.
 */
export class WindowState {
  readonly core: WindowCore;
  /** Absolute offset of the window in the file. */
  readonly base: number;
  /** The window's length; for the whole file see {@link len}. */
  readonly length: number;
  /** The whole file: its length follows resizes. */
  readonly whole: boolean;

  constructor(core: WindowCore, base: number, length: number, whole: boolean) {
    this.core = core;
    this.base = base;
    this.length = length;
    this.whole = whole;
  }

  get path(): string {
    return this.core.path;
  }

  /** The window's current length (for the whole file: the file's size). */
  len(): number {
    return this.whole ? this.core.views.size : this.length;
  }

  /** Throws ERR_MMAP_CLOSED / ERR_MMAP_FAULT when the file cannot be used. */
  live(): void {
    this.core.live();
  }

  /** Checks [offset, offset + length) lies in the window; returns the absolute offset. */
  span(offset: number, length: number, what: string): number {
    const size = this.len();
    const fileSize = this.core.views.size;
    if (!this.whole && this.base + size > fileSize && offset <= size && length <= size - offset && this.base + offset + length > fileSize) {
      throw misuse(
        'ERR_MMAP_OUT_OF_BOUNDS',
        `${what} of ${length} bytes at offset ${offset} of the segment at ${this.base} passes the end of '${this.path}', which was resized to ${fileSize} bytes`,
        this.path,
      );
    }
    if (offset > size || length > size - offset) {
      throw misuse(
        'ERR_MMAP_OUT_OF_BOUNDS',
        `${what} of ${length} bytes at offset ${offset} would pass the end of ${this.whole ? `'${this.path}'` : `the segment of '${this.path}'`} (${size} bytes); ` +
          (length > size ? `at most ${size} bytes fit` : `the offset must be at most ${size - length}`),
        this.path,
      );
    }
    return this.base + offset;
  }

  /** {@link span} of the whole window. */
  all(what: string): number {
    return this.span(0, this.len(), what);
  }

  /**
   * After a copy through this thread's mapping: throws ERR_MMAP_FAULT if a
   * page of it was lost meanwhile. A shrink made by another thread during
   * the copy marks the old mapping so (its pages past the new end are cut
   * off); then the copy counts if [abs, abs + length) is still inside the
   * file (those pages were never cut, so the bytes reached the file or came
   * from it), else it is ERR_MMAP_OUT_OF_BOUNDS.
   */
  faultCheck(abs: number, length: number): void {
    const v = this.core.views;
    if (v.status[STATUS_FAULTS_I32] === 0) return;
    if (!this.core.moved) throw v.faultError();
    this.core.live();
    this.cutOff(abs, length);
  }

  /** ERR_MMAP_OUT_OF_BOUNDS when [abs, abs + length) is no longer inside the file after a resize made in another thread. */
  cutOff(abs: number, length: number): void {
    const size = this.core.views.size;
    if (abs + length > size) {
      throw misuse(
        'ERR_MMAP_OUT_OF_BOUNDS',
        `bytes ${abs}..${abs + length} of '${this.path}' were cut off by a resize to ${size} bytes (in another thread) while they were copied`,
        this.path,
      );
    }
  }

  /**
   * True when `error` is the fault a shrink (made in another thread while
   * an async call ran) recorded on the old mapping `v`, and
   * [abs, abs + length) is still inside the file; ERR_MMAP_OUT_OF_BOUNDS
   * when it is not. False for every other error.
   */
  cutByResize(error: unknown, v: ThreadMapping, abs: number, length: number): boolean {
    if ((error as { code?: unknown })?.code !== 'ERR_MMAP_FAULT') return false;
    // Resized: this thread has moved on from v already, or is about to.
    const resized = v !== this.core.views || (!v.closed && this.core.moved);
    if (!resized) return false; // a real fault
    this.core.live(); // this thread moves to the newest mapping (if it has not yet)
    this.cutOff(abs, length);
    return true;
  }

  straddleError(what: string, abs: number, length: number): MmapError {
    const boundary = (Math.floor(abs / VIEW_BYTES) + 1) * VIEW_BYTES;
    return misuse(
      'ERR_MMAP_INVALID_ARGUMENT',
      `${what}: bytes ${abs}..${abs + length} of '${this.path}' straddle the internal view boundary at ${boundary} (views are ${VIEW_BYTES} bytes); ` +
        'one view cannot cover them. Split the access at that offset, or use updateRegion/readInto, which copy across it.',
      this.path,
    );
  }
}

/**
 * @internal One contiguous piece of this thread's view holding [abs, abs + length):
 * the view and the offset inside it, or null when the span straddles two of
 * the internal 1 GiB views.
 */
export function viewPiece(core: WindowCore, abs: number, length: number): { view: Uint8Array; inner: number } | null {
  const index = Math.floor(abs / VIEW_BYTES);
  const inner = abs - index * VIEW_BYTES;
  if (length > 0 && inner + length > VIEW_BYTES) return null;
  return { view: core.views.expose(index), inner };
}

/** @internal The live window's state and the absolute offset of `length` bytes at `offset`, checked. */
export function rangeOf(w: WindowBase, offset: number | bigint, length: number | bigint, what: string): { s: WindowState; abs: number; n: number } {
  const off = toOffset(offset, 'offset');
  const n = toOffset(length, 'length');
  const s = stateOf(w);
  s.live();
  return { s, abs: s.span(off, n, what), n };
}

/** @internal The live window's state and its whole span, checked. */
export function allOf(w: WindowBase, what: string): { s: WindowState; abs: number; n: number } {
  const s = stateOf(w);
  s.live();
  return { s, abs: s.all(what), n: s.len() };
}

/** @internal A window's state, for the concern classes (set by WindowBase's static block). */
export let stateOf: (w: WindowBase) => WindowState;

/**
 * The root of {@link MappedWindow}: the accessors every window has. Not
 * constructed directly.
 */
export class WindowBase {
  // A private field (no TypeScript `private`, which is a plain property at
  // run time), reached by the concern classes through stateOf only.
  readonly #s: WindowState;

  /** @internal */
  constructor(core: WindowCore, base: number, length: number, whole = false) {
    this.#s = new WindowState(core, base, length, whole);
  }

  static {
    stateOf = (w) => w.#s;
  }

  /**
   * Length of the window in bytes; for the whole file its current size
   * (mmap-io's `len()`), which follows a resize made in any thread.
   */
  get length(): number {
    const s = this.#s;
    if (s.whole && s.core.moved) s.core.follow();
    return s.len();
  }

  /** `'ro'`, `'rw'` or `'cow'`. */
  get mode(): MappingMode {
    return this.#s.core.mode;
  }

  /** The path of the file. */
  get path(): string {
    return this.#s.core.path;
  }

  /** True once the file was closed in this thread. */
  get isClosed(): boolean {
    return this.#s.core.views.closed;
  }
}
