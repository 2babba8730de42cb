// Every error code the public API can produce, each from a real misuse,
// with the file checked to be byte-for-byte unchanged afterwards.
// Not reachable here: ERR_MMAP_UNSUPPORTED_PLATFORM (Linux x64 only; the
// check is in src/native/binding.ts), ERR_MMAP_MISALIGNED (the atomic
// views: test/mmapio-errors.test.ts), ERR_MMAP_FAULT (test/faults.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { ALIGNMENT, MmapError, MmapFile, RawMmapFile, alignUp, type AllocatedRange, type WriteReceipt } from 'ranged-mmap';
import { tempDir, snapshot, pattern } from './helpers.js';

/** Asserts that `fn` throws an MmapError with `code` and a message matching `message`. */
function throwsCode(fn: () => unknown, code: string, message: RegExp): MmapError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof MmapError, `expected an MmapError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, message);
  return caught;
}

/** Asserts that `fn` throws Node's own argument error: the right class, code and message. */
function throwsArg(
  fn: () => unknown,
  code: 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE' | 'ERR_INVALID_URL_SCHEME',
  message: RegExp,
): Error {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  const Class = code === 'ERR_OUT_OF_RANGE' ? RangeError : TypeError;
  assert.ok(caught instanceof Class && !(caught instanceof MmapError), `expected a ${Class.name} ${code}, got ${String(caught)}`);
  assert.equal((caught as { code?: unknown }).code, code, (caught as Error).message);
  assert.match((caught as Error).message, message);
  return caught as Error;
}

async function _rejectsCode(fn: () => Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(fn, (error: unknown) => {
    assert.ok(error instanceof MmapError, `expected an MmapError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
}

/** A 4-page file with known contents on disk, and a live range of its first page. */
function fixture(t: ReturnType<typeof tempDir>, name = 'f.bin') {
  const path = t.path(name);
  const { file, allocator } = MmapFile.create(path, 4 * ALIGNMENT);
  const range = allocator.allocate(ALIGNMENT)!;
  file.writeRange(range, pattern(ALIGNMENT, 3));
  file.syncAll();
  return { path, file, allocator, range, before: snapshot(path) };
}

test('ERR_MMAP_LENGTH_MISMATCH: data shorter or longer than the range; nothing written', () => {
  const t = tempDir();
  try {
    const f = fixture(t);
    const r2 = f.allocator.allocate(ALIGNMENT)!;
    throwsCode(() => f.file.writeRange(r2, new Uint8Array(ALIGNMENT - 1).fill(9)), 'ERR_MMAP_LENGTH_MISMATCH', /exactly 4096 bytes.*got 4095/);
    throwsCode(() => f.file.writeRange(r2, new Uint8Array(ALIGNMENT + 1).fill(9)), 'ERR_MMAP_LENGTH_MISMATCH', /got 4097/);
    assert.throws(() => f.file.writeRangeAsync(r2, new Uint8Array(1)), { code: 'ERR_MMAP_LENGTH_MISMATCH' });
    f.file.syncAll();
    assert.equal(snapshot(f.path), f.before);
    f.file.close();
  } finally {
    t.cleanup();
  }
});

test('ERR_MMAP_BUFFER_TOO_SMALL: readRange into a short buffer leaves the buffer and file alone', async () => {
  const t = tempDir();
  try {
    const f = fixture(t);
    const small = new Uint8Array(ALIGNMENT - 1).fill(7);
    throwsCode(() => f.file.readRange(f.range, small), 'ERR_MMAP_BUFFER_TOO_SMALL', /4096.*4095|4095.*4096/);
    assert.ok(small.every((b) => b === 7));
    assert.throws(() => f.file.readRangeAsync(f.range, small), { code: 'ERR_MMAP_BUFFER_TOO_SMALL' });
    f.file.close();
    assert.equal(snapshot(f.path), f.before);
  } finally {
    t.cleanup();
  }
});

