// MemoryMappedFile: every method in every mode ('rw', 'ro', 'cow'), checked
// against the bytes on disk (read back with node:fs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fsyncSync, openSync, readFileSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { ADVICE_NAMES, MemoryMappedFile, MmapFile, PAGE_BYTES, RawMmapFile, inspectNative, type MappingMode } from 'ranged-mmap';
import { pattern, smapsKb, snapshot, tempDir } from './helpers.js';
import { rejectsUnchanged, rejectsUnchangedAsync, seedFile } from './mmapio-helpers.js';

const SIZE = 3 * PAGE_BYTES + 100; // not a multiple of the page: the last chunk is short

function openIn(mode: MappingMode, path: string): MemoryMappedFile {
  return mode === 'ro' ? MemoryMappedFile.openRo(path) : mode === 'rw' ? MemoryMappedFile.openRw(path) : MemoryMappedFile.openCow(path);
}

test('createRw: exact size, replaces an existing file, every getter; close and dispose', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    writeFileSync(p, 'old contents');
    const m = MemoryMappedFile.createRw(p, 10_000);
    assert.equal(statSync(p).size, 10_000);
    assert.deepEqual(readFileSync(p), Buffer.alloc(10_000));
    assert.equal(m.mode, 'rw');
    assert.equal(m.length, 10_000);
    assert.equal(m.size, 10_000);
    assert.equal(m.path, p);
    assert.equal(m.isClosed, false);
    assert.equal(m.flushPolicy, 'manual');
    assert.equal(m.hugePages, null);
    m.close();
    assert.equal(m.isClosed, true);
    m.close(); // twice is harmless
    {
      using d = MemoryMappedFile.createRw(pathToFileURL(t.path('b.bin')), 5n);
      assert.equal(d.length, 5);
    }
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('openRo, openRw, openCow report their mode and read the file; the async forms too', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const bytes = seedFile(p, SIZE);
    for (const mode of ['ro', 'rw', 'cow'] as const) {
      const m = openIn(mode, p);
      assert.equal(m.mode, mode);
      assert.equal(m.length, SIZE);
      assert.deepEqual(m.asSlice(0, SIZE), bytes);
      m.close();
    }
    const asyncOpens = [MemoryMappedFile.openRoAsync(p), MemoryMappedFile.openRwAsync(p), MemoryMappedFile.openCowAsync(p)];
    const opened = await Promise.all(asyncOpens);
    assert.deepEqual(
      opened.map((m) => m.mode),
      ['ro', 'rw', 'cow'],
    );
    for (const m of opened) {
      assert.deepEqual(m.asSlice(0, 16), bytes.subarray(0, 16));
      m.close();
    }
    const c = await MemoryMappedFile.createRwAsync(t.path('c.bin'), 123);
    assert.equal(c.length, 123);
    c.close();
    assert.equal(statSync(t.path('c.bin')).size, 123);
  } finally {
    t.cleanup();
  }
});

test('openOrCreate creates a missing file, opens an existing one at its own size (sync and async)', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const a = MemoryMappedFile.openOrCreate(p, 8192);
    assert.equal(a.length, 8192);
    a.updateRegion(0, new Uint8Array([9, 8, 7]));
    a.close();
    const b = MemoryMappedFile.openOrCreate(p, 100); // exists: its size wins, bytes kept
    assert.equal(b.length, 8192);
    assert.deepEqual([...b.asSlice(0, 3)], [9, 8, 7]);
    assert.equal(b.mode, 'rw');
    b.close();
    const q = t.path('q.bin');
    const c = await MemoryMappedFile.openOrCreateAsync(q, 4096);
    assert.equal(c.length, 4096);
    c.close();
    const d = await MemoryMappedFile.openOrCreateAsync(q, 1);
    assert.equal(d.length, 4096);
    d.close();
  } finally {
    t.cleanup();
  }
});

