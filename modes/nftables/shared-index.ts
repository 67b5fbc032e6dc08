// Who contributes which element to the shared maps. Two service ports can ask for the same key
// (two services sharing an endpoint add the same hairpin element; a misconfigured pair of services
// may claim one external IP:port): the element stays while anyone wants it, and when contributors
// disagree the lexically smallest service port key wins, so the choice never depends on order.
//
// Nearly every key has exactly one contributor, so a key maps straight to its contributor and
// element; only a key claimed twice gets a Map of contributors. (A Map per key was ~1.5 KB per
// service port of retained heap at 10,000 services, for a choice that almost never exists.)

import type { KeptElement } from './elements.js';
import type { Unit } from './ruleset.js';

/**
 * The only contributor of a key. Its element is swapped in place when the owner re-renders: an
 * endpoint change re-puts every key of the service port, and a new entry per key was most of the
 * index's garbage in a sync of 100 changes (issue #13).
 */
interface Sole {
  readonly owner: string;
  element: KeptElement;
}

/**
 * Two or more contributors, as one array of owner, element pairs, made at its exact size (a grown
 * array keeps room for 16 more): a key claimed twice is common (every pod IP that backs two
 * services has a hairpin key of both), and a Map per such key was 330 bytes of heap, 14.6 MiB at
 * 10,000 services x 10 endpoints (issue #18).
 */
class Many {
  constructor(readonly kv: readonly (string | KeptElement)[]) {}
  owner(i: number): string {
    return this.kv[2 * i] as string;
  }
  element(i: number): KeptElement {
    return this.kv[2 * i + 1] as KeptElement;
  }
  get count(): number {
    return this.kv.length >> 1;
  }
  indexOf(owner: string): number {
    for (let i = 0; i < this.count; i++) if (this.owner(i) === owner) return i;
    return -1;
  }
}

type Entry = Sole | Many;

export class SharedIndex {
  /** set → key → its contributor (or contributors: owner → element) */
  private readonly owners = new Map<string, Map<string, Entry>>();

  static of(units: Iterable<Unit>): SharedIndex {
    const idx = new SharedIndex();
    for (const u of units) idx.add(u);
    return idx;
  }

  add(u: Unit): void {
    for (const [set, els] of u.shared) for (const [k, e] of els) this.put(set, k, u.owner, e);
  }

  remove(u: Unit): void {
    for (const [set, els] of u.shared) for (const k of els.keys()) this.drop(set, k, u.owner);
  }

  /**
   * Replace one owner's contributions (`prev` → `next`, either absent when the service port comes
   * or goes), calling `touched` for each key whose contribution changed. A key both contribute
   * with the same element is not touched: an endpoint change leaves the service's cluster IP,
   * its dispatch elements and the other endpoints' hairpin elements alone, so the planner
   * compares only the one or two keys that moved.
   */
  update(prev: Unit | undefined, next: Unit | undefined, touched: (set: string, key: string) => void): void {
    const owner = (next ?? prev)?.owner;
    if (owner === undefined) return;
    const after = next?.shared;
    if (prev) {
      for (const [set, els] of prev.shared) {
        const now = after?.get(set);
        for (const [k, e] of els) {
          const n = now?.get(k);
          if (n === undefined) {
            this.drop(set, k, owner);
            touched(set, k);
          } else if (n !== e) {
            // Same content: only the index's element object is swapped (the old unit goes away).
            // The same object (a re-render keeps identical elements) needs nothing.
            this.put(set, k, owner, n);
            if (n.value !== e.value) touched(set, k);
          }
        }
      }
    }
    if (after) {
      for (const [set, els] of after) {
        const before = prev?.shared.get(set);
        for (const [k, e] of els) {
          if (before?.has(k)) continue;
          this.put(set, k, owner, e);
          touched(set, k);
        }
      }
    }
  }

  /** `owner` contributes `element` for `key` (replacing what it contributed before). */
  put(set: string, key: string, owner: string, element: KeptElement): void {
    let bySet = this.owners.get(set);
    if (!bySet) this.owners.set(set, (bySet = new Map()));
    const cur = bySet.get(key);
    if (cur === undefined) bySet.set(key, { owner, element });
    else if (!(cur instanceof Many)) {
      if (cur.owner === owner) cur.element = element;
      else bySet.set(key, new Many([cur.owner, cur.element, owner, element]));
    } else {
      const i = cur.indexOf(owner);
      const kv = [...cur.kv];
      if (i >= 0) kv[2 * i + 1] = element;
      else kv.push(owner, element);
      bySet.set(key, new Many(kv.slice()));
    }
  }

  /** `owner` no longer contributes to `key`. */
  drop(set: string, key: string, owner: string): void {
    const bySet = this.owners.get(set);
    const cur = bySet?.get(key);
    if (!bySet || cur === undefined) return;
    if (!(cur instanceof Many)) {
      if (cur.owner === owner) bySet.delete(key);
      return;
    }
    const i = cur.indexOf(owner);
    if (i < 0) return;
    if (cur.count === 2) {
      const other = 1 - i;
      bySet.set(key, { owner: cur.owner(other), element: cur.element(other) });
      return;
    }
    bySet.set(key, new Many(cur.kv.filter((_, j) => j >> 1 !== i)));
  }

  /** The owner whose element is programmed for `key`, and the element. */
  winner(set: string, key: string): { readonly owner: string; readonly element: KeptElement } | undefined {
    const cur = this.owners.get(set)?.get(key);
    if (cur === undefined) return undefined;
    if (!(cur instanceof Many)) return cur;
    let best = 0;
    for (let i = 1; i < cur.count; i++) if (cur.owner(i) < cur.owner(best)) best = i;
    return { owner: cur.owner(best), element: cur.element(best) };
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
