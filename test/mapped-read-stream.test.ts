// createReadStream on MmapFile, RawMmapFile, MemoryMappedFile and MemoryMap:
// over a 5 GiB sparse file (data at every internal 1 GiB view boundary),
// odd start/end/highWaterMark byte-exact across the boundaries (the whole
// file hashed against fs.createReadStream is mapped-read-stream-5gib.test); zero-copy chunks within one view;
// backpressure; close, truncation, shrink and abort while streaming give an
// error on the stream, never a crash.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, openSync, readSync, writeFileSync } from 'node:fs';
import { getEventListeners } from 'node:events';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MemoryMap, MemoryMappedFile, MmapFile, RawMmapFile } from 'ranged-mmap';
import { pattern, tempDir } from './helpers.js';
import { FIVE_GIB_FILE_SIZE, fiveGiBFile } from './stream-helpers.js';

const t = tempDir('ranged-mmap-stream-');
after(() => t.cleanup());

const GiB = 2 ** 30;
const code = (e: unknown): unknown => (e as { code?: unknown }).code;

/** Every byte of a stream, with the chunks it came in. */
async function collect(stream: Readable): Promise<{ bytes: Buffer; chunks: Buffer[] }> {
  const chunks: Buffer[] = [];
  // 'data' events give the chunks as pushed (async iteration may join them).
  stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  return { bytes: Buffer.concat(chunks), chunks };
}

/** `length` bytes of `path` at `offset`, read with node:fs. */
function readWithFs(path: string, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

const BIG = FIVE_GIB_FILE_SIZE;
let bigPath: string | undefined;
const bigFile = (): string => (bigPath ??= fiveGiBFile(t));

test('odd start, end and highWaterMark across the 1 GiB view boundaries: byte-exact on every class', { timeout: 120_000 }, async () => {
  const path = bigFile();
  const { file } = MmapFile.open(path);
  const raw = RawMmapFile.open(path);
  const mm = MemoryMappedFile.openRo(path);
  try {
    const spans: [number, number, number][] = [
      // [start, end (inclusive), highWaterMark]
      [0, 69_999, 4096],
      [GiB - 100_001, GiB + 100_001, 65_537], // chunks straddle the boundary
      [GiB - 1, GiB, 1], // one byte each side
      [2 * GiB - 77_777, 2 * GiB + 3, 7_777],
      [3 * GiB - 5, 3 * GiB + (1 << 27) + 5, 1 << 26], // 128 MiB in big chunks, the first one across the boundary
      [5 * GiB - 100_001, BIG + 10_000, 100_003], // an end past the last byte reads to the end
      [BIG - 1, BIG - 1, 16],
    ];
    for (const [start, end, highWaterMark] of spans) {
      const length = Math.min(end, BIG - 1) - start + 1;
      const want = readWithFs(path, start, length);
      for (const [name, stream] of [
        ['MmapFile', file.createReadStream({ start, end, highWaterMark })],
        ['RawMmapFile', raw.createReadStream({ start: BigInt(start), end: BigInt(end), highWaterMark })],
        ['MemoryMappedFile', mm.createReadStream({ start, end, highWaterMark })],
        ['MemoryMappedFile copy', mm.createReadStream({ start, end, highWaterMark, copy: true })],
      ] as const) {
        const { bytes, chunks } = await collect(stream);
        assert.equal(bytes.length, length, `${name} [${start}, ${end}]`);
        assert.ok(bytes.equals(want), `${name} [${start}, ${end}] differs from node:fs`);
        assert.ok(
          chunks.every((c, i) => c.length === (i < chunks.length - 1 ? highWaterMark : length - highWaterMark * (chunks.length - 1))),
          `${name}: chunks of highWaterMark bytes, the last one the rest`,
        );
      }
    }
    // A MemoryMap (one window of up to 4 GiB, no internal views): no start or end is the whole window.
    const fd = openSync(path, 'r');
    try {
      const map = MemoryMap.withOptions()
        .offset(GiB - 100_001)
        .len(200_003)
        .map(fd);
      assert.ok((await collect(map.createReadStream({ highWaterMark: 999 }))).bytes.equals(readWithFs(path, GiB - 100_001, 200_003)));
      assert.ok((await collect(map.createReadStream({ start: 5, end: 5 }))).bytes.equals(readWithFs(path, GiB - 100_001 + 5, 1)));
      map.close();
    } finally {
      closeSync(fd);
    }
  } finally {
    file.close();
    raw.close();
    mm.close();
  }
});

test('chunks are views of the mapping (no copy) unless copy: true', async () => {
  const path = t.path('zero-copy.bin');
  writeFileSync(path, pattern(1 << 16, 3));
  const raw = RawMmapFile.open(path);
  try {
    const [view] = (await collect(raw.createReadStream({ highWaterMark: 1 << 16 }))).chunks;
    const [copy] = (await collect(raw.createReadStream({ highWaterMark: 1 << 16, copy: true }))).chunks;
    assert.ok(view !== undefined && copy !== undefined);
    raw.writeAt(10, Uint8Array.of(view[10]! ^ 0xff));
    assert.equal(view[10], raw.readSlice(10, 1)[0], 'the view sees the write: it is the mapping');
    assert.notEqual(copy[10], view[10], 'the copy does not');
  } finally {
    raw.close();
  }
  const map = MemoryMap.withOptions().open(path);
  const [chunk] = (await collect(map.createReadStream())).chunks;
  assert.equal(chunk?.buffer, map.bytes.buffer);
  map.close();
});

test('backpressure: the stream reads ahead at most highWaterMark while nobody consumes', async () => {
  const path = t.path('slow.bin');
  writeFileSync(path, pattern(1 << 20, 4));
  const { file } = MmapFile.open(path);
  try {
    const stream = file.createReadStream({ highWaterMark: 4096 });
    stream.pause();
    stream.read(0); // start reading
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.ok(stream.readableLength <= 4096, `buffered ${stream.readableLength}`);
    // A slow consumer still gets every byte, in order.
    const got: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _e, cb) {
        got.push(Buffer.from(chunk));
        setImmediate(cb);
      },
    });
    await pipeline(stream, slow);
    assert.ok(Buffer.concat(got).equals(readWithFs(path, 0, 1 << 20)));
  } finally {
    file.close();
  }
});

