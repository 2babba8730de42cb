// Runs the test server in its own process (for the big-file test, so the
// server's reads do not share the downloader's thread). Usage:
//   node serve-child.mjs URLPATH=FILE ...   prints the base URL, serves until stdin closes.
import { startServer } from './server.mjs';

/** @type {Record<string, import('./server.mjs').Route>} */
const routes = {};
for (const arg of process.argv.slice(2)) {
  const i = arg.indexOf('=');
  routes[arg.slice(0, i)] = { file: arg.slice(i + 1) };
}
const server = await startServer({ routes });
process.stdout.write(`${server.base}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await server.close();
  process.exit(0);
});
