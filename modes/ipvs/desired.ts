// PURE: the IPVS virtual servers a node should have for one IP family, derived from the model.
//
// Like upstream, every service address gets its own virtual server: the ClusterIP, each external
// IP and each LoadBalancer ingress IP (all bound on kube-ipvs0 so the kernel treats them as local
// and IPVS sees the packets in LOCAL_IN), and NodePorts on each selected node address, because
// IPVS matches exact addresses and has no "any local address" service.

import { categorizeEndpoints, externalPolicyLocal, internalPolicyLocal } from '../../proxy/model/categorize.js';
import { clusterIPsOf, endpointsOfFamily, ipsOfFamily } from '../../proxy/model/family.js';
import type { Endpoint, IPFamily, ProxyState, ServicePort } from '../../proxy/model/types.js';
import { IP_VS_SVC_F_PERSISTENT } from './netlink/constants.js';
import { vsKey, type RealServer, type VirtualServer } from './ops.js';

export type VsKind = 'clusterIP' | 'externalIP' | 'loadBalancer' | 'nodePort';

export interface DesiredVirtualServer {
  readonly key: string;
  readonly serviceKey: string;
  readonly kind: VsKind;
  readonly vs: VirtualServer;
  /** Sorted by address then port, so equal inputs give equal outputs. */
  readonly realServers: readonly RealServer[];
}

export interface DesiredState {
  readonly family: IPFamily;
  /** By vsKey. A key claimed by two services (e.g. a shared external IP) goes to the first by key order. */
  readonly virtualServers: ReadonlyMap<string, DesiredVirtualServer>;
  /** vsKeys per service port key. */
  readonly byService: ReadonlyMap<string, readonly string[]>;
  /** Addresses to bind on kube-ipvs0 (cluster, external and LB IPs of this family). */
  readonly vips: ReadonlySet<string>;
}

export interface DesiredOptions {
  readonly family: IPFamily;
  /** --ipvs-scheduler; empty means rr like upstream. */
  readonly scheduler: string;
  /** Node addresses of this family that carry NodePort virtual servers (see nodePortIPs()). */
  readonly nodePortIPs: readonly string[];
}

export const DEFAULT_SCHEDULER = 'rr';
/** The only weight we program; 0 is reserved for gracefully terminating real servers. */
export const ACTIVE_WEIGHT = 1;

/** Everything for one service port; exported so partial syncs can recompute only what changed. */
export function desiredForService(
  sp: ServicePort,
  endpoints: readonly Endpoint[],
  state: Pick<ProxyState, 'node'>,
  o: DesiredOptions,
): DesiredVirtualServer[] {
  const fam = o.family;
  const cat = categorizeEndpoints(sp, endpointsOfFamily(endpoints, fam), state.node);
  const internal = realServersOf(internalPolicyLocal(sp) ? cat.localEndpoints : cat.clusterEndpoints);
  const external = realServersOf(externalPolicyLocal(sp) ? cat.localEndpoints : cat.clusterEndpoints);
  const out: DesiredVirtualServer[] = [];
  const add = (kind: VsKind, address: string, port: number, rs: readonly RealServer[]): void => {
    const vs = virtualServer(sp, fam, address, port, o.scheduler);
    out.push({ key: vsKey(vs), serviceKey: sp.key, kind, vs, realServers: rs });
  };
  for (const ip of clusterIPsOf(sp, fam)) add('clusterIP', ip, sp.port, internal);
  for (const ip of ipsOfFamily(sp.externalIPs, fam)) add('externalIP', ip, sp.port, external);
  for (const ip of ipsOfFamily(sp.loadBalancerIPs, fam)) add('loadBalancer', ip, sp.port, external);
  // Only for the service's own families: a single-stack IPv4 NodePort has no IPv6 virtual servers.
  if (sp.nodePort !== 0 && clusterIPsOf(sp, fam).length > 0) {
    for (const ip of o.nodePortIPs) add('nodePort', ip, sp.nodePort, external);
  }
  return out;
}

export function buildDesired(state: ProxyState, o: DesiredOptions): DesiredState {
  const virtualServers = new Map<string, DesiredVirtualServer>();
  const byService = new Map<string, string[]>();
  const vips = new Set<string>();
  for (const key of [...state.services.keys()].sort()) {
    const sp = state.services.get(key) as ServicePort;
    const list = desiredForService(sp, state.endpoints.get(key) ?? [], state, o);
    byService.set(key, list.map((d) => d.key));
    for (const d of list) {
      if (!virtualServers.has(d.key)) virtualServers.set(d.key, d);
      if (d.kind !== 'nodePort') vips.add(d.vs.address);
    }
  }
  return { family: o.family, virtualServers, byService, vips };
}

function virtualServer(sp: ServicePort, family: IPFamily, address: string, port: number, scheduler: string): VirtualServer {
  const affinity = sp.sessionAffinity.type === 'ClientIP';
  return {
    family,
    protocol: sp.protocol,
    address,
    port,
    scheduler: scheduler || DEFAULT_SCHEDULER,
    // ClientIP affinity is IPVS persistence keyed on the whole client address (upstream does the
    // same; it differs from iptables' per-endpoint "recent" lists, see KEP-3866 non-goals).
    flags: affinity ? IP_VS_SVC_F_PERSISTENT : 0,
    timeoutSeconds: sp.sessionAffinity.type === 'ClientIP' ? sp.sessionAffinity.timeoutSeconds : 0,
    netmask: family === 'IPv4' ? 0xffffffff : 128,
  };
}

function realServersOf(eps: readonly Endpoint[]): RealServer[] {
  const seen = new Set<string>();
  const out: RealServer[] = [];
  for (const ep of eps) {
    const id = `${ep.ip}|${ep.port}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ address: ep.ip, port: ep.port, weight: ACTIVE_WEIGHT, fwdMethod: 'Masq' });
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
}

/** The addresses of `family` that belong on kube-ipvs0, without building virtual servers. */
export function serviceVIPs(state: ProxyState, family: IPFamily): Set<string> {
  const vips = new Set<string>();
  for (const sp of state.services.values()) {
    for (const ip of clusterIPsOf(sp, family)) vips.add(ip);
    for (const ip of ipsOfFamily(sp.externalIPs, family)) vips.add(ip);
    for (const ip of ipsOfFamily(sp.loadBalancerIPs, family)) vips.add(ip);
  }
  return vips;
}
