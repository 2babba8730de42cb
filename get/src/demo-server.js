// A small range-capable static file server on 127.0.0.1, for the demo and
// the benchmark when nginx is not installed. Usage:
//   node demo-server.js FILE [RATE_BYTES_PER_SECOND_PER_CONNECTION]
// prints its URL on stdout and serves until stdin closes or its parent exits.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Transform } from 'node:stream';

const [file, rateText] = process.argv.slice(2);
const rate = rateText === undefined ? 0 : Number(rateText);
const name = `/${basename(file)}`;
const st = statSync(file);
const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;

/**
 * When each connection may send its next byte (ms, performance.now()): the
 * limit is per connection, across all the requests it carries, so a client
 * cannot escape it by making many short requests. (nginx's limit_rate is
 * per request and lets each request start with a second's worth at once.)
 * @type {WeakMap<import('node:net').Socket, number>}
 */
const nextSend = new WeakMap();

/**
 * A transform that lets `bytesPerSecond` through on one connection. Time a
 * connection spent idle is not saved up: a new request starts at the rate.
 * @param {import('node:net').Socket} socket
 * @param {number} bytesPerSecond
 */
function throttle(socket, bytesPerSecond) {
  return new Transform({
    transform(chunk, _enc, done) {
      const now = performance.now();
      const at = Math.max(nextSend.get(socket) ?? now, now);
      nextSend.set(socket, at + (chunk.length / bytesPerSecond) * 1000);
      setTimeout(() => done(null, chunk), at - now);
    },
  });
}

const server = createServer((req, res) => {
  if (new URL(req.url ?? '/', 'http://x').pathname !== name) {
    res.writeHead(404, { 'content-length': '0' }).end();
    return;
  }
  let start = 0;
  let end = st.size - 1;
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  /** @type {Record<string, string>} */
  const headers = { 'accept-ranges': 'bytes', etag, 'content-type': 'application/octet-stream' };
  let status = 200;
  if (m !== null) {
    start = Number(m[1]);
    end = m[2] === '' ? st.size - 1 : Math.min(Number(m[2]), st.size - 1);
    if (start > end) {
      res.writeHead(416, { 'content-range': `bytes */${st.size}`, 'content-length': '0' }).end();
      return;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
  }
  headers['content-length'] = String(end - start + 1);
  res.writeHead(status, headers);
  // Throttled, the file is read in 64 KiB pieces so the rate is smooth.
  const body = createReadStream(file, { start, end, highWaterMark: rate > 0 ? 1 << 16 : 1 << 20 });
  if (rate > 0) body.pipe(throttle(req.socket, rate)).pipe(res);
  else body.pipe(res);
  res.on('close', () => body.destroy());
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const a = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(`http://127.0.0.1:${a.port}${name}\n`);
});
// Serves while its parent lives: stdin's end (or an error on it, such as
// EIO from a terminal that went away) and a parent that is gone (this
// process re-parented, or orphaned before it looked) both stop it, so it
// never outlives the demo or the bench that started it.
const parent = process.ppid;
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
setInterval(() => {
  if (process.ppid !== parent || process.ppid === 1) process.exit(0);
}, 1000).unref();
