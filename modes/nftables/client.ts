// Opens the nf_tables netlink client the dataplane talks to (modes/nftables/netlink/client.ts,
// on the socket layer shared with IPVS in modes/shared/netlink).

import type { Logger } from '../../proxy/log.js';
import { NftNetlinkClient } from './netlink/client.js';
import type { NftClient } from './netlink/types.js';

export async function openNftClient(_deps: { logger: Logger }): Promise<NftClient> {
  return NftNetlinkClient.open();
}
