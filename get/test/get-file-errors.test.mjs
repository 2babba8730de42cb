// Local file failures during a download: exit 4 and one line on stderr that
// names the file and what failed, on the main thread and from worker threads.
//
// The fault is made deterministic this way: with --chunk-size 64k every
// piece a connection writes is 64 KiB, below the library's large-write
// threshold (256 KiB), so every write goes through the mapping (never
// pwrite, which would extend the file instead of faulting). The server is
// throttled so the download takes several seconds; once the progress on
// stdout (--json) shows bytes received, the test truncates <output>.part to
// 0. Every page of the mapping is then past the end of the file: the next
// write through it faults (SIGBUS), the library catches the fault and
// throws ERR_MMAP_FAULT, and the command must map that to its file error.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BIN, MiB, THREADS, jsonLines, randomFile, runCli, sha256File, tempDir } from './helpers.mjs';
import { startServer } from './server.mjs';

const T = { timeout: 120_000 };
const t = tempDir();
const SIZE = 16 * MiB;
/** Per response; with 2 connections the whole file would take about 8 s. */
const RATE = MiB;
const srcPath = join(t.dir, 'src.bin');
let sha = '';
/** While true, every response is throttled to RATE. */
let throttle = true;
/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
let url = '';

before(async () => {
  sha = randomFile(srcPath, SIZE);
  server = await startServer({
    routes: {
      '/src.bin': { file: srcPath, fault: () => (throttle ? { rate: RATE } : undefined) },
      '/chunked.bin': { file: srcPath, length: false, ranges: false },
    },
  });
  url = `${server.base}/src.bin`;
});

after(async () => {
  await server.close();
  t.cleanup();
});

/**
 * Runs the command with --json and truncates `partPath` to 0 once a progress
 * report shows bytes received. Resolves with the exit, the output and
 * whether the truncation happened. The child is killed after `deadlineMs`.
 * @param {string[]} args
 * @param {string} cwd
 * @param {string} partPath
 * @param {number} deadlineMs
 */
function runAndTruncate(args, cwd, partPath, deadlineMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, '--json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let truncatedAt = 0;
    let timedOut = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (truncatedAt !== 0) return;
      for (const line of stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        let e;
        try {
          e = JSON.parse(line);
        } catch {
          continue; // a line still arriving
        }
        if (e.type === 'progress' && e.bytes >= 128 * 1024 && e.bytes < SIZE / 2 && existsSync(partPath)) {
          truncateSync(partPath, 0);
          truncatedAt = performance.now();
          break;
        }
      }
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const hard = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.on('close', (code, signal) => {
      clearTimeout(hard);
      resolve({ code, signal, stdout, stderr, timedOut, truncated: truncatedAt !== 0, afterTruncateMs: performance.now() - truncatedAt });
    });
  });
}

/**
 * Downloads into a new directory of its own and truncates `which` (the
 * .part or its state) once bytes have arrived; checks the command then
 * ended as a local file error should: no hang, no signal, exit 4 within a
 * bound (no retries with backoff), one line on stderr with no stack, the
 * last --json event ERR_GET_FILE, nothing renamed into place. Returns that
 * line, and what the follow-up runs need.
 * @param {string} dirName
 * @param {number} workers
 * @param {'.part' | '.part.state'} which
 */
async function truncatedMidDownload(dirName, workers, which) {
  const cwd = join(t.dir, dirName);
  mkdirSync(cwd);
  const output = join(cwd, 'out.bin');
  throttle = true;
  const args = [url, '-o', output, '-c', '2', '--chunk-size', '64k', '--workers', String(workers)];
  const r = await runAndTruncate(args, cwd, `${output}${which}`, 60_000);
  assert.equal(r.timedOut, false, `the command hung after the fault: ${r.stderr}`);
  assert.equal(r.truncated, true, `no progress report came before the end: ${r.stdout}`);
  assert.equal(r.signal, null, `the command died of a signal: ${r.stderr}`);
  assert.equal(r.code, 4, r.stderr);
  // Within a bound: the fault is not retried with backoff (8 retries would
  // wait well over 10 s).
  assert.ok(r.afterTruncateMs < 10_000, `${r.afterTruncateMs} ms from the truncation to the exit`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected:\n${r.stderr}`);
  const line = lines[0];
  assert.match(line, /cut to 0 bytes by another program/);
  assert.match(line, /run again with --no-resume$/);
  assert.doesNotMatch(line, /\bat .+:\d+:\d+|unexpected|internal/);
  const last = jsonLines(r.stdout).at(-1);
  assert.deepEqual({ type: last.type, code: last.code, exitCode: last.exitCode }, { type: 'error', code: 'ERR_GET_FILE', exitCode: 4 });
  assert.equal(existsSync(output), false, 'nothing may be renamed into place');
  throttle = false;
  return { line, args, cwd, output };
}

for (const { name, workers } of THREADS) {
  test(`<output>.part truncated mid-download: exit 4, one line naming the .part, no stack, no retry${name}`, T, async () => {
    const { line, args, cwd, output } = await truncatedMidDownload(`trunc-${workers}`, workers, '.part');
    assert.ok(line.startsWith(`ranged-mmap-get: cannot write ${output}.part: `), line);
    // The advice works: the same command with --no-resume fetches it anew.
    const again = await runCli([...args, '--no-resume', '-q'], { cwd });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await sha256File(output), sha);
  });
}

test('a resume state that cannot be removed (a directory in its place): exit 4, one line naming it, for known and unknown lengths', T, async () => {
  throttle = false;
  for (const [route, args] of [
    ['/src.bin', ['--no-resume']],
    ['/chunked.bin', []],
  ]) {
    const cwd = join(t.dir, `state-dir${route.replace('/', '-')}`);
    const output = join(cwd, 'out.bin');
    const statePath = `${output}.part.state`;
    mkdirSync(statePath, { recursive: true });
    writeFileSync(join(statePath, 'keep'), 'x');
    const r = await runCli([`${server.base}${route}`, '-o', output, '-q', ...args], { cwd });
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.code, 4, `${route}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `one line expected:\n${r.stderr}`);
    assert.ok(lines[0].startsWith(`ranged-mmap-get: cannot remove the old resume state ${statePath}: `), lines[0]);
    assert.equal(existsSync(join(statePath, 'keep')), true, 'the directory is left alone');
    assert.equal(existsSync(output), false);
  }
});

for (const { name, workers } of THREADS) {
  test(`<output>.part.state truncated mid-download: exit 4, one line naming the state, no stack${name}`, T, async () => {
    // The state's bitmaps are set through its mapping (AtomicU32 views on
    // the mapped file): once the file is cut to 0, the next chunk's bit (or
    // the next look at the bitmap, for a connection taking its next chunk)
    // faults.
    const { line, args, cwd, output } = await truncatedMidDownload(`trunc-state-${workers}`, workers, '.part.state');
    assert.ok(
      line.startsWith(`ranged-mmap-get: cannot update the resume state ${output}.part.state: `) ||
        line.startsWith(`ranged-mmap-get: cannot read the resume state ${output}.part.state: `),
      line,
    );
    // A state cut to 0 is refused on the next run; --no-resume starts over.
    const refused = await runCli([...args, '-q'], { cwd });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /--no-resume/);
    const again = await runCli([...args, '--no-resume', '-q'], { cwd });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await sha256File(output), sha);
  });
}
