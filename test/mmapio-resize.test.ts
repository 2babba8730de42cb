// resize(): never blocks, never dangles. In one thread: grow and shrink,
// checked calls past the new end refused, atomic views and segments moved
// or refused, the file's bytes exact. With two worker threads writing,
// reading and adding throughout: resizes while they run and while they
// hold views of the old mapping; byte-exact content after every step, and
// stores through views a shrink left past the end never reach the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { MemoryMappedFile, PAGE_BYTES, RawMmapFile, inspectNative } from 'ranged-mmap';
import { pattern, snapshot, tempDir } from './helpers.js';
import { rejectsUnchanged } from './mmapio-helpers.js';
import { COUNTER_OFFSET, CTRL, MAIN_REGION, PAGE, workerSeed, type ResizeJob, type ResizeReport } from './fixtures/mmapio-resize-worker.js';

test('resize in one thread: grow keeps the bytes, shrink cuts them; checked calls, atomics and segments follow', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const m = MemoryMappedFile.createRw(p, 3 * PAGE_BYTES);
    const first = pattern(3 * PAGE_BYTES, 1);
    m.updateRegion(0, first);
    const a = m.atomicU64(8);
    const far = m.atomicU32(3 * PAGE_BYTES - 4);
    const seg = m.segment(2 * PAGE_BYTES, PAGE_BYTES);
    const old = m.asSlice(0, 16);
    m.resize(10 * PAGE_BYTES + 5);
    assert.equal(m.length, 10 * PAGE_BYTES + 5);
    assert.equal(m.size, 10 * PAGE_BYTES + 5);
    assert.equal(statSync(p).size, 10 * PAGE_BYTES + 5);
    assert.deepEqual(old, first.subarray(0, 16), 'a view taken before a grow keeps working (it maps the same file)');
    assert.deepEqual(m.asSlice(0, 3 * PAGE_BYTES), first);
    assert.deepEqual(m.asSlice(3 * PAGE_BYTES, 7 * PAGE_BYTES + 5), new Uint8Array(7 * PAGE_BYTES + 5), 'the new bytes are zeros');
    assert.equal(a.add(1n), new DataView(first.buffer).getBigUint64(8, true), 'an atomic view made before the grow moves with it');
    m.updateRegion(10 * PAGE_BYTES, new Uint8Array([1, 2, 3, 4, 5]));
    seg.updateRegion(0, new Uint8Array([9]));
    assert.equal(readFileSync(p)[2 * PAGE_BYTES], 9);
    // Shrink below the far atomic view and the segment.
    m.resize(PAGE_BYTES + 100);
    assert.equal(statSync(p).size, PAGE_BYTES + 100);
    assert.equal(old.length, 0, 'a shrink below its mapping detaches a view taken before it');
    assert.throws(() => far.load(), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
    assert.throws(() => seg.readInto(0, new Uint8Array(1)), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
    rejectsUnchanged(p, 'ERR_MMAP_OUT_OF_BOUNDS', () => m.updateRegion(PAGE_BYTES + 99, new Uint8Array(2)));
    rejectsUnchanged(p, 'ERR_MMAP_OUT_OF_BOUNDS', () => m.asSlice(PAGE_BYTES + 101, 0));
    rejectsUnchanged(p, 'ERR_MMAP_OUT_OF_BOUNDS', () => m.atomicU32(PAGE_BYTES + 100));
    assert.equal([...m.chunks(PAGE_BYTES)].length, 2);
    const expected = Buffer.from(first.subarray(0, PAGE_BYTES + 100));
    expected.writeBigUInt64LE(new DataView(first.buffer).getBigUint64(8, true) + 1n, 8);
    assert.deepEqual(readFileSync(p), expected);
    assert.equal(a.load(), new DataView(first.buffer).getBigUint64(8, true) + 1n);
    // Grow again: the old tail comes back as zeros.
    m.resize(3 * PAGE_BYTES);
    assert.deepEqual(readFileSync(p).subarray(PAGE_BYTES + 100), Buffer.alloc(2 * PAGE_BYTES - 100));
    assert.equal(far.load(), 0, 'the far view is back in bounds, over the new bytes');
    m.resize(3 * PAGE_BYTES); // same size: nothing to do
    m.syncAll();
    m.close();
    assert.equal(inspectNative().liveMappings, 0, 'the old mappings are gone with the last thread');
  } finally {
    t.cleanup();
  }
});

