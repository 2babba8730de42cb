// watch(): changes made by a second process through write(), through its
// own mapping, by a resize and by deleting the file are reported with where
// they are; closing the handle or the file stops it; the timer never keeps
// a process alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { truncateSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { MemoryMappedFile, WATCH_HASH_LIMIT, type WatchEvent } from 'ranged-mmap';
import { fixture } from './fault-helpers.js';
import { snapshot, tempDir } from './helpers.js';
import { rejectsUnchanged } from './mmapio-helpers.js';

/** Every test here is short: a change never reported fails it (by next()'s deadline) instead of hanging. */
const SHORT = { timeout: 60_000 };
/** How long next() waits for an event: polls every 1 or 2 ms, so this is generous even on a loaded machine. */
const EVENT_DEADLINE_MS = 15_000;

function runAction(path: string, action: string): void {
  const r = spawnSync(process.execPath, [fixture('mmapio-watch-child.js'), path, action], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
}

/**
 * Collects events; `next(kind)` resolves with the first not yet taken of
 * that kind, and rejects (an assertion naming what came instead) when none
 * comes within EVENT_DEADLINE_MS.
 */
function collector() {
  const events: WatchEvent[] = [];
  const waiting: { kind: string; resolve: (e: WatchEvent) => void }[] = [];
  return {
    events,
    push(e: WatchEvent) {
      events.push(e);
      const i = waiting.findIndex((w) => w.kind === e.kind);
      if (i >= 0) waiting.splice(i, 1)[0]!.resolve(e);
    },
    next(kind: WatchEvent['kind']): Promise<WatchEvent> {
      const i = events.findIndex((e) => e.kind === kind);
      if (i >= 0) return Promise.resolve(events.splice(i, 1)[0]!);
      // The watcher's timer does not keep the process alive (by design): this deadline does, while waiting.
      return new Promise((resolve, reject) => {
        const entry = {
          kind,
          resolve: (e: WatchEvent) => {
            clearTimeout(deadline);
            events.splice(events.indexOf(e), 1);
            resolve(e);
          },
        };
        const deadline = setTimeout(() => {
          waiting.splice(waiting.indexOf(entry), 1);
          reject(new assert.AssertionError({ message: `no '${kind}' event within ${EVENT_DEADLINE_MS} ms; got ${JSON.stringify(events)}` }));
        }, EVENT_DEADLINE_MS);
        waiting.push(entry);
      });
    },
  };
}

for (const mode of ['ro', 'rw', 'cow'] as const) {
  test(`watch (${mode}): another process's write(), mapping writes, resize and delete, in order`, SHORT, async () => {
    const t = tempDir();
    try {
      const p = t.path('w.bin');
      writeFileSync(p, Buffer.alloc(100_000));
      const m = mode === 'ro' ? MemoryMappedFile.openRo(p) : mode === 'rw' ? MemoryMappedFile.openRw(p) : MemoryMappedFile.openCow(p);
      const c = collector();
      const w = m.watch((e) => c.push(e), { intervalMs: 2 });
      assert.equal(w.closed, false);
      runAction(p, 'write');
      assert.deepEqual(await c.next('modified'), { kind: 'modified', offset: 16_384, length: 4096 }, 'bytes 20000..20018 lie in page 4');
      runAction(p, 'map');
      assert.deepEqual(await c.next('modified'), { kind: 'modified', offset: 36_864, length: 4096 });
      runAction(p, 'grow');
      assert.deepEqual(await c.next('metadata'), { kind: 'metadata', size: 200_000 });
      runAction(p, 'remove');
      assert.deepEqual(await c.next('removed'), { kind: 'removed' });
      assert.equal(w.closed, true, 'a removed file ends the watch');
      assert.deepEqual(c.events, [], 'no other event');
      w.close();
      m.close();
    } finally {
      t.cleanup();
    }
  });
}

test('watch: the last, partial page of the file is reported clipped to the end of the file', SHORT, async () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(100_000));
    for (const open of [MemoryMappedFile.openRo, MemoryMappedFile.openRw]) {
      const m = open(p);
      const c = collector();
      const w = m.watch((e) => c.push(e), { intervalMs: 2 });
      runAction(p, 'write-tail');
      // Page 24 starts at 98,304; the file ends 1,696 bytes later.
      assert.deepEqual(await c.next('modified'), { kind: 'modified', offset: 98_304, length: 1696 });
      w.close();
      m.close();
    }
  } finally {
    t.cleanup();
  }
});

