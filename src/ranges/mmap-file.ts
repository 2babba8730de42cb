import {
  asyncDone,
  asyncStarted,
  consumedError,
  invalidRangeError,
  keepRangeReceipt,
  keyOfConsumed,
  mintRange,
  NOT_A_RANGE,
  rangeKey,
  rangeLength,
  rangeReceipt,
  rangeStart,
  type AllocatedRange,
  type RangeTransfer,
} from './allocated-range.js';
import { validateAllocatorState, type AllocatorState } from './allocator-state.js';
import { ConcurrentAllocator } from './concurrent-allocator.js';
import { abortError, argValueError, fromNative, misuse, typedArrayTag, type MmapError } from '../errors.js';
import {
  CREATE_OPTION_KEYS,
  MappedFileBase,
  attachShared,
  openMapping,
  openMappingAsync,
  toCreateRequest,
  toOpenRequest,
  type CreateFileOptions,
  type SharedMappedFile,
} from '../core/mapped-file-base.js';
import { byteLengthOf, bytesOf, prefixOf, readOptions, toBytes } from '../core/arguments.js';
import { type AbortOptions, openAbortable, signalOf, throwIfAborted, toSignal } from '../core/abort.js';
import type { PathLike } from '../core/path-like.js';
import { LARGE_WRITE_BYTES, type ThreadMapping } from '../core/thread-mapping.js';
import { native, SyncMode } from '../native/binding.js';
import { AllocatorKind, STATUS_ALLOCATOR_KIND_I32, STATUS_FAULTS_I32 } from '../native/status-page.js';
import { SequentialAllocator } from './sequential-allocator.js';
import { mintReceipt, receiptState, type WriteReceipt } from './write-receipt.js';

/** Which allocator a file comes with. */
export type AllocatorChoice = 'sequential' | 'concurrent';

/** Options of {@link MmapFile.create}. */
export interface CreateOptions extends CreateFileOptions {
  /** `'sequential'` (default, one thread) or `'concurrent'` (every thread, wait-free). */
  allocator?: AllocatorChoice;
}

/** Options of {@link MmapFile.open}. */
export interface OpenOptions {
  /** `'sequential'` (default) or `'concurrent'`; taken from `allocatorState` when that is given. */
  allocator?: AllocatorChoice;
  /** Resume allocation where a saved allocator stopped (`allocator.saveState()`). */
  allocatorState?: AllocatorState;
}

/**
 * Options of {@link MmapFile.openAsync}: those of `open`, and a `signal`.
 *
 * @example
 * ```ts
 * const options: OpenAsyncOptions = { allocator: 'concurrent', signal: AbortSignal.timeout(5_000) };
 * ```
 */
export interface OpenAsyncOptions extends OpenOptions, AbortOptions {}

/**
 * A file together with the allocator that hands out its ranges. Disposable:
 * `using opened = MmapFile.create(...)` (or `await using`) closes the file
 * at the end of the block.
 *
 * @example
 * ```ts
 * {
 *   using opened = MmapFile.create('out.bin', 1 << 20);
 *   const range = opened.allocator.allocate(4096)!;
 *   opened.file.writeRange(range, new Uint8Array(4096));
 * } // closed here
 * ```
 */
export interface OpenedFile<A extends SequentialAllocator | ConcurrentAllocator | null> extends Disposable, AsyncDisposable {
  file: MmapFile<KindOfAllocator<A>>;
  allocator: A;
}

/**
 * The allocator `MmapFile.fromShared(handle)` gives for a handle of type
 * `H`: `ConcurrentAllocator` when `H` is a `SharedMappedFile<'concurrent'>`,
 * `null` when it is a sequential (or raw) one, and the union
 * `ConcurrentAllocator | null` when the type does not say (`any`,
 * `unknown`, a plain `SharedMappedFile`).
 */
export type SharedAllocatorOf<H> = 0 extends 1 & H
  ? ConcurrentAllocator | null
  : [H] extends [SharedMappedFile<'concurrent'>]
    ? ConcurrentAllocator
    : [H] extends [SharedMappedFile<'sequential' | 'none'>]
      ? null
      : ConcurrentAllocator | null;

/** The allocator kind an allocator type stands for. */
export type KindOfAllocator<A> = A extends ConcurrentAllocator ? 'concurrent' : A extends SequentialAllocator ? 'sequential' : AllocatorChoice;

