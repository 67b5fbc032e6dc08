// Render one service port for one family: the pure core of iptables mode.

import type { Endpoint, IPFamily, NodeInfo, ServicePort } from '../../../proxy/model/types.js';
import type { RenderOptions } from '../options.js';
import { renderServiceChains } from './chains.js';
import { renderDispatch } from './dispatch.js';
import { planServicePort } from './plan.js';
import { emptyServiceRules, type ServiceRules } from './types.js';

export function renderServicePort(
  sp: ServicePort,
  endpoints: readonly Endpoint[],
  node: NodeInfo,
  o: RenderOptions,
): ServiceRules {
  const plan = planServicePort(sp, endpoints, node, o.family satisfies IPFamily);
  if (!plan) return emptyServiceRules(sp.key);
  return {
    key: sp.key,
    chains: renderServiceChains(plan, o),
    dispatch: renderDispatch(plan),
    noLocal: {
      internal: plan.hasEndpoints && !plan.hasInternalEndpoints,
      external: plan.hasEndpoints && !plan.hasExternalEndpoints && plan.usesExtChain,
    },
  };
}
