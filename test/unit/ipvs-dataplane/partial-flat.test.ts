// Issue #18: an IPVS partial sync after one endpoint change does O(change) work whatever the
// cluster's size (no pass over the state, the desired virtual servers, the ipset membership, the
// link's or host's addresses), and the incremental index it keeps is, after any change sequence,
// exactly what the from-scratch builders (buildDesired, buildMembership, serviceVIPs) give.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIpvsDataplane } from '../../../modes/ipvs/dataplane.js';
import { buildDesired, serviceVIPs, type DesiredOptions } from '../../../modes/ipvs/desired.js';
import { DesiredIndex } from '../../../modes/ipvs/desired-index.js';
import { buildMembership } from '../../../modes/ipvs/ipsets.js';
import { silentLogger } from '../../../proxy/log.js';
import type { ProxyState } from '../../../proxy/model/types.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import { FakeIptablesRunner } from '../../fakes/iptables/fake-runner.js';
import { changesBetween } from '../../support/changes.js';
import { everyOtherFlatService, FLAT_NODE, flatCluster, flatEndpoints, flatService, withNewEndpoints } from '../../support/flat-cluster.js';
import { countWalks } from '../../support/walk-counter.js';
import { FakeIpset, FakeIpvs, FakeLink, config, inertConntrack } from './fixtures.js';

const N = 3000;
const NODE_IP = FLAT_NODE.addresses[0]!;

describe('IPVS partial sync after one endpoint change', () => {
  it(`walks no collection of the cluster's size and looks up O(1) keys (${N} services, dual-stack config)`, async () => {
    const ipvs = new FakeIpvs();
    const ipset = new FakeIpset();
    const link = new FakeLink();
    const metrics = new ProxyMetrics({ processMetrics: false });
    const dp = await createIpvsDataplane({
      config: config(),
      logger: silentLogger,
      metrics,
      families: ['IPv4', 'IPv6'],
      nodeIPs: () => ['127.0.0.1', NODE_IP, ...link.addrs],
      ipvs,
      runner: new FakeIptablesRunner(),
      ipset,
      link,
      sysctl: async () => undefined,
      clock: () => 0,
      conntrack: inertConntrack,
    });
    let c = flatCluster(N);
    await dp.sync({ state: c.state, changes: changesBetween(undefined, c.state), full: true });
    const vs = (await metrics.registry.getSingleMetric('kubeproxy_ts_ipvs_virtual_servers')!.get()).values;
    expect(vs.find((v) => v.labels['ip_family'] === 'IPv4')?.value).toBeGreaterThan(N);
    for (const i of [7, 1502, 2999]) {
      const next = withNewEndpoints(c, i, 1);
      const changes = changesBetween(c.state, next.state);
      next.services.lookups = next.endpoints.lookups = 0;
      const opsBefore = ipvs.operations;
      const { result, walks } = await countWalks(N / 3, () => dp.sync({ state: next.state, changes, full: false }));
      expect(result.full).toBe(false);
      expect(walks.big.map((w) => `${w.size}: ${w.stack}`)).toEqual([]);
      expect(next.services.lookups + next.endpoints.lookups).toBeLessThanOrEqual(20);
      // And it did program the change: one endpoint out, one in, on each of its virtual servers.
      expect(ipvs.operations - opsBefore).toBeGreaterThan(0);
      c = next;
    }
    // The kernel (fakes) now holds what a full sync from scratch would program.
    const fresh = buildDesired(c.state, { family: 'IPv4', scheduler: '', nodePortIPs: [NODE_IP] });
    expect(ipvs.table.size).toBe(fresh.virtualServers.size);
    for (const [k, d] of fresh.virtualServers) expect(ipvs.realServers(d.vs).map((r) => `${r.address}:${r.port}`).sort(), k).toEqual(d.realServers.map((r) => `${r.address}:${r.port}`).sort());
    const sets = ipset.membership();
    for (const [name, entries] of buildMembership(c.state, 'IPv4', [NODE_IP])) expect([...(sets.get(name) ?? [])].sort(), name).toEqual([...entries].sort());
    expect([...link.addrs].sort()).toEqual([...serviceVIPs(c.state, 'IPv4')].sort());
  }, 180_000);
});

// ---- the incremental index == the from-scratch builders, after random change sequences ----

