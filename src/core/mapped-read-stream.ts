/**
 * One `Readable` over mapped bytes, for every class that has them
 * (`MmapFile`, `RawMmapFile`, `MemoryMappedFile`, `MemoryMap`): each class
 * hands over a {@link ChunkSource}, this module does the streaming.
 *
 * Chunks are Buffers over the mapping itself (no copy) when they lie within
 * one internal view, and copies where they straddle two (files over 1 GiB).
 * The stream pulls a chunk only when its consumer asks for more
 * (backpressure is Node's own: `_read` runs while the buffer is below
 * `highWaterMark`).
 */
import { Readable } from 'node:stream';
import { argTypeError, outOfRange } from '../errors.js';
import { readOptions, toBoolean, toOffset } from './arguments.js';

/** Options of `createReadStream` on mapped files and maps. */
export interface MappedReadStreamOptions {
  /** First byte to read (default 0). */
  start?: number | bigint;
  /**
   * Last byte to read, **inclusive** as in `fs.createReadStream` (default:
   * the last byte). An `end` past the last byte reads to the end.
   */
  end?: number | bigint;
  /** Bytes per chunk, and how far the stream reads ahead of its consumer (default 64 KiB). */
  highWaterMark?: number;
  /** Aborting it destroys the stream with an `AbortError`. */
  signal?: AbortSignal;
  /**
   * Give every chunk as a private copy (default false: chunks are views of
   * the mapping, which become empty if the file or map is closed before
   * they are consumed; see `createReadStream`).
   */
  copy?: boolean;
}

/** @internal What a class gives {@link createMappedReadStream}. */
export interface ChunkSource {
  /** Bytes there are to read now. */
  length(): number;
  /**
   * The bytes at `[offset, offset + length)`: a view of the mapping where it
   * can be, a copy where it cannot. Throws what the class throws for a
   * closed, faulted or shrunk file.
   */
  chunk(offset: number, length: number): Uint8Array;
  /** Throws if the bytes just copied may be wrong (a fault hit the mapping while copying). */
  check(): void;
}

const DEFAULT_HIGH_WATER_MARK = 64 * 1024;
const MAX_HIGH_WATER_MARK = 2 ** 30;
const KEYS = ['start', 'end', 'highWaterMark', 'signal', 'copy'] as const;

class MappedReadStream extends Readable {
  readonly #source: ChunkSource;
  readonly #end: number;
  readonly #chunkBytes: number;
  readonly #copy: boolean;
  #pos: number;

  constructor(source: ChunkSource, start: number, end: number, highWaterMark: number, copy: boolean, signal: AbortSignal | undefined) {
    super({ highWaterMark, signal });
    this.#source = source;
    this.#pos = start;
    this.#end = end;
    this.#chunkBytes = highWaterMark;
    this.#copy = copy;
  }

  override _read(): void {
    const pos = this.#pos;
    if (pos >= this.#end) {
      this.push(null);
      return;
    }
    const n = Math.min(this.#chunkBytes, this.#end - pos);
    let chunk: Buffer;
    try {
      const view = this.#source.chunk(pos, n);
      if (this.#copy) {
        chunk = Buffer.from(view); // a copy
        this.#source.check();
      } else {
        chunk = Buffer.from(view.buffer, view.byteOffset, view.byteLength); // the same memory
      }
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    this.#pos = pos + n;
    this.push(chunk);
  }
}

/**
 * @internal A Readable of `source`'s bytes from `start` to `end`
 * (inclusive), checked against the length it has now.
 */
export function createMappedReadStream(source: ChunkSource, options: unknown): Readable {
  const o = readOptions(options, 'options', KEYS);
  const start = o.start === undefined ? 0 : toOffset(o.start, 'options.start');
  const last = o.end === undefined ? undefined : toOffset(o.end, 'options.end');
  if (last !== undefined && last < start) {
    throw outOfRange('options.end', `>= options.start (${start}); end is the last byte read, inclusive`, o.end);
  }
  const hwm = o.highWaterMark === undefined ? DEFAULT_HIGH_WATER_MARK : o.highWaterMark;
  if (typeof hwm !== 'number') throw argTypeError('options.highWaterMark', 'of type number', hwm);
  if (!Number.isInteger(hwm) || hwm < 1 || hwm > MAX_HIGH_WATER_MARK)
    throw outOfRange('options.highWaterMark', `an integer >= 1 and <= ${MAX_HIGH_WATER_MARK}`, hwm);
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw argTypeError('options.signal', 'an AbortSignal', signal);
  const copy = toBoolean(o.copy, 'options.copy');
  const length = source.length();
  source.chunk(start, 0); // a closed or faulted source, or a start past its end, throws here and not in the stream
  const end = last === undefined ? length : Math.min(length, last + 1);
  return new MappedReadStream(source, start, end, hwm, copy, signal);
}
