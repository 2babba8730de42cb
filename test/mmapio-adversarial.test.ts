// The attack classes of ATTACKS.md, probed on every public call of
// MemoryMappedFile, its segments, atomic views, iterators, watch handles and
// SharedAllocator, generically: every argument position of every call gets
// every bad value while the other arguments are good. Each must give a
// typed error (an MmapError code, or Node's ERR_INVALID_ARG_TYPE /
// ERR_OUT_OF_RANGE / ERR_INVALID_ARG_VALUE shape), run no user code, and
// leave the file byte-for-byte unchanged. Then the typed arrays that lie,
// buffers that change or vanish while an async call runs, close() with async
// calls in flight, and a worker terminated in the middle of calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { readFileSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { MemoryMappedFile, MmapError, SharedAllocator, PAGE_BYTES, inspectNative } from 'ranged-mmap';
import { snapshot, tempDir } from './helpers.js';
import { seedFile } from './mmapio-helpers.js';
import { WORKER_TEST } from './worker-helpers.js';

const SIZE = 4 * PAGE_BYTES;
const TYPED = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_URL_SCHEME']);

let ran = 0;
const userCode = (): never => {
  ran++;
  throw new Error('user code ran');
};
/** Values no numeric, bigint, string or boolean parameter may accept; none may run user code. */
function badValues(): [string, unknown][] {
  return [
    ['string', '1'],
    ['null', null],
    ['Symbol', Symbol('x')],
    ['boolean', true],
    ['object', {}],
    ['array', [1]],
    ['function', () => 1],
    ['valueOf', { valueOf: userCode, toString: userCode }],
    ['toPrimitive', { [Symbol.toPrimitive]: userCode }],
    ['getter', Object.defineProperty({}, 'length', { get: userCode })],
    ['Proxy', new Proxy({}, { get: userCode, getPrototypeOf: userCode, has: userCode, ownKeys: userCode, getOwnPropertyDescriptor: userCode })],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['-1', -1],
    ['0.5', 0.5],
    ['2**53', 2 ** 53],
    ['2**64', 2 ** 64],
    ['-1n', -1n],
    ['2n**53n', 2n ** 53n],
    ['2n**64n', 2n ** 64n],
    ['-(2n**70n)', -(2n ** 70n)],
    ['Number object', Object(1)],
    ['BigInt object', Object(1n)],
  ];
}

function typedError(e: unknown, what: string, allowSystem = false): void {
  assert.ok(e instanceof Error, `${what}: threw a non-Error ${String(e)}`);
  const code = (e as { code?: unknown }).code;
  assert.equal(typeof code, 'string', `${what}: an error without a code: ${e.message}`);
  const system = allowSystem && e instanceof MmapError && typeof e.errno === 'number' && typeof e.syscall === 'string';
  assert.ok(TYPED.has(code as string) || (code as string).startsWith('ERR_MMAP_') || system, `${what}: code ${String(code)} (${e.message})`);
  if (TYPED.has(code as string)) assert.ok(e instanceof TypeError || e instanceof RangeError, `${what}: ${String(code)} is not a TypeError/RangeError`);
}

/** Calls `fn`; it must throw (or reject) a typed error and leave `path` unchanged. A system error does not count here: a bad argument must be refused before any system call. */
async function refused(path: string, what: string, fn: () => unknown): Promise<void> {
  const before = snapshot(path);
  let outcome: unknown;
  try {
    outcome = fn();
  } catch (e) {
    typedError(e, what);
    assert.equal(snapshot(path), before, `${what}: the file changed`);
    return;
  }
  if (outcome instanceof Promise) {
    try {
      await outcome;
    } catch (e) {
      typedError(e, what);
      assert.equal(snapshot(path), before, `${what}: the file changed`);
      return;
    }
  }
  assert.fail(`${what}: accepted (returned ${typeof outcome === 'object' ? Object.prototype.toString.call(outcome) : String(outcome)})`);
}

