// Marking chunks finished in the resume state. By default a chunk's bit is
// set once every piece of it is written and the write-back of the whole
// chunk was requested (one flushRangeAsync of the pieces' joined receipts);
// with --no-sync at once, with no write-back.
//
// The bit is set when the write-back is requested, not when the thread pool
// reports it started: a kill loses nothing of the page cache, so the data
// behind a set bit survives it either way, and a power cut is covered by
// the durable bitmap (state.js), which only takes bits whose data a full
// sync has since put on disk. Waiting for the pool instead left finished
// chunks unmarked for as long as the disk was behind, and a kill then
// re-fetched them. A write-back that fails clears the chunk's bit again.

/** The write-back of the chunks written, and the chunk bits it leads to. */
export class WriteBack {
  /**
   * @param {import('ranged-mmap').MmapFile} file
   * @param {import('./state.js').ResumeState | null} state
   * @param {number} chunkSize
   * @param {number} total  file length
   * @param {boolean} sync  false for --no-sync
   */
  constructor(file, state, chunkSize, total, sync) {
    this.file = file;
    this.state = state;
    this.C = chunkSize;
    this.total = total;
    this.sync = sync;
    /**
     * The receipt of what is written of each chunk under way (a job writes a
     * chunk's pieces in order, and one chunk belongs to one job at a time).
     * @type {Map<number, import('ranged-mmap').WriteReceipt>}
     */
    this.chunkReceipts = new Map();
    /** @type {Set<Promise<void>>} */
    this.flushes = new Set();
    /** The first flush that failed. @type {unknown} */
    this.failure = undefined;
  }

  /**
   * A piece [start, pieceEnd) of one chunk was written.
   * @param {import('ranged-mmap').WriteReceipt} receipt
   * @param {number} start
   * @param {number} pieceEnd
   */
  written(receipt, start, pieceEnd) {
    const { state, C } = this;
    if (state === null) return;
    const chunk = Math.floor(start / C);
    const last = pieceEnd % C === 0 || pieceEnd === this.total;
    if (!this.sync) {
      // --no-sync: no write-back from here; the page cache keeps the bit
      // and the data for a kill, and a power cut starts over (the durable
      // bitmap never advances).
      if (last) state.markDone(chunk);
      return;
    }
    const sofar = this.chunkReceipts.get(chunk);
    // A chunk's first piece may start past the chunk's start: the rest of a
    // chunk a failed request left behind is written by the same job.
    const whole = sofar === undefined ? receipt : sofar.join(receipt);
    if (!last) {
      this.chunkReceipts.set(chunk, whole);
      return;
    }
    this.chunkReceipts.delete(chunk);
    // Write-back is started on the thread pool (flushRangeAsync): when the
    // disk is slower than the network, sync_file_range blocks, and it must
    // not block the sockets. One call per chunk, not per piece: 16 times
    // fewer trips to the pool, and larger writes for the disk.
    const p = this.file.flushRangeAsync(whole).catch((e) => {
      state.markUndone(chunk);
      this.failure ??= e;
    });
    state.markDone(chunk);
    this.flushes.add(p);
    p.finally(() => this.flushes.delete(p));
  }

  /** Resolves when every flush started so far has returned. */
  async settled() {
    await Promise.all([...this.flushes]);
  }
}
