import { describe, expect, it } from 'vitest';
import { buildMembership, parseIpsetSave, renderIpsetRestore, setName } from '../../../modes/ipvs/ipsets.js';
import { NODE_IP, ep, localEp, sp, state } from './fixtures.js';

const s = state([
  [sp('a', { type: 'LoadBalancer', nodePort: 30080, externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, loadBalancerIPs: ['192.0.2.9'], loadBalancerSourceRanges: ['203.0.113.0/24'] }), [localEp('10.0.0.1'), ep('10.0.0.2')]],
  [sp('b', { protocol: 'UDP', clusterIPs: ['198.19.0.2'], port: 53, externalIPs: ['203.0.113.7'], nodePort: 30053, type: 'NodePort' }), [ep('10.0.0.3', { port: 53 })]],
]);

const CREATES = `create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536
create KUBE-EXTERNAL-IP hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-EXTERNAL-IP-LOCAL hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-LOCAL hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-FW hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net family inet hashsize 1024 maxelem 65536
create KUBE-NODE-PORT-TCP bitmap:port range 0-65535
create KUBE-NODE-PORT-UDP bitmap:port range 0-65535
create KUBE-NODE-PORT-SCTP-HASH hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-NODE-PORT-LOCAL-TCP bitmap:port range 0-65535
create KUBE-NODE-PORT-LOCAL-UDP bitmap:port range 0-65535
create KUBE-NODE-PORT-LOCAL-SCTP-HASH hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-HEALTH-CHECK-NODE-PORT bitmap:port range 0-65535
create KUBE-IPVS-IPS hash:ip family inet hashsize 1024 maxelem 65536
`;

describe('ipset restore rendering', () => {
  it('full sync: create -exist, flush and fill every set (golden)', () => {
    expect(renderIpsetRestore('IPv4', buildMembership(s, 'IPv4', [NODE_IP]))).toBe(CREATES + `flush KUBE-CLUSTER-IP
add KUBE-CLUSTER-IP 198.19.0.1,tcp:80
add KUBE-CLUSTER-IP 198.19.0.2,udp:53
flush KUBE-LOOP-BACK
add KUBE-LOOP-BACK 10.0.0.1,tcp:8080,10.0.0.1
flush KUBE-EXTERNAL-IP
add KUBE-EXTERNAL-IP 203.0.113.7,udp:53
flush KUBE-EXTERNAL-IP-LOCAL
flush KUBE-LOAD-BALANCER
add KUBE-LOAD-BALANCER 192.0.2.9,tcp:80
flush KUBE-LOAD-BALANCER-LOCAL
add KUBE-LOAD-BALANCER-LOCAL 192.0.2.9,tcp:80
flush KUBE-LOAD-BALANCER-FW
add KUBE-LOAD-BALANCER-FW 192.0.2.9,tcp:80
flush KUBE-LOAD-BALANCER-SOURCE-CIDR
add KUBE-LOAD-BALANCER-SOURCE-CIDR 192.0.2.9,tcp:80,203.0.113.0/24
flush KUBE-NODE-PORT-TCP
add KUBE-NODE-PORT-TCP 30080
flush KUBE-NODE-PORT-UDP
add KUBE-NODE-PORT-UDP 30053
flush KUBE-NODE-PORT-SCTP-HASH
flush KUBE-NODE-PORT-LOCAL-TCP
add KUBE-NODE-PORT-LOCAL-TCP 30080
flush KUBE-NODE-PORT-LOCAL-UDP
flush KUBE-NODE-PORT-LOCAL-SCTP-HASH
flush KUBE-HEALTH-CHECK-NODE-PORT
add KUBE-HEALTH-CHECK-NODE-PORT 32000
flush KUBE-IPVS-IPS
add KUBE-IPVS-IPS 192.0.2.9
add KUBE-IPVS-IPS 198.19.0.1
add KUBE-IPVS-IPS 198.19.0.2
add KUBE-IPVS-IPS 203.0.113.7
`);
  });

  it('partial sync: only add/del deltas against the previous membership', () => {
    const before = buildMembership(s, 'IPv4', [NODE_IP]);
    const first = [...s.services.values()][0]!;
    const s2 = state([[first, [...s.endpoints.get(first.key)!]]]);
    const text = renderIpsetRestore('IPv4', buildMembership(s2, 'IPv4', [NODE_IP]), before);
    expect(text).toBe(CREATES + `del KUBE-CLUSTER-IP 198.19.0.2,udp:53
del KUBE-EXTERNAL-IP 203.0.113.7,udp:53
del KUBE-NODE-PORT-UDP 30053
del KUBE-IPVS-IPS 198.19.0.2
del KUBE-IPVS-IPS 203.0.113.7
`);
  });

  it('IPv6 sets are distinct objects with family inet6 and names within 31 characters', () => {
    const s6 = state([[sp('a', { clusterIPs: ['fd00::1'], type: 'LoadBalancer', loadBalancerIPs: ['2001:db8::9'], loadBalancerSourceRanges: ['2001:db8:5::/48'] }), []]]);
    const text = renderIpsetRestore('IPv6', buildMembership(s6, 'IPv6', []));
    expect(text).toContain('create KUBE-6-CLUSTER-IP hash:ip,port family inet6 hashsize 1024 maxelem 65536\n');
    expect(text).toContain('add KUBE-6-CLUSTER-IP fd00::1,tcp:80\n');
    expect(text).toContain('add KUBE-6-LOAD-BALANCER-SOURCE-CID 2001:db8::9,tcp:80,2001:db8:5::/48\n');
    for (const line of text.split('\n').filter((l) => l.startsWith('create'))) {
      expect(line.split(' ')[1]!.length).toBeLessThanOrEqual(31);
    }
  });

  it('SCTP node ports use hash:ip,port with each node address', () => {
    const m = buildMembership(state([[sp('a', { protocol: 'SCTP', type: 'NodePort', nodePort: 30100 }), []]]), 'IPv4', [NODE_IP, '10.1.0.1']);
    expect([...m.get(setName('nodePortSCTP', 'IPv4'))!].sort()).toEqual(['10.1.0.1,sctp:30100', `${NODE_IP},sctp:30100`]);
  });

  it('parses ipset save output, restricted to our names', () => {
    const m = parseIpsetSave('create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\nadd KUBE-NODE-PORT-TCP 30080\ncreate OTHER hash:ip\nadd OTHER 1.2.3.4\n', new Set(['KUBE-NODE-PORT-TCP']));
    expect([...m.keys()]).toEqual(['KUBE-NODE-PORT-TCP']);
    expect([...m.get('KUBE-NODE-PORT-TCP')!]).toEqual(['30080']);
  });
});
