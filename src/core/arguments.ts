/**
 * Readers for every user-supplied value: offsets, sizes, paths, options and
 * byte arrays. The safety rule they serve (docs/DESIGN.md, "Safety rules"):
 * every user value is read once, here, before any check or copy, and
 * reading it runs no user code. Lengths come from the engine's internal
 * slots through the original %TypedArray% getters, never from properties
 * (an own `byteLength`, a subclass getter or a Proxy trap could lie), and
 * offsets are accepted only as primitives, so no `valueOf` ever runs.
 */
import { fileURLToPath } from 'node:url';
import { MmapError, argTypeError, argValueError, outOfRange, typedArrayTag, urlSchemeError } from '../errors.js';

import { MAX_OFFSET } from './limits.js';

const OFFSET_RANGE = 'an integer >= 0 and <= 2^53 - 1';

/**
 * Validates an offset or size given as a number or bigint and returns it as
 * a number: a whole number in [0, 2^53).
 */
export function toOffset(value: unknown, name: string): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw outOfRange(name, OFFSET_RANGE, value);
  }
  if (typeof value === 'bigint') {
    checkBigint(value, name);
    return Number(value);
  }
  throw argTypeError(name, 'of type number or bigint', value);
}

/** Throws ERR_OUT_OF_RANGE unless 0 <= value <= 2^53 - 1. */
export function checkBigint(value: bigint, name: string): void {
  if (value < 0n || value > BigInt(MAX_OFFSET)) throw outOfRange(name, OFFSET_RANGE, value);
}

const urlHref = Object.getOwnPropertyDescriptor(URL.prototype, 'href')!.get!;
const isUrl = (value: object): value is URL => {
  try {
    // Brand check: the original getter throws on anything that is not a URL,
    // a Proxy included, without running its traps.
    Reflect.apply(urlHref, value, []);
    return true;
  } catch {
    return false;
  }
};

/** Reads a path: a non-empty string or a `file:` URL, with no NUL byte. */
export function toPath(path: unknown): string {
  let p: string;
  if (typeof path === 'string') {
    p = path;
  } else if (typeof path === 'object' && path !== null && isUrl(path)) {
    const href = Reflect.apply(urlHref, path, []) as string;
    if (!href.startsWith('file:')) throw urlSchemeError();
    try {
      p = fileURLToPath(href);
    } catch (error) {
      throw argValueError('path', 'must be a file: URL of an absolute path', href, error);
    }
  } else {
    throw argTypeError('path', 'of type string or an instance of URL', path);
  }
  if (p.length === 0) throw argValueError('path', 'must be a non-empty string', p);
  // C would see only the part before a NUL and open another file.
  if (p.includes('\0')) throw argValueError('path', 'must be a string without null bytes', p);
  return p;
}

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const uncurryGetter = <T>(proto: object, key: string): ((value: unknown) => T) =>
  Function.prototype.call.bind(Object.getOwnPropertyDescriptor(proto, key)!.get!) as (value: unknown) => T;
/** The byte length of a genuine typed array, from its internal slots. */
export const byteLengthOf = uncurryGetter<number>(TypedArrayPrototype, 'byteLength');
const typedByteOffset = uncurryGetter<number>(TypedArrayPrototype, 'byteOffset');
const typedBuffer = uncurryGetter<ArrayBufferLike>(TypedArrayPrototype, 'buffer');
const viewByteLength = uncurryGetter<number>(DataView.prototype, 'byteLength');
const viewByteOffset = uncurryGetter<number>(DataView.prototype, 'byteOffset');
const viewBuffer = uncurryGetter<ArrayBufferLike>(DataView.prototype, 'buffer');
const arrayBufferSlice = ArrayBuffer.prototype.slice;

/** True when `buffer` is a detached ArrayBuffer (Node 20 has no `.detached`). */
function isDetached(buffer: ArrayBufferLike): boolean {
  if (!(buffer instanceof ArrayBuffer)) return false; // a SharedArrayBuffer cannot be detached
  try {
    Reflect.apply(arrayBufferSlice, buffer, [0, 0]);
    return false;
  } catch {
    return true;
  }
}

function detachedError(name: string): MmapError {
  return new MmapError(
    'ERR_MMAP_BUFFER_DETACHED',
    `${name} is a view of a detached ArrayBuffer (it was transferred or its file was closed); pass a view of live memory`,
  );
}

/**
 * Reads `value` as bytes: a genuine Uint8Array (a Buffer included) as it
 * is, any other typed array or DataView as a Uint8Array over the same
 * memory. Anything else (a Proxy over a typed array included) is an
 * ERR_INVALID_ARG_TYPE, a detached view ERR_MMAP_BUFFER_DETACHED. The
 * caller takes the length with {@link byteLengthOf}, never `.byteLength`.
 */
export function toBytes(value: unknown, name: string): Uint8Array {
  const tag = typedArrayTag(value);
  if (tag === 'Uint8Array') {
    if (byteLengthOf(value) === 0 && isDetached(typedBuffer(value))) throw detachedError(name);
    return value as Uint8Array;
  }
  let buffer: ArrayBufferLike;
  let offset: number;
  let length: number;
  if (tag !== undefined) {
    buffer = typedBuffer(value);
    offset = typedByteOffset(value);
    length = byteLengthOf(value);
  } else {
    try {
      buffer = viewBuffer(value);
    } catch {
      throw argTypeError(name, 'an instance of Buffer, TypedArray or DataView', value);
    }
    offset = viewByteOffset(value);
    length = viewByteLength(value);
  }
  if (length === 0 && isDetached(buffer)) throw detachedError(name);
  return new Uint8Array(buffer, offset, length);
}

/**
 * {@link toBytes} with the common case first: a non-empty genuine
 * Uint8Array is returned as it is after two intrinsic reads (this is on
 * every write and read path).
 */
export function bytesOf(value: unknown, name: string): Uint8Array {
  return typedArrayTag(value) === 'Uint8Array' && byteLengthOf(value) !== 0 ? (value as Uint8Array) : toBytes(value, name);
}

/** The first `length` bytes of a genuine Uint8Array, located through internal slots. */
export function prefixOf(bytes: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(typedBuffer(bytes), typedByteOffset(bytes), length);
}

/**
 * Reads an options object once into a plain object of the named fields, so
 * later code never touches the user's object again. A getter that throws
 * becomes ERR_INVALID_ARG_VALUE, with the thrown value as its `cause`.
 */
export function readOptions<K extends string>(options: unknown, name: string, keys: readonly K[]): Partial<Record<K, unknown>> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw argTypeError(name, 'of type object', options);
  const out: Partial<Record<K, unknown>> = {};
  for (const key of keys) {
    let v: unknown;
    try {
      v = (options as Record<string, unknown>)[key];
    } catch (error) {
      throw argValueError(`${name}.${key}`, 'could not be read (its getter threw)', options, error);
    }
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Reads an optional boolean option. */
export function toBoolean(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw argTypeError(name, 'of type boolean', value);
  return value;
}
