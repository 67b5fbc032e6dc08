// The table's fixed part: base chains at upstream's hooks and priorities, the dispatch chains, and
// the shared maps service ports add elements to. It depends only on the render options.

import type { IPFamily } from '../../../proxy/model/types.js';
import { ipBytes } from '../bytes.js';
import { elementMap } from '../elements.js';
import {
  addrLen,
  ctStateNew,
  dispatchKeyLen,
  fibLocal,
  loadAddr,
  loadDispatchKey,
  loadPortKey,
  lookup,
  markClear,
  markOr,
  markXor,
  matchCidr,
  matchIifname,
  next,
  NAT_RANGE_PROTO_RANDOM_FULLY,
  R0,
  verdict,
} from '../exprs.js';
import { CHAINS, SETS, TABLE } from '../names.js';
import { CLASS_KINDS, classChain, endpointsMap } from './classes.js';
import { nftFamily } from './family.js';
import { REG_VERDICT, type NftSet } from '../netlink/types.js';
import type { NftRenderOptions } from '../options.js';
import { SKELETON, type ChainSpec, type RuleSpec, type SetSpec, type Unit } from '../ruleset.js';
import { addrType, concatType, TYPE_INET_PROTO, TYPE_INET_SERVICE, VERDICT_DATA_LEN } from '../types-nft.js';

export { nftFamily };

/**
 * Upstream's priorities: dstnat = -100, srcnat = 100, filter checks at dstnat - 10 (they see the
 * service address), and filter-output-post-dnat at dstnat + 10 (it sees where DNAT sent a packet).
 */
const DSTNAT = -100;
const SRCNAT = 100;
const FILTER_CHECK = DSTNAT - 10;
const FILTER_POST_DNAT = DSTNAT + 10;

function set(f: IPFamily, name: string, rest: Omit<NftSet, 'family' | 'table' | 'name'>): NftSet {
  return { family: nftFamily(f), table: TABLE, name, ...rest };
}

