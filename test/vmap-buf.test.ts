// BufReader / BufWriter (vmap's io::BufReader / io::BufWriter) and a Ring
// used as a Node Readable and Writable: files piped through with
// stream.pipeline and compared by checksum (1 GiB through descriptors, as
// the issue asks, and 64 MiB through Node streams), lines and async iteration,
// fillBuf/consume, backpressure both ways, close while a read is in flight,
// descriptors left open, argument errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BufReader, BufWriter, Ring, InfiniteRing } from 'ranged-mmap';
import { tempDir } from './helpers.js';

const t = tempDir('ranged-mmap-vmap-buf-');
after(() => t.cleanup());

const BIG = 64 * 1024 * 1024;

function code(e: unknown): unknown {
  return (e as { code?: unknown }).code;
}

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A file of `size` pseudo-random bytes (fast xorshift), written once. */
let bigFile: string | undefined;
function big(): string {
  if (bigFile !== undefined) return bigFile;
  const path = t.path('big.bin');
  const buf = Buffer.allocUnsafe(BIG);
  const words = new Uint32Array(buf.buffer, buf.byteOffset, BIG / 4);
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  writeFileSync(path, buf);
  bigFile = path;
  return path;
}

test('64 MiB file piped fd -> BufReader -> BufWriter -> fd with stream.pipeline: same checksum', async () => {
  const src = big();
  const dst = t.path('copy-fd.bin');
  const fdIn = openSync(src, 'r');
  const fdOut = openSync(dst, 'w');
  const reader = new BufReader(fdIn, 256 * 1024);
  const writer = new BufWriter(fdOut, 128 * 1024);
  await pipeline(reader.readable(), writer.writable());
  reader.close();
  await writer.close();
  // The descriptors are still the caller's, and still open.
  fstatSync(fdIn);
  fstatSync(fdOut);
  closeSync(fdIn);
  closeSync(fdOut);
  assert.equal(sha(dst), sha(src));
});

/** sha256 of a file read in 8 MiB pieces (a 1 GiB file never sits in memory whole). */
function shaStreamed(path: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(8 << 20);
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

test('1 GiB file piped fd -> BufReader -> BufWriter -> fd with stream.pipeline: same checksum (both files deleted after)', async () => {
  const GIB = 1024 * 1024 * 1024;
  const src = t.path('gib.bin');
  const dst = t.path('gib-copy.bin');
  // Generated in 8 MiB pieces of xorshift words, every byte written (not sparse).
  const piece = Buffer.allocUnsafe(8 << 20);
  const words = new Uint32Array(piece.buffer, piece.byteOffset, piece.length / 4);
  const expected = createHash('sha256');
  let x = 0x2545f491;
  const out = openSync(src, 'w');
  try {
    for (let done = 0; done < GIB; done += piece.length) {
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = x >>> 0;
      }
      expected.update(piece);
      for (let off = 0; off < piece.length; ) off += writeSync(out, piece, off, piece.length - off);
    }
  } finally {
    closeSync(out);
  }
  try {
    const fdIn = openSync(src, 'r');
    const fdOut = openSync(dst, 'w');
    try {
      const reader = new BufReader(fdIn, 1024 * 1024);
      const writer = new BufWriter(fdOut, 512 * 1024);
      await pipeline(reader.readable(), writer.writable());
      reader.close();
      await writer.close();
      assert.equal(fstatSync(fdOut).size, GIB);
    } finally {
      closeSync(fdIn);
      closeSync(fdOut);
    }
    assert.equal(shaStreamed(dst), expected.digest('hex'));
  } finally {
    rmSync(src, { force: true });
    rmSync(dst, { force: true });
  }
});

test('64 MiB file piped Node streams -> BufReader -> BufWriter -> Node stream: same checksum', async () => {
  const src = big();
  const dst = t.path('copy-stream.bin');
  const out = createWriteStream(dst, { highWaterMark: 16 * 1024 });
  const reader = new BufReader(createReadStream(src, { highWaterMark: 100_000 }), 64 * 1024);
  const writer = new BufWriter(out, 64 * 1024);
  await pipeline(reader.readable(), writer.writable());
  reader.close();
  await writer.close();
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  assert.equal(sha(dst), sha(src));
});

