import { byteLengthOf, readOptions, toBoolean, toOffset, toPath } from './arguments.js';
import { abortError, argTypeError, fromNative, misuse, outOfRange } from '../errors.js';
import { type AbortOptions, signalOf, whenAborted } from './abort.js';
import { ThreadMapping } from './thread-mapping.js';
import { createMappedReadStream, type MappedReadStreamOptions } from './mapped-read-stream.js';
import type { Readable } from 'node:stream';
import { MappingCursor } from './mapping-cursor.js';
import { Access, native, SyncMode, type NativeOpenRequest } from '../native/binding.js';
import { STATUS_ALLOCATOR_KIND_I32 } from '../native/status-page.js';

/** Options shared by `MmapFile.create` and `RawMmapFile.create`. */
export interface CreateFileOptions {
  /** Fail with `EEXIST` if the file exists (default false: replace it). */
  exclusive?: boolean;
  /** Permission bits of a new file, before the umask (default `0o666`). */
  mode?: number;
  /**
   * Skip reserving the file's blocks (default false). A sparse file is
   * created instantly, but a full disk then shows up at write time, as an
   * `ERR_MMAP_FAULT` or `ENOSPC` from the write, instead of at create.
   */
  sparse?: boolean;
}

/**
 * What `share()` returns: a plain object to post to a worker thread, where
 * `fromShared()` turns it back into a file over the same memory (no copy).
 */
export interface SharedMappedFile<A extends SharedAllocatorKind = SharedAllocatorKind> {
  readonly kind: 'ranged-mmap:file';
  /** Key of the mapping in the process-wide table (after a resize, `fromShared` follows it to the newest one). */
  readonly key: number;
  readonly path: string;
  /** Size when the handle was made; `fromShared` opens the file at its current size. */
  readonly size: number;
  /**
   * The allocator the file was made with (`'none'` for a RawMmapFile): what
   * `MmapFile.fromShared()` gives the receiving thread, and what its type says.
   */
  readonly allocator: A;
  /** Binds the handle to its mapping: a handle whose key or path was edited is refused. */
  readonly nonce: number;
}

/** What {@link SharedMappedFile.allocator} can say. */
export type SharedAllocatorKind = 'sequential' | 'concurrent' | 'none';

const SHARED_KIND_NAMES: readonly SharedAllocatorKind[] = ['none', 'sequential', 'concurrent'];
/** Index of a resized mapping's successor key in a Float64Array over its status page (0: none). */
const SUCCESSOR_F64 = native.statusSuccessorByte / 8;

/**
 * @internal The one options object every open and create carries down to
 * native/file_ops.h's rm_open_request: the binding's own type (ThreadMapping
 * opens with it).
 */
export type OpenRequest = NativeOpenRequest;

/** @internal Reads create's arguments, each once, in order; the options object is not touched again. */
export function toCreateRequest(path: unknown, size: unknown, options: Partial<Record<'exclusive' | 'mode' | 'sparse', unknown>>): OpenRequest {
  const p = toPath(path);
  const n = toOffset(size, 'size');
  if (n === 0) {
    throw misuse('ERR_MMAP_EMPTY_FILE', `cannot create '${p}' with size 0: an empty file cannot be mapped; give a size of at least 1 byte`, p);
  }
  const mode = options.mode === undefined ? 0o666 : options.mode; // null is refused, not a default
  if (typeof mode !== 'number') throw argTypeError('options.mode', 'of type number', mode);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw outOfRange('options.mode', 'permission bits, an integer from 0 to 0o7777', mode);
  return {
    path: p,
    create: true,
    size: n,
    exclusive: toBoolean(options.exclusive, 'options.exclusive'),
    sparse: toBoolean(options.sparse, 'options.sparse'),
    mode,
  };
}

/** @internal The option names {@link toCreateRequest} reads. */
export const CREATE_OPTION_KEYS = ['exclusive', 'mode', 'sparse'] as const;

