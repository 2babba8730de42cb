// SPEC 5, "files of any size": a 64 GiB sparse file, written and read across
// every internal 1 GiB view boundary (every 4 GiB boundary is one of them),
// at the last byte, with number and bigint offsets, through both APIs, and
// checked with node:fs. Only a few pages near each boundary are touched, so
// the file stays sparse and the test stays quick.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { MmapFile, RawMmapFile, inspectNative, type AllocatedRange, type SequentialAllocator } from 'ranged-mmap';
import { tempDir, pattern } from './helpers.js';
import { firstDifference } from './fault-helpers.js';

const KiB = 1024;
const GiB = 2 ** 30;
const SIZE = 64 * GiB;
/** Every internal view boundary: 1 GiB, 2 GiB, ... 63 GiB. */
const BOUNDARIES = Array.from({ length: 63 }, (_, i) => (i + 1) * GiB);
const is4GiB = (b: number) => b % (4 * GiB) === 0;
/** Every write lands within this distance of a boundary (or of the end of the file). */
const REACH = 320 * KiB;

/**
 * Independent model of the file: zeros, overwritten in order by every write
 * the test makes. Only the bytes near boundaries are ever written.
 */
const writes: { offset: number; bytes: Uint8Array }[] = [];

function expected(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (const w of writes) {
    const from = Math.max(offset, w.offset);
    const to = Math.min(offset + length, w.offset + w.bytes.length);
    if (from < to) out.set(w.bytes.subarray(from - w.offset, to - w.offset), from - offset);
  }
  return out;
}

function assertBytes(actual: Uint8Array, offset: number, what: string): void {
  const want = expected(offset, actual.length);
  const at = firstDifference(actual, want);
  assert.equal(at, -1, `${what}: byte ${offset + at} is ${actual[at]}, expected ${want[at]}`);
}

/** The windows that hold every write: around each boundary, and the end of the file. */
const WINDOWS = [...BOUNDARIES.map((b) => ({ offset: b - REACH, length: 2 * REACH })), { offset: SIZE - REACH, length: REACH }];

const t = tempDir('ranged-mmap-big-');
const path = t.path('64GiB.bin');
let file: MmapFile;
let allocator: SequentialAllocator;
let raw: RawMmapFile;
const ranges: AllocatedRange[] = [];

before(() => {
  // The size as a bigint, on purpose.
  ({ file, allocator } = MmapFile.create(path, BigInt(SIZE), { sparse: true }));
});

after(() => {
  file?.close();
  raw?.close();
  t.cleanup();
});

/** Moves the sequential allocator to `pos` by allocating (and never writing) the gap. */
function skipTo(pos: number): void {
  if (pos > allocator.nextPos) allocator.allocate(pos - allocator.nextPos);
  assert.equal(allocator.nextPos, pos);
}

test('a 64 GiB sparse file is created at its full size without taking the space', () => {
  assert.equal(file.size, SIZE);
  assert.equal(allocator.totalSize, SIZE);
  const st = statSync(path);
  assert.equal(st.size, SIZE);
  assert.ok(st.blocks * 512 < 1024 * KiB, `a sparse create allocated ${st.blocks * 512} bytes`);
});

test('writeRange across every 1 GiB view boundary, large writes across every 4 GiB one, and up to the end', async () => {
  for (const [i, b] of BOUNDARIES.entries()) {
    // Two pages around each boundary (plain copies into two views); 512 KiB
    // around each 4 GiB one (the large-write route, first cold, then warm).
    const half = is4GiB(b) ? 256 * KiB : 4 * KiB;
    skipTo(b - half);
    const range = allocator.allocate(2 * half)!;
    assert.equal(range.start, b - half);
    assert.equal(range.end, b + half);
    const passes = is4GiB(b) ? 2 : 1;
    for (let pass = 0; pass < passes; pass++) {
      const bytes = pattern(range.length, i * 3 + pass);
      // Every fifth boundary through the libuv pool copy.
      if (i % 5 === 0) await file.writeRangeAsync(range, bytes);
      else file.writeRange(range, bytes);
      writes.push({ offset: range.start, bytes });
    }
    ranges.push(range);
  }
  // The last range is cut at the end of the file.
  skipTo(SIZE - 8 * KiB);
  const last = allocator.allocate(10_000)!;
  assert.equal(last.start, SIZE - 8 * KiB);
  assert.equal(last.end, SIZE);
  const bytes = pattern(last.length, 200);
  file.writeRange(last, bytes);
  writes.push({ offset: last.start, bytes });
  ranges.push(last);
  assert.equal(allocator.allocate(1), null);
  assert.equal(allocator.remaining, 0);

  for (const [i, range] of ranges.entries()) {
    const buf = new Uint8Array(range.length);
    assert.equal(i % 5 === 1 ? await file.readRangeAsync(range, buf) : file.readRange(range, buf), range.length);
    assertBytes(buf, range.start, `readRange [${range.start}, ${range.end})`);
  }
});

