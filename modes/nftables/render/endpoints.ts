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

// --- numgen ranges ------------------------------------------------------------------------------
// An endpoint map is an interval map keyed by `numgen random mod NUMGEN_MODULUS`, the modulus
// fixed, each endpoint owning one range of numgen values. The selection rule therefore never
// changes with the endpoint count: an endpoint change rewrites map elements only, and the kernel
// does not re-validate the table (a changed rule with dnat makes every commit walk every chain
// reachable from the base chains: ~25-60 ms at 10,000 services, against ~4 ms for the elements).
//
// numgen writes its result into the register in host order (little-endian here) and interval
// maps compare keys as bytes (memcmp), so the map does not see the value v but its bytes
// [v0, v1, v2, 0]. With the modulus 2^24 every value of those three bytes occurs exactly once, so
// the number w = v0·2^16 + v1·2^8 + v2 that the bytes spell is uniform on [0, 2^24) too: ranges
// are cut in w, and a range of w of length L holds exactly L of the 2^24 values (no byte-order
// expression in the rule, and no bias from the order). numgen's own draw is exact at a power of
// two (the kernel scales a 32-bit random number by the modulus: 2^32 / 2^24 values each).
//
// N endpoints get [floor(i·2^24/N), floor((i+1)·2^24/N)): each share is 2^24/N rounded down or up,
// at most one value in 2^24 apart (for N = 10,000 endpoints: 1677 or 1678 values, 0.06 % apart;
// a chi-square test would need ~10^9 connections to see it).

/** The fixed modulus of every endpoint map's numgen (see above). */
export const NUMGEN_MODULUS = 1 << 24;

/** The key bytes (as numgen leaves them in the register) that spell w in memcmp order. */
export function rangeKey(w: number): Uint8Array {
  return Uint8Array.of((w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff, 0);
}

/** w as spelled by a key's first three bytes (rangeKey's inverse). */
export function rangeOfKey(key: Uint8Array): number {
  return (key[0]! << 16) | (key[1]! << 8) | key[2]!;
}

/** Where slot i of n starts (slot n "starts" at the modulus: the end of the last slot). */
export function slotStart(i: number, n: number): number {
  return Math.floor((i * NUMGEN_MODULUS) / n);
}

/**
 * The interval-map elements for `data[i]` at slot i: a start element per slot and, between two
 * slots, an end element at the next slot's start (the kernel's rbtree refuses two start elements
 * in a row in a named set); the last slot runs to the top of the key space and needs no end.
 */
export function slotElements<T extends { readonly data: Uint8Array; readonly comment?: string }>(slots: readonly T[]): { key: Uint8Array; data?: Uint8Array; intervalEnd?: true; comment?: string }[] {
  const n = slots.length;
  const out: { key: Uint8Array; data?: Uint8Array; intervalEnd?: true; comment?: string }[] = [];
  slots.forEach((s, i) => {
    const key = rangeKey(slotStart(i, n));
    if (i > 0) out.push({ key, intervalEnd: true });
    out.push({ key, data: s.data, ...(s.comment !== undefined ? { comment: s.comment } : {}) });
  });
  return out;
}
