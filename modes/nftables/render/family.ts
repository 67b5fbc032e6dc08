// The nf_tables family of a model IP family.

import type { IPFamily } from '../../../proxy/model/types.js';
import type { NftFamily } from '../netlink/types.js';

export function nftFamily(f: IPFamily): NftFamily {
  return f === 'IPv4' ? 'ip' : 'ip6';
}
