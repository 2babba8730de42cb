/**
 * ranged-mmap-get: a resumable parallel HTTP(S) downloader built on
 * ranged-mmap. Every connection writes its own range of one memory-mapped
 * file; a mapped sidecar remembers the finished chunks, so a killed or
 * aborted download resumes where it stopped.
 *
 * @example
 * ```js
 * import { download } from 'ranged-mmap-get';
 * const r = await download('https://example.org/big.iso', { connections: 8 });
 * console.log(r.path, r.bytes, r.seconds);
 * ```
 * @packageDocumentation
 */

/** A progress report, at most 10 a second. */
export interface DownloadProgress {
  /** Bytes of the file present: resumed plus received in this run. */
  bytes: number;
  /** The file's length, or null when the server did not say (chunked). */
  total: number | null;
  /** Connections with a range in hand. */
  connections: number;
  /** Received bytes per second over the last two seconds. */
  bytesPerSecond: number;
  /** Seconds since the call. */
  seconds: number;
}

/**
 * Events of a download, in order: retries of the first probe (if any),
 * start, retries (any number), done.
 */
export type DownloadEvent =
  | {
      type: 'start';
      url: string;
      output: string;
      length: number | null;
      ranges: boolean;
      connections: number;
      workers: number;
      chunkSize: number;
      resumedBytes: number;
    }
  | { type: 'retry'; what: string; attempt: number; reason: string; status: number | null; delayMs: number }
  | ({ type: 'done' } & DownloadResult);

/** Options of {@link download}. */
export interface DownloadOptions {
  /** Where to write; default: the server's Content-Disposition name, else the URL's last path segment, in the current directory. */
  output?: string;
  /** Parallel connections (1-64, default 8). */
  connections?: number;
  /**
   * Worker threads the connections are spread over (0-64, default 0: every
   * connection on the calling thread, which measured fastest on a 2-core
   * machine; README.md has the figures). More workers than connections are
   * not started.
   */
  workers?: number;
  /** Resume granularity in bytes, a multiple of 4096 (default 4 MiB). A resumed download keeps the chunk size it started with. */
  chunkSize?: number;
  /** Failures in a row (without a byte received) before a range gives up (default 8). */
  retries?: number;
  /** Milliseconds without a byte before a connection is dropped and retried (default 30000). */
  timeout?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Other URLs of the same file (same length and validator, else refused); connections are spread over all. */
  mirrors?: (string | URL)[];
  /** `'sha256=HEX'` (also sha1, sha512, md5), checked before the file gets its name. */
  checksum?: string | { algorithm: string; hex: string };
  /** Resume from `<output>.part.state` when it matches (default true); false starts over. A state saved without an ETag or Last-Modified only resumes with `checksum`. */
  resume?: boolean;
  /** Replace an existing output file (default false: refused). */
  force?: boolean;
  /** Stops every connection; the promise rejects with an AbortError and the state stays resumable. */
  signal?: AbortSignal;
  /** Called at most 10 times a second. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Called on start, each retry, and done. */
  onEvent?: (event: DownloadEvent) => void;
  /** Extra trusted certificate authorities for HTTPS (PEM). */
  ca?: string | Buffer | (string | Buffer)[];
  /** Skip TLS certificate checks (default false). */
  insecure?: boolean;
  /** Follow a redirect from https to plain http (default false: refused). */
  allowDowngrade?: boolean;
  /**
   * Write back as it goes (default true): each finished chunk's write-back is
   * started before its bit is set, the durable bitmap is saved every 2 s after
   * a data sync, and the file is synced before the rename. false: none of it
   * (a kill still resumes; after a power cut the download starts over).
   */
  sync?: boolean;
}

/** What {@link download} resolves to. */
export interface DownloadResult {
  /** The finished file. */
  path: string;
  /** Its length. */
  bytes: number;
  /** Its sha256 (hex), when a sha256 checksum was given and matched. */
  sha256?: string;
  /** Seconds the call took. */
  seconds: number;
  /** Bytes found finished from an earlier run. */
  resumedBytes: number;
  /** Retries made. */
  retries: number;
}

/**
 * Downloads `url` to a file with parallel range requests. The file is
 * `<output>.part` (with `<output>.part.state`) until it is complete and
 * verified, then renamed; after success no side file remains.
 *
 * @throws GetError (see `code`, `exitCode`), AbortError when `signal` fired.
 * @example
 * ```js
 * const ac = new AbortController();
 * const r = await download('http://127.0.0.1:8080/file.bin', { output: 'file.bin', checksum: 'sha256=...', signal: ac.signal });
 * ```
 */
export function download(url: string | URL, options?: DownloadOptions): Promise<DownloadResult>;

/** Exit codes of the command. */
export declare const EXIT: Readonly<{ ok: 0; usage: 1; network: 2; checksum: 3; file: 4 }>;

/**
 * A download failure with a stable `code` and the command's exit code.
 * @example
 * ```js
 * try { await download(url); } catch (e) { if (e instanceof GetError) process.exitCode = e.exitCode; }
 * ```
 */
export declare class GetError extends Error {
  /** ERR_GET_USAGE, ERR_GET_EXISTS, ERR_GET_STATE, ERR_GET_NETWORK, ERR_GET_HTTP, ERR_GET_PROTOCOL, ERR_GET_CHANGED, ERR_GET_REDIRECT, ERR_GET_MIRROR, ERR_GET_CHECKSUM, ERR_GET_FILE. */
  readonly code: string;
  /** 1 usage, 2 network or server, 3 checksum, 4 local file. */
  readonly exitCode: number;
  readonly url?: string;
  readonly path?: string;
  readonly status?: number;
}

/**
 * The rejection of an aborted download; `code` is `'ABORT_ERR'`.
 * @example
 * ```js
 * try { await download(url, { signal }); } catch (e) { if (e instanceof AbortError) console.log('resume later'); }
 * ```
 */
export declare class AbortError extends Error {
  readonly code: 'ABORT_ERR';
}

/**
 * Parses `4M`, `512k`, `1g` or a plain byte count (binary units).
 * @example
 * ```js
 * parseSize('4M', 'chunk size'); // 4194304
 * ```
 */
export function parseSize(text: string | number, what: string): number;
