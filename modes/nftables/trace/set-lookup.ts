// Which element of a set or map a key finds, as the kernel's set backends would: exact keys
// (hash); for interval concatenations (pipapo) every field within its range; for a plain interval
// set (rbtree) the closest element at or below the key, a hit if that is a range's start.

import type { NftElement, NftSet } from '../netlink/types.js';
import { compareBytes } from './registers.js';

/** One range of a plain interval set: keys [start, end) as big-endian numbers find `el`. */
export interface KeyRange {
  readonly start: number;
  readonly end: number;
  readonly el: NftElement;
}

const TOP = 2 ** 32;
const be32 = (k: Uint8Array): number => ((k[0]! << 24) >>> 0) + (k[1]! << 16) + (k[2]! << 8) + k[3]!;

/**
 * A plain interval set of 4-byte keys as ranges: each start element runs to the next element
 * (an end element, or the next start) or to the top of the key space. At the same key an end
 * element comes first (it closes the range below; the start opens the next one).
 */
export function intervalRanges(elements: Iterable<NftElement>): KeyRange[] {
  const els = [...elements].sort((a, b) => compareBytes(a.key, b.key) || (a.intervalEnd ? 0 : 1) - (b.intervalEnd ? 0 : 1));
  const out: KeyRange[] = [];
  els.forEach((el, i) => {
    if (el.intervalEnd) return;
    const next = els[i + 1];
    out.push({ start: be32(el.key), end: next ? be32(next.key) : TOP, el });
  });
  return out;
}

const isRbtree = (set: NftSet): boolean => !!set.interval && !set.concat && set.keyLen === 4;

/** The element a key finds: exact keys, or (interval sets) every field within its range. */
export function findElement(set: NftSet, elements: Iterable<NftElement>, key: Uint8Array): NftElement | undefined {
  if (isRbtree(set)) {
    const k = be32(key);
    return intervalRanges(elements).find((r) => r.start <= k && k < r.end)?.el;
  }
  const fields = set.concat?.map((l) => (l + 3) & ~3) ?? [key.length];
  for (const el of elements) {
    if (el.intervalEnd) continue;
    if (!el.keyEnd) {
      if (compareBytes(el.key, key) === 0) return el;
      continue;
    }
    let off = 0;
    let ok = true;
    for (const len of fields) {
      const k = key.subarray(off, off + len);
      if (compareBytes(el.key.subarray(off, off + len), k) > 0 || compareBytes(k, el.keyEnd.subarray(off, off + len)) > 0) ok = false;
      off += len;
    }
    if (ok) return el;
  }
  return undefined;
}

/**
 * How many numgen results u in [0, below) the interval set sees below `limit`: numgen leaves u
 * in the register in host order (little-endian), and the set compares those bytes big-endian,
 * i.e. it sees the byte-swapped value. Counted digit by digit, least significant byte of u first
 * (the most significant of what the set sees), keeping how the prefix compares with `limit` and
 * how the bytes so far compare with `below`'s.
 */
export function countSwappedBelow(below: number, limit: number): number {
  if (below <= 0 || limit <= 0) return 0;
  const allU = below >= TOP;
  const allX = limit >= TOP;
  const xb = [limit >>> 24, (limit >>> 16) & 0xff, (limit >>> 8) & 0xff, limit & 0xff];
  const ub = [below & 0xff, (below >>> 8) & 0xff, (below >>> 16) & 0xff, below >>> 24];
  // state index: sx (0 = equal so far, 1 = below) * 3 + su (0 below, 1 equal, 2 above)
  let counts = [0, 0, 0, 0, 0, 0];
  counts[0 * 3 + 1] = 1;
  for (let i = 0; i < 4; i++) {
    const next = [0, 0, 0, 0, 0, 0];
    for (let st = 0; st < 6; st++) {
      const c = counts[st]!;
      if (!c) continue;
      const sx = Math.floor(st / 3);
      const su = st % 3;
      for (let b = 0; b < 256; b++) {
        let nx: number;
        if (allX || sx === 1) nx = 1;
        else if (b < xb[i]!) nx = 1;
        else if (b === xb[i]) nx = 0;
        else continue;
        const nu = b < ub[i]! ? 0 : b > ub[i]! ? 2 : su;
        next[nx * 3 + nu] += c;
      }
    }
    counts = next;
  }
  return allU ? counts[3]! + counts[4]! + counts[5]! : counts[3]!;
}

/** How many of numgen's values offset..offset+modulus-1 fall into [start, end) as the set sees them. */
export function numgenShare(offset: number, modulus: number, r: Pick<KeyRange, 'start' | 'end'>): number {
  const g = (u: number): number => countSwappedBelow(u, r.end) - countSwappedBelow(u, r.start);
  return g(offset + modulus) - g(offset);
}
