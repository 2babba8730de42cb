// Whole files of every awkward size, and the faults a server can have.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { download } from '../src/index.js';
import { startServer } from './server.mjs';
import { MiB, THREADS, listing, randomFile, sha256File, tempDir } from './helpers.mjs';

const T = { timeout: 60_000 };
const t = tempDir();
const src = join(t.dir, 'src');
const out = join(t.dir, 'out');
/** @type {Record<string, { path: string, sha: string, size: number }>} */
const files = {};
/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;

before(async () => {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(src);
  mkdirSync(out);
  for (const size of [1, 4095, 4096, 4097, MiB + 1, 8 * MiB + 123, 64 * MiB]) {
    const path = join(src, `f${size}.bin`);
    files[size] = { path, sha: randomFile(path, size), size };
  }
  server = await startServer({ routes: {} });
});

after(async () => {
  await server.close();
  t.cleanup();
});

/**
 * Serves `size`'s file at a fresh path with the route options given.
 * @param {number} size
 * @param {Partial<import('./server.mjs').Route>} [route]
 */
function serve(size, route = {}) {
  const path = `/${Math.random().toString(36).slice(2)}/f${size}.bin`;
  server.routes[path] = { file: files[size].path, ...route };
  return `${server.base}${path}`;
}

/**
 * Downloads and checks every byte and that no side file is left.
 * @param {string} url
 * @param {number} size
 * @param {import('../src/index.js').DownloadOptions} [options]
 */
async function fetchAndCheck(url, size, options = {}) {
  const output = join(out, `o-${Math.random().toString(36).slice(2)}.bin`);
  const r = await download(url, { output, ...options });
  assert.equal(r.path, output);
  assert.equal(r.bytes, size);
  assert.equal(await sha256File(output), files[size].sha, `content of the ${size}-byte download`);
  assert.deepEqual(
    listing(out).filter((n) => n.startsWith(output.slice(out.length + 1))),
    [output.slice(out.length + 1)],
    'no .part or .state left',
  );
  return r;
}

for (const size of [1, 4095, 4096, 4097, MiB + 1, 64 * MiB]) {
  test(`a ${size}-byte file arrives byte for byte (default options, and 3 connections with 64k chunks on the main thread and in 2 workers)`, T, async () => {
    await fetchAndCheck(serve(size), size);
    await fetchAndCheck(serve(size), size, { connections: 3, chunkSize: 64 * 1024, checksum: `sha256=${files[size].sha}` });
    await fetchAndCheck(serve(size), size, { connections: 3, workers: 2, chunkSize: 64 * 1024 });
  });
}

test('the node:http path (https uses it) gives the same bytes as the raw sockets', T, async () => {
  process.env.RANGED_MMAP_GET_HTTP = 'node';
  try {
    await fetchAndCheck(serve(8 * MiB + 123), 8 * MiB + 123, { connections: 4, chunkSize: MiB });
  } finally {
    delete process.env.RANGED_MMAP_GET_HTTP;
  }
});

/**
 * A fault for the first `times` range requests of the download (not its probe).
 * @param {number} times
 * @param {import('./server.mjs').Fault} fault
 */
function firstRanges(times, fault) {
  let n = 0;
  return {
    fault: (/** @type {import('./server.mjs').ReqInfo} */ req) => {
      if (req.range === undefined || req.range === 'bytes=0-0' || n >= times) return undefined;
      n++;
      return fault;
    },
    count: () => n,
  };
}

for (const { name, workers } of THREADS) {
  test(`connections dropped mid-body, several times, are retried from where they stopped${name}`, T, async () => {
    const drops = firstRanges(5, { dropAfter: 300_000 });
    const url = serve(8 * MiB + 123, { fault: drops.fault });
    const before = server.stats.bodyBytes;
    const r = await fetchAndCheck(url, 8 * MiB + 123, { connections: 4, chunkSize: MiB, workers });
    assert.equal(drops.count(), 5);
    assert.ok(r.retries >= 5, `retries ${r.retries}`);
    // A retry asks only for what is missing: 5 drops cost nothing twice.
    assert.ok(server.stats.bodyBytes - before <= 8 * MiB + 123 + 1, `server sent ${server.stats.bodyBytes - before}`);
  });
}

