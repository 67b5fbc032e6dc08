import { describe, expect, it } from 'vitest';
import type { Dataplane, SyncRequest, SyncResult } from '../../../modes/dataplane.js';
import { createNoopDataplane } from '../../../modes/noop/dataplane.js';
import { memoryLogger, silentLogger } from '../../../proxy/log.js';
import type { ChangeSet, IPFamily, ProxyState, RejectedObject } from '../../../proxy/model/types.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import { FakeClock } from '../../../sync/clock.js';
import { BoundedFrequencyRunner } from '../../../sync/runner.js';
import { SyncLoop, mergeChanges, type SnapshotSource, type SyncedInfo } from '../../../sync/sync-loop.js';
import { ep, nodeInfo, sp } from '../model/fixtures.js';

const changes = (changed: string[], removed: string[] = [], triggerTimes: number[] = []): ChangeSet => ({
  changed: new Set(changed),
  removed: new Set(removed),
  nodeChanged: false,
  triggerTimes,
});

function stateOf(keys: string[]): ProxyState {
  return {
    services: new Map(keys.map((k) => [k, sp({ key: k, name: k.split('/')[1]!.split(':')[0]! })])),
    endpoints: new Map(keys.map((k) => [k, [ep('198.18.1.11')]])),
    node: nodeInfo(),
  };
}

class ScriptedSource implements SnapshotSource {
  queue: { state: ProxyState; changes: ChangeSet; rejected: RejectedObject[] }[] = [];
  snapshot() {
    const next = this.queue.shift();
    if (!next) throw new Error('no snapshot scripted');
    return next;
  }
  pendingCounts() {
    return { services: 0, endpoints: 0 };
  }
}

class RecordingDataplane implements Dataplane {
  readonly mode = 'recording';
  requests: SyncRequest[] = [];
  failNext = false;
  async sync(req: SyncRequest): Promise<SyncResult> {
    this.requests.push(req);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('boom');
    }
    return { full: req.full, stats: {} };
  }
  async cleanup(): Promise<void> {}
}

describe('mergeChanges', () => {
  it('unions changed keys, trigger times and node changes', () => {
    const m = mergeChanges(changes(['a'], [], [1]), { ...changes(['b'], [], [2]), nodeChanged: true });
    expect([...m.changed].sort()).toEqual(['a', 'b']);
    expect(m.triggerTimes).toEqual([1, 2]);
    expect(m.nodeChanged).toBe(true);
  });

  it('a key removed earlier and back again is a change, not a removal', () => {
    const m = mergeChanges(changes(['a'], ['a']), changes(['a']));
    expect([...m.removed]).toEqual([]);
    expect([...m.changed]).toEqual(['a']);
  });

  it('a key still removed stays removed', () => {
    const m = mergeChanges(changes(['a'], ['a']), changes(['b']));
    expect([...m.removed]).toEqual(['a']);
  });
});

