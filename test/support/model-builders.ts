// Shared builders of model values for unit tests: one place that knows every ServicePort and
// Endpoint field, so a new field is added once. Each test folder's fixtures wrap these with the
// defaults its tests read best with.

import { ipFamily } from '../../proxy/model/ip.js';
import type { Endpoint, ServicePort } from '../../proxy/model/types.js';

export function makeServicePort(namespace: string, name: string, portName: string, over: Partial<ServicePort> = {}): ServicePort {
  return {
    key: `${namespace}/${name}:${portName}`,
    namespace,
    name,
    portName,
    type: 'ClusterIP',
    protocol: 'TCP',
    port: 80,
    clusterIPs: ['198.19.0.1'],
    nodePort: 0,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    sessionAffinity: { type: 'None' },
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: 0,
    ...over,
  };
}

export function makeEndpoint(ip: string, over: Partial<Endpoint> = {}): Endpoint {
  return {
    ip,
    port: 8080,
    family: ipFamily(ip) ?? 'IPv4',
    ready: true,
    serving: true,
    terminating: false,
    nodeName: '',
    zone: '',
    zoneHints: [],
    nodeHints: [],
    isLocal: false,
    ...over,
  };
}
