/**
 * SharedRing's protocol, under its two sets of calls (bytes in
 * shared-ring-stream.ts, messages in shared-ring.ts): the cursors, the
 * roles and their claims, the checks that the ring file is still whole and
 * the other side alive, publishing and releasing with their wake-ups, and
 * the sleeps (blocking and async, with an AbortSignal).
 *
 * - The cursors live in a header page, read and written with Atomics;
 *   the data region is mapped twice back to back, so every readable or
 *   writable stretch is one contiguous Uint8Array.
 * - The consumer sleeps while the ring is empty and the producer while it
 *   is full, on futex words in the header (never a spin). Sleeps wake at
 *   least every 100 ms to check that the other side is still alive: a
 *   producer that dies (thread exit, process killed) is reported to the
 *   consumer as `ERR_MMAP_PEER_GONE`, never a hang; a producer's `close()`
 *   is the end of the stream.
 * - A ring file is input. `open` checks its signature, version, capacity,
 *   length and header words; every call checks, after its copy and before
 *   publishing or releasing, that no page was lost (the status page's fault
 *   counter) and that the file still ends with its trailer word (any
 *   truncation takes that word first): a truncated ring fails every call
 *   with `ERR_MMAP_FAULT` and never hands out zeros as data. Both are loads
 *   of words nobody writes while the ring is sound, so they stay in cache.
 *
 * The members are `protected` (not `#private`) so the subclasses in the
 * other files reach them; they are left out of the declarations and docs.
 */
import { throwIfAborted, whenAborted } from '../core/abort.js';
import { type MmapError, misuse } from '../errors.js';
import { type SharedRingMemory, snative } from './native.js';
import {
  BYTES,
  CLOSED,
  CONSUMER,
  CONSUMER_STATE,
  CONSUMER_WAITING,
  DATA_SEQ,
  EMPTY,
  FRAMING,
  GONE,
  HEAD,
  HEADER_BYTES,
  LIVE,
  LIVENESS_MS,
  MAGIC,
  MESSAGES,
  PEER_CLAIMING,
  PEER_CORRUPT,
  PEER_LOST,
  PID_MAX,
  PRODUCER,
  PRODUCER_STATE,
  PRODUCER_WAITING,
  type SharedRingHandle,
  SPACE_SEQ,
  STUCK_CLAIM_MS,
  TAIL,
  TRAILER_BYTES,
} from './shared-ring-format.js';

const ROLE_NAMES = [null, 'producer', 'consumer'] as const;

/** The protocol under {@link SharedRing}; not constructed directly. */
export abstract class SharedRingCore {
  /** @internal */
  protected buffer: ArrayBuffer;
  /** @internal The header words. */
  protected h: Int32Array;
  /** @internal The data region, twice. */
  protected data: Uint8Array;
  /** @internal The status page's fault counter at [0] (bumped by the SIGBUS guard when a page is lost). */
  protected status: Int32Array;
  /** @internal The trailer's last word: MAGIC while the ring's memory is whole. */
  protected end: Int32Array;
  /** @internal The ring file, for messages (undefined for a ring between threads). */
  protected readonly path: string | undefined;
  /** @internal */
  protected readonly key: number;
  /** @internal */
  protected readonly cap: number;
  /** @internal */
  protected readonly mask: number;
  /** @internal PRODUCER, CONSUMER, or 0 before the first call. */
  protected side = 0;
  /** @internal What this object's calls carry: BYTES, MESSAGES, or 0 before the first call of either kind. */
  protected framing = 0;
  /** @internal This side's cursor (the producer's tail or the consumer's head), modulo 2^32. */
  protected cursor = 0;
  /**
   * @internal The other side's cursor as last read (the producer's copy of
   * the head, the consumer's of the tail). Re-read only when it shows too
   * little room or data: the other side's cache line moves between cores
   * only when it has to.
   */
  protected peer = 0;
  /** @internal */
  protected shut = false;
  /** When the other side was first seen mid-claim (performance.now()), 0 if it is not. */
  #claimSeen = 0;

  /** @internal */
  protected constructor(made: SharedRingMemory, path: string | undefined) {
    const [key, buffer, status] = made;
    this.key = key;
    this.buffer = buffer;
    this.path = path;
    this.h = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.cap = (buffer.byteLength - HEADER_BYTES - TRAILER_BYTES) / 2;
    this.mask = this.cap - 1;
    this.data = new Uint8Array(buffer, HEADER_BYTES, 2 * this.cap);
    this.status = new Int32Array(status, 0, 1);
    this.end = new Int32Array(buffer, buffer.byteLength - 4, 1);
  }