test('a RawMmapFile still on the mapping before a shrink reports ERR_MMAP_FAULT; its stores never reach the file', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const m = MemoryMappedFile.createRw(p, 4 * PAGE_BYTES);
    const raw = RawMmapFile.fromShared(m.share());
    const oldView = raw.readSlice(3 * PAGE_BYTES, 16);
    m.resize(PAGE_BYTES);
    oldView.fill(0xee); // past the new end: neither a crash nor the file
    m.resize(4 * PAGE_BYTES); // the offsets exist again
    assert.deepEqual(readFileSync(p), Buffer.alloc(4 * PAGE_BYTES), 'the stale store did not reach the file');
    assert.throws(() => raw.writeAt(0, new Uint8Array([1])), { code: 'ERR_MMAP_FAULT' });
    assert.throws(() => raw.syncAll(), { code: 'ERR_MMAP_FAULT' });
    raw.close();
    m.updateRegion(0, new Uint8Array([2]));
    m.syncAll();
    assert.equal(readFileSync(p)[0], 2, 'the MemoryMappedFile itself is unaffected');
    m.close();
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('500 resizes while another handle holds the first mapping: the chain is freed with the last handle', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const m = MemoryMappedFile.createRw(p, PAGE_BYTES);
    const holder = RawMmapFile.fromShared(m.share()); // never follows: keeps the first mapping, and through it every successor
    for (let i = 1; i <= 500; i++) m.resize(PAGE_BYTES * (1 + (i % 3))); // every step changes the size
    assert.equal(inspectNative().liveMappings, 501);
    m.close();
    assert.equal(inspectNative().liveMappings, 501, 'the holder still reaches the whole chain');
    holder.close();
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('async copies in flight across a shrink made through another handle: inside the new end they succeed, past it they are refused or landed before it', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const m = MemoryMappedFile.createRw(p, 256 * PAGE_BYTES);
    const other = MemoryMappedFile.fromShared(m.share());
    for (let round = 0; round < 20; round++) {
      other.resize(256 * PAGE_BYTES);
      const near = m.updateRegionAsync(0, new Uint8Array(PAGE_BYTES).fill(round + 1));
      const far = m.updateRegionAsync(200 * PAGE_BYTES, new Uint8Array(PAGE_BYTES).fill(9)).then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      );
      const back = new Uint8Array(16);
      const read = m.readIntoAsync(8, back);
      other.resize(16 * PAGE_BYTES + 5);
      await near;
      assert.equal(await read, 16);
      const outcome = await far;
      assert.ok(outcome === 'ok' || outcome === 'ERR_MMAP_OUT_OF_BOUNDS', String(outcome));
      assert.equal(m.length, 16 * PAGE_BYTES + 5);
      assert.equal(readFileSync(p)[0], round + 1);
    }
    m.close();
    other.close();
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('resize errors: ro and cow, zero, wrong types, closed; the file unchanged', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    writeFileSync(p, pattern(5000, 2));
    for (const open of [MemoryMappedFile.openRo, MemoryMappedFile.openCow]) {
      const m = open(p);
      rejectsUnchanged(p, 'ERR_MMAP_INVALID_MODE', () => m.resize(10_000));
      rejectsUnchanged(p, 'ERR_MMAP_INVALID_MODE', () => m.resize(100));
      m.close();
    }
    const m = MemoryMappedFile.openRw(p);
    rejectsUnchanged(p, 'ERR_MMAP_EMPTY_FILE', () => m.resize(0));
    for (const [v, code] of [
      [-1, 'ERR_OUT_OF_RANGE'],
      [1.5, 'ERR_OUT_OF_RANGE'],
      [NaN, 'ERR_OUT_OF_RANGE'],
      ['10', 'ERR_INVALID_ARG_TYPE'],
      [null, 'ERR_INVALID_ARG_TYPE'],
      [2 ** 53, 'ERR_OUT_OF_RANGE'],
    ] as const) {
      rejectsUnchanged(p, code, () => m.resize(v as number), String(v));
    }
    m.close();
    rejectsUnchanged(p, 'ERR_MMAP_CLOSED', () => m.resize(10_000));
    assert.equal(snapshot(p), snapshot(p));
  } finally {
    t.cleanup();
  }
});