test('builder: mode, size, flush policy, touch hint, huge pages, exclusive, sparse, fileMode; create/open and async', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const m = MemoryMappedFile.builder(p)
      .mode('rw')
      .size(1 << 16)
      .flushPolicy({ everyBytes: 1 << 20 })
      .touchHint('eager')
      .hugePages(true)
      .fileMode(0o600)
      .create();
    assert.equal(m.length, 1 << 16);
    assert.deepEqual(m.flushPolicy, { everyBytes: 1 << 20 });
    assert.equal(m.hugePages?.requested, true);
    assert.equal(statSync(p).mode & 0o777, 0o600 & ~process.umask());
    m.updateRegion(0, new Uint8Array([1, 2, 3]));
    m.close();
    for (const mode of ['ro', 'rw', 'cow'] as const) {
      const o = MemoryMappedFile.builder(p).mode(mode).touchHint('lazy').open();
      assert.equal(o.mode, mode);
      assert.deepEqual([...o.asSlice(0, 3)], [1, 2, 3]);
      o.close();
    }
    const e = MemoryMappedFile.builder(t.path('e.bin')).size(4096).exclusive(true).sparse(true);
    e.create().close();
    assert.throws(() => e.create(), { code: 'EEXIST' });
    const a = await MemoryMappedFile.builder(t.path('f.bin')).size(100).createAsync();
    assert.equal(a.length, 100);
    a.close();
    const b = await MemoryMappedFile.builder(t.path('f.bin')).mode('cow').openAsync();
    assert.equal(b.mode, 'cow');
    b.close();
  } finally {
    t.cleanup();
  }
});

test('asSlice is zero-copy in every mode; asSliceMut writes the file on rw and stays private on cow', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const bytes = seedFile(p, SIZE);
    const rw = MemoryMappedFile.openRw(p);
    const view = rw.asSlice(10, 5);
    assert.deepEqual(view, bytes.subarray(10, 15));
    rw.asSliceMut(10, 5).set([1, 2, 3, 4, 5]);
    assert.deepEqual([...view], [1, 2, 3, 4, 5], 'asSlice sees the same memory');
    assert.deepEqual([...readFileSync(p).subarray(10, 15)], [1, 2, 3, 4, 5]);
    const cow = MemoryMappedFile.openCow(p);
    cow.asSliceMut(10, 5).fill(0xee);
    assert.deepEqual([...cow.asSlice(10, 5)], [0xee, 0xee, 0xee, 0xee, 0xee]);
    assert.deepEqual([...readFileSync(p).subarray(10, 15)], [1, 2, 3, 4, 5], 'cow writes never reach the file');
    assert.deepEqual([...rw.asSlice(10, 5)], [1, 2, 3, 4, 5], 'nor another mapping of it');
    const ro = MemoryMappedFile.openRo(p);
    rejectsUnchanged(p, 'ERR_MMAP_INVALID_MODE', () => ro.asSliceMut(0, 1));
    // A store through a read-only view neither crashes nor reaches the file.
    const roView = ro.asSlice(0, 4);
    roView[0] = roView[0]! ^ 0xff;
    assert.equal(readFileSync(p)[0], bytes[0]);
    assert.deepEqual(ro.asSlice(0, 0), new Uint8Array(0));
    for (const m of [rw, cow, ro]) m.close();
    assert.equal(view.length, 0, 'a view is zero-length after close');
  } finally {
    t.cleanup();
  }
});

test('updateRegion / readInto (+Async) in every mode, checked on disk', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const bytes = seedFile(p, SIZE);
    const data = pattern(2000, 7);
    for (const mode of ['rw', 'cow', 'ro'] as const) {
      const m = openIn(mode, p);
      const target = new Uint8Array(2000);
      if (mode === 'ro') {
        rejectsUnchanged(p, 'ERR_MMAP_INVALID_MODE', () => m.updateRegion(100, data));
        await rejectsUnchangedAsync(p, 'ERR_MMAP_INVALID_MODE', () => m.updateRegionAsync(100, data));
        assert.equal(m.readInto(100, target), 2000);
        assert.deepEqual(Buffer.from(target), readFileSync(p).subarray(100, 2100));
        assert.equal(await m.readIntoAsync(100, target), 2000);
      } else {
        const before = readFileSync(p);
        m.updateRegion(100, data);
        await m.updateRegionAsync(5000, data.subarray(0, 1000));
        assert.equal(m.readInto(100, target), 2000);
        assert.deepEqual(target, data);
        target.fill(0);
        assert.equal(await m.readIntoAsync(5000, target.subarray(0, 1000)), 1000);
        assert.deepEqual(target.subarray(0, 1000), data.subarray(0, 1000));
        // Other typed arrays are read as bytes.
        m.updateRegion(0, new Uint16Array([0x0201]));
        assert.deepEqual([...m.asSlice(0, 2)], [1, 2]);
        const onDisk = readFileSync(p);
        if (mode === 'rw') {
          assert.deepEqual(onDisk.subarray(100, 2100), Buffer.from(data));
          assert.deepEqual(onDisk.subarray(5000, 6000), Buffer.from(data.subarray(0, 1000)));
        } else {
          assert.deepEqual(onDisk, before, 'cow leaves the file alone');
        }
      }
      m.close();
    }
    void bytes;
  } finally {
    t.cleanup();
  }
});

