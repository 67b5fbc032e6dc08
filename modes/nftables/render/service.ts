// Render one service port for one family. Endpoint selection is the same plan iptables mode uses
// (planServicePort over the model's categorizeEndpoints), so both modes pick the same endpoints
// for every traffic policy.
//
// A service port without ClientIP affinity has no chains or sets of its own: only elements of the
// shared sets and maps (render/classes.ts: count classes), so that its endpoint changes and its
// coming and going are element operations only. One with affinity keeps upstream's shape of
// chains (cluster/local selection, external) with per-endpoint affinity sets, reached through the
// `service-ips` / `service-nodeports` verdict maps.

import type { Endpoint, IPFamily, NodeInfo, ServicePort } from '../../../proxy/model/types.js';
import { planServicePort, type EndpointTarget, type ServicePlan } from '../../iptables/render/plan.js';
import { cidrRange, concat, hex, ipBytes, ipPairBytes, ipPortBytes, PROTO_BYTES, portBytes, u32Host } from '../bytes.js';
import { elementKey, elementValue, type KeptElement } from '../elements.js';
import { servicePortHash } from '../../iptables/names.js';
import {
  addrLen,
  cmp,
  dnat,
  fibLocal,
  loadAddr,
  lookup,
  matchCidr,
  matchIifname,
  next,
  R0,
  verdict,
} from '../exprs.js';
import { CHAINS, comment, SETS, servicePortNames, TABLE, type ServicePortNames } from '../names.js';
import type { Expr, NftElement, NftSet, Verdict } from '../netlink/types.js';
import type { NftRenderOptions } from '../options.js';
import type { ChainSpec, RuleSpec, SetSpec, Unit } from '../ruleset.js';
import { addrType } from '../types-nft.js';
import { classEndpointMap, classSetName, type ClassKind } from './classes.js';
import { assignSlots } from './endpoints.js';
import { nftFamily } from './family.js';
import { compactMap, compactPairs, SMALL_MAX } from '../small-map.js';

const NONE: Unit['shared'] = new Map();

/** Endpoint ids by numgen slot, per kind (`cluster`, `local`), from the previous render (for stable slots). */
export type SlotHistory = ReadonlyMap<string, readonly string[]>;

export function renderService(
  sp: ServicePort,
  endpoints: readonly Endpoint[],
  node: NodeInfo,
  o: NftRenderOptions,
  history: SlotHistory = new Map(),
  prevShared: Unit['shared'] = NONE,
): Unit {
  const plan = planServicePort(sp, endpoints, node, o.family);
  if (!plan) return { owner: sp.key, chains: NO_CHAINS, sets: NO_SETS, shared: NONE, noLocal: NO_LOCAL[0]! };
  const n = servicePortNames(sp);
  const f = o.family;
  const chains: ChainSpec[] = [];
  const sets: SetSpec[] = [];
  const affinity = sp.sessionAffinity.type === 'ClientIP' ? sp.sessionAffinity.timeoutSeconds * 1000 : 0;
  if (!affinity) return renderFlat(sp, plan, o, history, prevShared);
  // ClientIP affinity: one timeout set of client addresses per endpoint (as upstream), shared by
  // the cluster and local chains.
  for (const t of plan.allTargets) sets.push({ set: affinitySet(f, n, t, affinity), elements: new Map() });

  const internalIsLocal = plan.internalChain === plan.names.svl;
  const selection = (chain: string, targets: readonly EndpointTarget[], isInternal: boolean): void => {
    const rules: RuleSpec[] = [];
    if (isInternal && plan.hasInternalEndpoints) {
      const m = masqueradeRule(plan, o);
      if (m) rules.push(m);
    }
    // In the model's order: every pick rule changes with the endpoint count anyway. Affinity
    // services pick per endpoint (like iptables' probabilities), since the choice must update
    // that endpoint's set: nft's own tools cannot print a set update whose key came from a map
    // lookup, so the count classes are reserved for services without affinity.
    for (const t of targets) rules.push(affinityHitRule(f, n, t, affinity));
    targets.forEach((t, i) => rules.push(affinityPickRule(f, n, t, affinity, targets.length - i)));
    chains.push({ name: chain, rules });
  };
  if (plan.usesClusterChain) selection(n.cluster, plan.clusterTargets, !internalIsLocal);
  if (plan.usesLocalChain) selection(n.local, plan.localTargets, internalIsLocal);
  if (plan.usesExtChain) chains.push({ name: n.external, rules: externalRules(plan, n, o) });

  return {
    owner: sp.key,
    chains,
    sets,
    shared: compactShared(sharedElements(plan, n, o, prevShared)),
    noLocal: noLocalOf(plan),
  };
}

