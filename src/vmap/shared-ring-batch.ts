/**
 * SharedRing's batch message calls: many small messages written or read
 * with one crossing of the shared cursors (one store of the tail or head,
 * two when the other side sleeps: it is woken with the first message so
 * it works while the rest are copied; at most one wake-up) instead of one
 * per message.
 *
 * The batch carries framed messages, the same frames writeMessage and
 * readMessage carry (a ring filled by writeMessages is read by
 * readMessage, and the other way round). A byte stream needs no batch
 * call: one `write` of many bytes already crosses the cursors once.
 *
 * Safety is that of the single calls, per item: every item is checked
 * before the first byte moves (a refused batch leaves the ring as it
 * was); after each item's copy the ring's memory is checked (the fault
 * counter and the trailer word); a fault stops the batch at that item,
 * publishes (or releases) the items before it, none after, and throws
 * `ERR_MMAP_FAULT` with `itemIndex` (the first item's index when the
 * fault is found before any copy).
 */
import { type AbortOptions, signalOf, throwIfAborted } from '../core/abort.js';
import { byteLengthOf, prefixOf, toBytes } from '../core/arguments.js';
import { atItem } from '../core/batch-copy.js';
import { argTypeError, type MmapError, misuse, outOfRange, typedArrayTag } from '../errors.js';
import { toWriteData } from './ring.js';
import {
  CONSUMER,
  CONSUMER_STATE,
  CONSUMER_WAITING,
  encoder,
  FRAME_HEADER,
  lengthAt,
  MAGIC,
  MESSAGES,
  PRODUCER,
  PRODUCER_STATE,
  PRODUCER_WAITING,
  putLength,
} from './shared-ring-format.js';
import { SharedRingMessages } from './shared-ring-messages.js';

/** A batch to write, checked: the bytes of each message and their lengths (frames excluded). */
interface Batch {
  readonly items: Uint8Array[];
  readonly lengths: number[];
  /** Index (in the caller's array) of items[0]. */
  readonly start: number;
}

/**
 * `error`, tagged with `index` when it is a lost ring found before any item
 * was copied (in a check or a wait): the batch stopped at its first item.
 */
function faultAt(error: unknown, index: number): unknown {
  const e = error as { code?: unknown; itemIndex?: unknown };
  if (e !== null && typeof e === 'object' && e.code === 'ERR_MMAP_FAULT' && e.itemIndex === undefined) atItem(error as MmapError, index);
  return error;
}

/** The batch message calls of {@link SharedRing}; not constructed directly. */
export abstract class SharedRingBatches extends SharedRingMessages {
  // ---- producer -------------------------------------------------------------

