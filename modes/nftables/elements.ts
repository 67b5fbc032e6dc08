// Identity and equality of set elements: the key (with an interval's end) names an element; data
// or verdict is its value. Keys are compared as hex so they can index Maps.

import { hex } from './bytes.js';
import type { NftElement, Verdict } from './netlink/types.js';

export function elementKey(e: Pick<NftElement, 'key' | 'keyEnd'>): string {
  return e.keyEnd ? `${hex(e.key)}-${hex(e.keyEnd)}` : hex(e.key);
}

function verdictText(v: Verdict | undefined): string {
  return v ? `${v.code}${v.chain !== undefined ? ':' + v.chain : ''}` : '';
}

const NO_BYTES = new Uint8Array(0);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Same key and value (timeouts and comments do not make elements differ): what comparing
 * elementKey and the data's hex says, compared byte by byte instead. The planner calls this for
 * every element of every set on a full sync, and building four hex strings per call showed in a
 * CPU profile; no data and empty data are equal, as their hex ('') was.
 */
export function sameElement(a: NftElement, b: NftElement): boolean {
  if (!sameBytes(a.key, b.key)) return false;
  if (a.keyEnd ? !b.keyEnd || !sameBytes(a.keyEnd, b.keyEnd) : b.keyEnd) return false;
  return sameBytes(a.data ?? NO_BYTES, b.data ?? NO_BYTES) && verdictText(a.verdict) === verdictText(b.verdict);
}

/**
 * Equal in every field we render (comments and timeouts too): a re-render may then keep the
 * previous render's object, which is what a unit, the shared index and the record already hold.
 */
export function identicalElement(a: NftElement, b: NftElement): boolean {
  return a.comment === b.comment && a.timeoutMs === b.timeoutMs && a.intervalEnd === b.intervalEnd && a.expiresMs === b.expiresMs && sameElement(a, b);
}

export function elementMap(els: readonly NftElement[]): Map<string, NftElement> {
  return new Map(els.map((e) => [elementKey(e), e]));
}