/** @internal */
export function toOpenRequest(path: unknown): OpenRequest {
  return { path: toPath(path), create: false, size: 0, exclusive: false, sparse: false, mode: 0 };
}

/** @internal */
export function openMapping(req: OpenRequest): ThreadMapping {
  const mapping = ThreadMapping.open(req);
  if (mapping === null) throw emptyFileError(req.path);
  return mapping;
}

/** @internal */
export async function openMappingAsync(req: OpenRequest): Promise<ThreadMapping> {
  const mapping = await ThreadMapping.openAsync(req);
  if (mapping === null) throw emptyFileError(req.path);
  return mapping;
}

function emptyFileError(path: string) {
  return misuse(
    'ERR_MMAP_EMPTY_FILE',
    `'${path}' is empty: an empty file cannot be mapped. Create it with MmapFile.create(path, size), or extend it first`,
    path,
  );
}

/**
 * @internal Checks a share handle and attaches this thread to its mapping.
 * Only MemoryMappedFile passes `anyAccess`: the other file types write
 * through the file and refuse a private (read-only or copy-on-write) mapping.
 */
export function attachShared(handle: unknown, anyAccess = false): ThreadMapping {
  let h: Partial<Record<'kind' | 'key' | 'path' | 'size' | 'allocator' | 'nonce', unknown>>;
  try {
    h = readOptions(handle, 'handle', ['kind', 'key', 'path', 'size', 'allocator', 'nonce']);
  } catch {
    h = {};
  }
  if (h.kind !== 'ranged-mmap:file' || typeof h.key !== 'number' || typeof h.path !== 'string' || typeof h.size !== 'number') {
    throw misuse('ERR_MMAP_INVALID_ARGUMENT', 'fromShared() takes the object that file.share() returned (posted to this thread as is)');
  }
  let mapping: ThreadMapping;
  let resized = false;
  try {
    mapping = ThreadMapping.attach(h.path, h.key);
  } catch (error) {
    // Gone in every thread: a resize may have replaced it. The handle then
    // names the file through its nonce, which every mapping of it shares.
    if ((error as { code?: unknown }).code !== 'ERR_MMAP_CLOSED' || typeof h.nonce !== 'number') throw error;
    mapping = ThreadMapping.attachNewest(h.path, h.key, h.nonce);
    resized = true;
  }
  // Still alive but resized since the handle was made: go to the newest mapping.
  const successors = new Float64Array(mapping.status.buffer);
  for (let next = successors[SUCCESSOR_F64]!; next !== 0; ) {
    const newer = ThreadMapping.attach(h.path, next);
    mapping.close();
    mapping = newer;
    resized = true;
    next = new Float64Array(mapping.status.buffer)[SUCCESSOR_F64]!;
  }
  const allocator = SHARED_KIND_NAMES[mapping.status[STATUS_ALLOCATOR_KIND_I32]!];
  if ((!resized && mapping.size !== h.size) || h.allocator !== allocator || h.nonce !== mapping.nonce || h.path !== mapping.nativePath) {
    mapping.close();
    throw misuse(
      'ERR_MMAP_INVALID_ARGUMENT',
      `the shared handle for '${h.path}' does not match the mapping its key names (size, allocator, path or nonce differ): ` +
        'the handle was altered; post the object file.share() returned as it is',
    );
  }
  if (!anyAccess && mapping.access !== Access.ReadWrite) {
    mapping.close();
    throw misuse('ERR_MMAP_INVALID_MODE', `'${h.path}' is mapped read-only or copy-on-write; only MemoryMappedFile.fromShared() can use this handle`, h.path);
  }
  return mapping;
}

/**
 * What every mapped file has, whichever API writes it: size, path,
 * flushing, syncing, sharing with other threads and closing. Not exported
 * (see {@link MmapFile} and {@link RawMmapFile}), but kept in the public
 * types because the public classes extend it; only its internal members
 * are stripped from them.
 */
export abstract class MappedFileBase implements Disposable, AsyncDisposable {
  /**
   * @internal This thread's views of the mapping. Replaced only when a
   * MemoryMappedFile follows its mapping to a resized successor.
   */
  protected views: ThreadMapping;

