// A range is one object with its numbers in private fields; what only
// splits, transfers and async copies need (the busy count) lives apart,
// and a consumed range keeps its file's key in a form no file matches.
// These tests hold that layout to the ownership rules: ranges and receipts
// cannot be made with `new`, a range stays busy while any async copy is in
// flight, a consumed range still tells its file and its bytes, and the
// state a split makes in a receiving worker thread behaves like the
// allocating thread's (split, transfer back, write, close), every byte
// checked on disk.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALIGNMENT, AllocatedRange, MmapFile, WriteReceipt } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import { TestWorker, WORKER_TEST, codeOf, terminateWorkers } from './worker-helpers.js';
import type { RangeStateCloseReport, RangeStateJob, RangeStateReport } from './fixtures/range-state-worker.js';

afterEach(terminateWorkers);

const rangeStateWorkerUrl = new URL('./fixtures/range-state-worker.js', import.meta.url);

test('new AllocatedRange() and new WriteReceipt() are refused, directly, through Reflect.construct and from a subclass: nothing writable or flushable can be made by hand', async () => {
  const t = tempDir();
  try {
    const { file, allocator } = MmapFile.create(t.path('new.bin'), 4 * ALIGNMENT);
    const real = allocator.allocate(ALIGNMENT)!;
    const Range = AllocatedRange as unknown as new (...args: unknown[]) => AllocatedRange;
    const Receipt = WriteReceipt as unknown as new (...args: unknown[]) => WriteReceipt;
    // The arguments a forger would pass: the token slot filled with anything but the module's own.
    for (const token of [undefined, null, Symbol('ranged-mmap mint'), {}, real]) {
      assert.throws(() => new Range(token, 1, 0, ALIGNMENT), { code: 'ERR_MMAP_INVALID_RANGE' });
      assert.throws(() => Reflect.construct(Range, [token, 1, 0, ALIGNMENT]), { code: 'ERR_MMAP_INVALID_RANGE' });
      assert.throws(() => new Receipt(token, 1, 0, ALIGNMENT), { code: 'ERR_MMAP_INVALID_RECEIPT' });
    }
    class Sub extends Range {
      constructor() {
        super(undefined, 1, 0, ALIGNMENT);
      }
    }
    assert.throws(() => new Sub(), { code: 'ERR_MMAP_INVALID_RANGE' });
    // The genuine range is untouched and still the only one that writes.
    const receipt = file.writeRange(real, new Uint8Array(ALIGNMENT).fill(9));
    file.flushRange(receipt);
    assert.deepEqual([real.start, real.end, real.isLive], [0, ALIGNMENT, true]);
    file.close();
    assert.ok(
      readFileSync(t.path('new.bin'))
        .subarray(0, ALIGNMENT)
        .every((b) => b === 9),
    );
  } finally {
    t.cleanup();
  }
});

test('receipt.join: touching receipts of one file join (either order) into one that flushes and syncs both; a gap, an overlap, another file or a look-alike is refused and changes nothing', async () => {
  const t = tempDir();
  try {
    const { file, allocator } = MmapFile.create(t.path('join.bin'), 8 * ALIGNMENT);
    const other = MmapFile.create(t.path('other.bin'), 2 * ALIGNMENT);
    const [a, b, c, d] = [1, 2, 3, 4].map(() => allocator.allocate(ALIGNMENT)!);
    const ra = file.writeRange(a, new Uint8Array(ALIGNMENT).fill(1));
    const rb = file.writeRange(b, new Uint8Array(ALIGNMENT).fill(2));
    const rd = file.writeRange(d, new Uint8Array(ALIGNMENT).fill(4));
    const ab = ra.join(rb);
    assert.ok(ab instanceof WriteReceipt);
    assert.deepEqual(ab.toJSON(), { start: 0, end: 2 * ALIGNMENT });
    assert.deepEqual(rb.join(ra).toJSON(), { start: 0, end: 2 * ALIGNMENT }, 'either order');
    // The parts are unchanged, and still receipts of their own.
    assert.deepEqual(
      [ra.toJSON(), rb.toJSON()],
      [
        { start: 0, end: ALIGNMENT },
        { start: ALIGNMENT, end: 2 * ALIGNMENT },
      ],
    );
    file.flushRange(ab);
    await file.flushRangeAsync(ab);
    file.syncRange(ab);
    const refusals: [string, () => unknown, RegExp][] = [
      ['gap', () => ab.join(rd), new RegExp(`do not touch; join a receipt whose range starts at ${2 * ALIGNMENT} or ends at 0`)],
      ['overlap', () => ab.join(ra), /do not touch/],
      ['itself', () => ra.join(ra), /do not touch/],
      ['another file', () => ra.join(other.file.writeRange(other.allocator.allocate(ALIGNMENT)!, new Uint8Array(ALIGNMENT))), /comes from another file/],
      [
        'a look-alike',
        () => ra.join({ start: ALIGNMENT, end: 2 * ALIGNMENT } as unknown as WriteReceipt),
        /join takes a WriteReceipt that writeRange returned; got object/,
      ],
      ['null', () => ra.join(null as unknown as WriteReceipt), /got null/],
      ['a parsed copy', () => ra.join(JSON.parse(JSON.stringify(rb)) as WriteReceipt), /got object/],
      ['a Proxy over a receipt', () => ra.join(new Proxy(rb, {})), /got object/],
      ['an object made from the prototype', () => ra.join(Object.create(WriteReceipt.prototype) as WriteReceipt), /got object/],
      ['nothing', () => (ra.join as (this: WriteReceipt) => WriteReceipt).call(ra), /got undefined/],
      ['a number', () => ra.join(ALIGNMENT as unknown as WriteReceipt), /got number/],
      ['a Symbol', () => ra.join(Symbol('r') as unknown as WriteReceipt), /got symbol/],
      ['called on a look-alike', () => WriteReceipt.prototype.join.call({ start: 0, end: ALIGNMENT } as WriteReceipt, rb), /must be called on a WriteReceipt/],
      ['called on a Proxy', () => WriteReceipt.prototype.join.call(new Proxy(ra, {}), rb), /must be called on a WriteReceipt/],
    ];
    for (const [what, call, message] of refusals) {
      assert.throws(call, (e: NodeJS.ErrnoException) => e.code === 'ERR_MMAP_INVALID_RECEIPT' && message.test(e.message), what);
    }
    assert.deepEqual(ra.toJSON(), { start: 0, end: ALIGNMENT }, 'a refused join changes nothing');
    // A joined receipt flushes only in its own file.
    assert.throws(() => other.file.flushRange(ab), { code: 'ERR_MMAP_FOREIGN_RANGE' });
    file.writeRange(c, new Uint8Array(ALIGNMENT).fill(3));
    other.file.close();
    file.close();
    const bytes = readFileSync(t.path('join.bin'));
    for (let i = 0; i < 4; i++)
      assert.ok(
        bytes.subarray(i * ALIGNMENT, (i + 1) * ALIGNMENT).every((x) => x === i + 1),
        `block ${i}`,
      );
  } finally {
    t.cleanup();
  }
});

