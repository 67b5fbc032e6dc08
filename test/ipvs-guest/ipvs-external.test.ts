// IPVS mode end to end, part two: what reaches a node from outside and from the node itself, with
// a daemon on BOTH nodes (ipvs-dataplane.test.ts runs one on node A only). LoadBalancer IPs and
// externalIPs (virtual servers on kube-ipvs0 addresses), loadBalancerSourceRanges allowed and
// denied, externalTrafficPolicy Local on a node with and without local endpoints, the
// healthCheckNodePort answers of both nodes, NodePorts and ClusterIPs served by the second node,
// and the node's own traffic: ClusterIP from the node namespace, and 127.0.0.1:<nodePort>, which
// IPVS mode does not serve (upstream #96879 / PR #101023: IPVS cannot forward loopback-sourced
// traffic, so no virtual server is made for loopback addresses even when --nodeport-addresses
// selects them).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, httpGet, requireRoot, tally, tcpHits, type Cluster } from '../e2e/harness/index.js';
import { startProxy, type ProxyFlavour } from '../e2e/iptables-helpers.js';
import {
  eventually,
  inIpvsGuest,
  ipvsArgs,
  ipvsadm,
  linkAddresses,
  service,
  slice,
  startApi,
  viewOf,
  waitForIpvs,
  type Proxy,
  type TestEnv,
} from './ipvs-helpers.js';

const EXTERNAL = '198.18.0.100';
const IP = { web: '198.19.7.10', np: '198.19.7.11', allow: '198.19.7.12', deny: '198.19.7.13', local: '198.19.7.14' };
const EXT_IP = '198.18.200.5';
const LB = { allow: '198.18.200.6', deny: '198.18.200.7', local: '198.18.200.9' };
const NP = { np: 30180, allow: 30181, deny: 30182, local: 30183 };
const HEALTH_PORT = 31183;
const OK = { timeoutMs: 5000 };
/**
 * Waiting for an answer that must not come: long enough for the emulated guest to answer a real
 * one. The client's whole budget is count × timeout + 10 s, and starting node alone took 28 s in
 * the guest on a loaded host, so a short timeout got the client killed (exit 128) before it spoke.
 */
const NONE = { timeoutMs: 15_000 };
/** A refusal comes at once: a long timeout costs nothing unless the refusal is missing. */
const REFUSED = { timeoutMs: 20_000 };
/** startIpvsProxy's flavour with a longer first-sync wait: two daemons share the emulated guest. */
const FLAVOUR: ProxyFlavour = { args: ipvsArgs, firstSyncTimeoutMs: 600_000, stopGraceMs: 15_000 };

