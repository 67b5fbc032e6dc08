// Shared builders for the userspace-mode tests: service ports, endpoints, states and a fake
// iptables runner that records payloads instead of touching the kernel.

import type { ProxyConfig } from '../../../proxy/config/types.js';
import type { Endpoint, NodeInfo, ProxyState, ServicePort } from '../../../proxy/model/types.js';
import { EMPTY_CHANGES } from '../../../proxy/model/types.js';
import type { SyncRequest } from '../../../modes/dataplane.js';
import { makeEndpoint, makeServicePort } from '../../support/model-builders.js';

export const node: NodeInfo = {
  name: 'node-a',
  labels: {},
  zone: '',
  addresses: ['192.0.2.10'],
  podCIDRs: [],
  eligible: true,
};

export function servicePort(overrides: Partial<ServicePort> & { name: string }): ServicePort {
  return makeServicePort(overrides.namespace ?? 'default', overrides.name, overrides.portName ?? 'p', { clusterIPs: ['198.19.0.10'], ...overrides });
}

export function endpoint(ip: string, port: number, overrides: Partial<Endpoint> = {}): Endpoint {
  return makeEndpoint(ip, { port, nodeName: 'node-a', isLocal: true, ...overrides });
}

export function state(entries: ReadonlyArray<readonly [ServicePort, readonly Endpoint[]]>): ProxyState {
  return {
    services: new Map(entries.map(([sp]) => [sp.key, sp])),
    endpoints: new Map(entries.map(([sp, eps]) => [sp.key, eps])),
    node,
  };
}

export function request(s: ProxyState): SyncRequest {
  return { state: s, changes: EMPTY_CHANGES, full: true };
}

export { recordingRunner, type RecordingRunner } from '../../support/recording-runner.js';

/** The dataplane reads no config field today; a typed stub keeps the option honest. */
export const config = { mode: 'userspace' } as unknown as ProxyConfig;
