// PURE: which node addresses get NodePort virtual servers.
//
// IPVS has no wildcard service, so (like upstream) a NodePort becomes one virtual server per node
// address. Excluded: service VIPs (they are local addresses too, because they sit on kube-ipvs0,
// and must not become NodePort targets), loopback (IPVS cannot serve 127.0.0.0/8 without
// route_localnet tricks upstream does not do either) and IPv6 link-local addresses.

import { ipFamily } from '../../proxy/model/ip.js';
import type { IPFamily } from '../../proxy/model/types.js';
import { selectNodePortAddresses } from '../../proxy/node-ips.js';

export function nodePortIPs(opts: {
  readonly selection: readonly string[];
  readonly localAddresses: readonly string[];
  readonly primary: readonly string[];
  readonly family: IPFamily;
  /** Addresses on kube-ipvs0 now or about to be: never node addresses. */
  readonly vips: { has(ip: string): boolean };
}): string[] {
  const { family, vips } = opts;
  const usable = (ip: string): boolean =>
    ipFamily(ip) === family && !vips.has(ip) && !isLoopback(ip) && !ip.toLowerCase().startsWith('fe80:');
  const picked = selectNodePortAddresses(opts.selection, opts.localAddresses.filter(usable), opts.primary, family);
  const list = picked === 'all' ? opts.localAddresses : picked;
  return [...new Set(list.filter(usable))].sort();
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}
