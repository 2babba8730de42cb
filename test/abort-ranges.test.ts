// { signal } on MmapFile's and RawMmapFile's pooled calls: with libuv's
// pool kept busy (pbkdf2 jobs on every thread) the call is still queued
// when the signal aborts, so the rejection must come from the abort, not
// from the job. Then: Node's AbortError shape, no listener left, the
// range busy until the queued copy ends, an aborted read never writes into
// its target later, an already-aborted signal changes nothing, and the
// file stays usable.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { abortWhileQueued, eventually, isAbort, within } from './abort-helpers.js';
import { getEventListeners } from 'node:events';
import { MmapFile, RawMmapFile, inspectNative } from 'ranged-mmap';
import { tempDir, pattern } from './helpers.js';

const t = tempDir('ranged-mmap-abort-');
after(() => t.cleanup());
test('MmapFile: writeRangeAsync, readRangeAsync, flushRangeAsync, syncRangeAsync, flushAsync, syncAllAsync reject on abort while queued; the range stays busy until the copy ends; an aborted read never writes its target', async () => {
  const { file, allocator } = MmapFile.create(t.path('m.bin'), 1 << 20);
  const range = allocator.allocate(4096)!;
  const receipt = file.writeRange(range, pattern(4096, 1));

  let { drained } = await abortWhileQueued((signal) => file.writeRangeAsync(range, pattern(4096, 2), { signal }), 'writeRangeAsync');
  assert.throws(
    () => range.transfer(),
    (e) => (e as { code?: unknown }).code === 'ERR_MMAP_RANGE_BUSY',
    'busy while the queued copy has not run',
  );
  await within(drained, 60_000, 'the pool');

  const target = new Uint8Array(4096).fill(0xee);
  ({ drained } = await abortWhileQueued((signal) => file.readRangeAsync(range, target, { signal }), 'readRangeAsync'));
  await within(drained, 60_000, 'the pool');
  // Once the queued read has run (the range is idle again), the target is still untouched.
  const deadline = Date.now() + 30_000;
  for (let idle = false; !idle; ) {
    try {
      range.transfer(); // refused while the queued read is in flight
      idle = true;
    } catch (e) {
      assert.equal((e as { code?: unknown }).code, 'ERR_MMAP_RANGE_BUSY');
      assert.ok(Date.now() < deadline, 'the queued read ends');
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  assert.ok(
    target.every((b) => b === 0xee),
    'an aborted read wrote nothing into its target',
  );

  for (const [name, call] of [
    ['flushRangeAsync', (signal: AbortSignal) => file.flushRangeAsync(receipt, { signal })],
    ['syncRangeAsync', (signal: AbortSignal) => file.syncRangeAsync(receipt, { signal })],
    ['flushAsync', (signal: AbortSignal) => file.flushAsync({ signal })],
    ['syncAllAsync', (signal: AbortSignal) => file.syncAllAsync({ signal })],
  ] as const) {
    await within((await abortWhileQueued(call, name)).drained, 60_000, 'the pool');
  }

  // Usable after: the same calls with a signal that does not abort.
  const ok = new AbortController();
  const low = allocator.allocate(4096)!;
  await file.writeRangeAsync(low, pattern(4096, 3), { signal: ok.signal });
  const back = new Uint8Array(4096);
  assert.equal(await file.readRangeAsync(low, back, { signal: ok.signal }), 4096);
  assert.deepEqual(back, pattern(4096, 3));
  await file.syncAllAsync({ signal: ok.signal });
  assert.equal(getEventListeners(ok.signal, 'abort').length, 0);
  file.close();
});

test('MmapFile / RawMmapFile: an already-aborted signal rejects at once and writes nothing; a bad signal or options is a type error, thrown before anything starts', async () => {
  const { file, allocator } = MmapFile.create(t.path('a.bin'), 1 << 16);
  const range = allocator.allocate(4096)!;
  file.writeRange(range, pattern(4096, 4));
  const reason = new Error('already');
  const signal = AbortSignal.abort(reason);
  await assert.rejects(file.writeRangeAsync(range, pattern(4096, 5), { signal }), isAbort(reason));
  const target = new Uint8Array(4096);
  await assert.rejects(file.readRangeAsync(range, target, { signal }), isAbort(reason));
  assert.ok(target.every((b) => b === 0));
  await assert.rejects(file.syncAllAsync({ signal }), isAbort(reason));
  const back = new Uint8Array(4096);
  file.readRange(range, back);
  assert.deepEqual(back, pattern(4096, 4), 'nothing was written');
  assert.doesNotThrow(() => range.transfer(), 'the range was never made busy');
  assert.throws(
    () => file.flushAsync({ signal: 'x' as never }),
    (e) => (e as { code?: unknown }).code === 'ERR_INVALID_ARG_TYPE',
  );
  assert.throws(
    () => file.flushAsync(3 as never),
    (e) => (e as { code?: unknown }).code === 'ERR_INVALID_ARG_TYPE',
  );
  file.close();

  const raw = RawMmapFile.create(t.path('r.bin'), 1 << 16);
  raw.writeAt(0, pattern(4096, 6));
  await assert.rejects(raw.writeAtAsync(0, pattern(4096, 7), { signal }), isAbort(reason));
  await assert.rejects(raw.fillAsync(0, 4096, 9, { signal }), isAbort(reason));
  await assert.rejects(raw.readAtAsync(0, target, { signal }), isAbort(reason));
  await assert.rejects(raw.flushRangeAsync(0, 4096, { signal }), isAbort(reason));
  await assert.rejects(raw.syncRangeAsync(0, 4096, { signal }), isAbort(reason));
  assert.ok(target.every((b) => b === 0));
  const rawBack = new Uint8Array(4096);
  raw.readAt(0, rawBack);
  assert.deepEqual(rawBack, pattern(4096, 6), 'nothing was written');
  assert.equal(getEventListeners(signal, 'abort').length, 0);
  raw.close();
});

test('RawMmapFile: writeAtAsync, readAtAsync, fillAsync, flushRangeAsync, syncRangeAsync reject on abort while queued; an aborted read never writes its target; the file stays usable', async () => {
  const raw = RawMmapFile.create(t.path('raw.bin'), 1 << 20);
  raw.writeAt(0, pattern(8192, 1));
  for (const [name, call] of [
    ['writeAtAsync', (signal: AbortSignal) => raw.writeAtAsync(8192, pattern(4096, 2), { signal })],
    ['fillAsync', (signal: AbortSignal) => raw.fillAsync(16384, 4096, 7, { signal })],
    ['flushRangeAsync', (signal: AbortSignal) => raw.flushRangeAsync(0, 8192, { signal })],
    ['syncRangeAsync', (signal: AbortSignal) => raw.syncRangeAsync(0, 8192, { signal })],
  ] as const) {
    await within((await abortWhileQueued(call, name)).drained, 60_000, 'the pool');
  }
  const target = new Uint8Array(4096).fill(0xee);
  const { drained } = await abortWhileQueued((signal) => raw.readAtAsync(0, target, { signal }), 'readAtAsync');
  await within(drained, 60_000, 'the pool');
  // A read queued after the aborted one, awaited: the pool has run both.
  const ok = new AbortController();
  const back = new Uint8Array(8192);
  assert.equal(await raw.readAtAsync(0, back, { signal: ok.signal }), 8192);
  assert.deepEqual(back, pattern(8192, 1));
  assert.ok(
    target.every((b) => b === 0xee),
    'an aborted read wrote nothing into its target',
  );
  await raw.writeAtAsync(0, pattern(4096, 8), { signal: ok.signal });
  await raw.fillAsync(4096, 4096, 3, { signal: ok.signal });
  raw.readAt(0, back);
  assert.deepEqual(back.subarray(0, 4096), pattern(4096, 8));
  assert.ok(back.subarray(4096).every((b) => b === 3));
  assert.equal(getEventListeners(ok.signal, 'abort').length, 0);
  raw.close();
});

const OPEN_DEADLINE = { timeout: 120_000 };

test(
  'MmapFile.openAsync / RawMmapFile.openAsync: an already-aborted signal rejects and opens nothing; a bad signal is a type error',
  OPEN_DEADLINE,
  async () => {
    const path = t.path('open-a.bin');
    RawMmapFile.create(path, 1 << 16).close();
    const reason = new Error('already');
    const signal = AbortSignal.abort(reason);
    const base = inspectNative().liveMappings;
    await within(assert.rejects(MmapFile.openAsync(path, { signal }), isAbort(reason)), 10_000, 'MmapFile.openAsync');
    await within(assert.rejects(MmapFile.openAsync(path, { allocator: 'concurrent', signal }), isAbort(reason)), 10_000, 'MmapFile.openAsync concurrent');
    await within(assert.rejects(RawMmapFile.openAsync(path, { signal }), isAbort(reason)), 10_000, 'RawMmapFile.openAsync');
    assert.equal(inspectNative().liveMappings, base, 'no open was started');
    assert.equal(getEventListeners(signal, 'abort').length, 0);
    const typeError = (e: unknown) => (e as { code?: unknown }).code === 'ERR_INVALID_ARG_TYPE';
    await within(assert.rejects(MmapFile.openAsync(path, { signal: 'x' as never }), typeError), 10_000, 'MmapFile bad signal');
    await within(assert.rejects(RawMmapFile.openAsync(path, { signal: {} as never }), typeError), 10_000, 'RawMmapFile bad signal');
    await within(assert.rejects(RawMmapFile.openAsync(path, 3 as never), typeError), 10_000, 'RawMmapFile bad options');
    assert.equal(inspectNative().liveMappings, base, 'a refused call opens nothing');
  },
);

test('MmapFile.openAsync / RawMmapFile.openAsync: an abort while queued rejects, and the mapping that arrives later is closed', OPEN_DEADLINE, async () => {
  const path = t.path('open-q.bin');
  const raw = RawMmapFile.create(path, 1 << 16);
  raw.writeAt(0, pattern(4096, 3));
  raw.close();
  const base = inspectNative().liveMappings;
  const calls: [string, (signal: AbortSignal) => Promise<unknown>][] = [
    ['MmapFile.openAsync', (signal) => MmapFile.openAsync(path, { signal })],
    ['MmapFile.openAsync concurrent', (signal) => MmapFile.openAsync(path, { allocator: 'concurrent', signal })],
    ['RawMmapFile.openAsync', (signal) => RawMmapFile.openAsync(path, { signal })],
  ];
  for (const [name, call] of calls) {
    await within((await abortWhileQueued(call, name)).drained, 60_000, 'the pool');
    await eventually(() => inspectNative().liveMappings === base, 30_000, `${name}: the late mapping is closed`);
  }
});

test(
  'MmapFile.openAsync / RawMmapFile.openAsync: an open with a signal works, leaves no listener, and a later abort closes nothing',
  OPEN_DEADLINE,
  async () => {
    const path = t.path('open-ok.bin');
    const raw0 = RawMmapFile.create(path, 1 << 16);
    raw0.writeAt(0, pattern(4096, 5));
    raw0.close();
    const base = inspectNative().liveMappings;

    const ok = new AbortController();
    const opened = await within(MmapFile.openAsync(path, { allocator: 'concurrent', signal: ok.signal }), 30_000, 'MmapFile.openAsync');
    assert.equal(getEventListeners(ok.signal, 'abort').length, 0, 'no listener left after the open');
    const raw = await within(RawMmapFile.openAsync(path, { signal: ok.signal }), 30_000, 'RawMmapFile.openAsync');
    assert.equal(getEventListeners(ok.signal, 'abort').length, 0, 'no listener left after the open');
    assert.equal(inspectNative().liveMappings, base + 2);
    ok.abort(new Error('after the opens'));
    assert.equal(opened.allocator.remaining, 1 << 16);
    const range = opened.allocator.allocate(4096)!;
    const back = new Uint8Array(4096);
    opened.file.readRange(range, back);
    assert.deepEqual(back, pattern(4096, 5), 'an abort after the open settled closes nothing');
    raw.writeAt(4096, pattern(16, 6));
    const rawBack = new Uint8Array(16);
    raw.readAt(4096, rawBack);
    assert.deepEqual(rawBack, pattern(16, 6));
    opened.file.close();
    raw.close();
    assert.equal(inspectNative().liveMappings, base);

    // A failing open with a signal rejects with its own error and leaves no listener.
    const live = new AbortController();
    const missing = t.path('missing.bin');
    const notFound = (e: unknown) => (e as { code?: unknown }).code === 'ENOENT';
    await within(assert.rejects(MmapFile.openAsync(missing, { signal: live.signal }), notFound), 30_000, 'MmapFile missing');
    await within(assert.rejects(RawMmapFile.openAsync(missing, { signal: live.signal }), notFound), 30_000, 'RawMmapFile missing');
    assert.equal(getEventListeners(live.signal, 'abort').length, 0);
  },
);
