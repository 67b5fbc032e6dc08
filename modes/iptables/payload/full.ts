// A full sync: every owned chain is declared (which flushes it under --noflush) and rewritten,
// missing jumps from built-in chains are added, and service chains found in the kernel but no
// longer wanted are deleted. Only chains and rules we own are ever named.

import { isServiceChain } from '../names.js';
import type { RenderOptions } from '../options.js';
import type { SavedTables } from '../save-parse.js';
import { ruleTarget } from '../save-parse.js';
import { fixedChains, jumpRules, nodePortsJumpRules, staticRules } from '../render/skeleton.js';
import { dispatchChainName, dispatchTable, DISPATCH_CHAINS, type ServiceRules } from '../render/types.js';
import { TablePayload, renderPayload } from './table-payload.js';

export interface FullPayload {
  readonly payload: string;
  readonly written: { readonly nat: number; readonly filter: number };
  readonly staleChains: readonly string[];
}

export function buildFullPayload(
  o: RenderOptions,
  services: readonly ServiceRules[],
  existing: SavedTables,
): FullPayload {
  const filter = new TablePayload('filter');
  const nat = new TablePayload('nat');
  const mangle = new TablePayload('mangle');
  const byTable = { filter, nat, mangle };
  for (const t of ['filter', 'nat', 'mangle'] as const) for (const c of fixedChains(o, t)) byTable[t].declare(c);
  for (const s of services) for (const c of s.chains.keys()) nat.declare(c);

  addMissingJumps(o, existing, filter, nat);
  for (const [id, rules] of staticRules(o)) {
    const [table, chain] = id.split('/') as ['nat' | 'filter', string];
    byTable[table].appendAll(chain, rules);
  }
  for (const d of DISPATCH_CHAINS) {
    if (d === 'nat/KUBE-SERVICES') continue;
    const out = byTable[dispatchTable(d)];
    for (const s of services) out.appendAll(dispatchChainName(d), s.dispatch.get(d) ?? []);
  }
  for (const s of services) for (const [chain, rules] of s.chains) nat.appendAll(chain, rules);
  for (const s of services) nat.appendAll('KUBE-SERVICES', s.dispatch.get('nat/KUBE-SERVICES') ?? []);
  nat.appendAll('KUBE-SERVICES', nodePortsJumpRules(o));

  const wanted = new Set(services.flatMap((s) => [...s.chains.keys()]));
  const staleChains = [...(existing.get('nat')?.keys() ?? [])].filter((c) => isServiceChain(c) && !wanted.has(c));
  for (const c of staleChains) nat.deleteChain(c);

  return {
    payload: renderPayload([filter, nat, mangle]),
    written: { nat: nat.rulesWritten, filter: filter.rulesWritten },
    staleChains,
  };
}

/**
 * Jumps are matched by (built-in chain, target) only, so a rule another version wrote with
 * different match order or quoting still counts and is never duplicated.
 */
function addMissingJumps(o: RenderOptions, existing: SavedTables, filter: TablePayload, nat: TablePayload): void {
  // Insert in reverse so the jumps end up at the top in table order.
  for (const j of [...jumpRules(o)].reverse()) {
    const chain = existing.get(j.table)?.get(j.from);
    const present = chain?.rules.some((r) => ruleTarget(r) === j.to) ?? false;
    if (!present) (j.table === 'nat' ? nat : filter).insertFirst(j.from, j.rule);
  }
}
