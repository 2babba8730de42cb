/**
 * The native calls of the vmap family, as the vmap classes reach them. The
 * types are described once, in src/native/vmap-binding.ts, and checked
 * against the loaded module with the rest of the binding at load.
 *
 * Not exported from the package.
 */
import { native } from '../native/binding.js';
import type { SharedRingBinding, VmapMapBinding, VmapNativeBinding } from '../native/vmap-binding.js';

export type {
  NativeMapRequest,
  SharedRingBinding,
  SharedRingFound,
  SharedRingMemory,
  VmapMapBinding,
  VmapNativeBinding,
} from '../native/vmap-binding.js';

/** Rings: native/bind_ring.c. */
export const vnative: VmapNativeBinding = native;
/** Private and shared maps: native/bind_vmap.c. */
export const mnative: VmapMapBinding = native;
/** SharedRing: native/bind_shared_ring.c. */
export const snative: SharedRingBinding = native;
