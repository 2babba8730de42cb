/**
 * The options of {@link BufReader}: their public type and how they are
 * read and checked (also the ring capacity both BufReader and BufWriter
 * default to).
 */
import { toSignal } from '../core/abort.js';
import { readOptions, toBoolean } from '../core/arguments.js';
import { argTypeError, argValueError, outOfRange } from '../errors.js';

const DEFAULT_CAPACITY = 64 * 1024;

/** @internal A ring capacity argument, or the default (Ring's constructor checks it). */
export function toCapacity(value: unknown): number {
  if (value === undefined) return DEFAULT_CAPACITY;
  return value as number;
}

/** Options of {@link BufReader}. */
export interface BufReaderOptions {
  /** Bytes of the ring (rounded up to whole pages); 64 KiB by default. */
  capacity?: number;
  /**
   * Follow a growing file, like `tail -f` (a descriptor source only): at
   * the end of the file, wait and read again, every `pollMs`, until data
   * arrives, the reader is closed (which ends the input: `readLine()`
   * resolves with null, iteration stops, the stream form ends) or `signal`
   * aborts (the waiting call rejects with an `AbortError`). A last line
   * without its `\n` is held back until the writer finishes it. Default
   * false: a read at the end of the file reports the end, and the next
   * call reads again (nothing is sticky).
   */
  follow?: boolean;
  /** Milliseconds between reads at the end of a followed file (1 to 60000; default 100). */
  pollMs?: number;
  /** Aborts a wait for more data of a followed file with an `AbortError`; once aborted, every such wait rejects at once. */
  signal?: AbortSignal;
}

const DEFAULT_POLL_MS = 100;

/** An options object (not an array, typed array or class instance, which are refused as a capacity). */
function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** @internal BufReader's `(capacity, options)` or `(options)`, read and checked. */
export function toBufReaderOptions(
  capacity: unknown,
  options: unknown,
): { capacity: number; follow: boolean; pollMs: number; signal: AbortSignal | undefined } {
  let o = readOptions(options, 'options', ['capacity', 'follow', 'pollMs', 'signal']);
  let cap: unknown = capacity;
  if (isPlainObject(capacity) && options === undefined) {
    o = readOptions(capacity, 'options', ['capacity', 'follow', 'pollMs', 'signal']);
    cap = o.capacity;
  } else if (o.capacity !== undefined) {
    throw argValueError('options.capacity', 'cannot be given together with the capacity argument', o.capacity);
  }
  const pollMs = o.pollMs === undefined ? DEFAULT_POLL_MS : o.pollMs;
  if (typeof pollMs !== 'number') throw argTypeError('options.pollMs', 'of type number', pollMs);
  if (!Number.isInteger(pollMs) || pollMs < 1 || pollMs > 60_000) throw outOfRange('options.pollMs', 'an integer >= 1 and <= 60000', pollMs);
  const signal = toSignal(o.signal, 'options.signal');
  return { capacity: toCapacity(cap), follow: toBoolean(o.follow, 'options.follow'), pollMs, signal };
}
