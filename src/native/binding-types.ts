/**
 * The types of the native core's surface (what `src/native/binding.ts`
 * loads): kept apart from the loader so that `shape.ts`, which checks a
 * loaded binary against them, imports no module that imports it.
 */
import type { SharedRingBinding, VmapMapBinding, VmapNativeBinding } from './vmap-binding.js';

/**
 * [key, size, token, statusPage, path, nonce, access, reserved]; views over
 * the file come from `view()`. `path` (null for mappings not opened by path)
 * and `nonce` bind share() handles to their mapping. `reserved` is 1 when
 * every block of the file is known to be allocated (no write through the
 * mapping can meet a full disk), else 0.
 */
export type NativeAttachment = [number, number, number, ArrayBuffer, string | null, number, Access, number];

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
  allocNextPagesI32: number;
  bytes: number;
}

/**
 * Every export of the native module (native/addon.c lists them in one table);
 * the vmap family's calls are described in vmap-binding.ts. shape.ts checks a
 * loaded module against it, name by name.
 */
export interface NativeBinding extends VmapNativeBinding, VmapMapBinding, SharedRingBinding {
  /** Opens (or creates) and maps a file; null when the file is empty. */
  open(req: NativeOpenRequest): NativeAttachment | null;
  /** Same as open, on the libuv thread pool. */
  openAsync(req: NativeOpenRequest): Promise<NativeAttachment | null>;
  /** Gives this thread its own buffers over a live mapping. */
  attach(key: number): NativeAttachment;
  /** As attach, for the newest mapping of the resized file whose mapping `key` (gone now) carried `nonce`. */
  attachNewest(nonce: number, key: number): NativeAttachment;
  /** This thread's ArrayBuffer over view `index` (VIEW_BYTES each) of an attachment, made on first use. */
  view(token: number, index: number): ArrayBuffer;
  /** Detaches this thread's buffers of one attachment and drops its reference. */
  detach(token: number): void;
  /** Drops the reference of an attachment whose file object was collected (or that a resize retired); buffers still held stay mapped until collected. */
  release(token: number): void;
  /** Detaches one view buffer of a released attachment (zero-length from then on) and drops its pin on the mapping. */
  detachView(buffer: ArrayBuffer): void;
  /** [memory-map areas this library holds (every kind), the cap past which it refuses new mappings]. */
  areaCount(): [number, number];
  /** Sets that cap (at load, from vm.max_map_count; tests lower it). */
  setAreaCap(cap: number): void;
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
  /**
   * Copies `count` items of `length` bytes between the window
   * [base, base + limit) of the mapping (item i at `offsets[i]` in it) and
   * `bytes` (item i at `i * length`), checking each item. Returns `count`
   * when all were copied, `i` when item i lies outside the file, `-(i + 1)`
   * when a page fault was caught while item i was copied; nothing is copied
   * after a failed item (native/batch_ops.c).
   */
  copyMany(key: number, base: number, limit: number, offsets: Float64Array, count: number, length: number, bytes: Uint8Array, intoMapping: boolean): number;
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
  /** {@link resize} on the libuv pool (ftruncate and fallocate can wait on the disk). */
  resizeAsync(key: number, size: number): Promise<[number, number]>;
  /** Faults in the pages of [offset, offset + length) on the libuv pool (MADV_POPULATE_READ, or a read of every page). */
  touchAsync(key: number, offset: number, length: number): Promise<void>;
  /** mlock of the pages of [offset, offset + length) on the libuv pool (errors as memLock's). */
  memLockAsync(key: number, offset: number, length: number): Promise<void>;
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
