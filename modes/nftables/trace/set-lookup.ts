// Which element of a set or map a key finds, as the kernel's set backends would: exact keys
// (hash), or for interval concatenations (pipapo) every field within its range.

import type { NftElement, NftSet } from '../netlink/types.js';
import { compareBytes } from './registers.js';

/** The element a key finds: exact keys, or (interval sets) every field within its range. */
export function findElement(set: NftSet, elements: Iterable<NftElement>, key: Uint8Array): NftElement | undefined {
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

