// safety overhead (BENCH.md "Against the JavaScript floor too"): 4 KiB
// writes into a warm 64 MiB mapping, every check included, against the
// bare mapping: a plain Uint8Array over the same mapping (RawMmapFile
// readSlice(0, size), view 0 of the mapping itself) written with
// view.set(data, offset), no checks at all, at the same offsets.
//  - "writeRange-4k": MmapFile.writeRange (brand, ownership, liveness,
//    length, closed/fault state);
//  - "writeAt-4k": RawMmapFile.writeAt (bounds, closed/fault state).
// All three contenders write the same mapping, each its own byte value,
// so verification sees which one wrote last.
// speedup = bare time / our time (target >= 0.95).
import { join } from 'node:path';
import { MmapFile, RawMmapFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { removeAndSync } from '../lib/files.mjs';
import { comparison } from '../lib/stats.mjs';
import { warmSize } from '../lib/warm.mjs';

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
  const pages = ranges.length;
  const data = Buffer.alloc(PAGE);
  let value = 0;
  const check = () => {
    const want = Buffer.alloc(size, value);
    if (Buffer.compare(want, view) !== 0) throw new Error('mapping does not hold the last value written');
  };
  const contender = (name, k, write) => ({
    name,
    run(rep) {
      value = (rep * 3 + k + 2) & 0xff;
      data.fill(value);
      const t0 = performance.now();
      for (let round = 0; round < rounds; round++) write();
      return performance.now() - t0;
    },
    verify: check,
  });
  const contenders = [
    contender('writeRange', 0, () => {
      for (let i = 0; i < pages; i++) file.writeRange(ranges[i], data);
    }),
    contender('writeAt', 1, () => {
      for (let i = 0; i < pages; i++) raw.writeAt(i * PAGE, data);
    }),
    contender('bare mapping', 2, () => {
      for (let i = 0; i < pages; i++) view.set(data, i * PAGE);
    }),
  ];
  log('safety');
  const { times, verified, order, reported } = await alternate(contenders, reps, log, { warmBytes: warmSize(size), label: 'safety' });
  raw.close();
  file.close();
  removeAndSync(path);
  return [
    comparison({
      scenario: 'safety',
      variant: 'writeRange-4k',
      workers: 1,
      subject: 'writeRange',
      peer: 'bare mapping',
      times,
      verified,
      order,
      reported,
      unit: 'ms',
    }),
    comparison({
      scenario: 'safety',
      variant: 'writeAt-4k',
      workers: 1,
      subject: 'writeAt',
      peer: 'bare mapping',
      times,
      verified,
      order,
      reported,
      unit: 'ms',
    }),
  ];
}
