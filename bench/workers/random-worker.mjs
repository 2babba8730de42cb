// Writer of the random-4k scenario (2-worker case).
import { parentPort } from 'node:worker_threads';
import { runJob } from '../lib/random-writes.mjs';

parentPort.on('message', (job) => {
  try {
    parentPort.postMessage(job.kind === 'ping' ? 'ready' : runJob(job));
  } catch (error) {
    parentPort.postMessage({ error: `${error.code ?? ''} ${error.stack}` });
  }
});
