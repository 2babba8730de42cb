import { misuse } from './errors.js';

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

/** Largest byte offset the library accepts: 2^53 - 1. */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

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

function checkBigint(value: bigint, name: string): void {
  if (value < 0n || value > BigInt(MAX_OFFSET)) {
    throw misuse('ERR_MMAP_INVALID_ARGUMENT', `${name} must be between 0 and 2^53 - 1; got ${value}n`);
  }
}

/**
 * Validates an offset or size given as a number or bigint and returns it as
 * a number: a whole number in [0, 2^53).
 */
export function toOffset(value: unknown, name: string): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw misuse(
      'ERR_MMAP_INVALID_ARGUMENT',
      `${name} must be a whole number between 0 and 2^53 - 1 (number or bigint); got ${value}`,
    );
  }
  if (typeof value === 'bigint') {
    checkBigint(value, name);
    return Number(value);
  }
  throw misuse(
    'ERR_MMAP_INVALID_ARGUMENT',
    `${name} must be a number or a bigint; got ${value === null ? 'null' : typeof value}`,
  );
}
