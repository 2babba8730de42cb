// Probe (evidence for the ring batch figures): what writeMessages /
// readMessages save per message, with both ends in one thread (no wake-ups,
// no cache lines moving between cores): batches of 64 against one
// writeMessage + readMessage per message, at 64 B, 1 KiB and 4 KiB. The
// batch saves the per-call work; the two copies of each message stay, so
// the ratio falls towards 1 as messages grow.
//   node bench/probes/ring-batch-floor.mjs
import { SharedRing } from 'ranged-mmap';

const BATCH = 64;
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

for (const size of [64, 1024, 4096]) {
  const ring = new SharedRing(1 << 20);
  const out = ring.producer();
  const input = SharedRing.fromShared(ring.share()).consumer();
  const msgs = Array.from({ length: BATCH }, (_, k) => new Uint8Array(size).fill(k));
  const one = new Uint8Array(size);
  const packed = new Uint8Array(BATCH * size);
  const lengths = new Uint32Array(BATCH);
  const rounds = Math.max(200, Math.floor(2e8 / size / BATCH));
  const single = () => {
    const t = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < BATCH; k++) out.writeMessage(msgs[k]);
      for (let k = 0; k < BATCH; k++) if (input.readMessage(one) !== size) throw new Error('short message');
    }
    return performance.now() - t;
  };
  const batch = () => {
    const t = performance.now();
    for (let r = 0; r < rounds; r++) {
      if (out.writeMessages(msgs) !== BATCH || input.readMessages(packed, lengths) !== BATCH) throw new Error('short batch');
    }
    return performance.now() - t;
  };
  single();
  batch();
  const ratios = [];
  const ns = { single: [], batch: [] };
  for (let i = 0; i < 9; i++) {
    const s = single();
    const b = batch();
    ratios.push(s / b);
    ns.single.push((s * 1e6) / (rounds * BATCH));
    ns.batch.push((b * 1e6) / (rounds * BATCH));
  }
  console.log(
    `${String(size).padStart(5)} B: one per call ${median(ns.single).toFixed(0)} ns/message, batches of ${BATCH} ${median(ns.batch).toFixed(0)} ns/message; ratio ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
  );
  out.close();
  input.close();
}
