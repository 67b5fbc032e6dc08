// PURE: the iptables rules IPVS mode still needs (masquerade, hairpin, source ranges, NodePort
// acceptance), as one `iptables-restore --noflush` payload per family. Membership lives in ipsets,
// so every chain here has a constant number of rules and is rewritten whole on every sync.
//
// Services without endpoints: upstream IPVS has no REJECT rule for them and neither do we. The VS
// exists with no real servers, so IPVS cannot schedule the packet and (ip_vs_leave) answers it
// itself with ICMP port unreachable and drops it, for TCP and UDP alike: a client's connect fails
// with ECONNREFUSED, as REJECT would make it (test/ipvs-guest checks this against the kernel).
// Ports of a VIP that no service uses are REJECTed by KUBE-IPVS-FILTER.

import type { ModeChains } from '../iptables/handover.js';
import { commentArgs } from '../iptables/names.js';
import { masqueradeMark, type LocalDetector } from '../iptables/options.js';
import { normalizeRule, ruleTarget, type SavedTables } from '../iptables/save-parse.js';
import type { IPFamily } from '../../proxy/model/types.js';
import { setName, type SetId } from './ipsets.js';

export interface IpvsRuleOptions {
  readonly family: IPFamily;
  readonly masqueradeBit: number;
  readonly masqueradeAll: boolean;
  /** How to tell pod traffic from the rest; undefined: cluster-IP masquerade only with masqueradeAll. */
  readonly localDetector: LocalDetector | undefined;
  /** Drop ctstate INVALID in KUBE-FORWARD (not when nf_conntrack_tcp_be_liberal is set). */
  readonly dropInvalid: boolean;
}

type TableName = 'nat' | 'filter';

/** Chains this mode owns, per table, in the order they are declared. */
export const IPVS_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  nat: ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'],
  filter: ['KUBE-FORWARD', 'KUBE-NODE-PORT', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER'],
};

export interface IpvsJump {
  readonly table: TableName;
  readonly from: string;
  readonly to: string;
  readonly rule: string;
}

const NEW = '-m conntrack --ctstate NEW';

