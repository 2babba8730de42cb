// Many threads, one file (SPEC section 2): real worker_threads write
// thousands of ranges into one mapping at once, ranges move between
// threads and can be claimed exactly once, and every byte on disk is
// checked afterwards with node:fs.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALIGNMENT, MmapFile, RawMmapFile, alignUp, type AllocatedRange, type RangeTransfer } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import { TestWorker, WORKER_TEST, concWorkerUrl, releaseTogether, runJob, terminateWorkers } from './worker-helpers.js';
import { firstMismatch, patternFor } from './fixtures/conc-pattern.js';
import type { AllocateReport, ClaimReport, ConcJob, ForgeReport, RawReport } from './fixtures/conc-worker.js';

// A test that times out must not leave its workers running.
afterEach(terminateWorkers);

interface Owned {
  seed: number;
  start: number;
  end: number;
}

/** Asserts that `owners` tile [0, disk.length) exactly and that every byte is its owner's pattern. */
function assertTiledAndWritten(disk: Uint8Array, owners: Owned[]): void {
  const sorted = [...owners].sort((a, b) => a.start - b.start);
  let at = 0;
  for (const { seed, start, end } of sorted) {
    assert.equal(start, at, start < at ? `ranges overlap at ${start}` : `bytes ${at}..${start} belong to no range`);
    assert.ok(end > start, `empty range at ${start}`);
    const bad = firstMismatch(disk, 0, seed, start, end);
    assert.equal(bad, -1, `byte ${bad} of [${start}, ${end}) (writer ${seed}) is ${disk[bad]}`);
    at = end;
  }
  assert.equal(at, disk.length, `bytes from ${at} to the end belong to no range`);
}

/** Syncs and closes `raw`, then checks the file on disk: its size, and every byte of every worker's ranges (worker k wrote with seed k + 1). */
function syncCloseAndCheck(raw: RawMmapFile, path: string, size: number, reports: RawReport[]): void {
  raw.syncAll();
  raw.close();
  const disk = readFileSync(path);
  assert.equal(disk.length, size);
  assertTiledAndWritten(
    disk,
    reports.flatMap((r, k) => r.ranges.map(([s, e]) => ({ seed: k + 1, start: s, end: e }))),
  );
}

function start(job: ConcJob): TestWorker {
  return new TestWorker(concWorkerUrl, job);
}

test(
  '4 workers allocate from one shared concurrent allocator until it is exhausted: the ranges tile the file and every byte is right',
  WORKER_TEST,
  async () => {
    const t = tempDir();
    try {
      // Not a multiple of 4096, so the last range is clamped at the end.
      const size = 24 * 1024 * 1024 + 1234;
      const { file, allocator } = MmapFile.create(t.path('alloc.bin'), size, { allocator: 'concurrent' });
      const sizes = [4096, 5000, 1, 8192, 12288, 16384, 100, 7000, 16383, 4097];
      const workers = [0, 1, 2, 3].map((seed) => start({ kind: 'allocate', seed, file: file.share(), sizes, asyncEvery: 7 }));
      await releaseTogether(workers);
      // Each worker has taken its first range and waits: all four own one.
      await releaseTogether(workers, 'holding');
      const reports = await Promise.all(workers.map((w) => w.report<AllocateReport>()));

      // The counter is shared: the main thread's allocator is exhausted too.
      assert.equal(allocator.allocate(1), null);
      assert.equal(allocator.remaining, 0);
      file.syncAll();
      file.close();

      const owners: Owned[] = [];
      let short = 0;
      for (const [seed, report] of reports.entries()) {
        assert.equal(report.readBackMismatch, -1, `worker ${seed} read back a byte it did not write`);
        for (const [s, e, requested] of report.ranges) {
          assert.equal(s % ALIGNMENT, 0, `range start ${s} is not aligned`);
          // Rounded up to 4096, or clamped at the end of the file; never
          // longer. Shorter in the middle of the file only from what was
          // left in other threads' batches once the counter ran out (see
          // ConcurrentAllocator): at most a few per batch slot.
          assert.ok(e > s && e <= Math.min(s + alignUp(requested), size), `range [${s}, ${e}) for a request of ${requested}`);
          if (e < Math.min(s + alignUp(requested), size)) short++;
          owners.push({ seed, start: s, end: e });
        }
      }
      assert.ok(short <= 24, `${short} ranges shorter than asked in the middle of the file`);
      assert.ok(owners.length >= 2000, `only ${owners.length} ranges`);
      for (const [seed, report] of reports.entries()) assert.ok(report.ranges.length > 0, `worker ${seed} got no range`);
      const disk = readFileSync(t.path('alloc.bin'));
      assert.equal(disk.length, size);
      assertTiledAndWritten(disk, owners);
    } finally {
      t.cleanup();
    }
  },
);

