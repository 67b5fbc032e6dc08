// Dual-stack helpers: each dataplane runs one proxier per IP family (upstream's metaproxier), so
// it needs the family-specific slice of a service port's IPs and of its endpoints.

import { ipFamily } from './ip.js';
import type { Endpoint, IPFamily, ServicePort } from './types.js';

/** The addresses of `ips` that belong to `family`, order preserved; invalid entries are dropped. */
export function ipsOfFamily(ips: readonly string[], family: IPFamily): string[] {
  return ips.filter((ip) => ipFamily(ip) === family);
}

/** The cluster IPs of a service port in `family` (at most one for a valid Service). */
export function clusterIPsOf(sp: ServicePort, family: IPFamily): string[] {
  return ipsOfFamily(sp.clusterIPs, family);
}

/** The endpoints of `family`, order preserved. */
export function endpointsOfFamily(eps: readonly Endpoint[], family: IPFamily): Endpoint[] {
  return eps.filter((ep) => ep.family === family);
}