test('watch: close() on the handle or on the file stops it; no event after', SHORT, async () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(100_000));
    const m = MemoryMappedFile.openRw(p);
    const seenA: WatchEvent[] = [];
    const seenB: WatchEvent[] = [];
    const a = m.watch((e) => seenA.push(e), { intervalMs: 1 });
    a.close();
    a.close();
    assert.equal(a.closed, true);
    // A witness started after a, with the same interval, on the same open
    // file: once it reports the change, a's timer (earlier in the same timer
    // list) would have fired too, had close() not stopped it.
    const witness = collector();
    const w = m.watch((e) => witness.push(e), { intervalMs: 1 });
    runAction(p, 'write');
    assert.deepEqual(await witness.next('modified'), { kind: 'modified', offset: 16_384, length: 4096 });
    assert.deepEqual(seenA, [], 'a closed handle reports nothing');
    const b = m.watch((e) => seenB.push(e), { intervalMs: 1 });
    m.close();
    assert.equal(b.closed, true, 'closing the file stops its watchers');
    assert.equal(w.closed, true);
    // The same through a watcher on the file opened again: it reports the
    // next change, and that change is the first thing it reports.
    const m2 = MemoryMappedFile.openRw(p);
    const again = collector();
    const w2 = m2.watch((e) => again.push(e), { intervalMs: 1 });
    runAction(p, 'write-tail');
    assert.deepEqual(await again.next('modified'), { kind: 'modified', offset: 98_304, length: 1696 });
    assert.deepEqual(again.events, [], 'no other event');
    assert.deepEqual(seenB, [], 'a watcher of a closed file reports nothing');
    assert.deepEqual(seenA, []);
    w2.close();
    m2.close();
  } finally {
    t.cleanup();
  }
});

test(
  `watch above WATCH_HASH_LIMIT (${WATCH_HASH_LIMIT / 2 ** 20} MiB): pages are not hashed; a change is reported as 'modified' without a range`,
  SHORT,
  async () => {
    const t = tempDir();
    try {
      const p = t.path('big.bin');
      writeFileSync(p, '');
      truncateSync(p, WATCH_HASH_LIMIT + 4096); // sparse: nothing is read in
      const m = MemoryMappedFile.openRo(p);
      const c = collector();
      const w = m.watch((e) => c.push(e), { intervalMs: 2 });
      runAction(p, 'write');
      assert.deepEqual(await c.next('modified'), { kind: 'modified' });
      assert.deepEqual(c.events, [], 'no other event');
      w.close();
      m.close();
    } finally {
      t.cleanup();
    }
  },
);

test('watch never keeps a process alive on its own', SHORT, () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(10_000));
    const r = spawnSync(process.execPath, [fixture('mmapio-watch-child.js'), p, 'watch-and-exit'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, null, 'the child had to be killed');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'watching');
  } finally {
    t.cleanup();
  }
});

test('watch errors: callback and interval checked, closed file refused; the file unchanged', SHORT, () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(10_000));
    const m = MemoryMappedFile.openRw(p);
    rejectsUnchanged(p, 'ERR_INVALID_ARG_TYPE', () => m.watch(null as unknown as () => void));
    rejectsUnchanged(p, 'ERR_INVALID_ARG_TYPE', () => m.watch(() => {}, { intervalMs: '5' as unknown as number }));
    rejectsUnchanged(p, 'ERR_OUT_OF_RANGE', () => m.watch(() => {}, { intervalMs: 0 }));
    rejectsUnchanged(p, 'ERR_OUT_OF_RANGE', () => m.watch(() => {}, { intervalMs: 1.5 }));
    rejectsUnchanged(p, 'ERR_INVALID_ARG_VALUE', () =>
      m.watch(() => {}, {
        get intervalMs(): number {
          throw new Error('boom');
        },
      }),
    );
    m.close();
    rejectsUnchanged(p, 'ERR_MMAP_CLOSED', () => m.watch(() => {}));
    void snapshot;
  } finally {
    t.cleanup();
  }
});
