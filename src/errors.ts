/**
 * The one error class of the library, shaped like Node's fs errors.
 *
 * - Misuse of the API has a code of its own (`ERR_MMAP_*`) and a message
 *   that says what was wrong and what would be right.
 * - A refused system call keeps Node's shape: `code` is the errno name
 *   (`ENOENT`, `ENOSPC`, ...), `errno` is negative, and `syscall` and
 *   `path` say what was refused.
 *
 * A call that throws has changed nothing in the file.
 *
 * @example
 * ```ts
 * import { MmapFile, MmapError } from 'ranged-mmap';
 * try {
 *   MmapFile.open('/no/such/file');
 * } catch (e) {
 *   if (e instanceof MmapError && e.code === 'ENOENT') console.log(e.path);
 * }
 * ```
 */
export class MmapError extends Error {
  /** `ERR_MMAP_*` for misuse, or the errno name for a refused system call. */
  readonly code: MmapErrorCode | string;
  /** Negative errno, as Node reports it, when a system call failed. */
  readonly errno?: number;
  /** The system call that failed. */
  readonly syscall?: string;
  /** The file the failed call was about. */
  readonly path?: string;

  constructor(code: MmapErrorCode | string, message: string, details?: SystemErrorDetails) {
    super(message);
    this.name = 'MmapError';
    this.code = code;
    if (details !== undefined) {
      this.errno = details.errno;
      this.syscall = details.syscall;
      if (details.path !== undefined) this.path = details.path;
    }
  }
}

/** What a refused system call adds to an {@link MmapError}. */
export interface SystemErrorDetails {
  errno: number;
  syscall: string;
  path?: string;
}

/** Codes of misuse errors. System errors use the errno name instead. */
export type MmapErrorCode =
  | 'ERR_MMAP_OUT_OF_BOUNDS'
  | 'ERR_MMAP_MISALIGNED'
  | 'ERR_MMAP_LENGTH_MISMATCH'
  | 'ERR_MMAP_BUFFER_TOO_SMALL'
  | 'ERR_MMAP_EMPTY_FILE'
  | 'ERR_MMAP_CLOSED'
  | 'ERR_MMAP_FOREIGN_RANGE'
  | 'ERR_MMAP_INVALID_RANGE'
  | 'ERR_MMAP_RANGE_CONSUMED'
  | 'ERR_MMAP_RANGE_CLAIMED'
  | 'ERR_MMAP_INVALID_RECEIPT'
  | 'ERR_MMAP_INVALID_ARGUMENT'
  | 'ERR_MMAP_INVALID_STATE'
  | 'ERR_MMAP_FAULT'
  | 'ERR_MMAP_UNSUPPORTED_PLATFORM'
  | 'ERR_MMAP_NATIVE_LOAD_FAILED';

/** Makes a misuse error. */
export function misuse(code: MmapErrorCode, message: string): MmapError {
  return new MmapError(code, message);
}

interface NativeErrorShape {
  code?: unknown;
  message?: unknown;
  errno?: unknown;
  syscall?: unknown;
  path?: unknown;
}

/**
 * Turns an error thrown by the native core into an {@link MmapError}.
 * `path` names the file when the native side did not.
 */
export function fromNative(error: unknown, path?: string): MmapError {
  if (error instanceof MmapError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as NativeErrorShape;
  const code = typeof e.code === 'string' ? e.code : 'EUNKNOWN';
  let message = typeof e.message === 'string' ? e.message : String(error);
  if (typeof e.errno === 'number' && typeof e.syscall === 'string') {
    const where = typeof e.path === 'string' ? e.path : path;
    if (where !== undefined && typeof e.path !== 'string') message += ` '${where}'`;
    return new MmapError(code, message, { errno: e.errno, syscall: e.syscall, path: where });
  }
  return new MmapError(code, message);
}
