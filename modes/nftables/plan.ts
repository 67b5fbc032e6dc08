// The pure planner: from what the table holds (the record of what we programmed, or a dump) and
// the rendered units, the operations that make the table match, grouped per unit so that a batch
// boundary never falls inside a service port's changes. Within a group: sets and their elements
// first, then chains, then rules (which reference both), then the shared-map elements that point
// at the chains; removals come last, after nothing references them any more.

import { elementKey, elementValue, toElement } from './elements.js';
import { TABLE } from './names.js';
import type { NftChain, NftElement, NftFamily, NftOp, NftRule, NftSet } from './netlink/types.js';
import type { ChainSpec, RuleSpec, SetSpec, Unit } from './ruleset.js';
import type { SharedIndex } from './shared-index.js';
import { sameRule, sameSetDef, type TableView } from './view.js';

export interface OpGroup {
  readonly owner: string;
  readonly ops: NftOp[];
}

const chainRef = (family: NftFamily, name: string): NftChain => ({ family, table: TABLE, name });

/** The ops that bring one unit's own chains and sets from `prev` to `u` (shared elements aside). */
export function planUnit(family: NftFamily, prev: TableView, u: Unit): NftOp[] {
  const ops: NftOp[] = [];
  const recreate = u.sets.filter((s) => {
    const p = prev.sets.get(s.set.name);
    return p !== undefined && !sameSetDef(p.set, s.set);
  });
  // A set can only be re-created once no rule references it: start this unit's chains afresh.
  const fresh = recreate.length > 0;
  if (fresh) for (const c of u.chains) if (prev.chains.has(c.name) && !c.classes) ops.push({ op: 'flush-chain', chain: chainRef(family, c.name) });
  for (const s of u.sets) ops.push(...planSet(prev, s, recreate.includes(s)));
  for (const c of u.chains) {
    if (!prev.chains.has(c.name)) ops.push({ op: 'add-chain', chain: { ...chainRef(family, c.name), ...(c.base ? { base: c.base } : {}) } });
  }
  // Count-class chains' rules follow the classes in use (plan-classes.ts).
  for (const c of u.chains) if (!c.classes) ops.push(...planRules(family, fresh ? undefined : prev.chains.get(c.name)?.rules, c));
  return ops;
}

function planSet(prev: TableView, s: SetSpec, recreate: boolean): NftOp[] {
  const p = prev.sets.get(s.set.name);
  if (!p || recreate) {
    const ops: NftOp[] = recreate ? [{ op: 'delete-set', set: s.set }] : [];
    ops.push({ op: 'add-set', set: s.set });
    if (s.elements.size) ops.push({ op: 'add-elements', set: s.set, elements: [...s.elements.values()], keys: [...s.elements.keys()] });
    return ops;
  }
  // Elements the packet path adds (affinity) are not ours to compare; shared maps' elements are
  // planned per contributing service port (planShared).
  if (s.set.dynamic || s.shared) return [];
  const del: NftElement[] = [];
  const delKeys: string[] = [];
  const add: NftElement[] = [];
  const addKeys: string[] = [];
  const addValues: string[] = [];
  for (const [k, v] of p.elements) {
    const want = s.elements.get(k);
    if (!want || elementValue(want) !== v) del.push(toElement(k, v)), delKeys.push(k);
  }
  for (const [k, e] of s.elements) {
    const value = elementValue(e);
    if (p.elements.get(k) !== value) add.push(e), addKeys.push(k), addValues.push(value);
  }
  const ops: NftOp[] = [];
  // Deletions first: re-adding a key whose value changed would otherwise fail with EEXIST.
  if (del.length) ops.push({ op: 'delete-elements', set: s.set, elements: del, keys: delKeys });
  if (add.length) ops.push({ op: 'add-elements', set: s.set, elements: add, keys: addKeys, values: addValues });
  return ops;
}

function planRules(family: NftFamily, have: readonly NftRule[] | undefined, c: ChainSpec): NftOp[] {
  const rule = (r: RuleSpec): NftRule => ({ family, table: TABLE, chain: c.name, exprs: r.exprs, ...(r.comment !== undefined ? { comment: r.comment } : {}) });
  const want = c.rules;
  // A new (or emptied) chain: nothing to compare.
  if (!have || have.length === 0) return want.map((r) => ({ op: 'add-rule', rule: rule(r) }));
  if (have.length === want.length) {
    const differ: number[] = [];
    for (let i = 0; i < want.length; i++) if (!sameRule(have[i]!, want[i]!)) differ.push(i);
    if (differ.length === 0) return [];
    // Same number of rules, all with known handles: replace in place (one rule for a numgen change).
    if (have.every((r) => r.handle !== undefined)) return differ.map((i) => ({ op: 'replace-rule', rule: { ...rule(want[i]!), handle: have[i]!.handle! } }));
  }
  const ops: NftOp[] = [{ op: 'flush-chain', chain: chainRef(family, c.name) }];
  for (const r of want) ops.push({ op: 'add-rule', rule: rule(r) });
  return ops;
}

