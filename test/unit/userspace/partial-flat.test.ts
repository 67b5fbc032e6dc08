// Issue #18: a userspace partial sync after one endpoint change touches only that service port's
// listener and balancer, and rewrites no portal rule (its rules do not depend on endpoints); a
// change that moves a portal deletes the old rules by spec and appends the new ones.

import { describe, expect, it } from 'vitest';
import { createUserspaceDataplane } from '../../../modes/userspace/dataplane.js';
import { defaultConfig } from '../../../proxy/config/defaults.js';
import { silentLogger } from '../../../proxy/log.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import { changesBetween } from '../../support/changes.js';
import { payloads, recordingRunner } from '../../support/recording-runner.js';
import { flatCluster, flatService, withNewEndpoints, type FlatCluster } from '../../support/flat-cluster.js';
import { CountingMap, countWalks } from '../../support/walk-counter.js';

const N = 3000;

describe('userspace partial sync', () => {
  it(`after one endpoint change walks no collection of the cluster's size and writes no rule (${N} services)`, async () => {
    const runner = recordingRunner();
    let port = 40000;
    const opened: string[] = [];
    const dp = createUserspaceDataplane({
      config: defaultConfig(),
      runner,
      metrics: new ProxyMetrics({ processMetrics: false }),
      logger: silentLogger,
      families: ['IPv4'],
      listenHost: '0.0.0.0',
      listenTcp: async (o) => {
        opened.push(o.host);
        return { host: o.host, port: port++, activeConnections: 0, stopAccepting: async () => undefined, close: async () => undefined };
      },
    });
    // UDP listeners are real sockets: keep this cluster TCP only.
    const c0 = flatCluster(N);
    for (const [k, sp] of [...c0.services]) if (sp.protocol !== 'TCP') c0.services.set(k, { ...sp, protocol: 'TCP' });
    let c: FlatCluster = c0;
    await dp.sync({ state: c.state, changes: changesBetween(undefined, c.state), full: true });
    expect(opened).toHaveLength(N);
    for (const i of [7, 2999]) {
      const next = withNewEndpoints(c, i, 1);
      const changes = changesBetween(c.state, next.state);
      next.services.lookups = next.endpoints.lookups = 0;
      runner.restores.length = 0;
      const { result, walks } = await countWalks(N / 3, () => dp.sync({ state: next.state, changes, full: false }));
      expect(result.full).toBe(false);
      expect(walks.big.map((w) => `${w.size}: ${w.stack}`)).toEqual([]);
      expect(next.services.lookups + next.endpoints.lookups).toBeLessThanOrEqual(20);
      expect(payloads(runner)).toEqual([]);
      c = next;
    }
    // A service port that goes: its rules are deleted by spec, nothing else is written.
    const key = flatService(5).key;
    const services = new CountingMap(c.services);
    services.delete(key);
    const gone = { services, endpoints: c.endpoints, node: c.state.node };
    runner.restores.length = 0;
    const r = await dp.sync({ state: gone, changes: changesBetween(c.state, gone), full: false });
    expect(r.full).toBe(false);
    expect(payloads(runner)).toHaveLength(1);
    const lines = payloads(runner)[0]!.split('\n').filter((l) => l.startsWith('-'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.startsWith('-D KUBE-') && l.includes(`"${key}"`))).toBe(true);
    expect(payloads(runner)[0]).not.toMatch(/^:/m); // no chain declaration: nothing is flushed
  }, 180_000);
});
