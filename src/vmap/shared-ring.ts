/**
 * SharedRing: a single-producer, single-consumer ring shared by two
 * threads (memory from memfd, posted to a worker like a file) or two
 * processes (a ring file). Past vmap.
 *
 * This file has the ways to get one: a ring between threads, a ring file
 * made, opened or replaced, and the typed ends. The calls live in the
 * classes under it: batches of messages in shared-ring-batch.ts, messages in
 * shared-ring-messages.ts, the byte stream in
 * shared-ring-stream.ts, and the protocol under both in shared-ring-core.ts.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';
import { toPath } from '../core/arguments.js';
import { argTypeError, fromNative, misuse } from '../errors.js';
import { type SharedRingFound, type SharedRingMemory, snative } from './native.js';
import type { SharedRingConsumer, SharedRingProducer } from './shared-ring-ends.js';
import { CONSUMER, notARing, PRODUCER, type SharedRingHandle, toCapacity } from './shared-ring-format.js';
import { checkReplaceable, toCreateOptions } from './shared-ring-file.js';
import { SharedRingBatches } from './shared-ring-batch.js';

export type { SharedRingHandle } from './shared-ring-format.js';

/** What {@link SharedRing.create} takes besides the path and capacity. */
export interface SharedRingCreateOptions {
  /** Permission bits of the new file (0o600 by default). */
  mode?: number;
  /**
   * Replace a ring file left at `path` by processes that are gone (see
   * {@link SharedRing.create}) instead of failing with `EEXIST`.
   */
  replace?: boolean;
}

/** A new ring's memory (between threads), for the constructor. */
function memoryFor(capacity: unknown): SharedRingMemory {
  const hint = toCapacity(capacity);
  try {
    return snative.srCreate(hint, null, 0o600);
  } catch (error) {
    throw fromNative(error);
  }
}

/**
 * A single-producer, single-consumer ring shared by two threads or two
 * processes, carrying bytes (`write`/`read`) or whole messages
 * (`writeMessage`/`readMessage`).
 *
 * Each object is one end. Take a typed end with {@link SharedRing.producer}
 * / {@link SharedRing.consumer} (or `ring.producer()` / `ring.consumer()`),
 * whose type has only that end's calls; on an untyped object the first
 * write-side call makes it the producer and the first read-side call the
 * consumer (one of each per ring).
 *
 * @example
 * ```ts
 * // main thread
 * import { SharedRing } from 'ranged-mmap';
 * const ring = new SharedRing(1 << 20);
 * new Worker('./consumer.js', { workerData: ring.share() });
 * const out = ring.producer();
 * out.writeMessage('hello'); // blocks while the ring is full
 * out.close(); // end of stream
 *
 * // consumer.js
 * const ring = SharedRing.fromShared(workerData).consumer();
 * const buf = new Uint8Array(ring.maxMessage);
 * for (let n; (n = ring.readMessage(buf)) !== null; ) handle(buf.subarray(0, n));
 * ring.close();
 * ```
 */
export class SharedRing extends SharedRingBatches {
  /**
   * A ring of at least `capacity` bytes (rounded up to a power of two, at
   * least one page) in memory shared by the threads of this process. Rings
   * of up to 64 MiB are prefaulted here (no page faults on the first lap).
   */
  constructor(capacity: number);
  /** @internal */
  constructor(capacity: number, made: SharedRingMemory, path?: string);
  constructor(capacity: number, made?: SharedRingMemory, path?: string) {
    super(made ?? memoryFor(capacity), path);
  }

  /**
   * Creates a ring file at `path` (permission bits `mode`, 0o600 by
   * default) for a ring shared between processes; the other process opens
   * it with {@link SharedRing.open}, {@link SharedRing.producer} or
   * {@link SharedRing.consumer}.
   *
   * The file must not exist (`EEXIST` otherwise), unless `replace` is
   * true: then a ring file left at `path` by processes that died or
   * closed it is replaced by a new, empty ring (made next to it and renamed
   * over it, so a process that still has the old one open keeps the old
   * one). `replace` refuses (`ERR_MMAP_INVALID_STATE`, naming the process)
   * while a live process holds an end of the old ring, and refuses a file
   * that is not a ring (it does not start with the ring signature and is
   * not empty), so it never clobbers another file. Replace before starting
   * the peers: one that opens the old file between the check and the
   * rename stays on the old ring.
   *
   * @example
   * ```ts
   * const ring = SharedRing.create('/tmp/feed.ring', 1 << 20);
   * // after a crash left the file behind:
   * const fresh = SharedRing.create('/tmp/feed.ring', 1 << 20, { replace: true });
   * ```
   */
  static create(path: string | URL, capacity: number, options?: SharedRingCreateOptions): SharedRing {
    const p = toPath(path);
    const hint = toCapacity(capacity);
    const { mode, replace } = toCreateOptions(options);
    try {
      return new SharedRing(0, snative.srCreate(hint, p, mode), p);
    } catch (error) {
      const mapped = fromNative(error, p);
      if (!replace || (mapped as { code?: unknown }).code !== 'EEXIST') throw mapped;
    }
    checkReplaceable(p);
    // A new ring beside the old file, then one rename: the path always
    // names a whole ring (the old or the new one), never a half-made file.
    const temp = `${p}.${process.pid}-${randomBytes(4).toString('hex')}.new`;
    let made: SharedRingMemory;
    try {
      made = snative.srCreate(hint, temp, mode);
    } catch (error) {
      throw fromNative(error, temp);
    }
    const ring = new SharedRing(0, made, p);
    try {
      renameSync(temp, p);
    } catch (error) {
      ring.close();
      rmSync(temp, { force: true });
      throw fromNative(error, p);
    }
    return ring;
  }