test('flush, flushRange (+Async) and syncAll: rw writes back; ro and cow have nothing to write and succeed', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    for (const mode of ['rw', 'cow', 'ro'] as const) {
      const m = openIn(mode, p);
      m.flush();
      await m.flushAsync();
      m.flushRange(10, 100);
      await m.flushRangeAsync(0, SIZE);
      m.flushRange(SIZE, 0);
      m.syncAll();
      await m.syncAllAsync();
      assert.equal(m.flushStats.flushes, 5);
      m.close();
      assert.throws(() => m.flush(), { code: 'ERR_MMAP_CLOSED' });
      await assert.rejects(m.flushAsync(), { code: 'ERR_MMAP_CLOSED' });
      assert.throws(() => m.flushRange(0, 1), { code: 'ERR_MMAP_CLOSED' });
    }
  } finally {
    t.cleanup();
  }
});

test('flush policies: always, everyBytes, everyWrites flush (start write-back of) what updateRegion wrote, at the count they name; everyMillis flushes on its timer and stops on close', async () => {
  const t = tempDir();
  // Dirty kB of this process's mapping of a file: what was written through
  // it and whose write-back has not started (a flush starts it, and that
  // makes the pages clean). Counted in folios, which may be larger than a page.
  const dirtyKb = (path: string) => smapsKb(path, 'Shared_Dirty', 'Private_Dirty');
  // tmpfs and ramfs have no write-back: their pages stay dirty after a flush,
  // so there only the counts can be checked.
  const writesBack = ![0x01021994, 0x858458f6].includes(Number(statfsSync(t.dir).type));
  const assertFlushed = (path: string, message: string) => {
    if (writesBack) assert.equal(dirtyKb(path), 0, message);
  };
  // Writes everything back and waits for it, through a descriptor of its
  // own: afterwards nothing of the file is dirty or under write-back (a
  // flush skips a page still under write-back, so a later check would
  // depend on how fast the disk was).
  const settle = (path: string) => {
    const fd = openSync(path, 'r+');
    fsyncSync(fd);
    closeSync(fd);
  };
  const cleanFile = (name: string, size: number) => {
    const path = t.path(name);
    seedFile(path, size);
    settle(path);
    return path;
  };
  const opened: MemoryMappedFile[] = [];
  const open = (path: string, flushPolicy: Parameters<typeof MemoryMappedFile.openRw>[1]) => {
    const m = MemoryMappedFile.openRw(path, flushPolicy);
    opened.push(m);
    return m;
  };
  try {
    // The measure first: without a flush, what updateRegion wrote stays dirty.
    const manualPath = cleanFile('manual.bin', SIZE);
    const manual = open(manualPath, {});
    for (let i = 0; i < 5; i++) manual.updateRegion(0, new Uint8Array(1000));
    assert.equal(manual.flushStats.flushes, 0);
    assert.ok(dirtyKb(manualPath) > 0, "'manual' leaves the written page dirty");
    manual.close();

    const alwaysPath = cleanFile('always.bin', SIZE);
    const always = open(alwaysPath, { flushPolicy: 'always' });
    always.updateRegion(0, new Uint8Array(10).fill(1));
    assert.equal(always.flushStats.flushes, 1);
    assertFlushed(alwaysPath, "'always' flushed the first write");
    settle(alwaysPath);
    always.updateRegion(PAGE_BYTES, new Uint8Array(10).fill(1));
    assert.equal(always.flushStats.flushes, 2);
    assertFlushed(alwaysPath, "'always' flushed the second write");
    always.close();

    const bytesPath = cleanFile('bytes.bin', SIZE);
    const bytes = open(bytesPath, { flushPolicy: { everyBytes: 100 } });
    bytes.updateRegion(0, new Uint8Array(60).fill(1));
    assert.deepEqual({ ...bytes.flushStats }, { flushes: 0, pendingBytes: 60, pendingWrites: 1, timerActive: false, backgroundFailures: 0 });
    assert.ok(dirtyKb(bytesPath) > 0, '60 of 100 bytes: not flushed yet');
    bytes.updateRegion(PAGE_BYTES, new Uint8Array(40).fill(1));
    assert.deepEqual({ ...bytes.flushStats }, { flushes: 1, pendingBytes: 0, pendingWrites: 0, timerActive: false, backgroundFailures: 0 });
    assertFlushed(bytesPath, 'at 100 bytes both written pages were flushed');
    bytes.close();

    const writesPath = cleanFile('writes.bin', 8 * PAGE_BYTES);
    const writes = open(writesPath, { flushPolicy: { everyWrites: 3 } });
    for (let i = 0; i < 7; i++) {
      writes.updateRegion(i * PAGE_BYTES, new Uint8Array([1]));
      const flushed = Math.floor((i + 1) / 3);
      assert.equal(writes.flushStats.flushes, flushed);
      assert.equal(writes.flushStats.pendingWrites, (i + 1) % 3);
      if ((i + 1) % 3 === 0) {
        assertFlushed(writesPath, `the ${i + 1}th write flushed the three before it`);
        settle(writesPath);
      } else {
        assert.ok(dirtyKb(writesPath) > 0, `write ${i + 1} is not flushed yet`);
      }
    }
    writes.flush();
    assert.equal(writes.flushStats.pendingWrites, 0);
    assertFlushed(writesPath, 'flush() flushed the 7th write');
    writes.close();

    // cow never writes the file: the policy has nothing to do.
    const cow = MemoryMappedFile.openCow(alwaysPath, { flushPolicy: 'always' });
    cow.updateRegion(0, new Uint8Array(10));
    assert.equal(cow.flushStats.flushes, 0);
    cow.close();

    const timedPath = cleanFile('timed.bin', SIZE);
    const timed = open(timedPath, { flushPolicy: { everyMillis: 5 } });
    assert.equal(timed.flushStats.timerActive, true);
    timed.updateRegion(0, new Uint8Array([42]));
    assert.ok(dirtyKb(timedPath) > 0);
    // Wait for the flusher's own effect (its flush count), not for a time; bounded.
    const deadline = Date.now() + 20_000;
    while (timed.flushStats.flushes === 0) {
      assert.ok(Date.now() < deadline, 'the everyMillis flusher never ran');
      await new Promise((r) => setTimeout(r, 1));
    }
    assertFlushed(timedPath, 'the timer flushed the write');
    timed.close();
    assert.equal(timed.flushStats.timerActive, false);
    assert.equal(readFileSync(timedPath)[0], 42);

    // Unref-ed: see 'the everyMillis flusher never keeps the process alive on its own'.
  } finally {
    for (const m of opened) m.close();
    t.cleanup();
  }
});

