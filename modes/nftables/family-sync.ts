// One IP family's nftables programming: the record of what the table holds (a TableView updated
// with every committed batch, kernel rule handles included), the rendered unit per service port,
// and the full and partial sync steps. A partial sync renders only the changed service ports and
// sends only their differences; a full sync dumps our table, compares and repairs, in batches.

import type { Logger } from '../../proxy/log.js';
import type { Endpoint, IPFamily, ProxyState } from '../../proxy/model/types.js';
import { SHARED_SETS, TABLE } from './names.js';
import type { NftClient, NftFamily, NftOp, NftSet } from './netlink/types.js';
import { nftOptionsFingerprint, type NftRenderOptions } from './options.js';
import { packGroups, planRemovals, planShared, planUnit, toNftOp, type PlannedOp } from './plan.js';
import { planClasses } from './plan-classes.js';
import { classSet, parseClassSet } from './render/classes.js';
import { nftFamily, renderSkeleton } from './render/skeleton.js';
import { renderService } from './render/service.js';
import type { Unit } from './ruleset.js';
import { SharedIndex } from './shared-index.js';
import { applyOps, emptyView, viewFromDump, type TableView } from './view.js';

const NO_ENDPOINTS: readonly Endpoint[] = [];

/**
 * Ops per transaction of a large sync: keeps each commit short, and below the client's echo limit
 * (8,192 rule echoes per commit with its 8 MiB socket buffer), so every added rule's handle is known.
 */
export const DEFAULT_BATCH_OPS = 8_000;

interface Rendered {
  readonly sp: unknown;
  readonly eps: unknown;
  readonly unit: Unit;
}

export interface NftSyncResult {
  readonly full: boolean;
  readonly ops: number;
  readonly bytes: number;
  readonly kernelMs: number;
  /** Time inside the dump of our table (a full sync's read of the kernel's state). */
  readonly dumpMs: number;
  /** Table dumps made (0 when a full sync could trust its record: see full()). */
  readonly dumps: number;
  readonly transactions: number;
  readonly servicesChanged: number;
  readonly tableMissing: boolean;
}

interface Committed {
  readonly ops: number;
  readonly bytes: number;
  readonly kernelMs: number;
  readonly transactions: number;
  /** The client's epoch after each commit (see NftFamilySync.cleanEpoch). */
  readonly epochs: readonly (number | undefined)[];
}

const counts = ({ epochs: _e, ...c }: Committed): Omit<Committed, 'epochs'> => c;

export class NftFamilySync {
  readonly nfamily: NftFamily;
  private view: TableView = emptyView();
  private units = new Map<string, Rendered>();
  private skeleton: Unit | undefined;
  private shared = new SharedIndex();
  private fingerprint = '';
  private consistent = false;
  /**
   * The client's quietEpoch() at which the record was last known to equal the kernel's table
   * (undefined: not known). While the epoch stays there, nothing but our own commits changed the
   * ruleset, so a periodic full sync compares with the record instead of dumping the table.
   */
  private cleanEpoch: number | undefined;
  /** Service ports with no local endpoints, kept per change (no walk over all units per sync). */
  private noLocal = { internal: 0, external: 0 };

  constructor(
    readonly family: IPFamily,
    private readonly client: NftClient,
    private readonly log: Logger,
    private readonly batchOps = DEFAULT_BATCH_OPS,
  ) {
    this.nfamily = nftFamily(family);
  }

  needsFull(o: NftRenderOptions): boolean {
    return !this.consistent || nftOptionsFingerprint(o) !== this.fingerprint;
  }

  markInconsistent(): void {
    this.consistent = false;
  }

  private sharedSetsOf: { skeleton: Unit | undefined; sets: Map<string, NftSet> } | undefined;

