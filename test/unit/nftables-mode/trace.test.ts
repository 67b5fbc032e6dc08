// The nftables tracer over a table as the (fake) kernel dumps it after a real sync: which chains a
// new connection walks, every endpoint with its numgen share, masquerade marks, the no-endpoint
// reject, the no-local-endpoint drop, LB source ranges, NodePorts and the JSON round trip the CLI
// uses.

import { describe, expect, it } from 'vitest';
import { dumpFromJson, dumpToJson } from '../../../modes/nftables/trace/dump-json.js';
import { traceNftPacket, type NftTraceInput } from '../../../modes/nftables/trace/tracer.js';
import { changes, ep, harness, localEp, NODE_IP, sp, state } from './fixtures.js';

const web = sp('default', 'web', { clusterIPs: ['198.19.0.10'] });
const empty = sp('default', 'empty', { clusterIPs: ['198.19.0.11'] });
const np = sp('default', 'np', { type: 'NodePort', nodePort: 30080, clusterIPs: ['198.19.0.12'], externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 });
const lb = sp('default', 'lb', {
  type: 'LoadBalancer',
  nodePort: 30081,
  clusterIPs: ['198.19.0.13'],
  loadBalancerIPs: ['198.18.200.13'],
  loadBalancerSourceRanges: ['203.0.113.0/24'],
});
const aff = sp('default', 'aff', { clusterIPs: ['198.19.0.14'], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } });

async function dump() {
  const h = harness();
  await h.dp.sync({
    state: state([
      [web, [ep('198.18.1.1'), ep('198.18.1.2'), ep('198.18.1.3')]],
      [empty, []],
      [np, [ep('198.18.1.4')]],
      [lb, [ep('198.18.1.5'), localEp('198.18.16.5')]],
      [aff, [ep('198.18.1.6'), ep('198.18.1.7')]],
    ]),
    changes: changes([]),
    full: true,
  });
  // Through the JSON the daemon serves on /debug/rules, as the CLI gets it.
  return dumpFromJson(dumpToJson((await h.client.dumpTable('ip', 'kube-proxy'))!));
}

const pkt = (dst: string, dport: number, extra: Partial<NftTraceInput> = {}): NftTraceInput => ({
  src: '198.18.128.20',
  dst,
  dport,
  protocol: 'tcp',
  localAddresses: [NODE_IP, '127.0.0.1'],
  ...extra,
});