test('64 MiB file through a 4 KiB Ring used as a Writable and a Readable at once: same checksum', async () => {
  const src = big();
  const dst = t.path('copy-ring.bin');
  const ring = new Ring(4096);
  await Promise.all([pipeline(createReadStream(src), ring.writable()), pipeline(ring.readable(), createWriteStream(dst))]);
  ring.close();
  assert.equal(sha(dst), sha(src));
});

test('readLine and async iteration by lines: \\n, \\r\\n, UTF-8, a last line without newline, lines across the wrap', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) lines.push(`line ${i} ${'€'.repeat(i % 7)}${'x'.repeat(i % 300)}`);
  const body = lines.map((l, i) => l + (i % 5 === 0 ? '\r\n' : '\n')).join('') + 'tail without newline';
  const path = t.path('lines.txt');
  writeFileSync(path, body);
  // From a descriptor, with a one-page ring (lines wrap around it constantly).
  const fd = openSync(path, 'r');
  const got: string[] = [];
  const reader = new BufReader(fd, 4096);
  for await (const line of reader) got.push(line);
  reader.close();
  closeSync(fd);
  assert.deepEqual(got, [...lines, 'tail without newline']);
  // From a Node stream, readLine keeps the newline.
  const r2 = new BufReader(createReadStream(path, { highWaterMark: 1000 }), 4096);
  assert.equal(await r2.readLine(), 'line 0 \r\n');
  assert.equal(await r2.readLine(), 'line 1 €x\n');
  let last = '';
  for (let l = await r2.readLine(); l !== null; l = await r2.readLine()) last = l;
  assert.equal(last, 'tail without newline');
  assert.equal(await r2.readLine(), null);
  r2.close();
});

test('a line longer than the capacity is ERR_MMAP_RING_FULL; fillBuf/consume still read it', async () => {
  const reader = new BufReader(Readable.from([Buffer.alloc(5000, 0x61), Buffer.from('\nshort\n')]), 4096);
  await assert.rejects(reader.readLine(), (e: unknown) => code(e) === 'ERR_MMAP_RING_FULL');
  let total = 0;
  for (;;) {
    const bytes = await reader.fillBuf();
    const nl = bytes.indexOf(10);
    if (nl >= 0) {
      total += nl;
      reader.consume(nl + 1);
      break;
    }
    total += bytes.length;
    reader.consume(bytes.length);
  }
  assert.equal(total, 5000);
  assert.equal(await reader.readLine(), 'short\n');
  assert.equal(await reader.readLine(), null);
  assert.equal((await reader.fillBuf()).length, 0);
  reader.close();
});

test('BufReader.read copies up to the target length and returns 0 at the end', async () => {
  const reader = new BufReader(Readable.from(['abc', 'defgh']), 4096);
  const out = new Uint8Array(4);
  assert.equal(await reader.read(out), 3); // one source chunk at a time
  assert.equal(Buffer.from(out.subarray(0, 3)).toString(), 'abc');
  assert.equal(await reader.read(out), 4);
  assert.equal(await reader.read(out), 1);
  assert.equal(await reader.read(out), 0);
  assert.equal(await reader.read(new Uint8Array(0)), 0);
  await assert.rejects(reader.read(null as never), (e: unknown) => code(e) === 'ERR_INVALID_ARG_TYPE');
  reader.close();
  await assert.rejects(reader.readLine(), (e: unknown) => code(e) === 'ERR_MMAP_CLOSED');
  assert.throws(
    () => reader.consume(0),
    (e: unknown) => code(e) === 'ERR_MMAP_CLOSED',
  );
});

test('BufReader pulls from its source only as it needs (backpressure)', async () => {
  let pulled = 0;
  async function* source() {
    for (let i = 0; i < 10_000; i++) {
      pulled++;
      yield Buffer.from(`row ${i}\n`);
    }
  }
  const reader = new BufReader(Readable.from(source(), { highWaterMark: 4, objectMode: true }), 4096);
  for (let i = 0; i < 3; i++) assert.equal(await reader.readLine(), `row ${i}\n`);
  // A handful of rows read ahead by the Readable's own buffer, not 10,000.
  assert.ok(pulled < 50, `pulled ${pulled}`);
  reader.close();
});