for (const { name, workers } of THREADS) {
  test(`a connection that stops sending for --timeout ms is dropped and retried${name}`, T, async () => {
    const stalls = firstRanges(2, { stallAfter: 100_000 });
    const url = serve(8 * MiB + 123, { fault: stalls.fault });
    const events = [];
    const t0 = performance.now();
    const r = await fetchAndCheck(url, 8 * MiB + 123, { connections: 4, chunkSize: MiB, timeout: 1000, workers, onEvent: (e) => events.push(e) });
    assert.equal(stalls.count(), 2);
    assert.ok(r.retries >= 2, `retries ${r.retries}`);
    assert.ok(
      events.some((e) => e.type === 'retry' && /1000 ms/.test(e.reason)),
      `a retry names the timeout: ${JSON.stringify(events.filter((e) => e.type === 'retry'))}`,
    );
    assert.ok(performance.now() - t0 >= 1000, 'waited for the timeout');
  });
}

for (const { name, workers } of THREADS) {
  test(`503 twice, then success; a 404 is not retried${name}`, T, async () => {
    let n = 0;
    const url = serve(MiB + 1, { fault: () => (n++ < 2 ? { status: 503 } : undefined) });
    const r = await fetchAndCheck(url, MiB + 1, { connections: 2, workers });
    assert.equal(r.retries, 2);
    await assert.rejects(download(`${server.base}/missing.bin`, { output: join(out, 'missing.bin'), workers }), {
      code: 'ERR_GET_HTTP',
      exitCode: 2,
      status: 404,
    });
  });
}

for (const { name, workers } of THREADS) {
  test(`429 with Retry-After: 1 waits at least a second${name}`, T, async () => {
    let n = 0;
    const url = serve(4097, { fault: () => (n++ === 0 ? { status: 429, headers: { 'retry-after': '1' } } : undefined) });
    const t0 = performance.now();
    const r = await fetchAndCheck(url, 4097, { workers });
    assert.ok(performance.now() - t0 >= 990, `waited ${performance.now() - t0} ms`);
    assert.equal(r.retries, 1);
  });
}

for (const { name, workers } of THREADS) {
  test(`retries run out: exit code 2 with the last failure named${name}`, T, async () => {
    const url = serve(4097, { fault: () => ({ status: 503 }) });
    await assert.rejects(download(url, { output: join(out, 'never.bin'), retries: 2, workers }), (e) => {
      assert.equal(e.code, 'ERR_GET_NETWORK');
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /503/);
      assert.match(e.message, /3 times/);
      return true;
    });
  });
}

test('a 416 to a range inside the file is an error at once (not retried), and nothing is written', T, async () => {
  let asked = 0;
  const url = serve(MiB + 1, {
    fault: (req) => {
      if (req.range === 'bytes=0-0') return undefined;
      asked++;
      return { status: 416, headers: { 'content-range': 'bytes */1048577' } };
    },
  });
  const output = join(out, 'r416.bin');
  await assert.rejects(download(url, { output, connections: 1 }), (e) => {
    assert.equal(e.code, 'ERR_GET_PROTOCOL');
    assert.equal(e.exitCode, 2);
    assert.match(e.message, /answered 416 \(range not satisfiable\) to a range inside the file/);
    return true;
  });
  assert.equal(asked, 1, 'a 416 is not retried');
  assert.ok(readFileSync(`${output}.part`).every((b) => b === 0));
});

for (const { name, workers } of THREADS) {
  test(`a Content-Range that does not match the request is an error, and nothing of it is marked done${name}`, T, async () => {
    const url = serve(MiB + 1, { fault: (req) => (req.range === 'bytes=0-0' ? undefined : { contentRange: 'bytes 4096-8191/1048577' }) });
    const output = join(out, `wrong-range${workers}.bin`);
    await assert.rejects(download(url, { output, workers }), { code: 'ERR_GET_PROTOCOL', exitCode: 2 });
    assert.deepEqual(
      listing(out).filter((n) => n.startsWith(`wrong-range${workers}.`)),
      [`wrong-range${workers}.bin.part`, `wrong-range${workers}.bin.part.state`],
    );
    // Every range request got the wrong Content-Range: not a byte of the
    // .part was written, and no chunk's bit is set in the state (layout in
    // src/state.js: H at 12, chunk count at 24, live bitmap at H).
    assert.ok(
      readFileSync(`${output}.part`).every((b) => b === 0),
      'bytes of a refused answer were written',
    );
    const st = readFileSync(`${output}.part.state`);
    const H = st.readUInt32LE(12);
    const chunks = st.readUInt32LE(24);
    assert.ok(chunks >= 1);
    assert.ok(
      st.subarray(H, H + Math.ceil(chunks / 8)).every((b) => b === 0),
      'a chunk of a refused answer is marked done',
    );
    // Through node:http too.
    process.env.RANGED_MMAP_GET_HTTP = 'node';
    try {
      await assert.rejects(download(url, { output, resume: false, workers }), { code: 'ERR_GET_PROTOCOL' });
    } finally {
      delete process.env.RANGED_MMAP_GET_HTTP;
    }
  });
}

