// Switching between iptables and IPVS mode in place, and taking over upstream's IPVS state, against
// the in-memory kernel (fake iptables-restore, IPVS, ipset, kube-ipvs0). The bar for each switch:
// the kernel ends up exactly as a fresh start of the new mode on a clean node leaves it (same
// chains, same rules; jumps in built-in chains compared as sets, since a switch inserts them in a
// different order), and foreign state is byte-identical. The guest e2e test
// (test/ipvs-guest/ipvs-mode-switch.test.ts) proves the same with packets in a real kernel.

import { describe, expect, it } from 'vitest';
import { createIptablesDataplane } from '../../../modes/iptables/dataplane.js';
import { createNftablesDataplane } from '../../../modes/nftables/dataplane.js';
import { createUserspaceDataplane } from '../../../modes/userspace/dataplane.js';
import { handOffToKernelRules } from '../../../proxy/mode-switch.js';
import { FakeNftClient } from '../../fakes/nftables/fake-client.js';
import { buildCleanupForIpvsPayload, IPTABLES_MODE_CHAINS } from '../../../modes/iptables/cleanup-for-ipvs.js';
import { planLeftoverRemoval } from '../../../modes/iptables/handover.js';
import { IPVS_MODE_CHAINS } from '../../../modes/ipvs/iptables-rules.js';
import { createIpvsDataplane } from '../../../modes/ipvs/dataplane.js';
import { allSetNames } from '../../../modes/ipvs/ipsets.js';
import type { IpvsConnection } from '../../../modes/ipvs/connections.js';
import type { Dataplane } from '../../../modes/dataplane.js';
import type { SavedTables } from '../../../modes/iptables/save-parse.js';
import { silentLogger } from '../../../proxy/log.js';
import { ModelStore } from '../../../proxy/model/store.js';
import type { ChangeSet, IPFamily, ProxyState } from '../../../proxy/model/types.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import type { Draft } from '../../../proxy/config/defaults.js';
import { makeNode } from '../../apiserver/index.js';
import { FakeIptablesRunner } from '../../fakes/iptables/fake-runner.js';
import { FIXTURE_NODES, loadUpstreamIpvs } from '../../ipvs-guest/ipvs-mode-switch-fixture.js';
import { FakeIpset, FakeIpvs, FakeLink, NODE_IP, config, ep, inertConntrack, localEp, node, sp, state } from './fixtures.js';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';

const NO_CHANGES: ChangeSet = { changed: new Set(), removed: new Set(), nodeChanged: false, triggerTimes: [] };

