/**
 * Atomics of a window: atomic views of aligned words, typed arrays for
 * `Atomics.*`, and futex wait/notify on the mapping.
 */
import { type AbortOptions, signalOf, throwIfAborted, whenAborted } from '../core/abort.js';
import { toOffset } from '../core/arguments.js';
import { argTypeError, fromNative, misuse, outOfRange } from '../errors.js';
import { native } from '../native/binding.js';
import { AtomicU32, AtomicU64 } from './atomic-view.js';
import { stateOf, viewPiece, type WindowState } from './window-base.js';
import { WindowCopies } from './window-copies.js';

/** What `wait` and `waitAsync` report, as `Atomics.wait` does. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';
const WAIT_RESULTS: readonly WaitResult[] = ['ok', 'not-equal', 'timed-out'];
/** What the native wait reports when the file was closed in this thread meanwhile. */
const WAIT_CLOSED = 3;

function toTimeout(value: unknown): number {
  if (value === undefined) return Infinity;
  if (typeof value !== 'number') throw argTypeError('timeoutMs', 'of type number', value);
  if (Number.isNaN(value) || value < 0) throw outOfRange('timeoutMs', 'a number >= 0 (Infinity: no timeout)', value);
  return value;
}

function toU32(value: unknown, name: string): number {
  if (typeof value !== 'number') throw argTypeError(name, 'of type number', value);
  if (value >>> 0 !== value) throw outOfRange(name, 'an integer >= 0 and <= 4294967295', value);
  return value;
}

/**
 * Checks `count` words of `width` bytes at `offset`: aligned (in the file
 * too), inside the window and inside one internal view.
 */
function atomicSpan(
  s: WindowState,
  offset: unknown,
  count: number,
  width: number,
  what: string,
): { abs: number; view: Uint8Array; inner: number; off: number } {
  const off = toOffset(offset, 'offset');
  s.live();
  if (off % width !== 0 || s.base % width !== 0) {
    throw misuse(
      'ERR_MMAP_MISALIGNED',
      `${what} needs an offset that is a multiple of ${width}; got ${off}${s.base % width !== 0 ? ` in a segment starting at file offset ${s.base}` : ''}. ` +
        `The nearest aligned offsets are ${off - (off % width)} and ${off - (off % width) + width}`,
      s.path,
    );
  }
  const abs = s.span(off, count * width, what);
  const piece = viewPiece(s.core, abs, count * width);
  if (piece === null) throw s.straddleError(what, abs, count * width);
  return { abs, off, view: piece.view, inner: piece.inner };
}

/**
 * Atomic views and wait/notify of {@link MappedWindow}; see there. Not
 * constructed directly.
 */
export class WindowAtomics extends WindowCopies {
  /**
   * An atomic view of the unsigned 32-bit word at `offset` (a multiple of 4).
   * A view keeps working through a resize made by another thread: until
   * its own thread makes another call on the file (which follows the
   * resize), its operations go to the mapping it was made on, which still
   * reaches the file after a grow (a word cut off by a shrink reports
   * `ERR_MMAP_FAULT`). The replaced mapping is freed once no view uses it,
   * so a thread that only ever runs atomic operations while others grow
   * the file should make a call on the file now and then.
   * @example
   * ```ts
   * const c = file.atomicU32(0);
   * c.add(1);
   * ```
   * @throws ERR_MMAP_MISALIGNED, ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED
   */
  atomicU32(offset: number | bigint): AtomicU32 {
    const s = stateOf(this);
    const a = atomicSpan(s, offset, 1, 4, 'atomicU32');
    return new AtomicU32(s.core, new Uint32Array(a.view.buffer, a.inner, 1), a.off, a.abs);
  }

  /**
   * An atomic view of the unsigned 64-bit word at `offset` (a multiple of 8).
   * A view keeps working through a resize made by another thread: until
   * its own thread makes another call on the file (which follows the
   * resize), its operations go to the mapping it was made on, which still
   * reaches the file after a grow (a word cut off by a shrink reports
   * `ERR_MMAP_FAULT`). The replaced mapping is freed once no view uses it,
   * so a thread that only ever runs atomic operations while others grow
   * the file should make a call on the file now and then.
   * @example
   * ```ts
   * const c = file.atomicU64(8);
   * c.add(1n);
   * ```
   * @throws ERR_MMAP_MISALIGNED, ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED
   */
  atomicU64(offset: number | bigint): AtomicU64 {
    const s = stateOf(this);
    const a = atomicSpan(s, offset, 1, 8, 'atomicU64');
    return new AtomicU64(s.core, new BigUint64Array(a.view.buffer, a.inner, 1), a.off, a.abs);
  }

  /**
   * `count` unsigned 32-bit words at `offset` (a multiple of 4) as a
   * `Uint32Array` over the mapping, for `Atomics.*` (not `Atomics.wait`).
   * On `'ro'` stores through it stay in this process's private copy.
   * @example
   * ```ts
   * const words = file.atomicU32Slice(0, 16);
   * Atomics.add(words, 3, 1);
   * ```
   * @throws ERR_MMAP_MISALIGNED, ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED
   */
  atomicU32Slice(offset: number | bigint, count: number | bigint): Uint32Array {
    const n = toOffset(count, 'count');
    const a = atomicSpan(stateOf(this), offset, n, 4, 'atomicU32Slice');
    return new Uint32Array(a.view.buffer, a.inner, n);
  }

