// Every public function and getter doing its job, checked against the
// bytes on disk (read back with node:fs) where it writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  ALIGNMENT,
  MAX_OFFSET,
  ConcurrentAllocator,
  MmapFile,
  RawMmapFile,
  SequentialAllocator,
  WriteReceipt,
  AllocatedRange,
  alignDown,
  alignUp,
  inspectNative,
} from 'ranged-mmap';
import { pattern, tempDir } from './helpers.js';

test('ALIGNMENT, alignUp and alignDown for numbers and bigints', () => {
  assert.equal(ALIGNMENT, 4096);
  assert.equal(MAX_OFFSET, Number.MAX_SAFE_INTEGER);
  const cases: [number, number, number][] = [
    [0, 0, 0],
    [1, 4096, 0],
    [4095, 4096, 0],
    [4096, 4096, 4096],
    [4097, 8192, 4096],
    [2 ** 40 + 1, 2 ** 40 + 4096, 2 ** 40],
  ];
  for (const [v, up, down] of cases) {
    assert.equal(alignUp(v), up, `alignUp(${v})`);
    assert.equal(alignDown(v), down, `alignDown(${v})`);
    assert.equal(alignUp(BigInt(v)), BigInt(up));
    assert.equal(alignDown(BigInt(v)), BigInt(down));
  }
});

test('create: exact size (number or bigint), mode, exclusive, and space reserved unless sparse', () => {
  const t = tempDir();
  try {
    const a = MmapFile.create(t.path('a.bin'), 10_000);
    assert.equal(a.file.size, 10_000);
    assert.equal(a.file.path, t.path('a.bin'));
    assert.ok(a.allocator instanceof SequentialAllocator);
    a.file.close();
    assert.equal(statSync(t.path('a.bin')).size, 10_000);
    // Preallocated: blocks cover the size. Sparse: (almost) no blocks.
    const pre = MmapFile.create(t.path('pre.bin'), 8n * 1024n * 1024n, { mode: 0o600, exclusive: true });
    pre.file.close();
    const preStat = statSync(t.path('pre.bin'));
    assert.equal(preStat.size, 8 * 1024 * 1024);
    assert.ok(preStat.blocks * 512 >= 8 * 1024 * 1024, `blocks ${preStat.blocks}`);
    assert.equal(preStat.mode & 0o777, 0o600);
    const sparse = RawMmapFile.create(t.path('sparse.bin'), 8 * 1024 * 1024, { sparse: true });
    sparse.close();
    assert.ok(statSync(t.path('sparse.bin')).blocks * 512 < 1024 * 1024);
    // create replaces an existing file (without exclusive), at the new size, zeroed.
    writeFileSync(t.path('a.bin'), pattern(20_000, 1));
    const again = MmapFile.create(pathToFileURL(t.path('a.bin')), 5000);
    again.file.close();
    const disk = readFileSync(t.path('a.bin'));
    assert.equal(disk.length, 5000);
    assert.ok(disk.every((b) => b === 0));
  } finally {
    t.cleanup();
  }
});

test('sequential allocator: rounding, clamping, exhaustion, remaining/nextPos/totalSize', () => {
  const t = tempDir();
  try {
    const { file, allocator } = MmapFile.create(t.path('s.bin'), 3 * ALIGNMENT + 100);
    assert.equal(allocator.totalSize, 3 * ALIGNMENT + 100);
    const r1 = allocator.allocate(1)!;
    assert.deepEqual([r1.start, r1.end, r1.length, r1.isEmpty], [0, 4096, 4096, false]);
    const r2 = allocator.allocate(5000n)!;
    assert.deepEqual([r2.start, r2.end], [4096, 12288]);
    assert.equal(allocator.nextPos, 12288);
    assert.equal(allocator.remaining, 100);
    const last = allocator.allocate(ALIGNMENT)!; // clamped at the end of the file
    assert.deepEqual([last.start, last.end, last.length], [12288, 12388, 100]);
    assert.equal(allocator.allocate(1), null);
    assert.equal(allocator.remaining, 0);
    assert.deepEqual(allocator.saveState(), { kind: 'sequential', nextPos: 12388, totalSize: 12388 });
    assert.deepEqual(JSON.parse(JSON.stringify(allocator)), allocator.saveState());
    file.writeRange(last, pattern(100, 4));
    file.close();
    assert.deepEqual(new Uint8Array(readFileSync(t.path('s.bin')).subarray(12288)), pattern(100, 4));
  } finally {
    t.cleanup();
  }
});