describe('SyncLoop', () => {
  const setup = () => {
    const source = new ScriptedSource();
    const dataplane = new RecordingDataplane();
    const metrics = new ProxyMetrics({ processMetrics: false });
    let ready = true;
    const synced: ProxyState[] = [];
    const infos: SyncedInfo[] = [];
    const loop = new SyncLoop({
      source,
      dataplane,
      metrics,
      logger: silentLogger,
      families: ['IPv4'],
      ready: () => ready,
      observers: [{ synced: (s, _r, info) => (synced.push(s), infos.push(info)) }],
      now: () => 1_000_000,
    });
    return { source, dataplane, metrics, loop, synced, infos, setReady: (r: boolean) => (ready = r) };
  };

  it('does nothing before the initial lists arrived', async () => {
    const t = setup();
    t.setReady(false);
    await t.loop.run({ reason: 'initial' });
    expect(t.dataplane.requests).toHaveLength(0);
  });

  it('first sync is full, a requested one partial, a periodic one full', async () => {
    const t = setup();
    t.source.queue.push({ state: stateOf(['ns/a:http']), changes: changes(['ns/a:http']), rejected: [] });
    t.source.queue.push({ state: stateOf(['ns/a:http', 'ns/b:http']), changes: changes(['ns/b:http']), rejected: [] });
    t.source.queue.push({ state: stateOf(['ns/a:http', 'ns/b:http']), changes: changes([]), rejected: [] });
    await t.loop.run({ reason: 'request' });
    await t.loop.run({ reason: 'request' });
    await t.loop.run({ reason: 'periodic' });
    expect(t.dataplane.requests.map((r) => r.full)).toEqual([true, false, true]);
    expect(t.synced).toHaveLength(3);
    expect(t.loop.current()?.services.size).toBe(2);
  });

  it('tells observers what the sync covered: the change set (failed syncs included) and whether it was full', async () => {
    const t = setup();
    t.source.queue.push({ state: stateOf(['ns/a:http']), changes: changes(['ns/a:http']), rejected: [] });
    await t.loop.run({ reason: 'initial' });
    t.dataplane.failNext = true;
    t.source.queue.push({ state: stateOf(['ns/a:http', 'ns/b:http']), changes: changes(['ns/b:http']), rejected: [] });
    await expect(t.loop.run({ reason: 'request' })).rejects.toThrow('boom');
    t.source.queue.push({ state: stateOf(['ns/a:http', 'ns/b:http', 'ns/c:http']), changes: changes(['ns/c:http']), rejected: [] });
    await t.loop.run({ reason: 'request' });
    expect(t.infos.map((i) => [i.full, [...i.changes.changed].sort()])).toEqual([
      [true, ['ns/a:http']],
      [false, ['ns/b:http', 'ns/c:http']],
    ]);
  });

  it('keeps the changes of a failed sync for the next one and rethrows', async () => {
    const t = setup();
    t.source.queue.push({ state: stateOf(['ns/a:http']), changes: changes(['ns/a:http']), rejected: [] });
    await t.loop.run({ reason: 'initial' });
    t.dataplane.failNext = true;
    t.source.queue.push({ state: stateOf(['ns/a:http', 'ns/b:http']), changes: changes(['ns/b:http']), rejected: [] });
    await expect(t.loop.run({ reason: 'request' })).rejects.toThrow('boom');
    t.source.queue.push({ state: stateOf(['ns/a:http', 'ns/b:http', 'ns/c:http']), changes: changes(['ns/c:http']), rejected: [] });
    await t.loop.run({ reason: 'retry' });
    const last = t.dataplane.requests.at(-1)!;
    expect(last.full).toBe(true);
    expect([...last.changes.changed].sort()).toEqual(['ns/b:http', 'ns/c:http']);
    expect(await t.metrics.registry.getSingleMetricAsString('kubeproxy_ts_sync_failures_total')).toMatch(/mode="recording"} 1/);
    expect(t.synced).toHaveLength(2);
  });

  it('observes network programming latency from trigger times and counts rejected objects', async () => {
    const t = setup();
    const rejected: RejectedObject = { kind: 'Service', namespace: 'ns', name: 'bad', errors: [{ field: 'spec.ports[0].port', message: 'bad' }], time: '' };
    t.source.queue.push({ state: stateOf(['ns/a:http']), changes: changes(['ns/a:http'], [], [1_000_000 - 2500]), rejected: [rejected] });
    await t.loop.run({ reason: 'initial' });
    const npl = await t.metrics.registry.getSingleMetricAsString('kubeproxy_network_programming_duration_seconds');
    expect(npl).toMatch(/_bucket\{le="2",ip_family="IPv4"\} 0/);
    expect(npl).toMatch(/_bucket\{le="3",ip_family="IPv4"\} 1/);
    expect(await t.metrics.registry.getSingleMetricAsString('kubeproxy_ts_rejected_objects_total')).toMatch(/kind="Service"} 1/);
  });
});

