// Atomic views (atomicU32 / atomicU64) under attack: operands of every
// wrong kind (none runs user code: an object with a valueOf that closes
// the file is refused by type), every operation after close (read-only and
// copy-on-write files included: ERR_MMAP_CLOSED, never the mode error),
// after a shrink that cuts the word made here or in another thread
// (ERR_MMAP_OUT_OF_BOUNDS, never a silent zero or a lost store), after the
// file grew back, after a resize elsewhere on a read-only file, and a view
// of a file closed then opened again. Last, a worker adds while another
// shrinks and grows the file: only the documented codes, and every add
// reported done after the file settled is in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { type AtomicU32, type AtomicU64, MemoryMappedFile } from 'ranged-mmap';
import { tempDir } from './helpers.js';

const t = tempDir('ranged-mmap-atomic-adv-');
test.after(() => t.cleanup());
let serial = 0;

function file(size = 16384): string {
  const p = t.path(`f${serial++}`);
  writeFileSync(p, Buffer.alloc(size));
  return p;
}

function code(e: unknown): unknown {
  return (e as { code?: unknown }).code;
}

function fails(c: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.equal(code(e), c, String(e));
    return true;
  };
}

type Word = AtomicU32 | AtomicU64;
/** Every operation of a view, with operands of its kind. */
function operations(w: Word): [string, () => unknown][] {
  const v = w.constructor.name === 'AtomicU64' ? 1n : 1;
  const any = w as unknown as Record<string, (...a: unknown[]) => unknown>;
  return ['load', 'store', 'add', 'sub', 'and', 'or', 'xor', 'exchange', 'compareExchange'].map((op) => [op, () => any[op]!.call(w, v, v)]);
}

/** Runs `body` (CommonJS; `m` is the file from `handle`, closed after) in a worker; resolves when it exited with 0. */
function inWorker(handle: unknown, body: string): Promise<void> {
  const w = new Worker(
    `const { MemoryMappedFile } = require('ranged-mmap'); const { workerData } = require('node:worker_threads');
     const m = MemoryMappedFile.fromShared(workerData); ${body}; m.close();`,
    { eval: true, workerData: handle },
  );
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', (c) => (c === 0 ? resolve() : reject(new Error(`worker exited with ${c}`))));
  });
}

/** Every message and the exit of `w`, recorded from now on (none missed by a late listener); next() rejects if it exits first. */
function record(w: Worker): { next: () => Promise<unknown>; exited: Promise<number> } {
  const queue: unknown[] = [];
  const waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  let ended: Error | undefined;
  w.on('message', (m) => {
    const first = waiting.shift();
    if (first === undefined) queue.push(m);
    else first.resolve(m);
  });
  const exited = new Promise<number>((resolve) => {
    const end = (error: Error, code: number): void => {
      ended = error;
      for (const x of waiting.splice(0)) x.reject(error);
      resolve(code);
    };
    w.once('error', (e) => end(e, -1));
    w.once('exit', (c) => end(new Error(`worker exited with ${c} before answering`), c));
  });
  return {
    next: () =>
      new Promise((resolve, reject) => {
        if (queue.length > 0) resolve(queue.shift());
        else if (ended !== undefined) reject(ended);
        else waiting.push({ resolve, reject });
      }),
    exited,
  };
}