test('concurrent allocator: same contract, one shared counter, state saved and resumed', () => {
  const t = tempDir();
  try {
    const { file, allocator } = MmapFile.create(t.path('c.bin'), 4 * ALIGNMENT, { allocator: 'concurrent' });
    assert.ok(allocator instanceof ConcurrentAllocator);
    const a = allocator.allocate(100)!;
    assert.deepEqual([a.start, a.end], [0, 4096]);
    const state = allocator.saveState();
    assert.deepEqual(state, { kind: 'concurrent', nextPos: 4096, totalSize: 4 * ALIGNMENT });
    file.writeRange(a, pattern(4096, 1));
    file.syncAll();
    file.close();
    // Resume from the saved state: allocation continues where it stopped.
    const resumed = MmapFile.open(t.path('c.bin'), { allocatorState: state });
    assert.ok(resumed.allocator instanceof ConcurrentAllocator);
    assert.equal(resumed.allocator.nextPos, 4096);
    const b = resumed.allocator.allocate(3 * ALIGNMENT)!;
    assert.deepEqual([b.start, b.end], [4096, 16384]);
    assert.equal(resumed.allocator.allocate(1), null);
    resumed.file.writeRange(b, pattern(3 * ALIGNMENT, 2));
    resumed.file.close();
    const disk = readFileSync(t.path('c.bin'));
    assert.deepEqual(new Uint8Array(disk.subarray(0, 4096)), pattern(4096, 1));
    assert.deepEqual(new Uint8Array(disk.subarray(4096)), pattern(3 * ALIGNMENT, 2));
    // A sequential state resumes too, and open() without state starts at 0.
    const seq = MmapFile.open(t.path('c.bin'), { allocatorState: { kind: 'sequential', nextPos: 8192, totalSize: 16384 } });
    assert.ok(seq.allocator instanceof SequentialAllocator);
    assert.equal(seq.allocator.allocate(1)!.start, 8192);
    seq.file.close();
    const fresh = MmapFile.open(t.path('c.bin'), { allocator: 'concurrent' });
    assert.equal(fresh.allocator.nextPos, 0);
    fresh.file.close();
  } finally {
    t.cleanup();
  }
});

test('AllocatedRange: splits with all three outcomes each, toJSON, toString', () => {
  const t = tempDir();
  try {
    const { file, allocator } = MmapFile.create(t.path('r.bin'), 16 * ALIGNMENT);
    const r = allocator.allocate(4 * ALIGNMENT)!; // [0, 16384)
    const up = r.splitAtAlignUp(5000);
    assert.equal(up.kind, 'split');
    if (up.kind !== 'split') return;
    assert.deepEqual([up.low.start, up.low.end, up.high.start, up.high.end], [0, 8192, 8192, 16384]);
    const lowOnly = up.high.splitAtAlignUp(16000);
    assert.equal(lowOnly.kind, 'lowOnly');
    const keep = lowOnly.kind === 'lowOnly' ? lowOnly.low : assert.fail();
    assert.equal(keep.isLive, true);
    assert.equal(keep.splitAtAlignUp(20000).kind, 'outOfBounds');
    const down = keep.splitAtAlignDown(13000);
    assert.equal(down.kind, 'split');
    if (down.kind !== 'split') return;
    assert.deepEqual([down.low.start, down.low.end, down.high.start, down.high.end], [8192, 12288, 12288, 16384]);
    assert.equal(down.high.splitAtAlignDown(12300).kind, 'highOnly');
    assert.equal(down.high.splitAtAlignDown(100).kind, 'outOfBounds');
    assert.deepEqual(down.low.toJSON(), { start: 8192, end: 12288 });
    assert.equal(String(down.low), 'AllocatedRange [8192, 12288)');
    assert.ok(down.low instanceof AllocatedRange);
    // The pieces are writable ranges of their own.
    const receipt = file.writeRange(down.low, pattern(4096, 9));
    assert.ok(receipt instanceof WriteReceipt);
    assert.deepEqual([receipt.start, receipt.end, receipt.length], [8192, 12288, 4096]);
    file.close();
    assert.deepEqual(new Uint8Array(readFileSync(t.path('r.bin')).subarray(8192, 12288)), pattern(4096, 9));
  } finally {
    t.cleanup();
  }
});

