// The measuring loop of BENCH.md: one untimed warm-up round in which every
// contender runs once, then `reps` timed rounds. Each contender is
//   { name, run(rep) -> number, verify?(rep), cleanup?() }
// `run` does its own timing (so set-up such as starting workers stays out)
// and returns milliseconds, or a rate when the scenario compares rates.
// `verify` runs outside the timing after every repetition (the warm-up
// included) and throws on wrong contents; `cleanup` removes files and syncs.
//
// Hygiene (BENCH.md "Warm the machine" and "Like for like"):
//  - before every timed run of every contender, an untimed memory warm
//    step touches and frees `warmBytes` of anonymous memory
//    (lib/warm.mjs); the untimed warm-up round goes without;
//  - the order of the contenders inside each round is a seeded shuffle.
//    The seed is the run's order seed (--seed, recorded in the results)
//    mixed with `label`, so a scenario run alone with --only sees the same
//    orders as in a whole run. Each round's order is returned (and kept in
//    the result entries) so a position effect can be looked for;
//  - for every repetition, the KiB the kernel reported to the host between
//    the end of the warm step and the end of the run (`reported`): a slow
//    repetition with reporting inside it is the host, not the code.
//
// Verification is kept per contender, so an entry is marked unverified only
// when one of its own two sides produced wrong bytes. A failure is always
// printed: a fast wrong answer must not pass unnoticed in a quiet run.
import { prng } from './random.mjs';
import { warmMemory } from './warm.mjs';
import { reportedKiB } from './page-reporting.mjs';

let orderSeed = 1;

/** Where a run's time went (seconds, all alternations): kept in the results for the time budget. */
export const phaseSeconds = { warm: 0, run: 0, verify: 0, cleanup: 0 };

/** Sets the run's order seed (run.mjs does, from --seed or at random). */
export function setOrderSeed(seed) {
  orderSeed = seed >>> 0;
}

/** The seed of one alternation: the run's seed mixed with its label (FNV-1a). */
export function seedFor(label) {
  let h = 0x811c9dc5 ^ orderSeed;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function shuffled(items, next) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export async function alternate(contenders, reps, log, { warmBytes, label }) {
  if (!(warmBytes > 0) || typeof label !== 'string') throw new Error('alternate() needs warmBytes and a label');
  const next = prng(seedFor(label));
  const times = Object.fromEntries(contenders.map((c) => [c.name, []]));
  const verified = Object.fromEntries(contenders.map((c) => [c.name, true]));
  const reported = Object.fromEntries(contenders.map((c) => [c.name, []]));
  const order = [];
  for (let rep = -1; rep < reps; rep++) {
    const round = shuffled(contenders, next);
    if (rep >= 0) order.push(round.map((c) => c.name));
    for (const c of round) {
      const t0 = performance.now();
      if (rep >= 0) warmMemory(warmBytes);
      const t1 = performance.now();
      const kib = reportedKiB();
      const value = await c.run(rep);
      if (rep >= 0) reported[c.name].push(reportedKiB() - kib);
      const t2 = performance.now();
      try {
        if (c.verify) await c.verify(rep);
      } catch (error) {
        verified[c.name] = false;
        console.error(`  ${c.name}: verification failed after ${rep < 0 ? 'warm-up' : `repetition ${rep + 1}`}: ${error.message}`);
      }
      const t3 = performance.now();
      if (c.cleanup) await c.cleanup();
      const t4 = performance.now();
      phaseSeconds.warm += (t1 - t0) / 1000;
      phaseSeconds.run += (t2 - t1) / 1000;
      phaseSeconds.verify += (t3 - t2) / 1000;
      phaseSeconds.cleanup += (t4 - t3) / 1000;
      if (rep >= 0) times[c.name].push(value);
    }
    if (rep >= 0) log(`  rep ${rep + 1}/${reps}: ` + round.map((c) => `${c.name} ${times[c.name][rep].toFixed(1)}`).join(', '));
  }
  return { times, verified, order, reported };
}
