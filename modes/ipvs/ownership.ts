// PURE: is an existing virtual server ours? A foreign one (another load balancer's, an operator's
// ipvsadm entry) must survive both syncs and --cleanup.
//
// Ours are (a) services on an address bound to kube-ipvs0 (only we put addresses there) and
// (b) NodePort services: an address of this node plus a port listed in our KUBE-NODE-PORT-* ipsets
// (or, within one process, a NodePort VS we programmed). That is also how a fresh `--cleanup`
// process, which has no memory, recognises them: kube-ipvs0 addresses + `ipset save`.

import type { IPFamily } from '../../proxy/model/types.js';
import { setName } from './ipsets.js';
import { vsKey, type VirtualServerKey } from './ops.js';

/** Only membership is asked (a partial sync passes views over its records, not copies). */
export interface Has {
  has(key: string): boolean;
}

export interface OwnershipEvidence {
  /** Addresses on kube-ipvs0 (before this sync) and the VIPs we are about to bind. */
  readonly vips: Has;
  /** NodePort vsKeys programmed by this process. */
  readonly programmedNodePorts: Has;
  /** This node's addresses. */
  readonly nodeIPs: ReadonlySet<string>;
  /** Our ipset membership as found in the kernel (per family), for NodePorts of a previous process. */
  readonly ipsets: ReadonlyMap<IPFamily, ReadonlyMap<string, Has>>;
}

export function isOwnedBy(e: OwnershipEvidence): (vs: VirtualServerKey) => boolean {
  return (vs) => {
    if (e.vips.has(vs.address)) return true;
    if (e.programmedNodePorts.has(vsKey(vs))) return true;
    if (!e.nodeIPs.has(vs.address)) return false;
    const m = e.ipsets.get(vs.family);
    if (!m) return false;
    const has = (id: Parameters<typeof setName>[0], entry: string): boolean =>
      m.get(setName(id, vs.family))?.has(entry) ?? false;
    switch (vs.protocol) {
      case 'TCP':
        return has('nodePortTCP', String(vs.port));
      case 'UDP':
        return has('nodePortUDP', String(vs.port));
      case 'SCTP':
        return has('nodePortSCTP', `${vs.address},sctp:${vs.port}`);
    }
  };
}
