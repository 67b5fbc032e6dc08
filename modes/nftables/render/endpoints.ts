// Which numgen index each endpoint gets in a service chain's endpoint map. Indexes are kept from
// the previous assignment where possible (a survivor keeps its slot, a newcomer fills a hole, the
// last slots move into holes when the map shrinks), so one endpoint change rewrites one or two
// elements instead of every element after it.

/** `prev[i]` is the endpoint id at index i last time; returns the ids at 0..wanted.length-1. */
export function assignSlots(prev: readonly string[], wanted: readonly string[]): string[] {
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
  // Survivors beyond the new size move first (in their old order), then newcomers in given order.
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