/** A call with good arguments at every position, so one position at a time can be replaced. */
interface Probe {
  name: string;
  args: unknown[];
  call: (args: unknown[]) => unknown;
  /** Positions whose `undefined` means "the default" (skipped for undefined). */
  optional?: number[];
  /** Position -> labels of values that are legal there (a timeout may be Infinity or fractional). */
  legal?: Record<number, string[]>;
}

test('every argument position of every call refuses every bad value: typed error, no user code, file unchanged', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    const m = MemoryMappedFile.openRw(p);
    // The waited-on word differs from every `expected` used below, so an
    // accepted bad value returns at once ('not-equal') instead of blocking.
    const w32 = new Uint32Array(1);
    m.readInto(0, w32);
    assert.notEqual(w32[0], 0);
    m.atomicU32(PAGE_BYTES).store(7);
    const seg = m.segment(PAGE_BYTES, 2 * PAGE_BYTES);
    const a32 = m.atomicU32(8);
    const a64 = m.atomicU64(16);
    const s32 = seg.atomicU32(8);
    const s64 = seg.atomicU64(16);
    const windows: [string, typeof m | typeof seg][] = [
      ['file', m],
      ['segment', seg],
    ];
    const probes: Probe[] = [];
    for (const [wn, win] of windows) {
      const add = (name: string, args: unknown[], call: (a: unknown[]) => unknown, optional?: number[], legal?: Record<number, string[]>): void => {
        probes.push({ name: `${wn}.${name}`, args, call, ...(optional ? { optional } : {}), ...(legal ? { legal } : {}) });
      };
      const timeouts = { 2: ['Infinity', '0.5', '2**53', '2**64'] };
      add('asSlice', [0, 1], (a) => win.asSlice(a[0] as number, a[1] as number));
      add('asSliceMut', [0, 1], (a) => win.asSliceMut(a[0] as number, a[1] as number));
      add('updateRegion', [0], (a) => win.updateRegion(a[0] as number, new Uint8Array([1])));
      add('updateRegionAsync', [0], (a) => win.updateRegionAsync(a[0] as number, new Uint8Array([1])));
      add('readInto', [0], (a) => win.readInto(a[0] as number, new Uint8Array(1)));
      add('readIntoAsync', [0], (a) => win.readIntoAsync(a[0] as number, new Uint8Array(1)));
      add('flushRange', [0, 1], (a) => win.flushRange(a[0] as number, a[1] as number));
      add('flushRangeAsync', [0, 1], (a) => win.flushRangeAsync(a[0] as number, a[1] as number));
      add('atomicU32', [0], (a) => win.atomicU32(a[0] as number));
      add('atomicU64', [0], (a) => win.atomicU64(a[0] as number));
      add('atomicU32Slice', [0, 1], (a) => win.atomicU32Slice(a[0] as number, a[1] as number));
      add('atomicU64Slice', [0, 1], (a) => win.atomicU64Slice(a[0] as number, a[1] as number));
      add('advise', [0, 1, 'normal'], (a) => win.advise(a[0] as number, a[1] as number, a[2] as 'normal'));
      add('touchPagesRange', [0, 1], (a) => win.touchPagesRange(a[0] as number, a[1] as number));
      add('touchPagesRangeAsync', [0, 1], (a) => win.touchPagesRangeAsync(a[0] as number, a[1] as number));
      add('lock', [0, 1], (a) => win.lock(a[0] as number, a[1] as number));
      add('unlock', [0, 1], (a) => win.unlock(a[0] as number, a[1] as number));
      add('lockAsync', [0, 1], (a) => win.lockAsync(a[0] as number, a[1] as number));
      add('chunks', [1], (a) => win.chunks(a[0] as number));
      add('chunksMut', [1], (a) => win.chunksMut(a[0] as number));
      add('segment', [0, 1], (a) => win.segment(a[0] as number, a[1] as number));
      add('wait', [0, 0, 0], (a) => win.wait(a[0] as number, a[1] as number, a[2] as number), [2], timeouts);
      add('waitAsync', [0, 0, 0], (a) => win.waitAsync(a[0] as number, a[1] as number, a[2] as number), [2], timeouts);
      add('notify', [0, 1], (a) => win.notify(a[0] as number, a[1] as number), [1], { 1: ['Infinity', '2**53', '2**64'] });
    }
    probes.push({ name: 'file.resize', args: [SIZE], call: (a) => m.resize(a[0] as number) });
    probes.push({ name: 'file.resizeAsync', args: [SIZE], call: (a) => m.resizeAsync(a[0] as number) });
    // An options object is read field by field (getters run, by design: a
    // throwing one becomes a typed error); objects without the fields are legal.
    probes.push({
      name: 'file.watch',
      args: [() => {}, { intervalMs: 1000 }],
      call: (a) => m.watch(a[0] as () => void, a[1] as { intervalMs: number }),
      optional: [1],
      legal: { 0: ['function'], 1: ['object', 'array', 'getter', 'valueOf', 'toPrimitive', 'Number object', 'BigInt object'] },
    });
    probes.push({ name: 'file.watch intervalMs', args: [1000], call: (a) => m.watch(() => {}, { intervalMs: a[0] as number }), optional: [0] });
    probes.push({ name: 'file.requestHugePages', args: [false], call: (a) => m.requestHugePages(a[0] as boolean), optional: [0], legal: { 0: ['boolean'] } });
    for (const [an, u32] of [
      ['atomicU32', a32],
      ['segment atomicU32', s32],
    ] as const) {
      for (const op of ['store', 'add', 'sub', 'and', 'or', 'xor', 'exchange'] as const) {
        probes.push({ name: `${an}.${op}`, args: [0], call: (a) => u32[op](a[0] as number) });
      }
      probes.push({ name: `${an}.compareExchange`, args: [0xffffffff, 0], call: (a) => u32.compareExchange(a[0] as number, a[1] as number) });
    }
    for (const [an, u64] of [
      ['atomicU64', a64],
      ['segment atomicU64', s64],
    ] as const) {
      for (const op of ['store', 'add', 'sub', 'and', 'or', 'xor', 'exchange'] as const) {
        probes.push({ name: `${an}.${op}`, args: [0n], call: (a) => u64[op](a[0] as bigint), legal: { 0: ['2n**53n'] } });
      }
      probes.push({
        name: `${an}.compareExchange`,
        args: [2n ** 64n - 1n, 0n],
        call: (a) => u64.compareExchange(a[0] as bigint, a[1] as bigint),
        legal: { 0: ['2n**53n'], 1: ['2n**53n'] },
      });
    }
    // The good forms do what they should (so a refusal below is about the bad value).
    for (const probe of probes) {
      if (probe.name.endsWith('.wait') || probe.name.endsWith('waitAsync')) {
        assert.equal(await probe.call(probe.args), 'not-equal');
        continue;
      }
      const out = probe.call(probe.args);
      if (out instanceof Promise) await out;
      if (out !== null && typeof out === 'object' && 'close' in out && typeof out.close === 'function') (out as { close(): void }).close();
    }
    assert.ok(probes.length >= 80, `${probes.length} probes`);
    for (const probe of probes) {
      for (let i = 0; i < probe.args.length; i++) {
        for (const [label, bad] of badValues()) {
          const userCodeBefore = ran;
          const args = probe.args.slice();
          args[i] = bad;
          if (probe.legal?.[i]?.includes(label)) {
            const out = await probe.call(args); // legal: must work
            if (out !== null && typeof out === 'object' && 'close' in out && typeof out.close === 'function') (out as { close(): void }).close();
            continue;
          }
          await refused(p, `${probe.name} arg ${i} = ${label}`, () => probe.call(args));
          if (probe.name === 'file.watch' && i === 1) ran = userCodeBefore; // the Proxy's get trap ran, as getters of options do
        }
        if (!(probe.optional ?? []).includes(i)) {
          const args = probe.args.slice();
          args[i] = undefined;
          await refused(p, `${probe.name} arg ${i} = undefined`, () => probe.call(args));
        }
      }
    }
    assert.equal(ran, 0, 'no user code ran');
    // Extra arguments are ignored, and the process and the file are fine.
    assert.equal((m.asSlice as (...a: unknown[]) => Uint8Array)(0, 1, userCode, Symbol('x')).length, 1);
    assert.equal(ran, 0);
    m.close();
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('a segment cannot be tampered with: its state is private, the object frozen, the checks run on internal slots', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    const m = MemoryMappedFile.openRo(p);
    const seg = m.segment(PAGE_BYTES, PAGE_BYTES);
    assert.ok(Object.isFrozen(seg));
    assert.deepEqual(Reflect.ownKeys(seg), []);
    for (const key of ['base', 'core', 'length', 'start', 'mode']) {
      assert.throws(() => Object.defineProperty(seg, key, { value: key === 'core' ? { mode: 'rw' } : -PAGE_BYTES }), TypeError);
    }
    assert.equal(seg.start, PAGE_BYTES);
    assert.equal(seg.length, PAGE_BYTES);
    // The check-free helpers are not reachable.
    for (const name of ['span', 'piece', 'live', 'touch', 'memLock', 'atomicSpan', 'faultCheck', 'core', 'base']) {
      assert.equal((seg as unknown as Record<string, unknown>)[name], undefined, name);
    }
    // Methods called on something that is not a window refuse before acting.
    const before = snapshot(p);
    const fake = Object.create(seg) as typeof seg;
    assert.throws(() => fake.readInto(0, new Uint8Array(4)), TypeError);
    assert.throws(() => seg.updateRegion.call({ core: { mode: 'rw' }, base: 0 }, 0, new Uint8Array(4)), TypeError);
    assert.throws(() => Reflect.apply(m.atomicU32(0).load, {}, []), TypeError);
    assert.equal(snapshot(p), before);
    m.close();
  } finally {
    t.cleanup();
  }
});