for (const allocatorKind of ['sequential', 'concurrent'] as const) {
  test(`ranges allocated in the main thread (${allocatorKind} allocator) move to workers, are written there and are dead here`, WORKER_TEST, async () => {
    const t = tempDir();
    try {
      const pages = 600;
      const { file, allocator } = MmapFile.create(t.path('moved.bin'), pages * ALIGNMENT + 100, { allocator: allocatorKind });
      const ranges: AllocatedRange[] = [];
      for (let r = allocator.allocate(1); r !== null; r = allocator.allocate(ALIGNMENT * (1 + (ranges.length % 4)) - 7)) ranges.push(r);
      const perWorker: RangeTransfer[][] = [[], [], []];
      for (const [i, r] of ranges.entries()) perWorker[i % 3].push(r.transfer());

      // After transfer() the main thread's copy is dead for every use.
      for (const r of ranges) {
        assert.equal(r.isLive, false);
        assert.throws(() => file.writeRange(r, new Uint8Array(r.length)), { code: 'ERR_MMAP_RANGE_CONSUMED' });
        assert.throws(() => file.readRange(r, new Uint8Array(r.length)), { code: 'ERR_MMAP_RANGE_CONSUMED' });
        assert.throws(() => r.transfer(), { code: 'ERR_MMAP_RANGE_CONSUMED' });
        assert.throws(() => r.splitAtAlignUp(r.start), { code: 'ERR_MMAP_RANGE_CONSUMED' });
      }

      // Worker 0 claims each of its transfers a second time, right after the first.
      const reports = await Promise.all(
        perWorker.map((transfers, seed) =>
          runJob<ClaimReport>(concWorkerUrl, { kind: 'claim', seed, file: file.share(), transfers, claimTwice: seed === 0, barrier: false } satisfies ConcJob),
        ),
      );
      for (const [seed, report] of reports.entries()) {
        assert.equal(report.allocatorIsNull, allocatorKind === 'sequential', 'a sequential allocator stays in its thread');
        assert.deepEqual(
          report.outcomes,
          perWorker[seed].map(() => 'won'),
        );
      }
      assert.deepEqual(
        reports[0].second,
        perWorker[0].map(() => 'ERR_MMAP_RANGE_CLAIMED'),
      );
      // A transfer claimed in a worker cannot be claimed back here either.
      for (const transfer of perWorker[1]) {
        assert.throws(() => file.receiveRange(transfer), { code: 'ERR_MMAP_RANGE_CLAIMED' });
      }
      file.syncAll();
      file.close();
      const disk = readFileSync(t.path('moved.bin'));
      assertTiledAndWritten(
        disk,
        reports.flatMap((r, seed) => r.ranges.map(([s, e]) => ({ seed, start: s, end: e }))),
      );
    } finally {
      t.cleanup();
    }
  });
}

test('two workers race to claim the same 300 transfers: each is won exactly once, the loser gets ERR_MMAP_RANGE_CLAIMED', WORKER_TEST, async () => {
  const t = tempDir();
  try {
    const count = 300;
    const { file, allocator } = MmapFile.create(t.path('race.bin'), count * ALIGNMENT);
    const transfers: RangeTransfer[] = [];
    for (let r = allocator.allocate(ALIGNMENT); r !== null; r = allocator.allocate(ALIGNMENT)) transfers.push(r.transfer());
    const workers = [1, 2].map((seed) => start({ kind: 'claim', seed, file: file.share(), transfers, claimTwice: false, barrier: true }));
    await releaseTogether(workers);
    const reports = await Promise.all(workers.map((w) => w.report<ClaimReport>()));
    for (let i = 0; i < count; i++) {
      const outcomes = reports.map((r) => r.outcomes[i]).sort();
      assert.deepEqual(outcomes, ['ERR_MMAP_RANGE_CLAIMED', 'won'], `transfer ${i}: ${outcomes.join(', ')}`);
    }
    file.close();
    // The bytes of each range are its winner's, and only its winner's.
    const disk = readFileSync(t.path('race.bin'));
    assertTiledAndWritten(
      disk,
      reports.flatMap((r, k) => r.ranges.map(([s, e]) => ({ seed: k + 1, start: s, end: e }))),
    );
  } finally {
    t.cleanup();
  }
});

