/** Page size and allocation granularity (vmap's `page_size()` and `allocation_size()`). */
import { vnative } from './native.js';

/**
 * The system's memory page size in bytes (4096 on x64 Linux).
 *
 * @example
 * ```ts
 * import { pageSize } from 'ranged-mmap';
 * pageSize(); // 4096
 * ```
 */
export function pageSize(): number {
  return vnative.pageSize;
}

/**
 * The granularity of mapping offsets in bytes: a mapping must start at a
 * multiple of it. On Linux it is the page size. `MemoryMap` accepts any
 * offset and aligns the real mapping down to it for you.
 *
 * @example
 * ```ts
 * import { allocationSize } from 'ranged-mmap';
 * const aligned = Math.floor(12345 / allocationSize()) * allocationSize();
 * ```
 */
export function allocationSize(): number {
  return vnative.pageSize;
}
