/**
 * Pages of a window: advice to the kernel, faulting pages in ahead of use
 * (touch), and locking them in memory.
 */
import { type AbortOptions, signalOf, throwIfAborted, whenAborted } from '../core/abort.js';
import { toOffset } from '../core/arguments.js';
import { VIEW_BYTES } from '../core/thread-mapping.js';
import { fromNative, type MmapError } from '../errors.js';
import { native } from '../native/binding.js';
import { toAdvice, type Advice } from './advice.js';
import { allOf, rangeOf, stateOf, type WindowState } from './window-base.js';
import { WindowAtomics } from './window-atomics.js';

/** Page size used by `pages()` and page pre-touching. */
export const PAGE_BYTES = 4096;
const MADV_POPULATE_READ = 22;
const EINVAL_CODE = 'EINVAL';

/** Faults in the pages of [abs, abs + length), on this thread. */
function touch(s: WindowState, abs: number, length: number): void {
  const v = s.core.views;
  if (length === 0) return;
  let populated = false;
  try {
    native.advise(v.key, abs, length, MADV_POPULATE_READ);
    populated = true;
  } catch (error) {
    const e = fromNative(error, v.path) as MmapError;
    if (e.code !== EINVAL_CODE) throw e;
  }
  if (populated) {
    // Pages another process truncated away are recorded, not thrown, by
    // the native side: report them here as for a copy.
    s.faultCheck(abs, length);
    return;
  }
  // Kernel older than 5.14: read one byte of every page.
  let sum = 0;
  for (let at = abs - (abs % PAGE_BYTES); at < abs + length; at += PAGE_BYTES) {
    const index = Math.floor(at / VIEW_BYTES);
    sum += v.view(index)[at - index * VIEW_BYTES] ?? 0;
  }
  s.faultCheck(abs, length);
  void sum;
}

/** {@link touch} with the page faults taken on the libuv pool; an abort stops the wait (the pages may still come in). */
function touchAsync(s: WindowState, abs: number, length: number, signal: AbortSignal | undefined): Promise<void> {
  throwIfAborted(signal);
  return whenAborted(touchJob(s, abs, length), signal);
}

async function touchJob(s: WindowState, abs: number, length: number): Promise<void> {
  const v = s.core.views;
  if (length === 0) return;
  try {
    await native.touchAsync(v.key, abs, length);
  } catch (error) {
    if (!s.cutByResize(error, v, abs, length)) throw fromNative(error, v.path);
    return;
  }
  // A fault recorded while the pages came in (the file was truncated by
  // another process) is reported as for a copy; once the file is closed
  // in this thread there is nobody left to report it to.
  if (!s.core.views.closed) s.faultCheck(abs, length);
}

/** `mlock` (`lock`) or `munlock` the pages of [abs, abs + length). */
function memLock(s: WindowState, abs: number, length: number, lock: boolean): void {
  const v = s.core.views;
  try {
    native.memLock(v.key, abs, length, lock);
  } catch (error) {
    throw fromNative(error, v.path);
  }
  if (lock) s.faultCheck(abs, length);
}

/** {@link memLock} (locking) on the libuv pool; an abort stops the wait (a queued lock is still made). */
function memLockAsync(s: WindowState, abs: number, length: number, signal: AbortSignal | undefined): Promise<void> {
  throwIfAborted(signal);
  return whenAborted(memLockJob(s, abs, length), signal);
}

async function memLockJob(s: WindowState, abs: number, length: number): Promise<void> {
  const v = s.core.views;
  try {
    await native.memLockAsync(v.key, abs, length);
  } catch (error) {
    throw fromNative(error, v.path);
  }
  // Pages lost to a truncation are recorded by the native side (and left
  // unlocked), not thrown: report them as for a copy.
  if (!s.core.views.closed) s.faultCheck(abs, length);
}

/**
 * Advice, page touching and locking of {@link MappedWindow}; see there.
 * Not constructed directly.
 */
export class WindowPages extends WindowAtomics {
  /**
   * Tells the kernel how `length` bytes at `offset` will be used
   * (`madvise`); see {@link Advice}.
   * @example
   * ```ts
   * file.advise(0, file.length, 'sequential');
   * ```
   * @throws ERR_INVALID_ARG_VALUE for an unknown advice, ERR_MMAP_OUT_OF_BOUNDS, or a system error with `syscall: 'madvise'`
   */
  advise(offset: number | bigint, length: number | bigint, advice: Advice): void {
    const off = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    const value = toAdvice(advice);
    const s = stateOf(this);
    s.live();
    const abs = s.span(off, n, 'advise');
    const v = s.core.views;
    try {
      native.advise(v.key, abs, n, value);
    } catch (error) {
      throw fromNative(error, v.path);
    }
    // A loss the native side found and recorded (the file was truncated).
    s.faultCheck(abs, n);
  }