describe.skipIf(!requireRoot() || !inIpvsGuest())('IPVS mode: external addresses, source ranges, ETP Local, health checks, a second node, the node itself', { timeout: 900_000 }, () => {
  let c: Cluster;
  let env: TestEnv;
  const proxies: Proxy[] = [];
  let a1: string, b1: string;
  const rs = (ip: string): string => `${ip}:8080 Masq w1`;
  const src = (h: { src?: string }): string | undefined => h.src?.split(':')[0];

  beforeAll(async () => {
    c = await createCluster();
    [a1, b1] = [c.pod('a1').ipv4, c.pod('b1').ipv4];
    env = await startApi(c);
    const ab = [{ ip: a1, nodeName: c.nodes.a.name }, { ip: b1, nodeName: c.nodes.b.name }];
    const { api } = env;
    api.create(service({ name: 'web', clusterIP: IP.web }));
    api.create(slice('web', ab));
    api.create(service({ name: 'np', type: 'NodePort', clusterIP: IP.np, nodePort: NP.np, externalIPs: [EXT_IP] }));
    api.create(slice('np', ab));
    api.create(service({ name: 'allow', type: 'LoadBalancer', clusterIP: IP.allow, nodePort: NP.allow, loadBalancerIngressIPs: [LB.allow], loadBalancerSourceRanges: [`${EXTERNAL}/32`] }));
    api.create(slice('allow', ab));
    // The client pod is inside deny's ranges and the external client is not: the same LB IP then
    // shows a working virtual server AND a drop, so a missing one cannot pass for the firewall.
    api.create(service({ name: 'deny', type: 'LoadBalancer', clusterIP: IP.deny, nodePort: NP.deny, loadBalancerIngressIPs: [LB.deny], loadBalancerSourceRanges: ['198.18.99.0/24', `${c.client.ipv4}/32`] }));
    api.create(slice('deny', ab));
    api.create(
      service({ name: 'local', type: 'LoadBalancer', clusterIP: IP.local, nodePort: NP.local, loadBalancerIngressIPs: [LB.local], externalTrafficPolicy: 'Local', healthCheckNodePort: HEALTH_PORT }),
    );
    api.create(slice('local', [{ ip: a1, nodeName: c.nodes.a.name }]));

    // 127.0.0.0/8 is selected on purpose: the daemon itself must leave loopback out.
    const extraArgs = ['--nodeport-addresses=198.18.0.0/24,127.0.0.0/8'];
    // One after the other: two node processes starting at once on the guest's two emulated vCPUs
    // (with the echo servers) can take longer than the first-sync wait on a loaded host.
    for (const node of [c.nodes.a, c.nodes.b]) proxies.push(await startProxy(env, node, { extraArgs }, FLAVOUR));
  }, 1_500_000);

  afterAll(async () => {
    const codes = await Promise.all(proxies.map((p) => p.stop()));
    await env?.close();
    await c?.destroy();
    expect(codes).toEqual(proxies.map(() => 0));
  });

  it('programs virtual servers for external and LB IPs on both nodes; ETP Local has real servers only where its endpoint is', async () => {
    const both = [rs(a1), rs(b1)];
    for (const node of [c.nodes.a, c.nodes.b]) {
      const ip = node.ipv4;
      const localRS = node.key === 'a' ? [rs(a1)] : [];
      await waitForIpvs(node.ns, {
        [`TCP ${IP.web}:80 rr`]: both,
        [`TCP ${IP.np}:80 rr`]: both,
        [`TCP ${EXT_IP}:80 rr`]: both,
        [`TCP ${ip}:${NP.np} rr`]: both,
        [`TCP ${IP.allow}:80 rr`]: both,
        [`TCP ${LB.allow}:80 rr`]: both,
        [`TCP ${ip}:${NP.allow} rr`]: both,
        [`TCP ${IP.deny}:80 rr`]: both,
        [`TCP ${LB.deny}:80 rr`]: both,
        [`TCP ${ip}:${NP.deny} rr`]: both,
        // Internal policy is Cluster: the ClusterIP keeps the remote endpoint.
        [`TCP ${IP.local}:80 rr`]: [rs(a1)],
        [`TCP ${LB.local}:80 rr`]: localRS,
        [`TCP ${ip}:${NP.local} rr`]: localRS,
      }, () => true, 180_000);
      expect(await linkAddresses(node.ns, 'kube-ipvs0')).toEqual([...Object.values(IP), EXT_IP, ...Object.values(LB)].sort());
      // No virtual server on a loopback address, although --nodeport-addresses selects 127.0.0.0/8.
      expect(Object.keys(viewOf(await ipvsadm(node.ns))).filter((k) => k.includes(' 127.'))).toEqual([]);
    }
  });

  it('an externalIP reaches the endpoints of both nodes, masqueraded', async () => {
    const hits = await tcpHits(c.external.ns, EXT_IP, 80, 4, OK);
    expect(tally(hits)).toEqual({ a1: 2, b1: 2 });
    expect(hits.every((h) => src(h) !== EXTERNAL), JSON.stringify(hits)).toBe(true);
  });

  it('loadBalancerSourceRanges: a source in the ranges reaches the LB IP, one outside them is dropped', async () => {
    expect(tally(await tcpHits(c.external.ns, LB.allow, 80, 4, OK))).toEqual({ a1: 2, b1: 2 });
    expect(tally(await tcpHits(c.client.ns, LB.deny, 80, 2, OK))).toEqual({ a1: 1, b1: 1 });
    expect(await tcpHits(c.external.ns, LB.deny, 80, 1, NONE)).toEqual([{ error: 'ETIMEDOUT' }]);
    // The denied LB's ClusterIP and NodePort are not behind the firewall.
    expect(Object.keys(tally(await tcpHits(c.client.ns, IP.deny, 80, 2, OK))).sort()).toEqual(['a1', 'b1']);
  });

  it('externalTrafficPolicy Local keeps the client address on the node with the endpoint; the node without one answers with no pod', async () => {
    const viaLB = await tcpHits(c.external.ns, LB.local, 80, 2, OK);
    expect(tally(viaLB)).toEqual({ a1: 2 });
    expect(viaLB.map(src)).toEqual([EXTERNAL, EXTERNAL]);
    const viaA = await tcpHits(c.external.ns, c.nodes.a.ipv4, NP.local, 2, OK);
    expect(tally(viaA)).toEqual({ a1: 2 });
    expect(viaA.map(src)).toEqual([EXTERNAL, EXTERNAL]);
    // Node B has the virtual server but no real server: IPVS refuses (ICMP port unreachable), it
    // never forwards to node A's endpoint.
    expect(await tcpHits(c.external.ns, c.nodes.b.ipv4, NP.local, 2, REFUSED)).toEqual([{ error: 'ECONNREFUSED' }, { error: 'ECONNREFUSED' }]);
  });

  it('healthCheckNodePort: 200 with the local endpoint count on node A, 503 with 0 on node B', async () => {
    const probe = async (ip: string) => {
      const r = await eventually(async () => {
        const g = await httpGet(c.external.ns, `http://${ip}:${HEALTH_PORT}/`, OK);
        return g.status !== undefined ? g : undefined;
      }, `health check of default/local on ${ip}`, 60_000);
      return { status: r.status, body: JSON.parse(r.body ?? '{}') as Record<string, unknown> };
    };
    const a = await probe(c.nodes.a.ipv4);
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ service: { namespace: 'default', name: 'local' }, localEndpoints: 1 });
    const b = await probe(c.nodes.b.ipv4);
    expect(b.status).toBe(503);
    expect(b.body).toMatchObject({ service: { namespace: 'default', name: 'local' }, localEndpoints: 0 });
  });

  it('the second node serves its NodePort (to both nodes\' endpoints, masqueraded) and its pods\' ClusterIPs', async () => {
    const hits = await tcpHits(c.external.ns, c.nodes.b.ipv4, NP.np, 4, OK);
    expect(tally(hits)).toEqual({ a1: 2, b1: 2 });
    expect(hits.every((h) => src(h) !== EXTERNAL), JSON.stringify(hits)).toBe(true);
    const fromPod = await tcpHits(c.pod('b2').ns, IP.web, 80, 4, OK);
    expect(tally(fromPod)).toEqual({ a1: 2, b1: 2 });
    expect(fromPod.map(src)).toEqual(Array(4).fill(c.pod('b2').ipv4));
  });

  // Two tests, so a break of one path cannot hide a break of the other.
  it('the node itself: ClusterIP from the node namespace reaches the endpoints of both nodes', async () => {
    for (const node of [c.nodes.a, c.nodes.b]) {
      expect(tally(await tcpHits(node.ns, IP.web, 80, 2, OK)), node.name).toEqual({ a1: 1, b1: 1 });
    }
  });

  it('the node itself: 127.0.0.1:<nodePort> is refused, as upstream IPVS mode', async () => {
    for (const node of [c.nodes.a, c.nodes.b]) {
      expect(await tcpHits(node.ns, '127.0.0.1', NP.np, 1, REFUSED), node.name).toEqual([{ error: 'ECONNREFUSED' }]);
    }
  });
});
