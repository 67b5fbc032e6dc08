// Restart delays for a failed informer: exponential with a cap (sync/backoff.ts's policy) plus
// jitter, so many kube-proxies that lost the same apiserver do not all come back in lockstep.

import { backoffDelay } from '../../sync/backoff.js';

export interface WatchBackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_WATCH_BACKOFF: WatchBackoffPolicy = { initialMs: 800, maxMs: 30_000 };

/** Fraction of the delay added at random on top (client-go's wait.Jitter uses 1.0 for watches). */
const JITTER = 0.5;

export class RestartBackoff {
  private failures = 0;
  private lastFailureAt = 0;

  constructor(
    private readonly policy: WatchBackoffPolicy,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a failure and returns how long to wait before the next attempt. */
  nextDelay(): number {
    // A long quiet stretch since the last failure means the connection was healthy: start over.
    if (this.failures > 0 && this.now() - this.lastFailureAt > 2 * this.policy.maxMs) this.failures = 0;
    this.failures++;
    this.lastFailureAt = this.now();
    const base = backoffDelay({ initialMs: this.policy.initialMs, minMs: 0, maxMs: this.policy.maxMs }, this.failures);
    return Math.round(base * (1 + JITTER * this.random()));
  }

  /** The stream delivered data: the next failure starts from the initial delay again. */
  reset(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
