import { describe, expect, it } from 'vitest';
import { compareIPs } from '../../../proxy/model/ip-order.js';

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
