// allocateMany on ConcurrentAllocator and SequentialAllocator: ranges in
// file order from one counter step, fewer at the end of the file, the same
// ownership rules as allocate, argument checks, and real worker threads
// (allocateMany alone and mixed with allocate) tiling the file exactly, every
// byte written by the one thread that owned it.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALIGNMENT, MmapFile } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import { TestWorker, WORKER_TEST, releaseTogether, terminateWorkers } from './worker-helpers.js';
import type { AllocManyJob, AllocManyReport } from './fixtures/alloc-many-worker.js';

const t = tempDir('ranged-mmap-alloc-many-');
after(() => t.cleanup());
afterEach(terminateWorkers);
const workerUrl = new URL('./fixtures/alloc-many-worker.js', import.meta.url);

test('one thread: ranges follow each other, fewer at the end, the last cut at the end of the file', () => {
  for (const kind of ['concurrent', 'sequential'] as const) {
    const size = 10 * ALIGNMENT + 100;
    const { file, allocator } = MmapFile.create(t.path(`one-${kind}.bin`), size, { allocator: kind });
    const first = allocator.allocateMany(3, 5000); // two pages each
    assert.deepEqual(
      first.map((r) => [r.start, r.end]),
      [
        [0, 8192],
        [8192, 16384],
        [16384, 24576],
      ],
      kind,
    );
    const single = allocator.allocate(1);
    assert.deepEqual([single?.start, single?.end], [24576, 28672], kind);
    const rest = allocator.allocateMany(10, 8192);
    assert.deepEqual(
      rest.map((r) => [r.start, r.end]),
      [
        [28672, 36864],
        [36864, size],
      ],
      `${kind}: fewer than asked, the last one cut at the end`,
    );
    assert.deepEqual(allocator.allocateMany(5, 4096), [], `${kind}: nothing left`);
    assert.deepEqual(allocator.allocateMany(0, 4096), [], kind);
    assert.equal(allocator.remaining, 0);
    // Ownership as with allocate: a range writes exactly its own bytes.
    const r = first[0];
    const receipt = file.writeRange(r, new Uint8Array(r.length).fill(1));
    assert.equal(receipt.start, 0);
    assert.throws(() => file.writeRange(first[1], new Uint8Array(4096)), { code: 'ERR_MMAP_LENGTH_MISMATCH' });
    file.close();
    assert.throws(() => allocator.allocateMany(1, 4096), { code: 'ERR_MMAP_CLOSED' });
  }
});

test('argument checks: count and size', () => {
  for (const kind of ['concurrent', 'sequential'] as const) {
    const { file, allocator } = MmapFile.create(t.path(`args-${kind}.bin`), 8 * ALIGNMENT, { allocator: kind });
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, '2', null]) {
      assert.throws(
        () => allocator.allocateMany(bad as never, 4096),
        (e: unknown) => (e as { code?: string }).code === 'ERR_OUT_OF_RANGE' || (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE',
        `${kind} count ${String(bad)}`,
      );
      assert.throws(
        () => allocator.allocateMany(1, bad as never),
        (e: unknown) => (e as { code?: string }).code === 'ERR_OUT_OF_RANGE' || (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE',
        `${kind} size ${String(bad)}`,
      );
    }
    assert.throws(() => allocator.allocateMany(1, 0), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => allocator.allocateMany(0, 0), { code: 'ERR_OUT_OF_RANGE' });
    assert.equal(allocator.remaining, 8 * ALIGNMENT, `${kind}: refused calls took nothing`);
    // A huge count with a huge size: clamped to the file, never wrapped.
    const all = allocator.allocateMany(2 ** 40, 2 ** 40);
    assert.deepEqual(
      all.map((r) => [r.start, r.end]),
      [[0, 8 * ALIGNMENT]],
      kind,
    );
    file.close();
  }
});

for (const mixed of [false, true]) {
  test(`worker threads${mixed ? ' mixing allocateMany with allocate' : ''}: the ranges tile the file and every byte is its owner's`, WORKER_TEST, async () => {
    const pages = 3001;
    const size = pages * ALIGNMENT - 123;
    const path = t.path(`workers-${mixed}.bin`);
    const { file } = MmapFile.create(path, size, { allocator: 'concurrent' });
    const n = 4;
    const workers = Array.from(
      { length: n },
      (_, i) => new TestWorker(workerUrl, { file: file.share(), id: i + 1, count: 1 + i * 5, size: (i % 2) * 4096 + 1000, mixed } satisfies AllocManyJob),
    );
    await releaseTogether(workers);
    const reports = await Promise.all(workers.map((w) => w.report<AllocManyReport>()));
    file.close();
    const owner: number[] = [];
    const spans: [number, number, number][] = [];
    reports.forEach((rep, i) => {
      for (let k = 0; k < rep.ranges.length; k += 2) spans.push([rep.ranges[k], rep.ranges[k + 1], i + 1]);
      // Without allocate calls in between, each worker stopped on an empty batch.
      if (!mixed) assert.equal(rep.batches.at(-1), 0, 'each worker went on until allocateMany returned nothing');
    });
    spans.sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [start, end, id] of spans) {
      assert.equal(start, at, start < at ? `[${start}, ${end}) overlaps bytes before ${at}` : `bytes ${at} to ${start} were never handed out`);
      assert.ok(end > start);
      owner.push(id);
      at = end;
    }
    assert.equal(at, size, 'the ranges reach the end of the file');
    const disk = readFileSync(path);
    let k = 0;
    for (const [start, end, id] of spans) {
      for (let b = start; b < end; b++) {
        if (disk[b] !== id) assert.fail(`byte ${b} is ${disk[b]}, expected ${id} (the owner of [${start}, ${end}))`);
      }
      k++;
    }
    assert.equal(k, spans.length);
  });
}
