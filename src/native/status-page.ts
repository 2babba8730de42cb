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
 * file over 4 GiB. Every thread reaches it (and the Int32 page counter
 * below) through its own plain ArrayBuffer over the same page, not a
 * SharedArrayBuffer: this relies on V8 running `Atomics.add`/`load`/`store`
 * on any non-detached ArrayBuffer as real atomic instructions on its memory
 * (`Atomics.wait` is refused on it). See docs/threads.md.
 */
export const STATUS_ALLOC_NEXT_I64 = 2;
/** Int32 index: next position (4 KiB pages) of the concurrent allocator of a file up to 4 GiB (no BigInt on the hot path). */
export const STATUS_ALLOC_NEXT_PAGES_I32 = 6;

/** Values at STATUS_ALLOCATOR_KIND_I32. */
export const enum AllocatorKind {
  None = 0,
  Sequential = 1,
  Concurrent = 2,
}