// Every unit of the other family (or of a service port without a plan) and every flat one would
// otherwise hold arrays and a flag object of its own: shared, immutable constants instead.
const NO_CHAINS: readonly ChainSpec[] = [];
const NO_SETS: readonly SetSpec[] = [];
const NO_LOCAL: readonly Unit['noLocal'][] = [
  { internal: false, external: false },
  { internal: true, external: false },
  { internal: false, external: true },
  { internal: true, external: true },
];

function noLocalOf(plan: ServicePlan): Unit['noLocal'] {
  const internal = plan.hasEndpoints && !plan.hasInternalEndpoints;
  const external = plan.hasEndpoints && !plan.hasExternalEndpoints && plan.usesExtChain;
  return NO_LOCAL[(internal ? 1 : 0) + (external ? 2 : 0)]!;
}

/**
 * A unit's shared elements while it is rendered: per set, its keys and kept elements as one flat
 * list (k0, e0, k1, e1, ...), compacted once at the end (compactShared). Sets with more entries
 * than a scan should cover also get a key index.
 */
interface Collected {
  readonly sets: Map<string, (string | KeptElement)[]>;
  readonly index: Map<string, Set<string>>;
}

function collected(): Collected {
  return { sets: new Map(), index: new Map() };
}

function hasKey(out: Collected, set: string, kv: readonly (string | KeptElement)[], k: string): boolean {
  if (kv.length <= 2 * SMALL_MAX) {
    for (let i = 0; i < kv.length; i += 2) if (kv[i] === k) return true;
    return false;
  }
  let idx = out.index.get(set);
  if (!idx) {
    idx = new Set();
    for (let i = 0; i < kv.length; i += 2) idx.add(kv[i] as string);
    out.index.set(set, idx);
  }
  return idx.has(k);
}

/** The unit's shared elements as kept for its life: small maps as flat arrays (small-map.ts). */
function compactShared(out: Collected): Unit['shared'] {
  const kv = new Array<string | ReadonlyMap<string, KeptElement>>(out.sets.size * 2);
  let i = 0;
  for (const [set, els] of out.sets) {
    kv[i++] = set;
    kv[i++] = compactPairs<string, KeptElement>(els);
  }
  return compactPairs<string, ReadonlyMap<string, KeptElement>>(kv);
}

/** Most elements have no value and no comment (hairpin, cluster IPs): one shared kept form. */
const EMPTY: KeptElement = { value: '', comment: undefined };

type ElementAdder = (set: string, e: NftElement) => void;

/**
 * Collects a unit's shared elements, in their kept form (elements.ts). An element identical to the
 * previous render's keeps that object: the shared index then sees the same object and skips the
 * key (no lookup in a map of 100,000 keys per unchanged element of a changed service port, issue
 * #13), and the new render's copy is young garbage instead of a retained duplicate.
 */
function adder(out: Collected, prev: Unit['shared']): ElementAdder {
  // The last element made: a unit's destination elements carry the same comment and no value,
  // and share one kept form (as every element without value and comment shares EMPTY).
  let last = EMPTY;
  return (set, e) => {
    let m = out.sets.get(set);
    if (!m) out.sets.set(set, (m = []));
    const k = elementKey(e);
    if (hasKey(out, set, m, k)) return;
    const p = prev.get(set)?.get(k);
    const value = elementValue(e);
    let kept: KeptElement;
    if (p !== undefined && p.value === value && p.comment === e.comment) kept = p;
    else if (last.value === value && last.comment === e.comment) kept = last;
    else if (value === '' && e.comment === undefined) kept = EMPTY;
    else kept = { value, comment: e.comment };
    last = kept;
    m.push(k, kept);
    out.index.get(set)?.add(k);
  };
}

/**
 * `s` as one flat string. A template literal of 13 characters or more (an endpoint's `ip:port`)
 * is kept as a tree of concatenations, ~25 bytes more per retained copy; join writes one string.
 */
function flatString(s: string): string {
  return s.length < 13 ? s : [s.slice(0, 6), s.slice(6)].join('');
}

