// Regression tests for the defects adversarial testing found (crashes in
// async copies, broken range ownership, rejected calls that still changed
// the file system, inputs and signals), one or more per defect, each
// written to fail on the code before its fix. See docs/DESIGN.md, "Safety
// rules", for the rules they hold the library to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ALIGNMENT, MmapError, MmapFile, RawMmapFile, type AllocatedRange } from 'ranged-mmap';
import { pattern, snapshot, tempDir } from './helpers.js';
import { fixture, runChild } from './fault-helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MIB = 1024 * 1024;

// ---- 1. async copies ------------------------------------------------------

test('writeAtAsync from a view of another mapping that is closed (and replaced by a third mapping) before the copy ends: no crash, the right bytes, the third file untouched', async () => {
  const t = tempDir();
  try {
    const size = 64 * MIB;
    const a = RawMmapFile.create(t.path('a.bin'), size);
    const b = RawMmapFile.create(t.path('b.bin'), size);
    b.writeAt(0, pattern(size, 3));
    const pending = a.writeAtAsync(0, b.readSlice(0, size));
    b.close();
    // A third mapping may now sit where b's was.
    const c = RawMmapFile.create(t.path('c.bin'), size);
    const cBefore = c.readSlice(0, 16).slice();
    await pending;
    c.syncAll();
    assert.deepEqual(c.readSlice(0, 16), cBefore);
    a.syncAll();
    a.close();
    c.close();
    assert.ok(readFileSync(t.path('a.bin')).equals(Buffer.from(pattern(size, 3))), 'a holds what b held when the call was made');
    assert.ok(
      readFileSync(t.path('c.bin')).every((x) => x === 0),
      'the third file was not written',
    );
  } finally {
    t.cleanup();
  }
});

test('writeRangeAsync from a view of a mapping closed mid-copy, and readAtAsync into one: no crash; the read rejects with ERR_MMAP_BUFFER_DETACHED and nothing lands anywhere', async () => {
  const t = tempDir();
  try {
    const size = 32 * MIB;
    const { file, allocator } = MmapFile.create(t.path('a.bin'), size);
    const b = RawMmapFile.create(t.path('b.bin'), size);
    b.writeAt(0, pattern(size, 5));
    const range = allocator.allocate(size)!;
    const write = file.writeRangeAsync(range, b.readSlice(0, size));
    b.close();
    await write;
    const raw = RawMmapFile.open(t.path('a.bin'));
    const other = RawMmapFile.open(t.path('b.bin'));
    const target = other.readSlice(0, size);
    const read = raw.readAtAsync(0, target);
    other.close(); // target is now detached
    await assert.rejects(read, { name: 'MmapError', code: 'ERR_MMAP_BUFFER_DETACHED' });
    raw.close();
    file.syncAll();
    file.close();
    assert.ok(readFileSync(t.path('a.bin')).equals(Buffer.from(pattern(size, 5))));
    assert.ok(readFileSync(t.path('b.bin')).equals(Buffer.from(pattern(size, 5))), 'the read wrote nothing into b');
  } finally {
    t.cleanup();
  }
});

test('the caller transfers its buffer away and it is collected mid-copy: writes keep the bytes of the call, reads reject with ERR_MMAP_BUFFER_DETACHED', async () => {
  const t = tempDir();
  try {
    const size = 32 * MIB;
    const raw = RawMmapFile.create(t.path('t.bin'), size);
    let data: Uint8Array | null = pattern(size, 9);
    const write = raw.writeAtAsync(0, data);
    let moved: ArrayBuffer | null = structuredClone(data.buffer as ArrayBuffer, { transfer: [data.buffer as ArrayBuffer] });
    assert.equal(data.byteLength, 0, 'the caller’s view is detached');
    moved = null;
    data = null;
    gc();
    await write;
    assert.ok(Buffer.from(raw.readSlice(0, size)).equals(Buffer.from(pattern(size, 9))));

    let target: Uint8Array | null = new Uint8Array(size);
    const read = raw.readAtAsync(0, target);
    structuredClone(target.buffer, { transfer: [target.buffer as ArrayBuffer] });
    target = null;
    gc();
    await assert.rejects(read, { code: 'ERR_MMAP_BUFFER_DETACHED' });
    assert.equal(moved, null);
    raw.close();
  } finally {
    t.cleanup();
  }
});

