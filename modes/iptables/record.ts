// What FamilySync remembers of each service port it programmed: the model objects it rendered
// from (identity tells whether they changed), a digest per own chain, and its dispatch rules
// (small, and needed as text for -D). The full rule text is re-rendered when a chain has to be
// written or an operator asks to see it, never kept: at 10,000 services × 10 endpoints it was
// over 100 MiB of heap.

import type { Endpoint, ServicePort } from '../../proxy/model/types.js';
import { CHAIN_PREFIX } from './names.js';
import { chainDigest } from './payload/signature.js';
import { ruleCounts, type DispatchChain, type Rule, type ServiceRules } from './render/types.js';

/** The part of a service port's rules that payload planning compares. */
export interface ServiceSummary {
  /** Own nat chains (in declaration order) → digest of their rules. */
  readonly chains: ReadonlyMap<string, string>;
  readonly dispatch: ReadonlyMap<DispatchChain, readonly Rule[]>;
}

export interface RecordedService extends ServiceSummary {
  readonly sp: ServicePort;
  readonly eps: readonly Endpoint[];
  readonly noLocal: ServiceRules['noLocal'];
  readonly counts: { readonly nat: number; readonly filter: number };
}

// Every family records every service port, so a single-stack cluster has as many records that
// render nothing as records that do: those share these instead of holding empty maps of their own.
const NO_CHAINS: ReadonlyMap<string, string> = new Map();
const NO_DISPATCH: ServiceSummary['dispatch'] = new Map();
const NO_RULES = { nat: 0, filter: 0 } as const;

/**
 * The record of `rules`, rendered from `sp` and `eps`. `previous` is the same key's record
 * rendered under the same options (the caller knows; it is undefined otherwise): when it was rendered from the
 * same ServicePort object, its endpoint chains' digests are taken over instead of signing their
 * rules again. A KUBE-SEP chain's name hashes (service port, protocol, endpoint address) and its
 * rules are a function of the ServicePort and that address alone (render/chains.ts
 * endpointRules), so the same name under the same ServicePort means the same rules: after one
 * endpoint change only the selection chains and the new endpoint's chain are signed.
 */
export function recordService(sp: ServicePort, eps: readonly Endpoint[], rules: ServiceRules, previous?: RecordedService): RecordedService {
  let chains = NO_CHAINS;
  if (rules.chains.size > 0) {
    const reusable = previous !== undefined && previous.sp === sp ? previous.chains : NO_CHAINS;
    const digests = new Map<string, string>();
    for (const [chain, list] of rules.chains) {
      const kept = chain.startsWith(CHAIN_PREFIX.sep) ? reusable.get(chain) : undefined;
      digests.set(chain, kept ?? chainDigest(list));
    }
    chains = digests;
  }
  const dispatch = rules.dispatch.size > 0 ? rules.dispatch : NO_DISPATCH;
  const counts = chains === NO_CHAINS && dispatch === NO_DISPATCH ? NO_RULES : ruleCounts(rules);
  return { sp, eps, chains, dispatch, noLocal: rules.noLocal, counts };
}
