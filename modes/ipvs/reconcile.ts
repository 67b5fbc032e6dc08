// PURE: the netlink operations that turn the kernel's IPVS table into the desired one.
//
// Inputs are plain values (desired state, a dump of the kernel, which virtual servers we own, the
// draining list as a read-only view); the output is an ordered list of operations and the real
// servers left draining. Only virtual servers in `scope` are looked at, so a partial sync that
// touched one service costs O(that service) operations, not O(cluster).

import { IP_VS_SVC_F_PERSISTENT } from './netlink/constants.js';
import type { DesiredVirtualServer } from './desired.js';
import { rsKey, type RealServer, type RealServerKey, type VirtualServer, type VirtualServerKey } from './ops.js';

export type IpvsOperation =
  | { readonly op: 'addService'; readonly vs: VirtualServer }
  | { readonly op: 'updateService'; readonly vs: VirtualServer }
  | { readonly op: 'deleteService'; readonly vs: VirtualServerKey }
  | { readonly op: 'addDestination'; readonly vs: VirtualServerKey; readonly rs: RealServer }
  | { readonly op: 'updateDestination'; readonly vs: VirtualServerKey; readonly rs: RealServer }
  | { readonly op: 'deleteDestination'; readonly vs: VirtualServerKey; readonly rs: RealServerKey };

export interface CurrentVirtualServer {
  readonly vs: VirtualServer;
  /** As listed from the kernel, with connection counters. */
  readonly realServers: readonly RealServer[];
}

export interface GracefulView {
  expired(vsKey: string, rs: RealServerKey): boolean;
}

export interface ReconcileInput {
  readonly desired: ReadonlyMap<string, DesiredVirtualServer>;
  /** Kernel state by vsKey; must include real servers for every key in scope. */
  readonly current: ReadonlyMap<string, CurrentVirtualServer>;
  /** 'all' for a full sync, else the vsKeys to diff (changed services plus draining ones). */
  readonly scope: 'all' | ReadonlySet<string>;
  /** Whether an existing, undesired virtual server is ours to delete. */
  readonly isOwned: (vs: VirtualServerKey) => boolean;
  readonly graceful: GracefulView;
}

export interface ReconcilePlan {
  readonly ops: IpvsOperation[];
  /** Per vsKey in scope: the real servers draining after `ops` (feed to GracefulTerminationList.replace). */
  readonly draining: ReadonlyMap<string, RealServerKey[]>;
}

// Services first (destinations need them), drains before deletions, service deletions last.
const PHASE: Record<IpvsOperation['op'], number> = {
  addService: 0,
  updateService: 0,
  addDestination: 1,
  updateDestination: 2,
  deleteDestination: 3,
  deleteService: 4,
};

export function reconcile(inp: ReconcileInput): ReconcilePlan {
  const keys =
    inp.scope === 'all' ? new Set([...inp.desired.keys(), ...inp.current.keys()]) : inp.scope;
  const ops: IpvsOperation[] = [];
  const draining = new Map<string, RealServerKey[]>();
  for (const key of [...keys].sort()) {
    const d = inp.desired.get(key);
    const c = inp.current.get(key);
    if (d && !c) {
      ops.push({ op: 'addService', vs: d.vs });
      for (const rs of d.realServers) ops.push({ op: 'addDestination', vs: d.vs, rs });
      draining.set(key, []);
    } else if (d && c) {
      if (serviceDiffers(d.vs, c.vs)) ops.push({ op: 'updateService', vs: d.vs });
      draining.set(key, diffRealServers(key, d, c, inp.graceful, ops));
    } else if (c && inp.isOwned(c.vs)) {
      // A removed service: its connections go with it (upstream deletes the whole VS at once;
      // expire_nodest_conn makes the kernel drop the orphaned entries).
      ops.push({ op: 'deleteService', vs: keyOf(c.vs) });
      draining.set(key, []);
    }
  }
  // Stable sort keeps per-service order within a phase.
  ops.sort((a, b) => PHASE[a.op] - PHASE[b.op]);
  return { ops, draining };
}

function diffRealServers(
  key: string,
  d: DesiredVirtualServer,
  c: CurrentVirtualServer,
  graceful: GracefulView,
  ops: IpvsOperation[],
): RealServerKey[] {
  const vs = keyOf(d.vs);
  const cur = new Map(c.realServers.map((rs) => [rsKey(rs), rs]));
  const want = new Set<string>();
  for (const rs of d.realServers) {
    const k = rsKey(rs);
    want.add(k);
    const have = cur.get(k);
    if (!have) ops.push({ op: 'addDestination', vs, rs });
    // A draining real server that is desired again gets its weight back (revival).
    else if (have.weight !== rs.weight || have.fwdMethod !== rs.fwdMethod) ops.push({ op: 'updateDestination', vs, rs });
  }
  const still: RealServerKey[] = [];
  for (const [k, rs] of cur) {
    if (want.has(k)) continue;
    const conns = (rs.activeConns ?? 0) + (rs.inactiveConns ?? 0);
    // UDP has no connection end to wait for; expire_nodest_conn cleans up after the delete.
    if (d.vs.protocol === 'UDP' || conns === 0 || graceful.expired(key, rs)) {
      ops.push({ op: 'deleteDestination', vs, rs: { address: rs.address, port: rs.port } });
      continue;
    }
    if (rs.weight !== 0) ops.push({ op: 'updateDestination', vs, rs: { ...stripCounters(rs), weight: 0 } });
    still.push({ address: rs.address, port: rs.port });
  }
  return still;
}

/** Only what we set is compared; the kernel may report other bits and a netmask we don't care about. */
export function serviceDiffers(want: VirtualServer, have: VirtualServer): boolean {
  const persistent = (want.flags & IP_VS_SVC_F_PERSISTENT) !== 0;
  return (
    want.scheduler !== have.scheduler ||
    persistent !== ((have.flags & IP_VS_SVC_F_PERSISTENT) !== 0) ||
    (persistent && want.timeoutSeconds !== have.timeoutSeconds)
  );
}

function keyOf(vs: VirtualServerKey): VirtualServerKey {
  return { family: vs.family, protocol: vs.protocol, address: vs.address, port: vs.port };
}

function stripCounters(rs: RealServer): RealServer {
  return { address: rs.address, port: rs.port, weight: rs.weight, fwdMethod: rs.fwdMethod };
}
