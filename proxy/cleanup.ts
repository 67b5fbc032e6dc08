// --cleanup: remove everything any of our dataplanes may have created (like upstream, which cleans
// both iptables and IPVS state regardless of the configured mode), then exit. Foreign rules,
// chains, virtual servers and addresses are left alone.

import { createDataplane } from '../modes/registry.js';
import type { ProxyMode } from './config/types.js';
import type { ProxyConfig } from './config/types.js';
import { detectFamilies } from './daemon.js';
import type { Logger } from './log.js';
import { modeUnavailable } from './mode-switch.js';
import { localAddresses } from './node-ips.js';
import { ProxyMetrics } from '../sync/metrics.js';

const MODES: readonly ProxyMode[] = ['iptables', 'userspace', 'ipvs', 'nftables'];

export async function runCleanup(config: ProxyConfig, logger: Logger): Promise<number> {
  const families = detectFamilies();
  const metrics = new ProxyMetrics({ processMetrics: false });
  let failures = 0;
  for (const mode of MODES) {
    try {
      const dp = await createDataplane(mode, { config: { ...config, mode }, logger, metrics, families, nodeIPs: localAddresses });
      await dp.cleanup();
      logger.info('cleaned up', { mode });
    } catch (err) {
      // IPVS is often simply unavailable (no kernel module); that is not a cleanup failure.
      if (modeUnavailable(mode, err)) logger.info('nothing to clean up', { mode, reason: String(err) });
      else {
        failures++;
        logger.error('cleanup failed', { mode, err });
      }
    }
  }
  return failures === 0 ? 0 : 1;
}
