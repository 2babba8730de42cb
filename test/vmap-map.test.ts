// MemoryMap / MemoryMapMut (vmap's Map / MapMut): the seed's examples,
// windows at any offset, conversions in place, private stores that never
// reach the file (checked by a second process), descriptors that stay the
// caller's, create/truncate/copy/populate/alloc, flush, faults, argument
// attacks, and leak checks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BufReader, BufWriter, Flush, MemoryMap, MemoryMapMut, MmapError, allocationSize, inspectNative, pageSize } from 'ranged-mmap';
import * as fsp from 'node:fs/promises';
import { pattern, smapsKb, tempDir } from './helpers.js';

const t = tempDir('ranged-mmap-vmap-');
after(() => t.cleanup());
let counter = 0;
const fresh = (name = 'f') => t.path(`${name}${counter++}.bin`);

function code(e: unknown): unknown {
  return (e as { code?: unknown }).code;
}

function throwsCode(fn: () => unknown, expected: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.equal(code(e), expected, `expected ${expected}, got ${String(code(e))}: ${(e as Error).message}`);
    return true;
  });
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString();
const openFds = () => readdirSync('/proc/self/fd').length;
const mappingsOf = (path: string) =>
  readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(path)).length;

/** The file's bytes as another process sees them (hex). */
function readInOtherProcess(path: string): Buffer {
  const hex = execFileSync(process.execPath, ['-e', `process.stdout.write(require('fs').readFileSync(${JSON.stringify(path)}).toString('hex'))`], {
    encoding: 'utf8',
  });
  return Buffer.from(hex, 'hex');
}

test('seed example 1: map the first 4 bytes, then another region of the same descriptor', () => {
  const path = fresh('example');
  writeFileSync(path, 'this is a test');
  const map = MemoryMap.withOptions().len(4).open(path);
  const fd = map.fd as number; // owned by the map
  try {
    assert.equal(text(map.bytes), 'this');
    assert.equal(map.length, 4);
    const m2 = MemoryMap.withOptions().offset(10).len(4).map(fd);
    assert.equal(text(m2.bytes), 'test');
    m2.close();
  } finally {
    map.close();
  }
});

test('seed example 2: open with write, intoMapMut, change the file, flush, intoMap', () => {
  const path = fresh('example');
  writeFileSync(path, 'this is a test');
  const map = MemoryMap.withOptions().write().len(14).open(path);
  const fd = map.fd as number; // owned by the map
  try {
    assert.equal(text(map.bytes), 'this is a test');
    const mut = map.intoMapMut();
    mut.bytes.set(Buffer.from('that'));
    mut.flush(fd, Flush.Sync);
    const ro = mut.intoMap();
    assert.equal(text(ro.bytes), 'that is a test');
    assert.equal(readInOtherProcess(path).toString(), 'that is a test');
    ro.close();
  } finally {
  }
});

test('any offset: the window starts exactly there (the alignment is hidden), len(n) and len("end")', () => {
  const path = fresh();
  const data = pattern(5 * pageSize() + 123, 3);
  writeFileSync(path, data);
  const fd = openSync(path, 'r');
  try {
    for (const offset of [0, 1, 7, pageSize() - 1, pageSize(), pageSize() + 1, 3 * pageSize() + 77, data.length - 1]) {
      const rest = MemoryMap.withOptions().offset(offset).map(fd);
      assert.equal(rest.length, data.length - offset);
      assert.deepEqual(Uint8Array.from(rest.bytes), data.subarray(offset));
      rest.close();
      const end = MemoryMap.withOptions().offset(offset).len('end').map(fd);
      assert.equal(end.length, data.length - offset);
      end.close();
      const len = Math.min(100, data.length - offset);
      const win = MemoryMap.withOptions().offset(offset).len(len).map(fd);
      assert.deepEqual(Uint8Array.from(win.bytes), data.subarray(offset, offset + len));
      win.close();
    }
  } finally {
    closeSync(fd);
  }
});

