import { toOffset } from '../core/arguments.js';
import { ALIGNMENT } from './alignment.js';
import { mintRange, type AllocatedRange } from './allocated-range.js';
import type { AllocatorState } from './allocator-state.js';
import { outOfRange } from '../errors.js';
import type { ThreadMapping } from '../core/thread-mapping.js';

/**
 * Hands out consecutive, non-overlapping ranges of one file, from the start
 * to the end, in one thread. Requests are rounded up to a multiple of 4096
 * bytes; the last range is cut at the end of the file; `null` means the file
 * is fully allocated.
 *
 * @example
 * ```ts
 * const { file, allocator } = MmapFile.create('out.bin', 10_000);
 * allocator.allocate(1);     // [0, 4096)
 * allocator.allocate(4096);  // [4096, 8192)
 * allocator.allocate(4096);  // [8192, 10000): clamped at the end
 * allocator.allocate(1);     // null
 * ```
 */
export class SequentialAllocator {
  readonly #views: ThreadMapping;
  #next: number;

  /** @internal Made by MmapFile.create / MmapFile.open. */
  constructor(views: ThreadMapping, nextPos: number) {
    this.#views = views;
    this.#next = nextPos;
  }

  /**
   * Allocates `size` bytes rounded up to 4096, or what is left at the end of
   * the file; `null` when nothing is left. `size` must be at least 1.
   */
  allocate(size: number | bigint): AllocatedRange | null {
    const n = toOffset(size, 'size');
    if (n === 0) throw outOfRange('size', 'an integer >= 1 and <= 2^53 - 1 (it is rounded up to 4096)', size);
    if (this.#views.closed) throw this.#views.closedError();
    const total = this.#views.size;
    const start = this.#next;
    if (start >= total) return null;
    const want = Math.ceil(n / ALIGNMENT) * ALIGNMENT;
    const end = want >= total - start ? total : start + want;
    this.#next = end;
    return mintRange(this.#views.key, start, end);
  }

  /**
   * Allocates up to `count` ranges of `size` bytes (rounded up to 4096), in
   * file order; fewer at the end of the file (the last may be shorter), an
   * empty array when nothing is left.
   *
   * @example
   * ```ts
   * const ranges = allocator.allocateMany(4, 4096); // four 4 KiB ranges, one after another
   * ```
   */
  allocateMany(count: number | bigint, size: number | bigint): AllocatedRange[] {
    const n = toOffset(count, 'count');
    // size and the file's state are checked even for a count of 0.
    if (toOffset(size, 'size') === 0) throw outOfRange('size', 'an integer >= 1 and <= 2^53 - 1 (it is rounded up to 4096)', size);
    if (this.#views.closed) throw this.#views.closedError();
    const out: AllocatedRange[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.allocate(size);
      if (r === null) break;
      out.push(r);
    }
    return out;
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

  /** Bytes not yet allocated. */
  get remaining(): number {
    return this.#views.size - this.#next;
  }

  /** Where the next allocation starts. */
  get nextPos(): number {
    return this.#next;
  }

  /** Size of the file this allocator covers. */
  get totalSize(): number {
    return this.#views.size;
  }

  /** The allocator's position as plain JSON, to resume with `MmapFile.open(path, { allocatorState })`. */
  saveState(): AllocatorState {
    return { kind: 'sequential', nextPos: this.#next, totalSize: this.#views.size };
  }

  /** Same as {@link saveState}, so `JSON.stringify(allocator)` works. */
  toJSON(): AllocatorState {
    return this.saveState();
  }
}