test('writeAt and fill straddling every boundary and at the last byte, with number and bigint offsets', () => {
  // A second mapping of the same file: both see one page cache.
  raw = RawMmapFile.open(path);
  assert.equal(raw.size, SIZE);
  for (const [i, b] of BOUNDARIES.entries()) {
    const bytes = pattern(13, 300 + i);
    // Starts 5 bytes before the boundary, ends 8 bytes after it.
    raw.writeAt(i % 2 === 0 ? b - 5 : BigInt(b) - 5n, bytes);
    writes.push({ offset: b - 5, bytes });
    if (is4GiB(b)) {
      // Unaligned and large: 600 000 bytes from 300 001 before the boundary.
      const big = pattern(600_000, 400 + i);
      raw.writeAt(BigInt(b - 300_001), big);
      writes.push({ offset: b - 300_001, bytes: big });
      raw.fill(b - 1000, 2000n, 0x5a);
      writes.push({ offset: b - 1000, bytes: new Uint8Array(2000).fill(0x5a) });
    }
  }
  raw.writeAt(SIZE - 1, Uint8Array.of(0xee));
  writes.push({ offset: SIZE - 1, bytes: Uint8Array.of(0xee) });
  raw.writeAt(BigInt(SIZE) - 3n, Uint8Array.of(0xdd, 0xcc));
  writes.push({ offset: SIZE - 3, bytes: Uint8Array.of(0xdd, 0xcc) });

  // One byte too far is refused, whichever way the offset is given.
  for (const [offset, length] of [
    [SIZE - 1, 2],
    [BigInt(SIZE), 1],
    [BigInt(SIZE) + 4096n, 1],
  ] as const) {
    assert.throws(() => raw.writeAt(offset, new Uint8Array(length)), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
  }
  assert.throws(() => raw.readAt(SIZE - 4, new Uint8Array(8)), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
  assert.throws(() => raw.writeAt(2n ** 53n, new Uint8Array(1)), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
});

test('every boundary reads back through readAt, readAtAsync, readSlice, and node:fs', async () => {
  const fd = openSync(path, 'r');
  try {
    for (const [i, w] of WINDOWS.entries()) {
      const viaReadAt = new Uint8Array(w.length);
      assert.equal(raw.readAt(i % 2 === 0 ? w.offset : BigInt(w.offset), viaReadAt), w.length);
      assertBytes(viaReadAt, w.offset, `readAt ${w.offset}`);

      // Crosses a view boundary (except the last window), so it is a copy.
      assertBytes(raw.readSlice(BigInt(w.offset), w.length), w.offset, `readSlice ${w.offset}`);

      const viaAsync = new Uint8Array(w.length);
      assert.equal(await raw.readAtAsync(BigInt(w.offset), viaAsync), w.length);
      assertBytes(viaAsync, w.offset, `readAtAsync ${w.offset}`);

      const viaFs = new Uint8Array(w.length);
      assert.equal(readSync(fd, viaFs, 0, w.length, BigInt(w.offset)), w.length);
      assertBytes(viaFs, w.offset, `node:fs readSync ${w.offset}`);
    }
    // The last byte, alone.
    const lastByte = new Uint8Array(1);
    raw.readAt(BigInt(SIZE) - 1n, lastByte);
    assert.equal(lastByte[0], 0xee);
  } finally {
    closeSync(fd);
  }
});

test('after syncAll and close the bytes are on disk and the file is still sparse', () => {
  file.syncAll();
  raw.syncAll();
  file.close();
  raw.close();
  assert.equal(inspectNative().liveMappings, 0);
  const st = statSync(path);
  assert.equal(st.size, SIZE);
  assert.ok(st.blocks * 512 < 256 * 1024 * KiB, `${st.blocks * 512} bytes allocated for a few MiB of writes`);
  const fd = openSync(path, 'r');
  try {
    for (const w of WINDOWS) {
      const buf = new Uint8Array(w.length);
      assert.equal(readSync(fd, buf, 0, w.length, w.offset), w.length);
      assertBytes(buf, w.offset, `on disk at ${w.offset}`);
    }
  } finally {
    closeSync(fd);
  }
});

test('allocators resume past 4 GiB from saved state, and their ranges split and write across boundaries', () => {
  // Sequential: resumed at 5 GiB + 12 KiB.
  const seqState = { kind: 'sequential' as const, nextPos: 5 * GiB + 12 * KiB, totalSize: SIZE };
  const seq = MmapFile.open(path, { allocatorState: JSON.parse(JSON.stringify(seqState)) });
  try {
    assert.equal(seq.allocator.nextPos, seqState.nextPos);
    assert.equal(seq.allocator.remaining, SIZE - seqState.nextPos);
    const r = seq.allocator.allocate(4096n)!;
    assert.deepEqual(r.toJSON(), { start: 5 * GiB + 12 * KiB, end: 5 * GiB + 16 * KiB });
    assert.deepEqual(JSON.parse(JSON.stringify(seq.allocator)), { kind: 'sequential', nextPos: 5 * GiB + 16 * KiB, totalSize: SIZE });
    const bytes = pattern(4096, 500);
    seq.file.writeRange(r, bytes);
    writes.push({ offset: r.start, bytes });
    seq.file.syncAll();
  } finally {
    seq.file.close();
  }

  // Concurrent: resumed 8 KiB before the 8 GiB boundary.
  const conc = MmapFile.open(path, { allocatorState: { kind: 'concurrent', nextPos: 8 * GiB - 8 * KiB, totalSize: SIZE } });
  try {
    const allocator = conc.allocator;
    assert.equal(allocator.nextPos, 8 * GiB - 8 * KiB);
    const r = allocator.allocate(64 * KiB)!;
    assert.deepEqual(r.toJSON(), { start: 8 * GiB - 8 * KiB, end: 8 * GiB + 56 * KiB });
    // Split at alignDown(8 GiB + 5000) = 8 GiB + 4 KiB: the low part straddles the boundary.
    const split = r.splitAtAlignDown(BigInt(8 * GiB + 5000));
    assert.equal(split.kind, 'split');
    if (split.kind !== 'split') return;
    assert.deepEqual(
      [split.low.toJSON(), split.high.toJSON()],
      [
        { start: 8 * GiB - 8 * KiB, end: 8 * GiB + 4 * KiB },
        { start: 8 * GiB + 4 * KiB, end: 8 * GiB + 56 * KiB },
      ],
    );
    assert.equal(r.isLive, false);
    const up = split.high.splitAtAlignUp(8 * GiB + 56 * KiB);
    assert.equal(up.kind, 'lowOnly');
    const high = up.kind === 'lowOnly' ? up.low : split.high;
    for (const [seed, part] of [
      [600, split.low],
      [601, high],
    ] as const) {
      const bytes = pattern(part.length, seed);
      conc.file.writeRange(part, bytes);
      writes.push({ offset: part.start, bytes });
    }
    assert.deepEqual(allocator.saveState(), { kind: 'concurrent', nextPos: 8 * GiB + 56 * KiB, totalSize: SIZE });
    conc.file.syncAll();
  } finally {
    conc.file.close();
  }

  const fd = openSync(path, 'r');
  try {
    for (const offset of [5 * GiB, 8 * GiB - 16 * KiB]) {
      const buf = new Uint8Array(80 * KiB);
      assert.equal(readSync(fd, buf, 0, buf.length, offset), buf.length);
      assertBytes(buf, offset, `on disk at ${offset}`);
    }
  } finally {
    closeSync(fd);
  }
  assert.equal(inspectNative().liveMappings, 0);
});