  /**
   * A plain object to post to a worker thread of this process, where
   * {@link SharedRing.fromShared} opens the same ring.
   *
   * @example
   * ```ts
   * worker.postMessage(ring.share());
   * ```
   */
  share(): SharedRingHandle {
    this.live();
    return { kind: 'ranged-mmap:shared-ring', key: this.key };
  }

  /** Data bytes the ring holds when full (a power of two). */
  get capacity(): number {
    return this.cap;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.shut;
  }

  /** The end this object holds: `'producer'` or `'consumer'` once it wrote or read (or was made an end), else null. */
  get role(): 'producer' | 'consumer' | null {
    return ROLE_NAMES[this.side] ?? null;
  }

  /** @internal "the ring file 'p'" or "the shared ring", for messages. */
  protected name(): string {
    return this.path === undefined ? 'the shared ring' : `the ring file '${this.path}'`;
  }

  /** @internal True while no page of the ring was lost and the file still ends with its trailer word. */
  protected sound(): boolean {
    return this.end[0] === MAGIC && this.status[0] === 0;
  }

  /** @internal `n`, read from the header, if the ring is sound; else ERR_MMAP_FAULT. */
  protected soundCount(n: number): number {
    if (!this.sound()) throw this.lost();
    return n;
  }

  /** @internal ERR_MMAP_FAULT: the ring's file was truncated (or a page of it could not be read). */
  protected lost(): MmapError {
    return misuse(
      'ERR_MMAP_FAULT',
      `${this.name()} was truncated, or a page of it could not be read, while in use: bytes in it are lost (none are handed out as data). ` +
        'The ring is broken: close it, and make a new one',
      this.path,
    );
  }

  /** @internal ERR_MMAP_INVALID_STATE: the header holds words no ring writes. */
  protected corrupt(what: string): MmapError {
    return misuse('ERR_MMAP_INVALID_STATE', `${this.name()} has a corrupt header: ${what}. The ring is broken: close it, and make a new one`, this.path);
  }

  /** @internal What is wrong with the header words now (states, pids, cursors, framing), or undefined. */
  protected headerProblem(): string | undefined {
    const h = this.h;
    for (const [role, at] of [
      ['producer', PRODUCER_STATE],
      ['consumer', CONSUMER_STATE],
    ] as const) {
      const state = Atomics.load(h, at);
      if (state > GONE || state < -PID_MAX) return `the ${role}'s state word is ${state}, not a state a ring takes`;
      const pid = Atomics.load(h, at + 1);
      if (state === LIVE && (pid <= 0 || pid > PID_MAX)) return `the ${role} is live with process id ${pid}, which no process has`;
    }
    const used = (Atomics.load(h, TAIL) - Atomics.load(h, HEAD)) >>> 0;
    if (used > this.cap) return `${used} bytes between the cursors, capacity ${this.cap}`;
    const framing = Atomics.load(h, FRAMING);
    if (framing !== 0 && framing !== BYTES && framing !== MESSAGES) return `its framing word is ${framing}, neither bytes (1) nor messages (2)`;
    return undefined;
  }

  /** @internal Bytes between the cursors, checked: another process could have scribbled over the header. */
  protected span(tail: number, head: number): number {
    const used = (tail - head) >>> 0;
    if (used > this.cap) {
      // A lost header page reads as zeros: say so rather than "corrupt".
      if (!this.sound()) throw this.lost();
      throw this.corrupt(`${used} bytes between the cursors, capacity ${this.cap}`);
    }
    return used;
  }

  /** @internal Producer: free bytes, re-reading the head when the cached one shows fewer than `want`. */
  protected free(want: number): number {
    let free = this.cap - this.span(this.cursor, this.peer);
    if (free < want) {
      this.peer = Atomics.load(this.h, HEAD) >>> 0;
      free = this.cap - this.span(this.cursor, this.peer);
    }
    return free;
  }

  /** @internal Consumer: readable bytes, re-reading the tail when the cached one shows fewer than `want` (at least 1). */
  protected avail(want: number): number {
    let avail = this.span(this.peer, this.cursor);
    if (avail < want || avail === 0) {
      this.peer = Atomics.load(this.h, TAIL) >>> 0;
      avail = this.span(this.peer, this.cursor);
    }
    return avail;
  }

  /** @internal */
  protected live(): void {
    if (this.shut) throw misuse('ERR_MMAP_CLOSED', 'the shared ring is closed in this thread');
  }

