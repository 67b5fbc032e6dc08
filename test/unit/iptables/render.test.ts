import { describe, expect, it } from 'vitest';
import type { ProxyState } from '../../../proxy/model/types.js';
import { EMPTY_CHANGES } from '../../../proxy/model/types.js';
import { servicePortChains, endpointChainName } from '../../../modes/iptables/names.js';
import { renderServicePort } from '../../../modes/iptables/render/service.js';
import { tracePacket, type TraceInput } from '../../../modes/iptables/trace/tracer.js';
import { ep, harness, localEp, NODE_IP, node, options, sp, state } from './fixtures.js';

const EXTERNAL_CLIENT = '203.0.113.7';
const POD = '198.18.130.5';

async function programmed(st: ProxyState, edit?: Parameters<typeof harness>[0]): Promise<string> {
  const h = harness(edit);
  await h.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
  return h.runner.save('IPv4');
}

function trace(rules: string, p: Partial<TraceInput> & Pick<TraceInput, 'dst' | 'dport'>) {
  return tracePacket(rules, { src: EXTERNAL_CLIENT, protocol: 'tcp', nodeIPs: [NODE_IP], ...p });
}

function dests(r: ReturnType<typeof trace>): string[] {
  return r.destinations.map((d) => `${d.ip}:${d.port}`).sort();
}

