// A full sync passes through one state per committed transaction (iptables-restore commits each
// `*table` block on its own, and a large sync is cut into many), and any of them can be the last
// if the next transaction fails. Issue #16: such a failure left some services half old, half new.
// Here a full sync from ruleset A to ruleset B, covering every kind of change a service port can
// go through, fails at transaction k for every k, and the ruleset left behind is checked (consistency.ts:
// every service port's nat rules A's or B's, filter rules in between, every traced packet
// treated as in A or as in B). Then the failed sync must be followed by a full one reaching B.

import { describe, expect, it } from 'vitest';
import { parseSave } from '../../../modes/iptables/save-parse.js';
import type { SyncResult } from '../../../modes/dataplane.js';
import { silentLogger } from '../../../proxy/log.js';
import { EMPTY_CHANGES } from '../../../proxy/model/types.js';
import { BoundedFrequencyRunner } from '../../../sync/runner.js';
import { SyncLoop } from '../../../sync/sync-loop.js';
import { eventually } from '../../support/eventually.js';
import { check, outcomes, owned, probes, states, type Side, type Violation } from './consistency.js';
import { harness } from './fixtures.js';
import { changesBetween } from '../../support/changes.js';

/** Sync A, then sync to B (full, or partial) failing at each of its transactions in turn. */
async function failEveryTransaction(budget: number | undefined, full = true): Promise<{ transactions: number; mixed: number }> {
  const { a, b, services } = states();
  const ref = harness();
  await ref.dp.sync({ state: a, changes: EMPTY_CHANGES, full: true });
  const savedA = parseSave(await ref.runner.save('IPv4'));
  await ref.dp.sync({ state: b, changes: EMPTY_CHANGES, full: true });
  const savedB = parseSave(await ref.runner.save('IPv4'));
  expect(owned(savedB)).not.toBe(owned(savedA));
  const ps = probes(services);
  const sideA: Side = { tables: savedA, outcomes: outcomes(savedA, ps) };
  const sideB: Side = { tables: savedB, outcomes: outcomes(savedB, ps) };
  // The probes see the change: many packets are treated differently in A and B.
  expect(sideA.outcomes.filter((o, i) => o !== sideB.outcomes[i]).length).toBeGreaterThan(30);

  // How many transactions the sync from A to B takes.
  const probe = harness(undefined, ['IPv4'], budget);
  await probe.dp.sync({ state: a, changes: EMPTY_CHANGES, full: true });
  const before = probe.runner.commits;
  expect((await probe.dp.sync({ state: b, changes: changesBetween(a, b), full })).full).toBe(full);
  const transactions = probe.runner.commits - before;
  expect(owned(parseSave(await probe.runner.save('IPv4')))).toBe(owned(savedB));

  const violations: Violation[] = [];
  let mixed = 0;
  for (let k = 1; k <= transactions; k++) {
    const h = harness(undefined, ['IPv4'], budget);
    await h.dp.sync({ state: a, changes: EMPTY_CHANGES, full: true });
    h.runner.failCommit = h.runner.commits + k;
    await expect(h.dp.sync({ state: b, changes: changesBetween(a, b), full })).rejects.toThrow(`injected failure of commit`);
    h.runner.failCommit = undefined;
    const now = parseSave(await h.runner.save('IPv4'));
    const r = check(k, now, sideA, sideB, services, ps);
    violations.push(...r.violations);
    if (r.oldKeys > 0 && r.newKeys > 0) mixed++;
    // The failure forces the next sync to be full, even when asked for a partial one, and that
    // sync reaches B.
    const retry = await h.dp.sync({ state: b, changes: EMPTY_CHANGES, full: false });
    expect(retry.full).toBe(true);
    expect(owned(parseSave(await h.runner.save('IPv4')))).toBe(owned(savedB));
  }
  expect(violations.slice(0, 5).map((v) => `transaction ${v.k}: ${v.what}`)).toEqual([]);
  return { transactions, mixed };
}

describe('a full sync that fails part-way leaves a consistent ruleset', () => {
  it('cut into many restores: failing any one of them leaves every service port old or new', async () => {
    const { transactions, mixed } = await failEveryTransaction(6);
    expect(transactions).toBeGreaterThan(10);
    // Not vacuous: some failures leave some service ports old and others new.
    expect(mixed).toBeGreaterThan(3);
  }, 300_000);

  it('one restore: failing any of its table blocks leaves every service port old or new', async () => {
    const { transactions } = await failEveryTransaction(undefined);
    expect(transactions).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('a partial sync (cut by service port) failing at any commit leaves every service port old or new', async () => {
    const { transactions, mixed } = await failEveryTransaction(6, false);
    expect(transactions).toBeGreaterThan(10);
    expect(mixed).toBeGreaterThan(3);
  }, 300_000);

  it('the sync runner retries a failed full sync with a full sync that completes it', async () => {
    const { a, b } = states();
    const ref = harness();
    await ref.dp.sync({ state: b, changes: EMPTY_CHANGES, full: true });
    // A daemon restarting onto a kernel holding A, with the model now at B.
    const h = harness(undefined, ['IPv4'], 6);
    const old = harness();
    await old.dp.sync({ state: a, changes: EMPTY_CHANGES, full: true });
    h.runner.load('IPv4', await old.runner.save('IPv4'));
    h.runner.failCommit = 2;
    const results: SyncResult[] = [];
    const loop = new SyncLoop({
      source: { snapshot: () => ({ state: b, changes: EMPTY_CHANGES, rejected: [] }), pendingCounts: () => ({ services: 0, endpoints: 0 }) },
      dataplane: h.dp,
      metrics: h.metrics,
      logger: silentLogger,
      families: ['IPv4'],
      ready: () => true,
      observers: [{ synced: (_state, r) => void results.push(r) }],
    });
    const runner = new BoundedFrequencyRunner({ name: 'test', minIntervalMs: 0, maxIntervalMs: 0, fn: loop.run, initialBackoffMs: 10 });
    runner.start();
    await eventually(async () => results.length > 0, 'a sync succeeded after the failed one');
    await runner.stop();
    expect(h.runner.commits).toBeGreaterThan(2); // the failed commit 2 was retried past
    expect(results).toHaveLength(1);
    expect(results[0]?.full).toBe(true);
    expect(runner.snapshot().consecutiveFailures).toBe(0);
    expect(await h.metrics.text()).toMatch(/kubeproxy_ts_sync_failures_total\{mode="iptables"\} 1/);
    expect(owned(parseSave(await h.runner.save('IPv4')))).toBe(owned(parseSave(await ref.runner.save('IPv4'))));
  });
});
