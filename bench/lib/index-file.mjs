// The test file of the read and scan scenarios: every 32-bit little-endian
// word holds its own index, so the XOR of any set of words is known in
// advance and each repetition's checksum can be checked against it. The
// consumers XOR one word per 64-byte line (LINE_WORDS words apart), so they
// touch every cache line of what they read.
import { closeSync, openSync, writeSync } from 'node:fs';

export const LINE_WORDS = 16;

/** Writes `size` bytes (a multiple of 16 MiB) of index words to `path`. */
export function writeIndexFile(path, size) {
  const fd = openSync(path, 'w');
  const chunk = Buffer.allocUnsafe(16 * 1024 * 1024);
  const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length / 4);
  for (let o = 0; o < size; o += chunk.length) {
    const base = o / 4;
    for (let i = 0; i < words.length; i++) words[i] = base + i;
    writeSync(fd, chunk, 0, chunk.length, o);
  }
  closeSync(fd);
}

/** The XOR of the first word of every line of a whole index file of `size` bytes. */
export function wholeFileChecksum(size) {
  let x = 0;
  for (let w = 0; w < size / 4; w += LINE_WORDS) x ^= w;
  return x;
}