/**
 * A service port without affinity: no chains or sets of its own, only elements of the shared
 * sets (render/classes.ts): which destinations take the flat path with which policy, the count
 * class of each destination, and its endpoints at their stable numgen slots.
 */
function renderFlat(sp: ServicePort, plan: ServicePlan, o: NftRenderOptions, history: SlotHistory, prevShared: Unit['shared']): Unit {
  const n = servicePortNames(sp);
  const out = sharedElements(plan, n, o, prevShared, true);
  const add = adder(out, prevShared);
  const slotsOut = new Map<string, readonly string[]>();
  // Each endpoint's address once per render, flat (a NodePort service lists its endpoints twice):
  // the slot id and the endpoint elements' comment. A survivor keeps the previous render's string,
  // which its slot and its kept element already hold.
  const addrOf = new Map<Endpoint, string>();
  const address = (t: EndpointTarget): string => {
    let a = addrOf.get(t.ep);
    if (a === undefined) addrOf.set(t.ep, (a = flatString(t.address)));
    return a;
  };
  const slotted = (which: 'cluster' | 'local', targets: readonly EndpointTarget[]): readonly Endpoint[] => {
    const slots = assignSlots(history.get(which) ?? [], targets.map(address));
    slotsOut.set(which, slots);
    const byAddr = new Map(targets.map((t) => [address(t), t.ep]));
    return slots.map((a) => {
      const ep = byAddr.get(a)!;
      addrOf.set(ep, a);
      return ep;
    });
  };
  const cluster = plan.usesClusterChain ? slotted('cluster', plan.clusterTargets) : [];
  const local = plan.usesLocalChain ? slotted('local', plan.localTargets) : [];
  const proto = PROTO_BYTES[sp.protocol];
  const port = portBytes(sp.port);
  const c = comment(sp.key);
  const commentOf = (ep: Endpoint): string => comment(addrOf.get(ep)!);
  const member = (k: ClassKind, key: Uint8Array, eps: readonly Endpoint[]): void => {
    if (eps.length === 0) return;
    add(classSetName(k, eps.length), { key, comment: c });
    const map = classEndpointMap(k);
    eps.forEach((ep, i) => add(map, { key: concat(key, u32Host(i)), data: ipPortBytes(ep.ip, ep.port), comment: commentOf(ep) }));
  };
  const internalLocal = plan.internalChain === plan.names.svl;
  const extLocal = plan.externalPolicyChain === plan.names.svl;
  const cipKey = concat(ipBytes(plan.clusterIP), proto, port);
  if (plan.hasInternalEndpoints) {
    add(SETS.flatIPs, { key: cipKey, comment: c });
    add(SETS.flatClusterIPs, { key: cipKey, comment: c });
    if (internalLocal) member('local', cipKey, local);
    else member('cluster', cipKey, cluster);
  }
  const external = (key: Uint8Array, np: boolean): void => {
    add(np ? SETS.flatNodePorts : SETS.flatIPs, { key, comment: c });
    const k = (kind: 'cluster' | 'local'): ClassKind => (np ? `nodeport-${kind}` : kind);
    if (!extLocal) {
      add(np ? SETS.flatExtClusterNodePorts : SETS.flatExtClusterIPs, { key, comment: c });
      member(k('cluster'), key, cluster);
      return;
    }
    // Pods and the node's own sources short-circuit to the cluster endpoints (upstream).
    if (plan.usesClusterChain) {
      add(np ? SETS.flatExtLocalNodePorts : SETS.flatExtLocalIPs, { key, comment: c });
      member(k('cluster'), key, cluster);
    }
    if (plan.hasExternalEndpoints) member(k('local'), key, local);
  };
  if (plan.usesExtChain) {
    for (const ip of [...plan.externalIPs, ...plan.lbIPs]) external(concat(ipBytes(ip), proto, port), false);
    if (sp.nodePort !== 0) external(concat(proto, portBytes(sp.nodePort)), true);
  }
  return { owner: sp.key, chains: NO_CHAINS, sets: NO_SETS, shared: compactShared(out), slots: compactMap(slotsOut), noLocal: noLocalOf(plan) };
}

function chainOf(plan: ServicePlan, n: ServicePortNames, iptablesChain: string): string {
  return iptablesChain === plan.names.svl ? n.local : n.cluster;
}

