// Removing everything iptables mode ever created (--cleanup), working from iptables-save output
// so it also works in a fresh process. Only our jump rules in built-in chains and our chains are
// named; KUBE-FIREWALL (shared with kubelet) and foreign chains are left alone.

import { isServiceChain } from './names.js';
import { OWNED_CHAINS, type OwnedTable } from './render/skeleton.js';
import { ruleTarget, type SavedTable, type SavedTables } from './save-parse.js';
import { TablePayload, renderPayload } from './payload/table-payload.js';

const TABLES: readonly OwnedTable[] = ['filter', 'nat', 'mangle'];

function ownedIn(table: OwnedTable, chains: Iterable<string>): Set<string> {
  const fixed = new Set(OWNED_CHAINS[table]);
  return new Set([...chains].filter((c) => fixed.has(c) || (table === 'nat' && isServiceChain(c))));
}

/** The restore payload that removes our rules and chains from `saved` ('' when nothing is ours). */
export function buildCleanupPayload(saved: SavedTables): string {
  const out: TablePayload[] = [];
  for (const name of TABLES) {
    const table = saved.get(name);
    if (!table) continue;
    const owned = ownedIn(name, table.keys());
    const keep = referencedByForeign(table, owned);
    const p = new TablePayload(name);
    for (const chain of table.values()) {
      if (chain.policy === '-') continue; // only built-in chains hold jump rules we own
      for (const r of chain.rules) {
        const t = ruleTarget(r);
        if (t !== undefined && owned.has(t) && !keep.has(t)) p.deleteRule(chain.name, r);
      }
    }
    for (const c of owned) if (!keep.has(c)) p.deleteChain(c);
    out.push(p);
  }
  return renderPayload(out);
}

/**
 * Owned chains a foreign user chain still jumps to (directly or through other owned chains)
 * cannot be deleted without breaking that chain, so they are left in place.
 */
function referencedByForeign(table: SavedTable, owned: ReadonlySet<string>): Set<string> {
  const keep = new Set<string>();
  const queue: string[] = [];
  for (const chain of table.values()) {
    if (chain.policy !== '-' || owned.has(chain.name)) continue;
    for (const r of chain.rules) {
      const t = ruleTarget(r);
      if (t && owned.has(t) && !keep.has(t)) keep.add(t), queue.push(t);
    }
  }
  while (queue.length) {
    const c = table.get(queue.pop() as string);
    for (const r of c?.rules ?? []) {
      const t = ruleTarget(r);
      if (t && owned.has(t) && !keep.has(t)) keep.add(t), queue.push(t);
    }
  }
  return keep;
}

/** How many chains and rules a cleanup payload removes (its `-X` and `-D` lines). */
export function countCleanupPayload(payload: string): { chains: number; rules: number } {
  let chains = 0;
  let rules = 0;
  for (const l of payload.split('\n')) {
    if (l.startsWith('-X ')) chains++;
    else if (l.startsWith('-D ')) rules++;
  }
  return { chains, rules };
}
