/**
 * A thread's batch of pages for the concurrent allocator.
 *
 * Why: every allocation is one atomic add on one shared counter. When two
 * threads allocate at once, that counter's cache line moves between the
 * cores on every call, and two threads together allocate more slowly than
 * one alone (on a 2-core VM, a bare `Atomics.add` loop on one shared word:
 * 116 M adds a second from one thread, 46 M from two together;
 * `node bench/probes/alloc-rate.mjs`). A thread that has seen another
 * thread's allocations therefore takes up to {@link BATCH_PAGES} pages from
 * the counter in one step and hands small requests out of them.
 *
 * Where: the batches live in slots of the mapping's status page (shared by
 * every thread of the process, never by JavaScript values), so that what a
 * thread took but has not handed out is not lost when it stops allocating,
 * closes the file or dies: any thread that finds the counter at the end of
 * the file takes what is left in every slot (`takeLeftover`).
 *
 * A slot is three Int32 words:
 * - OWNER: 0 free, 1 held by one thread (compare-and-swap to claim, store 0
 *   to release on close; a new owner adopts what is left in it).
 * - STATE: `taken + limit * STATE_LIMIT_UNIT`: pages of the batch handed out
 *   so far and pages in it. The owner and the takers of leftovers move it
 *   only by compare-and-swap, so no page is handed out twice.
 * - BASE: the batch's first page.
 *
 * The owner refills only an empty batch (taken >= limit): it writes BASE,
 * then STATE = (0, limit). A taker of leftovers reads STATE, then BASE, and
 * compare-and-swaps STATE. That is safe without a generation counter:
 * leftovers are only taken after the taker saw the counter at the end, and
 * from then on no refill can succeed (a refill is an add on the counter
 * that must land before the end). A taker that reads the STATE of a refill
 * that landed just before the end reads the BASE written before it; one
 * that reads an empty STATE takes nothing from that slot. The owner never
 * refills a batch that still holds pages, so a STATE a taker saw with pages
 * in it cannot come back with another BASE.
 *
 * What this does not give: a taker that finds every slot empty returns
 * null while an owner may be between its add (which landed before the end)
 * and its STATE store. Those pages are not lost (the owner hands them out;
 * if it stops, they wait in its slot for the next caller, and `remaining`
 * counts them), but that null is not final. Waiting for the owner would
 * make `allocate` block on another thread, so it does not.
 */
import type { ThreadMapping } from '../core/thread-mapping.js';
import { ALIGNMENT } from './alignment.js';
import { STATUS_ALLOC_NEXT_PAGES_I32, STATUS_BATCH_FIRST_I32, STATUS_BATCH_SLOTS, STATUS_BATCH_STRIDE_I32 } from '../native/status-page.js';

/** Most pages a batch takes from the counter (256 KiB). */
const BATCH_PAGES = 64;
/** Requests of up to this many pages (64 KiB) come from batches; larger ones go to the counter. */
export const BATCH_MAX_WANT = 16;
/**
 * A batch takes at most this share of what is left of the file, so near
 * the end batches shrink and little sits in them when the counter runs out.
 */
const SHARE_OF_REST = 64;
const OWNER = 0;
const STATE = 1;
const BASE = 2;
/** STATE = taken + limit * STATE_LIMIT_UNIT (taken and limit < 2^15). */
const STATE_LIMIT_UNIT = 1 << 15;
const TAKEN_MASK = STATE_LIMIT_UNIT - 1;
/** `take` result: the counter is at the end (leftovers are next). */
export const EXHAUSTED = -1;
/** `take` result: this request goes to the counter directly (too big for what the batch holds, or near the end). */
export const DIRECT = -2;

export class AllocationBatch {
  /** Pages in the range the last `takeLeftover` of this thread returned. */
  static lastTaken = 0;

  readonly #status: Int32Array;
  /** Int32 index of this slot's OWNER word. */
  readonly #slot: number;
  readonly #totalPages: number;
  /** This batch's first page and size, as the owner last wrote them (only the owner writes them). */
  #base: number;
  #limit: number;
  /**
   * STATE as this owner last wrote or found it: the compare-and-swap of a
   * take uses it without loading STATE first, and fails (returning the
   * real value) only when a taker of leftovers moved it meanwhile.
   */
  #state: number;
  /** Pages in the range the last successful `take` returned. */
  taken = 0;

  private constructor(status: Int32Array, slot: number, totalPages: number) {
    this.#status = status;
    this.#slot = slot;
    this.#totalPages = totalPages;
    // Adopt what a closed owner left (nobody refills a slot without an owner).
    this.#state = Atomics.load(status, slot + STATE);
    this.#limit = Math.floor(this.#state / STATE_LIMIT_UNIT);
    this.#base = Atomics.load(status, slot + BASE);
  }

  /** Claims a free slot for this thread's allocator (released when `views` closes), or null when all are held. */
  static claim(views: ThreadMapping, totalPages: number): AllocationBatch | null {
    const status = views.status;
    for (let i = 0; i < STATUS_BATCH_SLOTS; i++) {
      const slot = STATUS_BATCH_FIRST_I32 + i * STATUS_BATCH_STRIDE_I32;
      // A load first: a failed compare-and-swap would take the owner's cache line away from it.
      if (Atomics.load(status, slot + OWNER) === 0 && Atomics.compareExchange(status, slot + OWNER, 0, 1) === 0) {
        views.onClose(() => Atomics.store(status, slot + OWNER, 0));
        return new AllocationBatch(status, slot, totalPages);
      }
    }
    return null;
  }