test('a length-tracking view on a resizable ArrayBuffer shrunk mid-copy: the write keeps its bytes, the read rejects and copies nothing', async () => {
  const t = tempDir();
  try {
    const size = 16 * MIB;
    const raw = RawMmapFile.create(t.path('r.bin'), size);
    const Resizable = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer & { resize(length: number): void };
    const source = new Resizable(size, { maxByteLength: size });
    new Uint8Array(source).set(pattern(size, 11));
    const write = raw.writeAtAsync(0, new Uint8Array(source));
    source.resize(1);
    await write;
    assert.ok(Buffer.from(raw.readSlice(0, size)).equals(Buffer.from(pattern(size, 11))));

    const sink = new Resizable(size, { maxByteLength: size });
    const read = raw.readAtAsync(0, new Uint8Array(sink));
    sink.resize(16);
    await assert.rejects(read, { code: 'ERR_MMAP_BUFFER_DETACHED' });
    assert.deepEqual(new Uint8Array(sink), new Uint8Array(16), 'nothing was copied into the shrunk buffer');
    raw.close();
  } finally {
    t.cleanup();
  }
});

test('a range with an async copy in flight cannot be split or transferred (ERR_MMAP_RANGE_BUSY); after it settles it can', async () => {
  const t = tempDir();
  try {
    const { file, allocator } = MmapFile.create(t.path('busy.bin'), 4 * MIB);
    const range = allocator.allocate(4 * MIB)!;
    const write = file.writeRangeAsync(range, pattern(4 * MIB, 1));
    assert.throws(() => range.splitAtAlignUp(MIB), { code: 'ERR_MMAP_RANGE_BUSY' });
    assert.throws(() => range.splitAtAlignDown(MIB), { code: 'ERR_MMAP_RANGE_BUSY' });
    assert.throws(() => range.transfer(), { code: 'ERR_MMAP_RANGE_BUSY' });
    assert.equal(range.isLive, true);
    await write;
    const read = file.readRangeAsync(range, new Uint8Array(4 * MIB));
    assert.throws(() => range.transfer(), { code: 'ERR_MMAP_RANGE_BUSY' });
    assert.equal(await read, 4 * MIB);
    const split = range.splitAtAlignUp(MIB);
    assert.equal(split.kind, 'split');
    file.close();
    assert.ok(readFileSync(t.path('busy.bin')).equals(Buffer.from(pattern(4 * MIB, 1))));
  } finally {
    t.cleanup();
  }
});