test('a range stays busy while any of several async copies is in flight, and can be split once the last settles', async () => {
  const t = tempDir();
  try {
    const { file, allocator } = MmapFile.create(t.path('busy2.bin'), 8 * ALIGNMENT);
    const range = allocator.allocate(8 * ALIGNMENT)!;
    const data = new Uint8Array(range.length).fill(0x33);
    // The copies run on the libuv pool and may settle in any order; each
    // settles (and frees its hold on the range) in one callback of its own,
    // so a flag set when it settles tells exactly which are still in flight
    // when the checks below run.
    let inFlight = 3;
    const settled = <T>(p: Promise<T>): Promise<T> => p.finally(() => inFlight--);
    const first = settled(file.writeRangeAsync(range, data));
    const second = settled(file.writeRangeAsync(range, data));
    const read = settled(file.readRangeAsync(range, new Uint8Array(range.length)));
    assert.equal(await codeOf(() => range.transfer()), 'ERR_MMAP_RANGE_BUSY');
    await first;
    if (inFlight > 0) assert.equal(await codeOf(() => range.splitAtAlignUp(range.start + ALIGNMENT)), 'ERR_MMAP_RANGE_BUSY', 'busy after one of three settled');
    await second;
    if (inFlight > 0)
      assert.equal(await codeOf(() => range.splitAtAlignDown(range.start + ALIGNMENT)), 'ERR_MMAP_RANGE_BUSY', 'busy after two of three settled');
    assert.equal(await read, range.length);
    assert.equal(inFlight, 0);
    const split = range.splitAtAlignUp(range.start + ALIGNMENT);
    assert.equal(split.kind, 'split');
    // An async call refused by its checks (it throws before any copy starts) leaves the range free.
    if (split.kind === 'split') {
      const { high } = split;
      assert.throws(() => file.readRangeAsync(high, new Uint8Array(high.length - 1)), { code: 'ERR_MMAP_BUFFER_TOO_SMALL' });
      assert.equal(high.transfer().kind, 'ranged-mmap:range');
    }
    file.close();
    assert.ok(readFileSync(t.path('busy2.bin')).every((b) => b === 0x33));
  } finally {
    t.cleanup();
  }
});

