// Names of the nftables objects, upstream's where upstream has one (table `kube-proxy`, chains
// `services`, `mark-for-masquerade`, `masquerading`, maps `service-ips`, `service-nodeports`,
// `no-endpoint-services`, ...), so that `nft list table ip kube-proxy` reads as upstream's does.
// Per service port objects are `<kind>-<HASH>-<namespace>/<name>/<proto>/<portName>` like
// upstream's `service-ULMVA6XW-ns1/svc1/tcp/p80`: the hash keeps names unique, the rest readable.

import { servicePortHash, sanitizeComment } from '../iptables/names.js';
import type { Protocol, ServicePort } from '../../proxy/model/types.js';

export const TABLE = 'kube-proxy';

export const CHAINS = {
  natPrerouting: 'nat-prerouting',
  natOutput: 'nat-output',
  natPostrouting: 'nat-postrouting',
  filterPrerouting: 'filter-prerouting',
  filterInput: 'filter-input',
  filterForward: 'filter-forward',
  filterOutput: 'filter-output',
  filterOutputPostDnat: 'filter-output-post-dnat',
  services: 'services',
  markForMasquerade: 'mark-for-masquerade',
  masquerading: 'masquerading',
  serviceEndpointsCheck: 'service-endpoints-check',
  nodeportEndpointsCheck: 'nodeport-endpoints-check',
  firewallCheck: 'firewall-check',
  rejectChain: 'reject-chain',
  clusterIPsCheck: 'cluster-ips-check',
  // The flat (chain-less) path of service ports without affinity: see render/classes.ts.
  flatIPs: 'flat-ips',
  flatNodePorts: 'flat-nodeports',
  clusterClasses: 'cluster-classes',
  localClasses: 'local-classes',
  nodePortClusterClasses: 'nodeport-cluster-classes',
  nodePortLocalClasses: 'nodeport-local-classes',
} as const;

export const SETS = {
  serviceIPs: 'service-ips',
  serviceNodePorts: 'service-nodeports',
  noEndpointServices: 'no-endpoint-services',
  noEndpointNodePorts: 'no-endpoint-nodeports',
  firewallIPs: 'firewall-ips',
  firewallAllow: 'firewall-allow',
  hairpin: 'hairpin-endpoints',
  nodePortIPs: 'nodeport-ips',
  clusterIPs: 'cluster-ips',
  flatIPs: 'flat-ips',
  flatNodePorts: 'flat-nodeports',
  flatClusterIPs: 'flat-cluster-ips',
  flatExtClusterIPs: 'flat-ext-cluster-ips',
  flatExtLocalIPs: 'flat-ext-local-ips',
  flatExtClusterNodePorts: 'flat-ext-cluster-nodeports',
  flatExtLocalNodePorts: 'flat-ext-local-nodeports',
  clusterEndpoints: 'cluster-endpoints',
  localEndpoints: 'local-endpoints',
  nodePortClusterEndpoints: 'nodeport-cluster-endpoints',
  nodePortLocalEndpoints: 'nodeport-local-endpoints',
} as const;

/** Maps service ports contribute elements to (as opposed to the skeleton's own sets). */
export const SHARED_SETS: readonly string[] = [
  SETS.serviceIPs,
  SETS.serviceNodePorts,
  SETS.noEndpointServices,
  SETS.noEndpointNodePorts,
  SETS.firewallIPs,
  SETS.firewallAllow,
  SETS.hairpin,
  SETS.clusterIPs,
  SETS.flatIPs,
  SETS.flatNodePorts,
  SETS.flatClusterIPs,
  SETS.flatExtClusterIPs,
  SETS.flatExtLocalIPs,
  SETS.flatExtClusterNodePorts,
  SETS.flatExtLocalNodePorts,
  SETS.clusterEndpoints,
  SETS.localEndpoints,
  SETS.nodePortClusterEndpoints,
  SETS.nodePortLocalEndpoints,
];

/** Chain and set names fit NFT_NAME_MAXLEN (256, NUL included) with room to spare. */
const MAX_ID = 200;

export interface ServicePortNames {
  readonly id: string;
  readonly cluster: string;
  readonly local: string;
  readonly external: string;
  readonly clusterEndpoints: string;
  readonly localEndpoints: string;
}

export function servicePortId(key: string, protocol: Protocol, sp?: Pick<ServicePort, 'namespace' | 'name' | 'portName'>): string {
  const h = servicePortHash(key, protocol).slice(0, 8);
  const [nsName = key, portName = ''] = key.split(/:(?=[^:]*$)/);
  const [ns = '', name = ''] = sp ? [sp.namespace, sp.name] : nsName.split('/');
  const readable = `${ns}/${name}/${protocol.toLowerCase()}/${sp?.portName ?? portName}`.replace(/[^\w./-]/g, '_');
  return `${h}-${readable}`.slice(0, MAX_ID);
}

export function servicePortNames(sp: ServicePort): ServicePortNames {
  const id = servicePortId(sp.key, sp.protocol, sp);
  return {
    id,
    cluster: `service-${id}`,
    local: `local-${id}`,
    external: `external-${id}`,
    clusterEndpoints: `endpoints-${id}`,
    localEndpoints: `local-endpoints-${id}`,
  };
}

/** Rule/element comments: nft stores them as userdata; keep them printable and bounded. */
export function comment(text: string): string {
  return sanitizeComment(text).slice(0, 128);
}