test(
  'a transfer is refused by a worker of another file, and by a separate mapping of the same file; it stays claimable by its own file',
  WORKER_TEST,
  async () => {
    const t = tempDir();
    try {
      const a = MmapFile.create(t.path('a.bin'), 4 * ALIGNMENT);
      const b = MmapFile.create(t.path('b.bin'), 4 * ALIGNMENT);
      const transfer = a.allocator.allocate(ALIGNMENT)!.transfer();
      const claimIn = (file: ReturnType<typeof a.file.share>, openPath?: string) =>
        runJob<ClaimReport>(concWorkerUrl, {
          kind: 'claim',
          seed: 3,
          file,
          openPath,
          transfers: [transfer],
          claimTwice: false,
          barrier: false,
        } satisfies ConcJob);

      assert.deepEqual((await claimIn(b.file.share())).outcomes, ['ERR_MMAP_FOREIGN_RANGE']);
      // Same path, but its own mapping (and its own allocator): not the file the range was cut from.
      assert.deepEqual((await claimIn(a.file.share(), t.path('a.bin'))).outcomes, ['ERR_MMAP_FOREIGN_RANGE']);
      assert.throws(() => b.file.receiveRange(transfer), { code: 'ERR_MMAP_FOREIGN_RANGE' });

      const ok = await claimIn(a.file.share());
      assert.deepEqual(ok.outcomes, ['won']);
      assert.deepEqual(ok.ranges, [[0, ALIGNMENT]]);
      a.file.close();
      b.file.close();
      const disk = readFileSync(t.path('a.bin'));
      assert.equal(firstMismatch(disk, 0, 3, 0, ALIGNMENT), -1);
      assert.ok(
        readFileSync(t.path('b.bin')).every((x) => x === 0),
        'the other file was not written',
      );
    } finally {
      t.cleanup();
    }
  },
);

test(
  'forged and altered transfers are refused in a worker and leave the genuine one claimable; a posted or parsed range cannot be written',
  WORKER_TEST,
  async () => {
    const t = tempDir();
    try {
      const { file, allocator } = MmapFile.create(t.path('forge.bin'), 16 * ALIGNMENT);
      const held = allocator.allocate(ALIGNMENT)!; // [0, 4096): stays here, live
      const moved = allocator.allocate(2 * ALIGNMENT)!; // [4096, 12288): handed over
      const real = moved.transfer();
      const report = await runJob<ForgeReport>(concWorkerUrl, {
        kind: 'forge',
        seed: 5,
        file: file.share(),
        real,
        heldStart: held.start,
        heldEnd: held.end,
        freeStart: 12 * ALIGNMENT,
        freeEnd: 13 * ALIGNMENT,
        postedRange: held, // structured clone of a live range
      } satisfies ConcJob);

      const expected: Record<string, string> = {
        widened: 'ERR_MMAP_RANGE_CLAIMED',
        narrowed: 'ERR_MMAP_RANGE_CLAIMED',
        shifted: 'ERR_MMAP_RANGE_CLAIMED',
        otherFile: 'ERR_MMAP_FOREIGN_RANGE',
        negativeTicket: 'ERR_MMAP_RANGE_CLAIMED',
        fractionTicket: 'ERR_MMAP_RANGE_CLAIMED',
        nanTicket: 'ERR_MMAP_RANGE_CLAIMED',
        hugeTicket: 'ERR_MMAP_RANGE_CLAIMED',
        null: 'ERR_MMAP_INVALID_ARGUMENT',
        emptyObject: 'ERR_MMAP_INVALID_ARGUMENT',
        wrongKind: 'ERR_MMAP_INVALID_ARGUMENT',
        stringTicket: 'ERR_MMAP_INVALID_ARGUMENT',
        missingTicket: 'ERR_MMAP_INVALID_ARGUMENT',
        postedRange: 'ERR_MMAP_INVALID_ARGUMENT',
        writePostedRange: 'ERR_MMAP_INVALID_RANGE',
        writeParsedRange: 'ERR_MMAP_INVALID_RANGE',
        claimAgain: 'ERR_MMAP_RANGE_CLAIMED',
      };
      for (let ticket = 0; ticket <= 64; ticket++) {
        expected[`held#${ticket}`] = 'ERR_MMAP_RANGE_CLAIMED';
        expected[`free#${ticket}`] = 'ERR_MMAP_RANGE_CLAIMED';
      }
      assert.deepEqual(report.codes, expected);
      assert.deepEqual(report.ranges, [[moved.start, moved.end]]);

      // The range the forger tried to take is still this thread's, and only this thread's.
      assert.equal(held.isLive, true);
      file.writeRange(held, patternFor(9, held.start, held.end));
      // Forging in this thread fares no better.
      assert.throws(() => file.receiveRange({ ...real, end: real.end + ALIGNMENT }), { code: 'ERR_MMAP_RANGE_CLAIMED' });
      assert.throws(() => file.receiveRange(real), { code: 'ERR_MMAP_RANGE_CLAIMED' });
      assert.throws(() => file.writeRange(JSON.parse(JSON.stringify(held)), new Uint8Array(held.length)), { code: 'ERR_MMAP_INVALID_RANGE' });
      assert.throws(() => file.writeRange(structuredClone(held), new Uint8Array(held.length)), { code: 'ERR_MMAP_INVALID_RANGE' });
      file.syncAll();
      file.close();

      const disk = readFileSync(t.path('forge.bin'));
      assert.equal(firstMismatch(disk, 0, 9, held.start, held.end), -1);
      assert.equal(firstMismatch(disk, 0, 5, moved.start, moved.end), -1);
      assert.ok(
        disk.subarray(moved.end).every((x) => x === 0),
        'nothing was written past the claimed range',
      );
    } finally {
      t.cleanup();
    }
  },
);

