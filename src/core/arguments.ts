/**
 * Readers for every user-supplied value: offsets, sizes, paths and byte
 * arrays. Each is read once, here, before any check or copy.
 */
import { fileURLToPath } from 'node:url';
import { misuse } from '../errors.js';

/** Largest byte offset the library accepts: 2^53 - 1. */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

export function checkBigint(value: bigint, name: string): void {
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

/** @internal */
export function toPath(path: unknown): string {
  if (typeof path === 'string') {
    if (path.length === 0) throw misuse('ERR_MMAP_INVALID_ARGUMENT', 'path must not be empty');
    if (path.includes('\0')) throw misuse('ERR_MMAP_INVALID_ARGUMENT', 'path must not contain a NUL byte');
    return path;
  }
  if (path instanceof URL) return fileURLToPath(path);
  throw misuse('ERR_MMAP_INVALID_ARGUMENT', `path must be a string or a file: URL; got ${path === null ? 'null' : typeof path}`);
}

/** @internal Any ArrayBufferView as bytes, without copying. */
export function toBytes(value: unknown, name: string): Uint8Array {
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw misuse('ERR_MMAP_INVALID_ARGUMENT', `${name} must be a Uint8Array, Buffer or other ArrayBufferView; got ${value === null ? 'null' : typeof value}`);
}

