// Issue #16 item 9: what the IPVS dataplane asks conntrack to delete after a sync (stale UDP
// flows), on the in-memory IPVS/ipset/iptables fakes with a recording Conntrack. The packets-level
// proof is test/ipvs-guest/ipvs-udp-conntrack.test.ts.

import { describe, expect, it } from 'vitest';
import { createIpvsDataplane } from '../../../modes/ipvs/dataplane.js';
import type { Conntrack } from '../../../modes/shared/conntrack.js';
import { silentLogger } from '../../../proxy/log.js';
import type { ChangeSet, IPFamily } from '../../../proxy/model/types.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import { FakeIptablesRunner } from '../../fakes/iptables/fake-runner.js';
import { FakeIpset, FakeIpvs, FakeLink, NODE_IP, config, ep, sp, state } from './fixtures.js';

const NONE: ChangeSet = { changed: new Set(), removed: new Set(), nodeChanged: false, triggerTimes: [] };
const changed = (...keys: string[]): ChangeSet => ({ ...NONE, changed: new Set(keys) });

async function harness(families: IPFamily[] = ['IPv4'], failing = false) {
  const calls: string[] = [];
  const rec =
    (op: string) =>
    async (...args: unknown[]): Promise<void> => {
      calls.push(`${op} ${args.join(' ')}`);
      if (failing) throw new Error('conntrack: operation failed');
    };
  const conntrack: Conntrack = {
    clearEntriesForIP: rec('ip'),
    clearEntriesForPort: rec('port'),
    clearEntriesForNAT: rec('nat'),
    clearEntriesForPortNAT: rec('portNat'),
  };
  const link = new FakeLink();
  const dp = await createIpvsDataplane({
    config: config(),
    logger: silentLogger,
    metrics: new ProxyMetrics({ processMetrics: false }),
    families,
    nodeIPs: () => ['127.0.0.1', NODE_IP, '2001:db8::2', ...link.addrs],
    ipvs: new FakeIpvs(),
    runner: new FakeIptablesRunner(),
    ipset: new FakeIpset(),
    link,
    sysctl: async () => undefined,
    clock: () => 0,
    conntrack,
  });
  /** The calls made by the next sync only. */
  const sync = async (...args: Parameters<typeof dp.sync>): Promise<string[]> => {
    calls.length = 0;
    await dp.sync(...args);
    return [...calls];
  };
  return { dp, sync };
}

const dns = sp('dns', { protocol: 'UDP', port: 53, clusterIPs: ['198.19.0.53'], externalIPs: ['192.0.2.5'] });
const npDns = sp('npdns', { protocol: 'UDP', port: 53, type: 'NodePort', nodePort: 30053, clusterIPs: ['198.19.0.54'] });

