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
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import fc from 'fast-check';
import { ALIGNMENT, MmapFile, type AllocatedRange, type ConcurrentAllocator } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import { TestWorker, WORKER_TEST, releaseTogether, terminateWorkers } from './worker-helpers.js';
import { fillPattern, generator } from './fixtures/batch-stress-pattern.js';
import type { StressReport, StressRound } from './fixtures/batch-stress-worker.js';
import type { DuelJob, DuelReport } from './fixtures/batch-duel-worker.js';

const t = tempDir('ranged-mmap-batches-');
after(() => t.cleanup());
// A test that times out must not leave its workers running.
afterEach(terminateWorkers);
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

test('a null while another thread is between taking a batch from the counter and putting it in its slot is not final: that thread hands the batch out, and if it stops, remaining counts the rest and the next allocate takes it', () => {
  // The window is a few instructions in a real thread; here the second
  // allocator runs inside it, from the first Atomics.store of the batch
  // refill (the slot's first page; the pages are off the counter by then).
  const pages = 5000;
  const size = pages * ALIGNMENT;
  const { file, allocator: a } = MmapFile.create(t.path(`b${counter++}.bin`), size, { allocator: 'concurrent', sparse: true });
  const other = MmapFile.fromShared(file.share());
  const b = other.allocator;
  const handed: Handed[] = [];
  const take = (alloc: ConcurrentAllocator): AllocatedRange | null => {
    const r = alloc.allocate(ALIGNMENT);
    if (r !== null) handed.push({ start: r.start, end: r.end, asked: ALIGNMENT });
    return r;
  };
  const store = Atomics.store;
  try {
    // a sees b allocate and claims a slot; its next call takes a batch.
    take(a);
    take(b);
    take(a);
    let bGotNull = false;
    let armed = true;
    (Atomics as { store: typeof Atomics.store }).store = ((array: Int32Array, index: number, value: number) => {
      if (armed) {
        armed = false;
        while (take(b) !== null);
        bGotNull = true;
      }
      return store(array, index, value);
    }) as typeof Atomics.store;
    const r = take(a);
    (Atomics as { store: typeof Atomics.store }).store = store;
    assert.ok(bGotNull, 'b ran to null inside the refill');
    assert.equal(r?.start, 3 * ALIGNMENT, 'a hands out the first page of its batch after b got null');
    assert.equal(b.remaining, 63 * ALIGNMENT, 'the rest of the batch is counted');
    file.close(); // a stops with 63 pages in its batch
    assert.equal(b.remaining, 63 * ALIGNMENT);
    while (take(b) !== null);
    assert.equal(b.remaining, 0);
    assertTiles(handed, size);
  } finally {
    (Atomics as { store: typeof Atomics.store }).store = store;
    file.close();
    other.file.close();
  }
});