/** Jumps from built-in chains, in the order they should appear at the top of each chain. */
export const IPVS_JUMPS: readonly IpvsJump[] = [
  j('nat', 'PREROUTING', 'KUBE-SERVICES', 'kubernetes service portals'),
  j('nat', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals'),
  j('nat', 'POSTROUTING', 'KUBE-POSTROUTING', 'kubernetes postrouting rules'),
  j('filter', 'INPUT', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules', NEW),
  j('filter', 'INPUT', 'KUBE-NODE-PORT', 'kubernetes health check rules'),
  j('filter', 'INPUT', 'KUBE-IPVS-FILTER', 'kubernetes ipvs access filter'),
  j('filter', 'FORWARD', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules', NEW),
  j('filter', 'FORWARD', 'KUBE-FORWARD', 'kubernetes forwarding rules'),
  j('filter', 'OUTPUT', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules', NEW),
];

/**
 * Upstream kube-proxy v1.26's IPVS-mode jumps where they differ from ours (its firewall jumps have
 * no ctstate NEW and it has none in OUTPUT), as captured in shared/fixtures/upstream-1.26/ipvs.
 * Taking over a node from upstream replaces them with ours; any other rule is foreign.
 */
export const UPSTREAM_IPVS_JUMPS: readonly IpvsJump[] = [
  j('filter', 'INPUT', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'),
  j('filter', 'FORWARD', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'),
];

/** IPVS mode's iptables objects by name, for a mode switch (modes/iptables/handover.ts). */
export const IPVS_MODE_CHAINS: ModeChains = { chains: IPVS_CHAINS, jumps: IPVS_JUMPS, variants: UPSTREAM_IPVS_JUMPS };

function j(table: TableName, from: string, to: string, comment: string, extra = ''): IpvsJump {
  return { table, from, to, rule: `${extra ? extra + ' ' : ''}${commentArgs(comment)} -j ${to}` };
}

/** The rules of every owned chain, by "table/chain". */
export function ipvsChainRules(o: IpvsRuleOptions): Map<string, string[]> {
  const s = (id: SetId): string => setName(id, o.family);
  const mark = masqueradeMark(o.masqueradeBit);
  const c = commentArgs;
  const match = (id: SetId, dirs: string): string => `-m set --match-set ${s(id)} ${dirs}`;

  const services: string[] = [];
  const clusterMasq = `${c('Kubernetes service cluster ip + port for masquerade purpose')} ${match('clusterIP', 'dst,dst')}`;
  if (o.masqueradeAll) services.push(`${clusterMasq} -j KUBE-MARK-MASQ`);
  else if (o.localDetector) services.push(`${o.localDetector.ifNotLocal} ${clusterMasq} -j KUBE-MARK-MASQ`);
  services.push(
    // Local policy keeps the client address, so those external IPs skip the masquerade mark.
    `${c('Kubernetes service external ip + port with externalTrafficPolicy=local')} ${match('externalIPLocal', 'dst,dst')} -j ACCEPT`,
    `${c('Kubernetes service external ip + port for masquerade and filter purpose')} ${match('externalIP', 'dst,dst')} -j KUBE-MARK-MASQ`,
    `${c('Kubernetes service lb portal')} ${match('loadBalancer', 'dst,dst')} -j KUBE-LOAD-BALANCER`,
    // Stop here for service addresses so no later nat rule (e.g. a CNI's) rewrites them before IPVS.
    `${match('clusterIP', 'dst,dst')} -j ACCEPT`,
    `${match('externalIP', 'dst,dst')} -j ACCEPT`,
    `${match('loadBalancer', 'dst,dst')} -j ACCEPT`,
    `${c('kubernetes service nodeports; NOTE: this must be the last rule in this chain')} -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT`,
  );

  const natNodePort: string[] = [];
  const filterNodePort: string[] = [
    `${c('Kubernetes health check node port')} ${match('healthCheckNodePort', 'dst')} -j ACCEPT`,
  ];
  const byProto: ReadonlyArray<readonly [string, SetId, SetId, string]> = [
    ['tcp', 'nodePortLocalTCP', 'nodePortTCP', 'dst'],
    ['udp', 'nodePortLocalUDP', 'nodePortUDP', 'dst'],
    ['sctp', 'nodePortLocalSCTP', 'nodePortSCTP', 'dst,dst'],
  ];
  for (const [p, localSet, set, dirs] of byProto) {
    const P = p.toUpperCase();
    natNodePort.push(
      `-p ${p} ${c(`Kubernetes nodeport ${P} port with externalTrafficPolicy=local`)} ${match(localSet, dirs)} -j RETURN`,
      `-p ${p} ${c(`Kubernetes nodeport ${P} port for masquerade purpose`)} ${match(set, dirs)} -j KUBE-MARK-MASQ`,
    );
    filterNodePort.push(`-p ${p} ${c(`Kubernetes nodeport ${P} port`)} ${match(set, dirs)} -j ACCEPT`);
  }

  return new Map<string, string[]>([
    ['nat/KUBE-SERVICES', services],
    ['nat/KUBE-POSTROUTING', [
      `${c('Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose')} ${match('loopBack', 'dst,dst,src')} -j MASQUERADE`,
      `-m mark ! --mark ${mark}/${mark} -j RETURN`,
      // Clear the bit so a re-traversal (e.g. through a tunnel) is not masqueraded twice.
      `-j MARK --xor-mark ${mark}`,
      `${c('kubernetes service traffic requiring SNAT')} -j MASQUERADE --random-fully`,
    ]],
    ['nat/KUBE-NODE-PORT', natNodePort],
    ['nat/KUBE-LOAD-BALANCER', [
      `${c('Kubernetes service load balancer ip + port with externalTrafficPolicy=local')} ${match('loadBalancerLocal', 'dst,dst')} -j RETURN`,
      '-j KUBE-MARK-MASQ',
    ]],
    ['nat/KUBE-MARK-MASQ', [`-j MARK --or-mark ${mark}`]],
    ['filter/KUBE-FORWARD', [
      ...(o.dropInvalid ? ['-m conntrack --ctstate INVALID -j DROP'] : []),
      `${c('kubernetes forwarding rules')} -m mark --mark ${mark}/${mark} -j ACCEPT`,
      `${c('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    ]],
    ['filter/KUBE-NODE-PORT', filterNodePort],
    // Source ranges are enforced in filter, which runs before IPVS in LOCAL_IN, so a dropped
    // packet never reaches a real server. (Older upstream used nat KUBE-FIREWALL + KUBE-MARK-DROP,
    // which relied on kubelet's DROP rule for the mark; kubelet no longer installs it.)
    ['filter/KUBE-PROXY-FIREWALL', [
      `${c('Kubernetes service load balancer ip + port for load balancer with sourceRange')} ${match('loadBalancerFW', 'dst,dst')} -j KUBE-SOURCE-RANGES-FIREWALL`,
    ]],
    ['filter/KUBE-SOURCE-RANGES-FIREWALL', [
      `${c('Kubernetes service load balancer ip + port + source cidr for packet filter purpose')} ${match('loadBalancerSourceCIDR', 'dst,dst,src')} -j RETURN`,
      '-j DROP',
    ]],
    ['filter/KUBE-IPVS-FILTER', [
      `${match('loadBalancer', 'dst,dst')} -j RETURN`,
      `${match('clusterIP', 'dst,dst')} -j RETURN`,
      `${match('externalIP', 'dst,dst')} -j RETURN`,
      `${match('healthCheckNodePort', 'dst')} -j RETURN`,
      `${c('reject traffic to unknown ports of service addresses')} ${NEW} ${match('ipvsIPs', 'dst')} -j REJECT`,
    ]],
  ]);
}

const variantKeys = new Set(UPSTREAM_IPVS_JUMPS.filter((v) => !IPVS_JUMPS.some((o) => o.from === v.from && normalizeRule(o.rule) === normalizeRule(v.rule))).map((v) => `${v.table} ${v.from} ${normalizeRule(v.rule)}`));
const isVariant = (table: string, from: string, rule: string): boolean => variantKeys.has(`${table} ${from} ${rule}`);

/**
 * Jumps missing from the built-in chains, found in `saved` (iptables-save of nat and filter) by
 * target, as `-I <chain> 1 ...` lines. Emitted in reverse so repeated inserts at position 1 leave
 * them in IPVS_JUMPS order. Matching by target keeps a jump another mode wrote into a shared
 * chain working until that mode's leftovers are removed; upstream's spellings (staleJumps) do
 * not count, as they are replaced in the same restore.
 */
export function missingJumps(saved: SavedTables): IpvsJump[] {
  return IPVS_JUMPS.filter((jp) => {
    const chain = saved.get(jp.table)?.get(jp.from);
    return !chain?.rules.some((r) => ruleTarget(r) === jp.to && !isVariant(jp.table, jp.from, r));
  });
}

/** Upstream's spellings of our jumps found in `saved` (a takeover from upstream's IPVS mode). */
export function staleJumps(saved: SavedTables): IpvsJump[] {
  const out: IpvsJump[] = [];
  for (const table of ['filter', 'nat'] as const) {
    for (const chain of saved.get(table)?.values() ?? []) {
      if (chain.policy === '-') continue;
      for (const r of chain.rules) {
        const to = ruleTarget(r);
        if (to && isVariant(table, chain.name, r)) out.push({ table, from: chain.name, to, rule: r });
      }
    }
  }
  return out;
}

/**
 * One atomic payload: declaring a chain under --noflush flushes it, so every owned chain is
 * rewritten whole; `insert` jumps (from missingJumps on full syncs) hook them into the built-ins,
 * in the same transaction as `remove` (staleJumps) unhooks upstream's spelling of them.
 */
export function renderIpvsIptables(o: IpvsRuleOptions, insert: readonly IpvsJump[] = [], remove: readonly IpvsJump[] = []): string {
  const rules = ipvsChainRules(o);
  const out: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    out.push(`*${table}`);
    for (const chain of IPVS_CHAINS[table]) out.push(`:${chain} - [0:0]`);
    for (const jp of remove) if (jp.table === table) out.push(`-D ${jp.from} ${jp.rule}`);
    for (const jp of [...insert].reverse()) if (jp.table === table) out.push(`-I ${jp.from} 1 ${jp.rule}`);
    for (const chain of IPVS_CHAINS[table]) {
      for (const r of rules.get(`${table}/${chain}`) ?? []) out.push(`-A ${chain} ${r}`);
    }
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

/**
 * Cleanup payload from iptables-save output: delete every rule outside our chains that jumps into
 * them, then flush and delete the chains that exist. Undefined when there is nothing to do.
 */
export function renderIpvsIptablesCleanup(saved: SavedTables): string | undefined {
  const out: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    const t = saved.get(table);
    if (!t) continue;
    const ours = new Set(IPVS_CHAINS[table].filter((c) => t.has(c)));
    if (ours.size === 0) continue;
    out.push(`*${table}`);
    for (const chain of ours) out.push(`:${chain} - [0:0]`);
    for (const chain of t.values()) {
      if (ours.has(chain.name)) continue;
      for (const r of chain.rules) {
        const target = ruleTarget(r);
        if (target && ours.has(target)) out.push(`-D ${chain.name} ${r}`);
      }
    }
    for (const chain of ours) out.push(`-X ${chain}`);
    out.push('COMMIT');
  }
  return out.length ? out.join('\n') + '\n' : undefined;
}
