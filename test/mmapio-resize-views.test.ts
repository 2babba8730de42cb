// What a resize does to what was taken before it: views (this thread's and
// another thread's), iterations, share() handles posted later, atomic views
// straddling a new end; and what a full disk does to a resize and to small
// writes into a sparse file (child processes on a private tmpfs, one of them
// with fallocate unsupported, so the library falls back to posix_fallocate).
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { MemoryMappedFile, PAGE_BYTES, RawMmapFile, inspectNative } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import { fixture, killChildren, runChild, type ChildResult } from './fault-helpers.js';
import { failingSyscalls, syscallErrnoLauncher } from './syscall-errno.js';
import { HOLD, type AttachReport, type HoldReport, type ResizeViewsJob } from './fixtures/resize-views-worker.js';
import type { ResizeReport, SparseWriteReport } from './fixtures/resize-diskfull-child.js';

const TIMEOUT = { timeout: 60_000 };
afterEach(killChildren);

const WORKER = new URL('./fixtures/resize-views-worker.js', import.meta.url);

function runWorker<T>(job: ResizeViewsJob, onStart: (w: Worker) => void = () => {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: job });
    let report: T | undefined;
    w.once('message', (r: T) => (report = r));
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 && report !== undefined ? resolve(report) : reject(new Error(`worker exited with ${code} without a report`))));
    onStart(w);
  });
}

