// One side of the `ring` scenario (bench/scenarios/ring.mjs): 4 KiB
// messages from a producer worker to a consumer worker through
//   - 'shared': SharedRing (write copies in, read copies out),
//   - 'shared-slices': SharedRing zero-copy (writeSlice/commit, readSlice/consume),
//   - 'shared-messages': SharedRing writeMessage/readMessage, one message per call,
//   - 'shared-batch': SharedRing writeMessages/readMessages, BATCH messages per call
//     (each copied in and out, as in 'shared-messages'; one publish per batch),
//   - 'port':   MessagePort.postMessage (structured clone of each message),
//   - 'sab':    a plain-JavaScript ring on a SharedArrayBuffer (Atomics.wait/notify).
// Both sides wait on `control[0]` (the start signal) after they are ready,
// so worker start-up stays out of the timing. Message i carries i in its
// first 4 bytes and (i & 0xff) in its last byte; the consumer checks both
// in every message and reports the count of bad ones and its end time.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedRing } from 'ranged-mmap';

const MESSAGE = 4096;
/** Messages per writeMessages/readMessages call in the 'shared-batch' kind. */
const BATCH = 64;
const { kind, role, messages, control } = workerData;
const ctl = new Int32Array(control);

function ready() {
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
  Atomics.wait(ctl, 0, 0); // until the main thread says go
}

function stamp(msg, i) {
  msg[0] = i & 0xff;
  msg[1] = (i >>> 8) & 0xff;
  msg[2] = (i >>> 16) & 0xff;
  msg[3] = (i >>> 24) & 0xff;
  msg[MESSAGE - 1] = i & 0xff;
}

function ok(msg, at, i) {
  return (msg[at] | (msg[at + 1] << 8) | (msg[at + 2] << 16) | (msg[at + 3] << 24)) === (i | 0) && msg[at + MESSAGE - 1] === (i & 0xff);
}

const done = (bad) => parentPort.postMessage({ bad, end: performance.timeOrigin + performance.now() });

/** A plain-JS ring on a SharedArrayBuffer (the 'sab' peer's algorithm) as send/receive of one message. */
function sabRing(sab, capacity, side) {
  const h = new Int32Array(sab, 0, 16);
  const data = new Uint8Array(sab, 64, capacity);
  const mask = capacity - 1;
  let cursor = 0;
  if (side === 'send') {
    return (msg) => {
      for (;;) {
        const head = Atomics.load(h, 0);
        if (capacity - ((cursor - head) >>> 0) >= MESSAGE) break;
        Atomics.wait(h, 0, head);
      }
      const at = cursor & mask;
      const first = Math.min(MESSAGE, capacity - at);
      data.set(first === MESSAGE ? msg : msg.subarray(0, first), at);
      if (first < MESSAGE) data.set(msg.subarray(first), 0);
      cursor = (cursor + MESSAGE) >>> 0;
      Atomics.store(h, 8, cursor | 0);
      Atomics.notify(h, 8);
    };
  }
  return (msg) => {
    for (;;) {
      const tail = Atomics.load(h, 8);
      if ((tail - cursor) >>> 0 >= MESSAGE) break;
      Atomics.wait(h, 8, tail);
    }
    const at = cursor & mask;
    const first = Math.min(MESSAGE, capacity - at);
    msg.set(data.subarray(at, at + first));
    if (first < MESSAGE) msg.set(data.subarray(0, MESSAGE - first), first);
    cursor = (cursor + MESSAGE) >>> 0;
    Atomics.store(h, 0, cursor | 0);
    Atomics.notify(h, 0);
  };
}

