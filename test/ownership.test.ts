// A range has exactly one owner: once it is split or handed over with
// transfer(), every entry point that takes it refuses it, synchronously,
// with ERR_MMAP_RANGE_CONSUMED, and changes nothing on disk or in the
// caller's buffers. One table, every entry point, both ways of consuming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALIGNMENT, MmapFile, type AllocatedRange } from 'ranged-mmap';
import { pattern, tempDir } from './helpers.js';

const PAGES = 8;

/** Every call that takes a range, as the owner of a live range would make it. */
const ENTRY_POINTS: { name: string; call: (file: MmapFile, range: AllocatedRange, buffer: Uint8Array) => unknown }[] = [
  { name: 'writeRange', call: (file, range) => file.writeRange(range, pattern(PAGES * ALIGNMENT, 99)) },
  { name: 'writeRangeAsync', call: (file, range) => file.writeRangeAsync(range, pattern(PAGES * ALIGNMENT, 99)) },
  { name: 'readRange', call: (file, range, buffer) => file.readRange(range, buffer) },
  { name: 'readRangeAsync', call: (file, range, buffer) => file.readRangeAsync(range, buffer) },
  { name: 'transfer', call: (_file, range) => range.transfer() },
  // Aligned, unaligned and edge positions: none of them may split a dead range.
  { name: 'splitAtAlignUp(4096)', call: (_file, range) => range.splitAtAlignUp(ALIGNMENT) },
  { name: 'splitAtAlignUp(5000)', call: (_file, range) => range.splitAtAlignUp(5000) },
  { name: 'splitAtAlignUp(start)', call: (_file, range) => range.splitAtAlignUp(range.start) },
  { name: 'splitAtAlignUp(end)', call: (_file, range) => range.splitAtAlignUp(range.end) },
  { name: 'splitAtAlignDown(4096)', call: (_file, range) => range.splitAtAlignDown(ALIGNMENT) },
  { name: 'splitAtAlignDown(5000)', call: (_file, range) => range.splitAtAlignDown(5000) },
  { name: 'splitAtAlignDown(start)', call: (_file, range) => range.splitAtAlignDown(range.start) },
  { name: 'splitAtAlignDown(end)', call: (_file, range) => range.splitAtAlignDown(range.end) },
];

const CONSUMERS: { name: string; consume: (range: AllocatedRange) => unknown }[] = [
  {
    name: 'split',
    consume: (range) => {
      const result = range.splitAtAlignUp(3 * ALIGNMENT);
      assert.equal(result.kind, 'split', 'the split that consumes the range');
      return result;
    },
  },
  { name: 'transferred', consume: (range) => range.transfer() },
];

for (const { name: how, consume } of CONSUMERS) {
  test(`a ${how} range is refused by every entry point with ERR_MMAP_RANGE_CONSUMED, synchronously, and nothing changes`, async () => {
    const t = tempDir('ranged-mmap-owner-');
    try {
      const path = t.path('owned.bin');
      const { file, allocator } = MmapFile.create(path, 2 * PAGES * ALIGNMENT);
      const range = allocator.allocate(PAGES * ALIGNMENT)!; // [0, 32768)
      const rest = allocator.allocate(PAGES * ALIGNMENT)!;
      file.writeRange(range, pattern(range.length, 1));
      file.writeRange(rest, pattern(rest.length, 2));
      file.syncAll();
      const before = new Uint8Array(readFileSync(path));
      const consumed = consume(range);
      assert.equal(range.isLive, false, 'consumed');

      for (const { name, call } of ENTRY_POINTS) {
        const buffer = new Uint8Array(PAGES * ALIGNMENT).fill(0xcc);
        let returned: unknown;
        let thrown: unknown;
        try {
          returned = call(file, range, buffer);
        } catch (error) {
          thrown = error;
        }
        if (returned instanceof Promise) {
          // Refusals are synchronous by contract; a promise here is already a
          // failure, but await it so its outcome shows in the message.
          const settled = await returned.then(
            (value: unknown) => `resolved with ${String(value)}`,
            (error: { code?: unknown }) => `rejected with ${String(error?.code ?? error)}`,
          );
          assert.fail(`${name} on a ${how} range returned a promise (${settled}) instead of throwing`);
        }
        assert.ok(thrown !== undefined, `${name} on a ${how} range returned ${JSON.stringify(returned)} instead of throwing`);
        assert.equal((thrown as { code?: unknown }).code, 'ERR_MMAP_RANGE_CONSUMED', `${name} on a ${how} range: ${String(thrown)}`);
        assert.equal((thrown as Error).constructor.name, 'MmapError', name);
        assert.ok(
          buffer.every((b) => b === 0xcc),
          `${name} on a ${how} range wrote into the caller's buffer`,
        );
        assert.equal(range.isLive, false, `${name} revived the ${how} range`);
      }

      // Let any stray copy on the thread pool land before looking at the disk.
      await file.syncAllAsync();
      const after = new Uint8Array(readFileSync(path));
      assert.ok(Buffer.from(after).equals(Buffer.from(before)), `the file changed under refused calls on a ${how} range`);

      // The new owners are untouched by all this and work normally.
      if (how === 'split') {
        const { low, high } = consumed as { low: AllocatedRange; high: AllocatedRange };
        assert.deepEqual([low.start, low.end, high.start, high.end, low.isLive, high.isLive], [0, 3 * ALIGNMENT, 3 * ALIGNMENT, PAGES * ALIGNMENT, true, true]);
        file.writeRange(low, pattern(low.length, 3));
        await file.writeRangeAsync(high, pattern(high.length, 4));
      } else {
        const claimed = file.receiveRange(consumed as ReturnType<AllocatedRange['transfer']>);
        assert.deepEqual([claimed.start, claimed.end], [range.start, range.end]);
        file.writeRange(claimed, pattern(claimed.length, 3));
      }
      file.syncAll();
      file.close();
      const disk = readFileSync(path);
      if (how === 'split') {
        assert.deepEqual(new Uint8Array(disk.subarray(0, 3 * ALIGNMENT)), pattern(3 * ALIGNMENT, 3));
        assert.deepEqual(new Uint8Array(disk.subarray(3 * ALIGNMENT, PAGES * ALIGNMENT)), pattern((PAGES - 3) * ALIGNMENT, 4));
      } else {
        assert.deepEqual(new Uint8Array(disk.subarray(0, PAGES * ALIGNMENT)), pattern(PAGES * ALIGNMENT, 3));
      }
      assert.deepEqual(new Uint8Array(disk.subarray(PAGES * ALIGNMENT)), pattern(PAGES * ALIGNMENT, 2));
    } finally {
      t.cleanup();
    }
  });
}
