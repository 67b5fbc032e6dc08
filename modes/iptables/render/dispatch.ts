// The rules one service port contributes to the shared dispatch chains: nat KUBE-SERVICES and
// KUBE-NODEPORTS (capture traffic into its chains), and the filter chains that reject or drop
// traffic with no usable endpoint, drop LB traffic outside the source ranges, and accept health
// check NodePorts.

import { commentArgs } from '../names.js';
import { protoArgs } from './chains.js';
import type { ServicePlan } from './plan.js';
import type { DispatchChain, Rule } from './types.js';

export function renderDispatch(p: ServicePlan): Map<DispatchChain, Rule[]> {
  const out = new Map<DispatchChain, Rule[]>();
  const add = (d: DispatchChain, rule: Rule): void => {
    const list = out.get(d) ?? [];
    if (!list.includes(rule)) list.push(rule);
    out.set(d, list);
  };
  const key = p.sp.key;
  const port = p.sp.port;
  const proto = protoArgs(p);
  const match = (ip: string): string => `${proto} -d ${ip} --dport ${port}`;

  // Upstream's filter targets: no endpoints anywhere → REJECT; only no usable local ones → DROP.
  const noneComment = commentArgs(`${key} has no endpoints`);
  const noLocalComment = commentArgs(`${key} has no local endpoints`);
  const internalFilter = p.hasEndpoints ? `${noLocalComment}` : noneComment;
  const internalTarget = p.hasEndpoints ? 'DROP' : 'REJECT';
  const externalFilter = p.hasEndpoints ? noLocalComment : noneComment;
  const externalTarget = p.hasEndpoints ? 'DROP' : 'REJECT';

  if (p.hasInternalEndpoints) {
    add('nat/KUBE-SERVICES', `${commentArgs(`${key} cluster IP`)} ${match(p.clusterIP)} -j ${p.internalChain}`);
  } else {
    add('filter/KUBE-SERVICES', `${internalFilter} ${match(p.clusterIP)} -j ${internalTarget}`);
  }

  for (const ip of p.externalIPs) {
    if (p.usesExtChain) add('nat/KUBE-SERVICES', `${commentArgs(`${key} external IP`)} ${match(ip)} -j ${p.names.ext}`);
    if (!p.hasExternalEndpoints) add('filter/KUBE-EXTERNAL-SERVICES', `${externalFilter} ${match(ip)} -j ${externalTarget}`);
  }

  for (const ip of p.lbIPs) {
    if (p.usesExtChain) {
      const to = p.usesFwChain ? p.names.fw : p.names.ext;
      add('nat/KUBE-SERVICES', `${commentArgs(`${key} loadbalancer IP`)} ${match(ip)} -j ${to}`);
    }
    if (p.usesFwChain) {
      add('filter/KUBE-PROXY-FIREWALL', `${commentArgs(`${key} traffic not accepted by ${p.names.fw}`)} ${match(ip)} -j DROP`);
    }
    if (!p.hasExternalEndpoints) add('filter/KUBE-EXTERNAL-SERVICES', `${externalFilter} ${match(ip)} -j ${externalTarget}`);
  }

  if (p.sp.nodePort !== 0) {
    // NodePorts are deliberately not subject to loadBalancerSourceRanges (as upstream).
    if (p.usesExtChain) add('nat/KUBE-NODEPORTS', `${commentArgs(key)} ${proto} --dport ${p.sp.nodePort} -j ${p.names.ext}`);
    if (!p.hasExternalEndpoints) {
      add('filter/KUBE-EXTERNAL-SERVICES', `${externalFilter} -m addrtype --dst-type LOCAL ${proto} --dport ${p.sp.nodePort} -j ${externalTarget}`);
    }
  }

  if (p.sp.healthCheckNodePort !== 0) {
    add('filter/KUBE-NODEPORTS', `${commentArgs(`${key} health check node port`)} -m tcp -p tcp --dport ${p.sp.healthCheckNodePort} -j ACCEPT`);
  }
  return out;
}
