import { areaOf, formatProfileSummary, summarizeProfile, type CpuProfile } from './cpu-profile';

describe('CPU profile summary', () => {
  it('names the package or runtime part a function belongs to', () => {
    expect(areaOf('file:///w/node_modules/express/lib/router.js', 'handle')).toBe('express');
    expect(areaOf('file:///w/node_modules/@swc/core/index.js', 'x')).toBe('@swc/core');
    expect(areaOf('node:internal/http', 'write')).toBe('node internals');
    expect(areaOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(areaOf('', 'writev')).toBe('native');
    expect(areaOf('file:///work/main/dist/apps/leader/main.js', 'put')).toBe('dist/apps/leader/main.js'.split('/').slice(-3).join('/'));
  });

  it('adds up self time per function and per package, idle apart', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'parse', url: 'file:///w/node_modules/body-parser/index.js', lineNumber: 9 } },
        { id: 3, callFrame: { functionName: 'send', url: 'file:///w/dist/apps/leader/main.js', lineNumber: 99 } },
      ],
      startTime: 0,
      endTime: 10_000,
      samples: [1, 2, 3, 2, 1],
      timeDeltas: [2000, 3000, 1000, 3000, 1000],
    };
    const summary = summarizeProfile(profile);
    expect(summary).toMatchObject({ totalMs: 10, idleMs: 3 });
    expect(summary.byFunction[0]).toEqual({ name: 'parse [body-parser:10]', ms: 6, share: 0.6 });
    expect(summary.byArea.map((a) => a.name)).toEqual(['body-parser', 'apps/leader/main.js']);
    expect(formatProfileSummary(summary)).toMatch(/^leader CPU profile: 10 ms sampled, 7 ms busy \(70%\), 3 ms idle/);
  });
});
