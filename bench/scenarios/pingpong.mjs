// pingpong (issue 9): wait/notify latency between two processes through a
// word of one mapped file. This process stores 1 and notifies, the other
// process (waiting) answers with 2 and notifies, this one wakes; one
// round trip = two hops. Reports microseconds per hop (lower is better);
// no peer (Atomics.wait cannot cross processes), like `alloc`.
// Verified: every round trip completed with the word holding the answer.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryMappedFile } from 'ranged-mmap';
import { removeAndSync } from '../lib/files.mjs';
import { summary } from '../lib/stats.mjs';

const child = fileURLToPath(new URL('../workers/pingpong-child.mjs', import.meta.url));

export async function pingpong({ dir, quick, reps, log }) {
  const rounds = quick ? 5_000 : 50_000;
  const path = join(dir, 'pingpong.bin');
  const m = MemoryMappedFile.createRw(path, 4096);
  const word = m.atomicU32(0);
  word.store(2);
  const other = fork(child, [path]);
  await new Promise((resolve, reject) => {
    other.once('message', resolve);
    other.once('error', reject);
  });
  const hops = [];
  let verified = true;
  try {
    for (let rep = -1; rep < reps; rep++) {
      const t0 = performance.now();
      for (let i = 0; i < rounds; i++) {
        word.store(1);
        m.notify(0);
        while (word.load() === 1) m.wait(0, 1, 10_000);
      }
      const us = ((performance.now() - t0) * 1000) / (2 * rounds);
      if (word.load() !== 2) verified = false;
      if (rep >= 0) {
        hops.push(us);
        log(`  pingpong rep ${rep + 1}/${reps}: ${us.toFixed(2)} us per hop`);
      }
    }
  } finally {
    word.store(3);
    m.notify(0);
    await new Promise((resolve) => other.once('exit', resolve));
    m.close();
    removeAndSync(path);
  }
  return [
    {
      scenario: 'pingpong',
      variant: 'wait-notify-2-processes',
      workers: 2,
      peer: null,
      speedup: null,
      subject: { ...summary(hops), unit: 'us/hop', values: hops },
      peerValue: null,
      verified,
    },
  ];
}
