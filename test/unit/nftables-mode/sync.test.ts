// nftables mode on the fake client: what a full sync programs, that partial syncs send O(change)
// and leave the table equal to a fresh full sync, and that full syncs repair outside damage.

import { describe, expect, it } from 'vitest';
import { NftCommitError } from '../../../modes/nftables/netlink/errors.js';
import type { NftOp } from '../../../modes/nftables/netlink/types.js';
import { hex, ipBytes, concat, portBytes, u32Host } from '../../../modes/nftables/bytes.js';
import { FakeNftClient } from '../../fakes/nftables/fake-client.js';
import { canonical, changes, ep, harness, localEp, numgenModuli, sp, state } from './fixtures.js';

const web = sp('default', 'web', { clusterIPs: ['198.19.0.10'] });
const eps3 = [ep('198.18.1.1'), ep('198.18.1.2'), ep('198.18.1.3')];

async function freshDump(s: ReturnType<typeof state>, families: ('IPv4' | 'IPv6')[] = ['IPv4']) {
  const h = harness({ families });
  await h.dp.sync({ state: s, changes: changes([]), full: true });
  return h.client;
}

const dispatchKey = (ip: string, port: number, proto = 6): string => hex(concat(ipBytes(ip), Uint8Array.of(proto), portBytes(port)));