  /**
   * The sets service ports contribute elements to, by name: the skeleton's shared sets (made
   * once per skeleton: every partial sync asks) and the count classes' membership sets.
   */
  sharedSets(): { get(name: string): NftSet | undefined } {
    if (this.sharedSetsOf?.skeleton !== this.skeleton || !this.sharedSetsOf) {
      const sets = new Map((this.skeleton?.sets ?? []).filter((s) => SHARED_SETS.includes(s.set.name)).map((s) => [s.set.name, s.set]));
      this.sharedSetsOf = { skeleton: this.skeleton, sets };
    }
    const sets = this.sharedSetsOf.sets;
    return {
      get: (name) => {
        const s = sets.get(name);
        if (s) return s;
        const c = parseClassSet(name);
        return c ? classSet(this.family, c.kind, c.count) : undefined;
      },
    };
  }

  private render(state: ProxyState, key: string, o: NftRenderOptions, reuse: boolean): Rendered | undefined {
    const sp = state.services.get(key);
    if (!sp) return undefined;
    const eps = state.endpoints.get(key) ?? NO_ENDPOINTS;
    const old = this.units.get(key);
    if (reuse && old && old.sp === sp && old.eps === eps) return old;
    return { sp, eps, unit: renderService(sp, eps, state.node, o, old?.unit.slots, old?.unit.shared) };
  }

  async full(state: ProxyState, o: NftRenderOptions, signal?: AbortSignal): Promise<NftSyncResult> {
    const reuse = nftOptionsFingerprint(o) === this.fingerprint;
    const epoch = await this.client.quietEpoch?.();
    // The record is exact and nobody else committed anything since it was: no dump needed (at
    // 10,000 services the dump is one request per endpoint map, seconds of kernel time).
    const trust = this.consistent && reuse && epoch !== undefined && epoch === this.cleanEpoch;
    if (trust) return this.trustedFull(state, o, signal);
    this.consistent = false;
    this.cleanEpoch = undefined;
    const d0 = performance.now();
    // Affinity sets are filled by the packet path and never compared: their elements stay unread.
    const dump = await this.client.dumpTable(this.nfamily, TABLE, { skipElementsOf: (s) => s.dynamic === true });
    const dumpMs = performance.now() - d0;
    const tableMissing = dump === undefined;
    if (tableMissing && this.skeleton) this.log.warn('nftables table vanished; rebuilding it', { family: this.family });
    const prev = dump ? viewFromDump(dump) : emptyView();
    const skeleton = renderSkeleton(o);
    const next = new Map<string, Rendered>();
    for (const key of state.services.keys()) next.set(key, this.render(state, key, o, reuse)!);
    const units = [...next.values()].map((r) => r.unit);
    const shared = SharedIndex.of(units);
    this.skeleton = skeleton;

    const groups: PlannedOp[][] = [];
    const first: NftOp[] = tableMissing ? [{ op: 'add-table', table: { family: this.nfamily, name: TABLE } }] : [];
    first.push(...planUnit(this.nfamily, prev, skeleton));
    // A re-created shared set comes back empty: every element must be added again.
    for (const op of first) {
      const gone = op.op === 'delete-set' ? prev.sets.get(op.set.name) : undefined;
      if (!gone) continue;
      prev.counts.elements -= gone.elements.size;
      gone.elements.clear();
    }
    groups.push(first);
    const classSets = new Set([...prev.sets.keys(), ...shared.setNames()].filter((n) => parseClassSet(n)));
    const classes = planClasses(this.family, this.nfamily, prev, classSets, (n) => shared.size(n) > 0, true);
    first.push(...classes.adds);
    const touched = new Map<string, Set<string>>();
    for (const set of [...SHARED_SETS, ...classSets]) {
      const keys = new Set<string>(prev.sets.get(set)?.elements.keys() ?? []);
      for (const k of shared.keys(set)) keys.add(k);
      touched.set(set, keys);
    }
    const { byOwner, orphanDeletes } = planShared(prev, this.sharedSets(), shared, touched);
    for (const u of units) groups.push([...planUnit(this.nfamily, prev, u), ...(byOwner.get(u.owner) ?? [])]);

    const wantChains = new Set([...skeleton.chains, ...units.flatMap((u) => u.chains)].map((c) => c.name));
    const wantSets = new Set([...skeleton.sets, ...units.flatMap((u) => u.sets)].map((s) => s.set.name));
    const staleChains = [...prev.chains.keys()].filter((c) => !wantChains.has(c));
    // Class sets are the class planner's (their rules go first).
    const staleSets = [...prev.sets.keys()].filter((s) => !wantSets.has(s) && !classSets.has(s));
    if (staleChains.length || staleSets.length) this.log.v(2, 'deleting stale nftables objects', { family: this.family, chains: staleChains.length, sets: staleSets.length });
    groups.push([...orphanDeletes, ...planRemovals(this.nfamily, prev, staleChains, staleSets), ...classes.removes]);

    const r = await this.commitAll(prev, packGroups(groups, this.batchOps), signal);
    this.view = prev;
    if (epoch !== undefined && r.epochs.every((e) => e === epoch)) this.cleanEpoch = epoch;
    this.units = next;
    this.noLocal = { internal: 0, external: 0 };
    for (const u of units) this.countNoLocal(u, 1);
    this.shared = shared;
    this.fingerprint = nftOptionsFingerprint(o);
    this.consistent = true;
    // Service port groups with something to do (the skeleton's and the removals' excluded).
    return { full: true, ...counts(r), dumpMs, dumps: 1, servicesChanged: groups.slice(1, -1).filter((g) => g.length).length, tableMissing };
  }

