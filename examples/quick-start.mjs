// The smallest complete use: create, allocate, write, flush, read, sync.
//   node examples/quick-start.mjs
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALIGNMENT, MmapFile } from 'ranged-mmap';

const dir = mkdtempSync(join(tmpdir(), 'ranged-mmap-example-'));
const path = join(dir, 'out.bin');
// In TypeScript, `using file = ...` closes the file at the end of the block;
// plain JavaScript on Node 20 has no `using` yet, so try/finally it is.
const { file, allocator } = MmapFile.create(path, 256 * ALIGNMENT); // 1 MiB, sequential allocator
try {
  const a = allocator.allocate(128 * ALIGNMENT); // [0, 512 KiB)
  const b = allocator.allocate(100); // rounded up to 4 KiB: [512 KiB, 516 KiB)
  const receipt = file.writeRange(a, Buffer.alloc(a.length, 0xab));
  file.flushRange(receipt); // schedule write-back of just that range
  file.writeRange(b, Buffer.alloc(b.length, 0xcd));

  const back = Buffer.alloc(b.length);
  file.readRange(b, back);
  console.log(`range ${a} and ${b}; read back 0x${back[0].toString(16)}; ${allocator.remaining} bytes left`);
  file.syncAll(); // data, size and block allocation on disk
} finally {
  file.close();
}
const disk = readFileSync(path);
console.log(`on disk: ${disk.length} bytes, first 0x${disk[0].toString(16)}, at 512 KiB 0x${disk[512 * 1024].toString(16)}`);
rmSync(dir, { recursive: true });