test('atomic views in every mode: loads everywhere, stores on rw (file) and cow (private), refused on ro', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    writeFileSync(p, Buffer.alloc(PAGE_BYTES));
    const rw = MemoryMappedFile.openRw(p);
    const a = rw.atomicU32(0);
    assert.equal(a.offset, 0);
    a.store(10);
    assert.equal(a.add(5), 10);
    assert.equal(a.sub(3), 15);
    assert.equal(a.and(0b1110), 12);
    assert.equal(a.or(1), 12);
    assert.equal(a.xor(0xff), 13);
    assert.equal(a.exchange(7), 13 ^ 0xff);
    assert.equal(a.compareExchange(7, 8), 7);
    assert.equal(a.compareExchange(7, 9), 8);
    assert.equal(a.load(), 8);
    assert.equal(a.sub(9), 8);
    assert.equal(a.load(), 0xffffffff, 'wraps like a u32');
    const b = rw.atomicU64(8);
    b.store(2n ** 63n);
    assert.equal(b.add(1), 2n ** 63n);
    assert.equal(b.sub(2n), 2n ** 63n + 1n);
    assert.equal(b.and(0xffn), 2n ** 63n - 1n);
    assert.equal(b.or(0x100n), 0xffn);
    assert.equal(b.xor(1n), 0x1ffn);
    assert.equal(b.exchange(5n), 0x1fen);
    assert.equal(b.compareExchange(5n, 2n ** 64n - 1n), 5n);
    assert.equal(b.load(), 2n ** 64n - 1n);
    assert.equal(b.add(1n), 2n ** 64n - 1n);
    assert.equal(b.load(), 0n, 'wraps like a u64');
    b.store(0x0102030405060708n);
    const disk = readFileSync(p);
    assert.equal(disk.readUInt32LE(0), 0xffffffff);
    assert.equal(disk.readBigUInt64LE(8), 0x0102030405060708n);
    const words = rw.atomicU32Slice(16, 4);
    assert.equal(words.length, 4);
    Atomics.add(words, 2, 3);
    assert.equal(readFileSync(p).readUInt32LE(24), 3);
    const big = rw.atomicU64Slice(32, 2);
    Atomics.store(big, 1, 9n);
    assert.equal(readFileSync(p).readBigUInt64LE(40), 9n);
    assert.equal(rw.atomicU32Slice(0, 0).length, 0);

    const cow = MemoryMappedFile.openCow(p);
    const c = cow.atomicU64(8);
    assert.equal(c.load(), 0x0102030405060708n);
    c.add(1n);
    assert.equal(c.load(), 0x0102030405060709n);
    cow.atomicU32(0).store(1);
    assert.equal(readFileSync(p).readBigUInt64LE(8), 0x0102030405060708n, 'cow stores stay private');
    assert.equal(readFileSync(p).readUInt32LE(0), 0xffffffff);

    const ro = MemoryMappedFile.openRo(p);
    const r = ro.atomicU32(0);
    assert.equal(r.load(), 0xffffffff);
    assert.equal(ro.atomicU64(8).load(), 0x0102030405060708n);
    for (const [name, call] of [
      ['store', () => r.store(1)],
      ['add', () => r.add(1)],
      ['sub', () => r.sub(1)],
      ['and', () => r.and(1)],
      ['or', () => r.or(1)],
      ['xor', () => r.xor(1)],
      ['exchange', () => r.exchange(1)],
      ['compareExchange', () => r.compareExchange(0xffffffff, 1)],
      ['u64 store', () => ro.atomicU64(8).store(1n)],
      ['u64 add', () => ro.atomicU64(8).add(1n)],
      ['u64 cas', () => ro.atomicU64(8).compareExchange(0x0102030405060708n, 0n)],
    ] as const) {
      rejectsUnchanged(p, 'ERR_MMAP_INVALID_MODE', call, name);
    }
    assert.equal(ro.atomicU32Slice(0, 1)[0], 0xffffffff);
    assert.equal(ro.atomicU64Slice(8, 1)[0], 0x0102030405060708n);

    for (const m of [rw, cow, ro]) m.close();
    assert.throws(() => a.load(), { code: 'ERR_MMAP_CLOSED' });
    assert.throws(() => b.add(1n), { code: 'ERR_MMAP_CLOSED' });
    assert.throws(() => rw.atomicU32(0), { code: 'ERR_MMAP_CLOSED' });
    assert.equal(words.length, 0, 'slices are zero-length after close');
  } finally {
    t.cleanup();
  }
});

