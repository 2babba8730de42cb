// Lifetimes across threads (SPEC section 2): use after close is an error,
// never a crash; closing in one thread never breaks another; a mapping
// lives until the last thread using it closes or exits; and workers that
// come and go, however they leave, leak no mapping and no descriptor.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { ALIGNMENT, MmapFile, RawMmapFile, inspectNative, type SharedMappedFile } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import { TestWorker, WORKER_TEST, codeOf, lifeWorkerUrl, runJob, terminateWorkers } from './worker-helpers.js';
import { checksum, firstMismatch, patternFor } from './fixtures/conc-pattern.js';
import type { CloseThenUseReport, HoldExit, HoldReport, KeepBufferReport, LifeJob, StaleReport, WriteThroughReport } from './fixtures/life-worker.js';

// A test that times out must not leave its workers running.
afterEach(terminateWorkers);

const openFds = () => readdirSync('/proc/self/fd').length;
const liveMappings = () => inspectNative().liveMappings;
const start = (job: LifeJob) => new TestWorker(lifeWorkerUrl, job);

function assertPattern(disk: Uint8Array, seed: number, start: number, end: number, what: string): void {
  const bad = firstMismatch(disk, 0, seed, start, end);
  assert.equal(bad, -1, `${what}: byte ${bad} of [${start}, ${end}) is ${disk[bad]}`);
}

/** Every call of `calls` must be refused with ERR_MMAP_CLOSED (synchronously or as a rejection). */
async function assertAllClosed(calls: Record<string, () => unknown>): Promise<void> {
  const got: Record<string, string> = {};
  for (const [name, call] of Object.entries(calls)) got[name] = await codeOf(call);
  assert.deepEqual(got, Object.fromEntries(Object.keys(calls).map((name) => [name, 'ERR_MMAP_CLOSED'])));
}

for (const allocatorKind of ['sequential', 'concurrent'] as const) {
  test(`use after close in the main thread (MmapFile, ${allocatorKind}): every call throws ERR_MMAP_CLOSED, copies keep their bytes`, WORKER_TEST, async () => {
    const t = tempDir();
    try {
      const base = liveMappings();
      const { file, allocator } = MmapFile.create(t.path('m.bin'), 8 * ALIGNMENT, { allocator: allocatorKind });
      const range = allocator.allocate(ALIGNMENT)!;
      const receipt = file.writeRange(range, patternFor(1, range.start, range.end));
      const kept = allocator.allocate(ALIGNMENT)!;
      const transfer = allocator.allocate(ALIGNMENT)!.transfer();
      const copy = new Uint8Array(range.length);
      file.readRange(range, copy);
      file.close();
      assert.equal(liveMappings(), base);

      const buf = new Uint8Array(range.length);
      await assertAllClosed({
        writeRange: () => file.writeRange(range, buf),
        writeRangeAsync: () => file.writeRangeAsync(range, buf),
        readRange: () => file.readRange(range, buf),
        readRangeTooSmall: () => file.readRange(range, new Uint8Array(1)),
        readRangeAsync: () => file.readRangeAsync(range, buf),
        flushRange: () => file.flushRange(receipt),
        flushRangeAsync: () => file.flushRangeAsync(receipt),
        syncRange: () => file.syncRange(receipt),
        syncRangeAsync: () => file.syncRangeAsync(receipt),
        flush: () => file.flush(),
        flushAsync: () => file.flushAsync(),
        syncAll: () => file.syncAll(),
        syncAllAsync: () => file.syncAllAsync(),
        share: () => file.share(),
        receiveRange: () => file.receiveRange(transfer),
        allocate: () => allocator.allocate(1),
        // The concurrent allocator's position is shared state read from the
        // mapping (the sequential one keeps it in the allocator object).
        ...(allocatorKind === 'concurrent' ? { remaining: () => allocator.remaining, nextPos: () => allocator.nextPos } : {}),
        // The file is closed in every thread: there is no one to hand the range to.
        transfer: () => kept.transfer(),
      });
      // Closing again, or disposing, is harmless; the plain facts stay readable.
      file.close();
      file[Symbol.dispose]();
      await file[Symbol.asyncDispose]();
      assert.equal(file.isClosed, true);
      assert.equal(file.size, 8 * ALIGNMENT);
      assert.equal(file.path, t.path('m.bin'));
      // What was copied out before the close is the caller's own memory.
      assert.equal(firstMismatch(copy, range.start, 1, range.start, range.end), -1);
      assertPattern(readFileSync(t.path('m.bin')), 1, range.start, range.end, 'written before close');
    } finally {
      t.cleanup();
    }
  });
}

