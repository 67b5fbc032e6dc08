// ipBytes' fast IPv4 path must accept and reject exactly what node:net's isIP does.

import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ipBytes } from '../../../modes/nftables/bytes.js';

describe('ipBytes', () => {
  it('encodes IPv4 in network order and rejects what isIP rejects', () => {
    expect([...ipBytes('198.19.0.10')]).toEqual([198, 19, 0, 10]);
    expect([...ipBytes('0.0.0.0')]).toEqual([0, 0, 0, 0]);
    expect([...ipBytes('255.255.255.255')]).toEqual([255, 255, 255, 255]);
    for (const bad of ['256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1..2.3', '1.2.3.', '.1.2.3', '1.2.3.4 ', '1.2.3.a', '', '1000.1.1.1']) {
      expect(isIP(bad), bad).toBe(0);
      expect(() => ipBytes(bad), bad).toThrow(/not an IP address/);
    }
  });

  it('still encodes IPv6 (and a dotted IPv4 tail)', () => {
    expect(Buffer.from(ipBytes('2001:db8::1')).toString('hex')).toBe('20010db8000000000000000000000001');
    expect(Buffer.from(ipBytes('::ffff:1.2.3.4')).toString('hex')).toBe('00000000000000000000ffff01020304');
  });
});
