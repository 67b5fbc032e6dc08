// Self-test of the e2e harness, with no proxy at all: plain pod-to-pod, external-to-pod and IPv6
// routing through the namespaces, the echo/client protocol, and that destroy() leaves nothing
// behind and the root namespace is untouched.

import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '../../modes/shared/exec.js';
import {
  apiserverBridge,
  createCluster,
  startDaemon,
  startEcho,
  sweepStale,
  httpGet,
  listNamespaces,
  openLongLived,
  requireRoot,
  rootSnapshot,
  tcpHits,
  udpHits,
  type Cluster,
} from './harness/index.js';

describe.skipIf(!requireRoot())('e2e harness', () => {
  let cluster: Cluster;
  let before: Awaited<ReturnType<typeof rootSnapshot>>;

  beforeAll(async () => {
    before = await rootSnapshot();
    cluster = await createCluster({ nodeNames: { a: 'node-a', b: 'node-b' } });
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('lays out named namespaces with the planned addresses', async () => {
    expect(cluster.nodes.a).toMatchObject({ name: 'node-a', ipv4: '198.18.0.1', ipv6: '2001:db8::1' });
    expect(cluster.nodes.b).toMatchObject({ name: 'node-b', ipv4: '198.18.0.2' });
    expect(cluster.pods.map((p) => [p.name, p.ipv4, p.nodeName])).toEqual([
      ['a1', '198.18.1.11', 'node-a'],
      ['a2', '198.18.1.12', 'node-a'],
      ['b1', '198.18.2.11', 'node-b'],
      ['b2', '198.18.2.12', 'node-b'],
    ]);
    const present = await listNamespaces();
    for (const ns of cluster.namespaces) expect(present).toContain(ns);
  });

  it('pods on different nodes reach each other over TCP, UDP and HTTP with their own source', async () => {
    const a1 = cluster.pod('a1');
    const b1 = cluster.pod('b1');
    const tcp = await tcpHits(a1.ns, b1.ipv4, 8080, 3);
    expect(tcp.map((h) => h.name)).toEqual(['b1', 'b1', 'b1']);
    expect(tcp[0]?.src).toMatch(/^198\.18\.1\.11:\d+$/);

    const udp = await udpHits(b1.ns, a1.ipv4, 8080, 2, { sourcePort: 40000 });
    expect(udp).toEqual([
      { name: 'a1', src: '198.18.2.11:40000' },
      { name: 'a1', src: '198.18.2.11:40000' },
    ]);

    const http = await httpGet(cluster.client.ns, `http://${b1.ipv4}:8081/`);
    expect(http.status).toBe(200);
    expect(http.headers?.['x-echo-name']).toBe('b1');
    expect(JSON.parse(http.body ?? '{}')).toMatchObject({ name: 'b1' });
    expect(JSON.parse(http.body ?? '{}').src).toMatch(/^198\.18\.1\.100:/);
  });

  it('distinguishes refused from timed out', async () => {
    const [refused] = await tcpHits(cluster.client.ns, cluster.pod('a2').ipv4, 9999, 1);
    expect(refused).toEqual({ error: 'ECONNREFUSED' });
    const [udpRefused] = await udpHits(cluster.client.ns, cluster.pod('b2').ipv4, 9999, 1);
    expect(udpRefused).toEqual({ error: 'ECONNREFUSED' });
    // No route anywhere for the service range without a proxy: the node's default route leads to
    // the external client, which does not forward, so the SYN is silently dropped.
    const [dropped] = await tcpHits(cluster.client.ns, '198.19.0.10', 80, 1, { timeoutMs: 500 });
    expect(dropped).toEqual({ error: 'ETIMEDOUT' });
  });

  it('the external client reaches node A pods through node A', async () => {
    const hits = await tcpHits(cluster.external.ns, cluster.pod('a1').ipv4, 8080, 2);
    expect(hits.map((h) => h.name)).toEqual(['a1', 'a1']);
    expect(hits[0]?.src).toMatch(/^198\.18\.0\.100:/);
    const trace = await udpHits(cluster.external.ns, cluster.pod('b2').ipv4, 8080, 1);
    expect(trace[0]).toMatchObject({ name: 'b2', src: expect.stringMatching(/^198\.18\.0\.100:/) });
  });

  it('IPv6 pod-to-pod works across nodes', async () => {
    const b2 = cluster.pod('b2');
    const tcp = await tcpHits(cluster.pod('a1').ns, b2.ipv6, 8080, 2);
    expect(tcp.map((h) => h.name)).toEqual(['b2', 'b2']);
    expect(tcp[0]?.src).toMatch(/^2001:db8:1::11:\d+$/);
    const udp = await udpHits(cluster.external.ns, cluster.pod('a2').ipv6, 8080, 1);
    expect(udp[0]).toMatchObject({ name: 'a2', src: expect.stringMatching(/^2001:db8::100:/) });
    const http = await httpGet(cluster.client.ns, `http://[${b2.ipv6}]:8081/`);
    expect(http.status).toBe(200);
  });

  it('a long-lived connection echoes lines until closed', async () => {
    const conn = openLongLived(cluster.client.ns, cluster.pod('b1').ipv4, 8080);
    expect(await conn.connected).toMatchObject({ name: 'b1' });
    expect(await conn.request('ping-1')).toBe('ping-1');
    expect(await conn.request('ping-2')).toBe('ping-2');
    await conn.close();
    expect(conn.isClosed()).toBe(true);
  });

  it('an echo server can also run in a node namespace (host-network endpoint)', async () => {
    const host = await startEcho(cluster.nodes.b.ns, 'host-b', { tcpPort: 9090, httpPort: 0, udpPort: 0 });
    const hits = await tcpHits(cluster.external.ns, cluster.nodes.b.ipv4, 9090, 1);
    expect(hits).toEqual([{ name: 'host-b', src: expect.stringMatching(/^198\.18\.0\.100:/) }]);
    expect(await host.stop()).toBe(0);
  });

  it('the apiserver bridge carries HTTP from a node namespace to a unix socket in the test process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpt-bridge-'));
    const socket = join(dir, 'api.sock');
    const server = createServer((req, res) => res.end(JSON.stringify({ path: req.url })));
    await new Promise<void>((r) => server.listen(socket, r));
    try {
      const bridge = await apiserverBridge(cluster.nodes.a.ns, socket, 16443);
      expect(bridge.url).toBe('http://127.0.0.1:16443');
      const res = await httpGet(cluster.nodes.a.ns, `${bridge.url}/api/v1/nodes`);
      expect(res).toMatchObject({ status: 200, body: '{"path":"/api/v1/nodes"}' });
      await bridge.stop();
      expect((await httpGet(cluster.nodes.a.ns, `${bridge.url}/`)).error).toBe('ECONNREFUSED');
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('startDaemon runs a program in the node namespace, captures its log and stops it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpt-daemon-'));
    const entry = join(dir, 'fake-daemon.mjs');
    writeFileSync(
      entry,
      [
        "import { networkInterfaces } from 'node:os';",
        "const ips = Object.values(networkInterfaces()).flat().map((i) => i.address);",
        "console.log('started args=' + process.argv.slice(2).join(',') + ' ips=' + ips.join(','));",
        "console.error('env=' + process.env.FAKE_FLAG);",
        "process.on('SIGTERM', () => { console.log('shutting down'); process.exit(0); });",
        'setInterval(() => undefined, 1000);',
      ].join('\n'),
    );
    try {
      const d = startDaemon(cluster.nodes.a.ns, ['--hostname-override', 'node-a'], {
        entry,
        env: { FAKE_FLAG: 'yes' },
        logFile: join(dir, 'daemon.log'),
      });
      const line = await d.waitForLog(/started args=/, 10_000);
      expect(line).toContain('--hostname-override,node-a');
      expect(line).toContain('198.18.0.1');
      await d.waitForLog(/env=yes/, 5_000);
      await expect(d.waitForLog(/never printed/, 200)).rejects.toThrow(/did not log/);
      expect(d.exitCode).toBeNull();
      expect(await d.stop()).toBe(0);
      expect(d.exitCode).toBe(0);
      expect(d.logs()).toContain('shutting down');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sweepStale deletes leftovers whose owner is gone, not live clusters', async () => {
    const stale = 'kptdead-x';
    expect((await exec(['ip', 'netns', 'add', stale])).code).toBe(0);
    expect(await sweepStale('kptdead-')).toEqual([stale]);
    expect(await sweepStale(cluster.prefix)).toEqual([]);
    expect(await listNamespaces()).not.toContain(stale);
  });

  it('destroy() deletes every namespace and leaves the root namespace untouched', async () => {
    await cluster.destroy();
    for (const p of cluster.pods) expect(p.echoServer?.child.exitCode ?? p.echoServer?.child.signalCode).not.toBeNull();
    const present = await listNamespaces();
    for (const ns of cluster.namespaces) expect(present).not.toContain(ns);
    const after = await rootSnapshot();
    expect(after).toEqual(before);
  });
});
