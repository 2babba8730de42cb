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
     * The chunks under way: bytes written so far and the receipts of those
     * bytes, joined where they touch (one receipt, or two while a chunk is
     * split between a slow connection and the one that took its upper part).
     * @type {Map<number, { bytes: number, receipts: import('ranged-mmap').WriteReceipt[] }>}
     */
    this.chunks = new Map();
    /** @type {Set<Promise<void>>} */
    this.flushes = new Set();
    /** The first flush that failed. @type {unknown} */
    this.failure = undefined;
  }

  /**
   * A piece [start, pieceEnd) of one chunk was written. The chunk is
   * finished when all its bytes are: every byte is written once (a range
   * has one owner), so counting them is exact, whichever connections
   * wrote which parts.
   * @param {import('ranged-mmap').WriteReceipt} receipt
   * @param {number} start
   * @param {number} pieceEnd
   */
  written(receipt, start, pieceEnd) {
    const { state, C } = this;
    if (state === null) return;
    const chunk = Math.floor(start / C);
    const chunkBytes = Math.min(C, this.total - chunk * C);
    let entry = this.chunks.get(chunk);
    if (entry === undefined) {
      entry = { bytes: 0, receipts: [] };
      this.chunks.set(chunk, entry);
    }
    entry.bytes += pieceEnd - start;
    if (this.sync) addReceipt(entry.receipts, receipt);
    if (entry.bytes < chunkBytes) return;
    this.chunks.delete(chunk);
    if (!this.sync) {
      // --no-sync: no write-back from here; the page cache keeps the bit
      // and the data for a kill, and a power cut starts over (the durable
      // bitmap never advances).
      state.markDone(chunk);
      return;
    }
    // Write-back is started on the thread pool (flushRangeAsync): when the
    // disk is slower than the network, sync_file_range blocks, and it must
    // not block the sockets. One call per chunk (two for a split one), not
    // per piece: 16 times fewer trips to the pool, and larger writes.
    for (const whole of entry.receipts) {
      const p = this.file.flushRangeAsync(whole).catch((e) => {
        state.markUndone(chunk);
        this.failure ??= e;
      });
      this.flushes.add(p);
      p.finally(() => this.flushes.delete(p));
    }
    state.markDone(chunk);
  }

  /** Resolves when every flush started so far has returned. */
  async settled() {
    await Promise.all([...this.flushes]);
  }
}

/**
 * Adds a piece's receipt to a chunk's list, joined to one it touches.
 * @param {import('ranged-mmap').WriteReceipt[]} list
 * @param {import('ranged-mmap').WriteReceipt} receipt
 */
function addReceipt(list, receipt) {
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    if (r.end === receipt.start || r.start === receipt.end) {
      list[i] = r.join(receipt);
      return;
    }
  }
  list.push(receipt);
}