/** The shared sets: the dispatch maps, the no-endpoint maps, the firewall sets, hairpin. */
export function sharedSets(f: IPFamily): NftSet[] {
  const a = addrType(f);
  const dispatchKey = { keyType: concatType(a, TYPE_INET_PROTO, TYPE_INET_SERVICE), keyLen: dispatchKeyLen(f) };
  const portKey = { keyType: concatType(TYPE_INET_PROTO, TYPE_INET_SERVICE), keyLen: 8 };
  const vmap = { type: 'verdict' as const, len: VERDICT_DATA_LEN };
  return [
    set(f, SETS.serviceIPs, { ...dispatchKey, data: vmap, comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic' }),
    set(f, SETS.serviceNodePorts, { ...portKey, data: vmap, comment: 'NodePort traffic' }),
    set(f, SETS.noEndpointServices, { ...dispatchKey, data: vmap, comment: 'vmap to drop or reject packets to services with no endpoints' }),
    set(f, SETS.noEndpointNodePorts, { ...portKey, data: vmap, comment: 'vmap to drop or reject packets to service nodeports with no endpoints' }),
    set(f, SETS.firewallIPs, { ...dispatchKey, comment: 'destinations that are subject to LoadBalancerSourceRanges' }),
    set(f, SETS.firewallAllow, {
      keyType: concatType(a, TYPE_INET_PROTO, TYPE_INET_SERVICE, a),
      keyLen: dispatchKeyLen(f) + addrLen(f),
      concat: [addrLen(f), 1, 2, addrLen(f)],
      interval: true,
      comment: 'destinations and sources allowed by LoadBalancerSourceRanges',
    }),
    set(f, SETS.hairpin, {
      keyType: concatType(a, a),
      keyLen: 2 * addrLen(f),
      comment: 'endpoint . endpoint: a pod reaching itself through a service',
    }),
    set(f, SETS.clusterIPs, { keyType: a, keyLen: addrLen(f), comment: 'Active ClusterIPs' }),
    // The flat path (render/classes.ts): which destinations take it, and their policies.
    set(f, SETS.flatIPs, { ...dispatchKey, comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic of services without affinity' }),
    set(f, SETS.flatNodePorts, { ...portKey, comment: 'NodePort traffic of services without affinity' }),
    set(f, SETS.flatClusterIPs, { ...dispatchKey, comment: 'cluster IPs (masquerade off-cluster sources)' }),
    set(f, SETS.flatExtClusterIPs, { ...dispatchKey, comment: 'external destinations with Cluster traffic policy (masquerade)' }),
    set(f, SETS.flatExtLocalIPs, { ...dispatchKey, comment: 'external destinations with Local traffic policy' }),
    set(f, SETS.flatExtClusterNodePorts, { ...portKey, comment: 'NodePorts with Cluster traffic policy (masquerade)' }),
    set(f, SETS.flatExtLocalNodePorts, { ...portKey, comment: 'NodePorts with Local traffic policy' }),
    ...CLASS_KINDS.map((k) => endpointsMap(f, k)),
  ];
}

const rule = (exprs: RuleSpec['exprs'], comment?: string): RuleSpec => (comment ? { exprs, comment } : { exprs });

export function renderSkeleton(o: NftRenderOptions): Unit {
  const f = o.family;
  const mark = o.masqueradeMark;
  const sets: SetSpec[] = sharedSets(f).map((s) => ({ set: s, elements: new Map(), shared: true }));
  const base = (name: string, type: 'nat' | 'filter', hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting', priority: number, rules: RuleSpec[]): ChainSpec => ({
    name,
    // Policy accept is the default, which dumps leave out.
    base: { type, hook, priority },
    rules,
  });
  const jumpIfNew = (chain: string): RuleSpec => rule([...ctStateNew(), verdict('jump', chain)]);

  // NodePort destinations: every local address but loopback, or the selected addresses.
  let nodePortMatch;
  if (o.nodePortAddresses === 'all') {
    nodePortMatch = [...fibLocal('daddr'), ...matchCidr(f, 'daddr', f === 'IPv4' ? '127.0.0.0/8' : '::1/128', true)];
  } else {
    const ips = o.nodePortAddresses;
    sets.push({
      set: set(f, SETS.nodePortIPs, { keyType: addrType(f), keyLen: addrLen(f), comment: 'IPs that accept NodePort traffic' }),
      elements: elementMap(ips.map((ip) => ({ key: ipBytes(ip) }))),
    });
    nodePortMatch = [loadAddr(f, 'daddr', R0), lookup(R0, SETS.nodePortIPs)];
  }
  const r1 = next(R0, addrLen(f));

  const chains: ChainSpec[] = [
    { name: CHAINS.markForMasquerade, rules: [rule(markOr(mark))] },
    {
      name: CHAINS.masquerading,
      rules: [
        rule([...markClear(mark), verdict('return')]),
        rule(markXor(mark)),
        rule([{ type: 'masq', flags: NAT_RANGE_PROTO_RANDOM_FULLY }]),
      ],
    },
    {
      name: CHAINS.services,
      rules: [
        // Service ports with ClientIP affinity: their own chains, through the verdict maps.
        rule([...loadDispatchKey(f), lookup(R0, SETS.serviceIPs, { dreg: REG_VERDICT })]),
        rule([...nodePortMatch, ...loadPortKey(), lookup(R0, SETS.serviceNodePorts, { dreg: REG_VERDICT })]),
        // All others: shared rules and the count classes, behind one set lookup each (a packet
        // to no service never walks the class rules).
        rule([...loadDispatchKey(f), lookup(R0, SETS.flatIPs), verdict('goto', CHAINS.flatIPs)]),
        rule([...nodePortMatch, ...loadPortKey(), lookup(R0, SETS.flatNodePorts), verdict('goto', CHAINS.flatNodePorts)]),
      ],
    },
    { name: CHAINS.flatIPs, rules: flatRules(o, false) },
    { name: CHAINS.flatNodePorts, rules: flatRules(o, true) },
    ...CLASS_KINDS.map((k): ChainSpec => ({ name: classChain(k), rules: [], classes: true })),
    {
      // Upstream's cluster-ips-check: runs after DNAT, so a packet still addressed to a cluster IP
      // matched no service port of it (a port no service uses) and is rejected at once rather
      // than routed towards a VIP nothing answers on.
      name: CHAINS.clusterIPsCheck,
      rules: [
        rule([loadAddr(f, 'daddr', R0), lookup(R0, SETS.clusterIPs), { type: 'reject', kind: 'icmp', code: f === 'IPv4' ? 3 : 4 }], 'Reject traffic to invalid ports of ClusterIPs'),
      ],
    },
    { name: CHAINS.rejectChain, rules: [rule([{ type: 'reject', kind: 'icmp', code: f === 'IPv4' ? 3 : 4 }], 'helper for @no-endpoint-services / @no-endpoint-nodeports')] },
    { name: CHAINS.serviceEndpointsCheck, rules: [rule([...loadDispatchKey(f), lookup(R0, SETS.noEndpointServices, { dreg: REG_VERDICT })])] },
    {
      name: CHAINS.nodeportEndpointsCheck,
      rules: [rule([...nodePortMatch, ...loadPortKey(), lookup(R0, SETS.noEndpointNodePorts, { dreg: REG_VERDICT })])],
    },
    {
      name: CHAINS.firewallCheck,
      rules: [
        rule([
          ...loadDispatchKey(f),
          lookup(R0, SETS.firewallIPs),
          loadAddr(f, 'saddr', next(next(r1, 1), 2)),
          lookup(R0, SETS.firewallAllow, { invert: true }),
          // Counted, so that dropped sources show in `nft list chain ip kube-proxy firewall-check`.
          { type: 'counter' },
          verdict('drop'),
        ]),
      ],
    },
    base(CHAINS.natPrerouting, 'nat', 'prerouting', DSTNAT, [rule([verdict('jump', CHAINS.services)])]),
    base(CHAINS.natOutput, 'nat', 'output', DSTNAT, [rule([verdict('jump', CHAINS.services)])]),
    base(CHAINS.natPostrouting, 'nat', 'postrouting', SRCNAT, [
      // After DNAT a hairpinned packet has the endpoint as both source and destination.
      rule([loadAddr(f, 'saddr', R0), loadAddr(f, 'daddr', r1), lookup(R0, SETS.hairpin), verdict('jump', CHAINS.markForMasquerade)], 'hairpin'),
      rule([verdict('jump', CHAINS.masquerading)]),
    ]),
    base(CHAINS.filterPrerouting, 'filter', 'prerouting', FILTER_CHECK, [jumpIfNew(CHAINS.firewallCheck)]),
    base(CHAINS.filterInput, 'filter', 'input', FILTER_CHECK, [jumpIfNew(CHAINS.nodeportEndpointsCheck), jumpIfNew(CHAINS.serviceEndpointsCheck)]),
    base(CHAINS.filterForward, 'filter', 'forward', FILTER_CHECK, [jumpIfNew(CHAINS.serviceEndpointsCheck), jumpIfNew(CHAINS.clusterIPsCheck)]),
    base(CHAINS.filterOutput, 'filter', 'output', FILTER_CHECK, [jumpIfNew(CHAINS.serviceEndpointsCheck), jumpIfNew(CHAINS.firewallCheck)]),
    base(CHAINS.filterOutputPostDnat, 'filter', 'output', FILTER_POST_DNAT, [jumpIfNew(CHAINS.clusterIPsCheck)]),
  ];
  return { owner: SKELETON, chains, sets, shared: new Map(), noLocal: { internal: false, external: false } };
}

/**
 * The per-service semantics of the former service chains as fixed rules over sets of
 * destinations (upstream's service/external chains, in order): masquerade off-cluster sources to
 * cluster IPs (or all with masquerade-all); external destinations with Cluster policy masquerade;
 * with Local policy pods go to the cluster endpoints, the node's own sources are masqueraded to
 * the cluster endpoints, and everyone else gets the local endpoints or nothing.
 */
function flatRules(o: NftRenderOptions, nodePorts: boolean): RuleSpec[] {
  const f = o.family;
  const key = nodePorts ? loadPortKey() : loadDispatchKey(f);
  const inSet = (s: string): RuleSpec['exprs'] => [...key, lookup(R0, s)];
  const extCluster = nodePorts ? SETS.flatExtClusterNodePorts : SETS.flatExtClusterIPs;
  const extLocal = nodePorts ? SETS.flatExtLocalNodePorts : SETS.flatExtLocalIPs;
  const clusterChain = nodePorts ? CHAINS.nodePortClusterClasses : CHAINS.clusterClasses;
  const localChain = nodePorts ? CHAINS.nodePortLocalClasses : CHAINS.localClasses;
  const mark = verdict('jump', CHAINS.markForMasquerade);
  const rules: RuleSpec[] = [];
  if (!nodePorts) {
    if (o.masqueradeAll) rules.push(rule([...inSet(SETS.flatClusterIPs), mark], 'masquerade-all to cluster IPs'));
    else if (o.local) {
      const notLocal = o.local.kind === 'cidr' ? matchCidr(f, 'saddr', o.local.cidr, true) : matchIifname(o.local.name, true);
      rules.push(rule([...inSet(SETS.flatClusterIPs), ...notLocal, mark], 'masquerade off-cluster traffic to cluster IPs'));
    }
  }
  rules.push(rule([...inSet(extCluster), mark], 'masquerade traffic for external destinations with Cluster policy'));
  if (o.local) {
    const isLocal = o.local.kind === 'cidr' ? matchCidr(f, 'saddr', o.local.cidr, false) : matchIifname(o.local.name, false);
    rules.push(rule([...inSet(extLocal), ...isLocal, verdict('goto', clusterChain)], 'pod traffic for external destinations with Local policy'));
  }
  rules.push(rule([...inSet(extLocal), ...fibLocal('saddr'), mark], 'masquerade LOCAL traffic for external destinations with Local policy'));
  rules.push(rule([...inSet(extLocal), ...fibLocal('saddr'), verdict('goto', clusterChain)], 'route LOCAL traffic for external destinations with Local policy'));
  rules.push(rule([verdict('jump', localChain)]));
  // Local policy without a local endpoint: not to the cluster endpoints (dropped in filter).
  rules.push(rule([...inSet(extLocal), verdict('return')]));
  rules.push(rule([verdict('goto', clusterChain)]));
  return rules;
}