  /**
   * @internal Makes this object the `role` end and the ring a carrier of
   * `framing` (BYTES or MESSAGES; 0 to decide nothing), or throws why not.
   */
  protected claim(role: number, framing: number): void {
    this.live();
    if (this.side !== role) this.#takeRole(role);
    if (framing !== 0 && this.framing !== framing) this.#takeFraming(framing);
  }

  #checkFramingWord(found: number): void {
    if (found !== 0 && found !== BYTES && found !== MESSAGES) {
      if (!this.sound()) throw this.lost();
      throw this.corrupt(`its framing word is ${found}, neither bytes (1) nor messages (2)`);
    }
  }

  /** Sets (or checks) the ring's framing word; refuses to mix bytes and messages on one ring. */
  #takeFraming(framing: number): void {
    const found = Atomics.compareExchange(this.h, FRAMING, 0, framing);
    this.#checkFramingWord(found);
    if (found !== 0 && found !== framing) {
      const has = found === MESSAGES ? 'messages (writeMessage/readMessage)' : 'a byte stream (write/read)';
      const asked = framing === MESSAGES ? 'message calls' : 'byte-stream calls';
      throw misuse(
        'ERR_MMAP_INVALID_STATE',
        `${this.name()} carries ${has}, fixed by its first call; ${asked} cannot be mixed with it (a reader could not find where a message starts). Use one kind of call per ring`,
        this.path,
      );
    }
    this.framing = framing;
  }

  #takeRole(role: number): void {
    const name = ROLE_NAMES[role];
    if (this.side !== 0) {
      throw misuse('ERR_MMAP_INVALID_STATE', `this SharedRing object is the ${ROLE_NAMES[this.side]}; it cannot also be the ${name}`);
    }
    const claimed = snative.srClaim(this.buffer, role as 1 | 2);
    if (!this.sound()) throw this.lost();
    const at = role === PRODUCER ? PRODUCER_STATE : CONSUMER_STATE;
    if (!claimed) {
      const state = Atomics.load(this.h, at);
      this.checkState(state);
      if (snative.srPeer(this.buffer, role as 1 | 2) === PEER_CORRUPT) {
        throw this.corrupt(`the ${name} is live with process id ${Atomics.load(this.h, at + 1)}, which no process has`);
      }
      if (state === CLOSED) {
        throw misuse(
          'ERR_MMAP_INVALID_STATE',
          `the ${name} of the ring closed it; a closed role is not taken again (make a new ring, or SharedRing.create(path, capacity, { replace: true }) once no one uses it)`,
          this.path,
        );
      }
      const pid = Atomics.load(this.h, at + 1);
      throw misuse(
        'ERR_MMAP_INVALID_STATE',
        `the ring already has a ${name}${pid > 0 ? ` (process ${pid})` : ''} (one producer and one consumer per ring)`,
        this.path,
      );
    }
    this.side = role;
    this.cursor = Atomics.load(this.h, role === PRODUCER ? TAIL : HEAD) >>> 0;
    this.peer = Atomics.load(this.h, role === PRODUCER ? HEAD : TAIL) >>> 0;
    // A ring whose framing was decided by its other end: this end follows it.
    const framing = Atomics.load(this.h, FRAMING);
    this.#checkFramingWord(framing);
  }

  /** @internal Throws if a state word read from the header is none a ring takes. */
  protected checkState(state: number): void {
    if (state > GONE || state < -PID_MAX) {
      if (!this.sound()) throw this.lost();
      throw this.corrupt(`a state word is ${state}, not a state a ring takes`);
    }
  }

  /**
   * @internal Throws if the side `role` can no longer take part (died, or
   * closed when `closedIsError`), or if the ring is broken. `state` is the
   * role's state word as read from the header.
   */
  protected checkPeer(role: number, state: number, closedIsError: boolean): void {
    if (!this.sound()) throw this.lost();
    this.checkState(state);
    const name = ROLE_NAMES[role];
    if (state === GONE) throw misuse('ERR_MMAP_PEER_GONE', `the ${name} of the shared ring exited or was killed without closing it`, this.path);
    if (state === CLOSED && closedIsError) throw misuse('ERR_MMAP_PEER_GONE', `the ${name} closed the shared ring`, this.path);
  }

  /**
   * @internal After a sleep that ran out: asks the native side whether the
   * other side's process is alive (marking it GONE if not) and throws as
   * {@link checkPeer} does; also gives up on a claim that never ends.
   */
  protected askPeer(role: number, closedIsError: boolean): void {
    const state = snative.srPeer(this.buffer, role as 1 | 2);
    const name = ROLE_NAMES[role];
    if (state === PEER_LOST) throw this.lost();
    if (state === PEER_CORRUPT) {
      throw this.corrupt(`the ${name}'s state or process id words hold values no ring writes (a live role with process id 0 or below, or an unknown state)`);
    }
    if (state !== PEER_CLAIMING) {
      this.#claimSeen = 0;
      this.checkPeer(role, state, closedIsError);
      return;
    }
    const now = performance.now();
    if (this.#claimSeen === 0) this.#claimSeen = now;
    else if (now - this.#claimSeen > STUCK_CLAIM_MS) {
      const pid = -Atomics.load(this.h, role === PRODUCER ? PRODUCER_STATE : CONSUMER_STATE);
      throw this.corrupt(
        `the ${name} role has been being claimed by process ${pid} for over ${STUCK_CLAIM_MS} ms, a step that takes microseconds (the word was forged, or that process is stopped)`,
      );
    }
  }

  /** Bytes that can be read now (consumer side; 0 on the producer side before it is claimed). Throws if the ring is broken. */
  get readLen(): number {
    if (this.shut) return 0;
    const head = this.side === CONSUMER ? this.cursor : Atomics.load(this.h, HEAD) >>> 0;
    const used = this.span(Atomics.load(this.h, TAIL) >>> 0, head);
    if (!this.sound()) throw this.lost();
    return used;
  }

  /** Bytes that can be written now without waiting. Throws if the ring is broken. */
  get writeLen(): number {
    if (this.shut) return 0;
    const tail = this.side === PRODUCER ? this.cursor : Atomics.load(this.h, TAIL) >>> 0;
    const free = this.cap - this.span(tail, Atomics.load(this.h, HEAD) >>> 0);
    if (!this.sound()) throw this.lost();
    return free;
  }

  /** True when the producer closed the ring and every byte was read. */
  get ended(): boolean {
    if (this.shut) return true;
    const state = Atomics.load(this.h, PRODUCER_STATE);
    if (!this.sound()) throw this.lost();
    return state === CLOSED && this.readLen === 0;
  }

  // ---- producer ----------------------------------------------------------

  /** @internal Publishes `n` bytes written at the tail and wakes a sleeping consumer. */
  protected publish(n: number): void {
    this.cursor = (this.cursor + n) >>> 0;
    Atomics.store(this.h, TAIL, this.cursor | 0);
    // The sequence word moves only when someone sleeps on it: a consumer
    // that announced its sleep (CONSUMER_WAITING) after reading the word
    // either sees the new tail when it checks again, or is woken here.
    // The waker clears the flag (exchange), so the writes published while
    // the woken consumer is still being scheduled make no further futex
    // calls: one wake per sleep, not one per message.
    if (Atomics.load(this.h, CONSUMER_WAITING) !== 0 && Atomics.exchange(this.h, CONSUMER_WAITING, 0) !== 0) {
      Atomics.add(this.h, DATA_SEQ, 1);
      snative.srWake(this.buffer, DATA_SEQ);
    }
  }

  /** @internal Sleeps until at least `want` bytes are free; throws if the consumer is gone or closed. */
  protected waitSpace(want: number): number {
    const h = this.h;
    for (;;) {
      const free = this.free(want);
      if (free >= want) return free;
      this.checkPeer(CONSUMER, Atomics.load(h, CONSUMER_STATE), true);
      const seq = Atomics.load(h, SPACE_SEQ);
      Atomics.store(h, PRODUCER_WAITING, 1);
      // Checked again after announcing the sleep: a consumer that freed
      // space in between either is seen here or sees the flag and wakes us.
      if (this.free(want) >= want) {
        Atomics.store(h, PRODUCER_WAITING, 0);
        continue;
      }
      const timedOut = snative.srWait(this.buffer, SPACE_SEQ, seq, LIVENESS_MS);
      Atomics.store(h, PRODUCER_WAITING, 0);
      if (timedOut) this.askPeer(CONSUMER, true);
    }
  }

  /**
   * @internal One async sleep on the sequence word `seqAt` (flag word
   * `flagAt`), which the other side bumps: true if it timed out. An abort
   * wakes the sleeping thread (bumping the word only this side sleeps on)
   * and rejects; the flag is cleared either way.
   */
  protected async sleepAsync(seqAt: number, flagAt: number, seq: number, signal: AbortSignal | undefined): Promise<boolean> {
    const h = this.h;
    const buffer = this.buffer;
    try {
      return await whenAborted(snative.srWaitAsync(buffer, seqAt, seq, LIVENESS_MS), signal, () => {
        if (this.shut) return;
        Atomics.add(h, seqAt, 1);
        snative.srWake(buffer, seqAt);
      });
    } finally {
      if (!this.shut) Atomics.store(h, flagAt, 0);
    }
  }

  /** @internal {@link waitSpace} without blocking: sleeps on a thread of its own. */
  protected async waitSpaceAsync(want: number, signal: AbortSignal | undefined): Promise<number> {
    for (;;) {
      this.live();
      throwIfAborted(signal);
      const h = this.h;
      const free = this.free(want);
      if (free >= want) return free;
      this.checkPeer(CONSUMER, Atomics.load(h, CONSUMER_STATE), true);
      const seq = Atomics.load(h, SPACE_SEQ);
      Atomics.store(h, PRODUCER_WAITING, 1);
      if (this.free(want) >= want) {
        Atomics.store(h, PRODUCER_WAITING, 0);
        continue;
      }
      const timedOut = await this.sleepAsync(SPACE_SEQ, PRODUCER_WAITING, seq, signal);
      this.live(); // closed in this thread meanwhile
      if (timedOut) this.askPeer(CONSUMER, true);
    }
  }

  // ---- consumer ----------------------------------------------------------

  /** @internal Releases `n` read bytes and wakes a sleeping producer. */
  protected release(n: number): void {
    this.cursor = (this.cursor + n) >>> 0;
    Atomics.store(this.h, HEAD, this.cursor | 0);
    // As in publish: one wake per sleep (the waker clears the flag).
    if (Atomics.load(this.h, PRODUCER_WAITING) !== 0 && Atomics.exchange(this.h, PRODUCER_WAITING, 0) !== 0) {
      Atomics.add(this.h, SPACE_SEQ, 1);
      snative.srWake(this.buffer, SPACE_SEQ);
    }
  }

  /**
   * @internal Sleeps until at least `want` bytes (and at least 1) are
   * readable; returns the readable count, or what is left (maybe 0) once
   * the producer closed. The caller claimed the consumer role.
   */
  protected waitData(want: number): number {
    const h = this.h;
    for (;;) {
      let avail = this.avail(want);
      if (avail >= want && avail > 0) return this.soundCount(avail);
      const state = Atomics.load(h, PRODUCER_STATE);
      if (state === CLOSED) {
        // The producer stored its last tail before it closed.
        return this.soundCount(this.avail(this.cap));
      }
      this.checkPeer(PRODUCER, state, false);
      const seq = Atomics.load(h, DATA_SEQ);
      Atomics.store(h, CONSUMER_WAITING, 1);
      avail = this.avail(want);
      if ((avail >= want && avail > 0) || Atomics.load(h, PRODUCER_STATE) !== state) {
        Atomics.store(h, CONSUMER_WAITING, 0);
        continue;
      }
      const timedOut = snative.srWait(this.buffer, DATA_SEQ, seq, LIVENESS_MS);
      Atomics.store(h, CONSUMER_WAITING, 0);
      if (timedOut) this.askPeer(PRODUCER, false);
    }
  }

  /** @internal {@link waitData} without blocking the thread. */
  protected async waitDataAsync(want: number, signal: AbortSignal | undefined): Promise<number> {
    for (;;) {
      this.live();
      throwIfAborted(signal);
      const h = this.h;
      let avail = this.avail(want);
      if (avail >= want && avail > 0) return this.soundCount(avail);
      const state = Atomics.load(h, PRODUCER_STATE);
      if (state === CLOSED) return this.soundCount(this.avail(this.cap));
      this.checkPeer(PRODUCER, state, false);
      const seq = Atomics.load(h, DATA_SEQ);
      Atomics.store(h, CONSUMER_WAITING, 1);
      avail = this.avail(want);
      if ((avail >= want && avail > 0) || Atomics.load(h, PRODUCER_STATE) !== state) {
        Atomics.store(h, CONSUMER_WAITING, 0);
        continue;
      }
      const timedOut = await this.sleepAsync(DATA_SEQ, CONSUMER_WAITING, seq, signal);
      this.live(); // closed in this thread meanwhile
      if (timedOut) this.askPeer(PRODUCER, false);
    }
  }

  /**
   * Leaves the ring in this thread: a producer's close is the end of the
   * stream for the consumer; a consumer's close makes the producer's
   * writes fail. Views from the slice calls become zero-length. The
   * memory goes when every thread (and process) has closed it.
   *
   * @example
   * ```ts
   * ring.close();
   * ```
   */
  close(): void {
    if (this.shut) return;
    this.shut = true;
    const buffer = this.buffer;
    this.data = EMPTY;
    this.h = new Int32Array(0);
    this.status = new Int32Array(1);
    snative.srClose(buffer); // detaches the status buffer too
  }

  /** `using ring = ...` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }
}
