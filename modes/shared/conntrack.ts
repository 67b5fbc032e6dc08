// Removing stale conntrack entries (UDP and SCTP) so datagrams are not black-holed after endpoint
// changes. The interface is what the dataplanes call; the implementation runs the conntrack tool
// with an argument vector. Deleting an entry that does not exist is not an error.

import type { Protocol } from '../../proxy/model/types.js';

export interface Conntrack {
  /** Delete entries whose original destination is `ip` (a service VIP) for `protocol`. */
  clearEntriesForIP(ip: string, protocol: Protocol): Promise<void>;
  /** Delete entries whose original destination port is `port` (a NodePort) for the family. */
  clearEntriesForPort(port: number, isIPv6: boolean, protocol: Protocol): Promise<void>;
  /** Delete entries from service VIP `origin` that were DNATed to endpoint `dest`. */
  clearEntriesForNAT(origin: string, dest: string, protocol: Protocol): Promise<void>;
  /** Delete entries to NodePort `port` that were DNATed to endpoint `dest`. */
  clearEntriesForPortNAT(dest: string, port: number, protocol: Protocol): Promise<void>;
}