test('advise with every advice, touchPages, touchPagesRange (+Async), lock/unlock/lockAll/unlockAll (+Async), in every mode', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const bytes = seedFile(p, SIZE);
    for (const mode of ['rw', 'ro', 'cow'] as const) {
      const m = openIn(mode, p);
      for (const advice of ADVICE_NAMES) m.advise(0, SIZE, advice);
      m.advise(5, 0, 'normal');
      m.touchPages();
      m.touchPagesRange(PAGE_BYTES + 1, 10);
      await m.touchPagesAsync();
      await m.touchPagesRangeAsync(PAGE_BYTES + 1, 10);
      await m.segment(PAGE_BYTES, PAGE_BYTES).touchPagesAsync();
      await m.touchPagesRangeAsync(SIZE, 0);
      await assert.rejects(m.touchPagesRangeAsync(SIZE - 1, 2), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
      m.lock(0, 100);
      m.unlock(0, 100);
      m.lockAll();
      m.unlockAll();
      await m.lockAsync(PAGE_BYTES, 100);
      m.unlock(PAGE_BYTES, 100);
      await m.lockAllAsync();
      m.unlockAll();
      await m.segment(PAGE_BYTES, 10).lockAsync(0, 10);
      m.unlockAll();
      await assert.rejects(m.lockAsync(SIZE, 1), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
      assert.deepEqual(m.asSlice(0, SIZE), bytes, `${mode}: bytes as they were`);
      m.close();
    }
    assert.deepEqual(readFileSync(p), Buffer.from(bytes));
  } finally {
    t.cleanup();
  }
});

