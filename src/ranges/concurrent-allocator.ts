import { toOffset } from '../core/arguments.js';
import { ALIGNMENT } from './alignment.js';

/** log2(ALIGNMENT). */
const PAGE_SHIFT = 12;
import { mintPages, type AllocatedRange } from './allocated-range.js';
import type { AllocatorState } from './allocator-state.js';
import { outOfRange } from '../errors.js';
import type { ThreadMapping } from '../core/thread-mapping.js';
import { STATUS_ALLOC_NEXT_I64, STATUS_ALLOC_NEXT_PAGES_I32 } from '../native/status-page.js';
import { AllocationBatch, BATCH_MAX_WANT, EXHAUSTED } from './allocation-batch.js';

/** Files up to this many pages (4 TiB) count in an Int32 of pages. */
const PAGE_COUNTER_MAX_PAGES = 2 ** 30;
/**
 * Requests up to this many pages (4 MiB) take one Atomics.add (wait-free);
 * larger ones a compare-and-swap that never moves the counter past the end.
 * So racing adds can overshoot the end by at most this much each: below
 * 2^31 with up to a million threads racing at the moment of exhaustion.
 */
const ADD_MAX_PAGES = 1024;
/** After finding no free batch slot, a thread looks again after this many contended allocations. */
const CLAIM_RETRY_AFTER = 4096;

