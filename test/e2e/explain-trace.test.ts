// `kube-proxy-ts explain` and `kube-proxy-ts trace` against a live daemon in a node namespace, for
// iptables and nftables modes (one scenario list), checked against the packets actually observed:
// the endpoints trace predicts (with their probabilities) are exactly the ones that answer, and a
// REJECT prediction is a refused connect.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BALANCE_ALPHA, chiSquareTest, describeChiSquare } from '../support/chi-square.js';
import { createCluster, nsExec, requireRoot, tally, tcpHits, type Cluster } from './harness/index.js';
import { DAEMON_ENTRY, METRICS_PORT, service, slice, startApi, startProxy, type Proxy, type TestEnv } from './iptables-helpers.js';
import { E2E_MODES, modeOps } from './mode-helpers.js';
import { expectCleanExits, stopProxies } from './proofs/exit-codes.js';

const WEB_IP = '198.19.0.60';
const EMPTY_IP = '198.19.0.61';

async function cli(ns: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return nsExec(ns, ['node', DAEMON_ENTRY, ...args, `--metrics-address=127.0.0.1:${METRICS_PORT}`]);
}

/** What each mode's explain and trace name: its dispatch chain and per-service objects. */
const NAMES = {
  iptables: { dispatch: 'nat/KUBE-SERVICES', service: /^nat\/KUBE-SVC-/, explain: [/KUBE-SVC-[A-Z2-7]{16}/, /KUBE-SEP-[A-Z2-7]{16}/] },
  nftables: {
    dispatch: 'services',
    // No chain of its own (no affinity): the shared flat rules and its count class's rule.
    service: /^cluster-classes$/,
    // Its count class membership, its slots in the shared endpoint map, its flat-path entry.
    explain: [
      /cluster-2:\n\s+198\.19\.0\.60 \. tcp \. 80\n/,
      /cluster-endpoints:\n\s+198\.19\.0\.60 \. tcp \. 80 \. [01] : 198\.18\.\d+\.\d+ \. 8080\n\s+198\.19\.0\.60 \. tcp \. 80 \. [01] : 198\.18\.\d+\.\d+ \. 8080\n/,
      /flat-ips:\n\s+198\.19\.0\.60 \. tcp \. 80\n/,
    ],
  },
} as const;

describe.skipIf(!requireRoot()).each(E2E_MODES)('explain and trace against a live daemon (%s mode)', (mode) => {
  const m = modeOps(mode);
  const names = NAMES[mode];
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
    proxy = await startProxy(env, c.nodes.a, {}, m.flavour);
    await m.waitForTargets(c.nodes.a.ns, 'default/web:http', [`${c.pod('a1').ipv4}:8080`, `${c.pod('b1').ipv4}:8080`]);
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
    for (const re of names.explain) expect(r.stdout).toMatch(re);

    const missing = await cli(c.nodes.a.ns, ['explain', 'default/nope']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('no service port matches default/nope');
  });

  it('trace predicts exactly the endpoints that answer, with matching shares', async () => {
    const r = await cli(c.nodes.a.ns, ['trace', '--src', c.client.ipv4, '--dst', `${WEB_IP}:80/tcp`, '--output', 'json']);
    expect(r.stderr).toBe('');
    const traced = JSON.parse(r.stdout) as { verdict: string; destinations: { ip: string; port: number; probability: number }[]; chainPath: string[] };
    expect(traced.verdict).toBe('DNAT');
    expect(traced.chainPath).toContain(names.dispatch);
    expect(traced.chainPath.some((ch) => names.service.test(ch))).toBe(true);
    const predicted = Object.fromEntries(traced.destinations.map((d) => [d.ip, d.probability]));
    expect(Object.keys(predicted).sort()).toEqual([c.pod('a1').ipv4, c.pod('b1').ipv4].sort());

    const n = 200;
    const hits = await tcpHits(c.client.ns, WEB_IP, 80, n, { timeoutMs: 3000 });
    const byPod = tally(hits);
    const observedIPs = Object.keys(byPod).map((name) => c.pod(name).ipv4).sort();
    expect(observedIPs).toEqual(Object.keys(predicted).sort());
    const byIP = Object.fromEntries(Object.entries(byPod).map(([name, v]) => [name.startsWith('error:') ? name : c.pod(name).ipv4, v]));
    const fit = chiSquareTest(byIP, predicted);
    expect(fit.pValue, describeChiSquare(fit)).toBeGreaterThanOrEqual(BALANCE_ALPHA);
  });

  it('trace predicts REJECT for a service without endpoints, and the connect is refused', async () => {
    const r = await cli(c.nodes.a.ns, ['trace', '--src', c.client.ipv4, '--dst', `${EMPTY_IP}:80/tcp`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/verdict: REJECT/);
    // nftables mode also prints each outcome's steps: here the no-endpoint map's entry.
    if (mode === 'nftables') expect(r.stdout).toMatch(/@no-endpoint-services 198\.19\.0\.61 \. tcp \. 80 : goto reject-chain/);
    const hits = await tcpHits(c.client.ns, EMPTY_IP, 80, 3, { timeoutMs: 3000 });
    expect(hits.map((h) => h.error)).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
  });

  // Upstream's cluster-ips-check exists in nftables mode only: a port of a cluster IP that no
  // service uses is rejected at once there; iptables mode leaves such a packet alone.
  it(`a cluster IP's unused port: ${mode === 'nftables' ? 'REJECT, refused at once' : 'not DNATed (no rule)'}`, async () => {
    const r = await cli(c.nodes.a.ns, ['trace', '--src', c.client.ipv4, '--dst', `${WEB_IP}:81/tcp`]);
    expect(r.code).toBe(0);
    if (mode === 'iptables') {
      expect(r.stdout).toMatch(/verdict: ACCEPT/);
      return;
    }
    expect(r.stdout).toMatch(/verdict: REJECT/);
    expect(r.stdout).toMatch(/cluster-ips-check #1 \(Reject traffic to invalid ports of ClusterIPs\): in @cluster-ips 198\.19\.0\.60; reject/);
    const hits = await tcpHits(c.client.ns, WEB_IP, 81, 2, { timeoutMs: 3000 });
    expect(hits.map((h) => h.error)).toEqual(['ECONNREFUSED', 'ECONNREFUSED']);
  });

  it('rejects bad arguments with a message naming the flag', async () => {
    const r = await cli(c.nodes.a.ns, ['trace', '--src', c.client.ipv4, '--dst', 'not-an-address']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--dst');
  });
});
