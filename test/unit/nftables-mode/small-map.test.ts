// The compact maps units keep their shared elements in must read exactly like the Map they were
// made from: the shared index, the planner and explain iterate and look up through ReadonlyMap.

import { describe, expect, it } from 'vitest';
import { compactMap, compactPairs, OneEntryMap, SMALL_MAX, SmallMap } from '../../../modes/nftables/small-map.js';

const readAll = (m: ReadonlyMap<string, number>, probe: readonly string[]): unknown => {
  const each: [string, number][] = [];
  m.forEach((v, k) => each.push([k, v]));
  return {
    size: m.size,
    entries: [...m],
    keys: [...m.keys()],
    values: [...m.values()],
    each,
    get: probe.map((k) => m.get(k)),
    has: probe.map((k) => m.has(k)),
  };
};

describe('compactMap', () => {
  for (const n of [0, 1, 2, 7, SMALL_MAX, SMALL_MAX + 1]) {
    it(`reads like the Map it came from (${n} entries, in insertion order)`, () => {
      // Insertion order differs from sorted order, so an implementation that sorts would show.
      const src = new Map(Array.from({ length: n }, (_, i) => [`k${(i * 7) % (n || 1)}-${i}`, i] as const));
      const probe = [...src.keys(), 'absent', ''];
      const m = compactMap(src);
      expect(readAll(m, probe)).toEqual(readAll(src, probe));
    });
  }

  it('keeps small maps compact and large ones as they are', () => {
    expect(compactMap(new Map([['a', 1]]))).toBeInstanceOf(OneEntryMap);
    expect(compactMap(new Map([['a', 1], ['b', 2]]))).toBeInstanceOf(SmallMap);
    const big = new Map(Array.from({ length: SMALL_MAX + 1 }, (_, i) => [String(i), i] as const));
    expect(compactMap(big)).toBe(big);
  });
});

describe('compactPairs', () => {
  for (const n of [0, 1, 2, 7, SMALL_MAX, SMALL_MAX + 1]) {
    it(`reads like compactMap of the same entries (${n} entries)`, () => {
      const src = new Map(Array.from({ length: n }, (_, i) => [`k${(i * 7) % (n || 1)}-${i}`, i] as const));
      const kv: (string | number)[] = [];
      for (const [k, v] of src) kv.push(k, v);
      const probe = [...src.keys(), 'absent', ''];
      const m = compactPairs<string, number>(kv);
      expect(readAll(m, probe)).toEqual(readAll(src, probe));
      expect(m.constructor).toBe(compactMap(src).constructor);
      // The caller's list is its own to reuse: the map does not alias it.
      kv.fill('changed');
      expect(readAll(m, probe)).toEqual(readAll(src, probe));
    });
  }
});