test('typed arrays that lie, on every byte-taking call (sync and async, file and segment): lengths come from internal slots', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    const m = MemoryMappedFile.openRw(p);
    const seg = m.segment(PAGE_BYTES, PAGE_BYTES);
    class Lying extends Uint8Array {
      override get byteLength(): number {
        ran++;
        return 1 << 30;
      }
      override get length(): number {
        ran++;
        return 1 << 30;
      }
    }
    for (const [wn, win] of [
      ['file', m],
      ['segment', seg],
    ] as const) {
      const end = win.length;
      const writers: [string, (o: number, d: ArrayBufferView) => unknown][] = [
        ['updateRegion', (o, d) => win.updateRegion(o, d)],
        ['updateRegionAsync', (o, d) => win.updateRegionAsync(o, d)],
      ];
      const readers: [string, (o: number, d: ArrayBufferView) => unknown][] = [
        ['readInto', (o, d) => win.readInto(o, d)],
        ['readIntoAsync', (o, d) => win.readIntoAsync(o, d)],
      ];
      for (const [name, call] of [...writers, ...readers]) {
        const what = `${wn}.${name}`;
        // A subclass and an own getter claiming 1 GiB: the real 4 bytes are used.
        const sub = new Lying([1, 2, 3, 4]);
        const own = new Uint8Array([5, 6, 7, 8]);
        Object.defineProperty(own, 'byteLength', { get: userCode });
        Object.defineProperty(own, 'length', { get: userCode });
        for (const liar of [sub, own]) {
          const out = call(end - 4, liar);
          if (out instanceof Promise) assert.equal(await out, name.startsWith('read') ? 4 : undefined);
          else assert.equal(out, name.startsWith('read') ? 4 : undefined);
          await refused(p, `${what} liar past the end`, () => call(end - 3, liar));
        }
        // A Proxy over a Uint8Array is not a typed array; neither is a plain object posing as one.
        await refused(p, `${what} Proxy`, () => call(0, new Proxy(new Uint8Array(4), { get: userCode, getPrototypeOf: userCode })));
        await refused(p, `${what} array-like`, () => call(0, { byteLength: 4, length: 4, buffer: new ArrayBuffer(4), byteOffset: 0 } as unknown as Uint8Array));
        // Detached.
        const gone = new Uint8Array(4);
        structuredClone(gone.buffer, { transfer: [gone.buffer] });
        await refused(p, `${what} detached`, () => call(0, gone));
        // Zero length, odd byteOffset, DataView, a view on a SharedArrayBuffer,
        // a length-tracking view on a resizable ArrayBuffer: legal, exact bytes.
        assert.equal(await call(0, new Uint8Array(0)), name.startsWith('read') ? 0 : undefined);
        const sab = new Uint8Array(new SharedArrayBuffer(8), 3, 4);
        const rab = new Uint8Array(new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(8, { maxByteLength: 64 }), 1);
        for (const view of [new DataView(new ArrayBuffer(9), 1, 4), new Uint16Array(2), sab, rab]) {
          const len = (view as unknown as { byteLength: number }).byteLength;
          assert.equal(await call(end - len, view), name.startsWith('read') ? len : undefined);
        }
      }
    }
    assert.equal(ran, 0, 'no getter ran');
    m.close();
  } finally {
    t.cleanup();
  }
});

