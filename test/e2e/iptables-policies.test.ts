// iptables and nftables modes end to end (one list of scenarios run for both), with packets: ClientIP session affinity and its timeout, services
// without (ready) endpoints, terminating-endpoint fallback, internalTrafficPolicy Local, and stale
// UDP conntrack entries after endpoint churn. One daemon per node namespace against one test apiserver.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, requireRoot, tally, tcpHits, udpHits, type Cluster } from './harness/index.js';
import {
  eventually,
  service,
  syncCount,
  sleep,
  slice,
  startApi,
  startProxy,
  type Proxy,
  type SvcEndpoint,
  type TestEnv,
} from './iptables-helpers.js';
import { E2E_MODES, modeOps } from './mode-helpers.js';

const AFFINITY_TIMEOUT_S = 2;

describe.skipIf(!requireRoot()).each(E2E_MODES)('%s mode: affinity, endpoint conditions and UDP churn', (mode) => {
  const m = modeOps(mode);
  const waitForTargets = m.waitForTargets;
  let c: Cluster;
  let env: TestEnv;
  const proxies: Proxy[] = [];
  const ep = (name: string, extra: Partial<SvcEndpoint> = {}): SvcEndpoint => {
    const p = c.pod(name);
    return { ip: p.ipv4, nodeName: p.nodeName, ...extra };
  };
  const target = (name: string, port = 8080): string => `${c.pod(name).ipv4}:${port}`;

  beforeAll(async () => {
    c = await createCluster();
    env = await startApi(c);
    const { api } = env;
    api.create(
      service({ name: 'sticky', clusterIP: '198.19.3.10', sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: AFFINITY_TIMEOUT_S }),
    );
    api.create(slice('sticky', ['a1', 'a2', 'b1', 'b2'].map((n) => ep(n))));
    api.create(service({ name: 'empty', clusterIP: '198.19.3.20' }));
    api.create(slice('empty', []));
    api.create(service({ name: 'unready', clusterIP: '198.19.3.21' }));
    api.create(slice('unready', [ep('a1', { ready: false, serving: false }), ep('b1', { ready: false, serving: false })]));

    proxies.push(...(await Promise.all([startProxy(env, c.nodes.a, {}, m.flavour), startProxy(env, c.nodes.b, {}, m.flavour)])));
    await waitForTargets(c.nodes.a.ns, 'default/sticky:http', ['a1', 'a2', 'b1', 'b2'].map((n) => target(n)));
    await m.waitForRejected(c.nodes.a.ns, 'default/empty:http');
    await m.waitForRejected(c.nodes.a.ns, 'default/unready:http');
  });

  afterAll(async () => {
    const codes = await Promise.all(proxies.map((p) => p.stop()));
    await env?.close();
    await c?.destroy();
    expect(codes).toEqual(proxies.map(() => 0));
  });

  it('ClientIP affinity pins one client to one endpoint and releases it after the timeout', async () => {
    const hits = await tcpHits(c.client.ns, '198.19.3.10', 80, 50);
    const t = tally(hits);
    expect(Object.keys(t), JSON.stringify(t)).toHaveLength(1);
    const first = Object.keys(t)[0] ?? '';
    expect(['a1', 'a2', 'b1', 'b2']).toContain(first);

    // After the timeout the next connection is balanced afresh (then pinned again). Each try has
    // a 3/4 chance to land elsewhere, so 10 tries all on the same endpoint is a ~1e-6 event.
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      await sleep(AFFINITY_TIMEOUT_S * 1000 + 1200);
      const [h] = await tcpHits(c.client.ns, '198.19.3.10', 80, 1);
      seen.push(h?.name ?? `error:${h?.error}`);
      if (h?.name !== undefined && h.name !== first) break;
    }
    expect(seen.some((n) => n !== first && ['a1', 'a2', 'b1', 'b2'].includes(n)), `first ${first}, then ${seen.join(',')}`).toBe(true);
  });

  it('rejects connections to a ClusterIP without endpoints at once (ECONNREFUSED, not a timeout)', async () => {
    expect(await tcpHits(c.client.ns, '198.19.3.20', 80, 2, { timeoutMs: 3000 })).toEqual([
      { error: 'ECONNREFUSED' },
      { error: 'ECONNREFUSED' },
    ]);
    // Endpoints that exist but are neither ready nor serving count as none.
    expect(await tcpHits(c.client.ns, '198.19.3.21', 80, 1, { timeoutMs: 3000 })).toEqual([{ error: 'ECONNREFUSED' }]);
  });

  it('uses serving terminating endpoints only when no ready endpoint is left', async () => {
    const { api } = env;
    api.create(service({ name: 'term', clusterIP: '198.19.3.30' }));
    api.create(
      slice('term', [
        ep('a1'),
        ep('b1', { ready: false, serving: true, terminating: true }),
        ep('b2', { ready: false, serving: false, terminating: true }),
      ]),
    );
    await waitForTargets(c.nodes.a.ns, 'default/term:http', [target('a1')]);
    expect(tally(await tcpHits(c.client.ns, '198.19.3.30', 80, 20))).toEqual({ a1: 20 });

    // The ready endpoint goes away: the serving terminating one takes over, the non-serving one
    // is still never used.
    api.update(
      slice('term', [
        ep('b1', { ready: false, serving: true, terminating: true }),
        ep('b2', { ready: false, serving: false, terminating: true }),
      ]),
    );
    await waitForTargets(c.nodes.a.ns, 'default/term:http', [target('b1')]);
    expect(tally(await tcpHits(c.client.ns, '198.19.3.30', 80, 20))).toEqual({ b1: 20 });

    // A ready endpoint again: the terminating one is dropped at once.
    api.update(slice('term', [ep('a2'), ep('b1', { ready: false, serving: true, terminating: true })]));
    await waitForTargets(c.nodes.a.ns, 'default/term:http', [target('a2')]);
    expect(tally(await tcpHits(c.client.ns, '198.19.3.30', 80, 20))).toEqual({ a2: 20 });
  });

  it('internalTrafficPolicy Local: a pod reaches only its own node\'s endpoints; none there means dropped, not rejected', async () => {
    const { api } = env;
    api.create(service({ name: 'itp', clusterIP: '198.19.3.50', internalTrafficPolicy: 'Local' }));
    api.create(slice('itp', ['a1', 'b1', 'b2'].map((n) => ep(n))));
    api.create(service({ name: 'itp-remote', clusterIP: '198.19.3.51', internalTrafficPolicy: 'Local' }));
    api.create(slice('itp-remote', ['b1'].map((n) => ep(n))));
    // Node A's rules only ever hold its own endpoint; node B's only its two.
    await waitForTargets(c.nodes.a.ns, 'default/itp:http', [target('a1')]);
    await waitForTargets(c.nodes.b.ns, 'default/itp:http', [target('b1'), target('b2')]);
    // The client pod runs on node A.
    expect(tally(await tcpHits(c.client.ns, '198.19.3.50', 80, 12))).toEqual({ a1: 12 });
    // Endpoints exist, just none on node A: upstream drops (the client times out) rather than rejects.
    await waitForTargets(c.nodes.a.ns, 'default/itp-remote:http', []);
    expect(await tcpHits(c.client.ns, '198.19.3.51', 80, 1, { timeoutMs: 1500 })).toEqual([{ error: 'ETIMEDOUT' }]);
  });

  it('UDP: after the endpoints are replaced, datagrams from the same source port reach the new endpoint', async () => {
    const { api } = env;
    api.create(service({ name: 'dns', clusterIP: '198.19.3.40', port: 53, targetPort: 8080, protocol: 'UDP' }));
    api.create(slice('dns', [ep('a1')], { protocol: 'UDP' }));
    await waitForTargets(c.nodes.a.ns, 'default/dns:http', [target('a1')]);

    const sourcePort = 40053;
    const before = await udpHits(c.client.ns, '198.19.3.40', 53, 3, { sourcePort });
    expect(tally(before)).toEqual({ a1: 3 });

    // a1 keeps running (so a stale conntrack entry would still get answers from it). Stale
    // entries are flushed after the restore, at the end of the same sync: wait for that sync's
    // log line, not just for the rules.
    const a = proxies[0]!.daemon;
    let syncs = syncCount(a);
    api.update(slice('dns', [ep('b2')], { protocol: 'UDP' }));
    await waitForTargets(c.nodes.a.ns, 'default/dns:http', [target('b2')]);
    await eventually(async () => syncCount(a) > syncs, 'the sync that programmed b2 to finish');
    const after = await udpHits(c.client.ns, '198.19.3.40', 53, 3, { sourcePort });
    expect(tally(after)).toEqual({ b2: 3 });

    // And again, back to a node-A pod, across nodes the other way.
    syncs = syncCount(a);
    api.update(slice('dns', [ep('a2')], { protocol: 'UDP' }));
    await waitForTargets(c.nodes.a.ns, 'default/dns:http', [target('a2')]);
    await eventually(async () => syncCount(a) > syncs, 'the sync that programmed a2 to finish');
    expect(tally(await udpHits(c.client.ns, '198.19.3.40', 53, 3, { sourcePort }))).toEqual({ a2: 3 });
  });
});