test("dontNeed on cow drops the process's private changes (the file shows again); on rw nothing is lost", () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const bytes = seedFile(p, SIZE);
    const cow = MemoryMappedFile.openCow(p);
    cow.updateRegion(0, new Uint8Array(PAGE_BYTES).fill(1));
    cow.advise(0, PAGE_BYTES, 'dontNeed');
    assert.deepEqual(cow.asSlice(0, PAGE_BYTES), bytes.subarray(0, PAGE_BYTES));
    cow.close();
    const rw = MemoryMappedFile.openRw(p);
    rw.updateRegion(0, new Uint8Array(PAGE_BYTES).fill(1));
    rw.advise(0, PAGE_BYTES, 'dontNeed');
    assert.deepEqual(rw.asSlice(0, PAGE_BYTES), new Uint8Array(PAGE_BYTES).fill(1));
    rw.close();
  } finally {
    t.cleanup();
  }
});

test('requestHugePages reports what happened and never throws for the kernel; the builder hint never fails the open', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, 4 << 20);
    for (const mode of ['rw', 'ro', 'cow'] as const) {
      const m = MemoryMappedFile.builder(p).mode(mode).hugePages(true).open();
      const r = m.hugePages!;
      assert.equal(r.requested, true);
      assert.equal(typeof r.applied, 'boolean');
      assert.ok(r.eligible === null || typeof r.eligible === 'boolean');
      assert.equal(r.effective, r.applied && r.eligible === true);
      assert.equal(typeof r.reason, 'string');
      if (!r.effective) assert.notEqual(r.reason, 'ok');
      const off = m.requestHugePages(false);
      assert.equal(off.requested, false);
      assert.equal(off.effective, false);
      assert.equal(m.hugePages, off);
      m.close();
      assert.throws(() => m.requestHugePages(), { code: 'ERR_MMAP_CLOSED' });
    }
  } finally {
    t.cleanup();
  }
});

test('chunks, pages and chunksMut: views in order, the last one short, one reused result object', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    const bytes = seedFile(p, SIZE);
    for (const mode of ['rw', 'ro', 'cow'] as const) {
      const m = openIn(mode, p);
      const lengths = [...m.chunks(1000)].map((c) => c.length);
      assert.deepEqual(lengths, [...Array(Math.floor(SIZE / 1000)).fill(1000), SIZE % 1000]);
      const joined = Buffer.concat([...m.chunks(1000)]);
      assert.deepEqual(joined, Buffer.from(bytes));
      const pages = [...m.pages()];
      assert.deepEqual(
        pages.map((x) => x.length),
        [PAGE_BYTES, PAGE_BYTES, PAGE_BYTES, 100],
      );
      // Zero-copy: a page view sees a later store through the mapping.
      if (mode !== 'ro') {
        m.asSliceMut(PAGE_BYTES, 1)[0] = 0xab;
        assert.equal(pages[1]![0], 0xab);
      }
      const it = m.chunks(SIZE + 5)[Symbol.iterator]();
      const first = it.next();
      assert.equal(first.done, false);
      assert.equal(first.value.length, SIZE);
      const second = it.next();
      assert.equal(second, first, 'the same result object every step');
      assert.equal(second.done, true);
      if (mode === 'ro') {
        rejectsUnchanged(p, 'ERR_MMAP_INVALID_MODE', () => m.chunksMut(1000));
      } else {
        let i = 0;
        for (const c of m.chunksMut(PAGE_BYTES)) c.fill(i++);
        assert.equal(i, 4);
        assert.deepEqual([...m.asSlice(0, 1), ...m.asSlice(PAGE_BYTES * 3, 1)], [0, 3]);
        const disk = readFileSync(p);
        if (mode === 'rw') assert.equal(disk[PAGE_BYTES * 3 + 99], 3);
        else assert.deepEqual(disk[PAGE_BYTES * 3 + 99], bytes[PAGE_BYTES * 3 + 99]);
      }
      const iterable = m.chunks(PAGE_BYTES);
      m.close();
      assert.throws(() => [...iterable], { code: 'ERR_MMAP_CLOSED' });
      assert.throws(() => m.pages(), { code: 'ERR_MMAP_CLOSED' });
      if (mode === 'rw') seedFile(p, SIZE); // restore for the next mode
    }
  } finally {
    t.cleanup();
  }
});

