// Every error MemoryMappedFile and its segments and atomic views can
// throw, each with the file byte-for-byte unchanged afterwards, and the
// attack classes of ATTACKS.md that apply (wrong types, values at their
// limits, user code in getters and valueOf, lying typed arrays, vanished
// buffers, another process truncating the file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { MemoryMappedFile, MmapError, PAGE_BYTES, inspectNative, type MappingMode } from 'ranged-mmap';
import { fixture } from './fault-helpers.js';
import { snapshot, tempDir } from './helpers.js';
import { rejectsUnchanged, rejectsUnchangedAsync, seedFile } from './mmapio-helpers.js';

const SIZE = 2 * PAGE_BYTES;

function openIn(mode: MappingMode, path: string): MemoryMappedFile {
  return mode === 'ro' ? MemoryMappedFile.openRo(path) : mode === 'rw' ? MemoryMappedFile.openRw(path) : MemoryMappedFile.openCow(path);
}

test('ERR_MMAP_OUT_OF_BOUNDS from every ranged call, in every mode, file unchanged', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    for (const mode of ['rw', 'cow', 'ro'] as const) {
      const m = openIn(mode, p);
      const calls: [string, () => unknown][] = [
        ['asSlice', () => m.asSlice(SIZE - 1, 2)],
        ['asSlice offset', () => m.asSlice(SIZE + 1, 0)],
        ['readInto', () => m.readInto(SIZE - 3, new Uint8Array(4))],
        ['flushRange', () => m.flushRange(1, SIZE)],
        ['atomicU32', () => m.atomicU32(SIZE)],
        ['atomicU64', () => m.atomicU64(SIZE)],
        ['atomicU64 in a segment', () => m.segment(0, 12).atomicU64(8)],
        ['atomicU32Slice', () => m.atomicU32Slice(0, SIZE / 4 + 1)],
        ['atomicU64Slice', () => m.atomicU64Slice(8, SIZE / 8)],
        ['advise', () => m.advise(0, SIZE + 1, 'normal')],
        ['touchPagesRange', () => m.touchPagesRange(SIZE, 1)],
        ['lock', () => m.lock(1, SIZE)],
        ['unlock', () => m.unlock(SIZE, 1)],
        ['segment', () => m.segment(PAGE_BYTES, PAGE_BYTES + 1)],
        ['segment of segment', () => m.segment(0, 10).segment(5, 6)],
        ['segment call', () => m.segment(10, 10).readInto(0, new Uint8Array(11))],
      ];
      if (mode !== 'ro') {
        calls.push(['updateRegion', () => m.updateRegion(SIZE - 1, new Uint8Array(2))]);
        calls.push(['asSliceMut', () => m.asSliceMut(0, SIZE + 1)]);
        calls.push(['segment write', () => m.segment(0, 100).updateRegion(99, new Uint8Array(2))]);
      }
      for (const [name, call] of calls) rejectsUnchanged(p, 'ERR_MMAP_OUT_OF_BOUNDS', call, `${mode} ${name}`);
      await rejectsUnchangedAsync(p, 'ERR_MMAP_OUT_OF_BOUNDS', () => m.readIntoAsync(SIZE, new Uint8Array(1)));
      await rejectsUnchangedAsync(p, 'ERR_MMAP_OUT_OF_BOUNDS', () => m.flushRangeAsync(SIZE, 1));
      if (mode !== 'ro') await rejectsUnchangedAsync(p, 'ERR_MMAP_OUT_OF_BOUNDS', () => m.updateRegionAsync(SIZE - 1, new Uint8Array(2)));
      m.close();
    }
  } finally {
    t.cleanup();
  }
});

