// npm run bench:get: ranged-mmap-get against curl, aria2c -x8 -s8 -k1M,
// axel -n8 (each when on PATH) and a plain Node downloader (always), on
// loopback, following shared BENCH.md: one untimed round first, a memory
// warm step before every timed run, a seeded shuffle of the order in each
// round, files deleted and `sync`ed between runs, median (min-max).
//
// Server: nginx with sendfile when `nginx` is on PATH (apt-get install
// nginx-light), else this package's Node server (src/demo-server.js); the
// table says which. Scenarios: 1 GiB and 4 GiB at full speed (at 1 GiB also
// the connections in 1, 2 and 4 worker threads), 256 MiB with every
// connection throttled to 20 MB/s (always by the Node server, which limits
// a connection across its requests; nginx limits each request), and (nginx only) a resume
// after kill -9 at ~50% of 4 GiB, the bytes sent twice counted by nginx.
//
// Per run: MB/s (wall time of the whole command), CPU seconds per GiB
// (user + sys from /usr/bin/time), peak RssAnon (anonymous memory, polled
// from /proc every 20 ms) and peak RSS (VmHWM: mapped file pages count there).
//
// Usage: node get/bench/run.mjs [--quick] [--reps N] [--only 1g,4g,throttled,resume] [--seed N]
//        [--contenders NAME,NAME] (exact names from the table: only those)
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, writeSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { alternate, setOrderSeed } from '../../bench/lib/alternate.mjs';
import { warmSize, warmStats } from '../../bench/lib/warm.mjs';
import { pageReporting } from '../../bench/lib/page-reporting.mjs';
import { median } from '../../bench/lib/stats.mjs';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const here = new URL('.', import.meta.url).pathname;
const BIN = join(here, '..', 'bin', 'ranged-mmap-get.js');

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean' }, reps: { type: 'string' }, only: { type: 'string' }, seed: { type: 'string' }, contenders: { type: 'string' } },
});
const reps = Number(args.reps ?? (args.quick ? 3 : 5));
const only = new Set((args.only ?? (args.quick ? '1g,throttled' : '1g,4g,throttled,resume')).split(','));
const seed = Number(args.seed ?? Math.floor(Math.random() * 2 ** 31));
setOrderSeed(seed);

/** @param {string} cmd */
const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'rmget-bench-'));
// nginx's workers run as an unprivileged user: they must be able to read the files.
chmodSync(dir, 0o755);
const log = (/** @type {string} */ s) => process.stderr.write(`${s}\n`);

/** A file of `size` bytes: a random MiB stamped with its index. @param {string} path @param {number} size */
function makeFile(path, size) {
  const block = randomBytes(MiB);
  const fd = openSync(path, 'w');
  for (let i = 0; i * MiB < size; i++) {
    block.writeUInt32LE(i, 0);
    writeSync(fd, block, 0, Math.min(MiB, size - i * MiB), i * MiB);
  }
  closeSync(fd);
}