describe('IPVS dataplane: stale UDP conntrack cleanup', () => {
  it('an endpoint that goes away: its flows to the service IPs are deleted, nothing else', async () => {
    const h = await harness();
    await h.sync({ state: state([[dns, [ep('10.0.0.1'), ep('10.0.0.2')]]]), changes: changed(dns.key), full: true });
    const calls = await h.sync({ state: state([[dns, [ep('10.0.0.2')]]]), changes: changed(dns.key), full: false });
    expect(calls).toEqual(['nat 198.19.0.53 10.0.0.1 UDP', 'nat 192.0.2.5 10.0.0.1 UDP']);
  });

  it('a NodePort endpoint replaced: the NodePort flows to the old endpoint go too', async () => {
    const h = await harness();
    await h.sync({ state: state([[npDns, [ep('10.0.0.1')]]]), changes: changed(npDns.key), full: true });
    const calls = await h.sync({ state: state([[npDns, [ep('10.0.0.9')]]]), changes: changed(npDns.key), full: false });
    expect(calls).toEqual(['nat 198.19.0.54 10.0.0.1 UDP', 'portNat 10.0.0.1 30053 UDP']);
  });

  it('a UDP service port gets its first endpoint: the flows black-holed meanwhile are deleted', async () => {
    const h = await harness();
    await h.sync({ state: state([[npDns, []], [dns, []]]), changes: changed(npDns.key, dns.key), full: true });
    expect(await h.sync({ state: state([[npDns, [ep('10.0.0.1')]], [dns, []]]), changes: changed(npDns.key), full: false })).toEqual([
      'ip 198.19.0.54 UDP',
      'port 30053 false UDP',
    ]);
    // From the first one to two endpoints: nothing was black-holed.
    expect(await h.sync({ state: state([[npDns, [ep('10.0.0.1'), ep('10.0.0.2')]], [dns, []]]), changes: changed(npDns.key), full: false })).toEqual([]);
  });

  it('a deleted UDP service: flows to its cluster IP are deleted (the IP may be reused)', async () => {
    const h = await harness();
    await h.sync({ state: state([[dns, [ep('10.0.0.1')]]]), changes: changed(dns.key), full: true });
    expect(await h.sync({ state: state([]), changes: changed(dns.key), full: false })).toEqual(['ip 198.19.0.53 UDP']);
  });

  it('TCP services and syncs without endpoint changes delete nothing (periodic full syncs included)', async () => {
    const h = await harness();
    const web = sp('web', { clusterIPs: ['198.19.0.80'] });
    await h.sync({ state: state([[web, [ep('10.0.0.1')]], [dns, [ep('10.0.0.1')]]]), changes: changed(web.key, dns.key), full: true });
    expect(await h.sync({ state: state([[web, [ep('10.0.0.2')]], [dns, [ep('10.0.0.1')]]]), changes: changed(web.key), full: false })).toEqual([]);
    expect(await h.sync({ state: state([[web, [ep('10.0.0.2')]], [dns, [ep('10.0.0.1')]]]), changes: NONE, full: true })).toEqual([]);
  });

  // Partial syncs trust the change set (looking at every service would cost O(cluster) per change);
  // the next full sync compares every service port and cleans what a change set missed.
  it('an endpoint change not reported as changed is cleaned by the next full sync', async () => {
    const h = await harness();
    await h.sync({ state: state([[dns, [ep('10.0.0.1')]]]), changes: changed(dns.key), full: true });
    expect(await h.sync({ state: state([[dns, [ep('10.0.0.2')]]]), changes: NONE, full: true })).toEqual([
      'nat 198.19.0.53 10.0.0.1 UDP',
      'nat 192.0.2.5 10.0.0.1 UDP',
    ]);
  });

  it('after a restart (no previous state) every UDP service with endpoints has its flows reset', async () => {
    const h = await harness();
    // Nothing says where the old process sent these flows; upstream clears them the same way.
    expect(await h.sync({ state: state([[dns, [ep('10.0.0.1')]]]), changes: NONE, full: true })).toEqual([
      'ip 198.19.0.53 UDP',
      'ip 192.0.2.5 UDP',
    ]);
  });

  it('dual stack: each family`s flows are cleaned in that family', async () => {
    const h = await harness(['IPv4', 'IPv6']);
    const ds = sp('ds', { protocol: 'UDP', port: 53, clusterIPs: ['198.19.0.55', '2001:db8:ff::55'] });
    const eps = [ep('10.0.0.1'), ep('2001:db8:1::1', { family: 'IPv6' })];
    await h.sync({ state: state([[ds, eps]]), changes: changed(ds.key), full: true });
    const calls = await h.sync({ state: state([[ds, [ep('10.0.0.2'), ep('2001:db8:1::2', { family: 'IPv6' })]]]), changes: changed(ds.key), full: false });
    expect(calls).toEqual(['nat 198.19.0.55 10.0.0.1 UDP', 'nat 2001:db8:ff::55 2001:db8:1::1 UDP']);
  });

  it('a failing conntrack call does not fail the sync', async () => {
    const h = await harness(['IPv4'], true);
    await h.sync({ state: state([[dns, [ep('10.0.0.1')]]]), changes: changed(dns.key), full: true });
    await expect(h.sync({ state: state([[dns, [ep('10.0.0.2')]]]), changes: changed(dns.key), full: false })).resolves.toHaveLength(2);
  });
});

// Issue #16 item 5 for IPVS mode (here for the dual-stack harness above): each family's own time.
describe('IPVS dataplane: per-family sync time', () => {
  it('reports a duration for each family, each its own', async () => {
    const h = await harness(['IPv4', 'IPv6']);
    const v4 = Array.from({ length: 300 }, (_, i) => [sp(`v4-${i}`, { clusterIPs: [`198.19.1.${i % 250}`], port: 1000 + i }), [ep(`10.0.${i >> 8}.${i & 255}`)]] as [ReturnType<typeof sp>, ReturnType<typeof ep>[]]);
    const v6: [ReturnType<typeof sp>, ReturnType<typeof ep>[]] = [sp('v6', { clusterIPs: ['2001:db8:ff::10'] }), [ep('2001:db8:1::1', { family: 'IPv6' })]];
    const r = await h.dp.sync({ state: state([...v4, v6]), changes: NONE, full: true });
    expect([...(r.familySeconds?.keys() ?? [])]).toEqual(['IPv4', 'IPv6']);
    const [s4, s6] = [r.familySeconds!.get('IPv4')!, r.familySeconds!.get('IPv6')!];
    expect(s4).toBeGreaterThan(0);
    expect(s6).toBeGreaterThan(0);
    expect(s4).not.toBe(s6);
  });
});