test('a total length that changed between connections is an error', T, async () => {
  const url = serve(MiB + 1, {
    fault: (req) => (req.range === 'bytes=0-0' ? undefined : { contentRange: `bytes ${/\d+/.exec(req.range ?? '0')?.[0]}-1048576/2000000` }),
  });
  await assert.rejects(download(url, { output: join(out, 'changed-length.bin'), connections: 1 }), (e) => {
    assert.equal(e.code, 'ERR_GET_PROTOCOL');
    assert.match(e.message, /changed length/);
    return true;
  });
});

for (const { name, workers } of THREADS) {
  test(`a body shorter than its range is retried for the rest${name}`, T, async () => {
    let n = 0;
    const url = serve(MiB + 1, { fault: (req) => (req.range !== 'bytes=0-0' && n++ === 0 ? { shortBy: 1000 } : undefined) });
    const r = await fetchAndCheck(url, MiB + 1, { connections: 1, workers });
    assert.equal(r.retries, 1);
  });
}

test('a server without range support: one stream, also after a drop', T, async () => {
  let n = 0;
  const url = serve(8 * MiB + 123, { ranges: false, fault: () => (n++ === 0 ? { dropAfter: 3 * MiB } : undefined) });
  const events = [];
  const r = await fetchAndCheck(url, 8 * MiB + 123, { onEvent: (e) => events.push(e) });
  assert.equal(events[0].type, 'start');
  assert.equal(events[0].ranges, false);
  assert.equal(events[0].connections, 1);
  assert.equal(r.retries, 1);
});

test('chunked without a length: one stream, written sequentially, also after a drop', T, async () => {
  const url = serve(MiB + 1, { ranges: false, length: false });
  await fetchAndCheck(url, MiB + 1);
  let n = 0;
  const url2 = serve(8 * MiB + 123, { ranges: false, length: false, fault: () => (n++ === 0 ? { dropAfter: 2 * MiB + 5 } : undefined) });
  const r = await fetchAndCheck(url2, 8 * MiB + 123);
  assert.equal(r.retries, 1);
});

test('an empty file', T, async () => {
  const { writeFileSync } = await import('node:fs');
  const path = join(src, 'empty.bin');
  writeFileSync(path, '');
  server.routes['/empty.bin'] = { file: path };
  const output = join(out, 'empty.bin');
  const r = await download(`${server.base}/empty.bin`, { output });
  assert.equal(r.bytes, 0);
  assert.deepEqual(
    listing(out).filter((n) => n.startsWith('empty')),
    ['empty.bin'],
  );
});

test('a redirect chain is followed; a loop and more than 10 hops are refused', T, async () => {
  const url = serve(4097);
  const path = new URL(url).pathname;
  // Every redirect status, relative and absolute Locations.
  server.redirects['/r1'] = '/r2';
  server.redirects['/r2'] = { status: 301, location: `${server.base}/r3` };
  server.redirects['/r3'] = { status: 303, location: '/r4' };
  server.redirects['/r4'] = { status: 307, location: '/r5' };
  server.redirects['/r5'] = { status: 308, location: path };
  await fetchAndCheck(`${server.base}/r1`, 4097);
  server.redirects['/loop-a'] = '/loop-b';
  server.redirects['/loop-b'] = '/loop-a';
  await assert.rejects(download(`${server.base}/loop-a`, { output: join(out, 'loop.bin') }), { code: 'ERR_GET_REDIRECT', exitCode: 2 });
  for (let i = 0; i < 11; i++) server.redirects[`/hop${i}`] = `/hop${i + 1}`;
  server.redirects['/hop11'] = path;
  await assert.rejects(download(`${server.base}/hop0`, { output: join(out, 'hops.bin') }), /more than 10 redirects/);
  server.redirects['/hop1'] = path; // 2 hops: fine
  await fetchAndCheck(`${server.base}/hop0`, 4097);
});

