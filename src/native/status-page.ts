/**
 * Layout of the per-mapping status page, shared by every thread and by the
 * SIGBUS handler (native/mapping_table.h must agree).
 */
/** Int32 index: count of guarded faults (0 while the mapping is healthy). */
export const STATUS_FAULTS_I32 = 0;
/** Int32 index: which allocator the mapping was created with. */
export const STATUS_ALLOCATOR_KIND_I32 = 1;
/** Float64 index: offset of the first faulting page. */
export const STATUS_FAULT_OFFSET_F64 = 1;
/**
 * BigInt64 index: next position (bytes) of the concurrent allocator of a
 * file over 4 TiB. Every thread reaches it (and the Int32 page counter
 * below) through its own plain ArrayBuffer over the same page, not a
 * SharedArrayBuffer: this relies on V8 running `Atomics.add`/`load`/`store`
 * on any non-detached ArrayBuffer as real atomic instructions on its memory
 * (`Atomics.wait` is refused on it). See docs/threads.md.
 */
export const STATUS_ALLOC_NEXT_I64 = 32;
/**
 * Int32 index: next position (4 KiB pages) of the concurrent allocator of a
 * file up to 4 TiB (no BigInt on the hot path). Both counters sit at byte
 * 256, two cache lines (and an adjacent-line prefetch pair) away from the
 * fault counter that every checked copy reads: allocating threads do not
 * slow down writing ones by bouncing that line.
 */
export const STATUS_ALLOC_NEXT_PAGES_I32 = 66;
/**
 * Int32 index of the first of the concurrent allocator's per-thread batch
 * slots (see ranges/allocation-batches.ts), {@link STATUS_BATCH_SLOTS} of
 * them, {@link STATUS_BATCH_STRIDE_I32} Int32s (128 bytes) apart, so each
 * owner's words have a cache line pair to themselves. Bytes 512 to 2047;
 * the native core never touches them.
 */
export const STATUS_BATCH_FIRST_I32 = 128;
/**
 * Int32 indexes (byte 384, a line of their own): how many threads of this
 * process are inside a large write of this mapping by `pwrite`, and by a
 * copy into the mapping. They choose the route of the next large write
 * (see ThreadMapping.writeLarge); the native core never touches them.
 */
export const STATUS_LARGE_PWRITES_I32 = 96;
export const STATUS_LARGE_COPIES_I32 = 97;
export const STATUS_BATCH_STRIDE_I32 = 32;
export const STATUS_BATCH_SLOTS = 12;

/** Values at STATUS_ALLOCATOR_KIND_I32. */
export const enum AllocatorKind {
  None = 0,
  Sequential = 1,
  Concurrent = 2,
}
