import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalIPv4Value } from '../../../proxy/model/ipv4-scan.js';

/** The reference: node's isIP says IPv4 and every octet is printed as String(Number(octet)) would. */
function reference(text: string): number {
  if (isIP(text) !== 4) return -1;
  const parts = text.split('.');
  if (parts.some((p) => String(Number(p)) !== p)) return -1;
  return parts.reduce((a, p) => a * 256 + Number(p), 0);
}

describe('canonicalIPv4Value', () => {
  it('reads canonical dotted quads as their 32-bit value', () => {
    expect(canonicalIPv4Value('198.18.0.1')).toBe(0xc6120001);
    expect(canonicalIPv4Value('255.255.255.255')).toBe(0xffffffff);
    expect(canonicalIPv4Value('0.0.0.0')).toBe(0);
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), (o) => canonicalIPv4Value(o.join('.')) === reference(o.join('.'))));
  });

  it('refuses everything else (the callers then take their careful path)', () => {
    for (const t of ['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '256.1.1.1', '1..2.3', '1.2.3.', '.1.2.3', '1.2.3.4 ', '::1', '1.2.3.1000', 'a.b.c.d']) {
      expect(canonicalIPv4Value(t), t).toBe(-1);
    }
    fc.assert(fc.property(fc.stringMatching(/^[0-9.]{0,16}$/), (t) => canonicalIPv4Value(t) === reference(t)));
  });
});
