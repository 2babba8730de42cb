// An atomic view does not look for a resize before each operation (the
// mapping it uses maps the same file, and a lost page is caught after the
// operation), so a thread that only uses atomic views stays on the mapping
// it had, as a slice would, while another thread grows the file: every add
// still reaches the file. Any other call on the file in that thread follows
// the resize; the view then moves at its next operation (its array was
// detached, or its mapping retired), and the replaced mappings go once the
// worker's collector dropped the old array. Here a worker holds an atomic
// view while the main thread grows the file 12 times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { MemoryMappedFile, inspectNative } from 'ranged-mmap';
import { tempDir } from './helpers.js';

const ADDS = 10_000;
const GROWS = 12;

const worker = `
const { parentPort, workerData } = require('node:worker_threads');
const { MemoryMappedFile } = require('ranged-mmap');
require('node:v8').setFlagsFromString('--expose-gc'); // workers refuse it in execArgv
const gc = require('node:vm').runInNewContext('gc');
const file = MemoryMappedFile.fromShared(workerData.shared);
const word = file.atomicU64(0);
word.add(1n); // bound to the first mapping
parentPort.postMessage('ready');
parentPort.on('message', (m) => {
  if (m === 'go') {
    for (let i = 0; i < workerData.adds; i++) word.add(1n);
    parentPort.postMessage('done');
  } else if (m === 'touch') {
    file.atomicU32(8).load(); // any call on the file follows the resize in this thread
    for (let i = 0; i < workerData.adds; i++) word.add(1n);
    parentPort.postMessage('done');
  } else if (m === 'gc') {
    gc();
    parentPort.postMessage('gced');
  } else {
    file.close();
    parentPort.close();
  }
});
`;

test('an atomic view stays on its mapping through resizes made elsewhere (every add reaches the file), and moves once its thread follows', {
  timeout: 60_000,
}, async () => {
  const t = tempDir();
  const before = inspectNative().liveMappings;
  const m = MemoryMappedFile.createRw(t.path('follow.bin'), 4096);
  const w = new Worker(worker, { eval: true, workerData: { shared: m.share(), adds: ADDS } });
  try {
    const next = () =>
      new Promise<string>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
    assert.equal(await next(), 'ready');
    for (let i = 0; i < GROWS; i++) m.resize(4096 * (i + 2));
    assert.equal(inspectNative().liveMappings, before + 1 + GROWS, 'the worker still holds the first mapping, and with it every successor');
    w.postMessage('go');
    assert.equal(await next(), 'done');
    assert.equal(inspectNative().liveMappings, before + 1 + GROWS, 'adds alone keep the worker on its mapping');
    w.postMessage('touch');
    assert.equal(await next(), 'done');
    // The old mappings were retired in the worker (its view's typed array
    // pinned the first one); they go once the worker's collector has
    // dropped that array: collect there until they are gone, 5 s at most.
    const deadline = Date.now() + 5000;
    while (inspectNative().liveMappings !== before + 1 && Date.now() < deadline) {
      w.postMessage('gc');
      assert.equal(await next(), 'gced');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(inspectNative().liveMappings, before + 1, 'the worker followed to the newest mapping, the view moved, the old ones went');
    assert.equal(m.atomicU64(0).load(), BigInt(2 * ADDS + 1));
    m.syncAll();
    assert.equal(readFileSync(t.path('follow.bin')).readBigUInt64LE(0), BigInt(2 * ADDS + 1), 'every add reached the file');
    const exited = new Promise((resolve) => w.once('exit', resolve));
    w.postMessage('close');
    await exited;
  } finally {
    await w.terminate();
    m.close();
    t.cleanup();
  }
});