describe('nftables full sync', () => {
  it('programs the skeleton; a service without affinity as elements only: its count class, its slots in the shared endpoint map', async () => {
    const h = harness();
    await h.dp.sync({ state: state([[web, eps3]]), changes: changes([]), full: true });
    const d = (await h.client.dumpTable('ip', 'kube-proxy'))!;
    const names = d.chains.map((c) => c.name);
    for (const c of ['nat-prerouting', 'nat-output', 'nat-postrouting', 'filter-input', 'filter-forward', 'filter-output', 'services', 'masquerading', 'mark-for-masquerade', 'flat-ips', 'cluster-classes']) {
      expect(names).toContain(c);
    }
    // No chain of its own, no verdict element.
    expect(names.some((n) => n.includes('default/web'))).toBe(false);
    expect(d.elements.get('service-ips')).toEqual([]);
    const key = dispatchKey('198.19.0.10', 80);
    for (const set of ['flat-ips', 'flat-cluster-ips', 'cluster-3']) expect(d.elements.get(set)!.map((e) => hex(e.key)), set).toEqual([key]);
    expect(d.elements.get('cluster-endpoints')!.map((e) => [hex(e.key), hex(e.data!)]).sort()).toEqual(
      eps3.map((e, i) => [key + hex(u32Host(i)), hex(concat(ipBytes(e.ip), portBytes(8080)))]).sort(),
    );
    // One class rule for the count 3: membership, then the destination . numgen mod 3 in the map.
    expect(numgenModuli(d).get('cluster-classes')).toBe(3);
    const classRule = d.rules.find((r) => r.chain === 'cluster-classes')!;
    expect(classRule.exprs.filter((e) => e.type === 'lookup').map((e) => (e as { set: string }).set)).toEqual(['cluster-3', 'cluster-endpoints']);
    // Off-cluster sources to cluster IPs are marked for masquerade (clusterCIDR given).
    const flat = d.rules.filter((r) => r.chain === 'flat-ips');
    expect(flat[0]!.exprs.some((e) => e.type === 'lookup' && e.set === 'flat-cluster-ips')).toBe(true);
    expect(flat[0]!.exprs.at(-1)).toEqual({ type: 'verdict', verdict: { code: 'jump', chain: 'mark-for-masquerade' } });
    // Every endpoint is in the hairpin set.
    expect(d.elements.get('hairpin-endpoints')!.length).toBe(3);
  });

  it('rejects traffic to a service without endpoints and drops NodePort traffic with no local endpoint (ETP Local)', async () => {
    const h = harness();
    const empty = sp('default', 'empty', { clusterIPs: ['198.19.0.11'] });
    const local = sp('default', 'loc', { clusterIPs: ['198.19.0.12'], type: 'NodePort', nodePort: 30080, externalTrafficPolicy: 'Local' });
    await h.dp.sync({ state: state([[empty, []], [local, [ep('198.18.1.9')]]]), changes: changes([]), full: true });
    const d = (await h.client.dumpTable('ip', 'kube-proxy'))!;
    const noEp = new Map(d.elements.get('no-endpoint-services')!.map((e) => [hex(e.key), e.verdict]));
    expect(noEp.get(dispatchKey('198.19.0.11', 80))).toEqual({ code: 'goto', chain: 'reject-chain' });
    const noNp = d.elements.get('no-endpoint-nodeports')!;
    expect(noNp.map((e) => [hex(e.key), e.verdict])).toEqual([[hex(concat(Uint8Array.of(6), portBytes(30080))), { code: 'drop' }]]);
    // The cluster IP still works (cluster policy internally).
    expect(d.elements.get('flat-ips')!.some((e) => hex(e.key) === dispatchKey('198.19.0.12', 80))).toBe(true);
    expect(d.elements.get('cluster-1')!.some((e) => hex(e.key) === dispatchKey('198.19.0.12', 80))).toBe(true);
    const m = await h.metrics.text();
    expect(m).toMatch(/kubeproxy_sync_proxy_rules_no_local_endpoints_total\{traffic_policy="external",ip_family="IPv4"\} 1/);
  });

  it('programs ClientIP affinity as a timeout set of clients per endpoint, a hit rule and a pick rule each', async () => {
    const h = harness();
    const aff = sp('default', 'aff', { clusterIPs: ['198.19.0.13'], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } });
    await h.dp.sync({ state: state([[aff, eps3]]), changes: changes([]), full: true });
    const d = (await h.client.dumpTable('ip', 'kube-proxy'))!;
    const sets = d.sets.filter((s) => s.name.startsWith('affinity-'));
    expect(sets).toHaveLength(3);
    for (const set of sets) expect(set).toMatchObject({ timeout: true, timeoutMs: 60_000, keyLen: 4 });
    const chain = d.chains.find((c) => c.name.startsWith('service-') && c.name.endsWith('default/aff/tcp/p80'))!.name;
    const rules = d.rules.filter((r) => r.chain === chain);
    for (const set of sets) {
      // looked up once (hit) and updated twice (hit refresh, pick)
      expect(rules.filter((r) => r.exprs.some((e) => e.type === 'lookup' && e.set === set.name))).toHaveLength(1);
      expect(rules.filter((r) => r.exprs.some((e) => e.type === 'dynset' && e.set === set.name))).toHaveLength(2);
    }
    // Uniform picks: 1/3, then 1/2 of the rest, then the last.
    expect(rules.map((r) => r.exprs.find((e) => e.type === 'numgen')).filter(Boolean).map((e) => (e as { modulus: number }).modulus)).toEqual([3, 2]);
    expect(d.sets.some((s) => s.name.startsWith('endpoints-'))).toBe(false);
  });

  it('renders IPv6 in the ip6 table with 16-byte addresses', async () => {
    const v6 = sp('default', 'v6', { clusterIPs: ['2001:db8::10'] });
    const client = await freshDump(state([[v6, [ep('2001:db8:1::5')]]]), ['IPv4', 'IPv6']);
    const d = (await client.dumpTable('ip6', 'kube-proxy'))!;
    expect(d.elements.get('flat-ips')!.map((e) => hex(e.key))).toEqual([dispatchKey('2001:db8::10', 80)]);
    expect(d.elements.get('cluster-endpoints')!.map((e) => hex(e.key))).toEqual([dispatchKey('2001:db8::10', 80) + hex(u32Host(0))]);
    const v4 = (await client.dumpTable('ip', 'kube-proxy'))!;
    expect(v4.elements.get('flat-ips')).toEqual([]);
  });

  it('reports each family`s own sync time, the one its full-sync histogram observed (issue #16 item 5)', async () => {
    const v6 = sp('default', 'v6', { clusterIPs: ['2001:db8::10'] });
    const h = harness({ families: ['IPv4', 'IPv6'] });
    const r = await h.dp.sync({ state: state([[web, eps3], [v6, [ep('2001:db8:1::5')]]]), changes: changes([]), full: true });
    const observed = new Map<string, number>();
    for (const v of (await h.metrics.syncFullDuration.get()).values) {
      if (v.metricName?.endsWith('_sum')) observed.set(String(v.labels['ip_family']), v.value);
    }
    expect([...(r.familySeconds?.keys() ?? [])]).toEqual(['IPv4', 'IPv6']);
    for (const f of ['IPv4', 'IPv6'] as const) expect(r.familySeconds?.get(f)).toBe(observed.get(f));
  });
});

