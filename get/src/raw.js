// The fast path for plain-http range requests: one keep-alive TCP socket per
// connection, and a response parser that only knows what a 206 needs.
//
// With node:http every socket read becomes a new Buffer that the parser
// slices and the engine then copies into its staging buffer. Here the socket
// reads (net.connect's `onread`) go straight into the connection's staging
// buffer at the place the bytes belong: the kernel's copy out of the socket
// is the only copy before the one writeRange into the mapping, and no
// Buffer is allocated per read (the node:http path had 2.5x the anonymous
// memory in the benchmark, README.md). Anything that is not a plain 206
// with Content-Length (a redirect, an error status, chunked encoding) is
// refused through the caller's check, as node:http's answer would be.
import net from 'node:net';
import { Fault, GetError } from './errors.js';

const HEAD_MAX = 32 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * What a body is poured into: the engine's job.
 * @typedef {object} Sink
 * @property {() => Buffer} room  where the next bytes go (never empty while bytes are wanted)
 * @property {(n: number) => boolean} took  n bytes landed in the last room; true when the sink wants no more
 * @property {(bytes: Buffer) => boolean} feed  copy bytes in; true when the sink wants no more
 */

/**
 * @typedef {object} RawResponse
 * @property {number} status
 * @property {string} statusMessage
 * @property {Record<string, string>} headers  lower-case names
 * @property {number | null} contentLength
 */

/** One keep-alive socket to one origin, one request at a time. */
export class RawConnection {
  /**
   * @param {URL} origin
   * @param {number} timeout
   */
  constructor(origin, timeout) {
    this.host = origin.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(origin.port || 80);
    this.hostHeader = origin.host;
    this.timeout = timeout;
    /** @type {net.Socket | null} */
    this.socket = null;
    this.head = Buffer.allocUnsafe(HEAD_MAX);
    this.scrap = Buffer.allocUnsafe(4096);
    /** Read state, consulted by the socket's onread hooks. */
    this.mode = 'idle';
    this.headLength = 0;
    this.bodyLeft = 0;
    /** @type {Sink | null} */
    this.sink = null;
    /** @type {((e?: unknown) => void) | null} */
    this.settle = null;
    /** @type {((res: RawResponse) => void) | null} */
    this.check = null;
    /** @type {Uint8Array | null} */
    this.lastRoom = null;
    this.lastMode = 'idle';
  }

