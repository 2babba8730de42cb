// What a Node user reaches for beyond the seeds: iterable allocators,
// disposable create/open results, receipts that log, typed share handles,
// the raw layer's async forms, and the status page layout the TypeScript
// and C sides must agree on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALIGNMENT, MmapFile, RawMmapFile, inspectNative } from 'ranged-mmap';
import { native } from '../dist/native/binding.js';
import * as layout from '../dist/native/status-page.js';
import { pattern, tempDir } from './helpers.js';

test('allocator.ranges(size) iterates until exhaustion, for both allocators, and allocates only what the loop takes', () => {
  const t = tempDir();
  try {
    for (const kind of ['sequential', 'concurrent'] as const) {
      const size = 10 * ALIGNMENT + 100;
      const { file, allocator } = MmapFile.create(t.path(`${kind}.bin`), size, { allocator: kind });
      const first = [];
      for (const r of allocator.ranges(3 * ALIGNMENT)) {
        first.push([r.start, r.end]);
        if (first.length === 2) break;
      }
      assert.deepEqual(first, [
        [0, 3 * ALIGNMENT],
        [3 * ALIGNMENT, 6 * ALIGNMENT],
      ]);
      assert.equal(allocator.nextPos, 6 * ALIGNMENT, 'breaking out allocated nothing more');
      const rest = [...allocator.ranges(3 * ALIGNMENT)].map((r) => [r.start, r.end]);
      assert.deepEqual(rest, [
        [6 * ALIGNMENT, 9 * ALIGNMENT],
        [9 * ALIGNMENT, size],
      ]);
      assert.deepEqual([...allocator.ranges(1)], []);
      assert.throws(() => allocator.ranges(0).next(), { code: 'ERR_OUT_OF_RANGE' });
      file.close();
    }
  } finally {
    t.cleanup();
  }
});

test('the result of create/open is disposable: `using` closes the file', async () => {
  const t = tempDir();
  try {
    let kept: MmapFile | undefined;
    {
      using opened = MmapFile.create(t.path('u.bin'), ALIGNMENT);
      kept = opened.file;
      assert.equal(kept.isClosed, false);
    }
    assert.equal(kept.isClosed, true);
    {
      await using opened = await MmapFile.openAsync(t.path('u.bin'));
      kept = opened.file;
    }
    assert.equal(kept.isClosed, true);
    assert.equal(inspectNative().threadAttachments, 0);
  } finally {
    t.cleanup();
  }
});

test('a WriteReceipt logs as { start, end }; a parsed copy flushes nothing', () => {
  const t = tempDir();
  try {
    const { file, allocator } = MmapFile.create(t.path('r.bin'), 4 * ALIGNMENT);
    allocator.allocate(ALIGNMENT);
    const range = allocator.allocate(ALIGNMENT)!;
    const receipt = file.writeRange(range, new Uint8Array(ALIGNMENT));
    assert.equal(JSON.stringify(receipt), JSON.stringify({ start: ALIGNMENT, end: 2 * ALIGNMENT }));
    assert.throws(() => file.flushRange(JSON.parse(JSON.stringify(receipt))), { code: 'ERR_MMAP_INVALID_RECEIPT' });
    file.close();
  } finally {
    t.cleanup();
  }
});

test('share() handles say which allocator the receiving thread gets; a handle with a changed allocator is refused', () => {
  const t = tempDir();
  try {
    const conc = MmapFile.create(t.path('c.bin'), ALIGNMENT, { allocator: 'concurrent' });
    const seq = MmapFile.create(t.path('s.bin'), ALIGNMENT);
    const raw = RawMmapFile.create(t.path('r.bin'), ALIGNMENT);
    assert.equal(conc.file.share().allocator, 'concurrent');
    assert.equal(seq.file.share().allocator, 'sequential');
    assert.equal(raw.share().allocator, 'none');
    const forged = { ...seq.file.share(), allocator: 'concurrent' as const };
    assert.throws(() => MmapFile.fromShared(forged), { code: 'ERR_MMAP_INVALID_ARGUMENT', message: /altered/ });
    const back = MmapFile.fromShared(conc.file.share());
    assert.notEqual(back.allocator, null);
    back.file.close();
    conc.file.close();
    seq.file.close();
    raw.close();
  } finally {
    t.cleanup();
  }
});

