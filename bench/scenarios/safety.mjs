// safety overhead (issue "Benchmark suite"): MmapFile.writeRange of 4 KiB
// into a warm mapping, every check included (brand, ownership, liveness,
// length, closed/fault state), against a bare Uint8Array.prototype.set into
// the same mapping (a RawMmapFile view of the same file, same offsets).
// speedup = bare time / writeRange time (target >= 0.9).
import { join } from 'node:path';
import { MmapFile, RawMmapFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { removeAndSync } from '../lib/files.mjs';
import { comparison } from '../lib/stats.mjs';

const MiB = 1024 * 1024;
const PAGE = 4096;

export async function safety({ dir, quick, reps, log }) {
  const size = 64 * MiB;
  const rounds = quick ? 8 : 32;
  const path = join(dir, 'safety.bin');
  const { file, allocator } = MmapFile.create(path, size);
  const raw = RawMmapFile.fromShared(file.share());
  const view = raw.readSlice(0, size);
  const ranges = [];
  for (let r = allocator.allocate(PAGE); r !== null; r = allocator.allocate(PAGE)) ranges.push(r);
  const data = Buffer.alloc(PAGE);
  let value = 0;
  const check = () => {
    const want = Buffer.alloc(size, value);
    if (Buffer.compare(want, view) !== 0) throw new Error('mapping does not hold the last value written');
  };
  const contenders = [
    {
      name: 'writeRange',
      run(rep) {
        value = (rep + 2) & 0xff;
        data.fill(value);
        const t0 = performance.now();
        for (let k = 0; k < rounds; k++) for (let i = 0; i < ranges.length; i++) file.writeRange(ranges[i], data);
        return performance.now() - t0;
      },
      verify: check,
    },
    {
      name: 'Uint8Array.set',
      run(rep) {
        value = (rep + 3) & 0xff;
        data.fill(value);
        const t0 = performance.now();
        for (let k = 0; k < rounds; k++) for (let i = 0; i < ranges.length; i++) view.set(data, i * PAGE);
        return performance.now() - t0;
      },
      verify: check,
    },
  ];
  log('safety');
  const { times, verified } = await alternate(contenders, reps, log);
  raw.close();
  file.close();
  removeAndSync(path);
  return [comparison({ scenario: 'safety', variant: 'writeRange-4k', workers: 1, subject: 'writeRange', peer: 'Uint8Array.set', times, verified, unit: 'ms' })];
}