test('ERR_MMAP_INVALID_RANGE: plain objects, JSON copies and other values are not ranges', () => {
  const t = tempDir();
  try {
    const f = fixture(t);
    const forged = [{ start: 0, end: 4096 }, JSON.parse(JSON.stringify(f.range)), Object.create(Object.getPrototypeOf(f.range)), null, 42];
    for (const fake of forged) {
      throwsCode(() => f.file.writeRange(fake as AllocatedRange, new Uint8Array(ALIGNMENT)), 'ERR_MMAP_INVALID_RANGE', /allocat/i);
      throwsCode(() => f.file.readRange(fake as AllocatedRange, new Uint8Array(ALIGNMENT)), 'ERR_MMAP_INVALID_RANGE', /allocat/i);
    }
    f.file.close();
    assert.equal(snapshot(f.path), f.before);
  } finally {
    t.cleanup();
  }
});

test('ERR_MMAP_FOREIGN_RANGE: a range or receipt of another file is refused by both files', () => {
  const t = tempDir();
  try {
    const a = fixture(t, 'a.bin');
    const b = fixture(t, 'b.bin');
    throwsCode(() => a.file.writeRange(b.range, new Uint8Array(ALIGNMENT)), 'ERR_MMAP_FOREIGN_RANGE', /another file/);
    throwsCode(() => a.file.readRange(b.range, new Uint8Array(ALIGNMENT)), 'ERR_MMAP_FOREIGN_RANGE', /another file/);
    const receiptB = b.file.writeRange(b.range, pattern(ALIGNMENT, 3));
    throwsCode(() => a.file.flushRange(receiptB), 'ERR_MMAP_FOREIGN_RANGE', /another file/);
    throwsCode(() => a.file.syncRange(receiptB), 'ERR_MMAP_FOREIGN_RANGE', /another file/);
    const transfer = b.allocator.allocate(ALIGNMENT)!.transfer();
    throwsCode(() => a.file.receiveRange(transfer), 'ERR_MMAP_FOREIGN_RANGE', /another file|other file|not/);
    a.file.close();
    b.file.close();
    assert.equal(snapshot(a.path), a.before);
    assert.equal(snapshot(b.path), b.before);
  } finally {
    t.cleanup();
  }
});

test('ERR_MMAP_RANGE_CONSUMED: a split or transferred range is dead; ERR_MMAP_RANGE_CLAIMED: a transfer claims once', () => {
  const t = tempDir();
  try {
    const f = fixture(t);
    const big = f.allocator.allocate(2 * ALIGNMENT)!;
    const split = big.splitAtAlignUp(big.start + 100);
    assert.equal(split.kind, 'split');
    assert.equal(big.isLive, false);
    throwsCode(() => f.file.writeRange(big, new Uint8Array(big.length)), 'ERR_MMAP_RANGE_CONSUMED', /split|transfer|consumed/i);
    throwsCode(() => big.splitAtAlignDown(big.start), 'ERR_MMAP_RANGE_CONSUMED', /./);
    throwsCode(() => big.transfer(), 'ERR_MMAP_RANGE_CONSUMED', /./);
    const moved = f.allocator.allocate(ALIGNMENT)!;
    const ticket = moved.transfer();
    throwsCode(() => f.file.writeRange(moved, new Uint8Array(ALIGNMENT)), 'ERR_MMAP_RANGE_CONSUMED', /./);
    const received = f.file.receiveRange(ticket);
    assert.equal(received.start, moved.start);
    throwsCode(() => f.file.receiveRange(ticket), 'ERR_MMAP_RANGE_CLAIMED', /already claimed/);
    throwsCode(() => f.file.receiveRange({ ...ticket, ticket: ticket.ticket + 1000 }), 'ERR_MMAP_RANGE_CLAIMED', /./);
    throwsCode(() => f.file.receiveRange({ ...ticket, start: 0 }), 'ERR_MMAP_RANGE_CLAIMED', /./);
    throwsCode(() => f.file.receiveRange({ kind: 'nope' } as never), 'ERR_MMAP_INVALID_ARGUMENT', /transfer\(\)/);
    f.file.syncAll();
    f.file.close();
    assert.equal(snapshot(f.path), f.before);
  } finally {
    t.cleanup();
  }
});

