// A full sync, planned against what iptables-save says the kernel holds: every owned chain is
// verified (service chains by digest, others rule by rule) and only chains that differ (or are
// missing) are rewritten, rendering a service port's rules only then; dispatch
// chains get -D/-I for the rules that differ; service chains found in the kernel but no longer
// wanted are deleted. Only chains and rules we own are ever named.
//
// The plan is a list of stages whose order keeps every intermediate state valid (a chain exists
// before anything jumps to it, nothing jumps to a chain when it is deleted), so pack.ts can apply
// it as one transaction or, where one huge transaction is too slow, as several.

import type { RenderOptions } from '../options.js';
import type { KernelView } from '../kernel-view.js';
import type { ServiceSummary } from '../record.js';
import type { SavedTables } from '../save-parse.js';
import { ruleTarget } from '../save-parse.js';
import { fixedChains, jumpRules, nodePortsJumpRules, staticRules, type OwnedTable } from '../render/skeleton.js';
import { dispatchChainName, dispatchTable, DISPATCH_CHAINS, type DispatchChain, type Rule, type ServiceRules } from '../render/types.js';
import { diffRuleSets, ruleSignature, sameOrderedRules } from './signature.js';
import type { TablePayload } from './table-payload.js';

export type TableSet = Readonly<Record<OwnedTable, TablePayload>>;

/** Lines for one restore; `weight` counts the chains it names (what iptables-nft's cost grows with). */
export interface Unit {
  readonly weight: number;
  write(t: TableSet): void;
}

export interface FullPlan {
  /** In order; units of one stage may share a transaction, units of different stages may not. */
  readonly stages: readonly (readonly Unit[])[];
  readonly staleChains: readonly string[];
  /** Service ports with at least one chain rewritten. */
  readonly servicesRewritten: number;
}

/** A service port as planning sees it: digests and dispatch rules, full rules on demand. */
export interface PlannedService extends ServiceSummary {
  /** Its rendered rules; called only for a service port with a chain to rewrite, while writing. */
  rules(): ServiceRules;
}

export function planFullSync(o: RenderOptions, services: readonly PlannedService[], kernel: KernelView): FullPlan {
  const existing = kernel.tables;
  const serviceUnits: Unit[] = [];
  for (const s of services) {
    const stale = [...s.chains].filter(([chain, digest]) => kernel.serviceChains.get(chain) !== digest).map(([chain]) => chain);
    if (stale.length === 0) continue;
    serviceUnits.push({
      // Its own chains, which its rules jump between.
      weight: s.chains.size,
      write: (t) => {
        const rules = s.rules();
        for (const chain of stale) {
          t.nat.declare(chain);
          t.nat.appendAll(chain, rules.chains.get(chain) ?? []);
        }
      },
    });
  }

  const wanted = new Set(services.flatMap((s) => [...s.chains.keys()]));
  const staleChains = [...kernel.serviceChains.keys()].filter((c) => !wanted.has(c));

  return {
    stages: [
      [skeletonUnit(o, existing)],
      serviceUnits,
      DISPATCH_CHAINS.map((d) => dispatchUnit(o, d, services, existing)).filter((u): u is Unit => u !== undefined),
      // Flush first, delete after: stale chains may jump to each other.
      staleChains.map((c) => ({ weight: 1, write: (t: TableSet) => t.nat.declare(c) })),
      staleChains.map((c) => ({ weight: 1, write: (t: TableSet) => t.nat.removeFlushedChain(c) })),
    ].filter((stage) => stage.length > 0),
    staleChains,
    servicesRewritten: serviceUnits.length,
  };
}

/**
 * Fixed chains exist (created only when missing: declaring an existing dispatch chain would
 * flush it mid-sync), static chains hold their rules, built-in chains jump to ours.
 */
function skeletonUnit(o: RenderOptions, existing: SavedTables): Unit {
  const statics = staticRules(o);
  return {
    weight: 0,
    write: (t) => {
      for (const table of ['filter', 'nat', 'mangle'] as const) {
        const have = existing.get(table);
        for (const chain of fixedChains(o, table)) {
          const rules = statics.get(`${table}/${chain}`);
          if (rules && !sameOrderedRules(have?.get(chain)?.rules, rules)) {
            t[table].declare(chain);
            t[table].appendAll(chain, rules);
          } else if (!have?.has(chain)) {
            t[table].declare(chain);
          }
        }
      }
      addMissingJumps(o, existing, t);
    },
  };
}

/**
 * Jumps are matched by (built-in chain, target) only, so a rule another version wrote with
 * different match order or quoting still counts and is never duplicated.
 */
function addMissingJumps(o: RenderOptions, existing: SavedTables, t: TableSet): void {
  // Insert in reverse so the jumps end up at the top in table order.
  for (const j of [...jumpRules(o)].reverse()) {
    const chain = existing.get(j.table)?.get(j.from);
    const present = chain?.rules.some((r) => ruleTarget(r) === j.to) ?? false;
    if (!present) t[j.table].insertFirst(j.from, j.rule);
  }
}

/**
 * One dispatch chain: rewritten whole when missing or when its tail rule is wrong (the tail must
 * stay last), otherwise only the rules that differ are deleted (by their saved text) or inserted
 * at the top, so a verified chain costs nothing and one wrong rule costs one line.
 */
function dispatchUnit(o: RenderOptions, d: DispatchChain, services: readonly ServiceSummary[], existing: SavedTables): Unit | undefined {
  const table = dispatchTable(d);
  const chain = dispatchChainName(d);
  const desired: Rule[] = [];
  for (const s of services) for (const r of s.dispatch.get(d) ?? []) desired.push(r);
  const tail = d === 'nat/KUBE-SERVICES' ? nodePortsJumpRules(o) : [];
  const kernel = existing.get(table)?.get(chain)?.rules;
  if (kernel === undefined || !tailMatches(kernel, tail)) {
    return { weight: desired.length + tail.length, write: (t) => (t[table].declare(chain), t[table].appendAll(chain, [...desired, ...tail])) };
  }
  const { extra, missing } = diffRuleSets(kernel.slice(0, kernel.length - tail.length), desired);
  if (extra.length + missing.length === 0) return undefined;
  return {
    weight: extra.length + missing.length,
    write: (t) => {
      for (const r of extra) t[table].deleteRule(chain, r);
      for (const r of missing) t[table].insertFirst(chain, r);
    },
  };
}

function tailMatches(kernel: readonly string[], tail: readonly Rule[]): boolean {
  if (kernel.length < tail.length) return false;
  const end = kernel.slice(kernel.length - tail.length);
  return tail.every((r, i) => ruleSignature(r) === ruleSignature(end[i] as string));
}
