// The client's view of IPVS objects: plain values, independent of the wire format.

import type { IPFamily, Protocol } from '../../../proxy/model/types.js';

/** How IPVS forwards to a real server (IP_VS_CONN_F_FWD_MASK); names as `ipvsadm -Ln` prints. */
export type FwdMethod = 'Masq' | 'Local' | 'Tunnel' | 'Route';

/**
 * A virtual service, identified by (family, protocol, address, port).
 * Firewall-mark services are not modelled: kube-proxy never creates them.
 */
export interface VirtualServer {
  readonly family: IPFamily;
  readonly protocol: Protocol;
  readonly address: string;
  readonly port: number;
  /** Scheduler module name without the ip_vs_ prefix, e.g. "rr". */
  readonly scheduler: string;
  /** IP_VS_SVC_F_* bits (e.g. IP_VS_SVC_F_PERSISTENT). The kernel-internal HASHED bit is never reported. */
  readonly flags: number;
  /** Persistence timeout in seconds (meaningful with IP_VS_SVC_F_PERSISTENT). */
  readonly timeoutSeconds: number;
  /**
   * Persistence granularity. IPv4: the mask as a 32-bit number (0xffffffff = per client address).
   * IPv6: a prefix length 1..128 (the kernel rejects other values for AF_INET6).
   */
  readonly netmask: number;
}

/** The fields that identify a service; enough for delete and for destination operations. */
export type VirtualServerKey = Pick<VirtualServer, 'family' | 'protocol' | 'address' | 'port'>;

export interface RealServer {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly fwdMethod: FwdMethod;
  /** Reported by the kernel on list; ignored when writing. */
  readonly activeConns?: number;
  readonly inactiveConns?: number;
}

/** The real server fields that identify it within its service. */
export type RealServerKey = Pick<RealServer, 'address' | 'port'>;

/** IPVS connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`). */
export interface Timeouts {
  readonly tcp: number;
  readonly tcpFin: number;
  readonly udp: number;
}

export interface IpvsInfo {
  /** e.g. "1.2.1" */
  readonly version: string;
  readonly connTableSize: number;
}
