// The work plan: who fetches what. The file's concurrent allocator hands out
// jobs of one request's span (one chunk, or several chunks when they are
// under 1 MiB), shared by the connections of every thread; the chunks
// already done are cut off (resume-trim.js). A slow connection therefore
// holds at most the request it is on. When the allocator has nothing left,
// an idle connection takes the upper part of the largest remainder a
// connection still holds: the part of a job no request asked for yet (at a
// chunk boundary), or the upper half of a request that would take a slow
// connection more than a second (at a 4 KiB boundary, inside a chunk if
// need be), so one slow connection cannot hold the download hostage.
import { ALIGNMENT } from 'ranged-mmap';
import { trimDone } from './resume-trim.js';

/**
 * The smallest part a slow request is cut into: a split inside a chunk is
 * placed on a 4 KiB boundary (ALIGNMENT), and both parts keep at least this.
 */
const MIN_CUT = 256 * 1024;
/** A connection whose request needs longer than this (at its speed) is split by an idle one. */
const CUT_AFTER_S = 1;
/** A straggler is this many times slower than the typical request so far (bytes over seconds of the finished ones). */
const SLOW_FACTOR = 4;
/** How long an idle connection waits before it looks for a straggler again. */
const IDLE_POLL_MS = 200;

/**
 * The work one connection holds: `range` is what it has not written yet
 * (null when done), `end` its end (moved down by a split), `recvPos` the
 * next byte to receive, `staged` the bytes in `staging` not yet written,
 * `askedEnd` the end of the request under way.
 * @typedef {{ range: import('ranged-mmap').AllocatedRange | null, end: number, recvPos: number, staged: number, staging: Buffer,
 *   firstBody: import('node:http').IncomingMessage | null, askedEnd: number, requestTime: number, requestPos: number }} Job
 */

/** The work still to hand out, and the jobs under way. */
export class WorkPlan {
  /**
   * @param {{ allocator: import('ranged-mmap').ConcurrentAllocator, state: import('./state.js').ResumeState | null, chunkSize: number,
   *   jobSize: number, ranges: boolean, signal: AbortSignal }} p
   */
  constructor(p) {
    this.allocator = p.allocator;
    this.state = p.state;
    this.C = p.chunkSize;
    this.jobSize = p.jobSize;
    this.ranges = p.ranges;
    this.signal = p.signal;
    /** @type {Set<Job>} */
    this.active = new Set();
    /** @type {import('ranged-mmap').AllocatedRange[]} */
    this.pending = [];
    /**
     * Bytes and seconds of the requests finished so far, summed: their
     * ratio is a connection's typical speed in this download. (The fastest
     * single request was used before; requests of one chunk at full speed
     * end in a few ms, too short to time one by one.)
     */
    this.finishedBytes = 0;
    this.finishedSeconds = 0;
    /** @type {(() => void)[]} */
    this.wakeIdle = [];
  }

  /** The next work: queued, newly allocated, or split off the largest remainder; null when there is none now. */
  take() {
    const { allocator, state, C, pending } = this;
    for (;;) {
      const q = pending.pop();
      if (q === undefined) break;
      const t = trimDone(q, state, C, pending);
      if (t !== null) return t;
    }
    for (let r = allocator.allocate(this.jobSize); r !== null; r = allocator.allocate(this.jobSize)) {
      const t = trimDone(r, state, C, pending);
      if (t !== null) return t;
      const q = pending.pop();
      if (q !== undefined) return q;
    }
    if (!this.ranges) return null;
    return this.#splitWork();
  }

  /**
   * Work for an idle connection once the allocator has none: first the half
   * (or all, when small) of the largest remainder no request has asked for
   * yet, which costs nothing; else, from a connection that would need more
   * than CUT_AFTER_S for the rest of its request at its own speed, the upper
   * half of that rest, cut on a 4 KiB boundary even inside a chunk (its
   * response is then cut at the split, and what was in flight beyond it is
   * lost). Cut again while it stays slow, a slow connection ends up with
   * less than 2 x MIN_CUT of its last request.
   */
  #splitWork() {
    const C = this.C;
    /** @type {Job | null} */
    let best = null;
    let bestTail = 0;
    for (const job of this.active) {
      if (job.range === null) continue;
      const tail = job.end - Math.max(job.askedEnd, job.recvPos);
      if (tail > bestTail) {
        best = job;
        bestTail = tail;
      }
    }
    if (best !== null && bestTail >= C) {
      const from = Math.max(best.askedEnd, best.recvPos);
      const pos = bestTail < 2 * C ? Math.ceil(from / C) * C : Math.ceil((from + bestTail / 2) / C) * C;
      const high = splitJob(best, pos);
      if (high !== null) return high;
    }
    const now = performance.now();
    /** @type {Job | null} */
    let slow = null;
    let slowEta = CUT_AFTER_S;
    for (const job of this.active) {
      const left = Math.min(job.askedEnd, job.end) - job.recvPos;
      const dt = (now - job.requestTime) / 1000;
      if (job.range === null || left < 2 * MIN_CUT || dt < 0.5) continue;
      const rate = (job.recvPos - job.requestPos) / dt;
      // Slow for this download, not just slow: a machine that is busy
      // slows every connection, and cutting one then only loses what it
      // had in flight.
      if (this.finishedSeconds === 0 || rate * SLOW_FACTOR > this.finishedBytes / this.finishedSeconds) continue;
      const eta = rate > 0 ? left / rate : Number.POSITIVE_INFINITY;
      if (eta > slowEta) {
        slow = job;
        slowEta = eta;
      }
    }
    if (slow === null) return null;
    const middle = slow.recvPos + (Math.min(slow.askedEnd, slow.end) - slow.recvPos) / 2;
    return splitJob(slow, Math.ceil(middle / ALIGNMENT) * ALIGNMENT);
  }

  /** Waits until a job ends, the download halts, or IDLE_POLL_MS passed. */
  idle() {
    const signal = this.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve(undefined);
      };
      const timer = setTimeout(done, IDLE_POLL_MS);
      signal.addEventListener('abort', done, { once: true });
      this.wakeIdle.push(done);
    });
  }

  /** @param {Job} job */
  begin(job) {
    this.active.add(job);
  }

  /**
   * Notes the request a job is about to make (for the straggler check).
   * @param {Job} job
   * @param {number} askedEnd
   */
  startRequest(job, askedEnd) {
    // The request before this one on the job: how fast a whole request went.
    this.#noteRate(job);
    job.askedEnd = askedEnd;
    job.requestTime = performance.now();
    job.requestPos = job.recvPos;
  }

  /**
   * A job ended (done or failed): its speed counts, idle connections look again.
   * @param {Job} job
   */
  end(job) {
    this.#noteRate(job);
    this.active.delete(job);
    const w = this.wakeIdle;
    this.wakeIdle = [];
    for (const f of w) f();
  }

  /** @param {Job} job */
  #noteRate(job) {
    if (job.requestTime === 0) return;
    this.finishedSeconds += (performance.now() - job.requestTime) / 1000;
    this.finishedBytes += job.recvPos - job.requestPos;
    job.requestTime = 0;
  }
}

/**
 * Splits a job's range at `pos` (a 4 KiB boundary past everything it has
 * received): it keeps the low part, the high part is returned.
 * @param {Job} job
 * @param {number} pos
 */
function splitJob(job, pos) {
  if (job.range === null || pos <= job.range.start + job.staged || pos >= job.end) return null;
  const s = job.range.splitAtAlignUp(pos);
  if (s.kind !== 'split') return null;
  job.range = s.low;
  job.end = pos;
  return s.high;
}
