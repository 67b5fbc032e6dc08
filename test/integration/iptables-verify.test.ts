// Full syncs against the real iptables-nft in a throwaway network namespace: every rule we write
// must read back from iptables-save with the same signature (or each periodic full sync would
// rewrite it again), a sync cut into many restores must leave exactly what one transaction
// leaves, and a chain flushed behind our back must be repaired alone.

import { afterAll, describe, expect, it } from 'vitest';
import { createIptablesDataplane } from '../../modes/iptables/dataplane.js';
import { createIptablesRunner } from '../../modes/iptables/exec/runner.js';
import { servicePortChains } from '../../modes/iptables/names.js';
import { probability } from '../../modes/iptables/probability.js';
import { RestoreError, type IptablesRunner } from '../../modes/iptables/runner.js';
import { parseSave } from '../../modes/iptables/save-parse.js';
import { exec, type Exec } from '../../modes/shared/exec.js';
import { silentLogger } from '../../proxy/log.js';
import { EMPTY_CHANGES, type Endpoint, type IPFamily, type ProxyState, type ServicePort } from '../../proxy/model/types.js';
import { ProxyMetrics } from '../../sync/metrics.js';
import { deleteNamespaceSync } from '../e2e/harness/ns.js';
import { requireRoot } from '../e2e/harness/root.js';
import { savedProbability } from '../fakes/iptables/xt-statistic.js';
import { check, outcomes, owned, probes, states, type Side, type Violation } from '../unit/iptables/consistency.js';
import { config, ep, localEp, NODE_IP, recordingConntrack, sp, state } from '../unit/iptables/fixtures.js';

// Deliberately not "kpt...-": sweepStale() of the e2e harness must never take it for a leftover.
const PREFIX = `itv${process.pid.toString(36)}`;
const FAMILIES: IPFamily[] = ['IPv4', 'IPv6'];

/** Every kind of rule the renderer writes, in both families. */
function services(): [ServicePort, Endpoint[]][] {
  const v4 = (i: number) => ep(`198.18.2.${i}`);
  const v6 = (i: number) => ep(`2001:db8:1::${i}`, { family: 'IPv6' });
  const both = (i: number) => [v4(i), v6(i), localEp(`198.18.16.${i}`), localEp(`2001:db8:1::1:${i}`, { family: 'IPv6' })];
  return [
    [sp('ns', 'plain', { clusterIPs: ['198.19.0.1', '2001:db8:2::1'] }), both(1)],
    [sp('ns', 'nodeport', { type: 'NodePort', nodePort: 30001, clusterIPs: ['198.19.0.2', '2001:db8:2::2'] }), both(2)],
    [
      sp('ns', 'lb', {
        type: 'LoadBalancer',
        nodePort: 30002,
        clusterIPs: ['198.19.0.3', '2001:db8:2::3'],
        loadBalancerIPs: ['198.18.200.3', '2001:db8:200::3'],
        loadBalancerSourceRanges: ['203.0.113.0/24', '2001:db8:300::/48'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32001,
      }),
      both(3),
    ],
    [sp('ns', 'affinity', { clusterIPs: ['198.19.0.4', '2001:db8:2::4'], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 600 } }), both(4)],
    [sp('ns', 'extip', { clusterIPs: ['198.19.0.5', '2001:db8:2::5'], externalIPs: ['198.18.200.5', '2001:db8:200::5'] }), both(5)],
    [sp('ns', 'internal-local', { clusterIPs: ['198.19.0.6', '2001:db8:2::6'], internalTrafficPolicy: 'Local' }), [v4(6), v6(6)]],
    [sp('ns', 'empty', { type: 'NodePort', nodePort: 30007, clusterIPs: ['198.19.0.7', '2001:db8:2::7'] }), []],
    [sp('ns', 'udp', { protocol: 'UDP', clusterIPs: ['198.19.0.8', '2001:db8:2::8'] }), both(8)],
  ];
}

/** A service with `n` endpoints; `index` keeps addresses apart (eight /24s of endpoints each). */
function big(name: string, n: number, index: number): [ServicePort, Endpoint[]] {
  const eps = Array.from({ length: n }, (_, i) => ep(`198.18.${32 + index * 8 + Math.floor(i / 250)}.${(i % 250) + 1}`));
  return [sp('big', name, { clusterIPs: [`198.19.3.${index + 1}`] }), eps];
}

function many(n: number): [ServicePort, Endpoint[]][] {
  return Array.from({ length: n }, (_, i) => [
    sp('bulk', `s${i}`, { clusterIPs: [`198.19.1.${i + 1}`] }),
    [ep(`198.18.3.${i + 1}`), ep(`198.18.4.${i + 1}`)],
  ]);
}

