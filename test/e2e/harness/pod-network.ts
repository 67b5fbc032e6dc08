// How pods are wired to their node: the three shapes of pod network clusters run.
//
//   routed  (Calico / CNI ptp style): one veth per pod, the pod's /32 (/128) host-routed on the
//           node, the node side of every veth carrying the pod gateway; nodes route each other's
//           pod ranges via the LAN. No bridge anywhere, so br_netfilter plays no part.
//   bridge  (docker0 / kubenet / CNI bridge "cni0" style): the pods' veths are ports of one Linux
//           bridge per node that carries the gateway (198.18.1.1/24); pods have /24 (/64)
//           addresses and reach each other at layer 2. Hairpin mode is on for every port (kubelet
//           --hairpin-mode=hairpin-veth) and net.bridge.bridge-nf-call-iptables is set per node
//           namespace (never in the root namespace), so bridged frames cross iptables/nftables.
//           Nodes route each other's pod ranges via the LAN.
//   vxlan   (flannel vxlan style): pods on a bridge as above, and the nodes' pod ranges joined by a
//           VXLAN device (VNI 42, UDP 4789 over the LAN) carrying the pod range's network address
//           (198.18.1.0/32, as flannel.1 does), with `via <peer VTEP> onlink` routes and permanent
//           neighbour entries for the peer VTEP. Pod MTU 1450 leaves room for the encapsulation.

import type { NodePlan, PodPlan } from './topology.js';

export type PodNetwork = 'routed' | 'bridge' | 'vxlan';
export const POD_NETWORKS: readonly PodNetwork[] = ['routed', 'bridge', 'vxlan'];

/** The pod bridge of a node in bridge and vxlan mode. */
export const POD_BRIDGE = 'cni0';
/** The overlay device of a node in vxlan mode (flannel calls it flannel.1). */
export const VXLAN_DEVICE = 'vx0';
export const VXLAN_ID = 42;
export const VXLAN_PORT = 4789;
export const VXLAN_MTU = 1450;

/** Fixed VTEP MACs, so each node can hold a permanent neighbour entry for the other's. */
export const VTEP_MAC: Readonly<Record<'a' | 'b', string>> = { a: '02:6b:70:74:00:0a', b: '02:6b:70:74:00:0b' };
/** Link-local IPv6 of each VTEP: the next hop of the peer's IPv6 pod range. */
const VTEP_LL6: Readonly<Record<'a' | 'b', string>> = { a: 'fe80::6b:a', b: 'fe80::6b:b' };

/** The VTEP address flannel gives a node: the network address of its pod range. */
export function vtepAddress(plan: NodePlan): string {
  return plan.podCIDRv4.split('/')[0] ?? '';
}

const prefixOf = (cidr: string): string => cidr.split('/')[1] ?? '';

/** Sysctls of a node namespace for this pod network (added to NODE_SYSCTLS). */
export function podNetworkNodeSysctls(kind: PodNetwork, bridgeNfCallIptables: boolean): string[] {
  if (kind === 'routed') return [];
  const v = bridgeNfCallIptables ? '1' : '0';
  return [`net.bridge.bridge-nf-call-iptables=${v}`, `net.bridge.bridge-nf-call-ip6tables=${v}`];
}

/** `ip -batch` lines on node `plan` for reaching the other node's pod range. */
export function peerRouteCommands(kind: PodNetwork, plan: NodePlan, peer: NodePlan): string[] {
  if (kind !== 'vxlan') {
    return [`route add ${peer.podCIDRv4} via ${peer.ipv4}`, `route add ${peer.podCIDRv6} via ${peer.ipv6}`];
  }
  return [
    `link add ${VXLAN_DEVICE} address ${VTEP_MAC[plan.key]} type vxlan id ${VXLAN_ID} dstport ${VXLAN_PORT} local ${plan.ipv4} remote ${peer.ipv4} dev eth0 nolearning`,
    `link set ${VXLAN_DEVICE} mtu ${VXLAN_MTU} up`,
    `addr add ${vtepAddress(plan)}/32 dev ${VXLAN_DEVICE}`,
    `addr add ${VTEP_LL6[plan.key]}/64 dev ${VXLAN_DEVICE} nodad`,
    `neigh add ${vtepAddress(peer)} lladdr ${VTEP_MAC[peer.key]} dev ${VXLAN_DEVICE} nud permanent`,
    `neigh add ${VTEP_LL6[peer.key]} lladdr ${VTEP_MAC[peer.key]} dev ${VXLAN_DEVICE} nud permanent`,
    `route add ${peer.podCIDRv4} via ${vtepAddress(peer)} dev ${VXLAN_DEVICE} onlink`,
    `route add ${peer.podCIDRv6} via ${VTEP_LL6[peer.key]} dev ${VXLAN_DEVICE}`,
  ];
}

/** `ip -batch` lines on node `plan` attaching its pods (veth `v<name>`, peer eth0 in `podNs`). */
export function nodePodCommands(kind: PodNetwork, plan: NodePlan, pods: readonly PodPlan[], podNs: (p: PodPlan) => string): string[] {
  if (kind === 'routed') {
    return pods.flatMap((p) => {
      const dev = `v${p.name}`;
      return [
        `link add ${dev} type veth peer name eth0 netns ${podNs(p)}`,
        `link set ${dev} up`,
        `addr add ${plan.gatewayV4}/32 dev ${dev}`,
        `addr add fe80::1/64 dev ${dev} nodad`,
        `route add ${p.ipv4}/32 dev ${dev}`,
        `route add ${p.ipv6}/128 dev ${dev}`,
      ];
    });
  }
  const mtu = kind === 'vxlan' ? VXLAN_MTU : 1500;
  return [
    `link add ${POD_BRIDGE} type bridge mcast_snooping 0`,
    `link set ${POD_BRIDGE} mtu ${mtu} up`,
    `addr add ${plan.gatewayV4}/${prefixOf(plan.podCIDRv4)} dev ${POD_BRIDGE}`,
    `addr add ${plan.gatewayV6}/${prefixOf(plan.podCIDRv6)} dev ${POD_BRIDGE} nodad`,
    ...pods.flatMap((p) => {
      const dev = `v${p.name}`;
      return [
        `link add ${dev} mtu ${mtu} type veth peer name eth0 netns ${podNs(p)}`,
        `link set ${dev} master ${POD_BRIDGE}`,
        // A pod reaching its own Service is DNATed back out of the port it came in on.
        `link set dev ${dev} type bridge_slave hairpin on`,
        `link set ${dev} up`,
      ];
    }),
  ];
}

/** `ip -batch` lines inside pod `p` (on node `plan`). */
export function podCommands(kind: PodNetwork, p: PodPlan, plan: NodePlan): string[] {
  if (kind === 'routed') {
    return [
      'link set lo up',
      'link set eth0 up',
      `addr add ${p.ipv4}/32 dev eth0`,
      `addr add ${p.ipv6}/128 dev eth0 nodad`,
      `route add ${plan.gatewayV4}/32 dev eth0 scope link`,
      `route add default via ${plan.gatewayV4} dev eth0`,
      'route add default via fe80::1 dev eth0',
    ];
  }
  return [
    'link set lo up',
    'link set eth0 up',
    `addr add ${p.ipv4}/${prefixOf(plan.podCIDRv4)} dev eth0`,
    `addr add ${p.ipv6}/${prefixOf(plan.podCIDRv6)} dev eth0 nodad`,
    `route add default via ${plan.gatewayV4} dev eth0`,
    `route add default via ${plan.gatewayV6} dev eth0`,
  ];
}
