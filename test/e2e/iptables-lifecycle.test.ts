// iptables mode end to end, the daemon's life cycle: foreign chains and rules survive syncs and
// --cleanup byte for byte, --cleanup removes every chain we own, a restart neither flushes the
// rules nor breaks established connections, and /healthz reports 503 while iptables-restore
// keeps failing (and 200 once it works again).

import { chmodSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_DAEMON_ENTRY,
  createCluster,
  nsExec,
  nsExecOk,
  openLongLived,
  requireRoot,
  rootSnapshot,
  tcpHits,
  type Cluster,
  type LongLived,
} from './harness/index.js';
import {
  dnatTargets,
  eventually,
  healthz,
  iptablesSave,
  logRecords,
  metricSum,
  metricsText,
  service,
  sleep,
  slice,
  startApi,
  startProxy,
  syncCount,
  waitForTargets,
  type Proxy,
  type TestEnv,
} from './iptables-helpers.js';

/** Planted before any daemon runs, as another program on the node would have. */
const FOREIGN: ReadonlyArray<readonly string[]> = [
  ['iptables-nft', '-t', 'nat', '-N', 'FOREIGN-TEST'],
  ['iptables-nft', '-t', 'nat', '-A', 'FOREIGN-TEST', '-s', '198.18.77.0/24', '-j', 'RETURN'],
  ['iptables-nft', '-t', 'nat', '-A', 'PREROUTING', '-s', '198.18.79.0/24', '-j', 'FOREIGN-TEST'],
  ['iptables-nft', '-t', 'nat', '-A', 'POSTROUTING', '-s', '198.18.79.0/24', '-m', 'comment', '--comment', 'foreign postrouting', '-j', 'RETURN'],
  // A kubelet-owned chain with a KUBE- name: not ours, so never touched.
  ['iptables-nft', '-t', 'nat', '-N', 'KUBE-MARK-DROP'],
  ['iptables-nft', '-t', 'nat', '-A', 'KUBE-MARK-DROP', '-j', 'MARK', '--or-mark', '0x8000'],
  ['iptables-nft', '-t', 'filter', '-N', 'FOREIGN-TEST'],
  ['iptables-nft', '-t', 'filter', '-A', 'FOREIGN-TEST', '-s', '198.18.77.0/24', '-j', 'RETURN'],
  ['iptables-nft', '-t', 'filter', '-A', 'INPUT', '-s', '198.18.78.0/24', '-j', 'ACCEPT'],
  ['iptables-nft', '-t', 'filter', '-A', 'FORWARD', '-s', '198.18.79.0/24', '-j', 'FOREIGN-TEST'],
  ['iptables-nft', '-t', 'filter', '-A', 'OUTPUT', '-d', '198.18.79.0/24', '-p', 'tcp', '--dport', '9', '-j', 'REJECT'],
  ['ip6tables-nft', '-t', 'filter', '-A', 'INPUT', '-s', '2001:db8:78::/64', '-j', 'ACCEPT'],
];
const PODS = ['a1', 'a2', 'b1', 'b2'] as const;
const FOREIGN_MARK = /FOREIGN-TEST|KUBE-MARK-DROP|198\.18\.7[789]\.|2001:db8:78:/;

/** Every foreign line of every table, counters stripped, in iptables-save order. */
async function foreignView(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    let table = '';
    for (const line of (await iptablesSave(ns, family)).split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      else if (FOREIGN_MARK.test(line)) out.push(`${family} ${table} ${line.replace(/\[\d+:\d+\]/g, '[]')}`);
    }
  }
  return out;
}

/** "table:chain" for every chain whose name starts with KUBE-, both families. */
async function kubeChains(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    let table = '';
    for (const line of (await iptablesSave(ns, family)).split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      const m = /^:(KUBE-\S+)/.exec(line);
      if (m) out.push(`${family}:${table}:${m[1]}`);
    }
  }
  return out.sort();
}

