// Handles that cross threads are plain data, so anyone can alter them. A
// share() handle with any field changed, and a transfer ticket with a
// changed end, must be refused; the genuine ones keep working.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALIGNMENT, MmapFile, RawMmapFile, inspectNative, type SharedMappedFile } from 'ranged-mmap';
import { pattern, tempDir } from './helpers.js';
import { WORKER_TEST, runJob, shareForgeWorkerUrl, terminateWorkers } from './worker-helpers.js';
import { forgeries, type Forgery } from './fixtures/share-forgeries.js';
import type { ShareForgeJob, ShareForgeReport } from './fixtures/share-forge-worker.js';

// A test that times out must not leave its workers running.
afterEach(terminateWorkers);

const SIZE = 8 * ALIGNMENT;

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : `no code: ${String(error)}`;
  }
}

/** Three live files: the genuine one (with a pattern), one of the same size, one of another size. */
function threeFiles(t: ReturnType<typeof tempDir>) {
  const genuine = RawMmapFile.create(t.path('genuine.bin'), SIZE);
  genuine.writeAt(0, pattern(SIZE, 7));
  genuine.syncAll();
  const same = RawMmapFile.create(t.path('same-size.bin'), SIZE);
  const other = RawMmapFile.create(t.path('other-size.bin'), 3 * SIZE);
  return { genuine, same, other, table: forgeries(genuine.share(), same.share(), other.share()) };
}

/** Every outcome must be a refusal with one of the forgery's codes. */
function assertRefused(table: Forgery[], outcomes: Record<string, string>, where: string): void {
  const wrong: string[] = [];
  for (const { name, codes } of table) {
    for (const api of ['MmapFile', 'RawMmapFile']) {
      const got = outcomes[`${api}: ${name}`];
      if (got === undefined || !codes.includes(got)) wrong.push(`${api}.fromShared(${name}) ${where}: ${got}, expected ${codes.join(' or ')}`);
    }
  }
  if (wrong.length > 0) assert.fail(`${wrong.length} altered share() handles were not refused:\n${wrong.join('\n')}`);
}

test('a forged or altered share() handle is refused by MmapFile.fromShared and RawMmapFile.fromShared in the main thread', () => {
  const t = tempDir('ranged-mmap-forge-');
  try {
    const { genuine, same, other, table } = threeFiles(t);
    const before = inspectNative();
    const outcomes: Record<string, string> = {};
    for (const { name, handle } of table) {
      outcomes[`MmapFile: ${name}`] = codeOf(() => MmapFile.fromShared(handle as SharedMappedFile).file.close());
      outcomes[`RawMmapFile: ${name}`] = codeOf(() => RawMmapFile.fromShared(handle as SharedMappedFile).close());
    }
    // A refused attach holds nothing.
    assert.deepEqual(inspectNative(), before, 'attachments or mappings left by refused handles');
    assertRefused(table, outcomes, 'in the main thread');

    // The genuine handle still works, and nothing was written anywhere.
    const back = RawMmapFile.fromShared(genuine.share());
    assert.deepEqual(back.readSlice(0, 64), pattern(SIZE, 7).subarray(0, 64));
    back.close();
    for (const f of [genuine, same, other]) f.close();
    assert.deepEqual(new Uint8Array(readFileSync(t.path('genuine.bin'))), pattern(SIZE, 7));
    assert.ok(readFileSync(t.path('same-size.bin')).every((b) => b === 0));
    assert.ok(readFileSync(t.path('other-size.bin')).every((b) => b === 0));
  } finally {
    t.cleanup();
  }
});

