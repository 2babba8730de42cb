// The random-4k write loops, shared by the main thread (1 thread) and the
// workers (2 workers). Write j goes to a random page of [firstPage,
// firstPage + pages) and carries j in its first 4 bytes, so the final file
// is known: each page holds the last write that hit it.
import { openSync, readSync, writeSync, closeSync } from 'node:fs';
import { RawMmapFile } from 'ranged-mmap';
import { prng } from './random.mjs';

export const PAGE = 4096;
export const FILL = 0x5a;

function page() {
  const buf = Buffer.alloc(PAGE, FILL);
  return { buf, view: new DataView(buf.buffer, buf.byteOffset, PAGE) };
}

export function writeMapped(file, { seed, count, firstPage, pages, base }) {
  const { buf, view } = page();
  const next = prng(seed);
  for (let j = 0; j < count; j++) {
    view.setUint32(0, base + j, true);
    file.writeAt((firstPage + Math.floor(next() * pages)) * PAGE, buf);
  }
}

/** The bare-mapping peer: a plain Uint8Array over the mapping, no checks at all. */
export function writeBare(view, { seed, count, firstPage, pages, base }) {
  const { buf, view: words } = page();
  const next = prng(seed);
  for (let j = 0; j < count; j++) {
    words.setUint32(0, base + j, true);
    view.set(buf, (firstPage + Math.floor(next() * pages)) * PAGE);
  }
}

export function writePwrite(fd, { seed, count, firstPage, pages, base }) {
  const { buf, view } = page();
  const next = prng(seed);
  for (let j = 0; j < count; j++) {
    view.setUint32(0, base + j, true);
    writeSync(fd, buf, 0, PAGE, (firstPage + Math.floor(next() * pages)) * PAGE);
  }
}

/** Runs one job in the calling thread; returns its time in ms. */
export function runJob(job) {
  if (job.kind === 'mmap') {
    const file = RawMmapFile.fromShared(job.shared);
    const t0 = performance.now();
    writeMapped(file, job);
    const ms = performance.now() - t0;
    file.close();
    return ms;
  }
  if (job.kind === 'bare') {
    // readSlice(0, size) is view 0 of the mapping itself for files up to 1 GiB.
    const file = RawMmapFile.fromShared(job.shared);
    const view = file.readSlice(0, file.size);
    const t0 = performance.now();
    writeBare(view, job);
    const ms = performance.now() - t0;
    file.close();
    return ms;
  }
  const fd = openSync(job.path, 'r+');
  const t0 = performance.now();
  writePwrite(fd, job);
  const ms = performance.now() - t0;
  closeSync(fd);
  return ms;
}

/** Expected first word of every page (-1: never written), by replaying the jobs. */
export function expectedPages(totalPages, jobs) {
  const last = new Int32Array(totalPages).fill(-1);
  for (const { seed, count, firstPage, pages, base } of jobs) {
    const next = prng(seed);
    for (let j = 0; j < count; j++) last[firstPage + Math.floor(next() * pages)] = base + j;
  }
  return last;
}

const REDIRTY_STEP = 1024 * 1024;

/**
 * Makes every page of a mapped file dirty again without changing a byte:
 * each MiB is written back onto itself through the mapping (readSlice is a
 * view of the mapping, and writeAt of that size populates the pages for
 * writing first).
 */
export function redirtyMapped(file) {
  for (let o = 0; o < file.size; o += REDIRTY_STEP) file.writeAt(o, file.readSlice(o, Math.min(REDIRTY_STEP, file.size - o)));
}

/** The same for a file written with pwrite: each MiB read and written back. */
export function redirtyFd(fd, size) {
  const buf = Buffer.allocUnsafe(REDIRTY_STEP);
  for (let o = 0; o < size; o += REDIRTY_STEP) {
    const n = readSync(fd, buf, 0, Math.min(REDIRTY_STEP, size - o), o);
    writeSync(fd, buf, 0, n, o);
  }
}
