// sameElement compares bytes directly (a planner hot path); it must say exactly what the
// definition by element identity says: equal elementKey (key and interval end), equal data as hex
// (missing data and empty data alike), equal verdict — timeouts and comments never matter.

import { describe, expect, it } from 'vitest';
import { hex } from '../../../modes/nftables/bytes.js';
import { elementKey, elementValue, sameElement, toElement } from '../../../modes/nftables/elements.js';
import type { NftElement } from '../../../modes/nftables/netlink/types.js';

const byDefinition = (a: NftElement, b: NftElement): boolean =>
  elementKey(a) === elementKey(b) &&
  (a.data ? hex(a.data) : '') === (b.data ? hex(b.data) : '') &&
  JSON.stringify(a.verdict ?? null) === JSON.stringify(b.verdict ?? null);

const u8 = (...xs: number[]): Uint8Array => new Uint8Array(xs);

const cases: NftElement[] = [
  { key: u8(198, 19, 0, 1) },
  { key: u8(198, 19, 0, 1), timeoutMs: 5000, comment: 'x' },
  { key: u8(198, 19, 0, 2) },
  { key: u8(198, 19, 0) },
  { key: u8(198, 19, 0, 1, 0) },
  { key: u8(198, 19, 0, 1), keyEnd: u8(198, 19, 0, 9) },
  { key: u8(198, 19, 0, 1), keyEnd: u8(198, 19, 0, 8) },
  { key: u8(198, 19, 0, 1), data: u8() },
  { key: u8(198, 19, 0, 1), data: u8(1, 2) },
  { key: u8(198, 19, 0, 1), data: u8(1, 3) },
  { key: u8(198, 19, 0, 1), verdict: { code: 'goto', chain: 'a' } },
  { key: u8(198, 19, 0, 1), verdict: { code: 'goto', chain: 'b' } },
  { key: u8(198, 19, 0, 1), verdict: { code: 'jump', chain: 'a' } },
  { key: u8(198, 19, 0, 1), verdict: { code: 'drop' } },
  { key: u8(198, 19, 0, 1), verdict: { code: 'goto', chain: 'x:y' } },
  { key: u8(198, 19, 0, 1), verdict: { code: 'goto', chain: '' } },
  { key: u8(198, 19, 0, 1), data: u8(1, 2), verdict: { code: 'accept' } },
  { key: u8(198, 19, 0, 1), comment: 'with a comment' },
  // A view into a larger buffer, as dump decoding and concat() produce.
  { key: new Uint8Array(u8(9, 198, 19, 0, 1, 9).buffer, 1, 4) },
] as NftElement[];

describe('sameElement', () => {
  it('agrees with the definition on every pair, and tells the differing ones apart', () => {
    let different = 0;
    for (const a of cases) {
      for (const b of cases) {
        expect(sameElement(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(byDefinition(a, b));
        if (!byDefinition(a, b)) different++;
      }
    }
    expect(different).toBeGreaterThan(cases.length * (cases.length - 4));
  });
  it('treats missing data as empty data and ignores timeouts and comments', () => {
    expect(sameElement({ key: u8(1) }, { key: u8(1), data: u8() })).toBe(true);
    expect(sameElement({ key: u8(1), timeoutMs: 1 }, { key: u8(1), comment: 'c' })).toBe(true);
    expect(sameElement({ key: u8(1) }, { key: u8(1), keyEnd: u8(1) })).toBe(false);
    expect(sameElement({ key: u8(1), keyEnd: u8(1) }, { key: u8(1) })).toBe(false);
  });
});

// The record and the units keep an element as its key and its value text (elements.ts
// KeptElement); the bytes sent are made again from them (toElement). Both must lose nothing the
// planner compares or the kernel receives.
describe('elementValue and toElement', () => {
  it('equal keys and values exactly when sameElement', () => {
    for (const a of cases) {
      for (const b of cases) {
        const kept = elementKey(a) === elementKey(b) && elementValue(a) === elementValue(b);
        expect(kept, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(sameElement(a, b));
      }
    }
  });
  it('make the element again from its key, value and comment (timeouts are never kept)', () => {
    for (const e of cases) {
      const back = toElement(elementKey(e), elementValue(e), e.comment);
      const { timeoutMs: _t, ...want } = e;
      // Empty data is no data (sameElement says they are equal).
      const norm = (x: NftElement): unknown => ({
        ...x,
        key: hex(x.key),
        ...(x.keyEnd ? { keyEnd: hex(x.keyEnd) } : {}),
        ...(x.data && x.data.length ? { data: hex(x.data) } : { data: undefined }),
      });
      expect(norm(back), JSON.stringify(e)).toEqual(norm(want));
    }
  });
});