test('a view taken before a grow keeps working: its stores reach the file and the new mapping; a shrink below it detaches it', TIMEOUT, () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const m = MemoryMappedFile.createRw(p, 8192);
    const old = m.asSliceMut(0, 8192);
    const words = m.atomicU32Slice(4096, 4);
    m.resize(1 << 20);
    old[11] = 2; // the first call after the resize was resize itself: this thread is on the new mapping
    const b = new Uint8Array(4);
    m.readInto(10, b);
    assert.deepEqual([...b], [0, 2, 0, 0], 'the new mapping sees the store through the old view');
    assert.equal(readFileSync(p)[11], 2, 'the file has it');
    Atomics.add(words, 1, 7);
    assert.equal(m.atomicU32(4100).load(), 7, 'an atomic slice taken before the grow still works');
    m.updateRegion(8000, new Uint8Array([9]));
    assert.equal(old[8000], 9, 'and sees stores made through the new mapping');
    m.resize(2 << 20); // a second grow: still attached
    old[12] = 3;
    assert.equal(readFileSync(p)[12], 3);
    assert.equal(old.length, 8192);
    // A shrink that leaves the view's bytes in the file keeps it too.
    m.resize(8192);
    assert.equal(old.length, 8192, 'the file is still as long as the mapping the view belongs to');
    old[13] = 4;
    assert.equal(readFileSync(p)[13], 4);
    // A shrink below the view's mapping detaches it (and every view of that mapping).
    m.resize(8191);
    assert.equal(old.length, 0, 'detached: a store through it can no longer be silently lost past the end');
    assert.equal(words.length, 0);
    old[13] = 5; // a store into a detached view does nothing
    assert.equal(readFileSync(p)[13], 4);
    const fresh = m.asSliceMut(0, m.length); // the way to go on: take a new view
    fresh[13] = 6;
    assert.equal(readFileSync(p)[13], 6);
    m.close();
    assert.equal(fresh.length, 0);
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('close() detaches the views of every mapping a grow retired; unreferenced ones are released once collected', TIMEOUT, async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const m = MemoryMappedFile.createRw(p, 4096);
    const kept = m.asSlice(0, 16);
    m.resize(8192);
    const kept2 = m.asSlice(0, 16);
    m.resize(16384);
    assert.equal(inspectNative().liveMappings, 3, 'two retired mappings (views held) and the current one');
    assert.equal(kept.length + kept2.length, 32);
    m.close();
    assert.equal(kept.length + kept2.length, 0, 'close() detached them');
    assert.equal(inspectNative().liveMappings, 0);

    // Views nobody holds any more: the retired mapping goes once they are collected.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const n = MemoryMappedFile.createRw(p, 4096);
    (() => {
      const dropped = n.asSlice(0, 16);
      assert.equal(dropped.length, 16);
    })();
    n.resize(8192);
    assert.equal(inspectNative().liveMappings, 2);
    const deadline = Date.now() + 10_000;
    while (inspectNative().liveMappings !== 1 && Date.now() < deadline) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(inspectNative().liveMappings, 1, 'the retired mapping was released after its view was collected');
    // A grow with no view handed out retires nothing.
    n.updateRegion(0, new Uint8Array([1]));
    n.resize(16384);
    assert.equal(inspectNative().liveMappings, 1);
    n.close();
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test(
  'a mapping a grow retired counts its map areas until its views are collected; a file dropped after a grow with an old view held is released once that view is collected too',
  TIMEOUT,
  async () => {
    const t = tempDir();
    try {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const settle = async (done: () => boolean, what: string) => {
        const deadline = Date.now() + 10_000;
        while (!done() && Date.now() < deadline) {
          gc();
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.ok(done(), `${what} within 10 s: ${JSON.stringify(inspectNative())}`);
      };
      gc();
      const base = inspectNative();
      const p = t.path('a.bin');
      const m = MemoryMappedFile.createRw(p, 4096);
      (() => {
        m.asSlice(0, 16); // a view nobody keeps
      })();
      m.resize(8192);
      assert.equal(inspectNative().mapAreas, base.mapAreas + 4, 'the retired mapping and its successor: 2 areas each');
      await settle(() => inspectNative().mapAreas === base.mapAreas + 2, 'the retired mapping gave its areas back once its view was collected');
      assert.equal(inspectNative().liveMappings, base.liveMappings + 1);
      m.close();
      assert.deepEqual(inspectNative(), base);

      // Dropped without close() after a grow, an old view held: the attachment
      // goes with the file; the view keeps its (retired) mapping, and the
      // successor it leads to, and its stores still reach the file.
      let view: Uint8Array | undefined = (() => {
        const f = MemoryMappedFile.createRw(p, 4096);
        const v = f.asSliceMut(0, 16);
        f.resize(8192);
        f.updateRegion(4096, new Uint8Array([5]));
        return v;
      })();
      await settle(() => inspectNative().threadAttachments === base.threadAttachments, 'the dropped file released its attachment');
      assert.equal(inspectNative().liveMappings, base.liveMappings + 2);
      assert.equal(inspectNative().mapAreas, base.mapAreas + 4);
      view[3] = 9;
      const disk = readFileSync(p);
      assert.deepEqual([disk.length, disk[3], disk[4096]], [8192, 9, 5]);
      view = undefined;
      await settle(() => inspectNative().liveMappings === base.liveMappings, 'both mappings were released once the view was collected');
      assert.deepEqual(inspectNative(), base);
    } finally {
      t.cleanup();
    }
  },
);

test("another thread's view: kept across a grow (before and after that thread's next call), detached at its next call after a shrink", TIMEOUT, async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const m = MemoryMappedFile.createRw(p, 8192);
    const ctrl = new Int32Array(new SharedArrayBuffer(12));
    const at = 100;
    const report = runWorker<HoldReport>({ kind: 'hold', file: m.share(), ctrl: ctrl.buffer as SharedArrayBuffer, at, steps: 3 });
    // The main thread may block: the worker needs nothing from its event loop.
    const waitFor = (index: number, value: number, what: string) => {
      Atomics.wait(ctrl, index, value - 1, 10_000);
      assert.equal(Atomics.load(ctrl, index), value, `${what} within 10 s`);
    };
    waitFor(HOLD.READY, 1, 'the worker took its view');
    const sizes = [64 * 1024, 128 * 1024, 4096];
    for (const [i, size] of sizes.entries()) {
      m.resize(size);
      Atomics.store(ctrl, HOLD.STEP, i + 1);
      Atomics.notify(ctrl, HOLD.STEP);
      waitFor(HOLD.DONE, i + 1, `the worker finished step ${i + 1}`);
      if (i < 2) assert.equal(readFileSync(p)[at], i + 1, `step ${i + 1}: the worker's store through its old view is in the file`);
    }
    const r = await report;
    assert.deepEqual(r.lengths, [
      [8192, 8192],
      [8192, 8192],
      [8192, 0],
    ]);
    m.close();
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test(
  'a share() handle made before one or two resizes opens the newest mapping in a worker, whether the old mapping is gone or still held',
  TIMEOUT,
  async () => {
    const t = tempDir();
    try {
      const p = t.path('a.bin');
      const m = MemoryMappedFile.createRw(p, 4096);
      const h1 = m.share();
      m.resize(8192);
      assert.equal(inspectNative().liveMappings, 1, 'the first mapping is gone in every thread');
      const a = await runWorker<AttachReport>({ kind: 'attach', file: h1 });
      assert.equal(a.length, 8192);
      assert.deepEqual([...readFileSync(p).subarray(8188)], [0xa1, 0xa2, 0xa3, 0xa4]);
      m.resize(3 * 4096 + 1);
      m.resize(5 * 4096 + 3);
      const b = await runWorker<AttachReport>({ kind: 'attach', file: h1 });
      assert.equal(b.length, 5 * 4096 + 3, 'after two more resizes too');
      // The old mapping still alive (a view of it held): the handle still goes to the newest.
      const h2 = m.share();
      const held = m.asSlice(0, 8);
      m.resize(6 * 4096);
      assert.equal(held.length, 8);
      const c = await runWorker<AttachReport>({ kind: 'attach', file: h2 });
      assert.equal(c.length, 6 * 4096);
      // In this thread too, and an altered handle is still refused.
      const same = MemoryMappedFile.fromShared(h1);
      assert.equal(same.length, 6 * 4096);
      same.close();
      assert.throws(() => MemoryMappedFile.fromShared({ ...h1, nonce: h1.nonce + 1 }), { code: /ERR_MMAP_(CLOSED|INVALID_ARGUMENT)/ });
      m.close();
      assert.throws(() => MemoryMappedFile.fromShared(h1), { code: 'ERR_MMAP_CLOSED' }, 'closed everywhere: nothing to follow');
      assert.equal(inspectNative().liveMappings, 0);
    } finally {
      t.cleanup();
    }
  },
);

test(
  'an iteration across a resize: pieces yielded before a grow keep working and the walk goes on; after a shrink they are detached and the walk stops at the new end',
  TIMEOUT,
  () => {
    const t = tempDir();
    try {
      const p = t.path('a.bin');
      const m = MemoryMappedFile.createRw(p, 4 * PAGE_BYTES);
      const it = m.chunksMut(PAGE_BYTES)[Symbol.iterator]();
      const first = it.next().value as Uint8Array;
      first[0] = 1;
      m.resize(64 * PAGE_BYTES);
      first[1] = 2;
      const second = it.next().value as Uint8Array;
      second[0] = 3;
      let steps = 2;
      while (!it.next().done) steps++;
      assert.equal(steps, 4, 'the walk covers the window it was started on');
      const disk = readFileSync(p);
      assert.deepEqual([disk[0], disk[1], disk[PAGE_BYTES]], [1, 2, 3]);
      const walk = m.chunks(PAGE_BYTES)[Symbol.iterator]();
      const a = walk.next().value as Uint8Array;
      walk.next();
      m.resize(PAGE_BYTES + 10);
      assert.equal(a.length, 0, 'a piece of the mapping before the shrink is detached');
      assert.equal(first.length, 0);
      assert.throws(() => walk.next(), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
      m.close();
    } finally {
      t.cleanup();
    }
  },
);

test('an atomic view whose word straddles the new end after a shrink is refused; one wholly before it works', TIMEOUT, () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const m = MemoryMappedFile.createRw(p, 2 * PAGE_BYTES);
    const w64 = m.atomicU64(PAGE_BYTES);
    const w32 = m.atomicU32(PAGE_BYTES + 8);
    const inside = m.atomicU32(PAGE_BYTES - 4);
    m.resize(PAGE_BYTES + 4); // w64 covers bytes 4096..4103: half of it is past the end
    assert.throws(() => w64.load(), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
    assert.throws(() => w64.store(1n), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
    m.resize(PAGE_BYTES + 10); // w32 covers 4104..4107: 4104 is inside, 4107 is not
    assert.throws(() => w32.add(1), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
    assert.equal(inside.add(5), 0);
    assert.equal(statSync(p).size, PAGE_BYTES + 10);
    assert.equal(readFileSync(p).readUInt32LE(PAGE_BYTES - 4), 5);
    m.close();
  } finally {
    t.cleanup();
  }
});

// ext4 (on recent kernels) zeroes the part of the last page past the old
// end when a file grows; tmpfs does not: there the library must.
for (const where of ['the temporary directory', 'tmpfs (/dev/shm)'] as const) {
  test(`a grow zeroes what a store past the old end left in its last page (${where})`, TIMEOUT, () => {
    const dir = where === 'tmpfs (/dev/shm)' ? mkdtempSync('/dev/shm/ranged-mmap-') : tempDir().dir;
    try {
      const p = join(dir, 'a.bin');
      const m = MemoryMappedFile.createRw(p, 2 * PAGE_BYTES);
      // A RawMmapFile never follows a resize: its view stays on the first mapping.
      const raw = RawMmapFile.fromShared(m.share());
      const stale = raw.readSlice(PAGE_BYTES + 200, 16);
      m.resize(PAGE_BYTES + 100);
      stale.fill(0xee); // past the new end, but inside its last page: no crash, not the file
      m.resize(2 * PAGE_BYTES);
      assert.deepEqual([...m.asSlice(PAGE_BYTES + 200, 16)], new Array(16).fill(0), 'the grown bytes read as zeros through the mapping');
      assert.deepEqual([...readFileSync(p).subarray(PAGE_BYTES + 100)], new Array(PAGE_BYTES - 100).fill(0), 'and in the file');
      raw.close();
      m.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('resize never loops: two resizes in a row, each followed, finish well within a deadline (child process)', TIMEOUT, () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const code = `
      import { MemoryMappedFile } from 'ranged-mmap';
      const m = MemoryMappedFile.createRw(${JSON.stringify(p)}, 4096);
      const other = MemoryMappedFile.fromShared(m.share());
      m.resize(8192);
      other.resize(16384); // other is still on the first mapping: it must follow, not spin
      m.resize(12288);
      console.log(JSON.stringify([m.length, other.length]));
      m.close(); other.close();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url), timeout: 20_000, encoding: 'utf8' });
    assert.equal(r.error, undefined, `the child did not finish within 20 s: ${String(r.error)}`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [12288, 12288]);
    assert.equal(statSync(p).size, 12288);
  } finally {
    t.cleanup();
  }
});

/** Runs the disk-full child on a private 2 MiB tmpfs; with `noFallocate`, fallocate fails with EOPNOTSUPP in it. */
async function onSmallTmpfs(mode: string, noFallocate = false): Promise<{ result: ChildResult; report: unknown }> {
  const t = tempDir('ranged-mmap-tmpfs-');
  try {
    const script = `mount -t tmpfs -o size=2m tmpfs "$0" && exec "$1" "$2" "$0" "$3"`;
    const inner = ['-rm', 'sh', '-c', script, t.dir, process.execPath, fixture('resize-diskfull-child.js'), mode];
    const result = noFallocate
      ? await runChild(syscallErrnoLauncher(), failingSyscalls(95, ['fallocate'], 'unshare', inner))
      : await runChild('unshare', inner);
    assert.equal(result.signal, null, result.stderr);
    assert.equal(result.code, 0, result.stderr);
    const report = result.events.find((e) => e.event === mode);
    assert.ok(report !== undefined, JSON.stringify(result.events) + result.stderr);
    return { result, report };
  } finally {
    t.cleanup();
  }
}

for (const noFallocate of [false, true]) {
  const how = noFallocate ? 'fallocate unsupported (posix_fallocate)' : 'fallocate';
  test(`full disk, ${how}: a grow that does not fit fails and leaves the file as it was (size and bytes); a grow that fits works`, TIMEOUT, async () => {
    const { report } = await onSmallTmpfs('resize', noFallocate);
    const r = report as ResizeReport;
    const syscall = noFallocate ? 'posix_fallocate' : 'fallocate';
    assert.equal(r.createOk.size, 1024 * 1024);
    assert.ok(r.createOk.allocatedBytes >= 1024 * 1024, `the created file's blocks are reserved (${r.createOk.allocatedBytes} bytes allocated)`);
    assert.equal(r.createTooBig?.code, 'ENOSPC', JSON.stringify(r.createTooBig));
    assert.equal(r.createTooBig?.syscall, syscall);
    for (const e of [r.tooBig, r.tooBigAsync]) {
      assert.equal(e?.code, 'ENOSPC', JSON.stringify(e));
      assert.equal(e?.syscall, syscall);
    }
    assert.equal(r.sizeAfter, 1024 * 1024, 'the size is as it was');
    assert.equal(r.unchanged, true, 'the bytes are as they were');
    assert.equal(r.lengthAfter, 1024 * 1024);
    assert.deepEqual(r.fits, { size: 1024 * 1024 + 300 * 1024, tail: 0x5a });
  });
}

test(
  'full disk under a sparse file: an 8 KiB updateRegion, writeAt, writeRange or their async forms with one free page is refused whole (nothing lands), and works once space is back',
  TIMEOUT,
  async () => {
    const { report } = await onSmallTmpfs('sparse-write');
    const r = report as SparseWriteReport;
    for (const e of [r.updateRegion, r.writeAt, r.writeRange]) {
      assert.equal(e?.code, 'ERR_MMAP_FAULT', JSON.stringify(e));
      assert.match(e!.message, /Nothing was written/);
    }
    for (const e of [r.updateRegionAsync, r.writeAtAsync]) {
      assert.equal(e?.code, 'ENOSPC', JSON.stringify(e));
      assert.equal(e?.syscall, 'madvise');
    }
    assert.equal(r.landed, 0, 'no byte of the refused writes is in the file');
    assert.equal(r.retried, true, 'the mapping is still usable: the same writes succeed once the disk has room');
    assert.equal(r.syncAfter, 'ok');
  },
);
