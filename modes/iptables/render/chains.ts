// A service port's own nat chains: KUBE-SVC/SVL (endpoint selection), KUBE-EXT (external
// destinations), KUBE-FW (load balancer source ranges) and one KUBE-SEP per endpoint.

import { cidrsContain } from '../../../proxy/model/ip.js';
import { commentArgs } from '../names.js';
import type { RenderOptions } from '../options.js';
import { probability } from '../probability.js';
import type { EndpointTarget, ServicePlan } from './plan.js';
import type { Rule } from './types.js';

const MARK_MASQ = 'KUBE-MARK-MASQ';

/** `-m <proto> -p <proto>` as upstream writes it (the protocol is lower-cased, e.g. sctp). */
export function protoArgs(p: ServicePlan): string {
  return `-m ${p.proto} -p ${p.proto}`;
}

export function renderServiceChains(p: ServicePlan, o: RenderOptions): Map<string, Rule[]> {
  const chains = new Map<string, Rule[]>();
  if (p.usesClusterChain) chains.set(p.names.svc, []);
  if (p.usesLocalChain) chains.set(p.names.svl, []);
  if (p.hasInternalEndpoints) {
    // Masquerade off-cluster traffic to the cluster IP: it may bounce off this node to another.
    const match = `${commentArgs(`${p.sp.key} cluster IP`)} ${protoArgs(p)} -d ${p.clusterIP} --dport ${p.sp.port}`;
    const masq = o.masqueradeAll ? `${match} -j ${MARK_MASQ}` : o.localDetector ? `${match} ${o.localDetector.ifNotLocal} -j ${MARK_MASQ}` : undefined;
    if (masq) chains.get(p.internalChain)?.push(masq);
  }
  if (p.usesExtChain) chains.set(p.names.ext, extChainRules(p, o));
  if (p.usesFwChain) chains.set(p.names.fw, fwChainRules(p, o));
  if (p.usesClusterChain) chains.get(p.names.svc)?.push(...selectionRules(p, p.clusterTargets));
  if (p.usesLocalChain) chains.get(p.names.svl)?.push(...selectionRules(p, p.localTargets));
  // Every endpoint chain of the service port carries the same comment: made once.
  const epComment = p.allTargets.length > 0 ? commentArgs(p.sp.key) : '';
  for (const t of p.allTargets) chains.set(t.chain, endpointRules(p, t, epComment));
  return chains;
}

function extChainRules(p: ServicePlan, o: RenderOptions): Rule[] {
  const key = p.sp.key;
  const rules: Rule[] = [];
  if (p.externalPolicyChain === p.names.svc) {
    // Cluster policy may forward to another node, so the source must be rewritten.
    rules.push(`${commentArgs(`masquerade traffic for ${key} external destinations`)} -j ${MARK_MASQ}`);
  } else if (p.usesClusterChain) {
    // Pods reaching an external address act as if they went out to the load balancer and came
    // back in: neither traffic policy applies to them.
    if (o.localDetector) {
      rules.push(`${commentArgs(`pod traffic for ${key} external destinations`)} ${o.localDetector.ifLocal} -j ${p.names.svc}`);
    }
    // The node's own traffic uses a local address as source (the LB IP may be local), so it is
    // masqueraded and sent to the cluster-wide chain.
    rules.push(`${commentArgs(`masquerade LOCAL traffic for ${key} external destinations`)} -m addrtype --src-type LOCAL -j ${MARK_MASQ}`);
    rules.push(`${commentArgs(`route LOCAL traffic for ${key} external destinations`)} -m addrtype --src-type LOCAL -j ${p.names.svc}`);
  }
  if (p.hasExternalEndpoints) rules.push(`-j ${p.externalPolicyChain}`);
  return rules;
}

function fwChainRules(p: ServicePlan, o: RenderOptions): Rule[] {
  const c = commentArgs(`${p.sp.key} loadbalancer IP`);
  const rules = p.sp.loadBalancerSourceRanges
    .filter((cidr) => (o.family === 'IPv6') === cidr.includes(':'))
    .map((cidr) => `${c} -s ${cidr} -j ${p.names.ext}`);
  // Traffic from the node itself leaves with the LB IP as source when the node is in a range.
  if (o.nodeIPs.some((ip) => cidrsContain(p.sp.loadBalancerSourceRanges, ip))) {
    for (const lb of p.lbIPs) rules.push(`${c} -s ${lb} -j ${p.names.ext}`);
  }
  // Anything left is not DNATed, so filter KUBE-PROXY-FIREWALL drops it.
  rules.push(commentArgs(`other traffic to ${p.sp.key} will be dropped by KUBE-PROXY-FIREWALL`));
  return rules;
}

function selectionRules(p: ServicePlan, targets: readonly EndpointTarget[]): Rule[] {
  const rules: Rule[] = [];
  const affinity = p.sp.sessionAffinity;
  const comments = targets.map((t) => commentArgs(`${p.sp.key} -> ${t.address}`));
  if (affinity.type === 'ClientIP') {
    targets.forEach((t, i) => {
      rules.push(`${comments[i]} -m recent --name ${t.chain} --rcheck --seconds ${affinity.timeoutSeconds} --reap -j ${t.chain}`);
    });
  }
  targets.forEach((t, i) => {
    const stat = i < targets.length - 1 ? ` -m statistic --mode random --probability ${probability(targets.length - i)}` : '';
    rules.push(`${comments[i]}${stat} -j ${t.chain}`);
  });
  return rules;
}

/**
 * A function of the ServicePort and the endpoint address only (not of the options, the node or
 * the other endpoints): record.ts takes over a KUBE-SEP chain's digest on that basis. Keep it so.
 */
function endpointRules(p: ServicePlan, t: EndpointTarget, c: string): Rule[] {
  const recent = p.sp.sessionAffinity.type === 'ClientIP' ? ` -m recent --name ${t.chain} --set` : '';
  return [
    // Hairpin: an endpoint reaching itself through the service must see the node as source.
    `${c} -s ${t.ep.ip} -j ${MARK_MASQ}`,
    `${c}${recent} ${protoArgs(p)} -j DNAT --to-destination ${t.address}`,
  ];
}
