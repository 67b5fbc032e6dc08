// "Portals": the nat rules that steer service traffic into the userspace proxy's listeners, under
// upstream's userspace chain names. Pure rendering of iptables-restore input; dataplane.ts applies
// it with --noflush, so only our own chains are rewritten and foreign rules are never touched.
//
//   PREROUTING → KUBE-PORTALS-CONTAINER   traffic from pods/outside to ClusterIPs, external/LB IPs
//   OUTPUT     → KUBE-PORTALS-HOST        the same, originated on this host
//   PREROUTING → KUBE-NODEPORT-CONTAINER  (dst-type LOCAL) NodePorts from pods/outside
//   OUTPUT     → KUBE-NODEPORT-HOST       (dst-type LOCAL) NodePorts from this host, incl. localhost
//
// CONTAINER chains REDIRECT (the packet goes to the incoming interface's address, which a wildcard
// listener accepts). HOST chains DNAT to the loopback address (what REDIRECT does in OUTPUT, spelt
// out so that the rule reads the same for node IPs and 127.0.0.1). When the listener is bound to
// one specific address both kinds DNAT to that address instead.

import type { IPFamily } from '../../proxy/model/types.js';
import { parseSave, ruleTarget, type SavedChain } from '../iptables/save-parse.js';

export const PORTALS_CONTAINER = 'KUBE-PORTALS-CONTAINER';
export const PORTALS_HOST = 'KUBE-PORTALS-HOST';
export const NODEPORT_CONTAINER = 'KUBE-NODEPORT-CONTAINER';
export const NODEPORT_HOST = 'KUBE-NODEPORT-HOST';
export const USERSPACE_CHAINS = [PORTALS_CONTAINER, PORTALS_HOST, NODEPORT_CONTAINER, NODEPORT_HOST] as const;

/** What one service port's listener needs steered to it, for one IP family. */
export interface Portal {
  /** `namespace/name:port`, used as the rule comment. */
  readonly key: string;
  readonly protocol: 'TCP' | 'UDP';
  readonly listenerPort: number;
  /**
   * Listener for host-originated traffic (HOST chains), when it differs from `listenerPort`: a UDP
   * listener bound to the loopback address the HOST rules DNAT to, so that its replies leave with
   * exactly that source address and conntrack can un-DNAT them (a wildcard-bound UDP socket would
   * answer from the node IP the kernel picks for the client, which matches no conntrack entry).
   */
  readonly hostListenerPort?: number;
  /**
   * For traffic from pods/outside (CONTAINER chains): DNAT to this listener bound to one node
   * address instead of REDIRECT. Used for UDP, whose replies must leave with exactly the address
   * the packet was redirected to: REDIRECT picks the incoming interface's first address (for IPv6
   * pod veths often only a link-local fe80::), which a wildcard socket does not answer from.
   */
  readonly containerListener?: { readonly address: string; readonly port: number };
  readonly port: number;
  /** Cluster, external and load-balancer IPs of this family. */
  readonly clusterIPs: readonly string[];
  readonly externalIPs: readonly string[];
  readonly loadBalancerIPs: readonly string[];
  /** 0 = none. */
  readonly nodePort: number;
}

export interface PortalTarget {
  readonly family: IPFamily;
  /**
   * The listeners' bind address, or undefined when they listen on a wildcard (REDIRECT + loopback
   * DNAT is used then).
   */
  readonly listenAddress?: string;
}

export interface JumpRule {
  readonly chain: 'PREROUTING' | 'OUTPUT';
  readonly target: (typeof USERSPACE_CHAINS)[number];
  /** Rule spec after `-A <chain>`. */
  readonly spec: string;
}

/** Portal chains are consulted first, NodePort chains last, as upstream ordered them. */
export const JUMP_RULES: readonly JumpRule[] = [
  { chain: 'PREROUTING', target: PORTALS_CONTAINER, spec: `-m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j ${PORTALS_CONTAINER}` },
  { chain: 'OUTPUT', target: PORTALS_HOST, spec: `-m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j ${PORTALS_HOST}` },
  { chain: 'PREROUTING', target: NODEPORT_CONTAINER, spec: `-m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j ${NODEPORT_CONTAINER}` },
  { chain: 'OUTPUT', target: NODEPORT_HOST, spec: `-m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j ${NODEPORT_HOST}` },
];

/** Make an object name safe inside a double-quoted iptables comment (max 256 characters). */
export function sanitizeComment(text: string): string {
  return text.replace(/[^A-Za-z0-9._/:@-]/g, '_').slice(0, 256);
}

function hostAddress(ip: string, family: IPFamily): string {
  return `${ip}/${family === 'IPv4' ? 32 : 128}`;
}

