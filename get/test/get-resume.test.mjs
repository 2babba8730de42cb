// Interrupted downloads: abort by signal, kill -9 at random points, then the
// same call again; state files that do not match are refused.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AbortError, download } from '../src/index.js';
import { startServer } from './server.mjs';
import { MiB, THREADS, listing, randomFile, runCli, sha256File, tempDir } from './helpers.mjs';

const T = { timeout: 120_000 };
const t = tempDir();
const SIZE = 32 * MiB + 777;
const srcPath = join(t.dir, 'src.bin');
// Another file of the same length: the server's file replaced between runs.
const src2Path = join(t.dir, 'src2.bin');
let sha = '';
let sha2 = '';
/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;

before(async () => {
  sha = randomFile(srcPath, SIZE);
  sha2 = randomFile(src2Path, SIZE);
  server = await startServer({ routes: {} });
});

after(async () => {
  await server.close();
  t.cleanup();
});

/** @param {Partial<import('./server.mjs').Route>} [route] */
function serve(route = {}) {
  const path = `/${Math.random().toString(36).slice(2)}/src.bin`;
  server.routes[path] = { file: srcPath, ...route };
  return `${server.base}${path}`;
}

for (const { name, workers } of THREADS) {
  test(`abort by signal leaves .part and state; the same call resumes and fetches only what was missing${name}`, T, async () => {
    const url = serve({ rate: 8 * MiB });
    const { dir, output } = outputIn(`abort${workers}`);
    const sent0 = server.stats.bodyBytes;
    await interrupted(url, output, 4, workers);
    assert.deepEqual(listing(dir), ['out.bin.part', 'out.bin.part.state']);
    const sent1 = server.stats.bodyBytes;
    server.routes[new URL(url).pathname].rate = undefined;
    const r = await download(url, { output, connections: 4, workers });
    assert.ok(r.resumedBytes >= SIZE / 3 - 4 * MiB, `resumed ${r.resumedBytes}`);
    assert.equal(await sha256File(output), sha);
    assert.deepEqual(listing(dir), ['out.bin']);
    // Re-fetched: at most the chunk (1 MiB) each of the 4 connections had
    // in flight, and the one byte of each run's probe.
    const wasted = server.stats.bodyBytes - sent0 - SIZE;
    assert.ok(wasted <= 4 * MiB + 2, `re-fetched ${wasted} bytes`);
    assert.ok(sent1 > sent0);
  });
}

for (const { name, workers } of THREADS) {
  test(`with sync: false nothing is written back, and an abort still resumes (the live bitmap is in the page cache)${name}`, T, async () => {
    const url = serve({ rate: 8 * MiB });
    const { output } = outputIn(`nosync${workers}`);
    const ac = new AbortController();
    await assert.rejects(
      download(url, {
        output,
        connections: 4,
        chunkSize: MiB,
        sync: false,
        workers,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.bytes > SIZE / 3) ac.abort();
        },
      }),
      { name: 'AbortError' },
    );
    // The durable bitmap never advanced: after a power cut this would start over.
    const st = readFileSync(`${output}.part.state`);
    const headerBytes = st.readUInt32LE(12);
    const bitmapBytes = Math.ceil((Math.ceil(st.readUInt32LE(24) / 32) * 4) / 4096) * 4096;
    assert.ok(
      st.subarray(headerBytes, headerBytes + bitmapBytes).some((b) => b !== 0),
      'live bits set',
    );
    assert.ok(
      st.subarray(headerBytes + bitmapBytes).every((b) => b === 0),
      'durable bits untouched',
    );
    server.routes[new URL(url).pathname].rate = undefined;
    const r = await download(url, { output, sync: false, workers });
    assert.ok(r.resumedBytes >= SIZE / 3 - 4 * MiB, `resumed ${r.resumedBytes}`);
    assert.equal(await sha256File(output), sha);
  });
}

test('an already aborted signal rejects at once', T, async () => {
  await assert.rejects(download(serve(), { output: join(t.dir, 'never.bin'), signal: AbortSignal.abort() }), { name: 'AbortError' });
});

/**
 * Starts a download and stops it after about a third, leaving its state.
 * @param {string} url
 * @param {string} output
 * @param {number} [connections]
 * @param {number} [workers]
 */
async function interrupted(url, output, connections = 2, workers = 0) {
  const ac = new AbortController();
  await assert.rejects(
    download(url, {
      output,
      connections,
      workers,
      chunkSize: MiB,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.bytes > SIZE / 3) ac.abort();
      },
    }),
    (e) => e instanceof AbortError && e.name === 'AbortError' && e.code === 'ABORT_ERR',
  );
}