/**
 * Hands out non-overlapping ranges of one file to every thread at once,
 * wait-free: one atomic add per allocation (of up to 4 MiB; larger ones take
 * a compare-and-swap loop, lock-free) on a counter that lives in
 * native memory shared by all threads of the process (so it cannot be
 * forged or duplicated). Rounding and clamping as in
 * {@link SequentialAllocator}.
 *
 * When several threads allocate at once, a thread that sees another
 * thread's allocations between its own takes small requests (up to 64 KiB)
 * from a batch of up to 256 KiB it took from the counter in one step, so
 * the counter's cache line stops moving between cores on every call.
 * Ranges are then not handed out in file order across threads (they never
 * were promised to be), and the counter ({@link nextPos}) runs ahead of what
 * was handed out; {@link remaining} counts both. Once the counter reaches
 * the end, every thread's `allocate` takes what other threads' batches
 * still hold (only then can a range be shorter than asked for in the
 * middle of the file: what was left of a batch). So the file is handed out
 * whole when every thread allocates until `null`, or one does after the
 * others stopped: a batch taken from the counter just before the end
 * reaches its slot a moment later, so a `null` while another thread is
 * inside `allocate` is not final (docs/threads.md, "Batches"). A single
 * thread allocating alone never batches: its ranges follow each other in
 * file order.
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
  /** The file size in 4 KiB pages, rounded up: also the largest step the counter may take. */
  readonly #totalPages: number;
  /** The file size in whole 4 KiB pages (rounded down): ranges that end by then need no cut. */
  readonly #wholePages: number;
  /** True when the counter counts pages in an Int32 (files up to 4 TiB): no BigInt per allocation. */
  readonly #pageCounter: boolean;
  /** This thread's batch slot, once it has seen other threads allocate (page counter only). */
  #batch: AllocationBatch | null = null;
  /** The page after this thread's last allocation from the counter (-1 before the first). */
  #expected = -1;
  /** Contended allocations to make before looking for a free batch slot again (after none was free). */
  #claimWait = 0;

  /** @internal Made by MmapFile.create / open / fromShared. */
  constructor(views: ThreadMapping) {
    this.#views = views;
    this.#totalPages = Math.ceil(views.size / ALIGNMENT);
    this.#wholePages = Math.floor(views.size / ALIGNMENT);
    this.#pageCounter = this.#totalPages <= PAGE_COUNTER_MAX_PAGES;
  }

  /** @internal Sets the shared counter (create, or open with a saved state); the kind of counter follows the file size, so every thread agrees. */
  static start(views: ThreadMapping, nextPos: number): ConcurrentAllocator {
    const allocator = new ConcurrentAllocator(views);
    if (allocator.#pageCounter) Atomics.store(views.status, STATUS_ALLOC_NEXT_PAGES_I32, Math.ceil(nextPos / ALIGNMENT));
    else Atomics.store(views.statusI64, STATUS_ALLOC_NEXT_I64, BigInt(nextPos));
    return allocator;
  }

  /**
   * Allocates `size` bytes rounded up to 4096, or what is left at the end of
   * the file; `null` when nothing is left. Safe to call from every thread at
   * once. `size` must be at least 1.
   */
  allocate(size: number | bigint): AllocatedRange | null {
    // The usual argument, a whole number in [1, 2^31), passes one test;
    // anything else gets the full check (and its error).
    // (A shift, not a division: `(size + 4095) >>> 12` is ceil(size / 4096)
    // for every such size, and the sum stays below 2^32.)
    let want = typeof size === 'number' && (size | 0) === size && size > 0 ? (size + ALIGNMENT - 1) >>> PAGE_SHIFT : pagesFor(size);
    const v = this.#views;
    if (v.closed) throw v.closedError();
    const totalPages = this.#totalPages;
    // The counter must never wrap: a wrapped counter hands out ranges that
    // overlap live ones. So (1) no step is larger than the file, (2) an add
    // that lands at or past the end is taken back at once (#pastEnd), so
    // the counter stays within one step per thread (between its add and
    // its sub) of the end, and (3) a value that is negative (it could only
    // be one if it had wrapped) means exhausted. For the Int32 page counter
    // a step by add is at most ADD_MAX_PAGES (larger requests claim their
    // pages by compare-and-swap, never past the end; a batch refill is at
    // most BATCH_PAGES and looks before it adds); the BigInt byte counter of
    // files over 4 TiB has 2^63 of room.
    if (want > totalPages) want = totalPages;
    if (!this.#pageCounter) return this.#allocateBytes(want);
    const batch = this.#batch;
    if (batch !== null && want <= BATCH_MAX_WANT) {
      const r = this.#fromBatch(batch, want);
      if (r !== undefined) return r;
    }
    const status = v.status;
    let page: number;
    if (want <= ADD_MAX_PAGES) {
      // No look at the counter first: the add itself says whether the file
      // is exhausted (one atomic operation on the shared line per call).
      page = Atomics.add(status, STATUS_ALLOC_NEXT_PAGES_I32, want);
      if (page >= totalPages || page < 0) return this.#pastEnd(want);
    } else {
      page = claimPages(status, Atomics.load(status, STATUS_ALLOC_NEXT_PAGES_I32), want, totalPages);
      if (page < 0) return this.#leftover(want);
    }
    if (page !== this.#expected) this.#sawOthers();
    this.#expected = page + want;
    return this.#mint(page, want);
  }

  /** The add of `want` pages landed at or past the end: takes it back, then what batches still hold. */
  #pastEnd(want: number): AllocatedRange | null {
    Atomics.sub(this.#views.status, STATUS_ALLOC_NEXT_PAGES_I32, want);
    return this.#leftover(want);
  }

  /** Files over 4 TiB: the BigInt byte counter (no batches), with the same take-back past the end. */
  #allocateBytes(want: number): AllocatedRange | null {
    const v = this.#views;
    const step = BigInt(want * ALIGNMENT);
    const start = Number(Atomics.add(v.statusI64, STATUS_ALLOC_NEXT_I64, step));
    if (start >= v.size || start < 0) {
      Atomics.sub(v.statusI64, STATUS_ALLOC_NEXT_I64, step);
      return null;
    }
    const bytes = want * ALIGNMENT;
    return mintPages(v.key, start / ALIGNMENT, Math.min(bytes, v.size - start));
  }

  /** From this thread's batch: a range, null when the file is handed out, undefined to go to the counter. */
  #fromBatch(batch: AllocationBatch, want: number): AllocatedRange | null | undefined {
    const page = batch.take(want);
    if (page >= 0) return this.#mint(page, batch.taken);
    return page === EXHAUSTED ? this.#leftover(want) : undefined;
  }

  /**
   * The counter moved since this thread's last allocation (or this is its
   * first): after the first, another thread is allocating and they share
   * the counter's cache line. Take batches from now on (if a slot is free).
   */
  #sawOthers(): void {
    if (this.#expected < 0 || this.#batch !== null) return;
    // With every slot held (more than 12 threads allocating), look again
    // only now and then: each look touches the owners' cache lines.
    if (this.#claimWait > 0) {
      this.#claimWait--;
      return;
    }
    this.#batch = AllocationBatch.claim(this.#views, this.#totalPages);
    if (this.#batch === null) this.#claimWait = CLAIM_RETRY_AFTER;
  }

  /** A range of `pages` pages from `page`, cut at the end of the file. */
  #mint(page: number, pages: number): AllocatedRange {
    const v = this.#views;
    // Integer compares while the range ends inside the file's whole pages.
    return mintPages(v.key, page, page + pages <= this.#wholePages ? pages * ALIGNMENT : v.size - page * ALIGNMENT);
  }

  /** The counter is at the end: what other threads' batches still hold, up to `want` pages, or null. */
  #leftover(want: number): AllocatedRange | null {
    const got = AllocationBatch.takeLeftover(this.#views.status, want);
    return got < 0 ? null : this.#mint(got, AllocationBatch.lastTaken);
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

  /**
   * Bytes not yet handed out (a snapshot; other threads may be allocating):
   * those past {@link nextPos} and those that threads took in batches
   * (see the class notes) and have not handed out yet.
   */
  get remaining(): number {
    // Once this thread closed the file its status page is detached: without
    // this check the slots' Atomics.load throws a bare TypeError instead of
    // ERR_MMAP_CLOSED (which nextPos throws, but it is read after them).
    const v = this.#views;
    if (v.closed) throw v.closedError();
    const pending = this.#pageCounter ? AllocationBatch.pendingBytes(v.status, v.size) : 0;
    return this.totalSize - this.nextPos + pending;
  }

  /**
   * Where the shared counter stands (a snapshot): every byte before it has
   * been handed out, or is held in a thread's batch (see {@link remaining}).
   */
  get nextPos(): number {
    const v = this.#views;
    if (v.closed) throw v.closedError();
    const next = this.#pageCounter ? Atomics.load(v.status, STATUS_ALLOC_NEXT_PAGES_I32) * ALIGNMENT : Number(Atomics.load(v.statusI64, STATUS_ALLOC_NEXT_I64));
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

/** Pages for a `size` that is not a whole number in [1, 2^31): checked in full. */
function pagesFor(size: unknown): number {
  const n = toOffset(size, 'size');
  if (n === 0) throw outOfRange('size', 'an integer >= 1 and <= 2^53 - 1 (it is rounded up to 4096)', size);
  return Math.ceil(n / ALIGNMENT);
}

/**
 * Moves the page counter from `seen` by `want` pages, or to the end,
 * whichever comes first, with compare-and-swap: it never passes the end.
 * Returns the first page claimed, or -1 when the file is exhausted.
 */
function claimPages(status: Int32Array, seen: number, want: number, totalPages: number): number {
  for (;;) {
    if (seen >= totalPages || seen < 0) return -1;
    const next = want >= totalPages - seen ? totalPages : seen + want;
    const found = Atomics.compareExchange(status, STATUS_ALLOC_NEXT_PAGES_I32, seen, next);
    if (found === seen) return seen;
    seen = found;
  }
}
