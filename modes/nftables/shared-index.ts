// Who contributes which element to the shared maps. Two service ports can ask for the same key
// (two services sharing an endpoint add the same hairpin element; a misconfigured pair of services
// may claim one external IP:port): the element stays while anyone wants it, and when contributors
// disagree the lexically smallest service port key wins, so the choice never depends on order.

import type { NftElement } from './netlink/types.js';
import type { Unit } from './ruleset.js';

export class SharedIndex {
  /** set → key → owner → element */
  private readonly owners = new Map<string, Map<string, Map<string, NftElement>>>();

  static of(units: Iterable<Unit>): SharedIndex {
    const idx = new SharedIndex();
    for (const u of units) idx.add(u);
    return idx;
  }

  add(u: Unit): void {
    for (const [set, els] of u.shared) {
      let bySet = this.owners.get(set);
      if (!bySet) this.owners.set(set, (bySet = new Map()));
      for (const [k, e] of els) {
        let o = bySet.get(k);
        if (!o) bySet.set(k, (o = new Map()));
        o.set(u.owner, e);
      }
    }
  }

  remove(u: Unit): void {
    for (const [set, els] of u.shared) {
      const bySet = this.owners.get(set);
      if (!bySet) continue;
      for (const k of els.keys()) {
        const o = bySet.get(k);
        o?.delete(u.owner);
        if (o && o.size === 0) bySet.delete(k);
      }
    }
  }

  /** The owner whose element is programmed for `key`, and the element. */
  winner(set: string, key: string): { owner: string; element: NftElement } | undefined {
    const o = this.owners.get(set)?.get(key);
    if (!o || o.size === 0) return undefined;
    let best: string | undefined;
    for (const owner of o.keys()) if (best === undefined || owner < best) best = owner;
    return { owner: best!, element: o.get(best!)! };
  }

  keys(set: string): Iterable<string> {
    return this.owners.get(set)?.keys() ?? [];
  }
}