  /**
   * Faults in every page of the window now (read access, so nothing is
   * dirtied), so later accesses do not wait on page faults.
   * @example
   * ```ts
   * file.touchPages();
   * ```
   */
  touchPages(): void {
    const r = allOf(this, 'touchPages');
    touch(r.s, r.abs, r.n);
  }

  /**
   * {@link touchPages} for `length` bytes at `offset`.
   * @example
   * ```ts
   * file.touchPagesRange(0, 1 << 20);
   * ```
   */
  touchPagesRange(offset: number | bigint, length: number | bigint): void {
    const r = rangeOf(this, offset, length, 'touchPagesRange');
    touch(r.s, r.abs, r.n);
  }

  /**
   * {@link touchPages} with the page faults taken on the libuv thread pool
   * (they may wait on the disk), so the event loop keeps running.
   * Aborting `options.signal` rejects with an `AbortError` at once; pages
   * already being faulted in still come in.
   * @example
   * ```ts
   * await file.touchPagesAsync();
   * ```
   */
  async touchPagesAsync(options?: AbortOptions): Promise<void> {
    const signal = signalOf(options);
    const r = allOf(this, 'touchPagesAsync');
    return touchAsync(r.s, r.abs, r.n, signal);
  }

  /**
   * {@link touchPagesAsync} for `length` bytes at `offset`.
   * @example
   * ```ts
   * await file.touchPagesRangeAsync(0, 1 << 20);
   * ```
   */
  async touchPagesRangeAsync(offset: number | bigint, length: number | bigint, options?: AbortOptions): Promise<void> {
    const signal = signalOf(options);
    const r = rangeOf(this, offset, length, 'touchPagesRangeAsync');
    return touchAsync(r.s, r.abs, r.n, signal);
  }

  /**
   * Locks the pages of `length` bytes at `offset` in memory (`mlock`).
   * A low `RLIMIT_MEMLOCK` is an `ENOMEM` (or `EPERM`) error with
   * `syscall: 'mlock'`. Locks are per process and end with the mapping.
   * @example
   * ```ts
   * file.lock(0, 4096);
   * file.unlock(0, 4096);
   * ```
   */
  lock(offset: number | bigint, length: number | bigint): void {
    const r = rangeOf(this, offset, length, 'lock');
    memLock(r.s, r.abs, r.n, true);
  }

  /**
   * {@link lock} with the `mlock` (which faults every page in first, and
   * so can wait on the disk) on the libuv thread pool. Aborting
   * `options.signal` rejects with an `AbortError` at once; an `mlock`
   * already queued is still made, so the pages may end up locked (call
   * {@link unlock} to be sure they are not).
   * @example
   * ```ts
   * await file.lockAsync(0, 1 << 20);
   * ```
   */
  async lockAsync(offset: number | bigint, length: number | bigint, options?: AbortOptions): Promise<void> {
    const signal = signalOf(options);
    const r = rangeOf(this, offset, length, 'lockAsync');
    return memLockAsync(r.s, r.abs, r.n, signal);
  }

  /**
   * Unlocks pages locked by {@link lock} (`munlock`).
   * @example
   * ```ts
   * file.unlock(0, 4096);
   * ```
   */
  unlock(offset: number | bigint, length: number | bigint): void {
    const r = rangeOf(this, offset, length, 'unlock');
    memLock(r.s, r.abs, r.n, false);
  }

  /**
   * {@link lock} over the whole window.
   * @example
   * ```ts
   * file.lockAll();
   * ```
   */
  lockAll(): void {
    const r = allOf(this, 'lockAll');
    memLock(r.s, r.abs, r.n, true);
  }

  /**
   * {@link lockAsync} over the whole window.
   * @example
   * ```ts
   * await file.lockAllAsync();
   * ```
   */
  async lockAllAsync(options?: AbortOptions): Promise<void> {
    const signal = signalOf(options);
    const r = allOf(this, 'lockAllAsync');
    return memLockAsync(r.s, r.abs, r.n, signal);
  }

  /**
   * {@link unlock} over the whole window.
   * @example
   * ```ts
   * file.unlockAll();
   * ```
   */
  unlockAll(): void {
    const r = allOf(this, 'unlockAll');
    memLock(r.s, r.abs, r.n, false);
  }
}
