// Issue #18: a partial sync after one endpoint change does O(change) work, whatever the cluster's
// size: no pass over all services (the state, the record, the running totals), a bounded number
// of lookups; and the running totals behind the rule/no-local gauges always equal a recount.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIptablesDataplane } from '../../../modes/iptables/dataplane.js';
import { FamilySync } from '../../../modes/iptables/family-sync.js';
import type { IptablesRunner } from '../../../modes/iptables/runner.js';
import { silentLogger } from '../../../proxy/log.js';
import type { Endpoint, IPFamily, ProxyState, ServicePort } from '../../../proxy/model/types.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import { changesBetween } from '../../support/changes.js';
import { everyOtherFlatService, flatCluster, flatEndpoints, flatService, withNewEndpoints } from '../../support/flat-cluster.js';
import { makeEndpoint } from '../../support/model-builders.js';
import { countWalks } from '../../support/walk-counter.js';
import { config, options, recordingConntrack } from './fixtures.js';

/** Accepts every restore; the kernel holds nothing (these tests look at our side only). */
class NullRunner implements IptablesRunner {
  readonly backend = 'nft' as const;
  restores = 0;
  async restore(): Promise<void> {
    this.restores++;
  }
  async restoreEach(_f: IPFamily, payloads: Iterable<string>): Promise<void> {
    for (const _ of payloads) this.restores++;
  }
  async save(): Promise<string> {
    return '';
  }
  async listChain(): Promise<undefined> {
    return undefined;
  }
}

const N = 3000;

describe('iptables partial sync after one endpoint change', () => {
  it(`walks no collection of the cluster's size and looks up O(1) keys (${N} services, dual-stack config)`, async () => {
    const metrics = new ProxyMetrics({ processMetrics: false });
    const dp = createIptablesDataplane({
      config: config(),
      runner: new NullRunner(),
      conntrack: recordingConntrack().ct,
      metrics,
      logger: silentLogger,
      families: ['IPv4', 'IPv6'],
      nodeIPs: () => ['198.18.0.2'],
      localAddresses: () => ['198.18.0.2', '127.0.0.1'],
    });
    let c = flatCluster(N);
    await dp.sync({ state: c.state, changes: changesBetween(undefined, c.state), full: true });
    for (const i of [7, 1502, 2999]) {
      const next = withNewEndpoints(c, i, 1);
      const changes = changesBetween(c.state, next.state);
      expect(changes.changed.size).toBe(1);
      next.services.lookups = next.endpoints.lookups = 0;
      const { result, walks } = await countWalks(N / 3, () => dp.sync({ state: next.state, changes, full: false }));
      expect(result.full).toBe(false);
      expect(result.stats['servicePortsRewritten']).toBe(2); // the one port, in each family's record
      expect(walks.big.map((w) => `${w.size}: ${w.stack}`)).toEqual([]);
      expect(next.services.lookups + next.endpoints.lookups).toBeLessThanOrEqual(20);
      c = next;
    }
  }, 120_000);
});

// ---- running totals == recount, after random change sequences ----

const SERVICES = 12;
type Op = { kind: 'endpoints'; i: number; version: number; local: boolean } | { kind: 'remove'; i: number } | { kind: 'add'; i: number } | { kind: 'policy'; i: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('endpoints' as const), i: fc.nat(SERVICES - 1), version: fc.nat(5), local: fc.boolean() }),
  fc.record({ kind: fc.constant('remove' as const), i: fc.nat(SERVICES - 1) }),
  fc.record({ kind: fc.constant('add' as const), i: fc.nat(SERVICES - 1) }),
  fc.record({ kind: fc.constant('policy' as const), i: fc.nat(SERVICES - 1) }),
);

function applyOp(s: ProxyState, o: Op): ProxyState {
  const services = new Map(s.services);
  const endpoints = new Map(s.endpoints);
  const key = flatService(o.i).key;
  switch (o.kind) {
    case 'endpoints': {
      const eps: Endpoint[] = o.local ? flatEndpoints(o.i, o.version) : flatEndpoints(o.i, o.version).filter((e) => !e.isLocal);
      if (o.version === 0) eps.length = 0; // no endpoints at all
      endpoints.set(key, eps.map((e) => makeEndpoint(e.ip, e)));
      break;
    }
    case 'remove':
      services.delete(key);
      endpoints.delete(key);
      break;
    case 'add':
      if (!services.has(key)) {
        services.set(key, flatService(o.i));
        endpoints.set(key, flatEndpoints(o.i));
      }
      break;
    case 'policy': {
      const sp = services.get(key);
      if (!sp) break;
      const local = sp.externalTrafficPolicy === 'Local';
      const next: ServicePort = {
        ...sp,
        type: 'NodePort',
        nodePort: sp.nodePort || 30000 + o.i,
        externalTrafficPolicy: local ? 'Cluster' : 'Local',
        internalTrafficPolicy: local ? 'Local' : 'Cluster',
        healthCheckNodePort: local ? 0 : 32000 + o.i,
      };
      services.set(key, next);
      break;
    }
  }
  return { services, endpoints, node: s.node };
}

const initial = (): ProxyState => everyOtherFlatService(SERVICES);

describe('iptables running totals', () => {
  it('equal a recount and a fresh full sync of the same state after any change sequence', async () => {
    const o = options();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 12 }), async (batches) => {
        const fs = new FamilySync('IPv4', new NullRunner(), silentLogger);
        let s = initial();
        await fs.full(s, o);
        for (const batch of batches) {
          const next = batch.reduce(applyOp, s);
          await fs.partial(next, changesBetween(s, next).changed, o);
          s = next;
          expect(fs.totals(o)).toEqual(fs.recount(o));
        }
        const fresh = new FamilySync('IPv4', new NullRunner(), silentLogger);
        await fresh.full(s, o);
        expect(fs.totals(o)).toEqual(fresh.totals(o));
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});
