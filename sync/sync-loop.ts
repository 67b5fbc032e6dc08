// One sync: take the model's snapshot, hand it to the dataplane, and record the outcome in metrics,
// health and the per-sync log line. The bounded-frequency runner decides when this runs; this
// module decides what a sync is. Changes are accumulated until a sync succeeds, so a failed sync
// loses nothing (and the runner makes the retry a full sync anyway).

import type { Dataplane, SyncResult } from '../modes/dataplane.js';
import type { Logger } from '../proxy/log.js';
import type { ChangeSet, IPFamily, ProxyState, RejectedObject } from '../proxy/model/types.js';
import type { ProxyMetrics } from './metrics.js';
import { FamilyServiceCounter } from './program-families.js';
import type { SyncContext } from './runner.js';

export interface SnapshotSource {
  snapshot(): { state: ProxyState; changes: ChangeSet; rejected: readonly RejectedObject[] };
  pendingCounts(): { services: number; endpoints: number };
}

/** What a successful sync covered, so observers can do work proportional to the change. */
export interface SyncedInfo {
  /** Everything that changed since the previous successful sync (failed syncs' changes included). */
  readonly changes: ChangeSet;
  /** A full sync (requested or done): observers may walk the whole state; otherwise they must not. */
  readonly full: boolean;
}

export interface SyncObserver {
  /** A sync succeeded; `state` is what the dataplane now holds. */
  synced(state: ProxyState, result: SyncResult, info: SyncedInfo): void;
}

export interface SyncLoopOptions {
  readonly source: SnapshotSource;
  readonly dataplane: Dataplane;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  readonly families: readonly IPFamily[];
  /** False until the informers delivered their initial lists: no sync before that. */
  readonly ready: () => boolean;
  readonly observers: readonly SyncObserver[];
  readonly now?: () => number;
}

export class SyncLoop {
  private carried: ChangeSet | null = null;
  private lastState: ProxyState | null = null;
  /** Families that had service ports at the last successful sync. */
  private lastFamilies = new Set<IPFamily>();
  private readonly familyCounter: FamilyServiceCounter;
  private syncs = 0;

  constructor(private readonly opts: SyncLoopOptions) {
    this.familyCounter = new FamilyServiceCounter(opts.families);
  }

  /** The state the dataplane last accepted (for /debug/state and explain). */
  current(): ProxyState | null {
    return this.lastState;
  }

  get syncCount(): number {
    return this.syncs;
  }

  /** The runner's callback. Throws when the dataplane fails so the runner backs off and retries. */
  readonly run = async (ctx: SyncContext): Promise<void> => {
    const { source, dataplane, metrics, logger } = this.opts;
    if (!this.opts.ready()) {
      logger.v(2, 'not syncing: waiting for the initial lists of services and endpoints');
      return;
    }
    const now = this.opts.now ?? Date.now;
    const start = now();
    const snap = source.snapshot();
    for (const r of snap.rejected) reportRejected(logger, metrics, r);
    const changes = mergeChanges(this.carried, snap.changes);
    const full = ctx.reason !== 'request' || this.lastState === null || changes.nodeChanged;
    let result: SyncResult;
    try {
      result = await dataplane.sync({ state: snap.state, changes, full, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    } catch (err) {
      this.carried = changes;
      // A sync cut short by the daemon stopping is not a failure of the dataplane.
      if (!ctx.signal?.aborted) metrics.syncFailuresTotal.inc({ mode: dataplane.mode });
      // Not logged here: the runner logs each failed attempt once, with its retry delay.
      throw err;
    }
    this.carried = null;
    this.lastState = snap.state;
    this.syncs++;
    const seconds = (now() - start) / 1000;
    // A family whose last service port went away had work too (removing it).
    const withServices = this.familyCounter.update(snap.state, changes, full || result.full);
    const programmed = new Set([...withServices, ...this.lastFamilies]);
    this.lastFamilies = withServices;
    // No service at all (a fresh or test cluster): still show that syncs happen, once.
    const primary = this.opts.families[0];
    if (programmed.size === 0 && primary) programmed.add(primary);
    this.record(changes, seconds, result, programmed, now());
    logger.v(2, 'synced proxy rules', {
      mode: dataplane.mode,
      full: result.full,
      reason: ctx.reason,
      durationMs: Math.round(seconds * 1000),
      servicePorts: snap.state.services.size,
      changed: changes.changed.size,
      ...result.stats,
    });
    const info: SyncedInfo = { changes, full: full || result.full };
    for (const o of this.opts.observers) o.synced(snap.state, result, info);
  };

  private record(changes: ChangeSet, seconds: number, result: SyncResult, programmed: ReadonlySet<IPFamily>, nowMs: number): void {
    const { metrics, source } = this.opts;
    for (const family of this.opts.families) {
      const labels = { ip_family: family };
      // Every family is in sync now (the queued timestamp is set for every family too).
      metrics.lastSyncTimestamp.set(labels, nowMs / 1000);
      // A family with no service ports programmed nothing: observing it would only repeat the
      // other family's numbers (upstream's proxier for an unused family times its own, empty work).
      if (!programmed.has(family)) continue;
      // Each family's own work when the dataplane reports it (full/partial histograms are the
      // dataplane's to observe, as upstream does in iptables mode); else the whole sync.
      metrics.syncDuration.observe(labels, result.familySeconds?.get(family) ?? seconds);
      for (const t of changes.triggerTimes) {
        // Clock skew between the apiserver's annotation and this node can make this negative;
        // upstream observes it anyway, we drop impossible values.
        const latency = (nowMs - t) / 1000;
        if (latency >= 0) metrics.networkProgrammingDuration.observe(labels, latency);
      }
    }
    const pending = source.pendingCounts();
    metrics.serviceChangesPending.set(pending.services);
    metrics.endpointChangesPending.set(pending.endpoints);
  }
}

export function mergeChanges(a: ChangeSet | null, b: ChangeSet): ChangeSet {
  if (a === null) return b;
  const changed = new Set([...a.changed, ...b.changed]);
  // A key removed earlier but present again now is a change, not a removal.
  const removed = new Set([...a.removed, ...b.removed].filter((k) => b.removed.has(k) || !b.changed.has(k)));
  return {
    changed,
    removed,
    nodeChanged: a.nodeChanged || b.nodeChanged,
    triggerTimes: [...a.triggerTimes, ...b.triggerTimes],
  };
}

function reportRejected(logger: Logger, metrics: ProxyMetrics, r: RejectedObject): void {
  metrics.rejectedObjectsTotal.inc({ kind: r.kind });
  logger.warn('skipping invalid object', {
    kind: r.kind,
    object: r.namespace ? `${r.namespace}/${r.name}` : r.name,
    errors: r.errors.map((e) => `${e.field}: ${e.message}`),
  });
}
