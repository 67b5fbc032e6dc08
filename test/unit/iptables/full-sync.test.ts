// Full syncs verify the kernel against the rendered rules and rewrite only what differs; large
// plans are cut into several restores that each leave a valid ruleset. All on the fake runner,
// which rejects a jump to a missing chain or a delete of a referenced one, like the real tool.

import { describe, expect, it } from 'vitest';
import { EMPTY_CHANGES, type Endpoint, type ServicePort } from '../../../proxy/model/types.js';
import { servicePortChains } from '../../../modes/iptables/names.js';
import { diffRuleSets, ruleSignature, sameOrderedRules } from '../../../modes/iptables/payload/signature.js';
import { parseSave, type SavedTables } from '../../../modes/iptables/save-parse.js';
import type { FakeIptablesRunner } from '../../fakes/iptables/fake-runner.js';
import { ep, harness, localEp, sp, state } from './fixtures.js';

function mixed(n: number): [ServicePort, Endpoint[]][] {
  return Array.from({ length: n }, (_, i) => {
    const ip = `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const eps = [ep(`198.18.${(i % 200) + 1}.1`), ep(`198.18.${(i % 200) + 1}.2`), localEp(`198.18.16.${(i % 250) + 1}`)];
    const kind = i % 4;
    const extra: Partial<ServicePort> =
      kind === 1
        ? { type: 'NodePort', nodePort: 30000 + i }
        : kind === 2
          ? { type: 'LoadBalancer', nodePort: 30000 + i, loadBalancerIPs: [`198.18.200.${(i % 250) + 1}`], externalTrafficPolicy: 'Local' }
          : kind === 3
            ? { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 } }
            : {};
    return [sp('ns', `svc${i}`, { clusterIPs: [ip], ...extra }), eps];
  });
}

/** Our chains and rules only, for comparing two kernels. */
function owned(t: SavedTables): string {
  const out: string[] = [];
  for (const [table, chains] of t) {
    for (const [name, c] of [...chains].sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`${table} ${name}`, ...[...c.rules].sort());
    }
  }
  return out.join('\n');
}

const kernel = async (r: FakeIptablesRunner): Promise<SavedTables> => parseSave(await r.save('IPv4'));

describe('rule signatures', () => {
  it('match between what we write and what iptables-nft-save prints back', () => {
    // Pairs taken from a real iptables-nft 1.8.9 restore/save round trip.
    const pairs: [string, string][] = [
      [
        '-m comment --comment "bench/svc-00001:http cluster IP" -m tcp -p tcp -d 198.19.0.2 --dport 80 ! -s 198.18.16.0/24 -j KUBE-MARK-MASQ',
        '! -s 198.18.16.0/24 -d 198.19.0.2/32 -p tcp -m comment --comment "bench/svc-00001:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
      ],
      [
        '-m comment --comment "bench/svc-00001:http -> 198.18.16.11:8080" -m statistic --mode random --probability 0.1000000000 -j KUBE-SEP-EDLLZ66TBUVWZDK3',
        '-m comment --comment "bench/svc-00001:http -> 198.18.16.11:8080" -m statistic --mode random --probability 0.10000000009 -j KUBE-SEP-EDLLZ66TBUVWZDK3',
      ],
      [
        '-m comment --comment "ns/a:p -> 198.18.1.1:80" -m recent --name KUBE-SEP-X --rcheck --seconds 10800 --reap -j KUBE-SEP-X',
        '-m comment --comment "ns/a:p -> 198.18.1.1:80" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-X --mask 255.255.255.255 --rsource -j KUBE-SEP-X',
      ],
      ['-m comment --comment "ns/a:p has no endpoints" -m tcp -p tcp -d 198.19.0.9 --dport 80 -j REJECT', '-d 198.19.0.9/32 -p tcp -m comment --comment "ns/a:p has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable'],
    ];
    for (const [ours, saved] of pairs) expect(ruleSignature(saved)).toBe(ruleSignature(ours));
  });

  it('differ when the destination, target, probability or a negation differs', () => {
    const base = '-m comment --comment "x" -m tcp -p tcp -d 198.19.0.2 --dport 80 ! -s 198.18.16.0/24 -j KUBE-SVC-A';
    for (const other of [
      base.replace('198.19.0.2', '198.19.0.3'),
      base.replace('KUBE-SVC-A', 'KUBE-SVC-B'),
      base.replace('--dport 80', '--dport 81'),
      base.replace('! -s', '-s'),
      base.replace('"x"', '"y"'),
    ]) {
      expect(ruleSignature(other)).not.toBe(ruleSignature(base));
    }
    expect(ruleSignature('-m statistic --mode random --probability 0.5000000000 -j A')).not.toBe(ruleSignature('-m statistic --mode random --probability 0.3333333333 -j A'));
  });

  it('ordered compare needs the same order; set diff ignores it and counts duplicates', () => {
    expect(sameOrderedRules(['-j A', '-j B'], ['-j A', '-j B'])).toBe(true);
    expect(sameOrderedRules(['-j B', '-j A'], ['-j A', '-j B'])).toBe(false);
    expect(sameOrderedRules(undefined, [])).toBe(false);
    expect(diffRuleSets(['-j B', '-j A', '-j A'], ['-j A', '-j B', '-j C'])).toEqual({ extra: ['-j A'], missing: ['-j C'] });
  });
});

describe('verified full sync', () => {
  it('a second full sync over an unchanged kernel sends nothing', async () => {
    const h = harness();
    const st = state(mixed(40));
    await h.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
    const n = h.runner.restores.length;
    const r = await h.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
    expect(r.full).toBe(true);
    expect(h.runner.restores).toHaveLength(n);
    expect(r.stats.servicePortsRewritten).toBe(0);
  });

  it('a restarted daemon adopts matching rules and rewrites nothing', async () => {
    const first = harness();
    const st = state(mixed(20));
    await first.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
    const second = harness();
    second.runner.load('IPv4', await first.runner.save('IPv4'));
    const r = await second.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
    expect(second.runner.restores).toHaveLength(0);
    expect(r.stats.servicePortsRewritten).toBe(0);
  });

  it('repairs exactly what was changed behind its back', async () => {
    const h = harness();
    const entries = mixed(12);
    const st = state(entries);
    await h.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
    const want = owned(await kernel(h.runner));
    const [target] = entries[5] as [ServicePort, Endpoint[]];
    const svc = servicePortChains(target.key, 'TCP').svc;
    const natServices = (await kernel(h.runner)).get('nat')?.get('KUBE-SERVICES')?.rules ?? [];
    const victim = natServices.find((r) => r.includes(svc)) as string;
    // Someone flushes one service chain and deletes one dispatch rule.
    await h.runner.restore('IPv4', `*nat\n:${svc} - [0:0]\n-D KUBE-SERVICES ${victim}\nCOMMIT\n`);
    const before = h.runner.restores.length;
    const r = await h.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
    expect(h.runner.restores).toHaveLength(before + 1);
    const payload = h.runner.restores.at(-1)?.payload ?? '';
    expect(payload.match(/^:/gm)).toEqual([':']); // only the flushed chain is declared
    expect(payload).toContain(`:${svc} - [0:0]`);
    expect(payload.match(/^-I KUBE-SERVICES /gm)).toHaveLength(1);
    expect(r.stats.servicePortsRewritten).toBe(1);
    expect(owned(await kernel(h.runner))).toBe(want);
  });

  it('a foreign rule in a dispatch chain is removed by its saved text', async () => {
    const h = harness();
    const st = state(mixed(4));
    await h.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
    const want = owned(await kernel(h.runner));
    await h.runner.restore('IPv4', '*nat\n-I KUBE-SERVICES 1 -d 198.19.9.9/32 -j RETURN\nCOMMIT\n');
    await h.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
    expect(h.runner.restores.at(-1)?.payload).toBe('*nat\n-D KUBE-SERVICES -d 198.19.9.9/32 -j RETURN\nCOMMIT\n');
    expect(owned(await kernel(h.runner))).toBe(want);
  });

  it('rewrites a dispatch chain whose tail rule is no longer last', async () => {
    const h = harness();
    const st = state(mixed(4));
    await h.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
    await h.runner.restore('IPv4', '*nat\n-A KUBE-SERVICES -d 198.19.9.9/32 -j RETURN\nCOMMIT\n');
    await h.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
    const rules = (await kernel(h.runner)).get('nat')?.get('KUBE-SERVICES')?.rules ?? [];
    expect(rules.at(-1)).toContain('-j KUBE-NODEPORTS');
    expect(rules.some((r) => r.includes('198.19.9.9'))).toBe(false);
  });
});

describe('large syncs split into several restores', () => {
  it('a cold full sync over the chain budget ends in the same kernel state as one transaction', async () => {
    const entries = mixed(60);
    const one = harness();
    await one.dp.sync({ state: state(entries), changes: EMPTY_CHANGES, full: true });
    expect(one.runner.restores).toHaveLength(1);

    const split = harness(undefined, ['IPv4'], 40);
    await split.dp.sync({ state: state(entries), changes: EMPTY_CHANGES, full: true });
    expect(split.runner.restores.length).toBeGreaterThan(5);
    for (const r of split.runner.restores) expect((r.payload.match(/^:KUBE-(SVC|SEP|EXT|FW|SVL)-/gm) ?? []).length).toBeLessThanOrEqual(40);
    expect(owned(await kernel(split.runner))).toBe(owned(await kernel(one.runner)));
  });

  it('a split full sync replacing every service and deleting stale chains stays valid at every step', async () => {
    const split = harness(undefined, ['IPv4'], 30);
    await split.dp.sync({ state: state(mixed(30)), changes: EMPTY_CHANGES, full: true });
    // A new process with a different set of services: everything old is stale.
    const next = harness(undefined, ['IPv4'], 30);
    next.runner.load('IPv4', await split.runner.save('IPv4'));
    const entries = mixed(60).slice(30);
    await next.dp.sync({ state: state(entries), changes: EMPTY_CHANGES, full: true });
    const ref = harness();
    await ref.dp.sync({ state: state(entries), changes: EMPTY_CHANGES, full: true });
    expect(owned(await kernel(next.runner))).toBe(owned(await kernel(ref.runner)));
  });

  it('a partial sync touching many services is split by service, each whole', async () => {
    const entries = mixed(50);
    const h = harness(undefined, ['IPv4'], 40);
    await h.dp.sync({ state: state(entries), changes: EMPTY_CHANGES, full: true });
    const n = h.runner.restores.length;
    const changed = entries.map(([s, eps]): [ServicePort, Endpoint[]] => [s, [...eps, ep('198.18.250.1')]]);
    await h.dp.sync({ state: state(changed), changes: { ...EMPTY_CHANGES, changed: new Set(changed.map(([s]) => s.key)) }, full: false });
    expect(h.runner.restores.length - n).toBeGreaterThan(3);
    const ref = harness();
    await ref.dp.sync({ state: state(changed), changes: EMPTY_CHANGES, full: true });
    expect(owned(await kernel(h.runner))).toBe(owned(await kernel(ref.runner)));
  });
});
