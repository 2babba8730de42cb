// { signal } on MemoryMappedFile's and MappedSegment's async calls. With
// libuv's pool kept busy (pbkdf2 on every thread) a pooled call is still
// queued when its signal aborts, so the rejection must come from the
// abort. Then: Node's AbortError, no listener left on the signal, an
// aborted read never writes its target, an aborted open leaves no mapping,
// an aborted waitAsync really ends its wait thread (a child process that
// would otherwise stay alive exits), an already-aborted signal starts
// nothing, and the file stays usable.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { MemoryMappedFile, inspectNative } from 'ranged-mmap';
import { abortWhileQueued, eventually, isAbort, within } from './abort-helpers.js';
import { pattern, tempDir } from './helpers.js';

const t = tempDir('ranged-mmap-mmapio-abort-');
after(() => t.cleanup());
const SHORT = { timeout: 120_000 };
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Polls `done` until it holds (or fails the test after `ms`). */
test('waitAsync: an abort mid-wait rejects with an AbortError, leaves no listener, and the file waits again afterwards', SHORT, async () => {
  const m = MemoryMappedFile.createRw(t.path('w.bin'), 4096);
  const seg = m.segment(64, 64);
  for (const [name, w] of [
    ['file', m],
    ['segment', seg],
  ] as const) {
    const controller = new AbortController();
    const reason = new Error(`stop ${name}`);
    const p = w.waitAsync(0, 0, undefined, { signal: controller.signal });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    setTimeout(() => controller.abort(reason), 20);
    await within(assert.rejects(p, isAbort(reason)), 10_000, `${name} waitAsync abort`);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'no listener left');
  }
  // Usable after: a wait with a live signal ends on notify with 'ok'. The
  // word keeps its value (a store could land before the wait thread parks,
  // which would make it 'not-equal'); notifies repeat until one finds it parked.
  const ok = new AbortController();
  const waiting = m.waitAsync(0, 0, 10_000, { signal: ok.signal });
  const notifier = setInterval(() => m.notify(0), 10);
  try {
    assert.equal(await within(waiting, 15_000, 'waitAsync after an abort'), 'ok');
  } finally {
    clearInterval(notifier);
  }
  assert.equal(getEventListeners(ok.signal, 'abort').length, 0);
  // A timeout still reports 'timed-out' with a signal given.
  assert.equal(await m.waitAsync(4, 0, 10, { signal: ok.signal }), 'timed-out');
  m.close();
});

test('waitAsync: the abort ends the wait thread itself (a process with nothing else pending exits)', SHORT, async () => {
  // A parked wait keeps its process alive (as pending I/O does), so the
  // child exits by itself only if the abort woke and ended its thread; the
  // execFile timeout kills a child that stays.
  const path = t.path('child.bin');
  MemoryMappedFile.createRw(path, 4096).close();
  const script = `
    const { MemoryMappedFile } = require('ranged-mmap');
    const m = MemoryMappedFile.openRw(${JSON.stringify(path)});
    const c = new AbortController();
    m.waitAsync(0, 0, undefined, { signal: c.signal }).then(
      (r) => console.log('settled ' + r),
      (e) => console.log(e.name + ' ' + e.code),
    );
    setTimeout(() => c.abort(), 20);
  `;
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['-e', script], { cwd: ROOT, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stdout, stderr });
    });
  });
  assert.equal(out.code, 0, `the child exited by itself (stderr: ${out.stderr})`);
  assert.equal(out.stdout.trim(), 'AbortError ABORT_ERR');
});

