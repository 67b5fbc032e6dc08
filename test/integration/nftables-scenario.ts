// The series of states nftables-agent.ts programs, shared with the test that checks the result.

import type { Endpoint, ServicePort } from '../../proxy/model/types.js';
import { ep, localEp, sp } from '../unit/nftables-mode/fixtures.js';

export interface Step {
  readonly name: string;
  readonly entries: [ServicePort, Endpoint[]][];
  readonly full: boolean;
  readonly changed: string[];
  readonly removed: string[];
  /** An `nft` command the agent runs first: a change by another process. */
  readonly nft?: string[];
}

/** Every kind of object the renderer writes, both families. */
export function services(extra: Endpoint[] = []): [ServicePort, Endpoint[]][] {
  const both = (i: number) => [ep(`198.18.2.${i}`), ep(`2001:db8:1::${i}`), localEp(`198.18.16.${i}`)];
  return [
    [sp('ns', 'plain', { clusterIPs: ['198.19.0.1', '2001:db8:2::1'] }), [...both(1), ...extra]],
    [sp('ns', 'nodeport', { type: 'NodePort', nodePort: 30001, clusterIPs: ['198.19.0.2', '2001:db8:2::2'] }), both(2)],
    [
      sp('ns', 'lb', {
        type: 'LoadBalancer',
        nodePort: 30002,
        clusterIPs: ['198.19.0.3', '2001:db8:2::3'],
        loadBalancerIPs: ['198.18.200.3', '2001:db8:200::3'],
        loadBalancerSourceRanges: ['203.0.113.0/24', '2001:db8:300::/48'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32001,
      }),
      both(3),
    ],
    [sp('ns', 'affinity', { clusterIPs: ['198.19.0.4', '2001:db8:2::4'], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 600 } }), both(4)],
    [sp('ns', 'extip', { clusterIPs: ['198.19.0.5', '2001:db8:2::5'], externalIPs: ['198.18.200.5', '2001:db8:200::5'] }), both(5)],
    [sp('ns', 'internal-local', { clusterIPs: ['198.19.0.6', '2001:db8:2::6'], internalTrafficPolicy: 'Local' }), both(6)],
    [sp('ns', 'empty', { type: 'NodePort', nodePort: 30007, clusterIPs: ['198.19.0.7', '2001:db8:2::7'] }), []],
    [sp('ns', 'udp', { protocol: 'UDP', clusterIPs: ['198.19.0.8', '2001:db8:2::8'] }), both(8)],
    [sp('ns', 'sctp', { protocol: 'SCTP', clusterIPs: ['198.19.0.9'] }), both(9)],
  ];
}

export const PLAIN = 'ns/plain:p80';
export const UDP = 'ns/udp:p80';

export function scenario(): Step[] {
  const all = services();
  const more = services([ep('198.18.2.99')]);
  const without = more.filter(([s]) => s.key !== UDP);
  return [
    { name: 'first', entries: all, full: true, changed: [], removed: [] },
    { name: 'resync', entries: all, full: true, changed: [], removed: [] },
    { name: 'endpoint', entries: more, full: false, changed: [PLAIN], removed: [] },
    { name: 'remove', entries: without, full: false, changed: [UDP], removed: [UDP] },
    { name: 'final-resync', entries: without, full: true, changed: [], removed: [] },
    // Someone else flushes our dispatch chain: the generation moves, so the next full sync dumps.
    { name: 'tampered-resync', entries: without, full: true, changed: [], removed: [], nft: ['flush', 'chain', 'ip', 'kube-proxy', 'services'] },
    { name: 'quiet-resync', entries: without, full: true, changed: [], removed: [] },
  ];
}