function affinitySet(f: IPFamily, n: ServicePortNames, t: EndpointTarget, timeoutMs: number): NftSet {
  return {
    family: nftFamily(f),
    table: TABLE,
    name: affinitySetName(n, t),
    keyType: addrType(f),
    keyLen: addrLen(f),
    timeout: true,
    timeoutMs,
    dynamic: true,
    comment: comment(`clients of ${t.address} (sessionAffinity ClientIP)`),
  };
}

/** Named after the endpoint, not its slot: a replaced endpoint's clients start over. */
function affinitySetName(n: ServicePortNames, t: EndpointTarget): string {
  return `affinity-${servicePortHash(n.id + t.address, 'TCP').slice(0, 8)}-${n.id}`;
}

/** Masquerade off-cluster traffic to the cluster IP: it may bounce off this node to another. */
function masqueradeRule(plan: ServicePlan, o: NftRenderOptions): RuleSpec | undefined {
  const f = o.family;
  const toCIP = matchCidr(f, 'daddr', plan.clusterIP, false);
  const jump = verdict('jump', CHAINS.markForMasquerade);
  const c = `${plan.sp.key} cluster IP`;
  if (o.masqueradeAll) return { exprs: [...toCIP, jump], comment: c };
  if (!o.local) return undefined;
  const notLocal = o.local.kind === 'cidr' ? matchCidr(f, 'saddr', o.local.cidr, true) : matchIifname(o.local.name, true);
  return { exprs: [...toCIP, ...notLocal, jump], comment: c };
}

/** Registers for the DNAT destination: right after a client address (which may be 16 bytes). */
function epReg(f: IPFamily): number {
  return next(R0, addrLen(f));
}

/** `update @affinity { ip saddr } dnat to <endpoint>`. */
function recordAndDnat(f: IPFamily, set: string, t: EndpointTarget, timeoutMs: number): Expr[] {
  const r = epReg(f);
  return [
    loadAddr(f, 'saddr', R0),
    { type: 'dynset', op: 'update', set, sregKey: R0, timeoutMs },
    { type: 'immediate', dreg: r, data: ipBytes(t.ep.ip) },
    { type: 'immediate', dreg: next(r, addrLen(f)), data: portBytes(t.ep.port) },
    dnat(f, r),
  ];
}

/** A client with a live entry for this endpoint goes back to it (and refreshes the entry). */
function affinityHitRule(f: IPFamily, n: ServicePortNames, t: EndpointTarget, timeoutMs: number): RuleSpec {
  const set = affinitySetName(n, t);
  return { exprs: [loadAddr(f, 'saddr', R0), lookup(R0, set), ...recordAndDnat(f, set, t, timeoutMs)], comment: `affinity ${t.address}` };
}

/** `numgen random mod k == 0` picks this endpoint with probability 1/k (the last one always). */
function affinityPickRule(f: IPFamily, n: ServicePortNames, t: EndpointTarget, timeoutMs: number, k: number): RuleSpec {
  const pick: Expr[] = k > 1 ? [{ type: 'numgen', dreg: R0, modulus: k, mode: 'random' }, cmp(R0, 'eq', u32Host(0))] : [];
  return { exprs: [...pick, ...recordAndDnat(f, affinitySetName(n, t), t, timeoutMs)], comment: t.address };
}

function externalRules(plan: ServicePlan, n: ServicePortNames, o: NftRenderOptions): RuleSpec[] {
  const key = plan.sp.key;
  const rules: RuleSpec[] = [];
  const policyChain = chainOf(plan, n, plan.externalPolicyChain);
  if (policyChain === n.cluster) {
    // Cluster policy may forward to another node, so the source must be rewritten.
    rules.push({ exprs: [verdict('jump', CHAINS.markForMasquerade)], comment: `masquerade traffic for ${key} external destinations` });
  } else if (plan.usesClusterChain) {
    // Pods reaching an external address act as if they went out to the load balancer and came
    // back: neither traffic policy applies to them.
    if (o.local) {
      const isLocal = o.local.kind === 'cidr' ? matchCidr(o.family, 'saddr', o.local.cidr, false) : matchIifname(o.local.name, false);
      rules.push({ exprs: [...isLocal, verdict('goto', n.cluster)], comment: `pod traffic for ${key} external destinations` });
    }
    // The node's own traffic has a local source (the LB IP may be local): masquerade, cluster-wide.
    rules.push({ exprs: [...fibLocal('saddr'), verdict('jump', CHAINS.markForMasquerade)], comment: `masquerade LOCAL traffic for ${key} external destinations` });
    rules.push({ exprs: [...fibLocal('saddr'), verdict('goto', n.cluster)], comment: `route LOCAL traffic for ${key} external destinations` });
  }
  if (plan.hasExternalEndpoints) rules.push({ exprs: [verdict('goto', policyChain)] });
  return rules;
}

