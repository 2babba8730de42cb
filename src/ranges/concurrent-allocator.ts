import { toOffset } from '../core/arguments.js';
import { ALIGNMENT } from './alignment.js';
import { mintRange, type AllocatedRange } from './allocated-range.js';
import type { AllocatorState } from './allocator-state.js';
import { misuse } from '../errors.js';
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

  /** @internal Made by MmapFile.create / open / fromShared. */
  constructor(views: ThreadMapping) {
    this.#views = views;
  }

  /**
   * Allocates `size` bytes rounded up to 4096, or what is left at the end of
   * the file; `null` when nothing is left. Safe to call from every thread at
   * once. `size` must be at least 1.
   */
  allocate(size: number | bigint): AllocatedRange | null {
    const n = toOffset(size, 'size');
    if (n === 0) throw misuse('ERR_MMAP_INVALID_ARGUMENT', 'size must be at least 1 byte (it is rounded up to 4096)');
    const v = this.#views;
    if (v.closed) throw v.closedError();
    const total = v.size;
    const want = Math.ceil(n / ALIGNMENT) * ALIGNMENT;
    // Past the end the counter keeps growing harmlessly: 2^63 bytes away.
    const start = Number(Atomics.add(v.statusI64, STATUS_ALLOC_NEXT_I64, BigInt(want)));
    if (start >= total) return null;
    const end = want >= total - start ? total : start + want;
    return mintRange(v.key, start, end);
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
    return next > v.size ? v.size : next;
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