test('ERR_MMAP_INVALID_RECEIPT: flushRange and syncRange take only a genuine receipt', async () => {
  const t = tempDir();
  try {
    const f = fixture(t);
    for (const fake of [{ start: 0, end: 4096 }, null, 'receipt']) {
      throwsCode(() => f.file.flushRange(fake as unknown as WriteReceipt), 'ERR_MMAP_INVALID_RECEIPT', /WriteReceipt/);
      throwsCode(() => f.file.syncRange(fake as unknown as WriteReceipt), 'ERR_MMAP_INVALID_RECEIPT', /WriteReceipt/);
      await rejectsCodeOrThrows(() => f.file.flushRangeAsync(fake as unknown as WriteReceipt), 'ERR_MMAP_INVALID_RECEIPT');
    }
    f.file.close();
    assert.equal(snapshot(f.path), f.before);
  } finally {
    t.cleanup();
  }
});

/** Async forms may throw synchronously for argument errors or reject; either must carry the code. */
async function rejectsCodeOrThrows(fn: () => Promise<unknown>, code: string): Promise<void> {
  let p: Promise<unknown>;
  try {
    p = fn();
  } catch (error) {
    assert.equal((error as MmapError).code, code);
    return;
  }
  await assert.rejects(p, { code });
}

test('ERR_MMAP_OUT_OF_BOUNDS, ERR_OUT_OF_RANGE and ERR_INVALID_ARG_TYPE: raw offsets are checked; the file is unchanged', async () => {
  const t = tempDir();
  try {
    const path = t.path('raw.bin');
    const raw = RawMmapFile.create(path, 10_000);
    raw.writeAt(0, pattern(10_000, 5));
    raw.syncAll();
    const before = snapshot(path);
    const page = new Uint8Array(ALIGNMENT).fill(1);
    throwsCode(() => raw.writeAt(10_000 - ALIGNMENT + 1, page), 'ERR_MMAP_OUT_OF_BOUNDS', /10000/);
    throwsCode(() => raw.writeAt(10_000n, new Uint8Array(1)), 'ERR_MMAP_OUT_OF_BOUNDS', /10000/);
    throwsArg(() => raw.writeAt(2n ** 60n, page), 'ERR_OUT_OF_RANGE', /"offset".*2\^53 - 1. Received 1152921504606846976n/);
    throwsCode(() => raw.writeAt(Number.MAX_SAFE_INTEGER, page), 'ERR_MMAP_OUT_OF_BOUNDS', /./);
    for (const bad of [-1, 1.5, NaN, Infinity, -Infinity, 2 ** 53]) {
      throwsArg(() => raw.writeAt(bad, page), 'ERR_OUT_OF_RANGE', /The value of "offset" is out of range. It must be an integer >= 0/);
    }
    for (const bad of ['0', null, undefined, Symbol('s'), {}, { valueOf: () => 0 }]) {
      throwsArg(() => raw.writeAt(bad as never, page), 'ERR_INVALID_ARG_TYPE', /The "offset" argument must be of type number or bigint/);
    }
    throwsCode(() => raw.readAt(9_999, new Uint8Array(2)), 'ERR_MMAP_OUT_OF_BOUNDS', /./);
    throwsCode(() => raw.readSlice(0, 10_001), 'ERR_MMAP_OUT_OF_BOUNDS', /./);
    throwsCode(() => raw.fill(9_000, 1_001, 1), 'ERR_MMAP_OUT_OF_BOUNDS', /./);
    throwsArg(() => raw.fill(0, 1, 256), 'ERR_OUT_OF_RANGE', /"value".*a byte, an integer from 0 to 255. Received 256/);
    throwsCode(() => raw.zero(10_000, 1), 'ERR_MMAP_OUT_OF_BOUNDS', /./);
    throwsCode(() => raw.flushRange(0, 10_001), 'ERR_MMAP_OUT_OF_BOUNDS', /./);
    throwsCode(() => raw.syncRange(5_000, 5_001), 'ERR_MMAP_OUT_OF_BOUNDS', /./);
    throwsArg(() => raw.writeAt(0, 'text' as never), 'ERR_INVALID_ARG_TYPE', /"data" argument must be an instance of Buffer, TypedArray or DataView/);
    await rejectsCodeOrThrows(() => raw.writeAtAsync(10_000, page), 'ERR_MMAP_OUT_OF_BOUNDS');
    await rejectsCodeOrThrows(() => raw.readAtAsync(10_000, page), 'ERR_MMAP_OUT_OF_BOUNDS');
    await rejectsCodeOrThrows(() => raw.syncRangeAsync(0, 10_001), 'ERR_MMAP_OUT_OF_BOUNDS');
    raw.close();
    assert.equal(snapshot(path), before);
    throwsCode(() => alignUp(Number.MAX_SAFE_INTEGER), 'ERR_MMAP_OUT_OF_BOUNDS', /2\^53/);
    throwsArg(() => alignUp(-1n), 'ERR_OUT_OF_RANGE', /2\^53/);
  } finally {
    t.cleanup();
  }
});