test('buffers that change while an async call runs: writes take the bytes at the call, reads refuse a target that shrank or left', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    const m = MemoryMappedFile.openRw(p);
    // updateRegionAsync: the bytes are taken at the call; transferring or
    // changing the source afterwards does not reach the file.
    const src = new Uint8Array(64).fill(0xab);
    const pending = m.updateRegionAsync(100, src);
    src.fill(0xcd);
    structuredClone(src.buffer, { transfer: [src.buffer] });
    await pending;
    assert.deepEqual([...readFileSync(p).subarray(100, 164)], new Array(64).fill(0xab));
    // readIntoAsync into a target that is transferred away, or a resizable
    // buffer shrunk, before the copy lands: ERR_MMAP_BUFFER_DETACHED, nothing written anywhere.
    const before = snapshot(p);
    const target = new Uint8Array(64);
    const r1 = m.readIntoAsync(0, target);
    structuredClone(target.buffer, { transfer: [target.buffer] });
    await assert.rejects(r1, { code: 'ERR_MMAP_BUFFER_DETACHED' });
    const rab = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer & { resize(n: number): void })(64, { maxByteLength: 64 });
    const tracking = new Uint8Array(rab);
    const r2 = m.segment(PAGE_BYTES, PAGE_BYTES).readIntoAsync(0, tracking);
    rab.resize(8);
    await assert.rejects(r2, { code: 'ERR_MMAP_BUFFER_DETACHED' });
    assert.deepEqual([...tracking], new Array(8).fill(0), 'nothing copied into the shrunk target');
    assert.equal(snapshot(p), before);
    m.close();
  } finally {
    t.cleanup();
  }
});

