/**
 * Errors, shaped like Node's own.
 *
 * - {@link MmapError}: misuse of the library (`ERR_MMAP_*`, with a message
 *   that says what was wrong and what would be right) and refused system
 *   calls (`code` is the errno name, with `errno`, `syscall` and `path`, as
 *   Node's fs errors have them). Fields appear only where they apply.
 * - Arguments of the wrong type or out of range get Node's own classes and
 *   codes, exactly as `node:fs` reports them: a `TypeError` with
 *   `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE` or
 *   `ERR_INVALID_URL_SCHEME`, or a `RangeError` with `ERR_OUT_OF_RANGE`.
 *
 * Every error is built without running user code, and its stack starts at
 * the caller's frame, not inside the library.
 */
import { getSystemErrorMap } from 'node:util';
import { pathToFileURL } from 'node:url';

/** Codes of misuse errors ({@link MmapError} with no `errno`). */
export type MmapErrorCode =
  | 'ERR_MMAP_OUT_OF_BOUNDS'
  | 'ERR_MMAP_MISALIGNED'
  | 'ERR_MMAP_LENGTH_MISMATCH'
  | 'ERR_MMAP_BUFFER_TOO_SMALL'
  | 'ERR_MMAP_BUFFER_DETACHED'
  | 'ERR_MMAP_EMPTY_FILE'
  | 'ERR_MMAP_CLOSED'
  | 'ERR_MMAP_FOREIGN_RANGE'
  | 'ERR_MMAP_INVALID_RANGE'
  | 'ERR_MMAP_RANGE_CONSUMED'
  | 'ERR_MMAP_RANGE_CLAIMED'
  | 'ERR_MMAP_RANGE_BUSY'
  | 'ERR_MMAP_INVALID_RECEIPT'
  | 'ERR_MMAP_INVALID_ARGUMENT'
  | 'ERR_MMAP_INVALID_STATE'
  | 'ERR_MMAP_INVALID_MODE'
  | 'ERR_MMAP_FAULT'
  | 'ERR_MMAP_RING_FULL'
  | 'ERR_MMAP_PEER_GONE'
  | 'ERR_MMAP_MAP_LIMIT'
  | 'ERR_MMAP_UNSUPPORTED_PLATFORM'
  | 'ERR_MMAP_NATIVE_LOAD_FAILED';

/** Errno names a refused system call can report (`code` of a system {@link MmapError}). */
export type SystemErrorCode =
  | 'EACCES'
  | 'EAGAIN'
  | 'EBADF'
  | 'EBUSY'
  | 'ECANCELED'
  | 'EDQUOT'
  | 'EEXIST'
  | 'EFAULT'
  | 'EFBIG'
  | 'EINTR'
  | 'EINVAL'
  | 'EIO'
  | 'EISDIR'
  | 'ELOOP'
  | 'EMFILE'
  | 'ENAMETOOLONG'
  | 'ENFILE'
  | 'ENODEV'
  | 'ENOENT'
  | 'ENOMEM'
  | 'ENOSPC'
  | 'ENOSYS'
  | 'ENOTDIR'
  | 'ENXIO'
  | 'EOPNOTSUPP'
  | 'EOVERFLOW'
  | 'EPERM'
  | 'EROFS'
  | 'ETXTBSY'
  | 'EXDEV'
  | 'UNKNOWN';

/** Codes of Node's own argument errors, as the library throws them. */
export type ArgumentErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE' | 'ERR_INVALID_URL_SCHEME';

/** An argument error: Node's own `TypeError` or `RangeError` with its code. */
export type ArgumentError = (TypeError | RangeError) & { readonly code: ArgumentErrorCode };

/** What a refused system call adds to an {@link MmapError}. */
export interface SystemErrorDetails {
  errno: number;
  syscall: string;
  path?: string;
}

/** The compiled library's own folder: frames in it are cut from stacks. */
const LIBRARY_DIR = __dirname;
const LIBRARY_URL = pathToFileURL(LIBRARY_DIR).href;

