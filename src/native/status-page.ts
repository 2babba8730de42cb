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
 * BigInt64 index: next position of the concurrent allocator. Every thread
 * reaches it through its own plain ArrayBuffer over the same page, not a
 * SharedArrayBuffer: this relies on V8 running `Atomics.add`/`load`/`store`
 * on any non-detached ArrayBuffer as real atomic instructions on its memory
 * (`Atomics.wait` is refused on it). See docs/threads.md.
 */
export const STATUS_ALLOC_NEXT_I64 = 2;

/** Values at STATUS_ALLOCATOR_KIND_I32. */
export const enum AllocatorKind {
  None = 0,
  Sequential = 1,
  Concurrent = 2,
}
