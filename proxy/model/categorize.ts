// Which endpoints a service port's traffic may go to, from this node's point of view: a pure
// equivalent of upstream's CategorizeEndpoints (pkg/proxy/topology.go), re-derived from its
// documented semantics:
//  - Cluster-policy traffic uses Ready endpoints, narrowed by topology hints when usable; when no
//    endpoint is Ready anywhere it falls back to Serving+Terminating ones (KEP-1669), and topology
//    is ignored on that fallback.
//  - Local-policy traffic uses this node's Ready endpoints, else this node's Serving+Terminating.
//  - hasAnyEndpoints says whether any usable endpoint exists anywhere, so that a Local-policy
//    service with only remote endpoints drops traffic rather than REJECTing it as "no endpoints".

import type { Endpoint, NodeInfo, ServicePort } from './types.js';

export interface CategorizedEndpoints {
  /** Endpoints for traffic subject to the Cluster policy (empty when no policy is Cluster). */
  readonly clusterEndpoints: Endpoint[];
  /** Endpoints for traffic subject to the Local policy (empty when no policy is Local). */
  readonly localEndpoints: Endpoint[];
  /** Union of the two, de-duplicated by ip:port. */
  readonly allReachableEndpoints: Endpoint[];
  readonly hasAnyEndpoints: boolean;
}

type TopologyMode = 'none' | 'PreferSameNode' | 'PreferSameZone';

/** NodePort, LoadBalancer VIPs or external IPs make a port reachable from outside the cluster. */
export function externallyAccessible(sp: ServicePort): boolean {
  return sp.nodePort !== 0 || sp.loadBalancerIPs.length > 0 || sp.externalIPs.length > 0;
}

/** externalTrafficPolicy only has a meaning for NodePort/LoadBalancer Services. */
export function externalPolicyLocal(sp: ServicePort): boolean {
  return sp.externalTrafficPolicy === 'Local' && (sp.type === 'NodePort' || sp.type === 'LoadBalancer');
}

export function internalPolicyLocal(sp: ServicePort): boolean {
  return sp.internalTrafficPolicy === 'Local';
}

/** Some traffic to this port is routed with the Cluster policy. */
export function usesClusterEndpoints(sp: ServicePort): boolean {
  return !internalPolicyLocal(sp) || (externallyAccessible(sp) && !externalPolicyLocal(sp));
}

/** Some traffic to this port is routed with the Local policy. */
export function usesLocalEndpoints(sp: ServicePort): boolean {
  return internalPolicyLocal(sp) || (externallyAccessible(sp) && externalPolicyLocal(sp));
}

const isServingTerminating = (ep: Endpoint): boolean => ep.serving && ep.terminating;

/**
 * Hints are honoured only when every Ready endpoint carries them (a partially hinted slice means
 * the EndpointSlice controller is mid-transition) and at least one names this node/zone (otherwise
 * this node would have no endpoints at all). Node hints win over zone hints.
 */
function topologyModeFromHints(endpoints: readonly Endpoint[], node: NodeInfo): TopologyMode {
  let allHaveNodeHints = true;
  let hasForNode = false;
  let allHaveZoneHints = true;
  let hasForZone = false;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    if (ep.nodeHints.length === 0) allHaveNodeHints = false;
    else if (ep.nodeHints.includes(node.name)) hasForNode = true;
    if (ep.zoneHints.length === 0) allHaveZoneHints = false;
    else if (node.zone !== '' && ep.zoneHints.includes(node.zone)) hasForZone = true;
  }
  if (allHaveNodeHints && hasForNode) return 'PreferSameNode';
  if (allHaveZoneHints && hasForZone) return 'PreferSameZone';
  return 'none';
}

function availableForTopology(ep: Endpoint, mode: TopologyMode, node: NodeInfo): boolean {
  switch (mode) {
    case 'none':
      return true;
    case 'PreferSameNode':
      return ep.nodeHints.includes(node.name);
    case 'PreferSameZone':
      return ep.zoneHints.includes(node.zone);
  }
}

export function categorizeEndpoints(
  sp: ServicePort,
  endpoints: readonly Endpoint[],
  node: NodeInfo,
): CategorizedEndpoints {
  let clusterEndpoints: Endpoint[] = [];
  let localEndpoints: Endpoint[] = [];
  let hasAnyEndpoints = false;

  const cluster = usesClusterEndpoints(sp);
  if (cluster) {
    const mode = topologyModeFromHints(endpoints, node);
    clusterEndpoints = endpoints.filter((ep) => ep.ready && availableForTopology(ep, mode, node));
    // Topology only kicks in when this node/zone has a Ready hinted endpoint, so an empty result
    // here means nothing is Ready anywhere: fall back to terminating-but-serving endpoints.
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter(isServingTerminating);
    hasAnyEndpoints = clusterEndpoints.length > 0;
  }

  if (!usesLocalEndpoints(sp)) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  }

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalReady = true;
    } else if (isServingTerminating(ep)) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalServingTerminating = true;
    }
  }
  if (hasLocalReady) {
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  } else if (hasLocalServingTerminating) {
    localEndpoints = endpoints.filter((ep) => ep.isLocal && isServingTerminating(ep));
  }

  if (!cluster) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints };
  }
  return {
    clusterEndpoints,
    localEndpoints,
    allReachableEndpoints: unionByAddress(clusterEndpoints, localEndpoints),
    hasAnyEndpoints,
  };
}

/** Union keeping the input order (cluster first), de-duplicated by ip:port. */
function unionByAddress(a: readonly Endpoint[], b: readonly Endpoint[]): Endpoint[] {
  const seen = new Set<string>();
  const out: Endpoint[] = [];
  for (const ep of [...a, ...b]) {
    const id = endpointAddress(ep);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(ep);
  }
  return out;
}

/** "ip:port", bracketing IPv6 as upstream's Endpoint.String() does. */
export function endpointAddress(ep: Pick<Endpoint, 'ip' | 'port'>): string {
  return ep.ip.includes(':') ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
}