test(
  'use after close in the main thread (RawMmapFile): every call throws ERR_MMAP_CLOSED, views made earlier go empty without crashing',
  WORKER_TEST,
  async () => {
    const t = tempDir();
    try {
      const raw = RawMmapFile.create(t.path('r.bin'), 4 * ALIGNMENT);
      raw.writeAt(0, patternFor(2, 0, 4 * ALIGNMENT));
      const view = raw.readSlice(0, 2 * ALIGNMENT); // zero-copy over the mapping
      const copy = new Uint8Array(ALIGNMENT);
      raw.readAt(ALIGNMENT, copy);
      raw.close();

      const buf = new Uint8Array(16);
      await assertAllClosed({
        writeAt: () => raw.writeAt(0, buf),
        writeAtEmpty: () => raw.writeAt(0, new Uint8Array(0)),
        writeAtBigint: () => raw.writeAt(10n, buf),
        writeAtAsync: () => raw.writeAtAsync(0, buf),
        readAt: () => raw.readAt(0, buf),
        readAtEmpty: () => raw.readAt(0, new Uint8Array(0)),
        readAtAsync: () => raw.readAtAsync(0, buf),
        readSlice: () => raw.readSlice(0, 1),
        fill: () => raw.fill(0, 16, 1),
        zero: () => raw.zero(0, 16),
        flushRange: () => raw.flushRange(0, 16),
        syncRange: () => raw.syncRange(0, 16),
        syncRangeAsync: () => raw.syncRangeAsync(0, 16),
        flush: () => raw.flush(),
        flushAsync: () => raw.flushAsync(),
        syncAll: () => raw.syncAll(),
        syncAllAsync: () => raw.syncAllAsync(),
        share: () => raw.share(),
      });
      raw.close();
      assert.equal(raw.isClosed, true);
      // The view is detached: empty, reads give undefined, writes go nowhere.
      assert.equal(view.length, 0);
      assert.equal(view[0], undefined);
      view[5] = 9;
      assert.equal(view[5], undefined);
      assert.equal(Buffer.from(view).length, 0);
      assert.deepEqual(copy, patternFor(2, 0, 4 * ALIGNMENT).subarray(ALIGNMENT, 2 * ALIGNMENT), 'a readAt copy keeps its bytes');
      assertPattern(readFileSync(t.path('r.bin')), 2, 0, 4 * ALIGNMENT, 'nothing written after close');
    } finally {
      t.cleanup();
    }
  },
);

