import { toOffset } from '../core/arguments.js';
import { misuse } from '../errors.js';

/**
 * A saved allocator position, plain JSON, so work can resume in a later
 * run: `JSON.stringify(allocator.saveState())`, then
 * `MmapFile.open(path, { allocatorState })`.
 */
export interface AllocatorState {
  readonly kind: 'sequential' | 'concurrent';
  /** Where the next allocation starts. */
  readonly nextPos: number;
  /** Size of the file the allocator covers. */
  readonly totalSize: number;
}

/** Checks a state read back from JSON against the file it is applied to. */
export function validateAllocatorState(value: unknown, fileSize: number, path: string): AllocatorState {
  if (typeof value !== 'object' || value === null) {
    throw misuse('ERR_MMAP_INVALID_STATE', `allocatorState must be an object from allocator.saveState(); got ${value === null ? 'null' : typeof value}`);
  }
  const v = value as Record<string, unknown>;
  if (v.kind !== 'sequential' && v.kind !== 'concurrent') {
    throw misuse('ERR_MMAP_INVALID_STATE', `allocatorState.kind must be 'sequential' or 'concurrent'; got ${String(v.kind)}`);
  }
  const nextPos = toOffset(v.nextPos, 'allocatorState.nextPos');
  const totalSize = toOffset(v.totalSize, 'allocatorState.totalSize');
  if (totalSize !== fileSize) {
    throw misuse(
      'ERR_MMAP_INVALID_STATE',
      `allocatorState was saved for a file of ${totalSize} bytes, but '${path}' has ${fileSize}; it belongs to another file or the file changed`,
    );
  }
  if (nextPos % 4096 !== 0 && nextPos !== totalSize) {
    throw misuse('ERR_MMAP_INVALID_STATE', `allocatorState.nextPos must be a multiple of 4096 or the file size; got ${nextPos}`);
  }
  if (nextPos > totalSize) {
    throw misuse('ERR_MMAP_INVALID_STATE', `allocatorState.nextPos (${nextPos}) is past the end of the file (${totalSize})`);
  }
  return { kind: v.kind, nextPos, totalSize };
}
