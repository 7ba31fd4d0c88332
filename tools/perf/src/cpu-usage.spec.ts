import { cpuMsOf } from './cpu-usage';

const linux = process.platform === 'linux';

(linux ? describe : describe.skip)('cpuMsOf', () => {
  it("grows with this process's own work and says null for a process that is gone", () => {
    const before = cpuMsOf([process.pid]) as number;
    const until = Date.now() + 60;
    while (Date.now() < until) Math.sqrt(Math.random());
    const after = cpuMsOf([process.pid, process.pid]) as number;
    expect(after).toBeGreaterThanOrEqual(2 * before);
    expect(cpuMsOf([process.pid])).toBeGreaterThanOrEqual(before + 30);
    expect(cpuMsOf([process.pid, 2 ** 22 + 12345])).toBeNull();
  });
});