describe('ClusterIP', () => {
  it('load-balances evenly over ready endpoints and masquerades off-cluster sources', async () => {
    const s = sp('ns1', 'svc1');
    const rules = await programmed(state([[s, [ep('198.18.1.1'), ep('198.18.1.2'), ep('198.18.1.3')]]]));
    const fromPod = trace(rules, { src: POD, dst: '198.19.0.1', dport: 80 });
    expect(fromPod.verdict).toBe('DNAT');
    expect(dests(fromPod)).toEqual(['198.18.1.1:8080', '198.18.1.2:8080', '198.18.1.3:8080']);
    for (const d of fromPod.destinations) expect(d.probability).toBeCloseTo(1 / 3, 6);
    expect(fromPod.masquerade).toBe(false);
    expect(fromPod.chainPath).toContain(`nat/${servicePortChains(s.key, 'TCP').svc}`);
    expect(trace(rules, { dst: '198.19.0.1', dport: 80 }).masquerade).toBe(true);
    // Other ports of the cluster IP are not captured.
    expect(trace(rules, { src: POD, dst: '198.19.0.1', dport: 81 }).verdict).toBe('ACCEPT');
  });

  it('writes the exact upstream rule shapes', () => {
    const s = sp('ns1', 'svc1');
    const r = renderServicePort(s, [ep('198.18.1.1'), ep('198.18.1.2')], node(), options());
    const { svc } = servicePortChains(s.key, 'TCP');
    const sep1 = endpointChainName(s.key, 'TCP', '198.18.1.1:8080');
    expect(r.dispatch.get('nat/KUBE-SERVICES')).toEqual([
      `-m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 198.19.0.1 --dport 80 -j ${svc}`,
    ]);
    expect(r.chains.get(svc)).toEqual([
      '-m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 198.19.0.1 --dport 80 ! -s 198.18.128.0/17 -j KUBE-MARK-MASQ',
      `-m comment --comment "ns1/svc1:p80 -> 198.18.1.1:8080" -m statistic --mode random --probability 0.5000000000 -j ${sep1}`,
      `-m comment --comment "ns1/svc1:p80 -> 198.18.1.2:8080" -j ${endpointChainName(s.key, 'TCP', '198.18.1.2:8080')}`,
    ]);
    expect(r.chains.get(sep1)).toEqual([
      '-m comment --comment "ns1/svc1:p80" -s 198.18.1.1 -j KUBE-MARK-MASQ',
      '-m comment --comment "ns1/svc1:p80" -m tcp -p tcp -j DNAT --to-destination 198.18.1.1:8080',
    ]);
  });

  it('hairpin traffic from an endpoint to itself is masqueraded', async () => {
    const rules = await programmed(state([[sp('ns1', 'svc1'), [ep('198.18.1.1')]]]));
    const r = trace(rules, { src: '198.18.1.1', dst: '198.19.0.1', dport: 80 });
    expect(dests(r)).toEqual(['198.18.1.1:8080']);
    expect(r.masquerade).toBe(true);
  });

  it('rejects when there are no endpoints', async () => {
    const rules = await programmed(state([[sp('ns1', 'svc1'), []]]));
    expect(rules).toContain('"ns1/svc1:p80 has no endpoints"');
    expect(trace(rules, { src: POD, dst: '198.19.0.1', dport: 80 }).verdict).toBe('REJECT');
  });

  it('falls back to serving terminating endpoints', async () => {
    const term = { ready: false, serving: true, terminating: true };
    const rules = await programmed(state([[sp('ns1', 'svc1'), [ep('198.18.1.1', term), ep('198.18.1.2', { ...term, serving: false })]]]));
    expect(dests(trace(rules, { src: POD, dst: '198.19.0.1', dport: 80 }))).toEqual(['198.18.1.1:8080']);
  });

  it('masquerade-all marks every cluster IP packet', async () => {
    const rules = await programmed(state([[sp('ns1', 'svc1'), [ep('198.18.1.1')]]]), (d) => {
      d.iptables.masqueradeAll = true;
    });
    expect(trace(rules, { src: POD, dst: '198.19.0.1', dport: 80 }).masquerade).toBe(true);
  });

  it('UDP and SCTP use their protocol matches', async () => {
    const rules = await programmed(
      state([
        [sp('ns1', 'dns', { protocol: 'UDP', port: 53 }), [ep('198.18.1.1', { port: 53 })]],
        [sp('ns1', 'sctp', { protocol: 'SCTP', port: 9, clusterIPs: ['198.19.0.2'] }), [ep('198.18.1.2', { port: 9 })]],
      ]),
    );
    expect(rules).toContain('-m udp -p udp -d 198.19.0.1 --dport 53');
    expect(rules).toContain('-m sctp -p sctp -d 198.19.0.2 --dport 9');
    expect(dests(trace(rules, { src: POD, protocol: 'udp', dst: '198.19.0.1', dport: 53 }))).toEqual(['198.18.1.1:53']);
    expect(trace(rules, { src: POD, protocol: 'tcp', dst: '198.19.0.1', dport: 53 }).verdict).toBe('ACCEPT');
    expect(dests(trace(rules, { src: POD, protocol: 'sctp', dst: '198.19.0.2', dport: 9 }))).toEqual(['198.18.1.2:9']);
  });

  it('session affinity adds recent rules before the probability rules', () => {
    const s = sp('ns1', 'svc1', { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 } });
    const r = renderServicePort(s, [ep('198.18.1.1'), ep('198.18.1.2')], node(), options());
    const sep1 = endpointChainName(s.key, 'TCP', '198.18.1.1:8080');
    const svc = r.chains.get(servicePortChains(s.key, 'TCP').svc) ?? [];
    expect(svc[1]).toBe(`-m comment --comment "ns1/svc1:p80 -> 198.18.1.1:8080" -m recent --name ${sep1} --rcheck --seconds 10800 --reap -j ${sep1}`);
    expect(svc[3]).toContain('--probability 0.5000000000');
    expect(r.chains.get(sep1)?.[1]).toBe(
      `-m comment --comment "ns1/svc1:p80" -m recent --name ${sep1} --set -m tcp -p tcp -j DNAT --to-destination 198.18.1.1:8080`,
    );
  });
});

describe('local traffic detection', () => {
  const withDetector = (edit: Parameters<typeof options>[0]) =>
    renderServicePort(sp('ns1', 'svc1'), [ep('198.18.1.1')], node(), options(edit)).chains.get(
      servicePortChains('ns1/svc1:p80', 'TCP').svc,
    )?.[0];
  it('supports every detect-local mode', () => {
    expect(withDetector(() => undefined)).toContain('! -s 198.18.128.0/17 -j KUBE-MARK-MASQ');
    expect(withDetector((d) => (d.detectLocalMode = 'NodeCIDR'))).toContain('! -s 198.18.16.0/24 -j');
    expect(withDetector((d) => ((d.detectLocalMode = 'BridgeInterface'), (d.detectLocal.bridgeInterface = 'cbr0')))).toContain('! -i cbr0 -j');
    expect(withDetector((d) => ((d.detectLocalMode = 'InterfaceNamePrefix'), (d.detectLocal.interfaceNamePrefix = 'veth')))).toContain('! -i veth+ -j');
    // Nothing to detect with: no masquerade rule, the chain starts with endpoint rules.
    expect(withDetector((d) => (d.clusterCIDRs = []))).toContain('-> 198.18.1.1:8080');
  });
});

