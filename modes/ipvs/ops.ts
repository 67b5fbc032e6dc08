// The narrow slice of the IPVS netlink client the dataplane needs. Keeping it this small lets the
// reconcile loop run against an in-memory fake in unit tests, and the real IpvsClient
// (modes/ipvs/netlink/client.ts) satisfies it structurally.

import type { RealServer, RealServerKey, Timeouts, VirtualServer, VirtualServerKey } from './netlink/types.js';

export type { RealServer, RealServerKey, VirtualServer, VirtualServerKey } from './netlink/types.js';

export interface IpvsOps {
  listServices(): Promise<VirtualServer[]>;
  addService(vs: VirtualServer): Promise<void>;
  updateService(vs: VirtualServer): Promise<void>;
  deleteService(vs: VirtualServerKey): Promise<void>;
  listDestinations(vs: VirtualServerKey): Promise<RealServer[]>;
  addDestination(vs: VirtualServerKey, rs: RealServer): Promise<void>;
  updateDestination(vs: VirtualServerKey, rs: RealServer): Promise<void>;
  deleteDestination(vs: VirtualServerKey, rs: RealServerKey): Promise<void>;
  setTimeouts(t: Partial<Timeouts>): Promise<void>;
  close(): void;
}

/** "TCP 10.0.0.1:80" / "UDP [fd00::1]:53", the way ipvsadm prints a service: unique per VS. */
export function vsKey(vs: VirtualServerKey): string {
  return `${vs.protocol} ${hostPort(vs.address, vs.port)}`;
}

/** "10.244.1.5:8080" / "[fd00::5]:8080": unique per real server within a VS. */
export function rsKey(rs: RealServerKey): string {
  return hostPort(rs.address, rs.port);
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
