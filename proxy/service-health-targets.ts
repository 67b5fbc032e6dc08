// Pure: which healthCheckNodePort servers this node should run and how many local endpoints each
// reports (upstream serves one per Service with externalTrafficPolicy Local and a health check port).

import { categorizeEndpoints, externalPolicyLocal } from './model/categorize.js';
import { namespacedName } from './model/service.js';
import type { ProxyState } from './model/types.js';

export interface HealthTarget {
  readonly port: number;
  readonly localEndpoints: number;
}

export function serviceHealthTargets(state: ProxyState): Map<string, HealthTarget> {
  const out = new Map<string, HealthTarget>();
  for (const [key, sp] of state.services) {
    if (!sp.healthCheckNodePort || !externalPolicyLocal(sp)) continue;
    const { localEndpoints } = categorizeEndpoints(sp, state.endpoints.get(key) ?? [], state.node);
    // Several ports of one Service share its health check port; count distinct local pods.
    const ips = new Set(localEndpoints.map((e) => e.ip));
    const name = namespacedName(sp.namespace, sp.name);
    const prev = out.get(name);
    out.set(name, { port: sp.healthCheckNodePort, localEndpoints: Math.max(prev?.localEndpoints ?? 0, ips.size) });
  }
  return out;
}