for (const { name, workers } of THREADS) {
  test(`a straggler connection throttled to 1 MB/s does not hold the download: the other connections take the remaining chunks${name}`, T, async () => {
    const size = 64 * MiB;
    // The connection of the first range request answers every request at 1 MB/s.
    /** @type {import('node:net').Socket | null} */
    let slow = null;
    let slowRequests = 0;
    const url = serve(size, {
      fault: (req) => {
        if (req.range === undefined || req.range === 'bytes=0-0') return undefined;
        slow ??= req.socket;
        if (req.socket !== slow) return undefined;
        slowRequests++;
        return { rate: MiB };
      },
    });
    const t0 = performance.now();
    const events = [];
    await fetchAndCheck(url, size, { connections: 4, chunkSize: MiB, workers, onEvent: (e) => events.push(e) });
    const seconds = (performance.now() - t0) / 1000;
    // With a quarter of the file each (16 MiB), the slow connection alone would take 16 s.
    assert.ok(slow !== null && slowRequests >= 1);
    assert.ok(seconds < 8, `took ${seconds.toFixed(1)} s with one connection at 1 MB/s (${slowRequests} requests on it)`);
    assert.equal(events.find((e) => e.type === 'start')?.workers, workers, 'worker threads used');
  });

  test(`a slow connection's last chunk is split inside the chunk (default 4 MiB chunks): idle connections fetch its upper parts${name}`, T, async () => {
    // Every request on the connection of the first range request is served
    // at 512 KiB/s: the 4 MiB chunk it took would take 8 s on its own.
    const size = 64 * MiB;
    const C = 4 * MiB;
    /** @type {import('node:net').Socket | null} */
    let slow = null;
    const url = serve(size, {
      fault: (req) => {
        if (req.range === undefined || req.range === 'bytes=0-0') return undefined;
        slow ??= req.socket;
        return req.socket === slow ? { rate: 512 * 1024 } : undefined;
      },
    });
    const before = server.stats.log.length;
    const t0 = performance.now();
    await fetchAndCheck(url, size, { connections: 4, workers });
    const seconds = (performance.now() - t0) / 1000;
    const starts = server.stats.log
      .slice(before)
      .map((r) => /^bytes=(\d+)-/.exec(r.range ?? ''))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]));
    const inside = starts.filter((a) => a % C !== 0);
    assert.ok(inside.length >= 1, `every request started on a chunk boundary: ${starts.join(', ')}`);
    assert.ok(
      inside.every((a) => a % 4096 === 0),
      `a split off a 4 KiB boundary: ${inside.join(', ')}`,
    );
    assert.ok(seconds < 5, `took ${seconds.toFixed(1)} s; the slow connection's chunk alone takes 8 s`);
  });

  test(`a slow request over several small chunks is split: an idle connection fetches its upper part${name}`, T, async () => {
    // 256 KiB chunks: a request spans 1 MiB (4 chunks). The first range
    // request is served at 256 KiB/s (4 s alone); an idle connection cuts it
    // on a 4 KiB boundary and asks for the upper part itself.
    const size = 8 * MiB + 123;
    /** @type {string | null} */
    let slow = null;
    const url = serve(size, {
      fault: (req) => {
        if (req.range === undefined || req.range === 'bytes=0-0' || slow !== null) return undefined;
        slow = req.range;
        return { rate: 256 * 1024 };
      },
    });
    const before = server.stats.log.length;
    const t0 = performance.now();
    await fetchAndCheck(url, size, { connections: 4, chunkSize: 256 * 1024, workers });
    const seconds = (performance.now() - t0) / 1000;
    const m = /^bytes=(\d+)-(\d+)$/.exec(slow ?? '');
    assert.ok(m !== null, `slow request ${slow}`);
    const [a, b] = [Number(m[1]), Number(m[2])];
    assert.equal(b - a + 1, MiB, 'a request spans 4 chunks of 256 KiB');
    const inside = server.stats.log
      .slice(before)
      .map((r) => /^bytes=(\d+)-/.exec(r.range ?? ''))
      .filter((x) => x !== null && Number(x[1]) > a && Number(x[1]) <= b && Number(x[1]) % 4096 === 0);
    assert.ok(inside.length >= 1, `no request started inside the slow one (${slow})`);
    assert.ok(seconds < 3.5, `took ${seconds.toFixed(1)} s; the slow request alone takes 4 s`);
  });
}