test('segments: relative offsets for every call, nested segments, shared mode and life', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    writeFileSync(p, Buffer.alloc(SIZE));
    const m = MemoryMappedFile.openRw(p);
    const s = m.segment(PAGE_BYTES, 2 * PAGE_BYTES);
    assert.equal(s.start, PAGE_BYTES);
    assert.equal(s.length, 2 * PAGE_BYTES);
    assert.equal(s.mode, 'rw');
    assert.equal(s.path, p);
    s.updateRegion(0, new Uint8Array([1, 2]));
    await s.updateRegionAsync(2, new Uint8Array([3]));
    assert.deepEqual([...readFileSync(p).subarray(PAGE_BYTES, PAGE_BYTES + 3)], [1, 2, 3]);
    const got = new Uint8Array(3);
    assert.equal(s.readInto(0, got), 3);
    assert.deepEqual([...got], [1, 2, 3]);
    assert.equal(await s.readIntoAsync(1, got.subarray(0, 2)), 2);
    assert.deepEqual([...s.asSlice(0, 3)], [1, 2, 3]);
    s.asSliceMut(3, 1)[0] = 4;
    s.atomicU32(8).add(5);
    s.atomicU64(16).add(6n);
    Atomics.add(s.atomicU32Slice(24, 1), 0, 7);
    Atomics.add(s.atomicU64Slice(32, 1), 0, 8n);
    const disk = readFileSync(p);
    assert.equal(disk[PAGE_BYTES + 3], 4);
    assert.equal(disk.readUInt32LE(PAGE_BYTES + 8), 5);
    assert.equal(disk.readBigUInt64LE(PAGE_BYTES + 16), 6n);
    assert.equal(disk.readUInt32LE(PAGE_BYTES + 24), 7);
    assert.equal(disk.readBigUInt64LE(PAGE_BYTES + 32), 8n);
    s.flush();
    await s.flushAsync();
    s.flushRange(0, 10);
    await s.flushRangeAsync(0, 10);
    s.advise(0, 10, 'willNeed');
    s.touchPages();
    s.touchPagesRange(0, 10);
    s.lock(0, 10);
    s.unlock(0, 10);
    s.lockAll();
    s.unlockAll();
    assert.deepEqual(
      [...s.chunks(PAGE_BYTES)].map((c) => c.length),
      [PAGE_BYTES, PAGE_BYTES],
    );
    assert.equal([...s.pages()].length, 2);
    for (const c of s.chunksMut(PAGE_BYTES * 2)) c[c.length - 1] = 0x77;
    assert.equal(readFileSync(p)[3 * PAGE_BYTES - 1], 0x77);
    const inner = s.segment(8, 16);
    assert.equal(inner.start, PAGE_BYTES + 8);
    assert.equal(inner.atomicU32(0).load(), 5);
    rejectsUnchanged(p, 'ERR_MMAP_OUT_OF_BOUNDS', () => s.updateRegion(2 * PAGE_BYTES - 1, new Uint8Array(2)));
    rejectsUnchanged(p, 'ERR_MMAP_OUT_OF_BOUNDS', () => inner.asSlice(0, 17));
    rejectsUnchanged(p, 'ERR_MMAP_OUT_OF_BOUNDS', () => m.segment(SIZE - 1, 2));
    rejectsUnchanged(p, 'ERR_MMAP_MISALIGNED', () => m.segment(4, 100).atomicU64(0));
    const ro = MemoryMappedFile.openRo(p);
    const rs = ro.segment(0, 100);
    assert.equal(rs.mode, 'ro');
    rejectsUnchanged(p, 'ERR_MMAP_INVALID_MODE', () => rs.updateRegion(0, new Uint8Array(1)));
    ro.close();
    assert.equal(rs.isClosed, true);
    m.close();
    assert.equal(s.isClosed, true);
    assert.throws(() => s.asSlice(0, 1), { code: 'ERR_MMAP_CLOSED' });
    assert.throws(() => inner.flush(), { code: 'ERR_MMAP_CLOSED' });
  } finally {
    t.cleanup();
  }
});

