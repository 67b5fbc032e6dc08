// The wiring the daemon uses: run() queues a health update, a successful sync clears it. A sync
// that hangs must turn /healthz unhealthy after healthTimeout even though the runner is alive.
import { describe, expect, it } from 'vitest';
import { ProxyHealth } from '../../../proxy/health/proxy-health.js';
import { FakeClock } from '../../../sync/clock.js';
import { BoundedFrequencyRunner } from '../../../sync/runner.js';

describe('runner + proxy health', () => {
  it('is healthy while syncs complete and unhealthy when one hangs past the timeout', async () => {
    const clock = new FakeClock(Date.UTC(2024, 0, 1));
    const health = new ProxyHealth({ healthTimeoutMs: 60_000, clock });
    let hang = false;
    const runner = new BoundedFrequencyRunner({
      name: 'proxy',
      minIntervalMs: 1000,
      maxIntervalMs: 30_000,
      clock,
      onQueued: () => health.queuedUpdate(),
      fn: async () => {
        if (hang) await new Promise<void>(() => undefined);
        health.updated();
      },
    });
    runner.run();
    await clock.tick(0);
    expect(health.status()).toMatchObject({ healthy: true, lastUpdated: new Date(clock.now()) });

    hang = true;
    runner.run();
    await clock.tick(60_000);
    expect(health.isHealthy()).toBe(true);
    await clock.tick(1001);
    expect(health.isHealthy()).toBe(false);
  });
});
