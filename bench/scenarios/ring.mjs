// ring (BENCH.md): 4 KiB messages from one worker to another, through
// SharedRing, against MessagePort.postMessage and against a plain-JS ring
// on a SharedArrayBuffer (both rings 1 MiB, both copy each message in and
// out). Timed from the start signal (both workers ready) to the consumer's
// last message; every message's index and last byte are checked.
// Reported as GiB/s (higher is better) and, per variant, the time per
// message in ns (1 / throughput: amortized, not a latency). The latency is
// its own variant, `4k-latency`: one 4 KiB message in flight between the
// two workers, echoed back (ping-pong), in microseconds per hop (half a
// round trip; lower is better), against the same two peers, measured
// after 10000 untimed round trips; `4k-latency-cold` times the first hops
// of fresh workers instead (code not yet optimized). `4k-messages-batch`
// sends the same messages with writeMessages/readMessages, 64 per call,
// against the single-message calls (writeMessage/readMessage, and the byte
// stream's write/read) in the same run.
import { Worker, MessageChannel } from 'node:worker_threads';
import { SharedRing } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { comparison } from '../lib/stats.mjs';
import { warmSize } from '../lib/warm.mjs';

const MESSAGE = 4096;
const RING = 1 << 20;
/** Untimed round trips before the timed ones in the steady-state latency variant. */
const WARM_ROUNDS = 10000;
const workerUrl = new URL('../workers/ring-worker.mjs', import.meta.url);

/** Each worker's last message, once it exits with code 0 (rejects otherwise). Shared with probes/ring-hop.mjs. */
export function reportsOf(workers) {
  return workers.map(
    (w) =>
      new Promise((resolve, reject) => {
        let report;
        w.on('message', (m) => (report = m));
        w.on('error', reject);
        w.on('exit', (code) => (code === 0 ? resolve(report) : reject(new Error(`ring worker exited with ${code}`))));
      }),
  );
}

async function once(kind, messages) {
  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const base = { kind, messages, control };
  let extra = [{}, {}];
  let transfer = [[], []];
  let ring = null;
  if (kind.startsWith('shared')) {
    ring = new SharedRing(RING);
    extra = [{ handle: ring.share() }, { handle: ring.share() }];
  } else if (kind === 'port') {
    const { port1, port2 } = new MessageChannel();
    extra = [{ port: port1 }, { port: port2 }];
    transfer = [[port1], [port2]];
  } else {
    const sab = new SharedArrayBuffer(64 + RING);
    extra = [
      { sab, capacity: RING },
      { sab, capacity: RING },
    ];
  }
  const roles = ['producer', 'consumer'];
  const workers = roles.map((role, i) => new Worker(workerUrl, { workerData: { ...base, role, ...extra[i] }, transferList: transfer[i] }));
  const reports = reportsOf(workers);
  // Both ready (without blocking this thread: the port consumer needs its event loop).
  while (Atomics.load(ctl, 1) < 2) await new Promise((r) => setTimeout(r, 1));
  const start = performance.timeOrigin + performance.now();
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
  const [, consumer] = await Promise.all(reports);
  ring?.close();
  if (consumer.bad !== 0) throw new Error(`${consumer.bad} messages arrived wrong`);
  return consumer.end - start;
}

/** Ping-pong: microseconds per hop (half a round trip) of one 4 KiB message between two workers. */
async function latencyOnce(kind, rounds, warm) {
  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const base = { kind, messages: rounds, control, warm };
  let extra = [{}, {}];
  let transfer = [[], []];
  const rings = [];
  if (kind === 'pp-shared') {
    rings.push(new SharedRing(RING), new SharedRing(RING));
    const handles = { a: rings[0].share(), b: rings[1].share() };
    extra = [handles, handles];
  } else if (kind === 'pp-port') {
    const { port1, port2 } = new MessageChannel();
    extra = [{ port: port1 }, { port: port2 }];
    transfer = [[port1], [port2]];
  } else {
    const sabs = { a: new SharedArrayBuffer(64 + RING), b: new SharedArrayBuffer(64 + RING), capacity: RING };
    extra = [sabs, sabs];
  }
  const roles = ['pinger', 'ponger'];
  const workers = roles.map((role, i) => new Worker(workerUrl, { workerData: { ...base, role, ...extra[i] }, transferList: transfer[i] }));
  const reports = reportsOf(workers);
  while (Atomics.load(ctl, 1) < 2) await new Promise((r) => setTimeout(r, 1));
  const start = performance.timeOrigin + performance.now();
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
  const [pinger] = await Promise.all(reports);
  for (const r of rings) r.close();
  if (pinger.bad !== 0) throw new Error(`${pinger.bad} echoes arrived wrong`);
  return ((pinger.end - start) * 1000) / (2 * rounds);
}

