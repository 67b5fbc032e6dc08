// nftables mode end to end, the daemon's life cycle (the mode-specific half of
// iptables-lifecycle.test.ts): foreign nftables tables and iptables rules survive syncs and
// --cleanup byte for byte, a deleted table is rebuilt by the next full sync, a restart keeps
// established connections and the rules in place, and --cleanup deletes exactly our two tables.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DAEMON_ENTRY, createCluster, nsExec, nsExecOk, openLongLived, requireRoot, rootSnapshot, tcpHits, type Cluster, type LongLived } from './harness/index.js';
import { eventually, logRecords, service, sleep, slice, startApi, startProxy, syncCount, type Proxy, type TestEnv } from './iptables-helpers.js';
import { modeOps, nftList, nftTargets } from './mode-helpers.js';

const m = modeOps('nftables');
const PODS = ['a1', 'a2', 'b1', 'b2'] as const;

/** Planted before any daemon runs, as another program (firewalld, a CNI) would have. */
const FOREIGN: ReadonlyArray<readonly string[]> = [
  ['nft', 'add', 'table', 'inet', 'foreign'],
  ['nft', 'add', 'chain', 'inet', 'foreign', 'input', '{ type filter hook input priority 0; policy accept; }'],
  ['nft', 'add', 'rule', 'inet', 'foreign', 'input', 'ip saddr 198.18.77.0/24 counter accept'],
  ['nft', 'add', 'table', 'ip', 'kube-proxy-other'],
  ['iptables-nft', '-t', 'filter', '-A', 'INPUT', '-s', '198.18.78.0/24', '-j', 'ACCEPT'],
];

async function foreignView(ns: string): Promise<string> {
  const tables = await nsExec(ns, ['nft', 'list', 'tables']);
  const foreign = await nsExec(ns, ['nft', 'list', 'table', 'inet', 'foreign']);
  const ipt = await nsExec(ns, ['iptables-nft-save', '-t', 'filter']);
  const lines = ipt.stdout.split('\n').filter((l) => l.includes('198.18.78.'));
  return [tables.stdout.split('\n').filter((l) => !/table ip6? kube-proxy$/.test(l)).join('\n'), foreign.stdout.replace(/packets \d+ bytes \d+/g, ''), ...lines].join('\n');
}

