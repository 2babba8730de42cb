import { toOffset } from '../core/arguments.js';
import { ALIGNMENT } from './alignment.js';
import { mintRange, type AllocatedRange } from './allocated-range.js';
import type { AllocatorState } from './allocator-state.js';
import { outOfRange } from '../errors.js';
import type { ThreadMapping } from '../core/thread-mapping.js';
import { STATUS_ALLOC_NEXT_I64 } from '../native/status-page.js';

/**
 * Hands out non-overlapping ranges of one file to every thread at once,
 * wait-free: one atomic add per allocation on a counter that lives in
 * native memory shared by all threads of the process (so it cannot be
 * forged or duplicated). Rounding and clamping as in
 * {@link SequentialAllocator}.
 *
 * In a worker, get the same allocator from `MmapFile.fromShared(handle)`.
 *
 * @example
 * ```ts
 * const { file, allocator } = MmapFile.create('out.bin', 1 << 20, { allocator: 'concurrent' });
 * worker.postMessage(file.share());
 * // in the worker:
 * const { file, allocator } = MmapFile.fromShared(msg);
 * let r; while ((r = allocator!.allocate(ALIGNMENT)) !== null) file.writeRange(r, data);
 * ```
 */
export class ConcurrentAllocator {
  readonly #views: ThreadMapping;
  /** The file size as a bigint, for the exhaustion check. */
  readonly #totalBig: bigint;
  /** The largest step the counter may take: the file size rounded up to 4096. */
  readonly #maxStep: number;

  /** @internal Made by MmapFile.create / open / fromShared. */
  constructor(views: ThreadMapping) {
    this.#views = views;
    this.#totalBig = BigInt(views.size);
    this.#maxStep = Math.ceil(views.size / ALIGNMENT) * ALIGNMENT;
  }

  /**
   * Allocates `size` bytes rounded up to 4096, or what is left at the end of
   * the file; `null` when nothing is left. Safe to call from every thread at
   * once. `size` must be at least 1.
   */
  allocate(size: number | bigint): AllocatedRange | null {
    const n = toOffset(size, 'size');
    if (n === 0) throw outOfRange('size', 'an integer >= 1 and <= 2^53 - 1 (it is rounded up to 4096)', size);
    const v = this.#views;
    if (v.closed) throw v.closedError();
    const total = v.size;
    // The counter must never wrap: a wrapped counter hands out ranges that
    // overlap live ones. So (1) no step is larger than the file, (2) once the
    // counter has reached the end nobody adds to it again, and (3) a value
    // that is negative (it could only be one if it had wrapped) means
    // exhausted. Past the end, only threads already between their load and
    // their add can still add, one step each: the counter stays within
    // (threads + 1) * file size, far below 2^63 for any real file.
    const seen = Atomics.load(v.statusI64, STATUS_ALLOC_NEXT_I64);
    if (seen >= this.#totalBig || seen < 0n) return null;
    const rounded = Math.ceil(n / ALIGNMENT) * ALIGNMENT;
    const want = rounded < this.#maxStep ? rounded : this.#maxStep;
    const start = Number(Atomics.add(v.statusI64, STATUS_ALLOC_NEXT_I64, BigInt(want)));
    if (start >= total || start < 0) return null;
    const end = want >= total - start ? total : start + want;
    return mintRange(v.key, start, end);
  }

  /**
   * Allocates `size`-byte ranges until the file is exhausted, one per step,
   * for `for...of`. Each range is allocated when the loop asks for it, so
   * breaking out of the loop allocates nothing more.
   *
   * @example
   * ```ts
   * for (const range of allocator.ranges(64 * 1024)) file.writeRange(range, chunkFor(range));
   * ```
   */
  *ranges(size: number | bigint): Generator<AllocatedRange, void, undefined> {
    toOffset(size, 'size');
    for (let r = this.allocate(size); r !== null; r = this.allocate(size)) yield r;
  }

  /** Bytes not yet allocated (a snapshot; other threads may be allocating). */
  get remaining(): number {
    return this.totalSize - this.nextPos;
  }

  /** Where the next allocation starts (a snapshot). */
  get nextPos(): number {
    const v = this.#views;
    if (v.closed) throw v.closedError();
    const next = Number(Atomics.load(v.statusI64, STATUS_ALLOC_NEXT_I64));
    return next > v.size || next < 0 ? v.size : next;
  }

  /** Size of the file this allocator covers. */
  get totalSize(): number {
    return this.#views.size;
  }

  /** The allocator's position as plain JSON, to resume with `MmapFile.open(path, { allocatorState })`. */
  saveState(): AllocatorState {
    return { kind: 'concurrent', nextPos: this.nextPos, totalSize: this.#views.size };
  }

  /** Same as {@link saveState}, so `JSON.stringify(allocator)` works. */
  toJSON(): AllocatorState {
    return this.saveState();
  }
}
