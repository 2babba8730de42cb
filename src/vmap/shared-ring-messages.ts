/**
 * SharedRing's message calls: each message is its 32-bit length then its
 * bytes, copied in whole and then published with one store of the tail,
 * so a reader sees whole messages only, never a half-written one, even if
 * the writer is killed mid-copy. A ring carries bytes (shared-ring-stream.ts)
 * or messages: its first call of either kind decides, and calls of the
 * other kind are refused (shared-ring-core.ts keeps the header word).
 */
import { type AbortOptions, signalOf, throwIfAborted } from '../core/abort.js';
import { byteLengthOf } from '../core/arguments.js';
import { argTypeError, type MmapError, misuse, outOfRange, typedArrayTag } from '../errors.js';
import { toWriteData } from './ring.js';
import {
  CLOSED,
  CONSUMER,
  CONSUMER_STATE,
  encoder,
  FRAME_HEADER,
  GONE,
  lengthAt,
  MAGIC,
  MESSAGES,
  PRODUCER,
  PRODUCER_STATE,
  putLength,
  TAIL,
  typedSet,
} from './shared-ring-format.js';
import { SharedRingStream } from './shared-ring-stream.js';

/** The message calls of {@link SharedRing}; not constructed directly. */
export abstract class SharedRingMessages extends SharedRingStream {
  /** @internal Bytes of the message reserved by writeMessageSlice, -1 if none. */
  protected reserved = -1;
  /** @internal Bytes (length word included) of the message handed out by readMessageSlice, -1 if none. */
  protected viewed = -1;

  // ---- messages: producer --------------------------------------------------

  /** The largest message the ring takes: its capacity less the 4-byte length word of a message. */
  get maxMessage(): number {
    return this.cap - FRAME_HEADER;
  }

  /** @internal ERR_MMAP_RING_FULL for a message of `n` bytes, larger than maxMessage. */
  protected tooLarge(n: number): MmapError {
    return misuse(
      'ERR_MMAP_RING_FULL',
      `a message of ${n} bytes can never fit: ${this.name()} takes messages of at most ${this.maxMessage} bytes (its capacity ${this.cap} less the 4-byte length of each message). Nothing was written`,
      this.path,
    );
  }