/**
 * Shared-map elements to add or delete, as the record keeps them (keys and values, plus the
 * comments of additions): their bytes are made only for the batch that carries them (toNftOp, at
 * commit), so a full sync never holds every element's bytes at once. At 10,000 services made up
 * front they were ~60 MiB of live heap during the first sync, which the daemon's RSS kept.
 */
export interface PendingElements {
  readonly op: 'add-elements' | 'delete-elements';
  readonly set: NftSet;
  readonly keys: readonly string[];
  readonly values: readonly string[];
  readonly comments: readonly (string | undefined)[];
}

/** What the planner hands the commit: ops, and shared-map elements still to be made. */
export type PlannedOp = NftOp | PendingElements;

/** The op to send for a planned one (its elements made now). */
export function toNftOp(p: PlannedOp): NftOp {
  if (!isPending(p)) return p;
  const elements = p.keys.map((k, i) => toElement(k, p.values[i]!, p.comments[i]));
  return p.op === 'add-elements' ? { op: p.op, set: p.set, elements, keys: p.keys, values: p.values } : { op: p.op, set: p.set, elements, keys: p.keys };
}

function isPending(p: PlannedOp): p is PendingElements {
  return !('elements' in p) && (p.op === 'add-elements' || p.op === 'delete-elements');
}

/**
 * Shared-map ops for the given keys: deletions of elements nobody (or somebody else) wants, then
 * additions, each attributed to the owner whose group must carry it (removals to '' = the end).
 */
export function planShared(
  prev: TableView,
  sets: { get(name: string): NftSet | undefined },
  idx: SharedIndex,
  touched: ReadonlyMap<string, Iterable<string>>,
): { byOwner: Map<string, PlannedOp[]>; orphanDeletes: PlannedOp[] } {
  const byOwner = new Map<string, PlannedOp[]>();
  type Els = { keys: string[]; values: string[]; comments: (string | undefined)[] };
  const del = new Map<string, Map<string, Els>>();
  const add = new Map<string, Map<string, Els>>();
  const orphans = new Map<string, Els>();
  const into = (m: Map<string, Els>, set: string, k: string, value: string, comment?: string): void => {
    let l = m.get(set);
    if (!l) m.set(set, (l = { keys: [], values: [], comments: [] }));
    l.keys.push(k);
    l.values.push(value);
    l.comments.push(comment);
  };
  const push = (m: Map<string, Map<string, Els>>, owner: string, set: string, k: string, value: string, comment?: string): void => {
    let o = m.get(owner);
    if (!o) m.set(owner, (o = new Map()));
    into(o, set, k, value, comment);
  };
  // forEach over the touched map: its for-of made an entry pair and iterator results per set.
  touched.forEach((keys, set) => {
    const have = prev.sets.get(set)?.elements;
    for (const k of keys) {
      const h = have?.get(k);
      const w = idx.winner(set, k);
      if (w && h !== undefined && w.element.value === h) continue;
      if (h !== undefined) {
        if (w) push(del, w.owner, set, k, h);
        else into(orphans, set, k, h);
      }
      if (w) push(add, w.owner, set, k, w.element.value, w.element.comment);
    }
  });
  const emit = (owner: string): PlannedOp[] => {
    let ops = byOwner.get(owner);
    if (!ops) byOwner.set(owner, (ops = []));
    return ops;
  };
  // Exact-size copies: the arrays grown by push keep room for 16 more entries each, and a full
  // sync holds one set of them per owner and set until its batch is committed.
  const pending = (op: PendingElements['op'], set: string, l: Els): PendingElements => ({ op, set: sets.get(set)!, keys: l.keys.slice(), values: l.values.slice(), comments: l.comments.slice() });
  for (const [owner, m] of del) for (const [set, l] of m) emit(owner).push(pending('delete-elements', set, l));
  for (const [owner, m] of add) for (const [set, l] of m) emit(owner).push(pending('add-elements', set, l));
  const orphanDeletes: PlannedOp[] = [...orphans].map(([set, l]) => pending('delete-elements', set, l));
  return { byOwner, orphanDeletes };
}

/** Delete chains and sets: flush every chain first, since they may reference each other. */
export function planRemovals(family: NftFamily, prev: TableView, chains: readonly string[], sets: readonly string[]): NftOp[] {
  const ops: NftOp[] = [];
  const present = chains.filter((c) => prev.chains.has(c));
  for (const c of present) if (prev.chains.get(c)!.rules.length) ops.push({ op: 'flush-chain', chain: chainRef(family, c) });
  for (const c of present) ops.push({ op: 'delete-chain', chain: chainRef(family, c) });
  for (const s of sets) {
    const p = prev.sets.get(s);
    if (p) ops.push({ op: 'delete-set', set: p.set });
  }
  return ops;
}

/** Cut groups into batches of at most `budget` ops (a group is never split; removals last). */
export function packGroups<T>(groups: readonly T[][], budget: number): T[][] {
  const batches: T[][] = [];
  let cur: T[] = [];
  for (const g of groups) {
    if (g.length === 0) continue;
    if (cur.length > 0 && cur.length + g.length > budget) {
      batches.push(cur);
      cur = [];
    }
    cur.push(...g);
  }
  if (cur.length) batches.push(cur);
  return batches;
}

export { elementKey };
