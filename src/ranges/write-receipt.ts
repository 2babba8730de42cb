/** Internal state of a receipt. */
export interface ReceiptState {
  readonly key: number;
  readonly start: number;
  readonly end: number;
}

let stateOf: (value: unknown) => ReceiptState | undefined;
let mint: (state: ReceiptState) => WriteReceipt;

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
  readonly #state: ReceiptState;

  private constructor(state: ReceiptState) {
    this.#state = state;
  }

  static {
    stateOf = (value) => (typeof value === 'object' && value !== null && #state in value ? (value as WriteReceipt).#state : undefined);
    mint = (state) => new WriteReceipt(state);
  }

  /** First byte of the written range. */
  get start(): number {
    return this.#state.start;
  }

  /** End (exclusive) of the written range. */
  get end(): number {
    return this.#state.end;
  }

  /** Bytes written. */
  get length(): number {
    return this.#state.end - this.#state.start;
  }

  /** `{ start, end }`, for logs. A parsed copy is not a receipt and flushes nothing. */
  toJSON(): { start: number; end: number } {
    return { start: this.#state.start, end: this.#state.end };
  }
}

/** @internal */
export function receiptState(value: unknown): ReceiptState | undefined {
  return stateOf(value);
}

/** @internal Only writeRange makes receipts. */
export function mintReceipt(state: ReceiptState): WriteReceipt {
  return mint(state);
}
