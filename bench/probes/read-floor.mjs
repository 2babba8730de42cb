// Probe (evidence for README "Performance"): random 4 KiB reads from a warm
// 256 MiB mapping. "bare" is a TypedArray.set from the mapping with no
// library code at all; if it is ~2.4x readSync, no readAt can reach 3x.
//   node bench/probes/read-floor.mjs
import { RawMmapFile } from 'ranged-mmap';
import { openSync, readSync, rmSync, writeFileSync } from 'node:fs';
const size = 256 << 20;
const p = '/tmp/ranged-mmap-probe-read.bin';
writeFileSync(p, Buffer.alloc(size, 3));
const f = RawMmapFile.open(p);
const fd = openSync(p, 'r');
const view = f.readSlice(0, size);
const buf = Buffer.alloc(4096);
const N = 200000;
const offs = new Float64Array(N);
for (let i = 0; i < N; i++) offs[i] = Math.floor(Math.random() * (size / 4096)) * 4096;
const V = {
  bare() {
    for (let i = 0; i < N; i++) {
      const o = offs[i];
      buf.set(view.subarray(o, o + 4096));
    }
  },
  readAt() {
    for (let i = 0; i < N; i++) f.readAt(offs[i], buf);
  },
  bufcopy() {
    for (let i = 0; i < N; i++) {
      const o = offs[i];
      view.copy ? 0 : 0;
      Buffer.prototype.copy.call(view, buf, 0, o, o + 4096);
    }
  },
  readSync() {
    for (let i = 0; i < N; i++) readSync(fd, buf, 0, 4096, offs[i]);
  },
};
for (let r = 0; r < 4; r++) {
  const line = [];
  for (const k in V) {
    const t = performance.now();
    V[k]();
    line.push(`${k} ${(performance.now() - t).toFixed(1)}`);
  }
  console.log(line.join('  '));
}
f.close();
rmSync(p);