  /**
   * `count` unsigned 64-bit words at `offset` (a multiple of 8) as a
   * `BigUint64Array` over the mapping, for `Atomics.*`.
   * @example
   * ```ts
   * const words = file.atomicU64Slice(0, 4);
   * Atomics.add(words, 0, 1n);
   * ```
   * @throws ERR_MMAP_MISALIGNED, ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED
   */
  atomicU64Slice(offset: number | bigint, count: number | bigint): BigUint64Array {
    const n = toOffset(count, 'count');
    const a = atomicSpan(stateOf(this), offset, n, 8, 'atomicU64Slice');
    return new BigUint64Array(a.view.buffer, a.inner, n);
  }

  /**
   * Sleeps until another thread or process calls {@link notify} on the
   * 32-bit word at `offset` (a multiple of 4), as `Atomics.wait` does but on
   * the mapping (which `Atomics.wait` refuses): `'not-equal'` at once if the
   * word is not `expected`, `'timed-out'` after `timeoutMs` (default: no
   * timeout). On a `'rw'` file the waiters and notifiers can be in other
   * processes that map the same file; on `'ro'`/`'cow'` (private memory)
   * only this process's threads meet. Blocks the calling thread: use
   * {@link waitAsync} on a thread with an event loop to keep.
   * @example
   * ```ts
   * // worker: sleep until the word at 0 changes from 0
   * while (file.atomicU32(0).load() === 0) file.wait(0, 0);
   * // elsewhere: file.atomicU32(0).store(1); file.notify(0);
   * ```
   * @throws ERR_MMAP_MISALIGNED, ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED
   */
  wait(offset: number | bigint, expected: number, timeoutMs?: number): WaitResult {
    const value = toU32(expected, 'expected');
    const timeout = toTimeout(timeoutMs);
    const s = stateOf(this);
    const a = atomicSpan(s, offset, 1, 4, 'wait');
    const v = s.core.views;
    let r: number;
    try {
      r = native.futexWait(v.key, a.abs, value, timeout);
    } catch (error) {
      throw fromNative(error, v.path);
    }
    return WAIT_RESULTS[r]!;
  }

  /**
   * {@link wait} without blocking: the wait runs on a thread of its own
   * (never on the libuv pool, whose threads `fs` needs), and the promise
   * settles with the same results. Closing the file in this thread rejects
   * it with `ERR_MMAP_CLOSED`. A pending wait keeps the process alive, as
   * pending I/O does. Aborting `options.signal` rejects with an
   * `AbortError` at once and ends the wait (its thread is woken and exits).
   * @example
   * ```ts
   * const r = await file.waitAsync(0, 0, 5000); // 'ok' | 'not-equal' | 'timed-out'
   * await file.waitAsync(0, 0, undefined, { signal: AbortSignal.timeout(100) }); // or an AbortError
   * ```
   */
  async waitAsync(offset: number | bigint, expected: number, timeoutMs?: number, options?: AbortOptions): Promise<WaitResult> {
    const signal = signalOf(options);
    const value = toU32(expected, 'expected');
    const timeout = toTimeout(timeoutMs);
    const s = stateOf(this);
    const a = atomicSpan(s, offset, 1, 4, 'waitAsync');
    throwIfAborted(signal);
    const v = s.core.views;
    let id: number;
    let pending: Promise<number>;
    try {
      [id, pending] = native.futexWaitAsync(v.key, a.abs, value, timeout);
    } catch (error) {
      throw fromNative(error, v.path);
    }
    const waits = s.core.waits;
    waits.add(id);
    const job = (async (): Promise<WaitResult> => {
      let r: number;
      try {
        r = await pending;
      } catch (error) {
        throw fromNative(error, v.path);
      } finally {
        waits.delete(id);
      }
      if (r === WAIT_CLOSED) throw misuse('ERR_MMAP_CLOSED', `'${v.path}' was closed in this thread while waitAsync(${a.off}) was waiting`, v.path);
      return WAIT_RESULTS[r]!;
    })();
    // On abort the waiting thread is woken by the same cancellation close()
    // uses (its ERR_MMAP_CLOSED is swallowed: the AbortError went first),
    // so no thread stays parked on the word.
    return whenAborted(job, signal, () => native.futexWaitCancel(id));
  }

  /**
   * Wakes up to `count` (default: all) waiters of {@link wait} /
   * {@link waitAsync} on the 32-bit word at `offset`, in every thread and,
   * on a `'rw'` file, every process; returns how many were woken.
   * @example
   * ```ts
   * file.atomicU32(0).store(1);
   * file.notify(0);
   * ```
   */
  notify(offset: number | bigint, count?: number): number {
    let n = Infinity;
    if (count !== undefined) {
      if (typeof count !== 'number') throw argTypeError('count', 'of type number', count);
      if (count !== Infinity && (!Number.isInteger(count) || count < 0)) throw outOfRange('count', 'an integer >= 0, or Infinity', count);
      n = count;
    }
    const s = stateOf(this);
    const a = atomicSpan(s, offset, 1, 4, 'notify');
    const v = s.core.views;
    try {
      return native.futexNotify(v.key, a.abs, n);
    } catch (error) {
      throw fromNative(error, v.path);
    }
  }
}