  /** @internal */
  protected constructor(views: ThreadMapping) {
    this.views = views;
  }

  /** File size in bytes (fixed for the life of the mapping). */
  get size(): number {
    return this.views.size;
  }

  /** The path the file was opened with. */
  get path(): string {
    return this.views.path;
  }

  /** True once {@link close} was called in this thread. */
  get isClosed(): boolean {
    return this.views.closed;
  }

  /**
   * Starts write-back of every dirty page to disk and returns without
   * waiting for it. For durability use {@link syncAll}.
   */
  flush(): void {
    this.views.sync(0, this.views.size, SyncMode.Schedule);
  }

  /**
   * {@link flush} on the libuv thread pool. Aborting `options.signal`
   * rejects with an `AbortError` at once; the write-back already started
   * goes on (it only moves bytes that are in the file anyway).
   */
  flushAsync(options?: AbortOptions): Promise<void> {
    const signal = signalOf(options);
    return this.syncAbortable(0, this.views.size, SyncMode.Schedule, signal);
  }

  /**
   * Returns once every byte written so far, the file size and its block
   * allocation are on disk (msync + fsync). Throws `ERR_MMAP_FAULT` if a
   * page of the mapping was lost to a fault, instead of reporting success.
   * Blocks the calling thread; see {@link syncAllAsync}.
   */
  syncAll(): void {
    this.views.sync(0, this.views.size, SyncMode.All);
  }

  /**
   * {@link syncAll} on the libuv thread pool, leaving the event loop free.
   * Aborting `options.signal` rejects with an `AbortError` at once: then
   * nothing is known of durability (the sync goes on in the background;
   * call it again to know).
   */
  syncAllAsync(options?: AbortOptions): Promise<void> {
    const signal = signalOf(options);
    return this.syncAbortable(0, this.views.size, SyncMode.All, signal);
  }

  /** @internal A sync on the pool that an abort stops waiting for (the sync itself runs to its end). */
  protected syncAbortable(offset: number, length: number, mode: SyncMode, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return whenAborted(this.views.syncAsync(offset, length, mode), signal);
  }