test('close() while async calls are in flight: every call settles (done or a typed error), nothing leaks, the file holds what completed', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    for (const closer of ['first open', 'reopened after a close with calls in flight'] as const) {
      const m = MemoryMappedFile.openRw(p);
      const seg = m.segment(PAGE_BYTES, PAGE_BYTES);
      const data = new Uint8Array(256).fill(closer === 'first open' ? 0x11 : 0x22);
      m.atomicU32(2 * PAGE_BYTES).store(0);
      m.atomicU32(2 * PAGE_BYTES - 4).store(0);
      const calls: Promise<unknown>[] = [
        m.updateRegionAsync(0, data),
        seg.updateRegionAsync(0, data),
        m.readIntoAsync(0, new Uint8Array(512)),
        seg.readIntoAsync(16, new Uint8Array(64)),
        m.flushAsync(),
        m.flushRangeAsync(0, 256),
        seg.flushAsync(),
        m.syncAllAsync(),
        m.waitAsync(2 * PAGE_BYTES, 0),
        seg.waitAsync(PAGE_BYTES - 4, 0, 60_000),
        m.touchPagesAsync(),
        seg.touchPagesRangeAsync(0, 100),
        m.lockAsync(0, 100),
        seg.lockAllAsync(),
      ];
      m.close();
      const settled = await Promise.allSettled(calls);
      await assert.rejects(m.touchPagesAsync(), { code: 'ERR_MMAP_CLOSED' });
      await assert.rejects(seg.touchPagesRangeAsync(0, 1), { code: 'ERR_MMAP_CLOSED' });
      for (const [i, s] of settled.entries()) {
        if (s.status === 'rejected') typedError(s.reason, `${closer} call ${i}`);
      }
      // The waits were woken by the close.
      for (const i of [8, 9]) {
        const s = settled[i]!;
        assert.equal(s.status, 'rejected', `wait ${i}`);
        assert.equal((s as PromiseRejectedResult).reason.code, 'ERR_MMAP_CLOSED');
      }
      // The writes were queued before close: they completed, honestly.
      assert.equal(settled[0]!.status, 'fulfilled');
      assert.equal(settled[1]!.status, 'fulfilled');
      const bytes = readFileSync(p);
      assert.equal(bytes[0], data[0]);
      assert.equal(bytes[PAGE_BYTES], data[0]);
      assert.equal(inspectNative().liveMappings, 0);
    }
  } finally {
    t.cleanup();
  }
});