test('share() and fromShared(): a worker thread sees and writes the same memory, in its mode', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    writeFileSync(p, Buffer.alloc(PAGE_BYTES));
    const { Worker } = await import('node:worker_threads');
    const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      import('ranged-mmap').then(({ MemoryMappedFile }) => {
        const m = MemoryMappedFile.fromShared(workerData.handle, { flushPolicy: 'always' });
        let stored;
        try { m.atomicU64(0).add(5n); stored = 'ok'; } catch (e) { stored = e.code; }
        parentPort.postMessage({ mode: m.mode, value: String(m.atomicU64(0).load()), stored, policy: m.flushPolicy });
        m.close();
      });`;
    for (const mode of ['rw', 'cow', 'ro'] as const) {
      const m = openIn(mode, p);
      const w = new Worker(script, { eval: true, workerData: { handle: m.share() } });
      // Both listeners from the start: the worker may exit right after it answers.
      const exited = new Promise<number>((resolve) => w.once('exit', resolve));
      const reply = await new Promise<{ mode: string; value: string; stored: string; policy: unknown }>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
        void exited.then((code) => reject(new Error(`the worker exited with ${code} before answering`)));
      });
      assert.equal(await exited, 0);
      assert.equal(reply.mode, mode);
      assert.equal(reply.policy, 'always');
      if (mode === 'ro') {
        assert.equal(reply.stored, 'ERR_MMAP_INVALID_MODE');
        assert.equal(reply.value, '5');
      } else {
        assert.equal(reply.stored, 'ok');
        // rw: 0 + 5 reaches the file; cow: the file's 5 + 5, private to this process.
        assert.equal(m.atomicU64(0).load(), mode === 'rw' ? 5n : 10n, 'the worker wrote the memory this thread sees');
      }
      m.close();
    }
    // A cow mapping is private to this process, shared by its threads: the
    // worker's add landed in the same private memory, never in the file.
    assert.equal(readFileSync(p).readBigUInt64LE(0), 5n);
    // Other file types refuse a private mapping's handle.
    const cow = MemoryMappedFile.openCow(p);
    assert.throws(() => RawMmapFile.fromShared(cow.share()), { code: 'ERR_MMAP_INVALID_MODE' });
    assert.throws(() => MmapFile.fromShared(cow.share()), { code: 'ERR_MMAP_INVALID_MODE' });
    cow.close();
    // And MemoryMappedFile takes any file's handle.
    const raw = RawMmapFile.open(p);
    const shared = MemoryMappedFile.fromShared(raw.share());
    assert.equal(shared.mode, 'rw');
    shared.close();
    raw.close();
    assert.equal(inspectNative().liveMappings, 0);
    void snapshot;
  } finally {
    t.cleanup();
  }
});

test('the everyMillis flusher never keeps the process alive on its own (a child that never closes its file exits)', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    writeFileSync(p, Buffer.alloc(PAGE_BYTES));
    const script = `
      import('ranged-mmap').then(({ MemoryMappedFile }) => {
        const m = MemoryMappedFile.openRw(process.argv[1], { flushPolicy: { everyMillis: 1 } });
        m.updateRegion(0, new Uint8Array([1]));
        console.log(m.flushStats.timerActive);
      });`;
    const r = spawnSync(process.execPath, ['-e', script, p], { encoding: 'utf8', timeout: 30_000, cwd: new URL('.', import.meta.url).pathname });
    assert.equal(r.signal, null, 'the child had to be killed: something kept it alive');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'true');
  } finally {
    t.cleanup();
  }
});
