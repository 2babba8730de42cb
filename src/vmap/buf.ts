/**
 * BufReader and BufWriter (vmap's `io::BufReader` / `io::BufWriter`):
 * buffered reading from, and writing to, a file descriptor or a Node
 * stream, through a {@link Ring}. The ring never splits at the wrap, so a
 * descriptor is read straight into the ring's free space and written
 * straight from its unread bytes (no copy on the descriptor path); Node
 * streams get and give copies (a stream may keep a chunk after the call).
 *
 * The source or sink stays the caller's: closing a reader or writer never
 * closes the descriptor or ends the stream.
 */
import { read as fsRead, write as fsWrite } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { whenAborted, throwIfAborted } from '../core/abort.js';
import { byteLengthOf, toBytes } from '../core/arguments.js';
import { type Descriptor, descriptorOrNull } from '../core/descriptor.js';
import { argTypeError, fromNative, misuse } from '../errors.js';
import { type BufReaderOptions, toBufReaderOptions, toCapacity } from './buf-options.js';
import { Ring, toWriteData } from './ring.js';

export type { BufReaderOptions } from './buf-options.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

function readAsync(fd: number, into: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => fsRead(fd, into, 0, into.length, null, (err, n) => (err ? reject(fromNative(err, `fd ${fd}`)) : resolve(n))));
}

function writeAsync(fd: number, from: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => fsWrite(fd, from, 0, from.length, null, (err, n) => (err ? reject(fromNative(err, `fd ${fd}`)) : resolve(n))));
}

type Source = { fd: number } | { iterator: AsyncIterator<unknown> };
type Sink = { fd: number } | { stream: Writable };

/** A stream chunk as bytes (Buffers and Uint8Arrays as they are, strings as UTF-8). */
function chunkBytes(chunk: unknown): Uint8Array {
  if (typeof chunk === 'string') return encoder.encode(chunk);
  const data = toWriteData(chunk);
  return typeof data === 'string' ? encoder.encode(data) : data;
}