test('create and open refuse bad arguments and leave no file, or the old one untouched', async () => {
  const t = tempDir();
  try {
    const path = t.path('c.bin');
    throwsCode(() => MmapFile.create(path, 0), 'ERR_MMAP_EMPTY_FILE', /size 0.*at least 1 byte/);
    for (const bad of [-1, 1.5, NaN]) throwsArg(() => MmapFile.create(path, bad), 'ERR_OUT_OF_RANGE', /"size"/);
    for (const bad of ['10', null]) throwsArg(() => MmapFile.create(path, bad as never), 'ERR_INVALID_ARG_TYPE', /"size"/);
    throwsArg(
      () => MmapFile.create(path, 4096, { allocator: 'parallel' as never }),
      'ERR_INVALID_ARG_VALUE',
      /'options.allocator' must be 'sequential' or 'concurrent'. Received type string \("parallel"\)/,
    );
    throwsArg(() => MmapFile.create('', 4096), 'ERR_INVALID_ARG_VALUE', /'path' must be a non-empty string/);
    throwsArg(() => MmapFile.create('a\0b', 4096), 'ERR_INVALID_ARG_VALUE', /'path' must be a string without null bytes/);
    throwsArg(() => MmapFile.create(42 as never, 4096), 'ERR_INVALID_ARG_TYPE', /"path" argument must be of type string or an instance of URL. Received 42/);
    throwsArg(() => MmapFile.create(path, 4096, 'fast' as never), 'ERR_INVALID_ARG_TYPE', /"options" argument must be of type object/);
    throwsArg(() => MmapFile.create(path, 4096, { mode: 0o10000 }), 'ERR_OUT_OF_RANGE', /options.mode/);
    throwsArg(() => MmapFile.create(path, 4096, { sparse: 'yes' as never }), 'ERR_INVALID_ARG_TYPE', /options.sparse/);
    assert.equal(existsSync(path), false);
    await assert.rejects(MmapFile.createAsync(path, 0), { code: 'ERR_MMAP_EMPTY_FILE' });
    assert.equal(existsSync(path), false);

    // An existing file is never touched by a failed create.
    writeFileSync(path, pattern(5000, 8));
    const before = snapshot(path);
    const e = throwsCode(() => MmapFile.create(path, 4096, { exclusive: true }), 'EEXIST', /EEXIST/);
    assert.equal(e.syscall, 'open');
    assert.equal(e.path, path);
    assert.ok(typeof e.errno === 'number' && e.errno < 0);
    await assert.rejects(RawMmapFile.createAsync(path, 4096, { exclusive: true }), { code: 'EEXIST', syscall: 'open' });
    assert.equal(snapshot(path), before);

    // Opening: missing, empty, a directory, a bad saved state.
    const missing = throwsCode(() => MmapFile.open(t.path('missing.bin')), 'ENOENT', /ENOENT/);
    assert.equal(missing.path, t.path('missing.bin'));
    assert.equal(missing.syscall, 'open');
    await assert.rejects(MmapFile.openAsync(t.path('missing.bin')), { code: 'ENOENT', syscall: 'open' });
    writeFileSync(t.path('empty.bin'), '');
    throwsCode(() => MmapFile.open(t.path('empty.bin')), 'ERR_MMAP_EMPTY_FILE', /is empty/);
    throwsCode(() => RawMmapFile.open(t.path('empty.bin')), 'ERR_MMAP_EMPTY_FILE', /is empty/);
    await assert.rejects(MmapFile.openAsync(t.path('empty.bin')), { code: 'ERR_MMAP_EMPTY_FILE' });
    mkdirSync(t.path('dir'));
    const dirError = throwsCode(() => MmapFile.open(t.path('dir')), 'EISDIR', /EISDIR/);
    assert.equal(dirError.path, t.path('dir'));
    for (const state of [
      null,
      { kind: 'x', nextPos: 0, totalSize: 5000 },
      { kind: 'sequential', nextPos: 100, totalSize: 5000 },
      { kind: 'sequential', nextPos: 8192, totalSize: 5000 },
      { kind: 'sequential', nextPos: 0, totalSize: 4096 },
    ]) {
      throwsCode(() => MmapFile.open(path, { allocatorState: state as never }), 'ERR_MMAP_INVALID_STATE', /allocatorState|size|file/);
    }
    assert.equal(snapshot(path), before);
  } finally {
    t.cleanup();
  }
});

