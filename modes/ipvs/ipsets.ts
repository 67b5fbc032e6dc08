// PURE: upstream's IPVS-mode ipsets (pkg/proxy/ipvs/README.md) and their `ipset restore` input.
//
// The companion iptables rules stay constant-size because membership lives here. IPv6 sets are
// separate kernel objects, so their names get upstream's "KUBE-6-" prefix, cut like upstream's at
// ipset's 31-character name limit (KUBE-6-LOAD-BALANCER-SOURCE-CID, KUBE-6-NODE-PORT-LOCAL-SCTP-HAS,
// as shared/fixtures/upstream-1.26/ipvs/ipset-save.txt shows), so a takeover from upstream keeps
// every set it finds instead of swapping it for a differently named one.

import { categorizeEndpoints, externalPolicyLocal } from '../../proxy/model/categorize.js';
import { clusterIPsOf, endpointsOfFamily, ipsOfFamily } from '../../proxy/model/family.js';
import { cidrsContain, ipFamily } from '../../proxy/model/ip.js';
import type { Endpoint, IPFamily, NodeInfo, ProxyState, ServicePort } from '../../proxy/model/types.js';

export type SetId =
  | 'clusterIP'
  | 'loopBack'
  | 'externalIP'
  | 'externalIPLocal'
  | 'loadBalancer'
  | 'loadBalancerLocal'
  | 'loadBalancerFW'
  | 'loadBalancerSourceCIDR'
  | 'nodePortTCP'
  | 'nodePortUDP'
  | 'nodePortSCTP'
  | 'nodePortLocalTCP'
  | 'nodePortLocalUDP'
  | 'nodePortLocalSCTP'
  | 'healthCheckNodePort'
  | 'ipvsIPs';

interface SetDef {
  readonly v4: string;
  readonly v6: string;
  readonly type: string;
  readonly comment: string;
}

const def = (v4: string, type: string, comment: string, v6 = v4.replace(/^KUBE-/, 'KUBE-6-')): SetDef => ({ v4, v6, type, comment });

