import { describe, expect, it } from 'vitest';
import { buildDesired, serviceVIPs } from '../../../modes/ipvs/desired.js';
import { nodePortIPs } from '../../../modes/ipvs/node-port-ips.js';
import { NODE_IP, ep, localEp, sp, state } from './fixtures.js';

const opts = { family: 'IPv4' as const, scheduler: '', nodePortIPs: [NODE_IP] };
const summary = (s: ReturnType<typeof buildDesired>) =>
  [...s.virtualServers.values()].map((d) => `${d.kind} ${d.key} ${d.vs.scheduler} [${d.realServers.map((r) => `${r.address}:${r.port}/${r.weight}/${r.fwdMethod}`).join(' ')}]`);

describe('buildDesired', () => {
  it('ClusterIP: one VS with every ready endpoint, rr by default, masquerade weight 1', () => {
    const d = buildDesired(state([[sp('a'), [ep('10.0.0.2'), ep('10.0.0.1'), ep('10.0.0.3', { ready: false })]]]), opts);
    expect(summary(d)).toEqual(['clusterIP TCP 198.19.0.1:80 rr [10.0.0.1:8080/1/Masq 10.0.0.2:8080/1/Masq]']);
    expect([...d.vips]).toEqual(['198.19.0.1']);
    const vs = [...d.virtualServers.values()][0]!.vs;
    expect(vs.flags).toBe(0);
  });

  it('NodePort, externalIPs and LB IPs each get a VS; only service IPs are VIPs', () => {
    const s = sp('a', { type: 'LoadBalancer', nodePort: 30080, externalIPs: ['203.0.113.5'], loadBalancerIPs: ['192.0.2.9', '2001:db8::9'] });
    const d = buildDesired(state([[s, [ep('10.0.0.1')]]]), { ...opts, scheduler: 'wlc' });
    expect(summary(d)).toEqual([
      'clusterIP TCP 198.19.0.1:80 wlc [10.0.0.1:8080/1/Masq]',
      'externalIP TCP 203.0.113.5:80 wlc [10.0.0.1:8080/1/Masq]',
      'loadBalancer TCP 192.0.2.9:80 wlc [10.0.0.1:8080/1/Masq]',
      `nodePort TCP ${NODE_IP}:30080 wlc [10.0.0.1:8080/1/Masq]`,
    ]);
    expect([...d.vips].sort()).toEqual(['192.0.2.9', '198.19.0.1', '203.0.113.5']);
    expect(d.byService.get(s.key)).toHaveLength(4);
  });

  it('ClientIP affinity → persistent flag with the timeout', () => {
    const d = buildDesired(state([[sp('a', { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 600 } }), []]]), opts);
    const vs = [...d.virtualServers.values()][0]!.vs;
    expect(vs.flags & 1).toBe(1);
    expect(vs.timeoutSeconds).toBe(600);
  });

  it('externalTrafficPolicy Local: external VSes get local endpoints, the cluster IP all', () => {
    const s = sp('a', { type: 'NodePort', nodePort: 30080, externalTrafficPolicy: 'Local' });
    const d = buildDesired(state([[s, [ep('10.0.0.1'), localEp('10.0.0.2')]]]), opts);
    expect(summary(d)).toEqual([
      'clusterIP TCP 198.19.0.1:80 rr [10.0.0.1:8080/1/Masq 10.0.0.2:8080/1/Masq]',
      `nodePort TCP ${NODE_IP}:30080 rr [10.0.0.2:8080/1/Masq]`,
    ]);
  });

  it('internalTrafficPolicy Local: the cluster IP VS gets local endpoints only', () => {
    const d = buildDesired(state([[sp('a', { internalTrafficPolicy: 'Local' }), [ep('10.0.0.1'), localEp('10.0.0.2')]]]), opts);
    expect(summary(d)).toEqual(['clusterIP TCP 198.19.0.1:80 rr [10.0.0.2:8080/1/Masq]']);
  });

  it('IPv6 family takes only IPv6 addresses and endpoints', () => {
    const s = sp('a', { clusterIPs: ['198.19.0.1', 'fd00::1'] });
    const d = buildDesired(state([[s, [ep('10.0.0.1'), ep('fd00:10::1')]]]), { family: 'IPv6', scheduler: 'rr', nodePortIPs: [] });
    expect(summary(d)).toEqual(['clusterIP TCP [fd00::1]:80 rr [fd00:10::1:8080/1/Masq]']);
    expect([...d.virtualServers.values()][0]!.vs.netmask).toBe(128);
    expect([...serviceVIPs(state([[s, []]]), 'IPv6')]).toEqual(['fd00::1']);
  });
});

describe('nodePortIPs', () => {
  it('all local addresses of the family except loopback, link-local and VIPs', () => {
    const ips = nodePortIPs({
      selection: [],
      localAddresses: ['127.0.0.1', NODE_IP, '10.1.0.1', '198.19.0.1', 'fe80::1', '2001:db8::2'],
      primary: [NODE_IP],
      family: 'IPv4',
      vips: new Set(['198.19.0.1']),
    });
    expect(ips).toEqual(['10.1.0.1', NODE_IP]);
  });

  it('honours --nodeport-addresses CIDRs and primary', () => {
    const base = { localAddresses: [NODE_IP, '10.1.0.1'], primary: [NODE_IP], family: 'IPv4' as const, vips: new Set<string>() };
    expect(nodePortIPs({ ...base, selection: ['10.1.0.0/16'] })).toEqual(['10.1.0.1']);
    expect(nodePortIPs({ ...base, selection: ['primary'] })).toEqual([NODE_IP]);
  });
});