test('operands of every wrong kind: ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE, no user code run, the word unchanged', () => {
  const p = file();
  const m = MemoryMappedFile.openRw(p);
  const a = m.atomicU32(0);
  const b = m.atomicU64(8);
  a.store(5);
  b.store(6n);
  let ran = 0;
  const sneaky = {
    valueOf() {
      ran++;
      m.close();
      return 1;
    },
    [Symbol.toPrimitive]() {
      ran++;
      m.close();
      return 1;
    },
  };
  const u32Type: unknown[] = [1n, '1', null, undefined, sneaky, Symbol('s'), [1], true];
  const u32Range = [Number.NaN, -1, 2 ** 32, 1.5, Number.POSITIVE_INFINITY, -0.5];
  const u64Type: unknown[] = ['1', null, undefined, sneaky, Symbol('s'), [1n], true];
  const u64Range = [Number.NaN, -1, 2 ** 53, 1.5, -1n, 2n ** 64n, Number.NEGATIVE_INFINITY];
  const ops = ['store', 'add', 'sub', 'and', 'or', 'xor', 'exchange'] as const;
  // (Labels by index: String(sneaky) would run its valueOf.)
  for (const op of ops) {
    for (const v of u32Type) assert.throws(() => a[op](v as number), fails('ERR_INVALID_ARG_TYPE'), `u32 ${op} type #${u32Type.indexOf(v)}`);
    for (const v of u32Range) assert.throws(() => a[op](v), fails('ERR_OUT_OF_RANGE'), `u32 ${op} ${String(v)}`);
    for (const v of u64Type) assert.throws(() => b[op](v as bigint), fails('ERR_INVALID_ARG_TYPE'), `u64 ${op} type #${u64Type.indexOf(v)}`);
    for (const v of u64Range) assert.throws(() => b[op](v as bigint), fails('ERR_OUT_OF_RANGE'), `u64 ${op} ${String(v)}`);
  }
  // compareExchange checks both operands before it acts: a bad replacement with a matching expected changes nothing.
  assert.throws(() => a.compareExchange(5, -1), fails('ERR_OUT_OF_RANGE'));
  assert.throws(() => a.compareExchange(5, sneaky as unknown as number), fails('ERR_INVALID_ARG_TYPE'));
  assert.throws(() => b.compareExchange(6n, 2n ** 64n), fails('ERR_OUT_OF_RANGE'));
  assert.throws(() => b.compareExchange(sneaky as unknown as bigint, 0n), fails('ERR_INVALID_ARG_TYPE'));
  assert.equal(ran, 0, 'no valueOf ran');
  assert.equal(a.load(), 5);
  assert.equal(b.load(), 6n);
  // The limits themselves are fine; u64 takes safe integer numbers and wraps as the hardware does.
  assert.equal(a.exchange(2 ** 32 - 1), 5);
  assert.equal(a.add(1), 2 ** 32 - 1);
  assert.equal(a.load(), 0);
  assert.equal(b.exchange(2n ** 64n - 1n), 6n);
  assert.equal(b.add(Number.MAX_SAFE_INTEGER), 2n ** 64n - 1n);
  assert.equal(b.load(), BigInt(Number.MAX_SAFE_INTEGER) - 1n);
  m.syncAll();
  const disk = readFileSync(p);
  assert.equal(disk.readUInt32LE(0), 0);
  assert.equal(disk.readBigUInt64LE(8), BigInt(Number.MAX_SAFE_INTEGER) - 1n);
  m.close();
});

test('every operation after close throws ERR_MMAP_CLOSED and writes nothing: read-write, copy-on-write and read-only files (a read-only store too), views of a file closed then opened again', () => {
  for (const open of ['openRw', 'openCow', 'openRo'] as const) {
    const p = file();
    writeFileSync(p, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]), { flag: 'r+' });
    const m = MemoryMappedFile[open](p);
    const views: Word[] = [m.atomicU32(0), m.atomicU64(8)];
    const before = readFileSync(p);
    m.close();
    for (const w of views) {
      for (const [op, run] of operations(w)) assert.throws(run, fails('ERR_MMAP_CLOSED'), `${open} ${w.constructor.name}.${op}`);
    }
    assert.deepEqual(readFileSync(p), before, open);
    // Opened again: the old views stay closed (a view belongs to the object it came from).
    const again = MemoryMappedFile.openRw(p);
    for (const w of views) assert.throws(() => w.load(), fails('ERR_MMAP_CLOSED'), `${open} after reopen`);
    assert.equal(again.atomicU32(0).load(), 1);
    again.close();
  }
});

test("another thread closing its handle of the file (and exiting) leaves this thread's views working", async () => {
  const p = file();
  const m = MemoryMappedFile.openRw(p);
  const a = m.atomicU32(0);
  const b = m.atomicU64(8);
  await inWorker(m.share(), 'm.atomicU32(0).add(2); m.atomicU64(8).add(3n); m.close(); m.close()');
  assert.equal(a.add(1), 2);
  assert.equal(b.add(1n), 3n);
  m.syncAll();
  assert.equal(readFileSync(p).readUInt32LE(0), 3);
  assert.equal(readFileSync(p).readBigUInt64LE(8), 4n);
  m.close();
});

