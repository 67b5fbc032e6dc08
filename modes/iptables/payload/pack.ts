// Turning a staged plan into iptables-restore payloads.
//
// One restore is what upstream does and what we prefer: linear for the legacy backend, and
// each table block is one transaction (iptables-restore commits at every COMMIT, so no restore
// is atomic across tables; full.ts orders the stages so every state between commits is
// consistent). But iptables-nft-restore --noflush (1.8.9) spends time quadratic in the number of
// chains one transaction names (it keeps them in a sorted list), so a first sync of 10,000
// services (~110,000 chains) in one transaction never finishes. Past a budget of chains the plan
// is cut into several transactions, at unit boundaries, in plan order, so every cut is one of
// those consistent states and each service port's nat rules still change atomically. They are
// fed to one iptables-restore run, one COMMIT each (IptablesRunner.restoreEach).

import type { FullPlan, Stage, Unit } from './full.js';
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
 * The restores for `plan`, each built only when asked for: the next one is built while
 * iptables-restore works on the previous one, so our CPU work overlaps the kernel's. Consecutive
 * stages of one table form a run; within the budget the whole plan is one restore with a block
 * per run (iptables-restore still commits each block on its own, in plan order), past it each
 * run is cut at unit boundaries into restores of one block each. Merging stages of a run in one
 * transaction never reorders them: each block's sections (declare, -D, -A, -I, -X) keep a
 * later stage's flushes and deletions after an earlier stage's rule changes.
 */
export function packPlan(plan: FullPlan, budget: number): Array<() => PackedRestore> {
  const runs = tableRuns(plan.stages);
  const total = plan.stages.reduce((a, s) => a + s.units.reduce((b, u) => b + u.weight, 0), 0);
  if (total <= budget) return [() => emit(runs)];
  return runs.flatMap((run) => chunkByWeight(run.units, (u) => u.weight, budget).map((batch) => () => emit([{ table: run.table, units: batch }])));
}

function tableRuns(stages: readonly Stage[]): Stage[] {
  const runs: { table: Stage['table']; units: Unit[] }[] = [];
  for (const s of stages) {
    const last = runs.at(-1);
    if (last?.table === s.table) last.units.push(...s.units);
    else runs.push({ table: s.table, units: [...s.units] });
  }
  return runs;
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

function emit(runs: readonly Stage[]): PackedRestore {
  const written = { nat: 0, filter: 0 };
  const blocks = runs.map((run) => {
    const t = new TablePayload(run.table);
    for (const u of run.units) u.write(t);
    if (run.table !== 'mangle') written[run.table] += t.rulesWritten;
    return t;
  });
  return { payload: renderPayload(blocks), written };
}
