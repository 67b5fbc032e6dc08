// The fixed part of the iptables layout, declared as data: which chains we own in each table, the
// jump rules that hook them into the built-in chains, and their static rules. Mirrors upstream
// kube-proxy's iptablesJumpChains / static rules so the result reads the same under iptables-save.

import { commentArgs } from '../names.js';
import { masqueradeMark, type RenderOptions } from '../options.js';
import type { Rule } from './types.js';

export type OwnedTable = 'nat' | 'filter' | 'mangle';

export const CANARY_CHAIN = 'KUBE-PROXY-CANARY';
/** kubelet creates KUBE-FIREWALL too, so it is written but never deleted. */
export const LOCALNET_FIREWALL_CHAIN = 'KUBE-FIREWALL';

/** Fixed chains this proxy owns (created on every full sync, deleted by cleanup). */
export const OWNED_CHAINS: Readonly<Record<OwnedTable, readonly string[]>> = {
  nat: ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ', CANARY_CHAIN],
  filter: ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL', CANARY_CHAIN],
  mangle: [CANARY_CHAIN],
};

export interface JumpRule {
  readonly table: 'nat' | 'filter';
  readonly from: string;
  readonly to: string;
  readonly rule: Rule;
}

function jump(table: 'nat' | 'filter', from: string, to: string, comment: string, extra = ''): JumpRule {
  return { table, from, to, rule: `${extra ? extra + ' ' : ''}${commentArgs(comment)} -j ${to}` };
}

const NEW = '-m conntrack --ctstate NEW';

/** Jumps from the built-in chains, in the order they must appear at the top of each chain. */
export function jumpRules(o: Pick<RenderOptions, 'localhostNodePorts'>): JumpRule[] {
  const out: JumpRule[] = [
    jump('filter', 'INPUT', 'KUBE-PROXY-FIREWALL', 'kubernetes load balancer firewall', NEW),
    jump('filter', 'INPUT', 'KUBE-NODEPORTS', 'kubernetes health check service ports'),
    jump('filter', 'INPUT', 'KUBE-EXTERNAL-SERVICES', 'kubernetes externally-visible service portals', NEW),
    jump('filter', 'FORWARD', 'KUBE-PROXY-FIREWALL', 'kubernetes load balancer firewall', NEW),
    jump('filter', 'FORWARD', 'KUBE-FORWARD', 'kubernetes forwarding rules'),
    jump('filter', 'FORWARD', 'KUBE-SERVICES', 'kubernetes service portals', NEW),
    jump('filter', 'FORWARD', 'KUBE-EXTERNAL-SERVICES', 'kubernetes externally-visible service portals', NEW),
    jump('filter', 'OUTPUT', 'KUBE-PROXY-FIREWALL', 'kubernetes load balancer firewall', NEW),
    jump('filter', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals', NEW),
    jump('nat', 'PREROUTING', 'KUBE-SERVICES', 'kubernetes service portals'),
    jump('nat', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals'),
    jump('nat', 'POSTROUTING', 'KUBE-POSTROUTING', 'kubernetes postrouting rules'),
  ];
  if (o.localhostNodePorts) {
    // Localnet protection (CVE-2020-8558) the way kubelet also installs it.
    out.push({ table: 'filter', from: 'INPUT', to: LOCALNET_FIREWALL_CHAIN, rule: `-j ${LOCALNET_FIREWALL_CHAIN}` });
    out.push({ table: 'filter', from: 'OUTPUT', to: LOCALNET_FIREWALL_CHAIN, rule: `-j ${LOCALNET_FIREWALL_CHAIN}` });
  }
  return out;
}

/** Static rules of the fixed chains, by table and chain (nat KUBE-SERVICES gets its tail rule separately). */
export function staticRules(o: RenderOptions): Map<string, Rule[]> {
  const mark = masqueradeMark(o.masqueradeBit);
  const rules = new Map<string, Rule[]>([
    ['nat/KUBE-POSTROUTING', [
      `-m mark ! --mark ${mark}/${mark} -j RETURN`,
      // Clear the bit so a re-traversal (e.g. through a tunnel) is not masqueraded twice.
      `-j MARK --xor-mark ${mark}`,
      `${commentArgs('kubernetes service traffic requiring SNAT')} -j MASQUERADE --random-fully`,
    ]],
    ['nat/KUBE-MARK-MASQ', [`-j MARK --or-mark ${mark}`]],
    ['filter/KUBE-FORWARD', [
      ...(o.dropInvalid ? ['-m conntrack --ctstate INVALID -j DROP'] : []),
      `${commentArgs('kubernetes forwarding rules')} -m mark --mark ${mark}/${mark} -j ACCEPT`,
      `${commentArgs('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    ]],
  ]);
  if (o.localhostNodePorts) {
    rules.set(`filter/${LOCALNET_FIREWALL_CHAIN}`, [
      `${commentArgs('block incoming localnet connections')} -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    ]);
  }
  return rules;
}

/**
 * The last rule of nat KUBE-SERVICES: hand local destinations to KUBE-NODEPORTS. It must stay
 * last so cluster IPs that are also local addresses are matched as services first.
 */
export function nodePortsJumpRules(o: RenderOptions): Rule[] {
  const c = commentArgs('kubernetes service nodeports; NOTE: this must be the last rule in this chain');
  if (o.nodePortAddresses === 'all') {
    // Localhost NodePorts never work on IPv6 and only work on IPv4 with route_localnet.
    const notLoopback = o.family === 'IPv6' ? ' ! -d ::1/128' : o.localhostNodePorts ? '' : ' ! -d 127.0.0.0/8';
    return [`${c} -m addrtype --dst-type LOCAL${notLoopback} -j KUBE-NODEPORTS`];
  }
  const hostPrefix = o.family === 'IPv6' ? 128 : 32;
  return o.nodePortAddresses
    .filter((ip) => o.localhostNodePorts || !(ip.startsWith('127.') || ip === '::1'))
    .map((ip) => `${c} -d ${ip}/${hostPrefix} -j KUBE-NODEPORTS`);
}

/** The fixed filter chains written on a full sync, including KUBE-FIREWALL when it is used. */
export function fixedChains(o: RenderOptions, table: OwnedTable): string[] {
  const chains = [...OWNED_CHAINS[table]];
  if (table === 'filter' && o.localhostNodePorts) chains.push(LOCALNET_FIREWALL_CHAIN);
  return chains;
}
