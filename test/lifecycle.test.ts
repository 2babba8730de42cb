// Lifetimes across threads: closing in one thread never breaks another,
// use after close is an error (never a crash), workers that exit or are
// terminated while holding views leave nothing behind, and 200 workers
// coming and going leak no mapping and no file descriptor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { ALIGNMENT, MmapFile, RawMmapFile, inspectNative } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import { runWorker, startWorker } from './worker-helpers.js';
import { expectedByte } from './fixtures/conc-pattern.js';

const openFds = () => readdirSync('/proc/self/fd').length;

test('a worker that closes its handle gets ERR_MMAP_CLOSED; the main thread\'s handle keeps working', async () => {
  const t = tempDir();
  try {
    const { file, allocator } = MmapFile.create(t.path('a.bin'), 4 * ALIGNMENT);
    const moved = allocator.allocate(ALIGNMENT)!;
    const report = await runWorker({ kind: 'closeThenUse', file: file.share(), transfer: moved.transfer() });
    assert.deepEqual(report.codes, ['ERR_MMAP_CLOSED', 'ERR_MMAP_CLOSED', 'ERR_MMAP_CLOSED', 'ERR_MMAP_CLOSED']);
    const mine = allocator.allocate(ALIGNMENT)!;
    file.writeRange(mine, new Uint8Array(ALIGNMENT).fill(7));
    file.syncAll();
    file.close();
    assert.ok(readFileSync(t.path('a.bin')).subarray(ALIGNMENT, 2 * ALIGNMENT).every((b) => b === 7));
  } finally {
    t.cleanup();
  }
});

test('the main thread closes first; a worker still writes and syncs through the same mapping', async () => {
  const t = tempDir();
  try {
    const base = inspectNative().liveMappings;
    const { file, allocator } = MmapFile.create(t.path('b.bin'), 8 * ALIGNMENT, { allocator: 'concurrent' });
    const transfers = [allocator.allocate(3 * ALIGNMENT)!.transfer(), allocator.allocate(5 * ALIGNMENT)!.transfer()];
    const worker = startWorker({ kind: 'writeAfterSignal', id: 4, file: file.share(), transfers });
    assert.equal((await once(worker, 'message'))[0], 'attached');
    file.close();
    assert.throws(() => file.flush(), { code: 'ERR_MMAP_CLOSED' });
    assert.equal(inspectNative().liveMappings, base + 1, 'the worker still holds the mapping');
    worker.postMessage('go');
    const [[report], [code]] = await Promise.all([once(worker, 'message'), once(worker, 'exit')]);
    assert.equal(code, 0);
    assert.equal(inspectNative().liveMappings, base);
    const disk = readFileSync(t.path('b.bin'));
    for (const [start, end] of report.ranges as [number, number][]) {
      for (let p = start; p < end; p++) assert.equal(disk[p], expectedByte(4, start, p));
    }
  } finally {
    t.cleanup();
  }
});

test('use after close in the main thread: every call throws ERR_MMAP_CLOSED, old views are empty, nothing crashes', () => {
  const t = tempDir();
  try {
    const raw = RawMmapFile.create(t.path('c.bin'), 2 * ALIGNMENT);
    const view = raw.readSlice(0, ALIGNMENT);
    view[0] = 1;
    raw.close();
    assert.equal(view.length, 0);
    assert.equal(view[0], undefined);
    view[5] = 9; // writing a detached view is a no-op, not a fault
    assert.throws(() => raw.writeAt(0, new Uint8Array(1)), { code: 'ERR_MMAP_CLOSED' });
    assert.throws(() => raw.readSlice(0, 1), { code: 'ERR_MMAP_CLOSED' });
    assert.equal(readFileSync(t.path('c.bin'))[0], 1);
  } finally {
    t.cleanup();
  }
});

test('workers exiting while holding views (process.exit, no close, terminate while writing) leave nothing behind', async () => {
  const t = tempDir();
  try {
    const baseMappings = inspectNative().liveMappings;
    const raw = RawMmapFile.create(t.path('d.bin'), 16 * ALIGNMENT);
    const shared = raw.share();
    const exits = ['process.exit', 'leave', 'close'] as const;
    for (const [i, exit] of exits.entries()) {
      const w = startWorker({ kind: 'hold', id: i + 1, file: shared, ownPath: t.path(`own${i}.bin`), exit });
      const [[report], [code]] = await Promise.all([once(w, 'message'), once(w, 'exit')]);
      assert.equal(code, 0);
      assert.deepEqual(report.ranges, [[(i + 1) * 4096, (i + 2) * 4096]]);
    }
    const spinner = startWorker({ kind: 'hold', id: 5, file: shared, ownPath: t.path('own-spin.bin'), exit: 'spin' });
    await once(spinner, 'message'); // it is now writing in a loop
    await spinner.terminate();
    // Only the main thread's file is left, and it still works.
    assert.equal(inspectNative().liveMappings, baseMappings + 1);
    raw.writeAt(0, new Uint8Array(ALIGNMENT).fill(3));
    raw.syncAll();
    raw.close();
    assert.equal(inspectNative().liveMappings, baseMappings);
    const disk = readFileSync(t.path('d.bin'));
    for (const id of [1, 2, 3, 5]) {
      for (let p = id * 4096; p < (id + 1) * 4096; p++) assert.equal(disk[p], expectedByte(id, id * 4096, p));
    }
    assert.ok(disk.subarray(0, 4096).every((b) => b === 3));
  } finally {
    t.cleanup();
  }
});

test('200 workers open, write and exit: mappings and open descriptors return to where they started', async () => {
  const t = tempDir();
  try {
    // One warm-up worker first, so that one-time costs of the first worker
    // (libuv, the addon's loading) are not counted as a leak.
    const raw = RawMmapFile.create(t.path('e.bin'), 256 * ALIGNMENT);
    const shared = raw.share();
    await runWorker({ kind: 'raw', id: 0, file: shared, offset: 0, length: 10 });
    const baseMappings = inspectNative().liveMappings;
    const baseFds = openFds();
    const exits = ['close', 'leave', 'process.exit'] as const;
    for (let batch = 0; batch < 25; batch++) {
      await Promise.all(
        Array.from({ length: 8 }, async (_, k) => {
          const id = batch * 8 + k;
          const w = startWorker({ kind: 'hold', id: (id % 250) + 1, file: shared, ownPath: t.path(`w${id}.bin`), exit: exits[id % 3] });
          const [[, ], [code]] = await Promise.all([once(w, 'message'), once(w, 'exit')]);
          assert.equal(code, 0);
        }),
      );
    }
    assert.equal(inspectNative().liveMappings, baseMappings, 'no mapping left by the workers');
    assert.equal(openFds(), baseFds, 'no file descriptor left by the workers');
    raw.close();
    assert.equal(inspectNative().liveMappings, baseMappings - 1);
  } finally {
    t.cleanup();
  }
});
