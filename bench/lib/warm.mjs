// The memory warm step of BENCH.md. This VM reports freed memory to its
// host (free page reporting, 2 MiB blocks); the first touch of a reported
// block after an idle gap costs ~300-350 ms per 512 MiB, inside whichever
// contender happens to run next. Touching and freeing at least as much
// anonymous memory as the repetition will use, just before it (untimed),
// makes the host back those blocks again, and the allocator hands the
// just-freed pages out first.
//
// No native code: Buffer.allocUnsafeSlow(n) is one malloc (for n this big,
// glibc mmaps it), one byte is written in every 4 KiB page (the fault
// makes the kernel back and zero the whole page; a full fill() would only
// add a memset), every one of those bytes is read back and checked (so the
// writes cannot be skipped), and two forced major
// GCs free the ArrayBuffer's backing store (munmap) before the step
// returns (one is not always enough: V8 may finish freeing array buffers
// after the GC returns). Each step checks both halves and counts a step
// that fell short of 90% of its size (`warmStats`, in the results file):
//  - touched: the process's minor page faults during the writes
//    (process.resourceUsage), one per fresh 4 KiB page;
//  - released: VmSize (/proc/self/status) after the GCs is that much below
//    VmSize with the buffer allocated, i.e. the block was unmapped. (RssAnon
//    is not used: on this kernel it lags and misses whole steps.)
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
// Settle the heap first, so the first step's VmSize is not moved by V8
// reserving heap space for the first time.
gc();
gc();

const PAGE = 4096;
const MiB = 1024 * 1024;

export const warmStats = { steps: 0, totalMiB: 0, totalMs: 0, maxMs: 0, shortTouch: 0, shortRelease: 0 };

function vmSize() {
  const m = /VmSize:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'latin1'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Touches and frees `bytes` of anonymous memory (rounded up to a page); returns the step's ms. */
export function warmMemory(bytes) {
  const n = Math.ceil(bytes / PAGE) * PAGE;
  const t0 = performance.now();
  let buf = Buffer.allocUnsafeSlow(n);
  const mapped = vmSize();
  const faults = process.resourceUsage().minorPageFault;
  for (let i = 0; i < n; i += PAGE) buf[i] = 1;
  const touched = (process.resourceUsage().minorPageFault - faults) * PAGE;
  let sum = 0;
  for (let i = 0; i < n; i += PAGE) sum += buf[i];
  if (sum !== n / PAGE) throw new Error(`warm step read back ${sum}, expected ${n / PAGE}`); // the writes happened
  buf = null;
  gc();
  gc();
  const released = mapped - vmSize();
  const ms = performance.now() - t0;
  warmStats.steps++;
  warmStats.totalMiB += n / MiB;
  warmStats.totalMs += ms;
  warmStats.maxMs = Math.max(warmStats.maxMs, ms);
  if (!(touched >= 0.9 * n)) {
    if (warmStats.shortTouch++ === 0) console.error(`  warm step: ${(touched / MiB).toFixed(0)} MiB of page faults for ${n / MiB} MiB filled`);
  }
  if (!(released >= 0.9 * n)) {
    if (warmStats.shortRelease++ === 0) console.error(`  warm step: only ${(released / MiB).toFixed(0)} of ${n / MiB} MiB unmapped after the GC`);
  }
  return ms;
}

/**
 * The warm size for a scenario: at least its size, and never below 64 MiB.
 * The floor keeps the buffer out of glibc's heap: a request no bigger than
 * the heap's free top chunk is served from there (glibc mmaps only when the
 * heap cannot serve it, and its dynamic mmap threshold rises to 32 MiB), and
 * freeing it then unmaps nothing. Seen once, in a full run, for 32 MiB
 * steps (9 short releases); never for 64 MiB and more.
 */
export function warmSize(scenarioBytes) {
  return Math.max(Math.ceil(scenarioBytes * warmFactor), 64 * MiB);
}

let warmFactor = 1;

/** Multiplies every scenario's warm size (run.mjs --warm-factor; default 1). */
export function setWarmFactor(factor) {
  warmFactor = factor;
}
