// The rendered form of one service port: its own nat chains plus the rules it contributes to the
// shared dispatch chains. Kept per key so a partial sync can rewrite one service port and diff
// its dispatch rules without touching anybody else's.

/** A rule is the restore-payload text after `-A <chain> `. */
export type Rule = string;

/** The shared chains service ports add rules to, as `table/chain`. */
export const DISPATCH_CHAINS = [
  'nat/KUBE-SERVICES',
  'nat/KUBE-NODEPORTS',
  'filter/KUBE-SERVICES',
  'filter/KUBE-EXTERNAL-SERVICES',
  'filter/KUBE-NODEPORTS',
  'filter/KUBE-PROXY-FIREWALL',
] as const;
export type DispatchChain = (typeof DISPATCH_CHAINS)[number];

export function dispatchTable(d: DispatchChain): 'nat' | 'filter' {
  return d.startsWith('nat/') ? 'nat' : 'filter';
}

export function dispatchChainName(d: DispatchChain): string {
  return d.slice(d.indexOf('/') + 1);
}

export interface ServiceRules {
  readonly key: string;
  /** This service port's own nat chains (SVC/SVL/EXT/FW/SEP) in declaration order. */
  readonly chains: ReadonlyMap<string, readonly Rule[]>;
  /** Rules for the shared dispatch chains; each list is free of duplicates. */
  readonly dispatch: ReadonlyMap<DispatchChain, readonly Rule[]>;
  /** For kubeproxy_sync_proxy_rules_no_local_endpoints_total. */
  readonly noLocal: { readonly internal: boolean; readonly external: boolean };
}

export function ruleCounts(r: ServiceRules): { nat: number; filter: number } {
  let nat = 0;
  let filter = 0;
  for (const rules of r.chains.values()) nat += rules.length;
  for (const [d, rules] of r.dispatch) {
    if (dispatchTable(d) === 'nat') nat += rules.length;
    else filter += rules.length;
  }
  return { nat, filter };
}

// Four possible values, kept by every recorded service port: shared rather than one object each.
const NO_LOCAL = [
  { internal: false, external: false },
  { internal: false, external: true },
  { internal: true, external: false },
  { internal: true, external: true },
] as const;

export function noLocalFlags(internal: boolean, external: boolean): ServiceRules['noLocal'] {
  return NO_LOCAL[(internal ? 2 : 0) + (external ? 1 : 0)]!;
}

/** A service port that renders nothing in this family (e.g. single-stack of the other family). */
export function emptyServiceRules(key: string): ServiceRules {
  return { key, chains: new Map(), dispatch: new Map(), noLocal: noLocalFlags(false, false) };
}
