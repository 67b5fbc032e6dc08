// The change set the model store would report between two states built by hand in a test:
// every key whose ServicePort or endpoint list is not the same object in both. Partial syncs
// trust the change set (they look at nothing else), so tests that hand-build states use this.

import type { ChangeSet, ProxyState } from '../../proxy/model/types.js';

export function changesBetween(a: ProxyState | undefined, b: ProxyState): ChangeSet {
  const changed = new Set<string>();
  const removed = new Set<string>();
  for (const [key, sp] of b.services) {
    if (a?.services.get(key) !== sp || a.endpoints.get(key) !== b.endpoints.get(key)) changed.add(key);
  }
  for (const key of a?.services.keys() ?? []) {
    if (!b.services.has(key)) {
      changed.add(key);
      removed.add(key);
    }
  }
  const nodeChanged = a !== undefined && JSON.stringify(a.node) !== JSON.stringify(b.node);
  return { changed, removed, nodeChanged, triggerTimes: [] };
}