test('BufWriter waits for a slow Writable (backpressure) and delivers every byte in order', async () => {
  const received: Buffer[] = [];
  const held: (() => void)[] = [];
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      received.push(Buffer.from(chunk));
      held.push(cb); // completes only when the test releases it
    },
  });
  const writer = new BufWriter(sink, 4096);
  const data = Buffer.alloc(3 * 4096 + 100);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
  let resolved = false;
  const p = writer.write(data).then((n) => {
    resolved = true;
    return n;
  });
  // Let every ready callback run: the write cannot finish while the sink holds its callbacks.
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(resolved, false);
  assert.ok(received.length >= 1);
  const inFlight = received.reduce((a, b) => a + b.length, 0);
  assert.ok(inFlight <= 4096, `the sink got ${inFlight} bytes before draining`);
  // Release the sink, chunk by chunk, until the write completes.
  while (!resolved) {
    const cb = held.shift();
    if (cb) cb();
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(await p, data.length);
  const flushing = writer.close();
  for (;;) {
    const cb = held.shift();
    if (cb) cb();
    const done = await Promise.race([flushing.then(() => true), new Promise((r) => setImmediate(() => r(false)))]);
    if (done) break;
  }
  assert.deepEqual(Buffer.concat(received), data);
  assert.equal(sink.destroyed, false); // the sink is the caller's
});

test('BufWriter to a descriptor: small writes are buffered until flush; strings and typed arrays accepted', async () => {
  const path = t.path('writer.txt');
  const fd = openSync(path, 'w');
  const writer = new BufWriter(fd, 4096);
  assert.equal(await writer.write('hello '), 6);
  assert.equal(await writer.write(new Uint16Array([0x6f77, 0x6c72]) as unknown as Uint8Array), 4);
  assert.equal(writer.buffered, 10);
  assert.equal(readFileSync(path).length, 0);
  await writer.flush();
  assert.equal(readFileSync(path, 'utf8'), 'hello worl');
  await assert.rejects(writer.write(42 as never), (e: unknown) => code(e) === 'ERR_INVALID_ARG_TYPE');
  await writer.write('d');
  await writer.close();
  await writer.close();
  assert.equal(readFileSync(path, 'utf8'), 'hello world');
  await assert.rejects(writer.write('x'), (e: unknown) => code(e) === 'ERR_MMAP_CLOSED');
  fstatSync(fd);
  closeSync(fd);
});

test('closing a BufReader while a descriptor read is in flight: no crash, the read rejects with ERR_MMAP_CLOSED', async () => {
  const fifo = t.path('fifo');
  execFileSync('mkfifo', [fifo]);
  const fd = openSync(fifo, 'r+'); // O_RDWR: does not wait for a writer
  try {
    const reader = new BufReader(fd, 4096);
    const p = reader.readLine();
    // Let the read reach the thread pool, where it blocks on the empty pipe.
    await new Promise((r) => setImmediate(r));
    reader.close();
    writeSync(fd, 'late data\n'); // the read now lands in the ring's memory, which must still be mapped
    await assert.rejects(p, (e: unknown) => code(e) === 'ERR_MMAP_CLOSED');
  } finally {
    closeSync(fd);
  }
});

test('closing a BufReader while a stream read is pending: it rejects with ERR_MMAP_CLOSED', async () => {
  const source = new PassThrough();
  const reader = new BufReader(source, 4096);
  const p = reader.readLine();
  reader.close();
  source.write('abc\n');
  await assert.rejects(p, (e: unknown) => code(e) === 'ERR_MMAP_CLOSED');
});

test('Ring.writable waits while the ring is full; Ring.readable ends after the writable ends; closing fails them', async () => {
  const ring = new Ring(4096);
  const w = ring.writable();
  let finished = false;
  const p = new Promise<void>((resolve, reject) => w.write(Buffer.alloc(6000, 1), (e) => (e ? reject(e) : resolve()))).then(() => {
    finished = true;
  });
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  assert.equal(finished, false);
  assert.equal(ring.readLen, 4096);
  const out = new Uint8Array(3000);
  assert.equal(ring.read(out), 3000);
  await p;
  assert.equal(ring.readLen, 1096 + 1904);
  w.end();
  const chunks: Buffer[] = [];
  for await (const c of ring.readable()) chunks.push(c as Buffer);
  assert.equal(Buffer.concat(chunks).length, 3000);
  // A reader waiting on an empty ring is failed by close().
  const r2 = new Ring(4096);
  const readable = r2.readable();
  const ended = new Promise<unknown>((resolve) => readable.on('error', resolve));
  readable.resume();
  await new Promise((r) => setImmediate(r));
  r2.close();
  assert.equal(code(await ended), 'ERR_MMAP_CLOSED');
  ring.close();
});

