// Issue #18: what the sync loop does after a partial sync is O(change) too. On a dual-stack node
// with only IPv4 services, finding "does IPv6 have a service port" by scanning walked every
// service on every sync; the loop now keeps per-family counts from the change sets, which must
// agree with a scan after any change sequence.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Dataplane } from '../../../modes/dataplane.js';
import { silentLogger } from '../../../proxy/log.js';
import type { ChangeSet, Endpoint, IPFamily, ProxyState, ServicePort } from '../../../proxy/model/types.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import { FamilyServiceCounter, familiesWithServices } from '../../../sync/program-families.js';
import { SyncLoop } from '../../../sync/sync-loop.js';
import { changesBetween } from '../../support/changes.js';
import { FLAT_NODE, flatCluster, flatService, withNewEndpoints } from '../../support/flat-cluster.js';
import { countWalks } from '../../support/walk-counter.js';

const N = 3000;
const inert: Dataplane = { mode: 'test', sync: async (r) => ({ full: r.full, stats: {} }), cleanup: async () => undefined };

describe('sync loop after a partial sync', () => {
  it(`walks no collection of the cluster's size (dual-stack node, IPv4-only services, ${N} of them)`, async () => {
    let c = flatCluster(N);
    let next: { state: ProxyState; changes: ChangeSet } = { state: c.state, changes: changesBetween(undefined, c.state) };
    const metrics = new ProxyMetrics({ processMetrics: false });
    const loop = new SyncLoop({
      source: { snapshot: () => ({ ...next, rejected: [] }), pendingCounts: () => ({ services: 0, endpoints: 0 }) },
      dataplane: inert,
      metrics,
      logger: silentLogger,
      families: ['IPv4', 'IPv6'],
      ready: () => true,
      observers: [],
    });
    await loop.run({ reason: 'initial' });
    const c2 = withNewEndpoints(c, 42, 1);
    next = { state: c2.state, changes: changesBetween(c.state, c2.state) };
    c2.services.lookups = c2.endpoints.lookups = 0;
    const { walks } = await countWalks(N / 3, () => loop.run({ reason: 'request' }));
    expect(walks.big.map((w) => `${w.size}: ${w.stack}`)).toEqual([]);
    expect(c2.services.lookups + c2.endpoints.lookups).toBeLessThanOrEqual(10);
    // Only IPv4 had work: IPv6's duration histogram saw nothing.
    const h = (await metrics.registry.getSingleMetric('kubeproxy_sync_proxy_rules_duration_seconds')!.get()).values;
    const count = (f: IPFamily) => h.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count') && v.labels['ip_family'] === f)?.value;
    expect(count('IPv4')).toBe(2);
    expect(count('IPv6') ?? 0).toBe(0);
    c = c2;
  }, 120_000);
});

type Op = { i: number; family: 'v4' | 'v6' | 'both' | 'gone' };
const op = fc.record({ i: fc.nat(7), family: fc.constantFrom('v4' as const, 'v6' as const, 'both' as const, 'gone' as const) });

function applyOp(s: ProxyState, o: Op): ProxyState {
  const services = new Map(s.services);
  const endpoints = new Map(s.endpoints);
  const base = flatService(o.i);
  const ips = { v4: ['198.19.0.9'], v6: ['2001:db8:ff::9'], both: ['198.19.0.9', '2001:db8:ff::9'] };
  if (o.family === 'gone') {
    services.delete(base.key);
    endpoints.delete(base.key);
  } else services.set(base.key, { ...base, clusterIPs: ips[o.family] });
  return { services, endpoints, node: s.node };
}

describe('FamilyServiceCounter', () => {
  it('agrees with a scan of the state after any change sequence', () => {
    fc.assert(
      fc.property(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { maxLength: 20 }), (batches) => {
        const families: IPFamily[] = ['IPv4', 'IPv6'];
        const counter = new FamilyServiceCounter(families);
        let s: ProxyState = { services: new Map<string, ServicePort>(), endpoints: new Map<string, readonly Endpoint[]>(), node: FLAT_NODE };
        expect(counter.update(s, changesBetween(undefined, s), true)).toEqual(familiesWithServices(s, families));
        for (const b of batches) {
          const next = b.reduce(applyOp, s);
          expect(counter.update(next, changesBetween(s, next), false)).toEqual(familiesWithServices(next, families));
          s = next;
        }
      }),
      { numRuns: 300 },
    );
  });
});