const SERVICES = 10;
type Op =
  | { kind: 'endpoints'; i: number; version: number; drop: number }
  | { kind: 'remove'; i: number }
  | { kind: 'add'; i: number }
  | { kind: 'share'; i: number; j: number }
  | { kind: 'local'; i: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('endpoints' as const), i: fc.nat(SERVICES - 1), version: fc.nat(4), drop: fc.nat(2) }),
  fc.record({ kind: fc.constant('remove' as const), i: fc.nat(SERVICES - 1) }),
  fc.record({ kind: fc.constant('add' as const), i: fc.nat(SERVICES - 1) }),
  // Two services claiming one external IP (the virtual server goes to the first by key).
  fc.record({ kind: fc.constant('share' as const), i: fc.nat(SERVICES - 1), j: fc.nat(SERVICES - 1) }),
  fc.record({ kind: fc.constant('local' as const), i: fc.nat(SERVICES - 1) }),
);

function applyOp(s: ProxyState, o: Op): ProxyState {
  const services = new Map(s.services);
  const endpoints = new Map(s.endpoints);
  const key = flatService(o.i).key;
  const sp = services.get(key);
  switch (o.kind) {
    case 'endpoints':
      if (sp) endpoints.set(key, flatEndpoints(o.i, o.version).slice(o.drop));
      break;
    case 'remove':
      services.delete(key);
      endpoints.delete(key);
      break;
    case 'add':
      if (!sp) {
        services.set(key, flatService(o.i));
        endpoints.set(key, flatEndpoints(o.i));
      }
      break;
    case 'share': {
      const other = services.get(flatService(o.j).key);
      if (sp && other) services.set(key, { ...sp, externalIPs: [other.clusterIPs[0]!], port: other.port });
      break;
    }
    case 'local':
      if (sp) {
        const local = sp.externalTrafficPolicy === 'Local';
        services.set(key, { ...sp, type: 'NodePort', nodePort: sp.nodePort || 30500 + o.i, externalTrafficPolicy: local ? 'Cluster' : 'Local', healthCheckNodePort: local ? 0 : 32500 + o.i });
      }
      break;
  }
  return { services, endpoints, node: s.node };
}

const initial = (): ProxyState => everyOtherFlatService(SERVICES);

const summary = (ix: { virtualServers: ReadonlyMap<string, unknown>; byService: ReadonlyMap<string, readonly string[]> }) => ({
  virtualServers: new Map([...ix.virtualServers].sort(([a], [b]) => (a < b ? -1 : 1))),
  byService: new Map([...ix.byService].sort(([a], [b]) => (a < b ? -1 : 1))),
});

describe('DesiredIndex', () => {
  it('after any change sequence equals buildDesired, buildMembership and serviceVIPs of the same state', () => {
    const o: DesiredOptions = { family: 'IPv4', scheduler: 'rr', nodePortIPs: [NODE_IP] };
    fc.assert(
      fc.property(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 12 }), (batches) => {
        let s = initial();
        const ix = DesiredIndex.build(s, o);
        // What the kernel would hold if every delta were applied: starts as a full sync writes it.
        const sets = new Map([...buildMembership(s, 'IPv4', o.nodePortIPs)].map(([k, v]) => [k, new Set(v)]));
        const vips = new Set(serviceVIPs(s, 'IPv4'));
        for (const batch of batches) {
          const next = batch.reduce(applyOp, s);
          const d = ix.update(next, changesBetween(s, next).changed, next.node);
          for (const [name, e] of d.membersRemoved) sets.get(name)?.delete(e);
          for (const [name, e] of d.membersAdded) (sets.get(name) ?? sets.set(name, new Set()).get(name)!).add(e);
          for (const v of d.vipsRemoved) vips.delete(v);
          for (const v of d.vipsAdded) vips.add(v);
          s = next;
          const want = buildDesired(s, o);
          expect(summary(ix)).toEqual(summary(want));
          expect(ix.realServers).toBe([...want.virtualServers.values()].reduce((n, v) => n + v.realServers.length, 0));
          expect([...ix.nodePortKeys].sort()).toEqual([...want.virtualServers.values()].filter((v) => v.kind === 'nodePort').map((v) => v.key).sort());
          expect([...ix.vips].sort()).toEqual([...want.vips].sort());
          expect([...vips].sort()).toEqual([...want.vips].sort());
          const m = buildMembership(s, 'IPv4', o.nodePortIPs);
          for (const [name, entries] of m) {
            expect([...(ix.toMembership().get(name) ?? [])].sort(), name).toEqual([...entries].sort());
            expect([...(sets.get(name) ?? [])].sort(), `applied deltas: ${name}`).toEqual([...entries].sort());
          }
        }
      }),
      { numRuns: 100 },
    );
  }, 120_000);
});
