import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MmapFile, ALIGNMENT } from 'ranged-mmap';
import { tempDir, pattern } from './helpers.js';

test('create, write a range, sync, and find the bytes on disk', () => {
  const t = tempDir();
  try {
    const { file, allocator } = MmapFile.create(t.path('a.bin'), 2 * ALIGNMENT);
    const range = allocator.allocate(ALIGNMENT)!;
    const data = pattern(ALIGNMENT, 1);
    file.writeRange(range, data);
    file.syncAll();
    file.close();
    const disk = readFileSync(t.path('a.bin'));
    assert.equal(disk.length, 2 * ALIGNMENT);
    assert.deepEqual(new Uint8Array(disk.subarray(0, ALIGNMENT)), data);
    assert.ok(disk.subarray(ALIGNMENT).every((b) => b === 0));
  } finally {
    t.cleanup();
  }
});