test('ERR_MMAP_MISALIGNED for atomic offsets that are not multiples of 4 or 8 (also through a segment)', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    for (const mode of ['rw', 'cow', 'ro'] as const) {
      const m = openIn(mode, p);
      for (const off of [1, 2, 3, 5, 4094]) {
        rejectsUnchanged(p, 'ERR_MMAP_MISALIGNED', () => m.atomicU32(off), `u32 ${off}`);
        rejectsUnchanged(p, 'ERR_MMAP_MISALIGNED', () => m.atomicU32Slice(off, 1));
      }
      for (const off of [1, 4, 7, 12, 4092]) {
        rejectsUnchanged(p, 'ERR_MMAP_MISALIGNED', () => m.atomicU64(off), `u64 ${off}`);
        rejectsUnchanged(p, 'ERR_MMAP_MISALIGNED', () => m.atomicU64Slice(off, 1));
      }
      rejectsUnchanged(p, 'ERR_MMAP_MISALIGNED', () => m.segment(2, 100).atomicU32(0));
      rejectsUnchanged(p, 'ERR_MMAP_MISALIGNED', () => m.segment(4, 100).atomicU64Slice(0, 1));
      assert.equal(m.segment(4, 100).atomicU32(0).offset, 0, 'a segment at 4 has aligned u32 words');
      m.close();
    }
  } finally {
    t.cleanup();
  }
});

test('ERR_MMAP_INVALID_MODE: every write on ro, create() in ro/cow, file unchanged', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    const ro = MemoryMappedFile.openRo(p);
    const s = ro.segment(0, 64);
    for (const [name, call] of [
      ['updateRegion', () => ro.updateRegion(0, new Uint8Array(1))],
      ['updateRegion empty', () => ro.updateRegion(0, new Uint8Array(0))],
      ['asSliceMut', () => ro.asSliceMut(0, 1)],
      ['chunksMut', () => ro.chunksMut(16)],
      ['segment updateRegion', () => s.updateRegion(0, new Uint8Array(1))],
      ['segment asSliceMut', () => s.asSliceMut(0, 1)],
      ['segment atomic', () => s.atomicU32(0).store(1)],
    ] as const) {
      rejectsUnchanged(p, 'ERR_MMAP_INVALID_MODE', call, name);
    }
    await rejectsUnchangedAsync(p, 'ERR_MMAP_INVALID_MODE', () => ro.updateRegionAsync(0, new Uint8Array(1)));
    ro.close();
    for (const mode of ['ro', 'cow'] as const) {
      rejectsUnchanged(p, 'ERR_MMAP_INVALID_MODE', () => MemoryMappedFile.builder(p).mode(mode).size(10).create());
      await rejectsUnchangedAsync(p, 'ERR_MMAP_INVALID_MODE', () => MemoryMappedFile.builder(p).mode(mode).size(10).createAsync());
    }
  } finally {
    t.cleanup();
  }
});

