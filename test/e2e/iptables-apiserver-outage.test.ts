// iptables mode with packets: the apiserver goes away for 30 s (every connection to it reset, as
// from a dead endpoint) and comes back with its change history gone, so the daemon's watches get
// 410 Gone and must re-list. Meanwhile a client opens a new connection every 50 ms. Proven: zero
// failed connections, the service's rules never flushed (sampled every 500 ms), /healthz stays 200
// (upstream's rule: healthy while syncs keep running within 2 x sync period), and changes made
// during the outage (a new Service, a new endpoint) programmed after it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, requireRoot, tally, type Cluster } from './harness/index.js';
import {
  dnatTargets,
  healthz,
  iptablesSave,
  service,
  sleep,
  slice,
  startApi,
  startProxy,
  waitForTargets,
  type Proxy,
  type SvcEndpoint,
  type TestEnv,
} from './iptables-helpers.js';
import { expectCleanExits, stopProxies } from './proofs/exit-codes.js';
import { clientLoop } from './proofs/paced.js';

const STEADY_IP = '198.19.5.10';
const NEW_IP = '198.19.5.20';
const OUTAGE_MS = 30_000;

describe.skipIf(!requireRoot())('iptables mode: apiserver outage with a new history (410) under a client loop (packets)', () => {
  let c: Cluster;
  let env: TestEnv;
  const proxies: Proxy[] = [];
  const ep = (name: string): SvcEndpoint => ({ ip: c.pod(name).ipv4, nodeName: c.pod(name).nodeName });
  const target = (name: string): string => `${c.pod(name).ipv4}:8080`;

  beforeAll(async () => {
    c = await createCluster();
    env = await startApi(c);
    env.api.create(service({ name: 'steady', clusterIP: STEADY_IP }));
    env.api.create(slice('steady', [ep('a1'), ep('b1')]));
    proxies.push(await startProxy(env, c.nodes.a));
    await waitForTargets(c.nodes.a.ns, 'default/steady:http', [target('a1'), target('b1')]);
  });

  afterAll(async () => {
    const stopped = await stopProxies(proxies);
    await env?.close();
    await c?.destroy();
    expectCleanExits(stopped);
  });

  it('no failed connection and no flushed rule through the outage; outage-time changes programmed after it', async () => {
    const ns = c.nodes.a.ns;
    const steadyTargets = [target('a1'), target('b1')].sort().join(',');
    const loop = clientLoop(c.client.ns, STEADY_IP, 80, 50, 3000);
    const samples: string[] = [];
    let sampling = true;
    let healthDuring: number | string = 'not probed';
    const sampler = (async () => {
      while (sampling) {
        samples.push(dnatTargets(await iptablesSave(ns, 'IPv4', 'nat'), 'default/steady:http').join(','));
        await sleep(500);
      }
    })();
    try {
      await sleep(2000);
      const listsBefore = env.api.listRequests('services');
      env.api.setAvailable(false, 'reset');
      await sleep(OUTAGE_MS / 2);
      // Changes the daemon cannot see yet.
      env.api.create(service({ name: 'newsvc', clusterIP: NEW_IP }));
      env.api.create(slice('newsvc', [ep('a2')]));
      env.api.upsert(slice('steady', [ep('a1'), ep('b1'), ep('b2')]));
      healthDuring = await healthz(ns);
      await sleep(OUTAGE_MS / 2);
      // Back with the history compacted: a watch from any resourceVersion seen before gets 410.
      env.api.compactHistory();
      env.api.setAvailable(true);
      await waitForTargets(ns, 'default/newsvc:http', [target('a2')], { timeoutMs: 90_000 });
      await waitForTargets(ns, 'default/steady:http', [target('a1'), target('b1'), target('b2')], { timeoutMs: 30_000 });
      // The daemon re-listed (its watch from the old resourceVersion was answered 410 Gone).
      expect(env.api.listRequests('services')).toBeGreaterThan(listsBefore);
      await sleep(1000);
    } finally {
      sampling = false;
      await sampler;
    }
    const hits = await loop.stop();
    const failed = hits.filter((h) => h.name === undefined);
    process.stdout.write(`apiserver outage: ${hits.length} connections, ${failed.length} failed, ${samples.length} rule samples; ${JSON.stringify(tally(hits))}\n`);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
    // One every 50 ms for > 30 s: the loop really ran through the outage (even on a loaded host).
    expect(hits.length).toBeGreaterThan(OUTAGE_MS / 50 / 2);
    // Until the outage-time endpoint was programmed, every sample shows the two original targets.
    const grown = [target('a1'), target('b1'), target('b2')].sort().join(',');
    const firstGrown = samples.indexOf(grown);
    const beforeGrowth = firstGrown < 0 ? samples : samples.slice(0, firstGrown);
    expect(beforeGrowth.length).toBeGreaterThan(OUTAGE_MS / 500 / 2);
    expect(beforeGrowth.filter((s) => s !== steadyTargets), 'samples with the rules flushed or changed').toEqual([]);
    expect(samples.slice(Math.max(firstGrown, 0)).every((s) => s === grown)).toBe(true);
    expect(healthDuring, 'healthz during the outage').toBe(200);
    expect(await healthz(ns)).toBe(200);
  });
});