describe.skipIf(!requireRoot())('iptables mode: foreign rules, cleanup, restart and health', () => {
  let c: Cluster;
  let env: TestEnv;
  let proxyA: Proxy | undefined;
  let proxyB: Proxy | undefined;
  let foreignBefore: string[];
  let conn: LongLived | undefined;
  let wrapDir: string | undefined;
  let rootBefore: Awaited<ReturnType<typeof rootSnapshot>>;
  const exitCodes: number[] = [];
  const target = (name: string): string => `${c.pod(name).ipv4}:8080`;
  const keepTargets = (): string[] => PODS.map(target).sort();

  beforeAll(async () => {
    rootBefore = await rootSnapshot();
    c = await createCluster();
    env = await startApi(c);
    env.api.create(service({ name: 'keep', clusterIP: '198.19.4.10' }));
    // Four endpoints, so a connection whose conntrack entry was lost would be re-balanced
    // mid-stream (and reset) with a 3/4 chance instead of surviving by luck.
    env.api.create(slice('keep', PODS.map((n) => ({ ip: c.pod(n).ipv4, nodeName: c.pod(n).nodeName }))));
    for (const argv of FOREIGN) await nsExecOk(c.nodes.a.ns, argv);
    foreignBefore = await foreignView(c.nodes.a.ns);
  });

  afterAll(async () => {
    await conn?.close();
    if (proxyA) exitCodes.push(await proxyA.stop());
    if (proxyB) exitCodes.push(await proxyB.stop());
    await env?.close();
    await c?.destroy();
    if (wrapDir) rmSync(wrapDir, { recursive: true, force: true });
    // Daemons, --cleanup and the planted rules all stayed inside the namespaces.
    expect(await rootSnapshot()).toEqual(rootBefore);
    expect(exitCodes.every((code) => code === 0), `daemon exit codes ${exitCodes.join(',')}`).toBe(true);
  });

  it('leaves foreign chains and rules byte-identical across many full and partial syncs', async () => {
    // One line per command: each -N shows up as its ":CHAIN - [0:0]" declaration.
    expect(foreignBefore.length).toBe(FOREIGN.length);
    proxyA = await startProxy(env, c.nodes.a, { extraArgs: ['--iptables-sync-period=1s'] });
    await waitForTargets(c.nodes.a.ns, 'default/keep:http', keepTargets());
    // Churn: partial syncs for each change, periodic full syncs every second.
    for (let i = 0; i < 4; i++) {
      env.api.create(service({ name: `churn-${i}`, clusterIP: `198.19.4.${100 + i}` }));
      env.api.create(slice(`churn-${i}`, [{ ip: c.pod('a1').ipv4, nodeName: 'node-a' }]));
      await waitForTargets(c.nodes.a.ns, `default/churn-${i}:http`, [target('a1')]);
      expect(await foreignView(c.nodes.a.ns)).toEqual(foreignBefore);
    }
    for (let i = 0; i < 4; i++) env.api.delete(env.api.get('services', 'default', `churn-${i}`) as never);
    await waitForTargets(c.nodes.a.ns, 'default/churn-3:http', []);
    const d = proxyA.daemon;
    await eventually(
      async () => logRecords(d).filter((r) => r.msg === 'synced proxy rules' && r['reason'] === 'periodic').length >= 2,
      'two periodic full syncs',
    );
    expect(syncCount(d)).toBeGreaterThanOrEqual(8);
    expect(await foreignView(c.nodes.a.ns)).toEqual(foreignBefore);
  });

  it('a restart keeps established connections and never removes the programmed rules', async () => {
    const a = proxyA;
    if (!a) throw new Error('needs the daemon of the previous test');
    conn = openLongLived(c.client.ns, '198.19.4.10', 80);
    const first = await conn.connected;
    expect(PODS).toContain(first.name);
    expect(await conn.request('before-restart')).toBe('before-restart');

    // Watch the nat table all through the restart.
    const samples: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const save = await iptablesSave(c.nodes.a.ns, 'IPv4', 'nat');
        const svcRule = save.split('\n').some((l) => /^-A KUBE-SERVICES .*-d 198\.19\.4\.10\/32 .*-j KUBE-SVC-/.test(l));
        samples.push(svcRule ? dnatTargets(save, 'default/keep:http').join(',') : 'no KUBE-SERVICES rule');
        await sleep(50);
      }
    })();

    exitCodes.push(await a.stop(true));
    proxyA = undefined;
    // Rules stay while no proxy runs: the connection and new connections still work.
    expect(await conn.request('while-stopped')).toBe('while-stopped');
    const during = await tcpHits(c.client.ns, '198.19.4.10', 80, 4);
    expect(during.every((h) => PODS.includes(h.name as never)), JSON.stringify(during)).toBe(true);

    const before = samples.length;
    proxyA = await startProxy(env, c.nodes.a, { bridge: a.bridge, extraArgs: ['--iptables-sync-period=1s'] });
    await eventually(async () => logRecords(proxyA!.daemon).some((r) => r.msg === 'synced proxy rules' && r['full'] === true), 'a full sync by the new daemon');
    await eventually(async () => samples.length > before + 3, 'samples after the restart');
    polling = false;
    await poller;

    expect(await conn.request('after-restart')).toBe('after-restart');
    expect(conn.isClosed()).toBe(false);
    expect(samples.length).toBeGreaterThan(5);
    expect(samples.filter((s) => s !== keepTargets().join(',')), `samples: ${samples.join(' | ')}`).toEqual([]);
  });

  it('--cleanup removes every chain and jump it owns, leaves foreign ones byte-identical, and exits 0', async () => {
    await conn?.close();
    conn = undefined;
    if (proxyA) exitCodes.push(await proxyA.stop());
    proxyA = undefined;
    // While stopped the rules are still there...
    expect((await kubeChains(c.nodes.a.ns)).some((ch) => ch.includes('KUBE-SVC-'))).toBe(true);

    const r = await nsExec(c.nodes.a.ns, [process.execPath, DEFAULT_DAEMON_ENTRY, '--cleanup', '--logging-format=json', '-v=2']);
    expect(r.code, `cleanup output:\n${r.stdout}\n${r.stderr}`).toBe(0);

    expect(await foreignView(c.nodes.a.ns)).toEqual(foreignBefore);
    // Left in place on purpose: the kubelet's chain we planted and KUBE-FIREWALL (the localnet
    // protection kubelet also installs; upstream's CleanupLeftovers keeps it too).
    expect(await kubeChains(c.nodes.a.ns)).toEqual(['IPv4:filter:KUBE-FIREWALL', 'IPv4:nat:KUBE-MARK-DROP']);
    const kubeRefs: string[] = [];
    for (const family of ['IPv4', 'IPv6'] as const) {
      for (const l of (await iptablesSave(c.nodes.a.ns, family)).split('\n')) {
        if (l.startsWith('-A') && l.includes('KUBE-') && !FOREIGN_MARK.test(l)) kubeRefs.push(`${family} ${l}`);
      }
    }
    expect(kubeRefs.every((l) => / -j KUBE-FIREWALL$|^IPv4 -A KUBE-FIREWALL /.test(l)), kubeRefs.join('\n')).toBe(true);
    // ... and the service is gone from the dataplane.
    expect(await tcpHits(c.client.ns, '198.19.4.10', 80, 1, { timeoutMs: 1000 })).toEqual([{ error: 'ETIMEDOUT' }]);

    // A second cleanup finds nothing to do and still succeeds.
    const again = await nsExec(c.nodes.a.ns, [process.execPath, DEFAULT_DAEMON_ENTRY, '--cleanup', '--logging-format=json']);
    expect(again.code, again.stderr).toBe(0);
    expect(await foreignView(c.nodes.a.ns)).toEqual(foreignBefore);
  });

  it('/healthz turns 503 while iptables-restore keeps failing and 200 once it works again', async () => {
    wrapDir = mkdtempSync(join(tmpdir(), 'kpt-ipt-wrap-'));
    const flag = join(wrapDir, 'fail');
    for (const tool of ['iptables-nft-restore', 'ip6tables-nft-restore']) {
      const path = join(wrapDir, tool);
      writeFileSync(
        path,
        `#!/bin/sh\nif [ -e '${flag}' ]; then echo 'injected failure' >&2; exit 1; fi\nexec /usr/sbin/${tool} "$@"\n`,
      );
      chmodSync(path, 0o755);
    }
    proxyB = await startProxy(env, c.nodes.b, {
      env: { PATH: `${wrapDir}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
      extraArgs: ['--iptables-sync-period=2s', '--iptables-min-sync-period=100ms'],
    });
    const ns = c.nodes.b.ns;
    await waitForTargets(ns, 'default/keep:http', keepTargets());
    expect(await eventually(async () => ((await healthz(ns)) === 200 ? 200 : undefined), 'healthz 200 at start')).toBe(200);
    const failuresBefore = metricSum(await metricsText(ns), 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total');

    writeFileSync(flag, '');
    env.api.create(service({ name: 'stalled', clusterIP: '198.19.4.20' }));
    env.api.create(slice('stalled', [{ ip: c.pod('a2').ipv4, nodeName: 'node-a' }]));
    // Unhealthy once the queued change has waited longer than 2 x sync period (4 s).
    await eventually(async () => (await healthz(ns)) === 503, '/healthz 503 while restores fail', 20_000, 250);
    expect(await healthz(ns, '/livez')).toBe(503);
    const failuresDuring = metricSum(await metricsText(ns), 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total');
    expect(failuresDuring).toBeGreaterThan(failuresBefore);
    expect(dnatTargets(await iptablesSave(ns, 'IPv4', 'nat'), 'default/stalled:http')).toEqual([]);
    // Rules already programmed keep working meanwhile (from a node-B pod: node A was cleaned up).
    const still = await tcpHits(c.pod('b2').ns, '198.19.4.10', 80, 2);
    expect(still.every((h) => PODS.includes(h.name as never)), JSON.stringify(still)).toBe(true);

    unlinkSync(flag);
    await waitForTargets(ns, 'default/stalled:http', [target('a2')]);
    await eventually(async () => (await healthz(ns)) === 200, '/healthz 200 after restores work again');
    expect(await healthz(ns, '/livez')).toBe(200);
  });
});
