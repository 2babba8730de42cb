/**
 * Atomic 32- and 64-bit views of one aligned word of a mapping (mmap-io's
 * `atomic_u32` / `atomic_u64`). Every operation is one `Atomics.*` call on
 * this thread's view of the shared memory: a real atomic instruction, exact
 * across threads and across processes that map the same file read-write.
 */
import { argTypeError, misuse, outOfRange } from '../errors.js';
import { VIEW_BYTES } from '../core/thread-mapping.js';
import { native } from '../native/binding.js';
import type { ThreadMapping } from '../core/thread-mapping.js';
import { STATUS_FAULTS_I32 } from '../native/status-page.js';
import type { WindowCore } from './window-core.js';

/** Index of the successor key in a Float64Array over a status page. */
const SUCCESSOR = native.statusSuccessorByte / 8;

/**
 * @internal After a resize (in any thread) an atomic view moves to the new
 * mapping at its next call: a new typed array over this thread's view of
 * it, or ERR_MMAP_OUT_OF_BOUNDS when the word is past the new end.
 */
function rebind<T>(core: WindowCore, abs: number, width: number, what: string, make: (buffer: ArrayBufferLike, inner: number) => T): T {
  const v = core.live();
  if (abs + width > v.size) {
    throw misuse('ERR_MMAP_OUT_OF_BOUNDS', `the ${width * 8}-bit word of ${what} is past the end of '${v.path}', which was resized to ${v.size} bytes`, v.path);
  }
  const index = Math.floor(abs / VIEW_BYTES);
  return make(v.view(index).buffer, abs - index * VIEW_BYTES);
}

const U32_RANGE = 'an integer >= 0 and <= 4294967295';
const U64_RANGE = 'a bigint (or safe integer number) >= 0 and <= 2^64 - 1';

function u32(value: unknown, name: string): number {
  if (typeof value === 'number') {
    if (value >>> 0 === value) return value;
    throw outOfRange(name, U32_RANGE, value);
  }
  throw argTypeError(name, 'of type number', value);
}

function u64(value: unknown, name: string): bigint {
  if (typeof value === 'bigint') {
    // Equal to itself reduced mod 2^64 exactly when 0 <= value <= 2^64 - 1.
    // Optimizing compilers lower asUintN(64) to a truncation and the
    // comparison to one word compare; `>= 0n && <= MAX` stays two generic
    // BigInt comparisons (about a fifth of a checked add's time).
    if (BigInt.asUintN(64, value) === value) return value;
    throw outOfRange(name, U64_RANGE, value);
  }
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return BigInt(value);
    throw outOfRange(name, U64_RANGE, value);
  }
  throw argTypeError(name, 'of type bigint or number', value);
}

/**
 * @internal The state and lifecycle shared by {@link AtomicU32} and
 * {@link AtomicU64}: this thread's typed array over the word, the checks on
 * the hot path (closed or moved, read-only, faulted) and the move to a
 * resized mapping. A class of its own, held in a private field, so none of
 * it is reachable from the public objects.
 */
class AtomicWord<A extends Uint32Array | BigUint64Array> {
  #a: A;
  #v: ThreadMapping;
  readonly #core: WindowCore;
  /** The shared status page (fault count at STATUS_FAULTS_I32), kept here for the hot path. */
  #status: Int32Array;
  /** The same page as float64s: a resize records the successor's key there. */
  #successor: Float64Array;
  readonly #readOnly: boolean;
  readonly #abs: number;
  readonly #name: string;
  readonly #make: (buffer: ArrayBufferLike, inner: number) => A;

  constructor(core: WindowCore, array: A, abs: number, name: string, make: (buffer: ArrayBufferLike, inner: number) => A) {
    this.#core = core;
    this.#v = core.views;
    this.#status = core.views.status;
    this.#successor = core.successor;
    this.#readOnly = core.mode === 'ro';
    this.#a = array;
    this.#abs = abs;
    this.#name = name;
    this.#make = make;
  }