describe('nftables trace', () => {
  it('a cluster IP: every endpoint with a third, through services, the flat rules and its count class', async () => {
    const r = traceNftPacket(await dump(), pkt('198.19.0.10', 80));
    expect(r.verdict).toBe('DNAT');
    expect(r.chainPath.slice(0, 4)).toEqual(['filter-prerouting', 'firewall-check', 'nat-prerouting', 'services']);
    expect(r.chainPath).toContain('flat-ips');
    expect(r.chainPath).toContain('cluster-classes');
    expect(r.destinations.map((d) => [d.ip, d.port]).sort()).toEqual([['198.18.1.1', 8080], ['198.18.1.2', 8080], ['198.18.1.3', 8080]]);
    for (const d of r.destinations) expect(d.probability).toBeCloseTo(1 / 3, 10);
    const steps = r.outcomes[0]!.steps.join('\n');
    expect(steps).toMatch(/services #3: in @flat-ips 198\.19\.0\.10 \. tcp \. 80; goto flat-ips/);
    // The numgen is the last field of the map's key: one branch per value, each finding its slot.
    expect(steps).toMatch(/in @cluster-3 198\.19\.0\.10 \. tcp \. 80; numgen random mod 3 = (\d); @cluster-endpoints 198\.19\.0\.10 \. tcp \. 80 \. \1 : 198\.18\.1\.\d \. 8080; dnat to 198\.18\.1\.\d:8080/);
    // A pod source (inside the cluster CIDR) is not masqueraded.
    expect(r.masquerade).toBe(false);
  });

  it('an off-cluster source to a cluster IP is marked and masqueraded in postrouting', async () => {
    const r = traceNftPacket(await dump(), pkt('198.19.0.10', 80, { src: '203.0.113.9' }));
    expect(r.masquerade).toBe(true);
    expect(r.chainPath).toContain('mark-for-masquerade');
    expect(r.outcomes[0]!.steps.join('\n')).toMatch(/masquerading #3: masquerade/);
  });

  it('hairpin: a pod landing on itself is masqueraded (after DNAT, in nat-postrouting), the others not', async () => {
    const r = traceNftPacket(await dump(), pkt('198.19.0.10', 80, { src: '198.18.1.1' }));
    const self = r.outcomes.filter((o) => o.ip === '198.18.1.1');
    const others = r.outcomes.filter((o) => o.ip !== '198.18.1.1');
    expect(self.map((o) => o.masquerade)).toEqual([true]);
    expect(self[0]!.steps.join('\n')).toMatch(/nat-postrouting #1 \(hairpin\): in @hairpin-endpoints 198\.18\.1\.1 \. 198\.18\.1\.1; jump mark-for-masquerade/);
    expect(others.length).toBe(2);
  });

  it('a service without endpoints is rejected in filter-forward, before any DNAT', async () => {
    const r = traceNftPacket(await dump(), pkt('198.19.0.11', 80));
    expect(r.verdict).toBe('REJECT');
    expect(r.destinations).toEqual([]);
    expect(r.outcomes[0]!.steps.join('\n')).toMatch(/@no-endpoint-services 198\.19\.0\.11 \. tcp \. 80 : goto reject-chain/);
  });

  it('a NodePort with ETP Local and no local endpoint is dropped; via the node IP', async () => {
    const r = traceNftPacket(await dump(), pkt(NODE_IP, 30080, { src: '203.0.113.9' }));
    expect(r.verdict).toBe('DROP');
    expect(r.chainPath).toContain('nodeport-endpoints-check');
  });

  it('LB source ranges: allowed sources reach the endpoints, others are dropped', async () => {
    const d = await dump();
    const ok = traceNftPacket(d, pkt('198.18.200.13', 80, { src: '203.0.113.7' }));
    expect(ok.verdict).toBe('DNAT');
    expect(ok.destinations.map((x) => x.ip).sort()).toEqual(['198.18.1.5', '198.18.16.5']);
    const denied = traceNftPacket(d, pkt('198.18.200.13', 80, { src: '192.0.2.7' }));
    expect(denied.verdict).toBe('DROP');
    expect(denied.outcomes[0]!.steps.join('\n')).toMatch(/firewall-check #1: in @firewall-ips .*not in @firewall-allow; drop/);
  });

  it('a packet from the node itself goes through the output hook', async () => {
    const r = traceNftPacket(await dump(), pkt('198.19.0.10', 80, { src: NODE_IP, locallyOriginated: true }));
    expect(r.verdict).toBe('DNAT');
    expect(r.chainPath[0]).toBe('filter-output');
    expect(r.chainPath).toContain('nat-output');
  });

  it('ClientIP affinity: a new client gets each endpoint with half', async () => {
    const r = traceNftPacket(await dump(), pkt('198.19.0.14', 80));
    expect(r.destinations.map((d) => [d.ip, d.probability]).sort()).toEqual([['198.18.1.6', 0.5], ['198.18.1.7', 0.5]]);
    expect(r.outcomes.map((o) => o.steps.join('\n')).join('\n')).toMatch(/update @affinity-/);
  });

  it("cluster-ips-check: a cluster IP's unused port is rejected after DNAT, arriving or from the node", async () => {
    const d = await dump();
    for (const locallyOriginated of [false, true]) {
      const r = traceNftPacket(d, pkt('198.19.0.10', 81, { locallyOriginated, ...(locallyOriginated ? { src: NODE_IP } : {}) }));
      expect(r.verdict).toBe('REJECT');
      expect(r.outcomes[0]!.steps.join('\n')).toMatch(/cluster-ips-check #1 \(Reject traffic to invalid ports of ClusterIPs\): in @cluster-ips 198\.19\.0\.10; reject/);
      // The service's own port still reaches its endpoints (DNAT happened before the check).
      expect(traceNftPacket(d, pkt('198.19.0.10', 80, { locallyOriginated, ...(locallyOriginated ? { src: NODE_IP } : {}) })).verdict).toBe('DNAT');
    }
    // Also a cluster IP whose service has no endpoints (rejected earlier, by no-endpoint-services).
    expect(traceNftPacket(d, pkt('198.19.0.11', 81)).verdict).toBe('REJECT');
  });

  it('IPv6: 16-byte addresses through the dispatch key, the endpoint map and cluster-ips-check', async () => {
    const h = harness({ families: ['IPv4', 'IPv6'] });
    const v6 = sp('default', 'v6', { clusterIPs: ['2001:db8:2::10'] });
    await h.dp.sync({ state: state([[v6, [ep('2001:db8:1::1'), ep('2001:db8:1::2')]]]), changes: changes([]), full: true });
    const d = (await h.client.dumpTable('ip6', 'kube-proxy'))!;
    const six = (dst: string, dport: number): NftTraceInput => ({ src: '2001:db8:1::99', dst, dport, protocol: 'tcp', localAddresses: ['2001:db8::2'] });
    const r = traceNftPacket(d, six('2001:db8:2::10', 80));
    expect(r.destinations.map((x) => [x.ip, x.port, x.probability]).sort()).toEqual([['2001:db8:1::1', 8080, 0.5], ['2001:db8:1::2', 8080, 0.5]]);
    expect(traceNftPacket(d, six('2001:db8:2::10', 81)).verdict).toBe('REJECT');
  });

  it('a destination no service uses is accepted untouched', async () => {
    const r = traceNftPacket(await dump(), pkt('198.18.1.1', 8080));
    expect(r.verdict).toBe('ACCEPT');
    expect(r.destinations).toEqual([]);
  });
});
