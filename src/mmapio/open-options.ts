/**
 * The options of MemoryMappedFile's opens, creates and builder: their
 * public types and how each is read and checked.
 */
import type { AbortOptions } from '../core/abort.js';
import { toBoolean } from '../core/arguments.js';
import type { CreateFileOptions, OpenRequest } from '../core/mapped-file-base.js';
import { argTypeError, argValueError } from '../errors.js';
import { Access } from '../native/binding.js';
import { toFlushPolicy, type FlushPolicy, type ParsedFlushPolicy } from './flush-policy.js';
import type { MappingMode } from './mapping-mode.js';

/** `'lazy'` (default): pages come in on first access; `'eager'`: every page is faulted in at open. */
export type TouchHint = 'lazy' | 'eager';

/** Options of every MemoryMappedFile open. */
export interface MemoryMappedFileOptions {
  /** When write-back is scheduled (default `'manual'`); see {@link FlushPolicy}. */
  flushPolicy?: FlushPolicy;
  /** `'eager'` faults every page in at open (read access; nothing is dirtied). */
  touchHint?: TouchHint;
  /** Ask for transparent huge pages (`MADV_HUGEPAGE`); never fails the open. See {@link MemoryMappedFile.hugePages}. */
  hugePages?: boolean;
}

/**
 * Options of `openRoAsync`, `openRwAsync` and `openCowAsync`: the open
 * options and a `signal`. Aborting it rejects the open with an
 * `AbortError`; a mapping made after the abort is closed at once, so
 * nothing is left open.
 * @example
 * ```ts
 * const m = await MemoryMappedFile.openRoAsync('data.bin', { signal: AbortSignal.timeout(1000) });
 * ```
 */
export interface MemoryMappedFileOpenAsyncOptions extends MemoryMappedFileOptions, AbortOptions {}

/** Options of `createRw` and `openOrCreate`. */
export interface MemoryMappedFileCreateOptions extends MemoryMappedFileOptions, CreateFileOptions {}

const MODE_TO_ACCESS: Readonly<Record<MappingMode, Access>> = { rw: Access.ReadWrite, ro: Access.ReadOnly, cow: Access.CopyOnWrite };
/** @internal The mode of each native access kind, by its number. */
export const ACCESS_TO_MODE: readonly MappingMode[] = ['rw', 'ro', 'cow'];
/** @internal */
export const OPEN_KEYS = ['flushPolicy', 'touchHint', 'hugePages'] as const;
/** @internal */
export const CREATE_KEYS = ['flushPolicy', 'touchHint', 'hugePages', 'exclusive', 'mode', 'sparse'] as const;

/** @internal The open options, read and checked. */
export interface ParsedOpenOptions {
  policy: ParsedFlushPolicy;
  eager: boolean;
  huge: boolean;
}

/** @internal */
export function toMode(value: unknown): MappingMode {
  if (value === 'ro' || value === 'rw' || value === 'cow') return value;
  if (typeof value !== 'string') throw argTypeError('mode', 'of type string', value);
  throw argValueError('mode', "must be 'ro', 'rw' or 'cow'", value);
}

/** @internal True for `'eager'`. */
export function toTouch(value: unknown): boolean {
  if (value === undefined || value === 'lazy') return false;
  if (value === 'eager') return true;
  if (typeof value !== 'string') throw argTypeError('touchHint', 'of type string', value);
  throw argValueError('touchHint', "must be 'lazy' or 'eager'", value);
}

/** @internal */
export function toOpenOptions(o: Partial<Record<(typeof OPEN_KEYS)[number], unknown>>): ParsedOpenOptions {
  return { policy: toFlushPolicy(o.flushPolicy, 'options.flushPolicy'), eager: toTouch(o.touchHint), huge: toBoolean(o.hugePages, 'options.hugePages') };
}

/** @internal The request that opens an existing file in `mode`. */
export function openRequest(path: string, mode: MappingMode): OpenRequest {
  return { path, create: false, size: 0, exclusive: false, sparse: false, mode: 0, access: MODE_TO_ACCESS[mode] };
}