/** One operation at a time: each waits for the one before it. */
class Serial {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * Buffered reading through a {@link Ring} (vmap's `io::BufReader`). The
 * source is a file descriptor (read from its current position) or a Node
 * `Readable` (any async iterable of chunks). Async-iterable by lines.
 *
 * As Rust's `BufRead`, the end of a descriptor's input is not sticky: a
 * read that finds the end reports it (0, null, an empty slice), and the
 * next call reads the descriptor again, so bytes appended since are seen.
 * With `{ follow: true }` the reader waits at the end of the file instead
 * and reads on as the file grows (a log tailer). A stream source ends once,
 * when the stream does.
 *
 * @example
 * ```ts
 * import { createReadStream } from 'node:fs';
 * import { BufReader } from 'ranged-mmap';
 * const reader = new BufReader(createReadStream('log.txt'), 1 << 16);
 * for await (const line of reader) console.log(line);
 * reader.close();
 * ```
 *
 * @example
 * ```ts
 * // Follow a log file as it grows; stop with reader.close() or the signal.
 * const fd = fs.openSync('app.log', 'r');
 * const reader = new BufReader(fd, { follow: true, pollMs: 50, signal });
 * for await (const line of reader) console.log(line);
 * ```
 */
export class BufReader {
  readonly #ring: Ring;
  readonly #source: Source;
  readonly #serial = new Serial();
  readonly #follow: boolean;
  readonly #pollMs: number;
  readonly #signal: AbortSignal | undefined;
  #pending: Uint8Array | null = null;
  /** A stream source has ended (a descriptor's end is never sticky). */
  #eof = false;
  /** A descriptor read into the ring's memory is in flight: close waits for it. */
  #inflight = false;
  #closeRequested = false;
  /** Ends a follow wait early (set while one is pending). */
  #wake: (() => void) | null = null;

  /**
   * @param source A file descriptor or `FileHandle` (the reader never closes it) or a Node
   *   `Readable` / async iterable of Buffers, Uint8Arrays or strings.
   * @param capacity Bytes of the ring (rounded up to whole pages; 64 KiB by
   *   default), or the {@link BufReaderOptions}.
   * @param options {@link BufReaderOptions} (`follow`, `pollMs`, `signal`), when `capacity` is a number.
   */
  constructor(source: Descriptor | Readable | AsyncIterable<unknown>, capacity?: number | BufReaderOptions, options?: BufReaderOptions) {
    const fd = descriptorOrNull(source, 'source');
    if (fd !== null) {
      this.#source = { fd };
    } else {
      const iterate = typeof source === 'object' && source !== null ? (source as AsyncIterable<unknown>)[Symbol.asyncIterator] : undefined;
      if (typeof iterate !== 'function') throw argTypeError('source', 'a file descriptor (number), a FileHandle or a Readable stream', source);
      this.#source = { iterator: iterate.call(source) };
    }
    const o = toBufReaderOptions(capacity, options);
    if (o.follow && fd === null) {
      throw misuse('ERR_MMAP_INVALID_ARGUMENT', 'follow needs a file descriptor source: a stream already waits for more data by itself');
    }
    this.#follow = o.follow;
    this.#pollMs = o.pollMs;
    this.#signal = o.signal;
    this.#ring = new Ring(o.capacity);
  }

  /** Bytes of the ring. */
  get capacity(): number {
    return this.#ring.capacity;
  }

  /** Bytes read from the source and not yet consumed. */
  get buffered(): number {
    return this.#ring.closed ? 0 : this.#ring.readLen;
  }

  /** True when a followed reader was closed: its input has ended. */
  get #ended(): boolean {
    return this.#follow && this.#closeRequested;
  }

  /**
   * Reads once from the source into the ring's free space (a followed
   * descriptor: waits until there is something to read). True when bytes
   * were added or the ring is full; false at the end of the input, or
   * when a followed reader was closed.
   */
  async #fill(): Promise<boolean> {
    const ring = this.#ring;
    if (this.#ended) return false;
    if (ring.closed || this.#closeRequested) throw misuse('ERR_MMAP_CLOSED', 'the reader is closed');
    const free = ring.writeSlice();
    if (free.length === 0) return true;
    if ('fd' in this.#source) {
      for (;;) {
        let n: number;
        this.#inflight = true;
        try {
          n = await readAsync(this.#source.fd, free);
        } finally {
          this.#inflight = false;
          if (this.#closeRequested) ring.close();
        }
        if (ring.closed) {
          if (this.#follow) return false;
          throw misuse('ERR_MMAP_CLOSED', 'the reader was closed while it was reading');
        }
        if (n > 0) {
          ring.commit(n);
          return true;
        }
        if (!this.#follow || !(await this.#waitForMore())) return false;
      }
    }
    if (this.#eof) return false;
    if (this.#pending === null) {
      const r = await this.#source.iterator.next();
      if (ring.closed) throw misuse('ERR_MMAP_CLOSED', 'the reader was closed while it was reading');
      if (r.done === true) {
        this.#eof = true;
        return false;
      }
      this.#pending = chunkBytes(r.value);
    }
    const p = this.#pending;
    const room = ring.writeSlice();
    const n = Math.min(room.length, p.length);
    room.set(n === p.length ? p : p.subarray(0, n));
    ring.commit(n);
    this.#pending = n === p.length ? null : p.subarray(n);
    return true;
  }

  /** Waits `pollMs` at the end of a followed file: true to read again, false when closed; rejects when the signal aborts. */
  async #waitForMore(): Promise<boolean> {
    const signal = this.#signal;
    throwIfAborted(signal);
    if (this.#closeRequested) return false;
    const waited = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve(true);
      }, this.#pollMs);
      // close() and an abort both end the wait early.
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve(false);
      };
    });
    return whenAborted(waited, signal, () => this.#wake?.());
  }

  /**
   * The buffered bytes, reading from the source first if there are none:
   * a view into the ring (valid until the next call), empty at the end of
   * the input. Release what you used with {@link consume}.
   *
   * @example
   * ```ts
   * const bytes = await reader.fillBuf();
   * reader.consume(bytes.length);
   * ```
   */
  fillBuf(): Promise<Uint8Array> {
    return this.#serial.run(async () => {
      while (!this.#ended && this.#ring.readLen === 0) if (!(await this.#fill())) break;
      if (this.#ended) return EMPTY;
      if (this.#ring.closed) throw misuse('ERR_MMAP_CLOSED', 'the reader is closed');
      return this.#ring.readSlice();
    });
  }

  /**
   * Releases `n` bytes of what {@link fillBuf} returned.
   *
   * @example
   * ```ts
   * reader.consume(4);
   * ```
   */
  consume(n: number): void {
    if (this.#ring.closed) throw misuse('ERR_MMAP_CLOSED', 'the reader is closed');
    this.#ring.consume(n);
  }

  /**
   * Reads up to `target.byteLength` bytes into `target`; resolves with the
   * number read, 0 at the end of the input.
   *
   * @example
   * ```ts
   * const n = await reader.read(buf);
   * ```
   */
  read(target: Uint8Array): Promise<number> {
    let into: Uint8Array;
    try {
      into = toBytes(target, 'target');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#serial.run(async () => {
      if (byteLengthOf(into) === 0) return 0;
      while (!this.#ended && this.#ring.readLen === 0) if (!(await this.#fill())) break;
      if (this.#ended) return 0;
      return this.#ring.read(into);
    });
  }

  /**
   * Reads one line, including its `\n`; the last line of the input may
   * have none. Resolves with null at the end of the input. A line longer
   * than the capacity is `ERR_MMAP_RING_FULL` (nothing is consumed).
   *
   * @example
   * ```ts
   * let line;
   * while ((line = await reader.readLine()) !== null) process.stdout.write(line);
   * ```
   */
  readLine(): Promise<string | null> {
    return this.#serial.run(async () => {
      const ring = this.#ring;
      for (;;) {
        if (this.#ended) return null;
        const line = ring.readLine();
        if (line !== null) return line;
        if (ring.writeLen === 0 && !this.#eof) {
          throw misuse(
            'ERR_MMAP_RING_FULL',
            `a line is longer than the reader's capacity (${ring.capacity} bytes); use a larger capacity, or fillBuf()/consume()`,
          );
        }
        if (!(await this.#fill())) {
          if (this.#ended || ring.readLen === 0) return null;
          const rest = decoder.decode(ring.readSlice());
          ring.consume(ring.readLen);
          return rest;
        }
      }
    });
  }

  /**
   * The lines of the input, without their `\n` (or `\r\n`).
   *
   * @example
   * ```ts
   * for await (const line of new BufReader(fd)) console.log(line);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<string, void, undefined> {
    for (;;) {
      const line = await this.readLine();
      if (line === null) return;
      yield line.endsWith('\r\n') ? line.slice(0, -2) : line.endsWith('\n') ? line.slice(0, -1) : line;
    }
  }

  /**
   * A Node `Readable` of the input's bytes (through this reader's buffer),
   * for `stream.pipeline`. For a followed file it stays open as the file
   * grows, ends when the reader is closed, and is destroyed with the
   * `AbortError` when the signal aborts.
   *
   * @example
   * ```ts
   * await pipeline(new BufReader(fdIn).readable(), new BufWriter(fdOut).writable());
   * ```
   */
  readable(): Readable {
    const reader = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (;;) {
        const bytes = await reader.fillBuf();
        if (bytes.length === 0) return;
        const copy = Buffer.from(bytes);
        reader.consume(copy.length);
        yield copy;
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  /**
   * Releases the ring (at once, or when a read in flight completes). The
   * source is not closed. A followed reader's pending wait ends as the end
   * of the input.
   *
   * @example
   * ```ts
   * reader.close();
   * ```
   */
  close(): void {
    this.#closeRequested = true;
    this.#wake?.();
    if (!this.#inflight) this.#ring.close();
  }
}

/**
 * Buffered writing through a {@link Ring} (vmap's `io::BufWriter`). The
 * sink is a file descriptor (written at its current position) or a Node
 * `Writable`; a full ring is flushed to it, and a Writable's backpressure
 * (`write()` returning false) is waited out.
 *
 * @example
 * ```ts
 * import { BufWriter } from 'ranged-mmap';
 * const writer = new BufWriter(process.stdout, 1 << 16);
 * await writer.write('hello\n');
 * await writer.close(); // flushes
 * ```
 */
export class BufWriter {
  readonly #ring: Ring;
  readonly #sink: Sink;
  readonly #serial = new Serial();

  /**
   * @param sink A file descriptor or `FileHandle` (the writer never closes it) or a Node `Writable` (never ended by the writer).
   * @param capacity Bytes of the ring (rounded up to whole pages); 64 KiB by default.
   */
  constructor(sink: Descriptor | Writable, capacity?: number) {
    const fd = descriptorOrNull(sink, 'sink');
    if (fd !== null) {
      this.#sink = { fd };
    } else {
      const write = typeof sink === 'object' && sink !== null ? (sink as Writable).write : undefined;
      if (typeof write !== 'function') throw argTypeError('sink', 'a file descriptor (number), a FileHandle or a Writable stream', sink);
      this.#sink = { stream: sink as Writable };
    }
    this.#ring = new Ring(toCapacity(capacity));
  }

  /** Bytes of the ring. */
  get capacity(): number {
    return this.#ring.capacity;
  }

  /** Bytes written to the writer and not yet to the sink. */
  get buffered(): number {
    return this.#ring.closed ? 0 : this.#ring.readLen;
  }

  /**
   * Buffers all of `data` (bytes, or a string as UTF-8), flushing to the
   * sink whenever the ring fills. Resolves with the byte count once every
   * byte is in the buffer or the sink. `data` is read at the call.
   *
   * @example
   * ```ts
   * await writer.write(new Uint8Array([1, 2, 3]));
   * ```
   */
  write(data: Uint8Array | string): Promise<number> {
    let bytes: Uint8Array;
    try {
      const d = toWriteData(data);
      bytes = typeof d === 'string' ? encoder.encode(d) : d;
    } catch (error) {
      return Promise.reject(error);
    }
    const ring = this.#ring;
    if (ring.closed || this.#closing) return Promise.reject(misuse('ERR_MMAP_CLOSED', 'the writer is closed'));
    const n = bytes.length;
    if (this.#queued === 0 && n <= ring.writeLen) {
      // Fits now, and nothing is queued before it: straight into the ring.
      if (n > 0) {
        ring.writeSlice().set(bytes);
        ring.commit(n);
      }
      return Promise.resolve(n);
    }
    // Waits its turn; the caller's bytes are taken now, as a copy.
    const copy = new Uint8Array(bytes);
    return this.#queue(async () => {
      let off = 0;
      while (off < copy.length) {
        if (ring.closed) throw misuse('ERR_MMAP_CLOSED', 'the writer was closed while it was writing');
        const room = ring.writeSlice();
        const k = Math.min(room.length, copy.length - off);
        if (k > 0) {
          room.set(copy.subarray(off, off + k));
          ring.commit(k);
          off += k;
        }
        if (off < copy.length) await this.#drainRing();
      }
      return copy.length;
    });
  }

  /** Operations queued or running (slow writes and flushes), kept in call order. */
  #queued = 0;
  #closing = false;

  #queue<T>(fn: () => Promise<T>): Promise<T> {
    this.#queued++;
    return this.#serial.run(fn).finally(() => {
      this.#queued--;
    });
  }

  /** Writes every buffered byte to the sink. */
  async #drainRing(): Promise<void> {
    const ring = this.#ring;
    while (!ring.closed && ring.readLen > 0) {
      const bytes = ring.readSlice();
      if ('fd' in this.#sink) {
        // Straight from the ring's memory: the ring is closed only after
        // every queued operation has finished (close() queues behind them).
        const n = await writeAsync(this.#sink.fd, bytes);
        ring.consume(n);
      } else {
        const stream = this.#sink.stream;
        const copy = Buffer.from(bytes); // the stream may keep it after write() returns
        ring.consume(copy.length);
        if (!stream.write(copy)) await waitDrain(stream);
      }
    }
  }

  /**
   * Writes every buffered byte to the sink (and, for a Writable, waits out
   * its backpressure).
   *
   * @example
   * ```ts
   * await writer.flush();
   * ```
   */
  flush(): Promise<void> {
    if (this.#ring.closed) return Promise.reject(misuse('ERR_MMAP_CLOSED', 'the writer is closed'));
    return this.#queue(() => this.#drainRing());
  }

  /**
   * A Node `Writable` into this writer, for `stream.pipeline`: each chunk
   * is buffered (waiting while the sink catches up), and ending it flushes.
   *
   * @example
   * ```ts
   * await pipeline(createReadStream('in'), new BufWriter(fd).writable());
   * ```
   */
  writable(): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.write(chunk).then(() => callback(), callback);
      },
      final: (callback) => {
        this.flush().then(() => callback(), callback);
      },
    });
  }

  /**
   * Flushes, then releases the ring. The sink is not closed or ended.
   *
   * @example
   * ```ts
   * await writer.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#ring.closed || this.#closing) return;
    this.#closing = true;
    try {
      await this.#queue(() => this.#drainRing());
    } finally {
      this.#ring.close();
    }
  }
}

/** Resolves on 'drain'; rejects if the stream errors or closes first. */
function waitDrain(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = (e: unknown) => {
      cleanup();
      reject(e);
    };
    const onClose = () => {
      cleanup();
      reject(misuse('ERR_MMAP_CLOSED', 'the sink stream closed before it drained'));
    };
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}
