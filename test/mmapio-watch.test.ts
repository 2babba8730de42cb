// watch(): changes made by a second process through write(), through its
// own mapping, by a resize and by deleting the file are reported with where
// they are; closing the handle or the file stops it; the timer never keeps
// a process alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { MemoryMappedFile, type WatchEvent } from 'ranged-mmap';
import { fixture } from './fault-helpers.js';
import { snapshot, tempDir } from './helpers.js';
import { rejectsUnchanged } from './mmapio-helpers.js';

function runAction(path: string, action: string): void {
  const r = spawnSync(process.execPath, [fixture('mmapio-watch-child.js'), path, action], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/** Collects events; `next(kind)` resolves with the first not yet taken of that kind. */
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
      // The watcher's timer does not keep the process alive (by design): this one does, while waiting.
      const keepAlive = setInterval(() => {}, 1000);
      return new Promise((resolve) =>
        waiting.push({
          kind,
          resolve: (e) => {
            clearInterval(keepAlive);
            events.splice(events.indexOf(e), 1);
            resolve(e);
          },
        }),
      );
    },
  };
}

for (const mode of ['ro', 'rw', 'cow'] as const) {
  test(`watch (${mode}): another process's write(), mapping writes, resize and delete, in order`, async () => {
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

test('watch: close() on the handle or on the file stops it; no event after', async () => {
  const t = tempDir();
  try {
    const p = t.path('w.bin');
    writeFileSync(p, Buffer.alloc(10_000));
    const m = MemoryMappedFile.openRw(p);
    const seen: WatchEvent[] = [];
    const a = m.watch((e) => seen.push(e), { intervalMs: 1 });
    a.close();
    a.close();
    assert.equal(a.closed, true);
    const b = m.watch((e) => seen.push(e), { intervalMs: 1 });
    m.close();
    assert.equal(b.closed, true, 'closing the file stops its watchers');
    runAction(p, 'write');
    // Give a stopped timer every chance to fire (it cannot: it was cleared).
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, []);
  } finally {
    t.cleanup();
  }
});

test('watch never keeps a process alive on its own', () => {
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

test('watch errors: callback and interval checked, closed file refused; the file unchanged', () => {
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
