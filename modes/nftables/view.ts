// What a table holds, as the planner compares it: chains with their rules (kernel handles where
// known) and sets with their elements. Built from a dump, or kept as the record of what we
// programmed by applying each committed batch to it.

import { elementKey, elementValue } from './elements.js';
import type { BaseChainSpec, Expr, NftOp, NftRule, NftSet, NftTableDump } from './netlink/types.js';

export interface ChainState {
  readonly base?: BaseChainSpec;
  rules: NftRule[];
}

export interface SetState {
  readonly set: NftSet;
  /**
   * By key (elementKey), each element's value (elementValue): all the planner compares (comments
   * and timeouts never make elements differ), and a delete needs the key alone. No bytes kept.
   */
  readonly elements: Map<string, string>;
}

export interface TableView {
  readonly chains: Map<string, ChainState>;
  readonly sets: Map<string, SetState>;
  /**
   * Rules and set elements held, kept up to date by applyOps so that the metrics after a partial
   * sync cost O(1), not a walk over every chain and set (issue #18).
   */
  readonly counts: { rules: number; elements: number };
}

export function emptyView(): TableView {
  return { chains: new Map(), sets: new Map(), counts: { rules: 0, elements: 0 } };
}

/** The names nft gives anonymous sets (`__set%d`, `__map%d`); no kube-proxy names a set so. */
export function isAnonymousSetName(name: string): boolean {
  return /^__(set|map)\d+$/.test(name);
}

export function viewFromDump(d: NftTableDump): TableView {
  const v = emptyView();
  for (const c of d.chains) v.chains.set(c.name, { ...(c.base ? { base: c.base } : {}), rules: [] });
  for (const r of d.rules) {
    const c = v.chains.get(r.chain);
    if (!c) continue;
    c.rules.push(r);
    v.counts.rules++;
  }
  for (const s of d.sets) {
    // Anonymous sets (`__set0`, `__map0`: an inline `{ ... }` or `vmap { ... }` in a rule, as
    // upstream kube-proxy's numgen vmaps are) belong to the rule that binds them and go with it; an
    // explicit delete of one fails (ENOENT). We never create one, so they only appear when taking
    // over a table someone else wrote.
    if (isAnonymousSetName(s.name)) continue;
    const elements = new Map((d.elements.get(s.name) ?? []).map((e) => [elementKey(e), elementValue(e)]));
    v.sets.set(s.name, { set: s, elements });
    v.counts.elements += elements.size;
  }
  return v;
}

/** Apply a committed batch; `handles` are CommitResult.handles (the kernel's echo for added rules). */
export function applyOps(v: TableView, ops: readonly NftOp[], handles: readonly (bigint | undefined)[]): void {
  const n = v.counts;
  ops.forEach((op, i) => {
    switch (op.op) {
      case 'add-table':
        return;
      case 'delete-table':
        v.chains.clear();
        v.sets.clear();
        n.rules = n.elements = 0;
        return;
      case 'add-chain':
        if (!v.chains.has(op.chain.name)) v.chains.set(op.chain.name, { ...(op.chain.base ? { base: op.chain.base } : {}), rules: [] });
        return;
      case 'delete-chain': {
        const c = v.chains.get(op.chain.name);
        if (c) n.rules -= c.rules.length;
        v.chains.delete(op.chain.name);
        return;
      }
      case 'flush-chain': {
        const c = v.chains.get(op.chain.name);
        if (c) {
          n.rules -= c.rules.length;
          c.rules = [];
        }
        return;
      }
      case 'add-rule': {
        const h = handles[i];
        const c = v.chains.get(op.rule.chain);
        if (!c) return;
        c.rules.push(h !== undefined ? { ...op.rule, handle: h } : op.rule);
        n.rules++;
        return;
      }
      case 'replace-rule': {
        const c = v.chains.get(op.rule.chain);
        if (c) c.rules = c.rules.map((r) => (r.handle === op.rule.handle ? op.rule : r));
        return;
      }
      case 'delete-rule': {
        const c = v.chains.get(op.rule.chain);
        if (!c) return;
        const before = c.rules.length;
        c.rules = c.rules.filter((r) => r.handle !== op.rule.handle);
        n.rules -= before - c.rules.length;
        return;
      }
      case 'add-set':
        if (!v.sets.has(op.set.name)) v.sets.set(op.set.name, { set: op.set, elements: new Map() });
        return;
      case 'delete-set': {
        const s = v.sets.get(op.set.name);
        if (s) n.elements -= s.elements.size;
        v.sets.delete(op.set.name);
        return;
      }
      case 'flush-set': {
        const s = v.sets.get(op.set.name);
        if (s) {
          n.elements -= s.elements.size;
          s.elements.clear();
        }
        return;
      }
      case 'add-elements': {
        const s = v.sets.get(op.set.name);
        if (!s) return;
        // Indexed, not entries(): an [index, element] pair per element was young garbage.
        for (let j = 0; j < op.elements.length; j++) {
          const e = op.elements[j]!;
          const k = op.keys?.[j] ?? elementKey(e);
          if (!s.elements.has(k)) n.elements++;
          s.elements.set(k, op.values?.[j] ?? elementValue(e));
        }
        return;
      }
      case 'delete-elements': {
        const s = v.sets.get(op.set.name);
        if (!s) return;
        for (let j = 0; j < op.elements.length; j++) if (s.elements.delete(op.keys?.[j] ?? elementKey(op.elements[j]!))) n.elements--;
        return;
      }
    }
  });
}

