// SharedAllocator: the concurrent allocator across processes. 4 processes
// x 2 workers allocate until the file is used up and the ranges tile it
// exactly, each range holding its owner's bytes; the state survives a
// restart; a process killed while allocating corrupts nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { MemoryMappedFile, SharedAllocator } from 'ranged-mmap';
import { fixture, only, runChild, type ChildResult } from './fault-helpers.js';
import { snapshot, tempDir } from './helpers.js';
import { rejectsUnchanged } from './mmapio-helpers.js';

test("4 processes x 2 workers allocate until exhaustion: the ranges tile the file exactly, every byte its owner's", async () => {
  const t = tempDir();
  try {
    const p = t.path('data.bin');
    const size = 8 * 1024 * 1024 + 100; // the last range is clamped
    const m = MemoryMappedFile.createRw(p, size);
    const processes = 4;
    const children: ChildProcessWithoutNullStreams[] = [];
    const results: Promise<ChildResult>[] = [];
    for (let i = 0; i < processes; i++) {
      results.push(
        runChild(process.execPath, [fixture('mmapio-alloc-child.js'), p, String(i)], (event, child) => {
          if (event.event !== 'ready') return;
          children.push(child);
          if (children.length === processes) for (const c of children) c.stdin.write('go\n');
        }),
      );
    }
    const all: [number, number, number][] = [];
    for (const r of await Promise.all(results)) {
      assert.equal(r.code, 0, r.stderr);
      for (const w of only(r, 'ranges').workers as { tag: number; ranges: [number, number][] }[]) for (const [s, e] of w.ranges) all.push([s, e, w.tag]);
    }
    all.sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [s, e] of all) {
      assert.equal(s, at, `a gap or an overlap at ${at}`);
      assert.ok(e > s && (e === size || (e - s) % 4096 === 0));
      at = e;
    }
    assert.equal(at, size, 'the ranges reach the end exactly');
    const disk = readFileSync(p);
    for (const [s, e, tag] of all) {
      const bad = disk.subarray(s, e).findIndex((b) => b !== tag);
      assert.equal(bad, -1, `range [${s}, ${e}) of worker ${tag}`);
    }
    // The state survives: a new opener finds the file used up.
    const again = SharedAllocator.open(m);
    assert.equal(again.totalSize, size);
    assert.equal(again.nextPos, size);
    assert.equal(again.remaining, 0);
    assert.equal(again.allocate(1), null);
    assert.equal(again.nextPos, size, 'no add once exhausted');
    again.close();
    m.close();
  } finally {
    t.cleanup();
  }
});

test('one process: rounding, clamping, null when exhausted, state next to the data or where asked', () => {
  const t = tempDir();
  try {
    const p = t.path('d.bin');
    const m = MemoryMappedFile.createRw(p, 10_000);
    const a = SharedAllocator.open(m);
    assert.ok(existsSync(`${p}.alloc`));
    assert.deepEqual({ ...a.allocate(1) }, { start: 0, end: 4096, length: 4096 });
    const b = SharedAllocator.open(m); // a second opener shares the counter
    assert.deepEqual({ ...b.allocate(4096) }, { start: 4096, end: 8192, length: 4096 });
    assert.deepEqual({ ...a.allocate(10n ** 15n) }, { start: 8192, end: 10_000, length: 1808 });
    assert.equal(b.allocate(1), null);
    assert.equal(a.remaining, 0);
    a.close();
    b.close();
    const other = SharedAllocator.open(m, { statePath: t.path('elsewhere.state') });
    assert.equal(other.nextPos, 0);
    other.close();
    m.close();
  } finally {
    t.cleanup();
  }
});

test('a process killed while allocating corrupts nothing: the state opens, later ranges stay aligned and disjoint', async () => {
  const t = tempDir();
  try {
    const p = t.path('d.bin');
    const size = 1 << 30; // sparse; never written
    MemoryMappedFile.createRw(p, size, { sparse: true }).close();
    const script = `
      import('ranged-mmap').then(({ MemoryMappedFile, SharedAllocator }) => {
        const m = MemoryMappedFile.openRw(process.argv[1]);
        const a = SharedAllocator.open(m);
        for (let i = 0; i < 1000; i++) a.allocate(4096);
        console.log('allocating'); // killed from here on, mid-loop
        for (;;) if (a.allocate(4096) === null) break;
      });`;
    const child = spawn(process.execPath, ['-e', script, p], { stdio: ['ignore', 'pipe', 'pipe'], cwd: new URL('.', import.meta.url).pathname });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const m = MemoryMappedFile.openRw(p);
    const a = SharedAllocator.open(m);
    const at = a.nextPos;
    assert.ok(at >= 1000 * 4096 && at % 4096 === 0, `the counter is where an allocation ended (${at})`);
    const r = a.allocate(8192)!;
    assert.equal(r.start, at);
    assert.equal(r.length, 8192);
    a.close();
    m.close();
  } finally {
    t.cleanup();
  }
});

test('SharedAllocator errors: not a file, ro/cow, another size, not a state file, size 0; nothing changed', () => {
  const t = tempDir();
  try {
    const p = t.path('d.bin');
    writeFileSync(p, Buffer.alloc(8192));
    assert.throws(() => SharedAllocator.open({} as MemoryMappedFile), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => SharedAllocator.open(new Proxy({}, {}) as MemoryMappedFile), { code: 'ERR_INVALID_ARG_TYPE' });
    for (const open of [MemoryMappedFile.openRo, MemoryMappedFile.openCow]) {
      const m = open(p);
      rejectsUnchanged(p, 'ERR_MMAP_INVALID_MODE', () => SharedAllocator.open(m));
      m.close();
    }
    assert.equal(existsSync(`${p}.alloc`), false, 'no state file made by a refused open');
    const m = MemoryMappedFile.openRw(p);
    SharedAllocator.open(m).close();
    const state = `${p}.alloc`;
    const before = snapshot(state);
    const small = MemoryMappedFile.createRw(t.path('small.bin'), 4096);
    rejectsUnchanged(state, 'ERR_MMAP_INVALID_STATE', () => SharedAllocator.open(small, { statePath: state }));
    assert.equal(snapshot(state), before);
    writeFileSync(t.path('junk.state'), Buffer.alloc(4096, 7));
    rejectsUnchanged(t.path('junk.state'), 'ERR_MMAP_INVALID_STATE', () => SharedAllocator.open(m, { statePath: t.path('junk.state') }));
    const a = SharedAllocator.open(m);
    rejectsUnchanged(state, 'ERR_MMAP_INVALID_ARGUMENT', () => a.allocate(0));
    rejectsUnchanged(state, 'ERR_OUT_OF_RANGE', () => a.allocate(-1));
    rejectsUnchanged(state, 'ERR_INVALID_ARG_TYPE', () => a.allocate('1' as unknown as number));
    a.close();
    assert.throws(() => a.allocate(1), { code: 'ERR_MMAP_CLOSED' });
    small.close();
    m.close();
  } finally {
    t.cleanup();
  }
});
