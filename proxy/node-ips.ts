// The node's own addresses, for NodePorts on the addresses --nodeport-addresses selects.

import { networkInterfaces } from 'node:os';
import { cidrsContain, ipFamily } from './model/ip.js';
import type { IPFamily } from './model/types.js';

/** All addresses configured on this host's (namespace's) interfaces, loopback included. */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv6' && a.scopeid) continue; // link-local
      out.push(a.address);
    }
  }
  return out;
}

/**
 * Whether selectNodePortAddresses reads the local addresses for `selection`: only for a CIDR
 * (empty, 'all' and 'primary' alone do not), so a caller can skip listing the interfaces.
 */
export function nodePortSelectionReadsLocal(selection: readonly string[]): boolean {
  return selection.length > 0 && !selection.includes('all') && selection.some((s) => s !== 'primary');
}

/**
 * Pure: which local addresses accept NodePorts. Empty selection or 'all' → 'all' (match any local
 * destination); 'primary' → the node's primary addresses; otherwise the addresses inside the CIDRs.
 * As upstream (NewNodePortAddresses), only the CIDRs of `family` count, and a selection naming
 * none of that family (`--nodeport-addresses=198.18.0.0/24` on a dual-stack node) means every
 * address of the family: the flag never turns a family's NodePorts off.
 */
export function selectNodePortAddresses(
  selection: readonly string[],
  local: readonly string[],
  primary: readonly string[],
  family: IPFamily,
): 'all' | string[] {
  if (selection.length === 0 || selection.includes('all')) return 'all';
  const picked = new Set<string>();
  for (const s of selection) {
    if (s === 'primary') primary.filter((ip) => ipFamily(ip) === family).forEach((ip) => picked.add(ip));
  }
  const cidrs = selection.filter((s) => s !== 'primary' && ipFamily(s.split('/')[0] ?? '') === family);
  if (cidrs.length === 0 && !selection.includes('primary')) return 'all';
  for (const ip of local) if (ipFamily(ip) === family && cidrsContain(cidrs, ip)) picked.add(ip);
  return [...picked].sort();
}

/** The host's addresses as one sync uses them: the node IPs, and the local list when needed. */
export interface HostAddresses {
  /** Undefined without a reader: the caller falls back to the Node object's addresses. */
  readonly nodeIPs: readonly string[] | undefined;
  readonly local: readonly string[];
}

const NO_ADDRESSES: readonly string[] = Object.freeze([]);

/**
 * A reader of the host's addresses, called once per sync for every family. The daemon's readers
 * are interface dumps (localAddresses above: one getifaddrs each, ~20-50 µs and more with a veth
 * per pod), and the dataplanes read both lists per family: four dumps per dual-stack sync. Here
 * the local list is read only when `selection` names a CIDR (as upstream, which lists interfaces
 * only then), and when both readers are the same function (the daemon's wiring) one dump serves.
 */
export function hostAddressReader(o: {
  readonly selection: readonly string[];
  readonly nodeIPs?: () => string[];
  readonly localAddresses?: () => string[];
}): () => HostAddresses {
  const readLocal = o.localAddresses ?? localAddresses;
  const readsLocal = nodePortSelectionReadsLocal(o.selection);
  return () => {
    const nodeIPs = o.nodeIPs?.();
    if (!readsLocal) return { nodeIPs, local: NO_ADDRESSES };
    return { nodeIPs, local: nodeIPs !== undefined && readLocal === o.nodeIPs ? nodeIPs : readLocal() };
  };
}