test('resize while 2 worker threads write, read and add: byte-exact after every step, stale views never reach the file', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const initial = 16 * PAGE;
    writeFileSync(p, Buffer.alloc(initial));
    const m = MemoryMappedFile.openRw(p);
    // Each step resizes to its sizes in order, while the workers run or
    // while they are paused holding views of the mapping before the step.
    const steps = [
      { sizes: [1 << 20], paused: false }, // grow while the workers run
      { sizes: [8 * PAGE], paused: true }, // shrink under their views at the 1 MiB end
      { sizes: [2 << 20], paused: true }, // grow under their views at the 32 KiB end
      { sizes: [6 * PAGE, 2 << 20], paused: true }, // shrink under their views at the 2 MiB end, and grow back over those offsets
      { sizes: [6 * PAGE + 100], paused: false }, // shrink while they run
      { sizes: [64 * PAGE + 123, 64 * PAGE + 123], paused: true }, // grow (then the same size: nothing to do)
    ];
    const ctrl = new Int32Array(new SharedArrayBuffer(128));
    // Step -1 is the initial state: the main thread's bytes are there before the workers start.
    m.updateRegion(MAIN_REGION, pattern(initial - MAIN_REGION, -1));
    Atomics.store(ctrl, CTRL.STEP, -1);
    const threads: Worker[] = [];
    const gone = [false, false];
    const reported: (ResizeReport | undefined)[] = [undefined, undefined];
    const workers = [0, 1].map((index) => {
      const job: ResizeJob = { file: m.share(), index, ctrl: ctrl.buffer as SharedArrayBuffer, sizes: steps.map((s) => s.sizes), initial };
      const w = new Worker(new URL('./fixtures/mmapio-resize-worker.js', import.meta.url), { workerData: job });
      threads.push(w);
      const report = new Promise<ResizeReport>((resolve, reject) => {
        w.once('message', (r: ResizeReport) => {
          reported[index] = r;
          resolve(r);
        });
        w.once('error', reject);
        w.once('exit', (code) => {
          gone[index] = true;
          reject(new Error(`worker exited with ${code} before reporting`));
        });
      });
      report.catch(() => {}); // awaited below; a failure also ends the waits in pause()
      return report;
    });
    let generation = 0;
    const pause = async () => {
      generation++;
      Atomics.store(ctrl, CTRL.PAUSE, generation);
      while ([0, 1].some((i) => Atomics.load(ctrl, CTRL.ACK + i) !== generation)) {
        // A worker that stopped (an error, or the end) cannot answer: stop waiting and show why.
        if (gone.some((g) => g) || reported.some((r) => r !== undefined)) throw new Error(`a worker stopped: ${JSON.stringify(reported)}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    // Resumes the workers and waits until they have dealt with their stale views.
    const resume = async () => {
      Atomics.store(ctrl, CTRL.RUN, generation);
      Atomics.notify(ctrl, CTRL.RUN);
      while ([0, 1].some((i) => Atomics.load(ctrl, CTRL.RESUMED + i) !== generation)) {
        if (gone.some((g) => g) || reported.some((r) => r !== undefined)) throw new Error(`a worker stopped: ${JSON.stringify(reported)}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const verify = (size: number, step: number) => {
      const disk = readFileSync(p);
      assert.equal(disk.length, size, `step ${step}: size`);
      for (const i of [0, 1]) {
        const k = Atomics.load(ctrl, CTRL.K + i);
        if (k > 0) assert.deepEqual(disk.subarray(i * PAGE, (i + 1) * PAGE), Buffer.from(pattern(PAGE, workerSeed(i, k))), `step ${step}: worker ${i}'s page`);
      }
      const adds = Atomics.load(ctrl, CTRL.ADDS) + Atomics.load(ctrl, CTRL.ADDS + 1);
      assert.equal(disk.readBigUInt64LE(COUNTER_OFFSET), BigInt(adds), `step ${step}: counter`);
      assert.deepEqual(disk.subarray(MAIN_REGION), Buffer.from(pattern(size - MAIN_REGION, step)), `step ${step}: the main thread's bytes, and no stale store`);
    };
    try {
      // Let the workers get going, then take the first views at the initial end.
      await pause();
      await resume();
      for (const [step, s] of steps.entries()) {
        if (s.paused) await pause();
        for (const size of s.sizes) m.resize(size);
        const size = s.sizes.at(-1)!;
        m.updateRegion(MAIN_REGION, pattern(size - MAIN_REGION, step));
        Atomics.store(ctrl, CTRL.STEP, step);
        if (s.paused) await resume();
        await pause();
        verify(size, step);
        await resume();
      }
    } finally {
      // Also on a failure: no worker is left waiting for a resume.
      Atomics.store(ctrl, CTRL.STOP, 1);
      Atomics.store(ctrl, CTRL.RUN, generation);
      Atomics.notify(ctrl, CTRL.RUN);
    }
    const reports = await Promise.all(workers);
    for (const r of reports) {
      assert.deepEqual(r.errors, []);
      assert.equal(r.mismatches, 0);
      assert.equal(r.staleMismatches, 0);
    }
    const writes = reports.reduce((n, r) => n + r.staleWrites, 0);
    const matches = reports.reduce((n, r) => n + r.staleMatches, 0);
    assert.ok(writes > 0, 'stale views past a shrink were written through');
    assert.ok(matches > 0, 'stale views after a grow still showed the file');
    verify(steps.at(-1)!.sizes.at(-1)!, steps.length - 1);
    m.close();
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('resizeAsync: grows and shrinks like resize (the system calls on the pool), views and atomics follow; refusals reject and change nothing; a close meanwhile', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const bytes = pattern(3 * PAGE_BYTES, 5);
    writeFileSync(p, bytes);
    const m = MemoryMappedFile.openRw(p);
    const counter = m.atomicU64(8);
    const seg = m.segment(2 * PAGE_BYTES, PAGE_BYTES);
    await m.resizeAsync(64 * PAGE_BYTES + 1);
    assert.equal(m.length, 64 * PAGE_BYTES + 1);
    assert.equal(statSync(p).size, 64 * PAGE_BYTES + 1);
    assert.deepEqual(m.asSlice(0, bytes.length), bytes, 'a grow keeps the bytes');
    assert.deepEqual([...m.asSlice(bytes.length, 16)], new Array(16).fill(0));
    const c0 = counter.load();
    counter.add(1n);
    m.updateRegion(64 * PAGE_BYTES, new Uint8Array([7]));
    const kept = m.asSlice(0, PAGE_BYTES + 10).slice();
    await m.resizeAsync(PAGE_BYTES + 10);
    assert.equal(statSync(p).size, PAGE_BYTES + 10);
    assert.deepEqual(new Uint8Array(readFileSync(p)), kept, 'a shrink keeps the bytes before the new end');
    assert.throws(() => seg.asSlice(0, 1), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
    assert.throws(() => m.readInto(PAGE_BYTES, new Uint8Array(11)), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
    assert.equal(counter.load(), c0 + 1n);
    // Refusals reject (they never throw synchronously) and change nothing.
    const before = snapshot(p);
    for (const [v, code] of [
      [0, 'ERR_MMAP_EMPTY_FILE'],
      [-1, 'ERR_OUT_OF_RANGE'],
      [2 ** 53, 'ERR_OUT_OF_RANGE'],
      ['10', 'ERR_INVALID_ARG_TYPE'],
      [Symbol('s'), 'ERR_INVALID_ARG_TYPE'],
    ] as const) {
      const pending = m.resizeAsync(v as number);
      assert.ok(pending instanceof Promise);
      await assert.rejects(pending, { code }, String(v));
    }
    for (const open of [MemoryMappedFile.openRo, MemoryMappedFile.openCow]) {
      const other = open(p);
      await assert.rejects(other.resizeAsync(10 * PAGE_BYTES), { code: 'ERR_MMAP_INVALID_MODE' });
      other.close();
    }
    assert.equal(snapshot(p), before);
    // Closed in this thread while the resize runs: it is made and settles as done.
    const pending = m.resizeAsync(2 * PAGE_BYTES);
    m.close();
    await pending;
    assert.equal(statSync(p).size, 2 * PAGE_BYTES);
    await assert.rejects(m.resizeAsync(PAGE_BYTES), { code: 'ERR_MMAP_CLOSED' });
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});