test('close() with every async form in flight: each settles with its honest result, written bytes are in the file', async () => {
  const t = tempDir();
  try {
    const size = 8 * MIB;
    const { file, allocator } = MmapFile.create(t.path('c.bin'), size);
    const raw = RawMmapFile.create(t.path('r.bin'), size);
    const r = allocator.allocate(4 * MIB)!;
    const r2 = allocator.allocate(4 * MIB)!;
    const receipt = file.writeRange(r2, pattern(4 * MIB, 2));
    const calls = {
      writeRangeAsync: file.writeRangeAsync(r, pattern(4 * MIB, 4)),
      readRangeAsync: file.readRangeAsync(r2, new Uint8Array(4 * MIB)),
      flushRangeAsync: file.flushRangeAsync(receipt),
      syncRangeAsync: file.syncRangeAsync(receipt),
      flushAsync: file.flushAsync(),
      syncAllAsync: file.syncAllAsync(),
      writeAtAsync: raw.writeAtAsync(0, pattern(MIB, 6)),
      readAtAsync: raw.readAtAsync(0, new Uint8Array(MIB)),
      fillAsync: raw.fillAsync(MIB, MIB, 7),
      flushRangeAsyncRaw: raw.flushRangeAsync(0, MIB),
      syncRangeAsyncRaw: raw.syncRangeAsync(0, MIB),
    };
    file.close();
    raw.close();
    const results = await Promise.allSettled(Object.values(calls));
    const failed = Object.keys(calls).filter((_, i) => results[i]!.status === 'rejected');
    assert.deepEqual(failed, [], `rejected: ${failed.map((k, i) => `${k}: ${String((results[i] as PromiseRejectedResult).reason)}`).join('; ')}`);
    const disk = readFileSync(t.path('c.bin'));
    assert.ok(disk.subarray(0, 4 * MIB).equals(Buffer.from(pattern(4 * MIB, 4))));
    assert.ok(disk.subarray(4 * MIB).equals(Buffer.from(pattern(4 * MIB, 2))));
    const rawDisk = readFileSync(t.path('r.bin'));
    assert.ok(rawDisk.subarray(0, MIB).equals(Buffer.from(pattern(MIB, 6))));
    assert.ok(rawDisk.subarray(MIB, 2 * MIB).every((x) => x === 7));
  } finally {
    t.cleanup();
  }
});

// ---- 2. range ownership ---------------------------------------------------

// 4 TiB is the Int32 page counter at its largest (2^30 pages). After the
// file is exhausted, a counter that kept taking 4 MiB adds would pass 2^31
// after about a million calls, wrap, and after about four million more be
// back at [0, ...), handing out a range that is already owned. 8 TiB takes
// the BigInt byte counter.
for (const [label, size, extraCalls] of [
  ['Int32 page counter, 64 KiB file', 16 * ALIGNMENT, 0],
  ['Int32 page counter at its largest, 4 TiB sparse file', 4 * 2 ** 40, 5_000_000],
  ['BigInt byte counter, 8 TiB sparse file', 8 * 2 ** 40, 0],
] as const) {
  test(`the concurrent counter never wraps (${label}): huge and repeated requests after exhaustion are all null, and the first range is never handed out twice`, () => {
    const t = tempDir();
    try {
      const { file, allocator } = MmapFile.create(t.path('w.bin'), size, { allocator: 'concurrent', sparse: true });
      const first = allocator.allocate(ALIGNMENT)!;
      const rest = allocator.allocate(2 ** 53 - 1)!;
      assert.deepEqual([rest.start, rest.end], [ALIGNMENT, size], 'a huge request is clamped at the end');
      for (let i = 0; i < 5000; i++) assert.equal(allocator.allocate(2 ** 53 - 1), null, `call ${i}`);
      for (let i = 0; i < 5000; i++) assert.equal(allocator.allocate(2n ** 53n - 1n), null);
      let handedOut = 0;
      for (let i = 0; i < extraCalls; i++) if (allocator.allocate(4 * 1024 * 1024) !== null) handedOut++;
      assert.equal(handedOut, 0, 'a 4 MiB request after exhaustion got a range');
      assert.equal(allocator.remaining, 0);
      assert.equal(allocator.nextPos, size);
      assert.deepEqual(allocator.saveState(), { kind: 'concurrent', nextPos: size, totalSize: size });
      assert.equal(first.isLive, true);
      file.close();
    } finally {
      t.cleanup();
    }
  });
}

/** A Buffer whose own byteLength getter says `lie` bytes. */
function lyingOwnGetter(real: number, lie: number): Uint8Array {
  const b = Buffer.alloc(real, 0xee);
  Object.defineProperty(b, 'byteLength', { get: () => lie });
  Object.defineProperty(b, 'length', { get: () => lie });
  return b;
}

class LyingSubclass extends Uint8Array {
  override get byteLength(): number {
    return ALIGNMENT;
  }
  override get length(): number {
    return ALIGNMENT;
  }
}

