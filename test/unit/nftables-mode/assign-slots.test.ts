// Stable numgen slots: a survivor keeps its index, newcomers fill holes, the tail moves into holes
// when the map shrinks. The scanning path for small lists must assign exactly as the hashed one.

import { describe, expect, it } from 'vitest';
import { assignSlots } from '../../../modes/nftables/render/endpoints.js';

/** The assignment as it was written with Sets (the specification). */
function reference(prev: readonly string[], wanted: readonly string[]): string[] {
  const want = new Set(wanted);
  const n = wanted.length;
  const slots: (string | undefined)[] = new Array<string | undefined>(n).fill(undefined);
  const placed = new Set<string>();
  for (let i = 0; i < Math.min(n, prev.length); i++) {
    const id = prev[i]!;
    if (want.has(id) && !placed.has(id)) {
      slots[i] = id;
      placed.add(id);
    }
  }
  const movers = [...prev.slice(n).filter((id) => want.has(id) && !placed.has(id)), ...wanted.filter((id) => !placed.has(id))];
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (slots[i] !== undefined) continue;
    while (m < movers.length && placed.has(movers[m]!)) m++;
    const id = movers[m++]!;
    slots[i] = id;
    placed.add(id);
  }
  return slots as string[];
}

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

describe('assignSlots', () => {
  it('keeps survivors in place, fills holes with newcomers, moves the tail when shrinking', () => {
    expect(assignSlots(['a', 'b', 'c'], ['c', 'a', 'b'])).toEqual(['a', 'b', 'c']);
    expect(assignSlots(['a', 'b', 'c'], ['a', 'x', 'c'])).toEqual(['a', 'x', 'c']);
    expect(assignSlots(['a', 'b', 'c', 'd'], ['a', 'd', 'c'])).toEqual(['a', 'd', 'c']);
    expect(assignSlots([], ['b', 'a'])).toEqual(['b', 'a']);
    expect(assignSlots(['a'], [])).toEqual([]);
  });

  it('assigns as the specification does, for small and large lists', () => {
    const rnd = prng(13);
    for (let round = 0; round < 3000; round++) {
      const universe = 2 + Math.floor(rnd() * (round % 2 ? 80 : 12));
      const pick = (): string[] => [...new Set(Array.from({ length: Math.floor(rnd() * universe) }, () => `e${Math.floor(rnd() * universe)}`))];
      const prev = pick();
      const wanted = pick();
      expect(assignSlots(prev, wanted), JSON.stringify({ prev, wanted })).toEqual(reference(prev, wanted));
    }
  });
});
