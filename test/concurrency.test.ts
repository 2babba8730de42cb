// Many threads, one file: real worker_threads write thousands of ranges
// into one mapping; every byte on disk is checked afterwards, and the
// ranges handed out are checked to tile the file exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALIGNMENT, MmapFile, RawMmapFile } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import { runWorker } from './worker-helpers.js';
import { expectedByte } from './fixtures/conc-pattern.js';

/** Checks that `owners` tile [0, size) and that every byte on disk is its owner's. */
function verifyFile(path: string, size: number, owners: { id: number; start: number; end: number }[]): void {
  const disk = readFileSync(path);
  assert.equal(disk.length, size);
  const sorted = [...owners].sort((a, b) => a.start - b.start);
  let at = 0;
  for (const { id, start, end } of sorted) {
    assert.equal(start, at, `gap or overlap at ${at}`);
    for (let p = start; p < end; p++) {
      if (disk[p] !== expectedByte(id, start, p)) assert.fail(`byte ${p} is ${disk[p]}, expected ${expectedByte(id, start, p)} (worker ${id})`);
    }
    at = end;
  }
  assert.equal(at, size, 'ranges stop short of the end of the file');
}

test('4 workers allocate from one concurrent allocator until the file is full: thousands of ranges, no overlap, every byte right', async () => {
  const t = tempDir();
  try {
    const size = 24 * 1024 * 1024 + 1234; // the last range is clamped
    const { file, allocator } = MmapFile.create(t.path('c.bin'), size, { allocator: 'concurrent' });
    const shared = file.share();
    const sizes = [4096, 5000, 1, 8192, 12288, 16384, 100, 7000];
    const reports = await Promise.all([0, 1, 2, 3].map((id) => runWorker({ kind: 'allocate', id, file: shared, sizes })));
    assert.equal(allocator.allocate(1), null);
    file.syncAll();
    file.close();
    const owners = reports.flatMap((r, id) => r.ranges.map(([start, end]) => ({ id, start, end })));
    assert.ok(owners.length > 2000, `only ${owners.length} ranges`);
    assert.ok(reports.filter((r) => r.ranges.length > 0).length >= 2, 'more than one worker got ranges');
    verifyFile(t.path('c.bin'), size, owners);
  } finally {
    t.cleanup();
  }
});

for (const allocatorKind of ['sequential', 'concurrent'] as const) {
  test(`ranges allocated in the main thread (${allocatorKind}) are moved to workers, written there, and dead here`, async () => {
    const t = tempDir();
    try {
      const pages = 600;
      const { file, allocator } = MmapFile.create(t.path('m.bin'), pages * ALIGNMENT, { allocator: allocatorKind });
      const ranges = [];
      for (let r = allocator.allocate(ALIGNMENT * (1 + (ranges.length % 3))); r !== null; r = allocator.allocate(ALIGNMENT * (1 + (ranges.length % 3)))) ranges.push(r);
      const perWorker: ReturnType<(typeof ranges)[number]['transfer']>[][] = [[], [], []];
      ranges.forEach((r, i) => perWorker[i % 3].push(r.transfer()));
      for (const r of ranges) {
        assert.equal(r.isLive, false);
        assert.throws(() => file.writeRange(r, new Uint8Array(r.length)), { code: 'ERR_MMAP_RANGE_CONSUMED' });
      }
      const shared = file.share();
      const reports = await Promise.all(perWorker.map((transfers, id) => runWorker({ kind: 'receive', id, file: shared, transfers, claimTwice: id === 0 })));
      assert.ok(reports[0].codes.length > 0 && reports[0].codes.every((c) => c === 'ERR_MMAP_RANGE_CLAIMED'), reports[0].codes.join());
      // A transfer already claimed in a worker cannot be claimed here either.
      assert.throws(() => file.receiveRange(perWorker[1][0]), { code: 'ERR_MMAP_RANGE_CLAIMED' });
      file.syncAll();
      file.close();
      verifyFile(t.path('m.bin'), pages * ALIGNMENT, reports.flatMap((r, id) => r.ranges.map(([start, end]) => ({ id, start, end }))));
    } finally {
      t.cleanup();
    }
  });
}

test('a transfer sent to a worker of another file is refused there', async () => {
  const t = tempDir();
  try {
    const a = MmapFile.create(t.path('a.bin'), 4 * ALIGNMENT);
    const b = MmapFile.create(t.path('b.bin'), 4 * ALIGNMENT);
    const transfer = a.allocator.allocate(ALIGNMENT)!.transfer();
    await assert.rejects(runWorker({ kind: 'receive', id: 0, file: b.file.share(), transfers: [transfer] }), /ERR_MMAP_FOREIGN_RANGE|another file/);
    // Still claimable by a worker of the right file, exactly once.
    const ok = await runWorker({ kind: 'receive', id: 1, file: a.file.share(), transfers: [transfer] });
    assert.deepEqual(ok.ranges, [[0, ALIGNMENT]]);
    a.file.close();
    b.file.close();
  } finally {
    t.cleanup();
  }
});

test('RawMmapFile shared with 2 workers writing disjoint halves', async () => {
  const t = tempDir();
  try {
    const size = 3 * 1024 * 1024 + 10;
    const raw = RawMmapFile.create(t.path('r.bin'), size);
    const shared = raw.share();
    const half = Math.floor(size / 2);
    const reports = await Promise.all([
      runWorker({ kind: 'raw', id: 0, file: shared, offset: 0, length: half }),
      runWorker({ kind: 'raw', id: 1, file: shared, offset: half, length: size - half }),
    ]);
    raw.syncAll();
    raw.close();
    verifyFile(t.path('r.bin'), size, reports.flatMap((r, id) => r.ranges.map(([start, end]) => ({ id, start, end }))));
  } finally {
    t.cleanup();
  }
});
