// IPVS mode end to end, against the real kernel of the kvm-run guest: one daemon in node A's
// namespace (endpoints on nodes A and B), traffic from pods and from the external client, the
// kernel's IPVS table read with ipvsadm, graceful termination, foreign state and --cleanup.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, nsExec, nsExecOk, openLongLived, requireRoot, tally, tcpHits, udpHits, type Cluster } from '../e2e/harness/index.js';
import {
  DAEMON_ENTRY,
  eventually,
  inIpvsGuest,
  ipsets,
  logRecords,
  ipvsadm,
  linkAddresses,
  service,
  sleep,
  slice,
  startApi,
  startIpvsProxy,
  syncRecords,
  viewOf,
  waitForIpvs,
  type IpvsView,
  type Proxy,
  type TestEnv,
} from './ipvs-helpers.js';

const NODE_A = '198.18.0.1';
const EXTERNAL = '198.18.0.100';
const IP = { web: '198.19.0.10', np: '198.19.0.11', sticky: '198.19.0.12', local: '198.19.0.13', empty: '198.19.0.14', grace: '198.19.0.21', life: '198.19.0.20', nudge: '198.19.0.22', dns: '198.19.0.15' };
const WEB6 = '2001:db8:ff::10';
const FOREIGN_IP = '198.18.250.1';
/** Draining real servers are deleted this long after they started draining (default 60 s). */
const GRACEFUL_WAIT = '6s';

