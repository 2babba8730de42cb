// scan (BENCH.md): a warm file read through MemoryMappedFile.chunks(1 MiB)
// (zero-copy views; the iterator allocates nothing but the view per step)
// against fs.readSync into a 1 MiB buffer. Both XOR one 32-bit word per
// 64-byte line, so both touch every line; each word of the file holds its
// own index, so the checksum is known in advance and every repetition is
// checked against it. The file is read once before timing (warm).
// speedup = readSync time / chunks time (target >= 1.5).
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryMappedFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { removeAndSync } from '../lib/files.mjs';
import { comparison } from '../lib/stats.mjs';
import { warmSize } from '../lib/warm.mjs';

const MiB = 1024 * 1024;
const STEP = MiB;
const LINE_WORDS = 16;

function writeIndexFile(path, size) {
  const fd = openSync(path, 'w');
  const chunk = Buffer.allocUnsafe(16 * MiB);
  const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length / 4);
  for (let o = 0; o < size; o += chunk.length) {
    const base = o / 4;
    for (let i = 0; i < words.length; i++) words[i] = base + i;
    writeSync(fd, chunk, 0, chunk.length, o);
  }
  closeSync(fd);
}

function xorLines(words) {
  let x = 0;
  for (let i = 0; i < words.length; i += LINE_WORDS) x ^= words[i];
  return x;
}

export async function scan({ dir, quick, reps, log }) {
  const size = (quick ? 256 : 1024) * MiB;
  const path = join(dir, 'scan.bin');
  writeIndexFile(path, size);
  let expected = 0;
  for (let w = 0; w < size / 4; w += LINE_WORDS) expected ^= w;
  const file = MemoryMappedFile.openRo(path);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(STEP);
    const bufWords = new Int32Array(buf.buffer, buf.byteOffset, STEP / 4);
    const sums = {};
    const contenders = [
      {
        name: 'chunks(1 MiB)',
        run() {
          let x = 0;
          const t0 = performance.now();
          for (const c of file.chunks(STEP)) x ^= xorLines(new Int32Array(c.buffer, c.byteOffset, c.length >> 2));
          const ms = performance.now() - t0;
          sums['chunks(1 MiB)'] = x;
          return ms;
        },
      },
      {
        name: 'fs.readSync',
        run() {
          let x = 0;
          const t0 = performance.now();
          for (let o = 0; o < size; o += STEP) {
            readSync(fd, buf, 0, STEP, o);
            x ^= xorLines(bufWords);
          }
          const ms = performance.now() - t0;
          sums['fs.readSync'] = x;
          return ms;
        },
      },
    ].map((c) => ({
      ...c,
      verify() {
        if ((sums[c.name] | 0) !== (expected | 0)) throw new Error(`checksum ${sums[c.name]}, expected ${expected}`);
      },
    }));
    log('scan');
    const { times, verified, order, reported } = await alternate(contenders, reps, log, { warmBytes: warmSize(size), label: 'scan' });
    return [
      comparison({
        scenario: 'scan',
        variant: 'chunks-1m',
        workers: 1,
        subject: 'chunks(1 MiB)',
        peer: 'fs.readSync',
        times,
        verified,
        order,
        reported,
        unit: 'ms',
      }),
    ];
  } finally {
    file.close();
    closeSync(fd);
    removeAndSync(path);
  }
}
