// One IP family's iptables programming: the in-memory record of what the kernel holds (the
// rendered rules of every service port as last restored) and the full/partial sync steps built on
// it. Rendering is reused for service ports whose ServicePort and endpoint array are the same
// objects as last time (the model store preserves identity of unchanged entries).

import type { Logger } from '../../proxy/log.js';
import type { Endpoint, IPFamily, ProxyState, ServicePort } from '../../proxy/model/types.js';
import type { IptablesRunner } from './runner.js';
import { optionsFingerprint, type RenderOptions } from './options.js';
import { buildFullPayload } from './payload/full.js';
import { buildPartialPayload, type ServiceDelta } from './payload/partial.js';
import { renderServicePort } from './render/service.js';
import { nodePortsJumpRules, staticRules, CANARY_CHAIN } from './render/skeleton.js';
import { ruleCounts, type ServiceRules } from './render/types.js';
import { parseSave } from './save-parse.js';

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

  constructor(
    readonly family: IPFamily,
    private readonly runner: IptablesRunner,
    private readonly log: Logger,
  ) {}

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
    let rendered = 0;
    for (const [key, sp] of state.services) {
      const eps = state.endpoints.get(key) ?? NO_ENDPOINTS;
      const old = reuse ? this.record.get(key) : undefined;
      if (old && old.sp === sp && old.eps === eps) next.set(key, old);
      else (next.set(key, { sp, eps, rules: renderServicePort(sp, eps, state.node, o) }), rendered++);
    }
    const built = buildFullPayload(o, [...next.values()].map((r) => r.rules), existing);
    if (built.staleChains.length) this.log.v(2, 'deleting stale chains', { family: this.family, chains: built.staleChains.length });
    await this.runner.restore(this.family, built.payload);
    this.record = next;
    this.fingerprint = fp;
    this.consistent = true;
    this.canaryCreated = true;
    return { full: true, bytes: built.payload.length, written: built.written, servicesRewritten: rendered, canaryMissing };
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
    const built = buildPartialPayload(deltas);
    if (built.payload !== '') {
      this.consistent = false; // until the restore is known to have succeeded
      await this.runner.restore(this.family, built.payload);
      this.consistent = true;
    }
    this.record = next;
    return { full: false, bytes: built.payload.length, written: built.written, servicesRewritten: deltas.length, canaryMissing: false };
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