describe('nftables partial sync is O(change)', () => {
  it('one endpoint added: the destination moves to the next count class, its slot element and hairpin element; no rule when the count is in use', async () => {
    const h = harness();
    // Another service already has 4 endpoints and a third 3: both classes stay in use.
    const four = sp('default', 'four', { clusterIPs: ['198.19.0.20'] });
    const three = sp('default', 'three', { clusterIPs: ['198.19.0.21'] });
    const others: [typeof web, typeof eps3][] = [[four, [...eps3, ep('198.18.1.9')]], [three, eps3]];
    const s1 = state([[web, eps3], ...others]);
    await h.dp.sync({ state: s1, changes: changes([]), full: true });
    const s2 = state([[web, [...eps3, ep('198.18.1.4')]], ...others]);
    const before = h.client.commits.length;
    const r = await h.dp.sync({ state: s2, changes: changes([web.key]), full: false });
    expect(r.full).toBe(false);
    const sent = h.client.commits.slice(before);
    expect(sent).toHaveLength(1);
    const opText = (o: NftOp): string => ('set' in o ? `${o.op} ${o.set.name}` : o.op);
    expect(sent[0]!.ops.map(opText).sort()).toEqual(['add-elements cluster-4', 'add-elements cluster-endpoints', 'add-elements hairpin-endpoints', 'delete-elements cluster-3']);
    expect(canonical(await h.client.dumpTable('ip', 'kube-proxy'))).toEqual(canonical(await (await freshDump(s2)).dumpTable('ip', 'kube-proxy')));
  });

  it('a service without affinity added and removed: element ops only (no rule, no chain, no verdict element)', async () => {
    const h = harness();
    const three = sp('default', 'three', { clusterIPs: ['198.19.0.21'], type: 'NodePort', nodePort: 30021 });
    await h.dp.sync({ state: state([[three, eps3]]), changes: changes([]), full: true });
    const np = sp('default', 'np', { clusterIPs: ['198.19.0.22'], type: 'NodePort', nodePort: 30022 });
    const elementOnly = (ops: readonly NftOp[]): string[] =>
      ops.filter((o) => !((o.op === 'add-elements' || o.op === 'delete-elements') && o.set.data?.type !== 'verdict')).map((o) => ('set' in o ? `${o.op} ${o.set.name}` : o.op));
    let before = h.client.commits.length;
    await h.dp.sync({ state: state([[three, eps3], [np, eps3]]), changes: changes([np.key]), full: false });
    const added = h.client.commits.slice(before).flatMap((c) => c.ops);
    expect(added.length).toBeGreaterThan(0);
    expect(elementOnly(added)).toEqual([]);
    before = h.client.commits.length;
    await h.dp.sync({ state: state([[three, eps3]]), changes: changes([np.key], [np.key]), full: false });
    const removed = h.client.commits.slice(before).flatMap((c) => c.ops);
    expect(removed.length).toBeGreaterThan(0);
    expect(elementOnly(removed)).toEqual([]);
  });

  it('a count class appears with its first member (set and rule first) and goes with its last (rule, then set, last)', async () => {
    const h = harness();
    await h.dp.sync({ state: state([[web, eps3]]), changes: changes([]), full: true });
    const before = h.client.commits.length;
    const s2 = state([[web, [...eps3, ep('198.18.1.4')]]]);
    await h.dp.sync({ state: s2, changes: changes([web.key]), full: false });
    const ops = h.client.commits.slice(before).flatMap((c) => c.ops);
    const text = ops.map((o) => ('set' in o ? `${o.op} ${o.set.name}` : 'rule' in o ? `${o.op} ${o.rule.chain}` : o.op));
    expect(text.slice(0, 2)).toEqual(['add-set cluster-4', 'add-rule cluster-classes']);
    expect(text.slice(-2)).toEqual(['delete-rule cluster-classes', 'delete-set cluster-3']);
    expect(text).toHaveLength(8);
    expect(canonical(await h.client.dumpTable('ip', 'kube-proxy'))).toEqual(canonical(await (await freshDump(s2)).dumpTable('ip', 'kube-proxy')));
  });

  it('one endpoint removed from the middle: the last slot moves into the hole (two element ops), not a rewrite', async () => {
    const many = Array.from({ length: 10 }, (_, i) => ep(`198.18.2.${i + 1}`));
    const h = harness();
    await h.dp.sync({ state: state([[web, many]]), changes: changes([]), full: true });
    const before = h.client.commits.length;
    const s2 = state([[web, many.filter((_, i) => i !== 3)]]);
    await h.dp.sync({ state: s2, changes: changes([web.key]), full: false });
    const ops = h.client.commits.slice(before).flatMap((c) => c.ops);
    const mapOps = ops.filter((o): o is Extract<NftOp, { op: 'add-elements' | 'delete-elements' }> => (o.op === 'add-elements' || o.op === 'delete-elements') && o.set.name === 'cluster-endpoints');
    // slot 3 gets the endpoint of slot 9; slot 9 goes away.
    expect(mapOps.reduce((a, o) => a + o.elements.length, 0)).toBe(3);
    expect(canonical(await h.client.dumpTable('ip', 'kube-proxy'))).toEqual(canonical(await (await freshDump(s2)).dumpTable('ip', 'kube-proxy')));
  });

  it('a service added and removed touches only its own objects', async () => {
    const h = harness();
    const others = Array.from({ length: 50 }, (_, i) => [sp('ns', `s${i}`, { clusterIPs: [`198.19.1.${i + 1}`] }), [ep(`198.18.3.${i + 1}`)]] as [ReturnType<typeof sp>, ReturnType<typeof ep>[]]);
    await h.dp.sync({ state: state(others), changes: changes([]), full: true });
    const s2 = state([...others, [web, eps3]]);
    let before = h.client.commits.length;
    await h.dp.sync({ state: s2, changes: changes([web.key]), full: false });
    const addOps = h.client.commits.slice(before).flatMap((c) => c.ops);
    expect(addOps.length).toBeLessThanOrEqual(8);
    expect(addOps.every((o) => !('chain' in o) || o.chain.name.includes('default/web'))).toBe(true);
    before = h.client.commits.length;
    await h.dp.sync({ state: state(others), changes: changes([web.key], [web.key]), full: false });
    const delOps = h.client.commits.slice(before).flatMap((c) => c.ops);
    expect(delOps.length).toBeLessThanOrEqual(8);
    expect(canonical(await h.client.dumpTable('ip', 'kube-proxy'))).toEqual(canonical(await (await freshDump(state(others))).dumpTable('ip', 'kube-proxy')));
  });

  it('random churn: after every partial sync the table equals a fresh full sync of the same state', async () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    const h = harness();
    const svcs = Array.from({ length: 8 }, (_, i) =>
      sp('ns', `r${i}`, {
        clusterIPs: [`198.19.2.${i + 1}`],
        ...(i % 2 ? { type: 'NodePort' as const, nodePort: 30000 + i } : {}),
        ...(i % 3 === 0 ? { sessionAffinity: { type: 'ClientIP' as const, timeoutSeconds: 30 } } : {}),
        ...(i === 5 ? { externalTrafficPolicy: 'Local' as const } : {}),
        ...(i === 6 ? { externalIPs: ['198.18.200.1'] } : {}),
      }),
    );
    const eps = new Map(svcs.map((s) => [s.key, [] as ReturnType<typeof ep>[]]));
    let present = new Set(svcs.map((s) => s.key));
    const cur = () => state(svcs.filter((s) => present.has(s.key)).map((s) => [s, eps.get(s.key)!]));
    await h.dp.sync({ state: cur(), changes: changes([]), full: true });
    for (let step = 0; step < 60; step++) {
      const s = svcs[rand(svcs.length)]!;
      const list = eps.get(s.key)!;
      const action = rand(4);
      if (action === 0) list.push(rand(2) ? localEp(`198.18.4.${rand(40) + 1}`) : ep(`198.18.4.${rand(40) + 1}`));
      else if (action === 1 && list.length) list.splice(rand(list.length), 1);
      else if (action === 2) present = new Set(present.has(s.key) ? [...present].filter((k) => k !== s.key) : [...present, s.key]);
      else if (list.length) list[rand(list.length)] = { ...list[0]!, ready: false, serving: true, terminating: true };
      eps.set(s.key, [...new Map(list.map((e) => [e.ip, e])).values()]);
      const st = cur();
      await h.dp.sync({ state: st, changes: changes([s.key], present.has(s.key) ? [] : [s.key]), full: false });
      const got = (await h.client.dumpTable('ip', 'kube-proxy'))!;
      expect(canonical(got), `step ${step}`).toEqual(canonical(await (await freshDump(st)).dumpTable('ip', 'kube-proxy')));
      for (const [chain, n] of numgenModuli(got)) {
        const map = got.sets.find((x) => x.name === chain.replace(/^service-/, 'endpoints-').replace(/^local-/, 'local-endpoints-'));
        if (map) expect(got.elements.get(map.name)!.length, chain).toBe(n); // (affinity chains have none)
      }
    }
  });
});

