// Picks the dataplane for --mode. Each mode's constructor only assembles objects; nothing touches
// the kernel until the first sync (or cleanup).

import type { ProxyConfig, ProxyMode } from '../proxy/config/types.js';
import type { Logger } from '../proxy/log.js';
import type { IPFamily } from '../proxy/model/types.js';
import type { ProxyMetrics } from '../sync/metrics.js';
import type { Dataplane } from './dataplane.js';
import { createNoopDataplane } from './noop/dataplane.js';

export interface DataplaneDeps {
  readonly config: ProxyConfig;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly families: IPFamily[];
  /** This node's addresses (for NodePort address selection and LB source ranges). */
  readonly nodeIPs: () => string[];
}

export async function createDataplane(mode: ProxyMode, deps: DataplaneDeps): Promise<Dataplane> {
  const logger = deps.logger.with({ mode });
  switch (mode) {
    case 'noop':
      return createNoopDataplane({ logger });
    // Modes are loaded on demand so a process only loads (and can only fail on) the one it runs.
    case 'iptables': {
      const [{ createIptablesRunner }, { createConntrack }, { createIptablesDataplane }] = await Promise.all([
        import('./iptables/exec/runner.js'),
        import('./shared/conntrack-exec.js'),
        import('./iptables/dataplane.js'),
      ]);
      const runner = await createIptablesRunner({ logger });
      return createIptablesDataplane({ ...deps, logger, runner, conntrack: createConntrack({ logger }) });
    }
    case 'userspace': {
      const [{ createIptablesRunner }, { createUserspaceDataplane }] = await Promise.all([
        import('./iptables/exec/runner.js'),
        import('./userspace/dataplane.js'),
      ]);
      const runner = await createIptablesRunner({ logger });
      return createUserspaceDataplane({ config: deps.config, runner, metrics: deps.metrics, logger, families: deps.families });
    }
    case 'ipvs':
      return createIpvs(deps, logger);
    case 'nftables': {
      const [{ openNftClient }, { createConntrack }, { createNftablesDataplane }] = await Promise.all([
        import('./nftables/client.js'),
        import('./shared/conntrack-exec.js'),
        import('./nftables/dataplane.js'),
      ]);
      const client = await openNftClient({ logger });
      return createNftablesDataplane({ ...deps, logger, client, conntrack: createConntrack({ logger }) });
    }
  }
}

async function createIpvs(deps: DataplaneDeps, logger: Logger): Promise<Dataplane> {
  const { createIpvsDataplane } = await import('./ipvs/dataplane.js');
  return createIpvsDataplane({ ...deps, logger });
}