  /** @returns {net.Socket} */
  #connect() {
    if (this.socket !== null && !this.socket.destroyed) return this.socket;
    const socket = net.connect({
      host: this.host,
      port: this.port,
      noDelay: true,
      onread: {
        buffer: () => this.#room(),
        callback: (n, buf) => this.#took(n, buf),
      },
    });
    socket.setTimeout(this.timeout, () => socket.destroy(new Fault('timeout', `no byte from ${this.hostHeader} for ${this.timeout} ms`)));
    // Events of a socket this connection already let go of (after a split,
    // a refused answer) must not touch the request under way on the next.
    const current = () => this.socket === socket;
    socket.on('error', (e) => {
      if (current())
        this.#fail(e instanceof Fault || e instanceof GetError || e.name === 'AbortError' ? e : new Fault('reset', `${this.hostHeader}: ${e.message}`));
    });
    socket.on('end', () => {
      if (current()) this.#fail(new Fault('short-body', `${this.hostHeader} closed the connection mid-response`));
      socket.destroy();
    });
    socket.on('close', () => {
      if (!current()) return;
      this.socket = null;
      this.#fail(new Fault('reset', `${this.hostHeader}: the connection closed mid-response`));
    });
    this.socket = socket;
    return socket;
  }

  /** Where the next socket read lands. */
  // Node asks for the next read's buffer right after each callback, so a
  // buffer handed out while idle (between two requests) may receive the
  // next response's first bytes: #took copies those from where they landed.
  #room() {
    let room = this.scrap;
    if (this.mode === 'head') room = this.head.subarray(this.headLength);
    else if (this.mode === 'body' && this.sink !== null) {
      room = this.sink.room();
      if (room.length > this.bodyLeft) room = room.subarray(0, this.bodyLeft);
    }
    this.lastRoom = room;
    this.lastMode = this.mode;
    return room;
  }

  /**
   * @param {number} n
   * @param {Uint8Array} buf
   */
  #took(n, buf) {
    try {
      const inPlace = buf === this.lastRoom && this.lastMode === this.mode;
      if (this.mode === 'body') {
        const sink = /** @type {Sink} */ (this.sink);
        const take = Math.min(n, this.bodyLeft);
        this.bodyLeft -= take;
        const full = inPlace ? sink.took(take) : sink.feed(Buffer.from(buf.buffer, buf.byteOffset, take));
        this.#afterBody(full);
      } else if (this.mode === 'head') {
        if (!inPlace) {
          if (this.headLength + n > HEAD_MAX) throw new GetError('ERR_GET_PROTOCOL', `${this.hostHeader} sent more than ${HEAD_MAX} bytes of headers`);
          this.head.set(buf.subarray(0, n), this.headLength);
        }
        this.headLength += n;
        this.#parseHead();
      } else {
        throw new GetError('ERR_GET_PROTOCOL', `${this.hostHeader} sent bytes nobody asked for`);
      }
    } catch (e) {
      const socket = this.socket;
      this.socket = null;
      socket?.destroy();
      this.#fail(e);
    }
    return true;
  }

  /** @param {boolean} full */
  #afterBody(full) {
    if (this.bodyLeft === 0) {
      this.mode = 'idle';
      this.#finish();
    } else if (full) {
      // The job was cut short (split): the rest belongs to someone else.
      this.mode = 'idle';
      this.socket?.destroy();
      this.socket = null;
      this.#finish();
    }
  }

  #parseHead() {
    const head = this.head;
    const end = head.subarray(0, this.headLength).indexOf(CRLFCRLF);
    if (end < 0) {
      if (this.headLength >= HEAD_MAX) throw new GetError('ERR_GET_PROTOCOL', `${this.hostHeader} sent more than ${HEAD_MAX} bytes of headers`);
      return;
    }
    const lines = head.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (m === null) throw new GetError('ERR_GET_PROTOCOL', `${this.hostHeader} answered with a malformed status line ${JSON.stringify(lines[0].slice(0, 80))}`);
    /** @type {Record<string, string>} */
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
      const c = lines[i].indexOf(':');
      if (c <= 0) throw new GetError('ERR_GET_PROTOCOL', `${this.hostHeader} sent a malformed header line`);
      const name = lines[i].slice(0, c).trim().toLowerCase();
      const value = lines[i].slice(c + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const cl = headers['content-length'];
    const contentLength = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : null;
    const status = Number(m[1]);
    /** @type {RawResponse} */
    const res = { status, statusMessage: m[2] ?? '', headers, contentLength };
    const rest = head.subarray(end + 4, this.headLength);
    // The caller's check runs here, inside the read callback: the first
    // body bytes are placed before the next read's buffer is chosen.
    /** @type {(res: RawResponse) => void} */ (this.check)(res);
    if (status !== 206 || contentLength === null || headers['transfer-encoding'] !== undefined || this.sink === null) {
      throw new GetError('ERR_GET_PROTOCOL', `${this.hostHeader} answered ${status} without a plain Content-Length body`);
    }
    this.mode = 'body';
    this.bodyLeft = contentLength;
    if (rest.length > 0) {
      const n = Math.min(rest.length, this.bodyLeft);
      this.bodyLeft -= n;
      this.#afterBody(this.sink.feed(rest.subarray(0, n)));
    } else if (this.bodyLeft === 0) this.#afterBody(true);
  }

  #finish() {
    const s = this.settle;
    this.settle = null;
    this.sink = null;
    s?.();
  }

  /** @param {unknown} e */
  #fail(e) {
    const settle = this.settle;
    if (settle === null) return;
    this.mode = 'idle';
    this.sink = null;
    this.settle = null;
    settle(e);
  }

  /**
   * Sends one GET and resolves when the body has been poured into `sink`.
   * `check` sees the status and headers first and throws to refuse them
   * (nothing is poured then, and the request rejects with what it threw).
   * @param {string} pathAndQuery
   * @param {Record<string, string>} headers
   * @param {Sink} sink
   * @param {(res: RawResponse) => void} check
   * @returns {Promise<void>}
   */
  request(pathAndQuery, headers, sink, check) {
    return new Promise((resolve, reject) => {
      this.settle = (e) => (e === undefined ? resolve(undefined) : reject(e));
      this.check = check;
      this.sink = sink;
      this.mode = 'head';
      this.headLength = 0;
      let text = `GET ${pathAndQuery} HTTP/1.1\r\nHost: ${this.hostHeader}\r\nConnection: keep-alive\r\n`;
      for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
      text += '\r\n';
      this.#connect().write(text);
    });
  }

  /**
   * Closes the socket; a request under way rejects with `reason`.
   * @param {Error} [reason]
   */
  close(reason) {
    const socket = this.socket;
    if (socket === null) return;
    if (reason !== undefined) this.#fail(reason);
    this.socket = null;
    socket.destroy();
  }
}
