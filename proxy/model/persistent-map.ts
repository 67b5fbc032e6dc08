// A ReadonlyMap over an `immutable` persistent map (a hash array mapped trie), so the model can
// hand every sync a whole, immutable state while a new snapshot after k changes costs
// O(k · log32 S) and shares every unchanged node (and entry) with the previous one.
//
// Dataplanes keep seeing ProxyState's ReadonlyMap: get/has/size are the trie's own lookups and
// iteration walks the trie in place; nothing is ever copied into a native Map. Iteration order is
// the trie's (hash) order, not insertion order; nothing downstream may depend on either.

import { Map as PMap } from 'immutable';

export type PersistentMap<K, V> = PMap<K, V>;

export function emptyPersistentMap<K, V>(): PersistentMap<K, V> {
  return PMap<K, V>();
}

export class PersistentMapView<K, V> implements ReadonlyMap<K, V> {
  constructor(readonly persistent: PersistentMap<K, V>) {}

  get size(): number {
    return this.persistent.size;
  }

  get(key: K): V | undefined {
    return this.persistent.get(key);
  }

  has(key: K): boolean {
    return this.persistent.has(key);
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    // immutable's forEach stops at a callback returning false; Map.forEach never stops.
    this.persistent.forEach((value, key) => {
      callback.call(thisArg, value, key, this);
    });
  }

  entries(): MapIterator<[K, V]> {
    return this.persistent.entries() as unknown as MapIterator<[K, V]>;
  }

  keys(): MapIterator<K> {
    return this.persistent.keys() as unknown as MapIterator<K>;
  }

  values(): MapIterator<V> {
    return this.persistent.values() as unknown as MapIterator<V>;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}
