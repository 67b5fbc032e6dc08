import { describe, expect, it } from 'vitest';
import { isIP } from 'node:net';
import { compareIPs, ipSortKey } from '../../../proxy/model/ip-order.js';

describe('compareIPs', () => {
  it('orders numerically, IPv4 before IPv6, with compressed and embedded forms', () => {
    const ips = ['2001:db8::10', '198.18.0.10', '2001:db8::9', '::ffff:198.18.0.1', '198.18.0.9', '2001:db8:0:0:1::'];
    expect([...ips].sort(compareIPs)).toEqual([
      '198.18.0.9',
      '198.18.0.10',
      '::ffff:198.18.0.1',
      '2001:db8::9',
      '2001:db8::10',
      '2001:db8:0:0:1::',
    ]);
  });
});

describe('ipSortKey', () => {
  // The key as it was made before IPv4 was read in place: isIP decides, octets as two hex digits.
  const reference = (ip: string): string =>
    isIP(ip) === 4 ? '4' + ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('') : isIP(ip) === 6 ? ipSortKey(ip) : '9' + ip;

  it('keys dotted IPv4 as 8 hex digits of its value, and text isIP rejects as invalid', () => {
    expect(ipSortKey('198.18.0.10')).toBe('4c612000a');
    expect(ipSortKey('0.0.0.0')).toBe('400000000');
    expect(ipSortKey('255.255.255.255')).toBe('4ffffffff');
    const odd = ['01.2.3.4', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1..2.3', '1.2.3.', '.1.2.3', '1.2.3.a', '', '0.0.0.00', '1000.1.1.1'];
    for (const ip of odd) expect(ipSortKey(ip), ip).toBe(reference(ip));
    for (let i = 0; i < 2000; i++) {
      const ip = Array.from({ length: 4 }, (_, k) => String((i * 2654435761 + k * 40503) % 256 >>> 0)).join('.');
      expect(ipSortKey(ip), ip).toBe(reference(ip));
    }
  });
});
