// Who contributes which element to the shared maps. Two service ports can ask for the same key
// (two services sharing an endpoint add the same hairpin element; a misconfigured pair of services
// may claim one external IP:port): the element stays while anyone wants it, and when contributors
// disagree the lexically smallest service port key wins, so the choice never depends on order.
//
// A key maps to its contributor's owner key (the string the unit already holds), or to the owners
// when several claim it; the element itself is read from the owner's current unit, which the index
// keeps once per owner. (An entry object per key holding owner and element was 6.5 MiB, and a Map
// per multi-owned key 14.6 MiB, of retained heap at 10,000 services x 10 endpoints: issue #18.)

import type { KeptElement } from './elements.js';
import type { Unit } from './ruleset.js';

/**
 * One owner, or two or more as an array made at its exact size (a grown array keeps room for 16
 * more): a key claimed twice is common (every pod IP that backs two services has a hairpin key of
 * both).
 */
type Entry = string | readonly string[];

export class SharedIndex {
  /** set → key → its contributor(s) */
  private readonly owners = new Map<string, Map<string, Entry>>();
  /** Each contributing owner's current unit: where its elements are read. */
  private readonly units = new Map<string, Unit>();

  static of(units: Iterable<Unit>): SharedIndex {
    const idx = new SharedIndex();
    for (const u of units) idx.add(u);
    return idx;
  }

  add(u: Unit): void {
    if (u.shared.size === 0) return;
    this.units.set(u.owner, u);
    for (const [set, els] of u.shared) for (const k of els.keys()) this.put(set, k, u.owner);
  }

  remove(u: Unit): void {
    for (const [set, els] of u.shared) for (const k of els.keys()) this.drop(set, k, u.owner);
    this.units.delete(u.owner);
  }

  /**
   * Replace one owner's contributions (`prev` → `next`, either absent when the service port comes
   * or goes), calling `touched` for each key whose contribution changed. A key both contribute
   * with the same value is not touched: an endpoint change leaves the service's cluster IP, its
   * dispatch elements and the other endpoints' hairpin elements alone, so the planner compares
   * only the one or two keys that moved. Only keys that come or go change the index's maps.
   */
  update(prev: Unit | undefined, next: Unit | undefined, touched: (set: string, key: string) => void): void {
    const owner = (next ?? prev)?.owner;
    if (owner === undefined) return;
    const after = next?.shared;
    // forEach, not for-of: the small maps' entry generators made an iterator, a result and a
    // tuple per element, twice per changed service port (issue #13).
    if (prev) {
      prev.shared.forEach((els, set) => {
        const now = after?.get(set);
        els.forEach((e, k) => {
          const n = now?.get(k);
          if (n === undefined) {
            this.drop(set, k, owner);
            touched(set, k);
          } else if (n !== e && n.value !== e.value) touched(set, k);
        });
      });
    }
    if (after && after.size > 0) this.units.set(owner, next);
    else this.units.delete(owner);
    after?.forEach((els, set) => {
      const before = prev?.shared.get(set);
      els.forEach((_e, k) => {
        if (before?.has(k)) return;
        this.put(set, k, owner);
        touched(set, k);
      });
    });
  }

  /** `owner` contributes to `key` (its element is in its unit, see update/add). */
  put(set: string, key: string, owner: string): void {
    let bySet = this.owners.get(set);
    if (!bySet) this.owners.set(set, (bySet = new Map()));
    const cur = bySet.get(key);
    if (cur === undefined) bySet.set(key, owner);
    else if (typeof cur === 'string') {
      if (cur !== owner) bySet.set(key, [cur, owner]);
    } else if (!cur.includes(owner)) bySet.set(key, [...cur, owner]);
  }

  /** `owner` no longer contributes to `key`. */
  drop(set: string, key: string, owner: string): void {
    const bySet = this.owners.get(set);
    const cur = bySet?.get(key);
    if (!bySet || cur === undefined) return;
    if (typeof cur === 'string') {
      if (cur === owner) bySet.delete(key);
      return;
    }
    if (!cur.includes(owner)) return;
    const rest = cur.filter((o) => o !== owner);
    bySet.set(key, rest.length === 1 ? rest[0]! : rest.slice());
  }

  /** The owner whose element is programmed for `key`, and the element. */
  winner(set: string, key: string): { readonly owner: string; readonly element: KeptElement } | undefined {
    const cur = this.owners.get(set)?.get(key);
    if (cur === undefined) return undefined;
    let owner: string;
    if (typeof cur === 'string') owner = cur;
    else {
      owner = cur[0]!;
      for (const o of cur) if (o < owner) owner = o;
    }
    const element = this.units.get(owner)?.shared.get(set)?.get(key);
    if (element === undefined) throw new Error(`shared index: ${owner} has no element ${key} in ${set}`);
    return { owner, element };
  }

  /** How many keys `set` has (a count class is in use while it has any). */
  size(set: string): number {
    return this.owners.get(set)?.size ?? 0;
  }

  /** Every set some key was ever put in (a set emptied since may be listed, with size 0). */
  setNames(): Iterable<string> {
    return this.owners.keys();
  }

  keys(set: string): Iterable<string> {
    return this.owners.get(set)?.keys() ?? [];
  }
}