test('a store through a read-only MemoryMap neither crashes nor reaches the file (checked by a second process)', () => {
  const path = fresh();
  const data = pattern(3 * pageSize(), 9);
  writeFileSync(path, data);
  for (const withWrite of [false, true]) {
    const opts = MemoryMap.withOptions().offset(5);
    const map = (withWrite ? opts.write() : opts).open(path);
    const fd = map.fd as number; // owned by the map
    try {
      map.bytes.fill(0xee);
      map.bytes[0] = 1;
      // The store landed in this map's private memory...
      assert.equal(map.bytes[0], 1);
      assert.equal(map.bytes[map.length - 1], 0xee);
      // ...and nowhere else: not in the file, not in another map.
      const other = MemoryMap.withOptions().map(fd);
      assert.deepEqual(Uint8Array.from(other.bytes), data);
      other.close();
      assert.deepEqual(Uint8Array.from(readInOtherProcess(path)), data);
    } finally {
      map.close();
    }
    assert.deepEqual(Uint8Array.from(readInOtherProcess(path)), data);
  }
});

test('intoMapMut needs .write() (or .copy()): otherwise ERR_MMAP_INVALID_MODE and the map stays usable', () => {
  const path = fresh();
  writeFileSync(path, 'abcdef');
  const map = MemoryMap.withOptions().open(path);
  try {
    throwsCode(() => map.intoMapMut(), 'ERR_MMAP_INVALID_MODE');
    assert.equal(text(map.bytes), 'abcdef');
    assert.equal(map.closed, false);
  } finally {
    map.close();
  }
  // An anonymous read-only map is no different.
  const anon = MemoryMap.withOptions().alloc();
  throwsCode(() => anon.intoMapMut(), 'ERR_MMAP_INVALID_MODE');
  anon.close();
});

test('conversions happen in place; the object converted from and its views become unusable (ERR_MMAP_CLOSED)', () => {
  const path = fresh();
  writeFileSync(path, 'hello world');
  const map = MemoryMapMut.withOptions().open(path);
  const fd = map.fd as number; // owned by the map
  try {
    assert.ok(map instanceof MemoryMapMut);
    const oldView = map.bytes;
    const ro = map.intoMap();
    assert.ok(!(ro instanceof MemoryMapMut));
    assert.equal(oldView.length, 0); // detached: a kept view cannot write to the file any more
    oldView[0] = 0x41;
    assert.equal(map.closed, true);
    for (const call of [() => map.bytes, () => map.length, () => map.intoMap(), () => map.intoMapMut(), () => map.flush(fd, Flush.Sync)]) {
      throwsCode(call, 'ERR_MMAP_CLOSED');
    }
    map.close(); // harmless
    assert.equal(text(ro.bytes), 'hello world');
    const mut = ro.intoMapMut();
    throwsCode(() => ro.bytes, 'ERR_MMAP_CLOSED');
    mut.bytes[0] = 0x48; // 'H'
    mut.flushRange(fd, 0, 1, Flush.Async);
    mut.flush(fd, Flush.Sync);
    assert.equal(readFileSync(path, 'utf8'), 'Hello world');
    // A MemoryMapMut's intoMapMut hands over to a new object too.
    const again = mut.intoMapMut();
    throwsCode(() => mut.bytes, 'ERR_MMAP_CLOSED');
    assert.equal(text(again.bytes), 'Hello world');
    again.close();
    throwsCode(() => again.bytes, 'ERR_MMAP_CLOSED');
  } finally {
  }
});

test("conversions do not remap: the file's mappings in /proc/self/maps are the same lines before and after", () => {
  const path = fresh();
  writeFileSync(path, pattern(3 * pageSize() + 5, 9));
  const lines = () =>
    readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((l) => l.endsWith(path));
  const map = MemoryMap.withOptions().write().offset(7).open(path);
  try {
    const before = lines();
    assert.ok(before.length > 0);
    const mut = map.intoMapMut();
    assert.deepEqual(lines(), before);
    mut.bytes[0] = 1;
    const ro = mut.intoMap();
    assert.deepEqual(lines(), before);
    const again = ro.intoMapMut();
    assert.deepEqual(lines(), before);
    assert.equal(again.bytes[0], 1); // the same memory, not a copy
    again.close();
    assert.deepEqual(lines(), []);
  } finally {
  }
});