  /** Bytes of a message to write (a string as UTF-8), claiming the producer end for messages. */
  #messageBytes(data: Uint8Array | string, copy: boolean): Uint8Array {
    this.reserved = -1;
    const d = toWriteData(data);
    const bytes = typeof d === 'string' ? encoder.encode(d) : copy ? new Uint8Array(d) : d;
    this.claim(PRODUCER, MESSAGES);
    const n = byteLengthOf(bytes);
    if (n > this.cap - FRAME_HEADER) throw this.tooLarge(n);
    this.checkPeer(CONSUMER, Atomics.load(this.h, CONSUMER_STATE), true);
    return bytes;
  }

  /** Copies a message into the free space (the caller saw room for it) and publishes it whole. */
  #put(bytes: Uint8Array, n: number): void {
    const at = this.cursor & this.mask;
    this.data.set(bytes, at + FRAME_HEADER);
    putLength(this.data, at, n);
    if (!this.sound()) throw this.lost();
    this.publish(n + FRAME_HEADER);
  }

  /**
   * Writes one message (bytes, or a string as UTF-8) of at most
   * {@link maxMessage} bytes, sleeping until there is room for all of it;
   * returns its length. The consumer sees the whole message or none of it.
   * Throws `ERR_MMAP_PEER_GONE` if the consumer closed the ring or died,
   * `ERR_MMAP_RING_FULL` for a message larger than {@link maxMessage}.
   *
   * @example
   * ```ts
   * ring.writeMessage(JSON.stringify({ id: 1 }));
   * ```
   */
  writeMessage(data: Uint8Array | string): number {
    // Fast path, the checks of the slow one in fewer steps: a live producer
    // of messages, a genuine Uint8Array (internal slots only), the consumer
    // neither closed nor dead, and room for the message and its length
    // known from the cached head. One copy, no allocation.
    this.reserved = -1; // a message written whole ends any view writeMessageSlice left open
    if (this.side === PRODUCER && this.framing === MESSAGES && !this.shut && typedArrayTag(data) === 'Uint8Array') {
      const n = byteLengthOf(data);
      const state = Atomics.load(this.h, CONSUMER_STATE);
      if (state !== CLOSED && state !== GONE && n + FRAME_HEADER <= this.cap - ((this.cursor - this.peer) >>> 0)) {
        const at = this.cursor & this.mask;
        this.data.set(data as Uint8Array, at + FRAME_HEADER);
        putLength(this.data, at, n);
        if (this.end[0] !== MAGIC || this.status[0] !== 0) throw this.lost();
        this.publish(n + FRAME_HEADER);
        return n;
      }
    }
    const bytes = this.#messageBytes(data, false);
    const n = byteLengthOf(bytes);
    this.waitSpace(n + FRAME_HEADER);
    this.#put(bytes, n);
    return n;
  }

  /**
   * Writes one message if there is room for all of it now, without
   * sleeping: true if it was written, false (nothing written) if not.
   *
   * @example
   * ```ts
   * if (!ring.tryWriteMessage(bytes)) queue.push(bytes);
   * ```
   */
  tryWriteMessage(data: Uint8Array | string): boolean {
    const bytes = this.#messageBytes(data, false);
    const n = byteLengthOf(bytes);
    if (this.free(n + FRAME_HEADER) < n + FRAME_HEADER) return false;
    this.#put(bytes, n);
    return true;
  }

  /**
   * {@link writeMessage} without blocking the thread (the bytes are taken
   * at the call); resolves with the message's length once it is in the
   * ring. All or nothing: aborting `options.signal` while it waits for room
   * rejects with an `AbortError` and writes nothing; the ring stays usable.
   *
   * @example
   * ```ts
   * await ring.writeMessageAsync(bytes, { signal: AbortSignal.timeout(1000) });
   * ```
   */
  async writeMessageAsync(data: Uint8Array | string, options?: AbortOptions): Promise<number> {
    const signal = signalOf(options);
    const bytes = this.#messageBytes(data, true);
    throwIfAborted(signal);
    const n = bytes.length;
    await this.waitSpaceAsync(n + FRAME_HEADER, signal);
    this.live(); // closed in this thread after the wait returned (a turn later)
    this.#put(bytes, n);
    return n;
  }

  /**
   * Zero-copy message write: sleeps until a message of `length` bytes fits
   * and returns the view to fill; {@link commitMessage} publishes it (or a
   * shorter first part of it). Until then the consumer sees nothing of it:
   * a producer killed while filling the view never shows the consumer a
   * partial message.
   *
   * @example
   * ```ts
   * const view = ring.writeMessageSlice(1024);
   * const n = encodeInto(view);
   * ring.commitMessage(n);
   * ```
   */
  writeMessageSlice(length: number): Uint8Array {
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw outOfRange('length', 'an integer >= 0', length);
    this.claim(PRODUCER, MESSAGES);
    if (length > this.cap - FRAME_HEADER) throw this.tooLarge(length);
    this.checkPeer(CONSUMER, Atomics.load(this.h, CONSUMER_STATE), true);
    this.waitSpace(length + FRAME_HEADER);
    if (!this.sound()) throw this.lost();
    this.reserved = length;
    const at = (this.cursor & this.mask) + FRAME_HEADER;
    return this.data.subarray(at, at + length);
  }

  /**
   * Publishes the message filled through the last {@link writeMessageSlice}:
   * its first `n` bytes (all of the reserved length by default).
   * A message written by another call in between ends the view (then
   * this throws `ERR_MMAP_INVALID_STATE`).
   *
   * @example
   * ```ts
   * ring.commitMessage(n);
   * ```
   */
  commitMessage(n?: number): void {
    this.claim(PRODUCER, MESSAGES);
    const reserved = this.reserved;
    if (reserved < 0) throw misuse('ERR_MMAP_INVALID_STATE', 'commitMessage() publishes the view of writeMessageSlice(), and none is open');
    const count = n === undefined ? reserved : n;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > reserved) {
      throw outOfRange('n', `an integer >= 0 and <= ${reserved} (the reserved length)`, n);
    }
    this.reserved = -1;
    putLength(this.data, this.cursor & this.mask, count);
    if (!this.sound()) throw this.lost();
    this.publish(count + FRAME_HEADER);
  }

  // ---- messages: consumer --------------------------------------------------

  /**
   * @internal The length of the message at `cursor` (the head by default),
   * given `avail` readable bytes from there (at least 1: a whole message is
   * there), checked against them.
   */
  protected frame(avail: number, cursor = this.cursor): number {
    const n = lengthAt(this.data, cursor & this.mask);
    if (avail < FRAME_HEADER || n > avail - FRAME_HEADER) {
      if (!this.sound()) throw this.lost();
      throw this.corrupt(
        `a message at the head announces ${n} bytes, but ${avail} bytes are readable in all (the ring's bytes were not written by writeMessage)`,
      );
    }
    return n;
  }

  #copyOut(into: Uint8Array, room: number, avail: number): number {
    const n = this.frame(avail);
    if (n > room) {
      throw misuse(
        'ERR_MMAP_BUFFER_TOO_SMALL',
        `the next message is ${n} bytes and the target ${room}; nothing was read (the message stays in the ring): pass a target of at least ${n} bytes (maxMessage, ${this.maxMessage}, always fits)`,
      );
    }
    const at = (this.cursor & this.mask) + FRAME_HEADER;
    into.set(this.data.subarray(at, at + n));
    if (!this.sound()) throw this.lost();
    this.release(n + FRAME_HEADER);
    return n;
  }

  /** The checked target of a message read, and its length. */
  #target(target: Uint8Array): Uint8Array {
    this.viewed = -1;
    const into = toWriteData(target);
    if (typeof into === 'string') throw argTypeError('target', 'an instance of Buffer, TypedArray or DataView', target);
    return into;
  }

  /**
   * Reads the next whole message into the start of `target`, sleeping until
   * one is there; returns its length, or null at the end of the stream
   * (the producer closed and every message was read). A target shorter
   * than the message reads nothing (`ERR_MMAP_BUFFER_TOO_SMALL`, naming the
   * length); one of {@link maxMessage} bytes always fits. Throws
   * `ERR_MMAP_PEER_GONE` if the producer died (after every whole message
   * it published was read; a message it was writing is never seen).
   *
   * @example
   * ```ts
   * const buf = new Uint8Array(ring.maxMessage);
   * for (let n; (n = ring.readMessage(buf)) !== null; ) handle(buf.subarray(0, n));
   * ```
   */
  readMessage(target: Uint8Array): number | null {
    // Fast path: a live consumer of messages, a genuine Uint8Array, a whole
    // message readable (from the cached tail, re-read when it shows none)
    // whose length checks out and fits the target. One copy.
    this.viewed = -1; // a message read whole ends any view readMessageSlice left open
    if (this.side === CONSUMER && this.framing === MESSAGES && !this.shut && typedArrayTag(target) === 'Uint8Array') {
      let avail = (this.peer - this.cursor) >>> 0;
      if (avail === 0) {
        this.peer = Atomics.load(this.h, TAIL) >>> 0;
        avail = this.span(this.peer, this.cursor);
      }
      if (avail >= FRAME_HEADER && avail <= this.cap) {
        const at = this.cursor & this.mask;
        const n = lengthAt(this.data, at);
        if (n <= avail - FRAME_HEADER && n <= byteLengthOf(target)) {
          Reflect.apply(typedSet, target, [this.data.subarray(at + FRAME_HEADER, at + FRAME_HEADER + n)]);
          if (this.end[0] !== MAGIC || this.status[0] !== 0) throw this.lost();
          this.release(n + FRAME_HEADER);
          return n;
        }
      }
    }
    const into = this.#target(target);
    const room = byteLengthOf(into);
    this.claim(CONSUMER, MESSAGES);
    const avail = this.waitData(1);
    return avail === 0 ? null : this.#copyOut(into, room, avail);
  }

  /**
   * Reads the next message if one is there now, without sleeping: its
   * length, or null when none is (see {@link ended} for the end of the
   * stream).
   *
   * @example
   * ```ts
   * const n = ring.tryReadMessage(buf);
   * ```
   */
  tryReadMessage(target: Uint8Array): number | null {
    const into = this.#target(target);
    const room = byteLengthOf(into);
    this.claim(CONSUMER, MESSAGES);
    const avail = this.avail(FRAME_HEADER);
    if (avail === 0) {
      this.checkPeer(PRODUCER, Atomics.load(this.h, PRODUCER_STATE), false);
      return null;
    }
    return this.#copyOut(into, room, avail);
  }

  /**
   * {@link readMessage} without blocking the thread: resolves with the
   * message's length (or null at the end of the stream) once it is copied
   * into `target`. Aborting `options.signal` while it waits rejects with an
   * `AbortError`; nothing is read, and the ring stays usable.
   *
   * @example
   * ```ts
   * const n = await ring.readMessageAsync(buf, { signal });
   * ```
   */
  async readMessageAsync(target: Uint8Array, options?: AbortOptions): Promise<number | null> {
    const into = this.#target(target);
    const room = byteLengthOf(into);
    const signal = signalOf(options);
    this.claim(CONSUMER, MESSAGES);
    throwIfAborted(signal);
    const avail = await this.waitDataAsync(1, signal);
    this.live(); // closed in this thread after the wait returned (a turn later)
    if (avail === 0) return null;
    if (byteLengthOf(into) < room) {
      throw misuse('ERR_MMAP_BUFFER_DETACHED', 'the target was detached or shrunk while the read waited; nothing was read');
    }
    return this.#copyOut(into, room, avail);
  }

  /**
   * Zero-copy message read: sleeps until a whole message is there and
   * returns a view of its bytes in the ring (null at the end of the
   * stream); {@link consumeMessage} releases it. The view is valid until
   * then. For the main thread, `await ring.waitReadableAsync()` first: it
   * resolves once a message is there, and this call then does not sleep.
   *
   * @example
   * ```ts
   * for (let m; (m = ring.readMessageSlice()) !== null; ring.consumeMessage()) handle(m);
   * ```
   */
  readMessageSlice(): Uint8Array | null {
    this.claim(CONSUMER, MESSAGES);
    const avail = this.waitData(1);
    if (avail === 0) return null;
    const n = this.frame(avail);
    this.viewed = n + FRAME_HEADER;
    const at = (this.cursor & this.mask) + FRAME_HEADER;
    return this.data.subarray(at, at + n);
  }

  /**
   * Releases the message viewed through the last {@link readMessageSlice}
   * (its space goes back to the producer). A message read by another call in
   * between ends the view (then this throws `ERR_MMAP_INVALID_STATE`).
   *
   * @example
   * ```ts
   * ring.consumeMessage();
   * ```
   */
  consumeMessage(): void {
    this.claim(CONSUMER, MESSAGES);
    const viewed = this.viewed;
    if (viewed < 0) throw misuse('ERR_MMAP_INVALID_STATE', 'consumeMessage() releases the view of readMessageSlice(), and none is open');
    this.viewed = -1;
    // The caller read the view: zeros from a page lost meanwhile are not data.
    if (!this.sound()) throw this.lost();
    this.release(viewed);
  }
}
