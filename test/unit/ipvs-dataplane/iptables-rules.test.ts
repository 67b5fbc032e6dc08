import { describe, expect, it } from 'vitest';
import { IPVS_JUMPS, missingJumps, renderIpvsIptables, renderIpvsIptablesCleanup, type IpvsRuleOptions } from '../../../modes/ipvs/iptables-rules.js';
import { parseSave } from '../../../modes/iptables/save-parse.js';
import { FakeIptablesRunner } from '../../fakes/iptables/fake-runner.js';

const O: IpvsRuleOptions = {
  family: 'IPv4',
  masqueradeBit: 14,
  masqueradeAll: false,
  localDetector: { ifLocal: '-s 198.18.128.0/17', ifNotLocal: '! -s 198.18.128.0/17' },
  dropInvalid: true,
};

const NAT = `*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-LOAD-BALANCER - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A KUBE-SERVICES ! -s 198.18.128.0/17 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m comment --comment "Kubernetes service external ip + port with externalTrafficPolicy=local" -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j ACCEPT
-A KUBE-SERVICES -m comment --comment "Kubernetes service external ip + port for masquerade and filter purpose" -m set --match-set KUBE-EXTERNAL-IP dst,dst -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m comment --comment "Kubernetes service lb portal" -m set --match-set KUBE-LOAD-BALANCER dst,dst -j KUBE-LOAD-BALANCER
-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
-A KUBE-SERVICES -m set --match-set KUBE-EXTERNAL-IP dst,dst -j ACCEPT
-A KUBE-SERVICES -m set --match-set KUBE-LOAD-BALANCER dst,dst -j ACCEPT
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port with externalTrafficPolicy=local" -m set --match-set KUBE-NODE-PORT-LOCAL-TCP dst -j RETURN
-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ
-A KUBE-NODE-PORT -p udp -m comment --comment "Kubernetes nodeport UDP port with externalTrafficPolicy=local" -m set --match-set KUBE-NODE-PORT-LOCAL-UDP dst -j RETURN
-A KUBE-NODE-PORT -p udp -m comment --comment "Kubernetes nodeport UDP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-UDP dst -j KUBE-MARK-MASQ
-A KUBE-NODE-PORT -p sctp -m comment --comment "Kubernetes nodeport SCTP port with externalTrafficPolicy=local" -m set --match-set KUBE-NODE-PORT-LOCAL-SCTP-HASH dst,dst -j RETURN
-A KUBE-NODE-PORT -p sctp -m comment --comment "Kubernetes nodeport SCTP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-SCTP-HASH dst,dst -j KUBE-MARK-MASQ
-A KUBE-LOAD-BALANCER -m comment --comment "Kubernetes service load balancer ip + port with externalTrafficPolicy=local" -m set --match-set KUBE-LOAD-BALANCER-LOCAL dst,dst -j RETURN
-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
COMMIT
`;

const FILTER = `*filter
:KUBE-FORWARD - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SOURCE-RANGES-FIREWALL - [0:0]
:KUBE-IPVS-FILTER - [0:0]
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT
-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port" -m set --match-set KUBE-NODE-PORT-TCP dst -j ACCEPT
-A KUBE-NODE-PORT -p udp -m comment --comment "Kubernetes nodeport UDP port" -m set --match-set KUBE-NODE-PORT-UDP dst -j ACCEPT
-A KUBE-NODE-PORT -p sctp -m comment --comment "Kubernetes nodeport SCTP port" -m set --match-set KUBE-NODE-PORT-SCTP-HASH dst,dst -j ACCEPT
-A KUBE-PROXY-FIREWALL -m comment --comment "Kubernetes service load balancer ip + port for load balancer with sourceRange" -m set --match-set KUBE-LOAD-BALANCER-FW dst,dst -j KUBE-SOURCE-RANGES-FIREWALL
-A KUBE-SOURCE-RANGES-FIREWALL -m comment --comment "Kubernetes service load balancer ip + port + source cidr for packet filter purpose" -m set --match-set KUBE-LOAD-BALANCER-SOURCE-CIDR dst,dst,src -j RETURN
-A KUBE-SOURCE-RANGES-FIREWALL -j DROP
-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN
-A KUBE-IPVS-FILTER -m comment --comment "reject traffic to unknown ports of service addresses" -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT
COMMIT
`;

describe('IPVS companion iptables rules', () => {
  it('renders the constant chains (golden, no jumps needed)', () => {
    expect(renderIpvsIptables(O)).toBe(FILTER + NAT);
  });

  it('masquerade-all marks every cluster IP packet; IPv6 uses the KUBE-6- sets', () => {
    const all = renderIpvsIptables({ ...O, masqueradeAll: true });
    expect(all).toContain('-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ\n');
    const v6 = renderIpvsIptables({ ...O, family: 'IPv6', localDetector: undefined });
    expect(v6).toContain('--match-set KUBE-6-CLUSTER-IP dst,dst -j ACCEPT');
    expect(v6).not.toMatch(/set KUBE-(?!6-)/);
    expect(v6).not.toContain('KUBE-MARK-MASQ\n-A KUBE-SERVICES -m comment --comment "Kubernetes service external ip + port with');
  });

  it('inserts only missing jumps, in order, and is idempotent on the fake kernel', async () => {
    const r = new FakeIptablesRunner();
    r.load('IPv4', '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j FOREIGN\n:FOREIGN - [0:0]\nCOMMIT\n');
    const save = async () => parseSave((await r.save('IPv4', 'nat')) + (await r.save('IPv4', 'filter')));
    expect(missingJumps(await save())).toHaveLength(IPVS_JUMPS.length);
    await r.restore('IPv4', renderIpvsIptables(O, missingJumps(await save())));
    expect(missingJumps(await save())).toEqual([]);
    await r.restore('IPv4', renderIpvsIptables(O, missingJumps(await save())));
    const nat = r.tables('IPv4').get('nat')!;
    expect(nat.get('PREROUTING')!.rules).toEqual(['-m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-j FOREIGN']);
    expect(r.tables('IPv4').get('filter')!.get('INPUT')!.rules.map((x) => x.split(' -j ')[1])).toEqual(['KUBE-PROXY-FIREWALL', 'KUBE-NODE-PORT', 'KUBE-IPVS-FILTER']);
  });

  it('cleanup removes our jumps and chains and keeps foreign rules', async () => {
    const r = new FakeIptablesRunner();
    r.load('IPv4', '*nat\n:PREROUTING ACCEPT [0:0]\n:FOREIGN - [0:0]\n-A PREROUTING -j FOREIGN\n-A FOREIGN -j RETURN\nCOMMIT\n');
    const save = async () => parseSave((await r.save('IPv4', 'nat')) + (await r.save('IPv4', 'filter')));
    await r.restore('IPv4', renderIpvsIptables(O, missingJumps(await save())));
    await r.restore('IPv4', renderIpvsIptablesCleanup(await save())!);
    const after = await save();
    expect([...after.get('nat')!.keys()].filter((c) => c.startsWith('KUBE-'))).toEqual([]);
    expect([...after.get('filter')!.keys()].filter((c) => c.startsWith('KUBE-'))).toEqual([]);
    expect(after.get('nat')!.get('PREROUTING')!.rules).toEqual(['-j FOREIGN']);
    expect(after.get('nat')!.get('FOREIGN')!.rules).toEqual(['-j RETURN']);
    expect(renderIpvsIptablesCleanup(after)).toBeUndefined();
  });
});
