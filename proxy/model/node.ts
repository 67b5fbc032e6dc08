// V1Node → NodeInfo: what the proxy needs of its own Node (topology zone, addresses, pod CIDRs,
// and whether it is still eligible to receive load-balancer traffic). Addresses and CIDRs are kept
// in canonical form (ip-parse.ts) so they compare equal to the Services' and the kernel's.

import type { V1Node } from '@kubernetes/client-node';
import { formatParsedCIDR, parseCIDRSloppy, parseIPSloppy } from './ip-parse.js';
import type { FieldError, NodeInfo } from './types.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
/** Set by cluster-autoscaler on nodes it is about to remove. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/** Before the Node is known we assume it is eligible: failing /healthz at startup would drain it. */
export function defaultNodeInfo(name: string): NodeInfo {
  return { name, labels: {}, zone: '', addresses: [], podCIDRs: [], eligible: true };
}

export function nodeInfoFromNode(node: V1Node, name: string): { info: NodeInfo; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const labels: Record<string, string> = { ...(node.metadata?.labels ?? {}) };
  const addresses: string[] = [];
  (node.status?.addresses ?? []).forEach((a, i) => {
    if (a.type !== 'InternalIP' && a.type !== 'ExternalIP') return;
    const ip = typeof a.address === 'string' ? parseIPSloppy(a.address.trim()) : undefined;
    if (ip === undefined) {
      errors.push({ field: `status.addresses[${i}].address`, message: `must be a valid IP address, got ${JSON.stringify(a.address)}` });
    } else if (!addresses.includes(ip.address)) {
      addresses.push(ip.address);
    }
  });
  const rawCIDRs = node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : []);
  const podCIDRs: string[] = [];
  rawCIDRs.forEach((raw, i) => {
    const c = typeof raw === 'string' ? parseCIDRSloppy(raw.trim()) : undefined;
    if (!c) errors.push({ field: `spec.podCIDRs[${i}]`, message: `must be a valid CIDR, got ${JSON.stringify(raw)}` });
    else podCIDRs.push(formatParsedCIDR(c));
  });
  const deleting = node.metadata?.deletionTimestamp !== undefined && node.metadata.deletionTimestamp !== null;
  const tainted = (node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
  return {
    info: { name, labels, zone: labels[ZONE_LABEL] ?? '', addresses, podCIDRs, eligible: !deleting && !tainted },
    errors,
  };
}