// ---- the server ----
const RATE = 20_000_000;
/** @type {{ base: string, countedBase: string, sentLog: string, name: string, stop: () => void }} */
let server;
if (onPath('nginx')) {
  const ng = join(dir, 'nginx');
  spawnSync('mkdir', ['-p', ng]);
  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(
    join(ng, 'nginx.conf'),
    `worker_processes 1;
daemon on;
pid ${ng}/nginx.pid;
error_log ${ng}/error.log;
events { worker_connections 256; }
http {
  access_log off;
  log_format sent '$body_bytes_sent';
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path ${ng};
  proxy_temp_path ${ng};
  fastcgi_temp_path ${ng};
  uwsgi_temp_path ${ng};
  scgi_temp_path ${ng};
  server {
    listen 127.0.0.1:${port};
    location /files/ { alias ${dir}/src/; }
    location /counted/ { alias ${dir}/src/; access_log ${ng}/sent.log sent; }
  }
}
`,
  );
  const r = spawnSync('nginx', ['-c', join(ng, 'nginx.conf')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('nginx did not start');
  server = {
    base: `http://127.0.0.1:${port}/files/`,
    countedBase: `http://127.0.0.1:${port}/counted/`,
    sentLog: join(ng, 'sent.log'),
    name: 'nginx (sendfile, 1 worker)',
    stop: () => {
      const pid = Number(readFileSync(join(ng, 'nginx.pid'), 'utf8'));
      process.kill(pid, 'SIGQUIT');
    },
  };
} else {
  server = { base: '', countedBase: '', sentLog: '', name: 'Node (src/demo-server.js)', stop: () => {} };
}
spawnSync('mkdir', ['-p', join(dir, 'src'), join(dir, 'out')]);
// Stopped with ^C or kill: stop the server and remove the files too (the
// contender under way is this process's child and gets the signal itself).
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(sig, () => {
    try {
      server.stop();
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

/**
 * Starts a Node server for one file when nginx is not there.
 * @param {string} file
 * @param {number} rate
 */
async function nodeServer(file, rate) {
  const child = spawn(process.execPath, [join(here, '..', 'src', 'demo-server.js'), file, ...(rate > 0 ? [String(rate)] : [])], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
  });
  return { url: /** @type {string} */ (url), stop: () => child.stdin.end() };
}

// ---- measuring one command ----
/**
 * Runs a command under /usr/bin/time; polls its peak RssAnon and VmHWM.
 * @param {string[]} argv
 * @returns {Promise<{ seconds: number, cpu: number, anonMiB: number, rssMiB: number }>}
 */
function measure(argv, env = {}) {
  return new Promise((resolve, reject) => {
    const timeFile = join(dir, 'time.txt');
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    let anon = 0;
    let hwm = 0;
    const poll = setInterval(() => {
      try {
        const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean);
        for (const pid of kids) {
          const st = readFileSync(`/proc/${pid}/status`, 'latin1');
          anon = Math.max(anon, Number(/RssAnon:\s+(\d+)/.exec(st)?.[1] ?? 0));
          hwm = Math.max(hwm, Number(/VmHWM:\s+(\d+)/.exec(st)?.[1] ?? 0));
        }
      } catch {
        // the process just ended
      }
    }, 20);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      clearInterval(poll);
      if (code !== 0) {
        reject(new Error(`${argv.join(' ')} exited with ${code}: ${stderr.slice(-500)}`));
        return;
      }
      const [u, s] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
      resolve({ seconds, cpu: u + s, anonMiB: anon / 1024, rssMiB: hwm / 1024 });
    });
  });
}

// ---- contenders ----
/**
 * @typedef {{ name: string, argv: (url: string, out: string) => string[], env?: Record<string, string> }} Contender
 */
/** @type {(c: number) => Contender} */
const ours = (c) => ({ name: `ranged-mmap-get -c ${c}`, argv: (url, out) => [process.execPath, BIN, url, '-o', out, '-c', String(c), '-q'] });
/** The connections spread over N worker threads. @type {(w: number) => Contender} */
const oursWorkers = (w) => ({ name: `ranged-mmap-get -c 8 --workers ${w}`, argv: (url, out) => [...ours(8).argv(url, out), '--workers', String(w)] });
/** --no-sync: no write-back started by the download, as curl, aria2c and axel (a power cut then starts over). @type {(c: number) => Contender} */
const oursNoSync = (c) => ({ name: `ranged-mmap-get -c ${c} --no-sync`, argv: (url, out) => [...ours(c).argv(url, out), '--no-sync'] });
const curl = { name: 'curl', argv: (/** @type {string} */ url, /** @type {string} */ out) => ['curl', '-s', '-f', '-o', out, url] };
const aria = {
  name: 'aria2c -x8 -s8 -k1M',
  argv: (/** @type {string} */ url, /** @type {string} */ out) => [
    'aria2c',
    '-x8',
    '-s8',
    '-k1M',
    '-q',
    '--allow-overwrite=true',
    '--auto-file-renaming=false',
    '-d',
    join(out, '..'),
    '-o',
    out.slice(out.lastIndexOf('/') + 1),
    url,
  ],
};
const axel = { name: 'axel -n8', argv: (/** @type {string} */ url, /** @type {string} */ out) => ['axel', '-q', '-n8', '-o', out, url] };
const plain = {
  name: 'plain Node -c 8',
  argv: (/** @type {string} */ url, /** @type {string} */ out) => [process.execPath, join(here, 'plain-node.mjs'), url, out, '8'],
};
/** --contenders NAME,NAME: only these (exact names), for a side measurement. */
const picked = args.contenders === undefined ? null : new Set(args.contenders.split(','));
const available = (/** @type {Contender[]} */ list) =>
  list.filter((c) => {
    if (picked !== null && !picked.has(c.name)) return false;
    const cmd = c.argv('u', 'o')[0];
    return cmd === process.execPath || onPath(cmd);
  });

/**
 * One scenario: every contender downloads `file` from `url`, alternating.
 * @param {string} label
 * @param {string} url
 * @param {string} file
 * @param {number} size
 * @param {Contender[]} contenders
 */
async function scenario(label, url, file, size, contenders) {
  log(`\n${label}: ${contenders.map((c) => c.name).join(', ')}; ${reps} reps after one untimed round`);
  /** @type {Record<string, { cpu: number[], anon: number[], rss: number[] }>} */
  const extra = Object.fromEntries(contenders.map((c) => [c.name, { cpu: [], anon: [], rss: [] }]));
  const outDir = join(dir, 'out');
  const out = join(outDir, 'file.bin');
  const clean = () => {
    for (const f of readdirSync(outDir)) rmSync(join(outDir, f), { force: true });
    spawnSync('sync');
  };
  const entries = contenders.map((c) => ({
    name: c.name,
    run: async (/** @type {number} */ rep) => {
      const m = await measure(c.argv(url, out), c.env);
      if (rep >= 0) {
        extra[c.name].cpu.push(m.cpu / (size / GiB));
        extra[c.name].anon.push(m.anonMiB);
        extra[c.name].rss.push(m.rssMiB);
      }
      return size / m.seconds / 1e6;
    },
    verify: () => {
      const r = spawnSync('cmp', ['-s', file, out]);
      if (r.status !== 0) throw new Error(`${out} differs from ${file}`);
    },
    cleanup: clean,
  }));
  clean();
  const result = await alternate(entries, reps, log, { warmBytes: warmSize(size), label });
  return contenders.map((c) => ({
    scenario: label,
    contender: c.name,
    mbps: result.times[c.name],
    verified: result.verified[c.name],
    cpuPerGiB: extra[c.name].cpu,
    anonMiB: extra[c.name].anon,
    rssMiB: extra[c.name].rss,
    reportedKiB: result.reported[c.name],
  }));
}

/**
 * Resume after kill -9 at about 50% of 4 GiB: ranged-mmap-get -c 8 (default
 * options) is killed once its --json progress passes half the file, then the
 * same command runs to the end. nginx logs the body bytes it sent for every
 * request of the /counted/ location: what both runs got beyond the file's
 * length was fetched twice (bytes that sat in the socket buffers at the kill
 * included). Runs `min(reps, 3)` times.
 */
async function resumeAfterKill() {
  const size = 4 * GiB;
  const file = join(dir, 'src', 'resume.bin');
  makeFile(file, size);
  spawnSync('sync');
  const url = `${server.countedBase}resume.bin`;
  const out = join(dir, 'out', 'resume.bin');
  const C = 4 * MiB;
  const conns = 8;
  const runs = [];
  log(`\nresume after kill -9 at ~50% of 4 GiB: ${Math.min(reps, 3)} runs`);
  for (let rep = 0; rep < Math.min(reps, 3); rep++) {
    for (const f of readdirSync(join(dir, 'out'))) rmSync(join(dir, 'out', f), { force: true });
    spawnSync('sync');
    writeFileSync(server.sentLog, '');
    const argv = [BIN, url, '-o', out, '-c', String(conns), '--json'];
    const killedAt = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
      let buf = '';
      let at = 0;
      child.stdout.on('data', (d) => {
        buf += d;
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
          const e = JSON.parse(line);
          if (e.type === 'progress' && at === 0 && e.bytes >= size / 2) {
            at = e.bytes;
            child.kill('SIGKILL');
          }
        }
      });
      child.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve(at) : reject(new Error(`not killed: exit ${code}`))));
    });
    // nginx logs a killed request once it sees the connection closed.
    await new Promise((r) => setTimeout(r, 300));
    const sentLog = () =>
      readFileSync(server.sentLog, 'latin1')
        .split('\n')
        .filter(Boolean)
        .reduce((a, l) => a + Number(l), 0);
    const sentFirst = sentLog();
    const t0 = performance.now();
    const second = spawnSync(process.execPath, [BIN, url, '-o', out, '-c', String(conns), '--json'], { encoding: 'utf8', maxBuffer: 64 * MiB });
    const seconds = (performance.now() - t0) / 1000;
    if (second.status !== 0) throw new Error(`the resume exited with ${second.status}: ${second.stderr}`);
    const start = JSON.parse(second.stdout.split('\n')[0]);
    if (spawnSync('cmp', ['-s', file, out]).status !== 0) throw new Error('the resumed file differs from the source');
    // nginx writes its log line when a request ends; the resume is over, the killed requests were logged at the kill.
    const sent = sentLog();
    const refetched = sent - size;
    // Lost at the kill: sent in the first run but not counted as done (chunks in flight, socket buffers).
    const lostAtKill = sentFirst - start.resumedBytes;
    runs.push({ killedAt, resumedBytes: start.resumedBytes, sentFirst, lostAtKill, refetched, refetchedChunks: refetched / C, allowedChunks: conns, seconds });
    log(
      `  killed at ${((killedAt / size) * 100).toFixed(1)}%: resumed ${(start.resumedBytes / MiB).toFixed(0)} MiB, fetched twice ${(refetched / MiB).toFixed(1)} MiB (${(refetched / C).toFixed(2)} chunks of 4 MiB; at most ${conns} allowed), resume took ${seconds.toFixed(1)} s`,
    );
  }
  rmSync(file);
  return runs;
}

