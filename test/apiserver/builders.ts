// Builders for the Kubernetes objects tests feed the apiserver (and the model directly). They
// produce what real controllers would write: uid, creationTimestamp, the EndpointSlice controller's
// labels and trigger-time annotation, endpoint conditions, named ports.

import { randomBytes, randomUUID } from 'node:crypto';
import type {
  V1EndpointSlice,
  V1Endpoints,
  V1Node,
  V1Service,
  V1ServicePort,
} from '@kubernetes/client-node';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface PortSpec {
  readonly name?: string;
  readonly port: number;
  readonly protocol?: Protocol;
  readonly targetPort?: number | string;
  readonly nodePort?: number;
}

export interface ServiceSpec {
  readonly name: string;
  readonly namespace?: string;
  readonly type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** "None" makes a headless service. */
  readonly clusterIP?: string;
  readonly clusterIPs?: readonly string[];
  readonly ports?: readonly PortSpec[];
  readonly selector?: Record<string, string>;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly externalIPs?: readonly string[];
  readonly loadBalancerIngressIPs?: readonly string[];
  readonly loadBalancerSourceRanges?: readonly string[];
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  readonly internalTrafficPolicy?: 'Cluster' | 'Local';
  readonly healthCheckNodePort?: number;
  readonly sessionAffinity?: 'None' | 'ClientIP';
  readonly sessionAffinityTimeoutSeconds?: number;
  readonly ipFamilies?: readonly ('IPv4' | 'IPv6')[];
  readonly externalName?: string;
}

function metadata(name: string, namespace: string | undefined, labels?: Record<string, string>, annotations?: Record<string, string>) {
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    uid: randomUUID(),
    // Kubernetes timestamps have second precision.
    creationTimestamp: new Date(Math.floor(Date.now() / 1000) * 1000),
    ...(labels && Object.keys(labels).length > 0 ? { labels: { ...labels } } : {}),
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
  };
}

let nextClusterIP = 1;

export function makeService(s: ServiceSpec): V1Service {
  const type = s.type ?? 'ClusterIP';
  const clusterIP = s.clusterIP ?? `198.19.${Math.floor(nextClusterIP / 250)}.${(nextClusterIP++ % 250) + 2}`;
  const clusterIPs = s.clusterIPs ? [...s.clusterIPs] : [clusterIP];
  const ports: V1ServicePort[] = (s.ports ?? [{ name: 'http', port: 80 }]).map((p) => ({
    ...(p.name !== undefined ? { name: p.name } : {}),
    port: p.port,
    protocol: p.protocol ?? 'TCP',
    targetPort: p.targetPort ?? p.port,
    ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
  }));
  const svc: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(s.name, s.namespace ?? 'default', s.labels, s.annotations),
    spec: {
      type,
      ...(type === 'ExternalName'
        ? { externalName: s.externalName ?? 'example.com' }
        : { clusterIP, clusterIPs, ipFamilies: [...(s.ipFamilies ?? [clusterIP.includes(':') ? 'IPv6' : 'IPv4'])] }),
      ipFamilyPolicy: 'SingleStack',
      ports,
      ...(s.selector ? { selector: { ...s.selector } } : { selector: { app: s.name } }),
      sessionAffinity: s.sessionAffinity ?? 'None',
      ...(s.sessionAffinity === 'ClientIP'
        ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: s.sessionAffinityTimeoutSeconds ?? 10800 } } }
        : {}),
      ...(s.externalIPs ? { externalIPs: [...s.externalIPs] } : {}),
      ...(s.loadBalancerSourceRanges ? { loadBalancerSourceRanges: [...s.loadBalancerSourceRanges] } : {}),
      ...(type === 'NodePort' || type === 'LoadBalancer'
        ? { externalTrafficPolicy: s.externalTrafficPolicy ?? 'Cluster' }
        : {}),
      internalTrafficPolicy: s.internalTrafficPolicy ?? 'Cluster',
      ...(s.healthCheckNodePort !== undefined ? { healthCheckNodePort: s.healthCheckNodePort } : {}),
    },
    status: {
      loadBalancer: s.loadBalancerIngressIPs ? { ingress: s.loadBalancerIngressIPs.map((ip) => ({ ip })) } : {},
    },
  };
  return svc;
}

export interface EndpointSpec {
  readonly ip: string;
  /** Defaults: ready true, serving = ready, terminating false. */
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly hintZones?: readonly string[];
  readonly hintNodes?: readonly string[];
}

export interface EndpointSliceSpec {
  readonly service: string;
  readonly namespace?: string;
  /** Defaults to `<service>-<random>`, as the controller's generateName. */
  readonly name?: string;
  readonly addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  readonly endpoints?: readonly EndpointSpec[];
  readonly ports?: readonly { readonly name?: string; readonly port: number; readonly protocol?: Protocol }[];
  readonly labels?: Record<string, string>;
  /** Value of endpoints.kubernetes.io/last-change-trigger-time; defaults to now. */
  readonly triggerTime?: Date;
}

