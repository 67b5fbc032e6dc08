// A full sync, planned against what iptables-save says the kernel holds: every owned chain is
// verified (service chains by digest, others rule by rule) and only chains that differ (or are
// missing) are rewritten, rendering a service port's rules only then; dispatch
// chains get -D/-I for the rules that differ; service chains found in the kernel but no longer
// wanted are deleted. Only chains and rules we own are ever named.
//
// The plan is a list of stages, each writing one table, in an order that keeps every state
// between two commits consistent, so pack.ts can apply it as one restore or as several (and
// iptables-restore commits each `*table` block on its own anyway, so even one restore passes
// through these states when a later block fails):
//   1. skeleton (mangle, filter): fixed chains exist, static rules, jumps from built-in chains;
//   2. filter dispatch additions (no-endpoint REJECT/DROP, firewall DROP, health-check ACCEPT);
//   3. nat skeleton;
//   4. nat: chains of service ports the kernel has nothing of yet (unreachable until step 4c);
//      b. one unit per other changed service port: its rewritten chains with its own
//         KUBE-SERVICES / KUBE-NODEPORTS rule changes, so its nat rules change in one
//         transaction (new chains before the jumps to them, never a jump to a flushed chain);
//      c. the jumps to the service ports of 4a, each port's in one unit;
//   5. nat, dispatch rules of service ports that are gone, then the KUBE-NODEPORTS tail;
//   6. nat, stale chains flushed, then deleted (nothing jumps to them any more);
//   7. filter dispatch removals.
// Filter dispatch rules only act on traffic nat did not DNAT (they match the service's own
// addresses, which DNAT rewrites), so adding them while the old nat rules still DNAT, and
// removing them once the new nat rules do, gives every packet either the old or the new verdict.

import type { RenderOptions } from '../options.js';
import type { KernelView } from '../kernel-view.js';
import type { ServiceSummary } from '../record.js';
import type { SavedTables } from '../save-parse.js';
import { commentKey } from '../names.js';
import { ruleTarget } from '../save-parse.js';
import { fixedChains, jumpRules, nodePortsJumpRules, staticRules, type OwnedTable } from '../render/skeleton.js';
import { dispatchChainName, dispatchTable, DISPATCH_CHAINS, type DispatchChain, type Rule, type ServiceRules } from '../render/types.js';
import { diffRuleSets, ruleSignature, sameOrderedRules } from './signature.js';
import type { TablePayload } from './table-payload.js';

/** Lines for one table of one restore; `weight` counts the chains it names (what iptables-nft's cost grows with). */
export interface Unit {
  readonly weight: number;
  write(t: TablePayload): void;
}

/** Units writing one table; consecutive stages of the same table may share a transaction. */
export interface Stage {
  readonly table: OwnedTable;
  readonly units: readonly Unit[];
}

export interface FullPlan {
  /** In order; see the file comment for why this order. */
  readonly stages: readonly Stage[];
  readonly staleChains: readonly string[];
  /** Service ports with at least one chain rewritten. */
  readonly servicesRewritten: number;
}

/** A service port as planning sees it: digests and dispatch rules, full rules on demand. */
export interface PlannedService extends ServiceSummary {
  /** Its rendered rules; called only for a service port with a chain to rewrite, while writing. */
  rules(): ServiceRules;
}

const NODEPORTS_TAIL_TARGET = 'KUBE-NODEPORTS';
const NAT_DISPATCH = DISPATCH_CHAINS.filter((d) => dispatchTable(d) === 'nat');
const FILTER_DISPATCH = DISPATCH_CHAINS.filter((d) => dispatchTable(d) === 'filter');