const fmt = (/** @type {number[]} */ v, d = 0) => `${median(v).toFixed(d)} (${Math.min(...v).toFixed(d)}-${Math.max(...v).toFixed(d)})`;

const results = [];
/** @type {Awaited<ReturnType<typeof resumeAfterKill>> | null} */
let resumeFigures = null;
const started = new Date().toISOString();
const vmstat0 = pageReporting();
try {
  // The same engine over node:http instead of the raw sockets: what the onread staging path is worth.
  const viaNodeHttp = { ...oursNoSync(8), name: 'ranged-mmap-get -c 8 --no-sync (node:http)', env: { RANGED_MMAP_GET_HTTP: 'node' } };
  const full = available([ours(8), oursWorkers(1), oursWorkers(2), oursWorkers(4), oursNoSync(8), oursNoSync(2), viaNodeHttp, curl, aria, axel, plain]);
  // Only at 1 GiB: variants of ours (4 GiB runs are long). At 4 GiB, 2 workers stay as the worker representative.
  const only1g = new Set([viaNodeHttp.name, oursNoSync(2).name, oursWorkers(1).name, oursWorkers(4).name]);
  for (const [key, size] of /** @type {[string, number][]} */ ([
    ['1g', GiB],
    ['4g', 4 * GiB],
  ])) {
    if (!only.has(key)) continue;
    const file = join(dir, 'src', `${key}.bin`);
    makeFile(file, size);
    spawnSync('sync');
    let url = `${server.base}${key}.bin`;
    let local = null;
    if (server.base === '') {
      local = await nodeServer(file, 0);
      url = local.url;
    }
    const list = key === '1g' ? full : full.filter((c) => !only1g.has(c.name));
    results.push(...(await scenario(`${size / GiB} GiB`, url, file, size, list)));
    local?.stop();
    rmSync(file);
  }
  if (only.has('throttled')) {
    const size = 256 * MiB;
    const file = join(dir, 'src', 'slow.bin');
    makeFile(file, size);
    // Always the Node server here: it limits each connection, across its
    // requests. nginx's limit_rate limits each request and lets it start
    // with a second's worth at once, so a client that asks for one chunk per
    // request is hardly throttled at all (ranged-mmap-get -c 8 reached 261
    // MB/s against nginx's "20 MB/s", above the 160 of 8 x 20).
    const local = await nodeServer(file, RATE);
    const url = local.url;
    const throttled = available([ours(8), oursNoSync(8), oursNoSync(1), curl, aria, axel]);
    results.push(...(await scenario('256 MiB, 20 MB/s per connection', url, file, size, throttled)));
    local.stop();
  }
  if (only.has('resume') && server.countedBase !== '') resumeFigures = await resumeAfterKill();
} finally {
  server.stop();
  rmSync(dir, { recursive: true, force: true });
}