/** Shared elements of either path; `flat`: no dispatch verdict elements (renderFlat adds its own). */
function sharedElements(plan: ServicePlan, n: ServicePortNames, o: NftRenderOptions, prevShared: Unit['shared'], flat = false): Collected {
  const f = o.family;
  const out = collected();
  const add = adder(out, prevShared);
  const proto = PROTO_BYTES[plan.sp.protocol];
  const port = portBytes(plan.sp.port);
  const ipKey = (ip: string): Uint8Array => concat(ipBytes(ip), proto, port);
  const nodePortKey = concat(proto, portBytes(plan.sp.nodePort));
  const key = plan.sp.key;
  const goto = (chain: string): Verdict => ({ code: 'goto', chain });
  // Upstream's no-endpoint verdicts: none anywhere → reject; only none usable here → drop.
  const noEndpoints: Verdict = plan.hasEndpoints ? { code: 'drop' } : { code: 'goto', chain: CHAINS.rejectChain };
  const noneComment = comment(plan.hasEndpoints ? `${key} has no local endpoints` : `${key} has no endpoints`);

  // Every active cluster IP, endpoints or not: cluster-ips-check rejects its unused ports.
  add(SETS.clusterIPs, { key: ipBytes(plan.clusterIP) });
  if (plan.hasInternalEndpoints) {
    if (!flat) add(SETS.serviceIPs, { key: ipKey(plan.clusterIP), verdict: goto(chainOf(plan, n, plan.internalChain)), comment: comment(`${key} cluster IP`) });
  } else {
    add(SETS.noEndpointServices, { key: ipKey(plan.clusterIP), verdict: noEndpoints, comment: noneComment });
  }
  const external = (ip: string, what: string): void => {
    if (plan.usesExtChain && !flat) add(SETS.serviceIPs, { key: ipKey(ip), verdict: goto(n.external), comment: comment(`${key} ${what}`) });
    if (!plan.hasExternalEndpoints) add(SETS.noEndpointServices, { key: ipKey(ip), verdict: noEndpoints, comment: noneComment });
  };
  for (const ip of plan.externalIPs) external(ip, 'external IP');
  for (const ip of plan.lbIPs) external(ip, 'loadbalancer IP');
  if (plan.usesFwChain) {
    const ranges = plan.sp.loadBalancerSourceRanges.filter((c) => (f === 'IPv6') === c.includes(':'));
    for (const lb of plan.lbIPs) {
      add(SETS.firewallIPs, { key: ipKey(lb), comment: comment(`${key} loadbalancer IP`) });
      // The node's own traffic to its LB IP leaves with the LB IP as source when the node is allowed.
      const sources = [...ranges, ...(o.nodeIPs.some((ip) => inRanges(ranges, ip)) ? [lb] : [])];
      for (const src of sources) {
        const r = cidrRange(src);
        add(SETS.firewallAllow, { key: concat(ipBytes(lb), proto, port, r.start), keyEnd: concat(ipBytes(lb), proto, port, r.end), comment: comment(key) });
      }
    }
  }
  if (plan.sp.nodePort !== 0) {
    // NodePorts are deliberately not subject to loadBalancerSourceRanges (as upstream).
    if (plan.usesExtChain && !flat) add(SETS.serviceNodePorts, { key: nodePortKey, verdict: goto(n.external), comment: comment(`${key} nodeport`) });
    if (!plan.hasExternalEndpoints) add(SETS.noEndpointNodePorts, { key: nodePortKey, verdict: noEndpoints, comment: noneComment });
  }
  for (const t of plan.allTargets) add(SETS.hairpin, { key: ipPairBytes(t.ep.ip) });
  return out;
}

function inRanges(ranges: readonly string[], ip: string): boolean {
  const b = hex(ipBytes(ip));
  return ranges.some((c) => {
    const r = cidrRange(c);
    return r.start.length === b.length / 2 && hex(r.start) <= b && b <= hex(r.end);
  });
}
