// HTTP(S) requests: keep-alive agents, redirects, the first probe of a URL,
// and the checks of a ranged answer. Plain-http range requests take the raw
// path (raw.js); node:http serves the probe, https and servers without
// ranges. Every request asks for identity encoding so a range is a range of
// the file, never of a gzip stream.
import http from 'node:http';
import https from 'node:https';
import { Fault, GetError } from './errors.js';
import { dispositionName, retryAfterMs } from './parse.js';

const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
export const USER_AGENT = 'ranged-mmap-get/0.1.0';

/**
 * Keep-alive agents for one download.
 * @param {{ connections: number, ca?: string | Buffer, insecure?: boolean }} o
 */
export function makeAgents(o) {
  const common = { keepAlive: true, maxSockets: o.connections + 2, scheduling: /** @type {'fifo'} */ ('fifo') };
  return {
    http: new http.Agent(common),
    https: new https.Agent({ ...common, ca: o.ca, rejectUnauthorized: o.insecure !== true }),
    destroy() {
      this.http.destroy();
      this.https.destroy();
    },
  };
}

/** @typedef {ReturnType<typeof makeAgents>} Agents */

/**
 * @typedef {object} RequestOptions
 * @property {Agents} agents
 * @property {Record<string, string>} headers
 * @property {number} timeout  ms without a byte before the request fails
 * @property {boolean} allowDowngrade  follow https -> http redirects
 * @property {(req: http.ClientRequest) => void} [onRequest]  sees every request made (to abort it)
 */

/**
 * GET `url` with `extra` headers, following redirects. Resolves with the
 * response whose status is not a redirect, and the URL that gave it.
 * A connection failure or timeout rejects with a Fault (retryable).
 * @param {string} url
 * @param {Record<string, string>} extra
 * @param {RequestOptions} o
 * @returns {Promise<{ res: http.IncomingMessage, url: string }>}
 */
export async function get(url, extra, o) {
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await once(current, extra, o);
    const status = res.statusCode ?? 0;
    if (!REDIRECTS.has(status)) return { res, url: current };
    res.resume();
    const location = res.headers.location;
    if (typeof location !== 'string' || location === '') {
      throw new GetError('ERR_GET_REDIRECT', `${current} answered ${status} without a Location header; the server is misconfigured`, { url: current, status });
    }
    if (hop + 1 > MAX_REDIRECTS) {
      throw new GetError('ERR_GET_REDIRECT', `more than ${MAX_REDIRECTS} redirects from ${url} (a loop?); check the URL`, { url, status });
    }
    const next = new URL(location, current);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new GetError('ERR_GET_REDIRECT', `${current} redirects to ${next.href}, which is not http or https`, { url: current });
    }
    if (new URL(current).protocol === 'https:' && next.protocol === 'http:' && !o.allowDowngrade) {
      throw new GetError(
        'ERR_GET_REDIRECT',
        `${current} redirects from https to plain http (${next.href}); refused, pass --allow-downgrade to follow it anyway`,
        { url: current },
      );
    }
    current = next.href;
  }
}

/**
 * One request, no redirects.
 * @param {string} url
 * @param {Record<string, string>} extra
 * @param {RequestOptions} o
 * @returns {Promise<http.IncomingMessage>}
 */
function once(url, extra, o) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
    if (lib === null) {
      reject(new GetError('ERR_GET_USAGE', `${url} is not an http or https URL`, { url }));
      return;
    }
    const headers = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...o.headers, ...extra };
    const agent = u.protocol === 'https:' ? o.agents.https : o.agents.http;
    const req = lib.request(u, { method: 'GET', headers, agent });
    req.setTimeout(o.timeout, () => req.destroy(new Fault('timeout', `no byte from ${u.host} for ${o.timeout} ms`)));
    req.on('response', resolve);
    req.on('error', (e) => reject(asFault(e, url)));
    o.onRequest?.(req);
    req.end();
  });
}

/**
 * A request failure as a Fault (retryable) or a GetError (not).
 * @param {unknown} e
 * @param {string} url
 */
export function asFault(e, url) {
  if (e instanceof Fault || e instanceof GetError) return e;
  const err = /** @type {NodeJS.ErrnoException} */ (e);
  const code = err?.code ?? '';
  if (code.startsWith('ERR_TLS') || code.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'SELF_SIGNED_CERT_IN_CHAIN') {
    return new GetError('ERR_GET_NETWORK', `TLS failed for ${url}: ${err.message}; trust the server's certificate with --ca FILE`, { url, cause: e });
  }
  if (code === 'ENOTFOUND') return new GetError('ERR_GET_NETWORK', `cannot resolve the host of ${url}; check the URL`, { url, cause: e });
  return new Fault('reset', `${url}: ${err?.message ?? String(e)}`);
}

