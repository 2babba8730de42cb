import { toOffset } from '../core/arguments.js';
import { ALIGNMENT } from './alignment.js';
import { misuse, type MmapError } from '../errors.js';
import { native } from '../native/binding.js';

/**
 * The serializable form of a range on its way to another thread, made by
 * {@link AllocatedRange.transfer} and turned back into a range, once, by
 * `MmapFile.receiveRange` in the receiving thread.
 */
export interface RangeTransfer {
  readonly kind: 'ranged-mmap:range';
  /** Key of the mapping (same in every thread of the process). */
  readonly file: number;
  readonly start: number;
  readonly end: number;
  /** One-time claim ticket issued by the native core. */
  readonly ticket: number;
}

/** Passed by {@link mintRange} only: `new AllocatedRange()` from outside this module throws. */
const MINT: unique symbol = Symbol('ranged-mmap mint');
/** What {@link rangeKey} returns for a value that is not a genuine range. */
export const NOT_A_RANGE = -1;

let keyOf: (value: unknown) => number;
let pageOf: (range: AllocatedRange) => number;
let lengthOf: (range: AllocatedRange) => number;
let receiptOf: (range: AllocatedRange) => object | undefined;
let setReceipt: (range: AllocatedRange, receipt: object) => void;

/**
 * Async copies in flight per range: while a range has any, it cannot be
 * split or handed over. Kept apart from the range (only the async calls,
 * splits and transfers look here), so a range is one small object.
 */
const pending = new WeakMap<AllocatedRange, number>();

/**
 * A half-open byte range `[start, end)` of one mapped file that the holder
 * may write through the safe API.
 *
 * Only an allocator (or a split of an allocator's range) makes one, so two
 * live ranges never overlap. A range cannot be forged: a plain object with
 * the same fields, a range of another file, a copy that went through
 * `postMessage` / JSON, or `new AllocatedRange(...)` is refused. To hand a
 * range to another thread, call {@link transfer} and post the result; the
 * receiving thread calls `file.receiveRange(message)`.
 *
 * @example
 * ```ts
 * const { file, allocator } = MmapFile.create('out.bin', 2 * ALIGNMENT);
 * const range = allocator.allocate(ALIGNMENT)!;
 * console.log(range.start, range.end, range.length); // 0 4096 4096
 * ```
 */
export class AllocatedRange {
  // One object per range, four private fields: no field is reachable or
  // writable from outside, and while the numbers stay small (files under
  // 4 TiB, ranges under 1 GiB, the first 16384 mappings of the process)
  // they are small integers stored in the object itself, so making a range
  // allocates nothing else.
  /**
   * Key of the mapping while the range is live in this thread; once it was
   * split or handed over, `-2 - key` (so <= -2, and the key can still be
   * told for error messages). Also the brand: `#key in value`.
   */
  #key: number;
  /**
   * `start / ALIGNMENT`: the first page, since every range starts on a page
   * boundary (and exact for any start, as ALIGNMENT is a power of two).
   */
  readonly #page: number;
  /** `end - start` in bytes (the last range of a file may end mid-page). */
  readonly #length: number;
  /** The receipt of the first write, reused by later writes (undefined until then). */
  #receipt: object | undefined;

  /** @internal Ranges come from allocators, splits and receiveRange only. */
  constructor(token: never, key: number, page: number, length: number) {
    if ((token as unknown) !== MINT) {
      throw misuse(
        'ERR_MMAP_INVALID_RANGE',
        'AllocatedRange cannot be constructed: ranges come from an allocator, a split of a range, or file.receiveRange() of a transferred range',
      );
    }
    this.#key = key;
    this.#page = page;
    this.#length = length;
    this.#receipt = undefined;
  }

