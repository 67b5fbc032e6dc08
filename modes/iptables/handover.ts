// PURE: removing one mode's iptables leftovers while another mode that uses some of the same chain
// names is live (a mode switch in place: iptables <-> ipvs). Both modes program nat KUBE-SERVICES,
// KUBE-POSTROUTING, KUBE-MARK-MASQ and filter KUBE-FORWARD, KUBE-PROXY-FIREWALL; the active mode
// has already rewritten those with its own rules by the time this runs (it runs after the active
// mode's first successful sync), so they stay. What goes:
//   - chains only the leaving mode has (flushed, then deleted, in the same restore);
//   - rules in built-in chains that jump into them;
//   - the leaving mode's own spelling of a jump into a shared chain (e.g. iptables mode's
//     "kubernetes load balancer firewall" jump to KUBE-PROXY-FIREWALL, which IPVS mode finds by
//     target and reuses): replaced by the active mode's exact rule in the same atomic restore,
//     so the shared chain is never unhooked;
//   - rules in shared chains that still jump into a chain being deleted (defensive: the active
//     mode's sync normally rewrote them already).
// User chains neither mode owns are foreign: a chain they still reach is kept, like --cleanup does.

import { TablePayload, renderPayload } from './payload/table-payload.js';
import { normalizeRule, ruleTarget, type SavedTable, type SavedTables } from './save-parse.js';

export interface ModeJump {
  readonly table: string;
  /** The built-in chain holding the jump. */
  readonly from: string;
  readonly to: string;
  /** Rule text after `-A <from> `. */
  readonly rule: string;
}

/** What one mode programs in iptables, by name only (so it also works in a fresh process). */
export interface ModeChains {
  /** Fixed chain names per table. */
  readonly chains: Readonly<Record<string, readonly string[]>>;
  /** Chains named per service (iptables mode's KUBE-SVC-…), per table. */
  readonly dynamic?: (table: string, chain: string) => boolean;
  /** Its jumps from built-in chains, exactly as it writes them. */
  readonly jumps: readonly ModeJump[];
  /**
   * Other spellings of its jumps known to be its own (upstream kube-proxy's, older versions'):
   * removed as leftovers too. A jump into a shared chain in no known spelling is foreign and stays.
   */
  readonly variants?: readonly ModeJump[];
}

function owns(m: ModeChains, table: string, chain: string): boolean {
  return (m.chains[table]?.includes(chain) ?? false) || (m.dynamic?.(table, chain) ?? false);
}

/** The restore payload removing `leaving`'s leftovers with `active` live ('' when none). */
export function planLeftoverRemoval(saved: SavedTables, leaving: ModeChains, active: ModeChains): string {
  const out: TablePayload[] = [];
  for (const [name, table] of saved) {
    const p = new TablePayload(name);
    const leavingChains = new Set([...table.keys()].filter((c) => owns(leaving, name, c)));
    const shared = new Set([...leavingChains].filter((c) => owns(active, name, c)));
    const candidates = new Set([...leavingChains].filter((c) => !shared.has(c)));
    const keep = reachedFromForeign(table, candidates, (c) => owns(leaving, name, c) || owns(active, name, c));
    const remove = new Set([...candidates].filter((c) => !keep.has(c)));
    const activeJumps = active.jumps.filter((j) => j.table === name);
    const key = (j: ModeJump): string => `${j.from} ${normalizeRule(j.rule)}`;
    const exact = new Set(activeJumps.map(key));
    const leavingOwn = new Set([...leaving.jumps, ...(leaving.variants ?? [])].filter((j) => j.table === name).map(key));
    const missing: ModeJump[] = [];

    for (const chain of table.values()) {
      const builtin = chain.policy !== '-';
      if (!builtin && !shared.has(chain.name)) continue;
      for (const r of chain.rules) {
        const t = ruleTarget(r);
        if (t === undefined) continue;
        if (remove.has(t)) {
          p.deleteRule(chain.name, r);
        } else if (builtin && shared.has(t) && leavingOwn.has(`${chain.name} ${r}`) && !exact.has(`${chain.name} ${r}`)) {
          p.deleteRule(chain.name, r);
          for (const j of activeJumps) {
            if (j.from !== chain.name || j.to !== t || missing.includes(j)) continue;
            const present = chain.rules.includes(normalizeRule(j.rule));
            if (!present) missing.push(j);
          }
        }
      }
    }
    // Reverse: repeated inserts at position 1 leave them in the active mode's order.
    for (const j of activeJumps.filter((x) => missing.includes(x)).reverse()) p.insertFirst(j.from, j.rule);
    for (const c of remove) p.deleteChain(c);
    out.push(p);
  }
  return renderPayload(out);
}

/**
 * Chains in `candidates` that a foreign user chain (one `isOurs` rejects) reaches, directly or
 * through other candidates: deleting them would break that chain (and the restore would fail).
 */
function reachedFromForeign(table: SavedTable, candidates: ReadonlySet<string>, isOurs: (c: string) => boolean): Set<string> {
  const keep = new Set<string>();
  const queue: string[] = [];
  const visit = (t: string | undefined): void => {
    if (t && candidates.has(t) && !keep.has(t)) keep.add(t), queue.push(t);
  };
  for (const chain of table.values()) {
    if (chain.policy !== '-' || isOurs(chain.name)) continue;
    for (const r of chain.rules) visit(ruleTarget(r));
  }
  while (queue.length) for (const r of table.get(queue.pop() as string)?.rules ?? []) visit(ruleTarget(r));
  return keep;
}
