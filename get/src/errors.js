// Errors of ranged-mmap-get. Every failure the caller can see is a GetError
// with a stable `code` and the command's exit code for it; an abort is an
// AbortError, as for every other abortable Node API.

/** Exit codes of the command, by kind of failure. */
export const EXIT = Object.freeze({ ok: 0, usage: 1, network: 2, checksum: 3, file: 4 });

/** @type {Record<string, number>} */
const EXIT_OF = {
  ERR_GET_USAGE: EXIT.usage,
  ERR_GET_EXISTS: EXIT.usage,
  ERR_GET_STATE: EXIT.usage,
  ERR_GET_NETWORK: EXIT.network,
  ERR_GET_HTTP: EXIT.network,
  ERR_GET_PROTOCOL: EXIT.network,
  ERR_GET_CHANGED: EXIT.network,
  ERR_GET_REDIRECT: EXIT.network,
  ERR_GET_MIRROR: EXIT.network,
  ERR_GET_CHECKSUM: EXIT.checksum,
  ERR_GET_FILE: EXIT.file,
};

/**
 * A download failure: `code` says what kind, `exitCode` is the command's
 * exit code for it, `url` / `path` say where when known.
 *
 * @example
 * ```js
 * try { await download(url); } catch (e) { if (e instanceof GetError) console.error(e.code, e.message); }
 * ```
 */
export class GetError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{ url?: string, path?: string, status?: number, cause?: unknown }} [details]
   */
  constructor(code, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'GetError';
    this.code = code;
    this.exitCode = EXIT_OF[code] ?? EXIT.network;
    if (details.url !== undefined) this.url = details.url;
    if (details.path !== undefined) this.path = details.path;
    if (details.status !== undefined) this.status = details.status;
  }
}

/**
 * The rejection of an aborted download (`signal` fired). The `.part` file
 * and its state stay: the same call again resumes.
 */
export class AbortError extends Error {
  /** @param {unknown} [reason] */
  constructor(reason) {
    super('the download was aborted; run it again to resume', reason === undefined ? undefined : { cause: reason });
    this.name = 'AbortError';
    this.code = 'ABORT_ERR';
  }
}

/**
 * A fault worth retrying (reset, timeout, short body, 5xx, 429). Internal:
 * after the retries run out it becomes a GetError.
 */
export class Fault extends Error {
  /**
   * @param {string} kind  'reset' | 'timeout' | 'short-body' | 'status'
   * @param {string} message
   * @param {{ retryAfterMs?: number, status?: number }} [extra]
   */
  constructor(kind, message, extra = {}) {
    super(message);
    this.name = 'Fault';
    this.kind = kind;
    this.retryAfterMs = extra.retryAfterMs;
    this.status = extra.status;
  }
}

/**
 * Turns a file-system failure (a Node error, or an MmapError with an errno
 * or the code ERR_MMAP_FAULT) into a GetError of one line with a hint.
 * @param {unknown} e
 * @param {string} what  e.g. 'create the file'
 * @param {string} path
 * @returns {GetError}
 */
export function fileError(e, what, path) {
  if (e instanceof GetError) return e;
  const err = /** @type {{ code?: string, message?: string }} */ (e ?? {});
  const code = typeof err.code === 'string' ? err.code : '';
  const message = String(err.message ?? e).replace(/\s*\n\s*/g, ' ');
  let reason = message;
  let hint = 'check the path and its permissions';
  if (code === 'ENOSPC') {
    reason = 'no space left on the device';
    hint = 'free some space or choose another place with -o';
  } else if (code === 'EACCES' || code === 'EPERM') hint = 'choose a place you may write with -o';
  else if (code === 'ENOENT') hint = 'create its directory first';
  else if (code === 'EROFS') hint = 'the file system is read-only: choose another place with -o';
  else if (code === 'ERR_MMAP_FAULT') {
    // The mapping lost pages (the library caught the SIGBUS); its message
    // names the cause, too long for the command's one line.
    const cut = /truncated to (\d+) bytes/.exec(message);
    if (cut !== null) {
      reason = `the file was cut to ${cut[1]} bytes by another program while it was being written`;
      hint = 'let nothing else change it, then run again with --no-resume';
    } else {
      reason = 'the file system could not supply a page of it (an I/O error, or a full disk under a sparse file)';
      hint = 'check the disk (free space, the kernel log), then run again with --no-resume';
    }
  }
  return new GetError('ERR_GET_FILE', `cannot ${what} ${path}: ${reason}; ${hint}`, { path, cause: e });
}