test('read-only and copy-on-write: stores refused with ERR_MMAP_INVALID_MODE (also after a resize elsewhere moved the view), copy-on-write stores stay out of the file', async () => {
  const p = file();
  const ro = MemoryMappedFile.openRo(p);
  const w32 = ro.atomicU32(0);
  const w64 = ro.atomicU64(8);
  for (const w of [w32, w64]) {
    for (const [op, run] of operations(w)) {
      if (op === 'load') assert.equal(BigInt(run() as number | bigint), 0n);
      else assert.throws(run, fails('ERR_MMAP_INVALID_MODE'), `ro ${op}`);
    }
  }
  const rw = MemoryMappedFile.openRw(p);
  rw.atomicU32(0).store(3);
  await inWorker(rw.share(), 'm.resize(32768)');
  assert.equal(statSync(p).size, 32768);
  assert.equal(w32.load(), 3);
  assert.throws(() => w32.add(1), fails('ERR_MMAP_INVALID_MODE'));
  assert.throws(() => w64.store(1n), fails('ERR_MMAP_INVALID_MODE'));
  ro.close();
  const cow = MemoryMappedFile.openCow(p);
  const c = cow.atomicU32(0);
  assert.equal(c.add(10), 3);
  assert.equal(c.load(), 13);
  assert.equal(readFileSync(p).readUInt32LE(0), 3, 'a copy-on-write store is private');
  assert.equal(rw.atomicU32(0).load(), 3);
  cow.close();
  rw.close();
});

test('a shrink that cuts the word (here, or in another thread): every operation ERR_MMAP_OUT_OF_BOUNDS, no silent zero, nothing stored; the word works again once the file grew back', async () => {
  for (const where of ['here', 'another thread'] as const) {
    const p = file(16384);
    const m = MemoryMappedFile.openRw(p);
    const cut: Word[] = [m.atomicU32(12288), m.atomicU64(16376)];
    const kept: Word[] = [m.atomicU32(4092), m.atomicU64(0)];
    cut[0]!.store(7);
    (cut[1] as AtomicU64).store(8n);
    kept[0]!.store(1);
    (kept[1] as AtomicU64).store(2n);
    if (where === 'here') m.resize(4096);
    else await inWorker(m.share(), 'm.resize(4096)');
    for (const w of cut) {
      for (const [op, run] of operations(w)) assert.throws(run, fails('ERR_MMAP_OUT_OF_BOUNDS'), `${where}: ${w.constructor.name}(${w.offset}).${op}`);
    }
    assert.equal((kept[0] as AtomicU32).add(1), 1, `${where}: a word inside the file`);
    assert.equal((kept[1] as AtomicU64).add(1n), 2n, `${where}: a word inside the file`);
    assert.equal(statSync(p).size, 4096, 'no operation grew the file');
    if (where === 'here') m.resize(16384);
    else await inWorker(m.share(), 'm.resize(16384)');
    // The grown part is new (zero) file: the old value was cut with its page.
    assert.equal((cut[0] as AtomicU32).add(5), 0);
    assert.equal((cut[1] as AtomicU64).add(6n), 0n);
    m.syncAll();
    const disk = readFileSync(p);
    assert.equal(disk.readUInt32LE(12288), 5);
    assert.equal(disk.readBigUInt64LE(16376), 6n);
    assert.equal(disk.readUInt32LE(4092), 2);
    assert.equal(disk.readBigUInt64LE(0), 3n);
    m.close();
  }
});

