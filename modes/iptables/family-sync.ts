// One IP family's iptables programming: the in-memory record of what the kernel holds (the
// rendered rules of every service port as last restored) and the full/partial sync steps built on
// it. Rendering is reused for service ports whose ServicePort and endpoint array are the same
// objects as last time (the model store preserves identity of unchanged entries).

import type { Logger } from '../../proxy/log.js';
import type { Endpoint, IPFamily, ProxyState, ServicePort } from '../../proxy/model/types.js';
import type { IptablesRunner } from './runner.js';
import { optionsFingerprint, type RenderOptions } from './options.js';
import { planFullSync } from './payload/full.js';
import { nftChainBudget, packPlan, type PackedRestore } from './payload/pack.js';
import { buildPartialPayload, splitDeltas, type ServiceDelta } from './payload/partial.js';
import { renderServicePort } from './render/service.js';
import { nodePortsJumpRules, staticRules, CANARY_CHAIN } from './render/skeleton.js';
import { ruleCounts, type ServiceRules } from './render/types.js';
import { parseSave, type SavedTables } from './save-parse.js';

const NO_ENDPOINTS: readonly Endpoint[] = [];

interface Rendered {
  readonly sp: ServicePort;
  readonly eps: readonly Endpoint[];
  readonly rules: ServiceRules;
}

export interface FamilySyncResult {
  readonly full: boolean;
  readonly bytes: number;
  readonly written: { readonly nat: number; readonly filter: number };
  readonly servicesRewritten: number;
  readonly canaryMissing: boolean;
}

export class FamilySync {
  private record = new Map<string, Rendered>();
  private fingerprint = '';
  /** A full sync succeeded and nothing failed since: partial syncs are allowed. */
  private consistent = false;
  private canaryCreated = false;

  /** Rules the kernel held at the last full sync, which sets how large a restore may be. */
  private kernelRules = 0;

  constructor(
    readonly family: IPFamily,
    private readonly runner: IptablesRunner,
    private readonly log: Logger,
    /** Chains one restore may name before a sync is cut into several; see payload/pack.ts. */
    private readonly fixedChainBudget?: number,
  ) {}

  /** Legacy restores rewrite the whole table anyway: one transaction is always cheapest there. */
  private chainBudget(): number {
    if (this.fixedChainBudget !== undefined) return this.fixedChainBudget;
    return this.runner.backend === 'nft' ? nftChainBudget(this.kernelRules) : Infinity;
  }

  needsFull(o: RenderOptions): boolean {
    return !this.consistent || optionsFingerprint(o) !== this.fingerprint;
  }

  async full(state: ProxyState, o: RenderOptions): Promise<FamilySyncResult> {
    this.consistent = false;
    const existing = parseSave(await this.runner.save(this.family));
    const canaryMissing = this.canaryCreated && !(existing.get('mangle')?.has(CANARY_CHAIN) ?? false);
    if (canaryMissing) this.log.warn('iptables canary chain vanished: rules were flushed externally', { family: this.family });
    const fp = optionsFingerprint(o);
    const reuse = fp === this.fingerprint;
    const next = new Map<string, Rendered>();
    for (const [key, sp] of state.services) {
      const eps = state.endpoints.get(key) ?? NO_ENDPOINTS;
      const old = reuse ? this.record.get(key) : undefined;
      next.set(key, old && old.sp === sp && old.eps === eps ? old : { sp, eps, rules: renderServicePort(sp, eps, state.node, o) });
    }
    const plan = planFullSync(o, [...next.values()].map((r) => r.rules), existing);
    if (plan.staleChains.length) this.log.v(2, 'deleting stale chains', { family: this.family, chains: plan.staleChains.length });
    this.kernelRules = countRules(existing);
    const batches = packPlan(plan, this.chainBudget());
    if (batches.length > 1) this.log.v(2, 'full sync split into several restores', { family: this.family, restores: batches.length });
    const restores = await this.apply(batches);
    this.record = next;
    this.fingerprint = fp;
    this.consistent = true;
    this.canaryCreated = true;
    return {
      full: true,
      bytes: restores.reduce((a, r) => a + r.payload.length, 0),
      written: { nat: restores.reduce((a, r) => a + r.written.nat, 0), filter: restores.reduce((a, r) => a + r.written.filter, 0) },
      servicesRewritten: plan.servicesRewritten,
      canaryMissing,
    };
  }

