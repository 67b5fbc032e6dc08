// Restart delays for a failed informer: exponential with a cap (sync/backoff.ts's policy) plus
// jitter, so many kube-proxies that lost the same apiserver do not all come back in lockstep.
//
// The cap is low on purpose. client-go's reflector grows to 30 s, and so did this: a proxy whose
// apiserver was away for half a minute then slept up to 45 s more before looking again, and the
// Services changed meanwhile stayed unprogrammed (issue #16: ~22 s after the apiserver was back).
// With 0.8 s doubling to 3 s and up to 100% jitter, retries come every 3-6 s during a long outage:
// a returning apiserver is seen within 6 s, while the reconnects of thousands of nodes still
// spread over a 3 s window instead of arriving together. A retry that finds the apiserver still
// down is a refused connection or a cheap error answer; resuming a watch from its resourceVersion
// is served from the apiserver's watch cache, not a full list.

import { backoffDelay } from '../../sync/backoff.js';

export interface WatchBackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_WATCH_BACKOFF: WatchBackoffPolicy = { initialMs: 800, maxMs: 3000 };

/** Fraction of the delay added at random on top (client-go's reflector uses 1.0 too). */
const JITTER = 1.0;

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
    // Longer than two of the longest (jittered) delays, so steady retries are never mistaken for it.
    if (this.failures > 0 && this.now() - this.lastFailureAt > 2 * (1 + JITTER) * this.policy.maxMs) this.failures = 0;
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
