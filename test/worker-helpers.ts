// Starting test workers and waiting for them on real events only.
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import type { ConcJob, ConcReport } from './fixtures/conc-worker.js';

export const concWorkerUrl = new URL('./fixtures/conc-worker.js', import.meta.url);

export function startWorker(job: ConcJob): Worker {
  return new Worker(concWorkerUrl, { workerData: job });
}

/** Resolves with the worker's report once it has also exited with code 0. */
export async function runWorker(job: ConcJob): Promise<ConcReport> {
  const worker = startWorker(job);
  const [[report], [code]] = await Promise.all([once(worker, 'message'), once(worker, 'exit')]);
  if (code !== 0) throw new Error(`worker ${job.kind} exited with ${code}`);
  return report as ConcReport;
}
