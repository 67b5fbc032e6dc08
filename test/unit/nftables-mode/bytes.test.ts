// ipBytes' fast IPv4 path must accept and reject exactly what node:net's isIP does.

import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { concat, ipBytes, ipPairBytes, ipPortBytes, portBytes } from '../../../modes/nftables/bytes.js';

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

  it('ipPortBytes and ipPairBytes write exactly the concatenations they replace', () => {
    const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    for (const ip of ['198.18.0.9', '0.0.0.0', '255.255.255.255', '10.1.2.3', '2001:db8::1', '::ffff:1.2.3.4']) {
      for (const port of [0, 1, 80, 8080, 65535]) expect(hexOf(ipPortBytes(ip, port)), `${ip} ${port}`).toBe(hexOf(concat(ipBytes(ip), portBytes(port))));
      expect(hexOf(ipPairBytes(ip)), ip).toBe(hexOf(concat(ipBytes(ip), ipBytes(ip))));
    }
    expect(hexOf(ipPortBytes('198.18.0.9', 8080))).toBe('c61200091f900000');
    for (const bad of ['01.2.3.4', '256.1.1.1', '1.2.3', '']) {
      expect(() => ipPortBytes(bad, 80), bad).toThrow(/not an IP address/);
      expect(() => ipPairBytes(bad), bad).toThrow(/not an IP address/);
    }
  });
});