describe('nftables partial sync walks only what changed (issue #18)', () => {
  /** A state whose maps answer get/has but throw on any walk over all entries. */
  const unwalkable = (s: ReturnType<typeof state>): ReturnType<typeof state> => {
    const guard = <V>(m: ReadonlyMap<string, V>): ReadonlyMap<string, V> =>
      new Proxy(m as Map<string, V>, {
        get(t, p) {
          if (p === 'get' || p === 'has') return (k: string) => (t[p] as (k: string) => unknown).call(t, k);
          if (p === 'size') return t.size;
          throw new Error(`partial sync walked the state (${String(p)})`);
        },
      });
    return { ...s, services: guard(s.services), endpoints: guard(s.endpoints) };
  };

  it('an endpoint change and a service removal render from the change set alone; the object metrics stay exact', async () => {
    const h = harness();
    const others = Array.from({ length: 20 }, (_, i) => [sp('ns', `w${i}`, { clusterIPs: [`198.19.3.${i + 1}`] }), [ep(`198.18.5.${i + 1}`)]] as [ReturnType<typeof sp>, ReturnType<typeof ep>[]]);
    await h.dp.sync({ state: state([...others, [web, eps3]]), changes: changes([]), full: true });
    const s2 = state([...others, [web, [...eps3, ep('198.18.1.4')]]]);
    await h.dp.sync({ state: unwalkable(s2), changes: changes([web.key]), full: false });
    const s3 = state([...others.slice(1), [web, [...eps3, ep('198.18.1.4')]]]);
    await h.dp.sync({ state: unwalkable(s3), changes: changes([others[0]![0].key], [others[0]![0].key]), full: false });
    const d = (await h.client.dumpTable('ip', 'kube-proxy'))!;
    expect(canonical(d)).toEqual(canonical(await (await freshDump(s3)).dumpTable('ip', 'kube-proxy')));
    const m = await h.metrics.text();
    const gauge = (kind: string): number => Number(new RegExp(`kubeproxy_ts_nftables_objects\\{kind="${kind}",ip_family="IPv4"\\} (\\d+)`).exec(m)?.[1]);
    expect(gauge('chains')).toBe(d.chains.length);
    expect(gauge('rules')).toBe(d.rules.length);
    expect(gauge('elements')).toBe([...d.elements.values()].reduce((a, e) => a + e.length, 0));
  });
});