/** The type of option `K` of options type `O`, or undefined when `O` has no such option. */
export type OptionField<O, K extends string> = K extends keyof O ? O[K] : undefined;
/** The allocator kind an `allocator` option's type stands for. */
export type AllocatorOptionKind<A> = A extends undefined ? 'sequential' : A extends AllocatorChoice ? A : never;
/** The allocator kind a saved state's type stands for. */
export type SavedStateKind<S> = S extends { kind: infer K } ? K : never;
/** Which allocator kinds an options type can produce: a union when it cannot be known. */
export type OptionsAllocatorKind<O> = [OptionField<O, 'allocatorState'>] extends [undefined]
  ? AllocatorOptionKind<OptionField<O, 'allocator'>>
  :
      | SavedStateKind<OptionField<O, 'allocatorState'>>
      | (undefined extends OptionField<O, 'allocatorState'> ? AllocatorOptionKind<OptionField<O, 'allocator'>> : never);

/**
 * The allocator type for an options type: `SequentialAllocator` by default,
 * `ConcurrentAllocator` for `{ allocator: 'concurrent' }` (or a saved
 * concurrent state), and the union when the options' type does not say
 * (a variable typed `CreateOptions`, a conditional value).
 */
export type AllocatorFor<O> = [OptionsAllocatorKind<O>] extends ['sequential']
  ? SequentialAllocator
  : [OptionsAllocatorKind<O>] extends ['concurrent']
    ? ConcurrentAllocator
    : SequentialAllocator | ConcurrentAllocator;

/**
 * A memory-mapped file written through ranges: many threads write disjoint
 * parts of one file at once, with no lock and no system call per write.
 *
 * Ranges come from the file's allocator, so two writers can never overlap;
 * `writeRange` checks the range is genuine, belongs to this file and is
 * held by this thread, checks the data length, and copies once.
 *
 * @example
 * ```ts
 * import { MmapFile, ALIGNMENT } from 'ranged-mmap';
 *
 * const { file, allocator } = MmapFile.create('out.bin', 256 * ALIGNMENT);
 * const range = allocator.allocate(128 * ALIGNMENT)!;
 * const receipt = file.writeRange(range, new Uint8Array(range.length).fill(1));
 * file.flushRange(receipt);
 * file.syncAll();
 * file.close();
 * ```
 */
export class MmapFile<K extends AllocatorChoice = AllocatorChoice> extends MappedFileBase {
  private constructor(views: ThreadMapping) {
    super(views);
  }

  /**
   * Creates (or replaces) a file of exactly `size` bytes, reserves its disk
   * blocks (unless `sparse`), maps it, and returns it with its allocator.
   *
   * @example
   * ```ts
   * const { file, allocator } = MmapFile.create('out.bin', 1 << 20, { allocator: 'concurrent' });
   * ```
   */
  static create<O extends CreateOptions = {}>(path: PathLike, size: number | bigint, options?: O): OpenedFile<AllocatorFor<O>> {
    const o = readOptions(options, 'options', CREATE_KEYS);
    const req = toCreateRequest(path, size, o);
    const kind = toAllocatorKind(o.allocator);
    return withAllocator(openMapping(req), kind, 0) as OpenedFile<AllocatorFor<O>>;
  }

  /**
   * {@link create}, with the file work on the libuv thread pool. It takes
   * no AbortSignal: a create the abort overtook would already have made
   * (or replaced) the file, which cannot be undone safely.
   */
  static async createAsync<O extends CreateOptions = {}>(path: PathLike, size: number | bigint, options?: O): Promise<OpenedFile<AllocatorFor<O>>> {
    const o = readOptions(options, 'options', CREATE_KEYS);
    const req = toCreateRequest(path, size, o);
    const kind = toAllocatorKind(o.allocator);
    return withAllocator(await openMappingAsync(req), kind, 0) as OpenedFile<AllocatorFor<O>>;
  }

  /**
   * Maps an existing, non-empty file for reading and writing, with a fresh
   * allocator (starting at 0) or one resumed from `allocatorState`.
   *
   * @example
   * ```ts
   * const { file, allocator } = MmapFile.open('existing.bin');
   * console.log(file.size, allocator.remaining);
   * ```
   */
  static open<O extends OpenOptions = {}>(path: PathLike, options?: O): OpenedFile<AllocatorFor<O>> {
    const req = toOpenRequest(path);
    const o = readOptions(options, 'options', OPEN_KEYS);
    const kind = openAllocatorKind(o);
    return withResumedAllocator(openMapping(req), kind, o.allocatorState) as OpenedFile<AllocatorFor<O>>;
  }