test(
  'async work in flight when its file is closed finishes honestly: no false fault, its bytes are in the file, the mapping goes after it',
  WORKER_TEST,
  async () => {
    const t = tempDir();
    try {
      const base = liveMappings();
      const { file, allocator } = MmapFile.create(t.path('a.bin'), 64 * ALIGNMENT);
      const raw = RawMmapFile.create(t.path('b.bin'), 64 * ALIGNMENT);
      const done = allocator.allocate(8 * ALIGNMENT)!;
      const receipt = file.writeRange(done, patternFor(3, done.start, done.end));
      raw.writeAt(0, patternFor(4, 0, 8 * ALIGNMENT));
      const late = allocator.allocate(32 * ALIGNMENT)!;
      const readBack = new Uint8Array(done.length);
      const rawBack = new Uint8Array(8 * ALIGNMENT);
      // Each call is accepted before the close and queued on the thread pool.
      const pending: Record<string, Promise<unknown>> = {
        writeRangeAsync: file.writeRangeAsync(late, patternFor(5, late.start, late.end)),
        readRangeAsync: file.readRangeAsync(done, readBack),
        flushRangeAsync: file.flushRangeAsync(receipt),
        syncRangeAsync: file.syncRangeAsync(receipt),
        flushAsync: file.flushAsync(),
        syncAllAsync: file.syncAllAsync(),
        writeAtAsync: raw.writeAtAsync(32 * ALIGNMENT, patternFor(6, 32 * ALIGNMENT, 64 * ALIGNMENT)),
        readAtAsync: raw.readAtAsync(0, rawBack),
        rawSyncRangeAsync: raw.syncRangeAsync(0, 8 * ALIGNMENT),
        rawSyncAllAsync: raw.syncAllAsync(),
      };
      file.close();
      raw.close();
      // Settle all of them before asserting anything, so none outlives the test.
      const outcomes = Object.fromEntries(await Promise.all(Object.entries(pending).map(async ([name, p]) => [name, await codeOf(() => p)] as const)));
      // Nothing faulted: each call either completed ('ok') or says the close
      // cut it short (ERR_MMAP_CLOSED); a rejected call must have changed nothing.
      const wrong = Object.entries(outcomes).filter(([, outcome]) => outcome !== 'ok' && outcome !== 'ERR_MMAP_CLOSED');
      assert.deepEqual(wrong, [], 'no fault happened, so no call may report one');
      const a = readFileSync(t.path('a.bin'));
      const b = readFileSync(t.path('b.bin'));
      if (outcomes.writeRangeAsync === 'ok') assertPattern(a, 5, late.start, late.end, 'writeRangeAsync resolved');
      else
        assert.ok(
          a.subarray(late.start, late.end).every((x) => x === 0),
          'writeRangeAsync was refused yet wrote',
        );
      if (outcomes.writeAtAsync === 'ok') assertPattern(b, 6, 32 * ALIGNMENT, 64 * ALIGNMENT, 'writeAtAsync resolved');
      else
        assert.ok(
          b.subarray(32 * ALIGNMENT).every((x) => x === 0),
          'writeAtAsync was refused yet wrote',
        );
      if (outcomes.readRangeAsync === 'ok') assert.equal(firstMismatch(readBack, done.start, 3, done.start, done.end), -1);
      if (outcomes.readAtAsync === 'ok') assert.equal(firstMismatch(rawBack, 0, 4, 0, 8 * ALIGNMENT), -1);
      assert.equal(liveMappings(), base, 'every mapping is gone once the pending work has settled');
    } finally {
      t.cleanup();
    }
  },
);

test("a worker closes its handle: there every call throws ERR_MMAP_CLOSED; the main thread's handles and views keep working", WORKER_TEST, async () => {
  const t = tempDir();
  try {
    const base = liveMappings();
    const { file, allocator } = MmapFile.create(t.path('c.bin'), 16 * ALIGNMENT, { allocator: 'concurrent' });
    // A second handle in this thread, with a zero-copy view over the whole file.
    const mainRaw = RawMmapFile.fromShared(file.share());
    const view = mainRaw.readSlice(0, file.size);
    const first = allocator.allocate(ALIGNMENT)!;
    const second = allocator.allocate(2 * ALIGNMENT)!;
    const report = await runJob<CloseThenUseReport>(lifeWorkerUrl, {
      kind: 'closeThenUse',
      seed: 4,
      file: file.share(),
      transfers: [first.transfer(), second.transfer()],
    } satisfies LifeJob);

    const expected = Object.fromEntries(Object.keys(report.codes).map((name) => [name, name === 'closeAgain' ? 'ok' : 'ERR_MMAP_CLOSED']));
    assert.equal(Object.keys(report.codes).length, 16);
    assert.deepEqual(report.codes, expected);
    assert.deepEqual([report.attachmentsOpen, report.attachmentsClosed, report.attachmentsEnd], [1, 0, 0]);
    assert.deepEqual(report.ranges, [
      [first.start, first.end],
      [second.start, second.end],
    ]);

    // Here, nothing was closed: the view still spans the file and shows the worker's bytes.
    assert.equal(view.length, file.size);
    assert.equal(firstMismatch(view, 0, 4, first.start, first.end), -1);
    assert.equal(firstMismatch(view, 0, 4, second.start, second.end), -1);
    const mine = allocator.allocate(ALIGNMENT)!;
    file.writeRange(mine, patternFor(8, mine.start, mine.end));
    assert.equal(firstMismatch(view, 0, 8, mine.start, mine.end), -1);
    // Closing one of this thread's two handles leaves the other working.
    mainRaw.close();
    assert.equal(view.length, 0);
    const back = new Uint8Array(mine.length);
    file.readRange(mine, back);
    assert.equal(firstMismatch(back, mine.start, 8, mine.start, mine.end), -1);
    file.syncAll();
    file.close();
    assert.equal(liveMappings(), base);
    const disk = readFileSync(t.path('c.bin'));
    assertPattern(disk, 4, first.start, first.end, 'worker, first handle');
    assertPattern(disk, 4, second.start, second.end, 'worker, second handle');
    assertPattern(disk, 8, mine.start, mine.end, 'main thread');
  } finally {
    t.cleanup();
  }
});

