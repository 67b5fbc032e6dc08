// Builders for Kubernetes objects and model values used by the model tests.

import type { V1EndpointSlice, V1Endpoint, V1Node, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { Endpoint, NodeInfo, ServicePort } from '../../../proxy/model/types.js';
import { makeEndpoint, makeServicePort } from '../../support/model-builders.js';

export function svc(
  name: string,
  opts: {
    ns?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: V1ServicePort[];
    type?: string;
    spec?: Partial<NonNullable<V1Service['spec']>>;
    labels?: Record<string, string>;
    rv?: string;
    ingress?: { ip?: string; hostname?: string; ipMode?: string }[];
  } = {},
): V1Service {
  return {
    metadata: { name, namespace: opts.ns ?? 'default', labels: opts.labels, resourceVersion: opts.rv, uid: `uid-${name}` },
    spec: {
      type: opts.type,
      clusterIP: opts.clusterIP ?? opts.clusterIPs?.[0] ?? '198.19.0.10',
      clusterIPs: opts.clusterIPs,
      ports: opts.ports ?? [{ name: 'http', port: 80, protocol: 'TCP' }],
      ...opts.spec,
    },
    status: opts.ingress ? { loadBalancer: { ingress: opts.ingress } } : undefined,
  };
}

export function sliceEp(addresses: string[], extra: Partial<V1Endpoint> = {}): V1Endpoint {
  return { addresses, ...extra };
}

export function slice(
  name: string,
  service: string,
  endpoints: V1Endpoint[],
  opts: {
    ns?: string;
    addressType?: string;
    ports?: { name?: string; port?: number; protocol?: string }[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    rv?: string;
  } = {},
): V1EndpointSlice {
  return {
    metadata: {
      name,
      namespace: opts.ns ?? 'default',
      labels: { 'kubernetes.io/service-name': service, ...opts.labels },
      annotations: opts.annotations,
      resourceVersion: opts.rv,
      uid: `uid-${name}`,
    },
    addressType: opts.addressType ?? 'IPv4',
    endpoints,
    ports: opts.ports ?? [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

export function node(name: string, opts: { zone?: string; deleting?: boolean; taints?: string[]; rv?: string } = {}): V1Node {
  return {
    metadata: {
      name,
      labels: opts.zone ? { 'topology.kubernetes.io/zone': opts.zone } : {},
      deletionTimestamp: opts.deleting ? new Date('2024-01-01T00:00:00Z') : undefined,
      resourceVersion: opts.rv,
    },
    spec: { podCIDRs: ['198.18.1.0/24'], taints: (opts.taints ?? []).map((key) => ({ key, effect: 'NoSchedule' })) },
    status: { addresses: [{ type: 'InternalIP', address: '198.18.0.1' }, { type: 'Hostname', address: name }] },
  };
}

export function sp(over: Partial<ServicePort> = {}): ServicePort {
  return makeServicePort('default', 's', 'http', { clusterIPs: ['198.19.0.10'], ...over });
}

export function ep(ip: string, over: Partial<Endpoint> = {}): Endpoint {
  return makeEndpoint(ip, { nodeName: 'other', ...over });
}

export function nodeInfo(over: Partial<NodeInfo> = {}): NodeInfo {
  return { name: 'me', labels: {}, zone: '', addresses: [], podCIDRs: [], eligible: true, ...over };
}
