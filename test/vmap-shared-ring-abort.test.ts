// { signal } on every SharedRing call that waits: an abort mid-wait
// rejects with Node's AbortError shape within a bound, an already-aborted
// signal rejects at once and changes nothing, no listener is left on the
// signal once the call settles, and the ring stays usable afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAbort, within } from './abort-helpers.js';
import { getEventListeners } from 'node:events';
import { SharedRing } from 'ranged-mmap';

interface Case {
  name: string;
  /** Makes a pair of ends where `call` waits (empty or full ring). */
  setup(): { out: SharedRing; input: SharedRing };
  call(ends: { out: SharedRing; input: SharedRing }, signal: AbortSignal | undefined): Promise<unknown>;
  /** What the other end does so that `call` can complete. */
  unblock(ends: { out: SharedRing; input: SharedRing }): void;
}

function pair(messages: boolean, full: boolean): { out: SharedRing; input: SharedRing } {
  const out = new SharedRing(4096);
  const input = SharedRing.fromShared(out.share());
  out.producer();
  input.consumer();
  if (messages) {
    out.writeMessage(new Uint8Array(0));
    input.readMessage(new Uint8Array(0)); // fixes the framing for both ends
    if (full) out.writeMessage(new Uint8Array(4092));
  } else if (full) out.write(new Uint8Array(4096));
  return { out, input };
}

const cases: Case[] = [
  {
    name: 'waitReadableAsync',
    setup: () => pair(false, false),
    call: ({ input }, signal) => input.waitReadableAsync(1, { signal }),
    unblock: ({ out }) => out.write('x'),
  },
  {
    name: 'readAsync',
    setup: () => pair(false, false),
    call: ({ input }, signal) => input.readAsync(new Uint8Array(8), { signal }),
    unblock: ({ out }) => out.write('x'),
  },
  {
    name: 'readMessageAsync',
    setup: () => pair(true, false),
    call: ({ input }, signal) => input.readMessageAsync(new Uint8Array(8), { signal }),
    unblock: ({ out }) => out.writeMessage('x'),
  },
  {
    name: 'writeAsync',
    setup: () => pair(false, true),
    call: ({ out }, signal) => out.writeAsync(new Uint8Array(16), { signal }),
    unblock: ({ input }) => input.read(new Uint8Array(4096)),
  },
  {
    name: 'writeMessageAsync',
    setup: () => pair(true, true),
    call: ({ out }, signal) => out.writeMessageAsync(new Uint8Array(16), { signal }),
    unblock: ({ input }) => input.readMessage(new Uint8Array(4096)),
  },
];

for (const c of cases) {
  test(`SharedRing.${c.name}: an abort mid-wait rejects with an AbortError (cause = reason) within a bound; no listener is left; the ring stays usable`, async () => {
    const ends = c.setup();
    const before = [ends.input.readLen, ends.out.writeLen];
    const controller = new AbortController();
    const reason = new Error('stop');
    const p = c.call(ends, controller.signal);
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 150)); // past one liveness wake: still waiting
    assert.equal(settled, false, 'the call waits');
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    const t0 = performance.now();
    controller.abort(reason);
    await within(assert.rejects(p, isAbort(reason)), 5000, 'the aborted call');
    assert.ok(performance.now() - t0 < 2000, 'the abort is acted on at once, not after a long wait');
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    assert.deepEqual([ends.input.readLen, ends.out.writeLen], before, 'an aborted wait changes nothing');

    // Usable after the abort: the same call, with a fresh signal, completes
    // once the other end makes room or data, and leaves no listener.
    const again = new AbortController();
    const q = c.call(ends, again.signal);
    setTimeout(() => c.unblock(ends), 20);
    await within(q, 10_000, 'the call after the abort');
    assert.equal(getEventListeners(again.signal, 'abort').length, 0);
    ends.out.close();
    ends.input.close();
  });

  test(`SharedRing.${c.name}: an already-aborted signal rejects at once and changes nothing; a bad signal is a type error`, async () => {
    const ends = c.setup();
    const before = [ends.input.readLen, ends.out.writeLen];
    const reason = new Error('already');
    const signal = AbortSignal.abort(reason);
    await within(assert.rejects(c.call(ends, signal), isAbort(reason)), 1000, 'the call');
    assert.equal(getEventListeners(signal, 'abort').length, 0);
    assert.deepEqual([ends.input.readLen, ends.out.writeLen], before);
    await assert.rejects(c.call(ends, {} as AbortSignal), (e) => (e as { code?: unknown }).code === 'ERR_INVALID_ARG_TYPE');
    ends.out.close();
    ends.input.close();
  });
}

test('SharedRing: an async call that completes leaves no listener on its signal; options that are not an object are refused', async () => {
  const { out, input } = pair(false, false);
  const controller = new AbortController();
  out.write('abc');
  assert.equal(await input.readAsync(new Uint8Array(8), { signal: controller.signal }), 3);
  assert.equal(await out.writeAsync('de', { signal: controller.signal }), 2);
  assert.equal(await input.waitReadableAsync(1, { signal: controller.signal }), 2);
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  await assert.rejects(input.readAsync(new Uint8Array(8), 5 as never), (e) => (e as { code?: unknown }).code === 'ERR_INVALID_ARG_TYPE');
  assert.equal(input.readLen, 2);
  out.close();
  input.close();
});