test(
  'the main thread closes while a worker keeps writing: the worker finishes, claims ranges sent just before the close, allocates the rest, and every byte is on disk',
  WORKER_TEST,
  async () => {
    const t = tempDir();
    try {
      const base = liveMappings();
      const size = 64 * ALIGNMENT + 100;
      const { file, allocator } = MmapFile.create(t.path('w.bin'), size, { allocator: 'concurrent' });
      const early = [allocator.allocate(ALIGNMENT)!, allocator.allocate(3 * ALIGNMENT - 5)!];
      const later = [allocator.allocate(2 * ALIGNMENT)!, allocator.allocate(ALIGNMENT)!];
      const flag = new SharedArrayBuffer(4);
      const w = start({ kind: 'writeThrough', seed: 10, file: file.share(), transfers: early.map((r) => r.transfer()), flag });
      assert.equal(await w.next(), 'writing');
      w.post(later.map((r) => r.transfer()));
      file.close();
      assert.throws(() => file.flush(), { code: 'ERR_MMAP_CLOSED' });
      assert.throws(() => allocator.allocate(1), { code: 'ERR_MMAP_CLOSED' });
      assert.equal(liveMappings(), base + 1, 'the worker keeps the mapping alive');
      Atomics.store(new Int32Array(flag), 0, 1); // tell the worker we have closed
      const report = await w.report<WriteThroughReport>();
      assert.ok(report.passesBeforeClose >= 1);
      assert.equal(report.viewLength, size, "the worker's view survived the main thread's close");
      assert.equal(report.readBackMismatch, -1);
      assert.equal(liveMappings(), base, 'the last thread has closed: the mapping is gone');

      // The worker's ranges tile the whole file: the shared counter went on from where the main thread left it.
      const disk = readFileSync(t.path('w.bin'));
      assert.equal(disk.length, size);
      const sorted = [...report.ranges].sort((x, y) => x[0] - y[0]);
      let at = 0;
      for (const [s, e] of sorted) {
        assert.equal(s, at, `gap or overlap at ${at}`);
        assertPattern(disk, report.finalSeed, s, e, 'written after the main thread closed');
        at = e;
      }
      assert.equal(at, size);
    } finally {
      t.cleanup();
    }
  },
);

test('a share handle whose mapping is closed everywhere is refused with ERR_MMAP_CLOSED, also once another file took its place', WORKER_TEST, async () => {
  const t = tempDir();
  try {
    const base = liveMappings();
    const size = 4 * ALIGNMENT;
    const a = RawMmapFile.create(t.path('a.bin'), size);
    const staleHandle = a.share();
    a.close();
    await assertAllClosed({ mmap: () => MmapFile.fromShared(staleHandle), raw: () => RawMmapFile.fromShared(staleHandle) });

    const b = RawMmapFile.create(t.path('b.bin'), size);
    b.writeAt(0, patternFor(6, 0, size));
    const live: SharedMappedFile = b.share();
    assert.notEqual(live.key, staleHandle.key);
    const attachmentsHere = inspectNative().threadAttachments;
    const report = await runJob<StaleReport>(lifeWorkerUrl, {
      kind: 'stale',
      handles: [staleHandle, { ...staleHandle, path: t.path('b.bin') }],
    } satisfies LifeJob);
    assert.deepEqual(report.codes, ['ERR_MMAP_CLOSED', 'ERR_MMAP_CLOSED', 'ERR_MMAP_CLOSED', 'ERR_MMAP_CLOSED']);
    assert.equal(report.attachments, 0);
    // An altered live handle is refused too, and the refused attach holds nothing.
    assert.throws(() => RawMmapFile.fromShared({ ...live, size: size + 1 }), { code: 'ERR_MMAP_INVALID_ARGUMENT' });
    assert.equal(inspectNative().threadAttachments, attachmentsHere);
    assert.equal(liveMappings(), base + 1);

    const back = new Uint8Array(size);
    b.readAt(0, back);
    assert.equal(firstMismatch(back, 0, 6, 0, size), -1);
    b.close();
    assert.equal(liveMappings(), base);
    assert.ok(readFileSync(t.path('a.bin')).every((x) => x === 0));
    assertPattern(readFileSync(t.path('b.bin')), 6, 0, size, "the file that took the old one's place");
  } finally {
    t.cleanup();
  }
});

