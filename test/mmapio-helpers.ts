// Helpers for the mmapio-* tests: a file with known bytes, and a check
// that a call threw a given code and left the file's bytes unchanged.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { pattern, snapshot } from './helpers.js';

/** Writes `size` bytes of pattern(size, seed) to `path` and returns them. */
export function seedFile(path: string, size: number, seed = 1): Uint8Array {
  const bytes = pattern(size, seed);
  writeFileSync(path, bytes);
  return bytes;
}

/** Asserts `fn` throws an error with `code` and that the file at `path` is byte-for-byte unchanged. */
export function rejectsUnchanged(path: string, code: string, fn: () => unknown, message?: string): void {
  const before = snapshot(path);
  assert.throws(
    fn,
    (e: unknown) => {
      assert.equal((e as { code?: unknown }).code, code, `${message ?? ''} (${String((e as Error).message)})`);
      return true;
    },
    message,
  );
  assert.equal(snapshot(path), before, `${message ?? code}: the file changed`);
}

/** Async form of {@link rejectsUnchanged}: the promise (or the call) must reject with `code`. */
export async function rejectsUnchangedAsync(path: string, code: string, fn: () => Promise<unknown>, message?: string): Promise<void> {
  const before = snapshot(path);
  await assert.rejects(
    async () => fn(),
    (e: unknown) => {
      assert.equal((e as { code?: unknown }).code, code, `${message ?? ''} (${String((e as Error).message)})`);
      return true;
    },
    message,
  );
  assert.equal(snapshot(path), before, `${message ?? code}: the file changed`);
}
