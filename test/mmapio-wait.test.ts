// wait / waitAsync / notify on a 32-bit word of a mapping: across threads
// and across processes, waitAsync never blocks the event loop nor parks a
// libuv pool thread, and closing the file wakes its waiters with
// ERR_MMAP_CLOSED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { MemoryMappedFile, inspectNative } from 'ranged-mmap';
import { fixture, only, runChild } from './fault-helpers.js';
import { snapshot, tempDir } from './helpers.js';
import { rejectsUnchanged, rejectsUnchangedAsync } from './mmapio-helpers.js';

const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  import('ranged-mmap').then(async ({ MemoryMappedFile }) => {
    const m = MemoryMappedFile.fromShared(workerData.handle);
    if (workerData.role === 'wait') {
      parentPort.postMessage('waiting');
      const result = m.wait(workerData.offset, 0);
      parentPort.postMessage({ result, value: m.atomicU32(workerData.offset).load() });
    } else if (workerData.role === 'waitAsync-forever') {
      m.waitAsync(workerData.offset, 0).catch(() => {});
      parentPort.postMessage('waiting');
      return; // terminated by the test with the wait pending
    }
    m.close();
  });`;

test('wait: not-equal at once, timed-out without a notify; notify with nobody waiting wakes 0', () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(4096));
    for (const open of [MemoryMappedFile.openRw, MemoryMappedFile.openCow, MemoryMappedFile.openRo]) {
      const m = open(p);
      assert.equal(m.wait(0, 1), 'not-equal');
      assert.equal(m.wait(0, 0, 0), 'timed-out');
      assert.equal(m.wait(8, 0, 5), 'timed-out');
      assert.equal(m.notify(0), 0);
      assert.equal(m.notify(0, 1), 0);
      assert.equal(m.segment(8, 8).wait(4, 1), 'not-equal');
      m.close();
    }
  } finally {
    t.cleanup();
  }
});

test('a worker blocked in wait() is woken by notify() from the main thread', async () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(4096));
    const m = MemoryMappedFile.openRw(p);
    const w = new Worker(WORKER, { eval: true, workerData: { handle: m.share(), role: 'wait', offset: 12 } });
    const messages: unknown[] = [];
    const exited = new Promise<number>((resolve) => w.once('exit', resolve)); // listened from the start
    const reply = new Promise<{ result: string; value: number }>((resolve, reject) => {
      w.on('message', (msg) => (msg === 'waiting' ? messages.push(msg) : resolve(msg)));
      w.once('error', reject);
    });
    // Wake it only once it is really parked: notify until it reports one woken.
    let woken = 0;
    while (woken === 0) {
      woken = m.notify(12);
      if (woken === 0) await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal(woken, 1);
    assert.deepEqual(await reply, { result: 'ok', value: 0 });
    assert.equal(await exited, 0);
    m.close();
  } finally {
    t.cleanup();
  }
});

test('waitAsync keeps the event loop and the libuv pool free: 8 pending waits while fs.promises works, then all woken', async () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(4096));
    const m = MemoryMappedFile.openRw(p);
    const waits = Array.from({ length: 8 }, () => m.waitAsync(16, 0));
    // More waits than pool threads (4): fs still gets a pool thread.
    await writeFile(t.path('other.txt'), 'still works');
    assert.equal(await readFile(t.path('other.txt'), 'utf8'), 'still works');
    let ticks = 0;
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        ticks++;
        resolve();
      }),
    );
    assert.equal(ticks, 1, 'the event loop turned');
    let woken = 0;
    while (woken < 8) {
      woken += m.notify(16);
      if (woken < 8) await new Promise((r) => setTimeout(r, 2));
    }
    assert.deepEqual(await Promise.all(waits), Array(8).fill('ok'));
    assert.equal(await m.waitAsync(16, 5), 'not-equal');
    assert.equal(await m.waitAsync(16, 0, 1), 'timed-out');
    m.close();
  } finally {
    t.cleanup();
  }
});

test("close() wakes this thread's pending waitAsync calls with ERR_MMAP_CLOSED; other threads' handles are unaffected", async () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(4096));
    const m = MemoryMappedFile.openRw(p);
    const other = MemoryMappedFile.fromShared(m.share());
    const a = m.waitAsync(0, 0);
    const b = m.segment(4, 8).waitAsync(4, 0);
    const c = other.waitAsync(0, 0, 10_000);
    m.close();
    await Promise.all([assert.rejects(a, { code: 'ERR_MMAP_CLOSED' }), assert.rejects(b, { code: 'ERR_MMAP_CLOSED' })]);
    let woken = 0;
    while (woken === 0) {
      woken = other.notify(0);
      if (woken === 0) await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal(await c, 'ok');
    other.close();
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('a worker terminated with a waitAsync pending leaves no mapping behind', async () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(4096));
    const m = MemoryMappedFile.openRw(p);
    const w = new Worker(WORKER, { eval: true, workerData: { handle: m.share(), role: 'waitAsync-forever', offset: 0 } });
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    m.close();
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

for (const role of ['waiter', 'sync-waiter'] as const) {
  test(`across processes: a child's ${role === 'waiter' ? 'waitAsync' : 'wait'} is woken by this process's notify`, async () => {
    const t = tempDir();
    try {
      const p = t.path('w.bin');
      writeFileSync(p, Buffer.alloc(4096));
      const m = MemoryMappedFile.openRw(p);
      let stop = false;
      const result = runChild(process.execPath, [fixture('mmapio-wait-child.js'), p, role], (event) => {
        if (event.event === 'woken') stop = true;
      });
      let woken = 0;
      while (woken === 0 && !stop) {
        woken = m.notify(0);
        if (woken === 0) await new Promise((r) => setTimeout(r, 2));
      }
      const r = await result;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(woken, 1, 'this process woke the waiter in the child');
      assert.deepEqual({ ...only(r, 'woken') }, { event: 'woken', result: 'ok', value: 0 });
      m.close();
    } finally {
      t.cleanup();
    }
  });
}

test("across processes: this process's waitAsync is woken by a child's notify", async () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(4096));
    const m = MemoryMappedFile.openRw(p);
    const pending = m.waitAsync(4, 0);
    const r = await runChild(process.execPath, [fixture('mmapio-wait-child.js'), p, 'notifier']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(only(r, 'notified').woken, 1);
    assert.equal(await pending, 'ok');
    m.close();
  } finally {
    t.cleanup();
  }
});

test('wait/notify errors: misaligned, out of bounds, closed, wrong types; the file unchanged', async () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(4096));
    const m = MemoryMappedFile.openRw(p);
    for (const call of [() => m.wait(2, 0), () => m.notify(1), () => m.waitAsync(6, 0)]) {
      await rejectsUnchangedAsync(p, 'ERR_MMAP_MISALIGNED', async () => call());
    }
    for (const call of [() => m.wait(4096, 0), () => m.notify(4096), () => m.waitAsync(8192, 0), () => m.segment(0, 8).notify(8)]) {
      await rejectsUnchangedAsync(p, 'ERR_MMAP_OUT_OF_BOUNDS', async () => call());
    }
    for (const [call, code] of [
      [() => m.wait(0, -1), 'ERR_OUT_OF_RANGE'],
      [() => m.wait(0, 2 ** 32), 'ERR_OUT_OF_RANGE'],
      [() => m.wait(0, '0' as unknown as number), 'ERR_INVALID_ARG_TYPE'],
      [() => m.wait(0, 0, -1), 'ERR_OUT_OF_RANGE'],
      [() => m.wait(0, 0, NaN), 'ERR_OUT_OF_RANGE'],
      [() => m.wait(0, 0, '1' as unknown as number), 'ERR_INVALID_ARG_TYPE'],
      [() => m.notify(0, -1), 'ERR_OUT_OF_RANGE'],
      [() => m.notify(0, 1.5), 'ERR_OUT_OF_RANGE'],
      [() => m.notify(0, 1n as unknown as number), 'ERR_INVALID_ARG_TYPE'],
      [() => m.wait('0' as unknown as number, 0), 'ERR_INVALID_ARG_TYPE'],
    ] as const) {
      rejectsUnchanged(p, code, call);
    }
    await rejectsUnchangedAsync(p, 'ERR_OUT_OF_RANGE', () => m.waitAsync(0, 0, -5));
    m.close();
    for (const call of [() => m.wait(0, 0), () => m.notify(0), () => m.waitAsync(0, 0)]) {
      await rejectsUnchangedAsync(p, 'ERR_MMAP_CLOSED', async () => call());
    }
    void snapshot;
  } finally {
    t.cleanup();
  }
});
