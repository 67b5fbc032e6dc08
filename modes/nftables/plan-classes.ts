// The count classes' own objects (render/classes.ts): a membership set and one rule per class in
// use. A class that gains its first member is added before any member is (in the first group of
// a sync); one that lost its last member is deleted after every member moved out (in the last
// group), so across the transactions of a large sync no destination sits in a set without rule.

import type { IPFamily } from '../../proxy/model/types.js';
import { CLASS_KINDS, classChain, classRule, classSet, parseClassSet } from './render/classes.js';
import type { NftFamily, NftOp, NftRule } from './netlink/types.js';
import { TABLE } from './names.js';
import { sameRule, type TableView } from './view.js';

export interface ClassOps {
  /** Sets and rules of classes that appear (before the members are added). */
  readonly adds: NftOp[];
  /** Rules and sets of classes that went (after the members left), and stray class rules. */
  readonly removes: NftOp[];
}

/** The class set a class chain's rule looks its destination up in. */
function classOfRule(r: NftRule): string | undefined {
  for (const e of r.exprs) if (e.type === 'lookup' && e.dreg === undefined && parseClassSet(e.set)) return e.set;
  return undefined;
}

/**
 * Ops for the class sets named in `candidates` (each in use or not, as `inUse` says); `full`
 * also deletes class chain rules that belong to no wanted class (a repair after a dump).
 */
export function planClasses(
  f: IPFamily,
  family: NftFamily,
  prev: TableView,
  candidates: Iterable<string>,
  inUse: (set: string) => boolean,
  full: boolean,
): ClassOps {
  const adds: NftOp[] = [];
  const removes: NftOp[] = [];
  const seen = new Set<string>();
  const rulesOf = new Map<string, NftRule[]>();
  const byClass = (chain: string): NftRule[] => {
    let l = rulesOf.get(chain);
    if (!l) rulesOf.set(chain, (l = prev.chains.get(chain)?.rules ?? []));
    return l;
  };
  const deleteRule = (r: NftRule): void => {
    if (r.handle !== undefined) removes.push({ op: 'delete-rule', rule: r });
  };
  for (const name of new Set(candidates)) {
    const c = parseClassSet(name);
    if (!c) continue;
    seen.add(name);
    const chain = classChain(c.kind);
    const mine = byClass(chain).filter((r) => classOfRule(r) === name);
    if (inUse(name)) {
      const want = classRule(f, c.kind, c.count);
      if (!prev.sets.has(name)) adds.push({ op: 'add-set', set: classSet(f, c.kind, c.count) });
      const good = mine.find((r) => sameRule(r, want));
      if (!good) adds.push({ op: 'add-rule', rule: { family, table: TABLE, chain, exprs: want.exprs } });
      for (const r of mine) if (r !== good) deleteRule(r);
    } else {
      for (const r of mine) deleteRule(r);
      const s = prev.sets.get(name);
      if (s) removes.push({ op: 'delete-set', set: s.set });
    }
  }
  if (full) {
    for (const k of CLASS_KINDS) {
      for (const r of byClass(classChain(k))) {
        // Every class set the table holds is a candidate of a full sync: what is left belongs to none.
        const owner = classOfRule(r);
        if (owner === undefined || !seen.has(owner)) deleteRule(r);
      }
    }
  }
  // Rules before sets: a set cannot go while a rule looks it up.
  removes.sort((a, b) => Number(a.op === 'delete-set') - Number(b.op === 'delete-set'));
  return { adds, removes };
}
