// Cross-field checks that no single flag or field can make on its own (per-value checks live in
// values.ts). Names both the flag and the config field, since either may have set the value.

import { formatDuration } from './duration.js';
import type { ProxyConfig } from './types.js';

// Schedulers the Linux ipvs module offers (ip_vs_<name>.ko).
export const IPVS_SCHEDULERS: readonly string[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq', 'fo', 'ovf', 'mh'];

export interface Validation {
  readonly errors: string[];
  readonly warnings: string[];
}

export function validateConfig(c: ProxyConfig): Validation {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const [block, p] of [['iptables', c.iptables], ['nftables', c.nftables], ['ipvs', c.ipvs]] as const) {
    if (p.minSyncPeriodMs > p.syncPeriodMs) {
      // nftables' periods have no flags of their own, only the config file fields.
      const [sp, msp] =
        block === 'nftables'
          ? [`${block}.syncPeriod`, `${block}.minSyncPeriod`]
          : [`--${block}-sync-period (${block}.syncPeriod)`, `--${block}-min-sync-period (${block}.minSyncPeriod)`];
      errors.push(`${sp} ${formatDuration(p.syncPeriodMs)} must be at least ${msp} ${formatDuration(p.minSyncPeriodMs)}`);
    }
  }
  if (!IPVS_SCHEDULERS.includes(c.ipvs.scheduler)) {
    errors.push(`--ipvs-scheduler (ipvs.scheduler) "${c.ipvs.scheduler}" is not one of ${IPVS_SCHEDULERS.join(', ')}`);
  }
  if (c.detectLocalMode === 'BridgeInterface' && c.detectLocal.bridgeInterface === '') {
    errors.push('--detect-local-mode=BridgeInterface requires --pod-bridge-interface (detectLocal.bridgeInterface)');
  }
  if (c.detectLocalMode === 'InterfaceNamePrefix' && c.detectLocal.interfaceNamePrefix === '') {
    errors.push('--detect-local-mode=InterfaceNamePrefix requires --pod-interface-name-prefix (detectLocal.interfaceNamePrefix)');
  }
  if (c.detectLocalMode === 'ClusterCIDR' && c.clusterCIDRs.length === 0) {
    // Upstream starts anyway and simply cannot tell pod traffic from other traffic.
    warnings.push('--detect-local-mode=ClusterCIDR but no --cluster-cidr given: local traffic detection is disabled');
  }
  if (c.mode === 'userspace') {
    warnings.push('userspace mode was removed upstream in v1.26; prefer iptables or ipvs');
  }
  return { errors, warnings };
}
