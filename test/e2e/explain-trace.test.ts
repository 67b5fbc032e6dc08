// `kube-proxy-ts explain` and `kube-proxy-ts trace` against a live daemon in a node namespace,
// checked against the packets actually observed: the endpoints trace predicts (with their
// probabilities) are exactly the ones that answer, and a REJECT prediction is a refused connect.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, nsExec, requireRoot, tally, tcpHits, type Cluster } from './harness/index.js';
import { DAEMON_ENTRY, METRICS_PORT, service, slice, startApi, startProxy, waitForTargets, type Proxy, type TestEnv } from './iptables-helpers.js';
import { expectCleanExits, stopProxies } from './proofs/exit-codes.js';

const WEB_IP = '198.19.0.60';
const EMPTY_IP = '198.19.0.61';

async function cli(ns: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return nsExec(ns, ['node', DAEMON_ENTRY, ...args, `--metrics-address=127.0.0.1:${METRICS_PORT}`]);
}

describe.skipIf(!requireRoot())('explain and trace against a live daemon (iptables mode)', () => {
  let c: Cluster;
  let env: TestEnv;
  let proxy: Proxy;

  beforeAll(async () => {
    c = await createCluster();
    env = await startApi(c);
    env.api.create(service({ name: 'web', clusterIP: WEB_IP }));
    env.api.create(
      slice('web', [
        { ip: c.pod('a1').ipv4, nodeName: c.nodes.a.name },
        { ip: c.pod('b1').ipv4, nodeName: c.nodes.b.name },
        { ip: c.pod('b2').ipv4, nodeName: c.nodes.b.name, ready: false, serving: false },
      ]),
    );
    env.api.create(service({ name: 'empty', clusterIP: EMPTY_IP }));
    proxy = await startProxy(env, c.nodes.a);
    await waitForTargets(c.nodes.a.ns, 'default/web:http', [`${c.pod('a1').ipv4}:8080`, `${c.pod('b1').ipv4}:8080`]);
  });

  afterAll(async () => {
    const stopped = await stopProxies(proxy ? [proxy] : []);
    await env?.close();
    await c?.destroy();
    expectCleanExits(stopped);
  });

  it('explain shows VIPs, every endpoint with its state, and the programmed chains', async () => {
    const r = await cli(c.nodes.a.ns, ['explain', 'default/web']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Service port default/web:http (ClusterIP, TCP)');
    expect(r.stdout).toContain(`cluster IP ${WEB_IP}:80`);
    const line = (ip: string) => r.stdout.split('\n').find((l) => l.includes(`${ip}:8080`)) ?? '';
    expect(line(c.pod('a1').ipv4)).toMatch(/ready\s+node=node-a \(local\)/);
    expect(line(c.pod('b1').ipv4)).toMatch(/ready\s+node=node-b/);
    expect(line(c.pod('b2').ipv4)).toMatch(/not ready.*\[not used by this node\]/);
    expect(r.stdout).toMatch(/KUBE-SVC-[A-Z2-7]{16}/);
    expect(r.stdout).toMatch(/KUBE-SEP-[A-Z2-7]{16}/);

    const missing = await cli(c.nodes.a.ns, ['explain', 'default/nope']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('no service port matches default/nope');
  });

  it('trace predicts exactly the endpoints that answer, with matching shares', async () => {
    const r = await cli(c.nodes.a.ns, ['trace', '--src', c.client.ipv4, '--dst', `${WEB_IP}:80/tcp`, '--output', 'json']);
    expect(r.stderr).toBe('');
    const traced = JSON.parse(r.stdout) as { verdict: string; destinations: { ip: string; port: number; probability: number }[]; chainPath: string[] };
    expect(traced.verdict).toBe('DNAT');
    expect(traced.chainPath).toContain('nat/KUBE-SERVICES');
    expect(traced.chainPath.some((ch) => ch.startsWith('nat/KUBE-SVC-'))).toBe(true);
    const predicted = Object.fromEntries(traced.destinations.map((d) => [d.ip, d.probability]));
    expect(Object.keys(predicted).sort()).toEqual([c.pod('a1').ipv4, c.pod('b1').ipv4].sort());

    const n = 200;
    const hits = await tcpHits(c.client.ns, WEB_IP, 80, n, { timeoutMs: 3000 });
    const byPod = tally(hits);
    const observedIPs = Object.keys(byPod).map((name) => c.pod(name).ipv4).sort();
    expect(observedIPs).toEqual(Object.keys(predicted).sort());
    for (const [name, count] of Object.entries(byPod)) {
      // 0.5 predicted each; with n = 200 a share outside 0.3..0.7 means prediction and kernel disagree.
      const p = predicted[c.pod(name).ipv4] ?? 0;
      expect(Math.abs(count / n - p)).toBeLessThan(0.2);
    }
  });

  it('trace predicts REJECT for a service without endpoints, and the connect is refused', async () => {
    const r = await cli(c.nodes.a.ns, ['trace', '--src', c.client.ipv4, '--dst', `${EMPTY_IP}:80/tcp`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/verdict: REJECT/);
    const hits = await tcpHits(c.client.ns, EMPTY_IP, 80, 3, { timeoutMs: 3000 });
    expect(hits.map((h) => h.error)).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
  });

  it('rejects bad arguments with a message naming the flag', async () => {
    const r = await cli(c.nodes.a.ns, ['trace', '--src', c.client.ipv4, '--dst', 'not-an-address']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--dst');
  });
});
