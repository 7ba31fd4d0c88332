/**
 * Preloaded into the launched leader (`NODE_OPTIONS=--require .../leader-profiler.js`) when a
 * run profiles it: Node 20 refuses `--cpu-prof` in NODE_OPTIONS, and the leader's command line
 * is the contract's `node dist/apps/leader/main.js`. Samples the CPU through the inspector from
 * the start and writes a `.cpuprofile` into KV_PERF_PROFILE_DIR when the process exits.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env.KV_PERF_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // 1 ms between samples: --cpu-prof's default, fine enough for request handlers.
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  // An in-process session answers synchronously, so this completes inside the exit handler.
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      mkdirSync(dir, { recursive: true });
      // Named by role (the app directory: leader, follower), so one directory holds a whole cluster's.
      const role = path.basename(path.dirname(process.argv[1] ?? 'leader')) || 'node';
      writeFileSync(path.join(dir, `${role}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
