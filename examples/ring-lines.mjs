// The vmap seed's ring example: a Ring of 4000 bytes (rounded up to one
// 4096-byte page) filled with lines until fewer than 21 bytes are free; the
// next line does not fit; reading two lines makes room for it.
//   node examples/ring-lines.mjs
import assert from 'node:assert/strict';
import { Ring } from 'ranged-mmap';

const buf = new Ring(4000);
try {
  let i = 1;

  // Fill up the buffer with lines.
  while (buf.writeLen > 20) {
    buf.write(`this is test line ${i}\n`);
    i += 1;
  }
  console.log(`capacity ${buf.capacity}, wrote ${i - 1} lines, ${buf.writeLen} bytes free`);

  // No more space is available: the write fails whole, with nothing written.
  assert.throws(() => buf.write(`this is test line ${i}\n`), { code: 'ERR_MMAP_RING_FULL' });
  console.log('next line refused: ERR_MMAP_RING_FULL');

  // Read the first and the second line written.
  assert.equal(buf.readLine(), 'this is test line 1\n');
  assert.equal(buf.readLine(), 'this is test line 2\n');
  console.log('read back lines 1 and 2');

  // Now there is enough space to write more.
  buf.write(`this is test line ${i}\n`);
  console.log(`line ${i} written after reading; ${buf.readLen} bytes unread`);

  // Zero-copy: readSlice() is one contiguous view of every unread byte,
  // even when the unread bytes wrap around the end of the ring.
  const unread = buf.readSlice();
  const last = Buffer.from(unread).toString().split('\n').at(-2);
  console.log(`readSlice: ${unread.length} bytes in one view, ending with "${last}"`);
  buf.consume(unread.length);
} finally {
  buf.close();
}
