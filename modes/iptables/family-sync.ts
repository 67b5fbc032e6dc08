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

export interface Totals {
  readonly nat: number;
  readonly filter: number;
  readonly noLocalInternal: number;
  readonly noLocalExternal: number;
}

export class FamilySync {
  private record = new Map<string, RecordedService>();
  /** Sums over `record` of its rule counts and no-local flags (see totals()). */
  private running = { nat: 0, filter: 0, noLocalInternal: 0, noLocalExternal: 0 };
  private visits = 0;
  private fixed: { readonly fp: string; readonly nat: number; readonly filter: number } | undefined;
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
      next.set(key, old && old.sp === sp && old.eps === eps ? old : recordService(sp, eps, renderServicePort(sp, eps, state.node, o), old));
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
    this.running = { nat: 0, filter: 0, noLocalInternal: 0, noLocalExternal: 0 };
    for (const r of next.values()) this.count(r, 1);
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

  /**
   * Only the change set's keys are looked at (the model reports every service port whose
   * ServicePort or endpoint list changed; a full sync repairs anything else), and the record is
   * edited in place once every restore succeeded: nothing here walks or copies all services.
   */
  async partial(state: ProxyState, changed: ReadonlySet<string>, o: RenderOptions): Promise<FamilySyncResult> {
    const deltas: ServiceDelta[] = [];
    const updates: [string, RecordedService | undefined][] = [];
    for (const key of changed) {
      this.visits++;
      const before = this.record.get(key);
      const sp = state.services.get(key);
      if (!sp) {
        if (before) {
          deltas.push({ before, after: undefined });
          updates.push([key, undefined]);
        }
        continue;
      }
      const eps = state.endpoints.get(key) ?? NO_ENDPOINTS;
      if (before && before.sp === sp && before.eps === eps) continue;
      const rules = renderServicePort(sp, eps, state.node, o);
      const after = recordService(sp, eps, rules, before);
      updates.push([key, after]);
      deltas.push({ before, after: { ...after, rules } });
    }
    this.consistent = false; // until every restore is known to have succeeded
    const applied = await this.apply(splitDeltas(deltas, this.chainBudget()).map((group) => () => buildPartialPayload(group)));
    this.consistent = true;
    for (const [key, r] of updates) this.setRecord(key, r);
    this.rendering = { node: state.node, o };
    return { full: false, ...applied, servicesRewritten: deltas.length, canaryMissing: false };
  }

  /** Replace one record entry, keeping the running totals right. */
  private setRecord(key: string, r: RecordedService | undefined): void {
    const old = this.record.get(key);
    if (old) this.count(old, -1);
    if (r) {
      this.record.set(key, r);
      this.count(r, 1);
    } else this.record.delete(key);
  }

  private count(r: RecordedService, sign: 1 | -1): void {
    this.running.nat += sign * r.counts.nat;
    this.running.filter += sign * r.counts.filter;
    if (r.noLocal.internal) this.running.noLocalInternal += sign;
    if (r.noLocal.external) this.running.noLocalExternal += sign;
  }

  markInconsistent(): void {
    this.consistent = false;
  }

  /**
   * Rules owned per table and no-local-endpoint counts: the fixed rules of the options plus the
   * running sums over the record (kept by setRecord, recounted only by a full sync).
   */
  totals(o: RenderOptions): Totals {
    // The fixed rules depend on the options only: rendered again only when they change.
    const fp = optionsFingerprint(o);
    if (this.fixed?.fp !== fp) {
      let nat = nodePortsJumpRules(o).length;
      let filter = 0;
      for (const [id, rules] of staticRules(o)) id.startsWith('nat/') ? (nat += rules.length) : (filter += rules.length);
      this.fixed = { fp, nat, filter };
    }
    return {
      nat: this.fixed.nat + this.running.nat,
      filter: this.fixed.filter + this.running.filter,
      noLocalInternal: this.running.noLocalInternal,
      noLocalExternal: this.running.noLocalExternal,
    };
  }

  /** The same sums counted from scratch over the record (for tests of the running totals). */
  recount(o: RenderOptions): Totals {
    const saved = this.running;
    this.running = { nat: 0, filter: 0, noLocalInternal: 0, noLocalExternal: 0 };
    for (const r of this.record.values()) this.count(r, 1);
    const t = this.totals(o);
    this.running = saved;
    return t;
  }

  /** Record entries a partial sync has looked at since this object was made (for the O(change) tests). */
  get partialVisits(): number {
    return this.visits;
  }

  /** The rules last programmed for `key`, rendered again from the recorded objects. */
  describe(key: string): ServiceRules | undefined {
    const r = this.record.get(key);
    return r && this.rendering ? renderServicePort(r.sp, r.eps, this.rendering.node, this.rendering.o) : undefined;
  }
}