  /**
   * {@link open}, with the file work on the libuv thread pool. Aborting
   * `options.signal` rejects at once with an `AbortError`; an open already
   * on the pool is not recalled, and the mapping it makes is closed when it
   * arrives. An already-aborted signal opens nothing.
   *
   * @example
   * ```ts
   * const { file, allocator } = await MmapFile.openAsync('existing.bin', { signal: AbortSignal.timeout(5_000) });
   * ```
   */
  static async openAsync<O extends OpenAsyncOptions = {}>(path: PathLike, options?: O): Promise<OpenedFile<AllocatorFor<O>>> {
    const req = toOpenRequest(path);
    const o = readOptions(options, 'options', OPEN_ASYNC_KEYS);
    const kind = openAllocatorKind(o);
    const signal = toSignal(o.signal, 'options.signal');
    throwIfAborted(signal);
    const finish = (views: ThreadMapping) => withResumedAllocator(views, kind, o.allocatorState) as OpenedFile<AllocatorFor<O>>;
    return openAbortable(openMappingAsync(req), signal, finish, (views) => views.close());
  }

  /**
   * Turns a handle from {@link share}, posted from another thread, into a
   * file over the same memory, with the file's concurrent allocator (or
   * `null` if it was made with a sequential one, which stays in its thread).
   *
   * The allocator's type follows the handle's: `ConcurrentAllocator` for a
   * `SharedMappedFile<'concurrent'>`, `null` for a sequential one, and
   * `ConcurrentAllocator | null` for anything else, `workerData` (`any`) and
   * `unknown` included: check it (`if (allocator === null) ...`) before use.
   * Anything that is not a genuine handle is refused at run time
   * (`ERR_MMAP_INVALID_ARGUMENT`).
   *
   * @example
   * ```ts
   * // worker.js
   * parentPort.on('message', (handle) => {
   *   const { file, allocator } = MmapFile.fromShared(handle);
   *   // ... allocate and write ...
   *   file.close();
   * });
   * ```
   */
  static fromShared<H>(handle: H): OpenedFile<SharedAllocatorOf<H>>;
  static fromShared(handle: unknown): OpenedFile<ConcurrentAllocator | null> {
    const views = attachShared(handle);
    const concurrent = views.status[STATUS_ALLOCATOR_KIND_I32] === AllocatorKind.Concurrent;
    return opened(new MmapFile(views), concurrent ? new ConcurrentAllocator(views) : null);
  }

  /**
   * A plain object to `postMessage` to a worker thread; there,
   * `MmapFile.fromShared(handle)` gives a file over the same memory and, for
   * a concurrent allocator, the same allocator. Its type carries the
   * allocator kind, so `fromShared` is typed without a `!`.
   */
  override share(): SharedMappedFile<K> {
    return super.share() as SharedMappedFile<K>;
  }

  /**
   * Copies `data` into `range` and returns the receipt. `data.byteLength`
   * must equal `range.length`; nothing is written otherwise. Any
   * `ArrayBufferView` is accepted; a `Uint8Array` (or `Buffer`) is fastest.
   *
   * @throws ERR_MMAP_INVALID_RANGE, ERR_MMAP_FOREIGN_RANGE, ERR_MMAP_RANGE_CONSUMED,
   *   ERR_MMAP_LENGTH_MISMATCH, ERR_MMAP_CLOSED, ERR_MMAP_FAULT
   * @example
   * ```ts
   * const receipt = file.writeRange(range, Buffer.alloc(range.length, 7));
   * ```
   */
  writeRange(range: AllocatedRange, data: ArrayBufferView): WriteReceipt {
    // 1. Read the user's values: the data's length from its internal slots
    //    (no getter, no Proxy trap, no user code at all).
    let bytes = data as Uint8Array;
    let dataLength = typedArrayTag(data) === 'Uint8Array' ? byteLengthOf(data) : 0;
    if (dataLength === 0) {
      bytes = toBytes(data, 'data');
      dataLength = byteLengthOf(bytes);
    }
    // 2. Check the range: genuine, this file's, held by this thread, file
    //    open and unfaulted (a closed file's status page is detached: its
    //    word reads undefined, which fails the same test).
    //    rangeKey is the mapping's key only for a genuine range of this
    //    file that is live here (NOT_A_RANGE, or <= -2 once consumed).
    const v = this.views;
    if (rangeKey(range) !== v.key || v.status[STATUS_FAULTS_I32] !== 0) throw this.#refusal(range, 'writeRange');
    const r = range as AllocatedRange;
    const length = rangeLength(r);
    if (dataLength !== length) throw lengthMismatch('writeRange', r, dataLength);
    // 3. Copy. Nothing between the checks and here can run user code.
    const start = rangeStart(r);
    // The common case inline: a small write inside the first view is one copy.
    if (length < LARGE_WRITE_BYTES && start + length <= v.firstLength) v.first.set(bytes, start);
    else v.write(start, bytes, length);
    if (v.status[STATUS_FAULTS_I32] !== 0) throw v.faultError();
    const receipt = rangeReceipt(r);
    return receipt !== undefined ? (receipt as WriteReceipt) : receiptFor(r, v.key);
  }