for (const [route, size] of [
  ['copy route', ALIGNMENT],
  ['pwrite route', 256 * 1024],
] as const) {
  test(`lengths come from internal slots (${route}): a lying own getter, a lying subclass and a Proxy never reach a neighbour's range`, () => {
    const t = tempDir();
    try {
      const path = t.path('lie.bin');
      const { file, allocator } = MmapFile.create(path, 4 * size);
      const mine = allocator.allocate(size)!;
      const neighbour = allocator.allocate(size)!;
      file.writeRange(neighbour, pattern(size, 21));
      file.syncAll();
      const before = snapshot(path);
      // Claims `size` bytes, holds twice as many: refused, nothing written.
      assert.throws(() => file.writeRange(mine, lyingOwnGetter(2 * size, size)), { code: 'ERR_MMAP_LENGTH_MISMATCH' });
      const sub = new LyingSubclass(2 * size);
      assert.equal(sub.byteLength, ALIGNMENT);
      assert.throws(() => file.writeRange(mine, sub), { code: 'ERR_MMAP_LENGTH_MISMATCH' });
      let trapped = false;
      const proxy = new Proxy(new Uint8Array(size), {
        get(target, key, receiver) {
          trapped = true;
          return Reflect.get(target, key, receiver);
        },
        getPrototypeOf(target) {
          trapped = true;
          return Reflect.getPrototypeOf(target);
        },
      });
      assert.throws(() => file.writeRange(mine, proxy), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => file.readRange(mine, proxy), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
      assert.equal(trapped, false, 'no trap of the Proxy ran');
      const raw = RawMmapFile.open(path);
      assert.throws(() => raw.writeAt(3 * size, lyingOwnGetter(2 * size, 1)), { code: 'ERR_MMAP_OUT_OF_BOUNDS' }, 'the real length is checked');
      assert.throws(() => raw.writeAt(0, proxy), { code: 'ERR_INVALID_ARG_TYPE' });
      raw.close();
      file.syncAll();
      assert.equal(snapshot(path), before, 'the neighbour is intact and nothing else changed');
      // A reader whose getter understates its size gets the whole range, no more.
      const target = lyingOwnGetter(size + 8, 1);
      assert.equal(file.readRange(neighbour, target), size);
      // (Buffer's own subarray would trust the lying length: view the memory directly.)
      const all = new Uint8Array(target.buffer, target.byteOffset, size + 8);
      assert.ok(Buffer.from(all.subarray(0, size)).equals(Buffer.from(pattern(size, 21))));
      assert.ok(
        all.subarray(size).every((x) => x === 0xee),
        'nothing past the range was touched',
      );
      file.close();
    } finally {
      t.cleanup();
    }
  });
}

test('no user code runs inside writeRange: valueOf and getters are never called, so they cannot split or transfer the range mid-call', () => {
  const t = tempDir();
  try {
    const path = t.path('toctou.bin');
    const { file, allocator } = MmapFile.create(path, 4 * ALIGNMENT);
    const range: AllocatedRange = allocator.allocate(2 * ALIGNMENT)!;
    const data = new Uint8Array(2 * ALIGNMENT).fill(5);
    let ran = 0;
    Object.defineProperty(data, 'buffer', {
      get: () => {
        ran++;
        range.splitAtAlignUp(ALIGNMENT);
        return new ArrayBuffer(0);
      },
    });
    Object.defineProperty(data, 'byteOffset', {
      get: () => {
        ran++;
        range.transfer();
        return 0;
      },
    });
    file.writeRange(range, data);
    assert.equal(ran, 0);
    assert.equal(range.isLive, true, 'the range is still whole and held here');
    const raw = RawMmapFile.open(path);
    const offset = {
      valueOf: () => {
        ran++;
        return 0;
      },
    };
    assert.throws(() => raw.writeAt(offset as never, data), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => raw.readAt(offset as never, data), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.equal(ran, 0);
    raw.close();
    file.close();
    assert.ok(
      readFileSync(path)
        .subarray(0, 2 * ALIGNMENT)
        .every((x) => x === 5),
    );
  } finally {
    t.cleanup();
  }
});

// ---- 3. rejected calls change nothing --------------------------------------

test('a create that fails (EFBIG) leaves an existing file, a symlinked one and the directory exactly as they were, with and without sparse, for both file types', async () => {
  const t = tempDir();
  try {
    const path = t.path('keep.bin');
    writeFileSync(path, pattern(100_000, 1));
    const before = snapshot(path);
    const attempts = [
      () => MmapFile.create(path, 2 ** 53 - 1),
      () => MmapFile.create(path, 2 ** 53 - 1, { sparse: true }),
      () => RawMmapFile.create(path, 2 ** 53 - 1),
      () => RawMmapFile.create(path, 2 ** 53 - 1, { sparse: true }),
    ];
    for (const attempt of attempts) {
      assert.throws(attempt, (e: unknown) => e instanceof MmapError && (e.code === 'EFBIG' || e.code === 'EINVAL') && e.path === path);
      assert.equal(snapshot(path), before);
    }
    await assert.rejects(MmapFile.createAsync(path, 2 ** 53 - 1), { name: 'MmapError' });
    await assert.rejects(RawMmapFile.createAsync(path, 2 ** 53 - 1, { sparse: true }), { name: 'MmapError' });
    assert.equal(snapshot(path), before);
    assert.deepEqual(readdirSync(t.dir), ['keep.bin'], 'no temporary file is left behind');

    // Through a symlink: the target is what a successful create replaces, and the link stays a link.
    symlinkSync(path, t.path('link.bin'));
    assert.throws(() => MmapFile.create(t.path('link.bin'), 2 ** 53 - 1), { name: 'MmapError' });
    assert.equal(snapshot(path), before);
    const { file } = MmapFile.create(t.path('link.bin'), 3 * ALIGNMENT, { mode: 0o600 });
    file.close();
    assert.equal(lstatSync(t.path('link.bin')).isSymbolicLink(), true);
    assert.equal(readlinkSync(t.path('link.bin')), path);
    assert.equal(statSync(path).size, 3 * ALIGNMENT);

    // A directory in the way is refused, and stays a directory.
    mkdirSync(t.path('dir'));
    assert.throws(() => MmapFile.create(t.path('dir'), ALIGNMENT), { code: 'EISDIR' });
    assert.equal(statSync(t.path('dir')).isDirectory(), true);
    assert.deepEqual(readdirSync(t.dir).sort(), ['dir', 'keep.bin', 'link.bin']);
  } finally {
    t.cleanup();
  }
});

test('a create that replaces a file keeps its permission bits; exclusive never replaces', () => {
  const t = tempDir();
  try {
    const path = t.path('perm.bin');
    writeFileSync(path, 'old', { mode: 0o640 });
    const { file } = MmapFile.create(path, ALIGNMENT);
    file.close();
    assert.equal(statSync(path).mode & 0o777, 0o640);
    assert.equal(statSync(path).size, ALIGNMENT);
    writeFileSync(path, 'old again');
    assert.throws(() => RawMmapFile.create(path, ALIGNMENT, { exclusive: true }), { code: 'EEXIST', syscall: 'open' });
    assert.equal(readFileSync(path, 'utf8'), 'old again');
  } finally {
    t.cleanup();
  }
});

test('on a full disk (child process, private tmpfs): a create that does not fit leaves the existing file byte for byte; a large write into a sparse file is refused whole', async () => {
  const t = tempDir('ranged-mmap-tmpfs-');
  try {
    const script = `mount -t tmpfs -o size=2m tmpfs "$0" && exec "$1" "$2" "$0"`;
    const child = fixture('sparse-enospc-child.js');
    const result = await runChild('unshare', ['-rm', 'sh', '-c', script, t.dir, process.execPath, child]);
    assert.equal(result.signal, null, result.stderr);
    assert.equal(result.code, 0, result.stderr);
    const create = result.events.find((e) => e.event === 'create') as unknown as { code: string; keptIntact: boolean; entries: string[] };
    assert.equal(create.code, 'ENOSPC');
    assert.equal(create.keptIntact, true, 'the existing 100 KiB file is untouched');
    assert.deepEqual(create.entries, ['keep.bin'], 'no temporary file is left behind');
    const report = result.events.find((e) => e.event === 'report') as unknown as {
      failedAt: number;
      code: string;
      syscall: string;
      nonZeroInFailedSpan: number;
      okWrites: number;
    };
    assert.ok(report !== undefined, JSON.stringify(result.events) + result.stderr);
    assert.ok(report.okWrites > 0, 'the first writes fit and succeed');
    assert.equal(report.code, 'ENOSPC');
    assert.equal(report.syscall, 'fallocate', 'refused before pwrite wrote anything');
    assert.equal(report.nonZeroInFailedSpan, 0, 'no byte of the refused write reached the file');
  } finally {
    t.cleanup();
  }
});

// ---- 4. inputs and signals ------------------------------------------------

test('paths: a file: URL with %00 is refused without touching the file its prefix names; other URL schemes and Buffers get typed errors', () => {
  const t = tempDir();
  try {
    const prefix = t.path('victim');
    writeFileSync(prefix, pattern(5000, 4));
    const before = snapshot(prefix);
    const url = new URL(pathToFileURL(prefix).href + '%00.bin');
    assert.throws(() => MmapFile.create(url, ALIGNMENT), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => RawMmapFile.open(url), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    assert.equal(snapshot(prefix), before);
    assert.throws(() => MmapFile.create(new URL('https://example.invalid/x.bin'), ALIGNMENT), { name: 'TypeError', code: 'ERR_INVALID_URL_SCHEME' });
    assert.throws(() => MmapFile.create(Buffer.from(prefix) as never, ALIGNMENT), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => MmapFile.open(Symbol('p') as never), { code: 'ERR_INVALID_ARG_TYPE', message: /Symbol\(p\)/ });
    assert.equal(snapshot(prefix), before);
  } finally {
    t.cleanup();
  }
});

for (const how of ['listen-before-load', 'listen-after-load', 'listen-then-remove'] as const) {
  test(`a SIGBUS listener from JavaScript (${how}) does not disable the fault guard: the write fails with ERR_MMAP_FAULT and the child lives`, async () => {
    const t = tempDir();
    try {
      // A lost guard would make the child die or spin on the faulting page; `timeout` ends a spin.
      const result = await runChild('timeout', ['-s', 'KILL', '60', process.execPath, fixture('sigbus-listener-child.js'), t.path('s.bin'), how]);
      assert.equal(result.signal, null, `killed by ${result.signal}: ${result.stderr}`);
      assert.equal(result.code, 0, result.stderr);
      const write = result.events.find((e) => e.event === 'write') as unknown as { outcome: { code: string; message: string } | null };
      assert.ok(write !== undefined, JSON.stringify(result.events));
      assert.equal(write.outcome?.code, 'ERR_MMAP_FAULT', JSON.stringify(write));
      assert.match(write.outcome!.message, /truncated to 8192 bytes/);
      assert.equal(
        result.events.some((e) => e.event === 'listener-called'),
        false,
        'our own fault never reaches the listener',
      );
    } finally {
      t.cleanup();
    }
  });
}

test('every bad input gets a typed error: Proxies, detached views, Symbols, throwing option getters', () => {
  const t = tempDir();
  try {
    const path = t.path('typed.bin');
    const { file, allocator } = MmapFile.create(path, 4 * ALIGNMENT);
    const range = allocator.allocate(ALIGNMENT)!;
    const raw = RawMmapFile.open(path);
    const isTyped = (e: unknown) =>
      (e instanceof MmapError && typeof e.code === 'string') ||
      ((e instanceof TypeError || e instanceof RangeError) &&
        typeof (e as unknown as { code?: unknown }).code === 'string' &&
        /^ERR_/.test((e as unknown as { code: string }).code));
    const proxy = new Proxy(new Uint8Array(ALIGNMENT), {});
    const detached = new Uint8Array(ALIGNMENT);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    const calls: [string, () => unknown][] = [
      ['writeRange(proxy)', () => file.writeRange(range, proxy)],
      ['readRange(proxy)', () => file.readRange(range, proxy)],
      ['writeAt(proxy)', () => raw.writeAt(0, proxy)],
      ['readAt(proxy)', () => raw.readAt(0, proxy)],
      ['writeAt(detached)', () => raw.writeAt(0, detached)],
      ['readAt(detached)', () => raw.readAt(0, detached)],
      ['writeRange(detached)', () => file.writeRange(range, detached)],
      ['writeAt(symbol offset)', () => raw.writeAt(Symbol('o') as never, new Uint8Array(1))],
      ['allocate(symbol)', () => allocator.allocate(Symbol('s') as never)],
      ['fill(symbol value)', () => raw.fill(0, 1, Symbol('v') as never)],
      ['readSlice(symbol length)', () => raw.readSlice(0, Symbol('l') as never)],
      [
        'create(throwing getter)',
        () =>
          MmapFile.create(t.path('g.bin'), ALIGNMENT, {
            get sparse(): boolean {
              throw new Error('boom');
            },
          }),
      ],
      [
        'open(throwing getter)',
        () =>
          MmapFile.open(path, {
            get allocator(): 'sequential' {
              throw new Error('boom');
            },
          }),
      ],
      ['fromShared(symbol)', () => MmapFile.fromShared(Symbol('h') as never)],
      [
        'receiveRange(proxy)',
        () =>
          file.receiveRange(
            new Proxy(
              {},
              {
                get: () => {
                  throw new Error('trap');
                },
              },
            ) as never,
          ),
      ],
    ];
    for (const [name, call] of calls) assert.throws(call, isTyped, name);
    assert.throws(() => raw.writeAt(0, detached), { code: 'ERR_MMAP_BUFFER_DETACHED' });
    assert.throws(
      () =>
        MmapFile.create(t.path('g.bin'), ALIGNMENT, {
          get sparse(): boolean {
            throw new Error('boom');
          },
        }),
      (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARG_VALUE' && ((e as Error).cause as Error).message === 'boom',
    );
    raw.close();
    file.close();
  } finally {
    t.cleanup();
  }
});

test('errors look like Node’s: name on the prototype, only the fields that apply, the stack starts at the caller', () => {
  const t = tempDir();
  try {
    const { file } = MmapFile.create(t.path('e.bin'), ALIGNMENT);
    file.close();
    let caught: MmapError | undefined;
    try {
      file.flush();
    } catch (e) {
      caught = e as MmapError;
    }
    assert.ok(caught instanceof MmapError);
    assert.equal(Object.hasOwn(caught, 'name'), false);
    assert.equal(caught.name, 'MmapError');
    assert.equal('errno' in caught, false);
    assert.equal('syscall' in caught, false);
    assert.equal(caught.path, t.path('e.bin'));
    const firstFrame = caught.stack!.split('\n').find((l) => l.startsWith('    at '))!;
    assert.match(firstFrame, /adversarial\.test\.js/, `the first frame is the caller's: ${firstFrame}`);
    try {
      MmapFile.open(t.path('missing.bin'));
    } catch (e) {
      caught = e as MmapError;
    }
    assert.deepEqual(
      { code: caught!.code, errno: caught!.errno, syscall: caught!.syscall, path: caught!.path },
      {
        code: 'ENOENT',
        errno: -2,
        syscall: 'open',
        path: t.path('missing.bin'),
      },
    );
    assert.equal(caught!.message, `ENOENT: no such file or directory, open '${t.path('missing.bin')}'`);
  } finally {
    t.cleanup();
  }
});
