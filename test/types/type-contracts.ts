// Compile-time tests: `npm run build:test` type-checks this file, and an
// `@ts-expect-error` that no longer meets an error fails the build, so each
// line below is a contract of the public types. Nothing here runs.
import {
  type MmapError,
  MemoryMappedFile,
  MmapFile,
  type ConcurrentAllocator,
  type CreateOptions,
  type SequentialAllocator,
  type SharedMappedFile,
  type SharedAllocatorOf,
  SharedRing,
  type SharedRingConsumer,
  type SharedRingProducer,
} from 'ranged-mmap';

declare const flag: boolean;
declare const path: string;

export function allocatorTypesFollowTheOptions(): void {
  const plain = MmapFile.create(path, 4096);
  const s1: SequentialAllocator = plain.allocator;

  const conc = MmapFile.create(path, 4096, { allocator: 'concurrent' });
  const c1: ConcurrentAllocator = conc.allocator;

  // A variable typed CreateOptions cannot say which: the type is the union.
  const opts: CreateOptions = { allocator: 'concurrent' };
  const wide = MmapFile.create(path, 4096, opts);
  // @ts-expect-error the allocator may be a ConcurrentAllocator
  const s2: SequentialAllocator = wide.allocator;

  const cond = MmapFile.create(path, 4096, { allocator: flag ? 'concurrent' : 'sequential' });
  // @ts-expect-error the allocator may be a SequentialAllocator
  const c2: ConcurrentAllocator = cond.allocator;

  const resumed = MmapFile.open(path, { allocatorState: { kind: 'concurrent', nextPos: 0, totalSize: 4096 } as const });
  const c3: ConcurrentAllocator = resumed.allocator;

  void [s1, c1, s2, c2, c3];
}

export function sharedHandlesCarryTheAllocator(): void {
  const { file } = MmapFile.create(path, 4096, { allocator: 'concurrent' });
  const handle = file.share();
  const { allocator } = MmapFile.fromShared(handle);
  allocator.allocate(4096); // no `!` needed

  const seq = MmapFile.create(path, 4096).file.share();
  const fromSeq = MmapFile.fromShared(seq);
  const nothing: null = fromSeq.allocator;

  const unknownHandle = {} as SharedMappedFile;
  // @ts-expect-error an untyped handle may carry no allocator
  MmapFile.fromShared(unknownHandle).allocator.allocate(1);
  void nothing;
}

// biome-ignore lint/suspicious/noExplicitAny: workerData is typed any, which is what this test is about
export function fromSharedNeverLiesAboutAnyOrUnknown(workerData: any, message: unknown): void {
  // workerData is `any`: it must not pick the concurrent overload.
  const fromAny = MmapFile.fromShared(workerData);
  // @ts-expect-error the allocator may be null (a sequential file's stays in its thread)
  fromAny.allocator.allocate(4096);
  const a1: ConcurrentAllocator | null = fromAny.allocator;
  // @ts-expect-error not known to be a ConcurrentAllocator
  const a2: ConcurrentAllocator = fromAny.allocator;
  // @ts-expect-error not known to be null either
  const a3: null = fromAny.allocator;
  if (fromAny.allocator !== null) fromAny.allocator.allocate(4096); // narrowing works

  const fromUnknown = MmapFile.fromShared(message);
  // @ts-expect-error the allocator may be null
  fromUnknown.allocator.allocate(4096);
  const u1: ConcurrentAllocator | null = fromUnknown.allocator;

  const sequential = {} as SharedMappedFile<'sequential'>;
  const s1: null = MmapFile.fromShared(sequential).allocator;
  const raw = {} as SharedMappedFile<'none'>;
  const r1: null = MmapFile.fromShared(raw).allocator;
  const concurrent = {} as SharedMappedFile<'concurrent'>;
  const c1: ConcurrentAllocator = MmapFile.fromShared(concurrent).allocator;
  const either = {} as SharedMappedFile<'concurrent'> | SharedMappedFile<'sequential'>;
  // @ts-expect-error a union of handles gives the union
  const e1: ConcurrentAllocator = MmapFile.fromShared(either).allocator;

  // biome-ignore lint/suspicious/noExplicitAny: the any case of the type itself
  const check: [SharedAllocatorOf<any>, SharedAllocatorOf<unknown>, SharedAllocatorOf<SharedMappedFile<'concurrent'>>] = [null, null, c1];
  void [a1, a2, a3, u1, s1, r1, c1, e1, check];
}

export async function usingWorks(): Promise<void> {
  {
    using opened = MmapFile.create(path, 4096);
    opened.file.flush();
  }
  {
    await using opened = await MmapFile.createAsync(path, 4096);
    opened.allocator.allocate(1);
  }
}

export function errorCodesAreALiteralUnion(e: MmapError): boolean {
  // @ts-expect-error a misspelt code does not compile
  if (e.code === 'ERR_MMAP_LENGHT_MISMATCH') return true;
  return e.code === 'ERR_MMAP_LENGTH_MISMATCH' || e.code === 'ENOSPC';
}

export function sharedRingEndsHaveOnlyTheirCalls(): void {
  const out: SharedRingProducer = SharedRing.producer(path);
  const input: SharedRingConsumer = SharedRing.consumer(path);
  const buf = new Uint8Array(16);
  out.writeMessage('x');
  out.write(buf);
  const r1: 'producer' = out.role;
  const n: number | null = input.readMessage(buf);
  const r2: 'consumer' = input.role;
  // @ts-expect-error a producer has no read calls
  out.readMessage(buf);
  // @ts-expect-error a producer has no read calls
  out.read(buf);
  // @ts-expect-error a producer has no read calls
  void out.readMessageAsync(buf);
  // @ts-expect-error a producer has no read calls
  out.readSlice();
  // @ts-expect-error a consumer has no write calls
  input.writeMessage('x');
  // @ts-expect-error a consumer has no write calls
  input.write(buf);
  // @ts-expect-error a consumer has no write calls
  void input.writeAsync(buf);
  // @ts-expect-error a consumer has no write calls
  input.commitMessage();
  // The instance forms type the same way.
  const ring = new SharedRing(4096);
  const p2: SharedRingProducer = ring.producer();
  // @ts-expect-error a producer has no read calls
  p2.tryReadMessage(buf);
  const c2: SharedRingConsumer = SharedRing.fromShared(ring.share()).consumer();
  // @ts-expect-error a consumer has no write calls
  c2.tryWriteMessage(buf);
  // The untyped object keeps every call (its role is decided by its first call).
  ring.readMessage;
  ring.writeMessage;
  // A signal rides in an options object, last.
  void input.readMessageAsync(buf, { signal: AbortSignal.timeout(10) });
  // @ts-expect-error the signal is an AbortSignal
  void input.readMessageAsync(buf, { signal: 'now' });
  void [r1, n, r2];
}

export function memoryMappedFileSignals(): void {
  const m = MemoryMappedFile.openRw(path);
  const signal = AbortSignal.timeout(10);
  // The signal rides in an options object, last, on every async call.
  void m.waitAsync(0, 0, undefined, { signal });
  void m.segment(0, 64).readIntoAsync(0, new Uint8Array(8), { signal });
  void m.resizeAsync(8192, { signal });
  void MemoryMappedFile.openRoAsync(path, { signal, touchHint: 'eager' });
  // @ts-expect-error the signal is an AbortSignal
  void m.flushAsync({ signal: 'now' });
  // @ts-expect-error a create takes no signal (an overtaken create cannot be undone)
  void MemoryMappedFile.createRwAsync(path, 4096, { signal });
}
