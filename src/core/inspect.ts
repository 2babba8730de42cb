import { native } from '../native/binding.js';

/** Counts from the native core, for leak checks in tests and tools. */
export interface NativeInspection {
  /** Mappings alive in this process (all threads). */
  liveMappings: number;
  /** Attachments (open files) held by the calling thread. */
  threadAttachments: number;
  /** Memory-map areas the library holds in this process (files, maps, rings; all threads). */
  mapAreas: number;
  /** The count past which new mappings fail with `ERR_MMAP_MAP_LIMIT` (below `vm.max_map_count`, leaving room for Node). */
  mapAreaCap: number;
}

/**
 * How many mappings the process holds, and how many files the calling
 * thread has open; both return to their old values when files are closed
 * and workers exit.
 *
 * @example
 * ```ts
 * import { inspectNative } from 'ranged-mmap';
 * console.log(inspectNative().liveMappings);
 * ```
 */
export function inspectNative(): NativeInspection {
  const [mapAreas, mapAreaCap] = native.areaCount();
  return { liveMappings: native.liveMappings(), threadAttachments: native.threadAttachments(), mapAreas, mapAreaCap };
}