test('a view in a worker whose word another thread cut (shrink) and brought back (grow) before its next add: that add throws ERR_MMAP_OUT_OF_BOUNDS (its effect is not in the file), the next one lands; never a success that is lost', {
  timeout: 60_000,
}, async () => {
  for (const width of [32, 64] as const) {
    const p = file(16384);
    const m = MemoryMappedFile.openRw(p);
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const w = new Worker(
      `const { MemoryMappedFile } = require('ranged-mmap'); const { workerData, parentPort } = require('node:worker_threads');
       const m = MemoryMappedFile.fromShared(workerData.handle);
       const w = workerData.width === 32 ? m.atomicU32(12288) : m.atomicU64(12288); const one = workerData.width === 32 ? 1 : 1n;
       w.add(one); // bound to the mapping of now
       parentPort.postMessage('bound');
       Atomics.wait(workerData.gate, 0, 0, 30000);
       const out = [];
       for (let i = 0; i < 2; i++) { try { out.push(String(w.add(one))); } catch (e) { out.push(e.code); } }
       out.push(String(w.load()));
       m.close();
       parentPort.postMessage(out);`,
      { eval: true, workerData: { handle: m.share(), gate, width } },
    );
    const events = record(w);
    assert.equal(await events.next(), 'bound');
    m.resize(4096);
    m.resize(16384);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const out = (await events.next()) as string[];
    assert.deepEqual(out, ['ERR_MMAP_OUT_OF_BOUNDS', '0', '1'], `u${width}: the add that ran on the cut page is reported, the next lands`);
    m.syncAll();
    const disk = readFileSync(p);
    assert.equal(width === 32 ? disk.readUInt32LE(12288) : Number(disk.readBigUInt64LE(12288)), 1, `u${width}: the file`);
    assert.equal(await events.exited, 0);
    m.close();
  }
});

test('a worker adds while another thread shrinks the file under the word and grows it back, 40 times: only ERR_MMAP_OUT_OF_BOUNDS / ERR_MMAP_FAULT, and every add after the last grow is in the file', {
  timeout: 120_000,
}, async () => {
  const p = file(16384);
  const m = MemoryMappedFile.openRw(p);
  const control = new Int32Array(new SharedArrayBuffer(16)); // [0]: stop, [1]: adds done after the settle mark, [2]: settle mark seen
  const adder = new Worker(
    `const { MemoryMappedFile } = require('ranged-mmap'); const { workerData, parentPort } = require('node:worker_threads');
     const m = MemoryMappedFile.fromShared(workerData.handle); const w = m.atomicU32(12288); const c = workerData.control;
     const codes = {}; let ok = 0;
     parentPort.postMessage('ready');
     while (Atomics.load(c, 0) === 0) {
       try { w.add(1); ok++; } catch (e) { codes[e.code] = (codes[e.code] || 0) + 1; }
     }
     // Settled: the file is whole again and nobody resizes it.
     // Its first add may still find that a shrink cut the word under it (ERR_MMAP_OUT_OF_BOUNDS: not counted, run again).
     let after = 0; let late = 0;
     while (after < 1000) {
       try { w.add(1); after++; } catch (e) { if (e.code !== 'ERR_MMAP_OUT_OF_BOUNDS' || ++late > 2) throw e; }
     }
     m.close();
     parentPort.postMessage({ ok, codes, after });`,
    { eval: true, workerData: { handle: m.share(), control } },
  );
  const report = new Promise<{ ok: number; codes: Record<string, number>; after: number }>((resolve, reject) => {
    adder.on('message', (msg) => {
      if (msg !== 'ready') resolve(msg);
    });
    adder.once('error', reject);
    adder.once('exit', (c) => reject(new Error(`adder exited with ${c} before its report`)));
  });
  await new Promise<void>((resolve) => adder.once('message', () => resolve()));
  for (let i = 0; i < 40; i++) {
    m.resize(4096);
    await new Promise((r) => setImmediate(r));
    m.resize(16384);
    await new Promise((r) => setImmediate(r));
  }
  const before = m.atomicU32(12288).load();
  Atomics.store(control, 0, 1);
  const got = await report;
  for (const c of Object.keys(got.codes)) assert.ok(c === 'ERR_MMAP_OUT_OF_BOUNDS' || c === 'ERR_MMAP_FAULT', `unexpected code ${c}`);
  assert.equal(got.after, 1000);
  const final = m.atomicU32(12288).load();
  // Adds between the read of `before` and the stop mark also count; the 1000 after it are all there.
  assert.ok(final >= before + 1000, `an add reported done is missing: final ${final}, before ${before}`);
  assert.ok(final <= got.ok + 1000, `no add counted twice: final ${final}, successful adds ${got.ok + 1000}`);
  m.syncAll();
  assert.equal(readFileSync(p).readUInt32LE(12288), final);
  m.close();
});
