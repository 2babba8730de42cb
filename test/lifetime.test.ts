// Lifetimes and process limits: objects dropped without close() give back
// their descriptors and mappings once collected; the process's map-area
// limit is met with a typed error while Node keeps room to run; address
// space limits (ulimit -v) give a typed ENOMEM. Each case that could crash
// or hang runs in a child process with a timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MemoryMappedFile } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import type { Counts } from './fixtures/lifetime-gc-child.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));

/** Runs a fixture in a child process; its last stdout line is JSON. */
function runChild(
  name: string,
  args: string[],
  options: { nodeArgs?: string[]; timeoutMs?: number } = {},
): { report: Record<string, unknown>; status: number | null; signal: string | null; stderr: string } {
  const r = spawnSync(process.execPath, [...(options.nodeArgs ?? []), fixture(name), ...args], { encoding: 'utf8', timeout: options.timeoutMs ?? 120_000 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  let report: Record<string, unknown> = {};
  try {
    report = JSON.parse(last) as Record<string, unknown>;
  } catch {
    assert.fail(`${name} printed no report (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return { report, status: r.status, signal: r.signal, stderr: r.stderr };
}

test('2000 objects of every kind dropped without close() give back every descriptor, mapping, map area and attachment once collected', () => {
  const t = tempDir();
  try {
    const { report, status } = runChild('lifetime-gc-child', [t.dir], { nodeArgs: ['--expose-gc'] });
    assert.equal(status, 0);
    const kinds = report.kinds as Record<string, { before: Counts; held: Counts; after: Counts }>;
    assert.deepEqual(Object.keys(kinds).sort(), [
      'memoryMap',
      'memoryMappedFileRo',
      'memoryMappedFileRwWithTimer',
      'memoryMappedFileSegment',
      'mmapFile',
      'rawMmapFile',
      'ring',
      'sharedAllocator',
      'sharedRing',
    ]);
    for (const [name, k] of Object.entries(kinds)) {
      // They were all alive at once (nothing was collected early by mistake)...
      assert.ok(k.held.mapAreas >= k.before.mapAreas + 2 * 2000, `${name}: ${JSON.stringify(k)}`);
      // ...and all came back.
      assert.deepEqual(k.after, k.before, name);
    }
    for (const name of ['memoryMappedFileRo', 'memoryMappedFileRwWithTimer', 'memoryMappedFileSegment', 'mmapFile', 'rawMmapFile']) {
      assert.equal(kinds[name]!.held.fds, kinds[name]!.before.fds + 2000, name);
      assert.equal(kinds[name]!.held.liveMappings, kinds[name]!.before.liveMappings + 2000, name);
    }
    assert.equal(kinds.sharedAllocator!.held.liveMappings, kinds.sharedAllocator!.before.liveMappings + 4000);
    // A view kept after its file was dropped: the attachment goes, the
    // mapping stays (and reads the file) until the view is dropped too.
    const keptBefore = report.keptBefore as Counts;
    const whileKept = report.whileKept as Counts & { byte: number; length: number };
    assert.deepEqual(
      { live: whileKept.liveMappings, attachments: whileKept.threadAttachments, byte: whileKept.byte, length: whileKept.length },
      { live: keptBefore.liveMappings + 1, attachments: keptBefore.threadAttachments, byte: 7, length: 8 },
    );
    assert.deepEqual(report.afterKept, keptBefore);
    // A file that was shared and dropped can still be attached from its handle.
    assert.equal(report.sharedByte, 42);
    // A worker dropped its attachment of the main thread's file: gone in the
    // worker, and the main thread's mapping still reads and writes the file.
    const fromWorker = report.fromWorker as Record<string, number>;
    assert.equal(fromWorker.during, 1);
    assert.equal(fromWorker.after, 0);
    assert.deepEqual(report.mainAfterWorker, { byte200: 9, byte201: 5 });
  } finally {
    t.cleanup();
  }
});

interface RefusedReport {
  isMmapError: boolean;
  code: string;
  message: string;
}

function assertMapLimit(refused: RefusedReport, what: string): void {
  assert.equal(refused.isMmapError, true, what);
  assert.equal(refused.code, 'ERR_MMAP_MAP_LIMIT', what);
  // The message says what to do about it.
  assert.match(refused.message, /Close the files, maps and rings that are no longer used/, what);
  assert.match(refused.message, /vm\.max_map_count/, what);
}

test('the memory-map area limit: SharedRings made in a loop that never yields are refused with ERR_MMAP_MAP_LIMIT before vm.max_map_count, and the process goes on growing its heap (child process)', () => {
  const t = tempDir();
  try {
    const { report, status, signal, stderr } = runChild('lifetime-maplimit-child', [t.dir, 'real'], { timeoutMs: 120_000 });
    assert.equal(signal, null, stderr);
    assert.equal(status, 0, stderr);
    assertMapLimit(report.refused as RefusedReport, 'shared rings');
    const at = report.atRefusal as { mapAreas: number; mapAreaCap: number; liveMappings: number };
    // Refused at the cap, which leaves a quarter of vm.max_map_count (at least 4096) to the rest of the process.
    assert.ok(at.mapAreas <= at.mapAreaCap && at.mapAreas + 4 > at.mapAreaCap, JSON.stringify(at));
    assert.equal(at.liveMappings, report.made);
    assert.ok((report.made as number) > 1000, `only ${String(report.made)} rings before the refusal`);
    assert.equal(report.grew, 128);
    assert.equal(report.written, 3);
    assert.equal(report.areasAfter, 0);
  } finally {
    t.cleanup();
  }
});

test('every kind of mapping is counted and refused at the cap (files, maps, anonymous maps, rings, shared rings, a resize), leaving no descriptor and the file unchanged (child process)', () => {
  const t = tempDir();
  try {
    const { report, status, stderr } = runChild('lifetime-maplimit-child', [t.dir, 'kinds'], { timeoutMs: 120_000 });
    assert.equal(status, 0, stderr);
    type Kind = { made: number; counted: number; real: number; fdsHeld: number; fdsAfter: number; areasAfter: number; refused: RefusedReport };
    const kinds = report.kinds as Record<string, Kind>;
    // Areas per object: a file and its status page; a map's half (two for a
    // writable file map) and its status page; one anonymous area; a ring's
    // two halves; a shared ring's header, two data copies and status page.
    const per: Record<string, number> = {
      memoryMappedFileRw: 2,
      memoryMappedFileRo: 2,
      mmapFile: 2,
      rawMmapFile: 2,
      memoryMapFile: 2,
      memoryMapMutFile: 3,
      memoryMapAnonymous: 1,
      ring: 2,
      sharedRing: 4,
    };
    assert.deepEqual(Object.keys(kinds).sort(), Object.keys(per).sort());
    for (const [name, k] of Object.entries(kinds)) {
      assertMapLimit(k.refused, name);
      assert.equal(k.made, Math.floor(40 / per[name]!), name);
      assert.equal(k.counted, k.made * per[name]!, name);
      // Never fewer than the areas surely ours in /proc/self/maps.
      assert.ok(k.real <= k.counted, `${name}: ${k.real} areas over the file or ring memory, ${k.counted} counted`);
      // A refused open keeps no descriptor; closing gives every area back.
      const fileKind = ['memoryMappedFileRw', 'memoryMappedFileRo', 'mmapFile', 'rawMmapFile'].includes(name);
      assert.equal(k.fdsHeld, fileKind ? k.made : 0, name);
      assert.equal(k.fdsAfter, 0, name);
      assert.equal(k.areasAfter, 0, name);
    }
    const resize = report.resize as { refused: RefusedReport; size: number; fileSize: number; byte: number };
    assertMapLimit(resize.refused, 'resize');
    assert.deepEqual({ size: resize.size, fileSize: resize.fileSize, byte: resize.byte }, { size: 8192, fileSize: 8192, byte: 3 });
    assert.equal(report.resizedAfter, 16384);
    assert.equal(report.areasAtEnd, 0);
  } finally {
    t.cleanup();
  }
});

test('ulimit -v below the file size: every API fails with a typed ENOMEM from mmap, sync and async, and the process goes on (child process under prlimit --as, from util-linux)', () => {
  const t = tempDir();
  try {
    const { report, status, stderr } = runChild('lifetime-ulimit-child', [t.dir], { timeoutMs: 60_000 });
    assert.equal(status, 0, stderr);
    // The limit really was applied, and leaves far less room than the 4 GiB file needs.
    assert.equal(report.applied, report.limit);
    assert.equal(report.headroom, 512 * 2 ** 20);
    const results = report.results as Record<string, Record<string, unknown>>;
    const big = `${t.dir}/big.bin`;
    for (const name of ['memoryMappedFileRo', 'memoryMappedFileRw', 'mmapFile', 'rawMmapFile']) {
      assert.deepEqual(results[name], { isMmapError: true, code: 'ENOMEM', errno: -12, syscall: 'mmap', path: big }, name);
    }
    assert.deepEqual({ ...results.memoryMap, path: undefined }, { isMmapError: true, code: 'ENOMEM', errno: -12, syscall: 'mmap', path: undefined });
    assert.deepEqual(results.ring, { isMmapError: true, code: 'ENOMEM', errno: -12, syscall: 'mmap' });
    assert.deepEqual(report.asyncResult, { isMmapError: true, code: 'ENOMEM', syscall: 'mmap' });
    assert.equal(report.junk, 16);
    assert.equal(report.byte, 5);
    assert.equal(report.live, 0);
    assert.equal(report.areas, 0);
  } finally {
    t.cleanup();
  }
});

test('close() while waitAsync calls are pending settles every one of them with ERR_MMAP_CLOSED, well within a deadline (child process)', () => {
  const t = tempDir();
  try {
    const { report, status, stderr } = runChild('lifetime-close-wait-child', [t.dir], { timeoutMs: 30_000 });
    assert.equal(status, 0, stderr);
    const rejected = { settled: 'rejected', code: 'ERR_MMAP_CLOSED' };
    assert.deepEqual(report.outcome, [rejected, rejected, rejected], 'a pending wait did not settle within 5 s of close()');
    assert.ok((report.ms as number) < 5000);
    assert.equal(report.live, 0);
  } finally {
    t.cleanup();
  }
});

test('updateRegion as the very first call after another process truncated the file: ERR_MMAP_FAULT, not a silent success; and every later call says so', async () => {
  const t = tempDir();
  try {
    for (const which of ['sync', 'async'] as const) {
      const p = t.path(`${which}.bin`);
      writeFileSync(p, Buffer.alloc(4 * 4096, 1));
      const m = MemoryMappedFile.openRw(p);
      truncateSync(p, 4096);
      const data = new Uint8Array(16).fill(9);
      try {
        if (which === 'sync') assert.throws(() => m.updateRegion(2 * 4096, data), { code: 'ERR_MMAP_FAULT' });
        else await assert.rejects(m.updateRegionAsync(2 * 4096, data), { code: 'ERR_MMAP_FAULT' });
        assert.throws(() => m.updateRegion(0, data), { code: 'ERR_MMAP_FAULT' });
        // Nothing reached the file past its new end, which was not extended.
        assert.equal(statSync(p).size, 4096);
      } finally {
        m.close();
      }
    }
  } finally {
    t.cleanup();
  }
});

test('a span one byte past the end (asSlice(size - 1, 2), readInto, updateRegion) is refused with ERR_MMAP_OUT_OF_BOUNDS by the bounds check, in the file and in a segment, and the file is unchanged', () => {
  const t = tempDir();
  try {
    const p = t.path('edge.bin');
    const size = 3 * 4096;
    writeFileSync(p, Buffer.alloc(size, 4));
    const m = MemoryMappedFile.openRw(p);
    const segment = m.segment(4096, 4096);
    try {
      for (const [w, n] of [
        [m, size],
        [segment, 4096],
      ] as const) {
        const pastEnd = { code: 'ERR_MMAP_OUT_OF_BOUNDS', message: /would pass the end/ };
        assert.throws(() => w.asSlice(n - 1, 2), pastEnd);
        assert.throws(() => w.readInto(n - 1, new Uint8Array(2)), pastEnd);
        assert.throws(() => w.updateRegion(n - 1, new Uint8Array([7, 7])), pastEnd);
        assert.deepEqual([...w.asSlice(n - 1, 1)], [4]);
      }
    } finally {
      m.close();
    }
    assert.deepEqual(readFileSync(p), Buffer.alloc(size, 4));
  } finally {
    t.cleanup();
  }
});