/**
 * Node 20 copies a mapped view's buffer named in a transfer list (the sender
 * keeps its buffer); Node 22 and later refuse it with DataCloneError, as
 * they do for every buffer whose memory V8 does not own. docs/threads.md
 * says the same.
 */
const TRANSFER_LIST_REFUSED = Number(process.versions.node.split('.')[0]) >= 22;

test(
  TRANSFER_LIST_REFUSED
    ? "a view's buffer in a transfer list is refused with DataCloneError (Node 22+) and stays intact; posted without one, the worker's copy stays readable after the sender closed the file, and writing it does not reach the file"
    : "a view's buffer posted to a worker in a transfer list (Node 20: copied) stays readable there after the sender closed the file, and writing it does not reach the file",
  WORKER_TEST,
  async () => {
    const t = tempDir();
    try {
      const base = liveMappings();
      const size = 2 * ALIGNMENT;
      const raw = RawMmapFile.create(t.path('k.bin'), size);
      raw.writeAt(0, patternFor(7, 0, size));
      const buffer = raw.readSlice(0, ALIGNMENT).buffer as ArrayBuffer;
      const length = buffer.byteLength;
      const expected = checksum(new Uint8Array(buffer));
      const w = start({ kind: 'keepBuffer' });
      if (TRANSFER_LIST_REFUSED) {
        assert.throws(() => w.post(buffer, [buffer]), { name: 'DataCloneError' });
        w.post(buffer); // a structured clone: a copy on every version
      } else {
        w.post(buffer, [buffer]);
      }
      // Either way the sender's buffer was copied, not detached.
      assert.equal(buffer.byteLength, length, 'the sender keeps its buffer');
      assert.deepEqual(checksum(new Uint8Array(buffer)), expected);
      assert.equal(await w.next(), 'received');
      raw.close();
      assert.equal(liveMappings(), base, 'the mapping is unmapped');
      w.post('closed');
      const report = await w.report<KeepBufferReport>();
      assert.deepEqual(report.before, expected);
      assert.deepEqual(report.after, expected);
      assertPattern(readFileSync(t.path('k.bin')), 7, 0, size, "the worker's writes stayed in its copy");
    } finally {
      t.cleanup();
    }
  },
);

/** Runs one 'hold' worker to its end and checks how it ended. */
async function runHold(job: Extract<LifeJob, { kind: 'hold' }>): Promise<HoldReport> {
  const w = start(job);
  const report = await w.next<HoldReport>();
  if (job.exit === 'spin') await w.worker.terminate();
  const code = await w.exited;
  const dies = job.exit === 'throw' || job.exit === 'spin';
  assert.equal(code, dies ? 1 : 0, `exit code of a worker that leaves by ${job.exit}`);
  if (job.exit === 'throw') assert.match(String(w.error), /planned/);
  else assert.equal(w.error, undefined);
  assert.equal(report.viewMismatch, -1, 'the zero-copy view shows the written bytes');
  assert.equal(report.otherMappingMismatch, -1, 'a separate mapping of the file shows them too');
  return report;
}

