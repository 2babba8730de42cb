// limit (BENCH.md): Buffer.copy between two touched 256 MiB buffers is the
// memory bandwidth no write path can beat. Against it: MmapFile.writeRange
// of 12 MiB chunks (from a touched 256 MiB source) into a warm mapping.
// speedup = our bandwidth / Buffer.copy bandwidth (target >= 0.8).
import { join } from 'node:path';
import { MmapFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { removeAndSync } from '../lib/files.mjs';
import { speedups, summary } from '../lib/stats.mjs';

const MiB = 1024 * 1024;

export async function limit({ dir, quick, log }) {
  const chunk = 12 * MiB;
  const chunks = quick ? 10 : 21; // 120 or 252 MiB
  const size = chunks * chunk;
  const path = join(dir, 'limit.bin');
  const { file, allocator } = MmapFile.create(path, size);
  const ranges = Array.from({ length: chunks }, () => allocator.allocate(chunk));
  const source = Buffer.alloc(size);
  const target = Buffer.alloc(size, 1);
  const back = Buffer.alloc(chunk);
  const mbps = (ms) => size / MiB / (ms / 1000);
  const contenders = [
    {
      name: 'writeRange',
      run(rep) {
        source.fill((rep + 2) & 0xff);
        const t0 = performance.now();
        for (let i = 0; i < chunks; i++) file.writeRange(ranges[i], source.subarray(i * chunk, (i + 1) * chunk));
        return mbps(performance.now() - t0);
      },
      verify() {
        for (let i = 0; i < chunks; i++) {
          file.readRange(ranges[i], back);
          if (back.compare(source, i * chunk, (i + 1) * chunk) !== 0) throw new Error(`chunk ${i} differs`);
        }
      },
    },
    {
      name: 'Buffer.copy',
      run(rep) {
        source.fill((rep + 3) & 0xff);
        const t0 = performance.now();
        for (let i = 0; i < chunks; i++) source.copy(target, i * chunk, i * chunk, (i + 1) * chunk);
        return mbps(performance.now() - t0);
      },
      verify() {
        if (!target.equals(source)) throw new Error('copy differs');
      },
    },
  ];
  log('limit');
  const { times, verified } = await alternate(contenders, 5, log);
  file.close();
  removeAndSync(path);
  return [
    {
      scenario: 'limit',
      variant: 'writeRange-12m',
      workers: 1,
      peer: 'Buffer.copy',
      speedup: speedups(times.writeRange, times['Buffer.copy'], true),
      subject: { ...summary(times.writeRange), unit: 'MiB/s' },
      peerValue: { ...summary(times['Buffer.copy']), unit: 'MiB/s' },
      verified,
    },
  ];
}
