// An atomic view does not look for a resize before each operation (the
// mapping it uses maps the same file, and a lost page is caught after the
// operation), but a thread that only ever uses atomic views must still let
// go of the mappings a resize in another thread replaced: otherwise every
// grow made elsewhere stays mapped for as long as that thread keeps adding
// (and enough of them would make resize fail on the map-area cap). Here a
// worker holds only an atomic view while the main thread grows the file 12
// times: the old mappings stay alive until the worker's next few thousand
// adds, and are gone after them (once the worker's collector dropped the
// typed array that pinned the first); every add reached the file.
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
  } else if (m === 'gc') {
    gc();
    parentPort.postMessage('gced');
  } else {
    file.close();
    parentPort.close();
  }
});
`;

test('a thread that only uses an atomic view lets go of mappings a resize elsewhere replaced, within a few thousand operations', {
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
    // The old mappings were retired in the worker (its view's typed array
    // pinned the first one); they go once the worker's collector has
    // dropped that array: collect there until they are gone, 5 s at most.
    const deadline = Date.now() + 5000;
    while (inspectNative().liveMappings !== before + 1 && Date.now() < deadline) {
      w.postMessage('gc');
      assert.equal(await next(), 'gced');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(inspectNative().liveMappings, before + 1, 'the worker followed to the newest mapping and let the old ones go');
    assert.equal(m.atomicU64(0).load(), BigInt(ADDS + 1));
    m.syncAll();
    assert.equal(readFileSync(t.path('follow.bin')).readBigUInt64LE(0), BigInt(ADDS + 1), 'every add reached the file');
    const exited = new Promise((resolve) => w.once('exit', resolve));
    w.postMessage('close');
    await exited;
  } finally {
    await w.terminate();
    m.close();
    t.cleanup();
  }
});
