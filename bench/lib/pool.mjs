// A set of worker threads started before timing begins, so that start-up
// cost is outside every contender's measurement. `run(jobs)` sends job i to
// worker i and resolves when all have answered; each answer is the
// worker's reply message.
import { Worker } from 'node:worker_threads';

export class WorkerPool {
  #workers = [];

  constructor(script, count, workerData = {}) {
    for (let i = 0; i < count; i++) this.#workers.push(new Worker(script, { workerData: { ...workerData, index: i, count } }));
  }

  get size() {
    return this.#workers.length;
  }

  /** Waits until every worker has posted its 'ready' message. */
  async ready() {
    await this.run(this.#workers.map(() => ({ kind: 'ping' })));
  }

  run(jobs) {
    return Promise.all(
      this.#workers.map(
        (w, i) =>
          new Promise((resolve, reject) => {
            const onMessage = (m) => {
              w.off('error', onError);
              if (m?.error) reject(new Error(m.error));
              else resolve(m);
            };
            const onError = (e) => {
              w.off('message', onMessage);
              reject(e);
            };
            w.once('message', onMessage);
            w.once('error', onError);
            w.postMessage(jobs[i]);
          }),
      ),
    );
  }

  async close() {
    await Promise.all(this.#workers.map((w) => w.terminate()));
    this.#workers = [];
  }
}

/**
 * Starts `count` workers, waits until they are ready, runs `fn(pool)` and
 * always ends them: live workers would keep the process running after a
 * failure.
 */
export async function withPool(script, count, fn) {
  const pool = new WorkerPool(script, count);
  try {
    await pool.ready();
    return await fn(pool);
  } finally {
    await pool.close();
  }
}