test('a forged or altered share() handle is refused by MmapFile.fromShared and RawMmapFile.fromShared in a worker', WORKER_TEST, async () => {
  const t = tempDir('ranged-mmap-forge-');
  try {
    const { genuine, same, other, table } = threeFiles(t);
    const report = await runJob<ShareForgeReport>(shareForgeWorkerUrl, {
      genuine: genuine.share(),
      forged: table.map(({ name, handle }) => ({ name, handle })),
    } satisfies ShareForgeJob);
    assertRefused(table, report.outcomes, 'in a worker');
    assert.equal(report.attachmentsAfterRefusals, 0, 'the worker holds attachments made by refused handles');
    const expected = [...pattern(SIZE, 7).subarray(0, 16)];
    assert.deepEqual(report.genuineBytes, [expected, expected], 'the genuine handle works in the worker after the forgeries');
    assert.equal(report.attachmentsAtEnd, 0);
    for (const f of [genuine, same, other]) f.close();
    assert.deepEqual(new Uint8Array(readFileSync(t.path('genuine.bin'))), pattern(SIZE, 7));
    assert.ok(readFileSync(t.path('same-size.bin')).every((b) => b === 0));
  } finally {
    t.cleanup();
  }
});

test('a transfer ticket with a changed end is refused with ERR_MMAP_RANGE_CLAIMED; the genuine transfer stays claimable, once', () => {
  const t = tempDir('ranged-mmap-forge-');
  try {
    const path = t.path('ticket.bin');
    const { file, allocator } = MmapFile.create(path, 16 * ALIGNMENT);
    const before = allocator.allocate(ALIGNMENT)!; // [0, 4096): stays live here
    const moved = allocator.allocate(2 * ALIGNMENT)!; // [4096, 12288): handed over
    const after = allocator.allocate(ALIGNMENT)!; // [12288, 16384): stays live here
    const real = moved.transfer();
    assert.deepEqual([real.start, real.end], [ALIGNMENT, 3 * ALIGNMENT]);
    const ends: [string, number][] = [
      ['end + 1', real.end + 1],
      ['end - 1', real.end - 1],
      ['end + one page (into a live range)', real.end + ALIGNMENT],
      ['end - one page', real.end - ALIGNMENT],
      ['end = start (empty)', real.start],
      ['end before start', real.start - ALIGNMENT],
      ['end at the end of the file', 16 * ALIGNMENT],
      ['end past the end of the file', 17 * ALIGNMENT],
      ['end + 0.5', real.end + 0.5],
      ['end NaN', NaN],
      ['end Infinity', Infinity],
      ['end -1', -1],
      ['end 2^53', 2 ** 53],
      ['end 2^64', 2 ** 64],
    ];
    const codes = Object.fromEntries(ends.map(([name, end]) => [name, codeOf(() => file.receiveRange({ ...real, end }))]));
    assert.deepEqual(codes, Object.fromEntries(ends.map(([name]) => [name, 'ERR_MMAP_RANGE_CLAIMED'])));
    // The neighbours are still this thread's.
    assert.equal(before.isLive, true);
    assert.equal(after.isLive, true);

    // The genuine transfer is claimed exactly once, for its own bounds.
    const claimed = file.receiveRange(real);
    assert.deepEqual([claimed.start, claimed.end], [real.start, real.end]);
    assert.throws(() => file.receiveRange(real), { code: 'ERR_MMAP_RANGE_CLAIMED' });
    assert.throws(() => file.receiveRange({ ...real, end: real.end + ALIGNMENT }), { code: 'ERR_MMAP_RANGE_CLAIMED' });
    file.writeRange(claimed, pattern(claimed.length, 3));
    file.writeRange(after, pattern(after.length, 4));
    file.syncAll();
    file.close();
    const disk = readFileSync(path);
    assert.ok(
      disk.subarray(0, ALIGNMENT).every((b) => b === 0),
      'nothing written before the claimed range',
    );
    assert.deepEqual(new Uint8Array(disk.subarray(ALIGNMENT, 3 * ALIGNMENT)), pattern(2 * ALIGNMENT, 3));
    assert.deepEqual(new Uint8Array(disk.subarray(3 * ALIGNMENT, 4 * ALIGNMENT)), pattern(ALIGNMENT, 4));
    assert.ok(
      disk.subarray(4 * ALIGNMENT).every((b) => b === 0),
      'nothing written past it',
    );
  } finally {
    t.cleanup();
  }
});