  /**
   * {@link writeRange} with the copy on the libuv thread pool: use it when
   * the pages may have to be read from disk first (a file opened, not
   * created) and the event loop must stay free. Checks happen before the
   * promise is made, so a refused call throws synchronously. Do not modify,
   * transfer or detach `data` until the promise settles.
   *
   * Aborting `options.signal` rejects with an `AbortError` at once, but the
   * copy, already queued on the pool, is not recalled: the bytes may or may
   * not have landed (read the range back to know), and the range stays busy
   * (no split or transfer) until the copy ends. An already-aborted signal
   * rejects before anything is written.
   *
   * @example
   * ```ts
   * const receipt = await file.writeRangeAsync(range, data);
   * await file.writeRangeAsync(range, data, { signal: AbortSignal.timeout(5000) });
   * ```
   */
  writeRangeAsync(range: AllocatedRange, data: ArrayBufferView, options?: AbortOptions): Promise<WriteReceipt> {
    const bytes = toBytes(data, 'data');
    const dataLength = byteLengthOf(bytes);
    const signal = signalOf(options);
    const v = this.views;
    if (rangeKey(range) !== v.key || v.closed || v.status[STATUS_FAULTS_I32] !== 0) throw this.#refusal(range, 'writeRangeAsync');
    const r = range as AllocatedRange;
    if (dataLength !== rangeLength(r)) throw lengthMismatch('writeRangeAsync', r, dataLength);
    // The range is busy until the copy lands (even after an abort rejected):
    // it cannot be split or handed over meanwhile, so the bytes can only
    // reach the owner's own range.
    const key = v.key;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    asyncStarted(r);
    return this.copyAbortable(rangeStart(r), bytes, true, signal, () => asyncDone(r)).then(() => receiptFor(r, key));
  }

  /**
   * {@link readRange} with the copy on the libuv thread pool. With
   * `options.signal`, the copy goes through a buffer of its own and reaches
   * `target` only if it ends before an abort: an aborted read rejects with
   * an `AbortError` and never writes into `target` afterwards.
   *
   * @example
   * ```ts
   * const n = await file.readRangeAsync(range, Buffer.alloc(range.length));
   * ```
   */
  readRangeAsync(range: AllocatedRange, target: ArrayBufferView, options?: AbortOptions): Promise<number> {
    const bytes = toBytes(target, 'target');
    const targetLength = byteLengthOf(bytes);
    const signal = signalOf(options);
    const v = this.views;
    if (rangeKey(range) !== v.key || v.closed || v.status[STATUS_FAULTS_I32] !== 0) throw this.#refusal(range, 'readRangeAsync');
    const r = range as AllocatedRange;
    const length = rangeLength(r);
    if (targetLength < length) throw bufferTooSmall('readRangeAsync', r, targetLength);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    asyncStarted(r);
    const into = targetLength === length ? bytes : prefixOf(bytes, length);
    return this.copyAbortable(rangeStart(r), into, false, signal, () => asyncDone(r)).then(() => length);
  }

  /**
   * Copies the bytes of `range` into the start of `target` and returns how
   * many were copied (`range.length`).
   *
   * @throws ERR_MMAP_BUFFER_TOO_SMALL when `target` is shorter than the range.
   * @example
   * ```ts
   * const buf = Buffer.alloc(range.length);
   * file.readRange(range, buf);
   * ```
   */
  readRange(range: AllocatedRange, target: ArrayBufferView): number {
    const bytes = bytesOf(target, 'target');
    const targetLength = byteLengthOf(bytes);
    const v = this.views;
    if (rangeKey(range) !== v.key || v.closed || v.status[STATUS_FAULTS_I32] !== 0) throw this.#refusal(range, 'readRange');
    const r = range as AllocatedRange;
    const length = rangeLength(r);
    if (targetLength < length) throw bufferTooSmall('readRange', r, targetLength);
    v.read(rangeStart(r), length, bytes, 0);
    if (v.status[STATUS_FAULTS_I32] !== 0) throw v.faultError();
    return length;
  }

