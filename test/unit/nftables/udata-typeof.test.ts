// The endpoint maps' set userdata is byte for byte what nft 1.0.6 writes for
// `typeof numgen random mod 65536 : ip daddr . tcp dport` (captured with strace from `nft add map`),
// so that `nft list` names their integer key instead of printing "type 0".

import { describe, expect, it } from 'vitest';
import { setUdata } from '../../../modes/nftables/netlink/udata.js';
import type { NftSet } from '../../../modes/nftables/netlink/types.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// Captured on this machine: nft's NFTA_SET_USERDATA for the two declarations.
const NFT_IP_TCP =
  '000401000000010400000000031a0004170000000112000401000000010400000100020400000000043400040d000000012c0014000407000000010c00040c00000001040c0000000114000407000000010c000408000000010402000000060400000000';
const NFT_IP6_UDP =
  '000401000000010400000000031a0004170000000112000401000000010400000100020400000000043400040d000000012c0014000407000000010c00040d0000000104090000000114000407000000010c000406000000010402000000060400000000';

const map = (family: 'ip' | 'ip6', endpointMapOf: 'tcp' | 'udp'): NftSet => ({
  family,
  table: 'kube-proxy',
  name: 'endpoints-x',
  keyType: 4,
  keyLen: 4,
  endpointMapOf,
  data: { type: (family === 'ip' ? 7 : 8) * 64 + 13, len: family === 'ip' ? 8 : 20 },
});

describe('endpoint map userdata (typeof numgen : addr . port)', () => {
  it('matches what nft writes for ip daddr . tcp dport', () => {
    expect(hex(setUdata(map('ip', 'tcp')))).toBe(NFT_IP_TCP);
  });
  it('matches what nft writes for ip6 daddr . udp dport', () => {
    expect(hex(setUdata(map('ip6', 'udp')))).toBe(NFT_IP6_UDP);
  });
});
