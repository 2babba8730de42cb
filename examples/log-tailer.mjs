// A log tailer: a child process appends lines to a log file while this
// process follows the file with a BufReader ({ follow: true }), printing
// each line as it arrives; it stops at the line "done" and checks that
// every line came, in order.
//   node examples/log-tailer.mjs [--lines N]
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufReader } from 'ranged-mmap';

const at = process.argv.indexOf('--lines');
const lines = at > 0 ? Number(process.argv[at + 1]) : 20;
const dir = mkdtempSync(join(tmpdir(), 'log-tailer-'));
const log = join(dir, 'app.log');
writeFileSync(log, '');

// The writer: another process, appending one line every 2 ms, then "done".
const writer = spawn(
  process.execPath,
  [
    '-e',
    `const fs = require('node:fs');
     let i = 0;
     const timer = setInterval(() => {
       fs.appendFileSync(process.argv[1], (i < ${lines} ? 'request ' + i + ' served' : 'done') + '\\n');
       if (++i > ${lines}) clearInterval(timer);
     }, 2);`,
    log,
  ],
  { stdio: 'inherit' },
);

// Stop anyway after 30 s: follow waits forever otherwise.
const signal = AbortSignal.timeout(30_000);
const fd = openSync(log, 'r');
const reader = new BufReader(fd, { follow: true, pollMs: 10, signal });
const seen = [];
try {
  for await (const line of reader) {
    if (line === 'done') break;
    console.log(`tail: ${line}`);
    seen.push(line);
  }
} finally {
  reader.close();
  closeSync(fd);
  writer.kill();
  rmSync(dir, { recursive: true, force: true });
}
assert.deepEqual(
  seen,
  Array.from({ length: lines }, (_, i) => `request ${i} served`),
);
console.log(`followed ${seen.length} lines appended by another process, in order`);
