// Builds the answer of /debug/explain: for `namespace/name` (every port) or `namespace/name:port`,
// the service port's VIPs, each endpoint with its state and whether this node would use it, and
// what the dataplane programmed for it.

import type { Dataplane } from '../modes/dataplane.js';
import { categorizeEndpoints } from './model/categorize.js';
import type { ProxyState, ServicePort } from './model/types.js';

export function matchingPorts(state: ProxyState, query: string): ServicePort[] {
  const [nsName, port] = splitQuery(query);
  return [...state.services.values()]
    .filter((sp) => `${sp.namespace}/${sp.name}` === nsName && (port === undefined || sp.portName === port || String(sp.port) === port))
    .sort((a, b) => a.key.localeCompare(b.key));
}

function splitQuery(query: string): [string, string | undefined] {
  const i = query.indexOf(':');
  return i < 0 ? [query, undefined] : [query.slice(0, i), query.slice(i + 1)];
}

export async function explainService(state: ProxyState | null, dataplane: Dataplane, query: string): Promise<unknown> {
  if (!state) return { query, error: 'the daemon has not synced yet' };
  const ports = matchingPorts(state, query);
  if (ports.length === 0) return { query, error: `no service port matches ${query} (is the Service valid and not headless?)` };
  return {
    query,
    mode: dataplane.mode,
    node: state.node.name,
    ports: await Promise.all(
      ports.map(async (sp) => {
        const eps = state.endpoints.get(sp.key) ?? [];
        const cat = categorizeEndpoints(sp, eps, state.node);
        const used = new Set(cat.allReachableEndpoints.map((e) => `${e.ip}:${e.port}`));
        return {
          key: sp.key,
          type: sp.type,
          protocol: sp.protocol,
          port: sp.port,
          clusterIPs: sp.clusterIPs,
          nodePort: sp.nodePort || undefined,
          externalIPs: sp.externalIPs,
          loadBalancerIPs: sp.loadBalancerIPs,
          loadBalancerSourceRanges: sp.loadBalancerSourceRanges,
          sessionAffinity: sp.sessionAffinity,
          externalTrafficPolicy: sp.externalTrafficPolicy,
          internalTrafficPolicy: sp.internalTrafficPolicy,
          healthCheckNodePort: sp.healthCheckNodePort || undefined,
          endpoints: eps.map((e) => ({
            address: `${e.ip}:${e.port}`,
            node: e.nodeName,
            local: e.isLocal,
            ready: e.ready,
            serving: e.serving,
            terminating: e.terminating,
            usedByThisNode: used.has(`${e.ip}:${e.port}`),
          })),
          programmed: dataplane.describe ? await dataplane.describe(sp.key) : null,
        };
      }),
    ),
  };
}
