import { misuse } from '../errors.js';
import { checkBigint, toOffset } from '../core/arguments.js';
import { MAX_OFFSET } from '../core/limits.js';

// No re-export from this module (MAX_OFFSET is exported by the index from
// core/limits): a re-export compiles to an accessor on this module's CommonJS
// exports, which turns the object into a dictionary, and then every read of
// ALIGNMENT on a hot path (allocate, a range's start and end) is a generic
// property lookup call instead of a field load.

/**
 * Allocation granularity: every range an allocator hands out starts on a
 * multiple of 4096 bytes (the page size, and the block size of most file
 * systems).
 *
 * @example
 * ```ts
 * import { ALIGNMENT } from 'ranged-mmap';
 * const size = 256 * ALIGNMENT; // 1 MiB
 * ```
 */
export const ALIGNMENT = 4096;

/**
 * Rounds up to the next multiple of {@link ALIGNMENT} (a multiple stays as
 * it is). Accepts and returns a number or a bigint.
 *
 * @example
 * ```ts
 * alignUp(1);      // 4096
 * alignUp(4096);   // 4096
 * alignUp(4097n);  // 8192n
 * ```
 */
export function alignUp(value: number): number;
export function alignUp(value: bigint): bigint;
export function alignUp(value: number | bigint): number | bigint {
  if (typeof value === 'bigint') {
    checkBigint(value, 'value');
    return ((value + 4095n) / 4096n) * 4096n;
  }
  const n = toOffset(value, 'value');
  const up = Math.ceil(n / ALIGNMENT) * ALIGNMENT;
  if (up > MAX_OFFSET) throw misuse('ERR_MMAP_OUT_OF_BOUNDS', `alignUp(${n}) exceeds 2^53 - 1`);
  return up;
}

/**
 * Rounds down to a multiple of {@link ALIGNMENT}.
 *
 * @example
 * ```ts
 * alignDown(4095); // 0
 * alignDown(8191n); // 4096n
 * ```
 */
export function alignDown(value: number): number;
export function alignDown(value: bigint): bigint;
export function alignDown(value: number | bigint): number | bigint {
  if (typeof value === 'bigint') {
    checkBigint(value, 'value');
    return (value / 4096n) * 4096n;
  }
  const n = toOffset(value, 'value');
  return n - (n % ALIGNMENT);
}
