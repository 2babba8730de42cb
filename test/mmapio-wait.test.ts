// wait / waitAsync / notify on a 32-bit word of a mapping: across threads
// and across processes, waitAsync never blocks the event loop nor parks a
// libuv pool thread, and closing the file wakes its waiters with
// ERR_MMAP_CLOSED.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { MemoryMappedFile, inspectNative } from 'ranged-mmap';
import { fixture, killChildren, only, runChild } from './fault-helpers.js';
import { snapshot, tempDir } from './helpers.js';
import { rejectsUnchanged, rejectsUnchangedAsync } from './mmapio-helpers.js';

const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  import('ranged-mmap').then(async ({ MemoryMappedFile }) => {
    const m = MemoryMappedFile.fromShared(workerData.handle);
    if (workerData.role === 'wait') {
      parentPort.postMessage('waiting');
      // Bounded: a thread blocked in the futex cannot be terminated, so a
      // notify that never comes ends as 'timed-out' (and fails the test).
      const result = m.wait(workerData.offset, 0, 30_000);
      parentPort.postMessage({ result, value: m.atomicU32(workerData.offset).load() });
    } else if (workerData.role === 'waitAsync-forever') {
      m.waitAsync(workerData.offset, 0).catch(() => {});
      parentPort.postMessage('waiting');
      return; // terminated by the test with the wait pending
    }
    m.close();
  });`;

/** Every test here is short: a lost wake-up fails it instead of hanging the file. */
const SHORT = { timeout: 60_000 };
// A test that timed out leaves no child process behind.
afterEach(killChildren);

/**
 * Calls `probe` every 2 ms until it returns true; fails (an assertion, not a
 * hang) when it has not within `ms`.
 */
async function eventually(what: string, probe: () => boolean, ms = 20_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!probe()) {
    if (performance.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * How many threads of this process are blocked in futex_waitv (syscall 449
 * on x86-64), which only waitAsync's own threads call: the waitAsync calls
 * parked on their word right now.
 */
function parkedAsyncWaits(): number {
  let n = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/syscall`, 'utf8').startsWith('449 ')) n++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return n;
}

/** Milliseconds `fn` took. */
function timed<T>(fn: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start };
}

test('wait: not-equal at once, timed-out without a notify (after the whole timeout); notify with nobody waiting wakes 0', SHORT, async () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(4096));
    for (const open of [MemoryMappedFile.openRw, MemoryMappedFile.openCow, MemoryMappedFile.openRo]) {
      const m = open(p);
      assert.equal(m.wait(0, 1), 'not-equal');
      assert.equal(m.wait(0, 0, 0), 'timed-out');
      // A timeout below a second is milliseconds, not microseconds: it waits the whole time.
      const sync = timed(() => m.wait(8, 0, 50));
      assert.equal(sync.value, 'timed-out');
      assert.ok(sync.ms >= 50, `wait(8, 0, 50) returned after ${sync.ms.toFixed(3)} ms`);
      const start = performance.now();
      assert.equal(await m.waitAsync(8, 0, 50), 'timed-out');
      const ms = performance.now() - start;
      assert.ok(ms >= 50, `waitAsync(8, 0, 50) settled after ${ms.toFixed(3)} ms`);
      assert.equal(m.notify(0), 0);
      assert.equal(m.notify(0, 1), 0);
      assert.equal(m.segment(8, 8).wait(4, 1), 'not-equal');
      m.close();
    }
  } finally {
    t.cleanup();
  }
});

test('a worker blocked in wait() is woken by notify() from the main thread', SHORT, async () => {
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
    await eventually('notify(12) wakes the worker parked in wait()', () => {
      woken = m.notify(12);
      return woken !== 0;
    });
    assert.equal(woken, 1);
    assert.deepEqual(await reply, { result: 'ok', value: 0 });
    assert.equal(await exited, 0);
    m.close();
  } finally {
    t.cleanup();
  }
});

test('waitAsync keeps the event loop and the libuv pool free: 8 pending waits while fs.promises works, then all woken', SHORT, async () => {
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
    await eventually('notify(16) wakes all 8 waitAsync calls', () => {
      woken += m.notify(16);
      return woken >= 8;
    });
    assert.equal(woken, 8);
    assert.deepEqual(await Promise.all(waits), Array(8).fill('ok'));
    assert.equal(await m.waitAsync(16, 5), 'not-equal');
    assert.equal(await m.waitAsync(16, 0, 1), 'timed-out');
    m.close();
  } finally {
    t.cleanup();
  }
});

test("close() wakes this thread's pending waitAsync calls with ERR_MMAP_CLOSED; other threads' handles are unaffected", SHORT, async () => {
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
    await eventually("notify(0) wakes the other handle's waitAsync", () => other.notify(0) !== 0);
    assert.equal(await c, 'ok');
    other.close();
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('a worker terminated with a waitAsync pending leaves no mapping behind', SHORT, async () => {
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
  test(`across processes: a child's ${role === 'waiter' ? 'waitAsync' : 'wait'} is woken by this process's notify`, SHORT, async () => {
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
      await eventually("notify(0) wakes the child's waiter", () => {
        woken = m.notify(0);
        return woken !== 0 || stop;
      });
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

test("across processes: this process's waitAsync is woken by a child's notify", SHORT, async () => {
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

test('notify(offset, count) wakes at most count waiters, and count 0 none: the others stay parked', SHORT, async () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(4096));
    const m = MemoryMappedFile.openRw(p);
    const settled: string[] = [];
    const waits = [0, 1].map((i) =>
      m.waitAsync(20, 0, 30_000).then((r) => {
        settled.push(`${i}:${r}`);
        return r;
      }),
    );
    // Both parked in the kernel (not merely started) before any notify.
    await eventually('both waitAsync calls park', () => parkedAsyncWaits() === 2);
    assert.equal(m.notify(20, 0), 0, 'count 0 wakes nobody');
    assert.equal(m.notify(20, 1), 1, 'count 1 wakes one of the two');
    await eventually('the woken call settles', () => settled.length === 1);
    assert.match(settled[0]!, /^[01]:ok$/);
    assert.equal(parkedAsyncWaits(), 1, 'the other one is still parked');
    assert.equal(m.notify(20, 1), 1);
    assert.deepEqual(await Promise.all(waits), ['ok', 'ok']);
    m.close();
  } finally {
    t.cleanup();
  }
});

test('wait/notify errors: misaligned, out of bounds, closed, wrong types; the file unchanged', SHORT, async () => {
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
