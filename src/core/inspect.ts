import { native } from '../native/binding.js';

/** Counts from the native core, for leak checks in tests and tools. */
export interface NativeInspection {
  /** Mappings alive in this process (all threads). */
  liveMappings: number;
  /** Attachments (open files) held by the calling thread. */
  threadAttachments: number;
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
  return { liveMappings: native.liveMappings(), threadAttachments: native.threadAttachments() };
}
