// The normalized, node-local model every dataplane renders from.
//
// Watch handlers turn Kubernetes objects into these values; dataplanes never see API objects.
// Everything here is plain immutable data so that rendering stays a pure function of
// (desired state, previous state) and can be tested without root. Every IP and CIDR here is in
// canonical form (ip-parse.ts), whatever spelling the API object used, so dataplanes may compare
// and render them as strings.

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type IPFamily = 'IPv4' | 'IPv6';
export type TrafficPolicy = 'Cluster' | 'Local';
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

export type SessionAffinity =
  | { readonly type: 'None' }
  | { readonly type: 'ClientIP'; readonly timeoutSeconds: number };

/**
 * One port of one Service, as upstream's ServicePort: the unit every dataplane programs.
 * `key` is upstream's ServicePortName string, `namespace/name:portName` (portName may be empty,
 * giving `namespace/name:`), unique because port names are unique within a Service.
 */
export interface ServicePort {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly portName: string;
  readonly type: ServiceType;
  readonly protocol: Protocol;
  readonly port: number;
  /** All cluster IPs of the Service (one per family for dual stack), primary first. */
  readonly clusterIPs: readonly string[];
  /** 0 when the port has no NodePort. */
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  /** `status.loadBalancer.ingress[].ip` (only for type LoadBalancer). */
  readonly loadBalancerIPs: readonly string[];
  /** Normalized CIDRs (e.g. "203.0.113.0/24"). Empty means no restriction. */
  readonly loadBalancerSourceRanges: readonly string[];
  readonly sessionAffinity: SessionAffinity;
  readonly externalTrafficPolicy: TrafficPolicy;
  readonly internalTrafficPolicy: TrafficPolicy;
  /** 0 when none; only meaningful with externalTrafficPolicy Local on NodePort/LoadBalancer. */
  readonly healthCheckNodePort: number;
}

/** One endpoint of a service port (an address from an EndpointSlice with the port resolved). */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
  readonly family: IPFamily;
  /** EndpointSlice conditions; ready implies serving and not terminating. */
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName: string;
  readonly zone: string;
  /** Topology hints (`hints.forZones[].name`, `hints.forNodes[].name`). */
  readonly zoneHints: readonly string[];
  readonly nodeHints: readonly string[];
  /** True when nodeName is this node. */
  readonly isLocal: boolean;
}

/** What the daemon knows of its own Node. */
export interface NodeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `topology.kubernetes.io/zone`, or "" */
  readonly zone: string;
  /** Node InternalIP/ExternalIP addresses from status, in status order. */
  readonly addresses: readonly string[];
  /** spec.podCIDRs, for detect-local-mode NodeCIDR. */
  readonly podCIDRs: readonly string[];
  /** Being deleted or tainted ToBeDeletedByClusterAutoscaler: /healthz reports 503. */
  readonly eligible: boolean;
}

/** The whole desired state at one instant. Immutable; a new value is built per sync. */
export interface ProxyState {
  /** Service ports by key. */
  readonly services: ReadonlyMap<string, ServicePort>;
  /** All endpoints of each service port (any state), by service port key, sorted by ip then port. */
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>;
  readonly node: NodeInfo;
}

/**
 * What changed since the previous sync, as service port keys. A key is in `changed` when its
 * ServicePort or its endpoint list was added, modified or removed. `removed` ⊆ `changed` lists the
 * keys no longer in the state.
 */
export interface ChangeSet {
  readonly changed: ReadonlySet<string>;
  readonly removed: ReadonlySet<string>;
  /** Node labels/topology changed: a full resync is needed (upstream's OnTopologyChange). */
  readonly nodeChanged: boolean;
  /**
   * EndpointSlice `endpoints.kubernetes.io/last-change-trigger-time` values (ms since epoch)
   * observed since the previous sync, for kubeproxy_network_programming_duration_seconds.
   */
  readonly triggerTimes: readonly number[];
}

/** A record of an object the model rejected (the "event-like record" of the brief). */
export interface RejectedObject {
  readonly kind: 'Service' | 'EndpointSlice' | 'Endpoints' | 'Node';
  readonly namespace: string;
  readonly name: string;
  /** Field path → reason, e.g. { "spec.ports[0].port": "must be 1-65535, got 0" }. */
  readonly errors: readonly FieldError[];
  readonly time: string;
}

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export const EMPTY_CHANGES: ChangeSet = {
  changed: new Set(),
  removed: new Set(),
  nodeChanged: false,
  triggerTimes: [],
};