  /**
   * Starts write-back of the written range and returns without waiting
   * (`sync_file_range`). Takes only a receipt, so only written ranges are
   * flushed.
   */
  flushRange(receipt: WriteReceipt): void {
    const r = this.#receipt(receipt, 'flushRange');
    this.views.sync(r.start, r.end - r.start, SyncMode.Schedule);
  }

  /** {@link flushRange} on the libuv thread pool; an abort of `options.signal` stops the wait (not the write-back) with an `AbortError`. */
  flushRangeAsync(receipt: WriteReceipt, options?: AbortOptions): Promise<void> {
    const r = this.#receipt(receipt, 'flushRangeAsync');
    return this.syncAbortable(r.start, r.end - r.start, SyncMode.Schedule, signalOf(options));
  }

  /** Writes the range back and waits until it is on disk (`msync(MS_SYNC)`). */
  syncRange(receipt: WriteReceipt): void {
    const r = this.#receipt(receipt, 'syncRange');
    this.views.sync(r.start, r.end - r.start, SyncMode.Range);
  }

  /**
   * {@link syncRange} on the libuv thread pool. An abort of `options.signal`
   * rejects with an `AbortError` at once; the sync goes on, and nothing is
   * known of durability until a later sync resolves.
   */
  syncRangeAsync(receipt: WriteReceipt, options?: AbortOptions): Promise<void> {
    const r = this.#receipt(receipt, 'syncRangeAsync');
    return this.syncAbortable(r.start, r.end - r.start, SyncMode.Range, signalOf(options));
  }

  /**
   * Claims, in this thread, a range another thread gave up with
   * `range.transfer()`. Each transfer can be claimed once.
   *
   * @throws ERR_MMAP_RANGE_CLAIMED when it was claimed already (or never issued).
   * @example
   * ```ts
   * parentPort.on('message', (msg) => {
   *   const range = file.receiveRange(msg.range);
   *   file.writeRange(range, data);
   * });
   * ```
   */
  receiveRange(transfer: RangeTransfer): AllocatedRange {
    const v = this.views;
    let t: Partial<Record<'kind' | 'file' | 'start' | 'end' | 'ticket', unknown>>;
    try {
      t = readOptions(transfer, 'transfer', TRANSFER_KEYS);
    } catch {
      t = {};
    }
    v.check();
    if (
      t.kind !== 'ranged-mmap:range' ||
      typeof t.file !== 'number' ||
      typeof t.start !== 'number' ||
      typeof t.end !== 'number' ||
      typeof t.ticket !== 'number'
    ) {
      throw misuse('ERR_MMAP_INVALID_ARGUMENT', 'receiveRange() takes the object that range.transfer() returned, posted to this thread as is', v.path);
    }
    if (t.file !== v.key) {
      throw misuse('ERR_MMAP_FOREIGN_RANGE', `the transferred range [${t.start}, ${t.end}) belongs to another file, not '${v.path}'`, v.path);
    }
    let claimed: boolean;
    try {
      claimed = native.ticketClaim(t.file, t.ticket, t.start, t.end);
    } catch (error) {
      // Not a claim that lost: the ticket's numbers are not even valid, or
      // the mapping is gone. Say so instead of calling it claimed.
      const cause = fromNative(error, v.path);
      throw misuse('ERR_MMAP_RANGE_CLAIMED', `the transferred range [${t.start}, ${t.end}) cannot be claimed: ${cause.message}`, v.path);
    }
    if (!claimed) {
      throw misuse(
        'ERR_MMAP_RANGE_CLAIMED',
        `the transferred range [${t.start}, ${t.end}) was already claimed (each transfer can be received once), or was never issued`,
      );
    }
    return mintRange(v.key, t.start, t.end);
  }

