/**
 * The load generator's thread. It runs apart from the main thread (progress bars, cluster
 * logs, consistency reads), so their work never delays sending a write or timing an answer.
 * It lives for the whole run: its keep-alive connections and JIT-compiled code stay warm
 * from one storm to the next.
 */
import { parentPort } from 'node:worker_threads';
import { runStorm, StormConnections } from './load-generator';
import type { WorkerCommand, WorkerReport } from './storm-spec';

const port = parentPort;
if (!port) throw new Error('load-worker.js runs as a worker thread of the perf tool');

const connections = new StormConnections();
/** Progress goes out at most this often: a message per write would cost the storm itself. */
const PROGRESS_INTERVAL_MS = 100;

const report = (message: WorkerReport) => port.postMessage(message);

port.on('message', (command: WorkerCommand) => {
  if (command.type === 'close') {
    void connections.close().finally(() => port.close());
    return;
  }
  let lastReport = 0;
  runStorm(command.spec, connections, (completed) => {
    const now = Date.now();
    if (now - lastReport >= PROGRESS_INTERVAL_MS) {
      lastReport = now;
      report({ type: 'progress', id: command.id, completed });
    }
  }).then(
    (sample) => port.postMessage({ type: 'done', id: command.id, sample } satisfies WorkerReport, [sample.latenciesMs.buffer]),
    (error: unknown) => report({ type: 'failed', id: command.id, message: error instanceof Error ? error.message : String(error) }),
  );
});
