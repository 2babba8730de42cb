// The measuring loop of BENCH.md: one untimed warm-up repetition of every
// contender, then A B A B ... for `reps` rounds. Each contender is
//   { name, run(rep) -> number, verify?(rep), cleanup?() }
// `run` does its own timing (so set-up such as starting workers stays out)
// and returns milliseconds, or a rate when the scenario compares rates.
// `verify` runs outside the timing after every repetition (the warm-up
// included) and throws on wrong contents; `cleanup` removes files and syncs.
//
// Verification is kept per contender, so an entry is marked unverified only
// when one of its own two sides produced wrong bytes. A failure is always
// printed: a fast wrong answer must not pass unnoticed in a quiet run.

export async function alternate(contenders, reps, log = () => {}) {
  const times = Object.fromEntries(contenders.map((c) => [c.name, []]));
  const verified = Object.fromEntries(contenders.map((c) => [c.name, true]));
  for (let rep = -1; rep < reps; rep++) {
    for (const c of contenders) {
      const value = await c.run(rep);
      try {
        if (c.verify) await c.verify(rep);
      } catch (error) {
        verified[c.name] = false;
        console.error(`  ${c.name}: verification failed after ${rep < 0 ? 'warm-up' : `repetition ${rep + 1}`}: ${error.message}`);
      }
      if (c.cleanup) await c.cleanup();
      if (rep >= 0) times[c.name].push(value);
    }
    if (rep >= 0) log(`  rep ${rep + 1}/${reps}: ` + contenders.map((c) => `${c.name} ${times[c.name][rep].toFixed(1)}`).join(', '));
  }
  return { times, verified };
}
