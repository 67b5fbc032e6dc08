import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatParsedCIDR, parseCIDRSloppy, parseIPSloppy } from '../../../proxy/model/ip-parse.js';

describe('parseIPSloppy (netutils.ParseIPSloppy: Go 1.16 net.ParseIP)', () => {
  it.each([
    ['198.18.0.12', '198.18.0.12', 'IPv4'],
    ['198.018.0.012', '198.18.0.12', 'IPv4'],
    ['10.96.201.077', '10.96.201.77', 'IPv4'],
    ['192.0.2.051', '192.0.2.51', 'IPv4'],
    ['000000010.0.0.1', '10.0.0.1', 'IPv4'],
    ['0.0.0.0', '0.0.0.0', 'IPv4'],
    ['2001:DB8::1', '2001:db8::1', 'IPv6'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1', 'IPv6'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1', 'IPv6'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 'IPv6'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', 'IPv6'],
    ['::', '::', 'IPv6'],
    ['::1', '::1', 'IPv6'],
    ['1::', '1::', 'IPv6'],
    ['00001::', '1::', 'IPv6'],
    ['::1.2.3.4', '::102:304', 'IPv6'],
    ['64:ff9b::198.018.0.1', '64:ff9b::c612:1', 'IPv6'],
    // Go treats IPv4-mapped IPv6 as IPv4 (To4() != nil) and prints it dotted.
    ['::ffff:198.18.0.1', '198.18.0.1', 'IPv4'],
    ['::FFFF:c612:0001', '198.18.0.1', 'IPv4'],
  ])('%s → %s (%s)', (text, address, family) => {
    expect(parseIPSloppy(text)).toEqual({ address, family });
  });

  it.each([
    '',
    '198.18.0',
    '198.18.0.1.2',
    '198.18.0.256',
    '198.18.0.-1',
    '198.18..1',
    '0x7f.0.0.1',
    '198.18.0.1 ',
    'fe80::1%eth0',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7::8',
    '1:2:3:4:5:6:7:8::',
    ':1::',
    '1::2:',
    '10000::',
    '1:1.2.3.4::',
    '1.2.3.4::',
    '::1.2.3.4:1',
    '1:2:3:4:5:6:7:1.2.3.4',
    'g::1',
    'example.org',
  ])('rejects %j', (text) => {
    expect(parseIPSloppy(text)).toBeUndefined();
  });

  it('prints IPv6 exactly as the WHATWG URL serializer (RFC 5952) does, for random addresses', () => {
    for (let n = 0; n < 2000; n++) {
      const b = randomBytes(16);
      // Zero runs are what compression is about: blank some groups.
      for (let g = 0; g < 8; g++) if (b[g * 2]! % 3 === 0) b.writeUInt16BE(0, g * 2);
      const mapped = b.subarray(0, 10).every((x) => x === 0) && b.readUInt16BE(10) === 0xffff;
      if (mapped) continue;
      const full = [...Array(8).keys()].map((g) => b.readUInt16BE(g * 2).toString(16).toUpperCase().padStart(4, '0')).join(':');
      const expected = new URL(`http://[${full}]/`).hostname.slice(1, -1);
      expect(parseIPSloppy(full)).toEqual({ address: expected, family: 'IPv6' });
      // The canonical text parses back to itself.
      expect(parseIPSloppy(expected)?.address).toBe(expected);
    }
  });

  it('agrees with node:net on every address both accept, and zero-padded IPv4 means the same address', () => {
    for (let n = 0; n < 2000; n++) {
      const octets = [...randomBytes(4)];
      const plain = octets.join('.');
      const padded = octets.map((o, i) => (i % 2 === n % 2 ? String(o).padStart(3, '0') : String(o))).join('.');
      expect(isIP(plain)).toBe(4);
      expect(parseIPSloppy(plain)).toEqual({ address: plain, family: 'IPv4' });
      expect(parseIPSloppy(padded)).toEqual({ address: plain, family: 'IPv4' });
    }
  });
});

describe('parseCIDRSloppy (netutils.ParseCIDRSloppy)', () => {
  it.each([
    ['198.18.0.0/16', '198.18.0.0/16'],
    ['198.018.0.0/016', '198.18.0.0/16'],
    // Host bits are cleared, as Go's ParseCIDR returns the network (and the kernel stores it).
    ['198.18.7.7/24', '198.18.7.0/24'],
    ['198.18.7.7/0', '0.0.0.0/0'],
    ['2001:DB8:0::1/32', '2001:db8::/32'],
    ['2001:db8::1/128', '2001:db8::1/128'],
    ['::ffff:198.18.0.0/112', '198.18.0.0/16'],
  ])('%s → %s', (text, cidr) => {
    const c = parseCIDRSloppy(text);
    expect(c && formatParsedCIDR(c)).toBe(cidr);
  });

  it.each(['198.18.0.0/33', '198.18.0.0/', '198.18.0.0/-1', '198.18.0.0/1/2', '2001:db8::/129', '198.18.0/24', 'x/8', '198.18.0.1'])(
    'rejects %j',
    (text) => {
      expect(parseCIDRSloppy(text)).toBeUndefined();
    },
  );

  it('accepts a bare address as a host route only when asked', () => {
    expect(parseCIDRSloppy('198.018.7.7', { bareAddress: true })).toEqual({ address: '198.18.7.7', prefix: 32, family: 'IPv4' });
    expect(parseCIDRSloppy('2001:db8::7', { bareAddress: true })).toEqual({ address: '2001:db8::7', prefix: 128, family: 'IPv6' });
  });
});