/** Pipes `stream` into a sink that calls `onChunk` after the first chunk; resolves with the pipeline's error. */
async function failureOf(stream: Readable, onChunk: () => void): Promise<unknown> {
  let n = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      let sum = 0;
      for (let i = 0; i < chunk.length; i += 4096) sum += chunk[i]!; // touch every page
      if (n++ === 0) onChunk();
      cb(sum < 0 ? new Error('unreachable') : null);
    },
  });
  try {
    await pipeline(stream, sink);
  } catch (error) {
    return error;
  }
  return null;
}

test('closing the file or map while streaming destroys the stream with ERR_MMAP_CLOSED; creating one on a closed file throws', async () => {
  const path = t.path('close.bin');
  writeFileSync(path, pattern(1 << 20, 5));
  const { file } = MmapFile.open(path);
  assert.equal(code(await failureOf(file.createReadStream({ highWaterMark: 4096 }), () => file.close())), 'ERR_MMAP_CLOSED');
  assert.throws(
    () => file.createReadStream(),
    (e: unknown) => code(e) === 'ERR_MMAP_CLOSED',
  );
  const mm = MemoryMappedFile.openRo(path);
  assert.equal(code(await failureOf(mm.createReadStream({ highWaterMark: 4096 }), () => mm.close())), 'ERR_MMAP_CLOSED');
  const map = MemoryMap.withOptions().open(path);
  assert.equal(code(await failureOf(map.createReadStream({ highWaterMark: 4096 }), () => map.close())), 'ERR_MMAP_CLOSED');
  assert.throws(
    () => map.createReadStream(),
    (e: unknown) => code(e) === 'ERR_MMAP_CLOSED',
  );
});

test('a file truncated under the stream (a fault) or shrunk by resize errors the stream; the process lives', async () => {
  const path = t.path('truncated.bin');
  writeFileSync(path, pattern(1 << 20, 6));
  const { file } = MmapFile.open(path);
  try {
    const other = openSync(path, 'r+');
    const error = await failureOf(file.createReadStream({ highWaterMark: 64 * 1024, copy: true }), () => {
      ftruncateSync(other, 4096);
      closeSync(other);
    });
    assert.equal(code(error), 'ERR_MMAP_FAULT');
  } finally {
    file.close();
  }
  const rwPath = t.path('resized.bin');
  writeFileSync(rwPath, pattern(1 << 20, 7));
  const mm = MemoryMappedFile.openRw(rwPath);
  try {
    const error = await failureOf(mm.createReadStream({ highWaterMark: 64 * 1024 }), () => mm.resize(8192));
    assert.equal(code(error), 'ERR_MMAP_OUT_OF_BOUNDS');
  } finally {
    mm.close();
  }
});

test('signal: an abort destroys the stream with an AbortError; no listener is left on the signal', async () => {
  const path = t.path('abort.bin');
  writeFileSync(path, pattern(1 << 20, 8));
  const { file } = MmapFile.open(path);
  try {
    const ac = new AbortController();
    const error = await failureOf(file.createReadStream({ highWaterMark: 4096, signal: ac.signal }), () => ac.abort());
    assert.equal((error as Error).name, 'AbortError');
    const done = new AbortController();
    await collect(file.createReadStream({ signal: done.signal }));
    assert.equal(getEventListeners(done.signal, 'abort').length, 0);
    const aborted = AbortSignal.abort();
    assert.equal(((await failureOf(file.createReadStream({ signal: aborted }), () => {})) as Error).name, 'AbortError');
  } finally {
    file.close();
  }
});

test('createReadStream options are checked', () => {
  const path = t.path('opts.bin');
  writeFileSync(path, pattern(100, 9));
  const raw = RawMmapFile.open(path);
  try {
    const refuses = (options: unknown, expected: string) =>
      assert.throws(
        () => raw.createReadStream(options as never),
        (e: unknown) => code(e) === expected,
        JSON.stringify(options, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)),
      );
    refuses({ start: -1 }, 'ERR_OUT_OF_RANGE');
    refuses({ start: 1.5 }, 'ERR_OUT_OF_RANGE');
    refuses({ start: '1' }, 'ERR_INVALID_ARG_TYPE');
    refuses({ start: 10, end: 9 }, 'ERR_OUT_OF_RANGE');
    refuses({ start: 101 }, 'ERR_MMAP_OUT_OF_BOUNDS');
    refuses({ highWaterMark: 0 }, 'ERR_OUT_OF_RANGE');
    refuses({ highWaterMark: '4' }, 'ERR_INVALID_ARG_TYPE');
    refuses({ signal: {} }, 'ERR_INVALID_ARG_TYPE');
    refuses({ copy: 1 }, 'ERR_INVALID_ARG_TYPE');
    refuses(5, 'ERR_INVALID_ARG_TYPE');
    // start at the very end: an empty stream, as node:fs gives.
    const s = raw.createReadStream({ start: 100 });
    s.destroy();
  } finally {
    raw.close();
  }
});
