// A read-only map of a few entries as one flat array. A rendered service port keeps its shared
// elements as set → key → element; nearly every such map holds 1 to 10 entries, and a JS Map of
// that size costs ~290 bytes of heap (its hash table), a flat array ~16 + 8 bytes per entry: the
// units' Maps were 25 MiB of the nftables dataplane's 142 MiB at 10,000 services (issue #18).
// Lookups scan the array, which for a few short keys costs no more than hashing them; above
// SMALL_MAX entries a real Map is kept.

export const SMALL_MAX = 16;

export class SmallMap<K, V> implements ReadonlyMap<K, V> {
  /** k0, v0, k1, v1, ... in insertion order. */
  private readonly kv: readonly (K | V)[];

  /** From a map, or from a flat k0, v0, k1, v1, ... array of exactly its length (kept as it is). */
  constructor(entries: ReadonlyMap<K, V> | readonly (K | V)[]) {
    if (Array.isArray(entries)) {
      this.kv = entries;
      return;
    }
    const m = entries as ReadonlyMap<K, V>;
    // Sized up front: an array grown by push keeps room for 16 more entries (~70 bytes of slack).
    const kv = new Array<K | V>(m.size * 2);
    let i = 0;
    for (const [k, v] of m) {
      kv[i++] = k;
      kv[i++] = v;
    }
    this.kv = kv;
  }

  get size(): number {
    return this.kv.length >> 1;
  }

  private indexOf(key: K): number {
    const kv = this.kv;
    for (let i = 0; i < kv.length; i += 2) if (kv[i] === key) return i;
    return -1;
  }

  get(key: K): V | undefined {
    const i = this.indexOf(key);
    return i < 0 ? undefined : (this.kv[i + 1] as V);
  }

  has(key: K): boolean {
    return this.indexOf(key) >= 0;
  }

  *entries(): MapIterator<[K, V]> {
    const kv = this.kv;
    for (let i = 0; i < kv.length; i += 2) yield [kv[i] as K, kv[i + 1] as V];
  }

  *keys(): MapIterator<K> {
    const kv = this.kv;
    for (let i = 0; i < kv.length; i += 2) yield kv[i] as K;
  }

  *values(): MapIterator<V> {
    const kv = this.kv;
    for (let i = 0; i < kv.length; i += 2) yield kv[i + 1] as V;
  }

  forEach(cb: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    const kv = this.kv;
    for (let i = 0; i < kv.length; i += 2) cb.call(thisArg, kv[i + 1] as V, kv[i] as K, this);
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}

/**
 * A map of one entry (most of a unit's shared maps: its cluster IP, its destination's class) as
 * two fields: a SmallMap's array is another ~56 bytes.
 */
export class OneEntryMap<K, V> implements ReadonlyMap<K, V> {
  constructor(
    private readonly k: K,
    private readonly v: V,
  ) {}

  get size(): number {
    return 1;
  }

  get(key: K): V | undefined {
    return key === this.k ? this.v : undefined;
  }

  has(key: K): boolean {
    return key === this.k;
  }

  *entries(): MapIterator<[K, V]> {
    yield [this.k, this.v];
  }

  *keys(): MapIterator<K> {
    yield this.k;
  }

  *values(): MapIterator<V> {
    yield this.v;
  }

  forEach(cb: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    cb.call(thisArg, this.v, this.k, this);
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}

/** `m` as it is kept: a OneEntryMap or SmallMap while it is small, else `m` itself. */
export function compactMap<K, V>(m: ReadonlyMap<K, V>): ReadonlyMap<K, V> {
  if (m.size === 1) for (const [k, v] of m) return new OneEntryMap(k, v);
  return m.size <= SMALL_MAX ? new SmallMap(m) : m;
}

/**
 * compactMap of the map whose entries are the flat k0, v0, k1, v1, ... list `kv` (keys distinct),
 * without making that map: a renderer collects a unit's elements this way, and the Map per set it
 * built only to compact it was young garbage for every rendered service port (issue #13).
 */
export function compactPairs<K, V>(kv: readonly (K | V)[]): ReadonlyMap<K, V> {
  const n = kv.length >> 1;
  if (n === 1) return new OneEntryMap(kv[0] as K, kv[1] as V);
  if (n <= SMALL_MAX) return new SmallMap<K, V>(kv.slice());
  const m = new Map<K, V>();
  for (let i = 0; i < kv.length; i += 2) m.set(kv[i] as K, kv[i + 1] as V);
  return m;
}
