// read (BENCH.md): a 1 GiB file, warm (in the page cache, and for the
// subject mapped and touched by the warm-up repetition).
//  - random: 4 KiB records at random 4K-aligned offsets (fixed seed); the
//    consumer XORs one 32-bit word per 64-byte line of each record. Peer
//    fs.readSync into a buffer; subject RawMmapFile.readAt into a buffer
//    ("random-4k"), readSlice, a view of the mapping read in place
//    ("random-4k-slice"), and cursor.seek, the same in place with no new
//    view per record ("random-4k-cursor"). Second peer in each, the bare mapping: a plain Uint8Array over the same mapping
//    (readSlice(0, size), view 0 of the mapping, made once), no checks:
//    target.set(view.subarray(o, o + 4096)) for the copy, and the words
//    read straight from an Int32Array over that view for in place.
//    "random-4k-batch": readAtMany in batches of 256 records into one packed
//    buffer, against the per-call readAt loop and fs.readSync.
//  - scan: the whole file in 1 MiB steps; subject reads through the mapping
//    with no copy (readSlice is a view of the mapping), peer fs.readSync
//    into a 1 MiB buffer. Both XOR one 32-bit word per 64-byte line.
// Each word of the file holds its own index, so both checksums are known
// in advance and every repetition is checked against them.
import { openSync, closeSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { RawMmapFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { LINE_WORDS, wholeFileChecksum, writeIndexFile } from '../lib/index-file.mjs';
import { removeAndSync } from '../lib/files.mjs';
import { prng } from '../lib/random.mjs';
import { comparison } from '../lib/stats.mjs';
import { warmSize } from '../lib/warm.mjs';

const MiB = 1024 * 1024;
const PAGE = 4096;
const STEP = MiB;
/** Records per readAtMany call in the batch variant. */
const BATCH = 256;

export async function read({ dir, quick, reps, log }) {
  const size = (quick ? 128 : 1024) * MiB;
  const count = quick ? 200_000 : 1_000_000;
  const path = join(dir, 'read.bin');
  writeIndexFile(path, size);
  const file = RawMmapFile.open(path);
  const fd = openSync(path, 'r');
  const pages = size / PAGE;
  const offsets = new Float64Array(count);
  const next = prng(99);
  let expectedRandom = 0;
  for (let i = 0; i < count; i++) {
    const page = Math.floor(next() * pages);
    offsets[i] = page * PAGE;
    for (let w = 0; w < PAGE / 4; w += LINE_WORDS) expectedRandom ^= page * (PAGE / 4) + w;
  }
  const expectedScan = wholeFileChecksum(size);

  const results = [];
  try {
    // random 4 KiB reads
    {
      const buf = Buffer.alloc(PAGE);
      const words = new Int32Array(buf.buffer, buf.byteOffset, PAGE / 4);
      const whole = file.readSlice(0, size); // the file is 1 GiB at most: one view
      const mapped = new Int32Array(whole.buffer, whole.byteOffset, size / 4);
      const sums = {};
      const copying = (name, readOne) => ({
        name,
        run() {
          let x = 0;
          const t0 = performance.now();
          for (let i = 0; i < count; i++) {
            readOne(offsets[i]);
            for (let w = 0; w < PAGE / 4; w += LINE_WORDS) x ^= words[w];
          }
          const ms = performance.now() - t0;
          sums[name] = x;
          return ms;
        },
      });
      const inPlace = {
        name: 'ranged-mmap',
        run() {
          let x = 0;
          const t0 = performance.now();
          for (let i = 0; i < count; i++) {
            const record = file.readSlice(offsets[i], PAGE);
            const at = record.byteOffset / 4;
            for (let w = 0; w < PAGE / 4; w += LINE_WORDS) x ^= mapped[at + w];
          }
          const ms = performance.now() - t0;
          sums['ranged-mmap'] = x;
          return ms;
        },
      };
      // The allocation-free in-place read: cursor.seek checks bounds and the
      // file's state and says where the record is in this thread's view of
      // the mapping (view 0 here: the file is 1 GiB at most, so `mapped`
      // covers the same memory).
      const cursor = file.cursor();
      const cursorInPlace = {
        name: 'ranged-mmap',
        run() {
          let x = 0;
          const t0 = performance.now();
          for (let i = 0; i < count; i++) {
            const at = cursor.seek(offsets[i], PAGE) / 4;
            for (let w = 0; w < PAGE / 4; w += LINE_WORDS) x ^= mapped[at + w];
          }
          const ms = performance.now() - t0;
          sums['ranged-mmap'] = x;
          return ms;
        },
      };
      const checked = (c) => ({
        ...c,
        verify() {
          if (sums[c.name] !== expectedRandom) throw new Error(`checksum ${sums[c.name]}, expected ${expectedRandom}`);
        },
      });
      const bareInPlace = {
        name: 'bare mapping',
        run() {
          let x = 0;
          const t0 = performance.now();
          for (let i = 0; i < count; i++) {
            const at = offsets[i] / 4;
            for (let w = 0; w < PAGE / 4; w += LINE_WORDS) x ^= mapped[at + w];
          }
          const ms = performance.now() - t0;
          sums['bare mapping'] = x;
          return ms;
        },
      };
      const peer = checked(copying('fs.readSync', (o) => readSync(fd, buf, 0, PAGE, o)));
      const bareCopy = checked(copying('bare mapping', (o) => buf.set(whole.subarray(o, o + PAGE))));
      const warmBytes = warmSize(size);
      log('read random-4k (readAt)');
      let r = await alternate([checked(copying('ranged-mmap', (o) => file.readAt(o, buf))), peer, bareCopy], reps, log, { warmBytes, label: 'read random-4k' });
      results.push(...entries('random-4k', r));
      log('read random-4k (readSlice, in place)');
      r = await alternate([checked(inPlace), peer, checked(bareInPlace)], reps, log, { warmBytes, label: 'read random-4k-slice' });
      results.push(...entries('random-4k-slice', r));
      log('read random-4k (cursor, in place, no allocation)');
      r = await alternate([checked(cursorInPlace), peer, checked(bareInPlace)], reps, log, { warmBytes, label: 'read random-4k-cursor' });
      results.push(...entries('random-4k-cursor', r));
      // Batches: readAtMany copies BATCH records per native call into one
      // packed buffer; peers the per-call readAt loop and fs.readSync, each
      // consuming the same records the same way.
      const target = Buffer.alloc(BATCH * PAGE);
      const targetWords = new Int32Array(target.buffer, target.byteOffset, target.length / 4);
      const batches = [];
      for (let i = 0; i < count; i += BATCH) batches.push(offsets.subarray(i, Math.min(i + BATCH, count)));
      const batched = {
        name: 'ranged-mmap',
        run() {
          let x = 0;
          const t0 = performance.now();
          for (const batch of batches) {
            const n = file.readAtMany(batch, PAGE, target);
            for (let j = 0; j < n; j++) {
              const at = j * (PAGE / 4);
              for (let w = 0; w < PAGE / 4; w += LINE_WORDS) x ^= targetWords[at + w];
            }
          }
          const ms = performance.now() - t0;
          sums['ranged-mmap'] = x;
          return ms;
        },
      };
      log(`read random-4k (readAtMany, batches of ${BATCH})`);
      r = await alternate([checked(batched), checked(copying('readAt loop', (o) => file.readAt(o, buf))), peer], reps, log, {
        warmBytes,
        label: 'read random-4k-batch',
      });
      results.push(...entries('random-4k-batch', r, ['readAt loop', 'fs.readSync']));
    }
    // sequential scan
    {
      log('read scan');
      const buf = Buffer.alloc(STEP);
      const bufWords = new Int32Array(buf.buffer, buf.byteOffset, STEP / 4);
      const sums = {};
      const xorLines = (words) => {
        let x = 0;
        for (let i = 0; i < words.length; i += LINE_WORDS) x ^= words[i];
        return x;
      };
      const contenders = [
        {
          name: 'ranged-mmap',
          run() {
            let x = 0;
            const t0 = performance.now();
            for (let o = 0; o < size; o += STEP) {
              const slice = file.readSlice(o, STEP);
              x ^= xorLines(new Int32Array(slice.buffer, slice.byteOffset, STEP / 4));
            }
            const ms = performance.now() - t0;
            sums['ranged-mmap'] = x;
            return ms;
          },
        },
        {
          name: 'fs.readSync',
          run() {
            let x = 0;
            const t0 = performance.now();
            for (let o = 0; o < size; o += STEP) {
              readSync(fd, buf, 0, STEP, o);
              x ^= xorLines(bufWords);
            }
            const ms = performance.now() - t0;
            sums['fs.readSync'] = x;
            return ms;
          },
        },
      ].map((c) => ({
        ...c,
        verify() {
          if (sums[c.name] !== expectedScan) throw new Error(`checksum ${sums[c.name]}, expected ${expectedScan}`);
        },
      }));
      results.push(...entries('scan-1m', await alternate(contenders, reps, log, { warmBytes: warmSize(size), label: 'read scan-1m' })));
    }
  } finally {
    file.close();
    closeSync(fd);
    removeAndSync(path);
  }
  return results;
}

/** One entry per peer that ran in this alternation. */
function entries(variant, { times, verified, order, reported }, peers = ['fs.readSync', 'bare mapping']) {
  return peers
    .filter((peer) => peer in times)
    .map((peer) => comparison({ scenario: 'read', variant, workers: 1, subject: 'ranged-mmap', peer, times, verified, order, reported, unit: 'ms' }));
}