// ---- the table ----
const lines = [
  `Server: ${server.name} (the throttled scenario: Node, src/demo-server.js); loopback; ${reps} timed reps after one untimed round, warm step before each; order seed ${seed}; ${started}.`,
  '',
  '| scenario | contender | MB/s median (min-max) | x curl | CPU s/GiB | peak RssAnon MiB | peak RSS MiB | ok |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const r of results) {
  const c = results.find((x) => x.scenario === r.scenario && x.contender === 'curl');
  const ratio =
    c === undefined ? '' : ((v) => `${median(v).toFixed(2)} (${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)})`)(r.mbps.map((m, i) => m / c.mbps[i]));
  lines.push(
    `| ${r.scenario} | ${r.contender} | ${fmt(r.mbps)} | ${ratio} | ${fmt(r.cpuPerGiB, 2)} | ${Math.max(...r.anonMiB).toFixed(0)} | ${Math.max(...r.rssMiB).toFixed(0)} | ${r.verified ? 'yes' : 'NO'} |`,
  );
}
if (resumeFigures !== null) {
  lines.push(
    '',
    'Resume after kill -9 at ~50% of 4 GiB (ranged-mmap-get -c 8, default options, 4 MiB chunks; bytes counted by nginx):',
    '',
    '| killed at | resumed MiB | sent before the kill, not resumed MiB | fetched twice MiB | in 4 MiB chunks (target: at most 8) | resume s |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const r of resumeFigures) {
    lines.push(
      `| ${((r.killedAt / (4 * GiB)) * 100).toFixed(1)}% | ${(r.resumedBytes / MiB).toFixed(0)} | ${(r.lostAtKill / MiB).toFixed(1)} | ${(r.refetched / MiB).toFixed(1)} | ${r.refetchedChunks.toFixed(2)} | ${r.seconds.toFixed(1)} |`,
    );
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
const saved = join(tmpdir(), `rmget-bench-${Date.now()}.json`);
writeFileSync(
  saved,
  JSON.stringify(
    { started, seed, reps, server: server.name, results, resumeAfterKill: resumeFigures, warmStats, pageReporting: { start: vmstat0, end: pageReporting() } },
    null,
    2,
  ),
);
log(`\nraw results: ${saved}`);
if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