describe('nftables full sync repairs outside damage', () => {
  it('rebuilds a deleted table, refills a flushed chain, restores a removed element, deletes a stray chain', async () => {
    const h = harness();
    const s = state([[web, eps3]]);
    await h.dp.sync({ state: s, changes: changes([]), full: true });
    const want = canonical(await h.client.dumpTable('ip', 'kube-proxy'));

    h.client.externalDeleteTable('ip', 'kube-proxy');
    const r = await h.dp.sync({ state: s, changes: changes([]), full: true });
    expect(r.stats['tableMissing']).toBe(1);
    expect(canonical(await h.client.dumpTable('ip', 'kube-proxy'))).toEqual(want);

    h.client.externalFlushChain('ip', 'kube-proxy', 'services');
    // The count class's rule, the destination's flat-path entry and one of its slots.
    h.client.externalFlushChain('ip', 'kube-proxy', 'cluster-classes');
    h.client.externalDeleteElement('ip', 'kube-proxy', 'flat-ips', dispatchKey('198.19.0.10', 80));
    h.client.externalDeleteElement('ip', 'kube-proxy', 'cluster-endpoints', dispatchKey('198.19.0.10', 80) + hex(u32Host(1)));
    await h.client.commit([{ op: 'add-chain', chain: { family: 'ip', table: 'kube-proxy', name: 'stray' } }]);
    const damaged = (await h.client.dumpTable('ip', 'kube-proxy'))!;
    expect([damaged.rules.filter((r) => r.chain === 'cluster-classes').length, damaged.elements.get('flat-ips')!.length, damaged.elements.get('cluster-endpoints')!.length]).toEqual([0, 0, 2]);
    await h.dp.sync({ state: s, changes: changes([]), full: true });
    const repaired = (await h.client.dumpTable('ip', 'kube-proxy'))!;
    expect(repaired.rules.filter((r) => r.chain === 'cluster-classes').map((r) => r.exprs.find((e) => e.type === 'numgen'))).toMatchObject([{ modulus: 3 }]);
    expect(canonical(repaired)).toEqual(want);
  });

  it('cuts a large full sync into several transactions, each valid on its own, ending equal to one transaction', async () => {
    const big = Array.from({ length: 40 }, (_, i) => [sp('ns', `b${i}`, { clusterIPs: [`198.19.3.${i + 1}`] }), [ep(`198.18.5.${i + 1}`), ep(`198.18.6.${i + 1}`)]] as [ReturnType<typeof sp>, ReturnType<typeof ep>[]]);
    const h = harness({ batchOps: 50 });
    await h.dp.sync({ state: state(big), changes: changes([]), full: true });
    expect(h.client.commits.length).toBeGreaterThan(3);
    expect(canonical(await h.client.dumpTable('ip', 'kube-proxy'))).toEqual(canonical(await (await freshDump(state(big))).dumpTable('ip', 'kube-proxy')));
  });

  it('a stopping daemon ends a multi-transaction full sync after the transaction in flight; the next full sync completes it', async () => {
    const big = Array.from({ length: 40 }, (_, i) => [sp('ns', `b${i}`, { clusterIPs: [`198.19.3.${i + 1}`] }), [ep(`198.18.5.${i + 1}`)]] as [ReturnType<typeof sp>, ReturnType<typeof ep>[]]);
    const stopping = new AbortController();
    // The stop arrives while the first transaction is in the kernel.
    class StopDuringFirstCommit extends FakeNftClient {
      override async commit(ops: readonly NftOp[]) {
        const r = await super.commit(ops);
        stopping.abort(new Error('stopping'));
        return r;
      }
    }
    const h = harness({ batchOps: 50, client: new StopDuringFirstCommit() });
    await expect(h.dp.sync({ state: state(big), changes: changes([]), full: true, signal: stopping.signal })).rejects.toThrow('stopping');
    expect(h.client.commits.length).toBe(1);
    expect(await h.metrics.text()).not.toMatch(/nftables_sync_failures_total\{ip_family="IPv4"\} [1-9]/);
    const r = await h.dp.sync({ state: state(big), changes: changes([]), full: false });
    expect(r.full).toBe(true);
    expect(canonical(await h.client.dumpTable('ip', 'kube-proxy'))).toEqual(canonical(await (await freshDump(state(big))).dumpTable('ip', 'kube-proxy')));
  });

  it('a failed commit counts a sync failure, changes nothing, and the next full sync succeeds', async () => {
    const h = harness();
    await h.dp.sync({ state: state([[web, eps3]]), changes: changes([]), full: true });
    const snapshot = canonical(await h.client.dumpTable('ip', 'kube-proxy'));
    h.client.failNext(22);
    const s2 = state([[web, eps3.slice(0, 2)]]);
    await expect(h.dp.sync({ state: s2, changes: changes([web.key]), full: false })).rejects.toBeInstanceOf(NftCommitError);
    expect(canonical(await h.client.dumpTable('ip', 'kube-proxy'))).toEqual(snapshot);
    expect(await h.metrics.text()).toMatch(/kubeproxy_sync_proxy_rules_nftables_sync_failures_total\{ip_family="IPv4"\} 1/);
    const r = await h.dp.sync({ state: s2, changes: changes([web.key]), full: false });
    expect(r.full).toBe(true);
    expect(canonical(await h.client.dumpTable('ip', 'kube-proxy'))).toEqual(canonical(await (await freshDump(s2)).dumpTable('ip', 'kube-proxy')));
  });
});

