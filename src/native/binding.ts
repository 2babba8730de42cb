/**
 * Loads the native core and describes its surface. Nothing else in the
 * library talks to the addon directly.
 *
 * The addon prefers a prebuilt binary under `prebuilds/linux-x64/` (so
 * installing the package needs no compiler) and falls back to a local
 * `build/Release` made by node-gyp.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import load from 'node-gyp-build';
import { createRequire } from 'node:module';
import { MmapError } from '../errors.js';

/** [key, size, token, statusPage, access]; views over the file come from `view()`. */
export type NativeAttachment = [number, number, number, ArrayBuffer, Access];

/** Values of the native `rm_access` (native/file_ops.h): how a file is mapped. */
export const enum Access {
  /** MAP_SHARED over an O_RDWR descriptor: stores reach the file. */
  ReadWrite = 0,
  /** MAP_PRIVATE over an O_RDONLY descriptor; the API refuses writes. */
  ReadOnly = 1,
  /** MAP_PRIVATE over an O_RDONLY descriptor; writes stay in this process. */
  CopyOnWrite = 2,
}

/** Values of the native `rm_sync_mode`. */
export const enum SyncMode {
  Schedule = 0,
  Range = 1,
  All = 2,
}

/** The options object `open`/`openAsync` take (native/file_ops.h, rm_open_request). */
export interface NativeOpenRequest {
  path: string;
  create: boolean;
  exclusive: boolean;
  sparse: boolean;
  mode: number;
  size: number;
  /** How the file is mapped; a create is always ReadWrite. Absent means ReadWrite. */
  access?: Access;
}

/** Where the status page keeps what (native/mapping_table.h), exported so a test can compare. */
export interface NativeStatusLayout {
  faultsI32: number;
  allocatorKindI32: number;
  faultOffsetF64: number;
  allocNextI64: number;
  bytes: number;
}

export interface NativeBinding {
  /** Opens (or creates) and maps a file; null when the file is empty. */
  open(req: NativeOpenRequest): NativeAttachment | null;
  /** Same as open, on the libuv thread pool. */
  openAsync(req: NativeOpenRequest): Promise<NativeAttachment | null>;
  /** Gives this thread its own buffers over a live mapping. */
  attach(key: number): NativeAttachment;
  /** This thread's ArrayBuffer over view `index` (VIEW_BYTES each) of an attachment, made on first use. */
  view(token: number, index: number): ArrayBuffer;
  /** Detaches this thread's buffers of one attachment and drops its reference. */
  detach(token: number): void;
  sync(key: number, offset: number, length: number, mode: SyncMode): void;
  syncAsync(key: number, offset: number, length: number, mode: SyncMode): Promise<void>;
  advise(key: number, offset: number, length: number, advice: number): void;
  /** MADV_POPULATE_WRITE; returns 0 or a positive errno. */
  populate(key: number, offset: number, length: number): number;
  pwrite(key: number, offset: number, data: Uint8Array): void;
  /** Pages of the span that are in the page cache (mincore). */
  residentPages(key: number, offset: number, length: number): number;
  /**
   * Copies between the mapping at `offset` and `bytes`; the mapping side runs
   * on the libuv pool through a bounce buffer, so `bytes` is only touched on
   * this thread (at the call for writes, at completion for reads).
   */
  copyAsync(key: number, offset: number, bytes: Uint8Array, intoMapping: boolean): Promise<void>;
  /** Sets `length` bytes at `offset` to `value` on the libuv pool. */
  fillAsync(key: number, offset: number, length: number, value: number): Promise<void>;
  /** The ERR_MMAP_FAULT error for a mapping (count, first offset, file size now), or null. */
  faultInfo(key: number): object | null;
  /** Puts the SIGBUS guard back in front if something replaced it; 1 if it had been replaced. */
  guardEnsure(): number;
  readonly statusLayout: NativeStatusLayout;
  /** mlock (lock = true) or munlock the pages of a span (native/mmapio_ops.c). */
  memLock(key: number, offset: number, length: number, lock: boolean): void;
  /** MADV_HUGEPAGE (or NOHUGEPAGE) on the whole mapping: [madvise errno or 0, THPeligible 1/0/-1]. */
  hugePages(key: number, enable: boolean): [number, number];
  /** A new mapping of `size` bytes replaces this one: [0, newKey]; or [1, successorKey] when another thread resized it first. */
  resize(key: number, size: number): [number, number];
  /** futex wait on the aligned u32 at offset: 0 ok, 1 not-equal, 2 timed-out. Blocks the thread. */
  futexWait(key: number, offset: number, expected: number, timeoutMs: number): number;
  /** futex wake: the number of waiters woken (in every process). */
  futexNotify(key: number, offset: number, count: number): number;
  /** futexWait on a thread of its own: [id, promise of 0 ok, 1 not-equal, 2 timed-out, 3 cancelled]. */
  futexWaitAsync(key: number, offset: number, expected: number, timeoutMs: number): [number, Promise<number>];
  /** Cancels a futexWaitAsync of this thread (its promise settles with 3). */
  futexWaitCancel(id: number): void;
  /** Byte offset in a status page of the successor's key (float64; 0 = none). */
  readonly statusSuccessorByte: number;
  ticketIssue(key: number, start: number, end: number): number;
  ticketClaim(key: number, ticket: number, start: number, end: number): boolean;
  liveMappings(): number;
  threadAttachments(): number;
  /** Bytes covered by one ArrayBuffer view; files are cut into views this big. */
  readonly viewBytes: number;
}

function loadBinding(): NativeBinding {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new MmapError(
      'ERR_MMAP_UNSUPPORTED_PLATFORM',
      `ranged-mmap supports Linux on x64; this is ${process.platform} on ${process.arch}. ` +
        'Use node:fs file handles on this platform.',
    );
  }
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  // For contributors' checks only (scripts/check-native.sh loads an
  // AddressSanitizer build this way); never set in normal use.
  const override = process.env.RANGED_MMAP_ADDON;
  try {
    if (override) return createRequire(import.meta.url)(override) as NativeBinding;
    return load(root) as NativeBinding;
  } catch (error) {
    throw new MmapError(
      'ERR_MMAP_UNSUPPORTED_PLATFORM',
      `ranged-mmap could not load its native core from ${root}: ${(error as Error).message}. ` +
        'Reinstall the package, or build it from source with `npm run build:native`.',
    );
  }
}

/** The loaded native core (one per thread; the mapping table behind it is per process). */
export const native: NativeBinding = loadBinding();

// A SIGBUS listener in JavaScript makes libuv install its own handler, and
// removing the last one makes libuv restore the default: either way the
// native fault guard is gone. Node's own listeners for these events were
// registered at start-up, before this one, so when this runs libuv has
// already changed the handler, and the guard goes back in front of it.
const onSignalListenerChange = (event: string | symbol): void => {
  if (event === 'SIGBUS') native.guardEnsure();
};
process.on('newListener', onSignalListenerChange);
process.on('removeListener', onSignalListenerChange);