  static {
    keyOf = (value) => (typeof value === 'object' && value !== null && #key in value ? (value as AllocatedRange).#key : NOT_A_RANGE);
    pageOf = (range) => range.#page;
    lengthOf = (range) => range.#length;
    receiptOf = (range) => range.#receipt;
    setReceipt = (range, receipt) => {
      range.#receipt = receipt;
    };
  }

  /** First byte of the range (inclusive). */
  get start(): number {
    return this.#page * ALIGNMENT;
  }

  /** End of the range (exclusive). */
  get end(): number {
    return this.#page * ALIGNMENT + this.#length;
  }

  /** `end - start`. */
  get length(): number {
    return this.#length;
  }

  /** True for a zero-length range (one side of a split at the very edge). */
  get isEmpty(): boolean {
    return this.#length === 0;
  }

  /** False once the range was split or transferred: it can no longer be written. */
  get isLive(): boolean {
    return this.#key >= 0;
  }

  /**
   * Splits at `alignUp(pos)`: `[start, alignUp(pos))` and `[alignUp(pos), end)`.
   *
   * - `{ kind: 'split', low, high }` when the aligned position falls inside
   *   the range; this range is consumed and the two halves replace it.
   * - `{ kind: 'lowOnly', low }` when the aligned position is at or past the
   *   end: the whole range is the low part (this same range, still live).
   * - `{ kind: 'outOfBounds', range }` when `pos` is outside `[start, end]`
   *   (this same range, unchanged).
   *
   * `pos` is an absolute file offset, not an offset into the range.
   *
   * @example
   * ```ts
   * const r = allocator.allocate(3 * ALIGNMENT)!;   // [0, 12288)
   * const s = r.splitAtAlignUp(5000);
   * if (s.kind === 'split') console.log(s.low.end, s.high.start); // 8192 8192
   *
   * // A range that does not start at 0: positions are file offsets.
   * const q = allocator.allocate(3 * ALIGNMENT)!;   // [12288, 24576)
   * q.splitAtAlignUp(100).kind;                      // 'outOfBounds': 100 is before the range
   * q.splitAtAlignUp(12288 + 100).kind;              // 'split' at 16384
   * ```
   */
  splitAtAlignUp(pos: number | bigint): SplitUpResult {
    const p = toOffset(pos, 'pos');
    const s = this.#liveState('split');
    if (p < s.start || p > s.end) return { kind: 'outOfBounds', range: this };
    const at = Math.ceil(p / ALIGNMENT) * ALIGNMENT;
    if (at >= s.end) return { kind: 'lowOnly', low: this };
    return { kind: 'split', ...this.#splitAt(s, at) };
  }

  /**
   * Splits at `alignDown(pos)`: `[start, alignDown(pos))` and `[alignDown(pos), end)`.
   *
   * - `{ kind: 'split', low, high }` when the aligned position falls inside
   *   the range; this range is consumed.
   * - `{ kind: 'highOnly', high }` when the aligned position is at or before
   *   the start: the whole range is the high part (this same range).
   * - `{ kind: 'outOfBounds', range }` when `pos` is outside `[start, end]`.
   *
   * @example
   * ```ts
   * const r = allocator.allocate(3 * ALIGNMENT)!;   // [0, 12288)
   * const s = r.splitAtAlignDown(5000);
   * if (s.kind === 'split') console.log(s.low.end); // 4096
   * ```
   */
  splitAtAlignDown(pos: number | bigint): SplitDownResult {
    const p = toOffset(pos, 'pos');
    const s = this.#liveState('split');
    if (p < s.start || p > s.end) return { kind: 'outOfBounds', range: this };
    const at = p - (p % ALIGNMENT);
    if (at <= s.start) return { kind: 'highOnly', high: this };
    return { kind: 'split', ...this.#splitAt(s, at) };
  }

  #splitAt(s: Bounds, at: number): { low: AllocatedRange; high: AllocatedRange } {
    this.#key = -2 - s.key;
    return { low: mintRange(s.key, s.start, at), high: mintRange(s.key, at, s.end) };
  }

  /** The range's numbers, read once (no checks). */
  #bounds(): Bounds {
    const k = this.#key;
    const start = this.#page * ALIGNMENT;
    return { key: k < 0 ? -2 - k : k, start, end: start + this.#length };
  }

  /** The range's numbers, once it is known to be live here with no async copy in flight. */
  #liveState(what: string): Bounds {
    const s = this.#bounds();
    if (this.#key < 0) throw consumedError(this, what);
    const busy = pending.get(this);
    if (busy !== undefined) {
      throw misuse(
        'ERR_MMAP_RANGE_BUSY',
        `cannot ${what} range [${s.start}, ${s.end}): ${busy} async read or write on it ${busy === 1 ? 'is' : 'are'} still in flight. ` +
          'Await it first, so its bytes cannot land in a range someone else holds by then.',
      );
    }
    return s;
  }

  /**
   * Prepares this range for another thread and gives it up here: after this
   * call the range can no longer be written in this thread. Post the result
   * with `postMessage`; the receiving thread calls `file.receiveRange(msg)`,
   * which succeeds once.
   *
   * @example
   * ```ts
   * worker.postMessage({ range: range.transfer() });
   * // in the worker:
   * const range = file.receiveRange(msg.range);
   * ```
   */
  transfer(): RangeTransfer {
    const s = this.#liveState('transfer');
    let ticket: number;
    try {
      ticket = native.ticketIssue(s.key, s.start, s.end);
    } catch {
      throw misuse('ERR_MMAP_CLOSED', `the file of range [${s.start}, ${s.end}) is closed in every thread; the range cannot be handed over`);
    }
    this.#key = -2 - s.key;
    return { kind: 'ranged-mmap:range', file: s.key, start: s.start, end: s.end, ticket };
  }

  /** `{ start, end }`, for logs. A parsed copy is not a range and cannot be written. */
  toJSON(): { start: number; end: number } {
    const { start, end } = this.#bounds();
    return { start, end };
  }

  /** @internal */
  toString(): string {
    const { start, end } = this.#bounds();
    return `AllocatedRange [${start}, ${end})`;
  }
}

/** Result of {@link AllocatedRange.splitAtAlignUp}. */
export type SplitUpResult =
  | { kind: 'split'; low: AllocatedRange; high: AllocatedRange }
  | { kind: 'lowOnly'; low: AllocatedRange }
  | { kind: 'outOfBounds'; range: AllocatedRange };

/** Result of {@link AllocatedRange.splitAtAlignDown}. */
export type SplitDownResult =
  | { kind: 'split'; low: AllocatedRange; high: AllocatedRange }
  | { kind: 'highOnly'; high: AllocatedRange }
  | { kind: 'outOfBounds'; range: AllocatedRange };

/** A range's key (the mapping's, also after it was consumed), first and end byte. */
interface Bounds {
  readonly key: number;
  readonly start: number;
  readonly end: number;
}

/**
 * @internal For a genuine range: the key of its mapping while it is live
 * in this thread, a number <= -2 once it was split or handed over
 * ({@link keyOfConsumed} recovers the key); {@link NOT_A_RANGE} for
 * anything else. One test against the file's key checks all three.
 */
export function rangeKey(value: unknown): number {
  return keyOf(value);
}

/** @internal The mapping key of a consumed range's {@link rangeKey} (a live key is returned as is). */
export function keyOfConsumed(key: number): number {
  return key < NOT_A_RANGE ? -2 - key : key;
}

/** @internal First byte of a genuine range (read from its private fields, never from a property). */
export function rangeStart(range: AllocatedRange): number {
  return pageOf(range) * ALIGNMENT;
}

/** @internal Length in bytes of a genuine range. */
export function rangeLength(range: AllocatedRange): number {
  return lengthOf(range);
}

/** @internal The receipt of a range's first write, or undefined. */
export function rangeReceipt(range: AllocatedRange): object | undefined {
  return receiptOf(range);
}

/** @internal Keeps the receipt of a range's first write for later writes. */
export function keepRangeReceipt(range: AllocatedRange, receipt: object): void {
  setReceipt(range, receipt);
}

/** @internal An async copy on the range starts: until {@link asyncDone}, it cannot be split or handed over. */
export function asyncStarted(range: AllocatedRange): void {
  pending.set(range, (pending.get(range) ?? 0) + 1);
}

/** @internal An async copy on the range settled. */
export function asyncDone(range: AllocatedRange): void {
  const n = pending.get(range) ?? 1;
  if (n <= 1) pending.delete(range);
  else pending.set(range, n - 1);
}

/** @internal Makes a range of `[start, end)` (`start` on a page boundary); only allocators and receiveRange call this. */
export function mintRange(key: number, start: number, end: number): AllocatedRange {
  return new AllocatedRange(MINT as never, key, start / ALIGNMENT, end - start);
}

/** @internal Makes a range of `length` bytes from page `page`: the concurrent allocator's fast path. */
export function mintPages(key: number, page: number, length: number): AllocatedRange {
  return new AllocatedRange(MINT as never, key, page, length);
}

/** @internal */
export function consumedError(range: AllocatedRange, what: string): MmapError {
  const start = rangeStart(range);
  return misuse(
    'ERR_MMAP_RANGE_CONSUMED',
    `cannot ${what} range [${start}, ${start + lengthOf(range)}): it was split or handed to another thread. ` +
      'Use the ranges the split returned, or the range the receiving thread claimed.',
  );
}

/** @internal Describes a value that is not a genuine range. */
export function invalidRangeError(value: unknown, what: string): MmapError {
  const got = value === null ? 'null' : typeof value === 'object' ? 'a plain object (a copy or a forgery)' : typeof value;
  return misuse(
    'ERR_MMAP_INVALID_RANGE',
    `${what} takes an AllocatedRange made by this file's allocator; got ${got}. ` +
      'Ranges cannot be built by hand or copied; to use a range in another thread, send range.transfer() and call file.receiveRange() there.',
  );
}
