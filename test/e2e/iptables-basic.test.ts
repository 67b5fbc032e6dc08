// iptables and nftables modes end to end (one list of scenarios run for both), with packets: ClusterIP balancing across both nodes, NodePort,
// ExternalIPs, LoadBalancer source ranges, externalTrafficPolicy: Local with its health check
// node ports, hairpin and an IPv6 ClusterIP of a dual-stack Service. One daemon per node
// namespace (node-a, node-b) against one test apiserver.

import type { V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCluster,
  httpGet,
  requireRoot,
  tally,
  tcpHits,
  type Cluster,
} from './harness/index.js';
import {
  eventually,
  service,
  slice,
  startApi,
  startProxy,
  type Proxy,
  type SvcEndpoint,
  type TestEnv,
} from './iptables-helpers.js';
import { E2E_MODES, modeOps } from './mode-helpers.js';

describe.skipIf(!requireRoot()).each(E2E_MODES)('%s mode: services with packets', (mode) => {
  const m = modeOps(mode);
  const waitForTargets = m.waitForTargets;
  let c: Cluster;
  let env: TestEnv;
  const proxies: Proxy[] = [];
  let all: SvcEndpoint[];
  const ep = (name: string): SvcEndpoint => {
    const p = c.pod(name);
    return { ip: p.ipv4, nodeName: p.nodeName };
  };
  const target = (name: string, port = 8080): string => `${c.pod(name).ipv4}:${port}`;
  const allTargets = (): string[] => ['a1', 'a2', 'b1', 'b2'].map((n) => target(n));

  beforeAll(async () => {
    c = await createCluster();
    env = await startApi(c);
    const { api } = env;
    all = ['a1', 'a2', 'b1', 'b2'].map(ep);

    api.create(service({ name: 'web', clusterIP: '198.19.1.10' }));
    api.create(slice('web', all));

    api.create(service({ name: 'np', type: 'NodePort', clusterIP: '198.19.1.20', nodePort: 30020, externalIPs: ['198.18.200.5'] }));
    api.create(slice('np', all));

    api.create(
      service({
        name: 'lb-allow',
        type: 'LoadBalancer',
        clusterIP: '198.19.1.30',
        nodePort: 30030,
        loadBalancerIngressIPs: ['198.18.200.6'],
        loadBalancerSourceRanges: ['198.18.0.100/32'],
      }),
    );
    api.create(slice('lb-allow', all));
    api.create(
      service({
        name: 'lb-deny',
        type: 'LoadBalancer',
        clusterIP: '198.19.1.31',
        nodePort: 30031,
        loadBalancerIngressIPs: ['198.18.200.7'],
        loadBalancerSourceRanges: ['198.18.99.0/24'],
      }),
    );
    api.create(slice('lb-deny', all));

    api.create(
      service({
        name: 'local',
        type: 'LoadBalancer',
        clusterIP: '198.19.1.40',
        nodePort: 30040,
        loadBalancerIngressIPs: ['198.18.200.8'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 31040,
      }),
    );
    api.create(slice('local', all));
    api.create(
      service({
        name: 'local-a',
        type: 'LoadBalancer',
        clusterIP: '198.19.1.41',
        nodePort: 30041,
        loadBalancerIngressIPs: ['198.18.200.9'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 31041,
      }),
    );
    api.create(slice('local-a', [ep('a1')]));

    api.create(service({ name: 'hairpin', clusterIP: '198.19.1.70' }));
    api.create(slice('hairpin', [ep('a2')]));

    const dual = service({ name: 'dual', clusterIP: '198.19.1.80', clusterIPs: ['198.19.1.80', '2001:db8:ff::80'], ipFamilies: ['IPv4', 'IPv6'] });
    dual.spec = { ...dual.spec, ipFamilyPolicy: 'RequireDualStack' };
    api.create(dual);
    api.create(slice('dual', [ep('a1'), ep('b1')]));
    api.create(
      slice(
        'dual',
        ['a1', 'b1'].map((n) => ({ ip: c.pod(n).ipv6, nodeName: c.pod(n).nodeName })),
        { family: 'IPv6' },
      ),
    );

    proxies.push(...(await Promise.all([startProxy(env, c.nodes.a, {}, m.flavour), startProxy(env, c.nodes.b, {}, m.flavour)])));
    // Everything programmed on both nodes before any packet is sent.
    for (const n of [c.nodes.a, c.nodes.b]) {
      for (const s of ['web', 'np', 'lb-allow', 'lb-deny', 'local']) await waitForTargets(n.ns, `default/${s}:http`, allTargets());
      await waitForTargets(n.ns, 'default/local-a:http', [target('a1')]);
      await waitForTargets(n.ns, 'default/hairpin:http', [target('a2')]);
      await waitForTargets(n.ns, 'default/dual:http', [target('a1'), target('b1')]);
      await waitForTargets(n.ns, 'default/dual:http', ['a1', 'b1'].map((p) => `[${c.pod(p).ipv6}]:8080`), { family: 'IPv6' });
    }
  });

  afterAll(async () => {
    const codes = await Promise.all(proxies.map((p) => p.stop()));
    await env?.close();
    await c?.destroy();
    // A clean SIGTERM shutdown of every daemon is part of the contract.
    expect(codes).toEqual(proxies.map(() => 0));
  });

  it('balances a ClusterIP over all four ready endpoints on both nodes, keeping the pod source', async () => {
    const n = 300;
    const hits = await tcpHits(c.client.ns, '198.19.1.10', 80, n);
    const t = tally(hits);
    expect(Object.keys(t).sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
    for (const name of ['a1', 'a2', 'b1', 'b2']) {
      // Uniform would be 25 %; a chain that always takes the first or last endpoint, or skewed
      // probabilities (e.g. 1/2, 1/4, 1/8, 1/8), cannot stay within 12 %–40 % for all four.
      expect(t[name], `share of ${name} in ${JSON.stringify(t)}`).toBeGreaterThanOrEqual(0.12 * n);
      expect(t[name], `share of ${name} in ${JSON.stringify(t)}`).toBeLessThanOrEqual(0.4 * n);
    }
    // Pod-to-service traffic from a local pod is not masqueraded.
    expect(hits.every((h) => h.src?.startsWith(`${c.client.ipv4}:`))).toBe(true);
  });

  it('serves a NodePort on node A and an ExternalIP to the external client, masquerading it', async () => {
    const viaNodePort = await tcpHits(c.external.ns, c.nodes.a.ipv4, 30020, 40);
    const t = tally(viaNodePort);
    expect(Object.keys(t).every((k) => ['a1', 'a2', 'b1', 'b2'].includes(k)), JSON.stringify(t)).toBe(true);
    expect(Object.keys(t).length).toBeGreaterThanOrEqual(3);
    // externalTrafficPolicy Cluster: the endpoint sees the node, not the client (otherwise the
    // replies from node B's pods would bypass node A's conntrack).
    expect(viaNodePort.some((h) => h.src?.startsWith(`${c.external.ipv4}:`))).toBe(false);

    // Any node serves the NodePort: node B forwards to node-A pods as well.
    const viaNodeB = tally(await tcpHits(c.external.ns, c.nodes.b.ipv4, 30020, 20));
    expect(Object.keys(viaNodeB).every((k) => ['a1', 'a2', 'b1', 'b2'].includes(k)), JSON.stringify(viaNodeB)).toBe(true);
    expect(Object.keys(viaNodeB).filter((k) => k.startsWith('a')).length).toBeGreaterThanOrEqual(1);

    const viaExternalIP = tally(await tcpHits(c.external.ns, '198.18.200.5', 80, 20));
    expect(Object.keys(viaExternalIP).every((k) => ['a1', 'a2', 'b1', 'b2'].includes(k)), JSON.stringify(viaExternalIP)).toBe(true);
    expect(Object.keys(viaExternalIP).length).toBeGreaterThanOrEqual(2);
  });

  it('lets a permitted source range reach a LoadBalancer IP and drops every other source', async () => {
    const allowed = tally(await tcpHits(c.external.ns, '198.18.200.6', 80, 20));
    expect(Object.keys(allowed).every((k) => ['a1', 'a2', 'b1', 'b2'].includes(k)), JSON.stringify(allowed)).toBe(true);
    expect(Object.keys(allowed).length).toBeGreaterThanOrEqual(2);

    const denied = await tcpHits(c.external.ns, '198.18.200.7', 80, 2, { timeoutMs: 1500 });
    expect(denied).toEqual([{ error: 'ETIMEDOUT' }, { error: 'ETIMEDOUT' }]);
    // ... dropped by the firewall (KUBE-PROXY-FIREWALL / firewall-check counted the SYNs), not by chance.
    expect(await m.firewallDrops(c.nodes.a.ns, '198.18.200.7')).toBeGreaterThanOrEqual(2);

    // Source ranges restrict the load balancer IP only, not the service's NodePort.
    const viaNodePort = await tcpHits(c.external.ns, c.nodes.a.ipv4, 30031, 3);
    expect(viaNodePort.every((h) => h.name !== undefined), JSON.stringify(viaNodePort)).toBe(true);

    // Narrowing the ranges of the allowed service takes effect on the next (partial) sync.
    const svc = env.api.get('services', 'default', 'lb-allow') as unknown as V1Service;
    const narrowed: V1Service = { ...svc, spec: { ...svc.spec, loadBalancerSourceRanges: ['198.18.99.0/24'] } };
    env.api.update(narrowed);
    await eventually(async () => {
      const sources = await m.allowedSources(c.nodes.a.ns, 'default/lb-allow:http', '198.18.200.6');
      return sources.includes('198.18.99.0/24') && !sources.some((s) => s.startsWith('198.18.0.100'));
    }, 'lb-allow firewall narrowed to 198.18.99.0/24');
    expect(await tcpHits(c.external.ns, '198.18.200.6', 80, 1, { timeoutMs: 1500 })).toEqual([{ error: 'ETIMEDOUT' }]);
  });

  it('externalTrafficPolicy Local: each node serves only its own endpoints and keeps the client source', async () => {
    for (const [node, local] of [
      [c.nodes.a, ['a1', 'a2']],
      [c.nodes.b, ['b1', 'b2']],
    ] as const) {
      const hits = await tcpHits(c.external.ns, node.ipv4, 30040, 30);
      const t = tally(hits);
      expect(Object.keys(t).sort(), `via ${node.name}: ${JSON.stringify(t)}`).toEqual([...local]);
      expect(hits.every((h) => h.src?.startsWith(`${c.external.ipv4}:`)), JSON.stringify(hits.slice(0, 3))).toBe(true);
    }
    // The LB IP is routed to node A: node A's pods only, client source kept.
    const viaLB = await tcpHits(c.external.ns, '198.18.200.8', 80, 20);
    expect(Object.keys(tally(viaLB)).sort()).toEqual(['a1', 'a2']);
    expect(viaLB.every((h) => h.src?.startsWith(`${c.external.ipv4}:`))).toBe(true);

    // A node without local endpoints drops external traffic instead of forwarding it.
    expect(tally(await tcpHits(c.external.ns, c.nodes.a.ipv4, 30041, 5))).toEqual({ a1: 5 });
    expect(await tcpHits(c.external.ns, c.nodes.b.ipv4, 30041, 1, { timeoutMs: 1500 })).toEqual([{ error: 'ETIMEDOUT' }]);
    // Pods still reach it through the cluster IP from anywhere (internal policy is Cluster).
    expect(tally(await tcpHits(c.pod('b2').ns, '198.19.1.41', 80, 3))).toEqual({ a1: 3 });
  });

  it('answers healthCheckNodePort probes with the local endpoint count: 200 with endpoints, 503 without', async () => {
    const probe = async (ip: string, port: number) => {
      const r = await httpGet(c.external.ns, `http://${ip}:${port}/`);
      return { status: r.status, body: r.body ? (JSON.parse(r.body) as Record<string, unknown>) : undefined, error: r.error };
    };
    const a = await eventually(async () => {
      const r = await probe(c.nodes.a.ipv4, 31040);
      return r.status !== undefined ? r : undefined;
    }, 'health check server for default/local on node A');
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ service: { namespace: 'default', name: 'local' }, localEndpoints: 2 });

    const aOnlyA = await eventually(async () => {
      const r = await probe(c.nodes.a.ipv4, 31041);
      return r.status !== undefined ? r : undefined;
    }, 'health check server for default/local-a on node A');
    expect(aOnlyA.status).toBe(200);
    expect(aOnlyA.body).toMatchObject({ service: { namespace: 'default', name: 'local-a' }, localEndpoints: 1 });

    const bOnlyA = await eventually(async () => {
      const r = await probe(c.nodes.b.ipv4, 31041);
      return r.status !== undefined ? r : undefined;
    }, 'health check server for default/local-a on node B');
    expect(bOnlyA.status).toBe(503);
    expect(bOnlyA.body).toMatchObject({ service: { namespace: 'default', name: 'local-a' }, localEndpoints: 0 });
  });

  it('serves traffic from the node itself: its ClusterIPs and its own NodePort', async () => {
    const toClusterIP = tally(await tcpHits(c.nodes.a.ns, '198.19.1.10', 80, 12));
    expect(Object.keys(toClusterIP).every((k) => ['a1', 'a2', 'b1', 'b2'].includes(k)), JSON.stringify(toClusterIP)).toBe(true);
    expect(Object.keys(toClusterIP).length).toBeGreaterThanOrEqual(2);
    const toNodePort = tally(await tcpHits(c.nodes.a.ns, c.nodes.a.ipv4, 30020, 8));
    expect(Object.keys(toNodePort).every((k) => ['a1', 'a2', 'b1', 'b2'].includes(k)), JSON.stringify(toNodePort)).toBe(true);
    if (mode === 'nftables') {
      // nftables mode never accepts NodePorts on loopback (upstream; CVE-2020-8558): nothing
      // listens there, so the connection is refused rather than forwarded.
      expect(await tcpHits(c.nodes.a.ns, '127.0.0.1', 30020, 1, { timeoutMs: 2000 })).toEqual([{ error: 'ECONNREFUSED' }]);
    } else {
      // iptables mode serves 127.0.0.1:NodePort (upstream's localhostNodePorts, on by default, with
      // route_localnet), masqueraded so the endpoint can answer.
      const toLocalhost = tally(await tcpHits(c.nodes.a.ns, '127.0.0.1', 30020, 8));
      expect(Object.keys(toLocalhost).every((k) => ['a1', 'a2', 'b1', 'b2'].includes(k)), JSON.stringify(toLocalhost)).toBe(true);
    }
  });

  it('hairpin: a pod reaching its own service lands on itself and gets an answer', async () => {
    const a2 = c.pod('a2');
    const hits = await tcpHits(a2.ns, '198.19.1.70', 80, 5);
    expect(tally(hits)).toEqual({ a2: 5 });
    // Masqueraded to the node: with its own address as source the reply would never be un-DNATed.
    expect(hits.every((h) => !h.src?.startsWith(`${a2.ipv4}:`))).toBe(true);
  });

  it('answers the IPv6 ClusterIP of a dual-stack service from IPv6 endpoints (and the IPv4 one too)', async () => {
    const v6 = await tcpHits(c.client.ns, '2001:db8:ff::80', 80, 30);
    expect(Object.keys(tally(v6)).sort(), JSON.stringify(tally(v6))).toEqual(['a1', 'b1']);
    expect(v6.every((h) => h.src?.startsWith(`${c.client.ipv6}:`))).toBe(true);
    const v4 = await tcpHits(c.client.ns, '198.19.1.80', 80, 30);
    expect(Object.keys(tally(v4)).sort(), JSON.stringify(tally(v4))).toEqual(['a1', 'b1']);
  });
});
