/**
 * @internal What a MemoryMappedFile and every segment of it share in one
 * thread: the thread's mapping (core/ThreadMapping), the mode, and the
 * flush policy's counters and timer.
 */
import { throwIfAborted, whenAborted } from '../core/abort.js';
import { misuse, type MmapError } from '../errors.js';
import { RetiredViews, ThreadMapping } from '../core/thread-mapping.js';
import { native, SyncMode } from '../native/binding.js';
import type { ParsedFlushPolicy } from './flush-policy.js';

import type { MappingMode } from './mapping-mode.js';
export type { MappingMode };

const MODE_NAMES: Readonly<Record<MappingMode, string>> = { ro: "read-only ('ro')", rw: "read-write ('rw')", cow: "copy-on-write ('cow')" };

/** Index of the successor key in a Float64Array over a status page. */
const SUCCESSOR_F64 = native.statusSuccessorByte / 8;

export class WindowCore {
  /** This thread's current mapping; replaced when the file was resized (see {@link follow}). */
  views: ThreadMapping;
  /** The current mapping's status page as float64s: [SUCCESSOR_F64] is its successor's key, 0 while it has none. */
  successor: Float64Array;
  /**
   * Views user code still holds of mappings a grow replaced in this thread
   * (see ThreadMapping.retire): detached by a later shrink below their
   * mapping's size or by close(); each keeps its mapping until collected.
   */
  readonly retired = new RetiredViews();
  /** Bumped every time {@link views} is replaced, so atomic views know to rebind. */
  generation = 0;
  /**
   * The smallest size the file had across the resizes the last follow
   * walked (a shrink elsewhere clipped every older mapping there): an
   * atomic view whose operation ran on an older mapping tells from it
   * whether its word was cut meanwhile.
   */
  followShortest = Number.POSITIVE_INFINITY;
  /** Told about every replacement (the file updates its own reference). */
  onSwap: ((views: ThreadMapping) => void) | undefined;
  readonly mode: MappingMode;
  policy: ParsedFlushPolicy;
  flushes = 0;
  pendingBytes = 0;
  pendingWrites = 0;
  timer: ReturnType<typeof setInterval> | undefined;
  /** This thread's waitAsync calls in flight: native id -> nothing (cancelled on close). */
  readonly waits = new Set<number>();
  /** Stop functions of this thread's watchers (run on close). */
  readonly watchers = new Set<() => void>();
  /** A failure of the background flusher, thrown by the next explicit flush. */
  backgroundError: MmapError | Error | undefined;
  /** How many times the background flusher failed. */
  backgroundFailures = 0;

  constructor(views: ThreadMapping, mode: MappingMode, policy: ParsedFlushPolicy) {
    this.views = views;
    this.successor = new Float64Array(views.status.buffer);
    this.mode = mode;
    this.policy = policy;
    if (policy.kind === 'everyMillis' && mode === 'rw') {
      // Never keeps the process alive (unref), stops on close (stopTimer).
      // Holds the core weakly: a file dropped without close() must still be
      // collectable (and its mapping released); the timer then stops.
      const self = new WeakRef(this);
      const timer = setInterval(() => {
        const core = self.deref();
        if (core === undefined) clearInterval(timer);
        else core.backgroundFlush();
      }, policy.every);
      timer.unref();
      this.timer = timer;
    }
  }

  get path(): string {
    return this.views.path;
  }

  /** Follows a resize made by any thread, then throws ERR_MMAP_CLOSED / ERR_MMAP_FAULT if the file cannot be used. */
  live(): ThreadMapping {
    if (this.successor[SUCCESSOR_F64] !== 0) this.follow();
    this.views.check();
    return this.views;
  }

  /** True when the file was resized (in any thread) since this thread last looked. */
  get moved(): boolean {
    return this.successor[SUCCESSOR_F64] !== 0;
  }

