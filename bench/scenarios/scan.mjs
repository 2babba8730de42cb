// scan (BENCH.md): a warm file read through MemoryMappedFile.chunks(1 MiB)
// (zero-copy views; the iterator allocates nothing but the view per step)
// against fs.readSync into a 1 MiB buffer. Both XOR one 32-bit word per
// 64-byte line, so both touch every line; each word of the file holds its
// own index, so the checksum is known in advance and every repetition is
// checked against it. The file is read once before timing (warm).
// speedup = readSync time / chunks time (target >= 1.5).
// Variant stream-1m: the same file and consumer as a Node stream,
// MemoryMappedFile.createReadStream({ highWaterMark: 1 MiB }) (zero-copy
// chunks) against fs.createReadStream({ highWaterMark: 1 MiB }), each
// consumed by for await; speedup = fs stream time / mapped stream time.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryMappedFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { LINE_WORDS, wholeFileChecksum, writeIndexFile } from '../lib/index-file.mjs';
import { removeAndSync } from '../lib/files.mjs';
import { comparison } from '../lib/stats.mjs';
import { warmSize } from '../lib/warm.mjs';

const MiB = 1024 * 1024;
const STEP = MiB;

function xorLines(words) {
  let x = 0;
  for (let i = 0; i < words.length; i += LINE_WORDS) x ^= words[i];
  return x;
}

export async function scan({ dir, quick, reps, log }) {
  const size = (quick ? 256 : 1024) * MiB;
  const path = join(dir, 'scan.bin');
  writeIndexFile(path, size);
  const expected = wholeFileChecksum(size);
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
    const streamed = async (name, stream) => {
      let x = 0;
      const t0 = performance.now();
      for await (const c of stream) x ^= xorLines(new Int32Array(c.buffer, c.byteOffset, c.length >> 2));
      const ms = performance.now() - t0;
      sums[name] = x;
      return ms;
    };
    const streams = [
      { name: 'createReadStream', run: () => streamed('createReadStream', file.createReadStream({ highWaterMark: STEP })) },
      { name: 'fs.createReadStream', run: () => streamed('fs.createReadStream', createReadStream(path, { highWaterMark: STEP })) },
    ].map((c) => ({
      ...c,
      verify() {
        if ((sums[c.name] | 0) !== (expected | 0)) throw new Error(`checksum ${sums[c.name]}, expected ${expected}`);
      },
    }));
    log('scan stream');
    const st = await alternate(streams, reps, log, { warmBytes: warmSize(size), label: 'scan stream' });
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
      comparison({
        scenario: 'scan',
        variant: 'stream-1m',
        workers: 1,
        subject: 'createReadStream',
        peer: 'fs.createReadStream',
        times: st.times,
        verified: st.verified,
        order: st.order,
        reported: st.reported,
        unit: 'ms',
      }),
    ];
  } finally {
    file.close();
    closeSync(fd);
    removeAndSync(path);
  }
}