test('a validator changed between runs is refused; --no-resume starts over', T, async () => {
  const url = serve({ rate: 16 * MiB, etag: '"v1"' });
  const { output } = outputIn('changed');
  await interrupted(url, output);
  const route = server.routes[new URL(url).pathname];
  route.etag = '"v2"';
  route.rate = undefined;
  await assert.rejects(download(url, { output }), (e) => {
    assert.equal(e.code, 'ERR_GET_CHANGED');
    assert.equal(e.exitCode, 2);
    assert.match(e.message, /--no-resume/);
    return true;
  });
  const r = await download(url, { output, resume: false });
  assert.equal(r.resumedBytes, 0);
  assert.equal(await sha256File(output), sha);
});

test('a file whose length changed between runs is refused (the state names both lengths) and left as it was; --no-resume starts over', T, async () => {
  const url = serve({ rate: 16 * MiB, etag: '"same"' });
  const { output } = outputIn('length');
  await interrupted(url, output);
  const before = sideFiles(output);
  // The same URL and ETag, one byte longer.
  const longer = join(t.dir, 'longer.bin');
  writeFileSync(longer, Buffer.concat([readFileSync(srcPath), Buffer.from([7])]));
  const route = server.routes[new URL(url).pathname];
  route.file = longer;
  route.rate = undefined;
  await assert.rejects(download(url, { output }), (e) => {
    assert.equal(e.code, 'ERR_GET_STATE');
    assert.equal(e.exitCode, 1);
    assert.match(e.message, new RegExp(`is for a file of ${SIZE} bytes, the server now has ${SIZE + 1}`));
    assert.match(e.message, /--no-resume/);
    return true;
  });
  assertUnchanged(output, before);
  const r = await download(url, { output, resume: false });
  assert.equal(r.bytes, SIZE + 1);
  assert.equal(await sha256File(output), await sha256File(longer));
});

/**
 * A new directory for one test's download; `output` is the file in it.
 * @param {string} name
 */
function outputIn(name) {
  const dir = join(t.dir, name);
  mkdirSync(dir);
  return { dir, output: join(dir, 'out.bin') };
}

/**
 * Checks a refused call left the .part and its state byte for byte as `before`.
 * @param {string} output
 * @param {{ part: Buffer, state: Buffer }} before  sideFiles(output) before the call
 */
function assertUnchanged(output, before) {
  const now = sideFiles(output);
  assert.ok(now.part.equals(before.part), 'the refusal changed the .part');
  assert.ok(now.state.equals(before.state), 'the refusal changed the .part.state');
}

/**
 * The bytes of a download's .part and its state, to show a refusal left them as they were.
 * @param {string} output
 */
function sideFiles(output) {
  return { part: readFileSync(`${output}.part`), state: readFileSync(`${output}.part.state`) };
}

/**
 * Checks a refusal to resume without a validator.
 * @param {unknown} e
 * @param {RegExp} sent  what the message says the server sent
 */
function noValidator(e, sent) {
  const err = /** @type {{ code: string, exitCode: number, message: string }} */ (e);
  assert.equal(err.code, 'ERR_GET_STATE');
  assert.equal(err.exitCode, 1);
  assert.match(err.message, sent);
  assert.match(err.message, /cannot tell whether the file changed/);
  assert.match(err.message, /--no-resume/);
  assert.match(err.message, /--checksum/);
  assert.ok(!err.message.includes('\n'), err.message);
  return true;
}

test('no ETag and no Last-Modified: a resume without a checksum is refused and changes nothing; --no-resume starts over', T, async () => {
  const url = serve({ rate: 16 * MiB, etag: null });
  const { dir, output } = outputIn('novalidator');
  await interrupted(url, output);
  // As if the machine had restarted: a resume that went on would rewrite the
  // state's boot id and live bitmap, so "unchanged" also checks the refusal
  // comes before that.
  const statePath = `${output}.part.state`;
  const st = readFileSync(statePath);
  st.write('00000000-0000-0000-0000-000000000000', 32, 'latin1');
  writeFileSync(statePath, st);
  const before = sideFiles(output);
  const route = server.routes[new URL(url).pathname];
  route.rate = undefined;
  // The file the server has now is another one of the same length: a resume
  // would mix the chunks of both and nothing could tell.
  route.file = src2Path;
  await assert.rejects(download(url, { output }), (e) => noValidator(e, /the server sent no ETag or Last-Modified/));
  assertUnchanged(output, before);
  assert.deepEqual(listing(dir), ['out.bin.part', 'out.bin.part.state']);
  const r = await download(url, { output, resume: false });
  assert.equal(r.resumedBytes, 0);
  assert.equal(await sha256File(output), sha2);
  assert.deepEqual(listing(dir), ['out.bin']);
});

