/**
 * Atomic 32- and 64-bit views of one aligned word of a mapping (mmap-io's
 * `atomic_u32` / `atomic_u64`). Every operation is one `Atomics.*` call on
 * this thread's view of the shared memory: a real atomic instruction, exact
 * across threads and across processes that map the same file read-write.
 *
 * The hot path of an operation is: the operand check, the `Atomics.*` call,
 * and one load after it (the mapping's fault counter). Everything else is
 * settled where it can be without a test per call:
 * - closed in this thread, or moved here by a resize: closing (or leaving)
 *   this thread's attachment detaches the word's typed array, so the
 *   `Atomics.*` call itself throws without touching memory; the catch tells
 *   the cases apart (ERR_MMAP_CLOSED, or move and run again);
 * - read-only file: stores go to an empty typed array, on which every
 *   `Atomics.*` call throws (the catch reports ERR_MMAP_INVALID_MODE);
 * - resized in another thread, this thread not yet moved: the word's array
 *   still maps the same file page (a resize never unmaps what a thread is
 *   attached to), so the operation reaches the file. A shrink that cut the
 *   word's page leaves the page faulting and marks the mapping; a follow in
 *   this thread detaches the old status page; either way the load after
 *   the operation sees it, and the view moves (or throws
 *   ERR_MMAP_OUT_OF_BOUNDS / ERR_MMAP_FAULT). So a thread that only uses
 *   atomic views stays on its mapping through grows made elsewhere (as a
 *   slice would; any other call on the file in that thread follows). A
 *   countdown that let such a thread follow every few thousand operations
 *   was tried: besides its own cost, it made Node 20's optimized code for
 *   the operations unstable (12 to 18 ns per u64 store from one run of a
 *   loop to the next), so it is not here.
 * - a lost page (truncated behind the library's back, or cut by a shrink
 *   racing the operation) is only visible after the operation: the fault
 *   counter, read from a local taken before the call.
 */
import { argTypeError, misuse, outOfRange } from '../errors.js';
import { VIEW_BYTES } from '../core/thread-mapping.js';
import type { ThreadMapping } from '../core/thread-mapping.js';
import { STATUS_FAULTS_I32 } from '../native/status-page.js';
import type { WindowCore } from './window-core.js';

/**
 * @internal Moves an atomic view to this thread's newest mapping (after a
 * resize in any thread): a new typed array over this thread's view of it,
 * or ERR_MMAP_OUT_OF_BOUNDS when the word is past the new end.
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

/** The fault counter of `v`'s status page as a one-word array (detached with the page). */
function faultCounter(v: ThreadMapping): Int32Array {
  return new Int32Array(v.status.buffer, STATUS_FAULTS_I32 * 4, 1);
}

/**
 * @internal The state and slow paths shared by {@link AtomicU32} and
 * {@link AtomicU64}: the arrays the hot path uses (`a` for loads, `wa` for
 * stores), the mapping they belong to, the errors, and the move to a
 * resized mapping. A class of its own, held in a private field, so none of
 * it is reachable from the public objects. Each public object keeps copies
 * of `a`, `wa` and `faults` in private fields of its own (one object less
 * to go through per call) and takes them again after every slow path.
 */
class AtomicWord<A extends Uint32Array | BigUint64Array> {
  a: A;
  /** `a`, or on a read-only file an empty array, on which every `Atomics.*` call throws. */
  wa: A;
  /**
   * The fault counter of the mapping `a` belongs to (STATUS_FAULTS_I32 of
   * its status page), as a one-word array: the hot path reads index 0, a
   * constant, instead of a module's exported index.
   */
  faults: Int32Array;
  #v: ThreadMapping;
  readonly #core: WindowCore;
  readonly #abs: number;
  readonly #name: string;
  readonly #make: (buffer: ArrayBufferLike, inner: number) => A;
  readonly #empty: A;

  constructor(core: WindowCore, array: A, abs: number, name: string, make: (buffer: ArrayBufferLike, inner: number) => A, empty: A) {
    this.#core = core;
    this.#v = core.views;
    this.faults = faultCounter(core.views);
    this.a = array;
    this.#empty = empty;
    this.wa = core.mode === 'ro' ? empty : array;
    this.#abs = abs;
    this.#name = name;
    this.#make = make;
  }

