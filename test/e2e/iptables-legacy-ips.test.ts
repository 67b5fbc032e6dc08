// iptables mode end to end, with packets: addresses in the legacy form the v1.26 apiserver still
// accepts (IPv4 octets with leading zeros, which it reads as decimal) are programmed at their
// decimal address. Handed to iptables raw, "051" would be octal 41 and "018" would fail the whole
// iptables-restore (every Service on the node unsynced). And one unparseable externalIP drops only
// itself: the Service's ClusterIP and its other externalIP keep answering.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, httpGet, requireRoot, tally, tcpHits, type Cluster } from './harness/index.js';
import {
  dnatTargets,
  iptablesSave,
  linesForService,
  service,
  slice,
  startApi,
  startProxy,
  waitForTargets,
  METRICS_PORT,
  type Proxy,
  type TestEnv,
} from './iptables-helpers.js';

/** "198.18.1.11" → "198.018.001.011": the same address to the apiserver, octal to iptables. */
const zeroPadded = (ip: string): string =>
  ip
    .split('.')
    .map((o) => o.padStart(3, '0'))
    .join('.');

describe.skipIf(!requireRoot())('iptables mode: legacy-format IPs with packets', () => {
  let c: Cluster;
  let env: TestEnv;
  let proxy: Proxy | undefined;
  const target = (name: string): string => `${c.pod(name).ipv4}:8080`;

  beforeAll(async () => {
    c = await createCluster();
    env = await startApi(c);
    const { api } = env;
    const a1 = c.pod('a1');
    const a2 = c.pod('a2');

    api.create(
      service({
        name: 'legacy',
        clusterIP: '198.19.3.010',
        externalIPs: ['198.18.200.051', '198.018.200.052'],
      }),
    );
    // Endpoint addresses in the same form ("011" is eleven; octal would be pod-less .9).
    api.create(slice('legacy', [a1, a2].map((p) => ({ ip: zeroPadded(p.ipv4), nodeName: p.nodeName }))));

    api.create(service({ name: 'half-bad', clusterIP: '198.19.3.20', externalIPs: ['198.18.200.20', '198.18.200.300'] }));
    api.create(slice('half-bad', [{ ip: a1.ipv4, nodeName: a1.nodeName }]));

    // Node A alone: the client pod, both endpoints and the external routes all go through it.
    proxy = await startProxy(env, c.nodes.a);
    await waitForTargets(c.nodes.a.ns, 'default/legacy:http', [target('a1'), target('a2')]);
    await waitForTargets(c.nodes.a.ns, 'default/half-bad:http', [target('a1')]);
  });

  afterAll(async () => {
    const code = await proxy?.stop();
    await env?.close();
    await c?.destroy();
    expect(code).toBe(0);
  });

  it('answers a ClusterIP written as 198.19.3.010 at 198.19.3.10, from endpoints written with leading zeros', async () => {
    const hits = await tcpHits(c.client.ns, '198.19.3.10', 80, 40);
    expect(Object.keys(tally(hits)).sort(), JSON.stringify(tally(hits))).toEqual(['a1', 'a2']);

    const nat = await iptablesSave(c.nodes.a.ns, 'IPv4', 'nat');
    expect(dnatTargets(nat, 'default/legacy:http')).toEqual([target('a1'), target('a2')]);
    const lines = linesForService(nat, 'default/legacy:http').join('\n');
    expect(lines).toContain('-d 198.19.3.10/32');
    // Not the octal reading of the same text.
    expect(lines).not.toContain('198.19.3.8/32');
  });

  it('answers externalIPs 198.18.200.051 and 198.018.200.052 at .51 and .52 (not octal .41)', async () => {
    for (const ip of ['198.18.200.51', '198.18.200.52']) {
      const t = tally(await tcpHits(c.external.ns, ip, 80, 20));
      expect(Object.keys(t).every((k) => ['a1', 'a2'].includes(k)) && Object.keys(t).length > 0, `${ip}: ${JSON.stringify(t)}`).toBe(true);
    }
    const lines = linesForService(await iptablesSave(c.nodes.a.ns, 'IPv4', 'nat'), 'default/legacy:http external IP').join('\n');
    expect(lines).toContain('-d 198.18.200.51/32');
    expect(lines).toContain('-d 198.18.200.52/32');
    expect(lines).not.toContain('198.18.200.41');
    expect(await tcpHits(c.external.ns, '198.18.200.41', 80, 1, { timeoutMs: 1500 })).toEqual([{ error: 'ETIMEDOUT' }]);
  });

  it('keeps the ClusterIP and the good externalIP of a Service with one unparseable externalIP, and records the field', async () => {
    expect(tally(await tcpHits(c.client.ns, '198.19.3.20', 80, 5))).toEqual({ a1: 5 });
    expect(tally(await tcpHits(c.external.ns, '198.18.200.20', 80, 5))).toEqual({ a1: 5 });

    const r = await httpGet(c.nodes.a.ns, `http://127.0.0.1:${METRICS_PORT}/debug/state`);
    const st = JSON.parse(r.body ?? '{}') as { rejected?: { name: string; errors: { field: string; message: string }[] }[] };
    expect(st.rejected?.find((x) => x.name === 'half-bad')?.errors).toEqual([
      { field: 'spec.externalIPs[1]', message: 'must be a valid IP address, got "198.18.200.300"; this external IP is ignored' },
    ]);
    expect(st.rejected?.some((x) => x.name === 'legacy')).toBe(false);
  });
});