function dnatDestination(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export function loopback(family: IPFamily): string {
  return family === 'IPv4' ? '127.0.0.1' : '::1';
}

/** The rule lines (without chain declarations) for all portals, in a stable order. */
export function renderPortalRules(portals: readonly Portal[], target: PortalTarget): string[] {
  const sorted = [...portals].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.protocol < b.protocol ? -1 : 1));
  const lines: string[] = [];
  for (const p of sorted) {
    const proto = p.protocol.toLowerCase();
    const match = `-p ${proto} -m comment --comment "${sanitizeComment(p.key)}" -m ${proto}`;
    const container =
      target.listenAddress !== undefined
        ? `-j DNAT --to-destination ${dnatDestination(target.listenAddress, p.listenerPort)}`
        : p.containerListener !== undefined
          ? `-j DNAT --to-destination ${dnatDestination(p.containerListener.address, p.containerListener.port)}`
          : `-j REDIRECT --to-ports ${p.listenerPort}`;
    const hostPort = target.listenAddress === undefined ? (p.hostListenerPort ?? p.listenerPort) : p.listenerPort;
    const host = `-j DNAT --to-destination ${dnatDestination(target.listenAddress ?? loopback(target.family), hostPort)}`;
    for (const ip of [...p.clusterIPs, ...p.externalIPs, ...p.loadBalancerIPs]) {
      const dst = `-d ${hostAddress(ip, target.family)}`;
      lines.push(`-A ${PORTALS_CONTAINER} ${dst} ${match} --dport ${p.port} ${container}`);
      lines.push(`-A ${PORTALS_HOST} ${dst} ${match} --dport ${p.port} ${host}`);
    }
    if (p.nodePort !== 0) {
      lines.push(`-A ${NODEPORT_CONTAINER} ${match} --dport ${p.nodePort} ${container}`);
      lines.push(`-A ${NODEPORT_HOST} ${match} --dport ${p.nodePort} ${host}`);
    }
  }
  return lines;
}

/**
 * The full iptables-restore payload for one family: every chain of ours is declared (which flushes
 * it under --noflush) and refilled; `missingJumps` are the jump rules not yet present in the
 * built-in chains.
 */
export function renderPortalsPayload(
  portals: readonly Portal[],
  target: PortalTarget,
  missingJumps: readonly JumpRule[],
): string {
  const lines = ['*nat', ...USERSPACE_CHAINS.map((c) => `:${c} - [0:0]`)];
  lines.push(...renderPortalRules(portals, target));
  lines.push(...missingJumps.map((j) => `-A ${j.chain} ${j.spec}`));
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Jump rules of ours absent from `iptables-save -t nat` output. */
export function missingJumpRules(natSave: string): JumpRule[] {
  const lines = natSave.split('\n');
  return JUMP_RULES.filter(
    (j) => !lines.some((l) => l.startsWith(`-A ${j.chain} `) && new RegExp(`-j ${j.target}(\\s|$)`).test(l)),
  );
}

/** The built-in nat chains our jump rules live in. */
export const JUMP_CHAINS = ['PREROUTING', 'OUTPUT'] as const;

/** What the userspace cleanup needs to know of one family's nat table. */
export interface PortalsLeftovers {
  /** The built-in chains (JUMP_CHAINS) as found; one the table lacks is left out. */
  readonly builtins: readonly SavedChain[];
  /** Which of USERSPACE_CHAINS exist. */
  readonly present: readonly string[];
}

/**
 * The payload that removes everything of ours in `found`: each jump rule is deleted by its saved
 * spec, then our chains are flushed and deleted. Undefined when there is nothing to remove.
 */
export function portalsCleanupPayload(found: PortalsLeftovers): string | undefined {
  const ours = new Set<string>(USERSPACE_CHAINS);
  const deletes: string[] = [];
  for (const c of found.builtins) {
    for (const r of c.rules) {
      const t = ruleTarget(r);
      if (t !== undefined && ours.has(t)) deletes.push(`-D ${c.name} ${r}`);
    }
  }
  const present = USERSPACE_CHAINS.filter((c) => found.present.includes(c));
  if (deletes.length === 0 && present.length === 0) return undefined;
  return [
    '*nat',
    ...present.map((c) => `:${c} - [0:0]`),
    ...deletes,
    ...present.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
}

/** The same from `iptables-save -t nat` output. */
export function renderPortalsCleanup(natSave: string): string | undefined {
  const nat = parseSave(natSave).get('nat') ?? new Map<string, SavedChain>();
  return portalsCleanupPayload({
    builtins: JUMP_CHAINS.flatMap((c) => nat.get(c) ?? []),
    present: USERSPACE_CHAINS.filter((c) => nat.has(c)),
  });
}