describe('NodePort, external IPs and load balancers', () => {
  const np = sp('ns2', 'np', {
    type: 'LoadBalancer',
    nodePort: 30080,
    externalIPs: ['192.0.2.10'],
    loadBalancerIPs: ['192.0.2.20'],
  });

  it('Cluster policy: every external destination reaches all endpoints, masqueraded', async () => {
    const rules = await programmed(state([[np, [ep('198.18.1.1'), localEp('198.18.16.5')]]]));
    for (const [dst, dport] of [[NODE_IP, 30080], ['192.0.2.10', 80], ['192.0.2.20', 80]] as const) {
      const r = trace(rules, { dst, dport });
      expect(dests(r)).toEqual(['198.18.1.1:8080', '198.18.16.5:8080']);
      expect(r.masquerade).toBe(true);
      expect(r.chainPath).toContain(`nat/${servicePortChains(np.key, 'TCP').ext}`);
    }
  });

  it('nodeport on a non-local address is not captured', async () => {
    const rules = await programmed(state([[np, [ep('198.18.1.1')]]]));
    expect(trace(rules, { dst: '198.18.99.99', dport: 30080 }).verdict).toBe('ACCEPT');
  });

  it('Local policy: external traffic only reaches local endpoints and keeps its source', async () => {
    const local = { ...np, externalTrafficPolicy: 'Local' as const, healthCheckNodePort: 32000 };
    const rules = await programmed(state([[local, [ep('198.18.1.1'), localEp('198.18.16.5')]]]));
    const ext = trace(rules, { dst: NODE_IP, dport: 30080 });
    expect(dests(ext)).toEqual(['198.18.16.5:8080']);
    expect(ext.masquerade).toBe(false);
    expect(ext.chainPath).toContain(`nat/${servicePortChains(np.key, 'TCP').svl}`);
    // Pods and the node itself short-circuit to all endpoints.
    expect(dests(trace(rules, { src: POD, dst: '192.0.2.20', dport: 80 }))).toEqual(['198.18.1.1:8080', '198.18.16.5:8080']);
    const fromNode = trace(rules, { src: NODE_IP, dst: '192.0.2.20', dport: 80, locallyOriginated: true });
    expect(dests(fromNode)).toEqual(['198.18.1.1:8080', '198.18.16.5:8080']);
    expect(fromNode.masquerade).toBe(true);
    expect(rules).toContain('-A KUBE-NODEPORTS -m comment --comment "ns2/np:p80 health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT');
  });

  it('Local policy without local endpoints drops external traffic but serves pods', async () => {
    const local = { ...np, externalTrafficPolicy: 'Local' as const };
    const rules = await programmed(state([[local, [ep('198.18.1.1')]]]));
    expect(rules).toContain('"ns2/np:p80 has no local endpoints"');
    expect(trace(rules, { dst: NODE_IP, dport: 30080 }).verdict).toBe('DROP');
    expect(trace(rules, { dst: '192.0.2.20', dport: 80 }).verdict).toBe('DROP');
    expect(dests(trace(rules, { src: POD, dst: '192.0.2.20', dport: 80 }))).toEqual(['198.18.1.1:8080']);
  });

  it('no endpoints rejects every destination', async () => {
    const rules = await programmed(state([[np, []]]));
    for (const [dst, dport] of [[NODE_IP, 30080], ['192.0.2.10', 80], ['192.0.2.20', 80], ['198.19.0.1', 80]] as const) {
      expect(trace(rules, { dst, dport }).verdict).toBe('REJECT');
    }
  });

  it('loadBalancerSourceRanges admit listed sources and drop the rest', async () => {
    const fw = { ...np, loadBalancerSourceRanges: ['203.0.113.0/24'] };
    const rules = await programmed(state([[fw, [ep('198.18.1.1')]]]));
    expect(dests(trace(rules, { dst: '192.0.2.20', dport: 80 }))).toEqual(['198.18.1.1:8080']);
    const denied = trace(rules, { src: '198.51.100.1', dst: '192.0.2.20', dport: 80 });
    expect(denied.verdict).toBe('DROP');
    expect(denied.chainPath).toContain(`nat/${servicePortChains(np.key, 'TCP').fw}`);
    // NodePorts are not subject to source ranges.
    expect(trace(rules, { src: '198.51.100.1', dst: NODE_IP, dport: 30080 }).verdict).toBe('DNAT');
  });

  it('allows the LB IP as source when the node is inside a source range', () => {
    const fw = { ...np, loadBalancerSourceRanges: ['198.18.0.0/24'] };
    const r = renderServicePort(fw, [ep('198.18.1.1')], node(), options());
    expect(r.chains.get(servicePortChains(np.key, 'TCP').fw)).toContain(
      `-m comment --comment "ns2/np:p80 loadbalancer IP" -s 192.0.2.20 -j ${servicePortChains(np.key, 'TCP').ext}`,
    );
  });

  it('localhost nodeports: accepted on IPv4 only when enabled, with localnet protection', async () => {
    const on = await programmed(state([[np, [ep('198.18.1.1')]]]));
    expect(on).toContain('-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8');
    expect(trace(on, { src: '127.0.0.1', dst: '127.0.0.1', dport: 30080, locallyOriginated: true }).verdict).toBe('DNAT');
    const off = await programmed(state([[np, [ep('198.18.1.1')]]]), (d) => (d.iptables.localhostNodePorts = false));
    expect(off).toContain('-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS');
    expect(off).not.toContain('KUBE-FIREWALL');
    expect(trace(off, { src: '127.0.0.1', dst: '127.0.0.1', dport: 30080, locallyOriginated: true }).verdict).toBe('ACCEPT');
  });

  it('explicit nodeport addresses match per IP', async () => {
    const rules = await programmed(state([[np, [ep('198.18.1.1')]]]), (d) => (d.nodePortAddresses = ['198.18.0.0/24']));
    expect(rules).toContain(`-d ${NODE_IP}/32 -j KUBE-NODEPORTS`);
    expect(trace(rules, { dst: NODE_IP, dport: 30080 }).verdict).toBe('DNAT');
  });
});