  /**
   * Reads the caller's array once (each entry read one time: a getter or a
   * proxy cannot change an item between its check and its copy), checks
   * every item from `start` on, and claims the producer end for messages.
   * `copy`: take a copy of each message's bytes (for the async form, whose
   * caller's arrays may change while it waits).
   */
  #batch(messages: unknown, start: unknown, copy: boolean): Batch {
    this.reserved = -1;
    if (!Array.isArray(messages)) throw argTypeError('messages', 'an array of Uint8Array or string', messages);
    const count = messages.length;
    const from = start === undefined ? 0 : start;
    if (typeof from !== 'number' || !Number.isInteger(from) || from < 0 || from > count) {
      throw outOfRange('start', `an integer >= 0 and <= ${count} (the number of messages)`, start);
    }
    this.claim(PRODUCER, MESSAGES);
    const max = this.cap - FRAME_HEADER;
    const items: Uint8Array[] = [];
    const lengths: number[] = [];
    for (let i = from; i < count; i++) {
      const item: unknown = messages[i];
      let bytes: Uint8Array;
      // A genuine, non-empty Uint8Array goes as it is (no allocation per item).
      if (!copy && typedArrayTag(item) === 'Uint8Array' && byteLengthOf(item) > 0) bytes = item as Uint8Array;
      else {
        let d: Uint8Array | string;
        try {
          d = toWriteData(item);
        } catch (error) {
          throw atItem(
            (error as { code?: unknown }).code === 'ERR_INVALID_ARG_TYPE'
              ? argTypeError(`messages[${i}]`, 'of type string or an instance of Buffer, TypedArray or DataView', item)
              : (error as Parameters<typeof atItem>[0]),
            i,
          );
        }
        bytes = typeof d === 'string' ? encoder.encode(d) : copy ? new Uint8Array(d) : d;
      }
      const n = byteLengthOf(bytes);
      if (n > max) throw atItem(this.tooLarge(n), i);
      items.push(bytes);
      lengths.push(n);
    }
    // The getters of the entries ran user code after the earlier entries
    // were checked: it may have closed this ring, opened a writeMessageSlice
    // view (the batch is about to write where that view points), or shrunk
    // or detached the buffer of an earlier entry. Checked again now that no
    // user code runs before the copies.
    this.live();
    this.reserved = -1;
    if (!copy) {
      for (let k = 0; k < items.length; k++) {
        const n = lengths[k] as number;
        const now = byteLengthOf(items[k] as Uint8Array);
        if (now < n) {
          throw atItem(
            misuse(
              'ERR_MMAP_BUFFER_DETACHED',
              `messages[${from + k}] was ${n} bytes when it was checked and is ${now} now (its buffer was detached or shrunk while the batch read the entries after it); nothing was written: keep every message's buffer as it is during the call`,
            ),
            from + k,
          );
        }
      }
    }
    try {
      this.checkPeer(CONSUMER, Atomics.load(this.h, CONSUMER_STATE), true);
    } catch (error) {
      throw faultAt(error, from);
    }
    return { items, lengths, start: from };
  }

  /**
   * Copies the checked messages that fit in the `free` bytes (the caller
   * saw at least that many), in order, and publishes them with one store
   * of the tail (two if the consumer sleeps); returns how many.
   */
  #putMany(batch: Batch, free: number): number {
    const { items, lengths } = batch;
    const data = this.data;
    const mask = this.mask;
    let cursor = this.cursor;
    let left = free;
    let i = 0;
    for (; i < items.length; i++) {
      const n = lengths[i] as number;
      if (n + FRAME_HEADER > left) break;
      let bytes = items[i] as Uint8Array;
      // A view of a growable SharedArrayBuffer that grew while this call
      // slept: its checked length goes, not the bytes added since.
      if (byteLengthOf(bytes) !== n) bytes = prefixOf(bytes, n);
      const at = cursor & mask;
      data.set(bytes, at + FRAME_HEADER);
      putLength(data, at, n);
      if (this.end[0] !== MAGIC || this.status[0] !== 0) {
        // The items before this one were checked whole after their copies.
        this.publish((cursor - this.cursor) >>> 0);
        throw atItem(this.lost(), batch.start + i);
      }
      cursor = (cursor + n + FRAME_HEADER) >>> 0;
      left -= n + FRAME_HEADER;
      // A consumer asleep on the empty ring is woken with the first message
      // (it wakes while the rest are copied) instead of after the last: at
      // most two publishes per batch, one wake-up.
      if (i === 0 && Atomics.load(this.h, CONSUMER_WAITING) !== 0) this.publish((cursor - this.cursor) >>> 0);
    }
    if (cursor !== this.cursor) this.publish((cursor - this.cursor) >>> 0);
    return i;
  }

  /** Bytes of the batch in the ring (frames included), for the free-space check. */
  #frames(batch: Batch): number {
    let total = 0;
    for (const n of batch.lengths) total += n + FRAME_HEADER;
    return total;
  }

  /**
   * Writes many messages (bytes, or strings as UTF-8), `messages[start]`
   * on, with one publish of the tail (two when the consumer sleeps: it is
   * woken with the first message) and at most one wake-up of the consumer
   * for the whole batch; returns how many were written.
   *
   * A partial batch when the ring is full: it sleeps only until the first
   * message fits, then writes, in order, every message that fits now, and
   * returns their count (at least 1 unless there is nothing from `start`
   * on); write the rest with `start` advanced by the count. Each message is
   * whole or absent for the consumer, as with {@link writeMessage}.
   *
   * Every message is checked before the first byte moves: a message that
   * is not bytes or a string (`ERR_INVALID_ARG_TYPE`) or larger than
   * {@link maxMessage} (`ERR_MMAP_RING_FULL`) refuses the whole batch, with
   * `itemIndex` naming it, and nothing is written. A ring whose file was
   * truncated during the batch stops it at the message being copied: those
   * before it are published, none after, and `ERR_MMAP_FAULT` carries its
   * `itemIndex`. Throws `ERR_MMAP_PEER_GONE` if the consumer closed the
   * ring or died.
   *
   * @example
   * ```ts
   * const batch = [encode(a), encode(b), encode(c)];
   * for (let i = 0; i < batch.length; ) i += ring.writeMessages(batch, i);
   * ```
   */
  writeMessages(messages: readonly (Uint8Array | string)[], start?: number): number {
    const batch = this.#batch(messages, start, false);
    if (batch.items.length === 0) return 0;
    try {
      this.waitSpace((batch.lengths[0] as number) + FRAME_HEADER);
    } catch (error) {
      throw faultAt(error, batch.start);
    }
    return this.#putMany(batch, this.free(this.#frames(batch)));
  }

  /**
   * {@link writeMessages} without sleeping: writes, in order, the messages
   * from `start` on that fit now, and returns their count (0 if the first
   * does not fit; nothing is written then).
   *
   * @example
   * ```ts
   * const sent = ring.tryWriteMessages(batch);
   * pending.push(...batch.slice(sent));
   * ```
   */
  tryWriteMessages(messages: readonly (Uint8Array | string)[], start?: number): number {
    const batch = this.#batch(messages, start, false);
    if (batch.items.length === 0) return 0;
    return this.#putMany(batch, this.free(this.#frames(batch)));
  }

  /**
   * {@link writeMessages} without blocking the thread: the bytes of every
   * message are taken at the call; resolves with the count written once
   * the first message (and every one after it that fits then) is in the
   * ring. Aborting `options.signal` while it waits for room rejects with an
   * `AbortError` and writes nothing; the ring stays usable.
   *
   * @example
   * ```ts
   * for (let i = 0; i < batch.length; ) i += await ring.writeMessagesAsync(batch, i, { signal });
   * ```
   */
  async writeMessagesAsync(messages: readonly (Uint8Array | string)[], start?: number, options?: AbortOptions): Promise<number> {
    const signal = signalOf(options);
    const batch = this.#batch(messages, start, true);
    throwIfAborted(signal);
    if (batch.items.length === 0) return 0;
    try {
      await this.waitSpaceAsync((batch.lengths[0] as number) + FRAME_HEADER, signal);
    } catch (error) {
      throw faultAt(error, batch.start);
    }
    // Closed in this thread after the wait returned (its resolution runs a
    // turn later, even when there was room at once).
    this.live();
    return this.#putMany(batch, this.free(this.#frames(batch)));
  }

  // ---- consumer -------------------------------------------------------------

  /** The checked target and lengths of a batch read, claiming the consumer end for messages. */
  #readArgs(target: unknown, lengths: unknown): [into: Uint8Array, max: number] {
    this.viewed = -1;
    // A plain Uint8Array over the target's memory (its errors name `target`).
    const bytes = toBytes(target, 'target');
    const into = prefixOf(bytes, byteLengthOf(bytes));
    if (typedArrayTag(lengths) !== 'Uint32Array') throw argTypeError('lengths', 'an instance of Uint32Array', lengths);
    const max = byteLengthOf(lengths) / 4;
    // An empty array is no error, a detached one is (it would read nothing, silently).
    if (max === 0) toBytes(lengths, 'lengths');
    this.claim(CONSUMER, MESSAGES);
    return [into, max];
  }

  /**
   * Copies whole messages from the head into `into`, end to end, their
   * lengths into `lengths`, while they are readable (`avail` bytes), fit
   * and `lengths` has room; releases them with one store of the head (two
   * if the producer sleeps) and returns how many.
   */
  #takeMany(into: Uint8Array, lengths: Uint32Array, max: number, avail: number): number {
    const room = byteLengthOf(into);
    const data = this.data;
    const mask = this.mask;
    let cursor = this.cursor;
    let left = avail;
    let filled = 0;
    let k = 0;
    for (; k < max && left > 0; k++) {
      const at = cursor & mask;
      const n = lengthAt(data, at);
      if (left < FRAME_HEADER || n > left - FRAME_HEADER) this.frame(left, cursor); // throws: the header or the bytes are not a message
      if (n > room - filled) {
        if (k > 0) break;
        throw atItem(
          misuse(
            'ERR_MMAP_BUFFER_TOO_SMALL',
            `the next message is ${n} bytes and the target ${room}; nothing was read (the message stays in the ring): pass a target of at least ${n} bytes (maxMessage, ${this.maxMessage}, always fits)`,
          ),
          0,
        );
      }
      // `into` is a plain Uint8Array this call made (prefixOf), so its
      // own `set` is the built-in one.
      into.set(data.subarray(at + FRAME_HEADER, at + FRAME_HEADER + n), filled);
      if (this.end[0] !== MAGIC || this.status[0] !== 0) {
        // The messages before this one were checked whole after their copies.
        if (k > 0) this.release((cursor - this.cursor) >>> 0);
        throw atItem(this.lost(), k);
      }
      lengths[k] = n;
      filled += n;
      cursor = (cursor + n + FRAME_HEADER) >>> 0;
      left -= n + FRAME_HEADER;
      // As in #putMany: a producer asleep on the full ring gets the first
      // message's room at once.
      if (k === 0 && Atomics.load(this.h, PRODUCER_WAITING) !== 0) this.release((cursor - this.cursor) >>> 0);
    }
    if (cursor !== this.cursor) this.release((cursor - this.cursor) >>> 0);
    return k;
  }

  /**
   * Reads many whole messages at once, with one release of the head (two
   * when the producer sleeps: it gets the first message's room at once)
   * and at most one wake-up of the producer: sleeps until at least one message is
   * there, then copies, in order, every message readable now into
   * `target`, end to end from its start, and the length of each into
   * `lengths` (message k starts at the sum of `lengths[0..k)`). Returns the
   * count, at most `lengths.length`, or null at the end of the stream (the
   * producer closed and every message was read).
   *
   * A partial batch: it stops before a message that does not fit in what
   * is left of `target` (it stays in the ring for the next call). A first
   * message larger than the whole target reads nothing
   * (`ERR_MMAP_BUFFER_TOO_SMALL`, `itemIndex` 0); a target of
   * {@link maxMessage} bytes always takes one. A ring whose file was
   * truncated during the batch stops it at the message being copied: those
   * before it are released (their bytes and lengths are in the target and
   * `lengths`), none after, and `ERR_MMAP_FAULT` carries its `itemIndex`.
   * Throws `ERR_MMAP_PEER_GONE` if the producer died (after every whole
   * message it published was read).
   *
   * @example
   * ```ts
   * const buf = new Uint8Array(64 * 4096);
   * const lengths = new Uint32Array(64);
   * for (let count; (count = ring.readMessages(buf, lengths)) !== null; ) {
   *   for (let k = 0, at = 0; k < count; at += lengths[k++]) handle(buf.subarray(at, at + lengths[k]));
   * }
   * ```
   */
  readMessages(target: Uint8Array, lengths: Uint32Array): number | null {
    const [into, max] = this.#readArgs(target, lengths);
    if (max === 0) return 0;
    let avail: number;
    try {
      if (this.waitData(1) === 0) return null;
      // Every message published so far, not only those the cached tail shows.
      avail = this.soundCount(this.avail(this.cap));
    } catch (error) {
      throw faultAt(error, 0);
    }
    return this.#takeMany(into, lengths, max, avail);
  }

  /**
   * {@link readMessages} without sleeping: the count of messages read now,
   * 0 if none is there (see {@link ended} for the end of the stream).
   *
   * @example
   * ```ts
   * const count = ring.tryReadMessages(buf, lengths);
   * ```
   */
  tryReadMessages(target: Uint8Array, lengths: Uint32Array): number {
    const [into, max] = this.#readArgs(target, lengths);
    if (max === 0) return 0;
    let avail: number;
    try {
      avail = this.soundCount(this.avail(this.cap));
      if (avail === 0) {
        this.checkPeer(PRODUCER, Atomics.load(this.h, PRODUCER_STATE), false);
        return 0;
      }
    } catch (error) {
      throw faultAt(error, 0);
    }
    return this.#takeMany(into, lengths, max, avail);
  }

  /**
   * {@link readMessages} without blocking the thread: resolves with the
   * count read (or null at the end of the stream) once at least one
   * message is copied into `target`. Aborting `options.signal` while it
   * waits rejects with an `AbortError`; nothing is read, and the ring
   * stays usable.
   *
   * @example
   * ```ts
   * const count = await ring.readMessagesAsync(buf, lengths, { signal });
   * ```
   */
  async readMessagesAsync(target: Uint8Array, lengths: Uint32Array, options?: AbortOptions): Promise<number | null> {
    const [into, max] = this.#readArgs(target, lengths);
    const signal = signalOf(options);
    throwIfAborted(signal);
    if (max === 0) return 0;
    const room = byteLengthOf(into);
    let avail: number;
    try {
      const got = await this.waitDataAsync(1, signal);
      // Closed in this thread after the wait returned (a turn later).
      this.live();
      if (got === 0) return null;
      avail = this.soundCount(this.avail(this.cap));
    } catch (error) {
      throw faultAt(error, 0);
    }
    if (byteLengthOf(into) < room || byteLengthOf(lengths) < max * 4) {
      throw misuse('ERR_MMAP_BUFFER_DETACHED', 'the target or lengths were detached or shrunk while the read waited; nothing was read');
    }
    return this.#takeMany(into, lengths, max, avail);
  }
}
