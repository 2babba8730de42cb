/**
 * Batch copies (readAtMany / writeAtMany): many equal-length items between
 * the mapping and one packed buffer in one native call. Shared by
 * RawMmapFile and MemoryMappedFile; the per-item copy and the second check
 * of every item live in native/batch_ops.c.
 */
import { type ArgumentError, fromNative, type MmapError, misuse, outOfRange, typedArrayTag } from '../errors.js';
import { native } from '../native/binding.js';
import { byteLengthOf, toBytes, toOffset } from './arguments.js';
import { MAX_OFFSET } from './limits.js';
import type { ThreadMapping } from './thread-mapping.js';

/**
 * The offsets of a batch call: a `Float64Array` (used as it is, the fast
 * form), a `BigUint64Array` or an array of numbers (copied into a
 * `Float64Array` first). Every entry must be an integer from 0 to 2^53 - 1.
 *
 * @example
 * ```ts
 * const offsets = Float64Array.of(0, 8192, 4096);
 * ```
 */
export type BatchOffsets = Float64Array | BigUint64Array | readonly number[];

/**
 * The error of a batch call that stopped at one item: `itemIndex` is the
 * index (in the offsets) of the item that failed.
 *
 * @example
 * ```ts
 * try {
 *   raw.readAtMany(offsets, 4096, target);
 * } catch (e) {
 *   if ((e as BatchItemError).itemIndex !== undefined) console.log('item', (e as BatchItemError).itemIndex);
 * }
 * ```
 */
export type BatchItemError = (MmapError | ArgumentError) & { readonly itemIndex: number };

/** Tags `error` with the index of the item it is about. */
export function atItem<E extends MmapError | ArgumentError>(error: E, index: number): E & { readonly itemIndex: number } {
  Object.defineProperty(error, 'itemIndex', { value: index, enumerable: true, writable: false, configurable: true });
  return error as E & { readonly itemIndex: number };
}

const RANGE = 'an integer >= 0 and <= 2^53 - 1';

function outOfWindow(what: string, index: number, offset: number, length: number, limit: number, path: string, where: string): BatchItemError {
  return atItem(
    misuse(
      'ERR_MMAP_OUT_OF_BOUNDS',
      `${what} item ${index} (${length} bytes at offset ${offset}) would pass the end of ${where} (${limit} bytes); ` +
        (length > limit ? `at most ${limit} bytes fit` : `each offset must be at most ${limit - length}`),
      path,
    ),
    index,
  );
}

/**
 * Reads and checks the offsets of a batch: each an integer >= 0 with its
 * item inside [0, limit). Returns them as a Float64Array (the caller's own
 * when it gave one). A bad entry throws with its index in `itemIndex`.
 */
function checkOffsets(offsets: unknown, length: number, limit: number, what: string, path: string, where: string): Float64Array {
  const tag = typedArrayTag(offsets);
  let out: Float64Array;
  let count: number;
  // A detached array: ERR_MMAP_BUFFER_DETACHED rather than an empty batch.
  if (tag !== undefined && byteLengthOf(offsets) === 0) toBytes(offsets, 'offsets');
  if (tag === 'Float64Array') {
    // Lengths from internal slots, never from a property that could lie.
    out = offsets as Float64Array;
    count = byteLengthOf(out) / 8;
    for (let i = 0; i < count; i++) {
      const o = out[i];
      if (!(o >= 0 && o <= MAX_OFFSET && Math.floor(o) === o)) throw atItem(outOfRange(`offsets[${i}]`, RANGE, o), i);
      if (o > limit - length) throw outOfWindow(what, i, o, length, limit, path, where);
    }
    return out;
  }
  if (tag === 'BigUint64Array') {
    const big = offsets as BigUint64Array;
    count = byteLengthOf(big) / 8;
    out = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const b = big[i];
      if (b > BigInt(MAX_OFFSET)) throw atItem(outOfRange(`offsets[${i}]`, RANGE, b), i);
      const o = Number(b);
      if (o > limit - length) throw outOfWindow(what, i, o, length, limit, path, where);
      out[i] = o;
    }
    return out;
  }
  if (!Array.isArray(offsets)) throw outOfRangeType(offsets);
  const list = offsets as readonly unknown[];
  count = list.length;
  out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    // Each entry read once: a getter or Proxy cannot show one value to the
    // check and another to the copy.
    const o = list[i];
    if (typeof o !== 'number' || !(o >= 0 && o <= MAX_OFFSET && Math.floor(o) === o)) throw atItem(outOfRange(`offsets[${i}]`, RANGE, o), i);
    if (o > limit - length) throw outOfWindow(what, i, o, length, limit, path, where);
    out[i] = o;
  }
  return out;
}

function outOfRangeType(value: unknown): Error {
  return outOfRange('offsets', 'a Float64Array, a BigUint64Array or an array of numbers', value);
}

/**
 * @internal
 * One batch copy between the window [base, base + limit) of `v` and the
 * packed `buffer` (item i at `i * length`). Every check happens before the
 * first byte moves, except what only the copy can find: a page fault, or a
 * resize in another thread since the checks; those stop the batch at the
 * item concerned (items before it were copied, none after) and throw with
 * `itemIndex`. Returns the checked offsets (the caller's own Float64Array
 * when it gave one), one per item copied.
 */
export function copyMany(
  v: ThreadMapping,
  base: number,
  limit: number,
  offsets: unknown,
  length: unknown,
  buffer: unknown,
  write: boolean,
  what: string,
  where: string,
): Float64Array {
  const n = toOffset(length, 'length');
  const bytes = toBytes(buffer, write ? 'source' : 'target');
  const list = checkOffsets(offsets, n, limit, what, v.path, where);
  const count = byteLengthOf(list) / 8;
  if (count * n > byteLengthOf(bytes)) {
    throw misuse(
      'ERR_MMAP_BUFFER_TOO_SMALL',
      `${what} of ${count} items of ${n} bytes needs ${write ? 'a source' : 'a target'} of at least ${count * n} bytes; it has ${byteLengthOf(bytes)}`,
      v.path,
    );
  }
  if (count === 0 || n === 0) return list;
  let r: number;
  try {
    r = native.copyMany(v.key, base, limit, list, count, n, bytes, write);
  } catch (error) {
    throw fromNative(error, v.path);
  }
  if (r === count) return list;
  if (r < 0) throw atItem(v.faultError(), -r - 1);
  throw outOfWindow(what, r, list[r] ?? Number.NaN, n, limit, v.path, `${where} (resized in another thread, or the offsets changed during the call)`);
}