// An operator's and a CNI's rules, and kubelet's KUBE-FIREWALL (which iptables mode writes too and,
// being kubelet's, never deletes), as on a real node.
const FOREIGN = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:FOREIGN-FW - [0:0]
:KUBE-FIREWALL - [0:0]
-A INPUT -s 203.0.113.0/24 -m comment --comment "an operator's rule" -j FOREIGN-FW
-A INPUT -j KUBE-FIREWALL
-A FORWARD -j FOREIGN-FW
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A FOREIGN-FW -p tcp --dport 22 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-NAT - [0:0]
-A POSTROUTING -m comment --comment "a CNI's masquerade" -j CNI-NAT
-A CNI-NAT -d 198.18.0.0/16 -j RETURN
-A CNI-NAT -j MASQUERADE
COMMIT
`;

/** A node with a ClusterIP, a NodePort and a Local LoadBalancer with source ranges. */
function cluster(): ProxyState {
  const web = sp('web', { clusterIPs: ['198.19.0.10'] });
  const np = sp('np', { type: 'NodePort', clusterIPs: ['198.19.0.11'], nodePort: 30080 });
  const lb = sp('lb', {
    type: 'LoadBalancer', clusterIPs: ['198.19.0.12'], nodePort: 30082, loadBalancerIPs: ['198.18.200.60'],
    loadBalancerSourceRanges: ['198.18.0.20/32'], externalTrafficPolicy: 'Local', healthCheckNodePort: 30475,
  });
  const empty = sp('empty', { clusterIPs: ['198.19.0.13'] });
  return state([[web, [ep('198.18.2.11'), localEp('198.18.1.11')]], [np, [ep('198.18.2.11')]], [lb, [localEp('198.18.1.12')]], [empty, []]], node({ podCIDRs: ['198.18.1.0/24'] }));
}

interface Node {
  runner: FakeIptablesRunner;
  ipvs: FakeIpvs;
  ipset: FakeIpset;
  link: FakeLink;
  now: number;
  /** IPVS's connection table (/proc/net/ip_vs_conn); `ends` (fake ms) drops an entry from then on. */
  conns: Array<IpvsConnection & { ends?: number }>;
  nft: FakeNftClient;
}

/** A node with foreign rules, added (--noflush) to `left` (iptables-save text another proxy left). */
async function newNode(left = ''): Promise<Node> {
  const n: Node = { runner: new FakeIptablesRunner(), ipvs: new FakeIpvs(), ipset: new FakeIpset(), link: new FakeLink(), now: 0, conns: [], nft: new FakeNftClient() };
  if (left) n.runner.load('IPv4', left);
  await n.runner.restore('IPv4', FOREIGN);
  return n;
}

const edit = (d: Draft): void => {
  d.detectLocalMode = 'NodeCIDR';
};

type Mode = 'iptables' | 'ipvs' | 'userspace' | 'nftables';
const MODES: readonly Mode[] = ['iptables', 'ipvs', 'userspace', 'nftables'];

/** A fresh process of `mode` on `n` (each process remembers nothing of the previous one). */
async function start(mode: Mode, n: Node, families: IPFamily[] = ['IPv4'], nodeIPs = [NODE_IP], gracefulWaitMs = 5000): Promise<Dataplane> {
  const metrics = new ProxyMetrics({ processMetrics: false });
  const cfg = config(edit);
  if (mode === 'iptables') {
    return createIptablesDataplane({ config: cfg, runner: n.runner, conntrack: inertConntrack, metrics, logger: silentLogger, families, localAddresses: () => [...nodeIPs, '127.0.0.1'] });
  }
  if (mode === 'nftables') {
    return createNftablesDataplane({ config: cfg, client: n.nft, conntrack: inertConntrack, metrics, logger: silentLogger, families, nodeIPs: () => nodeIPs, localAddresses: () => [...nodeIPs, '127.0.0.1'] });
  }
  if (mode === 'userspace') {
    // Listeners without sockets: only the portal rules matter here.
    let port = 40000;
    return createUserspaceDataplane({
      config: cfg, runner: n.runner, metrics, logger: silentLogger, families, listenHost: '0.0.0.0',
      listenTcp: async (o) => ({ host: o.host, port: port++, activeConnections: 0, stopAccepting: async () => undefined, close: async () => undefined }),
    });
  }
  return createIpvsDataplane({
    config: cfg, logger: silentLogger, metrics, families, nodeIPs: () => ['127.0.0.1', ...nodeIPs],
    ipvs: n.ipvs, runner: n.runner, ipset: n.ipset, link: n.link, conntrack: inertConntrack,
    sysctl: async () => undefined, clock: () => n.now, gracefulWaitMs,
    sleep: async (ms) => void (n.now += ms),
    connections: async () => n.conns.filter((c) => c.ends === undefined || n.now < c.ends),
  });
}

/** What the daemon does on start: its first sync, then the other mode's leftovers (mode-switch.ts). */
async function switchTo(mode: 'iptables' | 'ipvs', n: Node, st: ProxyState): Promise<void> {
  const dp = await start(mode, n);
  await dp.sync({ state: st, changes: NO_CHANGES, full: true });
  const other = await start(mode === 'ipvs' ? 'iptables' : 'ipvs', n);
  await other.cleanup({ active: mode });
}

/** iptables mode's dispatch chains: their order carries no meaning but nat KUBE-SERVICES' last rule. */
const DISPATCH = new Set(['nat/KUBE-SERVICES', 'nat/KUBE-NODEPORTS', 'filter/KUBE-SERVICES', 'filter/KUBE-EXTERNAL-SERVICES', 'filter/KUBE-NODEPORTS', 'filter/KUBE-PROXY-FIREWALL']);

/**
 * Chains with their rules, in order, except where the order depends on history: built-in chains
 * (a switch inserts jumps in another order) and iptables mode's dispatch chains (sorted, with nat
 * KUBE-SERVICES' tail rule kept last).
 */
function canonical(t: SavedTables): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [table, chains] of t) {
    for (const raw of chains.values()) {
      if (raw.policy !== '-' && raw.rules.length === 0) continue;
      // The kernel prints --or-mark M as --set-xmark M/M (upstream's rules come from a real save).
      const c = { ...raw, rules: raw.rules.map((r) => r.replace(/--or-mark (0x[0-9a-f]+)/, '--set-xmark $1/$1')) };
      const id = `${table}/${c.name}`;
      if (c.policy !== '-') out[id] = [...c.rules].sort();
      else if (id === 'nat/KUBE-SERVICES' && c.rules.at(-1)?.includes('KUBE-NODEPORTS')) out[id] = [...c.rules.slice(0, -1).sort(), c.rules.at(-1)!];
      else out[id] = DISPATCH.has(id) ? [...c.rules].sort() : [...c.rules];
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

async function fresh(mode: Mode, st: ProxyState): Promise<Node> {
  const n = await newNode();
  await (await start(mode, n)).sync({ state: st, changes: NO_CHANGES, full: true });
  return n;
}

const foreignLines = (n: Node): string[] =>
  (n.runner.tables('IPv4') && [...n.runner.tables('IPv4')].flatMap(([table, chains]) =>
    [...chains.values()].flatMap((c) => c.rules.filter((r) => !/KUBE-/.test(r) && !c.name.startsWith('KUBE-')).map((r) => `${table} ${c.name} ${r}`))));

describe('mode switch in place: iptables <-> ipvs', () => {
  it('iptables -> ipvs leaves exactly what a fresh IPVS start leaves, foreign rules untouched', async () => {
    const st = cluster();
    const n = await fresh('iptables', st);
    const foreignBefore = foreignLines(n);
    expect(Object.keys(canonical(n.runner.tables('IPv4'))).some((c) => c.includes('KUBE-SVC-'))).toBe(true);
    await switchTo('ipvs', n, st);
    expect(canonical(n.runner.tables('IPv4'))).toEqual(canonical((await fresh('ipvs', st)).runner.tables('IPv4')));
    expect(foreignLines(n)).toEqual(foreignBefore);
    // Nothing left to do: a second pass plans nothing.
    expect(buildCleanupForIpvsPayload(n.runner.tables('IPv4'))).toBe('');
  });

  it('ipvs -> iptables leaves exactly what a fresh iptables start leaves: no VS, kube-ipvs0 or set of ours', async () => {
    const st = cluster();
    const n = await fresh('ipvs', st);
    n.ipvs.seed({ family: 'IPv4', protocol: 'TCP', address: '192.0.2.80', port: 80, scheduler: 'wrr', flags: 0, timeoutSeconds: 0, netmask: 0xffffffff });
    n.ipset.sets.set('FOREIGN-SET', { type: 'hash:ip', entries: new Set(['192.0.2.1']) });
    const foreignBefore = foreignLines(n);
    expect(n.ipvs.table.size).toBeGreaterThan(1);
    await switchTo('iptables', n, st);
    expect(canonical(n.runner.tables('IPv4'))).toEqual(canonical((await fresh('iptables', st)).runner.tables('IPv4')));
    expect(foreignLines(n)).toEqual(foreignBefore);
    expect([...n.ipvs.table.keys()]).toEqual(['TCP 192.0.2.80:80']);
    expect(n.link.exists).toBe(false);
    expect([...n.ipset.sets.keys()]).toEqual(['FOREIGN-SET']);
    expect(planLeftoverRemoval(n.runner.tables('IPv4'), IPVS_MODE_CHAINS, IPTABLES_MODE_CHAINS)).toBe('');
  });

  it('iptables -> ipvs -> iptables comes back to a fresh iptables start', async () => {
    const st = cluster();
    const n = await fresh('iptables', st);
    await switchTo('ipvs', n, st);
    await switchTo('iptables', n, st);
    expect(canonical(n.runner.tables('IPv4'))).toEqual(canonical((await fresh('iptables', st)).runner.tables('IPv4')));
  });

  it('a shared chain is never unhooked: a jump the active mode reused is swapped for its own in one restore', async () => {
    const st = cluster();
    const n = await fresh('iptables', st);
    await (await start('ipvs', n)).sync({ state: st, changes: NO_CHANGES, full: true });
    const payload = buildCleanupForIpvsPayload(n.runner.tables('IPv4'));
    // iptables mode's INPUT jump to KUBE-PROXY-FIREWALL (IPVS found it by target) goes, and
    // IPVS's own goes in, in the same transaction.
    const filter = payload.slice(payload.indexOf('*filter'), payload.indexOf('COMMIT', payload.indexOf('*filter')));
    expect(filter).toContain('-D INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL');
    expect(filter).toContain('-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL');
    // The chains both modes use are not flushed (IPVS mode's rules are in them now).
    const nat = payload.slice(payload.indexOf('*nat'), payload.indexOf('COMMIT', payload.indexOf('*nat')));
    for (const shared of ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']) expect(nat).not.toMatch(new RegExp(`^:${shared} `, 'm'));
    for (const shared of ['KUBE-FORWARD', 'KUBE-PROXY-FIREWALL']) expect(filter).not.toMatch(new RegExp(`^:${shared} `, 'm'));
    // iptables mode's own filter KUBE-SERVICES (no-endpoint REJECTs) is not IPVS mode's: it goes.
    expect(filter).toMatch(/^-X KUBE-SERVICES$/m);
  });

  it('IPVS has every virtual server before its rules take KUBE-SERVICES over from iptables mode', async () => {
    const st = cluster();
    const n = await fresh('iptables', st);
    const ref = await fresh('ipvs', st);
    const seen: number[] = [];
    const restore = n.runner.restore.bind(n.runner);
    n.runner.restore = async (family, payload) => {
      // The moment new connections stop being DNATed by iptables mode's rules.
      if (/^:KUBE-SERVICES /m.test(payload.slice(payload.indexOf('*nat')))) seen.push(n.ipvs.table.size);
      return restore(family, payload);
    };
    await (await start('ipvs', n)).sync({ state: st, changes: NO_CHANGES, full: true });
    expect(seen).toEqual([ref.ipvs.table.size]);
  });

  /**
   * What a daemon of `mode` does on start (proxy/mode-switch.ts): its first sync, then every other
   * mode's cleanup with `mode` active, each from a fresh process.
   */
  async function startAs(mode: Mode, n: Node, st: ProxyState): Promise<void> {
    await (await start(mode, n)).sync({ state: st, changes: NO_CHANGES, full: true });
    for (const other of MODES.filter((m) => m !== mode)) await (await start(other, n)).cleanup({ active: mode });
  }
  /** Every object a mode leaves anywhere: iptables (both tables), nftables, IPVS, kube-ipvs0, ipsets. */
  const kernel = (n: Node): unknown => ({
    iptables: canonical(n.runner.tables('IPv4')),
    nft: Object.fromEntries(n.nft.tableNames().map((t) => [t, true])),
    ipvs: [...n.ipvs.table.keys()].sort(),
    link: n.link.exists ? [...n.link.addrs].sort() : false,
    sets: [...n.ipset.sets.keys()].sort(),
  });

  // The pairs with IPVS beyond iptables: each switch ends exactly as a fresh start of the new
  // mode, foreign state kept. From userspace, as in the daemon: the stopping userspace process
  // first hands its services over to iptables mode's rules (handOffToKernelRules).
  for (const [from, to] of [['ipvs', 'userspace'], ['userspace', 'ipvs'], ['ipvs', 'nftables'], ['nftables', 'ipvs']] as const) {
    it(`${from} -> ${to} leaves exactly what a fresh ${to} start leaves, foreign state untouched`, async () => {
      const st = cluster();
      const n = await fresh(from, st);
      n.ipvs.seed({ family: 'IPv4', protocol: 'TCP', address: '192.0.2.80', port: 80, scheduler: 'wrr', flags: 0, timeoutSeconds: 0, netmask: 0xffffffff });
      const foreignBefore = foreignLines(n);
      if (from === 'userspace') {
        const deps = { config: config(edit), logger: silentLogger, metrics: new ProxyMetrics({ processMetrics: false }), families: ['IPv4' as const], nodeIPs: () => [NODE_IP] };
        await handOffToKernelRules(st, await start('userspace', n), deps, () => start('iptables', n));
      }
      await startAs(to, n, st);
      const ref = await fresh(to, st);
      ref.ipvs.seed({ family: 'IPv4', protocol: 'TCP', address: '192.0.2.80', port: 80, scheduler: 'wrr', flags: 0, timeoutSeconds: 0, netmask: 0xffffffff });
      expect(kernel(n)).toEqual(kernel(ref));
      if (to === 'nftables') for (const t of n.nft.tableNames()) expect(await n.nft.dumpTable(...(t.split(' ') as [never, string]))).toEqual(await ref.nft.dumpTable(...(t.split(' ') as [never, string])));
      expect(foreignLines(n)).toEqual(foreignBefore);
    });
  }

  const web = { family: 'IPv4' as const, protocol: 'TCP' as const, address: '198.19.0.10', port: 80 };
  const webRs = { address: '198.18.2.11', port: 8080 };
  /** A connection through web's virtual server, as /proc/net/ip_vs_conn lists it. */
  const conn = (state: string, ends?: number): IpvsConnection & { ends?: number } => ({
    protocol: 'TCP', virtual: '198.19.0.10:80', client: '198.18.1.100:40000', state, ...(ends !== undefined ? { ends } : {}),
  });

  it('IPVS waits for its established connections before removing its virtual servers, at most the graceful period', async () => {
    const st = cluster();
    const n = await fresh('ipvs', st);
    n.ipvs.setConns(web, webRs, 1);
    n.conns = [conn('ESTABLISHED')];
    await (await start('iptables', n)).sync({ state: st, changes: NO_CHANGES, full: true });
    const t0 = n.now;
    await (await start('ipvs', n, ['IPv4'], [NODE_IP], 3000)).cleanup({ active: 'iptables' });
    expect(n.now - t0).toBeGreaterThanOrEqual(3000);
    expect(n.ipvs.table.size).toBe(0);

    // Connections that finish end the wait early.
    const m = await fresh('ipvs', st);
    m.ipvs.setConns(web, webRs, 2);
    m.conns = [conn('ESTABLISHED', 1000), conn('ESTABLISHED', 1000)];
    await (await start('ipvs', m, ['IPv4'], [NODE_IP], 60_000)).cleanup({ active: 'iptables' });
    expect(m.now).toBeGreaterThanOrEqual(1000);
    expect(m.now).toBeLessThan(2000);
    expect(m.ipvs.table.size).toBe(0);

    // --cleanup does not wait.
    const k = await fresh('ipvs', st);
    k.ipvs.setConns(web, webRs, 1);
    k.conns = [conn('ESTABLISHED')];
    await (await start('ipvs', k)).cleanup();
    expect(k.now).toBe(0);
  });

  // The kernel counts all of these as inactive (ActiveConn is ESTABLISHED only). A connection
  // whose SYN IPVS scheduled just before iptables mode's rules took over is in SYN_RECV until the
  // client's ACK: deleting its virtual server then drops the ACK, and the client times out.
  for (const [state, waits] of [['SYN_RECV', true], ['CLOSE_WAIT', true], ['LAST_ACK', true], ['TIME_WAIT', false], ['CLOSE', false]] as const) {
    it(`IPVS ${waits ? 'waits for' : 'does not wait for'} a connection in ${state} before removing its virtual servers`, async () => {
      const st = cluster();
      const n = await fresh('ipvs', st);
      n.ipvs.setConns(web, webRs, 0, 1);
      n.conns = [conn(state, 700), { ...conn('SYN_RECV'), virtual: '192.0.2.80:80' }];
      await (await start('iptables', n)).sync({ state: st, changes: NO_CHANGES, full: true });
      const t0 = n.now;
      await (await start('ipvs', n, ['IPv4'], [NODE_IP], 3000)).cleanup({ active: 'iptables' });
      // Until the connection is over (700 ms), not the whole period: the foreign VS's does not count.
      expect(n.now - t0).toBe(waits ? 1000 : 0);
      expect(n.ipvs.table.size).toBe(0);
    });
  }
});

describe("taking over upstream v1.26's IPVS state (shared/fixtures/upstream-1.26/ipvs)", () => {
  const NODE_A = '198.18.0.1';

  async function upstreamNode(): Promise<{ n: Node; st: ProxyState }> {
    const up = loadUpstreamIpvs();
    const n = await newNode(up.iptablesSave);
    for (const line of up.ipsetSave.split('\n').filter(Boolean)) {
      const [cmd, name = '', ...rest] = line.split(' ');
      if (cmd === 'create') n.ipset.sets.set(name, { type: rest[0] ?? '', entries: new Set() });
      else n.ipset.sets.get(name)!.entries.add(rest[0] ?? '');
    }
    for (const v of up.virtualServers) {
      n.ipvs.seed(
        { family: 'IPv4', protocol: v.protocol, address: v.address, port: v.port, scheduler: v.scheduler, flags: v.persistent ? 1 : 0, timeoutSeconds: v.persistent, netmask: 0xffffffff },
        v.realServers.map((r) => ({ address: r.address, port: r.port, weight: r.weight, fwdMethod: 'Masq' as const })),
      );
    }
    n.link.exists = true;
    up.linkAddresses.forEach((a) => n.link.addrs.add(a));
    const store = new ModelStore({ nodeName: FIXTURE_NODES.a });
    store.upsertNode(makeNode({ name: FIXTURE_NODES.a, internalIPs: [NODE_A], podCIDRs: ['198.18.1.0/24'] }));
    for (const o of up.objects) {
      if (o['kind'] === 'Service') store.upsertService(o as unknown as V1Service);
      else store.upsertEndpointSlice(o as unknown as V1EndpointSlice);
    }
    return { n, st: store.snapshot().state };
  }

  it('adopts the virtual servers in place, replaces the rules and removes what it would not create', async () => {
    const { n, st } = await upstreamNode();
    const before = new Map(n.ipvs.table);
    const dp = await start('ipvs', n, ['IPv4', 'IPv6'], [NODE_A]);
    await dp.sync({ state: st, changes: NO_CHANGES, full: true });

    const ref = await newNode();
    await (await start('ipvs', ref, ['IPv4', 'IPv6'], [NODE_A])).sync({ state: st, changes: NO_CHANGES, full: true });
    expect(canonical(n.runner.tables('IPv4'))).toEqual(canonical(ref.runner.tables('IPv4')));
    expect([...n.ipvs.table.keys()].sort()).toEqual([...ref.ipvs.table.keys()].sort());
    expect([...n.link.addrs].sort()).toEqual([...ref.link.addrs].sort());
    expect([...n.ipset.sets.keys()].sort()).toEqual([...ref.ipset.sets.keys()].sort());
    expect([...n.ipset.sets.keys()].sort()).toEqual(allSetNames().sort());
    for (const [name, s] of ref.ipset.sets) expect([...n.ipset.sets.get(name)!.entries].sort()).toEqual([...s.entries].sort());
    // The default kubernetes Service is not served here: its VS and VIP went.
    expect(n.ipvs.table.has('TCP 198.19.0.1:443')).toBe(false);
    // Every VS upstream had for a live service is the same kernel object: adopted, not re-created.
    for (const [key, v] of before) if (key !== 'TCP 198.19.0.1:443') expect(n.ipvs.table.get(key)).toBe(v);
  });

  it('a takeover under iptables mode removes upstream IPVS state including its jump spellings', async () => {
    const { n, st } = await upstreamNode();
    await (await start('iptables', n, ['IPv4'], [NODE_A])).sync({ state: st, changes: NO_CHANGES, full: true });
    await (await start('ipvs', n, ['IPv4', 'IPv6'], [NODE_A])).cleanup({ active: 'iptables' });
    const ref = await newNode();
    await (await start('iptables', ref, ['IPv4'], [NODE_A])).sync({ state: st, changes: NO_CHANGES, full: true });
    expect(canonical(n.runner.tables('IPv4'))).toEqual(canonical(ref.runner.tables('IPv4')));
    expect(n.ipvs.table.size).toBe(0);
    expect(n.ipset.sets.size).toBe(0);
    expect(n.link.exists).toBe(false);
  });
});

