// Comments go into the batch in place (NlWriter.tlvString) instead of as a separate userdata
// array: the bytes must be the TLV commentUdata builds (the form the golden captures of nft's own
// messages check), for ASCII, UTF-8, empty and longest comments, at any alignment.

import { describe, expect, it } from 'vitest';
import { commentUdata, NFTNL_UDATA_COMMENT } from '../../../modes/nftables/netlink/udata.js';
import { NlWriter } from '../../../modes/shared/netlink/writer.js';

const viaArray = (pre: number, type: number, s: string): string => {
  const w = new NlWriter(16);
  for (let i = 0; i < pre; i++) w.u8(1, i);
  w.bytes(type, commentUdata(s));
  w.u8(2, 9);
  return w.finish().toString('hex');
};
const inPlace = (pre: number, type: number, s: string): string => {
  const w = new NlWriter(16);
  for (let i = 0; i < pre; i++) w.u8(1, i);
  w.tlvString(type, NFTNL_UDATA_COMMENT, s);
  w.u8(2, 9);
  return w.finish().toString('hex');
};

describe('NlWriter.tlvString (comment userdata in place)', () => {
  const comments = ['', 'a', 'ab', 'abc', 'bench/svc-00001:http', '198.18.0.7:8080', 'clients of 198.19.0.1 (sessionAffinity ClientIP)', 'café ✓ ü', 'x'.repeat(254), 'é'.repeat(127)];
  for (const s of comments) {
    it(`writes the same bytes as commentUdata for ${JSON.stringify(s.length > 30 ? `${s.slice(0, 10)}...(${s.length})` : s)}`, () => {
      for (const pre of [0, 1, 2]) for (const type of [7, 13]) expect(inPlace(pre, type, s)).toBe(viaArray(pre, type, s));
    });
  }

  it('refuses a comment that does not fit a TLV, as commentUdata does', () => {
    expect(() => inPlace(0, 7, 'x'.repeat(255))).toThrow(/comment too long \(255 bytes, at most 254\)/);
    expect(() => commentUdata('x'.repeat(255))).toThrow(/comment too long \(255 bytes, at most 254\)/);
    expect(() => inPlace(0, 7, 'é'.repeat(128))).toThrow(/comment too long \(256 bytes/);
  });
});