describe('internalTrafficPolicy Local', () => {
  const s = sp('ns3', 'itp', { internalTrafficPolicy: 'Local' });
  it('sends cluster IP traffic to local endpoints only', async () => {
    const rules = await programmed(state([[s, [ep('198.18.1.1'), localEp('198.18.16.5')]]]));
    const r = trace(rules, { src: POD, dst: '198.19.0.1', dport: 80 });
    expect(dests(r)).toEqual(['198.18.16.5:8080']);
    expect(r.chainPath).toContain(`nat/${servicePortChains(s.key, 'TCP').svl}`);
  });
  it('drops when only remote endpoints exist', async () => {
    const h = harness();
    await h.dp.sync({ state: state([[s, [ep('198.18.1.1')]]]), changes: EMPTY_CHANGES, full: true });
    const rules = await h.runner.save('IPv4');
    expect(rules).toContain('-A KUBE-SERVICES -m comment --comment "ns3/itp:p80 has no local endpoints" -m tcp -p tcp -d 198.19.0.1 --dport 80 -j DROP');
    expect(trace(rules, { src: POD, dst: '198.19.0.1', dport: 80 }).verdict).toBe('DROP');
    expect(await h.metrics.registry.getSingleMetricAsString('kubeproxy_sync_proxy_rules_no_local_endpoints_total')).toContain(
      'traffic_policy="internal",ip_family="IPv4"} 1',
    );
  });
});

describe('IPv6', () => {
  it('renders only the IPv6 half of a dual-stack service into ip6tables', async () => {
    const s = sp('ns6', 'v6', { clusterIPs: ['198.19.0.9', '2001:db8:2::9'] });
    const h = harness(undefined, ['IPv4', 'IPv6']);
    await h.dp.sync({ state: state([[s, [ep('198.18.1.1'), ep('2001:db8:1::5')]]]), changes: EMPTY_CHANGES, full: true });
    const v6 = await h.runner.save('IPv6');
    expect(v6).toContain('-d 2001:db8:2::9');
    expect(v6).not.toContain('198.19.0.9');
    expect(v6).toContain('! -d ::1/128 -j KUBE-NODEPORTS');
    expect(v6).toContain('--to-destination [2001:db8:1::5]:8080');
    const r = tracePacket(v6, { src: '2001:db8:1::7', protocol: 'tcp', dst: '2001:db8:2::9', dport: 80, nodeIPs: [] });
    expect(r.destinations).toEqual([{ ip: '2001:db8:1::5', port: 8080, probability: 1 }]);
  });
});
