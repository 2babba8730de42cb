import { misuse } from '../errors.js';

/** Internal state of a receipt. */
export interface ReceiptState {
  readonly key: number;
  readonly start: number;
  readonly end: number;
}

/** Passed by {@link mintReceipt} only: `new WriteReceipt()` from outside this module throws. */
const MINT: unique symbol = Symbol('ranged-mmap receipt');

let stateOf: (value: unknown) => ReceiptState | undefined;

/**
 * Proof that a range was written: returned by `writeRange`, and the only
 * thing `flushRange` and `syncRange` accept, so only written ranges are
 * flushed.
 *
 * @example
 * ```ts
 * const receipt = file.writeRange(range, data);
 * file.flushRange(receipt);
 * ```
 */
export class WriteReceipt {
  // Private fields only: nothing of a receipt can be changed from outside.
  readonly #key: number;
  readonly #start: number;
  readonly #end: number;

  /** @internal Receipts come from writeRange only. */
  constructor(token: never, key: number, start: number, end: number) {
    if ((token as unknown) !== MINT) {
      throw misuse('ERR_MMAP_INVALID_RECEIPT', 'WriteReceipt cannot be constructed: receipts come from file.writeRange()');
    }
    this.#key = key;
    this.#start = start;
    this.#end = end;
  }

  static {
    stateOf = (value) =>
      typeof value === 'object' && value !== null && #key in value
        ? { key: (value as WriteReceipt).#key, start: (value as WriteReceipt).#start, end: (value as WriteReceipt).#end }
        : undefined;
  }

  /** First byte of the written range. */
  get start(): number {
    return this.#start;
  }

  /** End (exclusive) of the written range. */
  get end(): number {
    return this.#end;
  }

  /** Bytes written. */
  get length(): number {
    return this.#end - this.#start;
  }

  /**
   * One receipt for two writes that touch (`this.end === next.start`, or
   * the other way round) in the same file: a single `flushRange` then
   * starts the write-back of both. Receipts that overlap, leave a gap, or
   * come from other files are refused with `ERR_MMAP_INVALID_RECEIPT`:
   * a joined receipt still covers only bytes that were written.
   *
   * @example
   * ```ts
   * let chunk = file.writeRange(first, a);
   * chunk = chunk.join(file.writeRange(second, b)); // second starts where first ends
   * await file.flushRangeAsync(chunk); // one sync_file_range for both
   * ```
   */
  join(next: WriteReceipt): WriteReceipt {
    if (stateOf(this) === undefined) {
      throw misuse('ERR_MMAP_INVALID_RECEIPT', 'join must be called on a WriteReceipt that writeRange returned');
    }
    const n = stateOf(next);
    if (n === undefined) {
      throw misuse('ERR_MMAP_INVALID_RECEIPT', `join takes a WriteReceipt that writeRange returned; got ${next === null ? 'null' : typeof next}`);
    }
    if (n.key !== this.#key) {
      throw misuse(
        'ERR_MMAP_INVALID_RECEIPT',
        `join: the receipt for [${n.start}, ${n.end}) comes from another file than [${this.#start}, ${this.#end}); join receipts of one file`,
      );
    }
    if (n.start === this.#end) return new WriteReceipt(MINT as never, this.#key, this.#start, n.end);
    if (n.end === this.#start) return new WriteReceipt(MINT as never, this.#key, n.start, this.#end);
    throw misuse(
      'ERR_MMAP_INVALID_RECEIPT',
      `join: the receipts [${this.#start}, ${this.#end}) and [${n.start}, ${n.end}) do not touch; join a receipt whose range starts at ${this.#end} or ends at ${this.#start}`,
    );
  }

  /** `{ start, end }`, for logs. A parsed copy is not a receipt and flushes nothing. */
  toJSON(): { start: number; end: number } {
    return { start: this.#start, end: this.#end };
  }
}

/** @internal */
export function receiptState(value: unknown): ReceiptState | undefined {
  return stateOf(value);
}

/** @internal Only writeRange makes receipts. */
export function mintReceipt(key: number, start: number, end: number): WriteReceipt {
  return new WriteReceipt(MINT as never, key, start, end);
}
