// The rendered form of the ruleset: "units" of objects, one for the table's skeleton (base chains,
// dispatch chains, the shared maps) and one per service port (its chains, its endpoint/affinity
// maps, and the elements it contributes to the shared maps). The planner diffs units against what
// the kernel holds (the record, or a dump on a full sync).

import type { KeptElement } from './elements.js';
import type { Expr, NftElement, NftSet } from './netlink/types.js';
import type { BaseChainSpec } from './netlink/types.js';

export interface RuleSpec {
  readonly exprs: readonly Expr[];
  readonly comment?: string;
}

export interface ChainSpec {
  readonly name: string;
  readonly base?: BaseChainSpec;
  readonly rules: readonly RuleSpec[];
  /** A count-class chain: its rules follow the classes in use (plan-classes.ts), not `rules`. */
  readonly classes?: true;
}

/** A set with the elements we own in it (none for dynamic sets: the packet path fills them). */
export interface SetSpec {
  readonly set: NftSet;
  /** By hex key (see elementKey). */
  readonly elements: ReadonlyMap<string, NftElement>;
  /** A shared map: its elements come from the service ports' units, not from this spec. */
  readonly shared?: boolean;
}

export interface Unit {
  /** The service port key, or '' for the skeleton. */
  readonly owner: string;
  /** In creation order; a unit's rules may reference any of its chains and sets. */
  readonly chains: readonly ChainSpec[];
  readonly sets: readonly SetSpec[];
  /** Elements for the skeleton's shared maps: set name → hex key → element (kept form, elements.ts). */
  readonly shared: ReadonlyMap<string, ReadonlyMap<string, KeptElement>>;
  /** Endpoint ids by numgen slot per kind (`cluster`, `local`), so the next render keeps their slots. */
  readonly slots?: ReadonlyMap<string, readonly string[]>;
  /** For kubeproxy_sync_proxy_rules_no_local_endpoints_total. */
  readonly noLocal: { readonly internal: boolean; readonly external: boolean };
}

export const SKELETON = '';
