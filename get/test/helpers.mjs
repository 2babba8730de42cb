// Shared pieces of the ranged-mmap-get tests: temporary directories, files
// with known content, hashing, and running the command as a child process.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashFile } from '../src/finish.js';

/**
 * The thread modes the engine's tests of faults, stragglers, abort and
 * resume run in: every connection on the main thread (the default), and the
 * connections spread over 2 worker threads.
 */
export const THREADS = [
  { name: '', workers: 0 },
  { name: ' [2 worker threads]', workers: 2 },
];

export const BIN = new URL('../bin/ranged-mmap-get.js', import.meta.url).pathname;

/**
 * The events of a `--json` run: one JSON object per line of its stdout.
 * @param {string} stdout
 * @returns {any[]}
 */
export function jsonLines(stdout) {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}
export const MiB = 1024 * 1024;

/** A fresh directory, removed by `cleanup()`. */
export function tempDir(prefix = 'rmget-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Writes `size` random bytes to `path` and returns their sha256.
 * @param {string} path
 * @param {number} size
 */
export function randomFile(path, size) {
  const data = randomBytes(size);
  writeFileSync(path, data);
  return createHash('sha256').update(data).digest('hex');
}

/**
 * sha256 of a file, streamed.
 * @param {string} path
 * @returns {Promise<string>}
 */
export const sha256File = (path) => hashFile(path, 'sha256');

/** Names in a directory, sorted. @param {string} dir */
export function listing(dir) {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/**
 * Runs the command; resolves with its exit code (or signal), stdout and
 * stderr. The child is killed with SIGKILL after `timeoutMs`: a hang fails
 * the test instead of hanging it.
 * @param {string[]} args
 * @param {{ cwd?: string, timeoutMs?: number, killAfterMs?: number, env?: Record<string, string>, command?: string[] }} [o]
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, timedOut: boolean }>}
 */
export function runCli(args, o = {}) {
  return new Promise((resolve) => {
    const [cmd, ...pre] = o.command ?? [process.execPath, BIN];
    const child = spawn(cmd, [...pre, ...args], { cwd: o.cwd, env: { ...process.env, ...(o.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const hard = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 60_000);
    const kill = o.killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), o.killAfterMs);
    child.on('close', (code, signal) => {
      clearTimeout(hard);
      if (kill !== null) clearTimeout(kill);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
