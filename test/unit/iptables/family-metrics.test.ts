// Issue #16 item 5: the iptables dataplane under the real sync loop files each family's own sync
// duration under its ip_family, and nothing for a family without service ports (single stack).

import { describe, expect, it } from 'vitest';
import type { SyncResult } from '../../../modes/dataplane.js';
import { silentLogger } from '../../../proxy/log.js';
import type { ChangeSet, Endpoint, IPFamily, ProxyState, ServicePort } from '../../../proxy/model/types.js';
import type { ProxyMetrics } from '../../../sync/metrics.js';
import { SyncLoop } from '../../../sync/sync-loop.js';
import { ep, harness, sp, state } from './fixtures.js';

const SYNC = 'kubeproxy_sync_proxy_rules_duration_seconds';

async function series(m: ProxyMetrics): Promise<Record<string, { sum: number; count: number }>> {
  const out: Record<string, { sum: number; count: number }> = {};
  for (const v of (await m.syncDuration.get()).values) {
    const f = String(v.labels['ip_family']);
    const cur = (out[f] ??= { sum: 0, count: 0 });
    if (v.metricName === `${SYNC}_sum`) cur.sum = v.value;
    if (v.metricName === `${SYNC}_count`) cur.count = v.value;
  }
  return out;
}

function run(st: ProxyState, syncs: number) {
  const h = harness(undefined, ['IPv4', 'IPv6']);
  const results: SyncResult[] = [];
  const all: ChangeSet = { changed: new Set(st.services.keys()), removed: new Set(), nodeChanged: false, triggerTimes: [] };
  const none: ChangeSet = { ...all, changed: new Set() };
  let n = 0;
  const loop = new SyncLoop({
    source: { snapshot: () => ({ state: st, changes: n++ === 0 ? all : none, rejected: [] }), pendingCounts: () => ({ services: 0, endpoints: 0 }) },
    dataplane: h.dp,
    metrics: h.metrics,
    logger: silentLogger,
    families: ['IPv4', 'IPv6'],
    ready: () => true,
    observers: [{ synced: (_s, r) => void results.push(r) }],
  });
  return (async () => {
    for (let i = 0; i < syncs; i++) await loop.run({ reason: i === 0 ? 'initial' : 'periodic' });
    return { metrics: h.metrics, results };
  })();
}

const v4Services = (n: number): [ServicePort, Endpoint[]][] =>
  Array.from({ length: n }, (_, i) => [sp('ns', `v4-${i}`, { clusterIPs: [`198.19.1.${i + 1}`] }), [ep(`198.18.2.${i + 1}`), ep(`198.18.3.${i + 1}`)]]);

const seconds = (results: readonly SyncResult[], f: IPFamily): number => results.reduce((a, r) => a + (r.familySeconds?.get(f) ?? NaN), 0);

describe('iptables mode: per-family sync duration metric', () => {
  it('single stack: the IPv6 series is absent while IPv4 has its observations', async () => {
    const { metrics, results } = await run(state(v4Services(50)), 3);
    const s = await series(metrics);
    expect(Object.keys(s)).toEqual(['IPv4']);
    expect(s['IPv4']!.count).toBe(3);
    // What the IPv4 rules took, as the dataplane timed them (not the whole sync's time).
    expect(s['IPv4']!.sum).toBeCloseTo(seconds(results, 'IPv4'), 9);
  });

  it('dual stack: each family has its own observations with its own, different sum', async () => {
    const v6: [ServicePort, Endpoint[]] = [
      sp('ns', 'v6', { clusterIPs: ['2001:db8:ff::10'] }),
      [ep('2001:db8:2::1', { family: 'IPv6' })],
    ];
    const { metrics, results } = await run(state([...v4Services(200), v6]), 2);
    const s = await series(metrics);
    expect(Object.keys(s).sort()).toEqual(['IPv4', 'IPv6']);
    expect(s['IPv4']!.count).toBe(2);
    expect(s['IPv6']!.count).toBe(2);
    expect(s['IPv4']!.sum).toBeCloseTo(seconds(results, 'IPv4'), 9);
    expect(s['IPv6']!.sum).toBeCloseTo(seconds(results, 'IPv6'), 9);
    expect(s['IPv4']!.sum).not.toBe(s['IPv6']!.sum);
  });
});
