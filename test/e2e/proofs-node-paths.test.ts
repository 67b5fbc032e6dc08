// iptables and nftables modes (one list of scenarios run for both), with packets, for paths
// operators rely on beyond the basic suite:
//   - traffic from the node itself (kubelet probes, hostNetwork pods): ClusterIPs of both families
//     from the node namespace and 127.0.0.1:<nodePort> (iptables mode accepts localhost NodePorts
//     by default, as upstream; nftables mode never does);
//   - --nodeport-addresses: node B selects 198.18.0.2/32 only, so its second LAN address
//     198.18.0.12 does not answer the NodePort (nor does 127.0.0.1), while node A's second address
//     198.18.0.11 answers in iptables mode (default: all addresses) and not in nftables mode
//     (default: the node's primary IPs, as upstream);
//   - dual stack: an IPv6 NodePort, ETP Local over IPv6 on both nodes (source kept, only local
//     endpoints), IPv6 LoadBalancer source ranges allowed and denied;
//   - topology hints: a zone-labelled node balances over exactly the endpoints hinted for its
//     zone (chi-square), and over all of them when the hints do not cover its zone or do not
//     cover every endpoint.
// One cluster and one daemon per node for the whole file, per mode.

import { makeEndpointSlice, makeNode, type EndpointSpec } from '../apiserver/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BALANCE_ALPHA, chiSquareTest, describeChiSquare, uniformShares } from '../support/chi-square.js';
import { createCluster, nsExecOk, requireRoot, tally, tcpHits, type Cluster, type Hit, type NodeHandle } from './harness/index.js';
import { dnatTargets, eventually, iptablesSave, service, slice, startApi, startProxy, type Proxy, type SvcEndpoint, type TestEnv } from './iptables-helpers.js';
import { E2E_MODES, modeOps, nftList, nftTargets, type E2EMode } from './mode-helpers.js';
import { expectCleanExits, stopProxies } from './proofs/exit-codes.js';

const EXTRA_A = '198.18.0.11';
const EXTRA_B = '198.18.0.12';
const LB_V6_CIDR = '2001:db8:200::/64';
const ALL = ['a1', 'a2', 'b1', 'b2'] as const;
// "Every endpoint answered" checks use 64 connections: with 4 endpoints, a working balancer misses
// one with probability 4 * (3/4)^64 < 1e-7 (16 connections: 4 %, a flaky test).
/** Connections per chi-square check: expected >= 100 per endpoint, far above the test's minimum of 5. */
const PER_ENDPOINT = 100;

/** The DNAT targets `ns` programs for service port `key`, whatever they are. */
async function programmedTargets(mode: E2EMode, ns: string, key: string): Promise<string[]> {
  return mode === 'iptables' ? dnatTargets(await iptablesSave(ns, 'IPv4', 'nat'), key) : nftTargets(await nftList(ns), key);
}

const names = (hits: readonly Hit[]): string[] => Object.keys(tally(hits)).sort();
/** Every hit answered and seen by the echo as coming from `ip` (the echo reports "ip:port"). */
const allFrom = (hits: readonly Hit[], ip: string): boolean => hits.every((h) => h.src?.startsWith(`${ip}:`) === true);

