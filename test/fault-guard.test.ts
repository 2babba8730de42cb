// Faults, each in a child process so that a failure cannot take the test
// runner down: another process truncates the mapped file, a small tmpfs
// fills up under a sparse file or at create, and a SIGBUS that is not ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { readFileSync, truncateSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';

const child = fileURLToPath(new URL('./fixtures/guard-child.js', import.meta.url));
const MiB = 1024 * 1024;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  report: Record<string, unknown> | undefined;
  stderr: string;
}

/** Runs a fault child; `onReady` runs when it prints "ready" and its return is sent back as a line. */
async function runChild(args: string[], onReady?: () => void, command = process.execPath): Promise<Outcome> {
  const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  let report: Record<string, unknown> | undefined;
  const lines = createInterface({ input: proc.stdout });
  lines.on('line', (line) => {
    if (line === 'ready' && onReady) {
      onReady();
      proc.stdin.write('go\n');
    } else if (line.startsWith('{')) {
      report = JSON.parse(line);
    }
  });
  const [code, signal] = (await once(proc, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal, report, stderr };
}

function assertAcknowledgedDataIntact(path: string): void {
  const disk = readFileSync(path);
  assert.equal(disk.length, 2 * MiB);
  for (let i = 0; i < 16; i++) {
    const chunk = disk.subarray(i * 64 * 1024, (i + 1) * 64 * 1024);
    assert.ok(chunk.every((b) => b === i + 1), `acknowledged chunk ${i} damaged`);
  }
}

for (const mode of ['truncate', 'truncate-in-worker']) {
  test(`another process truncates the mapped file (${mode}): the process lives, the write and the next calls report ERR_MMAP_FAULT`, async () => {
    const t = tempDir();
    try {
      const path = t.path('f.bin');
      const out = await runChild([child, mode, path], () => truncateSync(path, 2 * MiB));
      assert.equal(out.signal, null, `child killed by ${out.signal}: ${out.stderr}`);
      assert.equal(out.code, 0, out.stderr);
      const r = out.report!;
      assert.equal(r.alive, true);
      assert.equal(r.writeCode, 'ERR_MMAP_FAULT');
      assert.equal(r.nextCallCode, 'ERR_MMAP_FAULT');
      assert.equal(r.syncCode, 'ERR_MMAP_FAULT');
      assert.equal(r.mainSync, 'ERR_MMAP_FAULT', 'syncAll on every handle of the file reports the fault');
      assert.match(String(r.syncMessage), /truncated by another process/);
      if (mode === 'truncate-in-worker') assert.equal(r.workerExit, 0);
      assertAcknowledgedDataIntact(path);
    } finally {
      t.cleanup();
    }
  });
}

/**
 * Runs the child inside a private mount namespace with a 2 MiB tmpfs at
 * `dir`. Needs root (CI runs as root); without it the mount fails and so
 * does the test, on purpose.
 */
function inSmallTmpfs(dir: string, mode: string): Promise<Outcome> {
  const script = `mount -t tmpfs -o size=2m tmpfs "$1" && exec "$2" "$3" "$4" "$1/f.bin"`;
  return runChild(['-rm', 'sh', '-c', script, 'sh', dir, process.execPath, child, mode], undefined, 'unshare');
}

test('a full tmpfs under a sparse file: small writes fault, the process lives, the error is reported', async () => {
  const t = tempDir();
  try {
    const out = await inSmallTmpfs(t.dir, 'tmpfs-sparse');
    assert.equal(out.signal, null, out.stderr);
    assert.equal(out.code, 0, out.stderr);
    const r = out.report!;
    assert.equal(r.firstError, 'ERR_MMAP_FAULT', String(r.firstMessage));
    assert.ok(Number(r.failedAt) >= 1 * MiB && Number(r.failedAt) <= 2 * MiB, `failed at ${r.failedAt}`);
    assert.equal(r.syncCode, 'ERR_MMAP_FAULT');
  } finally {
    t.cleanup();
  }
});

test('a full tmpfs under a sparse file: a big write gets ENOSPC (or a fault), never silent success', async () => {
  const t = tempDir();
  try {
    const out = await inSmallTmpfs(t.dir, 'tmpfs-sparse-big');
    assert.equal(out.signal, null, out.stderr);
    assert.equal(out.code, 0, out.stderr);
    assert.ok(['ENOSPC', 'ERR_MMAP_FAULT'].includes(String(out.report!.bigWrite)), JSON.stringify(out.report));
  } finally {
    t.cleanup();
  }
});

test('a full tmpfs with the default preallocation: ENOSPC at create from fallocate, and no file left', async () => {
  const t = tempDir();
  try {
    const out = await inSmallTmpfs(t.dir, 'tmpfs-prealloc');
    assert.equal(out.code, 0, out.stderr);
    const r = out.report!;
    assert.equal(r.code, 'ENOSPC');
    assert.equal(r.syscall, 'fallocate');
    assert.equal(r.errno, -28);
    assert.match(String(r.path), /f\.bin$/);
    assert.equal(r.exists, false);
  } finally {
    t.cleanup();
  }
});

test('a SIGBUS that is not a fault in our mappings still kills the process', async () => {
  const t = tempDir();
  try {
    const out = await runChild([child, 'foreign-sigbus', t.path('g.bin')]);
    assert.equal(out.signal, 'SIGBUS');
    assert.equal(out.report, undefined);
  } finally {
    t.cleanup();
  }
});
