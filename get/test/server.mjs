// A test HTTP(S) server on 127.0.0.1 with fault injection. It serves files
// from disk (so a sparse 5 GiB file costs no memory), counts the body bytes
// it sends, and lets each test decide, per request, what goes wrong.
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { open } from 'node:fs/promises';
import { statSync } from 'node:fs';

/**
 * @typedef {object} Route
 * @property {string} file  path of the file to serve
 * @property {boolean} [ranges]  answer Range requests (default true)
 * @property {boolean} [length]  send Content-Length (default true; false: chunked)
 * @property {string | null} [etag]  default: derived from size and mtime
 * @property {string | null} [lastModified]
 * @property {number} [rate]  bytes per second per response (throttle)
 * @property {string} [disposition]  Content-Disposition value
 * @property {(req: ReqInfo) => Fault | undefined} [fault]  called for every request of this route
 */

/**
 * @typedef {object} Fault
 * @property {number} [status]  answer this status with no body
 * @property {Record<string, string>} [headers]  with these headers
 * @property {number} [dropAfter]  destroy the socket after this many body bytes
 * @property {number} [stallAfter]  send nothing more after this many body bytes (the socket stays open until the client closes it)
 * @property {number} [shortBy]  declare the full length but end this many bytes early (then close)
 * @property {string} [contentRange]  send this Content-Range instead of the right one
 * @property {number} [rate]  throttle this response
 * @property {string} [etag]  send this ETag instead
 */

/** @typedef {{ n: number, path: string, range: string | undefined, ifRange: string | undefined, headers: import('node:http').IncomingHttpHeaders, socket: import('node:net').Socket }} ReqInfo */

/**
 * Starts a server. `routes` maps URL paths to Routes; `redirects` maps URL
 * paths to Location values (answered with 302) or to `{ status, location }`.
 * @param {{ routes?: Record<string, Route>, redirects?: Record<string, string | { status: number, location: string }>, tls?: { key: string | Buffer, cert: string | Buffer } }} config
 */
export async function startServer(config) {
  const routes = config.routes ?? {};
  const redirects = config.redirects ?? {};
  const stats = { requests: 0, bodyBytes: 0, /** @type {ReqInfo[]} */ log: [] };
  /** @type {Map<string, import('node:fs/promises').FileHandle>} */
  const handles = new Map();
  const handler = async (/** @type {import('node:http').IncomingMessage} */ req, /** @type {import('node:http').ServerResponse} */ res) => {
    const info = {
      n: stats.requests++,
      path: req.url ?? '/',
      range: req.headers.range,
      ifRange: /** @type {string | undefined} */ (req.headers['if-range']),
      headers: req.headers,
      socket: req.socket,
    };
    stats.log.push(info);
    try {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (redirects[path] !== undefined) {
        const to = redirects[path];
        const [status, location] = typeof to === 'string' ? [302, to] : [to.status, to.location];
        res.writeHead(status, { location, 'content-length': '0' });
        res.end();
        return;
      }
      const route = routes[path];
      if (route === undefined) {
        res.writeHead(404, { 'content-length': '0' });
        res.end();
        return;
      }
      const fault = route.fault?.(info) ?? {};
      if (fault.status !== undefined) {
        res.writeHead(fault.status, { 'content-length': '0', ...(fault.headers ?? {}) });
        res.end();
        return;
      }
      const st = statSync(route.file);
      const size = st.size;
      const etag = fault.etag ?? (route.etag === undefined ? `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"` : route.etag);
      /** @type {Record<string, string>} */
      const headers = { 'content-type': 'application/octet-stream' };
      if (etag !== null) headers.etag = etag;
      if (route.lastModified) headers['last-modified'] = route.lastModified;
      if (route.disposition) headers['content-disposition'] = route.disposition;
      let start = 0;
      let end = size - 1;
      let status = 200;
      const ranges = route.ranges !== false;
      if (ranges) headers['accept-ranges'] = 'bytes';
      const m = ranges && typeof req.headers.range === 'string' ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range) : null;
      const ifRangeOk = info.ifRange === undefined || info.ifRange === etag || info.ifRange === route.lastModified;
      if (m !== null && ifRangeOk) {
        start = Number(m[1]);
        end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
        if (start >= size) {
          res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-length': '0' });
          res.end();
          return;
        }
        status = 206;
        headers['content-range'] = fault.contentRange ?? `bytes ${start}-${end}/${size}`;
      }
      const length = end - start + 1;
      if (route.length !== false) headers['content-length'] = String(length);
      res.writeHead(status, headers);
      const send = fault.shortBy !== undefined ? Math.max(0, length - fault.shortBy) : length;
      let fh = handles.get(route.file);
      if (fh === undefined) {
        fh = await open(route.file, 'r');
        handles.set(route.file, fh);
      }
      const rate = fault.rate ?? route.rate;
      const block = Buffer.allocUnsafe(rate !== undefined ? (rate < 1 << 20 ? 16384 : 65536) : 256 * 1024);
      const t0 = performance.now();
      let sent = 0;
      while (sent < send) {
        if (res.destroyed) return;
        let n = Math.min(block.length, send - sent);
        if (fault.stallAfter !== undefined) {
          if (sent >= fault.stallAfter) {
            if (!res.socket?.destroyed) await new Promise((r) => res.socket?.once('close', r));
            return;
          }
          n = Math.min(n, fault.stallAfter - sent);
        }
        if (fault.dropAfter !== undefined) {
          if (sent >= fault.dropAfter) {
            res.socket?.destroy();
            return;
          }
          n = Math.min(n, fault.dropAfter - sent);
        }
        const { bytesRead } = await fh.read(block, 0, n, start + sent);
        if (bytesRead === 0) break;
        const chunk = Buffer.from(block.subarray(0, bytesRead));
        sent += bytesRead;
        // Counted once handed to the kernel: a chunk still in Node's buffer
        // when the socket is destroyed (a drop) never left the server.
        const flushed = (/** @type {Error | null | undefined} */ error) => {
          if (!error) stats.bodyBytes += bytesRead;
        };
        if (!res.write(chunk, flushed)) await drainOrClose(res);
        if (rate !== undefined) {
          const due = (sent / rate) * 1000 - (performance.now() - t0);
          if (due > 0) await new Promise((r) => setTimeout(r, due));
        }
      }
      if (fault.dropAfter !== undefined && sent >= fault.dropAfter && sent < send) {
        res.socket?.destroy();
        return;
      }
      if (fault.shortBy !== undefined) {
        res.socket?.destroy();
        return;
      }
      res.end();
    } catch {
      res.socket?.destroy();
    }
  };
  const server = config.tls ? createHttps({ key: config.tls.key, cert: config.tls.cert }, handler) : createHttp(handler);
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  const base = `${config.tls ? 'https' : 'http'}://127.0.0.1:${address.port}`;
  return {
    base,
    stats,
    routes,
    redirects,
    async close() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
      for (const fh of handles.values()) await fh.close();
    },
  };
}

/**
 * Waits until a response can take more, or is gone.
 * @param {import('node:http').ServerResponse} res
 */
function drainOrClose(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve(undefined);
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** @param {string} path */
export function fileSize(path) {
  return statSync(path).size;
}
