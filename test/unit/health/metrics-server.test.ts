import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpListener } from '../../../proxy/http/listen.js';
import { startMetricsServer } from '../../../proxy/http/metrics-server.js';
import { silentLogger } from '../../../proxy/log.js';
import { ProxyMetrics } from '../../../sync/metrics.js';

let server: HttpListener;
let metrics: ProxyMetrics;
const url = (p: string) => `http://127.0.0.1:${server.port}${p}`;

beforeAll(async () => {
  metrics = new ProxyMetrics({ processMetrics: false });
  server = await startMetricsServer({
    bindAddress: '127.0.0.1:0',
    logger: silentLogger,
    metrics,
    mode: 'iptables',
    configz: () => ({ mode: 'iptables', metricsBindAddress: '127.0.0.1:10249' }),
    debugState: async () => ({ services: 3 }),
  });
});
afterAll(async () => {
  await server.close();
});

describe('metrics server', () => {
  it('serves /metrics with upstream names and sync duration buckets 0.001 … 16.384', async () => {
    metrics.syncDuration.observe({ ip_family: 'IPv4' }, 0.05);
    metrics.lastQueuedTimestamp.set({ ip_family: 'IPv4' }, 1234);
    const res = await fetch(url('/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.contentType);
    const text = await res.text();
    const b = (le: string) => `kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="${le}",ip_family="IPv4"}`;
    expect(text).toContain(`${b('0.001')} 0`);
    expect(text).toContain(`${b('0.032')} 0`);
    expect(text).toContain(`${b('0.064')} 1`);
    expect(text).toContain(`${b('16.384')} 1`);
    expect(text).toContain(`${b('+Inf')} 1`);
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_count{ip_family="IPv4"} 1');
    expect(text).toContain('kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{ip_family="IPv4"} 1234');
    expect(text).toContain('# TYPE kubeproxy_proxy_healthz_total counter');
  });

  it('serves /configz and /debug/state as JSON', async () => {
    const cz = await fetch(url('/configz'));
    expect(cz.headers.get('content-type')).toBe('application/json');
    expect(await cz.json()).toEqual({ mode: 'iptables', metricsBindAddress: '127.0.0.1:10249' });
    expect(await (await fetch(url('/debug/state'))).json()).toEqual({ services: 3 });
  });

  it('serves /debug/memory: process.memoryUsage() and every V8 heap space', async () => {
    const res = await fetch(url('/debug/memory'));
    expect(res.headers.get('content-type')).toBe('application/json');
    const m = (await res.json()) as { rss: number; heapUsed: number; heapTotal: number; arrayBuffers: number; spaces: Record<string, { size: number; used: number }> };
    expect(m.rss).toBeGreaterThan(m.heapUsed);
    expect(m.heapTotal).toBeGreaterThanOrEqual(m.heapUsed);
    expect(typeof m.arrayBuffers).toBe('number');
    expect(Object.keys(m.spaces)).toEqual(expect.arrayContaining(['new_space', 'old_space', 'large_object_space', 'code_space']));
    const used = Object.values(m.spaces).reduce((a, s) => a + s.used, 0);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(m.heapTotal);
  });

  it('serves /proxyMode as plain text and /healthz ok', async () => {
    const pm = await fetch(url('/proxyMode'));
    expect(pm.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await pm.text()).toBe('iptables');
    expect(await (await fetch(url('/healthz'))).text()).toBe('ok');
  });

  it('404s unknown paths and 405s non-GET methods', async () => {
    expect((await fetch(url('/debug/pprof'))).status).toBe(404);
    expect((await fetch(url('/metrics'), { method: 'POST' })).status).toBe(405);
  });
});