test('only a weak ETag counts as no validator: the resume is refused without a checksum', T, async () => {
  const url = serve({ rate: 16 * MiB, etag: 'W/"weak"' });
  const { output } = outputIn('weak');
  await interrupted(url, output);
  const before = sideFiles(output);
  server.routes[new URL(url).pathname].rate = undefined;
  await assert.rejects(download(url, { output }), (e) => noValidator(e, /only a weak ETag \(W\/"weak"\) and no Last-Modified/));
  assertUnchanged(output, before);
});

test('Last-Modified alone (no ETag) is a validator: the resume goes on without a checksum', T, async () => {
  const url = serve({ rate: 16 * MiB, etag: null, lastModified: 'Sun, 06 Dec 2026 09:00:00 GMT' });
  const { output } = outputIn('lastmodified');
  await interrupted(url, output);
  server.routes[new URL(url).pathname].rate = undefined;
  const r = await download(url, { output });
  assert.ok(r.resumedBytes > 0, `resumed ${r.resumedBytes}`);
  assert.equal(await sha256File(output), sha);
});

for (const { name, workers } of THREADS) {
  test(`no validator: a resume with the checksum goes on and fetches only what was missing${name}`, T, async () => {
    const url = serve({ rate: 16 * MiB, etag: null });
    const { dir, output } = outputIn(`novalidator-checksum${workers}`);
    await interrupted(url, output, 2, workers);
    server.routes[new URL(url).pathname].rate = undefined;
    const r = await download(url, { output, workers, checksum: `sha256=${sha}` });
    assert.ok(r.resumedBytes > 0, `resumed ${r.resumedBytes}`);
    assert.equal(r.sha256, sha);
    assert.equal(await sha256File(output), sha);
    assert.deepEqual(listing(dir), ['out.bin']);
  });
}

test('no validator, the file replaced with one of the same length: the checksum after the resume finds the mix', T, async () => {
  const url = serve({ rate: 16 * MiB, etag: null });
  const { dir, output } = outputIn('novalidator-mixed');
  await interrupted(url, output);
  const route = server.routes[new URL(url).pathname];
  route.rate = undefined;
  route.file = src2Path;
  await assert.rejects(download(url, { output, checksum: `sha256=${sha2}` }), (e) => {
    assert.equal(e.code, 'ERR_GET_CHECKSUM');
    assert.equal(e.exitCode, 3);
    return true;
  });
  assert.ok(!listing(dir).includes('out.bin'), 'the mixed file is not given the final name');
});

