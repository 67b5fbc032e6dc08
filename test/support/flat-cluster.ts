// A synthetic cluster of hand-built model values for the O(change) tests, with a mix of the
// service shapes whose per-sync bookkeeping differs (NodePort, LoadBalancer, ETP/ITP Local with
// health check ports, UDP), and one-change edits of it. States use CountingMap so a test can
// count lookups, and are plain Maps so countWalks() sees any pass over them.

import type { Endpoint, NodeInfo, ProxyState, ServicePort } from '../../proxy/model/types.js';
import { makeEndpoint, makeServicePort } from './model-builders.js';
import { CountingMap } from './walk-counter.js';

export const FLAT_NODE: NodeInfo = { name: 'node-a', labels: {}, zone: '', addresses: ['198.18.0.2'], podCIDRs: ['198.18.16.0/24'], eligible: true };

export function flatService(i: number): ServicePort {
  const ip = `198.19.${i >> 8}.${(i & 255) + 0}`;
  const kind = i % 10;
  return makeServicePort('ns', `s${i}`, 'p', {
    clusterIPs: [ip === '198.19.0.0' ? '198.19.255.254' : ip],
    protocol: kind === 3 ? 'UDP' : 'TCP',
    ...(kind === 1 || kind === 2 ? { type: 'NodePort' as const, nodePort: 30000 + (i % 2700) } : {}),
    ...(kind === 2 ? { externalTrafficPolicy: 'Local' as const, healthCheckNodePort: 32000 + (i % 700) } : {}),
    ...(kind === 4 ? { type: 'LoadBalancer' as const, nodePort: 30000 + (i % 2700), loadBalancerIPs: [`198.18.200.${i % 250}`] } : {}),
    ...(kind === 5 ? { internalTrafficPolicy: 'Local' as const } : {}),
  });
}

export function flatEndpoints(i: number, version = 0): Endpoint[] {
  const a = (k: number): string => `198.18.${16 + ((i * 2 + k + version * 7) % 200)}.${1 + ((i + k) % 250)}`;
  return [makeEndpoint(a(0), { nodeName: 'node-b' }), makeEndpoint(a(1), { nodeName: 'node-a', isLocal: true })];
}

export interface FlatCluster {
  state: ProxyState;
  readonly services: CountingMap<string, ServicePort>;
  readonly endpoints: CountingMap<string, readonly Endpoint[]>;
}

export function flatCluster(n: number): FlatCluster {
  const services = new CountingMap<string, ServicePort>();
  const endpoints = new CountingMap<string, readonly Endpoint[]>();
  for (let i = 0; i < n; i++) {
    const sp = flatService(i);
    services.set(sp.key, sp);
    endpoints.set(sp.key, flatEndpoints(i));
  }
  return { state: { services, endpoints, node: FLAT_NODE }, services, endpoints };
}

/**
 * Services 0, 2, 4, ... below n with their endpoints, in plain Maps: a starting state for change
 * sequences that add the odd-numbered services later.
 */
export function everyOtherFlatService(n: number): ProxyState {
  const services = new Map<string, ServicePort>();
  const endpoints = new Map<string, readonly Endpoint[]>();
  for (let i = 0; i < n; i += 2) {
    const sp = flatService(i);
    services.set(sp.key, sp);
    endpoints.set(sp.key, flatEndpoints(i));
  }
  return { services, endpoints, node: FLAT_NODE };
}

/**
 * The same cluster with service i's endpoints replaced, sharing every other entry (as the model
 * store's snapshots do); the copy is made here, outside any counted section.
 */
export function withNewEndpoints(c: FlatCluster, i: number, version: number): FlatCluster {
  const services = new CountingMap(c.services);
  const endpoints = new CountingMap(c.endpoints);
  endpoints.set(flatService(i).key, flatEndpoints(i, version));
  services.lookups = 0;
  endpoints.lookups = 0;
  return { state: { services, endpoints, node: c.state.node }, services, endpoints };
}