describe('a failed sync and a rejected object through the runner', () => {
  it('are each logged once: one line per failed attempt, one per rejection', async () => {
    const { logger, lines } = memoryLogger();
    const source = new ScriptedSource();
    const dataplane = new RecordingDataplane();
    const loop = new SyncLoop({
      source,
      dataplane,
      metrics: new ProxyMetrics({ processMetrics: false }),
      logger,
      families: ['IPv4'],
      ready: () => true,
      observers: [],
    });
    const clock = new FakeClock(1_000_000);
    const runner = new BoundedFrequencyRunner({ name: 'test', minIntervalMs: 1000, maxIntervalMs: 30_000, fn: loop.run, logger, clock });
    const rejected: RejectedObject = { kind: 'Service', namespace: 'ns', name: 'bad', errors: [{ field: 'spec.ports[0].port', message: 'bad' }], time: '' };
    source.queue.push({ state: stateOf(['ns/a:http']), changes: changes(['ns/a:http']), rejected: [rejected] });
    source.queue.push({ state: stateOf(['ns/a:http']), changes: changes([]), rejected: [] });
    dataplane.failNext = true;
    runner.start();
    await clock.tick(0); // fails
    await clock.tick(1000); // the retry succeeds
    await runner.stop();
    const recs = lines.map((l) => JSON.parse(l) as { level: string; msg: string; object?: string });
    expect(dataplane.requests).toHaveLength(2);
    expect(recs.filter((r) => r.level === 'error').map((r) => r.msg)).toEqual(['Sync failed, will retry']);
    expect(recs.filter((r) => JSON.stringify(r).includes('ns/bad') || JSON.stringify(r).includes('"bad"')).map((r) => r.msg)).toEqual([
      'skipping invalid object',
    ]);
  });
});

/** A dataplane that reports fixed per-family durations (or none, like a one-proxier mode). */
class TimedDataplane implements Dataplane {
  readonly mode = 'timed';
  constructor(private readonly seconds?: ReadonlyMap<IPFamily, number>) {}
  async sync(req: SyncRequest): Promise<SyncResult> {
    return { full: req.full, stats: {}, ...(this.seconds ? { familySeconds: this.seconds } : {}) };
  }
  async cleanup(): Promise<void> {}
}

/** ip_family → [sum, count] of one histogram. */
async function histogram(m: ProxyMetrics, name: string): Promise<Record<string, [number, number]>> {
  const out: Record<string, [number, number]> = {};
  const h = [m.syncDuration, m.networkProgrammingDuration].find((x) => (x as unknown as { name: string }).name === name)!;
  for (const v of (await h.get()).values) {
    const fam = String(v.labels['ip_family']);
    const cur = out[fam] ?? [0, 0];
    if (v.metricName === `${name}_sum`) cur[0] = v.value;
    if (v.metricName === `${name}_count`) cur[1] = v.value;
    if (v.metricName === `${name}_sum` || v.metricName === `${name}_count`) out[fam] = cur;
  }
  return out;
}

