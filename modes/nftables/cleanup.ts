// --cleanup, and a switch to another mode: delete exactly our tables (`ip kube-proxy`, `ip6 kube-proxy`); foreign tables and
// iptables rules are not touched.

import type { Logger } from '../../proxy/log.js';
import { TABLE } from './names.js';
import type { NftClient, NftFamily } from './netlink/types.js';

/** Returns how many tables went (no other mode programs anything in them, so nothing is kept). */
export async function deleteOurTables(client: NftClient, log: Logger, onFailure: (family: NftFamily) => void): Promise<number> {
  const failures: string[] = [];
  let tables = 0;
  for (const family of ['ip', 'ip6'] as const) {
    try {
      if (!(await client.dumpTable(family, TABLE))) continue;
      await client.commit([{ op: 'delete-table', table: { family, name: TABLE } }]);
      tables++;
      log.info('nftables table deleted', { table: `${family} ${TABLE}` });
    } catch (e) {
      onFailure(family);
      failures.push(`${family} ${TABLE}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (failures.length) throw new Error(`nftables cleanup failed: ${failures.join('; ')}`);
  return tables;
}
