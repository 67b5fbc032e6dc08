// End-to-end tests of --mode=userspace against the real kernel: the daemon runs inside node A's
// namespace, programs its portal rules (KUBE-PORTALS-*/KUBE-NODEPORT-*) with real iptables, and
// proxies every connection through its own listeners to echo pods on both nodes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCluster,
  httpGet,
  nsExec,
  nsExecOk,
  requireRoot,
  startEcho,
  tally,
  tcpHits,
  udpHits,
  type Cluster,
} from './harness/index.js';
import { DEFAULT_BASE_EJECTION_MS } from '../../modes/userspace/outliers.js';
import type { Helper } from './harness/spawn.js';
import {
  eventually,
  latencySummary,
  METRICS_PORT,
  openMany,
  portalRules,
  sendBlob,
  service,
  slice,
  sleep,
  startApi,
  startSink,
  startUserspaceProxy,
  timedDials,
  type Env,
  type SvcPort,
  type UserspaceProxy,
} from './userspace-helpers/index.js';

const WEB_IP = '198.19.0.10';
const STICKY_IP = '198.19.0.12';
const DEAD_IP = '198.19.0.13';
const BLOB_IP = '198.19.0.14';
const CHURN_IP = '198.19.0.15';
const HOLE_IP = '198.19.0.16';
/** Echo servers of the black-hole test listen here only, so its DROP rule touches no other test. */
const HOLE_PORT = 9100;
const WEB6_IP = '2001:db8:ff::10';
const WEB_PORTS: SvcPort[] = [
  { name: 'tcp', port: 80, protocol: 'TCP', nodePort: 30080 },
  { name: 'udp', port: 53, protocol: 'UDP', nodePort: 30053 },
];
const BLOB_PORT = 9000;
const ALL = ['a1', 'a2', 'b1', 'b2'];

