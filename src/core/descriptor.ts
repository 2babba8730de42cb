/**
 * Descriptors as the vmap API takes them: a plain file descriptor number,
 * or a `FileHandle` from `node:fs/promises` (its `fd` is read at the call;
 * the handle stays the caller's and is never closed by the library).
 */
import { argTypeError, misuse, outOfRange } from '../errors.js';

const MAX_FD = 2 ** 31 - 1;

/** What a descriptor argument may be: a number, or a `FileHandle` from `node:fs/promises`. */
export type Descriptor = number | { readonly fd: number; close(): Promise<void> };

/**
 * True for a FileHandle-shaped object: a numeric `fd` and the `close` and
 * `readableWebStream` methods (an `fs.ReadStream` also has a numeric `fd`
 * and a `close`, but it is a stream, read as one).
 */
function isFileHandle(value: unknown): value is { readonly fd: number } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { fd?: unknown; close?: unknown; readableWebStream?: unknown };
  return typeof v.fd === 'number' && typeof v.close === 'function' && typeof v.readableWebStream === 'function';
}

/**
 * The descriptor number of `value` (a number or a FileHandle), checked;
 * null when `value` is neither (the caller decides what else it accepts).
 * A closed FileHandle (its `fd` is -1) is `ERR_MMAP_CLOSED`.
 */
export function descriptorOrNull(value: unknown, name: string): number | null {
  let fd: unknown = value;
  if (typeof value !== 'number') {
    if (!isFileHandle(value)) return null;
    fd = value.fd;
    if (fd === -1) {
      throw misuse('ERR_MMAP_CLOSED', `${name} is a FileHandle that is closed; pass an open FileHandle or descriptor (fs.promises.open(path))`);
    }
  }
  if (!Number.isInteger(fd) || (fd as number) < 0 || (fd as number) > MAX_FD) throw outOfRange(name, `an integer >= 0 and <= ${MAX_FD}`, fd);
  return fd as number;
}

/** {@link descriptorOrNull}, where nothing else is accepted. */
export function toDescriptor(value: unknown, name: string): number {
  const fd = descriptorOrNull(value, name);
  if (fd === null) throw argTypeError(name, 'a file descriptor (number) or a FileHandle', value);
  return fd;
}