describe.skipIf(!requireRoot())('nftables mode: foreign tables, table rebuild, restart and cleanup', () => {
  let c: Cluster;
  let env: TestEnv;
  let proxyA: Proxy | undefined;
  let conn: LongLived | undefined;
  let foreignBefore: string;
  let rootBefore: Awaited<ReturnType<typeof rootSnapshot>>;
  const exitCodes: number[] = [];
  const keepTargets = (): string[] => PODS.map((n) => `${c.pod(n).ipv4}:8080`).sort();
  const start = (bridge?: Proxy['bridge']) => startProxy(env, c.nodes.a, { ...(bridge ? { bridge } : {}), extraArgs: ['--iptables-sync-period=1s'] }, m.flavour);

  beforeAll(async () => {
    rootBefore = await rootSnapshot();
    c = await createCluster();
    env = await startApi(c);
    env.api.create(service({ name: 'keep', clusterIP: '198.19.4.10' }));
    env.api.create(slice('keep', PODS.map((n) => ({ ip: c.pod(n).ipv4, nodeName: c.pod(n).nodeName }))));
    for (const argv of FOREIGN) await nsExecOk(c.nodes.a.ns, argv);
    foreignBefore = await foreignView(c.nodes.a.ns);
  });

  afterAll(async () => {
    await conn?.close();
    if (proxyA) exitCodes.push(await proxyA.stop());
    await env?.close();
    await c?.destroy();
    expect(await rootSnapshot()).toEqual(rootBefore);
    expect(exitCodes.every((code) => code === 0), `daemon exit codes ${exitCodes.join(',')}`).toBe(true);
  });

  it('leaves foreign tables and rules alone across syncs, and rebuilds our table when someone deletes it', async () => {
    proxyA = await start();
    await m.waitForTargets(c.nodes.a.ns, 'default/keep:http', keepTargets());
    for (let i = 0; i < 3; i++) {
      env.api.update(slice('keep', PODS.slice(0, 3 - (i % 2)).map((n) => ({ ip: c.pod(n).ipv4, nodeName: c.pod(n).nodeName }))));
      await sleep(300);
    }
    env.api.update(slice('keep', PODS.map((n) => ({ ip: c.pod(n).ipv4, nodeName: c.pod(n).nodeName }))));
    await m.waitForTargets(c.nodes.a.ns, 'default/keep:http', keepTargets());
    const d = proxyA.daemon;
    await eventually(async () => logRecords(d).filter((r) => r.msg === 'synced proxy rules' && r['reason'] === 'periodic').length >= 2, 'two periodic full syncs');
    expect(await foreignView(c.nodes.a.ns)).toEqual(foreignBefore);

    await nsExecOk(c.nodes.a.ns, ['nft', 'delete', 'table', 'ip', 'kube-proxy']);
    await m.waitForTargets(c.nodes.a.ns, 'default/keep:http', keepTargets());
    expect(Object.keys(Object.fromEntries((await tcpHits(c.client.ns, '198.19.4.10', 80, 8)).map((h) => [h.name, 1]))).every((n) => (PODS as readonly string[]).includes(n))).toBe(true);
    expect(await foreignView(c.nodes.a.ns)).toEqual(foreignBefore);
  });

  it('a restart keeps established connections and never removes the programmed rules', async () => {
    const a = proxyA!;
    conn = openLongLived(c.client.ns, '198.19.4.10', 80);
    const first = await conn.connected;
    expect(PODS).toContain(first.name);
    expect(await conn.request('before-restart')).toBe('before-restart');
    const samples: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const text = await nftList(c.nodes.a.ns).catch((e: Error) => `error ${e.message}`);
        samples.push(text.includes('198.19.4.10 . tcp . 80') ? nftTargets(text, 'default/keep:http').join(',') : 'no service-ips element');
        await sleep(50);
      }
    })();
    exitCodes.push(await a.stop(true));
    proxyA = undefined;
    expect(await conn.request('while-stopped')).toBe('while-stopped');
    const before = samples.length;
    const syncsBefore = 0;
    proxyA = await start(a.bridge);
    await eventually(async () => syncCount(proxyA!.daemon) > syncsBefore && samples.length > before + 3, 'a sync by the new daemon and samples after it');
    polling = false;
    await poller;
    expect(await conn.request('after-restart')).toBe('after-restart');
    expect(conn.isClosed()).toBe(false);
    expect(samples.filter((s) => s !== keepTargets().join(',')), `samples: ${samples.slice(0, 5).join(' | ')}`).toEqual([]);
  });

  it('--cleanup deletes exactly our tables, keeps foreign ones, and exits 0 (twice)', async () => {
    await conn?.close();
    conn = undefined;
    if (proxyA) exitCodes.push(await proxyA.stop());
    proxyA = undefined;
    const r = await nsExec(c.nodes.a.ns, [process.execPath, DEFAULT_DAEMON_ENTRY, '--cleanup', '--logging-format=json', '-v=2']);
    expect(r.code, `cleanup output:\n${r.stdout}\n${r.stderr}`).toBe(0);
    const tables = (await nsExec(c.nodes.a.ns, ['nft', 'list', 'tables'])).stdout;
    expect(tables).not.toMatch(/table ip6? kube-proxy\n/);
    expect(await foreignView(c.nodes.a.ns)).toEqual(foreignBefore);
    expect(await tcpHits(c.client.ns, '198.19.4.10', 80, 1, { timeoutMs: 1000 })).toEqual([{ error: 'ETIMEDOUT' }]);
    const again = await nsExec(c.nodes.a.ns, [process.execPath, DEFAULT_DAEMON_ENTRY, '--cleanup', '--logging-format=json']);
    expect(again.code, again.stderr).toBe(0);
    expect(await foreignView(c.nodes.a.ns)).toEqual(foreignBefore);
  });
});