interface Node {
  readonly ns: string;
  readonly runner: IptablesRunner;
  restores: number;
  /** IPv4 payloads handed to iptables-restore so far. */
  ipv4Payloads: number;
  /** When set, IPv4 payload number `failPayload` gets a rule jumping to a missing chain. */
  failPayload: number | undefined;
  sync(st: ProxyState, full: boolean): Promise<{ rewritten: number; full: boolean }>;
  /** Our chains and their rules as iptables-save prints them, sorted. */
  owned(): Promise<string>;
}

let seq = 0;
const created: string[] = [];

async function node(chainBudget?: number): Promise<Node> {
  const ns = `${PREFIX}${seq++}`;
  deleteNamespaceSync(ns);
  expect((await exec(['ip', 'netns', 'add', ns])).code).toBe(0);
  created.push(ns);
  const inNs: Exec = (argv, opts) => exec(['ip', 'netns', 'exec', ns, ...argv], opts);
  const real = await createIptablesRunner({ exec: inNs, logger: silentLogger, backend: 'nft' });
  const n: Node = {
    ns,
    runner: real,
    restores: 0,
    ipv4Payloads: 0,
    failPayload: undefined,
    async sync(st, full) {
      const r = await dp.sync({ state: st, changes: EMPTY_CHANGES, full });
      return { rewritten: r.stats.servicePortsRewritten, full: r.full };
    },
    async owned() {
      const lines: string[] = [];
      for (const f of FAMILIES) {
        const text = await real.save(f);
        lines.push(...text.split('\n').filter((l) => /^(-A|:)\S*\s?KUBE-|^-A \S+ .*KUBE-/.test(l)).map((l) => `${f} ${l.replace(/\[\d+:\d+\]/, '')}`));
      }
      return lines.sort().join('\n');
    },
  };
  // The real tool has to refuse the payload: the broken rule goes in before its last COMMIT.
  const sabotage = (f: IPFamily, p: string): string => {
    n.restores++;
    if (f !== 'IPv4') return p;
    n.ipv4Payloads++;
    return n.ipv4Payloads === n.failPayload ? p.replace(/COMMIT\n$/, '-A KUBE-SERVICES -j KPT-NO-SUCH-CHAIN\nCOMMIT\n') : p;
  };
  const counting: IptablesRunner = {
    backend: real.backend,
    save: (f, t) => real.save(f, t),
    listChain: (f, t, c) => real.listChain(f, t, c),
    restore: async (f, p) => {
      await real.restore(f, sabotage(f, p));
    },
    restoreEach: async (f, ps) => {
      const counted = function* (): Generator<string> {
        for (const p of ps) yield sabotage(f, p);
      };
      await real.restoreEach(f, counted());
    },
  };
  const dp = createIptablesDataplane({
    config: config(),
    runner: counting,
    conntrack: recordingConntrack().ct,
    metrics: new ProxyMetrics({ processMetrics: false }),
    logger: silentLogger,
    families: FAMILIES,
    nodeIPs: () => [NODE_IP],
    localAddresses: () => [NODE_IP, '127.0.0.1'],
    ...(chainBudget === undefined ? {} : { chainBudget }),
  });
  return n;
}

