import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../sync/backoff.js';
import { FakeClock } from '../../../sync/clock.js';
import { BoundedFrequencyRunner, type SyncReason } from '../../../sync/runner.js';
import { memoryLogger } from '../../../proxy/log.js';
import { RestoreError } from '../../../modes/iptables/runner.js';

interface Call {
  reason: SyncReason;
  at: number;
}

/** A runner over a FakeClock whose sync fn records calls and can be made slow or failing. */
function harness(opts: { min?: number; max?: number } = {}) {
  const clock = new FakeClock(1_000_000);
  const calls: Call[] = [];
  let failNext = 0;
  let active = 0;
  let maxActive = 0;
  let gate: Promise<void> | null = null;
  let queued = 0;
  const runner = new BoundedFrequencyRunner({
    name: 'test',
    minIntervalMs: opts.min ?? 1000,
    maxIntervalMs: opts.max ?? 30_000,
    clock,
    onQueued: () => queued++,
    fn: async ({ reason }) => {
      calls.push({ reason, at: clock.now() - 1_000_000 });
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        if (gate) await gate;
        if (failNext > 0) {
          failNext--;
          throw new Error('boom');
        }
      } finally {
        active--;
      }
    },
  });
  return {
    clock,
    runner,
    calls,
    reasons: () => calls.map((c) => c.reason),
    times: () => calls.map((c) => c.at),
    fail: (n: number) => (failNext = n),
    block: () => {
      let release = (): void => undefined;
      gate = new Promise<void>((r) => (release = r));
      return () => {
        gate = null;
        release();
      };
    },
    maxActive: () => maxActive,
    queued: () => queued,
  };
}

