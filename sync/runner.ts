// A bounded-frequency runner in the spirit of upstream's async.BoundedFrequencyRunner: callers
// request syncs as often as they like, the runner turns that into at most one sync per minInterval,
// at least one per maxInterval, never two at once, and exponential-backoff retries after failures.
//
// It is one timer plus a little state. All waiting goes through the injected Clock so tests can
// drive it with FakeClock.

import type { Logger } from '../proxy/log.js';
import { errorFields, silentLogger } from '../proxy/log.js';
import { backoffDelay } from './backoff.js';
import type { Clock, TimerHandle } from './clock.js';
import { realClock } from './clock.js';

/**
 * Why a sync runs. Anything but 'request' means the caller should do a full sync: 'initial' is the
 * first one, 'periodic' is the maxInterval resync, 'retry' follows a failure.
 */
export type SyncReason = 'initial' | 'retry' | 'periodic' | 'request';

export interface SyncContext {
  readonly reason: SyncReason;
  /** Aborted by stop(): a long sync may end early at a safe point (SyncRequest.signal). */
  readonly signal?: AbortSignal;
}

export type SyncFn = (ctx: SyncContext) => Promise<void>;

export interface RunnerOptions {
  /** Used in log lines. */
  readonly name: string;
  /** A sync never starts sooner than this after the previous one started. */
  readonly minIntervalMs: number;
  /** A sync starts at least this often even without requests; 0 disables periodic syncs. */
  readonly maxIntervalMs: number;
  readonly fn: SyncFn;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Called on every run() request (record last-queued metrics and health queuedUpdate here). */
  readonly onQueued?: () => void;
  /** First retry delay after a failure; doubles per consecutive failure. Default 1000. */
  readonly initialBackoffMs?: number;
}

/** A read-only view of the runner for logs and /debug/state. */
export interface RunnerSnapshot {
  readonly started: boolean;
  readonly stopped: boolean;
  readonly inFlight: boolean;
  readonly pending: SyncReason | null;
  readonly lastStartMs: number | null;
  readonly nextDueMs: number | null;
  readonly consecutiveFailures: number;
}

// When several causes are pending at once the strongest wins, so a retry or the initial sync is
// never downgraded to a partial 'request' sync by a request arriving meanwhile.
const STRENGTH: Record<SyncReason, number> = { request: 0, periodic: 1, retry: 2, initial: 3 };

function stronger(a: SyncReason | null, b: SyncReason): SyncReason {
  return a !== null && STRENGTH[a] >= STRENGTH[b] ? a : b;
}

export class BoundedFrequencyRunner {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private started = false;
  private stopped = false;
  private inFlight: Promise<void> | null = null;
  private pending: SyncReason | null = null;
  private lastStartMs: number | null = null;
  private retryDueMs: number | null = null;
  private failures = 0;
  private timer: { handle: TimerHandle; due: number } | null = null;
  private readonly stopping = new AbortController();

  constructor(private readonly opts: RunnerOptions) {
    if (opts.minIntervalMs < 0 || opts.maxIntervalMs < 0) throw new Error('runner intervals must be >= 0');
    if (opts.maxIntervalMs > 0 && opts.minIntervalMs > opts.maxIntervalMs) {
      throw new Error(`minInterval (${opts.minIntervalMs}ms) must not exceed maxInterval (${opts.maxIntervalMs}ms)`);
    }
    this.clock = opts.clock ?? realClock;
    this.logger = (opts.logger ?? silentLogger).with({ runner: opts.name });
  }

  /** Begin: the first sync (reason 'initial') is scheduled immediately. Idempotent. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.pending = stronger(this.pending, 'initial');
    this.schedule();
  }

  /** Request a sync. Bursts coalesce; the first request starts the runner if start() was not called. */
  run(): void {
    if (this.stopped) return;
    this.opts.onQueued?.();
    if (!this.started) {
      this.start();
      return;
    }
    this.pending = stronger(this.pending, 'request');
    this.schedule();
  }

  /**
   * Cancel timers, tell a sync in flight to stop at its next safe point, and wait for it. Later
   * run() calls are ignored.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer();
    this.pending = null;
    this.stopping.abort(new Error('the sync runner is stopping'));
    if (this.inFlight) await this.inFlight;
  }

  snapshot(): RunnerSnapshot {
    return {
      started: this.started,
      stopped: this.stopped,
      inFlight: this.inFlight !== null,
      pending: this.pending,
      lastStartMs: this.lastStartMs,
      nextDueMs: this.timer?.due ?? null,
      consecutiveFailures: this.failures,
    };
  }

  /** When the next sync should start, or null when nothing is due (stopped or not started). */
  private nextDue(): number | null {
    if (!this.started || this.stopped) return null;
    if (this.lastStartMs === null) return this.clock.now();
    if (this.pending !== null) {
      let due = this.lastStartMs + this.opts.minIntervalMs;
      // While failing, requests wait for the retry too: a burst of changes must not hammer a
      // dataplane that just failed; they are all covered by the (full) retry sync.
      if (this.retryDueMs !== null) due = Math.max(due, this.retryDueMs);
      return due;
    }
    return this.opts.maxIntervalMs > 0 ? this.lastStartMs + this.opts.maxIntervalMs : null;
  }

  private schedule(): void {
    if (this.inFlight) return; // re-evaluated when the sync finishes
    const due = this.nextDue();
    if (due === null) {
      this.cancelTimer();
      return;
    }
    if (this.timer?.due === due) return;
    this.cancelTimer();
    const handle = this.clock.setTimeout(() => this.onTimer(), due - this.clock.now());
    this.timer = { handle, due };
  }

  private cancelTimer(): void {
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    this.timer = null;
  }

  private onTimer(): void {
    this.timer = null;
    if (this.stopped || this.inFlight) return;
    const reason = this.pending ?? 'periodic';
    this.pending = null;
    this.lastStartMs = this.clock.now();
    // Mark the sync in flight before calling fn, so a run() from inside fn (or fn throwing
    // synchronously) cannot slip a second, overlapping sync in.
    let settle = (): void => undefined;
    this.inFlight = new Promise<void>((resolve) => (settle = resolve));
    void this.attempt(reason).finally(() => {
      this.inFlight = null;
      settle();
      this.schedule();
    });
  }

  /** Run fn once and record the outcome; never rejects. */
  private async attempt(reason: SyncReason): Promise<void> {
    try {
      await this.opts.fn({ reason, signal: this.stopping.signal });
      if (this.failures > 0) this.logger.info('Sync succeeded after failures', { failures: this.failures });
      this.failures = 0;
      this.retryDueMs = null;
    } catch (err) {
      if (this.stopping.signal.aborted) {
        this.logger.info('Sync stopped early: the runner is stopping', { reason, ...errorFields(err) });
        return;
      }
      this.failures++;
      const delayMs = backoffDelay(
        { initialMs: this.opts.initialBackoffMs ?? 1000, minMs: this.opts.minIntervalMs, maxMs: this.opts.maxIntervalMs },
        this.failures,
      );
      this.retryDueMs = this.clock.now() + delayMs;
      this.pending = stronger(this.pending, 'retry');
      this.logger.error('Sync failed, will retry', { reason, ...errorFields(err), failures: this.failures, retryInMs: delayMs });
    }
  }
}