describe.skipIf(!requireRoot())('verified full syncs on the real iptables-nft', () => {
  afterAll(() => {
    for (const ns of created) deleteNamespaceSync(ns);
  });

  it('every rendered rule reads back with the same signature: a second full sync writes nothing', async () => {
    const n = await node();
    const st = state(services());
    await n.sync(st, true);
    expect(n.restores).toBeGreaterThan(0);
    const before = n.restores;
    const r = await n.sync(st, true);
    expect(r.rewritten).toBe(0);
    expect(n.restores).toBe(before);
  });

  it('iptables-save prints every 1/k up to 5,000 as the test emulation of libxt_statistic does', async () => {
    const n = await node();
    const K = 5000;
    for (const tool of ['iptables-nft', 'iptables-legacy']) {
      const lines = ['*nat', ':KPT-PROBE - [0:0]'];
      for (let k = 1; k <= K; k++) lines.push(`-A KPT-PROBE -m comment --comment k${k} -m statistic --mode random --probability ${probability(k)} -j RETURN`);
      lines.push('COMMIT', '');
      const restore = await exec(['ip', 'netns', 'exec', n.ns, `${tool}-restore`, '--noflush'], { input: lines.join('\n') });
      expect(restore.code, restore.stderr).toBe(0);
      const saved = await exec(['ip', 'netns', 'exec', n.ns, `${tool}-save`, '-t', 'nat']);
      expect(saved.code, saved.stderr).toBe(0);
      const printed = new Map<number, string>();
      for (const m of saved.stdout.matchAll(/--comment k(\d+) .*--probability (\S+)/g)) printed.set(Number(m[1]), m[2] as string);
      expect(printed.size).toBe(K);
      const wrong: string[] = [];
      for (let k = 1; k <= K; k++) {
        const want = savedProbability(probability(k));
        if (printed.get(k) !== want) wrong.push(`${tool} 1/${k}: saved ${printed.get(k)}, emulated ${want}`);
      }
      expect(wrong).toEqual([]);
      for (const op of ['-F', '-X']) expect((await exec(['ip', 'netns', 'exec', n.ns, tool, '-t', 'nat', op, 'KPT-PROBE'])).code).toBe(0);
    }
  });

  it('services with 202 and 839 endpoints are not rewritten by a periodic full sync', async () => {
    const n = await node();
    const st = state([big('e202', 202, 0), big('e839', 839, 1)]);
    expect((await n.sync(st, true)).rewritten).toBe(2);
    const want = await n.owned();
    expect(want).toContain('--probability 0.00495049497 ');
    const before = n.restores;
    const r = await n.sync(st, true);
    expect(r.rewritten).toBe(0);
    expect(n.restores).toBe(before);
    expect(await n.owned()).toBe(want);
  });

  it('a sync cut into many restores leaves exactly what one transaction leaves', async () => {
    const st = state([...services(), ...many(40)]);
    const one = await node();
    await one.sync(st, true);
    expect(one.restores).toBe(2); // one per family
    const split = await node(12);
    await split.sync(st, true);
    expect(split.restores).toBeGreaterThan(10);
    const want = await one.owned();
    expect(want.split('\n').length).toBeGreaterThan(300);
    expect(await split.owned()).toBe(want);
  });

  it('a split full sync failing at its second (or any later) restore leaves every service old or new; the next sync is full', async () => {
    const { a, b, services } = states();
    const side = async (st: ProxyState): Promise<Side> => {
      const ref = await node();
      await ref.sync(st, true);
      const tables = parseSave(await ref.runner.save('IPv4'));
      return { tables, outcomes: outcomes(tables, ps) };
    };
    const ps = probes(services);
    const [sideA, sideB] = [await side(a), await side(b)];
    const n = await node(10);
    await n.sync(a, true);
    const start = n.ipv4Payloads;
    await n.sync(b, true);
    const parts = n.ipv4Payloads - start;
    expect(parts).toBeGreaterThan(6);
    expect(owned(parseSave(await n.runner.save('IPv4')))).toBe(owned(sideB.tables));
    const violations: Violation[] = [];
    let mixed = 0;
    for (let k = 2; k <= parts; k++) {
      await n.sync(a, true);
      expect(owned(parseSave(await n.runner.save('IPv4')))).toBe(owned(sideA.tables));
      n.failPayload = n.ipv4Payloads + k;
      const err = await n.sync(b, true).catch((e: unknown) => e);
      n.failPayload = undefined;
      expect(err).toBeInstanceOf(RestoreError);
      expect(String(err)).toContain('KPT-NO-SUCH-CHAIN');
      const r = check(k, parseSave(await n.runner.save('IPv4')), sideA, sideB, services, ps);
      violations.push(...r.violations);
      if (r.oldKeys > 0 && r.newKeys > 0) mixed++;
      const retry = await n.sync(b, false);
      expect(retry.full).toBe(true);
      expect(owned(parseSave(await n.runner.save('IPv4')))).toBe(owned(sideB.tables));
    }
    expect(violations.slice(0, 5).map((v) => `restore ${v.k}: ${v.what}`)).toEqual([]);
    expect(mixed).toBeGreaterThan(2);
  }, 300_000);

  it('a chain flushed and a dispatch rule deleted behind its back are repaired alone', async () => {
    const n = await node();
    const entries = services();
    const st = state(entries);
    await n.sync(st, true);
    const want = await n.owned();
    expect(want).toContain('IPv6 -A KUBE-SEP-');
    const [target] = entries[3] as [ServicePort, Endpoint[]];
    const svc = servicePortChains(target.key, 'TCP').svc;
    const flush = await exec(['ip', 'netns', 'exec', n.ns, 'iptables', '-t', 'nat', '-F', svc]);
    expect(flush.code).toBe(0);
    const del = await exec(['ip', 'netns', 'exec', n.ns, 'ip6tables', '-t', 'nat', '-D', 'KUBE-SERVICES', '1']);
    expect(del.code).toBe(0);
    expect(await n.owned()).not.toBe(want);
    const before = n.restores;
    const r = await n.sync(st, true);
    expect(n.restores - before).toBe(2); // one small repair per family
    expect(r.rewritten).toBe(1); // the flushed service's chain; the dispatch rule is one -I
    expect(await n.owned()).toBe(want);
  });
});
