// What the figures were measured on.
import os from 'node:os';
import { execFileSync } from 'node:child_process';

export function machine(dir) {
  let fs = 'unknown';
  try {
    fs = execFileSync('df', ['-T', dir], { encoding: 'utf8' }).trim().split('\n').pop().split(/\s+/)[1];
  } catch {}
  return {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    fs,
  };
}