export const SET_DEFS: Readonly<Record<SetId, SetDef>> = {
  clusterIP: def('KUBE-CLUSTER-IP', 'hash:ip,port', 'Kubernetes service cluster ip + port for masquerade purpose'),
  loopBack: def('KUBE-LOOP-BACK', 'hash:ip,port,ip', 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose'),
  externalIP: def('KUBE-EXTERNAL-IP', 'hash:ip,port', 'Kubernetes service external ip + port for masquerade and filter purpose'),
  externalIPLocal: def('KUBE-EXTERNAL-IP-LOCAL', 'hash:ip,port', 'Kubernetes service external ip + port with externalTrafficPolicy=local'),
  loadBalancer: def('KUBE-LOAD-BALANCER', 'hash:ip,port', 'Kubernetes service lb portal'),
  loadBalancerLocal: def('KUBE-LOAD-BALANCER-LOCAL', 'hash:ip,port', 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local'),
  loadBalancerFW: def('KUBE-LOAD-BALANCER-FW', 'hash:ip,port', 'Kubernetes service load balancer ip + port for load balancer with sourceRange'),
  loadBalancerSourceCIDR: def('KUBE-LOAD-BALANCER-SOURCE-CIDR', 'hash:ip,port,net', 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose', 'KUBE-6-LOAD-BALANCER-SOURCE-CID'),
  nodePortTCP: def('KUBE-NODE-PORT-TCP', 'bitmap:port', 'Kubernetes nodeport TCP port for masquerade purpose'),
  nodePortUDP: def('KUBE-NODE-PORT-UDP', 'bitmap:port', 'Kubernetes nodeport UDP port for masquerade purpose'),
  // bitmap:port has no protocol; SCTP shares port numbers with TCP/UDP, so it needs ip,port.
  nodePortSCTP: def('KUBE-NODE-PORT-SCTP-HASH', 'hash:ip,port', 'Kubernetes nodeport SCTP port for masquerade purpose with type hash ip:port'),
  nodePortLocalTCP: def('KUBE-NODE-PORT-LOCAL-TCP', 'bitmap:port', 'Kubernetes nodeport TCP port with externalTrafficPolicy=local'),
  nodePortLocalUDP: def('KUBE-NODE-PORT-LOCAL-UDP', 'bitmap:port', 'Kubernetes nodeport UDP port with externalTrafficPolicy=local'),
  nodePortLocalSCTP: def('KUBE-NODE-PORT-LOCAL-SCTP-HASH', 'hash:ip,port', 'Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type hash ip:port', 'KUBE-6-NODE-PORT-LOCAL-SCTP-HAS'),
  healthCheckNodePort: def('KUBE-HEALTH-CHECK-NODE-PORT', 'bitmap:port', 'Kubernetes health check node port'),
  // Every address on kube-ipvs0: lets the filter table reject ports no service listens on, which
  // would otherwise reach host daemons bound to 0.0.0.0 through a service VIP.
  ipvsIPs: def('KUBE-IPVS-IPS', 'hash:ip', 'IPVS service addresses'),
};

export const SET_IDS = Object.keys(SET_DEFS) as SetId[];

export function setName(id: SetId, family: IPFamily): string {
  return family === 'IPv4' ? SET_DEFS[id].v4 : SET_DEFS[id].v6;
}

/** Every set name this proxy may create, both families (for cleanup). */
export function allSetNames(): string[] {
  return SET_IDS.flatMap((id) => [SET_DEFS[id].v4, SET_DEFS[id].v6]);
}

/**
 * Sets kube-proxy created that this version does not: upstream v1.26's KUBE-LOAD-BALANCER-SOURCE-IP
 * (we allow the node's own LB traffic through KUBE-LOAD-BALANCER-SOURCE-CIDR instead) and the v6
 * names earlier versions of this proxy used. Full syncs destroy them once our rules no longer
 * reference them; --cleanup and a mode switch too.
 */
export const STALE_SET_NAMES: readonly string[] = [
  'KUBE-LOAD-BALANCER-SOURCE-IP',
  'KUBE-6-LOAD-BALANCER-SOURCE-IP',
  'KUBE-6-LOAD-BALANCER-SRC-CIDR',
  'KUBE-6-NODE-PORT-LOCAL-SCTP',
];

/** Set name → entries, in ipset's text form ("10.0.0.1,tcp:80", "30080", ...). */
export type Membership = Map<string, Set<string>>;

const ipPort = (ip: string, sp: Pick<ServicePort, 'protocol'>, port: number): string =>
  `${ip},${sp.protocol.toLowerCase()}:${port}`;

/** The membership of every set for one family. Empty sets are present (so they get created). */
export function buildMembership(state: ProxyState, family: IPFamily, nodePortIPs: readonly string[]): Membership {
  const m: Membership = new Map(SET_IDS.map((id) => [setName(id, family), new Set<string>()]));
  for (const sp of state.services.values()) {
    for (const [name, entry] of serviceMembership(sp, state.endpoints.get(sp.key) ?? [], state.node, family, nodePortIPs)) m.get(name)?.add(entry);
  }
  return m;
}

/** One service port's entries, as [set name, entry] (an entry may repeat; sets are sets). */
export function serviceMembership(
  sp: ServicePort,
  allEndpoints: readonly Endpoint[],
  node: NodeInfo,
  family: IPFamily,
  nodePortIPs: readonly string[],
): [string, string][] {
  const out: [string, string][] = [];
  const add = (id: SetId, entry: string): void => void out.push([setName(id, family), entry]);
  {
    const eps = endpointsOfFamily(allEndpoints, family);
    const local = externalPolicyLocal(sp);
    // NodePorts belong to the families the service has (a single-stack IPv4 service has no IPv6
    // NodePort virtual servers, so its port must not open or masquerade anything over IPv6).
    const ofFamily = clusterIPsOf(sp, family).length > 0;
    for (const ip of clusterIPsOf(sp, family)) {
      add('clusterIP', ipPort(ip, sp, sp.port));
      add('ipvsIPs', ip);
    }
    // Hairpin: a local endpoint reaching itself through the service must be masqueraded, or the
    // reply would bypass IPVS. Post-IPVS, dst is the endpoint, so the entry is ep,port,ep.
    for (const ep of categorizeEndpoints(sp, eps, node).allReachableEndpoints) {
      if (ep.isLocal) add('loopBack', `${ep.ip},${sp.protocol.toLowerCase()}:${ep.port},${ep.ip}`);
    }
    for (const ip of ipsOfFamily(sp.externalIPs, family)) {
      add('externalIP', ipPort(ip, sp, sp.port));
      add('ipvsIPs', ip);
      if (local) add('externalIPLocal', ipPort(ip, sp, sp.port));
    }
    for (const ip of ipsOfFamily(sp.loadBalancerIPs, family)) {
      const e = ipPort(ip, sp, sp.port);
      add('loadBalancer', e);
      add('ipvsIPs', ip);
      if (local) add('loadBalancerLocal', e);
      const ranges = sp.loadBalancerSourceRanges.filter((c) => ipFamily(c.split('/')[0] ?? '') === family);
      if (ranges.length === 0) continue;
      add('loadBalancerFW', e);
      for (const cidr of ranges) add('loadBalancerSourceCIDR', `${e},${cidr}`);
      // Like upstream iptables mode: when the node itself is inside a range, traffic the node
      // sends to the LB IP (sourced from the VIP on kube-ipvs0) is allowed too.
      if (node.addresses.some((n) => cidrsContain(ranges, n))) {
        add('loadBalancerSourceCIDR', `${e},${ip}/${family === 'IPv4' ? 32 : 128}`);
      }
    }
    if (sp.nodePort !== 0 && ofFamily) {
      switch (sp.protocol) {
        case 'TCP':
          add('nodePortTCP', String(sp.nodePort));
          if (local) add('nodePortLocalTCP', String(sp.nodePort));
          break;
        case 'UDP':
          add('nodePortUDP', String(sp.nodePort));
          if (local) add('nodePortLocalUDP', String(sp.nodePort));
          break;
        case 'SCTP':
          for (const ip of nodePortIPs) {
            add('nodePortSCTP', ipPort(ip, sp, sp.nodePort));
            if (local) add('nodePortLocalSCTP', ipPort(ip, sp, sp.nodePort));
          }
          break;
      }
    }
    if (sp.healthCheckNodePort !== 0 && local && ofFamily) add('healthCheckNodePort', String(sp.healthCheckNodePort));
  }
  return out;
}

/**
 * `ipset restore` input for a partial sync: only the entries that appeared (`add`) and went
 * (`del`), after the create lines (-exist makes them no-ops for existing sets).
 */
export function renderIpsetDelta(family: IPFamily, add: readonly (readonly [string, string])[], del: readonly (readonly [string, string])[]): string {
  const lines: string[] = [];
  for (const id of SET_IDS) lines.push(createLine(id, family));
  for (const [name, e] of del) lines.push(`del ${name} ${e}`);
  for (const [name, e] of add) lines.push(`add ${name} ${e}`);
  return lines.join('\n') + '\n';
}

function createLine(id: SetId, family: IPFamily): string {
  const d = SET_DEFS[id];
  const opts = d.type.startsWith('bitmap:')
    ? 'range 0-65535'
    : `family ${family === 'IPv4' ? 'inet' : 'inet6'} hashsize 1024 maxelem 65536`;
  return `create ${setName(id, family)} ${d.type} ${opts}`;
}

/**
 * `ipset restore` input (run with -exist, so creates and adds are idempotent and deleting a
 * missing entry is not an error). Sets missing from `previous` (or all, without it) are flushed
 * and refilled; otherwise only the differences are written, so a partial sync is O(change).
 * Restore applies lines one at a time, so a flush empties a set for the whole refill: the
 * dataplane therefore passes the kernel's own membership (`ipset save`) on full syncs, and only
 * sets that do not exist yet are flushed.
 */
export function renderIpsetRestore(family: IPFamily, next: Membership, previous?: Membership): string {
  const lines: string[] = [];
  for (const id of SET_IDS) lines.push(createLine(id, family));
  for (const id of SET_IDS) {
    const name = setName(id, family);
    const want = next.get(name) ?? new Set<string>();
    const had = previous?.get(name);
    if (!had) {
      lines.push(`flush ${name}`);
      for (const e of [...want].sort()) lines.push(`add ${name} ${e}`);
      continue;
    }
    for (const e of [...had].filter((e) => !want.has(e)).sort()) lines.push(`del ${name} ${e}`);
    for (const e of [...want].filter((e) => !had.has(e)).sort()) lines.push(`add ${name} ${e}`);
  }
  return lines.join('\n') + '\n';
}

/** Parse `ipset save` output into membership (our sets only when `names` is given). */
export function parseIpsetSave(text: string, names?: ReadonlySet<string>): Membership {
  const m: Membership = new Map();
  for (const line of text.split('\n')) {
    const t = line.trim().split(/\s+/);
    if (t[0] === 'create' && t[1] && (!names || names.has(t[1]))) {
      if (!m.has(t[1])) m.set(t[1], new Set());
    } else if (t[0] === 'add' && t[1] && t[2] && (!names || names.has(t[1]))) {
      const set = m.get(t[1]) ?? new Set<string>();
      set.add(t[2]);
      m.set(t[1], set);
    }
  }
  return m;
}
