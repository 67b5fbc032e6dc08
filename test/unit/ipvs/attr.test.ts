import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  attrBe16,
  attrBe32,
  attrMap,
  attrString,
  attrU16,
  attrU32,
  encodeAttr,
  encodeNested,
  getBe16,
  getString,
  getU32,
  parseAttrs,
} from '../../../modes/shared/netlink/attr.js';
import { hex, toHex } from './hex.js';

// Golden layouts assume a little-endian host (x86-64, arm64), as netlink uses host order.
describe.runIf(endianness() === 'LE')('netlink attributes', () => {
  it('u16: nla_len counts header + payload (6), padding to 8 is zero', () => {
    expect(toHex(attrU16(1, 2))).toBe(toHex(hex('0600 0100 0200 0000')));
  });

  it('u32 in host order needs no padding', () => {
    expect(toHex(attrU32(8, 0x12345678))).toBe(toHex(hex('0800 0800 78563412')));
  });

  it('be16/be32 keep network byte order inside the payload', () => {
    expect(toHex(attrBe16(4, 8080))).toBe(toHex(hex('0600 0400 1f90 0000')));
    expect(toHex(attrBe32(9, 0xffffff00))).toBe(toHex(hex('0800 0900 ffffff00')));
  });

  it('NUL string: terminator counted in nla_len, then aligned', () => {
    expect(toHex(attrString(6, 'rr'))).toBe(toHex(hex('0700 0600 7272 0000')));
    expect(toHex(attrString(2, 'IPVS'))).toBe(toHex(hex('0900 0200 49505653 00 000000')));
  });

  it('nested sets NLA_F_NESTED and its length covers the padded children', () => {
    const n = encodeNested(1, [attrU16(1, 2), attrString(6, 'rr')]);
    expect(toHex(n)).toBe(toHex(hex('1400 0180', '0600 0100 0200 0000', '0700 0600 7272 0000')));
  });

  it('an empty payload is a bare header', () => {
    expect(toHex(encodeAttr(3, Buffer.alloc(0)))).toBe('04000300');
  });

  it('parses a run of attributes, masking flag bits and skipping padding', () => {
    const buf = hex('0700 0600 7272 0000', '0c00 0a80 0800 0100 0500 0000', '0600 0400 0035 0000');
    const attrs = parseAttrs(buf);
    expect(attrs.map((a) => [a.type, a.nested])).toEqual([
      [6, false],
      [10, true],
      [4, false],
    ]);
    expect(getString(attrs[0]!.payload)).toBe('rr');
    expect(getU32(attrMap(attrs[1]!.payload).get(1)!)).toBe(5);
    expect(getBe16(attrs[2]!.payload)).toBe(53);
  });

  it('rejects an attribute that runs past the buffer', () => {
    expect(() => parseAttrs(hex('0c00 0100 0000 0000'))).toThrow(/malformed/);
    expect(() => parseAttrs(hex('0200 0100'))).toThrow(/malformed/);
  });

  it('rejects short payloads for fixed-size reads', () => {
    expect(() => getU32(Buffer.alloc(2))).toThrow(/too short/);
  });
});