describe.skipIf(!requireRoot() || !inIpvsGuest())('IPVS mode in a real kernel', () => {
  let c: Cluster;
  let env: TestEnv;
  let proxy: Proxy | undefined;
  let a1: string, a2: string, b1: string, b2: string;
  const rs = (ip: string, w = 1): string => `${ip}:8080 Masq w${w}`;

  beforeAll(async () => {
    c = await createCluster();
    [a1, a2, b1, b2] = ['a1', 'a2', 'b1', 'b2'].map((n) => c.pod(n).ipv4) as [string, string, string, string];
    env = await startApi(c);
    const A = c.nodes.a.name, B = c.nodes.b.name;
    const ab = [{ ip: a1, nodeName: A }, { ip: b1, nodeName: B }];
    env.api.create(service({ name: 'web', clusterIP: IP.web }));
    env.api.create(slice('web', ab));
    env.api.create(service({ name: 'np', type: 'NodePort', clusterIP: IP.np, nodePort: 30080 }));
    env.api.create(slice('np', ab));
    env.api.create(service({ name: 'sticky', clusterIP: IP.sticky, sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 600 }));
    env.api.create(slice('sticky', [...ab, { ip: a2, nodeName: A }, { ip: b2, nodeName: B }]));
    env.api.create(service({ name: 'local', type: 'NodePort', clusterIP: IP.local, nodePort: 30081, externalTrafficPolicy: 'Local' }));
    env.api.create(slice('local', ab));
    env.api.create(service({ name: 'empty', clusterIP: IP.empty }));
    env.api.create(service({ name: 'dns', clusterIP: IP.dns, protocol: 'UDP', port: 53 }));
    env.api.create(slice('dns', ab, { protocol: 'UDP' }));
    env.api.create(service({ name: 'web6', clusterIP: WEB6, ipFamilies: ['IPv6'] }));
    env.api.create(slice('web6', [{ ip: c.pod('a1').ipv6, nodeName: A }, { ip: c.pod('b1').ipv6, nodeName: B }], { family: 'IPv6' }));
    env.api.create(service({ name: 'grace', clusterIP: IP.grace }));
    env.api.create(slice('grace', ab));

    // Foreign state that must outlive every sync and --cleanup: an address on another interface
    // with a virtual server on it, and a virtual server on the node IP at a port that is no NodePort.
    const na = c.nodes.a.ns;
    await nsExecOk(na, ['ip', 'link', 'add', 'foreign0', 'type', 'dummy']);
    await nsExecOk(na, ['ip', 'addr', 'add', `${FOREIGN_IP}/32`, 'dev', 'foreign0']);
    await nsExecOk(na, ['ipvsadm', '-A', '-t', `${FOREIGN_IP}:80`, '-s', 'wrr']);
    await nsExecOk(na, ['ipvsadm', '-a', '-t', `${FOREIGN_IP}:80`, '-r', `${b2}:8080`, '-m', '-w', '3']);
    await nsExecOk(na, ['ipvsadm', '-A', '-t', `${NODE_A}:9999`, '-s', 'rr']);

    proxy = await startIpvsProxy(env, c.nodes.a, {
      extraArgs: [`--ipvs-graceful-termination-period=${GRACEFUL_WAIT}`],
    });
  });

  afterAll(async () => {
    await proxy?.stop();
    await env?.close();
    await c?.destroy();
  });

  const foreignView = (): IpvsView => ({
    [`TCP ${FOREIGN_IP}:80 wrr`]: [`${b2}:8080 Masq w3`],
    [`TCP ${NODE_A}:9999 rr`]: [],
  });

  it('programs exactly the expected virtual servers, VIPs and ipsets', async () => {
    const want: IpvsView = {
      [`TCP ${IP.web}:80 rr`]: [rs(a1), rs(b1)],
      [`TCP ${IP.np}:80 rr`]: [rs(a1), rs(b1)],
      [`TCP ${NODE_A}:30080 rr`]: [rs(a1), rs(b1)],
      [`TCP ${IP.sticky}:80 rr p600`]: [rs(a1), rs(a2), rs(b1), rs(b2)],
      // Internal traffic policy is Cluster: the ClusterIP keeps the remote endpoint.
      [`TCP ${IP.local}:80 rr`]: [rs(a1), rs(b1)],
      [`TCP ${NODE_A}:30081 rr`]: [rs(a1)],
      [`TCP ${IP.empty}:80 rr`]: [],
      [`TCP ${IP.grace}:80 rr`]: [rs(a1), rs(b1)],
      [`UDP ${IP.dns}:53 rr`]: [rs(a1), rs(b1)],
      [`TCP [${WEB6}]:80 rr`]: [`[${c.pod('a1').ipv6}]:8080 Masq w1`, `[${c.pod('b1').ipv6}]:8080 Masq w1`],
      ...foreignView(),
    };
    await waitForIpvs(c.nodes.a.ns, want);
    expect(await linkAddresses(c.nodes.a.ns, 'kube-ipvs0')).toEqual(
      [IP.web, IP.np, IP.sticky, IP.local, IP.empty, IP.grace, IP.dns, WEB6].sort(),
    );
    expect(await linkAddresses(c.nodes.a.ns, 'foreign0')).toEqual([FOREIGN_IP]);
    const sets = await ipsets(c.nodes.a.ns);
    expect(sets.get('KUBE-CLUSTER-IP')).toEqual(
      [...[IP.web, IP.np, IP.sticky, IP.local, IP.empty, IP.grace].map((ip) => `${ip},tcp:80`), `${IP.dns},udp:53`].sort(),
    );
    expect((await ipsets(c.nodes.a.ns)).get('KUBE-6-CLUSTER-IP')).toEqual([`${WEB6},tcp:80`]);
    expect(sets.get('KUBE-NODE-PORT-TCP')).toEqual(['30080', '30081']);
    expect(sets.get('KUBE-NODE-PORT-LOCAL-TCP')).toEqual(['30081']);
    // All services with NodePorts are IPv4-only.
    expect(sets.get('KUBE-6-NODE-PORT-TCP')).toEqual([]);
    expect(sets.get('KUBE-LOOP-BACK')).toContain(`${a1},tcp:8080,${a1}`);
    // The sysctls IPVS mode needs were written inside the node's namespace.
    const sysctl = await nsExecOk(c.nodes.a.ns, ['sysctl', '-n', 'net.ipv4.vs.conntrack', 'net.ipv4.vs.expire_nodest_conn']);
    expect(sysctl.stdout.split('\n').filter(Boolean)).toEqual(['1', '1']);
  });

  it('balances a ClusterIP over endpoints on both nodes', async () => {
    const t = tally(await tcpHits(c.client.ns, IP.web, 80, 40, { timeoutMs: 5000 }));
    expect(Object.keys(t).sort()).toEqual(['a1', 'b1']);
    // rr alternates: 20 each.
    expect(t['a1']).toBe(20);
  });

  it('balances a UDP ClusterIP', async () => {
    const t = tally(await udpHits(c.client.ns, IP.dns, 53, 10, { timeoutMs: 5000 }));
    expect(t).toEqual({ a1: 5, b1: 5 });
  });

  it('balances an IPv6 ClusterIP (ip6tables, KUBE-6- sets)', async () => {
    const hits = await tcpHits(c.client.ns, WEB6, 80, 10, { timeoutMs: 5000 });
    expect(tally(hits)).toEqual({ a1: 5, b1: 5 });
  });

  it('serves the node itself: ClusterIP and NodePort on the node IP from the node namespace', async () => {
    expect(Object.keys(tally(await tcpHits(c.nodes.a.ns, IP.web, 80, 6, { timeoutMs: 5000 }))).sort()).toEqual(['a1', 'b1']);
    expect(Object.keys(tally(await tcpHits(c.nodes.a.ns, NODE_A, 30080, 6, { timeoutMs: 5000 }))).sort()).toEqual(['a1', 'b1']);
    // A pod on the node reaching the NodePort through the node's address.
    expect(Object.keys(tally(await tcpHits(c.client.ns, NODE_A, 30080, 6, { timeoutMs: 5000 }))).sort()).toEqual(['a1', 'b1']);
  });

  it('serves a NodePort to the external client, masqueraded', async () => {
    const hits = await tcpHits(c.external.ns, NODE_A, 30080, 20, { timeoutMs: 5000 });
    expect(Object.keys(tally(hits)).sort()).toEqual(['a1', 'b1']);
    for (const h of hits) expect(h.src?.split(':')[0]).not.toBe(EXTERNAL);
  });

  it('sessionAffinity ClientIP sticks to one endpoint', async () => {
    const t = tally(await tcpHits(c.client.ns, IP.sticky, 80, 20, { timeoutMs: 5000 }));
    expect(Object.keys(t)).toHaveLength(1);
    expect(Object.values(t)[0]).toBe(20);
  });

  it('externalTrafficPolicy Local uses the local endpoint and preserves the client address', async () => {
    const hits = await tcpHits(c.external.ns, NODE_A, 30081, 10, { timeoutMs: 5000 });
    expect(tally(hits)).toEqual({ a1: 10 });
    for (const h of hits) expect(h.src?.split(':')[0]).toBe(EXTERNAL);
  });

  it('hairpin: an endpoint reaching its own service through the ClusterIP gets answered', async () => {
    const t = tally(await tcpHits(c.pod('a1').ns, IP.web, 80, 10, { timeoutMs: 5000 }));
    expect(t).toEqual({ a1: 5, b1: 5 });
  });

  // Documented in modes/ipvs/iptables-rules.ts: the virtual server exists with no real servers,
  // and IPVS answers with ICMP port unreachable, so a connect is refused (as upstream IPVS mode).
  it('a service without endpoints refuses connections', async () => {
    const hits = await tcpHits(c.client.ns, IP.empty, 80, 3, { timeoutMs: 5000 });
    expect(hits.map((h) => h.error)).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
    const ext = await tcpHits(c.external.ns, IP.empty, 80, 1, { timeoutMs: 5000 });
    expect(ext.map((h) => h.error)).toEqual(['ECONNREFUSED']);
  });

  it('ipvsadm shows exactly the expected servers after create, update and delete', async () => {
    const ns = c.nodes.a.ns;
    const others = (k: string): boolean => !k.includes(IP.life) && !k.includes(':30082');
    const before = viewOf(await ipvsadm(ns));
    env.api.create(service({ name: 'life', type: 'NodePort', clusterIP: IP.life, nodePort: 30082, sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 30 }));
    env.api.create(slice('life', [{ ip: a2, nodeName: c.nodes.a.name }, { ip: b2, nodeName: c.nodes.b.name }]));
    await waitForIpvs(ns, {
      [`TCP ${IP.life}:80 rr p30`]: [rs(a2), rs(b2)],
      [`TCP ${NODE_A}:30082 rr p30`]: [rs(a2), rs(b2)],
    }, (k) => !others(k));
    expect(await linkAddresses(ns, 'kube-ipvs0')).toContain(IP.life);

    // Update: endpoints change (no connections, so no draining) and affinity goes away.
    env.api.update(service({ name: 'life', type: 'NodePort', clusterIP: IP.life, nodePort: 30082 }));
    env.api.update(slice('life', [{ ip: a1, nodeName: c.nodes.a.name }, { ip: b2, nodeName: c.nodes.b.name }]));
    await waitForIpvs(ns, {
      [`TCP ${IP.life}:80 rr`]: [rs(a1), rs(b2)],
      [`TCP ${NODE_A}:30082 rr`]: [rs(a1), rs(b2)],
    }, (k) => !others(k));

    env.api.delete(service({ name: 'life', clusterIP: IP.life }));
    env.api.delete(slice('life', []));
    await waitForIpvs(ns, {}, (k) => !others(k));
    // The VIP is unbound at the end of the same sync, after the virtual servers are gone.
    await eventually(async () => !(await linkAddresses(ns, 'kube-ipvs0'))?.includes(IP.life), 'life VIP unbound', 30_000);
    // Nothing else was touched.
    const after = viewOf(await ipvsadm(ns));
    expect(after).toEqual(before);
  });

  it('graceful termination: an open connection survives its endpoint removal, new ones go elsewhere', async () => {
    const ns = c.nodes.a.ns;
    const ll = openLongLived(c.client.ns, IP.grace, 80, { timeoutMs: 5000 });
    try {
      const hello = await ll.connected;
      expect(['a1', 'b1']).toContain(hello.name);
      expect(await ll.request('before', 5000)).toBe('before');
      const gone = hello.name === 'a1' ? a1 : b1;
      const stays = hello.name === 'a1' ? { name: 'b1', ip: b1 } : { name: 'a1', ip: a1 };

      env.api.update(slice('grace', [{ ip: stays.ip, nodeName: stays.name === 'a1' ? c.nodes.a.name : c.nodes.b.name }]));
      // Draining: weight 0, still present because the connection is open.
      await waitForIpvs(ns, { [`TCP ${IP.grace}:80 rr`]: [rs(stays.ip), rs(gone, 0)] }, (k) => k.includes(IP.grace));
      const drainingSince = Date.now();
      expect(await ll.request('during drain', 5000)).toBe('during drain');
      const t = tally(await tcpHits(c.client.ns, IP.grace, 80, 6, { timeoutMs: 5000 }));
      expect(t).toEqual({ [stays.name]: 6 });
      expect(await ll.request('still here', 5000)).toBe('still here');

      // After the graceful wait, the next sync (any change triggers one) deletes the real server.
      await sleep(Math.max(0, 6_500 - (Date.now() - drainingSince)));
      env.api.create(service({ name: 'nudge', clusterIP: IP.nudge }));
      await waitForIpvs(ns, { [`TCP ${IP.grace}:80 rr`]: [rs(stays.ip)] }, (k) => k.includes(IP.grace));
      const last = syncRecords(proxy!.daemon).at(-1);
      expect(last?.['draining']).toBe(0);
    } finally {
      await ll.close();
    }
  });

  it('a restarted daemon adopts the table and removes what was deleted while it was down', async () => {
    const ns = c.nodes.a.ns;
    const before = viewOf(await ipvsadm(ns));
    expect((await proxy!.stop(true))).toBe(0);
    const bridge = proxy!.bridge;
    proxy = undefined;
    // The table outlives the process (like upstream).
    expect(viewOf(await ipvsadm(ns))).toEqual(before);
    env.api.delete(service({ name: 'np', clusterIP: IP.np }));
    env.api.delete(slice('np', []));
    proxy = await startIpvsProxy(env, c.nodes.a, { bridge, extraArgs: ['-v=4', `--ipvs-graceful-termination-period=${GRACEFUL_WAIT}`] });
    const want = Object.fromEntries(
      Object.entries(before).filter(([k]) => !k.startsWith(`TCP ${IP.np}:80 `) && !k.startsWith(`TCP ${NODE_A}:30080 `)),
    );
    expect(Object.keys(want)).toHaveLength(Object.keys(before).length - 2);
    await waitForIpvs(ns, want);
    // The restart's full sync diffed the sets against the kernel (no flush): exactly the three
    // entries of np went (cluster IP, VIP, node port). Also proves `ipset save` and our entry
    // format agree, or every entry would churn.
    const first = syncRecords(proxy.daemon)[0]!;
    expect(first['full']).toBe(true);
    const changes = logRecords(proxy.daemon).filter((r) => r.msg === 'ipset changes');
    expect(first['ipsetLines'], JSON.stringify(changes)).toBe(3);
    await eventually(async () => !(await linkAddresses(ns, 'kube-ipvs0'))?.includes(IP.np), 'np VIP unbound', 30_000);
    expect((await ipsets(ns)).get('KUBE-6-NODE-PORT-TCP')).toEqual([]);
    expect((await ipsets(ns)).get('KUBE-NODE-PORT-TCP')).toEqual(['30081']);
  });

  it('foreign virtual servers and addresses survive syncs and --cleanup, which removes all of ours', async () => {
    const ns = c.nodes.a.ns;
    // Everything synced so far (initial full sync, partial syncs) left the foreign state alone.
    const foreign = foreignView();
    const fkeys = Object.keys(foreign);
    const current = viewOf(await ipvsadm(ns));
    for (const k of fkeys) expect(current[k]).toEqual(foreign[k]);

    const code = await proxy!.stop();
    proxy = undefined;
    expect(code).toBe(0);
    const r = await nsExec(ns, [process.execPath, DAEMON_ENTRY, '--cleanup', '--conntrack-max-per-core=0', '--logging-format=json', '-v=2'], { timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);

    expect(viewOf(await ipvsadm(ns))).toEqual(foreign);
    expect(await linkAddresses(ns, 'kube-ipvs0')).toBeUndefined();
    expect(await linkAddresses(ns, 'foreign0')).toEqual([FOREIGN_IP]);
    expect([...(await ipsets(ns)).keys()].filter((n) => n.startsWith('KUBE-'))).toEqual([]);
    for (const argv of [['iptables-nft-save'], ['ip6tables-nft-save']]) {
      const save = (await nsExecOk(ns, argv)).stdout;
      expect(save.split('\n').filter((l) => l.includes('KUBE-'))).toEqual([]);
    }
    // The foreign virtual server still works without us (a pod on node A reaching it).
    expect(tally(await tcpHits(c.client.ns, FOREIGN_IP, 80, 2, { timeoutMs: 5000 }))).toEqual({ b2: 2 });
  });
});