/**
 * A Fault for a retryable status, a GetError for the others.
 * @param {http.IncomingMessage} res
 * @param {string} url
 * @param {number} retryCap
 */
export function statusError(res, url, retryCap) {
  const status = res.statusCode ?? 0;
  res.resume();
  if (RETRY_STATUS.has(status) || status >= 500) {
    return new Fault('status', `${url} answered ${status} ${res.statusMessage ?? ''}`.trim(), {
      status,
      retryAfterMs: retryAfterMs(/** @type {string | undefined} */ (res.headers['retry-after']), retryCap),
    });
  }
  if (status === 416) {
    return new GetError(
      'ERR_GET_PROTOCOL',
      `${url} answered 416 (range not satisfiable) to a range inside the file it described; the file changed or the server is wrong`,
      {
        url,
        status,
      },
    );
  }
  const hint = status === 401 || status === 403 ? 'check access (-H to send credentials)' : status === 404 ? 'check the URL' : 'check the URL and the server';
  return new GetError('ERR_GET_HTTP', `${url} answered ${status} ${res.statusMessage ?? ''}; ${hint}`, { url, status });
}

/**
 * Parses `bytes START-END/TOTAL` (TOTAL may be `*`).
 * @param {string | undefined} value
 * @returns {{ start: number, end: number, total: number | null } | null}
 */
export function parseContentRange(value) {
  if (typeof value !== 'string') return null;
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value);
  if (m === null) return null;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start || (total !== null && (!Number.isSafeInteger(total) || end >= total)))
    return null;
  return { start, end, total };
}

/**
 * What a server says about a file, from the probe.
 * @typedef {object} Probe
 * @property {string} url  the URL asked for
 * @property {string} finalUrl  after redirects
 * @property {number | null} length  null when unknown (chunked, no ranges)
 * @property {boolean} ranges  true when a range request got a 206
 * @property {string | null} etag
 * @property {string | null} lastModified
 * @property {string | undefined} name  from Content-Disposition
 * @property {http.IncomingMessage | null} body  the whole file's response when the server ignored the range (else consumed)
 */

/**
 * Asks for the first byte of `url` to learn its length, validators and
 * whether ranges work. A server that ignores the range answers 200 with the
 * whole file: that response is kept as `body`, to be the single stream.
 * @param {string} url
 * @param {RequestOptions & { retryCap: number }} o
 * @returns {Promise<Probe>}
 */
export async function probe(url, o) {
  const { res, url: finalUrl } = await get(url, { range: 'bytes=0-0' }, o);
  const status = res.statusCode ?? 0;
  const h = res.headers;
  const etag = typeof h.etag === 'string' ? h.etag : null;
  const lastModified = typeof h['last-modified'] === 'string' ? h['last-modified'] : null;
  const name = dispositionName(/** @type {string | undefined} */ (h['content-disposition']));
  if (status === 206) {
    const cr = parseContentRange(/** @type {string | undefined} */ (h['content-range']));
    res.resume();
    if (cr === null || cr.start !== 0 || cr.end !== 0) {
      throw new GetError('ERR_GET_PROTOCOL', `${finalUrl} answered bytes=0-0 with Content-Range ${JSON.stringify(h['content-range'])}; the server is wrong`, {
        url: finalUrl,
      });
    }
    await drained(res);
    return { url, finalUrl, length: cr.total, ranges: cr.total !== null, etag, lastModified, name, body: null };
  }
  if (status === 416) {
    // An empty file: no byte 0 to give.
    const cr = /^\s*bytes\s+\*\/(\d+)\s*$/i.exec(String(h['content-range'] ?? ''));
    res.resume();
    if (cr !== null && Number(cr[1]) === 0) return { url, finalUrl, length: 0, ranges: false, etag, lastModified, name, body: null };
    throw statusError(res, finalUrl, o.retryCap);
  }
  if (status === 200) {
    const len = h['content-length'] === undefined ? null : Number(h['content-length']);
    return {
      url,
      finalUrl,
      length: len !== null && Number.isSafeInteger(len) && len >= 0 && h['transfer-encoding'] === undefined ? len : null,
      ranges: false,
      etag,
      lastModified,
      name,
      body: res,
    };
  }
  throw statusError(res, finalUrl, o.retryCap);
}

/**
 * Waits for a response body to end (small bodies only).
 * @param {http.IncomingMessage} res
 */
function drained(res) {
  return new Promise((resolve) => {
    if (res.complete) resolve(undefined);
    else {
      res.on('end', () => resolve(undefined));
      res.on('error', () => resolve(undefined));
      res.on('close', () => resolve(undefined));
    }
  });
}
