import perfHooks from 'node:perf_hooks';
import { EVENT_LOOP_LAG_SAMPLE_MS, createRegistry } from './metrics';

describe('createRegistry', () => {
  afterEach(() => jest.restoreAllMocks());

  it("samples the event-loop lag every 100 ms, not with prom-client's 10 ms timer that wakes an idle node 100 times a second", async () => {
    const monitor = jest.spyOn(perfHooks, 'monitorEventLoopDelay');
    const registry = createRegistry({ defaultMetrics: true });
    expect(monitor).toHaveBeenCalledTimes(1);
    expect(monitor).toHaveBeenCalledWith({ resolution: EVENT_LOOP_LAG_SAMPLE_MS });
    expect(EVENT_LOOP_LAG_SAMPLE_MS).toBeGreaterThanOrEqual(100);
    // The lag still shows: the node's /metrics keeps prom-client's event-loop metrics.
    const text = await registry.metrics();
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    registry.clear();
  });

  it('registers no default metrics (and no timer) when asked not to', () => {
    const monitor = jest.spyOn(perfHooks, 'monitorEventLoopDelay');
    const registry = createRegistry({ defaultMetrics: false });
    expect(monitor).not.toHaveBeenCalled();
    expect(registry.getMetricsAsArray()).toEqual([]);
  });
});
