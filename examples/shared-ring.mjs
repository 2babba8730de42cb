// A producer worker feeds a consumer worker through a SharedRing: 64 MiB in
// 4 KiB messages, zero-copy on both sides (writeSlice/commit,
// readSlice/consume), every byte checked by the consumer. The main thread
// only makes the ring and posts it to both workers, like a file.
//   node examples/shared-ring.mjs [--mib N]
//
// The GiB/s it prints is timed from the producer's first message to the
// consumer's last (worker start-up excluded), and it is set by the
// JavaScript loops that fill and check every byte, not by the ring: expect
// well under 1 GiB/s. The ring itself, with each 4 KiB message copied in
// whole (write(msg)) and one byte of each checked, moves about 10 GiB/s
// between two workers (the README's figure, from `npm run bench --
// --only=ring`, on a 2-core VM; it depends on the machine and its load).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SharedRing } from 'ranged-mmap';

const MESSAGE = 4096;
const byteOf = (i, j) => (i * 7 + j * 31) & 0xff; // byte j of message i

if (isMainThread) {
  const mibArg = process.argv.indexOf('--mib');
  const mib = mibArg > 0 ? Number(process.argv[mibArg + 1]) : 64;
  const messages = (mib * 1024 * 1024) / MESSAGE;
  const ring = new SharedRing(1 << 20);
  const run = (role) =>
    new Promise((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { role, handle: ring.share(), messages } });
      let report;
      w.on('message', (m) => (report = m));
      w.on('error', reject);
      w.on('exit', (code) => (code === 0 ? resolve(report) : reject(new Error(`${role} exited with ${code}`))));
    });
  const [produced, consumed] = await Promise.all([run('producer'), run('consumer')]);
  ring.close();
  const seconds = (consumed.lastAt - produced.firstAt) / 1000;
  console.log(`capacity ${ring.capacity} bytes, ${produced.messages} messages of ${MESSAGE} bytes produced`);
  console.log(`consumer: ${consumed.messages} messages, ${consumed.bad} wrong, end of stream seen: ${consumed.ended}`);
  console.log(`${(mib / 1024 / seconds).toFixed(2)} GiB/s from the first message to the last, bound by the per-byte fill and check loops (not the ring)`);
  if (consumed.messages !== messages || consumed.bad !== 0 || !consumed.ended) process.exit(1);
} else if (workerData.role === 'producer') {
  const ring = SharedRing.fromShared(workerData.handle);
  const firstAt = performance.timeOrigin + performance.now(); // comparable across threads
  for (let i = 0; i < workerData.messages; i++) {
    const free = ring.writeSlice(MESSAGE); // sleeps while the ring is full
    for (let j = 0; j < MESSAGE; j++) free[j] = byteOf(i, j);
    ring.commit(MESSAGE);
  }
  ring.close(); // end of stream for the consumer
  parentPort.postMessage({ messages: workerData.messages, firstAt });
} else {
  const ring = SharedRing.fromShared(workerData.handle);
  let i = 0;
  let bad = 0;
  for (;;) {
    const bytes = ring.readSlice(MESSAGE); // sleeps while the ring is empty; empty at end of stream
    if (bytes.length === 0) break;
    const whole = Math.floor(bytes.length / MESSAGE);
    for (let k = 0; k < whole; k++, i++) {
      for (let j = 0; j < MESSAGE; j++) if (bytes[k * MESSAGE + j] !== byteOf(i, j)) bad++;
    }
    ring.consume(whole * MESSAGE);
  }
  const lastAt = performance.timeOrigin + performance.now();
  const ended = ring.ended;
  ring.close();
  parentPort.postMessage({ messages: i, bad, ended, lastAt });
}
