// Which stale conntrack entries to delete after a sync, as a pure function of the previous and new
// state. Only UDP and SCTP matter: their "connections" never close, so an entry created while a
// service had no endpoints, or pointing at a removed endpoint, would black-hole traffic forever.

import { categorizeEndpoints, endpointAddress } from '../../proxy/model/categorize.js';
import { clusterIPsOf, endpointsOfFamily, ipsOfFamily } from '../../proxy/model/family.js';
import type { Endpoint, IPFamily, Protocol, ProxyState, ServicePort } from '../../proxy/model/types.js';
import type { Conntrack } from './conntrack.js';

export type ConntrackOp =
  | { readonly kind: 'ip'; readonly ip: string; readonly protocol: Protocol }
  | { readonly kind: 'port'; readonly port: number; readonly isIPv6: boolean; readonly protocol: Protocol }
  | { readonly kind: 'nat'; readonly origin: string; readonly dest: string; readonly protocol: Protocol }
  | { readonly kind: 'portNat'; readonly dest: string; readonly port: number; readonly protocol: Protocol };

/**
 * `keys` are the service ports to look at (the changed ones; all of them on a full sync). A
 * missing previous state counts as "nothing was reachable", as after a restart.
 */
export function planConntrackCleanup(
  prev: ProxyState | undefined,
  next: ProxyState,
  keys: Iterable<string>,
  families: readonly IPFamily[],
): ConntrackOp[] {
  const ops: ConntrackOp[] = [];
  for (const key of keys) {
    const before = prev?.services.get(key);
    const after = next.services.get(key);
    const sp = after ?? before;
    if (!sp || sp.protocol === 'TCP') continue;
    for (const family of families) {
      const oldEps = before && prev ? reachable(before, prev.endpoints.get(key) ?? [], prev, family) : [];
      const newEps = after ? reachable(after, next.endpoints.get(key) ?? [], next, family) : [];
      if (!after) {
        // The cluster IP may be reused by another service; flows to it must start over.
        for (const ip of clusterIPsOf(sp, family)) ops.push({ kind: 'ip', ip, protocol: sp.protocol });
        continue;
      }
      if (oldEps.length === 0 && newEps.length > 0) ops.push(...newlyActive(after, family));
      const kept = new Set(newEps.map((e) => endpointAddress(e)));
      for (const gone of oldEps.filter((e) => !kept.has(endpointAddress(e)))) ops.push(...removedEndpoint(before ?? after, gone, family));
    }
  }
  return dedupe(ops);
}

function reachable(sp: ServicePort, eps: readonly Endpoint[], st: ProxyState, family: IPFamily): Endpoint[] {
  return categorizeEndpoints(sp, endpointsOfFamily(eps, family), st.node).allReachableEndpoints;
}

function vips(sp: ServicePort, family: IPFamily): string[] {
  return [...clusterIPsOf(sp, family), ...ipsOfFamily(sp.externalIPs, family), ...ipsOfFamily(sp.loadBalancerIPs, family)];
}

function newlyActive(sp: ServicePort, family: IPFamily): ConntrackOp[] {
  const ops: ConntrackOp[] = vips(sp, family).map((ip) => ({ kind: 'ip', ip, protocol: sp.protocol }));
  if (sp.nodePort !== 0) ops.push({ kind: 'port', port: sp.nodePort, isIPv6: family === 'IPv6', protocol: sp.protocol });
  return ops;
}

function removedEndpoint(sp: ServicePort, ep: Endpoint, family: IPFamily): ConntrackOp[] {
  const ops: ConntrackOp[] = vips(sp, family).map((origin) => ({ kind: 'nat', origin, dest: ep.ip, protocol: sp.protocol }));
  if (sp.nodePort !== 0) ops.push({ kind: 'portNat', dest: ep.ip, port: sp.nodePort, protocol: sp.protocol });
  return ops;
}

function dedupe(ops: ConntrackOp[]): ConntrackOp[] {
  const seen = new Set<string>();
  return ops.filter((op) => {
    const id = JSON.stringify(op);
    return seen.has(id) ? false : (seen.add(id), true);
  });
}

/** Run a plan; failures are collected, not thrown: a leftover entry must not fail the sync. */
export async function executeConntrackPlan(ct: Conntrack, ops: readonly ConntrackOp[]): Promise<Error[]> {
  const errors: Error[] = [];
  for (const op of ops) {
    try {
      if (op.kind === 'ip') await ct.clearEntriesForIP(op.ip, op.protocol);
      else if (op.kind === 'port') await ct.clearEntriesForPort(op.port, op.isIPv6, op.protocol);
      else if (op.kind === 'nat') await ct.clearEntriesForNAT(op.origin, op.dest, op.protocol);
      else await ct.clearEntriesForPortNAT(op.dest, op.port, op.protocol);
    } catch (e) {
      errors.push(e instanceof Error ? e : new Error(String(e)));
    }
  }
  return errors;
}
