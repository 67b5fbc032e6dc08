// A mode switch in place: restarted with another --mode, the daemon programs its own dataplane
// first and only then removes what the other modes left in the kernel, so a live Service always
// has rules of one mode or the other and conntrack entries keep working. What is left is found by
// each mode's cleanup looking at the kernel (a fresh process remembers nothing of the old mode).

import { createDataplane, type DataplaneDeps } from '../modes/registry.js';
import type { ProxyMode } from './config/types.js';

/** The modes whose leftovers a daemon running `active` removes after its first sync. */
export function otherModes(active: ProxyMode): ProxyMode[] {
  const all: ProxyMode[] = ['iptables', 'ipvs', 'userspace', 'nftables'];
  return active === 'noop' ? [] : all.filter((m) => m !== active);
}

/**
 * Removes every other mode's leftovers, keeping what `active` programs itself (the cleanup's
 * `active` option). A mode the kernel cannot run (no IPVS, no nf_tables) has nothing left.
 */
export async function removeOtherModesLeftovers(active: ProxyMode, deps: DataplaneDeps): Promise<void> {
  for (const mode of otherModes(active)) {
    try {
      const dp = await createDataplane(mode, { ...deps, config: { ...deps.config, mode } });
      try {
        await dp.cleanup({ active });
      } finally {
        await dp.close?.();
      }
    } catch (err) {
      const unavailable = (mode === 'ipvs' || mode === 'nftables') && /not available|EPROTONOSUPPORT|family.*not found|ENOENT/i.test(String(err));
      if (!unavailable) deps.logger.warn('removing the leftovers of another mode failed; will not retry', { mode, err });
    }
  }
}