test('writeRange/readRange with any ArrayBufferView, sync and async; flush, sync and dispose forms', async () => {
  const t = tempDir();
  try {
    const { file, allocator } = await MmapFile.createAsync(t.path('w.bin'), 8 * ALIGNMENT);
    const a = allocator.allocate(ALIGNMENT)!;
    const b = allocator.allocate(2 * ALIGNMENT)!;
    const c = allocator.allocate(ALIGNMENT)!;
    const words = new Uint32Array(ALIGNMENT / 4).map((_, i) => i * 2654435761);
    const ra = file.writeRange(a, words); // a Uint32Array is written as its bytes
    const rb = await file.writeRangeAsync(b, Buffer.from(pattern(2 * ALIGNMENT, 2)));
    const rc = file.writeRange(c, new DataView(pattern(ALIGNMENT, 3).buffer));
    file.flushRange(ra);
    await file.flushRangeAsync(rb);
    file.syncRange(rc);
    await file.syncRangeAsync(rb);
    file.flush();
    await file.flushAsync();
    const back = new Uint8Array(3 * ALIGNMENT); // bigger than needed is fine
    assert.equal(file.readRange(b, back), 2 * ALIGNMENT);
    assert.deepEqual(back.subarray(0, 2 * ALIGNMENT), pattern(2 * ALIGNMENT, 2));
    const back2 = new Uint8Array(ALIGNMENT);
    assert.equal(await file.readRangeAsync(c, back2), ALIGNMENT);
    assert.deepEqual(back2, pattern(ALIGNMENT, 3));
    await file.syncAllAsync();
    file[Symbol.dispose]();
    assert.equal(file.isClosed, true);
    const disk = readFileSync(t.path('w.bin'));
    assert.deepEqual(new Uint8Array(disk.subarray(0, ALIGNMENT)), new Uint8Array(words.buffer));
    assert.deepEqual(new Uint8Array(disk.subarray(ALIGNMENT, 3 * ALIGNMENT)), pattern(2 * ALIGNMENT, 2));
    assert.deepEqual(new Uint8Array(disk.subarray(3 * ALIGNMENT, 4 * ALIGNMENT)), pattern(ALIGNMENT, 3));
    assert.ok(disk.subarray(4 * ALIGNMENT).every((x) => x === 0));
  } finally {
    t.cleanup();
  }
});

