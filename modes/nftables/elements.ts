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

/** Same key and value (timeouts and comments do not make elements differ). */
export function sameElement(a: NftElement, b: NftElement): boolean {
  return (
    elementKey(a) === elementKey(b) &&
    (a.data ? hex(a.data) : '') === (b.data ? hex(b.data) : '') &&
    verdictText(a.verdict) === verdictText(b.verdict)
  );
}

export function elementMap(els: readonly NftElement[]): Map<string, NftElement> {
  return new Map(els.map((e) => [elementKey(e), e]));
}
