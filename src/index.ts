/**
 * ranged-mmap: memory-mapped files for Node.js, written by many worker
 * threads at once through non-overlapping ranges, with no lock and no
 * system call per write, and no way to crash the process from JavaScript.
 *
 * @example
 * ```ts
 * import { MmapFile, ALIGNMENT } from 'ranged-mmap';
 * const { file, allocator } = MmapFile.create('out.bin', 256 * ALIGNMENT);
 * const range = allocator.allocate(128 * ALIGNMENT)!;
 * file.flushRange(file.writeRange(range, new Uint8Array(range.length)));
 * file.syncAll();
 * file.close();
 * ```
 * @packageDocumentation
 */
export { ALIGNMENT, alignDown, alignUp } from './ranges/alignment.js';
export { MAX_OFFSET } from './core/limits.js';
export { AllocatedRange, type RangeTransfer, type SplitDownResult, type SplitUpResult } from './ranges/allocated-range.js';
export type { AllocatorState } from './ranges/allocator-state.js';
export { ConcurrentAllocator } from './ranges/concurrent-allocator.js';
export { MmapError, type ArgumentError, type ArgumentErrorCode, type MmapErrorCode, type SystemErrorCode, type SystemErrorDetails } from './errors.js';
export type { CreateFileOptions, SharedAllocatorKind, SharedMappedFile } from './core/mapped-file-base.js';
export type { PathLike } from './core/path-like.js';
export type { Descriptor } from './core/descriptor.js';
export type { MappedReadStreamOptions } from './core/mapped-read-stream.js';
export {
  MmapFile,
  type AllocatorChoice,
  type AllocatorFor,
  type KindOfAllocator,
  type SharedAllocatorOf,
  type OptionsAllocatorKind,
  type OptionField,
  type AllocatorOptionKind,
  type SavedStateKind,
  type CreateOptions,
  type OpenAsyncOptions,
  type OpenOptions,
  type OpenedFile,
} from './ranges/mmap-file.js';
export { RawMmapFile } from './ranges/raw-mmap-file.js';
export type { BatchItemError, BatchOffsets } from './core/batch-copy.js';
export { SequentialAllocator } from './ranges/sequential-allocator.js';
export { WriteReceipt } from './ranges/write-receipt.js';
export { inspectNative, type NativeInspection } from './core/inspect.js';
export { MappingCursor } from './core/mapping-cursor.js';

// ---- vmap: maps and rings ----
export { Ring, InfiniteRing, type RingBase } from './vmap/ring.js';
export { pageSize, allocationSize } from './vmap/system.js';
export { MemoryMap, MemoryMapMut, MapOptions, Flush, type FlushMode } from './vmap/map.js';
export { BufReader, BufWriter, type BufReaderOptions } from './vmap/buf.js';
export { SharedRing, type SharedRingCreateOptions, type SharedRingHandle } from './vmap/shared-ring.js';
export type { SharedRingConsumer, SharedRingProducer } from './vmap/shared-ring-ends.js';
export type { AbortOptions } from './core/abort.js';

// ---- mmap-io: MemoryMappedFile (modes, atomic views, flush policies, advice, segments, iteration) ----
export {
  MemoryMappedFile,
  MemoryMappedFileBuilder,
  type HugePageReport,
  type MemoryMappedFileCreateOptions,
  type MemoryMappedFileOpenAsyncOptions,
  type MemoryMappedFileOptions,
  type TouchHint,
} from './mmapio/memory-mapped-file.js';
export { MappedSegment, MappedWindow, PAGE_BYTES, type WaitResult } from './mmapio/window.js';
export type { MappingMode } from './mmapio/mapping-mode.js';
export { AtomicU32, AtomicU64 } from './mmapio/atomic-view.js';
export { ADVICE_NAMES, type Advice } from './mmapio/advice.js';
export type { FlushPolicy, FlushStats } from './mmapio/flush-policy.js';
export { SharedAllocator, type SharedAllocatorOptions, type SharedRange } from './mmapio/shared-allocator.js';
export { WATCH_HASH_LIMIT, type WatchEvent, type WatchHandle, type WatchOptions } from './mmapio/watch.js';