test('InfiniteRing.writable never waits: the readable sees the newest bytes', async () => {
  const ring = new InfiniteRing(4096);
  const w = ring.writable();
  const data = Buffer.alloc(10_000);
  for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
  await new Promise<void>((resolve, reject) => w.end(data, (e?: Error | null) => (e ? reject(e) : resolve())));
  const chunks: Buffer[] = [];
  for await (const c of ring.readable()) chunks.push(c as Buffer);
  assert.deepEqual(Buffer.concat(chunks), data.subarray(data.length - 4096));
  ring.close();
});

test('constructor arguments are checked with Node-shaped errors', () => {
  for (const bad of ['3', null, undefined, {}, 3n]) {
    assert.throws(
      () => new BufReader(bad as never),
      (e: unknown) => code(e) === 'ERR_INVALID_ARG_TYPE',
    );
    assert.throws(
      () => new BufWriter(bad as never),
      (e: unknown) => code(e) === 'ERR_INVALID_ARG_TYPE',
    );
  }
  for (const bad of [-1, 1.5, NaN, 2 ** 31]) {
    assert.throws(
      () => new BufReader(bad),
      (e: unknown) => code(e) === 'ERR_OUT_OF_RANGE',
    );
    assert.throws(
      () => new BufWriter(bad),
      (e: unknown) => code(e) === 'ERR_OUT_OF_RANGE',
    );
  }
  for (const bad of [0, -1, 2 ** 31]) {
    assert.throws(
      () => new BufReader(0, bad),
      (e: unknown) => code(e) === 'ERR_OUT_OF_RANGE',
    );
    assert.throws(
      () => new BufWriter(1, bad),
      (e: unknown) => code(e) === 'ERR_OUT_OF_RANGE',
    );
  }
  const r = new BufReader(0);
  assert.equal(r.capacity, 64 * 1024);
  r.close();
});

// ---- end of file is not sticky; following a growing file ----

test('a descriptor reader reads again after the end of the file (nothing sticky, as Rust BufRead)', async () => {
  const path = t.path('grow.txt');
  writeFileSync(path, 'one\n');
  const fd = openSync(path, 'r');
  try {
    const reader = new BufReader(fd, 4096);
    assert.equal(await reader.readLine(), 'one\n');
    assert.equal(await reader.readLine(), null);
    assert.equal((await reader.fillBuf()).length, 0);
    assert.equal(await reader.read(new Uint8Array(8)), 0);
    writeFileSync(path, 'one\ntwo\nthr', { flag: 'w' });
    assert.equal(await reader.readLine(), 'two\n');
    // Not following: a last line without its newline comes as it is.
    assert.equal(await reader.readLine(), 'thr');
    assert.equal(await reader.readLine(), null);
    writeFileSync(path, 'ee\n', { flag: 'a' });
    const out = new Uint8Array(8);
    assert.equal(await reader.read(out), 3);
    assert.equal(Buffer.from(out.subarray(0, 3)).toString(), 'ee\n');
    reader.close();
  } finally {
    closeSync(fd);
  }
});

