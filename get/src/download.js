// The download engine's entry: checks the options, probes the URL and its
// mirrors, chooses the output name, and hands over to the engine that fits:
// ranged.js for a file of known length (the mapped, ranged engine: work plan
// in work-plan.js, one connection's job in job.js, resume in resume-trim.js
// and state.js, write-back in writeback.js, the end in finish.js), or
// stream-unknown.js for a file of unknown length. The connections run on
// the main thread, or with `workers` in worker threads (workers.js,
// worker.js); README.md has the design notes and the figures.
import { existsSync } from 'node:fs';
import { AbortError, GetError } from './errors.js';
import { makeAgents, probe } from './http.js';
import { parseChecksum, safeName, urlName } from './parse.js';
import { ranged } from './ranged.js';
import { RETRY_CAP_MS, withRetries } from './retry.js';
import { streamUnknown } from './stream-unknown.js';

const MiB = 1024 * 1024;
const DEFAULTS = Object.freeze({ connections: 8, workers: 0, chunkSize: 4 * MiB, retries: 8, timeout: 30_000 });
/**
 * @typedef {import('./index.js').DownloadOptions} DownloadOptions
 * @typedef {import('./index.js').DownloadResult} DownloadResult
 * @typedef {import('./index.js').DownloadEvent} DownloadEvent
 */

/**
 * Downloads `url` to a file and resolves when it is complete (and verified,
 * when a checksum was given).
 *
 * @param {string} url
 * @param {DownloadOptions} [options]
 * @returns {Promise<DownloadResult>}
 */
export async function download(url, options = {}) {
  const o = normalize(url, options);
  const started = performance.now();
  if (o.signal?.aborted) throw new AbortError(o.signal.reason);
  const halt = new AbortController();
  const onAbort = () => halt.abort(new AbortError(o.signal?.reason));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const agents = makeAgents({ connections: o.connections, ca: o.ca, insecure: o.insecure });
  /** @type {Set<import('node:http').ClientRequest>} */
  const requests = new Set();
  halt.signal.addEventListener('abort', () => {
    for (const req of requests) req.destroy(halt.signal.reason);
  });
  const ro = {
    agents,
    headers: o.headers,
    timeout: o.timeout,
    allowDowngrade: o.allowDowngrade,
    retryCap: RETRY_CAP_MS,
    onRequest: (/** @type {import('node:http').ClientRequest} */ req) => {
      if (halt.signal.aborted) req.destroy(halt.signal.reason);
      requests.add(req);
      req.on('close', () => requests.delete(req));
    },
  };
  const ctx = { o, ro, halt, started, retries: 0 };
  try {
    const probes = [];
    for (const u of [url, ...o.mirrors]) probes.push(await withRetries(ctx, `probe ${u}`, () => probe(u, ro)));
    const main = probes[0];
    checkMirrors(probes);
    const output = o.output ?? defaultName(main);
    if (existsSync(output) && !o.force) {
      for (const p of probes) p.body?.destroy();
      throw new GetError('ERR_GET_EXISTS', `${output} exists already; pass --force (force: true) to replace it, or choose another name with -o`, {
        path: output,
      });
    }
    if (main.length === null) return await streamUnknown(ctx, main, output);
    return await ranged(ctx, probes, output);
  } catch (e) {
    if (halt.signal.aborted) throw halt.signal.reason;
    throw e;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    agents.destroy();
  }
}

/**
 * @param {string} url
 * @param {DownloadOptions} options
 */
function normalize(url, options) {
  if (typeof url !== 'string' && !(url instanceof URL)) throw new GetError('ERR_GET_USAGE', 'download(url): url must be a string or a URL');
  const href = String(url);
  for (const u of [href, ...(options.mirrors ?? []).map(String)]) {
    let p;
    try {
      p = new URL(u).protocol;
    } catch {
      throw new GetError('ERR_GET_USAGE', `${JSON.stringify(u)} is not a URL; give a full http:// or https:// URL`);
    }
    if (p !== 'http:' && p !== 'https:') throw new GetError('ERR_GET_USAGE', `${u} is not an http or https URL`);
  }
  const int = (/** @type {unknown} */ v, /** @type {number} */ d, /** @type {string} */ name, /** @type {number} */ min, /** @type {number} */ max) => {
    if (v === undefined) return d;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      throw new GetError('ERR_GET_USAGE', `${name} must be an integer from ${min} to ${max}`);
    return v;
  };
  const chunkSize = int(options.chunkSize, DEFAULTS.chunkSize, 'chunkSize', 4096, 2 ** 40);
  if (chunkSize % 4096 !== 0) throw new GetError('ERR_GET_USAGE', `chunkSize must be a multiple of 4 KiB (4096), got ${chunkSize}`);
  const checksum = options.checksum === undefined ? undefined : typeof options.checksum === 'string' ? parseChecksum(options.checksum) : options.checksum;
  return {
    url: href,
    output: options.output === undefined ? undefined : String(options.output),
    connections: int(options.connections, DEFAULTS.connections, 'connections', 1, 64),
    workers: int(options.workers, DEFAULTS.workers, 'workers', 0, 64),
    chunkSize,
    retries: int(options.retries, DEFAULTS.retries, 'retries', 0, 1000),
    timeout: int(options.timeout, DEFAULTS.timeout, 'timeout', 1, 2 ** 31 - 1),
    headers: { ...(options.headers ?? {}) },
    mirrors: (options.mirrors ?? []).map(String),
    checksum,
    resume: options.resume !== false,
    force: options.force === true,
    signal: options.signal,
    onProgress: options.onProgress,
    onEvent: options.onEvent,
    ca: options.ca,
    insecure: options.insecure === true,
    allowDowngrade: options.allowDowngrade === true,
    sync: options.sync !== false,
    raw: process.env.RANGED_MMAP_GET_HTTP !== 'node',
  };
}

/** @typedef {ReturnType<typeof normalize>} Options */
/** @typedef {{ o: Options, ro: Parameters<typeof probe>[1], halt: AbortController, started: number, retries: number }} Ctx */

/** @param {import('./http.js').Probe[]} probes */
function checkMirrors(probes) {
  const [main, ...rest] = probes;
  for (const p of rest) {
    const why =
      p.length !== main.length
        ? `its length is ${p.length}, ${main.url} has ${main.length}`
        : !p.ranges || !main.ranges
          ? 'mirrors need servers that answer range requests'
          : // The range requests to every mirror carry the first URL's
            // validator as If-Range: a mirror must answer with the same one
            // (a missing one included), or it would answer 200 mid-download.
            main.etag !== null && p.etag !== main.etag
            ? `its ETag ${p.etag ?? '(none)'} differs from ${main.etag}`
            : main.lastModified !== null && p.lastModified !== main.lastModified
              ? `its Last-Modified ${p.lastModified ?? '(none)'} differs from ${main.lastModified}`
              : null;
    if (why !== null) {
      for (const q of probes) q.body?.destroy();
      throw new GetError('ERR_GET_MIRROR', `the mirror ${p.url} does not serve the same file: ${why}; drop it`, { url: p.url });
    }
  }
}

/** @param {import('./http.js').Probe} p */
function defaultName(p) {
  if (p.name !== undefined && p.name !== '') return safeName(p.name, 'server (Content-Disposition)');
  const fromUrl = urlName(p.finalUrl) || urlName(p.url);
  return fromUrl === '' ? 'index.html' : safeName(fromUrl, 'URL');
}
