// A sync after one endpoint change among 1,000 services costs netlink requests proportional to
// the change, not to the cluster: counted by the real IpvsClient (every request, dumps included)
// and reported in the daemon's per-sync log line, against the guest's real IPVS kernel.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, requireRoot, type Cluster } from '../e2e/harness/index.js';
import {
  eventually,
  inIpvsGuest,
  ipvsadm,
  service,
  slice,
  startApi,
  startIpvsProxy,
  syncRecords,
  type Proxy,
  type TestEnv,
} from './ipvs-helpers.js';

const N = 1000;
const vip = (i: number): string => `198.19.${100 + Math.floor(i / 250)}.${(i % 250) + 1}`;

describe.skipIf(!requireRoot() || !inIpvsGuest())(`IPVS partial sync among ${N} services`, () => {
  let c: Cluster;
  let env: TestEnv;
  let proxy: Proxy;

  beforeAll(async () => {
    c = await createCluster({ echo: false });
    env = await startApi(c);
    const ep = [{ ip: c.pod('a1').ipv4, nodeName: c.nodes.a.name }];
    for (let i = 0; i < N; i++) {
      env.api.create(service({ name: `s${i}`, clusterIP: vip(i) }));
      env.api.create(slice(`s${i}`, ep));
    }
    // No periodic full sync during the test.
    proxy = await startIpvsProxy(env, c.nodes.a, { extraArgs: ['--ipvs-sync-period=1h'] });
  });

  afterAll(async () => {
    await proxy?.stop();
    await env?.close();
    await c?.destroy();
  });

  it('programs all services, then changes one with O(1) netlink requests', async () => {
    const first = syncRecords(proxy.daemon)[0]!;
    expect(first['full']).toBe(true);
    expect(first['virtualServers']).toBe(N);
    expect(first['ipvsOps']).toBe(2 * N); // addService + addDestination each
    expect(first['netlinkRequests'] as number).toBeGreaterThanOrEqual(2 * N);
    expect((await ipvsadm(c.nodes.a.ns)).length).toBe(N);

    const before = syncRecords(proxy.daemon).length;
    const b1 = c.pod('b1').ipv4;
    env.api.update(slice('s500', [{ ip: b1, nodeName: c.nodes.b.name }]));
    const rec = await eventually(async () => syncRecords(proxy.daemon).slice(before).find((r) => (r['changed'] as number) > 0), 'a sync of the change', 60_000);
    expect(rec['full']).toBe(false);
    expect(rec['changed']).toBe(1);
    // deleteDestination(a1) + addDestination(b1); no connections, so no draining.
    expect(rec['ipvsOps']).toBe(2);
    // listDestinations of the one service + the two changes: no dump of all 1,000 services.
    expect(rec['netlinkRequests']).toBe(3);
    // ipset: only the hairpin entry of a1 goes (b1 is remote): O(change) lines, no flush.
    expect(rec['ipsetLines'] as number).toBeLessThanOrEqual(2);

    const s500 = (await ipvsadm(c.nodes.a.ns)).find((s) => s.key === `TCP ${vip(500)}:80`);
    expect(s500?.dests.map((d) => d.addr)).toEqual([`${b1}:8080`]);
  });
});