for (const state of ['cold', 'cached'] as const) {
  test(
    `RawMmapFile: 4 workers write large chunks into a ${state} file at once (the large-write routes chosen per call: pwrite and copy side by side), every byte right`,
    WORKER_TEST,
    async () => {
      const t = tempDir();
      try {
        const quarter = 3 * 1024 * 1024 + 4096 * 7 + 11;
        const size = 4 * quarter;
        const raw = RawMmapFile.create(t.path('large.bin'), size);
        if (state === 'cached') {
          // Every page in the page cache: the copy route is open to one writer at a time.
          raw.fill(0, size, 0xee);
          raw.syncAll();
        }
        const chunks = [300_000, 1_048_576, 262_144, 700_001];
        const workers = [0, 1, 2, 3].map((k) =>
          start({ kind: 'raw', seed: k + 1, file: raw.share(), offset: k * quarter, length: quarter, chunks, asyncEvery: 1000 }),
        );
        await releaseTogether(workers);
        const reports = await Promise.all(workers.map((w) => w.report<RawReport>()));
        for (const r of reports) assert.equal(r.readBackMismatch, -1);
        syncCloseAndCheck(raw, t.path('large.bin'), size, reports);
      } finally {
        t.cleanup();
      }
    },
  );
}

test('RawMmapFile shared with 2 workers writing disjoint halves in uneven chunks (both write routes, sync and async)', WORKER_TEST, async () => {
  const t = tempDir();
  try {
    const size = 3 * 1024 * 1024 + 10;
    const raw = RawMmapFile.create(t.path('raw.bin'), size);
    // Split inside a page: the two writers share that page byte-disjointly.
    const half = Math.floor(size / 2) + 123;
    // 300000 bytes take the large-write route, the rest are plain copies.
    const chunks = [1, 4095, 4097, 300_000, 65_536, 17, 12_288];
    const workers = [
      start({ kind: 'raw', seed: 1, file: raw.share(), offset: 0, length: half, chunks, asyncEvery: 3 }),
      start({ kind: 'raw', seed: 2, file: raw.share(), offset: half, length: size - half, chunks: [...chunks].reverse(), asyncEvery: 4 }),
    ];
    await releaseTogether(workers);
    const reports = await Promise.all(workers.map((w) => w.report<RawReport>()));
    for (const r of reports) assert.equal(r.readBackMismatch, -1);
    // The main thread's view of the same memory agrees.
    const seen = new Uint8Array(size);
    assert.equal(raw.readAt(0, seen), size);
    assert.equal(firstMismatch(seen, 0, 1, 0, half), -1);
    assert.equal(firstMismatch(seen, 0, 2, half, size), -1);
    syncCloseAndCheck(raw, t.path('raw.bin'), size, reports);
  } finally {
    t.cleanup();
  }
});