test('a batch whose pages reach past the end (another thread moved the counter between the look and the add) is cut at the end, and its last range is clamped to the file', () => {
  // Alone, a batch never reaches the end (it takes at most 1/64 of what is
  // left). Here the second allocator takes all but three pages from inside
  // the refill, just before its Atomics.add.
  const pages = 5000;
  const size = pages * ALIGNMENT + 100;
  const totalPages = pages + 1;
  const { file, allocator: a } = MmapFile.create(t.path(`b${counter++}.bin`), size, { allocator: 'concurrent', sparse: true });
  const other = MmapFile.fromShared(file.share());
  const b = other.allocator;
  const handed: Handed[] = [];
  const take = (alloc: ConcurrentAllocator, asked: number): AllocatedRange | null => {
    const r = alloc.allocate(asked);
    if (r !== null) handed.push({ start: r.start, end: r.end, asked });
    return r;
  };
  const add = Atomics.add;
  try {
    take(a, ALIGNMENT);
    take(b, ALIGNMENT);
    take(a, ALIGNMENT); // a claims a slot; its next call takes a batch
    let armed = true;
    (Atomics as { add: typeof Atomics.add }).add = ((array: Int32Array, index: number, value: number) => {
      if (armed) {
        armed = false;
        // Over 1024 pages: claimed by compare-and-swap, not Atomics.add.
        const r = take(b, (totalPages - 3 - 3) * ALIGNMENT);
        assert.equal(r?.end, (totalPages - 3) * ALIGNMENT);
      }
      return add(array, index, value);
    }) as typeof Atomics.add;
    const first = take(a, ALIGNMENT);
    (Atomics as { add: typeof Atomics.add }).add = add;
    assert.equal(armed, false, 'the refill added to the counter');
    assert.equal(first?.start, (totalPages - 3) * ALIGNMENT, 'the batch starts three pages before the end');
    assert.equal(a.remaining, ALIGNMENT + 100, 'and holds only what the file has: a page and the short last one');
    // Four pages asked, two (the last one short) left: the short last range.
    const last = take(a, 4 * ALIGNMENT);
    assert.deepEqual([last?.start, last?.end], [(totalPages - 2) * ALIGNMENT, size]);
    assert.equal(take(a, ALIGNMENT), null);
    assert.equal(take(b, ALIGNMENT), null);
    assert.equal(a.remaining, 0);
    assertTiles(handed, size);
  } finally {
    (Atomics as { add: typeof Atomics.add }).add = add;
    file.close();
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

test('twelve batch slots: twelve allocators hold one each, the thirteenth has none and goes to the counter (and works); closed allocators free their slots for the next ones', () => {
  const pages = 20_000;
  const size = pages * ALIGNMENT;
  const { file, allocator: main } = MmapFile.create(t.path(`b${counter++}.bin`), size, { allocator: 'concurrent', sparse: true });
  const handed: Handed[] = [];
  const take = (alloc: ConcurrentAllocator, asked: number): AllocatedRange | null => {
    const r = alloc.allocate(asked);
    if (r !== null) handed.push({ start: r.start, end: r.end, asked });
    return r;
  };
  // Over BATCH_MAX_WANT pages: never from a batch, always a step of the counter.
  const BIG = 17 * ALIGNMENT;
  /**
   * Lets `o` see another allocator move the counter (so it looks for a
   * slot), then reports whether it got one: an allocator without a slot
   * takes its next page straight from the counter (the page at nextPos,
   * and the counter one page on); one with a slot takes it from its batch
   * (a refill moves the counter by many pages, an adopted batch not at all).
   */
  const fromBatch = (o: ConcurrentAllocator): boolean => {
    const before = main.nextPos;
    const r = take(o, ALIGNMENT)!;
    return !(r.start === before && main.nextPos === before + ALIGNMENT);
  };
  const claimsSlot = (o: ConcurrentAllocator): boolean => {
    take(o, ALIGNMENT);
    take(main, BIG);
    take(o, ALIGNMENT); // sees the counter moved: looks for a free slot
    return fromBatch(o);
  };
  const allocatorOf = (o: ReturnType<typeof MmapFile.fromShared>): ConcurrentAllocator => {
    assert.ok(o.allocator !== null && 'nextPos' in o.allocator);
    return o.allocator as ConcurrentAllocator;
  };
  const others: ReturnType<typeof MmapFile.fromShared>[] = [];
  try {
    take(main, BIG);
    // The first of these rounds makes main see the counter move too: main holds a slot from then on.
    const first: ReturnType<typeof MmapFile.fromShared>[] = [];
    for (let i = 0; i < 11; i++) {
      const o = MmapFile.fromShared(file.share());
      first.push(o);
      assert.equal(claimsSlot(allocatorOf(o)), true, `allocator ${i + 2} of 12 (main is one) holds a slot`);
    }
    assert.equal(fromBatch(main), true, 'main allocates from its batch');
    const thirteenth = MmapFile.fromShared(file.share());
    others.push(thirteenth);
    assert.equal(claimsSlot(allocatorOf(thirteenth)), false, 'the 13th allocator finds every slot held');
    // ... and still works: page after page from the counter.
    for (let i = 0; i < 5; i++) {
      const at = main.nextPos;
      assert.equal(take(allocatorOf(thirteenth), ALIGNMENT)!.start, at);
    }
    for (const o of first) o.file.close();
    // Eleven slots are free again (with what was left in them): the next eleven allocators take them.
    for (let i = 0; i < 11; i++) {
      const o = MmapFile.fromShared(file.share());
      others.push(o);
      assert.equal(claimsSlot(allocatorOf(o)), true, `allocator ${i + 1} opened after the close takes a freed slot`);
    }
    const extra = MmapFile.fromShared(file.share());
    others.push(extra);
    assert.equal(claimsSlot(allocatorOf(extra)), false, 'and then every slot is held again');
    // Nothing handed out twice, nothing lost: drain the file and check it tiles.
    for (const o of others) take(allocatorOf(o), 3 * ALIGNMENT);
    while (take(main, ALIGNMENT) !== null);
    assertTiles(handed, size);
    assert.equal(main.remaining, 0);
  } finally {
    for (const o of others) o.file.close();
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
const stressWorkerUrl = new URL('./fixtures/batch-stress-worker.js', import.meta.url);

test(
  "stress: 8 worker threads start together on one file, with mixed sizes (odd bytes, over 64 KiB, over 4 MiB), some quitting mid-batch, some opening more allocators and closing them (freed slots adopted); every round the ranges tile the file, no range is longer than asked, every byte is its writer's, remaining is exact and ends at 0",
  WORKER_TEST,
  async (ctx) => {
    const WORKERS = 8;
    // More rounds for a longer soak: STRESS_ROUNDS=1000 node scripts/run-tests.mjs allocation-batches
    const ROUNDS = Number(process.env.STRESS_ROUNDS ?? 80);
    const started = new SharedArrayBuffer(4);
    const workers = Array.from({ length: WORKERS }, () => new TestWorker(stressWorkerUrl, started));
    // What the rounds showed, over all of them: that batches held pages
    // while workers ran (so they were used), and how often the main thread's
    // drain found pages left by a worker that quit right at the end.
    let heldSeen = 0;
    let drainedByMain = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const random = generator(0x5eed + round);
        // Over 4096 pages: the first batches take the full 64 pages; they
        // shrink near the end, and the counter runs out during the round.
        const size = (4200 + Math.floor(random() * 1000)) * ALIGNMENT + (round % 3 === 0 ? 0 : 1 + Math.floor(random() * (ALIGNMENT - 1)));
        const path = t.path(`stress${round}.bin`);
        const { file, allocator } = MmapFile.create(path, size, { allocator: 'concurrent', sparse: true });
        const seeds = workers.map((_, w) => round * 16 + w + 1);
        const mainSeed = round * 16 + 15;
        // Four kinds of round (round % 4):
        // 0: one worker's third request is for 1100 pages (over 4 MiB: the
        //    compare-and-swap path of the counter);
        // 2: no request over 40 pages;
        // 1: once the counter has passed a point between 20% and 70% of the
        //    file, one worker asks for the whole file: the counter jumps to
        //    the end while the others hold full batches, so owners and
        //    takers of leftovers then race on the slots;
        // 3: the same jump, and most workers ask for one page at a time
        //    and write only once they stop: they allocate back to back.
        const kind = round % 4;
        const huge = Math.floor(random() * WORKERS);
        const jumpAt = kind === 1 || kind === 3 ? Math.floor(size * (0.2 + random() * 0.5)) : 0;
        const jobs: StressRound[] = workers.map((_, w) => {
          // Worker 0 always allocates until null; the rest pick a role.
          const r = w === 0 ? 0 : random();
          const role = r < 0.35 ? 'drain' : r < 0.7 ? 'quit' : 'reopen';
          const m = random();
          const mix = m < (kind === 3 ? 0.15 : 0.5) ? 'mixed' : m < (kind === 3 ? 0.9 : 0.75) ? 'small' : 'large';
          const burst = kind === 3 ? Number.MAX_SAFE_INTEGER : [1, 4, 16][Math.floor(random() * 3)]!;
          return {
            file: file.share(),
            seed: seeds[w]!,
            role,
            stopAfter: 1 + Math.floor(random() * (kind === 3 ? 1000 : 250)),
            sizes: (round << 8) | w,
            mix,
            hugeAt: w === huge && kind === 0 ? 3 : 0,
            jumpAt: w === huge ? jumpAt : 0,
            burst,
            startWhen: (round + 1) * WORKERS,
          };
        });
        for (const [w, worker] of workers.entries()) worker.post(jobs[w]);
        await releaseTogether(workers);
        const reports = await Promise.all(workers.map((w) => w.next<StressReport>()));

        const owned: { start: number; end: number; asked: number; seed: number }[] = [];
        for (const [w, report] of reports.entries()) {
          if (jobs[w]!.role !== 'quit') assert.ok(report.gotNull, `round ${round}: worker ${w} (${jobs[w]!.role}) did not get null`);
          heldSeen = Math.max(heldSeen, report.heldSeen);
          const rs = report.ranges;
          for (let i = 0; i < rs.length; i += 3) owned.push({ start: rs[i]!, end: rs[i + 1]!, asked: rs[i + 2]!, seed: seeds[w]! });
        }
        for (const r of owned) {
          const asked = Math.ceil(r.asked / ALIGNMENT) * ALIGNMENT;
          assert.ok(r.start % ALIGNMENT === 0 && r.start < r.end && r.end <= size, `round ${round}: bad range [${r.start}, ${r.end})`);
          assert.ok(r.end - r.start <= asked, `round ${round}: [${r.start}, ${r.end}) is longer than the ${asked} bytes asked`);
        }
        // Everyone is quiet: remaining is exactly what was not handed out.
        const handed = owned.reduce((n, r) => n + r.end - r.start, 0);
        const left = allocator.remaining;
        assert.equal(left, size - handed, `round ${round}: remaining is not the bytes never handed out`);
        // Every worker that did not quit allocated until null. Pages can be
        // left only by a quitter whose last allocation came when the
        // counter was already at the end: its batch refill may have landed
        // just before the end and been filled in after another thread
        // found every slot empty and got null (docs/threads.md, "Batches").
        if (!reports.some((r) => r.quitNearEnd)) assert.equal(left, 0, `round ${round}: ${left} bytes left after every worker got null or quit before the end`);
        for (let r = allocator.allocate(ALIGNMENT); r !== null; r = allocator.allocate(ALIGNMENT)) {
          file.writeRange(r, fillPattern(new Uint8Array(r.length), mainSeed));
          owned.push({ start: r.start, end: r.end, asked: ALIGNMENT, seed: mainSeed });
          drainedByMain += r.length;
        }
        assert.equal(allocator.remaining, 0);
        assert.equal(allocator.nextPos, size);
        assert.equal(allocator.allocate(1), null);
        assertTiles(owned, size);
        file.close();
        const disk = readFileSync(path);
        assert.equal(disk.length, size);
        // Ranges start on page boundaries, where every writer's pattern
        // starts over; it repeats every 256 bytes, so one MiB of it is
        // compared piece by piece.
        const patterns = new Map<number, Uint8Array>();
        for (const r of owned) {
          const p = patterns.get(r.seed) ?? fillPattern(new Uint8Array(1 << 20), r.seed);
          patterns.set(r.seed, p);
          for (let at = r.start; at < r.end; at += p.length) {
            const piece = disk.subarray(at, Math.min(at + p.length, r.end));
            if (!piece.equals(p.subarray(0, piece.length))) {
              const bad: number = at + piece.findIndex((b, i) => b !== p[i]);
              assert.fail(`round ${round}: byte ${bad} of [${r.start}, ${r.end}) (writer ${r.seed}) is ${disk[bad]}`);
            }
          }
        }
        rmSync(path);
      }
      assert.ok(heldSeen > 0, 'no worker ever saw pages held in batches: the test did not exercise them');
      ctx.diagnostic(`batches held up to ${heldSeen} bytes at once; the main thread drained ${drainedByMain} bytes after the workers`);
    } finally {
      for (const w of workers) w.post('exit');
    }
    const codes = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(
      codes,
      workers.map(() => 0),
    );
  },
);

const duelWorkerUrl = new URL('./fixtures/batch-duel-worker.js', import.meta.url);

test(
  "owner against taker: after the counter jumped to the end, a batch's owner and another thread (without a batch of its own) take one page at a time from the same slot, both at once, many times over: no page is handed out twice or lost",
  WORKER_TEST,
  async (ctx) => {
    const DUELS = 150;
    // Over 4096 pages, so that the owner's batch is a full 64 pages.
    const pages = 4200;
    const size = pages * ALIGNMENT;
    const started = new SharedArrayBuffer(4);
    const owner = new TestWorker(duelWorkerUrl, started);
    const taker = new TestWorker(duelWorkerUrl, started);
    let ownerRaced = 0;
    let takerRaced = 0;
    try {
      for (let duel = 0; duel < DUELS; duel++) {
        const path = t.path(`duel${duel}.bin`);
        const { file, allocator } = MmapFile.create(path, size, { allocator: 'concurrent', sparse: true });
        const seeds = { owner: (duel * 4 + 1) & 0xff, taker: (duel * 4 + 2) & 0xff, main: (duel * 4 + 3) & 0xff };
        const startWhen = (duel + 1) * 2;
        owner.post({ file: file.share(), seed: seeds.owner, role: 'owner', startWhen } satisfies DuelJob);
        taker.post({ file: file.share(), seed: seeds.taker, role: 'taker', startWhen } satisfies DuelJob);
        // Page 0 to the owner, 1 to this thread, 2 to the owner (which
        // claims a slot: the counter moved), then its batch: pages 3 to 66,
        // 3 handed out at once.
        assert.equal(await owner.next<string>(), 'one');
        const mine = allocator.allocate(ALIGNMENT)!;
        assert.equal(mine.start, ALIGNMENT);
        file.writeRange(mine, fillPattern(new Uint8Array(ALIGNMENT), seeds.main));
        owner.post('again');
        assert.equal(await owner.next<string>(), 'armed');
        assert.equal(await taker.next<string>(), 'armed');
        // The rest of the file in one request: the counter is at the end,
        // the owner's batch still holds pages 4 to 66. Left unwritten
        // (zeros) to keep each duel cheap.
        const rest = allocator.allocate(size)!;
        assert.equal(rest.start, 67 * ALIGNMENT, "the owner's batch took 64 pages");
        assert.equal(rest.end, size);
        assert.equal(allocator.remaining, 63 * ALIGNMENT);
        owner.post('go');
        taker.post('go');
        const [o, k] = await Promise.all([owner.next<DuelReport>(), taker.next<DuelReport>()]);
        assert.equal(o.setup, 3);
        ownerRaced += o.ranges.length / 2 - o.setup;
        takerRaced += k.ranges.length / 2;
        const owned: Handed[] = [
          { start: mine.start, end: mine.end, asked: ALIGNMENT },
          { start: rest.start, end: rest.end, asked: size },
        ];
        const written: [number, number, number][] = [[mine.start, mine.end, seeds.main]];
        for (const [report, seed] of [
          [o, seeds.owner],
          [k, seeds.taker],
        ] as const) {
          for (let i = 0; i < report.ranges.length; i += 2) {
            owned.push({ start: report.ranges[i]!, end: report.ranges[i + 1]!, asked: ALIGNMENT });
            written.push([report.ranges[i]!, report.ranges[i + 1]!, seed]);
          }
        }
        assertTiles(owned, size);
        assert.equal(allocator.remaining, 0);
        file.close();
        const disk = readFileSync(path);
        for (const [start, end, seed] of written) {
          const want = fillPattern(new Uint8Array(end - start), seed);
          assert.ok(disk.subarray(start, end).equals(want), `duel ${duel}: [${start}, ${end}) is not writer ${seed}'s`);
        }
        rmSync(path);
      }
      ctx.diagnostic(`in the races the owner took ${ownerRaced} pages, the other thread ${takerRaced}`);
      // Both sides took pages in the race (over all duels), or it raced nothing.
      assert.ok(ownerRaced > 0 && takerRaced > 0, `owner took ${ownerRaced} pages in the races, the taker ${takerRaced}`);
    } finally {
      owner.post('exit');
      taker.post('exit');
    }
    assert.deepEqual(await Promise.all([owner.exited, taker.exited]), [0, 0]);
  },
);