export function planFullSync(o: RenderOptions, services: readonly PlannedService[], kernel: KernelView): FullPlan {
  const existing = kernel.tables;
  const nat = natDispatchChanges(o, services, existing);
  // A service port with nothing in the kernel yet gets its chains early (nothing reaches them)
  // and its jumps in one unit after every other service port's changes: the kernel validates
  // every rule reachable from the built-in chains on each commit, so chains made reachable one
  // transaction at a time would make a cold 10,000-service sync's many commits ever dearer.
  // Every other service port that changes does so in one unit: chains and jumps together.
  const newChains: Unit[] = [];
  const changed: Unit[] = [];
  const newJumps: Unit[] = [];
  let servicesRewritten = 0;
  services.forEach((s, i) => {
    const stale = [...s.chains].filter(([chain, digest]) => kernel.serviceChains.get(chain) !== digest).map(([chain]) => chain);
    const dispatch = nat.perService.get(i);
    if (stale.length === 0 && dispatch === undefined) return;
    if (stale.length > 0) servicesRewritten++;
    const chains: Unit = {
      // Its own chains, which its rules jump between. Its dispatch lines name only the dispatch
      // chains, which every transaction of the run names anyway: no weight of their own.
      weight: stale.length > 0 ? s.chains.size : 0,
      write: (t) => {
        if (stale.length === 0) return;
        const rules = s.rules();
        for (const chain of stale) {
          t.declare(chain);
          t.appendAll(chain, rules.chains.get(chain) ?? []);
        }
      },
    };
    const jumps: Unit = { weight: 0, write: (t) => dispatch?.forEach((l) => l(t)) };
    const fresh = stale.length > 0 && stale.every((c) => !kernel.serviceChains.has(c)) && !nat.deletesFor.has(i);
    if (fresh) {
      newChains.push(chains);
      if (dispatch !== undefined) newJumps.push(jumps);
    } else {
      changed.push({ weight: chains.weight, write: (t) => (chains.write(t), jumps.write(t)) });
    }
  });

  const wanted = new Set(services.flatMap((s) => [...s.chains.keys()]));
  const staleChains = [...kernel.serviceChains.keys()].filter((c) => !wanted.has(c));
  const filter = FILTER_DISPATCH.map((d) => filterDispatchDiff(d, services, existing));

  const stages: Stage[] = [
    { table: 'mangle', units: [skeletonUnit(o, existing, 'mangle')] },
    { table: 'filter', units: [skeletonUnit(o, existing, 'filter')] },
    { table: 'filter', units: filter.flatMap((f) => (f.missing.length ? [linesUnit(f.missing.map((r) => (t) => f.place(t, r)))] : [])) },
    { table: 'nat', units: [skeletonUnit(o, existing, 'nat')] },
    { table: 'nat', units: newChains },
    { table: 'nat', units: changed },
    { table: 'nat', units: newJumps },
    { table: 'nat', units: [...nat.orphans, ...(nat.tail ? [nat.tail] : [])] },
    // Flush first, delete after: stale chains may jump to each other.
    { table: 'nat', units: staleChains.map((c) => ({ weight: 1, write: (t: TablePayload) => t.declare(c) })) },
    { table: 'nat', units: staleChains.map((c) => ({ weight: 1, write: (t: TablePayload) => t.removeFlushedChain(c) })) },
    { table: 'filter', units: filter.flatMap((f) => (f.extra.length ? [linesUnit(f.extra.map((r) => (t) => t.deleteRule(f.chain, r)))] : [])) },
  ];
  return { stages: stages.filter((s) => s.units.length > 0), staleChains, servicesRewritten };
}

/** A unit of single dispatch lines, one weight each. */
function linesUnit(lines: readonly ((t: TablePayload) => void)[]): Unit {
  return { weight: lines.length, write: (t) => lines.forEach((l) => l(t)) };
}

/**
 * Fixed chains exist (created only when missing: declaring an existing dispatch chain would
 * flush it mid-sync), static chains hold their rules, built-in chains jump to ours.
 */
function skeletonUnit(o: RenderOptions, existing: SavedTables, table: OwnedTable): Unit {
  const statics = staticRules(o);
  return {
    weight: 0,
    write: (t) => {
      const have = existing.get(table);
      for (const chain of fixedChains(o, table)) {
        const rules = statics.get(`${table}/${chain}`);
        if (rules && !sameOrderedRules(have?.get(chain)?.rules, rules)) {
          t.declare(chain);
          t.appendAll(chain, rules);
        } else if (!have?.has(chain)) {
          t.declare(chain);
        }
      }
      addMissingJumps(o, existing, table, t);
    },
  };
}

/**
 * Jumps are matched by (built-in chain, target) only, so a rule another version wrote with
 * different match order or quoting still counts and is never duplicated.
 */
function addMissingJumps(o: RenderOptions, existing: SavedTables, table: OwnedTable, t: TablePayload): void {
  // Insert in reverse so the jumps end up at the top in table order.
  for (const j of [...jumpRules(o)].reverse()) {
    if (j.table !== table) continue;
    const chain = existing.get(j.table)?.get(j.from);
    const present = chain?.rules.some((r) => ruleTarget(r) === j.to) ?? false;
    if (!present) t.insertFirst(j.from, j.rule);
  }
}

/** Comment key → index of the service port whose dispatch rules carry it. */
function ownersByKey(services: readonly PlannedService[]): Map<string, number> {
  const owners = new Map<string, number>();
  services.forEach((s, i) => {
    for (const rules of s.dispatch.values()) {
      const key = rules[0] === undefined ? undefined : commentKey(rules[0]);
      if (key === undefined) continue;
      owners.set(key, i);
      return;
    }
  });
  return owners;
}