describe('SyncLoop: per-family sync duration (issue #16 item 5)', () => {
  const SYNC = 'kubeproxy_sync_proxy_rules_duration_seconds';
  const NPL = 'kubeproxy_network_programming_duration_seconds';
  const v4 = (name: string) => sp({ key: `ns/${name}:http`, name, clusterIPs: ['198.19.0.10'] });
  const v6 = (name: string) => sp({ key: `ns/${name}:http`, name, clusterIPs: ['2001:db8:ff::10'] });
  const stateWith = (...sps: ReturnType<typeof sp>[]): ProxyState => ({
    services: new Map(sps.map((s) => [s.key, s])),
    endpoints: new Map(),
    node: nodeInfo(),
  });

  function setup(dataplane: Dataplane) {
    const source = new ScriptedSource();
    const metrics = new ProxyMetrics({ processMetrics: false });
    let clock = 1_000_000;
    const loop = new SyncLoop({
      source,
      dataplane,
      metrics,
      logger: silentLogger,
      families: ['IPv4', 'IPv6'],
      ready: () => true,
      observers: [],
      // Each sync takes 700 ms by the loop's clock (read at its start and end).
      now: () => (clock += 350),
    });
    const push = (state: ProxyState, triggerTimes: number[] = []) =>
      source.queue.push({ state, changes: changes([...state.services.keys()], [], triggerTimes), rejected: [] });
    return { metrics, loop, push };
  }

  it('single stack: only the family with service ports is observed, with its own duration', async () => {
    const t = setup(new TimedDataplane(new Map([['IPv4', 0.25], ['IPv6', 0.004]])));
    t.push(stateWith(v4('a')), [1_000_000 - 2000]);
    t.push(stateWith(v4('a'), v4('b')));
    await t.loop.run({ reason: 'initial' });
    await t.loop.run({ reason: 'request' });
    expect(await histogram(t.metrics, SYNC)).toEqual({ IPv4: [0.5, 2] });
    // Trigger times are not filed twice either.
    expect(Object.keys(await histogram(t.metrics, NPL))).toEqual(['IPv4']);
    // Both families are in sync (the queued timestamp is set for both as well).
    const ts = (await t.metrics.registry.getSingleMetric('kubeproxy_sync_proxy_rules_last_timestamp_seconds')!.get()).values;
    expect(ts.map((v) => v.labels['ip_family']).sort()).toEqual(['IPv4', 'IPv6']);
  });

  it('dual stack: each family gets its own, different duration', async () => {
    const t = setup(new TimedDataplane(new Map([['IPv4', 0.25], ['IPv6', 0.004]])));
    t.push(stateWith(v4('a'), v6('b')));
    await t.loop.run({ reason: 'initial' });
    expect(await histogram(t.metrics, SYNC)).toEqual({ IPv4: [0.25, 1], IPv6: [0.004, 1] });
  });

  it('the sync that removes a family`s last service port is observed for that family', async () => {
    const t = setup(new TimedDataplane(new Map([['IPv4', 0.25], ['IPv6', 0.004]])));
    t.push(stateWith(v4('a'), v6('b')));
    t.push(stateWith(v4('a')));
    t.push(stateWith(v4('a')));
    for (let i = 0; i < 3; i++) await t.loop.run({ reason: 'periodic' });
    const h = await histogram(t.metrics, SYNC);
    expect(h['IPv4']?.[1]).toBe(3);
    expect(h['IPv6']?.[1]).toBe(2);
  });

  it('a dataplane without per-family times is timed as a whole, still only for families with work', async () => {
    const t = setup(new TimedDataplane());
    t.push(stateWith(v6('b')));
    await t.loop.run({ reason: 'initial' });
    expect(await histogram(t.metrics, SYNC)).toEqual({ IPv6: [0.35, 1] });
  });

  it('with no service at all, syncs still show up under the primary family', async () => {
    const t = setup(new TimedDataplane(new Map([['IPv4', 0.25], ['IPv6', 0.004]])));
    t.push(stateWith());
    await t.loop.run({ reason: 'initial' });
    expect(await histogram(t.metrics, SYNC)).toEqual({ IPv4: [0.25, 1] });
  });
});

describe('noop dataplane', () => {
  it('logs what it would program and remove', async () => {
    const { logger, lines } = memoryLogger();
    const dp = createNoopDataplane({ logger });
    const s1 = stateOf(['ns/a:http', 'ns/b:http']);
    await dp.sync({ state: s1, changes: changes([...s1.services.keys()]), full: true });
    const s2 = stateOf(['ns/a:http']);
    await dp.sync({ state: s2, changes: changes(['ns/b:http'], ['ns/b:http']), full: false });
    const msgs = lines.map((l) => JSON.parse(l) as { msg: string; service?: string });
    expect(msgs.filter((m) => m.msg === 'would program service port').map((m) => m.service).sort()).toEqual(['ns/a:http', 'ns/b:http']);
    expect(msgs.filter((m) => m.msg === 'would remove service port').map((m) => m.service)).toEqual(['ns/b:http']);
  });
});
