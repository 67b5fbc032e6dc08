// Retry delay after consecutive sync failures: doubles from `initialMs`, never below `minMs` (the
// runner's min interval, so a retry cannot sneak under the rate limit) and never above `maxMs`
// (the periodic resync interval, which would have run a sync by then anyway).

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/** Delay before the retry that follows the `failures`-th consecutive failure (failures >= 1). */
export function backoffDelay(policy: BackoffPolicy, failures: number): number {
  const exponent = Math.max(0, failures - 1);
  // Cap the exponent so 2 ** n never overflows into Infinity for long outages.
  const raw = policy.initialMs * 2 ** Math.min(exponent, 52);
  const capped = policy.maxMs > 0 ? Math.min(raw, policy.maxMs) : raw;
  return Math.max(capped, policy.minMs);
}