  /**
   * @internal {@link copyAsync} that an AbortSignal can stop waiting for.
   * `done` runs when the copy itself ends (either way), which may be after
   * an abort rejected. A write already queued lands whatever the signal
   * says; a read with a signal copies into a buffer of its own and into
   * `bytes` only if it ends before the abort, so an aborted read never
   * writes into the caller's buffer later.
   */
  protected copyAbortable(offset: number, bytes: Uint8Array, intoMapping: boolean, signal: AbortSignal | undefined, done?: () => void): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const length = byteLengthOf(bytes);
    const buffer = !intoMapping && signal !== undefined ? new Uint8Array(length) : bytes;
    let job = this.copyAsync(offset, buffer, intoMapping);
    if (done !== undefined) job = job.finally(done);
    if (signal === undefined) return job;
    return whenAborted(job, signal).then(() => {
      if (buffer === bytes) return;
      if (byteLengthOf(bytes) < length) {
        throw misuse('ERR_MMAP_BUFFER_DETACHED', 'the target was detached or shrunk while the read ran; nothing was copied into it');
      }
      bytes.set(buffer);
    });
  }

  /**
   * A plain object to `postMessage` to a worker thread; there,
   * `fromShared(handle)` gives a file over the same memory. A file that
   * was shared stays mapped in this thread until {@link close}, even if it
   * is dropped: the handle may be attached at any later time. (A file that
   * was never shared and is dropped without `close()` is closed when it is
   * garbage-collected.)
   */
  share(): SharedMappedFile {
    const v = this.views;
    v.check();
    v.keepUntilClosed();
    return {
      kind: 'ranged-mmap:file',
      key: v.key,
      path: v.path,
      size: v.size,
      allocator: SHARED_KIND_NAMES[v.status[STATUS_ALLOCATOR_KIND_I32]!]!,
      nonce: v.nonce,
    };
  }

  /**
   * A {@link MappingCursor} for in-place, allocation-free access to this
   * file's bytes in this thread (see there).
   *
   * @example
   * ```ts
   * const cursor = file.cursor();
   * const at = cursor.seek(4096, 16);
   * console.log(cursor.bytes[at]);
   * ```
   */
  cursor(): MappingCursor {
    this.views.check();
    return new MappingCursor(this.views);
  }

  /**
   * A Node `Readable` of the file's bytes from `start` to `end` (inclusive,
   * as `fs.createReadStream`), for `stream.pipeline`, an HTTP response or
   * a hash. It reads only as fast as its consumer takes (backpressure).
   *
   * Each chunk (`highWaterMark` bytes, 64 KiB by default) is a Buffer over
   * the mapping itself, no copy, except where it straddles one of the
   * internal 1 GiB views (files over 1 GiB), where it is a copy. Such a
   * view becomes empty when the file is closed in this thread: close the
   * file only after the stream has finished (the pipeline resolved), or
   * pass `copy: true` for private chunks. A file closed, faulted
   * (truncated by another process) or shrunk while streaming destroys the
   * stream with that error (`ERR_MMAP_CLOSED`, `ERR_MMAP_FAULT`,
   * `ERR_MMAP_OUT_OF_BOUNDS`) at its next chunk; it never crashes the
   * process. With zero-copy chunks, a fault in the last chunk is seen by
   * the consumer as zeros: `copy: true` checks every chunk after copying it.
   *
   * @example
   * ```ts
   * import { createHash } from 'node:crypto';
   * import { pipeline } from 'node:stream/promises';
   * const hash = createHash('sha256');
   * await pipeline(file.createReadStream({ start: 0, highWaterMark: 1 << 20 }), hash);
   * console.log(hash.digest('hex'));
   * ```
   */
  createReadStream(options?: MappedReadStreamOptions): Readable {
    return createMappedReadStream(
      {
        length: () => this.size,
        chunk: (offset, length) => this.streamChunk(offset, length),
        check: () => this.views.check(),
      },
      options,
    );
  }

  /** @internal One chunk of {@link createReadStream}: checked, zero-copy within one view. */
  protected streamChunk(offset: number, length: number): Uint8Array {
    this.views.check();
    const start = this.checkSpan(offset, length, 'createReadStream');
    return this.views.slice(start, length);
  }

  /**
   * Closes the file in this thread: every view this thread got from it
   * becomes zero-length, and the memory is unmapped once no thread uses it.
   * Other threads are not affected. Closing twice is harmless.
   * Does not sync; call {@link syncAll} first for durability.
   */
  close(): void {
    this.views.close();
  }

  /** `using file = MmapFile.open(...)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using` support; closes the file. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /**
   * @internal Copies between the mapping and `bytes` on the libuv pool, so a
   * page fault that waits on the disk does not block the event loop.
   * The caller has checked the span.
   */
  protected async copyAsync(offset: number, bytes: Uint8Array, intoMapping: boolean): Promise<void> {
    const v = this.views;
    try {
      // The native side copies the caller's bytes before it returns (writes)
      // or into them on this thread at completion (reads), and reports a
      // fault from the mapping itself: this thread may close its handle (and
      // its view of the status page) while the copy runs.
      await native.copyAsync(v.key, offset, bytes, intoMapping);
    } catch (error) {
      throw fromNative(error, v.path);
    }
  }

  /** @internal Range check shared by the raw layer. */
  protected checkSpan(offset: unknown, length: number, what: string): number {
    const start = toOffset(offset, 'offset');
    const size = this.views.size;
    if (start > size || length > size - start) {
      throw misuse(
        'ERR_MMAP_OUT_OF_BOUNDS',
        `${what} of ${length} bytes at offset ${start} would pass the end of '${this.views.path}' (${size} bytes); ` +
          (length > size ? `at most ${size} bytes fit` : `the offset must be at most ${size - length}`),
        this.views.path,
      );
    }
    return start;
  }
}
