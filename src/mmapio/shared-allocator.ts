/**
 * SharedAllocator: the concurrent allocator across processes. Its state
 * is one 64-bit counter in a small state file next to the data, mapped by
 * every process and thread that uses it;
 * an allocation is one atomic add on it, so independent processes get
 * disjoint ranges with no lock and no coordinator, and a process killed at
 * any instruction leaves the state consistent (its add happened or not).
 */
import { toOffset, toPath, readOptions } from '../core/arguments.js';
import type { PathLike } from '../core/path-like.js';
import { argTypeError, misuse } from '../errors.js';
import type { AtomicU32, AtomicU64 } from './atomic-view.js';
import { MemoryMappedFile, isMemoryMappedFile } from './memory-mapped-file.js';

/** Bytes every range is a multiple of (but the last one): 4096. */
const ALIGN = 4096;
const STATE_BYTES = 4096;
/** "RMA1" in the first word of a state file. */
const MAGIC = 0x31414d52;
const OFFSET_MAGIC = 0;
const OFFSET_TOTAL = 8;
/** The counter sits on a cache line of its own. */
const OFFSET_NEXT = 64;

/** A range handed out by a {@link SharedAllocator}: bytes [start, end) of the data file. */
export interface SharedRange {
  readonly start: number;
  readonly end: number;
  readonly length: number;
}

/** Options of {@link SharedAllocator.open}. */
export interface SharedAllocatorOptions {
  /** Where the state lives (default: the data file's path + `.alloc`). */
  statePath?: PathLike;
}

/**
 * A concurrent allocator shared by every thread and process that opens it
 * for the same file: `allocate(size)` rounds up to 4096 bytes, clamps the
 * last range at the end of the file, and returns null once the file is
 * used up, exactly like `ConcurrentAllocator`, but its counter lives in a
 * state file (`<data path>.alloc`) that survives restarts.
 *
 * @example
 * ```ts
 * // in every process (and worker):
 * const file = MemoryMappedFile.openOrCreate('data.bin', 1 << 30);
 * const alloc = SharedAllocator.open(file);
 * for (let r = alloc.allocate(1 << 20); r !== null; r = alloc.allocate(1 << 20)) {
 *   file.updateRegion(r.start, produce(r.length));
 * }
 * alloc.close();
 * ```
 */
export class SharedAllocator {
  readonly #state: MemoryMappedFile;
  readonly #next: AtomicU64;
  readonly #total: number;
  readonly #totalBig: bigint;

  private constructor(state: MemoryMappedFile, total: number) {
    this.#state = state;
    this.#next = state.atomicU64(OFFSET_NEXT);
    this.#total = total;
    this.#totalBig = BigInt(total);
  }

  /**
   * Opens (or starts) the shared allocation state of a read-write file.
   * Every opener of the same state must have the same file size; the
   * first one records it.
   * @throws ERR_MMAP_INVALID_MODE (the file is not 'rw'), ERR_MMAP_INVALID_STATE (the state file belongs to another size or is not a state file), system errors opening the state file
   */
  static open(file: MemoryMappedFile, options?: SharedAllocatorOptions): SharedAllocator {
    if (!isMemoryMappedFile(file)) throw argTypeError('file', 'an instance of MemoryMappedFile', file);
    const o = readOptions(options, 'options', ['statePath'] as const);
    if (file.mode !== 'rw')
      throw misuse(
        'ERR_MMAP_INVALID_MODE',
        `a shared allocator hands out ranges to write: '${file.path}' is mapped '${file.mode}'; open it with openRw`,
        file.path,
      );
    const statePath = o.statePath === undefined ? `${file.path}.alloc` : toPath(o.statePath);
    const total = file.length;
    const state = MemoryMappedFile.openOrCreate(statePath, STATE_BYTES);
    try {
      if (state.length < STATE_BYTES)
        throw misuse('ERR_MMAP_INVALID_STATE', `'${statePath}' is not an allocator state file (${state.length} bytes)`, statePath);
      // Initialization is idempotent, so openers racing each other (or a
      // process killed halfway) never leave a half-made state: each field
      // goes from 0 to its one right value by compare-and-exchange.
      const magic: AtomicU32 = state.atomicU32(OFFSET_MAGIC);
      const seen = magic.compareExchange(0, MAGIC);
      if (seen !== 0 && seen !== MAGIC) throw misuse('ERR_MMAP_INVALID_STATE', `'${statePath}' is not an allocator state file`, statePath);
      const recorded = state.atomicU64(OFFSET_TOTAL).compareExchange(0n, BigInt(total));
      if (recorded !== 0n && recorded !== BigInt(total)) {
        throw misuse(
          'ERR_MMAP_INVALID_STATE',
          `'${statePath}' holds the allocation state of a ${recorded}-byte file, but '${file.path}' has ${total} bytes`,
          statePath,
        );
      }
      return new SharedAllocator(state, total);
    } catch (error) {
      state.close();
      throw error;
    }
  }

  /** Size of the data file the ranges come from. */
  get totalSize(): number {
    return this.#total;
  }

  /** Where the next range starts (the file size once exhausted). */
  get nextPos(): number {
    const n = this.#next.load();
    return n >= this.#totalBig ? this.#total : Number(n);
  }

  /** Bytes not handed out yet. */
  get remaining(): number {
    return this.#total - this.nextPos;
  }

  /**
   * A range of `size` bytes rounded up to 4096 (the last one clamped at the
   * end of the file), or null once the file is used up. One atomic add.
   * @throws ERR_OUT_OF_RANGE for a size of 0 or above 2^53 - 1, ERR_MMAP_CLOSED
   */
  allocate(size: number | bigint): SharedRange | null {
    const n = toOffset(size, 'size');
    if (n === 0) throw misuse('ERR_MMAP_INVALID_ARGUMENT', 'cannot allocate 0 bytes', this.#state.path);
    // Never more than the file per step, and no add once the end is
    // reached: the counter cannot wrap, whatever the requests.
    const want = Math.min(Math.ceil(n / ALIGN) * ALIGN, Math.ceil(this.#total / ALIGN) * ALIGN);
    if (this.#next.load() >= this.#totalBig) return null;
    const start = this.#next.add(BigInt(want));
    if (start >= this.#totalBig) return null;
    const s = Number(start);
    const end = Math.min(s + want, this.#total);
    return Object.freeze({ start: s, end, length: end - s });
  }

  /** Closes this thread's mapping of the state (the state itself stays). */
  close(): void {
    this.#state.close();
  }

  /** `using alloc = SharedAllocator.open(file)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }
}
