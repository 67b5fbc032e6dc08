import { describe, expect, it } from 'vitest';
import { clusterIPsOf, endpointsOfFamily, ipsOfFamily } from '../../../proxy/model/family.js';
import { ep, sp } from './fixtures.js';

describe('family helpers', () => {
  it('splits dual-stack IPs by family, preserving order and dropping junk', () => {
    const ips = ['2001:db8::2', '198.19.0.1', 'junk', '2001:db8::1'];
    expect(ipsOfFamily(ips, 'IPv4')).toEqual(['198.19.0.1']);
    expect(ipsOfFamily(ips, 'IPv6')).toEqual(['2001:db8::2', '2001:db8::1']);
  });

  it('clusterIPsOf picks the family cluster IP', () => {
    const port = sp({ clusterIPs: ['2001:db8::a', '198.19.0.10'] });
    expect(clusterIPsOf(port, 'IPv4')).toEqual(['198.19.0.10']);
    expect(clusterIPsOf(port, 'IPv6')).toEqual(['2001:db8::a']);
    expect(clusterIPsOf(sp(), 'IPv6')).toEqual([]);
  });

  it('endpointsOfFamily filters by the endpoint family', () => {
    const eps = [ep('198.18.0.1'), ep('2001:db8::5'), ep('198.18.0.2')];
    expect(endpointsOfFamily(eps, 'IPv4').map((e) => e.ip)).toEqual(['198.18.0.1', '198.18.0.2']);
    expect(endpointsOfFamily(eps, 'IPv6').map((e) => e.ip)).toEqual(['2001:db8::5']);
  });
});
