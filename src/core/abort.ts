/**
 * AbortSignal plumbing shared by every async call that takes `{ signal }`.
 *
 * Three functions, used in this order by an async call:
 *
 * - `signalOf(options, name)` reads the call's options object once and
 *   returns its `signal` (or undefined). `options` must be undefined or an
 *   object; `signal` undefined or an AbortSignal; anything else throws
 *   Node's `ERR_INVALID_ARG_TYPE` shape (synchronously: validate before
 *   making the promise).
 * - `throwIfAborted(signal)` throws the `AbortError` at once for a signal
 *   that is already aborted (call it before starting any work, so an
 *   already-aborted call changes nothing).
 * - `whenAborted(promise, signal, onAbort?)` returns a promise that settles
 *   as `promise` does, or rejects with the `AbortError` as soon as the
 *   signal aborts, whichever comes first. It adds one listener to the
 *   signal and removes it when it settles either way, so nothing is left
 *   on a long-lived signal. `onAbort` runs once, on abort, to cut the wait
 *   short (wake a sleeping thread); the work behind `promise` is not
 *   cancelled by this module: the caller documents what happens to it. A
 *   rejection of `promise` after the abort is swallowed (it has no one left
 *   to report to). With no signal, `promise` itself is returned.
 *
 * The async opens use `openAbortable(opening, signal, finish, close)`
 * instead of `whenAborted`: the mapping an aborted open still receives
 * must be closed, not dropped.
 *
 * The error is Node's shape (`errors.ts`, `abortError`): name
 * `'AbortError'`, code `'ABORT_ERR'`, the signal's reason as `cause`.
 *
 * Not exported from the package.
 *
 * @example
 * ```ts
 * async waitAsync(options?: { signal?: AbortSignal }): Promise<void> {
 *   const signal = signalOf(options, 'options');
 *   throwIfAborted(signal);
 *   await whenAborted(native.waitAsync(), signal, () => native.wake());
 * }
 * ```
 */
import { abortError, argTypeError } from '../errors.js';

/** What every async call with a signal takes as its last argument. */
export interface AbortOptions {
  /** Aborting it rejects the call with an `AbortError` (`code` `'ABORT_ERR'`, `cause` the signal's reason). */
  signal?: AbortSignal;
}

/** The `signal` of an options object (read once), checked; undefined when there is none. */
export function signalOf(options: unknown, name = 'options'): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw argTypeError(name, 'of type object', options);
  return toSignal((options as { signal?: unknown }).signal, `${name}.signal`);
}

/** A `signal` option already read (by `readOptions`), checked as {@link signalOf} does; `name` for the error. */
export function toSignal(signal: unknown, name: string): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw argTypeError(name, 'an instance of AbortSignal', signal);
  return signal;
}

/** Throws the `AbortError` if `signal` is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** `promise`, or the `AbortError` as soon as `signal` aborts (see the file comment). */
export function whenAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, onAbort?: () => void): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    onAbort?.();
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      promise.catch(() => {});
      reject(abortError(signal));
      onAbort?.();
    };
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}

/**
 * The object an async open makes (`finish(mapping)`), or the `AbortError`
 * as soon as `signal` aborts. The open itself is not recalled: whether the
 * abort came first is decided when the mapping arrives, which is then
 * either closed at once (`close(mapping)`, aborted) or finished and the
 * listener removed, so an abort can never close a file the caller already
 * has. Call {@link throwIfAborted} before starting the open. `finish`
 * must release the mapping itself if it throws; its error rejects.
 */
export function openAbortable<M, T>(opening: Promise<M>, signal: AbortSignal | undefined, finish: (mapping: M) => T, close: (mapping: M) => void): Promise<T> {
  if (signal === undefined) return opening.then(finish);
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', abort, { once: true });
    opening.then(
      (mapping) => {
        signal.removeEventListener('abort', abort);
        if (signal.aborted) {
          close(mapping);
          return;
        }
        try {
          resolve(finish(mapping));
        } catch (error) {
          reject(error);
        }
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}
