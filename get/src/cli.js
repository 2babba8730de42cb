// The command line: ranged-mmap-get URL [URL...] [options].
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { download } from './download.js';
import { AbortError, EXIT, GetError } from './errors.js';
import { formatBytes, parseChecksum, parseCount, parseHeaders, parseSize } from './parse.js';

const VERSION = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

const HELP = `Usage: ranged-mmap-get URL [MIRROR-URL...] [options]
       ranged-mmap-get --demo

Downloads URL with parallel range requests into one memory-mapped file.
The file is OUTPUT.part (with OUTPUT.part.state) until it is complete and
verified; run the same command again after an interruption to resume.
Extra URLs are mirrors of the same file.

Options:
  -o, --output FILE       where to write (default: the server's name for it,
                          else the URL's last path segment, in this directory)
  -c, --connections N     parallel connections, 1-64 (default 8)
      --workers N         spread the connections over N worker threads, 0-64
                          (default 0: all on the main thread)
      --chunk-size SIZE   resume granularity, multiple of 4k (default 4M)
      --retries N         failures in a row before giving up (default 8)
      --timeout MS        ms without a byte before a connection is retried
                          (default 30000)
  -H, --header 'N: V'     extra request header (repeatable)
      --checksum ALG=HEX  verify before renaming: sha256, sha1, sha512, md5
      --no-resume         ignore a saved state and start over
      --force             replace an existing OUTPUT
      --ca FILE           also trust this CA certificate (PEM) for https
      --insecure          do not check TLS certificates
      --allow-downgrade   follow redirects from https to plain http
      --no-sync           start no write-back and wait for none (a kill
                          still resumes, a power cut starts over)
      --json              one JSON object per line on stdout (start,
                          progress, retry, done, error)
  -q, --quiet             no progress, no summary
      --demo              download a generated 1 GiB file from a local
                          server and compare with a plain Node download
      --version, --help

Exit codes: 0 done and verified, 1 usage error, 2 network or server error
after retries, 3 checksum mismatch, 4 local file error (permission, disk
full, I/O error), 70 internal error (a bug: please report it), 130/143
interrupted (resumable).
`;

/**
 * Runs the command; resolves to the exit code.
 * @param {string[]} argv
 * @returns {Promise<number>}
 */