test('a worker terminated in the middle of async copies, atomics and waits leaves no mapping behind; the file stays usable', WORKER_TEST, async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    const m = MemoryMappedFile.openRw(p);
    m.atomicU32(0).store(0);
    const baseline = inspectNative().liveMappings;
    const url = import.meta.resolve('ranged-mmap');
    for (let round = 0; round < 3; round++) {
      const w = new Worker(
        `const { workerData, parentPort } = require('node:worker_threads');
        import(workerData.url).then(({ MemoryMappedFile }) => {
          const m = MemoryMappedFile.fromShared(workerData.handle);
          const seg = m.segment(4096, 8192);
          void m.waitAsync(0, 0);
          void seg.waitAsync(0, seg.atomicU32(0).load());
          const data = new Uint8Array(4096).fill(7);
          const target = new Uint8Array(4096);
          let n = 0;
          const spin = () => {
            for (let i = 0; i < 50; i++) {
              m.atomicU64(8).add(1n);
              void seg.updateRegionAsync(0, data);
              void m.readIntoAsync(0, target);
              void m.flushAsync();
            }
            if (n++ === 2) parentPort.postMessage('busy');
            setImmediate(spin);
          };
          spin();
        });`,
        { eval: true, workerData: { url, handle: m.share() } },
      );
      await new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
      });
      await w.terminate();
    }
    // Every worker's attachment goes once its in-flight work has finished.
    for (let i = 0; i < 3000 && inspectNative().liveMappings !== baseline; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(inspectNative().liveMappings, baseline);
    assert.ok(m.atomicU64(8).load() > 0n);
    assert.equal(m.readInto(PAGE_BYTES, new Uint8Array(16)), 16);
    m.close();
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('iterators: close() or a shrink mid-iteration gives a typed error at the next step, never a stale view', () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    const m = MemoryMappedFile.openRw(p);
    const it = m.chunks(PAGE_BYTES)[Symbol.iterator]();
    assert.equal(it.next().value?.length, PAGE_BYTES);
    m.resize(PAGE_BYTES + 100);
    assert.throws(() => it.next(), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
    const segIt = m.segment(0, PAGE_BYTES).chunksMut(1024)[Symbol.iterator]();
    segIt.next();
    m.close();
    assert.throws(() => segIt.next(), { code: 'ERR_MMAP_CLOSED' });
    assert.throws(() => m.pages(), { code: 'ERR_MMAP_CLOSED' });
  } finally {
    t.cleanup();
  }
});