test(
  'flush, touch, lock, readInto, updateRegion, resize and syncAll async calls reject on abort while queued, on the file and on a segment',
  SHORT,
  async () => {
    const m = MemoryMappedFile.createRw(t.path('q.bin'), 1 << 16);
    m.updateRegion(0, pattern(8192, 1));
    const seg = m.segment(4096, 8192);
    const calls: [string, (signal: AbortSignal) => Promise<unknown>][] = [
      ['flushAsync', (signal) => m.flushAsync({ signal })],
      ['flushRangeAsync', (signal) => m.flushRangeAsync(0, 4096, { signal })],
      ['touchPagesAsync', (signal) => m.touchPagesAsync({ signal })],
      ['touchPagesRangeAsync', (signal) => m.touchPagesRangeAsync(0, 8192, { signal })],
      ['lockAsync', (signal) => m.lockAsync(0, 4096, { signal })],
      ['lockAllAsync', (signal) => seg.lockAllAsync({ signal })],
      ['syncAllAsync', (signal) => m.syncAllAsync({ signal })],
      ['segment flushAsync', (signal) => seg.flushAsync({ signal })],
      ['segment touchPagesAsync', (signal) => seg.touchPagesAsync({ signal })],
      ['updateRegionAsync', (signal) => m.updateRegionAsync(16384, pattern(4096, 2), { signal })],
    ];
    for (const [name, call] of calls) {
      await within((await abortWhileQueued(call, name)).drained, 60_000, 'the pool');
    }
    m.unlockAll();

    // An aborted read never writes into its target, even once its copy ran.
    const target = new Uint8Array(4096).fill(0xee);
    const segTarget = new Uint8Array(4096).fill(0xee);
    let { drained } = await abortWhileQueued((signal) => m.readIntoAsync(0, target, { signal }), 'readIntoAsync');
    await within(drained, 60_000, 'the pool');
    ({ drained } = await abortWhileQueued((signal) => seg.readIntoAsync(0, segTarget, { signal }), 'segment readIntoAsync'));
    await within(drained, 60_000, 'the pool');
    const ok = new AbortController();
    const back = new Uint8Array(8192);
    // Queued after the aborted reads and awaited: by then the pool has run them.
    assert.equal(await m.readIntoAsync(0, back, { signal: ok.signal }), 8192);
    assert.deepEqual(back, pattern(8192, 1));
    assert.ok(
      target.every((b) => b === 0xee),
      'an aborted read wrote nothing into its target',
    );
    assert.ok(
      segTarget.every((b) => b === 0xee),
      'an aborted segment read wrote nothing into its target',
    );

    // The aborted updateRegionAsync may or may not have landed: all or nothing of it.
    const landed = m.asSlice(16384, 4096);
    assert.ok(landed.every((b) => b === 0) || Buffer.from(landed).equals(Buffer.from(pattern(4096, 2))), 'the aborted write is whole or absent');

    // Usable after: every call again, with a signal that does not abort.
    const signal = ok.signal;
    await m.updateRegionAsync(16384, pattern(4096, 3), { signal });
    await seg.updateRegionAsync(0, pattern(128, 4), { signal });
    await m.flushAsync({ signal });
    await m.flushRangeAsync(0, 4096, { signal });
    await seg.flushRangeAsync(0, 128, { signal });
    await m.touchPagesAsync({ signal });
    await seg.touchPagesRangeAsync(0, 4096, { signal });
    await m.lockAsync(0, 4096, { signal });
    m.unlock(0, 4096);
    await seg.lockAllAsync({ signal });
    seg.unlockAll();
    await m.syncAllAsync({ signal });
    const check = new Uint8Array(4096);
    assert.equal(await seg.readIntoAsync(0, check, { signal }), 4096);
    assert.deepEqual(check.subarray(0, 128), pattern(128, 4));
    assert.deepEqual(m.asSlice(16384, 4096), pattern(4096, 3));
    assert.equal(getEventListeners(signal, 'abort').length, 0);
    m.close();
  },
);

test('resizeAsync: an abort while queued rejects at once; the file then resizes again normally', SHORT, async () => {
  const m = MemoryMappedFile.createRw(t.path('r.bin'), 1 << 16);
  m.updateRegion(0, pattern(4096, 5));
  const { drained } = await abortWhileQueued((signal) => m.resizeAsync(1 << 17, { signal }), 'resizeAsync');
  await within(drained, 60_000, 'the pool');
  const ok = new AbortController();
  await m.resizeAsync(1 << 18, { signal: ok.signal });
  assert.equal(m.length, 1 << 18);
  assert.deepEqual(m.asSlice(0, 4096), pattern(4096, 5));
  await m.resizeAsync(1 << 16, { signal: ok.signal });
  assert.equal(m.length, 1 << 16);
  assert.equal(getEventListeners(ok.signal, 'abort').length, 0);
  m.close();
});

