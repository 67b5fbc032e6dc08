import { describe, expect, it } from 'vitest';
import { addressToBytes, bytesToAddress, familyOf } from '../../../modes/ipvs/netlink/addr.js';

describe('IPVS address bytes', () => {
  it('IPv4 is 4 bytes in network order', () => {
    expect(addressToBytes('10.96.0.10').toString('hex')).toBe('0a60000a');
    expect(bytesToAddress(Buffer.from('0a60000a', 'hex'), 'IPv4')).toBe('10.96.0.10');
  });

  it('IPv4 decodes from the 16-byte nf_inet_addr the kernel sends', () => {
    expect(bytesToAddress(Buffer.from('c0a80101' + '00'.repeat(12), 'hex'), 'IPv4')).toBe('192.168.1.1');
  });

  it('IPv6 expands "::" and embedded dotted quads', () => {
    expect(addressToBytes('fd00::1:2').toString('hex')).toBe('fd000000000000000000000000010002');
    expect(addressToBytes('::').toString('hex')).toBe('0'.repeat(32));
    expect(addressToBytes('::ffff:10.0.0.1').toString('hex')).toBe('00000000000000000000ffff0a000001');
    expect(addressToBytes('2001:db8:0:0:1:0:0:1').toString('hex')).toBe('20010db8000000000001000000000001');
  });

  it('IPv6 formats canonically (RFC 5952)', () => {
    const fmt = (a: string): string => bytesToAddress(addressToBytes(a), 'IPv6');
    expect(fmt('fd00:0:0:0:0:0:1:2')).toBe('fd00::1:2');
    expect(fmt('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(fmt('2001:DB8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(fmt('::')).toBe('::');
    expect(fmt('::1')).toBe('::1');
    expect(fmt('fe80::')).toBe('fe80::');
  });

  it('rejects garbage and reports families', () => {
    expect(() => addressToBytes('10.0.0.256')).toThrow(/invalid IP/);
    expect(familyOf('::1')).toBe('IPv6');
    expect(familyOf('1.2.3.4')).toBe('IPv4');
  });
});
