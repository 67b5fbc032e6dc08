// Count classes: how service ports without ClientIP affinity pick an endpoint without a chain of
// their own. A destination with N endpoints is an element of the membership set `<kind>-N`; the
// one class rule per count in use,
//   ip daddr . meta l4proto . th dport @cluster-N
//     dnat to ip daddr . meta l4proto . th dport . numgen random mod N map @cluster-endpoints
// looks the destination plus a random slot up in the kind's shared endpoint map. An endpoint
// change then moves the destination between membership sets and adds or deletes a slot element:
// plain hash elements, which the kernel commits without re-validating the table (a rule with a
// dnat does make it validate, but the only such rule changes are a class appearing or going, and
// the table has few chains). Class rules are planned apart from the skeleton (plan-classes.ts).

import type { IPFamily } from '../../../proxy/model/types.js';
import { addrLen, dnat, dispatchKeyLen, loadDispatchKey, loadPortKey, lookup, next, R0 } from '../exprs.js';
import { CHAINS, SETS, TABLE } from '../names.js';
import type { NftSet } from '../netlink/types.js';
import type { RuleSpec } from '../ruleset.js';
import { addrType, concatType, TYPE_INET_PROTO, TYPE_INET_SERVICE } from '../types-nft.js';
import { nftFamily } from './family.js';

/** Which endpoints (Cluster- or Local-policy) for which kind of destination key. */
export type ClassKind = 'cluster' | 'local' | 'nodeport-cluster' | 'nodeport-local';

export const CLASS_KINDS: readonly ClassKind[] = ['cluster', 'local', 'nodeport-cluster', 'nodeport-local'];

const CHAIN_OF: Record<ClassKind, string> = {
  cluster: CHAINS.clusterClasses,
  local: CHAINS.localClasses,
  'nodeport-cluster': CHAINS.nodePortClusterClasses,
  'nodeport-local': CHAINS.nodePortLocalClasses,
};

const MAP_OF: Record<ClassKind, string> = {
  cluster: SETS.clusterEndpoints,
  local: SETS.localEndpoints,
  'nodeport-cluster': SETS.nodePortClusterEndpoints,
  'nodeport-local': SETS.nodePortLocalEndpoints,
};

export const isNodePortKind = (k: ClassKind): boolean => k.startsWith('nodeport-');
export const classChain = (k: ClassKind): string => CHAIN_OF[k];
export const classEndpointMap = (k: ClassKind): string => MAP_OF[k];
export const classSetName = (k: ClassKind, count: number): string => `${k}-${count}`;

const CLASS_NAME = /^(cluster|local|nodeport-cluster|nodeport-local)-([1-9]\d*)$/;

/** The kind and count of a membership set's name, or undefined for any other name. */
export function parseClassSet(name: string): { kind: ClassKind; count: number } | undefined {
  const m = CLASS_NAME.exec(name);
  return m ? { kind: m[1] as ClassKind, count: Number(m[2]) } : undefined;
}

/** The membership set of destinations with `count` endpoints of kind `k`. */
export function classSet(f: IPFamily, k: ClassKind, count: number): NftSet {
  const np = isNodePortKind(k);
  return {
    family: nftFamily(f),
    table: TABLE,
    name: classSetName(k, count),
    keyType: np ? concatType(TYPE_INET_PROTO, TYPE_INET_SERVICE) : concatType(addrType(f), TYPE_INET_PROTO, TYPE_INET_SERVICE),
    keyLen: np ? 8 : dispatchKeyLen(f),
    comment: `destinations with ${count} ${k.replace('nodeport-', '')} endpoint${count === 1 ? '' : 's'}${np ? ' (NodePorts)' : ''}`,
  };
}

/**
 * The class rule: the destination key (loaded again after the membership lookup, as nft itself
 * writes it, so that `nft list` prints the map key) plus `numgen random mod N` as the last field.
 */
export function classRule(f: IPFamily, k: ClassKind, count: number): RuleSpec {
  const np = isNodePortKind(k);
  const key = np ? loadPortKey() : loadDispatchKey(f);
  const slotReg = np ? next(R0, 8) : next(R0, dispatchKeyLen(f));
  return {
    exprs: [
      ...key,
      lookup(R0, classSetName(k, count)),
      ...key,
      { type: 'numgen', dreg: slotReg, modulus: count, mode: 'random' },
      lookup(R0, classEndpointMap(k), { dreg: R0 }),
      dnat(f, R0),
    ],
  };
}

/** The shared endpoint map of a kind: destination . slot → endpoint address . port. */
export function endpointsMap(f: IPFamily, k: ClassKind): NftSet {
  const np = isNodePortKind(k);
  const a = addrType(f);
  return {
    family: nftFamily(f),
    table: TABLE,
    name: classEndpointMap(k),
    keyType: np ? concatType(TYPE_INET_PROTO, TYPE_INET_SERVICE, 4) : concatType(a, TYPE_INET_PROTO, TYPE_INET_SERVICE, 4),
    keyLen: np ? 12 : dispatchKeyLen(f) + 4,
    flatEndpointsOf: np ? 'port' : 'ip',
    data: { type: concatType(a, TYPE_INET_SERVICE), len: addrLen(f) + 4 },
    comment: `${k} endpoints by destination and numgen slot`,
  };
}

/**
 * The count classes the units' memberships imply: their sets (shared: the units hold the
 * elements) and one class chain rule each, in count order. What the table holds besides the
 * skeleton and the units, for comparisons (tests, model match) and explain.
 */
export function classesOf(f: IPFamily, units: Iterable<{ readonly shared: ReadonlyMap<string, ReadonlyMap<string, unknown>> }>): { sets: NftSet[]; rules: Map<string, RuleSpec[]> } {
  const used = new Map<string, { kind: ClassKind; count: number }>();
  for (const u of units) {
    for (const [name, els] of u.shared) {
      const c = els.size ? parseClassSet(name) : undefined;
      if (c) used.set(name, c);
    }
  }
  const sorted = [...used.values()].sort((a, b) => a.count - b.count);
  const rules = new Map<string, RuleSpec[]>(CLASS_KINDS.map((k) => [classChain(k), []]));
  for (const c of sorted) rules.get(classChain(c.kind))!.push(classRule(f, c.kind, c.count));
  return { sets: sorted.map((c) => classSet(f, c.kind, c.count)), rules };
}
