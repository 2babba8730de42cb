// npm run bench [-- --quick] [--only=headline,read] [--reps=N] [--seed=N] [--warm-factor=X] [--dir=DIR] [--out=FILE] [--verbose]
// Runs the scenarios of ../shared/BENCH.md against node:fs and bare-mapping
// peers in the same process run, prints a table, and writes
// bench/results/latest.json:
//   { command, quick, reps, orderSeed, date, seconds, scenarioSeconds,
//     warmSteps, pageReportingByScenario, machine: { ..., pageReporting },
//     results: [ { scenario, variant, workers, peer, speedup: {median,min,max},
//                  subject, peerValue, verified, order }, ... ] }
// speedup > 1 always means ranged-mmap was faster.
import { writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchDir } from './lib/files.mjs';
import { machine } from './lib/machine.mjs';
import { setOrderSeed, phaseSeconds } from './lib/alternate.mjs';
import { pageReporting, counterDelta } from './lib/page-reporting.mjs';
import { warmStats, setWarmFactor } from './lib/warm.mjs';
import { printTable } from './lib/table.mjs';
import { headline } from './scenarios/headline.mjs';
import { random4k } from './scenarios/random-4k.mjs';
import { read } from './scenarios/read.mjs';
import { safety } from './scenarios/safety.mjs';
import { limit } from './scenarios/limit.mjs';
import { alloc } from './scenarios/alloc.mjs';
import { ring } from './scenarios/ring.mjs';
import { atomic } from './scenarios/atomic.mjs';
import { scan } from './scenarios/scan.mjs';
import { pingpong } from './scenarios/pingpong.mjs';

const scenarios = { headline, 'random-4k': random4k, read, safety, limit, alloc, ring, atomic, scan, pingpong };

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    dir: { type: 'string' },
    out: { type: 'string' },
    reps: { type: 'string', default: '5' },
    seed: { type: 'string' },
    'warm-factor': { type: 'string', default: '1' },
    verbose: { type: 'boolean', default: false },
  },
});
// BENCH.md asks for at least 5 repetitions; more is allowed for a quiet reference run.
const reps = Number(values.reps);
if (!Number.isInteger(reps) || reps < 5) throw new Error(`--reps must be an integer >= 5; got '${values.reps}'`);
// The alternation order is a seeded shuffle per round (lib/alternate.mjs);
// a run picks its seed at random unless told, and records it.
const orderSeed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isInteger(orderSeed) || orderSeed < 0) throw new Error(`--seed must be a non-negative integer; got '${values.seed}'`);
setOrderSeed(orderSeed);
// The memory warm step touches and frees warm-factor x the scenario's size (at least 1).
const warmFactor = Number(values['warm-factor']);
if (!(warmFactor >= 1)) throw new Error(`--warm-factor must be a number >= 1; got '${values['warm-factor']}'`);
setWarmFactor(warmFactor);
const only = values.only ? values.only.split(',') : Object.keys(scenarios);
for (const name of only) if (!(name in scenarios)) throw new Error(`unknown scenario '${name}'; known: ${Object.keys(scenarios).join(', ')}`);

const here = dirname(fileURLToPath(import.meta.url));
const out = values.out ?? join(here, 'results', 'latest.json');
const dir = benchDir(values.dir);
const log = values.verbose ? (line) => console.error(line) : () => {};
const started = performance.now();
const results = [];
const scenarioSeconds = {}; // kept in the report: the basis for estimating a full run from a quick one
const pageReportingStart = pageReporting();
const pageReportingByScenario = {}; // how much the host page reporting did during each scenario
const phases = {}; // per scenario: seconds in warm steps, runs, verification, cleanup (alternate() only)
const phaseTotals = {};
try {
  for (const name of only) {
    const t0 = performance.now();
    const before = pageReporting();
    console.error(`running ${name}${values.quick ? ' (quick)' : ''} ...`);
    results.push(...(await scenarios[name]({ dir, quick: values.quick, reps, log })));
    scenarioSeconds[name] = Math.round((performance.now() - t0) / 100) / 10;
    pageReportingByScenario[name] = counterDelta(before, pageReporting());
    phases[name] = Object.fromEntries(Object.entries(phaseSeconds).map(([k, v]) => [k, Math.round((v - (phaseTotals[k] ?? 0)) * 10) / 10]));
    Object.assign(phaseTotals, phaseSeconds);
    log(`  ${name} phases (s): ${JSON.stringify(phases[name])}`);
    console.error(`  ${name} took ${scenarioSeconds[name]} s`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const report = {
  command: `npm run bench --${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`,
  quick: values.quick,
  reps,
  orderSeed,
  warmFactor,
  date: new Date().toISOString(),
  seconds: Math.round((performance.now() - started) / 1000),
  scenarioSeconds,
  phaseSeconds: phases,
  warmSteps: { ...warmStats, totalMiB: Math.round(warmStats.totalMiB), totalMs: Math.round(warmStats.totalMs), maxMs: Math.round(warmStats.maxMs) },
  pageReportingByScenario,
  machine: {
    ...machine(dir.replace(/[^/]+$/, '')),
    pageReporting: {
      sources: pageReportingStart.sources,
      missing: pageReportingStart.missing,
      start: pageReportingStart.counters,
      end: pageReporting().counters,
    },
  },
  results,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
printTable(results);
console.log(`\n${results.length} comparisons in ${report.seconds} s (order seed ${orderSeed}); written to ${out}`);
console.log(
  `warm steps: ${warmStats.steps}, ${Math.round(warmStats.totalMiB)} MiB touched and freed in ${Math.round(warmStats.totalMs)} ms (short touch ${warmStats.shortTouch}, short release ${warmStats.shortRelease})`,
);
{
  // Slow repetitions (> 1.5x the side's fastest) and how many of them had a
  // host page report inside them; each side counted once (the subject of
  // headline or read appears in two entries).
  const seen = new Set();
  let slow = 0;
  let slowReported = 0;
  let reportedReps = 0;
  let allReps = 0;
  for (const r of results) {
    for (const v of [r.subject, r.peerValue]) {
      if (!v?.reportedKiB) continue;
      const key = `${r.scenario} ${r.variant} ${r.workers} ${v.values.join(',')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const best = v.unit === 'ms' ? Math.min(...v.values) : Math.max(...v.values);
      v.values.forEach((x, i) => {
        const isSlow = v.unit === 'ms' ? x > 1.5 * best : x * 1.5 < best;
        allReps++;
        if (v.reportedKiB[i] > 0) reportedReps++;
        if (isSlow) {
          slow++;
          if (v.reportedKiB[i] > 0) slowReported++;
        }
      });
    }
  }
  console.log(
    `slow repetitions (> 1.5x the side's fastest): ${slow} of ${allReps}, ${slowReported} of them with a host page report inside; repetitions with a report inside: ${reportedReps} of ${allReps}`,
  );
}
if (results.some((r) => r.verified === false)) {
  console.error('some results failed verification');
  process.exitCode = 1;
}