  /**
   * Apply the restores in order; several go through one run of iptables-restore (one transaction
   * each), built one by one as the tool consumes them. Returns the non-empty ones.
   */
  private async apply(batches: ReadonlyArray<() => PackedRestore>): Promise<PackedRestore[]> {
    const done: PackedRestore[] = [];
    function* payloads(): Generator<string> {
      for (const build of batches) {
        const r = build();
        if (r.payload === '') continue;
        done.push(r);
        yield r.payload;
      }
    }
    if (batches.length > 1) {
      await this.runner.restoreEach(this.family, payloads());
    } else {
      for (const p of payloads()) await this.runner.restore(this.family, p);
    }
    return done;
  }

  async partial(state: ProxyState, changed: ReadonlySet<string>, o: RenderOptions): Promise<FamilySyncResult> {
    const deltas: ServiceDelta[] = [];
    const next = new Map(this.record);
    for (const key of this.candidates(state, changed)) {
      const before = this.record.get(key);
      const sp = state.services.get(key);
      if (!sp) {
        next.delete(key);
        if (before) deltas.push({ before: before.rules, after: undefined });
        continue;
      }
      const eps = state.endpoints.get(key) ?? NO_ENDPOINTS;
      const after = before && before.sp === sp && before.eps === eps ? before : { sp, eps, rules: renderServicePort(sp, eps, state.node, o) };
      next.set(key, after);
      deltas.push({ before: before?.rules, after: after.rules });
    }
    this.consistent = false; // until every restore is known to have succeeded
    const restores = await this.apply(splitDeltas(deltas, this.chainBudget()).map((group) => () => buildPartialPayload(group)));
    this.consistent = true;
    this.record = next;
    return {
      full: false,
      bytes: restores.reduce((a, r) => a + r.payload.length, 0),
      written: { nat: restores.reduce((a, r) => a + r.written.nat, 0), filter: restores.reduce((a, r) => a + r.written.filter, 0) },
      servicesRewritten: deltas.length,
      canaryMissing: false,
    };
  }

  /**
   * The changed keys, plus any whose objects differ from the record: a cheap identity scan that
   * keeps the kernel right even if a change was not reported.
   */
  private candidates(state: ProxyState, changed: ReadonlySet<string>): Set<string> {
    const keys = new Set(changed);
    for (const [key, sp] of state.services) {
      const r = this.record.get(key);
      if (!r || r.sp !== sp || r.eps !== (state.endpoints.get(key) ?? NO_ENDPOINTS)) keys.add(key);
    }
    for (const key of this.record.keys()) if (!state.services.has(key)) keys.add(key);
    return keys;
  }

  markInconsistent(): void {
    this.consistent = false;
  }

  /** Rules owned per table and no-local-endpoint counts, from the record. */
  totals(o: RenderOptions): { nat: number; filter: number; noLocalInternal: number; noLocalExternal: number } {
    let nat = nodePortsJumpRules(o).length;
    let filter = 0;
    for (const [id, rules] of staticRules(o)) id.startsWith('nat/') ? (nat += rules.length) : (filter += rules.length);
    let noLocalInternal = 0;
    let noLocalExternal = 0;
    for (const r of this.record.values()) {
      const c = ruleCounts(r.rules);
      nat += c.nat;
      filter += c.filter;
      if (r.rules.noLocal.internal) noLocalInternal++;
      if (r.rules.noLocal.external) noLocalExternal++;
    }
    return { nat, filter, noLocalInternal, noLocalExternal };
  }

  describe(key: string): ServiceRules | undefined {
    return this.record.get(key)?.rules;
  }
}

function countRules(t: SavedTables): number {
  let n = 0;
  for (const table of t.values()) for (const c of table.values()) n += c.rules.length;
  return n;
}