  /**
   * Renders only the service ports in `changed` (the model's change set since the previous
   * successful sync, failed syncs' changes included): nothing here walks all service ports, so
   * one change costs the same at 1,000 and 50,000 services (issue #18).
   */
  async partial(state: ProxyState, changed: ReadonlySet<string>, o: NftRenderOptions, signal?: AbortSignal): Promise<NftSyncResult> {
    return { ...(await this.apply(state, changed, o, signal)), full: false };
  }

  /**
   * A full sync while the record is known to equal the table (see cleanEpoch): every unit that
   * was programmed and has not changed since is in the table as rendered, so only the service
   * ports whose model objects changed (by identity, one pass over the state) or went away are
   * planned, like a partial sync. Planning every unit and every shared key against the record
   * instead was ~10 s of own work at 10,000 services for a sync that sent nothing.
   */
  private async trustedFull(state: ProxyState, o: NftRenderOptions, signal?: AbortSignal): Promise<NftSyncResult> {
    const changed = new Set<string>();
    for (const [key, sp] of state.services) {
      const old = this.units.get(key);
      if (!old || old.sp !== sp || old.eps !== (state.endpoints.get(key) ?? NO_ENDPOINTS)) changed.add(key);
    }
    for (const key of this.units.keys()) if (!state.services.has(key)) changed.add(key);
    return { ...(await this.apply(state, changed, o, signal)), full: true };
  }

