// Which numgen index each endpoint gets in a service chain's endpoint map. Indexes are kept from
// the previous assignment where possible (a survivor keeps its slot, a newcomer fills a hole, the
// last slots move into holes when the map shrinks), so one endpoint change rewrites one or two
// elements instead of every element after it.

/** `prev[i]` is the endpoint id at index i last time; returns the ids at 0..wanted.length-1. */
export function assignSlots(prev: readonly string[], wanted: readonly string[]): string[] {
  const n = wanted.length;
  // Lists of a few endpoints (nearly all) are scanned instead of hashed: two Sets, a filled array
  // and the spread/slice/filter copies were most of the young garbage of assigning slots.
  const small = n <= SCAN_MAX && prev.length <= SCAN_MAX;
  const want = small ? undefined : new Set(wanted);
  const placedSet = small ? undefined : new Set<string>();
  const slots = new Array<string | undefined>(n).fill(undefined);
  const wants = (id: string): boolean => (want ? want.has(id) : wanted.includes(id));
  const placed = (id: string): boolean => (placedSet ? placedSet.has(id) : slots.includes(id));
  const place = (i: number, id: string): void => {
    slots[i] = id;
    placedSet?.add(id);
  };
  for (let i = 0; i < Math.min(n, prev.length); i++) {
    const id = prev[i]!;
    if (wants(id) && !placed(id)) place(i, id);
  }
  // Survivors beyond the new size move first (in their old order), then newcomers in given order.
  let i = 0;
  const fill = (id: string): void => {
    if (placed(id)) return;
    while (i < n && slots[i] !== undefined) i++;
    if (i < n) place(i, id);
  };
  for (let j = n; j < prev.length; j++) if (wants(prev[j]!)) fill(prev[j]!);
  for (const id of wanted) fill(id);
  return slots as string[];
}

const SCAN_MAX = 32;