test('RawMmapFile: writeAt, readAt, readSlice (a live view), fill, zero, flushRange, syncRange, async forms', async () => {
  const t = tempDir();
  try {
    const raw = await RawMmapFile.createAsync(t.path('raw.bin'), 10_000);
    raw.writeAt(0, pattern(10_000, 1));
    await raw.writeAtAsync(100n, pattern(50, 2));
    raw.fill(5000, 1000, 0xee);
    raw.zero(9000, 1000);
    raw.flushRange(0, 10_000);
    raw.syncRange(0, 5000);
    await raw.syncRangeAsync(5000n, 5000n);
    const slice = raw.readSlice(5000, 10);
    assert.ok(slice.every((b) => b === 0xee));
    raw.writeAt(5000, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...slice.subarray(0, 4)], [1, 2, 3, 0xee]); // zero-copy: sees the write
    const buf = new Uint8Array(50);
    assert.equal(raw.readAt(100, buf), 50);
    assert.deepEqual(buf, pattern(50, 2));
    const buf2 = new Uint8Array(20);
    assert.equal(await raw.readAtAsync(9980, buf2), 20);
    assert.ok(buf2.every((b) => b === 0));
    raw.flush();
    raw.syncAll();
    await raw[Symbol.asyncDispose]();
    assert.equal(slice.length, 0, 'views are detached on close');
    const expected = pattern(10_000, 1);
    expected.set(pattern(50, 2), 100);
    expected.fill(0xee, 5000, 6000);
    expected.set([1, 2, 3], 5000);
    expected.fill(0, 9000, 10_000);
    assert.deepEqual(new Uint8Array(readFileSync(t.path('raw.bin'))), expected);
    // open and openAsync map the existing bytes.
    const again = RawMmapFile.open(t.path('raw.bin'));
    assert.deepEqual(again.readSlice(0, 10_000), expected);
    again.close();
    const again2 = await RawMmapFile.openAsync(pathToFileURL(t.path('raw.bin')));
    assert.equal(again2.size, 10_000);
    again2.close();
  } finally {
    t.cleanup();
  }
});

test('big writes (pwrite route) and warm big writes (mapping route) land the same bytes', () => {
  const t = tempDir();
  try {
    const size = 8 * 1024 * 1024;
    const { file, allocator } = MmapFile.create(t.path('big.bin'), size);
    const r = allocator.allocate(size)!;
    const first = pattern(size, 5);
    // The route is seen from outside the library: the kernel counts the
    // bytes this process hands to write-family system calls (wchar in
    // /proc/self/io). pwrite adds the whole write; a copy through the
    // mapping adds nothing.
    let wchar = bytesWrittenBySyscalls();
    file.writeRange(r, first); // cold pages: through the kernel
    const pwriteBytes = bytesWrittenBySyscalls() - wchar;
    assert.ok(pwriteBytes >= size, `a big write to cold pages should go through pwrite; write syscalls took ${pwriteBytes} of its ${size} bytes`);
    const view = new Uint8Array(size);
    file.readRange(r, view);
    assert.deepEqual(view, first, 'the mapping sees what pwrite wrote');
    const second = pattern(size, 6);
    wchar = bytesWrittenBySyscalls();
    file.writeRange(r, second); // warm pages: through the mapping
    const copyBytes = bytesWrittenBySyscalls() - wchar;
    assert.ok(copyBytes < 64 * 1024, `a big write to warm pages should be a copy through the mapping; write syscalls took ${copyBytes} bytes`);
    file.syncAll();
    file.close();
    assert.deepEqual(new Uint8Array(readFileSync(t.path('big.bin'))), second);
  } finally {
    t.cleanup();
  }
});

test("inspectNative counts mappings and this thread's open files", () => {
  const t = tempDir();
  try {
    const before = inspectNative();
    const a = RawMmapFile.create(t.path('i.bin'), 4096);
    const b = RawMmapFile.fromShared(a.share()); // same mapping, second attachment
    assert.equal(inspectNative().liveMappings, before.liveMappings + 1);
    assert.equal(inspectNative().threadAttachments, before.threadAttachments + 2);
    a.close();
    assert.equal(inspectNative().liveMappings, before.liveMappings + 1, 'still attached through b');
    b.close();
    assert.deepEqual(inspectNative(), before);
  } finally {
    t.cleanup();
  }
});

/** Bytes this process has passed to write, pwrite and similar system calls so far (Linux task I/O accounting). */
function bytesWrittenBySyscalls(): number {
  const line = readFileSync('/proc/self/io', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('wchar:'));
  assert.ok(line !== undefined, '/proc/self/io has no wchar line (a kernel without task I/O accounting)');
  return Number(line.slice('wchar:'.length).trim());
}
