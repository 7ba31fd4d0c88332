import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { StormSample, StormSpec, WorkerCommand, WorkerReport } from './storm-spec';

interface PendingStorm {
  readonly resolve: (sample: StormSample) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress: (completed: number) => void;
}

/** The main thread's handle on the load worker: one storm at a time, progress as it goes. */
export class LoadClient {
  private nextId = 1;
  private readonly pending = new Map<number, PendingStorm>();
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (report: WorkerReport) => this.receive(report));
    worker.on('error', (error) => this.failAll(error));
    this.exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        this.failAll(new Error(`load worker exited with code ${code}`));
        resolve();
      }),
    );
  }

  /** Starts the worker from `load-worker.js` next to the running bundle. */
  static start(script = path.join(__dirname, 'load-worker.js')): LoadClient {
    return new LoadClient(new Worker(script));
  }

  storm(spec: StormSpec, onProgress: (completed: number) => void = () => undefined): Promise<StormSample> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.send({ type: 'storm', id, spec });
    });
  }

  /** Lets the worker close its connections and exit; terminates it if it does not within a second. */
  async close(): Promise<void> {
    this.send({ type: 'close' });
    const timer = setTimeout(() => void this.worker.terminate(), 1000);
    await this.exited;
    clearTimeout(timer);
  }

  private send(command: WorkerCommand): void {
    this.worker.postMessage(command);
  }

  private receive(report: WorkerReport): void {
    const storm = this.pending.get(report.id);
    if (!storm) return;
    if (report.type === 'progress') {
      storm.onProgress(report.completed);
      return;
    }
    this.pending.delete(report.id);
    if (report.type === 'done') storm.resolve(report.sample);
    else storm.reject(new Error(`load worker: ${report.message}`));
  }

  private failAll(error: Error): void {
    for (const storm of this.pending.values()) storm.reject(error);
    this.pending.clear();
  }
}