test('SharedAllocator.open and allocate refuse every bad value with a typed error and change neither file', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    const m = MemoryMappedFile.openRw(p);
    const alloc = SharedAllocator.open(m);
    const state = `${p}.alloc`;
    const stateBefore = snapshot(state);
    for (const [label, bad] of [
      ...badValues(),
      ['undefined', undefined],
      ['segment', m.segment(0, 16)],
      ['Proxy of a file', new Proxy(m, {})],
      ['Object.create(file)', Object.create(m)],
    ] as [string, unknown][]) {
      await refused(p, `open(${label})`, () => SharedAllocator.open(bad as MemoryMappedFile));
      if (label !== 'undefined') await refused(p, `allocate(${label})`, () => alloc.allocate(bad as number));
    }
    await refused(p, 'allocate(0)', () => alloc.allocate(0));
    for (const [label, statePath] of [
      ['number', 5],
      ['NUL', 'a\0b'],
      ['Symbol', Symbol('s')],
      ['http URL', new URL('http://x/y')],
    ] as [string, unknown][]) {
      await refused(p, `statePath ${label}`, () => SharedAllocator.open(m, { statePath: statePath as string }));
    }
    assert.equal(ran, 0);
    assert.equal(snapshot(state), stateBefore, 'the state file is unchanged');
    // Huge requests repeated never wrap the counter: the file is handed out once.
    let total = 0;
    for (let i = 0; i < 1000; i++) {
      const r = alloc.allocate(2 ** 53 - 1);
      if (r !== null) total += r.length;
    }
    assert.equal(total, SIZE);
    assert.equal(alloc.remaining, 0);
    alloc.close();
    assert.throws(() => alloc.allocate(1), { code: 'ERR_MMAP_CLOSED' });
    m.close();
  } finally {
    t.cleanup();
  }
});