describe.skipIf(!requireRoot())('userspace mode (real iptables in a namespace)', () => {
  let c: Cluster;
  let env: Env;
  let proxy: UserspaceProxy;
  let sink: Helper | undefined;
  const ep = (name: string, family: 'IPv4' | 'IPv6' = 'IPv4') => {
    const p = c.pod(name);
    return { ip: family === 'IPv4' ? p.ipv4 : p.ipv6, nodeName: p.nodeName };
  };
  const nodeA = () => c.nodes.a;

  beforeAll(async () => {
    c = await createCluster();
    env = await startApi(c);
    const api = env.api;
    api.create(service({ name: 'web', type: 'NodePort', clusterIP: WEB_IP, ports: WEB_PORTS }));
    api.create(slice('web', ALL.map((n) => ep(n)), WEB_PORTS));
    api.create(service({ name: 'sticky', clusterIP: STICKY_IP, sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 1, ports: [{ port: 80 }] }));
    api.create(slice('sticky', ALL.map((n) => ep(n)), [{ port: 80 }]));
    // The client pod runs no echo server: its endpoint refuses every connection.
    api.create(service({ name: 'dead', clusterIP: DEAD_IP, ports: [{ port: 80 }] }));
    api.create(slice('dead', [ep('a1'), ep('client'), ep('a2'), ep('b1')], [{ port: 80 }]));
    const blobPorts: SvcPort[] = [{ port: BLOB_PORT, targetPort: BLOB_PORT, nodePort: 30900 }];
    api.create(service({ name: 'blob', type: 'NodePort', clusterIP: BLOB_IP, ports: blobPorts }));
    api.create(slice('blob', [ep('b1')], blobPorts));
    api.create(service({ name: 'churn', clusterIP: CHURN_IP, ports: [{ port: 80 }] }));
    api.create(slice('churn', [ep('a1'), ep('a2')], [{ port: 80 }]));
    const web6Ports: SvcPort[] = [
      { name: 'tcp', port: 80, protocol: 'TCP' },
      { name: 'udp', port: 53, protocol: 'UDP' },
    ];
    api.create(service({ name: 'web6', clusterIP: WEB6_IP, ipFamilies: ['IPv6'], ports: web6Ports }));
    api.create(slice('web6', [ep('a1', 'IPv6'), ep('b1', 'IPv6')], web6Ports, 'IPv6'));
    // The sink answers 300 ms after the client's FIN, so its reply can only arrive over a half-closed connection.
    sink = await startSink(c.pod('b1').ns, BLOB_PORT, 300);
    proxy = await startUserspaceProxy(env, c.nodes.a);
  });

  afterAll(async () => {
    const code = await proxy?.stop();
    await sink?.stop();
    await env?.close();
    await c?.destroy();
    // A clean SIGTERM shutdown (exit 0) is part of the daemon's contract in every mode.
    if (proxy) expect(code, `userspace daemon exited ${code} after SIGTERM`).toBe(0);
  });

  const dump = async (): Promise<string> => `portal rules:\n${await portalRules(nodeA().ns)}\ndaemon log tail:\n${proxy.daemon.logs().split('\n').slice(-30).join('\n')}`;
  const expectAll = async (hits: readonly { name?: string; error?: string }[], names: readonly string[], msg: string) => {
    const t = tally(hits);
    if (Object.keys(t).sort().join() !== [...names].sort().join()) throw new Error(`${msg}: got ${JSON.stringify(t)}\n${await dump()}`);
  };

  it('programs the portal chains in the node namespace', async () => {
    const rules = await portalRules(nodeA().ns);
    expect(rules).toMatch(new RegExp(`-A KUBE-PORTALS-CONTAINER -d ${WEB_IP}/32 -p tcp .*--dport 80 -j REDIRECT --to-ports \\d+`));
    // UDP: DNAT to a listener bound to a node address (its replies must leave from the NAT target),
    // and host traffic to one bound to loopback.
    expect(rules).toMatch(/-A KUBE-NODEPORT-CONTAINER -p udp .*--dport 30053 -j DNAT --to-destination 198\.18\.\d+\.\d+:\d+/);
    expect(rules).toMatch(/-A KUBE-PORTALS-HOST -d 198\.19\.0\.10\/32 -p udp .*--dport 53 -j DNAT --to-destination 127\.0\.0\.1:\d+/);
    expect(rules).toMatch(/-A PREROUTING .*-j KUBE-PORTALS-CONTAINER/);
    expect(rules).toMatch(/-A OUTPUT .*-j KUBE-NODEPORT-HOST/);
  });

  it('ClusterIP over TCP from a pod reaches every endpoint round-robin', async () => {
    const hits = await tcpHits(c.client.ns, WEB_IP, 80, 8);
    await expectAll(hits, ALL, 'tcp clusterIP from client pod');
    // Round robin: 8 fresh connections over 4 endpoints hit each exactly twice.
    expect(tally(hits)).toEqual({ a1: 2, a2: 2, b1: 2, b2: 2 });
  });

  it('ClusterIP over UDP from a pod reaches every endpoint round-robin', async () => {
    const hits = await udpHits(c.client.ns, WEB_IP, 53, 8);
    await expectAll(hits, ALL, 'udp clusterIP from client pod');
    expect(tally(hits)).toEqual({ a1: 2, a2: 2, b1: 2, b2: 2 });
  });

  it('NodePort over TCP and UDP from the external client reaches every endpoint', async () => {
    await expectAll(await tcpHits(c.external.ns, nodeA().ipv4, 30080, 8), ALL, 'tcp nodePort from external');
    await expectAll(await udpHits(c.external.ns, nodeA().ipv4, 30053, 8), ALL, 'udp nodePort from external');
  });

  it('NodePort and ClusterIP from the node itself (OUTPUT chains) over TCP and UDP', async () => {
    await expectAll(await tcpHits(nodeA().ns, nodeA().ipv4, 30080, 4), ALL, 'tcp nodePort from node');
    await expectAll(await tcpHits(nodeA().ns, '127.0.0.1', 30080, 4), ALL, 'tcp localhost nodePort from node');
    await expectAll(await tcpHits(nodeA().ns, WEB_IP, 80, 4), ALL, 'tcp clusterIP from node');
    await expectAll(await udpHits(nodeA().ns, WEB_IP, 53, 4), ALL, 'udp clusterIP from node');
    await expectAll(await udpHits(nodeA().ns, nodeA().ipv4, 30053, 4), ALL, 'udp nodePort from node');
  });

  it('IPv6 ClusterIP over TCP and UDP, from a pod and from the node', async () => {
    await expectAll(await tcpHits(c.client.ns, WEB6_IP, 80, 4), ['a1', 'b1'], 'tcp v6 clusterIP from client pod');
    await expectAll(await udpHits(c.client.ns, WEB6_IP, 53, 4), ['a1', 'b1'], 'udp v6 clusterIP from client pod');
    await expectAll(await tcpHits(nodeA().ns, WEB6_IP, 80, 4), ['a1', 'b1'], 'tcp v6 clusterIP from node');
    await expectAll(await udpHits(nodeA().ns, WEB6_IP, 53, 4), ['a1', 'b1'], 'udp v6 clusterIP from node');
  });

  it('ClientIP affinity sticks per client and expires after timeoutSeconds', async () => {
    const fromClient = tally(await tcpHits(c.client.ns, STICKY_IP, 80, 10));
    expect(Object.keys(fromClient)).toHaveLength(1);
    expect(ALL).toContain(Object.keys(fromClient)[0]);
    const fromExternal = tally(await tcpHits(c.external.ns, STICKY_IP, 80, 10));
    expect(Object.keys(fromExternal)).toHaveLength(1);
    expect(ALL).toContain(Object.keys(fromExternal)[0]);
    // Probes further apart than the 1 s timeout each start a new round-robin pick.
    const spaced: string[] = [];
    for (let i = 0; i < 3; i++) {
      await sleep(1500);
      const [hit] = await tcpHits(c.client.ns, STICKY_IP, 80, 1);
      spaced.push(hit?.name ?? `error:${hit?.error}`);
    }
    expect(spaced.every((n) => ALL.includes(n))).toBe(true);
    expect(new Set(spaced).size).toBeGreaterThan(1);
  });

  it('a 100 MB upload through the proxy arrives byte-identical (sha256)', async () => {
    const size = 100 * 1024 * 1024;
    const r = await sendBlob(c.client.ns, BLOB_IP, BLOB_PORT, size);
    expect(r.error).toBeUndefined();
    expect(r.sent).toBe(size);
    expect(r.reply).toEqual({ bytes: size, sha256: r.sha256 });
  });

  it('a client half-close reaches the server, which still replies afterwards', async () => {
    // blob.mjs sends, half-closes, and only then gets the sink's (delayed) digest of what it sent.
    for (const [ns, ip, port] of [
      [c.client.ns, BLOB_IP, BLOB_PORT],
      [nodeA().ns, BLOB_IP, BLOB_PORT],
      [c.external.ns, nodeA().ipv4, 30900],
    ] as const) {
      const r = await sendBlob(ns, ip, port, 5000, 10_000);
      expect(r.error, `${ns} -> ${ip}:${port}`).toBeUndefined();
      expect(r.reply).toEqual({ bytes: 5000, sha256: r.sha256 });
    }
  });

  it('200 established connections survive endpoint churn', async () => {
    const many = openMany(c.client.ns, CHURN_IP, 80, 200);
    try {
      const ready = await many.ready;
      expect(ready.failed).toBe(0);
      expect(ready.names).toEqual({ a1: 100, a2: 100 });
      expect(await many.check('before')).toMatchObject({ ok: 200, failed: 0, closed: 0, errors: {} });

      env.api.update(slice('churn', [ep('b1'), ep('b2')], [{ port: 80 }]));
      await eventually(async () => {
        const hits = await tcpHits(c.client.ns, CHURN_IP, 80, 4);
        return hits.every((h) => h.name === 'b1' || h.name === 'b2');
      }, 'new churn connections to go to b1/b2 only');
      expect(await many.check('after-replace')).toMatchObject({ ok: 200, failed: 0, closed: 0, errors: {} });

      env.api.update(slice('churn', [], [{ port: 80 }]));
      await eventually(async () => {
        const [hit] = await tcpHits(c.client.ns, CHURN_IP, 80, 1, { timeoutMs: 1000 });
        return hit?.error !== undefined;
      }, 'churn to have no endpoints');
      expect(await many.check('after-empty')).toMatchObject({ ok: 200, failed: 0, closed: 0, errors: {} });
    } finally {
      await many.close();
    }
  });

  it('dead endpoints (refused, killed echo server) are skipped with no client failure', async () => {
    const before = await tcpHits(c.client.ns, DEAD_IP, 80, 12);
    await expectAll(before, ['a1', 'a2', 'b1'], 'dead service with a refusing endpoint');
    await c.pod('a2').echoServer?.stop();
    const after = await tcpHits(c.client.ns, DEAD_IP, 80, 12);
    await expectAll(after, ['a1', 'b1'], 'dead service after a2 died');
    expect(await proxy.daemon.exitCode).toBeNull();
  });

  it('a black-holed endpoint (SYNs dropped) fails no client with a 2 s timeout and is ejected', async () => {
    // b2 stands for an endpoint whose node is gone: its SYNs go unanswered (a DROP rule in its
    // namespace), nothing refuses. The proxy must give up on it after 250 ms and try a1, then stop
    // sending new connections to it for a while.
    const [a1, b2] = [c.pod('a1'), c.pod('b2')];
    const holePorts: SvcPort[] = [{ port: 80, targetPort: HOLE_PORT }];
    const echoes = await Promise.all([a1, b2].map((p) => startEcho(p.ns, p.name, { tcpPort: HOLE_PORT, httpPort: 0, udpPort: 0 })));
    const drop = ['INPUT', '-p', 'tcp', '--dport', String(HOLE_PORT), '--syn', '-j', 'DROP'];
    const dropped = async (): Promise<number> => {
      // -L -v -x: exact packet counts; the rule's line starts with its packet counter.
      const out = (await nsExecOk(b2.ns, ['iptables', '-w', '-L', 'INPUT', '-n', '-v', '-x'])).stdout;
      const line = out.split('\n').find((l) => l.includes('DROP') && l.includes(`dpt:${HOLE_PORT}`));
      if (!line) throw new Error(`no DROP rule in ${b2.ns}:\n${out}`);
      return Number(line.trim().split(/\s+/)[0]);
    };
    let blackholed = false;
    try {
      env.api.create(service({ name: 'hole', clusterIP: HOLE_IP, ports: holePorts }));
      env.api.create(slice('hole', [ep('b2'), ep('a1')], holePorts));
      await eventually(async () => {
        const t = tally(await tcpHits(c.client.ns, HOLE_IP, 80, 4));
        return t.a1 === 2 && t.b2 === 2;
      }, 'the hole service to reach a1 and b2');

      await nsExecOk(b2.ns, ['iptables', '-w', '-A', ...drop]);
      blackholed = true;
      const started = Date.now();
      const seq = await timedDials(c.client.ns, HOLE_IP, 80, { count: 50, timeoutMs: 2000 });
      const elapsedMs = Date.now() - started;
      const synsSeq = await dropped();
      const burst = await timedDials(c.client.ns, HOLE_IP, 80, { count: 50, timeoutMs: 2000, concurrency: 50 });
      const synsBurst = (await dropped()) - synsSeq;
      const metrics = (await httpGet(nodeA().ns, `http://127.0.0.1:${METRICS_PORT}/metrics`)).body ?? '';
      const ejections = Number(/kubeproxy_ts_userspace_endpoint_ejections_total\{service_port="default\/hole:p"\} (\d+)/.exec(metrics)?.[1] ?? 0);
      const firstSlow = seq.findIndex((d) => d.ms >= 250);
      console.log(
        `black hole: sequential ${JSON.stringify(latencySummary(seq))} in ${elapsedMs} ms, SYNs to b2 ${synsSeq}, ` +
          `after the first timeout ${JSON.stringify(latencySummary(seq.slice(firstSlow + 1)))}; ` +
          `burst of 50 ${JSON.stringify(latencySummary(burst))}, SYNs to b2 ${synsBurst}; ejections ${ejections}`,
      );

      // No client saw a failure: every connection reached a1, none timed out.
      expect(seq.filter((d) => d.name !== 'a1')).toEqual([]);
      expect(burst.filter((d) => d.name !== 'a1')).toEqual([]);
      // b2 was tried (round robin sends it every other connection) and ejected...
      expect(synsSeq).toBeGreaterThanOrEqual(1);
      expect(ejections).toBeGreaterThanOrEqual(1);
      // ...and then got no new connections, except one probe per ended ejection (the first one
      // lasts 5 s and later ones longer). Without ejection it gets one dial per connection.
      expect(synsSeq).toBeLessThanOrEqual(1 + Math.ceil(elapsedMs / DEFAULT_BASE_EJECTION_MS));
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${await dump()}`);
    } finally {
      if (blackholed) await nsExec(b2.ns, ['iptables', '-w', '-D', ...drop]);
      await Promise.all(echoes.map((h) => h.stop()));
    }
  });
});