if (kind.startsWith('pp-')) {
  // Ping-pong latency: one 4 KiB message in flight. The pinger sends
  // message i on channel A and waits for the ponger's echo on channel B;
  // it reports the time of the whole exchange (one hop = half a round trip).
  // `warm` untimed round trips first (before ready(), both sides alike):
  // a fresh worker's first thousands of hops run unoptimized code and
  // wait for its compilation, which the steady-state variant leaves out.
  const rounds = messages;
  const warm = workerData.warm ?? 0;
  const msg = new Uint8Array(MESSAGE);
  let send;
  let recv; // sync (rings) or async (ports)
  if (kind === 'pp-shared') {
    const a = SharedRing.fromShared(workerData.a);
    const b = SharedRing.fromShared(workerData.b);
    const [out, inn] = role === 'pinger' ? [a, b] : [b, a];
    inn.tryRead(new Uint8Array(0)); // take the consumer role before the start
    send = (m) => out.write(m);
    recv = (m) => {
      let got = 0;
      while (got < MESSAGE) got += inn.read(m.subarray(got));
    };
  } else if (kind === 'pp-sab') {
    const [out, inn] = role === 'pinger' ? [workerData.a, workerData.b] : [workerData.b, workerData.a];
    send = sabRing(out, workerData.capacity, 'send');
    recv = sabRing(inn, workerData.capacity, 'recv');
  }
  let bad = 0;
  if (kind === 'pp-port') {
    const port = workerData.port;
    if (role === 'pinger') {
      let end = 0;
      const exchange = (count) =>
        new Promise((resolve) => {
          let i = 0;
          const onMessage = (m) => {
            if (!ok(m, 0, i)) bad++;
            if (++i === count) {
              end = performance.timeOrigin + performance.now();
              port.off('message', onMessage);
              resolve();
            } else {
              stamp(msg, i);
              port.postMessage(msg);
            }
          };
          port.on('message', onMessage);
          stamp(msg, 0);
          port.postMessage(msg);
        });
      if (warm > 0) await exchange(warm);
      ready();
      await exchange(rounds);
      port.close();
      parentPort.postMessage({ bad, end });
    } else {
      let echoed = 0;
      const warmed = new Promise((resolve) => {
        port.on('message', (m) => {
          port.postMessage(m);
          if (++echoed === warm) resolve();
        });
        if (warm === 0) resolve();
      });
      await warmed;
      ready();
      await new Promise((resolve) => port.once('close', resolve));
      parentPort.postMessage({ bad: 0, end: 0 });
    }
  } else {
    for (let i = 0; i < warm; i++) {
      if (role === 'pinger') {
        stamp(msg, i);
        send(msg);
        recv(msg);
        if (!ok(msg, 0, i)) bad++;
      } else {
        recv(msg);
        send(msg);
      }
    }
    ready();
    if (role === 'pinger') {
      for (let i = 0; i < rounds; i++) {
        stamp(msg, i);
        send(msg);
        recv(msg);
        if (!ok(msg, 0, i)) bad++;
      }
      done(bad);
    } else {
      for (let i = 0; i < rounds; i++) {
        recv(msg);
        send(msg);
      }
      done(0);
    }
  }
} else if (kind === 'shared' || kind === 'shared-slices') {
  const ring = SharedRing.fromShared(workerData.handle);
  const msg = new Uint8Array(MESSAGE);
  const slices = kind === 'shared-slices';
  if (role === 'producer') {
    ready();
    for (let i = 0; i < messages; i++) {
      if (slices) {
        // Zero-copy: the message is made in the ring itself.
        const free = ring.writeSlice(MESSAGE);
        stamp(free, i);
        ring.commit(MESSAGE);
      } else {
        stamp(msg, i);
        ring.write(msg);
      }
    }
    ring.close();
    done(0);
  } else {
    ring.tryRead(new Uint8Array(0)); // take the consumer role before the start
    ready();
    let bad = 0;
    for (let i = 0; i < messages; ) {
      if (slices) {
        // Zero-copy: every whole message readable now, checked in place.
        const bytes = ring.readSlice(MESSAGE);
        const whole = Math.floor(bytes.length / MESSAGE);
        for (let k = 0; k < whole; k++, i++) if (!ok(bytes, k * MESSAGE, i)) bad++;
        ring.consume(whole * MESSAGE);
      } else {
        let got = 0;
        while (got < MESSAGE) got += ring.read(msg.subarray(got));
        if (!ok(msg, 0, i)) bad++;
        i++;
      }
    }
    ring.close();
    done(bad);
  }
} else if (kind === 'shared-messages' || kind === 'shared-batch') {
  const ring = SharedRing.fromShared(workerData.handle);
  if (role === 'producer') {
    ring.producer();
    ready();
    if (kind === 'shared-messages') {
      const msg = new Uint8Array(MESSAGE);
      for (let i = 0; i < messages; i++) {
        stamp(msg, i);
        ring.writeMessage(msg);
      }
    } else {
      // BATCH message buffers, stamped and written as one batch (the ring
      // may take part of it when nearly full: the rest goes in the next call).
      const batch = Array.from({ length: BATCH }, () => new Uint8Array(MESSAGE));
      for (let i = 0; i < messages; ) {
        const count = Math.min(BATCH, messages - i);
        const msgs = count === BATCH ? batch : batch.slice(0, count);
        for (let k = 0; k < count; k++) stamp(msgs[k], i + k);
        for (let k = 0; k < count; ) k += ring.writeMessages(msgs, k);
        i += count;
      }
    }
    ring.close();
    done(0);
  } else {
    ring.consumer();
    ready();
    let bad = 0;
    if (kind === 'shared-messages') {
      const msg = new Uint8Array(MESSAGE);
      for (let i = 0; i < messages; i++) {
        if (ring.readMessage(msg) !== MESSAGE || !ok(msg, 0, i)) bad++;
      }
    } else {
      const buf = new Uint8Array(BATCH * MESSAGE);
      const lengths = new Uint32Array(BATCH);
      for (let i = 0; i < messages; ) {
        const count = ring.readMessages(buf, lengths);
        if (count === null) break;
        for (let k = 0; k < count; k++, i++) if (lengths[k] !== MESSAGE || !ok(buf, k * MESSAGE, i)) bad++;
      }
    }
    ring.close();
    done(bad);
  }
} else if (kind === 'port') {
  const port = workerData.port;
  if (role === 'producer') {
    ready();
    const msg = new Uint8Array(MESSAGE);
    for (let i = 0; i < messages; i++) {
      stamp(msg, i);
      port.postMessage(msg);
    }
    done(0);
    port.close();
  } else {
    let i = 0;
    let bad = 0;
    port.on('message', (msg) => {
      if (!ok(msg, 0, i)) bad++;
      if (++i === messages) {
        done(bad);
        port.close();
      }
    });
    ready();
  }
} else {
  // The plain-JS ring: [head, tail] byte counters (mod 2^32) and a data
  // region whose size is a power of two; a message that crosses the end is
  // copied in two parts (no double mapping in JavaScript).
  const { sab, capacity } = workerData;
  const h = new Int32Array(sab, 0, 16);
  const data = new Uint8Array(sab, 64, capacity);
  const mask = capacity - 1;
  const HEAD = 0;
  const TAIL = 8;
  const msg = new Uint8Array(MESSAGE);
  if (role === 'producer') {
    ready();
    let tail = 0;
    for (let i = 0; i < messages; i++) {
      stamp(msg, i);
      for (;;) {
        const head = Atomics.load(h, HEAD);
        if (capacity - ((tail - head) >>> 0) >= MESSAGE) break;
        Atomics.wait(h, HEAD, head);
      }
      const at = tail & mask;
      const first = Math.min(MESSAGE, capacity - at);
      data.set(first === MESSAGE ? msg : msg.subarray(0, first), at);
      if (first < MESSAGE) data.set(msg.subarray(first), 0);
      tail = (tail + MESSAGE) >>> 0;
      Atomics.store(h, TAIL, tail | 0);
      Atomics.notify(h, TAIL);
    }
    done(0);
  } else {
    ready();
    let head = 0;
    let bad = 0;
    for (let i = 0; i < messages; i++) {
      for (;;) {
        const tail = Atomics.load(h, TAIL);
        if ((tail - head) >>> 0 >= MESSAGE) break;
        Atomics.wait(h, TAIL, tail);
      }
      const at = head & mask;
      const first = Math.min(MESSAGE, capacity - at);
      msg.set(data.subarray(at, at + first));
      if (first < MESSAGE) msg.set(data.subarray(0, MESSAGE - first), first);
      if (!ok(msg, 0, i)) bad++;
      head = (head + MESSAGE) >>> 0;
      Atomics.store(h, HEAD, head | 0);
      Atomics.notify(h, HEAD);
    }
    done(bad);
  }
}