const REG_FIELDS = new Set(['dreg', 'sreg', 'sregKey', 'sregData', 'regAddrMin', 'regProtoMin']);

/** A register as 32-bit numbering: the kernel dumps one that starts a 16-byte register as NFT_REG_1..4. */
function reg32(v: number): number {
  return v >= 1 && v <= 4 ? 8 + (v - 1) * 4 : v;
}

/** Counter values change with traffic; they are never part of what we compare. */
const ignored = (k: string, v: unknown): boolean => v === undefined || ((k === 'packets' || k === 'bytes') && typeof v === 'bigint');

function sameValue(k: string, a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return REG_FIELDS.has(k) && reg32(a) === reg32(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(String(i), a[i], b[i])) return false;
    return true;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let na = 0;
  for (const key in ra) {
    if (ignored(key, ra[key])) continue;
    na++;
    if (!sameValue(key, ra[key], rb[key])) return false;
  }
  let nb = 0;
  for (const key in rb) if (!ignored(key, rb[key])) nb++;
  return na === nb;
}

/**
 * Whether two rules have the same content (what ruleDigest's texts would say, without building
 * them): the planner compares every rendered rule of a changed chain with the record, and the
 * digests' JSON text was the largest single cost of a one-endpoint change, and their cache the
 * largest per-rule retained heap.
 */
export function sameRule(a: { readonly exprs: readonly Expr[]; readonly comment?: string | undefined }, b: { readonly exprs: readonly Expr[]; readonly comment?: string | undefined }): boolean {
  if ((a.comment ?? '') !== (b.comment ?? '')) return false;
  if (a.exprs === b.exprs) return true;
  if (a.exprs.length !== b.exprs.length) return false;
  for (let i = 0; i < a.exprs.length; i++) if (!sameValue('', a.exprs[i], b.exprs[i])) return false;
  return true;
}

/**
 * A rule's content as text (tests compare dumped tables with it). The kernel dumps a register
 * that starts a 16-byte register as NFT_REG_1..4 whatever number it was given, so registers are
 * in 32-bit numbering. Equal texts iff sameRule.
 */
export function ruleDigest(exprs: readonly Expr[], comment: string | undefined): string {
  return JSON.stringify([comment ?? '', exprs], (k, val: unknown) => {
    if (val instanceof Uint8Array) return Buffer.from(val).toString('hex');
    if (ignored(k, val)) return undefined;
    if (typeof val === 'bigint') return val.toString();
    if (REG_FIELDS.has(k) && typeof val === 'number') return reg32(val);
    return val;
  });
}

/** Set definitions that differ need the set re-created (the kernel cannot change a set's type). */
export function sameSetDef(a: NftSet, b: NftSet): boolean {
  return (
    a.keyType === b.keyType &&
    a.keyLen === b.keyLen &&
    (a.data?.type ?? null) === (b.data?.type ?? null) &&
    !!a.interval === !!b.interval &&
    !!a.timeout === !!b.timeout &&
    (a.timeout ? a.timeoutMs === b.timeoutMs : true)
  );
}
