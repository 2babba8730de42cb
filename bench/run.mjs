// npm run bench [-- --quick] [--only=headline,read] [--reps=N] [--dir=DIR] [--out=FILE] [--verbose]
// Runs the scenarios of ../shared/BENCH.md against node:fs peers in the
// same process run, prints a table, and writes bench/results/latest.json:
//   { command, quick, reps, date, seconds, scenarioSeconds, machine,
//     results: [ { scenario, variant, workers, peer, speedup: {median,min,max},
//                  subject, peerValue, verified }, ... ] }
// speedup > 1 always means ranged-mmap was faster.
import { writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchDir } from './lib/files.mjs';
import { machine } from './lib/machine.mjs';
import { printTable } from './lib/table.mjs';
import { headline } from './scenarios/headline.mjs';
import { random4k } from './scenarios/random-4k.mjs';
import { read } from './scenarios/read.mjs';
import { safety } from './scenarios/safety.mjs';
import { limit } from './scenarios/limit.mjs';
import { alloc } from './scenarios/alloc.mjs';
import { atomic } from './scenarios/atomic.mjs';
import { scan } from './scenarios/scan.mjs';
import { pingpong } from './scenarios/pingpong.mjs';

const scenarios = { headline, 'random-4k': random4k, read, safety, limit, alloc, atomic, scan, pingpong };

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    dir: { type: 'string' },
    out: { type: 'string' },
    reps: { type: 'string', default: '5' },
    verbose: { type: 'boolean', default: false },
  },
});
// BENCH.md asks for at least 5 repetitions; more is allowed for a quiet reference run.
const reps = Number(values.reps);
if (!Number.isInteger(reps) || reps < 5) throw new Error(`--reps must be an integer >= 5; got '${values.reps}'`);
const only = values.only ? values.only.split(',') : Object.keys(scenarios);
for (const name of only) if (!(name in scenarios)) throw new Error(`unknown scenario '${name}'; known: ${Object.keys(scenarios).join(', ')}`);

const here = dirname(fileURLToPath(import.meta.url));
const out = values.out ?? join(here, 'results', 'latest.json');
const dir = benchDir(values.dir);
const log = values.verbose ? (line) => console.error(line) : () => {};
const started = performance.now();
const results = [];
const scenarioSeconds = {}; // kept in the report: the basis for estimating a full run from a quick one
try {
  for (const name of only) {
    const t0 = performance.now();
    console.error(`running ${name}${values.quick ? ' (quick)' : ''} ...`);
    results.push(...(await scenarios[name]({ dir, quick: values.quick, reps, log })));
    scenarioSeconds[name] = Math.round((performance.now() - t0) / 100) / 10;
    console.error(`  ${name} took ${scenarioSeconds[name]} s`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const report = {
  command: `npm run bench --${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`,
  quick: values.quick,
  reps,
  date: new Date().toISOString(),
  seconds: Math.round((performance.now() - started) / 1000),
  scenarioSeconds,
  machine: machine(dir.replace(/[^/]+$/, '')),
  results,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
printTable(results);
console.log(`\n${results.length} comparisons in ${report.seconds} s; written to ${out}`);
if (results.some((r) => r.verified === false)) {
  console.error('some results failed verification');
  process.exitCode = 1;
}