test('a consumed range still tells its file and its bytes: another file says FOREIGN, its own file CONSUMED, and start, end, length, toJSON are unchanged', () => {
  const t = tempDir();
  try {
    const a = MmapFile.create(t.path('a.bin'), 4 * ALIGNMENT, { allocator: 'concurrent' });
    const b = MmapFile.create(t.path('b.bin'), 4 * ALIGNMENT);
    const range = a.allocator!.allocate(3 * ALIGNMENT)!;
    const split = range.splitAtAlignDown(2 * ALIGNMENT);
    assert.equal(split.kind, 'split');
    assert.deepEqual([range.start, range.end, range.length, range.isEmpty, range.isLive], [0, 3 * ALIGNMENT, 3 * ALIGNMENT, false, false]);
    assert.deepEqual(range.toJSON(), { start: 0, end: 3 * ALIGNMENT });
    assert.equal(String(range), `AllocatedRange [0, ${3 * ALIGNMENT})`);
    const buf = new Uint8Array(3 * ALIGNMENT);
    assert.throws(() => a.file.writeRange(range, buf), { code: 'ERR_MMAP_RANGE_CONSUMED', message: new RegExp(`\\[0, ${3 * ALIGNMENT}\\)`) });
    assert.throws(() => a.file.readRange(range, buf), { code: 'ERR_MMAP_RANGE_CONSUMED' });
    assert.throws(() => b.file.writeRange(range, buf), { code: 'ERR_MMAP_FOREIGN_RANGE' });
    assert.throws(() => b.file.readRange(range, buf), { code: 'ERR_MMAP_FOREIGN_RANGE' });
    if (split.kind === 'split') {
      const { low, high } = split;
      assert.deepEqual([low.start, low.end, high.start, high.end], [0, 2 * ALIGNMENT, 2 * ALIGNMENT, 3 * ALIGNMENT]);
      // The halves are live, the file's own, and another file's for nobody.
      assert.throws(() => b.file.writeRange(low, new Uint8Array(low.length)), { code: 'ERR_MMAP_FOREIGN_RANGE' });
      a.file.writeRange(low, new Uint8Array(low.length).fill(1));
      a.file.writeRange(high, new Uint8Array(high.length).fill(2));
      high.transfer();
      assert.throws(() => a.file.writeRange(high, new Uint8Array(high.length)), { code: 'ERR_MMAP_RANGE_CONSUMED' });
      assert.throws(() => b.file.writeRange(high, new Uint8Array(high.length)), { code: 'ERR_MMAP_FOREIGN_RANGE' });
    }
    a.file.close();
    b.file.close();
    const disk = readFileSync(t.path('a.bin'));
    assert.ok(disk.subarray(0, 2 * ALIGNMENT).every((x) => x === 1));
    assert.ok(disk.subarray(2 * ALIGNMENT, 3 * ALIGNMENT).every((x) => x === 2));
  } finally {
    t.cleanup();
  }
});

test(
  'a range written here, handed to a worker, split there (state made in that thread), one half written there and the other handed back and written here: every byte right, every consumed range refused, the receipt reused, a closed worker refuses its half',
  WORKER_TEST,
  async () => {
    const t = tempDir();
    try {
      const pages = 6;
      const { file, allocator } = MmapFile.create(t.path('hop.bin'), pages * ALIGNMENT, { allocator: 'concurrent' });
      const range = allocator!.allocate(pages * ALIGNMENT)!;
      // Written here first: its receipt is kept on the range, and stays valid after the hand-over.
      const receipt = file.writeRange(range, new Uint8Array(range.length).fill(0x11));
      const worker = new TestWorker(rangeStateWorkerUrl, { file: file.share() } satisfies RangeStateJob);
      worker.post({ transfer: range.transfer() });
      assert.equal(range.isLive, false);
      assert.equal(await codeOf(() => file.writeRange(range, new Uint8Array(range.length))), 'ERR_MMAP_RANGE_CONSUMED');
      file.flushRange(receipt);
      const report = await worker.next<RangeStateReport>();
      assert.deepEqual(report.received, [0, pages * ALIGNMENT]);
      assert.deepEqual(report.low, [0, (pages / 2) * ALIGNMENT]);
      assert.equal(report.secondClaim, 'ERR_MMAP_RANGE_CLAIMED');
      assert.deepEqual(report.consumed, {
        isLive: 'false',
        writeRange: 'ERR_MMAP_RANGE_CONSUMED',
        readRange: 'ERR_MMAP_RANGE_CONSUMED',
        split: 'ERR_MMAP_RANGE_CONSUMED',
        transfer: 'ERR_MMAP_RANGE_CONSUMED',
      });
      assert.equal(report.sameReceipt, true);
      const high = file.receiveRange(report.high);
      assert.deepEqual([high.start, high.end, high.isLive], [(pages / 2) * ALIGNMENT, pages * ALIGNMENT, true]);
      assert.equal(await codeOf(() => file.receiveRange(report.high)), 'ERR_MMAP_RANGE_CLAIMED');
      file.flushRange(file.writeRange(high, new Uint8Array(high.length).fill(0x48)));
      worker.post('close');
      const closed = await worker.report<RangeStateCloseReport>();
      assert.equal(closed.afterClose, 'ERR_MMAP_CLOSED');
      // The worker's close does not touch this thread's ranges.
      file.writeRange(high, new Uint8Array(high.length).fill(0x48));
      file.close();
      const disk = readFileSync(t.path('hop.bin'));
      const half = (pages / 2) * ALIGNMENT;
      assert.ok(
        disk.subarray(0, half).every((b) => b === 0x4c),
        'the low half holds what the worker wrote',
      );
      assert.ok(
        disk.subarray(half).every((b) => b === 0x48),
        'the high half holds what this thread wrote',
      );
    } finally {
      t.cleanup();
    }
  },
);
