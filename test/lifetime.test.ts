// Lifetimes and process limits: objects dropped without close() give back
// their descriptors and mappings once collected; the process's map-area
// limit is met with a typed error while Node keeps room to run; address
// space limits (ulimit -v) give a typed ENOMEM. Each case that could crash
// or hang runs in a child process with a timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';
import type { Counts } from './fixtures/lifetime-gc-child.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));

/** Runs a fixture in a child process; its last stdout line is JSON. */
function runChild(
  name: string,
  args: string[],
  options: { nodeArgs?: string[]; timeoutMs?: number } = {},
): { report: Record<string, unknown>; status: number | null; signal: string | null; stderr: string } {
  const r = spawnSync(process.execPath, [...(options.nodeArgs ?? []), fixture(name), ...args], { encoding: 'utf8', timeout: options.timeoutMs ?? 120_000 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  let report: Record<string, unknown> = {};
  try {
    report = JSON.parse(last) as Record<string, unknown>;
  } catch {
    assert.fail(`${name} printed no report (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return { report, status: r.status, signal: r.signal, stderr: r.stderr };
}

test('2000 objects of every kind dropped without close() give back every descriptor, mapping, map area and attachment once collected', () => {
  const t = tempDir();
  try {
    const { report, status } = runChild('lifetime-gc-child', [t.dir], { nodeArgs: ['--expose-gc'] });
    assert.equal(status, 0);
    const kinds = report.kinds as Record<string, { before: Counts; held: Counts; after: Counts }>;
    assert.deepEqual(Object.keys(kinds).sort(), [
      'memoryMap',
      'memoryMappedFileRo',
      'memoryMappedFileRwWithTimer',
      'memoryMappedFileSegment',
      'mmapFile',
      'rawMmapFile',
      'ring',
      'sharedAllocator',
      'sharedRing',
    ]);
    for (const [name, k] of Object.entries(kinds)) {
      // They were all alive at once (nothing was collected early by mistake)...
      assert.ok(k.held.mapAreas >= k.before.mapAreas + 2 * 2000, `${name}: ${JSON.stringify(k)}`);
      // ...and all came back.
      assert.deepEqual(k.after, k.before, name);
    }
    for (const name of ['memoryMappedFileRo', 'memoryMappedFileRwWithTimer', 'memoryMappedFileSegment', 'mmapFile', 'rawMmapFile']) {
      assert.equal(kinds[name]!.held.fds, kinds[name]!.before.fds + 2000, name);
      assert.equal(kinds[name]!.held.liveMappings, kinds[name]!.before.liveMappings + 2000, name);
    }
    assert.equal(kinds.sharedAllocator!.held.liveMappings, kinds.sharedAllocator!.before.liveMappings + 4000);
    // A view kept after its file was dropped: the attachment goes, the
    // mapping stays (and reads the file) until the view is dropped too.
    const keptBefore = report.keptBefore as Counts;
    const whileKept = report.whileKept as Counts & { byte: number; length: number };
    assert.deepEqual(
      { live: whileKept.liveMappings, attachments: whileKept.threadAttachments, byte: whileKept.byte, length: whileKept.length },
      { live: keptBefore.liveMappings + 1, attachments: keptBefore.threadAttachments, byte: 7, length: 8 },
    );
    assert.deepEqual(report.afterKept, keptBefore);
    // A file that was shared and dropped can still be attached from its handle.
    assert.equal(report.sharedByte, 42);
    // A worker dropped its attachment of the main thread's file: gone in the
    // worker, and the main thread's mapping still reads and writes the file.
    const fromWorker = report.fromWorker as Record<string, number>;
    assert.equal(fromWorker.during, 1);
    assert.equal(fromWorker.after, 0);
    assert.deepEqual(report.mainAfterWorker, { byte200: 9, byte201: 5 });
  } finally {
    t.cleanup();
  }
});
