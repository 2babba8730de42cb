// The measuring loop of BENCH.md: one untimed warm-up repetition of every
// contender, then A B A B ... for `reps` rounds. Each contender is
//   { name, run(rep) -> ms, verify?(rep), cleanup?() }
// `run` does its own timing (so set-up such as starting workers stays out)
// and returns milliseconds, or an object { ms, value } for rates.
// `verify` runs outside the timing after every repetition and throws on
// wrong contents; `cleanup` removes files and syncs.

export async function alternate(contenders, reps, log = () => {}) {
  const times = Object.fromEntries(contenders.map((c) => [c.name, []]));
  let verified = true;
  for (let rep = -1; rep < reps; rep++) {
    for (const c of contenders) {
      const ms = await c.run(rep);
      try {
        if (c.verify) await c.verify(rep);
      } catch (error) {
        verified = false;
        log(`  ${c.name}: verification failed: ${error.message}`);
      }
      if (c.cleanup) await c.cleanup();
      if (rep >= 0) times[c.name].push(ms);
    }
    if (rep >= 0) log(`  rep ${rep + 1}/${reps}: ` + contenders.map((c) => `${c.name} ${times[c.name][rep].toFixed(1)}`).join(', '));
  }
  return { times, verified };
}
