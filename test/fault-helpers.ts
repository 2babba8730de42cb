// Parent side of the child-process protocol used by faults.test.ts (see
// fixtures/fault-protocol.ts): start a child, react to its JSON event lines,
// and collect how it ended.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { pattern } from './helpers.js';
import type { AckedWrite } from './fixtures/fault-layout.js';

/** Absolute path of a compiled fixture script. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

export interface ChildEvent {
  event: string;
  [key: string]: unknown;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: ChildEvent[];
  stderr: string;
}

/** Children started by runChild that have not exited yet. */
const running = new Set<ChildProcessWithoutNullStreams>();

/**
 * Kills (SIGKILL) every child runChild started that is still running: call
 * it from `afterEach`, so a test that timed out leaves nothing behind.
 */
export function killChildren(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * Runs `command args`, calls `onEvent` for every JSON line the child prints
 * (the handler may answer on `child.stdin`), and resolves once the child has
 * exited and its output is drained. Lines that are not JSON count as events
 * named 'text', so nothing the child says is lost.
 */
export function runChild(
  command: string,
  args: string[],
  onEvent: (event: ChildEvent, child: ChildProcessWithoutNullStreams) => void = () => {},
): Promise<ChildResult> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  const events: ChildEvent[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  // The child may exit (or be killed) before it reads what we write.
  child.stdin.on('error', () => {});
  createInterface({ input: child.stdout }).on('line', (line) => {
    let event: ChildEvent;
    try {
      event = JSON.parse(line) as ChildEvent;
    } catch {
      event = { event: 'text', text: line };
    }
    events.push(event);
    onEvent(event, child);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    // 'close' comes after 'exit' and after stdout/stderr have ended.
    child.on('close', (code, signal) => resolve({ code, signal, events, stderr }));
  });
}

/** The one event of a kind the child sent; fails with the child's whole story otherwise. */
export function only(result: ChildResult, kind: string): ChildEvent {
  const found = result.events.filter((e) => e.event === kind);
  if (found.length !== 1) {
    throw new Error(
      `expected one '${kind}' event, got ${found.length}; exit code ${result.code}, signal ${result.signal}\n` +
        `events: ${JSON.stringify(result.events)}\nstderr: ${result.stderr}`,
    );
  }
  return found[0]!;
}

/**
 * What a file of `size` bytes must hold: zeros, overwritten in order by
 * every write (each `pattern(length, seed)` at `start`), cut at `size`.
 */
export function expectedContent(size: number, writes: AckedWrite[]): Uint8Array {
  const out = new Uint8Array(size);
  for (const w of writes) {
    if (w.start >= size) continue;
    const bytes = pattern(w.length, w.seed);
    out.set(bytes.subarray(0, Math.min(w.length, size - w.start)), w.start);
  }
  return out;
}

/** First index where two byte arrays differ, or -1 (assert.deepEqual on megabytes prints too much). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