test('intoMap after stores into an earlier read-only view shows the file, not those stores', () => {
  const path = fresh();
  writeFileSync(path, 'abcdefgh');
  const map = MemoryMap.withOptions().write().open(path);
  try {
    map.bytes[0] = 0x7a; // private store ('z')
    const mut = map.intoMapMut();
    assert.equal(text(mut.bytes), 'abcdefgh');
    mut.bytes[1] = 0x42; // 'B', reaches the file
    const ro = mut.intoMap();
    assert.equal(text(ro.bytes), 'aBcdefgh');
    ro.close();
    assert.equal(readFileSync(path, 'utf8'), 'aBcdefgh');
  } finally {
  }
});

test('map(fd) borrows the descriptor: it never duplicates or closes it', () => {
  const path = fresh();
  writeFileSync(path, pattern(10_000, 1));
  const fds = openFds();
  const fd = openSync(path, 'r+');
  assert.equal(openFds(), fds + 1);
  const map = MemoryMapMut.withOptions().map(fd);
  assert.equal(openFds(), fds + 1); // no dup
  assert.equal(map.fd, null); // not the map's
  map.close();
  fstatSync(fd); // still open
  // The map outlives the descriptor.
  const m2 = MemoryMapMut.withOptions().offset(3).len(10).map(fd);
  closeSync(fd);
  assert.equal(openFds(), fds);
  assert.deepEqual(Uint8Array.from(m2.bytes), pattern(10_000, 1).subarray(3, 13));
  m2.bytes[0] = 0;
  throwsCode(() => (m2 as MemoryMapMut).flush(Flush.Sync), 'ERR_MMAP_INVALID_ARGUMENT'); // borrowed: flush(fd, mode)
  m2.close();
  assert.equal(readFileSync(path)[3], 0);
});

test('open(path) owns its descriptor: close(), using, and conversions carry it; a refused open leaks none', () => {
  const path = fresh();
  writeFileSync(path, pattern(10_000, 2));
  const fds = openFds();
  const m3 = MemoryMap.withOptions().open(path);
  assert.equal(openFds(), fds + 1);
  assert.equal(typeof m3.fd, 'number');
  assert.equal(fstatSync(m3.fd as number).size, 10_000);
  m3.close();
  assert.equal(openFds(), fds);
  m3.close(); // harmless, closes nothing twice
  assert.equal(openFds(), fds);
  {
    using m4 = MemoryMapMut.withOptions().open(path);
    m4.bytes[0] = 42;
    m4.flush(Flush.Sync); // through its own descriptor
    m4.flushRange(0, 1, Flush.Async);
    assert.equal(openFds(), fds + 1);
  }
  assert.equal(openFds(), fds);
  assert.equal(readFileSync(path)[0], 42);
  // Conversions move the descriptor with the map; the last object closes it.
  const rw = MemoryMap.withOptions().write().open(path);
  const mut = rw.intoMapMut();
  assert.equal(openFds(), fds + 1);
  mut.flush(Flush.Sync);
  const ro = mut.intoMap();
  assert.equal(openFds(), fds + 1);
  ro.close();
  assert.equal(openFds(), fds);
  // Refused opens close what they opened.
  throwsCode(() => MemoryMap.withOptions().offset(20_000).open(path), 'ERR_MMAP_OUT_OF_BOUNDS');
  throwsCode(() => MemoryMap.withOptions().len(20_000).open(path), 'ERR_MMAP_OUT_OF_BOUNDS');
  assert.equal(openFds(), fds);
});

