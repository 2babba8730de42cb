import { toOffset, toPath } from './arguments.js';
import { misuse } from '../errors.js';
import { ThreadMapping } from './thread-mapping.js';
import { native, SyncMode } from '../native/binding.js';
import { STATUS_FAULTS_I32 } from '../native/status-page.js';
import { fromNative } from '../errors.js';

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
export interface SharedMappedFile {
  readonly kind: 'ranged-mmap:file';
  /** Key of the mapping in the process-wide table. */
  readonly key: number;
  readonly path: string;
  readonly size: number;
}

/** A path as the public API takes it. */
export type PathLike = string | URL;

/** @internal Validated create arguments, in the order the native core takes them. */
export interface CreateRequest {
  path: string;
  size: number;
  exclusive: boolean;
  sparse: boolean;
  mode: number;
}

/** @internal */
export function toCreateRequest(path: unknown, size: unknown, options: CreateFileOptions | undefined): CreateRequest {
  const p = toPath(path);
  const n = toOffset(size, 'size');
  if (n === 0) {
    throw misuse('ERR_MMAP_EMPTY_FILE', `cannot create '${p}' with size 0: an empty file cannot be mapped; give a size of at least 1 byte`);
  }
  const o = options ?? {};
  if (typeof o !== 'object') throw misuse('ERR_MMAP_INVALID_ARGUMENT', `options must be an object; got ${typeof o}`);
  const mode = o.mode ?? 0o666;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw misuse('ERR_MMAP_INVALID_ARGUMENT', `options.mode must be permission bits between 0 and 0o7777; got ${String(mode)}`);
  }
  return { path: p, size: n, exclusive: o.exclusive === true, sparse: o.sparse === true, mode };
}

/** @internal */
export function openViews(req: CreateRequest | string): ThreadMapping {
  const views =
    typeof req === 'string'
      ? ThreadMapping.open(req, false, false, false, 0, 0)
      : ThreadMapping.open(req.path, true, req.exclusive, req.sparse, req.mode, req.size);
  if (views === null) throw emptyFileError(req as string);
  return views;
}

/** @internal */
export async function openViewsAsync(req: CreateRequest | string): Promise<ThreadMapping> {
  const views =
    typeof req === 'string'
      ? await ThreadMapping.openAsync(req, false, false, false, 0, 0)
      : await ThreadMapping.openAsync(req.path, true, req.exclusive, req.sparse, req.mode, req.size);
  if (views === null) throw emptyFileError(req as string);
  return views;
}

function emptyFileError(path: string) {
  return misuse('ERR_MMAP_EMPTY_FILE', `'${path}' is empty: an empty file cannot be mapped. Create it with MmapFile.create(path, size), or extend it first`);
}

/** @internal Checks a share handle and attaches this thread to its mapping. */
export function attachShared(handle: unknown): ThreadMapping {
  const h = handle as Partial<SharedMappedFile> | null;
  if (typeof h !== 'object' || h === null || h.kind !== 'ranged-mmap:file' || typeof h.key !== 'number' || typeof h.path !== 'string') {
    throw misuse('ERR_MMAP_INVALID_ARGUMENT', 'fromShared() takes the object that file.share() returned (posted to this thread as is)');
  }
  const views = ThreadMapping.attach(h.path, h.key);
  if (views.size !== h.size) {
    views.close();
    throw misuse('ERR_MMAP_INVALID_ARGUMENT', `the shared handle says ${String(h.size)} bytes but the mapping has ${views.size}; the handle was altered`);
  }
  return views;
}

/**
 * What every mapped file has, whichever API writes it: size, path,
 * flushing, syncing, sharing with other threads and closing. Not exported
 * (see {@link MmapFile} and {@link RawMmapFile}), but kept in the public
 * types because the public classes extend it; only its internal members
 * are stripped from them.
 */
export abstract class MappedFileBase implements Disposable, AsyncDisposable {
  /** @internal This thread's views of the mapping. */
  protected readonly views: ThreadMapping;

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

  /** {@link flush} on the libuv thread pool. */
  flushAsync(): Promise<void> {
    return this.views.syncAsync(0, this.views.size, SyncMode.Schedule);
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

  /** {@link syncAll} on the libuv thread pool, leaving the event loop free. */
  syncAllAsync(): Promise<void> {
    return this.views.syncAsync(0, this.views.size, SyncMode.All);
  }

  /**
   * A plain object to `postMessage` to a worker thread; there,
   * `fromShared(handle)` gives a file over the same memory.
   */
  share(): SharedMappedFile {
    this.views.check();
    return { kind: 'ranged-mmap:file', key: this.views.key, path: this.views.path, size: this.views.size };
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
      await native.copyAsync(v.key, offset, bytes, intoMapping);
    } catch (error) {
      throw fromNative(error, v.path);
    }
    if (v.status[STATUS_FAULTS_I32] !== 0) throw v.faultError();
  }

  /** @internal Range check shared by the raw layer. */
  protected checkSpan(offset: unknown, length: number, what: string): number {
    const start = toOffset(offset, 'offset');
    const size = this.views.size;
    if (start > size || length > size - start) {
      throw misuse(
        'ERR_MMAP_OUT_OF_BOUNDS',
        `${what} of ${length} bytes at offset ${start} would pass the end of '${this.views.path}' (${size} bytes); ` +
          `the offset must be at most ${Math.max(0, size - length)}`,
      );
    }
    return start;
  }
}