test('ERR_MMAP_CLOSED: every method after close, sync and async, and the file is unchanged', async () => {
  const t = tempDir();
  try {
    const f = fixture(t);
    const spare = f.allocator.allocate(ALIGNMENT)!;
    const receipt = f.file.writeRange(f.range, pattern(ALIGNMENT, 3));
    f.file.syncAll();
    f.file.close();
    f.file.close(); // closing twice is harmless
    assert.equal(f.file.isClosed, true);
    const page = new Uint8Array(ALIGNMENT);
    const calls: [string, () => unknown][] = [
      ['writeRange', () => f.file.writeRange(spare, page)],
      ['readRange', () => f.file.readRange(f.range, page)],
      ['flushRange', () => f.file.flushRange(receipt)],
      ['syncRange', () => f.file.syncRange(receipt)],
      ['flush', () => f.file.flush()],
      ['syncAll', () => f.file.syncAll()],
      ['share', () => f.file.share()],
      ['writeRangeAsync', () => f.file.writeRangeAsync(spare, page)],
      ['readRangeAsync', () => f.file.readRangeAsync(f.range, page)],
    ];
    for (const [_name, call] of calls) throwsCode(call, 'ERR_MMAP_CLOSED', /closed/);
    for (const call of [() => f.file.flushAsync(), () => f.file.syncAllAsync(), () => f.file.flushRangeAsync(receipt), () => f.file.syncRangeAsync(receipt)]) {
      await rejectsCodeOrThrows(call, 'ERR_MMAP_CLOSED');
    }
    const raw = RawMmapFile.open(f.path);
    raw.close();
    for (const call of [
      () => raw.writeAt(0, page),
      () => raw.readAt(0, page),
      () => raw.readSlice(0, 1),
      () => raw.fill(0, 1, 1),
      () => raw.zero(0, 1),
      () => raw.flushRange(0, 1),
      () => raw.syncRange(0, 1),
      () => raw.flush(),
      () => raw.syncAll(),
    ]) {
      throwsCode(call, 'ERR_MMAP_CLOSED', /closed/);
    }
    await rejectsCodeOrThrows(() => raw.writeAtAsync(0, page), 'ERR_MMAP_CLOSED');
    assert.equal(snapshot(f.path), f.before);
  } finally {
    t.cleanup();
  }
});

test('MmapError looks like a Node fs error', () => {
  const e = throwsCode(() => MmapFile.open('/nonexistent-dir/x.bin'), 'ENOENT', /no such file/i);
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'MmapError');
  assert.equal(e.errno, -2);
  assert.equal(e.syscall, 'open');
  assert.equal(e.path, '/nonexistent-dir/x.bin');
});