describe('nftables cleanup', () => {
  it('deletes exactly our tables', async () => {
    const client = new FakeNftClient();
    await client.commit([{ op: 'add-table', table: { family: 'ip', name: 'foreign' } }]);
    const h = harness({ client, families: ['IPv4', 'IPv6'] });
    await h.dp.sync({ state: state([[web, eps3]]), changes: changes([]), full: true });
    expect(client.tableNames().sort()).toEqual(['ip foreign', 'ip kube-proxy', 'ip6 kube-proxy']);
    await h.dp.cleanup();
    expect(client.tableNames()).toEqual(['ip foreign']);
  });
});

describe('nftables explain', () => {
  it('describes a service port: its entries in the shared sets and maps (no chains of its own without affinity)', async () => {
    const h = harness();
    await h.dp.sync({ state: state([[web, eps3]]), changes: changes([]), full: true });
    const d = (await h.dp.describe!(web.key)) as { mode: string; families: { chains: Record<string, string[]>; maps: Record<string, string[]>; sharedMapEntries: Record<string, string[]> }[] };
    expect(d.mode).toBe('nftables');
    const f = d.families[0]!;
    expect(f.chains).toEqual({});
    expect(f.sharedMapEntries['cluster-endpoints']!.sort()).toEqual([
      '198.19.0.10 . tcp . 80 . 0 : 198.18.1.1 . 8080',
      '198.19.0.10 . tcp . 80 . 1 : 198.18.1.2 . 8080',
      '198.19.0.10 . tcp . 80 . 2 : 198.18.1.3 . 8080',
    ]);
    expect(f.sharedMapEntries['cluster-3']).toEqual(['198.19.0.10 . tcp . 80']);
    expect(f.sharedMapEntries['flat-ips']).toEqual(['198.19.0.10 . tcp . 80']);
  });
});