test('ERR_MMAP_CLOSED from every call after close(), views zero-length, nothing written', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    for (const mode of ['rw', 'cow', 'ro'] as const) {
      const m = openIn(mode, p);
      const seg = m.segment(0, 64);
      const a32 = m.atomicU32(0);
      const a64 = m.atomicU64(8);
      m.close();
      const calls: [string, () => unknown][] = [
        ['asSlice', () => m.asSlice(0, 1)],
        ['asSliceMut', () => m.asSliceMut(0, 1)],
        ['updateRegion', () => m.updateRegion(0, new Uint8Array(1))],
        ['readInto', () => m.readInto(0, new Uint8Array(1))],
        ['flush', () => m.flush()],
        ['flushRange', () => m.flushRange(0, 1)],
        ['syncAll', () => m.syncAll()],
        ['atomicU32', () => m.atomicU32(0)],
        ['atomicU64', () => m.atomicU64(0)],
        ['atomicU32Slice', () => m.atomicU32Slice(0, 1)],
        ['atomicU64Slice', () => m.atomicU64Slice(0, 1)],
        ['advise', () => m.advise(0, 1, 'normal')],
        ['touchPages', () => m.touchPages()],
        ['touchPagesRange', () => m.touchPagesRange(0, 1)],
        ['lock', () => m.lock(0, 1)],
        ['unlock', () => m.unlock(0, 1)],
        ['lockAll', () => m.lockAll()],
        ['unlockAll', () => m.unlockAll()],
        ['chunks', () => m.chunks(1)],
        ['pages', () => m.pages()],
        ['chunksMut', () => m.chunksMut(1)],
        ['segment', () => m.segment(0, 1)],
        ['share', () => m.share()],
        ['requestHugePages', () => m.requestHugePages()],
        ['a32.load', () => a32.load()],
        ['a32.add', () => a32.add(1)],
        ['a64.load', () => a64.load()],
        ['a64.cas', () => a64.compareExchange(0n, 1n)],
        ['seg.readInto', () => seg.readInto(0, new Uint8Array(1))],
        ['seg.flush', () => seg.flush()],
        ['seg.atomicU32', () => seg.atomicU32(0)],
      ];
      for (const [name, call] of calls) {
        // On 'ro' a write is refused for its mode or for the close; either way nothing happens.
        const before = snapshot(p);
        assert.throws(call, (e: { code?: string }) => e.code === 'ERR_MMAP_CLOSED' || (mode === 'ro' && e.code === 'ERR_MMAP_INVALID_MODE'), `${mode} ${name}`);
        assert.equal(snapshot(p), before);
      }
      for (const call of [() => m.flushAsync(), () => m.flushRangeAsync(0, 1), () => m.readIntoAsync(0, new Uint8Array(1)), () => m.syncAllAsync()]) {
        await rejectsUnchangedAsync(p, 'ERR_MMAP_CLOSED', call);
      }
    }
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('ERR_MMAP_EMPTY_FILE and system errors at open, with the path left as it was', async () => {
  const t = tempDir();
  try {
    const empty = t.path('empty.bin');
    writeFileSync(empty, '');
    for (const open of [MemoryMappedFile.openRo, MemoryMappedFile.openRw, MemoryMappedFile.openCow]) {
      rejectsUnchanged(empty, 'ERR_MMAP_EMPTY_FILE', () => open(empty));
    }
    await rejectsUnchangedAsync(empty, 'ERR_MMAP_EMPTY_FILE', () => MemoryMappedFile.openRoAsync(empty));
    rejectsUnchanged(empty, 'ERR_MMAP_EMPTY_FILE', () => MemoryMappedFile.openOrCreate(empty, 10));
    rejectsUnchanged(empty, 'ERR_MMAP_EMPTY_FILE', () => MemoryMappedFile.createRw(empty, 0));
    rejectsUnchanged(empty, 'ERR_MMAP_EMPTY_FILE', () => MemoryMappedFile.builder(empty).size(0));
    const missing = t.path('missing.bin');
    for (const open of [MemoryMappedFile.openRo, MemoryMappedFile.openRw, MemoryMappedFile.openCow]) {
      assert.throws(
        () => open(missing),
        (e: { code?: string; syscall?: string; path?: string }) => e.code === 'ENOENT' && e.syscall === 'open' && e.path === missing,
      );
    }
    await assert.rejects(MemoryMappedFile.openCowAsync(missing), { code: 'ENOENT' });
    assert.equal(snapshot(missing), 'absent');
    const dir = t.path('dir');
    mkdirSync(dir);
    assert.throws(() => MemoryMappedFile.openRo(dir), { code: 'EISDIR' });
    assert.throws(() => MemoryMappedFile.createRw(dir, 10), { code: 'EISDIR' });
    assert.throws(() => MemoryMappedFile.openOrCreate(t.path('no/such/dir.bin'), 10), { code: 'ENOENT' });
    const existing = t.path('x.bin');
    seedFile(existing, 100);
    rejectsUnchanged(existing, 'EEXIST', () => MemoryMappedFile.createRw(existing, 10, { exclusive: true }));
    rejectsUnchanged(existing, 'ERR_INVALID_ARG_VALUE', () => MemoryMappedFile.builder(existing).size(10).open());
    rejectsUnchanged(existing, 'ERR_INVALID_ARG_VALUE', () => MemoryMappedFile.builder(existing).create());
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('argument errors: wrong types, NaN, Infinity, negatives, fractions, 2^53, huge bigints, Symbols, no user code run', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    const m = MemoryMappedFile.openRw(p);
    let ran = 0;
    const sneaky = {
      valueOf: () => {
        ran++;
        return 0;
      },
      toString: () => {
        ran++;
        return '0';
      },
    };
    const bad: [unknown, string][] = [
      ['1', 'ERR_INVALID_ARG_TYPE'],
      [null, 'ERR_INVALID_ARG_TYPE'],
      [undefined, 'ERR_INVALID_ARG_TYPE'],
      [Symbol('x'), 'ERR_INVALID_ARG_TYPE'],
      [sneaky, 'ERR_INVALID_ARG_TYPE'],
      [NaN, 'ERR_OUT_OF_RANGE'],
      [Infinity, 'ERR_OUT_OF_RANGE'],
      [-1, 'ERR_OUT_OF_RANGE'],
      [0.5, 'ERR_OUT_OF_RANGE'],
      [2 ** 53, 'ERR_OUT_OF_RANGE'],
      [-1n, 'ERR_OUT_OF_RANGE'],
      [2n ** 64n, 'ERR_OUT_OF_RANGE'],
    ];
    const a32 = m.atomicU32(0);
    const a64 = m.atomicU64(8);
    for (const [v, code] of bad) {
      const calls: [string, () => unknown][] = [
        ['asSlice offset', () => m.asSlice(v as number, 1)],
        ['asSlice length', () => m.asSlice(0, v as number)],
        ['asSliceMut', () => m.asSliceMut(v as number, 1)],
        ['updateRegion', () => m.updateRegion(v as number, new Uint8Array(1))],
        ['readInto', () => m.readInto(v as number, new Uint8Array(1))],
        ['flushRange', () => m.flushRange(0, v as number)],
        ['atomicU32', () => m.atomicU32(v as number)],
        ['atomicU64Slice count', () => m.atomicU64Slice(0, v as number)],
        ['advise', () => m.advise(v as number, 1, 'normal')],
        ['touchPagesRange', () => m.touchPagesRange(0, v as number)],
        ['lock', () => m.lock(v as number, 1)],
        ['chunks', () => m.chunks(v as number)],
        ['chunksMut', () => m.chunksMut(v as number)],
        ['segment', () => m.segment(0, v as number)],
      ];
      for (const [name, call] of calls) rejectsUnchanged(p, code, call, `${name}(${typeof v === 'symbol' || v === sneaky ? typeof v : String(v)})`);
    }
    // Atomic operands: u32 takes numbers in [0, 2^32), u64 bigints (or safe integers) in [0, 2^64).
    for (const [v, code] of [
      [-1, 'ERR_OUT_OF_RANGE'],
      [2 ** 32, 'ERR_OUT_OF_RANGE'],
      [1.5, 'ERR_OUT_OF_RANGE'],
      [NaN, 'ERR_OUT_OF_RANGE'],
      [1n, 'ERR_INVALID_ARG_TYPE'],
      ['1', 'ERR_INVALID_ARG_TYPE'],
      [sneaky, 'ERR_INVALID_ARG_TYPE'],
    ] as const) {
      for (const call of [
        () => a32.store(v as number),
        () => a32.add(v as number),
        () => a32.compareExchange(0, v as number),
        () => a32.compareExchange(v as number, 0),
      ])
        rejectsUnchanged(p, code, call, `u32 ${v === sneaky ? 'object' : String(v)}`);
    }
    for (const [v, code] of [
      [-1n, 'ERR_OUT_OF_RANGE'],
      [2n ** 64n, 'ERR_OUT_OF_RANGE'],
      [-1, 'ERR_OUT_OF_RANGE'],
      [2 ** 53, 'ERR_OUT_OF_RANGE'],
      ['1', 'ERR_INVALID_ARG_TYPE'],
      [sneaky, 'ERR_INVALID_ARG_TYPE'],
    ] as const) {
      for (const call of [() => a64.store(v as bigint), () => a64.xor(v as bigint), () => a64.compareExchange(0n, v as bigint)])
        rejectsUnchanged(p, code, call, `u64 ${v === sneaky ? 'object' : String(v)}`);
    }
    rejectsUnchanged(p, 'ERR_OUT_OF_RANGE', () => m.chunks(0));
    rejectsUnchanged(p, 'ERR_INVALID_ARG_VALUE', () => m.advise(0, 1, 'remove' as 'normal'));
    rejectsUnchanged(p, 'ERR_INVALID_ARG_VALUE', () => m.advise(0, 1, 'toString' as 'normal'));
    rejectsUnchanged(p, 'ERR_INVALID_ARG_TYPE', () => m.advise(0, 1, 4 as unknown as 'normal'));
    rejectsUnchanged(p, 'ERR_INVALID_ARG_TYPE', () => m.requestHugePages('yes' as unknown as boolean));
    assert.equal(ran, 0, 'no valueOf or toString ran');
    m.close();
    // Paths and options at open.
    for (const [path, code] of [
      [42, 'ERR_INVALID_ARG_TYPE'],
      ['', 'ERR_INVALID_ARG_VALUE'],
      ['a\0b', 'ERR_INVALID_ARG_VALUE'],
      [new URL('http://x/y'), 'ERR_INVALID_URL_SCHEME'],
      [new URL('file:///tmp/a%00b'), 'ERR_INVALID_ARG_VALUE'],
    ] as const) {
      assert.throws(() => MemoryMappedFile.openRo(path as string), { code }, String(path));
      assert.throws(() => MemoryMappedFile.builder(path as string), { code });
    }
    const policies: [unknown, string][] = [
      ['sometimes', 'ERR_INVALID_ARG_VALUE'],
      [5, 'ERR_INVALID_ARG_TYPE'],
      [{}, 'ERR_INVALID_ARG_VALUE'],
      [{ everyBytes: 1, everyWrites: 1 }, 'ERR_INVALID_ARG_VALUE'],
      [{ everyBytes: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ everyWrites: 1.5 }, 'ERR_OUT_OF_RANGE'],
      [{ everyMillis: 2 ** 31 }, 'ERR_OUT_OF_RANGE'],
      [{ everyBytes: '1' }, 'ERR_INVALID_ARG_TYPE'],
      [
        {
          get everyBytes(): number {
            throw new Error('boom');
          },
        },
        'ERR_INVALID_ARG_VALUE',
      ],
    ];
    for (const [i, [policy, code]] of policies.entries()) {
      rejectsUnchanged(p, code, () => MemoryMappedFile.openRw(p, { flushPolicy: policy as 'manual' }), `policy ${i}`);
      rejectsUnchanged(p, code, () => MemoryMappedFile.builder(p).flushPolicy(policy as 'manual'));
    }
    rejectsUnchanged(p, 'ERR_INVALID_ARG_VALUE', () => MemoryMappedFile.openRw(p, { touchHint: 'soon' as 'lazy' }));
    rejectsUnchanged(p, 'ERR_INVALID_ARG_TYPE', () => MemoryMappedFile.openRw(p, { hugePages: 1 as unknown as boolean }));
    rejectsUnchanged(p, 'ERR_INVALID_ARG_TYPE', () => MemoryMappedFile.openRw(p, 'rw' as unknown as object));
    rejectsUnchanged(p, 'ERR_INVALID_ARG_VALUE', () => MemoryMappedFile.builder(p).mode('rx' as 'ro'));
    rejectsUnchanged(p, 'ERR_INVALID_ARG_TYPE', () => MemoryMappedFile.builder(p).mode(1 as unknown as 'ro'));
    rejectsUnchanged(p, 'ERR_OUT_OF_RANGE', () => MemoryMappedFile.builder(p).fileMode(0o10000));
    rejectsUnchanged(p, 'ERR_OUT_OF_RANGE', () => MemoryMappedFile.createRw(p, -1));
    for (const h of [null, {}, { kind: 'ranged-mmap:file', key: 1, path: p, size: 1 }]) {
      assert.throws(
        () => MemoryMappedFile.fromShared(h as never),
        (e: { code?: string }) => e.code === 'ERR_MMAP_INVALID_ARGUMENT' || e.code === 'ERR_MMAP_CLOSED' || e.code === 'ERR_INVALID_ARG_TYPE',
      );
    }
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('typed arrays that lie, detached buffers, and user code in getters change nothing', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    const m = MemoryMappedFile.openRw(p);
    const liar = new Uint8Array(4);
    Object.defineProperty(liar, 'byteLength', { get: () => SIZE * 10 });
    Object.defineProperty(liar, 'length', { get: () => SIZE * 10 });
    m.updateRegion(SIZE - 4, liar); // the real length (4) is used: fits
    rejectsUnchanged(p, 'ERR_MMAP_OUT_OF_BOUNDS', () => m.updateRegion(SIZE - 3, liar));
    rejectsUnchanged(p, 'ERR_INVALID_ARG_TYPE', () => m.updateRegion(0, new Proxy(new Uint8Array(4), {})));
    rejectsUnchanged(p, 'ERR_INVALID_ARG_TYPE', () => m.readInto(0, [1, 2, 3] as unknown as Uint8Array));
    const gone = new Uint8Array(8);
    structuredClone(gone.buffer, { transfer: [gone.buffer] });
    rejectsUnchanged(p, 'ERR_MMAP_BUFFER_DETACHED', () => m.updateRegion(0, gone));
    rejectsUnchanged(p, 'ERR_MMAP_BUFFER_DETACHED', () => m.readInto(0, gone));
    // A view of another, closed mapping is a detached buffer too.
    const other = MemoryMappedFile.openCow(p);
    const view = other.asSlice(0, 16);
    other.close();
    rejectsUnchanged(p, 'ERR_MMAP_BUFFER_DETACHED', () => m.updateRegion(0, view));
    // An odd byteOffset and a DataView are read as the bytes they cover.
    const backing = new Uint8Array([9, 1, 2, 3]);
    m.updateRegion(0, new DataView(backing.buffer, 1, 3));
    assert.deepEqual([...m.asSlice(0, 3)], [1, 2, 3]);
    // A view over the file itself is a legal source (overlapping copy).
    m.updateRegion(1, m.asSlice(0, 3));
    assert.deepEqual([...m.asSlice(0, 4)], [1, 1, 2, 3]);
    m.close();
  } finally {
    t.cleanup();
  }
});

test('ERR_MMAP_FAULT: another process truncates the file under rw and ro mappings; atomics and reads report it, no crash', () => {
  const t = tempDir();
  try {
    for (const mode of ['rw', 'ro', 'cow'] as const) {
      const p = t.path(`${mode}.bin`);
      seedFile(p, SIZE);
      const m = openIn(mode, p);
      const a = m.atomicU32(PAGE_BYTES + 8);
      const page = m.asSlice(PAGE_BYTES, 16);
      truncateSync(p, PAGE_BYTES);
      assert.throws(() => a.load(), { code: 'ERR_MMAP_FAULT' }, mode);
      assert.throws(() => m.asSlice(0, 1), { code: 'ERR_MMAP_FAULT' });
      assert.throws(() => m.readInto(0, new Uint8Array(1)), { code: 'ERR_MMAP_FAULT' });
      assert.throws(() => m.flush(), { code: 'ERR_MMAP_FAULT' });
      void page;
      m.close();
    }
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('ERR_MMAP_FAULT, not EFAULT or ENOMEM: touching or locking pages that a truncation took away, sync and async, in every mode; nothing left locked', async () => {
  const t = tempDir();
  const lockedKiB = (): number => Number(/VmLck:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? -1);
  try {
    const calls: [string, (m: MemoryMappedFile) => unknown][] = [
      ['touchPages', (m) => m.touchPages()],
      ['touchPagesRange', (m) => m.touchPagesRange(0, 4 * PAGE_BYTES)],
      ['touchPagesAsync', (m) => m.touchPagesAsync()],
      ['touchPagesRangeAsync', (m) => m.touchPagesRangeAsync(PAGE_BYTES, 3 * PAGE_BYTES)],
      ['lock', (m) => m.lock(0, 4 * PAGE_BYTES)],
      ['lockAll', (m) => m.lockAll()],
      ['lockAsync', (m) => m.lockAsync(0, 4 * PAGE_BYTES)],
      ['lockAllAsync', (m) => m.lockAllAsync()],
    ];
    for (const mode of ['rw', 'ro', 'cow'] as const) {
      for (const [name, call] of calls) {
        const p = t.path(`${mode}-${name}.bin`);
        seedFile(p, 4 * PAGE_BYTES);
        const m = openIn(mode, p);
        const locked = lockedKiB();
        // Another process (the same system call here) cuts the file to one page.
        truncateSync(p, PAGE_BYTES);
        let error: unknown;
        try {
          await call(m);
        } catch (e) {
          error = e;
        }
        assert.ok(error instanceof MmapError, `${mode} ${name}: ${String(error)}`);
        assert.equal(error.code, 'ERR_MMAP_FAULT', `${mode} ${name}: ${error.message}`);
        assert.match(error.message, /truncated to 4096 bytes/, `${mode} ${name}`);
        assert.equal(lockedKiB(), locked, `${mode} ${name}: no page is left locked`);
        // And from then on every checked call says so too.
        assert.throws(() => m.readInto(0, new Uint8Array(1)), { code: 'ERR_MMAP_FAULT' });
        m.close();
      }
    }
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('lock: a low RLIMIT_MEMLOCK gives ENOMEM, a zero one EPERM, with syscall mlock (child process without CAP_IPC_LOCK)', (ctx) => {
  const probe = spawnSync('unshare', ['--user', 'true']);
  if (probe.status !== 0) {
    // Without user namespaces the child would keep CAP_IPC_LOCK as root; the limit cannot be shown.
    ctx.diagnostic('unshare --user is not available here');
  }
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, 1 << 20);
    const results: Record<string, string> = {};
    for (const [limit, want] of [
      ['65536', 'ENOMEM'],
      ['0', 'EPERM'],
    ] as const) {
      const args = ['--user', 'prlimit', `--memlock=${limit}:${limit}`, process.execPath, fixture('mmapio-lock-child.js'), p];
      const r = spawnSync(probe.status === 0 ? 'unshare' : 'prlimit', probe.status === 0 ? args : args.slice(1), { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      results[limit] = r.stdout.trim();
      if (results[limit] === 'locked intercepted unchanged') {
        ctx.diagnostic('mlock is intercepted here (a sanitizer runtime): no limit can be shown');
        continue;
      }
      if (probe.status === 0 || process.getuid?.() !== 0) assert.equal(results[limit], `${want} mlock unchanged`);
    }
  } finally {
    t.cleanup();
  }
});

test('system errors carry errno, syscall and path: resize (EFBIG from ftruncate under RLIMIT_FSIZE), advise (EINVAL from madvise), watch (ENOENT from stat); the file unchanged', (ctx) => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    // resize past RLIMIT_FSIZE, in a child with a 32 KiB limit (Node ignores SIGXFSZ, so ftruncate fails with EFBIG).
    const before = snapshot(p);
    const child = `import { MemoryMappedFile } from ${JSON.stringify(import.meta.resolve('ranged-mmap'))};
      const m = MemoryMappedFile.openRw(process.argv[1]);
      try { m.resize(1 << 20); console.log('resized'); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, length: m.length })); }
      m.close();`;
    const r = spawnSync('sh', ['-c', 'ulimit -f 64 && exec "$0" --input-type=module -e "$1" "$2"', process.execPath, child, p], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { name: 'MmapError', code: 'EFBIG', errno: -27, syscall: 'ftruncate', path: p, length: SIZE });
    assert.equal(snapshot(p), before, 'the refused resize left the file as it was');
    // madvise(MADV_DONTNEED) on locked pages is EINVAL. (Under the
    // sanitizers of npm run check:native, mlock is intercepted and does
    // nothing: then the pages are not locked and the advice is taken.)
    const m = MemoryMappedFile.openRw(p);
    const lockedKiB = (): number => Number(/VmLck:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? -1);
    const lockedBefore = lockedKiB();
    m.lock(0, PAGE_BYTES);
    if (lockedKiB() > lockedBefore) {
      assert.throws(
        () => m.advise(0, PAGE_BYTES, 'dontNeed'),
        (e: unknown) => {
          assert.ok(e instanceof MmapError);
          assert.deepEqual([e.code, e.errno, e.syscall, e.path], ['EINVAL', -22, 'madvise', p]);
          return true;
        },
      );
    } else {
      ctx.diagnostic('mlock had no effect here (a sanitizer intercepts it): madvise cannot be made to fail this way');
      m.advise(0, PAGE_BYTES, 'dontNeed');
    }
    m.unlock(0, PAGE_BYTES);
    assert.equal(snapshot(p), before);
    // watch on a file whose path is gone.
    const moved = t.path('moved.bin');
    renameSync(p, moved);
    assert.throws(
      () => m.watch(() => {}),
      (e: unknown) => {
        assert.ok(e instanceof MmapError);
        assert.deepEqual([e.code, e.errno, e.syscall, e.path], ['ENOENT', -2, 'stat', p]);
        return true;
      },
    );
    assert.equal(snapshot(moved), before);
    m.close();
  } finally {
    t.cleanup();
  }
});