export async function main(argv) {
  /** @type {ReturnType<typeof parseArgs>} */
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        output: { type: 'string', short: 'o' },
        connections: { type: 'string', short: 'c' },
        workers: { type: 'string' },
        'chunk-size': { type: 'string' },
        retries: { type: 'string' },
        timeout: { type: 'string' },
        header: { type: 'string', short: 'H', multiple: true },
        checksum: { type: 'string' },
        'no-resume': { type: 'boolean' },
        force: { type: 'boolean' },
        ca: { type: 'string' },
        insecure: { type: 'boolean' },
        'allow-downgrade': { type: 'boolean' },
        'no-sync': { type: 'boolean' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        demo: { type: 'boolean' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    return usage(/** @type {Error} */ (e).message);
  }
  const v = /** @type {Record<string, string | boolean | string[] | undefined>} */ (parsed.values);
  if (v.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (v.version) {
    process.stdout.write(`ranged-mmap-get ${VERSION}\n`);
    return EXIT.ok;
  }
  if (v.demo) {
    const { runDemo } = await import('./demo.js');
    return runDemo({ quiet: v.quiet === true });
  }
  const json = v.json === true;
  const [url, ...mirrors] = parsed.positionals;
  if (url === undefined) return usage('give the URL to download (ranged-mmap-get --help)');
  /** @type {import('./index.js').DownloadOptions} */
  let options;
  try {
    options = {
      output: /** @type {string | undefined} */ (v.output),
      connections: v.connections === undefined ? undefined : parseCount(/** @type {string} */ (v.connections), '--connections', 1, 64),
      workers: v.workers === undefined ? undefined : parseCount(/** @type {string} */ (v.workers), '--workers', 0, 64),
      chunkSize: v['chunk-size'] === undefined ? undefined : parseSize(/** @type {string} */ (v['chunk-size']), '--chunk-size'),
      retries: v.retries === undefined ? undefined : parseCount(/** @type {string} */ (v.retries), '--retries', 0, 1000),
      timeout: v.timeout === undefined ? undefined : parseCount(/** @type {string} */ (v.timeout), '--timeout', 1, 2 ** 31 - 1),
      headers: parseHeaders(/** @type {string[]} */ (v.header ?? [])),
      mirrors,
      checksum: v.checksum === undefined ? undefined : parseChecksum(/** @type {string} */ (v.checksum)),
      resume: v['no-resume'] !== true,
      force: v.force === true,
      insecure: v.insecure === true,
      allowDowngrade: v['allow-downgrade'] === true,
      sync: v['no-sync'] !== true,
    };
    if (options.chunkSize !== undefined && options.chunkSize % 4096 !== 0) {
      throw new GetError('ERR_GET_USAGE', `--chunk-size must be a multiple of 4k (4096 bytes), got ${options.chunkSize}`);
    }
    if (typeof v.ca === 'string') {
      try {
        options.ca = readFileSync(v.ca);
      } catch (e) {
        throw new GetError('ERR_GET_USAGE', `cannot read the --ca file ${v.ca}: ${/** @type {Error} */ (e).message}`);
      }
    }
  } catch (e) {
    return fail(e, json);
  }
  const ac = new AbortController();
  let signalExit = 0;
  const onSignal = (/** @type {NodeJS.Signals} */ sig) => {
    signalExit = sig === 'SIGINT' ? 130 : 143;
    ac.abort(sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  options.signal = ac.signal;
  const tty = process.stdout.isTTY === true && !json && v.quiet !== true;
  const bar = tty ? progressLine() : null;
  if (json) {
    options.onEvent = (e) => emit(e);
    options.onProgress = (p) => emit({ type: 'progress', ...p });
  } else if (bar !== null) {
    options.onProgress = bar.draw;
  }
  try {
    const r = await download(url, options);
    bar?.clear();
    if (tty) {
      const rate = r.seconds > 0 ? (r.bytes - r.resumedBytes) / r.seconds / 1e6 : 0;
      const resumed = r.resumedBytes > 0 ? `, ${formatBytes(r.resumedBytes)} resumed` : '';
      process.stdout.write(
        `${r.path}: ${formatBytes(r.bytes)} in ${r.seconds.toFixed(2)} s (${rate.toFixed(0)} MB/s${resumed}${r.sha256 ? `, sha256 ${r.sha256}` : ''})\n`,
      );
    }
    return EXIT.ok;
  } catch (e) {
    bar?.clear();
    if (e instanceof AbortError) {
      if (json) emit({ type: 'error', code: 'ABORT_ERR', message: e.message, exitCode: signalExit || 130 });
      process.stderr.write(`ranged-mmap-get: interrupted; run the same command again to resume\n`);
      return signalExit || 130;
    }
    return fail(e, json);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** @param {object} e */
function emit(e) {
  process.stdout.write(`${JSON.stringify(e)}\n`);
}

/** @param {string} message */
function usage(message) {
  process.stderr.write(`ranged-mmap-get: ${message}\n`);
  return EXIT.usage;
}

/**
 * @param {unknown} e
 * @param {boolean} json
 */
function fail(e, json) {
  if (e instanceof GetError) {
    if (json) emit({ type: 'error', code: e.code, message: e.message, exitCode: e.exitCode });
    process.stderr.write(`ranged-mmap-get: ${e.message}\n`);
    return e.exitCode;
  }
  const err = /** @type {Error} */ (e);
  if (json) emit({ type: 'error', code: 'ERR_GET_INTERNAL', message: String(err?.message ?? e), exitCode: 70 });
  process.stderr.write(`ranged-mmap-get: internal error (a bug, please report it): ${err?.stack ?? String(e)}\n`);
  return 70;
}

/** A progress line redrawn in place (the caller limits it to 10 a second). */
export function progressLine() {
  let drawn = false;
  return {
    /** @param {import('./index.js').DownloadProgress} p */
    draw(p) {
      const rate = p.bytesPerSecond;
      const pct = p.total ? ((100 * p.bytes) / p.total).toFixed(1).padStart(5) + '%' : '     ?';
      const eta = p.total && rate > 0 ? formatEta((p.total - p.bytes) / rate) : '--:--';
      const line = `${pct}  ${formatBytes(p.bytes)}${p.total ? ` / ${formatBytes(p.total)}` : ''}  ${(rate / 1e6).toFixed(1)} MB/s  ETA ${eta}  ${p.connections} conn`;
      process.stdout.write(`\r\x1b[2K${line}`);
      drawn = true;
    },
    clear() {
      if (drawn) process.stdout.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

/** @param {number} s */
function formatEta(s) {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return `${h > 0 ? `${h}:` : ''}${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}
