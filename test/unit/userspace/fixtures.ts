// Shared builders for the userspace-mode tests: service ports, endpoints, states and a fake
// iptables runner that records payloads instead of touching the kernel.

import type { IptablesRunner, Table } from '../../../modes/iptables/runner.js';
import type { ProxyConfig } from '../../../proxy/config/types.js';
import type { Endpoint, IPFamily, NodeInfo, ProxyState, ServicePort } from '../../../proxy/model/types.js';
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

export interface RecordingRunner extends IptablesRunner {
  readonly restores: Array<{ family: IPFamily; payload: string }>;
  readonly saves: Array<{ family: IPFamily; table: Table | undefined }>;
  /** What save() returns per family. */
  readonly saveOutput: Map<IPFamily, string>;
}

export function recordingRunner(): RecordingRunner {
  const restores: RecordingRunner['restores'] = [];
  const saves: RecordingRunner['saves'] = [];
  const saveOutput = new Map<IPFamily, string>();
  return {
    backend: 'nft',
    restores,
    saves,
    saveOutput,
    async restore(family, payload) {
      restores.push({ family, payload });
    },
    async restoreEach(family, payloads) {
      for (const payload of payloads) restores.push({ family, payload });
    },
    async save(family, table) {
      saves.push({ family, table });
      return saveOutput.get(family) ?? '*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
    },
  };
}

/** The dataplane reads no config field today; a typed stub keeps the option honest. */
export const config = { mode: 'userspace' } as unknown as ProxyConfig;