test('a FileHandle is accepted wherever a descriptor is; a closed one is a clear ERR_MMAP_CLOSED', async () => {
  const path = fresh();
  writeFileSync(path, 'this is a test\n');
  const fds = openFds();
  const handle = await fsp.open(path, 'r+');
  try {
    const map = MemoryMapMut.withOptions().offset(10).len(4).map(handle);
    assert.equal(Buffer.from(map.bytes).toString(), 'test');
    map.bytes.set(Buffer.from('TEST'));
    map.flush(handle, Flush.Sync);
    map.flushRange(handle, 0, 4, Flush.Async);
    map.close();
    assert.equal(readFileSync(path, 'utf8'), 'this is a TEST\n');
    assert.equal(openFds(), fds + 1); // the handle is still open, still the caller's
    const reader = new BufReader(handle, 4096);
    assert.equal(await reader.readLine(), 'this is a TEST\n');
    reader.close();
    const writer = new BufWriter(handle, 4096);
    await writer.write('more\n');
    await writer.close();
    assert.equal(readFileSync(path, 'utf8'), 'this is a TEST\nmore\n');
  } finally {
    await handle.close();
  }
  assert.equal(openFds(), fds);
  const dead = await fsp.open(path, 'r');
  await dead.close();
  for (const call of [() => MemoryMap.withOptions().map(dead), () => new BufReader(dead), () => new BufWriter(dead)]) {
    assert.throws(call, (e: unknown) => code(e) === 'ERR_MMAP_CLOSED' && /FileHandle that is closed/.test((e as Error).message));
  }
  const still = MemoryMapMut.withOptions().open(path);
  throwsCode(() => (still as MemoryMapMut).flush(dead, Flush.Sync), 'ERR_MMAP_CLOSED');
  still.close();
});

test('file maps are in the process-wide mapping table (the SIGBUS guard covers them); anonymous ones are not', () => {
  const path = fresh();
  writeFileSync(path, 'abc');
  const before = inspectNative().liveMappings;
  const map = MemoryMap.withOptions().open(path);
  assert.equal(inspectNative().liveMappings, before + 1);
  const anon = MemoryMapMut.withOptions().alloc();
  assert.equal(inspectNative().liveMappings, before + 1);
  map.close();
  anon.close();
  assert.equal(inspectNative().liveMappings, before);
});

