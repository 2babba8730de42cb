// The command: exit codes, one-line errors, --json, HTTPS with --ca, a full
// disk, an existing output.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from './server.mjs';
import { BIN, MiB, jsonLines, listing, randomFile, runCli, sha256File, tempDir } from './helpers.mjs';

const T = { timeout: 60_000 };
const t = tempDir();
const SIZE = 8 * MiB + 5;
const srcPath = join(t.dir, 'src.bin');
let sha = '';
/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
let url = '';

before(async () => {
  sha = randomFile(srcPath, SIZE);
  server = await startServer({ routes: { '/src.bin': { file: srcPath } } });
  url = `${server.base}/src.bin`;
});

after(async () => {
  await server.close();
  t.cleanup();
});

/** A fresh working directory. @param {string} name */
function cwdFor(name) {
  const dir = join(t.dir, name);
  mkdirSync(dir);
  return dir;
}

/** Asserts an error output is one line naming the program. @param {string} stderr */
function oneLine(stderr) {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected: ${stderr}`);
  assert.match(lines[0], /^ranged-mmap-get: /);
  return lines[0];
}

test('--help, --version, and usage errors exit 1 with one line', T, async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: ranged-mmap-get URL/);
  assert.match(help.stdout, /Exit codes/);
  const version = await runCli(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^ranged-mmap-get \d+\.\d+\.\d+\n$/);
  for (const args of [
    [],
    ['--bogus', url],
    [url, '--chunk-size', '3k'],
    [url, '--chunk-size', 'lots'],
    [url, '-c', '0'],
    [url, '-H', 'no colon'],
    [url, '--checksum', 'crc=1'],
    ['not a url'],
  ]) {
    const r = await runCli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    oneLine(r.stderr);
  }
});

test('a download with --json: start, progress, done on stdout, one object a line; the file is right', T, async () => {
  const cwd = cwdFor('json');
  const r = await runCli([url, '--json', '-c', '3', '--chunk-size', '512k', '--checksum', `sha256=${sha}`, '-H', 'X-Test: yes'], { cwd });
  assert.equal(r.code, 0, r.stderr);
  const events = jsonLines(r.stdout);
  assert.equal(events[0].type, 'start');
  assert.equal(events[0].length, SIZE);
  assert.equal(events[0].connections, 3);
  assert.ok(events.some((e) => e.type === 'progress'));
  const done = events.at(-1);
  assert.equal(done.type, 'done');
  assert.equal(done.sha256, sha);
  assert.equal(done.bytes, SIZE);
  assert.deepEqual(listing(cwd), ['src.bin']);
  assert.equal(await sha256File(join(cwd, 'src.bin')), sha);
  assert.ok(server.stats.log.some((q) => q.headers['x-test'] === 'yes'));
});

test('--json progress lines come at most 10 a second, every one of them (a 2-second download)', T, async () => {
  const cwd = cwdFor('json-rate');
  // 4 MiB/s per response, 2 connections: about 1 s for 8 MiB, 10 or more reports.
  server.routes['/slow-src.bin'] = { file: srcPath, rate: 4 * MiB };
  const r = await runCli([`${server.base}/slow-src.bin`, '--json', '-c', '2', '--chunk-size', '1M'], { cwd });
  assert.equal(r.code, 0, r.stderr);
  const events = jsonLines(r.stdout);
  const progress = events.filter((e) => e.type === 'progress');
  assert.ok(progress.length >= 5, `only ${progress.length} progress lines`);
  for (let i = 1; i < progress.length; i++) {
    const gap = progress[i].seconds - progress[i - 1].seconds;
    assert.ok(gap >= 0.099, `progress lines ${i - 1} and ${i} came ${(gap * 1000).toFixed(1)} ms apart`);
  }
  // The last report may come up to 100 ms before the end; done has the total.
  assert.deepEqual([events.at(-1).type, events.at(-1).bytes], ['done', SIZE]);
});

test('an existing output without --force exits 1 and is left alone; with --force it is replaced', T, async () => {
  const cwd = cwdFor('exists');
  writeFileSync(join(cwd, 'src.bin'), 'keep me');
  const r = await runCli([url], { cwd });
  assert.equal(r.code, 1);
  assert.match(oneLine(r.stderr), /exists.*--force/);
  assert.equal(readFileSync(join(cwd, 'src.bin'), 'utf8'), 'keep me');
  const f = await runCli([url, '--force', '-q'], { cwd });
  assert.equal(f.code, 0, f.stderr);
  assert.equal(await sha256File(join(cwd, 'src.bin')), sha);
});

test('server errors exit 2, a checksum mismatch exits 3, each with one line', T, async () => {
  const cwd = cwdFor('codes');
  const missing = await runCli([`${server.base}/nothing.bin`, '--retries', '0'], { cwd });
  assert.equal(missing.code, 2);
  assert.match(oneLine(missing.stderr), /404/);
  const refused = await runCli(['http://127.0.0.1:1/x.bin', '--retries', '1', '-o', 'x.bin'], { cwd });
  assert.equal(refused.code, 2);
  assert.match(oneLine(refused.stderr), /ECONNREFUSED|failed 2 times/);
  const bad = await runCli([url, '--checksum', `sha256=${'1'.repeat(64)}`], { cwd });
  assert.equal(bad.code, 3);
  assert.match(oneLine(bad.stderr), /sha256 is [0-9a-f]{64}, expected 1{64}/);
});

test('SIGINT stops the command with 130 and a resumable state; the same command finishes it', T, async () => {
  const cwd = cwdFor('sigint');
  server.routes['/slow.bin'] = { file: srcPath, rate: 2 * MiB };
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [BIN, `${server.base}/slow.bin`, '-c', '2', '--chunk-size', '1M'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const hard = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await new Promise((r) => setTimeout(r, 1200));
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('close', (c) => r(c)));
  clearTimeout(hard);
  assert.equal(code, 130, stderr);
  assert.match(oneLine(stderr), /interrupted.*resume/);
  assert.deepEqual(listing(cwd), ['slow.bin.part', 'slow.bin.part.state']);
  server.routes['/slow.bin'].rate = undefined;
  const again = await runCli([`${server.base}/slow.bin`, '--json'], { cwd });
  assert.equal(again.code, 0, again.stderr);
  const start = JSON.parse(again.stdout.split('\n')[0]);
  assert.ok(start.resumedBytes >= MiB, `resumed ${start.resumedBytes}`);
  assert.equal(await sha256File(join(cwd, 'slow.bin')), sha);
});

test('HTTPS with a certificate made here: refused without --ca (exit 2), fine with --ca FILE', T, async (ctx) => {
  const dir = cwdFor('tls');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  );
  if (made.error !== undefined || made.status !== 0) {
    // No openssl: nothing to test this with; say so instead of passing silently.
    ctx.diagnostic(`openssl missing or failed: ${made.error?.message ?? made.stderr}`);
    assert.fail('the HTTPS test needs the openssl command to make its certificate');
  }
  const tls = await startServer({ routes: { '/src.bin': { file: srcPath } }, tls: { key: readFileSync(key), cert: readFileSync(cert) } });
  try {
    const cwd = cwdFor('tls-out');
    const refused = await runCli([`${tls.base}/src.bin`, '--retries', '0'], { cwd });
    assert.equal(refused.code, 2);
    assert.match(oneLine(refused.stderr), /--ca/);
    const ok = await runCli([`${tls.base}/src.bin`, '--ca', cert, '-c', '4', '--chunk-size', '1M', '-q'], { cwd });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(await sha256File(join(cwd, 'src.bin')), sha);
    assert.deepEqual(listing(cwd), ['src.bin']);
    // An https URL that redirects to plain http is refused unless asked for.
    tls.redirects['/down'] = url;
    const down = await runCli([`${tls.base}/down`, '--ca', cert, '-o', 'down.bin'], { cwd });
    assert.equal(down.code, 2);
    assert.match(oneLine(down.stderr), /--allow-downgrade/);
    const allowed = await runCli([`${tls.base}/down`, '--ca', cert, '-o', 'down.bin', '--allow-downgrade', '-q'], { cwd });
    assert.equal(allowed.code, 0, allowed.stderr);
  } finally {
    await tls.close();
  }
});

test('a full disk (private 4 MiB tmpfs): exit 4 at the start, with a hint, nothing half-written', T, async (ctx) => {
  const dir = cwdFor('tmpfs');
  const probe = spawnSync('unshare', ['-rm', 'true']);
  if (probe.error !== undefined || probe.status !== 0) {
    ctx.diagnostic('unshare -rm is not available here');
    assert.fail('the disk-full test needs unshare -rm (user and mount namespaces) to mount its own tmpfs');
  }
  // The mount lives in the child's own mount namespace: nothing to unmount.
  const script = `mount -t tmpfs -o size=4m tmpfs "$0" && cd "$0" && "$1" "$2" "$3" -q; code=$?; ls -A; exit $code`;
  const r = await runCli([], { command: ['unshare', '-rm', 'sh', '-c', script, dir, process.execPath, BIN, url], timeoutMs: 30_000 });
  assert.equal(r.code, 4, r.stderr);
  assert.match(oneLine(r.stderr), /no space left.*-o/);
  assert.equal(r.stdout.trim(), '', `files left on the full disk: ${r.stdout}`);
});

test('the command is on PATH through the workspace (npx ranged-mmap-get)', T, () => {
  const root = new URL('../../', import.meta.url).pathname;
  const out = execFileSync(join(root, 'node_modules', '.bin', 'ranged-mmap-get'), ['--version'], { encoding: 'utf8' });
  assert.match(out, /^ranged-mmap-get /);
});

test("the demo's server stops when its parent is gone, even with its stdin still open", T, async () => {
  const serverJs = new URL('../src/demo-server.js', import.meta.url).pathname;
  // sh starts the server in the background and exits at once: the server is
  // orphaned while its stdin stays open: a FIFO it opens for reading and
  // writing, so no writer can go away and end it, and no helper process
  // (a `sleep` feeding a pipe) outlives the test. (Not this test's own
  // pipe: Node closes a child's stdin when the child exits.)
  const fifo = join(t.dir, 'orphan-stdin');
  execFileSync('mkfifo', [fifo]);
  const sh = spawn('sh', ['-c', `"$0" "$1" "$2" <> "$3" > /dev/null & echo $!`, process.execPath, serverJs, srcPath, fifo], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  sh.stdout.on('data', (d) => (out += d));
  await new Promise((resolve) => sh.on('close', resolve));
  const pid = Number(out.trim());
  assert.ok(pid > 0, `no pid printed: ${out}`);
  /** Whether `pid` is still a running (not zombie) process. */
  const running = () => {
    try {
      return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + 10_000;
  while (running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const still = running();
  if (still) process.kill(pid, 'SIGKILL');
  assert.equal(still, false, 'the orphaned demo server was still serving 10 s after its parent exited');
});

test("the demo's server limits each connection across its requests: short requests on one keep-alive socket cannot escape the rate", T, async () => {
  const serverJs = new URL('../src/demo-server.js', import.meta.url).pathname;
  const rate = 2 * MiB;
  const child = spawn(process.execPath, [serverJs, srcPath, String(rate)], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const url = await new Promise((resolve, reject) => {
      child.stdout.once('data', (d) => resolve(String(d).trim()));
      child.once('exit', (code) => reject(new Error(`demo server exited with ${code}`)));
    });
    const { Agent, get } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    /** @type {Set<import('node:net').Socket>} */
    const sockets = new Set();
    const fetchRange = (/** @type {number} */ a, /** @type {number} */ b) =>
      new Promise((resolve, reject) => {
        get(url, { agent, headers: { range: `bytes=${a}-${b - 1}` } }, (res) => {
          sockets.add(res.socket);
          let n = 0;
          res.on('data', (d) => (n += d.length));
          res.on('end', () => resolve(n));
          res.on('error', reject);
        }).on('error', reject);
      });
    const t0 = performance.now();
    let bytes = 0;
    // Eight requests of 128 KiB: 1 MiB, half a second's worth at 2 MiB/s.
    for (let i = 0; i < 8; i++) bytes += /** @type {number} */ (await fetchRange(i * 128 * 1024, (i + 1) * 128 * 1024));
    const seconds = (performance.now() - t0) / 1000;
    agent.destroy();
    assert.equal(bytes, MiB);
    assert.equal(sockets.size, 1, 'all requests on one connection');
    // A limit per request with a burst at the start of each (nginx's
    // limit_rate) would let these through at once.
    assert.ok(seconds >= 0.45, `1 MiB in ${seconds.toFixed(2)} s on one connection limited to 2 MiB/s`);
  } finally {
    child.stdin.end();
  }
});

test(
  'on a terminal, a progress line redrawn in place (percentage, bytes, speed, ETA, connections), at most 10 times a second; off a terminal, nothing on stdout',
  T,
  async () => {
    // `script` gives the command a pseudo-terminal as stdout.
    server.routes['/tty-src.bin'] = { file: srcPath, rate: 4 * MiB };
    const cwd = cwdFor('tty');
    const cmd = [process.execPath, BIN, `${server.base}/tty-src.bin`, '-c', '2', '--chunk-size', '1M'].map((a) => `'${a}'`).join(' ');
    const t0 = performance.now();
    const r = await runCli([cmd, '/dev/null'], { cwd, command: ['script', '-qfe', '-c'] });
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const draws = r.stdout.split('\r\x1b[2K').filter((s) => s.length > 0);
    assert.ok(draws.length >= 3, `only ${draws.length} progress lines: ${JSON.stringify(r.stdout)}`);
    assert.ok(draws.length <= Math.ceil(seconds * 10) + 2, `${draws.length} redraws in ${seconds.toFixed(2)} s`);
    const line = /^\s*(\d+\.\d)%\s+\S+ \S+ \/ 8\.0 MiB\s+\d+\.\d MB\/s\s+ETA (\d\d:\d\d|--:--)\s+\d+ conn/;
    for (const d of draws.slice(0, -1)) assert.match(d.replace(/\r?\n.*$/s, ''), line);
    assert.equal(await sha256File(join(cwd, 'tty-src.bin')), sha);
    // The same command with stdout a pipe prints nothing there.
    const cwd2 = cwdFor('no-tty');
    const plain = await runCli([`${server.base}/tty-src.bin`, '-c', '2', '--chunk-size', '1M'], { cwd: cwd2 });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, '');
    assert.equal(plain.stderr, '');
  },
);

test('--json reports retries and ends with one error line (code, message, exit code) when retries run out', T, async () => {
  let n = 0;
  server.routes['/flaky-src.bin'] = { file: srcPath, fault: (req) => (req.range !== 'bytes=0-0' && n++ < 2 ? { status: 503 } : undefined) };
  const cwd = cwdFor('json-retry');
  const ok = await runCli([`${server.base}/flaky-src.bin`, '--json', '-c', '1', '--chunk-size', '1M'], { cwd });
  assert.equal(ok.code, 0, ok.stderr);
  const events = jsonLines(ok.stdout);
  const retries = events.filter((e) => e.type === 'retry');
  assert.equal(retries.length, 2, JSON.stringify(events));
  assert.ok(
    retries.every((e) => /503/.test(e.reason) && typeof e.attempt === 'number' && typeof e.delayMs === 'number'),
    JSON.stringify(retries),
  );
  assert.equal(events.at(-1).type, 'done');
  const gone = await runCli([`${server.base}/nothing.bin`, '--json', '--retries', '0'], { cwd });
  assert.equal(gone.code, 2);
  const last = jsonLines(gone.stdout).at(-1);
  assert.deepEqual([last.type, last.code, last.exitCode], ['error', 'ERR_GET_HTTP', 2]);
  assert.match(last.message, /404/);
  assert.equal(gone.stderr.trim().split('\n').length, 1);
});

test('--demo: generates and serves 1 GiB, downloads it, checks the sha256, prints both speeds, and leaves nothing behind', { timeout: 180_000 }, async () => {
  // Its own TMPDIR, to see that the demo's directory goes away.
  const tmp = cwdFor('demo-tmp');
  const r = await runCli(['--demo'], { cwd: tmp, env: { TMPDIR: tmp }, timeoutMs: 170_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /sha256 [0-9a-f]{64}: the same as the served file's/);
  assert.match(r.stdout, /ranged-mmap-get, 8 connections : +\d+ MB\/s/);
  assert.match(r.stdout, /plain Node, one stream {8}: +\d+ MB\/s/);
  assert.match(r.stdout, /ratio +: \d+\.\d\dx/);
  assert.deepEqual(listing(tmp), []);
});
