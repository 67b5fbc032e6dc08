// The built-in cluster of the standalone demo apiserver: a node and a few services of every type.

import type { KubernetesObject } from '@kubernetes/client-node';
import { makeEndpointSlice, makeNode, makeService } from './builders.js';

export interface SampleOptions {
  readonly nodeName: string;
  readonly nodeIP: string;
}

export function sampleObjects(o: SampleOptions): KubernetesObject[] {
  return [
    makeNode({ name: o.nodeName, internalIPs: [o.nodeIP], podCIDRs: ['198.18.1.0/24'], zone: 'zone-a' }),
    makeService({ name: 'web', clusterIP: '198.19.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
    makeEndpointSlice({
      service: 'web',
      name: 'web-1',
      endpoints: [
        { ip: '198.18.1.11', nodeName: o.nodeName, zone: 'zone-a' },
        { ip: '198.18.2.12', nodeName: 'node-b', zone: 'zone-b' },
      ],
      ports: [{ name: 'http', port: 8080 }],
    }),
    makeService({
      name: 'dns',
      namespace: 'kube-system',
      clusterIP: '198.19.0.53',
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    }),
    makeEndpointSlice({
      service: 'dns',
      namespace: 'kube-system',
      name: 'dns-1',
      endpoints: [{ ip: '198.18.1.53', nodeName: o.nodeName }],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    }),
    makeService({
      name: 'shop',
      type: 'NodePort',
      clusterIP: '198.19.0.20',
      ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }],
    }),
    makeEndpointSlice({
      service: 'shop',
      name: 'shop-1',
      endpoints: [{ ip: '198.18.1.21', nodeName: o.nodeName }, { ip: '198.18.1.22', nodeName: o.nodeName }],
      ports: [{ name: 'http', port: 8080 }],
    }),
    makeService({
      name: 'gateway',
      type: 'LoadBalancer',
      clusterIP: '198.19.0.30',
      ports: [{ name: 'https', port: 443, targetPort: 8443, nodePort: 30443 }],
      loadBalancerIngressIPs: ['198.18.200.10'],
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 32000,
    }),
    makeEndpointSlice({
      service: 'gateway',
      name: 'gateway-1',
      endpoints: [{ ip: '198.18.1.31', nodeName: o.nodeName }, { ip: '198.18.2.32', nodeName: 'node-b' }],
      ports: [{ name: 'https', port: 8443 }],
    }),
  ];
}

/**
 * The demo's churn: the `web` slice's local endpoint alternates between ready and not ready,
 * so a watching daemon has something to reprogram every few seconds.
 */
export function churnedWebSlice(nodeName: string, localReady: boolean) {
  return makeEndpointSlice({
    service: 'web',
    name: 'web-1',
    endpoints: [
      { ip: '198.18.1.11', nodeName, zone: 'zone-a', ready: localReady, terminating: !localReady },
      { ip: '198.18.2.12', nodeName: 'node-b', zone: 'zone-b' },
    ],
    ports: [{ name: 'http', port: 8080 }],
  });
}
