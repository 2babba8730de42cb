// The seeds' README examples, rewritten for Node: threads become
// worker_threads, `Arc`/`clone` becomes `share()` + `fromShared()`, ranges
// move between threads with `transfer()` + `receiveRange()`. Each example
// checks every byte of the file on disk afterwards.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { ALIGNMENT, MmapFile, RawMmapFile } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import type { ExampleJob, ExampleReport } from './fixtures/example-worker.js';
import { WORKER_TEST, exampleWorkerUrl, runJob, terminateWorkers } from './worker-helpers.js';

/** Runs one example job in a worker; resolves with its report once it has exited cleanly. */
function runWorker(job: ExampleJob): Promise<ExampleReport> {
  return runJob<ExampleReport>(exampleWorkerUrl, job);
}

// A test that times out must not leave its workers running.
afterEach(terminateWorkers);

/** Asserts that bytes [from, to) of `disk` all equal `value`. */
function assertFilled(disk: Uint8Array, from: number, to: number, value: number): void {
  for (let i = from; i < to; i++) {
    if (disk[i] !== value) assert.fail(`byte ${i} is ${disk[i]}, expected ${value}`);
  }
}

test('type-safe: two ranges allocated in the main thread, written by two workers', WORKER_TEST, async () => {
  const t = tempDir();
  try {
    const { file, allocator } = MmapFile.create(t.path('output.bin'), ALIGNMENT * 256);
    const range1 = allocator.allocate(ALIGNMENT * 128)!;
    const range2 = allocator.allocate(ALIGNMENT * 128)!;
    assert.deepEqual([range1.start, range1.end, range2.start, range2.end], [0, 512 * 1024, 512 * 1024, 1024 * 1024]);
    const shared = file.share();
    await Promise.all([
      runWorker({ kind: 'typed', file: shared, range: range1.transfer(), value: 1 }),
      runWorker({ kind: 'typed', file: shared, range: range2.transfer(), value: 2 }),
    ]);
    file.syncAll();
    file.close();
    const disk = readFileSync(t.path('output.bin'));
    assert.equal(disk.length, ALIGNMENT * 256);
    assertFilled(disk, 0, 512 * 1024, 1);
    assertFilled(disk, 512 * 1024, 1024 * 1024, 2);
  } finally {
    t.cleanup();
  }
});

test('raw (unchecked offsets): two workers write disjoint halves of a 1024-byte file', WORKER_TEST, async () => {
  const t = tempDir();
  try {
    const file = RawMmapFile.create(t.path('output.bin'), 1024);
    const shared = file.share();
    await Promise.all([
      runWorker({ kind: 'raw', file: shared, offset: 0, length: 512, value: 1 }),
      runWorker({ kind: 'raw', file: shared, offset: 512, length: 512, value: 2 }),
    ]);
    file.flush();
    file.syncAll();
    file.close();
    const disk = readFileSync(t.path('output.bin'));
    assert.equal(disk.length, 1024);
    assertFilled(disk, 0, 512, 1);
    assertFilled(disk, 512, 1024, 2);
  } finally {
    t.cleanup();
  }
});

test('concurrent allocator: four workers allocate 4 KiB ranges until the file is full', WORKER_TEST, async () => {
  const t = tempDir();
  try {
    const pages = 100;
    const { file, allocator } = MmapFile.create(t.path('output.bin'), ALIGNMENT * pages, { allocator: 'concurrent' });
    const shared = file.share();
    const reports = await Promise.all([1, 2, 3, 4].map((value) => runWorker({ kind: 'concurrent', file: shared, value })));
    assert.equal(allocator.remaining, 0);
    assert.equal(allocator.allocate(ALIGNMENT), null);
    file.syncAll();
    file.close();
    // Every page was handed out exactly once, and holds the value of the worker that got it.
    const owner = new Map<number, number>();
    for (const [w, r] of reports.entries()) {
      for (const start of r.starts) {
        assert.equal(owner.has(start), false, `page at ${start} was allocated twice`);
        owner.set(start, w + 1);
      }
    }
    assert.equal(owner.size, pages);
    const disk = readFileSync(t.path('output.bin'));
    assert.equal(disk.length, ALIGNMENT * pages);
    for (const [start, value] of owner) assertFilled(disk, start, start + ALIGNMENT, value);
  } finally {
    t.cleanup();
  }
});

test('async: writes and flushes with Promises, then an async sync', WORKER_TEST, async () => {
  const t = tempDir();
  try {
    const { file, allocator } = await MmapFile.createAsync(t.path('output.bin'), ALIGNMENT * 256);
    const range1 = allocator.allocate(ALIGNMENT * 128)!;
    const range2 = allocator.allocate(ALIGNMENT * 128)!;
    const [receipt1, receipt2] = await Promise.all([
      file.writeRangeAsync(range1, new Uint8Array(range1.length).fill(1)),
      file.writeRangeAsync(range2, new Uint8Array(range2.length).fill(2)),
    ]);
    await Promise.all([file.flushRangeAsync(receipt1), file.flushRangeAsync(receipt2)]);
    await file.syncAllAsync();
    await file[Symbol.asyncDispose]();
    assert.equal(file.isClosed, true);
    const disk = readFileSync(t.path('output.bin'));
    assertFilled(disk, 0, 512 * 1024, 1);
    assertFilled(disk, 512 * 1024, 1024 * 1024, 2);
  } finally {
    t.cleanup();
  }
});

test('reading: a range written and read back', WORKER_TEST, () => {
  const t = tempDir();
  try {
    {
      using opened = disposable(MmapFile.create(t.path('output.bin'), ALIGNMENT));
      const { file, allocator } = opened.value;
      const range = allocator.allocate(ALIGNMENT)!;
      file.writeRange(range, new Uint8Array(ALIGNMENT).fill(42));
      const buf = new Uint8Array(ALIGNMENT);
      assert.equal(file.readRange(range, buf), ALIGNMENT);
      assertFilled(buf, 0, ALIGNMENT, 42);
      file.syncAll();
    }
    assertFilled(readFileSync(t.path('output.bin')), 0, ALIGNMENT, 42);
  } finally {
    t.cleanup();
  }
});

test('opening an existing file: size, remaining, and more writes', WORKER_TEST, () => {
  const t = tempDir();
  try {
    const existing = new Uint8Array(ALIGNMENT * 4).fill(9);
    writeFileSync(t.path('existing.bin'), existing);
    const { file, allocator } = MmapFile.open(t.path('existing.bin'));
    assert.equal(file.size, ALIGNMENT * 4);
    assert.equal(allocator.remaining, ALIGNMENT * 4);
    const range = allocator.allocate(ALIGNMENT)!;
    file.writeRange(range, new Uint8Array(ALIGNMENT));
    assert.equal(allocator.remaining, ALIGNMENT * 3);
    file.syncAll();
    file.close();
    const disk = readFileSync(t.path('existing.bin'));
    assertFilled(disk, 0, ALIGNMENT, 0);
    assertFilled(disk, ALIGNMENT, ALIGNMENT * 4, 9);
  } finally {
    t.cleanup();
  }
});

/** Wraps a `{ file }` pair so that `using` closes the file at the end of the block. */
function disposable<T extends { file: MmapFile }>(value: T): { value: T; [Symbol.dispose](): void } {
  return { value, [Symbol.dispose]: () => value.file[Symbol.dispose]() };
}
