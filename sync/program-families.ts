// Which IP families a sync has something to program for: those with a service port (a cluster IP
// of that family) in the state. Upstream runs one proxier per family, so on a single-stack
// cluster the other family's proxier programs no service and its metrics say nothing about the
// IPv4 one; here both families share one sync, and the loop must not file the whole sync's
// duration under a family that had no work.

import { clusterIPsOf } from '../proxy/model/family.js';
import type { IPFamily, ProxyState } from '../proxy/model/types.js';

/** The families of `families` that have at least one service port in `state` (stops early). */
export function familiesWithServices(state: ProxyState, families: readonly IPFamily[]): Set<IPFamily> {
  const found = new Set<IPFamily>();
  for (const sp of state.services.values()) {
    for (const f of families) if (!found.has(f) && clusterIPsOf(sp, f).length > 0) found.add(f);
    if (found.size === families.length) break;
  }
  return found;
}
