// Marking chunks finished in the resume state. By default a chunk's bit is
// set only once every piece of it is written and the write-back of each
// piece was started (flushRangeAsync); with --no-sync at once.

/** The write-back of the pieces written, and the chunk bits it leads to. */
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
    /** Chunks with flushes under way: how many, and whether the chunk's last piece is written. */
    /** @type {Map<number, { pending: number, written: boolean }>} */
    this.flushing = new Map();
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
    // Write-back is started on the thread pool (flushRangeAsync): when
    // the disk is slower than the network, sync_file_range blocks, and
    // it must not block the sockets. The chunk's bit is set once every
    // piece of it is written and every flush of it has returned.
    let f = this.flushing.get(chunk);
    if (f === undefined) {
      f = { pending: 0, written: false };
      this.flushing.set(chunk, f);
    }
    const entry = f;
    entry.pending++;
    if (last) entry.written = true;
    const flushed = () => {
      entry.pending--;
      if (entry.pending === 0 && entry.written) {
        this.flushing.delete(chunk);
        state.markDone(chunk);
      }
    };
    const p = this.file.flushRangeAsync(receipt).then(flushed, (e) => {
      entry.pending--;
      this.failure ??= e;
    });
    this.flushes.add(p);
    p.finally(() => this.flushes.delete(p));
  }

  /** Resolves when every flush started so far has returned. */
  async settled() {
    await Promise.all([...this.flushes]);
  }
}
