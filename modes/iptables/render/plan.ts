// The traffic-policy facts of one service port in one family, computed once and shared by the
// chain and dispatch renderers. Follows upstream syncProxyRules' decisions.

import {
  categorizeEndpoints,
  endpointAddress,
  externallyAccessible,
  externalPolicyLocal,
  internalPolicyLocal,
} from '../../../proxy/model/categorize.js';
import { clusterIPsOf, endpointsOfFamily, ipsOfFamily } from '../../../proxy/model/family.js';
import type { Endpoint, IPFamily, NodeInfo, ServicePort } from '../../../proxy/model/types.js';
import { endpointChainName, servicePortChains, type ServicePortChains } from '../names.js';

export interface EndpointTarget {
  readonly ep: Endpoint;
  /** "ip:port", bracketed for IPv6. */
  readonly address: string;
  readonly chain: string;
}

export interface ServicePlan {
  readonly sp: ServicePort;
  readonly proto: string;
  readonly clusterIP: string;
  readonly externalIPs: readonly string[];
  readonly lbIPs: readonly string[];
  readonly names: ServicePortChains;
  readonly clusterTargets: readonly EndpointTarget[];
  readonly localTargets: readonly EndpointTarget[];
  readonly allTargets: readonly EndpointTarget[];
  readonly hasEndpoints: boolean;
  readonly hasInternalEndpoints: boolean;
  readonly hasExternalEndpoints: boolean;
  readonly usesClusterChain: boolean;
  readonly usesLocalChain: boolean;
  readonly usesExtChain: boolean;
  readonly usesFwChain: boolean;
  /** Chain ClusterIP traffic jumps to. */
  readonly internalChain: string;
  /** Chain the EXT chain hands remaining external traffic to. */
  readonly externalPolicyChain: string;
}

/** Undefined when the service port has no cluster IP in `family` (nothing to program). */
export function planServicePort(
  sp: ServicePort,
  allEndpoints: readonly Endpoint[],
  node: NodeInfo,
  family: IPFamily,
): ServicePlan | undefined {
  const clusterIP = clusterIPsOf(sp, family)[0];
  if (clusterIP === undefined) return undefined;
  const names = servicePortChains(sp.key, sp.protocol);
  const eps = endpointsOfFamily(allEndpoints, family);
  const cat = categorizeEndpoints(sp, eps, node);
  const target = (ep: Endpoint): EndpointTarget => new Target(sp, ep, endpointAddress(ep));
  const extAccessible = externallyAccessible(sp);
  const extLocal = externalPolicyLocal(sp);
  const intLocal = internalPolicyLocal(sp);
  // Upstream keeps Cluster endpoints for any externally accessible port, even with both policies
  // Local, because the EXT chain short-circuits pod- and node-originated traffic to KUBE-SVC.
  const clusterEps =
    cat.clusterEndpoints.length === 0 && extAccessible && extLocal && intLocal
      ? categorizeEndpoints({ ...sp, internalTrafficPolicy: 'Cluster' }, eps, node).clusterEndpoints
      : cat.clusterEndpoints;
  const clusterTargets = clusterEps.map(target);
  const localTargets = cat.localEndpoints.map(target);
  const allTargets = uniqueTargets([...clusterTargets, ...localTargets]);
  const hasEndpoints = cat.hasAnyEndpoints;
  const hasLocal = localTargets.length > 0;
  const hasExternalEndpoints = extLocal ? hasLocal : hasEndpoints;
  const lbIPs = sp.type === 'LoadBalancer' ? ipsOfFamily(sp.loadBalancerIPs, family) : [];
  return {
    sp,
    proto: sp.protocol.toLowerCase(),
    clusterIP,
    externalIPs: ipsOfFamily(sp.externalIPs, family),
    lbIPs,
    names,
    clusterTargets,
    localTargets,
    allTargets,
    hasEndpoints,
    hasInternalEndpoints: intLocal ? hasLocal : hasEndpoints,
    hasExternalEndpoints,
    usesClusterChain: clusterTargets.length > 0,
    usesLocalChain: hasLocal && (intLocal || (extAccessible && extLocal)),
    usesExtChain: hasEndpoints && extAccessible,
    usesFwChain: hasEndpoints && lbIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0,
    internalChain: intLocal ? names.svl : names.svc,
    externalPolicyChain: extLocal ? names.svl : names.svc,
  };
}

/**
 * The chain name is a hash: computed on first use only, since nftables mode (which shares this
 * plan and has no endpoint chains) never reads it; it was a quarter of its render time. A class
 * with the getter on its prototype: an object literal with a getter made a closure, its context
 * and an accessor pair per target (~200 bytes each, a sixth of nftables' allocation for a
 * changed service port, issue #13).
 */
class Target implements EndpointTarget {
  private name: string | undefined = undefined;
  constructor(
    private readonly sp: ServicePort,
    readonly ep: Endpoint,
    readonly address: string,
  ) {}
  get chain(): string {
    return (this.name ??= endpointChainName(this.sp.key, this.sp.protocol, this.address));
  }
}

function uniqueTargets(targets: readonly EndpointTarget[]): EndpointTarget[] {
  // By address: within one service port the chain name is a function of it (and reading the name
  // would compute its hash).
  const seen = new Set<string>();
  return targets.filter((t) => (seen.has(t.address) ? false : (seen.add(t.address), true)));
}
