// The concurrent allocator's per-thread batches (src/ranges/allocation-batch.ts):
// a thread that sees other threads allocate takes pages from the counter in
// batches. These tests pin down what that may and may not change:
// - no byte is handed out twice, and once every caller gets null the ranges
//   tile the file exactly, even when a batch's owner stopped or closed with
//   pages still in it;
// - `remaining` is exactly the bytes not handed out, at every step;
// - a range is never longer than asked (rounded up to 4096), and shorter
//   only at the end of the file or once the counter is at the end;
// - a thread allocating alone never batches (its ranges follow each other).
// Several allocator objects in one thread (one per fromShared) share the
// counter just as threads do, which makes the interleavings deterministic;
// a worker_threads test then checks every byte with real threads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ALIGNMENT, MmapFile, type AllocatedRange, type ConcurrentAllocator } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import { TestWorker, WORKER_TEST } from './worker-helpers.js';

const t = tempDir('ranged-mmap-batches-');
after(() => t.cleanup());
let counter = 0;

interface Handed {
  start: number;
  end: number;
  asked: number;
}

/** Ranges sorted by start cover [0, size) with no gap and no overlap. */
function assertTiles(ranges: readonly Handed[], size: number): void {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let at = 0;
  for (const r of sorted) {
    assert.equal(r.start, at, r.start < at ? `[${r.start}, ${r.end}) overlaps bytes before ${at}` : `bytes ${at} to ${r.start} were never handed out`);
    at = r.end;
  }
  assert.equal(at, size, `bytes from ${at} to the end (${size}) were never handed out`);
}

test('a thread that sees another allocate takes a batch; what it did not hand out is counted in remaining and taken by others once the counter is at the end, also after it closed', () => {
  // Large enough for full 64-page batches (a batch takes at most 1/64 of what is left).
  const pages = 5000;
  const size = pages * ALIGNMENT;
  const { file, allocator: a } = MmapFile.create(t.path(`b${counter++}.bin`), size, { allocator: 'concurrent', sparse: true });
  const other = MmapFile.fromShared(file.share());
  const b = other.allocator;
  const handed: Handed[] = [];
  const take = (alloc: ConcurrentAllocator, asked: number): AllocatedRange | null => {
    const r = alloc.allocate(asked);
    if (r !== null) handed.push({ start: r.start, end: r.end, asked });
    return r;
  };
  try {
    // Alone, a never batches: consecutive ranges, the counter right behind them.
    for (let i = 0; i < 3; i++) assert.equal(take(a, ALIGNMENT)?.start, i * ALIGNMENT);
    assert.equal(a.nextPos, 3 * ALIGNMENT);
    // b allocates between a's calls: a's next call sees the counter moved and claims a slot ...
    assert.equal(take(b, ALIGNMENT)?.start, 3 * ALIGNMENT);
    assert.equal(take(a, ALIGNMENT)?.start, 4 * ALIGNMENT);
    // ... and from then on takes a batch: one page handed out, the counter 64 pages on.
    assert.equal(take(a, ALIGNMENT)?.start, 5 * ALIGNMENT);
    assert.equal(a.nextPos, 69 * ALIGNMENT, 'the batch took 64 pages from the counter');
    assert.equal(a.remaining, size - 6 * ALIGNMENT, 'remaining counts the pages in the batch as not handed out');
    assert.equal(take(a, 2 * ALIGNMENT)?.start, 6 * ALIGNMENT, 'other sizes come from the batch too, in order');
    // a stops allocating and closes with 61 pages in its batch.
    file.close();
    assert.equal(b.remaining, size - 8 * ALIGNMENT);
    // b drains the file: its own batches, the counter, then what a left.
    let given = handed.reduce((n, r) => n + r.end - r.start, 0);
    for (let r = take(b, ALIGNMENT); r !== null; r = take(b, ALIGNMENT)) {
      given += r.length;
      assert.equal(b.remaining, size - given);
    }
    assert.equal(b.remaining, 0);
    assert.equal(b.nextPos, size);
    assertTiles(handed, size);
    for (const r of handed) assert.equal(r.end - r.start, Math.ceil(r.asked / ALIGNMENT) * ALIGNMENT, 'one size: every range exactly as asked');
  } finally {
    other.file.close();
  }
});

test('a slot freed by a closed allocator is adopted by the next one that needs a slot, pages and all', () => {
  const size = 1000 * ALIGNMENT;
  const { file, allocator: main } = MmapFile.create(t.path(`b${counter++}.bin`), size, { allocator: 'concurrent', sparse: true });
  const handed: Handed[] = [];
  const take = (alloc: ConcurrentAllocator) => {
    const r = alloc.allocate(ALIGNMENT);
    if (r !== null) handed.push({ start: r.start, end: r.end, asked: ALIGNMENT });
    return r;
  };
  try {
    // Twenty allocator objects in turn: each sees the others and takes a
    // batch, then closes with most of it untouched. There are fewer slots
    // than that: later ones adopt freed slots (and their pages) or go to
    // the counter directly; nothing is lost either way.
    for (let i = 0; i < 20; i++) {
      const o = MmapFile.fromShared(file.share());
      take(o.allocator);
      take(main);
      take(o.allocator);
      take(o.allocator);
      o.file.close();
    }
    while (take(main) !== null);
    assertTiles(handed, size);
    assert.equal(main.remaining, 0);
  } finally {
    file.close();
  }
});

