/**
 * Flush policies: when a MemoryMappedFile schedules write-back of what was
 * written through its checked calls (`updateRegion`, `updateRegionAsync`).
 */
import { argTypeError, argValueError, outOfRange } from '../errors.js';
import { readOptions } from '../core/arguments.js';

/**
 * When write-back is scheduled without an explicit `flush()`:
 * - `'manual'` (the default): only on `flush()` / `flushRange()`.
 * - `'always'`: after every `updateRegion`, for the bytes it wrote.
 * - `{ everyBytes: n }`: once `n` bytes were written since the last flush.
 * - `{ everyWrites: n }`: after every `n`-th write.
 * - `{ everyMillis: ms }`: every `ms` milliseconds, by a timer that never
 *   keeps the process alive on its own and stops when the file is closed.
 *
 * A flush here starts write-back and does not wait for it (like `flush()`);
 * `syncAll()` is the call that waits until the data is on disk. Writes
 * through views (`asSliceMut`, `chunksMut`, atomics) are not counted by
 * `everyBytes` / `everyWrites`; `everyMillis` and `flush()` cover them.
 * Read-only and copy-on-write files never write the file, so the policy
 * has nothing to do there.
 */
export type FlushPolicy = 'manual' | 'always' | { everyBytes: number } | { everyWrites: number } | { everyMillis: number };

/** @internal The policy after reading: one kind and its threshold. */
export interface ParsedFlushPolicy {
  kind: 'manual' | 'always' | 'everyBytes' | 'everyWrites' | 'everyMillis';
  every: number;
}

const KEYS = ['everyBytes', 'everyWrites', 'everyMillis'] as const;
/** setInterval's own limit. */
const MAX_MILLIS = 2 ** 31 - 1;

/** @internal Reads a flush policy (the object once, field by field). */
export function toFlushPolicy(value: unknown, name = 'flushPolicy'): ParsedFlushPolicy {
  if (value === undefined || value === 'manual') return { kind: 'manual', every: 0 };
  if (value === 'always') return { kind: 'always', every: 1 };
  if (typeof value === 'string') throw argValueError(name, "must be 'manual', 'always', { everyBytes }, { everyWrites } or { everyMillis }", value);
  if (typeof value !== 'object' || value === null) throw argTypeError(name, 'of type string or object', value);
  const fields = readOptions(value, name, KEYS);
  const given = KEYS.filter((k) => fields[k] !== undefined);
  if (given.length !== 1) throw argValueError(name, 'must have exactly one of everyBytes, everyWrites, everyMillis', value);
  const kind = given[0];
  const n = fields[kind];
  if (typeof n !== 'number') throw argTypeError(`${name}.${kind}`, 'of type number', n);
  const max = kind === 'everyMillis' ? MAX_MILLIS : Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(n) || n < 1 || n > max) throw outOfRange(`${name}.${kind}`, `an integer >= 1 and <= ${max}`, n);
  return { kind, every: n };
}

/** @internal The policy as the public getter shows it (a fresh object each time). */
export function describePolicy(p: ParsedFlushPolicy): FlushPolicy {
  switch (p.kind) {
    case 'manual':
    case 'always':
      return p.kind;
    case 'everyBytes':
      return { everyBytes: p.every };
    case 'everyWrites':
      return { everyWrites: p.every };
    case 'everyMillis':
      return { everyMillis: p.every };
  }
}

/** What a file's flush policy has done so far in this thread (`MemoryMappedFile.flushStats`). */
export interface FlushStats {
  /** Flushes made: explicit ones and those the policy made. */
  readonly flushes: number;
  /** Bytes written through `updateRegion` since the last flush. */
  readonly pendingBytes: number;
  /** `updateRegion` calls since the last flush. */
  readonly pendingWrites: number;
  /** True while the `everyMillis` timer runs (until the file is closed). */
  readonly timerActive: boolean;
  /**
   * How many times the `everyMillis` flusher failed. The flusher has no
   * caller to throw to: its latest failure not yet reported is thrown by
   * the next explicit flush.
   */
  readonly backgroundFailures: number;
}