describe('BoundedFrequencyRunner', () => {
  it('does nothing until started or run', async () => {
    const h = harness();
    await h.clock.tick(100_000);
    expect(h.calls).toEqual([]);
  });

  it('runs the initial sync immediately on start', async () => {
    const h = harness();
    h.runner.start();
    await h.clock.tick(0);
    expect(h.calls).toEqual([{ reason: 'initial', at: 0 }]);
  });

  it('starts on the first run() with reason initial and calls onQueued per request', async () => {
    const h = harness();
    h.runner.run();
    h.runner.run();
    await h.clock.tick(0);
    expect(h.reasons()).toEqual(['initial']);
    expect(h.queued()).toBe(2);
  });

  it('coalesces a burst of requests into one sync after minInterval', async () => {
    const h = harness({ min: 1000 });
    h.runner.start();
    await h.clock.tick(0);
    for (let i = 0; i < 50; i++) {
      h.runner.run();
      await h.clock.tick(10);
    }
    await h.clock.tick(5000);
    expect(h.reasons()).toEqual(['initial', 'request']);
    expect(h.times()).toEqual([0, 1000]);
  });

  it('never starts a sync sooner than minInterval after the previous start', async () => {
    const h = harness({ min: 2000, max: 60_000 });
    h.runner.start();
    await h.clock.tick(0);
    for (let t = 0; t < 20_000; t += 100) {
      h.runner.run();
      await h.clock.tick(100);
    }
    const times = h.times();
    expect(times.length).toBeGreaterThan(5);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(2000);
  });

  it('runs a request immediately when minInterval has already passed', async () => {
    const h = harness({ min: 1000 });
    h.runner.start();
    await h.clock.tick(5000);
    h.runner.run();
    await h.clock.tick(0);
    expect(h.times()).toEqual([0, 5000]);
    expect(h.reasons()).toEqual(['initial', 'request']);
  });

  it('syncs every maxInterval without requests', async () => {
    const h = harness({ min: 1000, max: 10_000 });
    h.runner.start();
    await h.clock.tick(35_000);
    expect(h.times()).toEqual([0, 10_000, 20_000, 30_000]);
    expect(h.reasons()).toEqual(['initial', 'periodic', 'periodic', 'periodic']);
  });

  it('measures maxInterval from the last sync of any kind', async () => {
    const h = harness({ min: 1000, max: 10_000 });
    h.runner.start();
    await h.clock.tick(4000);
    h.runner.run();
    await h.clock.tick(13_000);
    expect(h.times()).toEqual([0, 4000, 14_000]);
  });

  it('never overlaps syncs; a request during a sync runs once after it', async () => {
    const h = harness({ min: 1000, max: 60_000 });
    const release = h.block();
    h.runner.start();
    await h.clock.tick(0);
    h.runner.run();
    h.runner.run();
    await h.clock.tick(10_000);
    expect(h.calls.length).toBe(1);
    expect(h.runner.snapshot().inFlight).toBe(true);
    release();
    await h.clock.tick(0);
    // minInterval since the start (t=0) has long passed, so the follow-up runs at once.
    expect(h.reasons()).toEqual(['initial', 'request']);
    expect(h.times()).toEqual([0, 10_000]);
    expect(h.maxActive()).toBe(1);
  });

  it('a request during a short sync waits out minInterval from that sync start', async () => {
    const h = harness({ min: 1000, max: 60_000 });
    h.runner.start();
    await h.clock.tick(0);
    const release = h.block();
    h.runner.run();
    await h.clock.tick(1000); // second sync starts at 1000 and blocks
    h.runner.run();
    await h.clock.tick(200);
    release();
    await h.clock.tick(0);
    expect(h.times()).toEqual([0, 1000]);
    await h.clock.tick(800);
    expect(h.times()).toEqual([0, 1000, 2000]);
  });

  it('retries a failed sync with exponential backoff capped at maxInterval', async () => {
    const h = harness({ min: 500, max: 10_000 });
    h.fail(6);
    h.runner.start();
    await h.clock.tick(60_000);
    // Failures at 0, 1000, 3000, 7000, 15000, 25000 (delays 1s, 2s, 4s, 8s, then capped 10s); success at 35000.
    expect(h.times().slice(0, 7)).toEqual([0, 1000, 3000, 7000, 15_000, 25_000, 35_000]);
    expect(h.reasons().slice(0, 7)).toEqual(['initial', 'retry', 'retry', 'retry', 'retry', 'retry', 'retry']);
    // After success, back to periodic syncs.
    expect(h.reasons()[7]).toBe('periodic');
    expect(h.runner.snapshot().consecutiveFailures).toBe(0);
  });

  it('a request while failing is folded into the retry (reason retry, at the backoff time)', async () => {
    const h = harness({ min: 100, max: 30_000 });
    h.fail(2);
    h.runner.start();
    await h.clock.tick(0); // fails, retry at 1000
    h.runner.run();
    await h.clock.tick(999);
    expect(h.calls.length).toBe(1);
    await h.clock.tick(1); // retry at 1000 fails, next at 3000
    expect(h.reasons()).toEqual(['initial', 'retry']);
    await h.clock.tick(2000);
    expect(h.reasons()).toEqual(['initial', 'retry', 'retry']);
    h.runner.run();
    await h.clock.tick(100);
    expect(h.reasons()).toEqual(['initial', 'retry', 'retry', 'request']);
  });

  it('catches synchronous throws from the sync fn', async () => {
    const clock = new FakeClock();
    const reasons: SyncReason[] = [];
    const runner = new BoundedFrequencyRunner({
      name: 'sync-throw',
      minIntervalMs: 0,
      maxIntervalMs: 60_000,
      clock,
      fn: ({ reason }) => {
        reasons.push(reason);
        if (reasons.length === 1) throw new Error('sync throw');
        return Promise.resolve();
      },
    });
    runner.start();
    await clock.tick(1000);
    expect(reasons).toEqual(['initial', 'retry']);
  });

  it('stop() waits for the sync in flight and cancels timers', async () => {
    const h = harness({ min: 1000, max: 10_000 });
    const release = h.block();
    h.runner.start();
    await h.clock.tick(0);
    h.runner.run();
    let stopped = false;
    const stopping = h.runner.stop().then(() => (stopped = true));
    await h.clock.tick(0);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    h.runner.run();
    await h.clock.tick(100_000);
    expect(h.calls.length).toBe(1);
    expect(h.clock.pendingTimers()).toBe(0);
  });

  it('stop() aborts the signal of the sync in flight; a sync that ends early for it is no failure and gets no retry', async () => {
    const clock = new FakeClock(0);
    const seen: AbortSignal[] = [];
    const log = memoryLogger();
    const runner = new BoundedFrequencyRunner({
      name: 'test',
      minIntervalMs: 1000,
      maxIntervalMs: 10_000,
      clock,
      logger: log.logger,
      fn: async ({ signal }) => {
        if (!signal) throw new Error('no signal');
        seen.push(signal);
        // A long sync that stops at its next safe point once told to.
        await new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      },
    });
    runner.start();
    await clock.tick(0);
    expect(seen.length).toBe(1);
    expect(seen[0]!.aborted).toBe(false);
    await runner.stop();
    expect(seen[0]!.aborted).toBe(true);
    expect(runner.snapshot().consecutiveFailures).toBe(0);
    const msgs = log.lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toContain('Sync stopped early: the runner is stopping');
    expect(msgs).not.toContain('Sync failed, will retry');
    await clock.tick(100_000);
    expect(seen.length).toBe(1);
  });

  it('rejects minInterval greater than maxInterval', () => {
    expect(
      () => new BoundedFrequencyRunner({ name: 'x', minIntervalMs: 10, maxIntervalMs: 5, fn: async () => undefined }),
    ).toThrow(/minInterval/);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay, clamped to [min, max]', () => {
    const p = { initialMs: 1000, minMs: 0, maxMs: 30_000 };
    expect([1, 2, 3, 4, 5, 6, 100].map((n) => backoffDelay(p, n))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(backoffDelay({ initialMs: 1000, minMs: 5000, maxMs: 30_000 }, 1)).toBe(5000);
  });
});

describe('a failed sync is reported on one line', () => {
  it('with the context lines the error carries (e.g. the iptables-restore payload around the failure)', async () => {
    const { logger, lines } = memoryLogger();
    const clock = new FakeClock(1_000_000);
    let failed = false;
    const runner = new BoundedFrequencyRunner({
      name: 'test',
      minIntervalMs: 1000,
      maxIntervalMs: 30_000,
      clock,
      logger,
      fn: async () => {
        if (failed) return;
        failed = true;
        throw new RestoreError('iptables-nft-restore failed at line 5 (exit code 1): bad rule', 5, ['4: -A X', '5: COMMIT']);
      },
    });
    runner.start();
    await clock.tick(0);
    await runner.stop();
    const errors = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r['level'] === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      msg: 'Sync failed, will retry',
      err: 'iptables-nft-restore failed at line 5 (exit code 1): bad rule',
      context: ['4: -A X', '5: COMMIT'],
    });
  });
});