test('mirrors: connections spread over two servers; a mirror with another length or validator (or none) is refused', T, async () => {
  const a = serve(8 * MiB + 123);
  const b = serve(8 * MiB + 123);
  const before = server.stats.log.length;
  await fetchAndCheck(a, 8 * MiB + 123, { mirrors: [b], connections: 4, chunkSize: MiB });
  const paths = new Set(server.stats.log.slice(before).map((r) => r.path));
  assert.ok(paths.has(new URL(a).pathname) && paths.has(new URL(b).pathname));
  await assert.rejects(download(a, { output: join(out, 'mirror.bin'), mirrors: [serve(4097)] }), { code: 'ERR_GET_MIRROR', exitCode: 2 });
  // Same length, other validators: another ETag, none, another Last-Modified.
  const tagged = serve(8 * MiB + 123, { etag: '"one"', lastModified: 'Sun, 06 Dec 2026 08:00:00 GMT' });
  const refused = [
    [{ etag: '"two"', lastModified: 'Sun, 06 Dec 2026 08:00:00 GMT' }, /its ETag "two" differs from "one"/],
    [{ etag: null, lastModified: 'Sun, 06 Dec 2026 08:00:00 GMT' }, /its ETag \(none\) differs from "one"/],
    [{ etag: '"one"', lastModified: 'Sun, 06 Dec 2026 09:00:00 GMT' }, /its Last-Modified Sun, 06 Dec 2026 09:00:00 GMT differs/],
  ];
  for (const [route, message] of refused) {
    await assert.rejects(download(tagged, { output: join(out, 'mirror.bin'), mirrors: [serve(8 * MiB + 123, route)] }), (e) => {
      assert.equal(e.code, 'ERR_GET_MIRROR');
      assert.match(e.message, message);
      return true;
    });
  }
  assert.ok(!listing(out).some((n) => n.startsWith('mirror.bin')), 'a refused mirror leaves no file');
  await fetchAndCheck(tagged, 8 * MiB + 123, {
    mirrors: [serve(8 * MiB + 123, { etag: '"one"', lastModified: 'Sun, 06 Dec 2026 08:00:00 GMT' })],
    connections: 4,
    chunkSize: MiB,
  });
});

test('names from the server: Content-Disposition is used, a path that climbs out is refused', T, async () => {
  const cwd = process.cwd();
  const { mkdirSync } = await import('node:fs');
  const here = join(out, 'cwd');
  mkdirSync(here);
  process.chdir(here);
  try {
    const url = serve(4097, { disposition: 'attachment; filename="nice name.bin"' });
    const r = await download(url);
    assert.equal(r.path, 'nice name.bin');
    const evil = serve(4097, { disposition: 'attachment; filename="../evil.bin"' });
    await assert.rejects(download(evil), { code: 'ERR_GET_USAGE' });
    const r2 = await download(serve(4095));
    assert.equal(r2.path, 'f4095.bin');
    await assert.rejects(download(serve(4095)), { code: 'ERR_GET_EXISTS', exitCode: 1 });
    const r3 = await download(serve(4095), { force: true });
    assert.equal(r3.path, 'f4095.bin');
    assert.deepEqual(listing(here), ['f4095.bin', 'nice name.bin']);
  } finally {
    process.chdir(cwd);
  }
});

test('a wrong checksum: exit code 3, the file keeps its .part name', T, async () => {
  const url = serve(4097);
  const output = join(out, 'bad-sum.bin');
  await assert.rejects(download(url, { output, checksum: `sha256=${'0'.repeat(64)}` }), { code: 'ERR_GET_CHECKSUM', exitCode: 3 });
  assert.deepEqual(
    listing(out).filter((n) => n.startsWith('bad-sum')),
    ['bad-sum.bin.part'],
  );
  const ok = await download(url, {
    output,
    checksum: `md5=${(await import('node:crypto'))
      .createHash('md5')
      .update((await import('node:fs')).readFileSync(files[4097].path))
      .digest('hex')}`,
  });
  assert.equal(ok.bytes, 4097);
});
