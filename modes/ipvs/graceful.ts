// Which real servers are draining (weight 0, waiting for their connections to end) and since
// when. Deterministic: no timers, time comes from an injected clock, so tests step it by hand.
//
// Upstream re-checks its list every minute from a goroutine; here the dataplane re-checks the
// listed virtual servers on every sync (periodic syncs included), which gives the same bound.

import { rsKey, type RealServerKey } from './ops.js';

/** Upstream's rsCheckDeleteInterval is 1 min; after this long a draining real server is removed anyway. */
export const DEFAULT_GRACEFUL_WAIT_MS = 60_000;

export class GracefulTerminationList {
  /** vsKey → rsKey → start time (ms). */
  private readonly draining = new Map<string, Map<string, number>>();

  constructor(
    private readonly now: () => number,
    readonly maxWaitMs: number = DEFAULT_GRACEFUL_WAIT_MS,
  ) {}

  has(vsKey: string, rs: RealServerKey): boolean {
    return this.draining.get(vsKey)?.has(rsKey(rs)) ?? false;
  }

  /** Tracked for at least maxWaitMs: delete it even if connections remain. */
  expired(vsKey: string, rs: RealServerKey): boolean {
    const since = this.draining.get(vsKey)?.get(rsKey(rs));
    return since !== undefined && this.now() - since >= this.maxWaitMs;
  }

  /**
   * After a reconcile of `vsKey`: exactly `still` are draining now. New ones start their wait
   * now, known ones keep their start time, and the rest (deleted or revived) are forgotten.
   */
  replace(vsKey: string, still: readonly RealServerKey[]): void {
    const before = this.draining.get(vsKey);
    if (still.length === 0) {
      this.draining.delete(vsKey);
      return;
    }
    const next = new Map<string, number>();
    for (const rs of still) {
      const k = rsKey(rs);
      next.set(k, before?.get(k) ?? this.now());
    }
    this.draining.set(vsKey, next);
  }

  /** Virtual servers with draining real servers: every sync must look at them again. */
  vsKeys(): string[] {
    return [...this.draining.keys()];
  }

  get size(): number {
    let n = 0;
    for (const m of this.draining.values()) n += m.size;
    return n;
  }
}
