// The JSON behind /debug/state: what the daemon believes (model), what it last programmed, and
// why it skipped objects. Meant for humans and for `kube-proxy-ts explain`.

import type { Dataplane } from '../modes/dataplane.js';
import type { BoundedFrequencyRunner } from '../sync/runner.js';
import type { SyncLoop } from '../sync/sync-loop.js';
import type { ProxyConfig } from './config/types.js';
import type { ModelStore } from './model/store.js';
import type { ProxyState } from './model/types.js';
import { localAddresses } from './node-ips.js';

export interface DebugStateDeps {
  readonly config: ProxyConfig;
  readonly nodeName: string;
  readonly loop: SyncLoop;
  readonly store: ModelStore;
  readonly runner: BoundedFrequencyRunner;
  readonly dataplane: Dataplane;
}

export function debugState(d: DebugStateDeps): unknown {
  const state = d.loop.current();
  return {
    mode: d.config.mode,
    node: state?.node ?? { name: d.nodeName },
    syncs: d.loop.syncCount,
    localAddresses: localAddresses(),
    runner: d.runner.snapshot(),
    rejected: d.store.rejections(),
    services: state ? servicesJson(state) : [],
  };
}

export function servicesJson(state: ProxyState): unknown[] {
  return [...state.services.values()]
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((sp) => ({ ...sp, endpoints: state.endpoints.get(sp.key) ?? [] }));
}
