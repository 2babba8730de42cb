// One writer of the headline scenario. Chunk buffers are filled once, before
// any timing, and reused by every contender, so the timed part is the write
// path alone.
import { parentPort } from 'node:worker_threads';
import { openSync, writeSync, closeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { MmapFile } from 'ranged-mmap';

const buffers = new Map(); // chunk index -> filled Buffer
let chunkSize = 0;

const handlers = {
  ping: () => 'ready',
  prepare(job) {
    chunkSize = job.chunkSize;
    buffers.clear();
    for (const index of job.chunks) {
      const length = Math.min(chunkSize, job.size - index * chunkSize);
      buffers.set(index, Buffer.alloc(length, index & 0xff));
    }
    return 'prepared';
  },
  mmap(job) {
    const { file } = MmapFile.fromShared(job.shared);
    for (const t of job.transfers) {
      const range = file.receiveRange(t);
      const receipt = file.writeRange(range, buffers.get(range.start / chunkSize));
      if (job.flush) file.flushRange(receipt);
    }
    file.close();
    return 'done';
  },
  writeSync(job) {
    const fd = openSync(job.path, 'r+');
    for (const [index, buf] of buffers) writeSync(fd, buf, 0, buf.length, index * chunkSize);
    closeSync(fd);
    return 'done';
  },
  async fileHandle(job) {
    const fh = await open(job.path, 'r+');
    for (const [index, buf] of buffers) await fh.write(buf, 0, buf.length, index * chunkSize);
    await fh.close();
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