  /**
   * Takes `want` pages (at most BATCH_MAX_WANT) from this batch, refilling
   * it from the counter when it is empty. Returns the first page (and sets
   * `taken`), {@link EXHAUSTED} when the counter is at the end, or
   * {@link DIRECT} when the request should go to the counter itself.
   */
  take(want: number): number {
    // The usual case first, in a function small enough to be inlined into
    // allocate: the batch holds enough and no taker of leftovers moved it.
    const state = this.#state;
    const taken = state & TAKEN_MASK;
    if (this.#limit - taken >= want && Atomics.compareExchange(this.#status, this.#slot + STATE, state, state + want) === state) {
      this.#state = state + want;
      this.taken = want;
      return this.#base + taken;
    }
    return this.#takeSlow(want);
  }

  /** {@link take} for every other case: a taker moved STATE, the batch is short or empty (refill), the end of the file. */
  #takeSlow(want: number): number {
    const status = this.#status;
    const at = this.#slot + STATE;
    let state = this.#state;
    for (;;) {
      const taken = state & TAKEN_MASK;
      const left = this.#limit - taken;
      if (left >= want) {
        const found = Atomics.compareExchange(status, at, state, state + want);
        if (found === state) {
          this.#state = state + want;
          this.taken = want;
          return this.#base + taken;
        }
        state = found; // a taker of leftovers moved it: look again
        continue;
      }
      if (left > 0) {
        // Not enough for this request. At the end of the file (the batch
        // ends there, or the counter is at the end) what is left is the
        // short last range; elsewhere it stays for later and this request
        // goes to the counter.
        const seen = Atomics.load(status, STATUS_ALLOC_NEXT_PAGES_I32);
        const atEnd = this.#base + this.#limit >= this.#totalPages || seen >= this.#totalPages || seen < 0;
        if (!atEnd) {
          this.#state = state;
          return DIRECT;
        }
        const found = Atomics.compareExchange(status, at, state, state + left);
        if (found === state) {
          this.#state = state + left;
          this.taken = left;
          return this.#base + taken;
        }
        state = found;
        continue;
      }
      // Empty (takers only ever add to taken, and only the owner refills,
      // so the STATE this owner knows is empty is empty): refill from the
      // counter, looking first and adding only while it is before the end.
      this.#state = state;
      const seen = Atomics.load(status, STATUS_ALLOC_NEXT_PAGES_I32);
      if (seen >= this.#totalPages || seen < 0) return EXHAUSTED;
      let batch = Math.floor(BATCH_PAGES / want) * want;
      const cap = Math.floor((this.#totalPages - seen) / SHARE_OF_REST);
      if (batch > cap) batch = Math.floor(cap / want) * want;
      if (batch < 2 * want) return DIRECT;
      const page = Atomics.add(status, STATUS_ALLOC_NEXT_PAGES_I32, batch);
      if (page >= this.#totalPages || page < 0) {
        // Another thread reached the end between the look and the add: take it back.
        Atomics.sub(status, STATUS_ALLOC_NEXT_PAGES_I32, batch);
        return EXHAUSTED;
      }
      const limit = Math.min(batch, this.#totalPages - page);
      this.#base = page;
      this.#limit = limit;
      Atomics.store(status, this.#slot + BASE, page);
      state = limit * STATE_LIMIT_UNIT;
      Atomics.store(status, at, state);
      this.#state = state;
    }
  }

  /**
   * Once the counter is at the end: takes up to `want` pages from any
   * slot that still holds some. Returns the first page (and sets
   * `lastTaken`), or -1 when every slot is empty.
   */
  static takeLeftover(status: Int32Array, want: number): number {
    for (let i = 0; i < STATUS_BATCH_SLOTS; i++) {
      const at = STATUS_BATCH_FIRST_I32 + i * STATUS_BATCH_STRIDE_I32 + STATE;
      for (;;) {
        const state = Atomics.load(status, at);
        const taken = state & TAKEN_MASK;
        const left = Math.floor(state / STATE_LIMIT_UNIT) - taken;
        if (left <= 0) break;
        // BASE is read after STATE: see the file notes.
        const base = Atomics.load(status, at - STATE + BASE);
        const n = Math.min(left, want);
        if (Atomics.compareExchange(status, at, state, state + n) === state) {
          AllocationBatch.lastTaken = n;
          return base + taken;
        }
      }
    }
    return -1;
  }

  /** Bytes that batches hold and have not handed out (a snapshot), for a file of `size` bytes. */
  static pendingBytes(status: Int32Array, size: number): number {
    let bytes = 0;
    for (let i = 0; i < STATUS_BATCH_SLOTS; i++) {
      const at = STATUS_BATCH_FIRST_I32 + i * STATUS_BATCH_STRIDE_I32;
      const state = Atomics.load(status, at + STATE);
      const taken = state & TAKEN_MASK;
      const limit = Math.floor(state / STATE_LIMIT_UNIT);
      if (taken >= limit) continue;
      const base = Atomics.load(status, at + BASE);
      // The last page of the file may be short.
      bytes += Math.min((base + limit) * ALIGNMENT, size) - (base + taken) * ALIGNMENT;
    }
    return bytes;
  }
}