  /** The array for a load. */
  live(): A {
    // One test on the hot path, one load: the successor word of this
    // thread's view of the status page. A resize (in any thread) sets it;
    // closing this thread's attachment (close(), or a follow in this
    // thread, which closes the old attachment) detaches the page, and a
    // detached view reads `undefined`. So it covers closed, moved here and
    // resized elsewhere; #slow tells them apart. (Closing also detaches the
    // word's own array, so no operation can reach unmapped memory.)
    if (this.#successor[SUCCESSOR] !== 0) this.#slow();
    return this.#a;
  }

  /** The array for a store (ERR_MMAP_INVALID_MODE on a read-only file). */
  store(what: string): A {
    if (this.#readOnly) throw this.#core.modeError(`${this.#name}.${what}`);
    return this.live();
  }

  /** Returns `result` once the operation is known not to have hit a lost page. */
  done<R>(result: R): R {
    if (this.#status[STATUS_FAULTS_I32] !== 0) this.#faulted();
    return result;
  }

  #slow(): void {
    if (this.#v !== this.#core.views || this.#successor[SUCCESSOR] !== 0) this.#rebind();
    if (this.#v.closed) throw this.#v.closedError();
  }

  #rebind(): void {
    if (this.#v.closed && this.#v === this.#core.views) return; // closed, not moved: live() reports it
    this.#a = rebind(this.#core, this.#abs, this.#a.BYTES_PER_ELEMENT, this.#name, this.#make);
    this.#v = this.#core.views;
    this.#status = this.#v.status;
    this.#successor = this.#core.successor;
  }

  /**
   * The mapping the operation used lost pages. A shrink in another thread
   * marks the old mapping so: if this word is still inside the file, its
   * page was never cut and the operation reached the file (rebind moves the
   * view, or throws ERR_MMAP_OUT_OF_BOUNDS when the word is past the end).
   */
  #faulted(): void {
    if (this.#successor[SUCCESSOR] === 0) throw this.#v.faultError();
    this.#rebind();
  }
}

/**
 * An atomic unsigned 32-bit word of a mapping, from
 * `MemoryMappedFile.atomicU32(offset)`. Operations return what `Atomics.*`
 * returns (the previous value for read-modify-write operations).
 *
 * On a read-only file only {@link load} is allowed (the rest throw
 * `ERR_MMAP_INVALID_MODE`); on a copy-on-write file the stores stay private
 * to this process. After `close()` in this thread every call throws
 * `ERR_MMAP_CLOSED`.
 *
 * @example
 * ```ts
 * const counter = file.atomicU32(0);
 * counter.add(1);
 * counter.compareExchange(5, 0); // 5 -> 0 only if it is 5
 * console.log(counter.load());
 * ```
 */
export class AtomicU32 {
  readonly #w: AtomicWord<Uint32Array>;
  /** Byte offset of the word, relative to the file or segment it came from. */
  readonly offset: number;

  /** @internal */
  constructor(core: WindowCore, array: Uint32Array, offset: number, abs: number) {
    this.#w = new AtomicWord(core, array, abs, `atomicU32(${offset})`, (buffer, inner) => new Uint32Array(buffer, inner, 1));
    this.offset = offset;
  }

  /** The current value. */
  load(): number {
    return this.#w.done(Atomics.load(this.#w.live(), 0));
  }
  /** Sets the value. */
  store(value: number): void {
    const n = u32(value, 'value');
    this.#w.done(Atomics.store(this.#w.store('store'), 0, n));
  }
  /** Adds (wrapping at 2^32); returns the previous value. */
  add(value: number): number {
    const n = u32(value, 'value');
    return this.#w.done(Atomics.add(this.#w.store('add'), 0, n));
  }
  /** Subtracts (wrapping at 0); returns the previous value. */
  sub(value: number): number {
    const n = u32(value, 'value');
    return this.#w.done(Atomics.sub(this.#w.store('sub'), 0, n));
  }
  /** Bitwise and; returns the previous value. */
  and(value: number): number {
    const n = u32(value, 'value');
    return this.#w.done(Atomics.and(this.#w.store('and'), 0, n));
  }
  /** Bitwise or; returns the previous value. */
  or(value: number): number {
    const n = u32(value, 'value');
    return this.#w.done(Atomics.or(this.#w.store('or'), 0, n));
  }
  /** Bitwise xor; returns the previous value. */
  xor(value: number): number {
    const n = u32(value, 'value');
    return this.#w.done(Atomics.xor(this.#w.store('xor'), 0, n));
  }
  /** Sets the value; returns the previous one. */
  exchange(value: number): number {
    const n = u32(value, 'value');
    return this.#w.done(Atomics.exchange(this.#w.store('exchange'), 0, n));
  }
  /** Sets `replacement` only if the value is `expected`; returns the value found (equal to `expected` on success). */
  compareExchange(expected: number, replacement: number): number {
    const e = u32(expected, 'expected');
    const r = u32(replacement, 'replacement');
    return this.#w.done(Atomics.compareExchange(this.#w.store('compareExchange'), 0, e, r));
  }
}

/**
 * An atomic unsigned 64-bit word of a mapping, from
 * `MemoryMappedFile.atomicU64(offset)`. Values are bigints (a safe integer
 * number is accepted as an argument); results are bigints.
 * Modes and closing behave as for {@link AtomicU32}.
 *
 * @example
 * ```ts
 * const total = file.atomicU64(8);
 * total.add(1n);
 * console.log(total.load()); // 1n
 * ```
 */
export class AtomicU64 {
  readonly #w: AtomicWord<BigUint64Array>;
  /** Byte offset of the word, relative to the file or segment it came from. */
  readonly offset: number;

  /** @internal */
  constructor(core: WindowCore, array: BigUint64Array, offset: number, abs: number) {
    this.#w = new AtomicWord(core, array, abs, `atomicU64(${offset})`, (buffer, inner) => new BigUint64Array(buffer, inner, 1));
    this.offset = offset;
  }

  /** The current value. */
  load(): bigint {
    return this.#w.done(Atomics.load(this.#w.live(), 0));
  }
  /** Sets the value. */
  store(value: bigint | number): void {
    const n = u64(value, 'value');
    this.#w.done(Atomics.store(this.#w.store('store'), 0, n));
  }
  /** Adds (wrapping at 2^64); returns the previous value. */
  add(value: bigint | number): bigint {
    const n = u64(value, 'value');
    return this.#w.done(Atomics.add(this.#w.store('add'), 0, n));
  }
  /** Subtracts (wrapping at 0); returns the previous value. */
  sub(value: bigint | number): bigint {
    const n = u64(value, 'value');
    return this.#w.done(Atomics.sub(this.#w.store('sub'), 0, n));
  }
  /** Bitwise and; returns the previous value. */
  and(value: bigint | number): bigint {
    const n = u64(value, 'value');
    return this.#w.done(Atomics.and(this.#w.store('and'), 0, n));
  }
  /** Bitwise or; returns the previous value. */
  or(value: bigint | number): bigint {
    const n = u64(value, 'value');
    return this.#w.done(Atomics.or(this.#w.store('or'), 0, n));
  }
  /** Bitwise xor; returns the previous value. */
  xor(value: bigint | number): bigint {
    const n = u64(value, 'value');
    return this.#w.done(Atomics.xor(this.#w.store('xor'), 0, n));
  }
  /** Sets the value; returns the previous one. */
  exchange(value: bigint | number): bigint {
    const n = u64(value, 'value');
    return this.#w.done(Atomics.exchange(this.#w.store('exchange'), 0, n));
  }
  /** Sets `replacement` only if the value is `expected`; returns the value found (equal to `expected` on success). */
  compareExchange(expected: bigint | number, replacement: bigint | number): bigint {
    const e = u64(expected, 'expected');
    const r = u64(replacement, 'replacement');
    return this.#w.done(Atomics.compareExchange(this.#w.store('compareExchange'), 0, e, r));
  }
}
