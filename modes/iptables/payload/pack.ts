// Turning a staged plan into iptables-restore payloads.
//
// One transaction is what upstream does and what we prefer: atomic and, for the legacy backend,
// linear. But iptables-nft-restore --noflush (1.8.9) spends time quadratic in the number of
// chains one transaction names (it keeps them in a sorted list), so a first sync of 10,000
// services (~110,000 chains) in one transaction never finishes. Past a budget of chains the plan
// is cut into several transactions, at unit boundaries inside a stage and always between stages,
// so every cut leaves a valid ruleset and each service port still changes atomically. They are
// fed to one iptables-restore run, one COMMIT each (IptablesRunner.restoreEach).

import type { FullPlan, TableSet, Unit } from './full.js';
import { renderPayload, TablePayload } from './table-payload.js';

export interface PackedRestore {
  readonly payload: string;
  readonly written: { readonly nat: number; readonly filter: number };
}

/**
 * Chains per iptables-nft transaction, given how many rules the kernel already holds.
 *
 * Measured on iptables-nft 1.8.9 / kernel 6.18 (2 CPUs), a transaction naming B chains costs
 * about 0.07 ms·B + 1.2e-5 ms·B² (the sorted list), plus a fixed cost from the kernel validating
 * every rule reachable from the built-in chains on each commit: about 0.8 µs per rule already
 * there (0.35 s at 10,000 services × 10 endpoints). Minimising the total over N chains gives
 * B = sqrt(fixed / 1.2e-5 ms): small batches on an empty node, ~5,000 chains on a full one.
 */
export function nftChainBudget(kernelRules: number): number {
  const fixedMs = kernelRules * 0.0008;
  return Math.round(Math.min(8000, Math.max(500, Math.sqrt(fixedMs / 1.2e-5))));
}

/**
 * The transactions for `plan`, each built only when asked for: the next one is built while
 * iptables-restore works on the previous one, so our CPU work overlaps the kernel's.
 */
export function packPlan(plan: FullPlan, budget: number): Array<() => PackedRestore> {
  const units = plan.stages.flat();
  if (units.reduce((a, u) => a + u.weight, 0) <= budget) return [() => emit(units)];
  return plan.stages.flatMap((stage) => chunkByWeight(stage, (u) => u.weight, budget).map((batch) => () => emit(batch)));
}

/**
 * Consecutive groups of `items` whose weights add up to at most `budget` (a single heavier item
 * gets a group of its own). Used for full-sync stages and for partial-sync deltas alike.
 */
export function chunkByWeight<T>(items: readonly T[], weight: (item: T) => number, budget: number): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let sum = 0;
  for (const item of items) {
    const w = weight(item);
    if (group.length > 0 && sum + w > budget) {
      groups.push(group);
      group = [];
      sum = 0;
    }
    group.push(item);
    sum += w;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

function emit(units: readonly Unit[]): PackedRestore {
  const t: TableSet = { filter: new TablePayload('filter'), nat: new TablePayload('nat'), mangle: new TablePayload('mangle') };
  for (const u of units) u.write(t);
  return { payload: renderPayload([t.filter, t.nat, t.mangle]), written: { nat: t.nat.rulesWritten, filter: t.filter.rulesWritten } };
}
