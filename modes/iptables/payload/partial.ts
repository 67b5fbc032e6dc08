// A partial sync: only what changed for the given service ports. Rewritten chains are declared
// and written in full (iptables-restore cannot edit a chain in place), vanished chains are
// deleted, and dispatch chains get individual -D / -I lines so the other services' rules in
// them are never re-sent.
//
// iptables-restore commits each table block on its own, so the blocks go in the order full.ts
// explains: filter additions, then nat (each service port's chains and jumps at once), then
// filter removals; whichever block fails, every packet meets either the old or the new rules.

import type { ServiceSummary } from '../record.js';
import { dispatchChainName, dispatchTable, DISPATCH_CHAINS, type ServiceRules } from '../render/types.js';
import { chunkByWeight, type PackedRestore } from './pack.js';
import { TablePayload, renderPayload } from './table-payload.js';

export interface ServiceDelta {
  /** What the kernel holds for this service port (from the record); undefined if new. */
  readonly before: ServiceSummary | undefined;
  /** What it should hold, with the rules to write; undefined if removed. */
  readonly after: (ServiceSummary & { readonly rules: ServiceRules }) | undefined;
}

export function buildPartialPayload(deltas: readonly ServiceDelta[]): PackedRestore {
  const filterAdd = new TablePayload('filter');
  const nat = new TablePayload('nat');
  const filterRemove = new TablePayload('filter');
  for (const { before, after } of deltas) {
    writeChainDelta(nat, before, after);
    for (const d of DISPATCH_CHAINS) {
      const isNat = dispatchTable(d) === 'nat';
      const chain = dispatchChainName(d);
      const old = before?.dispatch.get(d) ?? [];
      const next = after?.dispatch.get(d) ?? [];
      for (const r of old) if (!next.includes(r)) (isNat ? nat : filterRemove).deleteRule(chain, r);
      for (const r of next) if (!old.includes(r)) (isNat ? nat : filterAdd).insertFirst(chain, r);
    }
  }
  return {
    payload: renderPayload([filterAdd, nat, filterRemove]),
    written: { nat: nat.rulesWritten, filter: filterAdd.rulesWritten + filterRemove.rulesWritten },
  };
}

/**
 * Groups of deltas whose chains stay within `budget` per restore (see pack.ts); each service
 * port's delta stays whole, so it still changes atomically.
 */
export function splitDeltas(deltas: readonly ServiceDelta[], budget: number): ServiceDelta[][] {
  return chunkByWeight(deltas, (d) => (d.before?.chains.size ?? 0) + (d.after?.chains.size ?? 0), budget);
}

function writeChainDelta(nat: TablePayload, before: ServiceSummary | undefined, after: ServiceDelta['after']): void {
  for (const [chain, digest] of after?.chains ?? []) {
    if (before?.chains.get(chain) === digest) continue;
    nat.declare(chain);
    nat.appendAll(chain, after?.rules.chains.get(chain) ?? []);
  }
  for (const chain of before?.chains.keys() ?? []) if (!after?.chains.has(chain)) nat.deleteChain(chain);
}
