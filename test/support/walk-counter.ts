// Counts what a piece of code walks: every iteration (for..of, spread, forEach, keys/values/
// entries, `new Map(map)`) of a native Map or Set holding at least `minSize` entries, and every
// lookup in the state maps handed to it (CountingMap). A test of "O(change)" work then asserts
// that a partial sync after one change walks no large collection at all and looks up O(1) keys,
// whatever the cluster's size: a timing-free proof that no pass over all services is left.

const METHODS = ['entries', 'values', 'keys', 'forEach', Symbol.iterator] as const;

export interface Walks {
  /** Iterations of a collection of at least minSize entries, with where they started. */
  readonly big: { size: number; stack: string }[];
}

/** Run `fn` with Map/Set iteration instrumented; restores the prototypes even if it throws. */
export async function countWalks<T>(minSize: number, fn: () => Promise<T>): Promise<{ result: T; walks: Walks }> {
  const walks: Walks = { big: [] };
  const saved: [object, PropertyKey, unknown][] = [];
  for (const proto of [Map.prototype, Set.prototype] as unknown as Record<PropertyKey, unknown>[]) {
    for (const m of METHODS) {
      const orig = proto[m] as (...a: unknown[]) => unknown;
      saved.push([proto, m, orig]);
      proto[m] = function (this: Map<unknown, unknown> | Set<unknown>, ...args: unknown[]): unknown {
        if (this.size >= minSize) walks.big.push({ size: this.size, stack: (new Error().stack ?? '').split('\n').slice(2, 6).join(' | ') });
        return orig.apply(this, args);
      };
    }
  }
  try {
    return { result: await fn(), walks };
  } finally {
    for (const [proto, m, orig] of saved) (proto as Record<PropertyKey, unknown>)[m] = orig;
  }
}

/** A Map that counts get/has calls (the state's maps in O(change) tests). */
export class CountingMap<K, V> extends Map<K, V> {
  lookups = 0;
  override get(k: K): V | undefined {
    this.lookups++;
    return super.get(k);
  }
  override has(k: K): boolean {
    this.lookups++;
    return super.has(k);
  }
}