  #receipt(receipt: WriteReceipt, what: string) {
    const r = receiptState(receipt);
    if (r === undefined) {
      throw misuse('ERR_MMAP_INVALID_RECEIPT', `${what} takes the WriteReceipt that writeRange returned; got ${receipt === null ? 'null' : typeof receipt}`);
    }
    if (r.key !== this.views.key) {
      throw misuse('ERR_MMAP_FOREIGN_RANGE', `${what}: the receipt for [${r.start}, ${r.end}) comes from another file, not '${this.views.path}'`);
    }
    return r;
  }

  /** Slow path: says precisely why a range cannot be used. */
  #refusal(range: unknown, what: string): MmapError {
    const v = this.views;
    const key = rangeKey(range);
    if (key === NOT_A_RANGE) return invalidRangeError(range, what);
    if (v.closed) return v.closedError();
    const r = range as AllocatedRange;
    if (keyOfConsumed(key) !== v.key) {
      const start = rangeStart(r);
      return misuse('ERR_MMAP_FOREIGN_RANGE', `${what}: range [${start}, ${start + rangeLength(r)}) was allocated for another file, not '${v.path}'`);
    }
    if (key !== v.key) return consumedError(r, what.startsWith('write') ? 'write' : 'read');
    return v.faultError();
  }
}

const CREATE_KEYS = [...CREATE_OPTION_KEYS, 'allocator'] as const;
const OPEN_KEYS = ['allocator', 'allocatorState'] as const;
const OPEN_ASYNC_KEYS = [...OPEN_KEYS, 'signal'] as const;
const TRANSFER_KEYS = ['kind', 'file', 'start', 'end', 'ticket'] as const;

/** The range's receipt, made on its first write and reused after, so a repeated write allocates nothing. */
function receiptFor(r: AllocatedRange, key: number): WriteReceipt {
  let receipt = rangeReceipt(r);
  if (receipt === undefined) {
    const start = rangeStart(r);
    receipt = mintReceipt(key, start, start + rangeLength(r));
    keepRangeReceipt(r, receipt);
  }
  return receipt as WriteReceipt;
}

function lengthMismatch(what: string, r: AllocatedRange, got: number): MmapError {
  const start = rangeStart(r);
  const length = rangeLength(r);
  return misuse('ERR_MMAP_LENGTH_MISMATCH', `${what} needs exactly ${length} bytes for range [${start}, ${start + length}); got ${got}. Nothing was written`);
}

function bufferTooSmall(what: string, r: AllocatedRange, got: number): MmapError {
  const start = rangeStart(r);
  const length = rangeLength(r);
  return misuse('ERR_MMAP_BUFFER_TOO_SMALL', `${what} needs a buffer of at least ${length} bytes for range [${start}, ${start + length}); got ${got}`);
}

/** The allocator kind for open(): a saved state's kind wins over the `allocator` option. */
function openAllocatorKind(options: Partial<Record<'allocator' | 'allocatorState', unknown>>): AllocatorKind {
  const state: unknown = options.allocatorState;
  if (state === undefined) return toAllocatorKind(options.allocator);
  const kind = typeof state === 'object' && state !== null ? (state as { kind?: unknown }).kind : undefined;
  if (kind !== 'sequential' && kind !== 'concurrent') {
    // validateAllocatorState (after the file is open) says precisely what is wrong.
    validateAllocatorState(state, 0, '');
  }
  return toAllocatorKind(kind);
}

function toAllocatorKind(choice: unknown): AllocatorKind {
  if (choice === undefined || choice === 'sequential') return AllocatorKind.Sequential;
  if (choice === 'concurrent') return AllocatorKind.Concurrent;
  throw argValueError('options.allocator', "must be 'sequential' or 'concurrent'", choice);
}

/** The disposable pair create/open/fromShared return. */
function opened<A extends SequentialAllocator | ConcurrentAllocator | null>(file: MmapFile, allocator: A): OpenedFile<A> {
  return {
    file: file as MmapFile<KindOfAllocator<A>>,
    allocator,
    [Symbol.dispose]() {
      file.close();
    },
    async [Symbol.asyncDispose]() {
      file.close();
    },
  };
}

function withAllocator(views: ThreadMapping, kind: AllocatorKind, nextPos: number): OpenedFile<SequentialAllocator | ConcurrentAllocator> {
  // The kind is recorded in the shared status page, so a worker learns it
  // from the mapping itself and not from a handle it was sent.
  views.status[STATUS_ALLOCATOR_KIND_I32] = kind;
  const file = Reflect.construct(MmapFile, [views]) as MmapFile;
  if (kind === AllocatorKind.Concurrent) return opened(file, ConcurrentAllocator.start(views, nextPos));
  return opened(file, new SequentialAllocator(views, nextPos));
}

function withResumedAllocator(views: ThreadMapping, kind: AllocatorKind, state: unknown) {
  let next = 0;
  if (state !== undefined) {
    try {
      next = validateAllocatorState(state, views.size, views.path).nextPos;
    } catch (error) {
      views.close();
      throw error;
    }
  }
  return withAllocator(views, kind, next);
}