test('RawMmapFile.fillAsync and flushRangeAsync work, check their arguments, and reject on a closed file', async () => {
  const t = tempDir();
  try {
    const path = t.path('f.bin');
    const raw = RawMmapFile.create(path, 3 * ALIGNMENT);
    raw.writeAt(0, pattern(3 * ALIGNMENT, 3));
    await raw.fillAsync(100, ALIGNMENT, 0x5a);
    await raw.flushRangeAsync(0, 3 * ALIGNMENT);
    await assert.rejects(raw.fillAsync(3 * ALIGNMENT - 1, 2, 1), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
    await assert.rejects(raw.fillAsync(0, 1, 256), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => raw.flushRangeAsync(0, 3 * ALIGNMENT + 1), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
    raw.syncAll();
    raw.close();
    await assert.rejects(raw.fillAsync(0, 1, 1), { code: 'ERR_MMAP_CLOSED' });
    const expected = Buffer.from(pattern(3 * ALIGNMENT, 3));
    expected.fill(0x5a, 100, 100 + ALIGNMENT);
    assert.ok(readFileSync(path).equals(expected));
  } finally {
    t.cleanup();
  }
});

test('the status page layout in TypeScript is the one the native core uses', () => {
  assert.deepEqual(native.statusLayout, {
    faultsI32: layout.STATUS_FAULTS_I32,
    allocatorKindI32: layout.STATUS_ALLOCATOR_KIND_I32,
    faultOffsetF64: layout.STATUS_FAULT_OFFSET_F64,
    allocNextI64: layout.STATUS_ALLOC_NEXT_I64,
    allocNextPagesI32: layout.STATUS_ALLOC_NEXT_PAGES_I32,
    bytes: 4096,
  });
});

test('cursor(): seek checks bounds and state and returns where the bytes are in a per-thread view; no new view per seek', () => {
  const t = tempDir();
  try {
    const path = t.path('cur.bin');
    const raw = RawMmapFile.create(path, 3 * ALIGNMENT);
    raw.writeAt(0, pattern(3 * ALIGNMENT, 8));
    const cursor = raw.cursor();
    const at = cursor.seek(100, 16);
    const bytes = cursor.bytes;
    assert.deepEqual(bytes.subarray(at, at + 16), pattern(3 * ALIGNMENT, 8).subarray(100, 116));
    for (let i = 0; i < 1000; i++) cursor.seek((i * 7) % (2 * ALIGNMENT), 64);
    assert.equal(cursor.bytes, bytes, 'the same view every time');
    assert.equal(cursor.seek(3 * ALIGNMENT, 0), 3 * ALIGNMENT);
    assert.throws(() => cursor.seek(3 * ALIGNMENT - 1, 2), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
    assert.throws(() => cursor.seek(1.5, 2), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => cursor.seek(-1, 2), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => cursor.seek('0' as never, 2), { code: 'ERR_INVALID_ARG_TYPE' });
    raw.close();
    assert.equal(bytes.length, 0, 'the view is detached by close');
    assert.throws(() => cursor.seek(0, 1), { code: 'ERR_MMAP_CLOSED' });
  } finally {
    t.cleanup();
  }
});

test('cursor() over a file larger than one window: seek moves to the window that holds the span, and says -1 for a span across two', () => {
  const t = tempDir();
  try {
    const window = 2 ** 30;
    const raw = RawMmapFile.create(t.path('big.bin'), 2 * window + ALIGNMENT, { sparse: true });
    raw.writeAt(window - 2, Uint8Array.of(1, 2, 3, 4));
    const cursor = raw.cursor();
    assert.equal(cursor.seek(window - 2, 4), -1);
    assert.equal(cursor.seek(window, 2), 0);
    assert.equal(cursor.windowStart, window);
    assert.deepEqual([...cursor.bytes.subarray(0, 2)], [3, 4]);
    assert.equal(cursor.seek(2 * window + 10, 4), 10);
    assert.equal(cursor.windowStart, 2 * window);
    assert.equal(cursor.seek(window - 2, 2), window - 2);
    assert.deepEqual([...cursor.bytes.subarray(window - 2, window)], [1, 2]);
    raw.close();
  } finally {
    t.cleanup();
  }
});