test('follow: a tailer receives, in order, every line another process appends, and ends on close()', { timeout: 60_000 }, async () => {
  const path = t.path('tail.log');
  writeFileSync(path, 'line 0\n');
  const LINES = 300;
  // The child appends lines 1..LINES-1 in bursts, with pauses, each line
  // split in two writes so the tailer can see half a line.
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('node:fs');
       const fd = fs.openSync(process.argv[1], 'a');
       let i = 1;
       function burst() {
         for (let k = 0; k < 7 && i < ${LINES}; k++, i++) { fs.writeSync(fd, 'line ' + i); fs.writeSync(fd, ' ' + 'x'.repeat(i % 50) + '\\n'); }
         if (i < ${LINES}) setTimeout(burst, 3); else fs.closeSync(fd);
       }
       burst();`,
      path,
    ],
    { stdio: 'inherit' },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const fd = openSync(path, 'r');
  try {
    const reader = new BufReader(fd, { capacity: 4096, follow: true, pollMs: 5 });
    const got: string[] = [];
    for await (const line of reader) {
      got.push(line);
      if (got.length === LINES) reader.close();
    }
    assert.equal(await exited, 0);
    assert.equal(got.length, LINES);
    for (let i = 0; i < LINES; i++) assert.equal(got[i], i === 0 ? 'line 0' : `line ${i} ${'x'.repeat(i % 50)}`);
    assert.equal(await reader.readLine(), null); // closed while following: the input has ended
  } finally {
    closeSync(fd);
  }
});

test('follow: a half-written last line is held back until it is finished; the stream form follows too', { timeout: 30_000 }, async () => {
  const path = t.path('half.log');
  writeFileSync(path, 'abc');
  const fd = openSync(path, 'r');
  try {
    const reader = new BufReader(fd, 4096, { follow: true, pollMs: 2 });
    const p = reader.readLine();
    let settled = false;
    p.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 30)); // several polls
    assert.equal(settled, false);
    writeFileSync(path, 'def\nnext', { flag: 'a' });
    assert.equal(await p, 'abcdef\n');
    const chunks: Buffer[] = [];
    const readable = reader.readable();
    readable.on('data', (c: Buffer) => {
      chunks.push(c);
      if (Buffer.concat(chunks).toString() === 'next line\nmore') reader.close();
      else if (Buffer.concat(chunks).toString() === 'next') writeFileSync(path, ' line\nmore', { flag: 'a' });
    });
    await new Promise<void>((resolve, reject) => {
      readable.on('end', resolve);
      readable.on('error', reject);
    });
    assert.equal(Buffer.concat(chunks).toString(), 'next line\nmore');
  } finally {
    closeSync(fd);
  }
});

test('follow: an abort rejects the waiting call with an AbortError and leaves no listener; close() ends a wait at once', { timeout: 30_000 }, async () => {
  const path = t.path('abort.log');
  writeFileSync(path, '');
  const fd = openSync(path, 'r');
  try {
    const ac = new AbortController();
    const reader = new BufReader(fd, { follow: true, pollMs: 60_000, signal: ac.signal });
    const p = reader.readLine();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
    const reason = new Error('stop');
    ac.abort(reason);
    await assert.rejects(p, (e: unknown) => (e as Error).name === 'AbortError' && code(e) === 'ABORT_ERR' && (e as Error).cause === reason);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
    // Already aborted: a new wait rejects at once; buffered data is still readable.
    writeFileSync(path, 'x\n');
    assert.equal(await reader.readLine(), 'x\n');
    await assert.rejects(reader.readLine(), (e: unknown) => code(e) === 'ABORT_ERR');
    reader.close();

    const plain = new BufReader(fd, { follow: true, pollMs: 60_000 });
    const started = Date.now();
    const q = plain.readLine();
    await new Promise((r) => setTimeout(r, 20));
    plain.close();
    assert.equal(await q, null);
    assert.ok(Date.now() - started < 10_000, 'close() ended the 60 s wait');
    assert.equal((await plain.fillBuf()).length, 0);
  } finally {
    closeSync(fd);
  }
});

test('follow options are checked', () => {
  assert.throws(
    () => new BufReader(Readable.from(['a']), { follow: true }),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_ARGUMENT',
  );
  for (const bad of [0, 1.5, 60_001, -1]) {
    assert.throws(
      () => new BufReader(0, { follow: true, pollMs: bad }),
      (e: unknown) => code(e) === 'ERR_OUT_OF_RANGE',
    );
  }
  assert.throws(
    () => new BufReader(0, { follow: 'yes' as never }),
    (e: unknown) => code(e) === 'ERR_INVALID_ARG_TYPE',
  );
  assert.throws(
    () => new BufReader(0, { signal: {} as never }),
    (e: unknown) => code(e) === 'ERR_INVALID_ARG_TYPE',
  );
  assert.throws(
    () => new BufReader(0, 4096, { capacity: 8192 }),
    (e: unknown) => code(e) === 'ERR_INVALID_ARG_VALUE',
  );
  const r = new BufReader(0, { capacity: 8192 });
  assert.equal(r.capacity, 8192);
  r.close();
});