/** Cuts the library's own frames from the top of `error.stack`. */
function startStackAtCaller(error: Error): void {
  const stack = error.stack;
  if (typeof stack !== 'string') return;
  const lines = stack.split('\n');
  let first = lines.findIndex((line) => line.startsWith('    at '));
  if (first < 0) return;
  let cut = first;
  while (cut < lines.length && (lines[cut].includes(LIBRARY_URL + '/') || lines[cut].includes(LIBRARY_DIR + '/'))) cut++;
  if (cut === first || cut === lines.length) return;
  lines.splice(first, cut - first);
  first = 0;
  Object.defineProperty(error, 'stack', { value: lines.join('\n'), writable: true, configurable: true, enumerable: false });
}

/**
 * The library's error class, shaped like Node's fs errors.
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
 *   if (e instanceof MmapError && e.code === 'ENOENT') console.log(e.syscall, e.path);
 * }
 * ```
 */
export class MmapError extends Error {
  /** `ERR_MMAP_*` for misuse, or the errno name for a refused system call. */
  declare readonly code: MmapErrorCode | SystemErrorCode;
  /** Negative errno, as Node reports it; only on system errors. */
  declare readonly errno?: number;
  /** The system call that failed; only on system errors. */
  declare readonly syscall?: string;
  /** The file the call was about, where one applies. */
  declare readonly path?: string;

  constructor(code: MmapErrorCode | SystemErrorCode, message: string, details?: Partial<SystemErrorDetails>, options?: { cause?: unknown }) {
    super(message, options);
    define(this, 'code', code);
    if (details?.errno !== undefined) define(this, 'errno', details.errno);
    if (details?.syscall !== undefined) define(this, 'syscall', details.syscall);
    if (details?.path !== undefined) define(this, 'path', details.path);
    startStackAtCaller(this);
  }
}
Object.defineProperty(MmapError.prototype, 'name', { value: 'MmapError', writable: true, configurable: true, enumerable: false });

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: false, configurable: true });
}

/** Makes a misuse error. */
export function misuse(code: MmapErrorCode, message: string, path?: string): MmapError {
  return new MmapError(code, message, path === undefined ? undefined : { path });
}

/**
 * Describes a value for a message without running any user code: no
 * `toString`, no getters, no Proxy traps.
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${String(value)}n`;
    case 'string':
      return `type string (${JSON.stringify(value.length > 28 ? `${value.slice(0, 25)}...` : value)})`;
    case 'symbol':
      return `type symbol (${String(value)})`;
    case 'boolean':
      return `type boolean (${String(value)})`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'type function';
    default: {
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'an array';
      const tag = typedArrayTag(value);
      if (tag !== undefined) return `an instance of ${tag}`;
      if (ArrayBuffer.isView(value)) return 'an instance of DataView';
      return 'an object';
    }
  }
}

const typedArrayTagGetter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!.get!;
/** The [[TypedArrayName]] of a genuine typed array, else undefined; runs no user code. */
export const typedArrayTag = Function.prototype.call.bind(typedArrayTagGetter) as (value: unknown) => string | undefined;

function nodeError<E extends TypeError | RangeError>(error: E, code: ArgumentErrorCode): E & { code: ArgumentErrorCode } {
  define(error, 'code', code);
  startStackAtCaller(error);
  return error as E & { code: ArgumentErrorCode };
}

/** Node's `ERR_INVALID_ARG_TYPE`: `The "name" argument must be <expected>. Received ...`. */
export function argTypeError(name: string, expected: string, value: unknown): ArgumentError {
  return nodeError(new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(value)}`), 'ERR_INVALID_ARG_TYPE');
}

/** Node's `ERR_OUT_OF_RANGE`: `The value of "name" is out of range. It must be <range>. Received ...`. */
export function outOfRange(name: string, range: string, value: unknown): ArgumentError {
  return nodeError(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${describe(value)}`), 'ERR_OUT_OF_RANGE');
}

/** Node's `ERR_INVALID_ARG_VALUE`: `The argument 'name' <reason>. Received ...`. */
export function argValueError(name: string, reason: string, value: unknown, cause?: unknown): ArgumentError {
  const error = new TypeError(`The argument '${name}' ${reason}. Received ${describe(value)}`, cause === undefined ? undefined : { cause });
  return nodeError(error, 'ERR_INVALID_ARG_VALUE');
}

/** Node's `ERR_INVALID_URL_SCHEME`. */
export function urlSchemeError(): ArgumentError {
  return nodeError(new TypeError('The URL must be of scheme file'), 'ERR_INVALID_URL_SCHEME');
}