test('no validator, the command: a resume without --checksum exits 1 with one line; with --checksum it completes', T, async () => {
  const url = serve({ rate: 16 * MiB, etag: null });
  const { dir, output } = outputIn('novalidator-cli');
  await interrupted(url, output);
  const before = sideFiles(output);
  server.routes[new URL(url).pathname].rate = undefined;
  const refused = await runCli([url, '-o', output, '-q'], { timeoutMs: 60_000 });
  assert.equal(refused.code, 1, refused.stderr);
  const lines = refused.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected: ${refused.stderr}`);
  assert.match(lines[0], /^ranged-mmap-get: .*no ETag or Last-Modified.*--no-resume.*--checksum/);
  assertUnchanged(output, before);
  const resumed = await runCli([url, '-o', output, '-q', '--checksum', `sha256=${sha}`], { timeoutMs: 60_000 });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(await sha256File(output), sha);
  assert.deepEqual(listing(dir), ['out.bin']);
});

for (const { name, workers } of THREADS) {
  test(`a validator that changes mid-download (If-Range answered with 200) is an error${name}`, T, async () => {
    let n = 0;
    const url = serve({ etag: '"a"', fault: (req) => (req.range !== 'bytes=0-0' && n++ === 2 ? { etag: '"b"' } : undefined) });
    // The server's If-Range check sees "a" != "b" and answers 200 with the whole file.
    await assert.rejects(download(url, { output: join(t.dir, `midway${workers}.bin`), connections: 4, chunkSize: MiB, workers }), { code: 'ERR_GET_CHANGED' });
  });
}

test('a state file for another URL, a corrupt one and one of another version are refused with a message', T, async () => {
  const { output } = outputIn('states');
  const url = serve({ rate: 16 * MiB });
  await interrupted(url, output);
  const other = serve();
  await assert.rejects(download(other, { output }), (e) => e.code === 'ERR_GET_STATE' && /another URL/.test(e.message) && /--no-resume/.test(e.message));
  const statePath = `${output}.part.state`;
  const good = readFileSync(statePath);
  const corrupt = Buffer.from(good);
  corrupt[130] ^= 0xff; // inside the JSON description
  writeFileSync(statePath, corrupt);
  await assert.rejects(download(url, { output }), (e) => e.code === 'ERR_GET_STATE' && /corrupt/.test(e.message));
  const version = Buffer.from(good);
  version.writeUInt32LE(99, 8);
  writeFileSync(statePath, version);
  await assert.rejects(download(url, { output }), (e) => e.code === 'ERR_GET_STATE' && /version 99/.test(e.message));
  writeFileSync(statePath, good.subarray(0, 100));
  await assert.rejects(download(url, { output }), { code: 'ERR_GET_STATE' });
  writeFileSync(statePath, good);
  server.routes[new URL(url).pathname].rate = undefined;
  const r = await download(url, { output });
  assert.ok(r.resumedBytes > 0);
  assert.equal(await sha256File(output), sha);
});

test('a state from another boot trusts only the durable bitmap', T, async () => {
  const { output } = outputIn('boot');
  const url = serve({ rate: 16 * MiB });
  await interrupted(url, output);
  const statePath = `${output}.part.state`;
  const st = readFileSync(statePath);
  st.write('00000000-0000-0000-0000-000000000000', 32, 'latin1');
  // Clear the durable bitmap: as if the power went before its first save.
  const headerBytes = st.readUInt32LE(12);
  const chunks = st.readUInt32LE(24);
  const bitmapBytes = Math.ceil((Math.ceil(chunks / 32) * 4) / 4096) * 4096;
  st.fill(0, headerBytes + bitmapBytes);
  writeFileSync(statePath, st);
  server.routes[new URL(url).pathname].rate = undefined;
  const r = await download(url, { output });
  assert.equal(r.resumedBytes, 0);
  assert.equal(await sha256File(output), sha);
});

// kill -9 of the command at random points, then the same command again.
// 20 runs: they took 21 s together on the two shared cores (about 1 s a
// run: a kill at 150-1050 ms, then the resume); RMGET_KILL_RUNS=N runs N.
const RUNS = Number(process.env.RMGET_KILL_RUNS ?? 20);
for (const { name, workers } of THREADS) {
  test(`kill -9 at random points in ${RUNS} runs, then resume: right sha256, at most one chunk per connection fetched twice${name}`, {
    timeout: 40_000 * RUNS,
  }, async () => {
    const CONNS = 4;
    const CHUNK = MiB;
    const dir = join(t.dir, `kill${workers}`);
    mkdirSync(dir);
    for (let run = 0; run < RUNS; run++) {
      // 4 MiB/s per response, 4 connections: 32 MiB take over 2 s, so the
      // kill (at most 1050 ms in) always comes before the end.
      const url = serve({ rate: 4 * MiB });
      const output = join(dir, `out${run}.bin`);
      const args = [url, '-o', output, '-c', String(CONNS), '--workers', String(workers), '--chunk-size', '1M', '-q'];
      const sent0 = server.stats.bodyBytes;
      const killAt = 150 + Math.floor(Math.random() * 900);
      const first = await runCli(args, { killAfterMs: killAt, timeoutMs: 60_000 });
      if (first.signal === 'SIGKILL') {
        assert.ok(listing(dir).includes(`out${run}.bin.part`) || !listing(dir).includes(`out${run}.bin`), `run ${run}: no final name after a kill`);
      }
      server.routes[new URL(url).pathname].rate = undefined;
      // Let the killed process's sockets drain on the server side first.
      await new Promise((r) => setTimeout(r, 100));
      const second = await runCli(args, { timeoutMs: 60_000 });
      assert.equal(second.code, 0, `run ${run} (killed at ${killAt} ms): ${second.stderr}`);
      assert.equal(await sha256File(output), sha, `run ${run}`);
      assert.ok(!listing(dir).some((n) => n.includes('.part')), `run ${run}: side files left`);
      const refetched = server.stats.bodyBytes - sent0 - SIZE;
      // At most one chunk per connection: a request asks for one chunk, so
      // what the server wrote for a connection beyond its last finished
      // chunk (in flight, or still in the socket buffers when the process
      // died) is that one chunk; plus the one byte of each run's probe.
      assert.ok(refetched <= CONNS * CHUNK + 2, `run ${run} (killed at ${killAt} ms): ${refetched} bytes fetched twice, more than ${CONNS} chunks of ${CHUNK}`);
      // What bounds it on any server (this one is throttled, so its socket
      // buffers stay nearly empty): no range request of either run asks for
      // bytes of two chunks.
      for (const r of server.stats.log) {
        if (r.path !== new URL(url).pathname || r.range === undefined || r.range === 'bytes=0-0') continue;
        const m = /^bytes=(\d+)-(\d+)$/.exec(r.range);
        assert.ok(m !== null && Math.floor(Number(m[1]) / CHUNK) === Math.floor(Number(m[2]) / CHUNK), `run ${run}: the request ${r.range} spans two chunks`);
      }
    }
  });
}
