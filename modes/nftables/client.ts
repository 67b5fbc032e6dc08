// Opens the nf_tables netlink client the dataplane talks to. The client itself lives in
// modes/nftables/netlink (the codec and socket shared with IPVS).

import type { Logger } from '../../proxy/log.js';
import type { NftClient } from './netlink/types.js';

export async function openNftClient(_deps: { logger: Logger }): Promise<NftClient> {
  throw new Error('nftables mode: the nf_tables netlink client is not available in this build');
}