  /**
   * The `Atomics.*` call of `what` threw `error` before touching memory.
   * Throws what the caller should see, or returns once the view moved to a
   * newer mapping (the caller then runs the operation again: each return
   * is one resize followed, so the retries end).
   */
  recover(error: unknown, what: string): void {
    // Closed first: on a read-only file the store array throws always, and
    // a closed file says so whatever the operation.
    const now = this.#core.views;
    if (now.closed) throw now.closedError();
    if (what !== 'load' && this.wa === this.#empty) throw this.#core.modeError(`${this.#name}.${what}`);
    // Only closing detaches the arrays of the mapping this thread is on;
    // leaving one (a follow) changes core.views.
    if (this.#v === now) throw error;
    this.#rebind();
  }

  /**
   * The fault counter read after the operation was not 0: the mapping lost
   * pages, or its status page was detached (this thread moved on to a
   * resized mapping). A shrink in another thread marks the old mapping so:
   * if this word is still inside the file, its page was never cut and the
   * operation reached the file (the view moves; ERR_MMAP_OUT_OF_BOUNDS when
   * the word is past the new end). A mark with no resize behind it is a
   * page truncated away: ERR_MMAP_FAULT.
   */
  faulted(): void {
    const core = this.#core;
    if (this.#v === core.views && !core.moved) throw this.#v.faultError();
    const generation = core.generation;
    this.#rebind();
    // The operation ran on a mapping this thread had not left yet, and the
    // follow just made walked a shrink that cut the word (the file has
    // grown back since, or the rebind would have thrown): either the
    // operation landed on the file before the shrink cut it away, or on the
    // anonymous memory the shrink put over the old mapping's page. Its
    // effect is not in the file either way; reporting success would lose it.
    if (core.generation !== generation && core.followShortest < this.#abs + this.a.BYTES_PER_ELEMENT) {
      throw misuse(
        'ERR_MMAP_OUT_OF_BOUNDS',
        `${this.#name}: another thread shrank '${core.path}' to ${core.followShortest} bytes, cutting the word, while this operation ran; the file has grown back since, but the operation's effect is not in it. The view maps the word again: run the operation again if it should count`,
        core.path,
      );
    }
  }

  #rebind(): void {
    this.a = rebind(this.#core, this.#abs, this.a.BYTES_PER_ELEMENT, this.#name, this.#make);
    this.wa = this.#core.mode === 'ro' ? this.#empty : this.a;
    this.#v = this.#core.views;
    this.faults = faultCounter(this.#v);
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
 * `ERR_MMAP_CLOSED`. An operation that ran while a shrink in another
 * thread had cut its word throws `ERR_MMAP_OUT_OF_BOUNDS`, even when the
 * file has grown back since: its effect is not in the file (the view then
 * maps the word again; run the operation again if it should count).
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
  /** This thread's typed array over the word (copied from #w, as are the next two). */
  #a: Uint32Array;
  /** The array stores use: #a, or an empty array on a read-only file. */
  #wa: Uint32Array;
  /** The fault counter of #a's mapping (one word). */
  #faults: Int32Array;
  /** Byte offset of the word, relative to the file or segment it came from. */
  readonly offset: number;

  /** @internal */
  constructor(core: WindowCore, array: Uint32Array, offset: number, abs: number) {
    const w = new AtomicWord(core, array, abs, `atomicU32(${offset})`, (buffer, inner) => new Uint32Array(buffer, inner, 1), new Uint32Array(0));
    this.#w = w;
    this.#a = w.a;
    this.#wa = w.wa;
    this.#faults = w.faults;
    this.offset = offset;
  }

  /** The fault counter read after an operation was not 0: throws, or moves the view when the operation reached the file. */
  #faulted(): void {
    try {
      this.#w.faulted();
    } finally {
      // #w may have moved before it threw (the word was cut meanwhile).
      this.#sync();
    }
  }

  /** An `Atomics.*` call threw before touching memory: throws the error to report, or returns after a move (run it again). */
  #recover(error: unknown, what: string): void {
    this.#w.recover(error, what);
    this.#sync();
  }

  #sync(): void {
    this.#a = this.#w.a;
    this.#wa = this.#w.wa;
    this.#faults = this.#w.faults;
  }

  /** The current value. */
  load(): number {
    let r: number;
    const faults = this.#faults;
    try {
      r = Atomics.load(this.#a, 0);
    } catch (error) {
      this.#recover(error, 'load');
      return this.load();
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Sets the value. */
  store(value: number): void {
    const n = u32(value, 'value');
    const faults = this.#faults;
    try {
      Atomics.store(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'store');
      this.store(value);
      return;
    }
    if (faults[0] !== 0) this.#faulted();
  }
  /** Adds (wrapping at 2^32); returns the previous value. */
  add(value: number): number {
    const n = u32(value, 'value');
    let r: number;
    const faults = this.#faults;
    try {
      r = Atomics.add(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'add');
      return this.add(value);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Subtracts (wrapping at 0); returns the previous value. */
  sub(value: number): number {
    const n = u32(value, 'value');
    let r: number;
    const faults = this.#faults;
    try {
      r = Atomics.sub(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'sub');
      return this.sub(value);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Bitwise and; returns the previous value. */
  and(value: number): number {
    const n = u32(value, 'value');
    let r: number;
    const faults = this.#faults;
    try {
      r = Atomics.and(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'and');
      return this.and(value);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Bitwise or; returns the previous value. */
  or(value: number): number {
    const n = u32(value, 'value');
    let r: number;
    const faults = this.#faults;
    try {
      r = Atomics.or(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'or');
      return this.or(value);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Bitwise xor; returns the previous value. */
  xor(value: number): number {
    const n = u32(value, 'value');
    let r: number;
    const faults = this.#faults;
    try {
      r = Atomics.xor(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'xor');
      return this.xor(value);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Sets the value; returns the previous one. */
  exchange(value: number): number {
    const n = u32(value, 'value');
    let r: number;
    const faults = this.#faults;
    try {
      r = Atomics.exchange(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'exchange');
      return this.exchange(value);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Sets `replacement` only if the value is `expected`; returns the value found (equal to `expected` on success). */
  compareExchange(expected: number, replacement: number): number {
    const e = u32(expected, 'expected');
    const n = u32(replacement, 'replacement');
    let r: number;
    const faults = this.#faults;
    try {
      r = Atomics.compareExchange(this.#wa, 0, e, n);
    } catch (error) {
      this.#recover(error, 'compareExchange');
      return this.compareExchange(expected, replacement);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
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
  /** This thread's typed array over the word (copied from #w, as are the next two). */
  #a: BigUint64Array;
  /** The array stores use: #a, or an empty array on a read-only file. */
  #wa: BigUint64Array;
  /** The fault counter of #a's mapping (one word). */
  #faults: Int32Array;
  /** Byte offset of the word, relative to the file or segment it came from. */
  readonly offset: number;

  /** @internal */
  constructor(core: WindowCore, array: BigUint64Array, offset: number, abs: number) {
    const w = new AtomicWord(core, array, abs, `atomicU64(${offset})`, (buffer, inner) => new BigUint64Array(buffer, inner, 1), new BigUint64Array(0));
    this.#w = w;
    this.#a = w.a;
    this.#wa = w.wa;
    this.#faults = w.faults;
    this.offset = offset;
  }

  /** The fault counter read after an operation was not 0: throws, or moves the view when the operation reached the file. */
  #faulted(): void {
    try {
      this.#w.faulted();
    } finally {
      // #w may have moved before it threw (the word was cut meanwhile).
      this.#sync();
    }
  }

  /** An `Atomics.*` call threw before touching memory: throws the error to report, or returns after a move (run it again). */
  #recover(error: unknown, what: string): void {
    this.#w.recover(error, what);
    this.#sync();
  }

  #sync(): void {
    this.#a = this.#w.a;
    this.#wa = this.#w.wa;
    this.#faults = this.#w.faults;
  }

  /** The current value. */
  load(): bigint {
    let r: bigint;
    const faults = this.#faults;
    try {
      r = Atomics.load(this.#a, 0);
    } catch (error) {
      this.#recover(error, 'load');
      return this.load();
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Sets the value. */
  store(value: bigint | number): void {
    const n = u64(value, 'value');
    const faults = this.#faults;
    try {
      Atomics.store(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'store');
      this.store(value);
      return;
    }
    if (faults[0] !== 0) this.#faulted();
  }
  /** Adds (wrapping at 2^64); returns the previous value. */
  add(value: bigint | number): bigint {
    const n = u64(value, 'value');
    let r: bigint;
    const faults = this.#faults;
    try {
      r = Atomics.add(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'add');
      return this.add(value);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Subtracts (wrapping at 0); returns the previous value. */
  sub(value: bigint | number): bigint {
    const n = u64(value, 'value');
    let r: bigint;
    const faults = this.#faults;
    try {
      r = Atomics.sub(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'sub');
      return this.sub(value);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Bitwise and; returns the previous value. */
  and(value: bigint | number): bigint {
    const n = u64(value, 'value');
    let r: bigint;
    const faults = this.#faults;
    try {
      r = Atomics.and(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'and');
      return this.and(value);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Bitwise or; returns the previous value. */
  or(value: bigint | number): bigint {
    const n = u64(value, 'value');
    let r: bigint;
    const faults = this.#faults;
    try {
      r = Atomics.or(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'or');
      return this.or(value);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Bitwise xor; returns the previous value. */
  xor(value: bigint | number): bigint {
    const n = u64(value, 'value');
    let r: bigint;
    const faults = this.#faults;
    try {
      r = Atomics.xor(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'xor');
      return this.xor(value);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Sets the value; returns the previous one. */
  exchange(value: bigint | number): bigint {
    const n = u64(value, 'value');
    let r: bigint;
    const faults = this.#faults;
    try {
      r = Atomics.exchange(this.#wa, 0, n);
    } catch (error) {
      this.#recover(error, 'exchange');
      return this.exchange(value);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
  /** Sets `replacement` only if the value is `expected`; returns the value found (equal to `expected` on success). */
  compareExchange(expected: bigint | number, replacement: bigint | number): bigint {
    const e = u64(expected, 'expected');
    const n = u64(replacement, 'replacement');
    let r: bigint;
    const faults = this.#faults;
    try {
      r = Atomics.compareExchange(this.#wa, 0, e, n);
    } catch (error) {
      this.#recover(error, 'compareExchange');
      return this.compareExchange(expected, replacement);
    }
    if (faults[0] !== 0) this.#faulted();
    return r;
  }
}
