// Which IP families a sync has something to program for: those with a service port (a cluster IP
// of that family) in the state. Upstream runs one proxier per family, so on a single-stack
// cluster the other family's proxier programs no service and its metrics say nothing about the
// IPv4 one; here both families share one sync, and the loop must not file the whole sync's
// duration under a family that had no work.
//
// The answer is kept as a count of service ports per family, updated from each sync's change
// set: on a dual-stack node with only IPv4 services a scan for an IPv6 port would otherwise walk
// every service on every sync.

import { clusterIPsOf } from '../proxy/model/family.js';
import type { ChangeSet, IPFamily, ProxyState, ServicePort } from '../proxy/model/types.js';

/** The families of `families` that have at least one service port in `state` (stops early). */
export function familiesWithServices(state: ProxyState, families: readonly IPFamily[]): Set<IPFamily> {
  const found = new Set<IPFamily>();
  for (const sp of state.services.values()) {
    for (const f of families) if (!found.has(f) && clusterIPsOf(sp, f).length > 0) found.add(f);
    if (found.size === families.length) break;
  }
  return found;
}

/** Service ports per family, kept up to date from change sets (O(changed) per sync). */
export class FamilyServiceCounter {
  private readonly counts = new Map<IPFamily, number>();
  private state: ProxyState | undefined;

  constructor(private readonly families: readonly IPFamily[]) {}

  /**
   * Move to `next`. Without a previous state, or when `recount` (a full sync), every service port
   * is counted; otherwise only the changed keys are compared with the previous state.
   */
  update(next: ProxyState, changes: ChangeSet, recount: boolean): Set<IPFamily> {
    const prev = this.state;
    if (prev === undefined || recount) {
      this.counts.clear();
      for (const sp of next.services.values()) this.add(sp, 1);
    } else {
      for (const key of changes.changed) {
        const before = prev.services.get(key);
        const after = next.services.get(key);
        if (before === after) continue;
        if (before) this.add(before, -1);
        if (after) this.add(after, 1);
      }
    }
    this.state = next;
    return new Set(this.families.filter((f) => (this.counts.get(f) ?? 0) > 0));
  }

  private add(sp: ServicePort, sign: 1 | -1): void {
    for (const f of this.families) if (clusterIPsOf(sp, f).length > 0) this.counts.set(f, (this.counts.get(f) ?? 0) + sign);
  }
}
