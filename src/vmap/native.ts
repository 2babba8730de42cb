/**
 * The native calls of the vmap family (native/bind_ring.c and, for maps,
 * native/bind_vmap.c), typed. They live on the same addon object as the
 * core's; this file only describes them, so src/native/binding.ts stays as
 * the core needs it.
 *
 * Not exported from the package.
 */
import { native } from '../native/binding.js';

export interface VmapNativeBinding {
  /** Maps a ring of at least `hint` bytes (whole pages); the buffer covers both halves (2 * capacity bytes). */
  ringCreate(hint: number): ArrayBuffer;
  /** Detaches the ring's buffer (every view becomes zero-length), then unmaps it. Idempotent. */
  ringClose(buffer: ArrayBuffer): void;
  /** Rings mapped in this process and not yet unmapped. */
  liveRings(): number;
  readonly pageSize: number;
  readonly ringMaxCapacity: number;
}

export const vnative = native as unknown as VmapNativeBinding;