interface NatDispatchChanges {
  /** Service index → its KUBE-SERVICES / KUBE-NODEPORTS lines. */
  readonly perService: ReadonlyMap<number, readonly ((t: TablePayload) => void)[]>;
  /** Service indexes with kernel rules to delete. */
  readonly deletesFor: ReadonlySet<number>;
  /** Kernel rules of service ports that are gone (or that no service port claims), per key. */
  readonly orphans: readonly Unit[];
  /** Re-establishes the KUBE-NODEPORTS jump as the last rule of nat KUBE-SERVICES. */
  readonly tail: Unit | undefined;
}

/**
 * The nat dispatch chains compared rule by rule (their order carries no meaning apart from the
 * tail rule, which must stay last), and each difference assigned to the service port it belongs
 * to, so that service port's unit can change its chains and the jumps to them together.
 */
function natDispatchChanges(o: RenderOptions, services: readonly PlannedService[], existing: SavedTables): NatDispatchChanges {
  const owners = ownersByKey(services);
  const lines = new Map<number, ((t: TablePayload) => void)[]>();
  const deletesFor = new Set<number>();
  const orphanLines = new Map<string, ((t: TablePayload) => void)[]>();
  const add = <K>(m: Map<K, ((t: TablePayload) => void)[]>, k: K, l: (t: TablePayload) => void): void => {
    const list = m.get(k);
    if (list) list.push(l);
    else m.set(k, [l]);
  };
  let tail: Unit | undefined;
  for (const d of NAT_DISPATCH) {
    const chain = dispatchChainName(d);
    const kernel = existing.get('nat')?.get(chain)?.rules ?? [];
    const wantTail = d === 'nat/KUBE-SERVICES' ? nodePortsJumpRules(o) : [];
    let body = kernel;
    if (d === 'nat/KUBE-SERVICES') {
      if (tailMatches(kernel, wantTail)) {
        body = kernel.slice(0, kernel.length - wantTail.length);
      } else {
        // Every jump to KUBE-NODEPORTS goes and the right ones are appended: last again.
        body = kernel.filter((r) => ruleTarget(r) !== NODEPORTS_TAIL_TARGET);
        const old = kernel.filter((r) => ruleTarget(r) === NODEPORTS_TAIL_TARGET);
        tail = { weight: old.length + wantTail.length, write: (t) => (old.forEach((r) => t.deleteRule(chain, r)), t.appendAll(chain, wantTail)) };
      }
    }
    // An empty chain (first sync) is filled in service order with -A, which iptables-nft does
    // about twice as fast as -I; the tail, if any, is appended after every service port's rules.
    const place = placeRule(chain, kernel.length === 0);
    const desired: Rule[] = [];
    for (const s of services) for (const r of s.dispatch.get(d) ?? []) desired.push(r);
    const { extra, missing } = diffRuleSets(body, desired);
    for (const r of extra) {
      const key = commentKey(r) ?? '';
      const owner = owners.get(key);
      if (owner !== undefined) add(lines, owner, (t) => t.deleteRule(chain, r));
      if (owner !== undefined) deletesFor.add(owner);
      else add(orphanLines, key, (t) => t.deleteRule(chain, r));
    }
    if (missing.length > 0) {
      const absent = new Set(missing);
      services.forEach((s, i) => {
        for (const r of s.dispatch.get(d) ?? []) if (absent.has(r)) add(lines, i, (t) => place(t, r));
      });
    }
  }
  return {
    perService: lines,
    deletesFor,
    orphans: [...orphanLines.values()].map(linesUnit),
    tail,
  };
}

interface FilterDispatchDiff {
  readonly chain: string;
  readonly extra: readonly string[];
  readonly missing: readonly Rule[];
  /** How a missing rule is added: -A into an empty chain, else -I at the top. */
  place(t: TablePayload, r: Rule): void;
}

/** One filter dispatch chain's differences (filter chains have no tail rule). */
function filterDispatchDiff(d: DispatchChain, services: readonly ServiceSummary[], existing: SavedTables): FilterDispatchDiff {
  const chain = dispatchChainName(d);
  const desired: Rule[] = [];
  for (const s of services) for (const r of s.dispatch.get(d) ?? []) desired.push(r);
  const kernel = existing.get('filter')?.get(chain)?.rules ?? [];
  return { chain, ...diffRuleSets(kernel, desired), place: placeRule(chain, kernel.length === 0) };
}

function placeRule(chain: string, empty: boolean): (t: TablePayload, r: Rule) => void {
  return empty ? (t, r) => t.append(chain, r) : (t, r) => t.insertFirst(chain, r);
}

function tailMatches(kernel: readonly string[], tail: readonly Rule[]): boolean {
  if (kernel.length < tail.length) return false;
  const end = kernel.slice(kernel.length - tail.length);
  return tail.every((r, i) => ruleSignature(r) === ruleSignature(end[i] as string));
}