  /**
   * Opens a ring file made by {@link SharedRing.create} (in this or another
   * process). A file that is not a whole ring of this version (another
   * file, another format version, truncated, or with header words no ring
   * writes) is refused with `ERR_MMAP_INVALID_STATE`, whose message says
   * what is wrong with it.
   *
   * @example
   * ```ts
   * const ring = SharedRing.open('/tmp/feed.ring');
   * ```
   */
  static open(path: string | URL): SharedRing {
    const p = toPath(path);
    let got: SharedRingMemory;
    try {
      got = snative.srOpen(p);
    } catch (error) {
      const found = typeof error === 'object' && error !== null ? (error as { found?: SharedRingFound }).found : undefined;
      throw found === undefined ? fromNative(error, p) : notARing(p, found);
    }
    const ring = new SharedRing(0, got, p);
    const problem = ring.headerProblem();
    if (problem !== undefined) {
      ring.close(); // holds no role: changes nothing in the file
      throw ring.corrupt(problem);
    }
    return ring;
  }

  /**
   * Opens the ring file at `path` and takes its producer end now: the
   * result's type has only the producer's calls. Throws if the ring
   * already has a live producer (or its producer closed it).
   *
   * @example
   * ```ts
   * const out = SharedRing.producer('/tmp/feed.ring');
   * out.writeMessage(JSON.stringify({ id: 1 }));
   * out.close();
   * ```
   */
  static producer(path: string | URL): SharedRingProducer {
    return SharedRing.open(path).#takeEnd(PRODUCER) as SharedRingProducer;
  }

  /**
   * Opens the ring file at `path` and takes its consumer end now: the
   * result's type has only the consumer's calls.
   *
   * @example
   * ```ts
   * const input = SharedRing.consumer('/tmp/feed.ring');
   * const buf = new Uint8Array(input.maxMessage);
   * const n = input.readMessage(buf); // null at the end of the stream
   * ```
   */
  static consumer(path: string | URL): SharedRingConsumer {
    return SharedRing.open(path).#takeEnd(CONSUMER) as SharedRingConsumer;
  }

  /** Claims `role` for a ring just opened, closing it if that fails. */
  #takeEnd(role: number): this {
    try {
      this.claim(role, 0);
    } catch (error) {
      this.close();
      throw error;
    }
    return this;
  }

  /**
   * Takes the producer end now (or returns it if this object already is
   * the producer) and returns this object typed as a
   * {@link SharedRingProducer}. Throws as a first write would.
   *
   * @example
   * ```ts
   * const out = new SharedRing(1 << 16).producer();
   * ```
   */
  producer(): SharedRingProducer {
    this.claim(PRODUCER, 0);
    return this as SharedRingProducer;
  }

  /**
   * Takes the consumer end now and returns this object typed as a
   * {@link SharedRingConsumer}.
   *
   * @example
   * ```ts
   * const input = SharedRing.fromShared(workerData).consumer();
   * ```
   */
  consumer(): SharedRingConsumer {
    this.claim(CONSUMER, 0);
    return this as SharedRingConsumer;
  }

  /**
   * This thread's view of a ring another thread shared with
   * {@link SharedRing.share}.
   *
   * @example
   * ```ts
   * const ring = SharedRing.fromShared(workerData);
   * ```
   */
  static fromShared(handle: SharedRingHandle): SharedRing {
    if (typeof handle !== 'object' || handle === null) throw argTypeError('handle', 'a SharedRingHandle (from share())', handle);
    let kind: unknown;
    let key: unknown;
    try {
      kind = handle.kind;
      key = handle.key;
    } catch {
      throw argTypeError('handle', 'a SharedRingHandle (from share())', handle);
    }
    if (kind !== 'ranged-mmap:shared-ring' || typeof key !== 'number') throw argTypeError('handle', 'a SharedRingHandle (from share())', handle);
    // Keys are positive safe integers; anything else never came from share().
    if (!Number.isSafeInteger(key) || key < 1) {
      throw misuse('ERR_MMAP_INVALID_ARGUMENT', 'fromShared() takes the object that ring.share() returned (posted to this thread as is)');
    }
    try {
      return new SharedRing(0, snative.srAttach(key));
    } catch (error) {
      throw fromNative(error);
    }
  }
}
