/**
 * The typed ends of a SharedRing: what `SharedRing.producer()` and
 * `SharedRing.consumer()` return. Each is the same SharedRing object seen
 * through a type with only that end's calls, so TypeScript refuses a read
 * on a producer (and a write on a consumer) before it runs; at run time
 * such a call would throw `ERR_MMAP_INVALID_STATE` anyway.
 */
// The methods are picked from the class that declares them (SharedRing adds
// only its opening calls), so this file does not import shared-ring.ts,
// which imports it.
import type { SharedRingBatches } from './shared-ring-batch.js';

/** What both ends have. */
type Common = 'capacity' | 'closed' | 'maxMessage' | 'close' | typeof Symbol.dispose;

/**
 * The producer end of a {@link SharedRing}: writes (bytes or messages), no reads.
 *
 * @example
 * ```ts
 * const out: SharedRingProducer = SharedRing.producer('/tmp/feed.ring');
 * out.writeMessage('hello');
 * // out.readMessage(buf); // a type error: a producer has no read calls
 * out.close();
 * ```
 */
export interface SharedRingProducer
  extends Pick<
    SharedRingBatches,
    | Common
    | 'writeLen'
    | 'write'
    | 'writeAsync'
    | 'tryWrite'
    | 'writeSlice'
    | 'commit'
    | 'writeMessage'
    | 'tryWriteMessage'
    | 'writeMessageAsync'
    | 'writeMessageSlice'
    | 'commitMessage'
    | 'writeMessages'
    | 'tryWriteMessages'
    | 'writeMessagesAsync'
  > {
  /** Always `'producer'`. */
  readonly role: 'producer';
}

/**
 * The consumer end of a {@link SharedRing}: reads (bytes or messages), no writes.
 *
 * @example
 * ```ts
 * const input: SharedRingConsumer = SharedRing.consumer('/tmp/feed.ring');
 * const buf = new Uint8Array(input.maxMessage);
 * for (let n; (n = input.readMessage(buf)) !== null; ) handle(buf.subarray(0, n));
 * input.close();
 * ```
 */
export interface SharedRingConsumer
  extends Pick<
    SharedRingBatches,
    | Common
    | 'readLen'
    | 'ended'
    | 'waitReadable'
    | 'waitReadableAsync'
    | 'read'
    | 'readAsync'
    | 'tryRead'
    | 'readSlice'
    | 'consume'
    | 'readMessage'
    | 'tryReadMessage'
    | 'readMessageAsync'
    | 'readMessageSlice'
    | 'consumeMessage'
    | 'readMessages'
    | 'tryReadMessages'
    | 'readMessagesAsync'
  > {
  /** Always `'consumer'`. */
  readonly role: 'consumer';
}
