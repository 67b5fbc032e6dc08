// One IP family's iptables programming: the in-memory record of what the kernel holds (per
// service port: the objects it was rendered from, a digest per chain, its dispatch rules; see
// record.ts) and the full/partial sync steps built on it. A service port whose ServicePort and
// endpoint array are the same objects as last time (the model store preserves identity of
// unchanged entries) is not rendered again unless its chains must be rewritten.

import type { Logger } from '../../proxy/log.js';
import type { Endpoint, IPFamily, NodeInfo, ProxyState } from '../../proxy/model/types.js';
import type { IptablesRunner } from './runner.js';
import { optionsFingerprint, type RenderOptions } from './options.js';
import { readKernel } from './kernel-view.js';
import { planFullSync, type PlannedService } from './payload/full.js';
import { nftChainBudget, packPlan, type PackedRestore } from './payload/pack.js';
import { buildPartialPayload, splitDeltas, type ServiceDelta } from './payload/partial.js';
import { renderServicePort } from './render/service.js';
import { nodePortsJumpRules, staticRules, CANARY_CHAIN } from './render/skeleton.js';
import type { ServiceRules } from './render/types.js';
import { recordService, type RecordedService } from './record.js';

const NO_ENDPOINTS: readonly Endpoint[] = [];

interface Applied {
  readonly bytes: number;
  readonly written: { readonly nat: number; readonly filter: number };
}

export interface FamilySyncResult {
  readonly full: boolean;
  readonly bytes: number;
  readonly written: { readonly nat: number; readonly filter: number };
  readonly servicesRewritten: number;
  readonly canaryMissing: boolean;
}

export class FamilySync {
  private record = new Map<string, RecordedService>();
  /** What the record was rendered with, to render a recorded service port again on demand. */
  private rendering: { readonly node: NodeInfo; readonly o: RenderOptions } | undefined;
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
    const kernel = readKernel(await this.runner.save(this.family));
    const canaryMissing = this.canaryCreated && !(kernel.tables.get('mangle')?.has(CANARY_CHAIN) ?? false);
    if (canaryMissing) this.log.warn('iptables canary chain vanished: rules were flushed externally', { family: this.family });
    const fp = optionsFingerprint(o);
    const reuse = fp === this.fingerprint;
    const next = new Map<string, RecordedService>();
    for (const [key, sp] of state.services) {
      const eps = state.endpoints.get(key) ?? NO_ENDPOINTS;
      const old = reuse ? this.record.get(key) : undefined;
      next.set(key, old && old.sp === sp && old.eps === eps ? old : recordService(sp, eps, renderServicePort(sp, eps, state.node, o)));
    }
    const planned: PlannedService[] = [...next.values()].map((r) => ({
      chains: r.chains,
      dispatch: r.dispatch,
      rules: () => renderServicePort(r.sp, r.eps, state.node, o),
    }));
    const plan = planFullSync(o, planned, kernel);
    if (plan.staleChains.length) this.log.v(2, 'deleting stale chains', { family: this.family, chains: plan.staleChains.length });
    this.kernelRules = kernel.rules;
    const batches = packPlan(plan, this.chainBudget());
    if (batches.length > 1) this.log.v(2, 'full sync split into several restores', { family: this.family, restores: batches.length });
    const applied = await this.apply(batches);
    this.record = next;
    this.rendering = { node: state.node, o };
    this.fingerprint = fp;
    this.consistent = true;
    this.canaryCreated = true;
    return { full: true, ...applied, servicesRewritten: plan.servicesRewritten, canaryMissing };
  }

  /**
   * Apply the restores in order; several go through one run of iptables-restore (one transaction
   * each), built one by one as the tool consumes them, so only one payload is in memory at a time.
   */
  private async apply(batches: ReadonlyArray<() => PackedRestore>): Promise<Applied> {
    const applied = { bytes: 0, written: { nat: 0, filter: 0 } };
    function* payloads(): Generator<string> {
      for (const build of batches) {
        const r = build();
        if (r.payload === '') continue;
        applied.bytes += r.payload.length;
        applied.written.nat += r.written.nat;
        applied.written.filter += r.written.filter;
        yield r.payload;
      }
    }
    if (batches.length > 1) {
      await this.runner.restoreEach(this.family, payloads());
    } else {
      for (const p of payloads()) await this.runner.restore(this.family, p);
    }
    return applied;
  }

  async partial(state: ProxyState, changed: ReadonlySet<string>, o: RenderOptions): Promise<FamilySyncResult> {
    const deltas: ServiceDelta[] = [];
    const next = new Map(this.record);
    for (const key of this.candidates(state, changed)) {
      const before = this.record.get(key);
      const sp = state.services.get(key);
      if (!sp) {
        next.delete(key);
        if (before) deltas.push({ before, after: undefined });
        continue;
      }
      const eps = state.endpoints.get(key) ?? NO_ENDPOINTS;
      if (before && before.sp === sp && before.eps === eps) continue;
      const rules = renderServicePort(sp, eps, state.node, o);
      const after = recordService(sp, eps, rules);
      next.set(key, after);
      deltas.push({ before, after: { ...after, rules } });
    }
    this.consistent = false; // until every restore is known to have succeeded
    const applied = await this.apply(splitDeltas(deltas, this.chainBudget()).map((group) => () => buildPartialPayload(group)));
    this.consistent = true;
    this.record = next;
    this.rendering = { node: state.node, o };
    return { full: false, ...applied, servicesRewritten: deltas.length, canaryMissing: false };
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
      nat += r.counts.nat;
      filter += r.counts.filter;
      if (r.noLocal.internal) noLocalInternal++;
      if (r.noLocal.external) noLocalExternal++;
    }
    return { nat, filter, noLocalInternal, noLocalExternal };
  }

  /** The rules last programmed for `key`, rendered again from the recorded objects. */
  describe(key: string): ServiceRules | undefined {
    const r = this.record.get(key);
    return r && this.rendering ? renderServicePort(r.sp, r.eps, this.rendering.node, this.rendering.o) : undefined;
  }
}