test(
  'openRoAsync, openRwAsync, openCowAsync, builder openAsync: an abort while queued rejects, and the mapping that arrives later is closed',
  SHORT,
  async () => {
    const path = t.path('o.bin');
    MemoryMappedFile.createRw(path, 1 << 16).close();
    const base = inspectNative().liveMappings;
    const calls: [string, (signal: AbortSignal) => Promise<MemoryMappedFile>][] = [
      ['openRoAsync', (signal) => MemoryMappedFile.openRoAsync(path, { signal })],
      ['openRwAsync', (signal) => MemoryMappedFile.openRwAsync(path, { signal, touchHint: 'eager' })],
      ['openCowAsync', (signal) => MemoryMappedFile.openCowAsync(path, { signal })],
      ['builder openAsync', (signal) => MemoryMappedFile.builder(path).mode('ro').openAsync({ signal })],
    ];
    for (const [name, call] of calls) {
      await within((await abortWhileQueued(call, name)).drained, 60_000, 'the pool');
      await eventually(() => inspectNative().liveMappings === base, 30_000, `${name}: the late mapping is closed`);
    }
    const ok = new AbortController();
    const m = await MemoryMappedFile.openRwAsync(path, { signal: ok.signal });
    ok.abort(new Error('after the open'));
    assert.equal(m.isClosed, false, 'an abort after the open settled closes nothing');
    m.updateRegion(0, pattern(16, 6));
    assert.deepEqual(m.asSlice(0, 16), pattern(16, 6));
    m.close();
    assert.equal(inspectNative().liveMappings, base);
  },
);

test('an already-aborted signal rejects every call at once and changes nothing; a bad signal is a type error', SHORT, async () => {
  const path = t.path('a.bin');
  const m = MemoryMappedFile.createRw(path, 1 << 16);
  m.updateRegion(0, pattern(4096, 7));
  const seg = m.segment(0, 4096);
  const reason = new Error('already');
  const signal = AbortSignal.abort(reason);
  const base = inspectNative().liveMappings;
  const target = new Uint8Array(4096);
  const flushes = m.flushStats.flushes;
  const calls: [string, () => Promise<unknown>][] = [
    ['waitAsync', () => m.waitAsync(0, 0, undefined, { signal })],
    ['segment waitAsync', () => seg.waitAsync(0, 0, 1000, { signal })],
    ['flushAsync', () => m.flushAsync({ signal })],
    ['flushRangeAsync', () => m.flushRangeAsync(0, 16, { signal })],
    ['readIntoAsync', () => m.readIntoAsync(0, target, { signal })],
    ['segment readIntoAsync', () => seg.readIntoAsync(0, target, { signal })],
    ['updateRegionAsync', () => m.updateRegionAsync(0, pattern(4096, 8), { signal })],
    ['segment updateRegionAsync', () => seg.updateRegionAsync(0, pattern(4096, 8), { signal })],
    ['touchPagesAsync', () => m.touchPagesAsync({ signal })],
    ['touchPagesRangeAsync', () => m.touchPagesRangeAsync(0, 4096, { signal })],
    ['lockAsync', () => m.lockAsync(0, 4096, { signal })],
    ['lockAllAsync', () => m.lockAllAsync({ signal })],
    ['resizeAsync', () => m.resizeAsync(1 << 17, { signal })],
    ['syncAllAsync', () => m.syncAllAsync({ signal })],
    ['openRoAsync', () => MemoryMappedFile.openRoAsync(path, { signal })],
    ['openRwAsync', () => MemoryMappedFile.openRwAsync(path, { signal })],
    ['openCowAsync', () => MemoryMappedFile.openCowAsync(path, { signal })],
    ['builder openAsync', () => MemoryMappedFile.builder(path).openAsync({ signal })],
  ];
  for (const [name, call] of calls) {
    await within(assert.rejects(call(), isAbort(reason), name), 10_000, name);
  }
  assert.equal(inspectNative().liveMappings, base, 'no open was started');
  assert.ok(
    target.every((b) => b === 0),
    'no read was started',
  );
  assert.deepEqual(m.asSlice(0, 4096), pattern(4096, 7), 'no write was started');
  assert.equal(m.length, 1 << 16, 'no resize was started');
  assert.equal(m.flushStats.flushes, flushes, 'no flush was counted');
  assert.equal(getEventListeners(signal, 'abort').length, 0);
  await assert.rejects(
    () => m.flushAsync({ signal: 'x' as never }),
    (e) => (e as { code?: unknown }).code === 'ERR_INVALID_ARG_TYPE',
  );
  await assert.rejects(
    () => m.waitAsync(0, 0, 10, 3 as never),
    (e) => (e as { code?: unknown }).code === 'ERR_INVALID_ARG_TYPE',
  );
  await assert.rejects(
    () => MemoryMappedFile.openRoAsync(path, { signal: {} as never }),
    (e) => (e as { code?: unknown }).code === 'ERR_INVALID_ARG_TYPE',
  );
  m.close();
});