/** The fields of a fault the native core reports (see native/addon.c, fault_error). */
interface NativeFault {
  faults: number;
  offset: number;
  /** The file's length now, or -1 when it could not be read. */
  fileSize: number;
  mappedSize: number;
}

/**
 * `ERR_MMAP_FAULT`: a page of the mapping was lost. The message says which
 * of the two causes the file shows: it is now shorter than the mapping (it
 * was truncated, by another process or by other code in this one), or it is
 * not (the file system could not supply a page: a full disk under a sparse
 * file, or an I/O error).
 */
export function faultError(path: string, fault: NativeFault): MmapError {
  const { faults, offset, fileSize, mappedSize } = fault;
  const pages = `${faults} page fault${faults === 1 ? '' : 's'} caught, the first at offset ${offset}`;
  const cause =
    fileSize >= 0 && fileSize < mappedSize
      ? `the file was truncated to ${fileSize} bytes while ${mappedSize} were mapped (by another process, or by other code in this process)`
      : 'the file system could not supply a page (the disk is full under a sparse file, or an I/O error)';
  return new MmapError(
    'ERR_MMAP_FAULT',
    `'${path}' lost pages of its mapping (${pages}): ${cause}. ` +
      'Writes to the affected pages are lost: the mapping no longer reaches the file there. ' +
      'Close this file and open it again once the cause is fixed.',
    { path },
  );
}

/**
 * `ERR_MMAP_MAP_LIMIT`: a new mapping would take the library past its share
 * of the process's memory-map areas (vm.max_map_count less room kept for
 * Node itself). Nothing was mapped.
 */
export function mapLimitError(areas: number, cap: number, path?: string): MmapError {
  return new MmapError(
    'ERR_MMAP_MAP_LIMIT',
    `${path === undefined ? 'a new mapping' : `mapping '${path}'`} was refused: this process holds ${areas} memory-map areas ` +
      `of ranged-mmap (files, maps and rings) and the library stops at ${cap}, to leave the rest of vm.max_map_count to Node. ` +
      'Close the files, maps and rings that are no longer used (objects dropped without close() come back only when garbage-collected), ' +
      'or raise vm.max_map_count (sysctl) if the process really needs this many.',
    path === undefined ? undefined : { path },
  );
}

const systemErrors = getSystemErrorMap();

/**
 * Turns an error thrown by the native core into the library's shape:
 * system errors get their errno name and Node's description, faults their
 * full message, and the native core's own argument checks keep their code.
 */
export function fromNative(error: unknown, path?: string): Error {
  if (error instanceof MmapError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  if (typeof e.errno === 'number' && typeof e.syscall === 'string') {
    const [name, description] = systemErrors.get(e.errno) ?? ['UNKNOWN', 'unknown error'];
    const where = typeof e.path === 'string' ? e.path : path;
    const message = `${name}: ${description}, ${e.syscall}${where === undefined ? '' : ` '${where}'`}`;
    return new MmapError(name as SystemErrorCode, message, { errno: e.errno, syscall: e.syscall, path: where });
  }
  if (e.code === 'ERR_MMAP_FAULT' && typeof e.faults === 'number') return faultError(path ?? '(unknown file)', e as unknown as NativeFault);
  if (e.code === 'ERR_MMAP_MAP_LIMIT' && typeof e.mapAreas === 'number' && typeof e.mapAreaCap === 'number')
    return mapLimitError(e.mapAreas, e.mapAreaCap, path);
  const message = typeof e.message === 'string' ? e.message : 'the native core failed';
  if (e.code === 'ERR_MMAP_BUFFER_DETACHED' || e.code === 'ERR_MMAP_CLOSED' || e.code === 'ERR_MMAP_OUT_OF_BOUNDS' || e.code === 'ERR_MMAP_INVALID_MODE') {
    return new MmapError(e.code, path === undefined ? message : `'${path}': ${message}`, path === undefined ? undefined : { path });
  }
  if (error instanceof Error) return error;
  return new MmapError('ERR_MMAP_INVALID_STATE', message);
}

/**
 * The error an aborted call rejects with, in Node's own shape (as
 * `fs.readFile` or `timers/promises` give): `name` `'AbortError'`, `code`
 * `'ABORT_ERR'`, and the signal's reason as `cause`.
 */
export function abortError(signal: AbortSignal): Error & { readonly code: 'ABORT_ERR' } {
  const error = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: 'ABORT_ERR' };
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
}