  private async apply(state: ProxyState, changed: ReadonlySet<string>, o: NftRenderOptions, signal?: AbortSignal): Promise<Omit<NftSyncResult, 'full'>> {
    const groups: PlannedOp[][] = [];
    const shared = this.shared;
    const touched = new Map<string, Set<string>>();
    const touch = (set: string, k: string): void => {
      let t = touched.get(set);
      if (!t) touched.set(set, (t = new Set()));
      t.add(k);
    };
    const after: Unit[] = [];
    const staleChains: string[] = [];
    const staleSets: string[] = [];
    let rerendered = 0;
    for (const key of changed) {
      const old = this.units.get(key);
      const r = this.render(state, key, o, true);
      if (r === old) continue;
      rerendered++;
      // The render cache and the shared index are updated in place, before the commit: if it
      // fails, the next sync is full, and a full sync plans against a dump of the table and
      // rebuilds the index, reusing only renders of unchanged objects.
      if (r) this.units.set(key, r);
      else this.units.delete(key);
      shared.update(old?.unit, r?.unit, touch);
      if (old) {
        this.countNoLocal(old.unit, -1);
        const keepC = new Set(r?.unit.chains.map((c) => c.name));
        const keepS = new Set(r?.unit.sets.map((s) => s.set.name));
        for (const c of old.unit.chains) if (!keepC.has(c.name)) staleChains.push(c.name);
        for (const s of old.unit.sets) if (!keepS.has(s.set.name)) staleSets.push(s.set.name);
      }
      if (r) {
        after.push(r.unit);
        this.countNoLocal(r.unit, 1);
      }
    }
    try {
      const { byOwner, orphanDeletes } = planShared(this.view, this.sharedSets(), shared, touched);
      // Count classes whose membership changed: one that appears goes first, one emptied last.
      const classes = planClasses(this.family, this.nfamily, this.view, [...touched.keys()], (n) => shared.size(n) > 0, false);
      groups.push(classes.adds);
      for (const u of after) groups.push([...planUnit(this.nfamily, this.view, u), ...(byOwner.get(u.owner) ?? [])]);
      groups.push([...orphanDeletes, ...planRemovals(this.nfamily, this.view, staleChains, staleSets), ...classes.removes]);
      this.consistent = false; // until every batch is known to have succeeded
      const r = await this.commitAll(this.view, packGroups(groups, this.batchOps), signal);
      this.consistent = true;
      if (r.epochs.some((e) => e !== this.cleanEpoch)) this.cleanEpoch = undefined;
      return { ...counts(r), dumpMs: 0, dumps: 0, servicesChanged: rerendered, tableMissing: false };
    } catch (e) {
      // The next (full) sync rebuilds the record and the index from a dump.
      this.consistent = false;
      this.cleanEpoch = undefined;
      throw e;
    }
  }

  private countNoLocal(u: Unit, by: 1 | -1): void {
    if (u.noLocal.internal) this.noLocal.internal += by;
    if (u.noLocal.external) this.noLocal.external += by;
  }

  /**
   * Commits the batches in order. `signal` (the daemon stopping) is honoured between two
   * transactions only: each one leaves a valid table (see packGroups), so a shutdown does not wait
   * for the rest of a large full sync; the record is then marked inconsistent and the next start
   * syncs in full from a dump.
   */
  private async commitAll(view: TableView, batches: PlannedOp[][], signal?: AbortSignal): Promise<Committed> {
    let ops = 0;
    let bytes = 0;
    let kernelMs = 0;
    const epochs: (number | undefined)[] = [];
    if (batches.length > 1) this.log.v(2, 'nftables sync split into several transactions', { family: this.family, transactions: batches.length });
    for (const [i, p] of batches.entries()) {
      if (i > 0) signal?.throwIfAborted();
      // Shared-map elements get their bytes only now, one batch at a time (plan.ts PendingElements).
      const b = p.map(toNftOp);
      const res = await this.client.commit(b);
      applyOps(view, b, res.handles);
      // One line per committed part of a multi-part sync: where a crash left the table is then
      // visible in the log (and a test can kill the daemon exactly between two parts).
      if (batches.length > 1) this.log.v(4, 'nftables transaction committed', { family: this.family, transaction: i + 1, of: batches.length, ops: b.length });
      ops += b.length;
      bytes += res.bytes;
      kernelMs += res.kernelMs;
      epochs.push(res.epoch);
    }
    return { ops, bytes, kernelMs, transactions: batches.length, epochs };
  }

  /** Counts for metrics (O(1): kept up to date by every committed batch and rendered change). */
  totals(): { chains: number; rules: number; elements: number; noLocalInternal: number; noLocalExternal: number } {
    const { rules, elements } = this.view.counts;
    return { chains: this.view.chains.size, rules, elements, noLocalInternal: this.noLocal.internal, noLocalExternal: this.noLocal.external };
  }

  /** What was programmed for a service port: its unit and the shared elements it owns. */
  describe(key: string): Unit | undefined {
    return this.units.get(key)?.unit;
  }

  /** The record of the whole table (for trace). */
  recorded(): TableView {
    return this.view;
  }
}
