// The per-family inputs of iptables rendering, derived from ProxyConfig and NodeInfo in one small
// pure function so the renderer itself never looks at configuration or the host.

import type { ProxyConfig } from '../../proxy/config/types.js';
import { ipFamily } from '../../proxy/model/ip.js';
import { ipsOfFamily } from '../../proxy/model/family.js';
import type { IPFamily, NodeInfo } from '../../proxy/model/types.js';
import { selectNodePortAddresses } from '../../proxy/node-ips.js';

/**
 * How to tell pod-originated traffic from the rest: argument strings for "is local" and "is not
 * local". Undefined when the configured mode has nothing to go on (e.g. ClusterCIDR without a
 * CIDR of this family): upstream then simply does not emit the rules that need it.
 */
export interface LocalDetector {
  readonly ifLocal: string;
  readonly ifNotLocal: string;
}

export interface RenderOptions {
  readonly family: IPFamily;
  readonly masqueradeBit: number;
  readonly masqueradeAll: boolean;
  readonly localDetector: LocalDetector | undefined;
  /** 'all' matches any local destination (`-m addrtype --dst-type LOCAL`). */
  readonly nodePortAddresses: 'all' | readonly string[];
  /** Accept NodePorts on 127.0.0.0/8 (IPv4 only; needs route_localnet). */
  readonly localhostNodePorts: boolean;
  /** The node's own IPs of this family, for the LB-source-range "allow from node" rule. */
  readonly nodeIPs: readonly string[];
  /** Drop ctstate INVALID in KUBE-FORWARD (skipped when nf_conntrack_tcp_be_liberal is set). */
  readonly dropInvalid: boolean;
}

export interface OptionInputs {
  readonly config: ProxyConfig;
  readonly node: NodeInfo;
  readonly family: IPFamily;
  /** The node's primary IPs (defaults to node.addresses). */
  readonly nodeIPs?: readonly string[];
  /** Addresses on this host's interfaces, for CIDR-valued --nodeport-addresses. */
  readonly localAddresses?: readonly string[];
}

export function buildRenderOptions(inp: OptionInputs): RenderOptions {
  const { config, node, family } = inp;
  const nodeIPs = ipsOfFamily(inp.nodeIPs ?? node.addresses, family);
  const nodePortAddresses = selectNodePortAddresses(
    config.nodePortAddresses,
    inp.localAddresses ?? [],
    nodeIPs,
    family,
  );
  const loopbackSelected =
    nodePortAddresses === 'all' || nodePortAddresses.some((ip) => ip.startsWith('127.'));
  return {
    family,
    masqueradeBit: config.iptables.masqueradeBit,
    masqueradeAll: config.iptables.masqueradeAll,
    localDetector: localDetectorFor(config, node, family),
    nodePortAddresses,
    localhostNodePorts: family === 'IPv4' && config.iptables.localhostNodePorts && loopbackSelected,
    nodeIPs,
    dropInvalid: !config.conntrack.tcpBeLiberal,
  };
}

export function localDetectorFor(config: ProxyConfig, node: NodeInfo, family: IPFamily): LocalDetector | undefined {
  switch (config.detectLocalMode) {
    case 'ClusterCIDR':
      return cidrDetector(config.clusterCIDRs, family);
    case 'NodeCIDR':
      return cidrDetector(node.podCIDRs, family);
    case 'BridgeInterface':
      return interfaceDetector(config.detectLocal.bridgeInterface);
    case 'InterfaceNamePrefix': {
      const prefix = config.detectLocal.interfaceNamePrefix;
      return prefix ? interfaceDetector(prefix + '+') : undefined;
    }
  }
}

function cidrDetector(cidrs: readonly string[], family: IPFamily): LocalDetector | undefined {
  const cidr = cidrs.find((c) => ipFamily(c.split('/')[0] ?? '') === family);
  return cidr ? { ifLocal: `-s ${cidr}`, ifNotLocal: `! -s ${cidr}` } : undefined;
}

function interfaceDetector(name: string): LocalDetector | undefined {
  // Interface names are validated by the config layer; refuse anything that could split argv.
  if (!name || !/^[\w.+-]+$/.test(name)) return undefined;
  return { ifLocal: `-i ${name}`, ifNotLocal: `! -i ${name}` };
}

/**
 * The masquerade mark, 1<<bit in hex (0x4000 for bit 14). Written the way iptables-save prints it
 * so saved and rendered rules compare equal as text.
 */
export function masqueradeMark(bit: number): string {
  return '0x' + ((1 << bit) >>> 0).toString(16);
}

// Asked for several times per sync and family (needsFull, totals); the options object is the
// same one while its inputs are (see OptionsCache), so the string is made once per object.
const fingerprints = new WeakMap<RenderOptions, string>();

/** A string that changes whenever any option changes: cached renders are only valid under it. */
export function optionsFingerprint(o: RenderOptions): string {
  let fp = fingerprints.get(o);
  if (fp === undefined) {
    fp = JSON.stringify(o);
    fingerprints.set(o, fp);
  }
  return fp;
}

/**
 * buildRenderOptions for one family, returning the previous object while its inputs are equal
 * (config and node by identity, the address lists by content: their getters return fresh
 * arrays). A partial sync then neither rebuilds the options nor serialises them again.
 */
export class OptionsCache {
  private last: { readonly inp: OptionInputs; readonly o: RenderOptions } | undefined;

  get(inp: OptionInputs): RenderOptions {
    const l = this.last;
    if (
      l !== undefined &&
      l.inp.config === inp.config &&
      l.inp.node === inp.node &&
      l.inp.family === inp.family &&
      sameList(l.inp.nodeIPs, inp.nodeIPs) &&
      sameList(l.inp.localAddresses, inp.localAddresses)
    ) {
      return l.o;
    }
    const o = buildRenderOptions(inp);
    this.last = { inp, o };
    return o;
  }
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
