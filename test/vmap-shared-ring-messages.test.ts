// SharedRing messages, typed ends and recovery: 10,000 random-sized
// messages between two processes with every byte checked; a producer
// killed mid-message (its half message is never seen, the consumer gets a
// clear error); a ring file left by a dead process replaced; framing rules.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SharedRing, type SharedRingConsumer } from 'ranged-mmap';
import { snapshot, tempDir } from './helpers.js';
import { MessageSource, fill, same, type MsgJob, type MsgReport } from './fixtures/vmap-sring-msg-peer.js';

const t = tempDir('ranged-mmap-sring-msg-');
after(() => t.cleanup());
const peer = fileURLToPath(new URL('./fixtures/vmap-sring-msg-peer.js', import.meta.url));

function code(e: unknown): unknown {
  return (e as { code?: unknown }).code;
}

/** A peer process with a deadline: killed (and the test failed) if it outlives it. */
function runPeer(
  job: MsgJob,
  deadlineMs = 120_000,
): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; report: MsgReport | null; out: string }> } {
  const child = spawn(process.execPath, [peer, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; report: MsgReport | null; out: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`peer ${job.role} outlived its ${deadlineMs} ms deadline`));
    }, deadlineMs);
    child.on('error', reject);
    child.on('close', (c, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      resolve({ code: c, signal, report: last.startsWith('{') ? (JSON.parse(last) as MsgReport) : null, out });
    });
  });
  return { child, done };
}

/** Resolves once the child printed 'ready'. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('ready\n')) resolve();
    });
    child.on('close', () => reject(new Error('the peer exited before it was ready')));
  });
}

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads messages with readMessageAsync until the end of the stream or a
 * ring error (returned, not thrown), checking each one's length and bytes
 * against the run seeded `seed`; `onMessage(count)` runs after each. A
 * failed check throws. Deadlined.
 */
async function readChecked(input: SharedRingConsumer, seed: number, onMessage: (got: number) => void): Promise<{ got: number; error: unknown }> {
  const src = new MessageSource(seed, input.maxMessage);
  const buf = new Uint8Array(input.maxMessage);
  let got = 0;
  const read = async (): Promise<unknown> => {
    for (;;) {
      let n: number | null;
      try {
        n = await input.readMessageAsync(buf);
      } catch (e) {
        return e;
      }
      if (n === null) return 'end';
      const { size, salt } = src.next();
      assert.equal(n, size, `message ${got}: length`);
      assert.ok(same(buf, n, salt), `message ${got}: bytes`);
      onMessage(++got);
    }
  };
  const error = await withDeadline(read(), 60_000, 'the consumer');
  return { got, error };
}

test('two processes: 10,000 messages of random sizes (0 to maxMessage), every byte and length checked, then end of stream', async () => {
  const path = t.path('random.ring');
  SharedRing.create(path, 1 << 16).close();
  const seed = 0x5eed1234;
  const consumer = runPeer({ role: 'consume', path, seed, messages: 0 });
  const producer = runPeer({ role: 'produce', path, seed, messages: 10_000, end: 'close' });
  const [c, p] = await Promise.all([consumer.done, producer.done]);
  assert.equal(p.code, 0);
  assert.equal(c.code, 0);
  assert.equal(p.report?.messages, 10_000);
  assert.deepEqual(c.report, { messages: 10_000, bad: 0, bytes: p.report?.bytes });
  assert.ok((p.report?.bytes ?? 0) > 10_000 * 16_000, 'sizes span the ring');
});

test('a message is whole or absent: a producer killed while filling one; the consumer reads every whole one, then ERR_MMAP_PEER_GONE', async () => {
  const path = t.path('mid.ring');
  SharedRing.create(path, 1 << 16).close();
  const seed = 77;
  const input = SharedRing.consumer(path);
  const producer = runPeer({ role: 'produce', path, seed, messages: 300, end: 'kill-mid' });
  const { got, error } = await readChecked(input, seed, () => {});
  const p = await producer.done;
  assert.equal(p.signal, 'SIGKILL');
  assert.equal(got, 300, 'every whole message, none of the half one');
  assert.equal(code(error), 'ERR_MMAP_PEER_GONE');
  assert.equal(input.readLen, 0, 'no byte of the half message was published');
  // A later producer takes over the dead one's end: the consumer goes on
  // with its messages, still whole.
  const out = SharedRing.producer(path);
  out.writeMessage('after the crash');
  const buf = new Uint8Array(input.maxMessage);
  assert.equal(input.readMessage(buf), 15);
  assert.equal(Buffer.from(buf.subarray(0, 15)).toString(), 'after the crash');
  out.close();
  assert.equal(input.readMessage(buf), null);
  input.close();
});

