import { toOffset } from '../core/arguments.js';
import { ALIGNMENT } from './alignment.js';
import { misuse, type MmapError } from '../errors.js';
import { native } from '../native/binding.js';

/** Internal state of a range; shared only with the modules that must read it. */
export interface RangeState {
  /** Key of the mapping the range belongs to. */
  readonly key: number;
  readonly start: number;
  readonly end: number;
  /** False once the range was split or handed to another thread. */
  live: boolean;
  /** Async copies in flight on this range; while any is, it cannot be split or handed over. */
  pending: number;
  /** Receipt of the last write, reused so a repeated write allocates nothing. */
  receipt: object | undefined;
}

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

let stateOf: (value: unknown) => RangeState | undefined;
let mint: (key: number, start: number, end: number) => AllocatedRange;

/**
 * A half-open byte range `[start, end)` of one mapped file that the holder
 * may write through the safe API.
 *
 * Only an allocator (or a split of an allocator's range) makes one, so two
 * live ranges never overlap. A range cannot be forged: a plain object with
 * the same fields, a range of another file, or a copy that went through
 * `postMessage` / JSON is refused by `writeRange`. To hand a range to
 * another thread, call {@link transfer} and post the result; the receiving
 * thread calls `file.receiveRange(message)`.
 *
 * @example
 * ```ts
 * const { file, allocator } = MmapFile.create('out.bin', 2 * ALIGNMENT);
 * const range = allocator.allocate(ALIGNMENT)!;
 * console.log(range.start, range.end, range.length); // 0 4096 4096
 * ```
 */
export class AllocatedRange {
  readonly #state: RangeState;

  private constructor(state: RangeState) {
    this.#state = state;
  }

  static {
    stateOf = (value) => (typeof value === 'object' && value !== null && #state in value ? (value as AllocatedRange).#state : undefined);
    mint = (key, start, end) => new AllocatedRange({ key, start, end, live: true, pending: 0, receipt: undefined });
  }

  /** First byte of the range (inclusive). */
  get start(): number {
    return this.#state.start;
  }

  /** End of the range (exclusive). */
  get end(): number {
    return this.#state.end;
  }

  /** `end - start`. */
  get length(): number {
    return this.#state.end - this.#state.start;
  }

  /** True for a zero-length range (one side of a split at the very edge). */
  get isEmpty(): boolean {
    return this.#state.end === this.#state.start;
  }

  /** False once the range was split or transferred: it can no longer be written. */
  get isLive(): boolean {
    return this.#state.live;
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

  #splitAt(s: RangeState, at: number): { low: AllocatedRange; high: AllocatedRange } {
    s.live = false;
    return { low: mint(s.key, s.start, at), high: mint(s.key, at, s.end) };
  }

  #liveState(what: string): RangeState {
    const s = this.#state;
    if (!s.live) throw consumedError(s, what);
    if (s.pending !== 0) {
      throw misuse(
        'ERR_MMAP_RANGE_BUSY',
        `cannot ${what} range [${s.start}, ${s.end}): ${s.pending} async read or write on it ${s.pending === 1 ? 'is' : 'are'} still in flight. ` +
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
    s.live = false;
    return { kind: 'ranged-mmap:range', file: s.key, start: s.start, end: s.end, ticket };
  }

  /** `{ start, end }`, for logs. A parsed copy is not a range and cannot be written. */
  toJSON(): { start: number; end: number } {
    return { start: this.#state.start, end: this.#state.end };
  }

  /** @internal */
  toString(): string {
    return `AllocatedRange [${this.#state.start}, ${this.#state.end})`;
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

/** @internal The state behind a genuine range, or undefined for anything else. */
export function rangeState(value: unknown): RangeState | undefined {
  return stateOf(value);
}

/** @internal Makes a range; only allocators and receiveRange call this. */
export function mintRange(key: number, start: number, end: number): AllocatedRange {
  return mint(key, start, end);
}

/** @internal */
export function consumedError(s: RangeState, what: string): MmapError {
  return misuse(
    'ERR_MMAP_RANGE_CONSUMED',
    `cannot ${what} range [${s.start}, ${s.end}): it was split or handed to another thread. ` +
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
