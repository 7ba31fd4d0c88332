import { Worker } from 'node:worker_threads';
import { cpuMsOf, mainThreadCpuMs, waitCpuQuiet } from './cpu-usage';

const linux = process.platform === 'linux';

(linux ? describe : describe.skip)('cpuMsOf', () => {
  it("grows with this process's own work and says null for a process that is gone", () => {
    const before = cpuMsOf([process.pid]) as number;
    // Spins until the process has used 40 ms more CPU, not for a wall time: on a busy machine
    // 60 ms of wall time gave it less than 30 ms of CPU (CI, 2026-11-30). Bounded at 10 s.
    const giveUpAt = Date.now() + 10_000;
    while ((cpuMsOf([process.pid]) as number) - before < 40 && Date.now() < giveUpAt) for (let i = 0; i < 100_000; i++) Math.sqrt(i);
    const after = cpuMsOf([process.pid, process.pid]) as number;
    expect(after).toBeGreaterThanOrEqual(2 * before);
    expect(cpuMsOf([process.pid])).toBeGreaterThanOrEqual(before + 30);
    expect(cpuMsOf([process.pid, 2 ** 22 + 12345])).toBeNull();
  });
});

(linux ? describe : describe.skip)('mainThreadCpuMs', () => {
  /** Spins until the whole process has used `ms` more CPU (not wall time: the machine may be busy). */
  const spinSource = (ms: number) => `
    const { readFileSync } = require('node:fs');
    const cpu = () => { const s = readFileSync('/proc/self/stat', 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
    const start = cpu();
    while (cpu() - start < ${ms}) for (let i = 0; i < 100000; i++) Math.sqrt(i);`;

  it("counts this thread's work and not a worker thread's", async () => {
    const before = mainThreadCpuMs() as number;
    // A worker burns 300 ms of CPU while this thread waits for it.
    const worker = new Worker(spinSource(300), { eval: true });
    await new Promise((resolve) => worker.once('exit', resolve));
    const waited = (mainThreadCpuMs() as number) - before;
    expect(waited).toBeLessThan(150);
    // Now this thread burns 300 ms.
    const start = cpuMsOf([process.pid]) as number;
    while ((cpuMsOf([process.pid]) as number) - start < 300) for (let i = 0; i < 100_000; i++) Math.sqrt(i);
    expect((mainThreadCpuMs() as number) - before).toBeGreaterThanOrEqual(waited + 250);
  });
});

describe('waitCpuQuiet', () => {
  /** A virtual clock and a process whose CPU use per 500 ms interval follows `perInterval` (ms), then stays at `after`. */
  const scripted = (perInterval: readonly number[], after: number) => {
    let t = 0;
    let cpu = 0;
    let step = 0;
    return {
      now: () => t,
      sleep: async (ms: number) => {
        t += ms;
        cpu += step < perInterval.length ? perInterval[step] : after;
        step++;
      },
      read: () => cpu,
    };
  };

  const clock = (p: ReturnType<typeof scripted>) => ({ now: p.now, sleep: p.sleep });

  it('resolves after the first interval under a fifth of a core, with how long it waited', async () => {
    const p = scripted([500, 400, 150, 99], 0);
    // 500, 400 and 150 ms of CPU in 500 ms intervals are busy (over 100 ms); 99 is quiet.
    await expect(waitCpuQuiet(p.read, { timeoutMs: 30_000, now: p.now, sleep: p.sleep })).resolves.toEqual({ outcome: 'quiet', afterMs: 2000 });
  });

  it('resolves after one interval when the processes are already quiet', async () => {
    const p = scripted([], 5);
    await expect(waitCpuQuiet(p.read, { timeoutMs: 30_000, now: p.now, sleep: p.sleep })).resolves.toEqual({ outcome: 'quiet', afterMs: 500 });
  });

  it('says busy when they stay busy past the timeout', async () => {
    const p = scripted([], 300);
    await expect(waitCpuQuiet(p.read, { timeoutMs: 3000, now: p.now, sleep: p.sleep })).resolves.toEqual({ outcome: 'busy', afterMs: 3000 });
  });

  it('measures one interval even with a timeout of 0', async () => {
    await expect(waitCpuQuiet(scripted([], 5).read, { timeoutMs: 0, ...clock(scripted([], 5)) })).resolves.toMatchObject({ outcome: 'quiet' });
    const busy = scripted([], 300);
    await expect(waitCpuQuiet(busy.read, { timeoutMs: 0, now: busy.now, sleep: busy.sleep })).resolves.toEqual({ outcome: 'busy', afterMs: 500 });
  });

  it('says unreadable, not busy, when a process can no longer be read (it is gone)', async () => {
    const p = scripted([400], 400);
    let reads = 0;
    const read = () => (++reads > 2 ? null : p.read());
    await expect(waitCpuQuiet(read, { timeoutMs: 30_000, now: p.now, sleep: p.sleep })).resolves.toEqual({ outcome: 'unreadable', afterMs: 1000 });
    await expect(waitCpuQuiet(() => null, { timeoutMs: 30_000, now: p.now, sleep: p.sleep })).resolves.toEqual({ outcome: 'unreadable', afterMs: 0 });
  });
});