  /**
   * Moves this thread to the newest mapping of the file: attaches to the
   * successor (and its successors), then leaves the old mapping. Views user
   * code took of the old mapping keep working while the file is at least as
   * long as that mapping (it maps the same file, so their stores reach it):
   * the old mapping is retired, not detached. Once the file has been shorter
   * than a mapping (a shrink, here or in another thread, since this thread
   * last looked) every view of that mapping is detached (zero-length): a
   * store past the end could not reach the file, and a detached view makes
   * that visible instead of dropping it. Nothing is unmapped while any
   * thread or view still uses it.
   */
  follow(): void {
    const old = this.views;
    if (old.closed) return;
    let next = old;
    let key = this.successor[SUCCESSOR_F64]!;
    let shortest = Infinity;
    while (key !== 0) {
      const attached = ThreadMapping.attach(old.path, key);
      if (next !== old) next.close();
      next = attached;
      shortest = Math.min(shortest, attached.size);
      key = new Float64Array(next.status.buffer)[SUCCESSOR_F64]!;
    }
    if (next === old) return;
    if (old.kept) next.keepUntilClosed();
    this.views = next;
    this.successor = new Float64Array(next.status.buffer);
    this.generation++;
    this.followShortest = shortest;
    this.retired.detachBeyond(shortest);
    if (old.size > shortest) old.close();
    else this.retired.add(old.size, old.retire());
    this.onSwap?.(next);
  }

  /** Detaches the views of every retired mapping (on close). */
  closeRetired(): void {
    this.retired.detachAll();
  }

  /** ERR_MMAP_INVALID_MODE for a write on a read-only file. */
  refuseWrite(what: string): void {
    if (this.mode === 'ro') throw this.modeError(what);
  }

  modeError(what: string): MmapError {
    return misuse(
      'ERR_MMAP_INVALID_MODE',
      `${what} is not allowed on '${this.path}': it is mapped ${MODE_NAMES[this.mode]}. ` +
        (this.mode === 'ro'
          ? 'Open it with MemoryMappedFile.openRw (writes reach the file) or openCow (writes stay private) to write.'
          : 'Open it with MemoryMappedFile.openRw for this.'),
      this.path,
    );
  }

  /** Counts a checked write of `length` bytes at absolute `offset` and flushes as the policy says. */
  noteWrite(offset: number, length: number): void {
    const p = this.policy;
    if (p.kind === 'manual' || this.mode !== 'rw') return;
    this.pendingBytes += length;
    this.pendingWrites++;
    if (p.kind === 'always') this.flushSpan(offset, length);
    else if (p.kind === 'everyBytes' ? this.pendingBytes >= p.every : p.kind === 'everyWrites' && this.pendingWrites >= p.every)
      this.flushSpan(0, this.views.size);
  }

  /** Schedules write-back of [offset, offset + length) (rw only; a no-op elsewhere after the checks). */
  flushSpan(offset: number, length: number): void {
    this.live();
    const pending = this.backgroundError;
    if (pending !== undefined) {
      this.backgroundError = undefined;
      throw pending;
    }
    if (this.mode === 'rw') this.views.sync(offset, length, SyncMode.Schedule);
    this.flushed();
  }

  /** flushSpan on the pool; an abort rejects at once (a queued write-back still starts, and then counts as no flush). */
  async flushSpanAsync(offset: number, length: number, signal: AbortSignal | undefined): Promise<void> {
    this.live();
    throwIfAborted(signal);
    const pending = this.backgroundError;
    if (pending !== undefined) {
      this.backgroundError = undefined;
      throw pending;
    }
    if (this.mode === 'rw') await whenAborted(this.views.syncAsync(offset, length, SyncMode.Schedule), signal);
    this.flushed();
  }

  private flushed(): void {
    this.flushes++;
    this.pendingBytes = 0;
    this.pendingWrites = 0;
  }

  private backgroundFlush(): void {
    if (!this.views.closed && this.moved) {
      try {
        this.follow();
      } catch (error) {
        this.backgroundError = error as Error;
        this.backgroundFailures++;
        return;
      }
    }
    if (this.views.closed) {
      this.stopTimer();
      return;
    }
    try {
      this.views.sync(0, this.views.size, SyncMode.Schedule);
      this.flushed();
    } catch (error) {
      // Kept for the next explicit flush; a timer has no caller to throw to.
      this.backgroundError = error as Error;
      this.backgroundFailures++;
    }
  }

  /** Wakes this thread's waitAsync calls (they reject with ERR_MMAP_CLOSED). */
  stopWatchers(): void {
    for (const stop of this.watchers) stop();
    this.watchers.clear();
  }

  cancelWaits(): void {
    for (const id of this.waits) native.futexWaitCancel(id);
    this.waits.clear();
  }

  stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
