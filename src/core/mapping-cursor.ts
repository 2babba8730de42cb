import { toOffset } from './arguments.js';
import { misuse } from '../errors.js';
import { STATUS_FAULTS_I32 } from '../native/status-page.js';
import { VIEW_BYTES, type ThreadMapping } from './thread-mapping.js';

const EMPTY = new Uint8Array(0);

/**
 * In-place access to a mapped file with no allocation per access: a
 * bounds-checked `seek(offset, length)` returns where the bytes are in
 * {@link bytes}, this thread's own view of the mapping. Reading
 * `bytes[at + i]` then reads the file with no copy and no new typed array.
 *
 * `bytes` is **live and writable**: writing into it writes the file,
 * unchecked, as with `readSlice`. It covers one internal window of the
 * file (all of a file up to 1 GiB; files beyond that have one window per
 * GiB, and `seek` moves `bytes` to the window that holds the span). A span
 * that straddles two windows has no contiguous view: `seek` returns -1 for
 * it, and `readAt` copies it instead.
 *
 * `seek` checks the offset, the file's state (closed, faulted) and the
 * bounds; the reads after it are plain memory reads, so a fault that
 * happens during them (a truncation by another process) is reported by the
 * next checked call, not by the read.
 *
 * @example
 * ```ts
 * const cursor = file.cursor();
 * const at = cursor.seek(offset, 4096);   // throws if out of bounds
 * const bytes = cursor.bytes;              // same object until the window changes
 * let sum = 0;
 * for (let i = 0; i < 4096; i++) sum += bytes[at + i];
 * ```
 */
export class MappingCursor {
  readonly #mapping: ThreadMapping;
  /** The current window: this thread's view of the mapping from {@link windowStart}. */
  bytes: Uint8Array = EMPTY;
  /** File offset of `bytes[0]`. */
  windowStart = 0;

  /** @internal Made by `file.cursor()`. */
  constructor(mapping: ThreadMapping) {
    this.#mapping = mapping;
  }

  /**
   * Checks that `[offset, offset + length)` lies in the file and the file is
   * open and unfaulted, moves {@link bytes} to the window that holds it, and
   * returns the index of `offset` in `bytes`; -1 when the span straddles two
   * windows (files over 1 GiB only).
   *
   * @throws ERR_MMAP_OUT_OF_BOUNDS, ERR_MMAP_CLOSED, ERR_MMAP_FAULT,
   *   ERR_OUT_OF_RANGE / ERR_INVALID_ARG_TYPE for a bad offset or length
   */
  seek(offset: number, length: number): number {
    const m = this.#mapping;
    // Fast path: integers inside the current window of an open, healthy
    // mapping. `bytes.length` is 0 once the file is closed (its buffer is
    // detached), so a closed file never passes.
    if (typeof offset === 'number' && typeof length === 'number') {
      const at = offset - this.windowStart;
      if (Number.isInteger(at) && Number.isInteger(length) && at >= 0 && length >= 0 && at + length <= this.bytes.length && m.status[STATUS_FAULTS_I32] === 0) {
        return at;
      }
    }
    return this.#seekSlow(offset, length);
  }

  #seekSlow(offset: unknown, length: unknown): number {
    const m = this.#mapping;
    const start = toOffset(offset, 'offset');
    const n = toOffset(length, 'length');
    m.check();
    if (start > m.size || n > m.size - start) {
      throw misuse('ERR_MMAP_OUT_OF_BOUNDS', `seek of ${n} bytes at offset ${start} would pass the end of '${m.path}' (${m.size} bytes)`, m.path);
    }
    const index = Math.min(Math.floor(start / VIEW_BYTES), Math.max(0, Math.ceil(m.size / VIEW_BYTES) - 1));
    const windowStart = index * VIEW_BYTES;
    if (start - windowStart + n > Math.min(VIEW_BYTES, m.size - windowStart)) return -1;
    this.bytes = m.expose(index);
    this.windowStart = windowStart;
    return start - windowStart;
  }
}