test('a producer killed at a random moment while streaming: the consumer sees only whole, correct messages, then ERR_MMAP_PEER_GONE', async () => {
  for (const seed of [1, 2, 3]) {
    const path = t.path(`kill-${seed}.ring`);
    SharedRing.create(path, 1 << 15).close();
    const input = SharedRing.consumer(path);
    const producer = runPeer({ role: 'produce', path, seed, messages: 0 });
    const killAfter = 200 + seed * 97;
    const { got, error } = await readChecked(input, seed, (n) => {
      if (n === killAfter) producer.child.kill('SIGKILL');
    });
    await producer.done;
    assert.ok(got >= killAfter);
    assert.equal(code(error), 'ERR_MMAP_PEER_GONE', String(error));
    input.close();
  }
});

test('recovery: create() over a ring file left by a dead process fails with EEXIST; { replace: true } makes a fresh ring there', async () => {
  const path = t.path('crash.ring');
  SharedRing.create(path, 1 << 14).close();
  const producer = runPeer({ role: 'produce', path, seed: 5, messages: 1, end: 'kill' }); // one message always fits
  assert.equal((await producer.done).signal, 'SIGKILL');
  assert.throws(
    () => SharedRing.create(path, 1 << 14),
    (e) => code(e) === 'EEXIST',
  );
  const ring = SharedRing.create(path, 1 << 14, { replace: true });
  assert.equal(ring.readLen, 0, 'a fresh, empty ring');
  const input = ring.consumer();
  const out = SharedRing.producer(path); // the path names the new ring
  out.writeMessage('fresh');
  const buf = new Uint8Array(16);
  assert.equal(input.readMessage(buf), 5);
  out.close();
  input.close();
  assert.deepEqual(
    readdirSync(t.dir).filter((f) => f.startsWith('crash.ring.')),
    [],
    'no temporary file left',
  );
});

test('recovery: { replace: true } refuses while a live process holds an end, and never replaces a file that is not a ring', async () => {
  const path = t.path('busy.ring');
  SharedRing.create(path, 1 << 14).close();
  // A live producer: it fills the ring and sleeps on it.
  const producer = runPeer({ role: 'produce', path, seed: 9, messages: 0, ready: true });
  await withDeadline(ready(producer.child), 30_000, 'the producer');
  // The producer may still be writing into the ring: what must not change is
  // the file itself (a replace renames a new file over it: another inode).
  const before = statSync(path);
  assert.throws(
    () => SharedRing.create(path, 1 << 14, { replace: true }),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE' && String((e as Error).message).includes(`process ${producer.child.pid}`),
  );
  const after = statSync(path);
  assert.deepEqual([after.ino, after.size], [before.ino, before.size], 'the refused replace left the ring file in place');
  producer.child.kill('SIGKILL');
  await producer.done;
  const stopped = snapshot(path);
  SharedRing.open(path).close();
  assert.equal(snapshot(path), stopped, 'opening the ring of a dead producer changes nothing');
  // Now its producer is dead: replaced.
  SharedRing.create(path, 1 << 14, { replace: true }).close();

  const other = t.path('notes.txt');
  writeFileSync(other, 'not a ring');
  assert.throws(
    () => SharedRing.create(other, 1 << 14, { replace: true }),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE' && /left as it was/.test((e as Error).message),
  );
  assert.equal(readFileSync(other, 'utf8'), 'not a ring');

  // An empty file (a create killed half way) is a broken ring file: replaced.
  const empty = t.path('empty.ring');
  writeFileSync(empty, '');
  SharedRing.create(empty, 1 << 14, { replace: true }).close();
  SharedRing.open(empty).close();
  assert.throws(
    () => SharedRing.create(empty, 1 << 14, { replace: 'yes' as never }),
    (e) => code(e) === 'ERR_INVALID_ARG_TYPE',
  );
  assert.ok(existsSync(empty));
});

