// node bench/probes/pwrite-piece.mjs [MiB=4096] [rounds=3] [cold|warm]
// How the size of each pwrite call changes the cost of filling fresh
// page-cache pages: the same MiB written into a new preallocated file with
// fs.writeSync calls of 16 KiB to 1 MiB, sizes alternating in each round,
// the file deleted and the disk synced between runs; `warm` adds the memory
// warm step (bench/lib/warm.mjs) before each, `cold` (the default) does
// not, as a download that runs for seconds does not keep the memory it
// will fill backed. Prints the process's own CPU time (user + sys) per
// GiB, median (min-max) per size.
//
// Why: the kernel sizes the page-cache folios of a write by that call's
// length; on this VM (Linux 6.18, ext4, freed memory reported to the host)
// calls above 32 KiB took 1x to 4x the CPU of 32 KiB calls from one run to
// the next, and 32 KiB calls held steady. The library's large-write route
// (native/sync_ops.c, rm_pwrite_all) writes in 32 KiB calls for that reason.
import { closeSync, fsyncSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { warmMemory } from '../lib/warm.mjs';
import { median } from '../lib/stats.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;
const total = Number(process.argv[2] ?? 4096) * MiB;
const rounds = Number(process.argv[3] ?? 3);
const warm = process.argv[4] === 'warm';
const sizes = [16 * KiB, 32 * KiB, 64 * KiB, 256 * KiB, MiB];
const src = Buffer.alloc(MiB, 7);
const path = join(tmpdir(), `pwrite-piece-${process.pid}.bin`);
const cpu = new Map(sizes.map((s) => [s, []]));

function run(piece) {
  rmSync(path, { force: true });
  execFileSync('sync');
  const fd = openSync(path, 'w');
  try {
    execFileSync('fallocate', ['-l', String(total), path]);
  } catch {
    ftruncateSync(fd, total);
  }
  if (warm) warmMemory(total);
  const t0 = process.cpuUsage();
  for (let at = 0; at < total; at += piece) writeSync(fd, src, 0, piece, at);
  const t = process.cpuUsage(t0);
  fsyncSync(fd);
  closeSync(fd);
  return (t.user + t.system) / 1e6 / (total / (1024 * MiB));
}

for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? sizes : [...sizes].reverse();
  for (const s of order) cpu.get(s).push(run(s));
}
rmSync(path, { force: true });
for (const s of sizes) {
  const v = cpu.get(s);
  console.log(`${String(s / KiB).padStart(5)} KiB calls: ${median(v).toFixed(2)} CPU s/GiB (${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)})`);
}
