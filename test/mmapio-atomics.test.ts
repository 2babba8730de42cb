// Atomic views are exact: 2 workers x 1,000,000 add(1) on one mapped word
// give exactly 2,000,000, through every route (atomicU32, atomicU64, and
// Atomics.add on atomicU32Slice / atomicU64Slice); and 4 processes x 2
// workers adding to one word of the same file give the exact total.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { MemoryMappedFile } from 'ranged-mmap';
import { fixture, runChild, type ChildResult } from './fault-helpers.js';
import { tempDir } from './helpers.js';

const ADDS = 1_000_000;
const workerUrl = new URL('./fixtures/mmapio-atomic-worker.js', import.meta.url);

function runWorker(workerData: unknown): Promise<void> {
  const w = new Worker(workerUrl, { workerData });
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
  });
}

for (const route of ['u32', 'u64', 'u32Slice', 'u64Slice'] as const) {
  test(`2 workers x ${ADDS} add(1) through ${route} give the exact total, in the file`, async () => {
    const t = tempDir();
    try {
      const p = t.path('counter.bin');
      writeFileSync(p, Buffer.alloc(4096));
      const m = MemoryMappedFile.openRw(p);
      const offset = 64;
      const barrier = new SharedArrayBuffer(8);
      const gate = new Int32Array(barrier);
      const running = [0, 1].map(() => runWorker({ file: m.share(), offset, count: ADDS, route, barrier }));
      // Both workers are at the barrier before either starts adding.
      while (Atomics.load(gate, 0) < 2) await new Promise((r) => setTimeout(r, 1));
      Atomics.store(gate, 1, 1);
      Atomics.notify(gate, 1);
      await Promise.all(running);
      const total = route.startsWith('u32') ? BigInt(m.atomicU32(offset).load()) : m.atomicU64(offset).load();
      assert.equal(total, BigInt(2 * ADDS));
      m.syncAll();
      const disk = readFileSync(p);
      assert.equal(route.startsWith('u32') ? BigInt(disk.readUInt32LE(offset)) : disk.readBigUInt64LE(offset), BigInt(2 * ADDS));
      assert.equal(disk.readUInt32LE(offset + 8), 0, 'the next word is untouched');
      m.close();
    } finally {
      t.cleanup();
    }
  });
}

test('4 processes x 2 workers adding to one mapped 64-bit word give the exact total', async () => {
  const t = tempDir();
  try {
    const p = t.path('counter.bin');
    writeFileSync(p, Buffer.alloc(4096));
    const perWorker = 200_000;
    const processes = 4;
    let ready = 0;
    const children: ChildProcessWithoutNullStreams[] = [];
    const results: Promise<ChildResult>[] = [];
    for (let i = 0; i < processes; i++) {
      results.push(
        runChild(process.execPath, [fixture('mmapio-atomic-child.js'), p, '8', String(perWorker)], (event, child) => {
          if (event.event !== 'ready') return;
          children.push(child);
          // Every process is ready before any of them starts.
          if (++ready === processes) for (const c of children) c.stdin.write('go\n');
        }),
      );
    }
    for (const r of await Promise.all(results)) {
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.events.some((e) => e.event === 'finished'));
    }
    assert.equal(readFileSync(p).readBigUInt64LE(8), BigInt(processes * 2 * perWorker));
  } finally {
    t.cleanup();
  }
});