const sizeArb = fc.oneof(
  fc.integer({ min: 1, max: 20 }).map((p) => p * ALIGNMENT),
  fc.integer({ min: 1, max: 20 * ALIGNMENT }),
  fc.integer({ min: 1, max: 300 }).map((p) => p * ALIGNMENT),
);

test('property: any interleaving of allocator objects, sizes, opens and closes hands out each byte once, keeps remaining exact, never hands out more than asked, and tiles the file when drained', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3000 }),
      fc.integer({ min: 0, max: ALIGNMENT - 1 }),
      fc.array(fc.record({ who: fc.integer({ min: 0, max: 3 }), size: sizeArb, close: fc.boolean() }), { minLength: 1, maxLength: 400 }),
      (pages, extra, steps) => {
        const size = pages * ALIGNMENT + extra;
        const { file, allocator: main } = MmapFile.create(t.path(`p${counter++}.bin`), size, { allocator: 'concurrent', sparse: true });
        const slots: (ReturnType<typeof MmapFile.fromShared> | null)[] = [null, null, null, null];
        const handed: Handed[] = [];
        let outstanding = size;
        const check = (r: AllocatedRange | null, asked: number) => {
          if (r === null) return;
          const wanted = Math.ceil(asked / ALIGNMENT) * ALIGNMENT;
          assert.ok(r.end - r.start <= wanted, `[${r.start}, ${r.end}) is longer than the ${wanted} bytes asked`);
          assert.ok(r.end > r.start);
          handed.push({ start: r.start, end: r.end, asked });
          outstanding -= r.end - r.start;
        };
        try {
          for (const step of steps) {
            let o = slots[step.who];
            if (o === null || o === undefined) o = slots[step.who] = MmapFile.fromShared(file.share());
            const r = o.allocator!.allocate(step.size);
            check(r, step.size);
            assert.equal(main.remaining, outstanding, 'remaining is the bytes not handed out');
            if (r === null) assert.equal(outstanding, 0, 'null only when every byte is handed out');
            if (step.close) {
              o.file.close();
              slots[step.who] = null;
            }
          }
          // Drain with one allocator: the rest of the counter and every batch's pages.
          for (let r = main.allocate(ALIGNMENT); r !== null; r = main.allocate(ALIGNMENT)) check(r, ALIGNMENT);
          assert.equal(outstanding, 0);
          assert.equal(main.remaining, 0);
          assertTiles(handed, size);
          // Shorter than asked: only at the file end, or from leftovers once
          // the counter ran out. Each slot's leftovers end in at most one
          // short piece per size change; bound it by the ranges handed out
          // after the counter reached the end.
          const short = handed.filter((r) => r.end - r.start < Math.ceil(r.asked / ALIGNMENT) * ALIGNMENT && r.end !== size);
          assert.ok(short.length <= 2 * 12, `${short.length} short ranges in the middle of the file`);
        } finally {
          for (const o of slots) o?.file.close();
          file.close();
        }
      },
    ),
    { numRuns: 150 },
  );
});

test(
  '2 worker threads allocate 4 KiB and write until the file is handed out, one of them stopping early with pages in its batch: the ranges tile the file and every byte is right',
  WORKER_TEST,
  async () => {
    const pages = 20_000;
    const size = pages * ALIGNMENT + 777;
    const path = t.path(`w${counter++}.bin`);
    const { file, allocator } = MmapFile.create(path, size, { allocator: 'concurrent' });
    try {
      const early = new TestWorker(batchWorkerUrl, { file: file.share(), seed: 1, first: true, stopAfter: 100 });
      const drainer = new TestWorker(batchWorkerUrl, { file: file.share(), seed: 2, first: false, stopAfter: -1 });
      assert.equal(await early.next<string>(), 'one');
      assert.equal(await drainer.next<string>(), 'ready');
      // Between the early worker's first and second call: it will see the counter moved.
      const mine = allocator.allocate(ALIGNMENT);
      assert.ok(mine !== null);
      const data = new Uint8Array(mine.length);
      for (let i = 0; i < data.length; i++) data[i] = ((mine.start + i) * 7) & 0xff;
      file.writeRange(mine, data);
      early.post('go');
      drainer.post('go');
      type Report = { ranges: [number, number][]; heldInBatches: number };
      const [e, d] = await Promise.all([early.report<Report>(), drainer.report<Report>()]);
      assert.ok(e.heldInBatches > 0, 'the early worker stopped with pages in a batch');
      assert.equal(e.ranges.length, 101);
      assert.equal(allocator.allocate(1), null);
      assert.equal(allocator.remaining, 0);
      const owners: [number, [number, number][]][] = [
        [0, [[mine.start, mine.end]]],
        [1, e.ranges],
        [2, d.ranges],
      ];
      assertTiles(
        owners.flatMap(([, rs]) => rs.map(([start, end]) => ({ start, end, asked: ALIGNMENT }))),
        size,
      );
      const disk = readFileSync(path);
      assert.equal(disk.length, size);
      for (const [seed, rs] of owners) {
        for (const [start, end] of rs) {
          for (let i = start; i < end; i++) {
            if (disk[i] !== ((i * 7 + seed) & 0xff)) assert.fail(`byte ${i} of [${start}, ${end}) (writer ${seed}) is ${disk[i]}`);
          }
        }
      }
    } finally {
      file.close();
    }
  },
);

const batchWorkerUrl = new URL('./fixtures/batch-worker.js', import.meta.url);