test('a file truncated under a map: touching the lost pages does not crash; flush reports ERR_MMAP_FAULT', () => {
  const path = fresh();
  const size = 4 * pageSize();
  writeFileSync(path, pattern(size, 2));
  const map = MemoryMapMut.withOptions().open(path);
  const fd = map.fd as number; // owned by the map
  try {
    truncateSync(path, pageSize()); // as another process could
    assert.equal(map.bytes[0], pattern(size, 2)[0]);
    assert.equal(map.bytes[2 * pageSize() + 5], 0); // a lost page reads as zeros
    map.bytes[3 * pageSize()] = 1; // and a store there goes nowhere
    assert.throws(
      () => map.flush(fd, Flush.Sync),
      (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_FAULT' && /truncated/.test(e.message),
    );
  } finally {
    map.close();
  }
});

test('create() and truncate() with write() size the file to offset + len; create() without write() is refused', () => {
  const path = fresh('new');
  const map = MemoryMapMut.withOptions().create().offset(100).len(5000).open(path);
  const fd = map.fd as number; // owned by the map
  try {
    assert.equal(statSync(path).size, 5100);
    assert.equal(map.length, 5000);
    map.bytes.set(Buffer.from('xyz'));
    map.flush(fd, Flush.Sync);
    assert.equal(readFileSync(path).subarray(100, 103).toString(), 'xyz');
  } finally {
    map.close();
  }
  // An existing file is opened as it is and grown only if the window needs it.
  const same = MemoryMap.withOptions().write().create().len(50).open(path);
  assert.equal(statSync(path).size, 5100);
  assert.equal(text(same.bytes.subarray(100 - 100, 3)), '\0\0\0');
  same.close();
  const tr = MemoryMapMut.withOptions().truncate().len(10).open(path);
  assert.equal(statSync(path).size, 10);
  assert.deepEqual([...tr.bytes], new Array(10).fill(0));
  tr.close();
  const other = fresh('new');
  throwsCode(() => MemoryMap.withOptions().create().len(10).open(other), 'ERR_MMAP_INVALID_MODE');
  throwsCode(() => MemoryMapMut.withOptions().truncate().open(path), 'ERR_MMAP_EMPTY_FILE');
  assert.equal(existsSync(other), false);
  assert.equal(statSync(path).size, 10); // the refused truncate changed nothing
});

test('a create that fails after making the file leaves no file behind and no descriptor open', () => {
  const path = fresh('new');
  const fds = openFds();
  // A window past the largest file ext4 allows: ftruncate fails with EFBIG.
  assert.throws(
    () =>
      MemoryMapMut.withOptions()
        .create()
        .offset(2 ** 50)
        .len(4096)
        .open(path),
    (e: unknown) => e instanceof MmapError && (e.code === 'EFBIG' || e.code === 'EINVAL'),
  );
  assert.equal(existsSync(path), false);
  assert.equal(openFds(), fds);
});

test('copy(): a private writable map; stores never reach the file', () => {
  const path = fresh();
  writeFileSync(path, 'original');
  const fd = openSync(path, 'r'); // a read-only descriptor is enough
  try {
    const scratch = MemoryMapMut.withOptions().copy().map(fd);
    scratch.bytes.set(Buffer.from('CHANGED!'));
    assert.equal(text(scratch.bytes), 'CHANGED!');
    scratch.flush(fd, Flush.Sync);
    const ro = scratch.intoMap(); // keeps the private copy
    assert.equal(text(ro.bytes), 'CHANGED!');
    ro.close();
    assert.equal(readInOtherProcess(path).toString(), 'original');
    const m = MemoryMap.withOptions().copy().map(fd);
    const mm = m.intoMapMut();
    mm.bytes[0] = 0x4f;
    assert.equal(text(mm.bytes), 'Original');
    mm.close();
    assert.equal(readFileSync(path, 'utf8'), 'original');
    // A shared writable map needs a writable descriptor.
    throwsCode(() => MemoryMapMut.withOptions().map(fd), 'EACCES');
  } finally {
    closeSync(fd);
  }
});

test('alloc(): anonymous zeroed memory, one allocation unit by default', () => {
  const a = MemoryMapMut.withOptions().alloc();
  assert.equal(a.length, allocationSize());
  assert.ok(a.bytes.every((b) => b === 0));
  a.bytes.fill(7);
  const ro = a.intoMap();
  assert.equal(ro.bytes[100], 7);
  const back = ro.intoMapMut();
  assert.equal(back.bytes[allocationSize() - 1], 7);
  back.flush(0, Flush.Sync); // nothing to write back; accepted
  back.close();
  const big = MemoryMapMut.withOptions()
    .len(3 * pageSize() + 1)
    .populate()
    .offset(12345)
    .alloc();
  assert.equal(big.length, 3 * pageSize() + 1);
  big.bytes[big.length - 1] = 1;
  big.close();
  throwsCode(() => MemoryMapMut.withOptions().len('end').alloc(), 'ERR_INVALID_ARG_VALUE');
});

test('populate() maps with the pages read in (Rss of the mapping is all of it before any access; without populate() it is none); the bytes are the file', () => {
  const data = pattern(64 * 1024, 4);
  const pages = (64 * 1024) / 1024; // in kB
  // Without populate(): nothing in this process's page tables until touched
  // (the file is in the page cache all the same: it was just written).
  const plainPath = fresh();
  writeFileSync(plainPath, data);
  const plain = MemoryMap.withOptions().offset(1000).open(plainPath);
  assert.equal(smapsKb(plainPath, 'Rss'), 0, 'a plain map reads nothing in before an access');
  plain.close();
  const path = fresh();
  writeFileSync(path, data);
  const map = MemoryMap.withOptions().populate().offset(1000).open(path);
  assert.equal(smapsKb(path, 'Rss'), pages, 'populate() read in every page of the mapping (from page 0: the offset is rounded down)');
  assert.deepEqual(Uint8Array.from(map.bytes), data.subarray(1000));
  map.close();
});

test('windows outside the file and empty files are refused with typed errors, changing nothing', () => {
  const path = fresh();
  writeFileSync(path, 'abcdef');
  const fd = openSync(path, 'r+');
  try {
    throwsCode(() => MemoryMap.withOptions().len(7).map(fd), 'ERR_MMAP_OUT_OF_BOUNDS');
    throwsCode(() => MemoryMap.withOptions().offset(5).len(2).map(fd), 'ERR_MMAP_OUT_OF_BOUNDS');
    throwsCode(() => MemoryMap.withOptions().offset(7).map(fd), 'ERR_MMAP_OUT_OF_BOUNDS');
    throwsCode(() => MemoryMap.withOptions().offset(6).map(fd), 'ERR_MMAP_EMPTY_FILE');
    throwsCode(() => MemoryMapMut.withOptions().len(100).map(fd), 'ERR_MMAP_OUT_OF_BOUNDS'); // no create(): no growth
    assert.equal(statSync(path).size, 6);
    const empty = fresh();
    writeFileSync(empty, '');
    throwsCode(() => MemoryMap.withOptions().open(empty), 'ERR_MMAP_EMPTY_FILE');
    throwsCode(() => MemoryMap.withOptions().open(t.path('missing.bin')), 'ENOENT');
    throwsCode(() => MemoryMap.withOptions().open(t.dir), 'ERR_MMAP_INVALID_ARGUMENT');
    const dirFd = openSync(t.dir, 'r');
    throwsCode(() => MemoryMap.withOptions().map(dirFd), 'ERR_MMAP_INVALID_ARGUMENT');
    closeSync(dirFd);
    // A descriptor that is not open.
    const dead = openSync(path, 'r');
    closeSync(dead);
    throwsCode(() => MemoryMap.withOptions().map(dead), 'EBADF');
  } finally {
    closeSync(fd);
  }
});

test('flush and flushRange check their arguments and the descriptor', () => {
  const path = fresh();
  writeFileSync(path, pattern(3 * pageSize(), 5));
  const otherPath = fresh();
  writeFileSync(otherPath, 'other');
  const map = MemoryMapMut.withOptions().offset(10).open(path);
  const fd = map.fd as number; // owned by the map
  const otherFd = openSync(otherPath, 'r');
  try {
    map.flushRange(fd, 0, 0, Flush.Sync);
    map.flushRange(fd, map.length - 1, 1, Flush.Sync);
    throwsCode(() => map.flushRange(fd, map.length, 1, Flush.Sync), 'ERR_MMAP_OUT_OF_BOUNDS');
    throwsCode(() => map.flushRange(fd, 0, map.length + 1, Flush.Async), 'ERR_MMAP_OUT_OF_BOUNDS');
    throwsCode(() => map.flush(otherFd, Flush.Sync), 'ERR_MMAP_INVALID_ARGUMENT'); // another file
    for (const bad of ['sync ', 0, null, undefined, 'SYNC']) {
      throwsCode(() => map.flush(fd, bad as never), 'ERR_INVALID_ARG_VALUE');
    }
    for (const bad of [-1, 1.5, NaN, 2 ** 31, Infinity]) throwsCode(() => map.flush(bad, Flush.Sync), 'ERR_OUT_OF_RANGE');
    for (const bad of ['3', null, 3n, { valueOf: () => fd }]) throwsCode(() => map.flush(bad as never, Flush.Sync), 'ERR_INVALID_ARG_TYPE');
    for (const bad of [-1, 0.5, NaN]) throwsCode(() => map.flushRange(fd, bad, 1, Flush.Sync), 'ERR_OUT_OF_RANGE');
    throwsCode(() => map.flushRange(fd, 0, { valueOf: () => 1 } as never, Flush.Sync), 'ERR_INVALID_ARG_TYPE');
  } finally {
    map.close();
    closeSync(otherFd);
  }
  throwsCode(() => map.flush(fd, Flush.Sync), 'ERR_MMAP_CLOSED');
});

test('builder arguments: wrong types, ranges and paths are refused with Node-shaped errors', () => {
  const o = MemoryMap.withOptions();
  for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) throwsCode(() => o.offset(bad), 'ERR_OUT_OF_RANGE');
  for (const bad of ['1', null, undefined, { valueOf: () => 1 }, Symbol('s')]) throwsCode(() => o.offset(bad as never), 'ERR_INVALID_ARG_TYPE');
  for (const bad of [0, -1, 1.5, NaN, 2 ** 32 + 1]) throwsCode(() => o.len(bad), 'ERR_OUT_OF_RANGE');
  for (const bad of ['END', null, {}]) throwsCode(() => o.len(bad as never), 'ERR_INVALID_ARG_TYPE');
  for (const bad of [-1, 1.5, 2 ** 31]) throwsCode(() => o.map(bad), 'ERR_OUT_OF_RANGE');
  for (const bad of ['3', null, 3n]) throwsCode(() => o.map(bad as never), 'ERR_INVALID_ARG_TYPE');
  throwsCode(() => o.open(123 as never), 'ERR_INVALID_ARG_TYPE');
  throwsCode(() => o.open('a\0b'), 'ERR_INVALID_ARG_VALUE');
  throwsCode(() => o.open(new URL('http://example.com/x')), 'ERR_INVALID_URL_SCHEME');
  throwsCode(() => o.open(''), 'ERR_INVALID_ARG_VALUE');
  assert.throws(
    () => new (MemoryMap as unknown as new (a: unknown, b: unknown) => unknown)(Symbol('vmap map'), {}),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  // A file: URL works.
  const path = fresh();
  writeFileSync(path, 'url');
  const map = MemoryMap.withOptions().open(pathToFileURL(path));
  assert.equal(text(map.bytes), 'url');
  map.close();
});

test('10,000 map/close cycles leak no mapping and no descriptor', () => {
  const path = fresh();
  writeFileSync(path, pattern(3 * pageSize(), 6));
  const fd = openSync(path, 'r+');
  const fds = openFds();
  const maps = mappingsOf(path);
  const live = inspectNative().liveMappings;
  try {
    for (let i = 0; i < 10_000; i++) {
      const o = i % 3 === 0 ? MemoryMap.withOptions() : i % 3 === 1 ? MemoryMap.withOptions().write() : MemoryMapMut.withOptions();
      const m = o
        .offset(i % 5000)
        .len(100)
        .map(fd);
      if (i % 3 === 1) m.intoMapMut().close();
      else m.close();
      if (i % 1000 === 0) {
        const a = MemoryMapMut.withOptions().alloc();
        a.close();
      }
    }
  } finally {
    closeSync(fd);
  }
  assert.equal(openFds(), fds - 1);
  assert.equal(mappingsOf(path), maps);
  assert.equal(inspectNative().liveMappings, live);
});

test('maps dropped without close() are unmapped when garbage-collected (child process with --expose-gc)', () => {
  const path = fresh();
  writeFileSync(path, pattern(2 * pageSize(), 8));
  const child = fileURLToPath(new URL('./fixtures/vmap-map-gc-child.js', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', child, path], { encoding: 'utf8', timeout: 120_000 });
  const report = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
  assert.equal(report.whileHeld, report.before + 100);
  assert.equal(report.keptByte, pattern(2 * pageSize(), 8)[7]);
  assert.equal(report.afterKept, report.before + 1);
  assert.equal(report.after, report.before);
  assert.equal(report.fdsAfter, report.fdsBefore);
});

test('files past 4 GiB: windows above 4 GiB at odd offsets, a 4 GiB window, and a rest-of-file over 4 GiB refused', () => {
  const path = fresh('big');
  const fd = openSync(path, 'w+');
  try {
    ftruncateSync(fd, 5 * 2 ** 30); // sparse
    writeSync(fd, 'hello', 2 ** 32 + 3);
    writeSync(fd, 'Z', 2 ** 32 - 1);
    const high = MemoryMap.withOptions()
      .offset(2 ** 32 + 3)
      .len(5)
      .map(fd);
    assert.equal(text(high.bytes), 'hello');
    high.close();
    const straddle = MemoryMapMut.withOptions()
      .offset(2 ** 32 - 1)
      .len(4)
      .map(fd);
    assert.equal(text(straddle.bytes), 'Z\0\0\0');
    straddle.bytes[2] = 0x21;
    straddle.flush(fd, Flush.Sync);
    straddle.close();
    const whole = MemoryMap.withOptions()
      .len(2 ** 32)
      .map(fd);
    assert.equal(whole.length, 2 ** 32);
    assert.equal(whole.bytes[2 ** 32 - 1], 0x5a);
    whole.close();
    throwsCode(() => MemoryMap.withOptions().map(fd), 'ERR_MMAP_OUT_OF_BOUNDS'); // 5 GiB to the end
    const rest = MemoryMap.withOptions()
      .offset(2 ** 32)
      .map(fd); // exactly 1 GiB to the end
    assert.equal(rest.length, 2 ** 30);
    assert.equal(text(rest.bytes.subarray(0, 8)), '\0!\0hello'); // byte 2^32 + 1 was set through the straddling map
    rest.close();
  } finally {
    closeSync(fd);
  }
});

test('truncate() empties the file only once every check has passed', () => {
  const path = fresh();
  writeFileSync(path, 'keep me');
  // Refused after open (a size past the largest file ext4 allows): the file keeps its bytes.
  assert.throws(
    () =>
      MemoryMapMut.withOptions()
        .truncate()
        .offset(2 ** 50)
        .len(4096)
        .open(path),
    (e: unknown) => code(e) === 'EFBIG' || code(e) === 'EINVAL',
  );
  assert.equal(readFileSync(path, 'utf8'), 'keep me');
  const map = MemoryMapMut.withOptions().truncate().offset(3).len(4).open(path);
  assert.deepEqual([...readFileSync(path)], [0, 0, 0, 0, 0, 0, 0]);
  assert.equal(map.length, 4);
  map.close();
});

test('flush with a bad or foreign descriptor names the descriptor passed, not the one the map was made from', () => {
  const path = fresh();
  const other = fresh('other');
  writeFileSync(path, pattern(pageSize(), 3));
  writeFileSync(other, pattern(pageSize(), 4));
  const fd = openSync(path, 'r+');
  const otherFd = openSync(other, 'r+');
  try {
    const map = MemoryMapMut.withOptions().map(fd);
    const bad = 987654;
    for (const call of [() => map.flush(bad, Flush.Sync), () => map.flushRange(bad, 0, 4, Flush.Async)]) {
      assert.throws(call, (e: unknown) => {
        assert.ok(e instanceof MmapError);
        assert.deepEqual({ code: e.code, syscall: e.syscall, path: e.path }, { code: 'EBADF', syscall: 'fstat', path: `fd ${bad}` });
        assert.match(e.message, /fd 987654/);
        assert.doesNotMatch(e.message, new RegExp(`fd ${fd}\\b`));
        return true;
      });
    }
    assert.throws(
      () => map.flush(otherFd, Flush.Sync),
      (e: unknown) => {
        assert.ok(e instanceof MmapError);
        assert.equal(e.code, 'ERR_MMAP_INVALID_ARGUMENT');
        assert.match(e.message, new RegExp(`fd ${otherFd}, passed to flush, does not name the mapped file`));
        return true;
      },
    );
    map.flush(fd, Flush.Sync);
    map.close();
  } finally {
    closeSync(fd);
    closeSync(otherFd);
  }
});
