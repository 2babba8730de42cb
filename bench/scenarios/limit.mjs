// limit (BENCH.md): Buffer.copy between two touched 256 MiB buffers is the
// memory bandwidth no write path can beat. Against it: MmapFile.writeRange
// of the same 256 MiB in 12 MiB ranges (the headline's chunk size; the last
// range is what is left, 4 MiB) from a touched source into a warm mapping
// of the same size. Buffer.copy copies the same pieces, so the two differ
// only in the destination (a mapped file vs a plain buffer) and in what
// writeRange does around its copy.
// speedup = our bandwidth / Buffer.copy bandwidth (1.0 would mean no cost
// above a memcpy).
import { join } from 'node:path';
import { MmapFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { removeAndSync } from '../lib/files.mjs';
import { comparison } from '../lib/stats.mjs';
import { warmSize } from '../lib/warm.mjs';

const MiB = 1024 * 1024;

export async function limit({ dir, quick, reps, log }) {
  const chunk = 12 * MiB;
  const size = (quick ? 128 : 256) * MiB;
  const path = join(dir, 'limit.bin');
  const { file, allocator } = MmapFile.create(path, size);
  const ranges = [];
  for (let r = allocator.allocate(chunk); r !== null; r = allocator.allocate(chunk)) ranges.push(r);
  const source = Buffer.alloc(size);
  const target = Buffer.alloc(size, 1);
  const pieces = ranges.map((r) => source.subarray(r.start, r.end));
  const back = Buffer.alloc(chunk);
  const mbps = (ms) => size / MiB / (ms / 1000);
  const contenders = [
    {
      name: 'writeRange',
      run(rep) {
        // A new value each repetition, so a write that did nothing fails verification.
        source.fill((rep + 2) & 0xff);
        const t0 = performance.now();
        for (let i = 0; i < ranges.length; i++) file.writeRange(ranges[i], pieces[i]);
        return mbps(performance.now() - t0);
      },
      verify() {
        for (const r of ranges) {
          file.readRange(r, back);
          if (back.compare(source, r.start, r.end, 0, r.length) !== 0) throw new Error(`range at ${r.start} differs`);
        }
      },
    },
    {
      name: 'Buffer.copy',
      run(rep) {
        source.fill((rep + 3) & 0xff);
        const t0 = performance.now();
        for (const r of ranges) source.copy(target, r.start, r.start, r.end);
        return mbps(performance.now() - t0);
      },
      verify() {
        if (!target.equals(source)) throw new Error('copy differs');
      },
    },
  ];
  log('limit');
  try {
    const { times, verified, order, reported } = await alternate(contenders, reps, log, { warmBytes: warmSize(size), label: 'limit' });
    return [
      comparison({
        scenario: 'limit',
        variant: 'writeRange-12m',
        workers: 1,
        subject: 'writeRange',
        peer: 'Buffer.copy',
        times,
        verified,
        order,
        reported,
        unit: 'MiB/s',
        higherIsBetter: true,
      }),
    ];
  } finally {
    file.close();
    removeAndSync(path);
  }
}
