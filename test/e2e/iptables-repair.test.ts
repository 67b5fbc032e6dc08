// iptables mode with packets: damage done to the rules behind the daemon's back is repaired by its
// next periodic (full) sync, within one --iptables-sync-period: `iptables -t nat -F`, a deleted
// KUBE-SVC-* chain, and a foreign rule inserted into KUBE-SERVICES. As upstream (which rewrites
// KUBE-SERVICES whole on every sync), a foreign rule in a chain we own is removed. Each case
// first shows the damage broke the service (a connection fails), then that the service answers
// again and iptables-save shows exactly our rules as before the damage.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenize } from '../../modes/iptables/save-parse.js';
import { servicePortChains } from '../../modes/iptables/names.js';
import { createCluster, nsExec, requireRoot, tcpHits, type Cluster } from './harness/index.js';
import {
  eventually,
  iptablesSave,
  logRecords,
  service,
  slice,
  startApi,
  startProxy,
  waitForTargets,
  type Proxy,
  type TestEnv,
} from './iptables-helpers.js';
import { expectCleanExits, stopProxies } from './proofs/exit-codes.js';

const SYNC_PERIOD_S = 4;
const SVC_IP = '198.19.4.10';
const KEY = 'default/fix:http';
/** The repair must come from the first periodic sync after the damage; this is its margin. */
const REPAIR_BUDGET_MS = SYNC_PERIOD_S * 1000 + 4000;

/** Our chains and rules (nat and filter) as iptables-save prints them, counters stripped, sorted. */
async function ownedRules(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    const save = await iptablesSave(ns, 'IPv4', table);
    for (const l of save.split('\n')) {
      if (/^:KUBE-/.test(l)) out.push(`${table} ${l.replace(/\[\d+:\d+\]/, '')}`);
      else if (/^-A /.test(l) && /KUBE-/.test(l)) out.push(`${table} ${l}`);
    }
  }
  return out.sort();
}

const periodicSyncs = (p: Proxy): number => logRecords(p.daemon).filter((r) => r.msg === 'synced proxy rules' && r['reason'] === 'periodic').length;

describe.skipIf(!requireRoot())('iptables mode: external damage repaired within one sync period (packets)', () => {
  let c: Cluster;
  let env: TestEnv;
  const proxies: Proxy[] = [];
  let baseline: string[] = [];
  const repairTimes: Record<string, number> = {};

  const answers = async (): Promise<boolean> => {
    const [h] = await tcpHits(c.client.ns, SVC_IP, 80, 1, { timeoutMs: 1000 });
    return h?.name !== undefined;
  };
  const ipt = async (...args: string[]): Promise<void> => {
    const r = await nsExec(c.nodes.a.ns, ['iptables-nft', ...args]);
    if (r.code !== 0) throw new Error(`iptables ${args.join(' ')}: ${r.stderr}`);
  };

  /**
   * Damage right after a periodic sync (so a whole period is left before the next), check the
   * service is broken, then wait for the repair and check it came from the next periodic sync.
   */
  async function damageAndExpectRepair(what: string, damage: () => Promise<void>, foreign?: RegExp): Promise<void> {
    const p = proxies[0]!;
    const before = periodicSyncs(p);
    await eventually(async () => periodicSyncs(p) > before, 'a periodic sync', SYNC_PERIOD_S * 1000 * 2 + 5000, 50);
    const afterSync = periodicSyncs(p);
    const t0 = Date.now();
    await damage();
    expect(await answers(), `${what}: the service should be broken by the damage`).toBe(false);
    let last: string[] = [];
    await eventually(
      async () => {
        last = await ownedRules(c.nodes.a.ns);
        return last.join('\n') === baseline.join('\n') && (await answers());
      },
      `${what}: rules restored and the service answering`,
      REPAIR_BUDGET_MS,
      100,
    ).catch((e: Error) => {
      const missing = baseline.filter((l) => !last.includes(l));
      const extra = last.filter((l) => !baseline.includes(l));
      throw new Error(`${e.message}\nmissing: ${missing.join('\n')}\nextra: ${extra.join('\n')}`);
    });
    repairTimes[what] = Date.now() - t0;
    // Repaired by the periodic full sync (nothing else happened that would trigger one).
    expect(periodicSyncs(p)).toBeGreaterThan(afterSync);
    if (foreign) {
      const save = await iptablesSave(c.nodes.a.ns, 'IPv4', 'nat');
      expect(save.split('\n').filter((l) => foreign.test(l)), `${what}: foreign rule left`).toEqual([]);
    }
  }

  beforeAll(async () => {
    c = await createCluster();
    env = await startApi(c);
    env.api.create(service({ name: 'fix', clusterIP: SVC_IP }));
    env.api.create(slice('fix', [c.pod('a1'), c.pod('b1')].map((pod) => ({ ip: pod.ipv4, nodeName: pod.nodeName }))));
    proxies.push(await startProxy(env, c.nodes.a, { extraArgs: [`--iptables-sync-period=${SYNC_PERIOD_S}s`] }));
    await waitForTargets(c.nodes.a.ns, KEY, [`${c.pod('a1').ipv4}:8080`, `${c.pod('b1').ipv4}:8080`]);
    expect(await answers()).toBe(true);
    baseline = await ownedRules(c.nodes.a.ns);
    expect(baseline.some((l) => l.includes(servicePortChains(KEY, 'TCP').svc))).toBe(true);
  });

  afterAll(async () => {
    const stopped = await stopProxies(proxies);
    await env?.close();
    await c?.destroy();
    process.stdout.write(`repair times (ms after the damage, sync period ${SYNC_PERIOD_S}s): ${JSON.stringify(repairTimes)}\n`);
    expectCleanExits(stopped);
  });

  it('iptables -t nat -F (every nat chain flushed, jumps from PREROUTING/OUTPUT included)', async () => {
    await damageAndExpectRepair('nat flushed', () => ipt('-t', 'nat', '-F'));
  });

  it('a KUBE-SVC-* chain deleted (its KUBE-SERVICES jump removed first, as the kernel requires)', async () => {
    const svc = servicePortChains(KEY, 'TCP').svc;
    await damageAndExpectRepair('KUBE-SVC deleted', async () => {
      const save = await iptablesSave(c.nodes.a.ns, 'IPv4', 'nat');
      const jump = save.split('\n').find((l) => l.startsWith('-A KUBE-SERVICES ') && l.includes(`-j ${svc}`));
      if (jump === undefined) throw new Error(`no KUBE-SERVICES jump to ${svc}:\n${save}`);
      await ipt('-t', 'nat', '-D', ...tokenize(jump).slice(1));
      await ipt('-t', 'nat', '-F', svc);
      await ipt('-t', 'nat', '-X', svc);
      expect(await iptablesSave(c.nodes.a.ns, 'IPv4', 'nat')).not.toContain(`:${svc} `);
    });
  });

  it('a foreign rule inserted at the top of KUBE-SERVICES (it bypasses the service) is removed', async () => {
    await damageAndExpectRepair(
      'foreign rule in KUBE-SERVICES',
      () => ipt('-t', 'nat', '-I', 'KUBE-SERVICES', '1', '-d', `${SVC_IP}/32`, '-p', 'tcp', '-m', 'comment', '--comment', 'foreign-rule', '-j', 'RETURN'),
      /foreign-rule/,
    );
  });
});
