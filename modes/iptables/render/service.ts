// Render one service port for one family: the pure core of iptables mode.

import type { Endpoint, IPFamily, NodeInfo, ServicePort } from '../../../proxy/model/types.js';
import type { RenderOptions } from '../options.js';
import { renderServiceChains } from './chains.js';
import { renderDispatch } from './dispatch.js';
import { planServicePort } from './plan.js';
import { emptyServiceRules, noLocalFlags, type ServiceRules } from './types.js';

export function renderServicePort(
  sp: ServicePort,
  endpoints: readonly Endpoint[],
  node: NodeInfo,
  o: RenderOptions,
): ServiceRules {
  const plan = planServicePort(sp, endpoints, node, o.family satisfies IPFamily);
  if (!plan) return emptyServiceRules(sp.key);
  const chains = renderServiceChains(plan, o);
  const dispatch = renderDispatch(plan);
  for (const rules of dispatch.values()) flatten(rules);
  return {
    key: sp.key,
    chains,
    dispatch,
    noLocal: noLocalFlags(
      plan.hasEndpoints && !plan.hasInternalEndpoints,
      plan.hasEndpoints && !plan.hasExternalEndpoints && plan.usesExtChain,
    ),
  };
}

/**
 * Rules are built by template concatenation, which V8 keeps as trees of string pieces (~300
 * bytes a rule). The record keeps every service port's dispatch rules, so collapse those into flat
 * strings now: reading a character makes V8 flatten the string in place. Chain rules are only
 * hashed (which flattens them anyway) or written, never kept.
 */
function flatten(rules: readonly string[]): void {
  for (const r of rules) r.charCodeAt(0);
}
