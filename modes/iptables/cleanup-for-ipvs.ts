// A switch from iptables mode to IPVS mode in place: once IPVS mode has synced, iptables mode's
// leftovers go (found in iptables-save, so a fresh process can do it), but not the chains both
// modes use under the same names, which IPVS mode has just rewritten with its own rules. See
// handover.ts for what exactly is removed and why the order keeps every service reachable.

import type { Logger } from '../../proxy/log.js';
import { IPVS_MODE_CHAINS } from '../ipvs/iptables-rules.js';
import { planLeftoverRemoval, type ModeChains } from './handover.js';
import { isServiceChain } from './names.js';
import { jumpRules, OWNED_CHAINS } from './render/skeleton.js';
import type { IptablesRunner } from './runner.js';
import { parseSave, type SavedTables } from './save-parse.js';

/** iptables mode's chains and jumps, by name (KUBE-FIREWALL is kubelet's too: never ours to delete). */
export const IPTABLES_MODE_CHAINS: ModeChains = {
  chains: OWNED_CHAINS,
  dynamic: (table, chain) => table === 'nat' && isServiceChain(chain),
  // localhostNodePorts only adds the KUBE-FIREWALL jumps, which no other mode shares.
  jumps: jumpRules({ localhostNodePorts: false }),
};

/** PURE: the restore payload removing iptables mode's leftovers under IPVS mode ('' when none). */
export function buildCleanupForIpvsPayload(saved: SavedTables): string {
  return planLeftoverRemoval(saved, IPTABLES_MODE_CHAINS, IPVS_MODE_CHAINS);
}

/**
 * Both families, each read fresh from the kernel. A restore that fails because the kernel changed
 * between our save and our restore (the live IPVS mode syncing) is planned again, a few times.
 */
export async function cleanupForIpvs(runner: IptablesRunner, log: Logger): Promise<void> {
  const failures: string[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    let lastErr: unknown;
    for (let attempt = 1; attempt <= 3; attempt++) {
      let saved: string;
      try {
        saved = await runner.save(family);
      } catch (e) {
        // A host without (ip6)tables for a family has nothing of ours in it.
        log.v(2, 'iptables-save failed; no iptables-mode leftovers for this family', { ipFamily: family, err: e });
        lastErr = undefined;
        break;
      }
      const payload = buildCleanupForIpvsPayload(parseSave(saved));
      try {
        if (payload !== '') await runner.restore(family, payload);
        log.info('removed iptables-mode leftovers (IPVS mode is active)', { ipFamily: family, lines: payload.split('\n').length - 1 });
        lastErr = undefined;
        break;
      } catch (e) {
        lastErr = e;
      }
    }
    if (lastErr !== undefined) failures.push(`${family}: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}`);
  }
  if (failures.length) throw new Error(`removing iptables-mode leftovers failed: ${failures.join('; ')}`);
}
