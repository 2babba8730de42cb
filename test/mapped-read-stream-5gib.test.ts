// createReadStream over a whole 5 GiB sparse file (data at every internal
// 1 GiB view boundary): MmapFile and MemoryMappedFile piped through
// stream.pipeline into sha256 match fs.createReadStream. Kept apart from
// mapped-read-stream.test because it takes a while (three passes over 5 GiB).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MemoryMappedFile, MmapFile } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import { fiveGiBFile } from './stream-helpers.js';

const t = tempDir('ranged-mmap-stream-5gib-');
after(() => t.cleanup());

async function sha256(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(stream, hash);
  return hash.digest('hex');
}

test('a 5 GiB sparse file through createReadStream -> pipeline -> sha256 matches fs.createReadStream', { timeout: 900_000 }, async () => {
  const path = fiveGiBFile(t);
  const expected = await sha256(createReadStream(path, { highWaterMark: 1 << 20 }));
  const { file } = MmapFile.open(path);
  try {
    assert.equal(await sha256(file.createReadStream({ highWaterMark: 1 << 20 })), expected);
  } finally {
    file.close();
  }
  // The default 64 KiB chunks, through MemoryMappedFile.
  const mm = MemoryMappedFile.openRo(path);
  try {
    assert.equal(await sha256(mm.createReadStream()), expected);
  } finally {
    mm.close();
  }
});
