import { describe, expect, it } from 'vitest';
import { healthzResponse } from '../../../proxy/health/healthz-server.js';
import { ProxyHealth } from '../../../proxy/health/proxy-health.js';
import { FakeClock } from '../../../sync/clock.js';

function setup(timeout = 60_000) {
  const clock = new FakeClock(Date.UTC(2024, 0, 1));
  return { clock, health: new ProxyHealth({ healthTimeoutMs: timeout, clock }) };
}

describe('ProxyHealth', () => {
  it('is healthy while starting with nothing queued', () => {
    const { clock, health } = setup();
    clock.advance(10 * 60_000);
    expect(health.status()).toMatchObject({ healthy: true, lastUpdated: null, nodeEligible: true });
  });

  it('a starting proxy turns unhealthy once its first queued update waits past the timeout', () => {
    const { clock, health } = setup(60_000);
    health.queuedUpdate();
    clock.advance(60_000);
    expect(health.isHealthy()).toBe(true);
    clock.advance(1);
    expect(health.isHealthy()).toBe(false);
  });

  it('keeps the oldest pending time: later queued updates do not reset the clock', () => {
    const { clock, health } = setup(60_000);
    health.updated();
    health.queuedUpdate();
    clock.advance(40_000);
    health.queuedUpdate();
    clock.advance(30_000);
    expect(health.isHealthy()).toBe(false);
  });

  it('updated() clears the pending update and records lastUpdated', () => {
    const { clock, health } = setup(60_000);
    health.queuedUpdate();
    clock.advance(90_000);
    expect(health.isHealthy()).toBe(false);
    health.updated();
    expect(health.status()).toMatchObject({ healthy: true, lastUpdated: new Date(clock.now()) });
    clock.advance(10 * 60_000);
    expect(health.isHealthy()).toBe(true);
  });

  it('tracks families separately: one stuck family makes the proxy unhealthy', () => {
    const { clock, health } = setup(60_000);
    health.queuedUpdate('IPv4');
    health.queuedUpdate('IPv6');
    clock.advance(30_000);
    health.updated('IPv4');
    clock.advance(40_000);
    expect(health.isHealthy()).toBe(false);
    health.updated('IPv6');
    expect(health.isHealthy()).toBe(true);
  });

  it('node eligibility is reported but does not change health itself', () => {
    const { health } = setup();
    health.setNodeEligible(false);
    expect(health.status()).toMatchObject({ healthy: true, nodeEligible: false });
  });
});

describe('healthzResponse', () => {
  const t = (ms: number) => new Date(Date.UTC(2024, 0, 1) + ms);
  it('reports currentTime as lastUpdated when healthy', () => {
    const r = healthzResponse({ healthy: true, lastUpdated: t(0), currentTime: t(5000), nodeEligible: true }, true);
    expect(r).toEqual({
      status: 200,
      body: { lastUpdated: t(5000).toISOString(), currentTime: t(5000).toISOString(), nodeEligible: true },
    });
  });

  it('reports the real lastUpdated (zero time if never) when unhealthy', () => {
    const r = healthzResponse({ healthy: false, lastUpdated: null, currentTime: t(0), nodeEligible: true }, false);
    expect(r).toEqual({ status: 503, body: { lastUpdated: '0001-01-01T00:00:00.000Z', currentTime: t(0).toISOString() } });
  });

  it('healthz fails on an ineligible node, livez does not', () => {
    const s = { healthy: true, lastUpdated: t(0), currentTime: t(0), nodeEligible: false };
    expect(healthzResponse(s, true).status).toBe(503);
    expect(healthzResponse(s, false).status).toBe(200);
  });
});
