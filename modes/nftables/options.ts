// The per-family inputs of nftables rendering, derived from ProxyConfig and NodeInfo in one pure
// function, so the renderer never looks at configuration or the host.

import type { ProxyConfig } from '../../proxy/config/types.js';
import { ipFamily } from '../../proxy/model/ip.js';
import { ipsOfFamily } from '../../proxy/model/family.js';
import type { IPFamily, NodeInfo } from '../../proxy/model/types.js';
import { selectNodePortAddresses } from '../../proxy/node-ips.js';

/** How pod traffic is recognised: a source CIDR or an input interface (name or prefix+). */
export type LocalMatch = { readonly kind: 'cidr'; readonly cidr: string } | { readonly kind: 'iif'; readonly name: string };

export interface NftRenderOptions {
  readonly family: IPFamily;
  readonly masqueradeMark: number;
  readonly masqueradeAll: boolean;
  readonly local: LocalMatch | undefined;
  /** 'all': any local destination (`fib daddr type local`, loopback excluded). */
  readonly nodePortAddresses: 'all' | readonly string[];
  readonly nodeIPs: readonly string[];
}

export interface NftOptionInputs {
  readonly config: ProxyConfig;
  readonly node: NodeInfo;
  readonly family: IPFamily;
  readonly nodeIPs?: readonly string[];
  readonly localAddresses?: readonly string[];
}

export function buildNftOptions(inp: NftOptionInputs): NftRenderOptions {
  const { config, node, family } = inp;
  const nodeIPs = ipsOfFamily(inp.nodeIPs ?? node.addresses, family);
  // Upstream: an unset --nodeport-addresses means `primary` in nftables mode (`all` elsewhere).
  const selection = config.nodePortAddresses.length === 0 ? ['primary'] : config.nodePortAddresses;
  const primary = ipsOfFamily(node.addresses.length ? node.addresses : nodeIPs, family);
  const picked = selectNodePortAddresses(selection, inp.localAddresses ?? [], primary, family);
  return {
    family,
    masqueradeMark: (1 << config.nftables.masqueradeBit) >>> 0,
    masqueradeAll: config.nftables.masqueradeAll,
    local: localMatch(config, node, family),
    // Loopback never accepts NodePorts in nftables mode (upstream, CVE-2020-8558).
    nodePortAddresses: picked === 'all' ? 'all' : picked.filter((ip) => !ip.startsWith('127.') && ip !== '::1'),
    nodeIPs,
  };
}

function localMatch(config: ProxyConfig, node: NodeInfo, family: IPFamily): LocalMatch | undefined {
  const cidrOf = (cidrs: readonly string[]): LocalMatch | undefined => {
    const cidr = cidrs.find((c) => ipFamily(c.split('/')[0] ?? '') === family);
    return cidr ? { kind: 'cidr', cidr } : undefined;
  };
  const iif = (name: string): LocalMatch | undefined => (name && /^[\w.+-]+$/.test(name) ? { kind: 'iif', name } : undefined);
  switch (config.detectLocalMode) {
    case 'ClusterCIDR':
      return cidrOf(config.clusterCIDRs);
    case 'NodeCIDR':
      return cidrOf(node.podCIDRs);
    case 'BridgeInterface':
      return iif(config.detectLocal.bridgeInterface);
    case 'InterfaceNamePrefix':
      return config.detectLocal.interfaceNamePrefix ? iif(config.detectLocal.interfaceNamePrefix + '+') : undefined;
  }
}

const fingerprints = new WeakMap<NftRenderOptions, string>();

/** Options are rebuilt only when their inputs change (see the dataplane), so this text is made once per options object. */
export function nftOptionsFingerprint(o: NftRenderOptions): string {
  let f = fingerprints.get(o);
  if (f === undefined) fingerprints.set(o, (f = JSON.stringify(o)));
  return f;
}
