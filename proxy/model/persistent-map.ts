// A ReadonlyMap over an `immutable` persistent map (a hash array mapped trie), so the model can
// hand every sync a whole, immutable state while a new snapshot after k changes costs
// O(k · log32 S) and shares every unchanged node (and entry) with the previous one.
//
// Dataplanes keep seeing ProxyState's ReadonlyMap; iteration walks the trie in place, nothing is
// ever copied into a native Map. Iteration order is the trie's (hash) order, not insertion order;
// nothing downstream may depend on either.
//
// Lookups: immutable hashes every string key on each get (its string-hash cache holds 255 keys),
// which measured 10-15x slower than a native Map.get at 50,000 keys, and dataplanes look up every
// key of the newest state. So the owner (the model store) also keeps a native Map of the newest
// version, updated in place with the same O(changed) edits, and the newest view answers get/has
// from it; any older view answers from its own trie, so it stays exactly what it was.

import { Map as PMap } from 'immutable';

export type PersistentMap<K, V> = PMap<K, V>;

export function emptyPersistentMap<K, V>(): PersistentMap<K, V> {
  return PMap<K, V>();
}

/** A native Map mirroring the newest version; only the view marked `newest` may read it. */
export class NewestIndex<K, V> {
  readonly map = new Map<K, V>();
  newest: PersistentMapView<K, V> | undefined = undefined;
}

export class PersistentMapView<K, V> implements ReadonlyMap<K, V> {
  constructor(
    readonly persistent: PersistentMap<K, V>,
    private readonly index?: NewestIndex<K, V>,
  ) {}

  get size(): number {
    return this.persistent.size;
  }

  get(key: K): V | undefined {
    const i = this.index;
    return i !== undefined && i.newest === this ? i.map.get(key) : this.persistent.get(key);
  }

  has(key: K): boolean {
    const i = this.index;
    return i !== undefined && i.newest === this ? i.map.has(key) : this.persistent.has(key);
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
