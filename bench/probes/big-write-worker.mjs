// Worker of probes/big-write-routes.mjs: writes its chunks (chunk i goes to
// worker i % W) by the route it is told, and nothing else. Buffers are
// (re)filled by a separate untimed 'prepare' message before each run.
import { parentPort } from 'node:worker_threads';
import { openSync, writeSync, closeSync } from 'node:fs';
import { MmapFile, RawMmapFile } from 'ranged-mmap';

const buffers = new Map(); // chunk index -> Buffer
let chunkSize = 0;

const handlers = {
  ping: () => 'ready',
  prepare(job) {
    chunkSize = job.chunkSize;
    for (const index of job.chunks) {
      const length = Math.min(chunkSize, job.size - index * chunkSize);
      let buf = buffers.get(index);
      if (!buf) {
        buf = Buffer.allocUnsafe(length);
        buffers.set(index, buf);
      }
      buf.fill((index + job.value) & 0xff);
    }
    return 'prepared';
  },
  // pwrite: node:fs on the same path (the fd the library keeps is not exposed).
  pwrite(job) {
    const fd = openSync(job.path, 'r+');
    for (const [index, buf] of buffers) writeSync(fd, buf, 0, buf.length, index * chunkSize);
    closeSync(fd);
    return 'done';
  },
  // The mapping, plain copy: one Uint8Array.set per chunk into view 0 of the
  // mapping (readSlice(0, size) is the mapping itself for files <= 1 GiB);
  // every first touch of a page is a fault.
  copy(job) {
    const file = RawMmapFile.fromShared(job.shared);
    const view = file.readSlice(0, file.size);
    for (const [index, buf] of buffers) view.set(buf, index * chunkSize);
    file.close();
    return 'done';
  },
  // The mapping, populated first: RawMmapFile.fill of >= 256 KiB asks the
  // kernel to populate the range for writing (one MADV_POPULATE_WRITE) and
  // then sets it to 0; the chunk is then copied into the populated pages.
  // The public API has no bare populate, so this includes one extra memset
  // of the chunk: an upper bound on populate + copy.
  populate(job) {
    const file = RawMmapFile.fromShared(job.shared);
    const view = file.readSlice(0, file.size);
    for (const [index, buf] of buffers) {
      file.fill(index * chunkSize, buf.length, 0);
      view.set(buf, index * chunkSize);
    }
    file.close();
    return 'done';
  },
  // pwrite while no other worker is in one (the inode lock would make this
  // one wait), else the mapping (page faults take no inode lock).
  mix(job) {
    const file = RawMmapFile.fromShared(job.shared);
    const view = file.readSlice(0, file.size);
    const busy = new Int32Array(job.busy);
    const fd = openSync(job.path, 'r+');
    for (const [index, buf] of buffers) {
      if (Atomics.compareExchange(busy, 0, 0, 1) === 0) {
        writeSync(fd, buf, 0, buf.length, index * chunkSize);
        Atomics.store(busy, 0, 0);
      } else view.set(buf, index * chunkSize);
    }
    closeSync(fd);
    file.close();
    return 'done';
  },
  // The library's own choice: MmapFile.writeRange on ranges received from the main thread.
  auto(job) {
    const { file } = MmapFile.fromShared(job.shared);
    for (const t of job.transfers) {
      const range = file.receiveRange(t);
      file.writeRange(range, buffers.get(range.start / chunkSize));
    }
    file.close();
    return 'done';
  },
};

parentPort.on('message', async (job) => {
  try {
    parentPort.postMessage(await handlers[job.kind](job));
  } catch (error) {
    parentPort.postMessage({ error: `${error.code ?? ''} ${error.stack}` });
  }
});