export function makeEndpointSlice(s: EndpointSliceSpec): V1EndpointSlice {
  const name = s.name ?? `${s.service}-${randomBytes(3).toString('hex').slice(0, 5)}`;
  const trigger = (s.triggerTime ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: metadata(
      name,
      s.namespace ?? 'default',
      { [SERVICE_NAME_LABEL]: s.service, [MANAGED_BY_LABEL]: 'endpointslice-controller.k8s.io', ...(s.labels ?? {}) },
      { [TRIGGER_TIME_ANNOTATION]: trigger },
    ),
    addressType: s.addressType ?? 'IPv4',
    endpoints: (s.endpoints ?? []).map((e) => {
      const ready = e.ready ?? true;
      return {
        addresses: [e.ip],
        conditions: { ready, serving: e.serving ?? ready, terminating: e.terminating ?? false },
        ...(e.nodeName !== undefined ? { nodeName: e.nodeName } : {}),
        ...(e.zone !== undefined ? { zone: e.zone } : {}),
        ...(e.hintZones || e.hintNodes
          ? {
              hints: {
                ...(e.hintZones ? { forZones: e.hintZones.map((n) => ({ name: n })) } : {}),
                ...(e.hintNodes ? { forNodes: e.hintNodes.map((n) => ({ name: n })) } : {}),
              },
            }
          : {}),
      };
    }),
    ports: (s.ports ?? [{ name: 'http', port: 8080 }]).map((p) => ({
      ...(p.name !== undefined ? { name: p.name } : {}),
      port: p.port,
      protocol: p.protocol ?? 'TCP',
    })),
  };
}

export interface EndpointsSpec {
  readonly name: string;
  readonly namespace?: string;
  readonly addresses?: readonly { readonly ip: string; readonly ready?: boolean; readonly nodeName?: string }[];
  readonly ports?: readonly { readonly name?: string; readonly port: number; readonly protocol?: Protocol }[];
}

/** Legacy v1 Endpoints (one subset), for --use-endpoints. */
export function makeEndpoints(s: EndpointsSpec): V1Endpoints {
  const addrs = s.addresses ?? [];
  const toAddr = (a: { ip: string; nodeName?: string }) => ({ ip: a.ip, ...(a.nodeName ? { nodeName: a.nodeName } : {}) });
  const ready = addrs.filter((a) => a.ready ?? true).map(toAddr);
  const notReady = addrs.filter((a) => !(a.ready ?? true)).map(toAddr);
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: metadata(s.name, s.namespace ?? 'default', undefined, {
      [TRIGGER_TIME_ANNOTATION]: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    }),
    subsets:
      addrs.length === 0
        ? []
        : [
            {
              ...(ready.length ? { addresses: ready } : {}),
              ...(notReady.length ? { notReadyAddresses: notReady } : {}),
              ports: (s.ports ?? [{ name: 'http', port: 8080 }]).map((p) => ({
                ...(p.name !== undefined ? { name: p.name } : {}),
                port: p.port,
                protocol: p.protocol ?? 'TCP',
              })),
            },
          ],
  };
}

export interface NodeSpec {
  readonly name: string;
  readonly labels?: Record<string, string>;
  readonly zone?: string;
  readonly internalIPs?: readonly string[];
  readonly externalIPs?: readonly string[];
  readonly podCIDRs?: readonly string[];
  readonly taints?: readonly { readonly key: string; readonly value?: string; readonly effect: string }[];
  readonly deleting?: boolean;
}

export function makeNode(s: NodeSpec): V1Node {
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': s.name,
    'kubernetes.io/os': 'linux',
    ...(s.zone ? { 'topology.kubernetes.io/zone': s.zone } : {}),
    ...(s.labels ?? {}),
  };
  const meta = metadata(s.name, undefined, labels);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: s.deleting ? { ...meta, deletionTimestamp: new Date(), finalizers: ['test/keep'] } : meta,
    spec: {
      ...(s.podCIDRs?.length ? { podCIDR: s.podCIDRs[0], podCIDRs: [...s.podCIDRs] } : {}),
      ...(s.taints ? { taints: s.taints.map((t) => ({ ...t })) } : {}),
    },
    status: {
      addresses: [
        ...(s.internalIPs ?? ['198.18.0.10']).map((address) => ({ type: 'InternalIP', address })),
        ...(s.externalIPs ?? []).map((address) => ({ type: 'ExternalIP', address })),
        { type: 'Hostname', address: s.name },
      ],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}