/** One worker first, so that one-time costs of starting workers are not counted as leaks. */
async function warmUp(): Promise<void> {
  await runJob<StaleReport>(lifeWorkerUrl, { kind: 'stale', handles: [] } satisfies LifeJob);
}

const ALL_EXITS: HoldExit[] = ['process.exit', 'return', 'close', 'throw', 'asyncExit', 'spin'];

test(
  'workers that leave while holding files and views (process.exit, return without close, uncaught throw, exit with async work pending, terminate while writing) leave the main thread working and nothing behind',
  WORKER_TEST,
  async () => {
    const t = tempDir();
    try {
      await warmUp();
      const baseMappings = liveMappings();
      const { file, allocator } = MmapFile.create(t.path('h.bin'), 32 * ALIGNMENT, { allocator: 'concurrent' });
      const baseFds = openFds();
      const mine = allocator.allocate(ALIGNMENT)!;
      const written: { seed: number; range: [number, number] }[] = [];
      for (const [i, exit] of ALL_EXITS.entries()) {
        const seed = 20 + i;
        const own = t.path(`own-${i}.bin`);
        const report = await runHold({ kind: 'hold', seed, file: file.share(), sharedPath: t.path('h.bin'), ownPath: own, exit });
        written.push({ seed, range: report.range });
        assert.equal(liveMappings(), baseMappings + 1, `after ${exit}: only the main thread's mapping is left`);
        assert.equal(openFds(), baseFds, `after ${exit}: no descriptor is left`);
        // The main thread's handle still works, and sees what the worker wrote.
        const data = patternFor(seed, mine.start, mine.end);
        file.writeRange(mine, data);
        const back = new Uint8Array(mine.length);
        file.readRange(mine, back);
        assert.deepEqual(back, data);
        // The worker's own file, written through a mapping that is gone now, is complete.
        assertPattern(readFileSync(own), seed, 0, 8 * ALIGNMENT, `own file of the worker that left by ${exit}`);
      }
      file.syncAll();
      file.close();
      assert.equal(liveMappings(), baseMappings);
      const disk = readFileSync(t.path('h.bin'));
      for (const { seed, range } of written) assertPattern(disk, seed, range[0], range[1], `worker ${seed}`);
      assertPattern(disk, 20 + ALL_EXITS.length - 1, mine.start, mine.end, 'main thread');
    } finally {
      t.cleanup();
    }
  },
);

test(
  '200 workers open, write and leave in every way, 8 at a time: mappings, attachments and descriptors return to where they started',
  WORKER_TEST,
  async () => {
    const t = tempDir();
    try {
      await warmUp();
      const workers = 200;
      const { file } = MmapFile.create(t.path('leak.bin'), (workers + 8) * ALIGNMENT, { allocator: 'concurrent' });
      const baseMappings = liveMappings();
      const baseFds = openFds();
      const baseAttachments = inspectNative().threadAttachments;
      const written: { seed: number; range: [number, number] }[] = [];
      for (let batch = 0; batch * 8 < workers; batch++) {
        const reports = await Promise.all(
          Array.from({ length: 8 }, (_, k) => {
            const seed = batch * 8 + k;
            return runHold({
              kind: 'hold',
              seed,
              file: file.share(),
              sharedPath: t.path('leak.bin'),
              ownPath: t.path(`own-${seed}.bin`),
              exit: ALL_EXITS[seed % ALL_EXITS.length],
            }).then((report) => ({ seed, range: report.range }));
          }),
        );
        written.push(...reports);
      }
      assert.equal(written.length, workers);
      assert.equal(liveMappings(), baseMappings, 'no mapping is left by the workers');
      assert.equal(openFds(), baseFds, 'no descriptor is left by the workers');
      assert.equal(inspectNative().threadAttachments, baseAttachments);

      file.syncAll();
      file.close();
      assert.equal(liveMappings(), baseMappings - 1);
      const disk = readFileSync(t.path('leak.bin'));
      for (const { seed, range } of written) {
        assertPattern(disk, seed, range[0], range[1], `worker ${seed}`);
        assertPattern(readFileSync(t.path(`own-${seed}.bin`)), seed, 0, 8 * ALIGNMENT, `own file of worker ${seed}`);
      }
    } finally {
      t.cleanup();
    }
  },
);
