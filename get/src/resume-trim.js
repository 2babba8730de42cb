// Resume: what the resume state says is done is not fetched again. A range
// handed out by the allocator is cut at chunk boundaries around the chunks
// already done.

/**
 * Bytes of the chunks already done.
 * @param {import('./state.js').ResumeState} state
 * @param {number} C  chunk size
 * @param {number} total  file length
 */
export function doneBytes(state, C, total) {
  let n = 0;
  for (let c = 0; c < state.chunks; c++) if (state.isDone(c)) n += Math.min(C, total - c * C);
  return n;
}

/**
 * Cuts the chunks already done off a range: returns the first run of chunks
 * still to do (null when every chunk of it is done) and pushes what follows
 * that run onto `pending`.
 * @param {import('ranged-mmap').AllocatedRange} r
 * @param {import('./state.js').ResumeState | null} state
 * @param {number} C  chunk size
 * @param {import('ranged-mmap').AllocatedRange[]} pending
 * @returns {import('ranged-mmap').AllocatedRange | null}
 */
export function trimDone(r, state, C, pending) {
  if (state === null) return r;
  let range = r;
  let first = Math.floor(range.start / C);
  while (first * C < range.end && state.isDone(first)) first++;
  if (first * C >= range.end) return null;
  if (first * C > range.start) {
    const s = range.splitAtAlignDown(first * C);
    if (s.kind !== 'split') throw new Error('internal: resume split');
    range = s.high;
  }
  let stop = first;
  while (stop * C < range.end && !state.isDone(stop)) stop++;
  if (stop * C < range.end) {
    const s = range.splitAtAlignDown(stop * C);
    if (s.kind !== 'split') throw new Error('internal: resume split');
    pending.push(s.high);
    range = s.low;
  }
  return range;
}
