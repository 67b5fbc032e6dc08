// The proxy's own health, as upstream's ProxyHealthServer tracks it (pkg/proxy/healthcheck/
// proxy_health.go): a proxy is unhealthy when an update was queued and has not been applied within
// healthTimeout (2 x the sync period). Pure state with an injected clock; the HTTP side lives in
// healthz-server.ts and the healthCheckNodePort servers ask isHealthy().

import type { IPFamily } from '../model/types.js';
import type { Clock } from '../../sync/clock.js';
import { realClock } from '../../sync/clock.js';

export interface ProxyHealthStatus {
  /** No queued update has been waiting longer than the timeout. */
  readonly healthy: boolean;
  /** Latest successful sync over all families; null while still starting. */
  readonly lastUpdated: Date | null;
  readonly currentTime: Date;
  /** False while the node is being deleted or drained by the cluster autoscaler. */
  readonly nodeEligible: boolean;
}

export interface ProxyHealthOptions {
  /** Upstream uses 2 x syncPeriod. */
  readonly healthTimeoutMs: number;
  readonly clock?: Clock;
}

/** Families not given explicitly are tracked as IPv4, so single-stack callers can omit it. */
const DEFAULT_FAMILY: IPFamily = 'IPv4';

export class ProxyHealth {
  private readonly clock: Clock;
  private readonly lastUpdated = new Map<IPFamily, number>();
  private readonly oldestPending = new Map<IPFamily, number>();
  private nodeEligible = true;

  constructor(private readonly opts: ProxyHealthOptions) {
    this.clock = opts.clock ?? realClock;
  }

  get healthTimeoutMs(): number {
    return this.opts.healthTimeoutMs;
  }

  /** A sync was requested. Only the oldest outstanding request counts, so later ones don't reset it. */
  queuedUpdate(family: IPFamily = DEFAULT_FAMILY): void {
    if (!this.oldestPending.has(family)) this.oldestPending.set(family, this.clock.now());
  }

  /** A sync succeeded (or the sync loop started): nothing is pending any more. */
  updated(family: IPFamily = DEFAULT_FAMILY): void {
    this.oldestPending.delete(family);
    this.lastUpdated.set(family, this.clock.now());
  }

  setNodeEligible(eligible: boolean): void {
    this.nodeEligible = eligible;
  }

  isHealthy(): boolean {
    return this.status().healthy;
  }

  status(): ProxyHealthStatus {
    const now = this.clock.now();
    let healthy = true;
    for (const queuedAt of this.oldestPending.values()) {
      // A proxy that never synced yet is judged the same way: healthy until its first queued
      // update has waited longer than the timeout.
      if (now - queuedAt > this.opts.healthTimeoutMs) healthy = false;
    }
    const latest = Math.max(...this.lastUpdated.values());
    return {
      healthy,
      lastUpdated: Number.isFinite(latest) ? new Date(latest) : null,
      currentTime: new Date(now),
      nodeEligible: this.nodeEligible,
    };
  }
}
