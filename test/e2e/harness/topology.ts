// The fixed addressing plan of an e2e cluster. Only 198.18.0.0/15 and 2001:db8::/32 (benchmark
// and documentation ranges) are used, so no test packet can ever be meant for a real host.

export const LAN_V4_PREFIX = 24;
export const LAN_V6_PREFIX = 64;

/** Service ClusterIP range (routed by nothing: kube-proxy must catch it). */
export const SERVICE_CIDR_V4 = '198.19.0.0/16';
export const SERVICE_CIDR_V6 = '2001:db8:ff::/64';
/** ExternalIPs / LoadBalancer IPs, routed by the external client towards node A. */
export const EXTERNAL_CIDR_V4 = '198.18.200.0/24';

export interface NodePlan {
  readonly key: 'a' | 'b';
  readonly ipv4: string;
  readonly ipv6: string;
  readonly podCIDRv4: string;
  readonly podCIDRv6: string;
  /** The node side of every pod veth carries this address (like the CNI ptp plugin). */
  readonly gatewayV4: string;
  readonly gatewayV6: string;
}

export interface PodPlan {
  readonly name: string;
  readonly node: 'a' | 'b';
  readonly ipv4: string;
  readonly ipv6: string;
  /** Echo pods run echo-server.mjs; the client pod only originates traffic. */
  readonly echo: boolean;
}

export const NODE_PLANS: Readonly<Record<'a' | 'b', NodePlan>> = {
  a: {
    key: 'a',
    ipv4: '198.18.0.1',
    ipv6: '2001:db8::1',
    podCIDRv4: '198.18.1.0/24',
    podCIDRv6: '2001:db8:1::/64',
    gatewayV4: '198.18.1.1',
    gatewayV6: '2001:db8:1::1',
  },
  b: {
    key: 'b',
    ipv4: '198.18.0.2',
    ipv6: '2001:db8::2',
    podCIDRv4: '198.18.2.0/24',
    podCIDRv6: '2001:db8:2::/64',
    gatewayV4: '198.18.2.1',
    gatewayV6: '2001:db8:2::1',
  },
};

export const EXTERNAL_PLAN = { ipv4: '198.18.0.100', ipv6: '2001:db8::100' } as const;

export const POD_PLANS: readonly PodPlan[] = [
  { name: 'a1', node: 'a', ipv4: '198.18.1.11', ipv6: '2001:db8:1::11', echo: true },
  { name: 'a2', node: 'a', ipv4: '198.18.1.12', ipv6: '2001:db8:1::12', echo: true },
  { name: 'b1', node: 'b', ipv4: '198.18.2.11', ipv6: '2001:db8:2::11', echo: true },
  { name: 'b2', node: 'b', ipv4: '198.18.2.12', ipv6: '2001:db8:2::12', echo: true },
  { name: 'client', node: 'a', ipv4: '198.18.1.100', ipv6: '2001:db8:1::100', echo: false },
];

/** Sysctls set in every namespace before interfaces appear there. */
export const COMMON_SYSCTLS: readonly string[] = [
  'net.ipv4.conf.all.rp_filter=0',
  'net.ipv4.conf.default.rp_filter=0',
  // No duplicate address detection: addresses are usable at once instead of after ~1 s.
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
];

export const NODE_SYSCTLS: readonly string[] = [
  ...COMMON_SYSCTLS,
  'net.ipv4.ip_forward=1',
  'net.ipv6.conf.all.forwarding=1',
];