export async function ring({ quick, reps, log }) {
  const messages = (quick ? 64 : 512) * 256; // 64 MiB or 512 MiB per repetition
  const bytes = messages * MESSAGE;
  let lastBad = null;
  const contender = (name, kind) => ({
    name,
    async run() {
      lastBad = null;
      try {
        const ms = await once(kind, messages);
        return bytes / 2 ** 30 / (ms / 1000); // GiB/s
      } catch (error) {
        lastBad = error;
        return 0;
      }
    },
    verify() {
      if (lastBad) throw lastBad;
    },
  });
  const contenders = [
    contender('SharedRing', 'shared'),
    contender('SharedRing slices', 'shared-slices'),
    contender('SharedRing messages', 'shared-messages'),
    contender('SharedRing batch', 'shared-batch'),
    contender('postMessage', 'port'),
    contender('SAB ring (JS)', 'sab'),
  ];
  log('ring');
  // alternate() warms the machine before every timed run (lib/warm.mjs).
  const { times, verified, order, reported } = await alternate(contenders, reps, log, { warmBytes: warmSize(bytes), label: 'ring' });
  const nsPerMessage = (gibs) => (MESSAGE / (gibs * 2 ** 30)) * 1e9;
  const out = [];
  // 4k-messages: both sides copy each message in and out, like the peers.
  // 4k-messages-zero-copy: an advantage only the double-mapped ring has
  // (every message contiguous in the ring), reported as its own variant.
  for (const [variant, subject] of [
    ['4k-messages', 'SharedRing'],
    ['4k-messages-zero-copy', 'SharedRing slices'],
  ]) {
    for (const peer of ['postMessage', 'SAB ring (JS)']) {
      const r = comparison({ scenario: 'ring', variant, workers: 2, subject, peer, times, verified, order, reported, unit: 'GiB/s', higherIsBetter: true });
      r.nsPerMessage = { subject: nsPerMessage(r.subject.median), peer: nsPerMessage(r.peerValue.median) };
      out.push(r);
    }
  }
  // 4k-messages-batch: writeMessages/readMessages, 64 messages per call
  // (each still copied in and out), against the one-message-per-call paths
  // of the same ring: writeMessage/readMessage (the same frames) and the
  // byte stream's write/read.
  for (const peer of ['SharedRing messages', 'SharedRing']) {
    const r = comparison({
      scenario: 'ring',
      variant: '4k-messages-batch',
      workers: 2,
      subject: 'SharedRing batch',
      peer,
      times,
      verified,
      order,
      reported,
      unit: 'GiB/s',
      higherIsBetter: true,
    });
    r.nsPerMessage = { subject: nsPerMessage(r.subject.median), peer: nsPerMessage(r.peerValue.median) };
    out.push(r);
  }
  // Per-message latency: one message in flight, echoed back (ping-pong).
  // `4k-latency`: after WARM_ROUNDS untimed round trips in the same two
  // workers (both sides alike), the steady-state hop. `4k-latency-cold`:
  // the first hops of fresh workers, which mostly measure how soon each
  // side's code is compiled (a fresh worker starts unoptimized; the
  // library's read/write path is more code to compile than the plain-JS ring).
  const rounds = quick ? 2000 : 20000;
  for (const [variant, warm, label] of [
    ['4k-latency', WARM_ROUNDS, 'ring-latency'],
    ['4k-latency-cold', 0, 'ring-latency-cold'],
  ]) {
    let latencyBad = null;
    const hop = (name, kind) => ({
      name,
      async run() {
        latencyBad = null;
        try {
          return await latencyOnce(kind, rounds, warm);
        } catch (error) {
          latencyBad = error;
          return Number.POSITIVE_INFINITY;
        }
      },
      verify() {
        if (latencyBad) throw latencyBad;
      },
    });
    log(`ring latency (ping-pong${warm === 0 ? ', cold' : ''})`);
    const lat = await alternate([hop('SharedRing hop', 'pp-shared'), hop('postMessage hop', 'pp-port'), hop('SAB ring hop', 'pp-sab')], reps, log, {
      warmBytes: warmSize(rounds * MESSAGE * 2),
      label,
    });
    for (const peer of ['postMessage hop', 'SAB ring hop']) {
      out.push(
        comparison({
          scenario: 'ring',
          variant,
          workers: 2,
          subject: 'SharedRing hop',
          peer,
          times: lat.times,
          verified: lat.verified,
          order: lat.order,
          reported: lat.reported,
          unit: 'us',
          higherIsBetter: false,
        }),
      );
    }
  }
  return out;
}