test('framing: one kind of call per ring (bytes or messages), sizes up to maxMessage, a short target reads nothing', () => {
  const out = new SharedRing(4096);
  const input = SharedRing.fromShared(out.share());
  assert.equal(out.role, null);
  assert.equal(out.producer().role, 'producer');
  assert.equal(input.consumer().role, 'consumer');
  assert.throws(
    () => out.consumer(),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  assert.equal(out.maxMessage, 4092);
  const big = new Uint8Array(4092);
  fill(big, big.length, 3);
  assert.equal(out.writeMessage(big), 4092, 'a message as large as maxMessage');
  assert.equal(out.tryWriteMessage(new Uint8Array(0)), false, 'full: nothing written');
  assert.throws(
    () => out.write(new Uint8Array(1)),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE' && /carries messages/.test((e as Error).message),
  );
  assert.throws(
    () => input.read(new Uint8Array(8)),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  const small = new Uint8Array(100);
  assert.throws(
    () => input.readMessage(small),
    (e) => code(e) === 'ERR_MMAP_BUFFER_TOO_SMALL' && /4092 bytes/.test((e as Error).message),
  );
  assert.equal(input.readLen, 4096, 'the message stays in the ring');
  const whole = new Uint8Array(input.maxMessage);
  assert.equal(input.readMessage(whole), 4092);
  assert.ok(same(whole, 4092, 3));
  assert.throws(
    () => out.writeMessage(new Uint8Array(4093)),
    (e) => code(e) === 'ERR_MMAP_RING_FULL',
  );
  assert.equal(out.writeLen, 4096, 'a refused message writes nothing');
  // Zero-length messages are messages; a string goes as UTF-8.
  out.writeMessage(new Uint8Array(0));
  out.writeMessage('héllo');
  assert.equal(input.tryReadMessage(whole), 0);
  const view = input.readMessageSlice();
  assert.equal(Buffer.from(view ?? []).toString(), 'héllo');
  input.consumeMessage();
  assert.throws(
    () => input.consumeMessage(),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  assert.equal(input.tryReadMessage(whole), null, 'none now');
  // A view left open is ended by a whole-message call: no message is released twice.
  out.writeMessage('first');
  out.writeMessage('second');
  assert.equal(Buffer.from(input.readMessageSlice() ?? []).toString(), 'first');
  assert.equal(input.readMessage(whole), 5, 'the same message, read whole');
  assert.throws(
    () => input.consumeMessage(),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  assert.equal(input.readMessage(whole), 6);
  assert.equal(Buffer.from(whole.subarray(0, 6)).toString(), 'second');
  const open = out.writeMessageSlice(8);
  open.fill(1);
  out.writeMessage('whole');
  assert.throws(
    () => out.commitMessage(),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  assert.equal(input.readMessage(whole), 5);
  assert.equal(input.tryReadMessage(whole), null, 'the abandoned view was never published');
  // commitMessage publishes the first n bytes of a reserved view.
  const w = out.writeMessageSlice(64);
  w.set([1, 2, 3]);
  assert.throws(
    () => out.commitMessage(65),
    (e) => code(e) === 'ERR_OUT_OF_RANGE',
  );
  out.commitMessage(3);
  assert.throws(
    () => out.commitMessage(),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  assert.equal(input.readMessage(whole), 3);
  assert.deepEqual([...whole.subarray(0, 3)], [1, 2, 3]);
  out.close();
  assert.equal(input.readMessage(whole), null, 'end of stream');
  assert.equal(input.readMessageSlice(), null);
  input.close();

  // A byte ring refuses message calls from either end.
  const bytes = new SharedRing(4096);
  const reader = SharedRing.fromShared(bytes.share());
  bytes.write('abc');
  assert.throws(
    () => bytes.writeMessage('x'),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE' && /byte stream/.test((e as Error).message),
  );
  assert.throws(
    () => reader.readMessage(new Uint8Array(8)),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  assert.equal(reader.read(new Uint8Array(8)), 3);
  bytes.close();
  reader.close();
});

test('typed ends of a ring file: SharedRing.producer / consumer take their end at once, and refuse a second one', () => {
  const path = t.path('ends.ring');
  SharedRing.create(path, 4096).close();
  const out = SharedRing.producer(path);
  assert.throws(
    () => SharedRing.producer(path),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE' && /already has a producer/.test((e as Error).message),
  );
  const input = SharedRing.consumer(path);
  out.writeMessage('one');
  const buf = new Uint8Array(8);
  assert.equal(input.readMessage(buf), 3);
  out.close();
  assert.throws(
    () => SharedRing.producer(path),
    (e) => code(e) === 'ERR_MMAP_INVALID_STATE' && /closed/.test((e as Error).message),
  );
  input.close();
});
