import perfHooks from 'node:perf_hooks';
import { createRegistry } from './metrics';

describe('createRegistry', () => {
  afterEach(() => jest.restoreAllMocks());

  it("keeps prom-client's event-loop lag sampling, whose histogram includes the sampling interval", async () => {
    const monitor = jest.spyOn(perfHooks, 'monitorEventLoopDelay');
    const registry = createRegistry({ defaultMetrics: true });
    expect(monitor).toHaveBeenCalledTimes(1);
    // prom-client's default, 10 ms: an idle node's nodejs_eventloop_lag_* read about 0.01 s.
    expect(monitor).toHaveBeenCalledWith({ resolution: 10 });
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
