// The plain Node downloader of the benchmark: N connections (node:http with
// a keep-alive agent), each asking for its 1/N of the file with one Range
// request, each response's chunks written with FileHandle.write at their
// offsets. No mapping, no staging buffer: what a Node program does without
// this library. Usage: node plain-node.mjs URL OUTPUT [N]
import http from 'node:http';
import { open } from 'node:fs/promises';

const [url, output, nText] = process.argv.slice(2);
const n = Number(nText ?? 8);
const agent = new http.Agent({ keepAlive: true, maxSockets: n });

/** @param {Record<string, string>} headers */
const get = (headers) =>
  new Promise((resolve, reject) => {
    http.get(url, { agent, headers }, resolve).on('error', reject);
  });

const first = /** @type {http.IncomingMessage} */ (await get({ range: 'bytes=0-0' }));
first.resume();
const total = Number(/\/(\d+)$/.exec(String(first.headers['content-range']))?.[1]);
if (!Number.isSafeInteger(total)) throw new Error(`no length from ${url}`);
const fh = await open(output, 'w');
const share = Math.ceil(total / n);
await Promise.all(
  Array.from({ length: n }, async (_, i) => {
    const start = i * share;
    const end = Math.min(total, start + share) - 1;
    if (start > end) return;
    const res = /** @type {http.IncomingMessage} */ (await get({ range: `bytes=${start}-${end}` }));
    let pos = start;
    for await (const chunk of res) {
      await fh.write(chunk, 0, chunk.length, pos);
      pos += chunk.length;
    }
    if (pos !== end + 1) throw new Error(`short body for ${start}-${end}: ${pos - start} bytes`);
  }),
);
await fh.close();
agent.destroy();
