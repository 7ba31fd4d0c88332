import os from 'node:os';
import type { MachineInfo } from './storm-results';

/** The machine the figures come from: without it a figure means little. */
export function describeMachine(loadAverageStart: number): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverageStart,
    loadAverageEnd: os.loadavg()[0],
  };
}