test('the file truncated under the mapping while pages are touched (sync and on the pool): ERR_MMAP_FAULT, no crash, and every later call says so (DESIGN rule 9)', async () => {
  const t = tempDir();
  try {
    for (const which of ['sync', 'async'] as const) {
      const p = t.path(`${which}.bin`);
      seedFile(p, SIZE);
      const m = MemoryMappedFile.openRw(p);
      truncateSync(p, PAGE_BYTES);
      const fault = (e: unknown) => {
        typedError(e, which);
        assert.equal((e as MmapError).code, 'ERR_MMAP_FAULT', (e as Error).message);
        return true;
      };
      try {
        if (which === 'sync') assert.throws(() => m.touchPages(), fault);
        else await assert.rejects(m.touchPagesAsync(), fault);
        // The loss is recorded like a fault caught mid-copy: the first page
        // is still in the file, but the mapping no longer reaches all of
        // it, so reads and writes report the fault until the file is reopened.
        assert.throws(() => m.readInto(0, new Uint8Array(16)), fault);
      } finally {
        m.close();
      }
    }
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});

test('opens, creates and the builder refuse every bad path, size and option value: typed error, the path as it was', async () => {
  const t = tempDir();
  try {
    const p = t.path('a.bin');
    seedFile(p, SIZE);
    const dirBefore = (): string[] => readdirSync(t.dir).sort();
    const names = dirBefore();
    type Call = [string, (v: unknown) => unknown, string[]];
    // Labels legal at a position: a boolean for boolean setters; any object
    // without the option fields for an options object (read field by field).
    const optionLike = ['object', 'array', 'getter', 'valueOf', 'toPrimitive', 'Number object', 'BigInt object'];
    const calls: Call[] = [
      ['openRo path', (v) => MemoryMappedFile.openRo(v as string), []],
      ['openRw path', (v) => MemoryMappedFile.openRw(v as string), []],
      ['openCow path', (v) => MemoryMappedFile.openCow(v as string), []],
      ['openRwAsync path', (v) => MemoryMappedFile.openRwAsync(v as string), []],
      ['createRw path', (v) => MemoryMappedFile.createRw(v as string, 4096), []],
      ['createRw size', (v) => MemoryMappedFile.createRw(p, v as number), []],
      ['createRwAsync size', (v) => MemoryMappedFile.createRwAsync(p, v as number), []],
      ['openOrCreate size', (v) => MemoryMappedFile.openOrCreate(t.path('new.bin'), v as number), []],
      ['builder path', (v) => MemoryMappedFile.builder(v as string), []],
      ['builder.mode', (v) => MemoryMappedFile.builder(p).mode(v as 'rw'), []],
      ['builder.size', (v) => MemoryMappedFile.builder(p).size(v as number), []],
      ['builder.touchHint', (v) => MemoryMappedFile.builder(p).touchHint(v as 'lazy'), []],
      ['builder.hugePages', (v) => MemoryMappedFile.builder(p).hugePages(v as boolean), ['boolean']],
      ['builder.exclusive', (v) => MemoryMappedFile.builder(p).exclusive(v as boolean), ['boolean']],
      ['builder.sparse', (v) => MemoryMappedFile.builder(p).sparse(v as boolean), ['boolean']],
      ['builder.fileMode', (v) => MemoryMappedFile.builder(p).fileMode(v as number), []],
      ['builder.flushPolicy', (v) => MemoryMappedFile.builder(p).flushPolicy(v as 'manual'), []],
      ['openRw options', (v) => MemoryMappedFile.openRw(p, v as object), optionLike],
      ['openRw flushPolicy', (v) => MemoryMappedFile.openRw(p, { flushPolicy: v as 'manual' }), []],
      ['openRw touchHint', (v) => MemoryMappedFile.openRw(p, { touchHint: v as 'lazy' }), []],
      ['createRw options', (v) => MemoryMappedFile.createRw(t.path('new.bin'), 4096, v as object), optionLike],
      ['fromShared', (v) => MemoryMappedFile.fromShared(v as never), []],
    ];
    for (const [name, call, legal] of calls) {
      for (const [label, bad] of [...badValues(), ['undefined', undefined]] as [string, unknown][]) {
        if (label === 'undefined' && (name.endsWith('options') || name.startsWith('openRw ') || name.startsWith('builder.'))) continue; // undefined: the default
        const userCodeBefore = ran;
        if (legal.includes(label)) {
          const out = await call(bad);
          if (out instanceof MemoryMappedFile) out.close();
          rmSync(t.path('new.bin'), { force: true }); // a legal create made it
          if (name.endsWith('options')) ran = userCodeBefore; // getters of an options object run by design
          assert.equal(ran, userCodeBefore, `${name}(${label}) ran user code`);
          continue;
        }
        if (label === 'string' && name.endsWith(' path')) {
          // '1' is a path (relative): legal. An open of it (missing) is refused by the system; creating it is not tried here.
          if (name.startsWith('open')) await assert.rejects(async () => call(bad), { name: 'MmapError', code: 'ENOENT' });
          continue;
        }
        await refused(p, `${name}(${label})`, () => call(bad));
        // An options object's getters and a Proxy's get trap run by design (one read per field).
        if (name.endsWith('options') || name.includes('flushPolicy') || name === 'fromShared') ran = userCodeBefore; // read field by field, like options
        assert.equal(ran, userCodeBefore, `${name}(${label}) ran user code`);
        assert.deepEqual(dirBefore(), names, `${name}(${label}): a file appeared or went`);
      }
    }
    assert.equal(ran, 0, 'no user code ran outside options objects');
    assert.equal(inspectNative().liveMappings, 0);
  } finally {
    t.cleanup();
  }
});