describe.skipIf(!requireRoot()).each(E2E_MODES)('%s mode: node-originated traffic, --nodeport-addresses, dual stack, topology (packets)', (mode) => {
  const m = modeOps(mode);
  let c: Cluster;
  let env: TestEnv;
  const proxies: Proxy[] = [];
  const ep4 = (n: string): SvcEndpoint => ({ ip: c.pod(n).ipv4, nodeName: c.pod(n).nodeName });
  /** An EndpointSlice with zones and zone hints (the plain slice() helper carries neither). */
  const zonedSlice = (svc: string, eps: readonly EndpointSpec[]) =>
    makeEndpointSlice({ service: svc, namespace: 'default', name: `${svc}-v4`, addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }], endpoints: eps });
  const zep = (n: string, hintZones?: string[]): EndpointSpec => ({ ...ep4(n), zone: n.startsWith('a') ? 'zone-a' : 'zone-b', ...(hintZones ? { hintZones } : {}) });
  const ep6 = (n: string) => ({ ip: c.pod(n).ipv6, nodeName: c.pod(n).nodeName });
  const t4 = (n: string): string => `${c.pod(n).ipv4}:8080`;
  const t6 = (n: string): string => `[${c.pod(n).ipv6}]:8080`;

  function dual(s: Parameters<typeof service>[0] & { clusterIPs: [string, string] }) {
    const svc = service({ ...s, clusterIP: s.clusterIPs[0], ipFamilies: ['IPv4', 'IPv6'] });
    svc.spec = { ...svc.spec, ipFamilyPolicy: 'RequireDualStack' };
    return svc;
  }

  beforeAll(async () => {
    c = await createCluster();
    env = await startApi(c);
    const { api } = env;
    // Zones for the topology scenarios (the Nodes startApi made, with a zone label added).
    for (const [n, zone] of [[c.nodes.a, 'zone-a'], [c.nodes.b, 'zone-b']] as const) {
      api.update(makeNode({ name: n.name, internalIPs: [n.ipv4, n.ipv6], podCIDRs: [n.podCIDRv4, n.podCIDRv6], zone }));
    }
    // A second LAN address per node, and the external client's route to the IPv6 LB range.
    await nsExecOk(c.nodes.a.ns, ['ip', 'addr', 'add', `${EXTRA_A}/24`, 'dev', 'eth0']);
    await nsExecOk(c.nodes.b.ns, ['ip', 'addr', 'add', `${EXTRA_B}/24`, 'dev', 'eth0']);
    await nsExecOk(c.external.ns, ['ip', '-6', 'route', 'add', LB_V6_CIDR, 'via', c.nodes.a.ipv6]);

    api.create(service({ name: 'np', type: 'NodePort', clusterIP: '198.19.5.10', nodePort: 30050 }));
    api.create(slice('np', ALL.map((n) => ep4(n))));

    api.create(dual({ name: 'dual', type: 'NodePort', clusterIPs: ['198.19.5.20', '2001:db8:ff::5:20'], nodePort: 30051 }));
    api.create(slice('dual', ALL.map((n) => ep4(n))));
    api.create(slice('dual', ALL.map(ep6), { family: 'IPv6' }));

    api.create(
      dual({
        name: 'dlocal',
        type: 'LoadBalancer',
        clusterIPs: ['198.19.5.30', '2001:db8:ff::5:30'],
        nodePort: 30052,
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 31052,
        loadBalancerIngressIPs: ['198.18.200.30', '2001:db8:200::30'],
      }),
    );
    api.create(slice('dlocal', ['a1', 'b1'].map((n) => ep4(n))));
    api.create(slice('dlocal', ['a1', 'b1'].map(ep6), { family: 'IPv6' }));

    for (const [name, last, ranges] of [
      ['dlb', 31, ['198.18.0.100/32', '2001:db8::100/128']],
      ['dlbdeny', 32, ['198.18.99.0/24', '2001:db8:99::/64']],
    ] as const) {
      api.create(
        dual({
          name,
          type: 'LoadBalancer',
          clusterIPs: [`198.19.5.${last}`, `2001:db8:ff::5:${last}`],
          nodePort: 30000 + last,
          loadBalancerIngressIPs: [`198.18.200.${last}`, `2001:db8:200::${last}`],
          loadBalancerSourceRanges: [...ranges],
        }),
      );
      api.create(slice(name, ALL.map((n) => ep4(n))));
      api.create(slice(name, ALL.map(ep6), { family: 'IPv6' }));
    }

    // Topology hints: "zoned" hints each node's pods to its own zone; "zother" hints node B's
    // pods to a zone no node is in (node B's zone is not covered); "zpartial" leaves b2 unhinted.
    const zoneOf = (n: string): string => (n.startsWith('a') ? 'zone-a' : 'zone-b');
    api.create(service({ name: 'zoned', clusterIP: '198.19.5.60' }));
    api.create(zonedSlice('zoned', ALL.map((n) => zep(n, [zoneOf(n)]))));
    api.create(service({ name: 'zother', clusterIP: '198.19.5.61' }));
    api.create(zonedSlice('zother', ALL.map((n) => zep(n, [n.startsWith('a') ? 'zone-a' : 'zone-c']))));
    api.create(service({ name: 'zpartial', clusterIP: '198.19.5.62' }));
    api.create(zonedSlice('zpartial', ALL.map((n) => zep(n, n === 'b2' ? undefined : [zoneOf(n)]))));

    proxies.push(
      ...(await Promise.all([
        startProxy(env, c.nodes.a, {}, m.flavour),
        startProxy(env, c.nodes.b, { extraArgs: [`--nodeport-addresses=${c.nodes.b.ipv4}/32`] }, m.flavour),
      ])),
    );
    for (const n of [c.nodes.a, c.nodes.b]) {
      await m.waitForTargets(n.ns, 'default/np:http', ALL.map(t4));
      await m.waitForTargets(n.ns, 'default/dual:http', ALL.map(t6), { family: 'IPv6' });
      await m.waitForTargets(n.ns, 'default/dlocal:http', ['a1', 'b1'].map(t6), { family: 'IPv6' });
      await m.waitForTargets(n.ns, 'default/dlbdeny:http', ALL.map(t6), { family: 'IPv6' });
    }
  });

  afterAll(async () => {
    const stopped = await stopProxies(proxies);
    await env?.close();
    await c?.destroy();
    expectCleanExits(stopped);
  });

  it('from the node namespace: IPv4 and IPv6 ClusterIPs reach every endpoint', async () => {
    expect(names(await tcpHits(c.nodes.a.ns, '198.19.5.10', 80, 64))).toEqual([...ALL]);
    expect(names(await tcpHits(c.nodes.a.ns, '2001:db8:ff::5:20', 80, 64))).toEqual([...ALL]);
    // Node B too (its NodePort selection does not touch ClusterIPs).
    expect(names(await tcpHits(c.nodes.b.ns, '198.19.5.10', 80, 64))).toEqual([...ALL]);
  });

  it(`127.0.0.1:<nodePort> from the node: ${mode === 'iptables' ? 'served (localhost NodePorts, masqueraded off loopback)' : 'refused (nftables mode never serves it)'}`, async () => {
    const hits = await tcpHits(c.nodes.a.ns, '127.0.0.1', 30050, mode === 'iptables' ? 64 : 2);
    if (mode === 'iptables') {
      expect(names(hits), JSON.stringify(tally(hits))).toEqual([...ALL]);
      // A 127.0.0.1 source cannot leave the node: the endpoints see the node's address instead.
      expect(hits.every((h) => h.src !== undefined && !h.src.startsWith('127.')), JSON.stringify(hits)).toBe(true);
    } else {
      expect(tally(hits)).toEqual({ 'error:ECONNREFUSED': 2 });
    }
  });

  it('--nodeport-addresses: node B answers its NodePort on the selected address only', async () => {
    expect(names(await tcpHits(c.external.ns, c.nodes.b.ipv4, 30050, 64))).toEqual([...ALL]);
    expect(tally(await tcpHits(c.external.ns, EXTRA_B, 30050, 2, { timeoutMs: 1000 }))).toEqual({ 'error:ECONNREFUSED': 2 });
    // Loopback is not selected either, so no localhost NodePort on node B in any mode.
    expect(tally(await tcpHits(c.nodes.b.ns, '127.0.0.1', 30050, 1, { timeoutMs: 1000 }))).toEqual({ 'error:ECONNREFUSED': 1 });
    // The ClusterIP of the same service is unaffected on node B.
    expect(names(await tcpHits(c.nodes.b.ns, '198.19.5.10', 80, 64))).toEqual([...ALL]);
  });

  it(`default NodePort addresses on node A: primary address served, second address ${mode === 'iptables' ? 'served (all)' : 'not served (primary only)'}`, async () => {
    expect(names(await tcpHits(c.external.ns, c.nodes.a.ipv4, 30050, 64))).toEqual([...ALL]);
    const extra = await tcpHits(c.external.ns, EXTRA_A, 30050, mode === 'iptables' ? 64 : 2, { timeoutMs: 1000 });
    if (mode === 'iptables') expect(names(extra), JSON.stringify(tally(extra))).toEqual([...ALL]);
    else expect(tally(extra)).toEqual({ 'error:ECONNREFUSED': 2 });
  });

  it('dual stack: IPv6 NodePort on both nodes reaches every IPv6 endpoint, masqueraded', async () => {
    for (const node of [c.nodes.a, c.nodes.b]) {
      const hits = await tcpHits(c.external.ns, node.ipv6, 30051, 64);
      expect(names(hits), `${node.name}: ${JSON.stringify(tally(hits))}`).toEqual([...ALL]);
      expect(hits.every((h) => h.src !== undefined && !h.src.startsWith(`${c.external.ipv6}:`)), JSON.stringify(hits)).toBe(true);
    }
  });

  it('dual stack: IPv6 externalTrafficPolicy Local serves only local endpoints and keeps the client source', async () => {
    for (const [node, local] of [[c.nodes.a, 'a1'], [c.nodes.b, 'b1']] as const) {
      const hits = await tcpHits(c.external.ns, node.ipv6, 30052, 12);
      expect(tally(hits), node.name).toEqual({ [local]: 12 });
      expect(allFrom(hits, c.external.ipv6), JSON.stringify(hits)).toBe(true);
    }
    // Through the IPv6 LoadBalancer IP (routed to node A): node A's local endpoint, source kept.
    const lb = await tcpHits(c.external.ns, '2001:db8:200::30', 80, 12);
    expect(tally(lb)).toEqual({ a1: 12 });
    expect(allFrom(lb, c.external.ipv6), JSON.stringify(lb)).toBe(true);
  });

  it('dual stack: IPv6 LoadBalancer source ranges let the allowed source in and drop the others', async () => {
    expect(names(await tcpHits(c.external.ns, '2001:db8:200::31', 80, 64))).toEqual([...ALL]);
    // Dropped, not refused: the firewall says nothing to a source outside the ranges.
    expect(tally(await tcpHits(c.external.ns, '2001:db8:200::32', 80, 2, { timeoutMs: 1000 }))).toEqual({ 'error:ETIMEDOUT': 2 });
    // The same source is allowed in over IPv4 only where its IPv4 range is listed.
    expect(names(await tcpHits(c.external.ns, '198.18.200.31', 80, 64))).toEqual([...ALL]);
    expect(tally(await tcpHits(c.external.ns, '198.18.200.32', 80, 1, { timeoutMs: 1000 }))).toEqual({ 'error:ETIMEDOUT': 1 });
  });

  /** Once `node` programs `svc` with endpoints, connections from `ns` to `ip` spread uniformly over exactly `want`. */
  const balanced = async (node: NodeHandle, svc: string, ns: string, ip: string, want: readonly string[]): Promise<void> => {
    // Waits for the programmed endpoints (any), so the packets are what decides.
    await eventually(async () => (await programmedTargets(mode, node.ns, `default/${svc}:http`)).length > 0, `${svc} programmed on ${node.name}`);
    const hits = await tcpHits(ns, ip, 80, PER_ENDPOINT * want.length, { timeoutMs: 3000 });
    const r = chiSquareTest(tally(hits), uniformShares(want));
    process.stdout.write(`${mode} topology ${ip} from ${ns}: ${describeChiSquare(r)}\n`);
    expect(r.pValue, describeChiSquare(r)).toBeGreaterThanOrEqual(BALANCE_ALPHA);
  };

  it("topology hints: a zone-labelled node balances over exactly its zone's hinted endpoints (chi-square)", async () => {
    await balanced(c.nodes.a, 'zoned', c.client.ns, '198.19.5.60', ['a1', 'a2']);
    await balanced(c.nodes.b, 'zoned', c.nodes.b.ns, '198.19.5.60', ['b1', 'b2']);
  });

  it('topology hints: all endpoints when the hints do not cover the node\'s zone, or not every endpoint', async () => {
    // zother: nothing is hinted for zone-b, so node B uses every endpoint; node A its zone's two.
    await balanced(c.nodes.b, 'zother', c.nodes.b.ns, '198.19.5.61', [...ALL]);
    await balanced(c.nodes.a, 'zother', c.client.ns, '198.19.5.61', ['a1', 'a2']);
    // zpartial: b2 has no hints (the controller is mid-change), so the hints are ignored.
    await balanced(c.nodes.a, 'zpartial', c.client.ns, '198.19.5.62', [...ALL]);
  });
});
