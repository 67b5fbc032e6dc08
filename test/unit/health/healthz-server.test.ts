import { afterEach, describe, expect, it } from 'vitest';
import { startHealthzServer } from '../../../proxy/health/healthz-server.js';
import { ProxyHealth } from '../../../proxy/health/proxy-health.js';
import type { HttpListener } from '../../../proxy/http/listen.js';
import { silentLogger } from '../../../proxy/log.js';
import { FakeClock } from '../../../sync/clock.js';
import { ProxyMetrics } from '../../../sync/metrics.js';

const open: HttpListener[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

async function setup() {
  const clock = new FakeClock(Date.UTC(2024, 5, 1, 12));
  const health = new ProxyHealth({ healthTimeoutMs: 60_000, clock });
  const metrics = new ProxyMetrics({ processMetrics: false });
  const server = await startHealthzServer({ bindAddress: '127.0.0.1:0', health, metrics, logger: silentLogger });
  open.push(server);
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
  };
  return { clock, health, metrics, get };
}

describe('healthz server', () => {
  it('answers 200 with upstream-shaped JSON when healthy', async () => {
    const { clock, health, get } = await setup();
    health.updated();
    clock.advance(1000);
    const now = new Date(clock.now()).toISOString();
    expect(await get('/healthz')).toEqual({
      status: 200,
      type: 'application/json',
      body: { lastUpdated: now, currentTime: now, nodeEligible: true },
    });
    expect(await get('/livez')).toEqual({ status: 200, type: 'application/json', body: { lastUpdated: now, currentTime: now } });
  });

  it('goes 503 on both paths when a queued update is older than the timeout', async () => {
    const { clock, health, get } = await setup();
    health.updated();
    const synced = new Date(clock.now()).toISOString();
    health.queuedUpdate();
    clock.advance(60_000);
    expect((await get('/healthz')).status).toBe(200);
    clock.advance(1);
    const hz = await get('/healthz');
    expect(hz.status).toBe(503);
    expect(hz.body).toEqual({ lastUpdated: synced, currentTime: new Date(clock.now()).toISOString(), nodeEligible: true });
    expect((await get('/livez')).status).toBe(503);
    health.updated();
    expect((await get('/healthz')).status).toBe(200);
  });

  it('/healthz goes 503 on an ineligible node while /livez stays 200', async () => {
    const { health, get } = await setup();
    health.setNodeEligible(false);
    const hz = await get('/healthz');
    expect(hz.status).toBe(503);
    expect(hz.body['nodeEligible']).toBe(false);
    expect((await get('/livez')).status).toBe(200);
  });

  it('counts responses by code in kubeproxy_proxy_healthz_total / livez_total', async () => {
    const { health, metrics, get } = await setup();
    await get('/healthz');
    health.setNodeEligible(false);
    await get('/healthz');
    await get('/livez');
    const text = await metrics.text();
    expect(text).toContain('kubeproxy_proxy_healthz_total{code="200"} 1');
    expect(text).toContain('kubeproxy_proxy_healthz_total{code="503"} 1');
    expect(text).toContain('kubeproxy_proxy_livez_total{code="200"} 1');
  });

  it('404s other paths', async () => {
    await setup();
    const res = await fetch(`http://127.0.0.1:${open[0]!.port}/nope`);
    expect(res.status).toBe(404);
  });
});
