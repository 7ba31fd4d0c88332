import path from 'node:path';
import type { NodeProcess } from '@kv/local-cluster';
import { tearLastRecord, wipe } from './data-dir';
import type { LinkProxy } from './fault-proxy';
import type { FaultEvent } from './history';
import type { ScheduledFault } from './schedule';
import { now } from './workload';

export interface NemesisTargets {
  readonly nodes: ReadonlyMap<string, NodeProcess>;
  readonly links: ReadonlyMap<string, LinkProxy>;
  /** DATA_DIR root (node `name` keeps its data in `dataRoot/name`), or null in memory. */
  readonly dataRoot: string | null;
  /** Every PID ever started, so the end can prove each one is gone. */
  readonly pids: Set<number>;
  readonly log: (line: string) => void;
}

/**
 * Plays a schedule against real processes and proxies, recording each fault as it really
 * happened (start, and end once the node is back). Actions on one target run one after
 * another; `heal()` ends everything still in force.
 */
export class Nemesis {
  readonly events: FaultEvent[] = [];
  /** Nodes that would not come back (a start that failed): anomalies in their own right. */
  readonly failures: string[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly chains = new Map<string, Promise<void>>();
  private readonly undo = new Map<string, () => Promise<void>>();
  private stopped = false;

  constructor(
    private readonly targets: NemesisTargets,
    private readonly originMs: number,
  ) {}

  start(schedule: readonly ScheduledFault[]): void {
    for (const fault of schedule) {
      const delay = Math.max(0, fault.atMs - now(this.originMs));
      this.timers.push(setTimeout(() => this.enqueue(fault), delay));
    }
  }

  /** Cancels what has not started, ends every fault in force, waits until each node serves again. */
  async heal(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all([...this.chains.values()]);
    for (const [target, undo] of [...this.undo]) {
      await undo().catch((error: Error) => this.targets.log(`heal ${target}: ${error.message}`));
    }
    for (const node of this.targets.nodes.values()) {
      node.resume();
      if (!node.running) await this.restart(node).catch((error: Error) => this.failures.push(`${node.name} did not restart: ${error.message}`));
    }
  }

  private enqueue(fault: ScheduledFault): void {
    const key = fault.kind.endsWith('-link') ? `link:${fault.target}` : fault.target;
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.apply(fault, key)).catch((error: Error) => this.targets.log(`fault ${fault.kind} ${fault.target}: ${error.message}`));
    this.chains.set(key, next);
  }

  private async apply(fault: ScheduledFault, key: string): Promise<void> {
    if (this.stopped) return;
    const node = this.targets.nodes.get(fault.target) as NodeProcess;
    const dataDir = this.targets.dataRoot === null ? null : path.join(this.targets.dataRoot, fault.target);
    const event: FaultEvent = { kind: fault.kind, target: fault.target, startMs: now(this.originMs), endMs: null };
    let undo: () => Promise<void>;
    switch (fault.kind) {
      case 'kill':
      case 'wipe':
      case 'torn-write': {
        await node.kill();
        if (fault.kind === 'wipe' && dataDir) await wipe(dataDir);
        if (fault.kind === 'torn-write' && dataDir) event.note = (await tearLastRecord(dataDir)) ?? 'no record to tear';
        Object.assign(event, { lostData: dataDir === null || fault.kind !== 'kill' });
        undo = () => this.restart(node);
        break;
      }
      case 'pause':
        node.pause();
        undo = async () => node.resume();
        break;
      default: {
        const link = this.targets.links.get(fault.target) as LinkProxy;
        const mode = ({ 'cut-link': 'cut', 'delay-link': 'delay', 'duplicate-link': 'duplicate', 'reorder-link': 'reorder' } as const)[fault.kind];
        link.setMode(mode, fault.delayMs ?? 0);
        if (fault.delayMs) event.note = `~${fault.delayMs} ms`;
        undo = async () => link.setMode('pass');
      }
    }
    this.events.push(event);
    this.targets.log(`${event.startMs.toFixed(0)} ms: ${fault.kind} ${fault.target}${event.note ? ` (${event.note})` : ''}`);
    this.undo.set(key, undo);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, fault.durationMs);
      this.timers.push(timer);
      // heal() must not wait out a long fault: it clears the timers, so poll for it.
      const check = setInterval(() => this.stopped && (clearTimeout(timer), resolve()), 50);
      setTimeout(() => clearInterval(check), fault.durationMs + 10);
      void Promise.resolve().then(() => this.stopped && resolve());
    });
    this.undo.delete(key);
    await undo();
    event.endMs = now(this.originMs);
  }

  private async restart(node: NodeProcess): Promise<void> {
    await node.start();
    if (node.pid !== undefined) this.targets.pids.add(node.pid);
  }
}
