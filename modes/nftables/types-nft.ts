// nft's data type numbers (enum datatypes in nftables' datatype.h), so that `nft list` can print
// our sets' elements as addresses, protocols and ports. A concatenation's type is its fields'
// types shifted together 6 bits apart (TYPE_BITS).

import type { IPFamily } from '../../proxy/model/types.js';

export const TYPE_INTEGER = 4;
export const TYPE_IPADDR = 7;
export const TYPE_IP6ADDR = 8;
export const TYPE_INET_PROTO = 12;
export const TYPE_INET_SERVICE = 13;

export function concatType(...types: number[]): number {
  return types.reduce((acc, t) => acc * 64 + t, 0);
}

export function addrType(f: IPFamily): number {
  return f === 'IPv4' ? TYPE_IPADDR : TYPE_IP6ADDR;
}

/** Verdict maps are written (and decoded from dumps) with data length 0 (the contract's canonical form). */
export const VERDICT_DATA_LEN = 0;
